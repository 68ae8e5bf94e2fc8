/* strata cache: the operator's view of the store as a cache — stats, the
 * layer list, prune, gc and verify, each a call to the store daemon. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "src/base/util.h"

struct cache_sub {
	const char *name;
	int (*run)(struct cli *cli, int argc, char **argv);
	const char *usage;
};

static const struct cache_sub *const *cache_subs(void);

/* Until cli.h lists it with the other commands. */
extern const struct cli_command cmd_cache;

static int sub_usage(const struct cache_sub *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int sub_usage(const struct cache_sub *s, const char *fmt, ...)
{
	char name[32];
	va_list ap;
	snprintf(name, sizeof(name), "cache %s", s->name);
	va_start(ap, fmt);
	int rc = cli_vusage(name, s->usage, fmt, ap);
	va_end(ap);
	return rc;
}

/* cli_json_only for a subcommand. */
static int json_only(const struct cache_sub *s, int argc, char **argv, int *json)
{
	char name[32];
	snprintf(name, sizeof(name), "cache %s", s->name);
	return cli_json_only(name, s->usage, argc, argv, json);
}

static const struct cache_sub *sub_named(const char *name)
{
	for (const struct cache_sub *const *s = cache_subs(); *s; s++)
		if (!strcmp((*s)->name, name))
			return *s;
	return NULL;
}

static uint64_t u64_of(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	return json_is_integer(v) && json_integer_value(v) > 0 ? (uint64_t)json_integer_value(v) : 0;
}

static const char *human(uint64_t n, char *out, size_t len)
{
	format_size(n, out, len);
	return out;
}

/* A time the daemon sends as seconds since the epoch or already as text. */
static const char *time_text(json_t *v, char *out, size_t len)
{
	if (json_is_string(v))
		return json_string_value(v);
	if (json_is_integer(v) && json_integer_value(v) > 0) {
		format_rfc3339(json_integer_value(v), out, len);
		return out;
	}
	return "-";
}

/* A chunk id as the daemon sends it: text, or a number. */
static void print_id(const char *what, json_t *v)
{
	if (json_is_string(v))
		printf("%s %s\n", what, json_string_value(v));
	else
		printf("%s %lld\n", what, (long long)json_integer_value(v));
}

/* Connects with no total time limit: prune, gc and verify walk the whole store. */
static int connect_long(struct cli *cli, struct client **out, struct strata_error *err)
{
	int r = cli_connect(cli, out, err);
	if (r == 0)
		client_set_timeout(*out, 0);
	return r;
}

/* Parses the options that take no argument but --json; returns -1 on an
 * unknown option or argument (usage printed, *rc set). */
/* --- stats -------------------------------------------------------------- */

static int is_size_key(const char *k)
{
	size_t n = strlen(k);
	return !strcmp(k, "budget") || !strncmp(k, "bytes", 5) || (n > 5 && !strcmp(k + n - 5, "_size")) ||
	       (n > 6 && !strcmp(k + n - 6, "_bytes"));
}

static json_int_t num(json_t *o, const char *a, const char *b)
{
	return json_integer_value(json_object_get(b ? json_object_get(o, a) : o, b ? b : a));
}

/* The shared memo tier's state, a few lines. */
static void print_shared(json_t *m)
{
	char h[32];
	json_int_t rejected = 0;
	const char *reason;
	json_t *n;
	json_object_foreach(json_object_get(m, "rejected"), reason, n)
		rejected += json_integer_value(n);
	printf("shared memo: %s (%s)%s\n", json_string_value(json_object_get(m, "address")),
	       json_string_value(json_object_get(m, "state")), json_is_true(json_object_get(m, "signed")) ? ", signed" : "");
	printf("  hits: %lld results, %lld reports; misses: %lld results, %lld reports; mean read %.1f ms\n",
	       (long long)num(m, "hits", "result"), (long long)num(m, "hits", "report"),
	       (long long)num(m, "misses", "result"), (long long)num(m, "misses", "report"),
	       json_real_value(json_object_get(m, "read_seconds_mean")) * 1000);
	printf("  rejected values: %lld; failed calls: %lld reads, %lld writes; outages: %lld\n", (long long)rejected,
	       (long long)num(m, "errors", "read"), (long long)num(m, "errors", "write"), (long long)num(m, "outages", NULL));
	printf("  written: %lld, refused by the server: %lld, dropped: %lld; queued: %lld (%s)\n",
	       (long long)num(m, "written", NULL), (long long)num(m, "write_refused", NULL),
	       (long long)num(m, "dropped", NULL), (long long)num(m, "queue_items", NULL),
	       human(u64_of(m, "queue_bytes"), h, sizeof(h)));
}

static int run_stats(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' }, { "prometheus", no_argument, NULL, 'p' }, { 0 }
	};
	int json = 0, prom = 0, c;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'j')
			json = 1;
		else if (c == 'p')
			prom = 1;
		else
			return sub_usage(sub_named("stats"), "unknown option '%s'", argv[optind - 1]);
	}
	if (optind < argc)
		return sub_usage(sub_named("stats"), "unexpected argument '%s'", argv[optind]);
	if (json && prom)
		return sub_usage(sub_named("stats"), "%s", "--json and --prometheus exclude each other");

	if (prom)
		return cli_get(cli, "/v1/cache/stats?format=prometheus", NULL);
	json_t *st = NULL;
	int rc = cli_get(cli, "/v1/cache/stats", &st);
	if (rc)
		return rc;
	if (json) {
		cli_print_json(st);
	} else {
		const char *k;
		json_t *v;
		json_object_foreach(st, k, v) {
			if (!strcmp(k, "shared_memo")) {
				print_shared(v);
				continue;
			}
			char h[32];
			if (json_is_integer(v) && is_size_key(k) && !strcmp(k, "budget") && !json_integer_value(v))
				printf("%s: unlimited\n", k);
			else if (json_is_integer(v) && is_size_key(k))
				printf("%s: %s\n", k, human(u64_of(st, k), h, sizeof(h)));
			else if (json_is_integer(v))
				printf("%s: %lld\n", k, (long long)json_integer_value(v));
			else if (json_is_real(v))
				printf("%s: %.2f\n", k, json_real_value(v));
			else if (json_is_string(v))
				printf("%s: %s\n", k, json_string_value(v));
			else if (json_is_boolean(v))
				printf("%s: %s\n", k, json_is_true(v) ? "yes" : "no");
			else {
				char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
				printf("%s: %s\n", k, s ? s : "?");
				free(s);
			}
		}
	}
	json_decref(st);
	return 0;
}

