/* chunkqueue: stores a layer's chunks from a thread of its own, so that
 * compressing and writing them overlaps with decompressing, parsing and
 * hashing the layer in the ingest thread. Bounded: a full queue blocks the
 * producer. */
#ifndef STRATA_CHUNKQUEUE_H
#define STRATA_CHUNKQUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "src/base/digest.h"
#include "src/base/error.h"
#include "src/store/storedir.h"

struct chunkqueue;

struct chunkqueue_stats {
	uint64_t new_chunks;   /* chunks this queue stored */
	uint64_t new_bytes;    /* their uncompressed bytes */
	uint64_t stored_bytes; /* what they took on disk */
};

/* depth slots of up to max_chunk bytes each. Free with chunkqueue_free. */
struct chunkqueue *chunkqueue_new(struct storedir *sd, size_t depth, size_t max_chunk);
/* Queues a copy of the chunk. Returns 0, or the worker's error (-E…, err
 * set) once it has failed. */
int chunkqueue_put(struct chunkqueue *q, const uint8_t id[SHA256_LEN], const void *data, size_t len,
		   struct strata_error *err);
/* Waits for every queued chunk to be stored and its record committed (not
 * yet durable: the layer's durable commit makes it so). */
int chunkqueue_finish(struct chunkqueue *q, struct chunkqueue_stats *stats, struct strata_error *err);
/* Stops the worker (dropping what is queued) and frees. NULL ok. */
void chunkqueue_free(struct chunkqueue *q);

#endif
