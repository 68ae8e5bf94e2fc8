/* imageinfo: listing, describing, resolving and removing stored images. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "src/store/cache.h"
#include "src/store/catalog.h"
#include "src/store/layers.h"
#include "src/store/memo.h"
#include "imageinfo.h"
#include "imageview.h"
#include "src/registry/ref.h"
#include "src/base/util.h"

json_t *imageinfo_time(int64_t t)
{
	char s[40];
	format_rfc3339(t, s, sizeof(s));
	return json_string(s);
}

/* A unique digest prefix among stored images. */
struct prefix_search {
	const char *hex;
	size_t len;
	char found[DIGEST_STR_MAX];
	int matches;
};

static int match_prefix(json_t *img, void *ctx)
{
	struct prefix_search *ps = ctx;
	const char *d = json_string_value(json_object_get(img, "digest"));
	if (d && !strncmp(d + 7, ps->hex, ps->len)) {
		snprintf(ps->found, sizeof(ps->found), "%s", d);
		ps->matches++;
	}
	return 0;
}

static int is_hex(const char *s)
{
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return 0;
	return 1;
}

int imageinfo_resolve(struct store *st, const char *refstr, char digest[DIGEST_STR_MAX],
		      struct strata_error *err)
{
	if (!st)
		return error_set(err, -ENOENT, "image '%s' is not stored", refstr);
	const char *hex = !strncmp(refstr, "sha256:", 7) ? refstr + 7 : refstr;
	size_t hl = strlen(hex);
	if (hl >= 4 && hl <= 64 && is_hex(hex)) {
		struct prefix_search ps = { hex, hl, "", 0 };
		catalog_each_image(st->idx, match_prefix, &ps);
		if (ps.matches == 1) {
			snprintf(digest, DIGEST_STR_MAX, "%s", ps.found);
			return 0;
		}
		if (ps.matches > 1)
			return error_set(err, -EINVAL, "'%s' matches %d images: give more digits", refstr, ps.matches);
		/* A full digest without its "sha256:" is a digest too, not a name. */
		if (hex != refstr || hl == 64)
			return error_set(err, -ENOENT, "image '%s' is not stored", refstr);
	}
	struct image_ref ref;
	int r = ref_parse(refstr, &ref, err);
	if (r < 0)
		return r;
	if (catalog_resolve_name(st->idx, ref.name, digest) == 0) {
		r = 0;
	} else if (ref.digest) {
		json_t *img = NULL;
		r = catalog_get_image(st->idx, ref.digest, &img, NULL);
		json_decref(img);
		if (r == 0)
			snprintf(digest, DIGEST_STR_MAX, "%s", ref.digest);
	} else {
		r = -ENOENT;
	}
	if (r == -ENOENT)
		error_set(err, r, "image '%s' is not stored", refstr);
	ref_release(&ref);
	return r;
}

static uint64_t image_size(json_t *img)
{
	uint64_t total = 0;
	size_t i;
	json_t *l;
	json_array_foreach(json_object_get(img, "layers"), i, l)
		total += (uint64_t)json_integer_value(json_object_get(l, "size"));
	return total;
}

static int collect(json_t *img, void *ctx)
{
	json_array_append(ctx, img);
	return 0;
}

json_t *imageinfo_list(struct store *st)
{
	json_t *all = json_array(), *out = json_array(), *img;
	size_t i;
	if (st)
		catalog_each_image(st->idx, collect, all);
	json_array_foreach(all, i, img) {
		json_array_append_new(out, json_pack("{s:O, s:O, s:O, s:O, s:I, s:I, s:o}",
			"names", json_object_get(img, "names"),
			"digest", json_object_get(img, "digest"),
			"config_digest", json_object_get(img, "config_digest"),
			"platform", json_object_get(img, "platform"),
			"layers", (json_int_t)json_array_size(json_object_get(img, "layers")),
			"size", (json_int_t)image_size(img),
			"pulled", imageinfo_time(json_integer_value(json_object_get(img, "pulled")))));
	}
	json_decref(all);
	return out;
}