/* --- ls ----------------------------------------------------------------- */

static int run_ls(struct cli *cli, int argc, char **argv)
{
	int json, rc;
	if ((rc = json_only(sub_named("ls"), argc, argv, &json)) != 0)
		return rc;
	json_t *all = NULL;
	if (json)
		return cli_get(cli, "/v1/cache/layers", NULL);
	if ((rc = cli_get(cli, "/v1/cache/layers", &all)) != 0)
		return rc;
	{
		size_t i;
		json_t *l;
		printf("%-19s %10s %10s %10s %5s  %-20s  %-8s %s\n", "LAYER", "SIZE", "STORED", "MAP", "REFS",
		       "LAST REFERRED", "STATE", "IMAGES");
		json_array_foreach(all, i, l) {
			char sd[20], sz[16], st[16], mp[16], t[40];
			const char *id = json_string_value(json_object_get(l, "layer_id"));
			digest_short(id ? id : "", sd);
			printf("%-19s %10s %10s %10s %5llu  %-20s  %-8s ", sd, human(u64_of(l, "size"), sz, sizeof(sz)),
			       human(u64_of(l, "stored_size"), st, sizeof(st)),
			       human(u64_of(l, "map_size"), mp, sizeof(mp)),
			       (unsigned long long)u64_of(l, "reference_count"),
			       time_text(json_object_get(l, "last_referred"), t, sizeof(t)),
			       json_string_value(json_object_get(l, "state")) ?: "-");
			json_t *imgs = json_object_get(l, "images");
			size_t k;
			json_t *n;
			if (!json_array_size(imgs))
				fputs("-", stdout);
			json_array_foreach(imgs, k, n) {
				char *name = str_visible(json_string_value(n));
				printf("%s%s", k ? "," : "", name && *name ? name : "?");
				free(name);
			}
			putchar('\n');
		}
	}
	json_decref(all);
	return 0;
}

/* --- prune -------------------------------------------------------------- */

