/* catalog: the records that make stored content visible — layers (by
 * diff_id), images (by manifest digest) and the names that point at them. A
 * layer or image exists for readers exactly when its record does. */
#ifndef STRATA_CATALOG_H
#define STRATA_CATALOG_H

#include <stdint.h>

#include <jansson.h>

#include "src/base/digest.h"
#include "src/base/error.h"
#include "index.h"

struct layer_record {
	char diff_id[DIGEST_STR_MAX];
	char blob_digest[DIGEST_STR_MAX];
	char media_type[128];
	uint32_t lid;
	uint64_t compressed_size;  /* the blob */
	uint64_t size;             /* the uncompressed tar stream */
	uint64_t entries, chunks, new_chunks;
	uint64_t stored_bytes;     /* bytes this layer newly took on disk */
	uint64_t shared_bytes;     /* content bytes found already stored */
	uint64_t content_bytes;    /* bytes of all the layer's file contents */
	int64_t created, last_used;
	char state[16];            /* "complete" or "evicted" ("" reads as complete) */
};

/* 1 when the layer's content is in the store. */
int catalog_layer_complete(const struct layer_record *l);

/* 0, -ENOENT, or -EIO/-EBADMSG with err set. */
int catalog_get_layer(struct index *idx, const char *diff_id, struct layer_record *out,
		      struct strata_error *err);
/* Adds the layer record and its blob and lid mappings to batch. */
int catalog_put_layer(struct index_batch *b, const struct layer_record *l);
/* Removes the records of a layer (not its entries or chunks). */
void catalog_delete_layer(struct index_batch *b, const struct layer_record *l);
/* diff_id of a blob already ingested: 0 or -ENOENT. */
int catalog_layer_for_blob(struct index *idx, const char *blob_digest, char diff_id[DIGEST_STR_MAX]);
/* Calls fn for every layer record; stops when fn returns non-zero (returned). */
int catalog_each_layer(struct index *idx, int (*fn)(const struct layer_record *l, void *ctx), void *ctx);

/* Image records are JSON objects:
 *   digest, media_type, config_digest, platform, names[], manifest (raw text),
 *   config (raw text), layers[{digest, diff_id, size, media_type}], pulled, last_used
 * catalog_get_image returns a new reference (json_decref it). */
int catalog_get_image(struct index *idx, const char *digest, json_t **out, struct strata_error *err);
int catalog_put_image(struct index_batch *b, json_t *image);
/* Removes the record of image (as catalog_get_image returned it). */
void catalog_delete_image(struct index_batch *b, json_t *image);
int catalog_each_image(struct index *idx, int (*fn)(json_t *image, void *ctx), void *ctx);
/* Calls fn(diff_id, image name or digest) for every image of every layer,
 * in diff_id order, from the 'U' table that put/delete_image maintain. */
int catalog_each_layer_user(struct index *idx, int (*fn)(const char *diff_id, const char *name, void *ctx),
			    void *ctx);
/* Builds the 'U' table for a store written before it existed (once). */
int catalog_index_layer_users(struct index *idx, struct strata_error *err);

/* Names ("docker.io/library/alpine:latest") -> manifest digest. */
int catalog_resolve_name(struct index *idx, const char *name, char digest[DIGEST_STR_MAX]);
void catalog_put_name(struct index_batch *b, const char *name, const char *digest);
void catalog_delete_name(struct index_batch *b, const char *name);
/* (index digest, platform) -> manifest digest, so that re-pulling a tag that
 * names an unchanged index costs one request. */
int catalog_resolve_alias(struct index *idx, const char *index_digest, const char *platform,
			  char digest[DIGEST_STR_MAX]);
void catalog_put_alias(struct index_batch *b, const char *index_digest, const char *platform,
		       const char *digest);

#endif
