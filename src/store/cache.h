/* cache: the store as a cache within a disk budget — LRU eviction of layer
 * content down to a low watermark, pins for layers that live mounts and
 * pulls use, one ingest per layer at a time, and the accounting. One per
 * store, built by store_open (st->cache). The operator's maintenance that
 * removes what is no longer referenced or no longer sound is gc.h's and
 * verify.h's; they hold the cache exclusively while they remove.
 *
 * Eviction drops a layer's entries, references and every chunk no retained
 * layer needs (layers.h); its record stays with state "evicted", so that
 * images still list it and a later pull or mount fetches it again. A layer
 * whose chunks can come back by Range (cache_set_map_keeper) keeps its map
 * instead and becomes "mapped": only the chunks no complete layer needs go,
 * and it stays mountable. The chunks a mapped layer holds are evicted too
 * when the budget needs it (after every unpinned complete layer), live
 * mount or not: a reader fetches them again; a read that fetches chunks
 * back first drops the spans fetched longest ago (cache_evict_span). */
#ifndef STRATA_CACHE_H
#define STRATA_CACHE_H

#include <stdint.h>

#include <jansson.h>

#include "src/base/error.h"
#include "layers.h"
#include "storedir.h"

struct cache;

/* Scans the store once for its accounting. Free with cache_free. */
int cache_new(struct storedir *sd, struct cache **out, struct strata_error *err);
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
 * chunks an ingest may be counting on as already stored (rmi, gc, repair). */
void cache_exclusive_begin(struct cache *c);
void cache_exclusive_end(struct cache *c);
/* Holds eviction, gc and repair off (not ingests), for work that reads
 * every chunk and must not see one vanish (verify). */
void cache_shared_begin(struct cache *c);
void cache_shared_end(struct cache *c);

/* Layer-level hit/miss counting for pulls and mounts. */
void cache_count(struct cache *c, uint64_t hits, uint64_t misses);
/* Counts a verify run that found bad chunks (corrupt or missing). */
void cache_count_verify(struct cache *c, uint64_t bad_chunks);
/* Marks the layers of an image used now (coarse: at most once a minute each). */
void cache_touch_image(struct cache *c, const char *digest);

/* What the store takes on disk as du counts it, plus the index's memtables
 * (on disk once flushed): what the budget is held to. */
uint64_t cache_store_size(struct cache *c);

/* fn (ctx) says whether evicting layer l keeps its map (layers_evict);
 * unset, no layer keeps it. Set before the cache is used by threads. */
void cache_set_map_keeper(struct cache *c, int (*fn)(void *ctx, const struct layer_record *l), void *ctx);

/* Evicts one layer (layers_evict; a mapped one: the chunks it holds,
 * layers_drop_held) and counts it. With the cache held
 * exclusively (cache_exclusive_begin). */
int cache_evict(struct cache *c, struct layer_record *l, uint64_t *freed, struct strata_error *err);

/* After a pull: if the store passed its budget, evicts least recently used
 * unpinned layers down to the low watermark. keep (may be NULL) lists
 * diff_ids to treat as pinned. -ENOSPC "cache budget 512.0 MiB exceeded:
 * ... pinned by live mounts" when pinned content alone is over budget. */
int cache_enforce(struct cache *c, const char *const *keep, size_t n_keep, struct strata_error *err);

/* Drops the chunks a mapped layer lid holds in [from, to) of its
 * uncompressed stream (layers_drop_held_range), holding the cache
 * exclusively meanwhile, and counts the bytes as evicted. */
int cache_evict_span(struct cache *c, uint32_t lid, uint64_t from, uint64_t to, struct strata_error *err);

/* Before storing need bytes that no pull brings (chunks fetched back on
 * read): evicts as cache_enforce does until they fit the budget. */
int cache_make_room(struct cache *c, uint64_t need, struct strata_error *err);

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

/* The cache's figures, as `cache stats` and the metrics show them. */
struct cache_stats {
	uint64_t hits, misses;       /* layers a pull or mount found stored, or had to fetch */
	uint64_t layers;             /* complete layers */
	uint64_t mapped_layers;      /* layers kept as a map, chunks fetched on read */
	uint64_t map_bytes;          /* the maps of the mapped layers, in the index */
	uint64_t compressed_bytes;   /* their blobs */
	uint64_t logical_bytes;      /* their uncompressed tar streams */
	uint64_t content_bytes;      /* their file contents */
	uint64_t chunks, unique_bytes; /* distinct chunks, their uncompressed bytes */
	uint64_t store_bytes;        /* what the store takes on disk, as du counts it */
	uint64_t chunk_file_bytes, index_bytes;
	uint64_t budget;             /* 0: none */
	uint64_t evictions, bytes_evicted;
	uint64_t verify_runs, verify_bad_chunks; /* since the daemon started */
	double dedup_ratio;          /* content bytes per unique chunk byte */
	double compression_ratio;    /* unique chunk bytes per stored chunk byte */
};
void cache_get_stats(struct cache *c, struct cache_stats *out);
/* [{layer_id, size, stored_size, map_size, checkpoint_size, reference_count, last_referred, state, images: []}] */
json_t *cache_layers(struct cache *c);

#endif
