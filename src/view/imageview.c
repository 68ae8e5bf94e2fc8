/* imageview: overlay resolution over the index, layer by layer. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "src/store/catalog.h"
#include "src/store/layerlist.h"
#include "src/store/layers.h"
#include "imageview.h"
#include "src/base/util.h"

struct imageview {
	struct store *st;
	unsigned n;
	uint32_t *lids;        /* bottom first */
	char (*diff_ids)[DIGEST_STR_MAX];
	/* Per layer, its listing or NULL (read the index). A slot goes from
	 * NULL to a listing once, atomically, and is read without a lock. */
	struct layerlist **lists;
};

static struct layerlist *list_of(const struct imageview *v, unsigned k)
{
	return v->lists ? __atomic_load_n(&v->lists[k], __ATOMIC_ACQUIRE) : NULL;
}

void iv_node_init(struct iv_node *n)
{
	memset(n, 0, sizeof(*n));
	buf_init(&n->rec, 0);
	buf_init(&n->target_rec, 0);
}

void iv_node_release(struct iv_node *n)
{
	buf_release(&n->rec);
	buf_release(&n->target_rec);
}

int imageview_open(struct store *st, const char *digest, struct imageview **out,
		   struct strata_error *err)
{
	json_t *img = NULL;
	int r = catalog_get_image(st->idx, digest, &img, err);
	if (r == -ENOENT)
		return error_set(err, r, "image '%s' is not stored", digest);
	if (r < 0)
		return r;
	json_t *layers = json_object_get(img, "layers");
	struct imageview *v = calloc(1, sizeof(*v));
	size_t n = json_array_size(layers);
	if (v) {
		v->lids = calloc(n ? n : 1, sizeof(*v->lids));
		v->diff_ids = calloc(n ? n : 1, sizeof(*v->diff_ids));
		if (st->lists)
			v->lists = calloc(n ? n : 1, sizeof(*v->lists));
	}
	if (!v || !v->lids || !v->diff_ids || (st->lists && !v->lists)) {
		r = error_set(err, -ENOMEM, "out of memory");
		goto fail;
	}
	v->st = st;
	v->n = (unsigned)n;
	for (size_t i = 0; i < n; i++) {
		const char *d = json_string_value(json_object_get(json_array_get(layers, i), "diff_id"));
		struct layer_record rec;
		if (!d || (r = layers_get(st->idx, d, &rec, err)) < 0 ||
		    !(layers_complete(&rec) || layers_mapped(&rec))) {
			if (r >= 0 || r == -ENOENT || !d)
				r = error_set(err, -ENOENT, "image '%s': layer %zu is not stored", digest, i + 1);
			goto fail;
		}
		v->lids[i] = rec.lid;
		snprintf(v->diff_ids[i], DIGEST_STR_MAX, "%s", d);
		/* Listings built for other views cost nothing to share. */
		if (v->lists)
			v->lists[i] = layerlist_peek(st->lists, rec.lid);
	}
	json_decref(img);
	*out = v;
	return 0;
fail:
	json_decref(img);
	imageview_free(v);
	return r;
}

void imageview_free(struct imageview *v)
{
	if (!v)
		return;
	for (unsigned k = 0; v->lists && k < v->n; k++)
		layerlist_release(v->st->lists, v->lists[k]);
	free(v->lists);
	free(v->lids);
	free(v->diff_ids);
	free(v);
}

void imageview_load_lists(struct imageview *v)
{
	for (unsigned k = 0; v->lists && k < v->n; k++) {
		struct strata_error err = STRATA_ERROR_INIT;
		struct layerlist *l, *none = NULL;
		if (list_of(v, k) || layerlist_get(v->st->lists, v->st->idx, v->lids[k], &l, &err) < 0)
			continue;
		if (!__atomic_compare_exchange_n(&v->lists[k], &none, l, 0, __ATOMIC_RELEASE, __ATOMIC_RELAXED))
			layerlist_release(v->st->lists, l);
	}
}

unsigned imageview_layers(const struct imageview *v)
{
	return v->n;
}

const char *imageview_layer_digest(const struct imageview *v, unsigned i)
{
	return i < v->n ? v->diff_ids[i] : NULL;
}