static int run_prune(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "max-size", required_argument, NULL, 's' }, { "older-than", required_argument, NULL, 'o' },
		{ "all", no_argument, NULL, 'a' }, { "dry-run", no_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' }, { 0 }
	};
	const struct cache_sub *self = sub_named("prune");
	uint64_t max_size = 0, older = 0;
	int all = 0, dry = 0, json = 0, by_size = 0, by_age = 0, c, status;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (conf_parse_size(optarg, &max_size) < 0)
				return sub_usage(self, "--max-size: '%s' is not a size (like 512M, 4G)", optarg);
			by_size = 1;
			break;
		case 'o':
			if (conf_parse_duration(optarg, &older) < 0 || older == 0)
				return sub_usage(self, "--older-than: '%s' is not a duration (like 90s, 30m, 12h, 7d)",
						 optarg);
			by_age = 1;
			break;
		case 'a': all = 1; break;
		case 'n': dry = 1; break;
		case 'j': json = 1; break;
		case ':':
			return sub_usage(self, "option '%s' needs a value", argv[optind - 1]);
		default:
			return sub_usage(self, "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return sub_usage(self, "unexpected argument '%s'", argv[optind]);
	if (!by_size && !by_age && !all)
		return sub_usage(self, "%s", "say what to prune: --max-size, --older-than or --all");

	struct strata_error err = STRATA_ERROR_INIT;
	struct client *client = NULL;
	json_t *body = json_pack("{s:I, s:I, s:b, s:b}", "max_size", (json_int_t)max_size, "older_than",
				 (json_int_t)older, "all", all, "dry_run", dry);
	json_t *out = NULL;
	int rc = 0;
	if (by_size && !max_size && !all)
		/* --max-size 0 means "everything that can go", not "no size limit". */
		json_object_set_new(body, "all", json_true());
	if (connect_long(cli, &client, &err) < 0 ||
	    client_call(client, "POST", "/v1/cache/prune", body, &status, &out, &err) < 0) {
		rc = cli_fail_err(&err);
	} else if (json) {
		cli_print_json(out);
	} else if (!cli->quiet) {
		size_t i;
		json_t *l;
		json_array_foreach(json_object_get(out, "evicted"), i, l) {
			char sd[20], sz[16], t[40];
			const char *id = json_string_value(json_object_get(l, "layer_id"));
			digest_short(id ? id : "", sd);
			printf("%s %s (%s, last referred %s)\n", dry ? "would evict" : "evicted", sd,
			       human(u64_of(l, "stored_size"), sz, sizeof(sz)),
			       time_text(json_object_get(l, "last_referred"), t, sizeof(t)));
		}
		char f[16], s[16];
		uint64_t n = u64_of(out, "layers");
		printf("%s %llu layer%s, %s %s; store now %s\n", dry ? "would evict" : "evicted",
		       (unsigned long long)n, n == 1 ? "" : "s", human(u64_of(out, "bytes_freed"), f, sizeof(f)),
		       dry ? "would be freed" : "freed", human(u64_of(out, "store_size"), s, sizeof(s)));
	}
	json_decref(body);
	json_decref(out);
	client_free(client);
	return rc;
}

/* --- gc ----------------------------------------------------------------- */

static int run_gc(struct cli *cli, int argc, char **argv)
{
	int json, rc = 0, status;
	if ((rc = json_only(sub_named("gc"), argc, argv, &json)) != 0)
		return rc;
	struct strata_error err = STRATA_ERROR_INIT;
	struct client *client = NULL;
	json_t *out = NULL;
	if (connect_long(cli, &client, &err) < 0 ||
	    client_call(client, "POST", "/v1/cache/gc", NULL, &status, &out, &err) < 0) {
		rc = cli_fail_err(&err);
	} else if (json) {
		cli_print_json(out);
	} else if (!cli->quiet) {
		char f[16];
		printf("removed %llu unreferenced chunks, %llu stray files, %llu temporary files, "
		       "%llu leftover layers, %llu analysis results; %s freed\n",
		       (unsigned long long)u64_of(out, "chunks_removed"), (unsigned long long)u64_of(out, "files_removed"),
		       (unsigned long long)u64_of(out, "temp_files_removed"),
		       (unsigned long long)u64_of(out, "leftover_layers"),
		       (unsigned long long)u64_of(out, "memo_results_removed"), human(u64_of(out, "bytes_freed"), f, sizeof(f)));
	}
	json_decref(out);
	client_free(client);
	return rc;
}

