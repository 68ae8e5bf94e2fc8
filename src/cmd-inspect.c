/* strata inspect: one stored image — its digests, its layers with what
 * they cost the store, and (--files) its merged file tree. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "cli.h"
#include "imageview.h"
#include "util.h"

static json_t *layer_json(struct store *st, json_t *l)
{
	const char *d = json_string_value(json_object_get(l, "diff_id"));
	struct layer_record rec;
	json_t *o = json_pack("{s:O, s:O, s:O, s:O}", "digest", json_object_get(l, "digest"),
			      "diff_id", json_object_get(l, "diff_id"),
			      "media_type", json_object_get(l, "media_type"),
			      "compressed_size", json_object_get(l, "size"));
	if (d && catalog_get_layer(st->idx, d, &rec, NULL) == 0) {
		json_object_set_new(o, "size", json_integer((json_int_t)rec.size));
		json_object_set_new(o, "entries", json_integer((json_int_t)rec.entries));
		json_object_set_new(o, "chunks", json_integer((json_int_t)rec.chunks));
		json_object_set_new(o, "new_chunks", json_integer((json_int_t)rec.new_chunks));
		json_object_set_new(o, "stored_bytes", json_integer((json_int_t)rec.stored_bytes));
		json_object_set_new(o, "shared_bytes", json_integer((json_int_t)rec.shared_bytes));
		json_object_set_new(o, "stored", json_true());
	} else {
		json_object_set_new(o, "stored", json_false());
	}
	return o;
}

static void print_text(json_t *out)
{
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(out, "names"), i, v)
		printf("name:      %s\n", json_string_value(v));
	printf("digest:    %s\n", json_string_value(json_object_get(out, "digest")));
	printf("config:    %s\n", json_string_value(json_object_get(out, "config_digest")));
	printf("platform:  %s\n", json_string_value(json_object_get(out, "platform")));
	printf("pulled:    %s\n", json_string_value(json_object_get(out, "pulled")));
	printf("layers:\n  %-3s %-12s %10s %12s %8s %7s %10s %10s\n", "#", "DIGEST", "COMPRESSED",
	       "UNCOMPRESSED", "ENTRIES", "CHUNKS", "NEW", "SHARED");
	json_array_foreach(json_object_get(out, "layers"), i, v) {
		char sd[20], cs[16], us[16], ns[16], ss[16];
		digest_short(json_string_value(json_object_get(v, "digest")), sd);
		format_size((uint64_t)json_integer_value(json_object_get(v, "compressed_size")), cs, sizeof(cs));
		format_size((uint64_t)json_integer_value(json_object_get(v, "size")), us, sizeof(us));
		format_size((uint64_t)json_integer_value(json_object_get(v, "stored_bytes")), ns, sizeof(ns));
		format_size((uint64_t)json_integer_value(json_object_get(v, "shared_bytes")), ss, sizeof(ss));
		printf("  %-3zu %-12s %10s %12s %8lld %7lld %10s %10s\n", i + 1, sd, cs, us,
		       json_integer_value(json_object_get(v, "entries")),
		       json_integer_value(json_object_get(v, "chunks")), ns, ss);
	}
}

/* --files: one line per entry of the merged tree, sorted by path:
 * path type mode uid gid size link sha256 (find's letters for the type). */
struct walk {
	struct imageview *v;
	struct strata_error *err;
	char **lines;
	size_t n, cap;
	struct buf path;
};

static char type_letter(enum entry_type t)
{
	switch (t) {
	case ENTRY_REG: return 'f';
	case ENTRY_DIR: return 'd';
	case ENTRY_SYMLINK: return 'l';
	case ENTRY_CHR: return 'c';
	case ENTRY_BLK: return 'b';
	case ENTRY_FIFO: return 'p';
	case ENTRY_SOCK: return 's';
	default: return '?';
	}
}

