/* catalog: layer, image and name records (JSON values in the index). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "util.h"

static int key_of(struct buf *k, char table, const char *s)
{
	buf_reset(k);
	int r = buf_addch(k, table);
	return r < 0 ? r : buf_adds(k, s);
}

static void copy_str(char *dst, size_t n, json_t *obj, const char *field)
{
	const char *s = json_string_value(json_object_get(obj, field));
	snprintf(dst, n, "%s", s ? s : "");
}

static uint64_t get_u64(json_t *obj, const char *field)
{
	json_int_t v = json_integer_value(json_object_get(obj, field));
	return v < 0 ? 0 : (uint64_t)v;
}

static int layer_from_json(const char *text, size_t len, struct layer_record *l)
{
	json_t *o = json_loadb(text, len, 0, NULL);
	if (!json_is_object(o)) {
		json_decref(o);
		return -EBADMSG;
	}
	memset(l, 0, sizeof(*l));
	copy_str(l->diff_id, sizeof(l->diff_id), o, "diff_id");
	copy_str(l->blob_digest, sizeof(l->blob_digest), o, "blob_digest");
	copy_str(l->media_type, sizeof(l->media_type), o, "media_type");
	l->lid = (uint32_t)get_u64(o, "lid");
	l->compressed_size = get_u64(o, "compressed_size");
	l->size = get_u64(o, "size");
	l->entries = get_u64(o, "entries");
	l->chunks = get_u64(o, "chunks");
	l->new_chunks = get_u64(o, "new_chunks");
	l->stored_bytes = get_u64(o, "stored_bytes");
	l->shared_bytes = get_u64(o, "shared_bytes");
	l->content_bytes = get_u64(o, "content_bytes");
	copy_str(l->state, sizeof(l->state), o, "state");
	l->created = (int64_t)get_u64(o, "created");
	l->last_used = (int64_t)get_u64(o, "last_used");
	json_decref(o);
	return 0;
}

int catalog_get_layer(struct index *idx, const char *diff_id, struct layer_record *out,
		      struct strata_error *err)
{
	struct buf k = BUF_INIT, v = BUF_INIT;
	int r = key_of(&k, 'L', diff_id);
	if (r == 0)
		r = index_get(idx, k.data, k.len, &v, err);
	if (r == 0 && layer_from_json(v.data, v.len, out) < 0)
		r = error_set(err, -EBADMSG, "layer record '%s' is corrupt", diff_id);
	buf_release(&k);
	buf_release(&v);
	return r;
}

int catalog_put_layer(struct index_batch *b, const struct layer_record *l)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
			      "diff_id", l->diff_id, "blob_digest", l->blob_digest,
			      "media_type", l->media_type, "lid", (json_int_t)l->lid,
			      "compressed_size", (json_int_t)l->compressed_size,
			      "size", (json_int_t)l->size, "entries", (json_int_t)l->entries,
			      "chunks", (json_int_t)l->chunks, "new_chunks", (json_int_t)l->new_chunks,
			      "stored_bytes", (json_int_t)l->stored_bytes,
			      "shared_bytes", (json_int_t)l->shared_bytes,
			      "created", (json_int_t)l->created, "last_used", (json_int_t)l->last_used);
	if (o) {
		json_object_set_new(o, "content_bytes", json_integer((json_int_t)l->content_bytes));
		json_object_set_new(o, "state", json_string(l->state[0] ? l->state : "complete"));
	}
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	struct buf k = BUF_INIT;
	int r = text ? 0 : -ENOMEM;
	if (r == 0 && (r = key_of(&k, 'L', l->diff_id)) == 0)
		index_batch_put(b, k.data, k.len, text, strlen(text));
	if (r == 0 && l->blob_digest[0] && (r = key_of(&k, 'B', l->blob_digest)) == 0)
		index_batch_put(b, k.data, k.len, l->diff_id, strlen(l->diff_id));
	if (r == 0) {
		uint8_t nk[5] = { 'N' };
		be32_put(nk + 1, l->lid);
		index_batch_put(b, nk, sizeof(nk), l->diff_id, strlen(l->diff_id));
	}
	buf_release(&k);
	free(text);
	json_decref(o);
	return r;
}

void catalog_delete_layer(struct index_batch *b, const struct layer_record *l)
{
	struct buf k = BUF_INIT;
	if (key_of(&k, 'L', l->diff_id) == 0)
		index_batch_delete(b, k.data, k.len);
	if (l->blob_digest[0] && key_of(&k, 'B', l->blob_digest) == 0)
		index_batch_delete(b, k.data, k.len);
	uint8_t nk[5] = { 'N' };
	be32_put(nk + 1, l->lid);
	index_batch_delete(b, nk, sizeof(nk));
	buf_release(&k);
}

int catalog_layer_complete(const struct layer_record *l)
{
	return !l->state[0] || !strcmp(l->state, "complete");
}

int catalog_layer_for_blob(struct index *idx, const char *blob_digest, char diff_id[DIGEST_STR_MAX])
{
	struct buf k = BUF_INIT, v = BUF_INIT;
	int r = key_of(&k, 'B', blob_digest);
	if (r == 0)
		r = index_get(idx, k.data, k.len, &v, NULL);
	if (r == 0)
		snprintf(diff_id, DIGEST_STR_MAX, "%s", v.data);
	buf_release(&k);
	buf_release(&v);
	return r;
}

int catalog_each_layer(struct index *idx, int (*fn)(const struct layer_record *l, void *ctx), void *ctx)
{
	struct index_iter *it = index_iter_new(idx, "L", 1);
	const void *k, *v;
	size_t kl, vl;
	int r = 0;
	if (!it)
		return -ENOMEM;
	while (!r && index_iter_next(it, &k, &kl, &v, &vl)) {
		struct layer_record l;
		if (layer_from_json(v, vl, &l) == 0)
			r = fn(&l, ctx);
	}
	index_iter_free(it);
	return r;
}

int catalog_get_image(struct index *idx, const char *digest, json_t **out, struct strata_error *err)
{
	struct buf k = BUF_INIT, v = BUF_INIT;
	int r = key_of(&k, 'I', digest);
	if (r == 0)
		r = index_get(idx, k.data, k.len, &v, err);
	if (r == 0) {
		*out = json_loadb(v.data, v.len, 0, NULL);
		if (!json_is_object(*out)) {
			json_decref(*out);
			*out = NULL;
			r = error_set(err, -EBADMSG, "image record '%s' is corrupt", digest);
		}
	}
	buf_release(&k);
	buf_release(&v);
	return r;
}

int catalog_put_image(struct index_batch *b, json_t *image)
{
	const char *digest = json_string_value(json_object_get(image, "digest"));
	char *text = json_dumps(image, JSON_COMPACT);
	struct buf k = BUF_INIT;
	int r = digest && text ? key_of(&k, 'I', digest) : -EINVAL;
	if (r == 0)
		index_batch_put(b, k.data, k.len, text, strlen(text));
	buf_release(&k);
	free(text);
	return r;
}

void catalog_delete_image(struct index_batch *b, const char *digest)
{
	struct buf k = BUF_INIT;
	if (key_of(&k, 'I', digest) == 0)
		index_batch_delete(b, k.data, k.len);
	buf_release(&k);
}

int catalog_each_image(struct index *idx, int (*fn)(json_t *image, void *ctx), void *ctx)
{
	struct index_iter *it = index_iter_new(idx, "I", 1);
	const void *k, *v;
	size_t kl, vl;
	int r = 0;
	if (!it)
		return -ENOMEM;
	while (!r && index_iter_next(it, &k, &kl, &v, &vl)) {
		json_t *img = json_loadb(v, vl, 0, NULL);
		if (json_is_object(img))
			r = fn(img, ctx);
		json_decref(img);
	}
	index_iter_free(it);
	return r;
}

int catalog_resolve_name(struct index *idx, const char *name, char digest[DIGEST_STR_MAX])
{
	struct buf k = BUF_INIT, v = BUF_INIT;
	int r = key_of(&k, 'T', name);
	if (r == 0)
		r = index_get(idx, k.data, k.len, &v, NULL);
	if (r == 0)
		snprintf(digest, DIGEST_STR_MAX, "%s", v.data);
	buf_release(&k);
	buf_release(&v);
	return r;
}

void catalog_put_name(struct index_batch *b, const char *name, const char *digest)
{
	struct buf k = BUF_INIT;
	if (key_of(&k, 'T', name) == 0)
		index_batch_put(b, k.data, k.len, digest, strlen(digest));
	buf_release(&k);
}

void catalog_delete_name(struct index_batch *b, const char *name)
{
	struct buf k = BUF_INIT;
	if (key_of(&k, 'T', name) == 0)
		index_batch_delete(b, k.data, k.len);
	buf_release(&k);
}

static int alias_key(struct buf *k, const char *index_digest, const char *platform)
{
	int r = key_of(k, 'X', index_digest);
	if (r == 0)
		r = buf_addch(k, '\0');
	return r < 0 ? r : buf_adds(k, platform);
}

int catalog_resolve_alias(struct index *idx, const char *index_digest, const char *platform,
			  char digest[DIGEST_STR_MAX])
{
	struct buf k = BUF_INIT, v = BUF_INIT;
	int r = alias_key(&k, index_digest, platform);
	if (r == 0)
		r = index_get(idx, k.data, k.len, &v, NULL);
	if (r == 0)
		snprintf(digest, DIGEST_STR_MAX, "%s", v.data);
	buf_release(&k);
	buf_release(&v);
	return r;
}

void catalog_put_alias(struct index_batch *b, const char *index_digest, const char *platform,
		       const char *digest)
{
	struct buf k = BUF_INIT;
	if (alias_key(&k, index_digest, platform) == 0)
		index_batch_put(b, k.data, k.len, digest, strlen(digest));
	buf_release(&k);
}
