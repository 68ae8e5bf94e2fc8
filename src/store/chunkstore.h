/* chunkstore: content-addressed chunks, zstd-compressed (raw when that is
 * not smaller, or when compressing three small samples of a chunk of 32 KiB
 * or more says it would not be). A chunk's id is the sha256 of its uncompressed bytes. Small
 * chunks live inside the index so they cost no inode; larger ones are
 * read-only files fanned out under chunks/<2 hex>/<64 hex>.
 *
 * Chunk record ('K' id): u8 flags, varint ulen, varint clen, [inline bytes]. */
#ifndef STRATA_CHUNKSTORE_H
#define STRATA_CHUNKSTORE_H

#include <stddef.h>
#include <stdint.h>

#include "src/base/buf.h"
#include "src/base/digest.h"
#include "src/base/error.h"
#include "index.h"

#define CHUNK_F_FILE 1u /* bytes are in a chunk file, not in the record */
#define CHUNK_F_ZSTD 2u /* bytes are a zstd frame (with content checksum) */

/* Stored sizes up to this stay in the index. */
#define CHUNK_INLINE_MAX (12u << 10)

struct chunkstore;
struct chunk_writer;

/* dir is the chunk directory (created if missing). idx is borrowed. Free with
 * chunkstore_free. */
int chunkstore_open(struct index *idx, const char *dir, int level, struct chunkstore **out,
		    struct strata_error *err);
void chunkstore_free(struct chunkstore *cs);

/* A writer holds one thread's compression context. Free with chunk_writer_free. */
struct chunk_writer *chunk_writer_new(struct chunkstore *cs);
void chunk_writer_free(struct chunk_writer *w);

/* Stores the chunk unless it is already stored (or already in batch). The
 * record goes into batch; a chunk file is written at once but is durable only
 * after chunkstore_sync. *stored is the bytes newly taken on disk (0 when the
 * chunk was there). */
int chunk_writer_put(struct chunk_writer *w, struct index_batch *batch, const uint8_t id[SHA256_LEN],
		     const void *data, size_t len, uint64_t *stored, struct strata_error *err);

/* Makes every chunk file written so far durable (syncfs of the store's fs). */
int chunkstore_sync(struct chunkstore *cs, struct strata_error *err);

/* How chunkstore_get checks bytes against the chunk's id (zstd's own
 * checksum of a compressed chunk is checked whatever the mode). */
enum {
	CHUNKSTORE_VERIFY_NONE = 0,
	CHUNKSTORE_VERIFY_ALWAYS = 1, /* re-hash on every read: cache verify */
	/* Re-hash a chunk file the first time this chunkstore reads it, and
	 * again only once the file has changed. A file is "unchanged" while its
	 * device, inode, size and ctime are the ones seen, before and after
	 * the read, when its bytes last hashed to the id: every change made
	 * through the file system (write, truncate, chmod, rename over it)
	 * sets a later ctime, and a file is only trusted once its ctime is
	 * two seconds old, so that even a file system that keeps whole
	 * seconds of it gives a change a new ctime. What this does not see is
	 * damage under the file system (a bad disk block): chunks stored
	 * compressed still carry zstd's checksum, checked on every read, and
	 * the table is in memory only, so a restarted daemon hashes everything
	 * once again; cache verify always re-hashes. Chunks kept in the index
	 * are always re-hashed. */
	CHUNKSTORE_VERIFY_ONCE = 2,
};

/* Reads a chunk's uncompressed bytes into out (replacing its contents).
 * -ENOENT "chunk 'sha256:…' is missing", -EIO "chunk 'sha256:…' is corrupt".
 * verify: a CHUNKSTORE_VERIFY_* mode. Thread-safe. */
int chunkstore_get(struct chunkstore *cs, const uint8_t id[SHA256_LEN], struct buf *out, int verify,
		   struct strata_error *err);
/* Copies n bytes at off of chunk id (len bytes long, as the entry says)
 * into dst straight from its chunk file, when the chunk is stored raw, is
 * len bytes long, and is in a file that CHUNKSTORE_VERIFY_ONCE has
 * verified and that has not changed since (checked before and after the
 * read): 0. Otherwise -EAGAIN, whatever the reason (never verified, pushed
 * out of the table, changed, gone, unreadable): the caller then loads the
 * chunk with chunkstore_get, which verifies it, reports what is wrong, and
 * seals it again. Thread-safe. */
int chunkstore_read_sealed(struct chunkstore *cs, const uint8_t id[SHA256_LEN], uint32_t len, uint64_t off,
			   void *dst, size_t n);
/* Starts reading chunk id's file into the kernel's page cache, if it has
 * one, without waiting: a reader about to need several chunks has their
 * files read at once instead of one after the other. */
void chunkstore_prefetch(struct chunkstore *cs, const uint8_t id[SHA256_LEN]);
/* Decoded chunk record. */
struct chunk_info {
	uint32_t flags;
	uint64_t ulen, clen;
};
int chunkstore_stat(struct chunkstore *cs, const uint8_t id[SHA256_LEN], struct chunk_info *out);
/* The bytes a chunk takes on disk: a file's whole 4 KiB blocks, or its
 * bytes in the index. */
static inline uint64_t chunk_disk_bytes(const struct chunk_info *ci)
{
	return ci->flags & CHUNK_F_FILE ? (ci->clen + 4095) & ~4095ull : ci->clen;
}
/* Removes a chunk's record (into batch). Its file, if any, stays until
 * chunkstore_unlink, called once the batch is committed: a crash in between
 * leaves only an unreferenced file, which gc removes. */
void chunkstore_delete(struct chunkstore *cs, struct index_batch *batch, const uint8_t id[SHA256_LEN]);
int chunkstore_unlink(struct chunkstore *cs, const uint8_t id[SHA256_LEN]);
/* Running totals, kept as chunks are added and deleted (an estimate between
 * recounts: two ingests racing to store one chunk count it twice). */
struct chunkstore_totals {
	uint64_t chunks, ulen;           /* chunks and their uncompressed bytes */
	uint64_t file_bytes;             /* chunk files, in whole 4 KiB blocks */
	uint64_t inline_bytes;           /* chunk bytes kept in the index */
};
void chunkstore_get_totals(struct chunkstore *cs, struct chunkstore_totals *out);
/* Recounts from the index (a scan of every chunk record). */
int chunkstore_recount(struct chunkstore *cs, struct strata_error *err);

/* Calls fn with the id of every chunk that has a record, in id order; stops
 * when fn returns non-zero (returned), or -ENOMEM. */
int chunkstore_each(struct chunkstore *cs, int (*fn)(const uint8_t id[SHA256_LEN], void *ctx), void *ctx);

/* Path of a chunk file, malloc'd. */
char *chunkstore_path(struct chunkstore *cs, const uint8_t id[SHA256_LEN]);
/* Bytes the chunk directory and its fan-out directories take (st_blocks):
 * a megabyte once all 256 exist, which a budget must count as du does. */
uint64_t chunkstore_dir_bytes(struct chunkstore *cs);
/* Removes the files of the chunk directory that no chunk record names, and
 * the temporary files of writes that never finished: 0 with what went in
 * out, or -errno when the directory cannot be read. */
struct chunkstore_orphans {
	uint64_t files, temp_files, bytes;
};
int chunkstore_remove_orphans(struct chunkstore *cs, struct chunkstore_orphans *out);

#endif