static int visit(void *ctx, const char *name, const struct iv_node *n)
{
	struct walk *w = ctx;
	size_t saved = w->path.len;
	if (saved)
		buf_addch(&w->path, '/');
	buf_adds(&w->path, name);
	const struct entry *e = &n->e;
	char size[24] = "-", hex[65] = "-";
	if (n->type == ENTRY_REG) {
		snprintf(size, sizeof(size), "%llu", (unsigned long long)e->size);
		hex_encode(e->sha256, SHA256_LEN, hex);
	} else if (n->type == ENTRY_SYMLINK) {
		snprintf(size, sizeof(size), "%zu", e->link_len);
	} else if (n->type != ENTRY_DIR) {
		snprintf(size, sizeof(size), "0");
	}
	char *line = str_printf("%s\t%c\t%o\t%u\t%u\t%s\t%.*s\t%s", w->path.data, type_letter(n->type),
				e->mode & 07777, e->uid, e->gid, size,
				n->type == ENTRY_SYMLINK ? (int)e->link_len : 1,
				n->type == ENTRY_SYMLINK ? e->link : "-", hex);
	if (w->n == w->cap) {
		w->cap = w->cap ? w->cap * 2 : 1024;
		char **nl = realloc(w->lines, w->cap * sizeof(*nl));
		if (!nl) {
			free(line);
			return error_set(w->err, -ENOMEM, "out of memory");
		}
		w->lines = nl;
	}
	if (!line)
		return error_set(w->err, -ENOMEM, "out of memory");
	w->lines[w->n++] = line;
	int r = 0;
	if (n->type == ENTRY_DIR) {
		char *dir = strdup(w->path.data);
		r = dir ? imageview_readdir(w->v, n, dir, visit, w, w->err) : -ENOMEM;
		free(dir);
	}
	buf_setlen(&w->path, saved);
	return r;
}

static int cmp_lines(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int list_files(struct store *st, const char *digest, struct strata_error *err)
{
	struct imageview *v = NULL;
	struct iv_node root;
	struct walk w = { .err = err };
	buf_init(&w.path, 0);
	int r = imageview_open(st, digest, &v, err);
	if (r < 0)
		return r;
	w.v = v;
	if ((r = imageview_root(v, &root, err)) == 0) {
		r = imageview_readdir(v, &root, "", visit, &w, err);
		iv_node_release(&root);
	}
	/* Tabs sort below every printable byte, as in `sort` of the same lines. */
	if (r == 0) {
		qsort(w.lines, w.n, sizeof(*w.lines), cmp_lines);
		for (size_t i = 0; i < w.n; i++)
			puts(w.lines[i]);
	}
	for (size_t i = 0; i < w.n; i++)
		free(w.lines[i]);
	free(w.lines);
	buf_release(&w.path);
	imageview_free(v);
	return r;
}

static int run_inspect(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "files", no_argument, NULL, 'f' },
		{ 0 }
	};
	int json = 0, files = 0, c;
	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = 1; break;
		case 'f': files = 1; break;
		default: return cli_usage(&cmd_inspect, "unknown option");
		}
	}
	if (optind != argc - 1)
		return cli_usage(&cmd_inspect, optind >= argc ? "no image given" : "one image at a time");
	struct strata_error err = STRATA_ERROR_INIT;
	struct store *st = NULL;
	char digest[DIGEST_STR_MAX];
	json_t *img = NULL;
	if (cli_open_store(cli, STORE_READ, &st, &err) < 0 ||
	    cli_resolve_image(st, argv[optind], digest, &err) < 0 ||
	    catalog_get_image(st->idx, digest, &img, &err) < 0) {
		store_close(st);
		return cli_fail_err(&err);
	}
	int rc = 0;
	if (files) {
		if (list_files(st, digest, &err) < 0)
			rc = cli_fail_err(&err);
	} else {
		json_t *layers = json_array(), *l;
		size_t i;
		json_array_foreach(json_object_get(img, "layers"), i, l)
			json_array_append_new(layers, layer_json(st, l));
		json_t *out = json_pack("{s:O, s:O, s:O, s:O, s:O, s:o, s:o}",
					"names", json_object_get(img, "names"),
					"digest", json_object_get(img, "digest"),
					"media_type", json_object_get(img, "media_type"),
					"config_digest", json_object_get(img, "config_digest"),
					"platform", json_object_get(img, "platform"),
					"pulled", cli_json_time(json_integer_value(json_object_get(img, "pulled"))),
					"layers", layers);
		if (json)
			cli_print_json(out);
		else
			print_text(out);
		json_decref(out);
	}
	json_decref(img);
	store_close(st);
	return rc;
}

const struct cli_command cmd_inspect = {
	"inspect", run_inspect, "[--json] [--files] REF", "show a stored image, its layers or its files",
};