/* Point lookup of "dir/name" in layer k: 0 with the record in val, -ENOENT. */
static int get_in_layer(struct imageview *v, unsigned k, const char *dir, size_t dlen,
			const char *name, size_t nlen, struct buf *key, struct buf *val,
			struct strata_error *err)
{
	const struct layerlist *l = list_of(v, k);
	if (l) {
		const void *rec;
		size_t rlen;
		if (layerlist_find(l, dir, dlen, name, nlen, &rec, &rlen) < 0)
			return -ENOENT;
		buf_reset(val);
		return buf_add(val, rec, rlen) < 0 ? error_set(err, -ENOMEM, "out of memory") : 0;
	}
	int r = entry_dir_prefix(key, v->lids[k], dir, dlen);
	if (r < 0 || (r = buf_add(key, name, nlen)) < 0)
		return error_set(err, -ENOMEM, "out of memory");
	return index_get(v->st->idx, key->data, key->len, val, err);
}

static int decode_into(struct iv_node *n, unsigned k, struct strata_error *err)
{
	if (entry_decode(n->rec.data, n->rec.len, &n->e) < 0)
		return error_set(err, -EIO, "corrupt entry record in layer %u", k + 1);
	n->type = n->e.type;
	n->layer = k;
	n->ino_seed = (uint64_t)k << 40 | n->e.ordinal;
	return 0;
}

/* A hardlink reads as its target (same layer): data fields and identity. */
static int resolve_hardlink(struct imageview *v, struct iv_node *n, struct buf *key,
			    struct strata_error *err)
{
	struct entry t;
	const char *slash = memrchr(n->e.link, '/', n->e.link_len);
	size_t dlen = slash ? (size_t)(slash - n->e.link) : 0;
	const char *base = slash ? slash + 1 : n->e.link;
	int r = get_in_layer(v, n->layer, n->e.link, dlen, base, n->e.link_len - (size_t)(base - n->e.link),
			     key, &n->target_rec, err);
	if (r == -ENOENT)
		return error_set(err, -EIO, "hardlink target '%.*s' is missing", (int)n->e.link_len, n->e.link);
	if (r < 0)
		return r;
	if (entry_decode(n->target_rec.data, n->target_rec.len, &t) < 0)
		return error_set(err, -EIO, "corrupt entry record in layer %u", n->layer + 1);
	/* Keep the hardlink's own name-level fields; take the file's identity and data. */
	n->e = t;
	n->type = t.type;
	n->ino_seed = (uint64_t)n->layer << 40 | t.ordinal;
	return 0;
}

int imageview_root(struct imageview *v, struct iv_node *out, struct strata_error *err)
{
	struct buf key = BUF_INIT;
	int r = 0, found = 0;
	iv_node_init(out);
	out->type = ENTRY_DIR;
	out->e.type = ENTRY_DIR;
	out->e.mode = 0755;
	out->e.nlink = 1;
	out->floor = 0;
	out->ino_seed = 0;
	/* The topmost listed root entry gives the root's attributes. */
	for (unsigned k = v->n; k-- > 0 && !found;) {
		r = get_in_layer(v, k, "", 0, "", 0, &key, &out->rec, err);
		if (r == -ENOENT) {
			r = 0;
			continue;
		}
		if (r < 0)
			break;
		struct entry e;
		if (entry_decode(out->rec.data, out->rec.len, &e) == 0 && e.type == ENTRY_DIR &&
		    !(e.flags & ENTRY_F_IMPLICIT)) {
			out->e = e;
			out->layer = k;
			found = 1;
		}
	}
	/* An opaque marker at the root hides every layer below it. */
	for (unsigned k = v->n; r == 0 && k-- > 0;) {
		struct buf tmp = BUF_INIT;
		int q = get_in_layer(v, k, "", 0, ".wh..wh..opq", 12, &key, &tmp, err);
		buf_release(&tmp);
		if (q == 0) {
			out->floor = k;
			break;
		}
	}
	out->ino_seed = 0;
	buf_release(&key);
	return r;
}

