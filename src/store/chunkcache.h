/* chunkcache: a bounded, thread-safe LRU cache of decompressed chunks, so
 * that a mounted image decompresses each hot chunk once. With
 * CHUNKSTORE_VERIFY_ONCE, a raw chunk whose file is verified is read from
 * the file instead (chunkstore_read_sealed) and not cached. Readers copy out of
 * a cached chunk outside any lock; two readers missing the same chunk load it
 * once (the second waits for the first). */
#ifndef STRATA_CHUNKCACHE_H
#define STRATA_CHUNKCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "chunkstore.h"
#include "src/base/digest.h"
#include "src/base/error.h"

struct chunkcache;

struct chunkcache_stats {
	uint64_t hits, misses;     /* a reader that waited for another's load is a hit */
	uint64_t evictions;
	uint64_t direct;           /* reads served from a verified chunk file, not cached */
	uint64_t bytes, entries;   /* held now (bytes include per-entry overhead) */
};

/* cs is borrowed. budget_bytes bounds the chunks held while no reader uses
 * them (a chunk being copied is never evicted). NULL when out of memory.
 * Free with chunkcache_free. */
struct chunkcache *chunkcache_new(struct chunkstore *cs, size_t budget_bytes);
void chunkcache_free(struct chunkcache *c);
/* verify: a CHUNKSTORE_VERIFY_* mode for every chunk loaded (the default
 * is CHUNKSTORE_VERIFY_ALWAYS). */
void chunkcache_set_verify(struct chunkcache *c, int verify);

/* Copies n bytes at off_in_chunk of chunk id (len bytes long, as the entry
 * says) into dst. -EINVAL when the range is outside len; -EIO/-ENOENT with
 * err set ("chunk 'sha256:…' is missing its file") when the chunk cannot be
 * loaded or has another length. A failed load is not remembered: the next
 * read tries again. Thread-safe. */
int chunkcache_read(struct chunkcache *c, const uint8_t id[SHA256_LEN], uint32_t len,
		    uint64_t off_in_chunk, void *dst, size_t n, struct strata_error *err);

/* A hint: chunk id will be read soon (chunkstore_prefetch unless cached). */
void chunkcache_prefetch(struct chunkcache *c, const uint8_t id[SHA256_LEN]);

void chunkcache_get_stats(struct chunkcache *c, struct chunkcache_stats *out);

#endif
