/* strata analyze: one walk of an image (mounted through the daemon) or of a
 * directory, the analyzers of analyzers/, a report in one of four formats.
 * Results are memoized in the store by content, and whole reports by
 * manifest digest. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "analyzers/analyze.h"
#include "src/base/buf.h"
#include "cli.h"
#include "src/base/log.h"
#include "analyzers/report.h"
#include "analyzers/secrets.h"
#include "tempmount.h"
#include "src/base/util.h"

/* The largest report text stored for the next run (the daemon takes
 * request bodies up to 64 MiB): about 100,000 files. */
#define REPORT_MEMO_MAX (32u << 20)

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

/* With -vv, where an analysis spends its time: one line per step, the time
 * since the previous one. */
static uint64_t step_t0;

static void step(const char *what)
{
	uint64_t now = now_ns();
	if (step_t0)
		log_debug("analyze: %s: %.1f ms", what, (double)(now - step_t0) / 1e6);
	step_t0 = now;
}

/* --- the memo, through the daemon ------------------------------------------ */

static int memo_lookup_remote(void *ctx, json_t *keys, json_t **found, struct strata_error *err)
{
	json_t *body = json_pack("{s:O}", "keys", keys), *out = NULL;
	int r = client_call(ctx, "POST", "/v1/analysis/lookup", body, NULL, &out, err);
	json_decref(body);
	if (r < 0)
		return error_prefix(err, "analysis memo: ");
	*found = json_incref(json_object_get(out, "results"));
	json_decref(out);
	if (!*found)
		*found = json_object();
	return 0;
}

static int memo_store_remote(void *ctx, json_t *results, struct strata_error *err)
{
	json_t *body = json_pack("{s:O}", "results", results);
	int r = client_call(ctx, "POST", "/v1/analysis/store", body, NULL, NULL, err);
	json_decref(body);
	return r < 0 ? error_prefix(err, "analysis memo: ") : 0;
}

/* --- output ----------------------------------------------------------------- */

enum format { FMT_JSON, FMT_SPDX, FMT_CYCLONEDX, FMT_TABLE };

/* files: NULL for the report's own "files". */
static int write_format(enum format f, const json_t *report, const struct report_files *files, FILE *out,
			struct strata_error *err)
{
	switch (f) {
	case FMT_SPDX: return report_write_spdx(report, files, out, err);
	case FMT_CYCLONEDX: return report_write_cyclonedx(report, files, out, err);
	case FMT_TABLE: return report_write_table(report, files, out, err);
	default: return report_write_json(report, files, out, err);
	}
}

/* text: the report already written in format f, copied instead of
 * written again. */
static int write_report(enum format f, const json_t *report, const struct report_files *files,
			const struct buf *text, FILE *out, struct strata_error *err)
{
	if (!text)
		return write_format(f, report, files, out, err);
	if (fwrite(text->data, 1, text->len, out) != text->len)
		return error_errno(err, errno ? -errno : -EIO, "cannot write report");
	return 0;
}

/* To FILE through a temporary beside it, so that a failure leaves no half
 * report; or to stdout. Not fsync'd: a report can be made again, and a
 * sync of megabytes is a tenth of an analysis that finds its files
 * memoized. */
static int emit(enum format f, const json_t *report, const struct report_files *files, const struct buf *text,
		const char *path, struct strata_error *err)
{
	if (!path) {
		int r = write_report(f, report, files, text, stdout, err);
		if (fflush(stdout) == EOF && !r)
			r = error_errno(err, -errno, "cannot write the report");
		return r;
	}
	/* A device or a FIFO (-o /dev/null, -o /dev/stdout) is written as it
	 * is: a rename would put a file in its place. */
	struct stat st;
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		FILE *dev = fopen(path, "w");
		if (!dev)
			return error_errno(err, -errno, "cannot open '%s'", path);
		int r = write_report(f, report, files, text, dev, err);
		if (fclose(dev) == EOF && !r)
			r = error_errno(err, -errno, "cannot write '%s'", path);
		return r;
	}
	char *tmp = str_printf("%s.XXXXXX", path);
	int fd = tmp ? mkstemp(tmp) : -1;
	if (fd < 0) {
		int r = error_errno(err, tmp ? -errno : -ENOMEM, "cannot create '%s'", path);
		free(tmp);
		return r;
	}
	FILE *out = fdopen(fd, "w");
	/* A report is megabytes: fewer, larger writes. */
	if (out)
		setvbuf(out, NULL, _IOFBF, 1 << 20);
	int r = out ? write_report(f, report, files, text, out, err) :
		      error_errno(err, -errno, "cannot write '%s'", path);
	if (out && fflush(out) == EOF && !r)
		r = error_errno(err, -errno, "cannot write '%s'", path);
	if (out)
		fclose(out);
	else
		close(fd);
	if (!r && (fchmodat(AT_FDCWD, tmp, 0644, 0) < 0 || rename(tmp, path) < 0))
		r = error_errno(err, -errno, "cannot write '%s'", path);
	if (r < 0)
		unlink(tmp);
	free(tmp);
	return r;
}

