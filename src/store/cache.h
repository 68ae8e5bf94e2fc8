/* cache: the store as a cache within a disk budget — LRU eviction of layer
 * content down to a low watermark, pins for layers live mounts use, one
 * ingest per layer at a time, accounting and the operator's maintenance
 * (prune, gc, verify). One per store, owned by the daemon (st->cache).
 *
 * Eviction drops a layer's entries, references and every chunk no retained
 * layer needs; its record stays with state "evicted", so that images still
 * list it and a later pull or mount fetches it again. */
#ifndef STRATA_CACHE_H
#define STRATA_CACHE_H

#include <stdint.h>

#include <jansson.h>

#include "src/base/error.h"
#include "store.h"

struct cache;

/* Scans the store once for its accounting; attaches itself as st->cache.
 * Free with cache_free (detaches). */
int cache_new(struct store *st, struct cache **out, struct strata_error *err);
void cache_free(struct cache *c);

/* Pins (counted) keep a layer's content from eviction while a mount uses it. */
void cache_pin(struct cache *c, const char *diff_id);
void cache_unpin(struct cache *c, const char *diff_id);
int cache_is_pinned(struct cache *c, const char *diff_id);

/* One ingest per layer: returns 1 when the caller should ingest diff_id
 * (then call cache_release_layer), 0 when another ingest of it just ended
 * (look the layer up again). While ingests run, maintenance waits. */
int cache_claim_layer(struct cache *c, const char *diff_id);
void cache_release_layer(struct cache *c, const char *diff_id);
/* Waits for running ingests and holds new ones off, for work that deletes
 * chunks an ingest may be counting on as already stored (rmi). */
void cache_exclusive_begin(struct cache *c);
void cache_exclusive_end(struct cache *c);

/* Layer-level hit/miss counting for pulls and mounts. */
void cache_count(struct cache *c, uint64_t hits, uint64_t misses);
/* Marks the layers of an image used now (coarse: at most once a minute each). */
void cache_touch_image(struct cache *c, const char *digest);

/* What the store takes on disk as du counts it, plus the index's memtables
 * (on disk once flushed): what the budget is held to. */
uint64_t cache_store_size(struct cache *c);

/* After a pull: if the store passed its budget, evicts least recently used
 * unpinned layers down to the low watermark. keep (may be NULL) lists
 * diff_ids to treat as pinned. -ENOSPC "cache budget 512.0 MiB exceeded:
 * ... pinned by live mounts" when pinned content alone is over budget. */
int cache_enforce(struct cache *c, const char *const *keep, size_t n_keep, struct strata_error *err);

struct cache_prune_opts {
	uint64_t max_size;     /* evict down to this; 0 = not by size */
	uint64_t older_than;   /* seconds since last use; 0 = not by age */
	int all;               /* every unpinned layer */
	int dry_run;
};
/* {"evicted": [{layer_id, last_referred, stored_size}], "layers": n, "bytes_freed": n,
 *  "dry_run": bool, "store_size": n} */
int cache_prune(struct cache *c, const struct cache_prune_opts *o, json_t **report,
		struct strata_error *err);
/* Removes what nothing references: chunks without a layer, chunk files
 * without a record, temp files, leftovers of interrupted ingests.
 * {"chunks_removed", "files_removed", "temp_files_removed", "leftover_layers", "bytes_freed"} */
int cache_gc(struct cache *c, json_t **report, struct strata_error *err);
/* Re-hashes every chunk and checks every layer's references.
 * {"chunks_checked", "corrupt": [id], "missing": [id], "layers": [diff_id], "images": [name],
 *  "repaired": bool, "clean": bool}. repair: drops bad chunks and evicts the layers they
 * break, so that the next pull fetches them again. */
int cache_verify(struct cache *c, int repair, json_t **report, struct strata_error *err);

/* {cache_hits, cache_misses, record_count, record_total_size, chunk_count, logical_bytes,
 *  stored_bytes, dedup_ratio, compression_ratio, budget, evictions, bytes_evicted, ...} */
json_t *cache_stats(struct cache *c);
/* [{layer_id, size, stored_size, reference_count, last_referred, state, images: []}] */
json_t *cache_layers(struct cache *c);
/* The stats in the Prometheus text format, appended to out. */
int cache_stats_prometheus(struct cache *c, struct buf *out);

#endif
