/* refetch: brings evicted chunks back from the registry. A layer keeps,
 * when its chunks are evicted, its entries, its chunk references with each
 * chunk's place in the uncompressed stream ('R', 'P'), and its checkpoint
 * table ('Z', ckpt.h). A chunk that is not stored is rebuilt from them: the
 * compressed span that covers it (from the checkpoint before it to the
 * first one past its end) is fetched by one HTTP Range request from the
 * registry of an image that uses the layer (or its mirror), decoded from
 * the checkpoint (span.h), and every chunk of the layer that lies whole in
 * the span is checked against its id (sha256) and stored; only then is the
 * asked-for chunk answered. A span never verifies: nothing of it is used or
 * stored unless its chunk's sha256 matches.
 *
 * Within a budget: before a fetch stores, it makes room, first by dropping
 * the chunks of the spans fetched longest ago (by this daemon), then as
 * the owner's hook says (the cache's eviction); fetches store one at a
 * time.
 *
 * Concurrent misses of one span cause one fetch: the others wait for it and
 * then read the chunk store. A reader going through a layer in order has the
 * span after its own fetched ahead, in the background. A fetch makes one
 * attempt, which fails when the registry sends nothing for
 * registry.stall_timeout seconds; the read then fails with -EIO, logged
 * with the reason, and the next read tries again.
 *
 * Credentials: a refetch has no client request behind it, so it uses the
 * daemon's own (registry.credentials, the usual files): what clients hand
 * the daemon with a pull is not kept.
 *
 * Thread-safe; one per store (the daemon's). */
#ifndef STRATA_REFETCH_H
#define STRATA_REFETCH_H

#include <stddef.h>
#include <stdint.h>

#include "src/base/buf.h"
#include "src/base/digest.h"
#include "src/base/error.h"
#include "src/store/layers.h"
#include "src/store/store.h"

struct refetcher;

/* st is borrowed. Free with refetch_free (waits for fetches ahead). */
int refetch_new(struct store *st, struct refetcher **out, struct strata_error *err);
void refetch_free(struct refetcher *rf);

/* Called (from the fetching thread, no lock of the cache held) before a
 * fetch stores what it brought, with about the bytes it will take (the
 * compressed span's, and a quarter), so that the owner makes room within
 * the budget first. */
void refetch_set_room_hook(struct refetcher *rf, void (*fn)(void *ctx, uint64_t bytes), void *ctx);

/* Rebuilds chunk id (len bytes) into out (replaced), verified, and stores
 * it and the span's other chunks. -ENOENT "chunk 'sha256:…' is in no layer
 * that can fetch it again" when no layer knows where it lies; -EIO with the
 * reason when a fetch fails or its bytes do not match. */
int refetch_chunk(struct refetcher *rf, const uint8_t id[SHA256_LEN], uint32_t len,
		  struct buf *out, struct strata_error *err);

/* 1 when lid's layer can be rebuilt by Range: it has a checkpoint table and
 * an image that uses it came from a registry. */
int refetch_layer_possible(struct store *st, const char *diff_id, uint32_t lid);

/* For cache_set_map_keeper (ctx: the store): 1 when evicting l may keep
 * its map, its chunks coming back by Range: it has checkpoints (of a gzip
 * or uncompressed layer, or a zstd layer of more than one frame) and an
 * image that uses it came from a registry. A single-frame zstd layer is
 * evicted whole, as are layers of images from a file or the daemon. */
int refetch_keeps_map(void *ctx, const struct layer_record *l);

struct refetch_stats {
	uint64_t spans;          /* Range requests that succeeded */
	uint64_t bytes;          /* compressed bytes they brought */
	uint64_t chunks;         /* chunks stored from them */
	uint64_t failures;       /* fetches that failed (registry, decode, digest) */
	uint64_t waits;          /* misses that waited for another's fetch of the span */
	uint64_t ahead;          /* spans fetched ahead of a sequential reader */
	uint64_t latency_ns;     /* sum over the successful fetches */
};
void refetch_get_stats(struct refetcher *rf, struct refetch_stats *out);

#endif
