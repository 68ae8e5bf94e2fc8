/* catalog: layer records (binary), image and name records (JSON), and who
 * uses which layer. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "src/base/util.h"

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

/* Layer records are binary: LAYER_FORMAT, four strings (varint length +
 * bytes), then eleven varints. `cache stats` and `cache ls` read every one
 * of them, and decoding this is two orders of magnitude cheaper than JSON.
 * Records written as JSON by earlier versions are still read. */
#define LAYER_FORMAT 0x01

static void put_str(struct buf *b, const char *s)
{
	size_t n = strlen(s);
	buf_add_varint(b, n);
	buf_add(b, s, n);
}

static int get_str(const uint8_t **p, const uint8_t *end, char *dst, size_t n)
{
	uint64_t len;
	if (varint_get(p, end, &len) < 0 || len > (uint64_t)(end - *p) || len >= n)
		return -EBADMSG;
	memcpy(dst, *p, len);
	dst[len] = 0;
	*p += len;
	return 0;
}

static int layer_encode(const struct layer_record *l, struct buf *b)
{
	buf_addch(b, LAYER_FORMAT);
	put_str(b, l->diff_id);
	put_str(b, l->blob_digest);
	put_str(b, l->media_type);
	put_str(b, l->state[0] ? l->state : "complete");
	const uint64_t v[] = { l->lid, l->compressed_size, l->size, l->entries, l->chunks, l->new_chunks,
			       l->stored_bytes, l->shared_bytes, l->content_bytes, (uint64_t)l->created,
			       (uint64_t)l->last_used };
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		buf_add_varint(b, v[i]);
	return b->data == buf_empty_ ? -ENOMEM : 0;
}

static int layer_decode(const uint8_t *p, size_t len, struct layer_record *l)
{
	const uint8_t *end = p + len;
	uint64_t v[11];
	memset(l, 0, sizeof(*l));
	if (!len || *p++ != LAYER_FORMAT)
		return -EBADMSG;
	if (get_str(&p, end, l->diff_id, sizeof(l->diff_id)) < 0 ||
	    get_str(&p, end, l->blob_digest, sizeof(l->blob_digest)) < 0 ||
	    get_str(&p, end, l->media_type, sizeof(l->media_type)) < 0 ||
	    get_str(&p, end, l->state, sizeof(l->state)) < 0)
		return -EBADMSG;
	for (size_t i = 0; i < 11; i++)
		if (varint_get(&p, end, &v[i]) < 0)
			return -EBADMSG;
	l->lid = (uint32_t)v[0];
	l->compressed_size = v[1];
	l->size = v[2];
	l->entries = v[3];
	l->chunks = v[4];
	l->new_chunks = v[5];
	l->stored_bytes = v[6];
	l->shared_bytes = v[7];
	l->content_bytes = v[8];
	l->created = (int64_t)v[9];
	l->last_used = (int64_t)v[10];
	return 0;
}

static int layer_from_value(const char *text, size_t len, struct layer_record *l)
{
	if (len && text[0] != '{')
		return layer_decode((const uint8_t *)text, len, l);
	/* JSON, as written before LAYER_FORMAT */
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
	if (r == 0 && layer_from_value(v.data, v.len, out) < 0)
		r = error_set(err, -EBADMSG, "layer record '%s' is corrupt", diff_id);
	buf_release(&k);
	buf_release(&v);
	return r;
}