/* --- the two kinds of target ------------------------------------------------ */

static json_t *report_new(void)
{
	char now[32];
	format_rfc3339(now_unix(), now, sizeof(now));
	return json_pack("{s:s, s:{s:s, s:s}, s:s}", "schema", "strata-report/1", "tool", "name", "strata",
			 "version", PACKAGE_VERSION, "created", now);
}

static int analyze_dir(const char *dir, struct analyze_opts *o, json_t *report, struct analyze_files *files,
		       struct strata_error *err)
{
	char abs[PATH_MAX];
	if (!realpath(dir, abs))
		return error_errno(err, -errno, "directory '%s'", dir);
	int rootfd = open(abs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return error_errno(err, -errno, "cannot open directory '%s'", dir);
	json_object_set_new(report, "image", json_pack("{s:s}", "path", abs));
	int r = analyze_root(rootfd, o, report, files, err);
	close(rootfd);
	return r;
}

/* {ref, digest, layers} of a stored image; -ENOENT when it is not stored. */
static int image_of(struct client *client, const char *ref, const char *digest, json_t **image,
		    struct strata_error *err)
{
	char *path = cli_image_path(digest ? digest : ref, NULL);
	json_t *out = NULL, *layers = json_array(), *l;
	size_t i;
	int r = client_call(client, "GET", path, NULL, NULL, &out, err);
	free(path);
	if (r < 0) {
		json_decref(layers);
		return r;
	}
	json_array_foreach(json_object_get(out, "layers"), i, l) {
		const char *d = json_string_value(json_object_get(l, "diff_id"));
		if (d)
			json_array_append_new(layers, json_string(d));
	}
	*image = json_pack("{s:s, s:s?, s:o}", "ref", ref, "digest",
			   json_string_value(json_object_get(out, "digest")), "layers", layers);
	json_decref(out);
	return 0;
}

static char *report_path(const char *digest, const char *config)
{
	char *ed = client_escape(digest), *ec = client_escape(config);
	char *path = ed && ec ? str_printf("/v1/analysis/report?digest=%s&config=%s", ed, ec) : NULL;
	free(ed);
	free(ec);
	return path;
}

static double seconds_since(uint64_t t0)
{
	return (double)(now_ns() - t0) / 1e9;
}

/* Memory that refuses to grow past its cap: the text of a report to store. */
struct capped {
	struct buf text;
	size_t cap;
	int over; /* a write past the cap was refused */
};

static ssize_t capped_write(void *cookie, const char *data, size_t len)
{
	struct capped *c = cookie;
	if (c->text.len + len > c->cap) {
		c->over = 1;
		errno = EFBIG;
		return -1;
	}
	return buf_add(&c->text, data, len) < 0 ? -1 : (ssize_t)len;
}

/* A report's JSON text, and the thread that posts it to the daemon's memo
 * on a connection of its own while the run unmounts and writes its output:
 * a report is megabytes, which the daemon takes a while to keep. */
struct report_post {
	int want_text;     /* the output is this JSON text: keep it */
	struct buf text;
	struct cli *cli;
	char *path;        /* the daemon's path for it */
	pthread_t tid;
	int running;
};

static void *post_main(void *arg)
{
	struct report_post *p = arg;
	struct strata_error err = STRATA_ERROR_INIT;
	struct client *c = NULL;
	if (cli_connect(p->cli, &c, &err) == 0) {
		client_set_timeout(c, 0);
		client_call_body(c, "POST", p->path, p->text.data, p->text.len, NULL, NULL, &err);
	}
	if (err.code)
		cli_warn("the report was not stored: %s", err.msg);
	client_free(c);
	return NULL;
}

/* Waits for the post, and frees the text. */
static void report_post_finish(struct report_post *p)
{
	if (p->running)
		pthread_join(p->tid, NULL);
	p->running = 0;
	free(p->path);
	p->path = NULL;
	buf_release(&p->text);
}

/* The report is the request's body: the daemon stores its text unparsed.
 * A report over REPORT_MEMO_MAX (an image of hundreds of thousands of
 * files) is not stored: its text is never held whole, and the next run
 * costs a walk and memo lookups, not a download of the report. The text
 * stays in post for the output, which it is when the format is json:
 * writing a report is most of an analysis that finds its files memoized
 * (post->text stays empty when the report is over the cap). */
static void remember_report(const char *digest, const char *config, const json_t *report,
			    const struct report_files *files, struct report_post *post)
{
	struct strata_error err = STRATA_ERROR_INIT;
	struct capped c = { BUF_INIT, REPORT_MEMO_MAX, 0 };
	post->path = report_path(digest, config);
	FILE *f = fopencookie(&c, "w", (cookie_io_functions_t){ .write = capped_write });
	if (!post->path || !f) {
		cli_warn("the report was not stored: out of memory");
	} else if (report_write_json(report, files, f, &err) < 0) {
		if (!c.over)
			cli_warn("the report was not stored: %s", err.msg);
	} else {
		post->text = c.text;
		c.text = (struct buf)BUF_INIT;
		post->running = pthread_create(&post->tid, NULL, post_main, post) == 0;
		if (!post->running)
			post_main(post);
	}
	if (f)
		fclose(f);
	buf_release(&c.text);
}

/* A stored report's stats, as if made now: no file opened. */
static void refresh_stats(json_t *stats, const struct analyze_opts *o, double seconds)
{
	json_t *per = json_object();
	for (int i = 0; o->enabled[i]; i++)
		json_object_set_new(per, o->enabled[i]->name,
				    json_pack("{s:i, s:i, s:i}", "claimed", 0, "memo_hits", 0, "opened", 0));
	json_object_set_new(stats, "report_cached", json_true());
	json_object_set_new(stats, "seconds", json_real(seconds));
	json_object_set_new(stats, "analyzers", per);
}

/* The image of a report found by reference (made on another node): the
 * stored one, as the asker named it. New reference. */
static json_t *image_as_asked(const json_t *stored, const char *ref)
{
	json_t *img = json_deep_copy(stored);
	if (json_is_object(img))
		json_object_set_new(img, "ref", json_string(ref));
	return img;
}

/* A stored report, as if made now: the asker's reference, no file opened.
 * image NULL: the report's own, named ref. */
static void refresh_cached(json_t *report, json_t *image, const char *ref, const struct analyze_opts *o,
			   double seconds)
{
	if (image)
		json_object_set(report, "image", image);
	else
		json_object_set_new(report, "image", image_as_asked(json_object_get(report, "image"), ref));
	refresh_stats(json_object_get(report, "stats"), o, seconds);
}

/* The value of the top-level member key of a report as strata's JSON writer
 * lays it out ("{\n  \"key\": value,\n  ..."): a member begins a line with
 * two spaces (array items have four, and strings hold no raw newline), and
 * an object value ends with its line. -EINVAL unless key is there once. */
static int member_value(const struct buf *text, const char *key, json_t **value, size_t *at, size_t *len)
{
	char pat[32];
	int n = snprintf(pat, sizeof(pat), "\n  \"%s\": ", key);
	const char *end = text->data + text->len;
	const char *p = memmem(text->data, text->len, pat, (size_t)n);
	if (!p || memmem(p + 1, (size_t)(end - p - 1), pat, (size_t)n))
		return -EINVAL;
	const char *v = p + n, *eol = memchr(v, '\n', (size_t)(end - v));
	if (!eol)
		return -EINVAL;
	if (eol > v && eol[-1] == ',')
		eol--;
	*value = json_loadb(v, (size_t)(eol - v), 0, NULL);
	*at = (size_t)(v - text->data);
	*len = (size_t)(eol - v);
	return json_is_object(*value) ? 0 : -EINVAL;
}

/* A stored report's text as refresh_cached and the JSON writer would make
 * it, into out: "image" and "stats" made anew, the rest (the files section:
 * megabytes) copied, not parsed and written again. -EINVAL when the text
 * is not laid out as strata's writer lays it: the caller parses it then. */
static int refresh_text(const struct buf *stored, json_t *image, const char *ref, const struct analyze_opts *o,
			double seconds, struct buf *out)
{
	json_t *old = NULL, *stats = NULL, *mine = NULL;
	size_t ia, il, sa, sl;
	char *is = NULL, *ss = NULL;
	int r = -EINVAL;
	if (stored->len < 5 || memcmp(stored->data, "{\n", 2) || memcmp(stored->data + stored->len - 3, "\n}\n", 3) ||
	    member_value(stored, "image", &old, &ia, &il) < 0 || member_value(stored, "stats", &stats, &sa, &sl) < 0 ||
	    sa < ia + il)
		goto out;
	refresh_stats(stats, o, seconds);
	if (!image)
		image = mine = image_as_asked(old, ref);
	is = json_dumps(image, JSON_ENCODE_ANY);
	ss = json_dumps(stats, JSON_ENCODE_ANY);
	if (!is || !ss || buf_add(out, stored->data, ia) < 0 || buf_adds(out, is) < 0 ||
	    buf_add(out, stored->data + ia + il, sa - ia - il) < 0 || buf_adds(out, ss) < 0 ||
	    buf_add(out, stored->data + sa + sl, stored->len - sa - sl) < 0) {
		buf_release(out);
		r = -ENOMEM;
		goto out;
	}
	r = 0;
out:
	free(is);
	free(ss);
	json_decref(mine);
	json_decref(old);
	json_decref(stats);
	return r;
}

/* A stored report's text (fetched once), refreshed (refresh_text), into
 * post->text when the output is that text and it is laid out as strata's
 * writer lays it; parsed into *hit otherwise. image NULL: the report's
 * own, named ref. 0, or -EINVAL when it is no report (a miss). */
static int use_stored(const struct buf *stored, json_t *image, const char *ref, const struct analyze_opts *o,
		      uint64_t t0, struct report_post *post, json_t **hit)
{
	*hit = NULL;
	if (post->want_text && refresh_text(stored, image, ref, o, seconds_since(t0), &post->text) == 0)
		return 0;
	*hit = json_loadb(stored->data, stored->len, 0, NULL);
	if (json_is_object(json_object_get(*hit, "stats")) && (image || json_is_object(json_object_get(*hit, "image")))) {
		refresh_cached(*hit, image, ref, o, seconds_since(t0));
		return 0;
	}
	json_decref(*hit);
	*hit = NULL;
	return -EINVAL;
}

/* The stored report of a stored image (this node's memo, else the
 * fleet's): 0 when found, else -ENOENT or another negative errno (a miss
 * either way). */
static int cached(struct client *client, const char *digest, const char *config, json_t *image,
		  const struct analyze_opts *o, uint64_t t0, struct report_post *post, json_t **hit)
{
	char *path = report_path(digest, config);
	struct strata_error err = STRATA_ERROR_INIT;
	struct buf stored = BUF_INIT;
	int r = path ? client_call_text(client, "GET", path, NULL, &stored, &err) : -ENOMEM;
	*hit = NULL;
	if (r == 0)
		r = use_stored(&stored, image, NULL, o, t0, post, hit);
	buf_release(&stored);
	free(path);
	return r;
}

/* The fleet's report of an image this node has not stored: the daemon
 * resolves ref to its manifest digest (one registry request) and asks the
 * shared memo, before anything is pulled. 0 when found, else a miss. */
static int fleet_cached(struct cli *cli, struct client *client, const char *ref, const char *platform,
			const char *config, const struct analyze_opts *o, uint64_t t0, struct report_post *post,
			json_t **hit)
{
	struct strata_error err = STRATA_ERROR_INIT;
	struct buf stored = BUF_INIT;
	json_t *body = json_pack("{s:s, s:s, s:s?}", "ref", ref, "config", config, "platform", platform);
	if (body)
		cli_add_auth(cli, ref, body);
	int r = body ? client_call_json_text(client, "POST", "/v1/analysis/report/find", body, NULL, &stored, &err)
		     : -ENOMEM;
	*hit = NULL;
	if (r == 0)
		r = use_stored(&stored, NULL, ref, o, t0, post, hit);
	json_decref(body);
	buf_release(&stored);
	return r;
}

/* *report and *files; a report found stored has its own files section and
 * leaves *files empty. post->text: the report's JSON text if it was written
 * for the memo (see remember_report) or, when post->want_text, found
 * stored; *report is NULL when it was found stored as text. The caller
 * calls report_post_finish whatever the result. */
static int analyze_image(struct cli *cli, const char *ref, const struct tempmount_opts *mo, int use_memo,
			 struct analyze_opts *o, json_t **report, struct analyze_files *files,
			 struct report_post *post, struct strata_error *err)
{
	uint64_t t0 = now_ns();
	struct client *client = NULL;
	struct tempmount tm = { 0 };
	json_t *image = NULL;
	char *config = analyze_config_id(o);
	int r = cli_connect(cli, &client, err);
	step("connect");
	if (r < 0)
		goto out;
	client_set_timeout(client, 0);
	/* A stored image with a stored report needs no mount at all. */
	r = mo->platform ? -ENOENT : image_of(client, ref, NULL, &image, err);
	step("image lookup");
	if (r == 0 && use_memo) {
		const char *digest = json_string_value(json_object_get(image, "digest"));
		r = cached(client, digest, config, image, o, t0, post, report);
		step("stored report lookup");
		if (r == 0)
			goto out;
	} else if (r == -ENOENT && use_memo &&
		   fleet_cached(cli, client, ref, mo->platform, config, o, t0, post, report) == 0) {
		r = 0;
		goto out;
	}
	error_clear(err);
	r = tempmount_open(cli, client, ref, mo, &tm, err);
	step("mount (and pull)");
	if (r < 0)
		goto out;
	if (!image && (r = image_of(client, ref, tm.digest, &image, err)) < 0)
		goto out;
	int rootfd = open(tm.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0) {
		r = error_errno(err, -errno, "cannot open the mount of '%s'", ref);
		goto out;
	}
	const struct memo_ops memo = { client, memo_lookup_remote, cli->memo_writer ? memo_store_remote : NULL };
	o->memo = use_memo ? &memo : NULL;
	*report = report_new();
	json_object_set(*report, "image", image);
	step("before the walk");
	r = analyze_root(rootfd, o, *report, files, err);
	step("walk, memo and analyzers");
	o->memo = NULL;
	/* A mount that went away under the walk (its daemon stopped) left
	 * errors where files were: that is no report of the image. */
	struct stat root_st;
	if (r == 0 && fstat(rootfd, &root_st) < 0)
		r = error_errno(err, -errno, "the mount of '%s' went away during the analysis", ref);
	close(rootfd);
	if (r == 0 && use_memo && cli->memo_writer) {
		struct report_files rf;
		analyze_files_iter(files, &rf);
		post->cli = cli;
		remember_report(tm.digest, config, *report, &rf, post);
		step("report written");
	}
out:
	if (client) {
		/* For the daemon's metrics; an analysis does not fail for it. */
		struct strata_error oerr = STRATA_ERROR_INIT;
		json_t *ob = json_pack("{s:f, s:b, s:b}", "seconds", seconds_since(t0), "cached",
				       r == 0 && !tm.dir, "ok", r == 0);
		client_call(client, "POST", "/v1/analysis/observe", ob, NULL, NULL, &oerr);
		json_decref(ob);
		step("observe");
	}
	if (tm.dir) {
		struct strata_error uerr = STRATA_ERROR_INIT;
		if (tempmount_close(client, &tm, &uerr) < 0 && r == 0)
			r = error_set(err, uerr.code, "cannot unmount the image: %s", uerr.msg);
		step("unmount");
	}
	if (r < 0) {
		json_decref(*report);
		*report = NULL;
	}
	json_decref(image);
	client_free(client);
	free(config);
	return r;
}

static int parse_format(const char *s, enum format *f)
{
	static const struct { const char *name; enum format f; } names[] = {
		{ "json", FMT_JSON }, { "spdx-json", FMT_SPDX }, { "cyclonedx-json", FMT_CYCLONEDX },
		{ "table", FMT_TABLE },
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(s, names[i].name)) {
			*f = names[i].f;
			return 0;
		}
	return -EINVAL;
}

static int run_analyze(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "output", required_argument, NULL, 'o' },
		{ "analyzers", required_argument, NULL, 'a' },
		{ "platform", required_argument, NULL, 'p' },
		{ "no-pull", no_argument, NULL, 'n' },
		{ "no-memo", no_argument, NULL, 'M' },
		{ "threads", required_argument, NULL, 't' },
		{ "secret-rules", required_argument, NULL, 'r' },
		{ "secret-rules-only", required_argument, NULL, 'R' },
		{ 0 }
	};
	struct analyze_opts o;
	struct tempmount_opts mo = { 0 };
	struct strata_error err = STRATA_ERROR_INIT;
	enum format fmt = FMT_JSON;
	const char *output = NULL;
	int use_memo = 1, c;
	analyze_opts_init(&o);
	optind = 0;
	while ((c = getopt_long(argc, argv, "f:o:", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			if (parse_format(optarg, &fmt) < 0)
				return cli_usage(&cmd_analyze, "unknown format '%s' (json, spdx-json, cyclonedx-json, table)",
						 optarg);
			break;
		case 'o': output = optarg; break;
		case 'a':
			if (analyze_select(&o, optarg, &err) < 0)
				return cli_usage(&cmd_analyze, "%s", err.msg);
			break;
		case 'p': mo.platform = optarg; break;
		case 'n': mo.no_pull = 1; break;
		case 'M': use_memo = 0; break;
		case 'r':
		case 'R':
			/* The rule set's hash joins the memo key: results of other
			 * rules are never reused. */
			if (secrets_load_rules(optarg, c == 'R', &err) < 0)
				return cli_fail("analyze: %s", err.msg);
			break;
		case 't': {
			char *end;
			long n = strtol(optarg, &end, 10);
			if (*end || n < 1 || n > 256)
				return cli_usage(&cmd_analyze, "--threads must be a number from 1 to 256");
			o.threads = (unsigned)n;
			break;
		}
		default: return cli_usage(&cmd_analyze, "unknown option");
		}
	}
	if (argc - optind != 1)
		return cli_usage(&cmd_analyze, "one image or directory is needed");
	const char *target = argv[optind];
	step(NULL);
	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	o.stop = &interrupted;

	json_t *report = NULL;
	struct analyze_files files = { 0 };
	struct report_files rf;
	struct report_post post = { .want_text = fmt == FMT_JSON, .text = BUF_INIT };
	struct stat st;
	int r;
	/* An existing directory is a root file system; anything else an image. */
	if (stat(target, &st) == 0 && S_ISDIR(st.st_mode)) {
		report = report_new();
		r = analyze_dir(target, &o, report, &files, &err);
	} else {
		r = analyze_image(cli, target, &mo, use_memo, &o, &report, &files, &post, &err);
	}
	analyze_files_iter(&files, &rf);
	const struct buf *text = post.want_text && post.text.len ? &post.text : NULL;
	if (r == 0)
		r = emit(fmt, report, files.present ? &rf : NULL, text, output, &err);
	step("output");
	report_post_finish(&post);
	step("report stored");
	json_decref(report);
	analyze_files_release(&files);
	if (r < 0) {
		if (r == -EINTR)
			return cli_fail("analyze '%s': interrupted", target);
		return cli_fail("analyze '%s': %s", target, err.msg);
	}
	return 0;
}

const struct cli_command cmd_analyze = {
	"analyze", run_analyze,
	"[--format json|spdx-json|cyclonedx-json|table] [-o FILE] [--analyzers LIST] [--no-memo]\n"
	"       [--secret-rules FILE | --secret-rules-only FILE] [--threads N] REF|DIR",
	"report files, packages and secrets of an image or a root directory",
};