/* --- verify ------------------------------------------------------------- */

static int run_verify(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "repair", no_argument, NULL, 'r' }, { "json", no_argument, NULL, 'j' }, { 0 }
	};
	const struct cache_sub *self = sub_named("verify");
	int repair = 0, json = 0, c, status;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'r')
			repair = 1;
		else if (c == 'j')
			json = 1;
		else
			return sub_usage(self, "unknown option '%s'", argv[optind - 1]);
	}
	if (optind < argc)
		return sub_usage(self, "unexpected argument '%s'", argv[optind]);

	struct strata_error err = STRATA_ERROR_INIT;
	struct client *client = NULL;
	json_t *body = json_pack("{s:b}", "repair", repair), *out = NULL;
	int rc = 0;
	if (connect_long(cli, &client, &err) < 0 ||
	    client_call(client, "POST", "/v1/cache/verify", body, &status, &out, &err) < 0) {
		rc = cli_fail_err(&err);
		goto done;
	}
	int clean = json_is_true(json_object_get(out, "clean"));
	int repaired = json_is_true(json_object_get(out, "repaired"));
	size_t n_corrupt = json_array_size(json_object_get(out, "corrupt"));
	size_t n_missing = json_array_size(json_object_get(out, "missing"));
	size_t n_layers = json_array_size(json_object_get(out, "layers"));
	if (json) {
		cli_print_json(out);
	} else {
		size_t i;
		json_t *v;
		printf("%llu chunks checked\n", (unsigned long long)u64_of(out, "chunks_checked"));
		json_array_foreach(json_object_get(out, "corrupt"), i, v)
			print_id("corrupt chunk", v);
		json_array_foreach(json_object_get(out, "missing"), i, v)
			print_id("missing chunk", v);
		json_array_foreach(json_object_get(out, "layers"), i, v)
			printf("broken layer %s\n", json_string_value(v) ?: "?");
		json_array_foreach(json_object_get(out, "images"), i, v)
			printf("broken image %s\n", json_string_value(v) ?: "?");
		if (clean)
			printf("clean\n");
		else if (repaired)
			printf("repaired: the bad chunks are dropped and the layers they broke evicted; "
			       "pull or mount their images to fetch them again\n");
	}
	if (!clean && !repaired)
		rc = cli_fail("cache verify: %zu corrupt and %zu missing chunks break %zu layer%s; "
			      "'strata cache verify --repair' drops them", n_corrupt, n_missing, n_layers,
			      n_layers == 1 ? "" : "s");
done:
	json_decref(body);
	json_decref(out);
	client_free(client);
	return rc;
}

/* --- dispatch ----------------------------------------------------------- */

static const struct cache_sub sub_stats = { "stats", run_stats, "[--json|--prometheus]" };
static const struct cache_sub sub_ls = { "ls", run_ls, "[--json]" };
static const struct cache_sub sub_prune = {
	"prune", run_prune, "[--max-size SIZE] [--older-than DURATION] [--all] [--dry-run] [--json]"
};
static const struct cache_sub sub_gc = { "gc", run_gc, "[--json]" };
static const struct cache_sub sub_verify = { "verify", run_verify, "[--repair] [--json]" };

static const struct cache_sub *const *cache_subs(void)
{
	static const struct cache_sub *const subs[] = { &sub_stats, &sub_ls, &sub_prune, &sub_gc, &sub_verify, NULL };
	return subs;
}

static int run_cache(struct cli *cli, int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "strata cache: no subcommand given\nusage:\n");
		for (const struct cache_sub *const *s = cache_subs(); *s; s++)
			fprintf(stderr, "  strata cache %s %s\n", (*s)->name, (*s)->usage);
		return EXIT_USAGE;
	}
	const struct cache_sub *s = sub_named(argv[1]);
	if (!s)
		return cli_usage(&cmd_cache, "'%s' is not a cache subcommand", argv[1]);
	return s->run(cli, argc - 1, argv + 1);
}

const struct cli_command cmd_cache = {
	"cache", run_cache, "stats|ls|prune|gc|verify [OPTIONS]", "the store as a cache: stats, ls, prune, gc, verify",
};
