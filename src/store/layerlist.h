/* layerlist: one layer's entry records held in memory, grouped by
 * directory, so that resolving names over a stack of layers reads no index.
 * A listing is built by one prefix scan of the layer's 'E' records; those
 * never change once the layer is committed (a layer id is never handed out
 * twice), so a listing is valid for as long as anyone holds it.
 *
 * The daemon keeps the listings of the layers it viewed last, up to a byte
 * budget that also bounds the listings in use: an image that shares its base
 * with one mounted before builds only its new layers' listings, and a layer
 * too large for the budget is simply read from the index as before. */
#ifndef STRATA_LAYERLIST_H
#define STRATA_LAYERLIST_H

#include <stddef.h>
#include <stdint.h>

#include "src/base/error.h"
#include "index.h"

struct layerlist;
struct layerlist_cache;

/* A cache of at most budget bytes of listings. NULL when out of memory.
 * Free with layerlist_cache_free, after every listing is released. */
struct layerlist_cache *layerlist_cache_new(size_t budget);
void layerlist_cache_free(struct layerlist_cache *c);

/* The listing of layer lid, from the cache, or built from idx and kept:
 * 0 with *out (a reference: layerlist_release it), -EFBIG when it does not
 * fit the budget beside the listings in use (the caller reads the index),
 * -ENOMEM, or -EIO with err set. */
int layerlist_get(struct layerlist_cache *c, struct index *idx, uint32_t lid, struct layerlist **out,
		  struct strata_error *err);
/* The listing of lid only if it is cached: a reference, or NULL. */
struct layerlist *layerlist_peek(struct layerlist_cache *c, uint32_t lid);
/* Drops a reference from layerlist_get or _peek; NULL is allowed. */
void layerlist_release(struct layerlist_cache *c, struct layerlist *l);

/* The children of directory dir ("" for the root, no trailing '/') in this
 * layer, in the index's key order (bytewise by name): their count, the first
 * one's position in *first. The root's own record is the child named "". */
size_t layerlist_dir(const struct layerlist *l, const char *dir, size_t dlen, size_t *first);
/* Name and record of the entry at position i (from layerlist_dir). The
 * name is not NUL-terminated; both live as long as the listing. */
void layerlist_entry(const struct layerlist *l, size_t i, const char **name, size_t *nlen, const void **rec,
		     size_t *rlen);
/* The record of dir/name: 0 with rec set, or -ENOENT. */
int layerlist_find(const struct layerlist *l, const char *dir, size_t dlen, const char *name, size_t nlen,
		   const void **rec, size_t *rlen);

#endif
