/* chunker: content-defined chunking (FastCDC with normalised chunking), so
 * that an insertion moves only the boundaries near it. */
#ifndef STRATA_CHUNKER_H
#define STRATA_CHUNKER_H

#include <stddef.h>
#include <stdint.h>

#define CHUNK_MIN (16u << 10)
#define CHUNK_AVG (64u << 10)
#define CHUNK_MAX (256u << 10)

struct chunker {
	uint32_t min, avg, max;
	uint64_t mask_s, mask_l; /* harder mask before avg, easier after */
	uint64_t hash;
	uint32_t pos;            /* bytes in the current chunk so far */
};

/* min <= avg <= max, avg a power of two. */
void chunker_init(struct chunker *c, uint32_t min, uint32_t avg, uint32_t max);
/* Starts a new chunk (at the start of every file). */
void chunker_reset(struct chunker *c);
/* Scans data as the continuation of the current chunk. Returns how many bytes
 * of data belong to it; *cut is 1 when the chunk ends after those bytes (the
 * chunker is then reset for the next one), 0 when all of data was taken
 * without a boundary. The boundary depends only on the chunk's own bytes. */
size_t chunker_scan(struct chunker *c, const uint8_t *data, size_t len, int *cut);

#endif