int catalog_put_layer(struct index_batch *b, const struct layer_record *l)
{
	struct buf k = BUF_INIT, v = BUF_INIT;
	int r = layer_encode(l, &v);
	if (r == 0 && (r = key_of(&k, 'L', l->diff_id)) == 0)
		index_batch_put(b, k.data, k.len, v.data, v.len);
	if (r == 0 && l->blob_digest[0] && (r = key_of(&k, 'B', l->blob_digest)) == 0)
		index_batch_put(b, k.data, k.len, l->diff_id, strlen(l->diff_id));
	if (r == 0) {
		uint8_t nk[5] = { 'N' };
		be32_put(nk + 1, l->lid);
		index_batch_put(b, nk, sizeof(nk), l->diff_id, strlen(l->diff_id));
	}
	buf_release(&k);
	buf_release(&v);
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
		if (layer_from_value(v, vl, &l) == 0)
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

/* 'U' diff_id '\0' image digest -> the image's first name (or digest): who
 * uses a layer, without reading image records (they hold whole manifests). */
static void image_users(struct index_batch *b, json_t *image, int put)
{
	const char *digest = json_string_value(json_object_get(image, "digest"));
	json_t *names = json_object_get(image, "names"), *l;
	const char *name = json_string_value(json_array_get(names, 0));
	struct buf k = BUF_INIT;
	size_t i;
	if (!digest)
		return;
	json_array_foreach(json_object_get(image, "layers"), i, l) {
		const char *d = json_string_value(json_object_get(l, "diff_id"));
		if (!d || key_of(&k, 'U', d) < 0 || buf_addch(&k, 0) < 0 || buf_adds(&k, digest) < 0)
			continue;
		if (put)
			index_batch_put(b, k.data, k.len, name ? name : digest, strlen(name ? name : digest));
		else
			index_batch_delete(b, k.data, k.len);
	}
	buf_release(&k);
}

int catalog_put_image(struct index_batch *b, json_t *image)
{
	const char *digest = json_string_value(json_object_get(image, "digest"));
	char *text = json_dumps(image, JSON_COMPACT);
	struct buf k = BUF_INIT;
	int r = digest && text ? key_of(&k, 'I', digest) : -EINVAL;
	if (r == 0) {
		index_batch_put(b, k.data, k.len, text, strlen(text));
		image_users(b, image, 1);
	}
	buf_release(&k);
	free(text);
	return r;
}

void catalog_delete_image(struct index_batch *b, json_t *image)
{
	struct buf k = BUF_INIT;
	const char *digest = json_string_value(json_object_get(image, "digest"));
	if (digest && key_of(&k, 'I', digest) == 0)
		index_batch_delete(b, k.data, k.len);
	image_users(b, image, 0);
	buf_release(&k);
}

int catalog_each_layer_user(struct index *idx, int (*fn)(const char *diff_id, const char *name, void *ctx),
			    void *ctx)
{
	struct index_iter *it = index_iter_new(idx, "U", 1);
	const void *k, *v;
	size_t kl, vl;
	int r = 0;
	if (!it)
		return -ENOMEM;
	while (!r && index_iter_next(it, &k, &kl, &v, &vl)) {
		char d[DIGEST_STR_MAX], name[1024];
		const char *key = (const char *)k + 1, *nul = memchr(key, 0, kl - 1);
		if (!nul || (size_t)(nul - key) >= sizeof(d) || vl >= sizeof(name))
			continue;
		memcpy(d, key, (size_t)(nul - key));
		d[nul - key] = 0;
		memcpy(name, v, vl);
		name[vl] = 0;
		r = fn(d, name, ctx);
	}
	index_iter_free(it);
	return r;
}

static int add_users(json_t *image, void *ctx)
{
	image_users(ctx, image, 1);
	return 0;
}

int catalog_index_layer_users(struct index *idx, struct strata_error *err)
{
	static const char marker[] = "Mlayer-users";
	if (index_exists(idx, marker, sizeof(marker) - 1) == 1)
		return 0;
	struct index_batch *b = index_batch_new();
	if (!b)
		return error_set(err, -ENOMEM, "out of memory");
	int r = catalog_each_image(idx, add_users, b);
	index_batch_put(b, marker, sizeof(marker) - 1, "1", 1);
	if (r == 0)
		r = index_batch_commit(idx, b, 1, err);
	index_batch_free(b);
	return r;
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