int imageview_lookup(struct imageview *v, const struct iv_node *dir, const char *dir_path,
		     const char *name, struct iv_node *out, struct strata_error *err)
{
	struct buf key = BUF_INIT, wh = BUF_INIT, tmp = BUF_INIT;
	size_t dlen = strlen(dir_path), nlen = strlen(name);
	int r = -ENOENT, found_dir = 0;

	iv_node_init(out);
	if (!strncmp(name, ".wh.", 4) || nlen == 0 || strchr(name, '/')) {
		r = -ENOENT;
		goto out;
	}
	if (buf_adds(&wh, ".wh.") < 0 || buf_adds(&wh, name) < 0) {
		r = error_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	/* The path of the child, for its own opaque marker. */
	struct buf child = BUF_INIT;
	if (dlen)
		buf_add(&child, dir_path, dlen), buf_addch(&child, '/');
	buf_add(&child, name, nlen);

	for (unsigned k = v->n; k-- > dir->floor;) {
		int q = get_in_layer(v, k, dir_path, dlen, name, nlen, &key, &tmp, err);
		if (q < 0 && q != -ENOENT) {
			r = q;
			break;
		}
		if (q == 0) {
			struct entry e;
			if (entry_decode(tmp.data, tmp.len, &e) < 0) {
				r = error_set(err, -EIO, "corrupt entry record in layer %u", k + 1);
				break;
			}
			if (e.type != ENTRY_DIR) {
				if (found_dir) {
					out->floor = k + 1;
					break;
				}
				/* A non-directory: the topmost one is the answer. */
				buf_release(&out->rec);
				out->rec = tmp;
				buf_init(&tmp, 0);
				r = decode_into(out, k, err);
				if (r == 0 && e.type == ENTRY_HARDLINK)
					r = resolve_hardlink(v, out, &key, err);
				goto done;
			}
			/* A directory: attributes from the topmost listed one. */
			if (!found_dir || (out->e.flags & ENTRY_F_IMPLICIT && !(e.flags & ENTRY_F_IMPLICIT))) {
				buf_release(&out->rec);
				out->rec = tmp;
				buf_init(&tmp, 0);
				if ((r = decode_into(out, k, err)) < 0)
					break;
			}
			found_dir = 1;
			out->floor = k;
			r = 0;
			/* Opaque: nothing of this directory below layer k shows. */
			int o = get_in_layer(v, k, child.data, child.len, ".wh..wh..opq", 12, &key, &tmp, err);
			if (o == 0)
				break;
			continue;
		}
		/* A whiteout in layer k hides the name below it. */
		q = get_in_layer(v, k, dir_path, dlen, wh.data, wh.len, &key, &tmp, err);
		if (q == 0)
			break;
	}
	if (found_dir) {
		/* The identity is that of the entry that gives the attributes. */
		out->ino_seed = (uint64_t)out->layer << 40 | out->e.ordinal;
		out->type = ENTRY_DIR;
		r = 0;
	}
done:
	buf_release(&child);
out:
	if (r < 0)
		iv_node_release(out);
	buf_release(&key);
	buf_release(&wh);
	buf_release(&tmp);
	return r;
}

/* Names already decided in a readdir (shown or hidden): a string set with
 * open addressing, so that directories of any size merge in linear time. */
struct nameset {
	struct { uint64_t h; char *name; } *slots;
	size_t n, cap;
};

static uint64_t name_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 1099511628211ull;
	return h ? h : 1;
}

static int nameset_has(const struct nameset *s, const char *name)
{
	if (!s->cap)
		return 0;
	uint64_t h = name_hash(name);
	for (size_t j = h & (s->cap - 1); s->slots[j].h; j = (j + 1) & (s->cap - 1))
		if (s->slots[j].h == h && !strcmp(s->slots[j].name, name))
			return 1;
	return 0;
}

static int nameset_add(struct nameset *s, const char *name)
{
	if ((s->n + 1) * 2 > s->cap) {
		size_t nc = s->cap ? s->cap * 2 : 64;
		void *ns = calloc(nc, sizeof(*s->slots));
		if (!ns)
			return -ENOMEM;
		struct nameset grown = { ns, 0, nc };
		for (size_t i = 0; i < s->cap; i++)
			if (s->slots[i].h) {
				size_t j = s->slots[i].h & (nc - 1);
				while (grown.slots[j].h)
					j = (j + 1) & (nc - 1);
				grown.slots[j] = s->slots[i];
			}
		free(s->slots);
		s->slots = grown.slots;
		s->cap = nc;
	}
	uint64_t h = name_hash(name);
	size_t j = h & (s->cap - 1);
	while (s->slots[j].h)
		j = (j + 1) & (s->cap - 1);
	s->slots[j].name = strdup(name);
	if (!s->slots[j].name)
		return -ENOMEM;
	s->slots[j].h = h;
	s->n++;
	return 0;
}

static void nameset_release(struct nameset *s)
{
	for (size_t i = 0; i < s->cap; i++)
		free(s->slots[i].name);
	free(s->slots);
}

/* A name first met in layer k's listing is no higher layer's: if that
 * record is a plain leaf, it is the answer imageview_lookup would give,
 * without one lookup per layer above. 1 with out set; 0 for a directory
 * (whose lower layers merge in) or a hardlink (whose target is looked up),
 * left to imageview_lookup. */
