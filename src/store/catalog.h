/* catalog: the images — their records (by manifest digest), the names and
 * index aliases that point at them, and who uses which layer. The one
 * module that builds the keys of, and writes, these tables (index.h):
 *   'I' manifest digest -> image record   'T' name -> manifest digest
 *   'X' index digest '\0' platform -> manifest digest
 *   'U' diff_id '\0' image digest -> the image's first name
 * An image exists for readers exactly when its record does; its layers are
 * layers.h's. */
#ifndef STRATA_CATALOG_H
#define STRATA_CATALOG_H

#include <stdint.h>

#include <jansson.h>

#include "src/base/digest.h"
#include "src/base/error.h"
#include "index.h"

/* Image records are JSON objects:
 *   digest, media_type, config_digest, platform, names[], manifest (raw text),
 *   config (raw text), layers[{digest, diff_id, size, media_type}], pulled, last_used
 * catalog_get_image returns a new reference (json_decref it). */
int catalog_get_image(struct index *idx, const char *digest, json_t **out, struct strata_error *err);
int catalog_put_image(struct index_batch *b, json_t *image);
/* Removes the record of image (as catalog_get_image returned it). */
void catalog_delete_image(struct index_batch *b, json_t *image);
int catalog_each_image(struct index *idx, int (*fn)(json_t *image, void *ctx), void *ctx);
/* 1 when the image is stored and every layer of it is complete. */
int catalog_image_complete(struct index *idx, const char *digest);
/* 1 when the image is stored and every layer of it is complete or mapped
 * (layers.h: its chunks come on read). */
int catalog_image_mountable(struct index *idx, const char *digest);
/* Calls fn(diff_id, image name or digest) for every image of every layer,
 * in diff_id order, from the 'U' table that put/delete_image maintain. */
int catalog_each_layer_user(struct index *idx, int (*fn)(const char *diff_id, const char *name, void *ctx),
			    void *ctx);
/* Calls fn with the name of every image that uses layer diff_id; stops
 * when fn returns non-zero (returned). -ENOMEM. */
int catalog_layer_users(struct index *idx, const char *diff_id, int (*fn)(const char *name, void *ctx), void *ctx);
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
