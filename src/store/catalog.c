/* catalog: image and name records (JSON), and who uses which layer. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "layers.h"
#include "src/base/util.h"

int catalog_get_image(struct index *idx, const char *digest, json_t **out, struct strata_error *err)
{
	struct buf k = BUF_INIT, v = BUF_INIT;
	int r = index_str_key(&k, 'I', digest);
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
		if (!d || index_str_key(&k, 'U', d) < 0 || buf_addch(&k, 0) < 0 || buf_adds(&k, digest) < 0)
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
	int r = digest && text ? index_str_key(&k, 'I', digest) : -EINVAL;
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
	if (digest && index_str_key(&k, 'I', digest) == 0)
		index_batch_delete(b, k.data, k.len);
	image_users(b, image, 0);
	buf_release(&k);
}

struct each_user {
	int (*fn)(const char *diff_id, const char *name, void *ctx);
	void *ctx;
};

/* 'U' diff_id NUL name -> name: the key's diff_id and the value's name. */
static int each_user_record(const void *k, size_t kl, const void *v, size_t vl, void *ctx)
{
	struct each_user *e = ctx;
	char d[DIGEST_STR_MAX], name[1024];
	const char *key = (const char *)k + 1, *nul = memchr(key, 0, kl - 1);
	if (!nul || (size_t)(nul - key) >= sizeof(d) || vl >= sizeof(name))
		return 0;
	memcpy(d, key, (size_t)(nul - key));
	d[nul - key] = 0;
	memcpy(name, v, vl);
	name[vl] = 0;
	return e->fn(d, name, e->ctx);
}

struct each_name {
	int (*fn)(const char *name, void *ctx);
	void *ctx;
};

/* 'U' diff_id NUL name -> name: the value's name. */
static int user_name_record(const void *k, size_t kl, const void *v, size_t vl, void *ctx)
{
	struct each_name *e = ctx;
	char name[1024];
	(void)k, (void)kl;
	if (vl >= sizeof(name))
		return 0;
	memcpy(name, v, vl);
	name[vl] = 0;
	return e->fn(name, e->ctx);
}

int catalog_layer_users(struct index *idx, const char *diff_id, int (*fn)(const char *name, void *ctx), void *ctx)
{
	struct buf prefix = BUF_INIT;
	struct each_name e = { fn, ctx };
	int r = index_str_key(&prefix, 'U', diff_id);
	if (r == 0 && buf_addch(&prefix, 0) < 0)
		r = -ENOMEM;
	if (r == 0)
		r = index_each(idx, prefix.data, prefix.len, user_name_record, &e);
	buf_release(&prefix);
	return r;
}

int catalog_each_layer_user(struct index *idx, int (*fn)(const char *diff_id, const char *name, void *ctx),
			    void *ctx)
{
	struct each_user e = { fn, ctx };
	return index_each(idx, "U", 1, each_user_record, &e);
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

struct each_image {
	int (*fn)(json_t *image, void *ctx);
	void *ctx;
};

static int each_image_record(const void *k, size_t kl, const void *v, size_t vl, void *ctx)
{
	struct each_image *e = ctx;
	json_t *img = json_loadb(v, vl, 0, NULL);
	int r = json_is_object(img) ? e->fn(img, e->ctx) : 0;
	(void)k, (void)kl;
	json_decref(img);
	return r;
}

int catalog_each_image(struct index *idx, int (*fn)(json_t *image, void *ctx), void *ctx)
{
	struct each_image e = { fn, ctx };
	return index_each(idx, "I", 1, each_image_record, &e);
}

static int image_has(struct index *idx, const char *digest, int mapped_too)
{
	json_t *img = NULL, *l;
	size_t i;
	int ok = 1;
	if (catalog_get_image(idx, digest, &img, NULL) < 0)
		return 0;
	json_array_foreach(json_object_get(img, "layers"), i, l) {
		struct layer_record rec;
		const char *d = json_string_value(json_object_get(l, "diff_id"));
		if (!d || layers_get(idx, d, &rec, NULL) < 0 ||
		    !(layers_complete(&rec) || (mapped_too && layers_mapped(&rec))))
			ok = 0;
	}
	json_decref(img);
	return ok;
}

int catalog_image_complete(struct index *idx, const char *digest)
{
	return image_has(idx, digest, 0);
}

int catalog_image_mountable(struct index *idx, const char *digest)
{
	return image_has(idx, digest, 1);
}

int catalog_resolve_name(struct index *idx, const char *name, char digest[DIGEST_STR_MAX])
{
	return index_get_str_at(idx, 'T', name, digest, DIGEST_STR_MAX);
}

void catalog_put_name(struct index_batch *b, const char *name, const char *digest)
{
	struct buf k = BUF_INIT;
	if (index_str_key(&k, 'T', name) == 0)
		index_batch_put(b, k.data, k.len, digest, strlen(digest));
	buf_release(&k);
}

void catalog_delete_name(struct index_batch *b, const char *name)
{
	struct buf k = BUF_INIT;
	if (index_str_key(&k, 'T', name) == 0)
		index_batch_delete(b, k.data, k.len);
	buf_release(&k);
}

static int alias_key(struct buf *k, const char *index_digest, const char *platform)
{
	int r = index_str_key(k, 'X', index_digest);
	if (r == 0)
		r = buf_addch(k, '\0');
	return r < 0 ? r : buf_adds(k, platform);
}

int catalog_resolve_alias(struct index *idx, const char *index_digest, const char *platform,
			  char digest[DIGEST_STR_MAX])
{
	struct buf k = BUF_INIT;
	int r = alias_key(&k, index_digest, platform);
	if (r == 0)
		r = index_get_str(idx, k.data, k.len, digest, DIGEST_STR_MAX);
	buf_release(&k);
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