static int leaf_from_listing(unsigned k, const void *val, size_t len, struct iv_node *out,
			     struct strata_error *err)
{
	struct entry e;
	if (entry_decode(val, len, &e) < 0 || e.type == ENTRY_DIR || e.type == ENTRY_HARDLINK)
		return 0;
	iv_node_init(out);
	if (buf_add(&out->rec, val, len) < 0) {
		iv_node_release(out);
		return error_set(err, -ENOMEM, "out of memory");
	}
	int r = decode_into(out, k, err);
	if (r < 0)
		iv_node_release(out);
	return r < 0 ? r : 1;
}

/* One layer's children of a directory, from its listing or the index. */
struct layer_children {
	const struct layerlist *l;
	size_t i, end;
	struct index_iter *it;
	size_t plen;
};

static int children_open(struct imageview *v, unsigned k, const char *dir, size_t dlen, struct buf *prefix,
			 struct layer_children *c)
{
	memset(c, 0, sizeof(*c));
	if ((c->l = list_of(v, k))) {
		size_t n = layerlist_dir(c->l, dir, dlen, &c->i);
		c->end = c->i + n;
		return 0;
	}
	if (entry_dir_prefix(prefix, v->lids[k], dir, dlen) < 0)
		return -ENOMEM;
	c->plen = prefix->len;
	c->it = index_iter_new(v->st->idx, prefix->data, prefix->len);
	return c->it ? 0 : -ENOMEM;
}

/* 1 with the next child's name (not NUL-terminated) and record, 0 at the end. */
static int children_next(struct layer_children *c, const char **name, size_t *nlen, const void **rec,
			 size_t *rlen)
{
	const void *kp;
	size_t kl;
	if (c->l) {
		if (c->i >= c->end)
			return 0;
		layerlist_entry(c->l, c->i++, name, nlen, rec, rlen);
		return 1;
	}
	if (!index_iter_next(c->it, &kp, &kl, rec, rlen))
		return 0;
	*name = (const char *)kp + c->plen;
	*nlen = kl - c->plen;
	return 1;
}

int imageview_readdir(struct imageview *v, const struct iv_node *dir, const char *dir_path,
		      iv_readdir_fn fn, void *ctx, struct strata_error *err)
{
	/* decided: names settled by higher layers; layer: names of this layer
	 * (unique within it), merged into decided once the layer is done. */
	struct nameset decided = { 0 }, layer = { 0 };
	struct buf prefix = BUF_INIT, name = BUF_INIT;
	size_t dlen = strlen(dir_path);
	int r = 0;

	/* Top layer first: the first layer that mentions a name decides it. */
	for (unsigned k = v->n; r == 0 && k-- > dir->floor;) {
		struct layer_children lc;
		const char *nm;
		const void *vp;
		size_t nl, vl;
		if (children_open(v, k, dir_path, dlen, &prefix, &lc) < 0) {
			r = error_set(err, -ENOMEM, "out of memory");
			break;
		}
		while (r == 0 && children_next(&lc, &nm, &nl, &vp, &vl)) {
			if (nl == 0)
				continue;
			buf_reset(&name);
			buf_add(&name, nm, nl);
			const char *shown = name.data;
			if (nl > 4 && !strncmp(nm, ".wh.", 4)) {
				if (!strcmp(name.data, ".wh..wh..opq"))
					continue;
				shown = NULL; /* a whiteout decides its name: hidden */
			}
			const char *key = shown ? shown : name.data + 4;
			if (nameset_has(&decided, key))
				continue;
			if (nameset_add(&layer, key) < 0) {
				r = error_set(err, -ENOMEM, "out of memory");
				break;
			}
			if (!shown)
				continue;
			struct iv_node child;
			int q = leaf_from_listing(k, vp, vl, &child, err);
			if (q == 0)
				q = imageview_lookup(v, dir, dir_path, name.data, &child, err);
			if (q == -ENOENT)
				continue;
			if (q < 0) {
				r = q;
				break;
			}
			r = fn(ctx, name.data, &child);
			iv_node_release(&child);
		}
		index_iter_free(lc.it);
		for (size_t i = 0; r == 0 && i < layer.cap; i++)
			if (layer.slots[i].h && !nameset_has(&decided, layer.slots[i].name) &&
			    nameset_add(&decided, layer.slots[i].name) < 0)
				r = error_set(err, -ENOMEM, "out of memory");
		nameset_release(&layer);
		memset(&layer, 0, sizeof(layer));
	}
	nameset_release(&decided);
	buf_release(&prefix);
	buf_release(&name);
	return r;
}