static json_t *layer_json(struct store *st, json_t *l)
{
	const char *d = json_string_value(json_object_get(l, "diff_id"));
	struct layer_record rec;
	json_t *o = json_pack("{s:O, s:O, s:O, s:O}", "digest", json_object_get(l, "digest"),
			      "diff_id", json_object_get(l, "diff_id"),
			      "media_type", json_object_get(l, "media_type"),
			      "compressed_size", json_object_get(l, "size"));
	if (d && layers_get(st->idx, d, &rec, NULL) == 0) {
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

json_t *imageinfo_inspect(struct store *st, const char *digest, struct strata_error *err)
{
	json_t *img = NULL, *l;
	size_t i;
	if (catalog_get_image(st->idx, digest, &img, err) < 0)
		return NULL;
	json_t *layers = json_array();
	json_array_foreach(json_object_get(img, "layers"), i, l)
		json_array_append_new(layers, layer_json(st, l));
	json_t *out = json_pack("{s:O, s:O, s:O, s:O, s:O, s:o, s:o}",
				"names", json_object_get(img, "names"),
				"digest", json_object_get(img, "digest"),
				"media_type", json_object_get(img, "media_type"),
				"config_digest", json_object_get(img, "config_digest"),
				"platform", json_object_get(img, "platform"),
				"pulled", imageinfo_time(json_integer_value(json_object_get(img, "pulled"))),
				"layers", layers);
	json_decref(img);
	if (!out)
		error_set(err, -ENOMEM, "out of memory");
	return out;
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

static int visit(void *ctx, const char *name, struct iv_node *n)
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
	/* Names are the image's: shown so that none can write to a terminal
	 * or forge a line (buf_add_visible). */
	struct buf vis = BUF_INIT, vlink = BUF_INIT;
	char *target = n->type == ENTRY_SYMLINK ? strndup(e->link, e->link_len) : NULL;
	char *line = NULL;
	if (buf_add_visible(&vis, w->path.data) == 0 && buf_add_visible(&vlink, target ? target : "-") == 0)
		line = str_printf("%s\t%c\t%o\t%u\t%u\t%s\t%s\t%s", vis.data, type_letter(n->type), e->mode & 07777,
				  e->uid, e->gid, size, vlink.data, hex);
	free(target);
	buf_release(&vis);
	buf_release(&vlink);
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

int imageinfo_files(struct store *st, const char *digest, struct buf *out, struct strata_error *err)
{
	struct imageview *v = NULL;
	struct iv_node root;
	struct walk w = { .err = err };
	buf_init(&w.path, 0);
	int r = imageview_open(st, digest, &v, err);
	if (r < 0)
		return r;
	imageview_load_lists(v); /* every entry is read */
	w.v = v;
	if ((r = imageview_root(v, &root, err)) == 0) {
		r = imageview_readdir(v, &root, "", visit, &w, err);
		iv_node_release(&root);
	}
	/* Tabs sort below every printable byte, as in `sort` of the same lines. */
	if (r == 0) {
		if (w.n > 1)
			qsort(w.lines, w.n, sizeof(*w.lines), cmp_lines);
		for (size_t i = 0; i < w.n && r == 0; i++)
			if (buf_adds(out, w.lines[i]) < 0 || buf_addch(out, '\n') < 0)
				r = error_set(err, -ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < w.n; i++)
		free(w.lines[i]);
	free(w.lines);
	buf_release(&w.path);
	imageview_free(v);
	return r;
}

/* Is the layer diff_id used by an image other than skip? */
struct use_check {
	const char *diff_id, *skip;
	int used;
};

static int check_use(json_t *img, void *ctx)
{
	struct use_check *u = ctx;
	if (!strcmp(json_string_value(json_object_get(img, "digest")), u->skip))
		return 0;
	size_t i;
	json_t *l;
	json_array_foreach(json_object_get(img, "layers"), i, l) {
		const char *d = json_string_value(json_object_get(l, "diff_id"));
		if (d && !strcmp(d, u->diff_id))
			u->used = 1;
	}
	return u->used;
}

int imageinfo_remove(struct store *st, const char *digest, uint64_t *freed, struct strata_error *err)
{
	json_t *img = NULL;
	int r = catalog_get_image(st->idx, digest, &img, err);
	*freed = 0;
	if (r < 0)
		return r;
	struct index_batch *b = index_batch_new();
	if (!b) {
		json_decref(img);
		return error_set(err, -ENOMEM, "out of memory");
	}
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(img, "names"), i, v)
		catalog_delete_name(b, json_string_value(v));
	catalog_delete_image(b, img);
	memo_forget_image(b, digest);
	r = storedir_commit(st->sd, b, 1, err);
	index_batch_free(b);

	/* Then every layer no other image uses; the image is gone either way. */
	json_array_foreach(json_object_get(img, "layers"), i, v) {
		const char *d = json_string_value(json_object_get(v, "diff_id"));
		struct use_check u = { d, digest, 0 };
		struct layer_record rec;
		uint64_t f = 0;
		if (r < 0 || !d || layers_get(st->idx, d, &rec, NULL) < 0)
			continue;
		catalog_each_image(st->idx, check_use, &u);
		/* A pinned layer is mounted, or a pull in progress counts on it. */
		if (u.used || cache_is_pinned(st->cache, d))
			continue;
		if ((r = layers_remove(st->sd, &rec, &f, err)) == 0)
			*freed += f;
	}
	json_decref(img);
	return r;
}

int imageinfo_remove_ref(struct store *st, const char *refstr, const char *digest, const char *busy,
			 uint64_t *freed, int *untagged, struct strata_error *err)
{
	struct image_ref ref;
	struct strata_error ignored = STRATA_ERROR_INIT;
	char named[DIGEST_STR_MAX];
	json_t *img = NULL;
	int r = 0;
	*untagged = 0;
	*freed = 0;
	if (ref_parse(refstr, &ref, &ignored) == 0) {
		if (catalog_resolve_name(st->idx, ref.name, named) == 0 && !strcmp(named, digest) &&
		    catalog_get_image(st->idx, digest, &img, err) == 0 &&
		    json_array_size(json_object_get(img, "names")) > 1) {
			json_t *names = json_object_get(img, "names");
			for (size_t i = json_array_size(names); i-- > 0;)
				if (!strcmp(json_string_value(json_array_get(names, i)), ref.name))
					json_array_remove(names, i);
			struct index_batch *b = index_batch_new();
			if (!b) {
				r = error_set(err, -ENOMEM, "out of memory");
			} else {
				catalog_delete_name(b, ref.name);
				catalog_put_image(b, img);
				r = storedir_commit(st->sd, b, 1, err);
				*untagged = r == 0;
			}
			index_batch_free(b);
		}
		ref_release(&ref);
	}
	json_decref(img);
	if (r < 0 || *untagged)
		return r;
	if (busy)
		return error_set(err, -EBUSY, "image '%s' is mounted at '%s'", refstr, busy);
	return imageinfo_remove(st, digest, freed, err);
}
