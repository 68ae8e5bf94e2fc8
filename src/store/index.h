/* index: strata's metadata in RocksDB — a thin, typed wrapper (get, put,
 * batches, prefix iteration) so that no other module includes rocksdb/c.h.
 *
 * Key space (one column family, a one-byte prefix per table), and the one
 * module that builds each table's keys and writes it; the others call it:
 *   'M' name                          store metadata: "format", "next_lid"
 *                                        (storedir.c), "cache_counters"
 *                                        (cache.c), "layer-users" (catalog.c)
 *   'T' canonical ref name            -> manifest digest (tags and pinned names)     catalog.c
 *   'I' manifest digest               -> image record (JSON)                         catalog.c
 *   'X' index digest '\0' platform    -> manifest digest (an index resolved)         catalog.c
 *   'U' diff_id '\0' image digest     -> that image's first name: who uses the layer catalog.c
 *   'L' diff_id                       -> layer record (binary)                       layers.c
 *   'B' blob digest                   -> diff_id (a layer blob already ingested)     layers.c
 *   'N' lid(4, BE)                    -> diff_id of the layer that owns lid          layers.c
 *   'R' chunk id(32) lid(4, BE)       -> "" or u64 BE: layer lid references the      layers.c
 *                                        chunk, whose bytes start at that offset of
 *                                        the layer's uncompressed stream (empty: not
 *                                        one run there, as in a sparse file)
 *   'P' lid(4, BE) chunk id(32)       -> "" or offset(8, BE) length(4, BE): the      layers.c
 *                                        same reference, by layer, with its place
 *   'Z' lid(4, BE)                    -> the layer's checkpoint table (ckpt.h)        layers.c
 *   'Z' lid(4, BE) n(4, BE)           -> the window of its checkpoint n, zstd-packed  layers.c
 *   'E' lid(4, BE) parent '\0' name   -> entry record; a directory's children are
 *                                        one prefix scan      keys: entry.c; written by
 *                                        ingest.c, dropped with the layer by layers.c
 *   'K' chunk id(32)                  -> chunk record                                chunkstore.c
 *   'A' analyzer@version/sha256[/name] -> an analyzer's records for that content,
 *       analyzer@version/layer/diff_id    or its summary of a layer   memo.c (keys: memokey.c)
 *   'Y' manifest digest '\0' config   -> a whole analysis report                     memo.c
 */
#ifndef STRATA_INDEX_H
#define STRATA_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "src/base/buf.h"
#include "src/base/error.h"

struct index;
struct index_batch;
struct index_iter;

/* Opens (creating) the database at path. Free with index_close. */
int index_open(const char *path, struct index **out, struct strata_error *err);
void index_close(struct index *idx);

/* 0 and the value in val, -ENOENT when absent, -EIO with err set. */
int index_get(struct index *idx, const void *key, size_t klen, struct buf *val,
	      struct strata_error *err);
int index_exists(struct index *idx, const void *key, size_t klen);
/* The value of key as a NUL-terminated string in out (n bytes, truncated
 * to fit): 0, or -ENOENT when absent or unreadable. */
int index_get_str(struct index *idx, const void *key, size_t klen, char *out, size_t n);
/* The key of most tables: the table's byte, then s (no NUL), into k. */
int index_str_key(struct buf *k, char table, const char *s);
/* index_get_str of the key table + s. */
int index_get_str_at(struct index *idx, char table, const char *s, char *out, size_t n);
/* Looks up n keys in one batch, which reads each index and data block once
 * for all the keys in it: calls fn(ctx, i, value) for each key i found, in
 * order, and stops at fn's first non-zero return (returned). -EIO with err
 * set when a read fails. */
typedef int (*index_found_fn)(void *ctx, size_t i, const void *val, size_t vlen);
int index_multi_get(struct index *idx, size_t n, const char *const *keys, const size_t *klens,
		    index_found_fn fn, void *ctx, struct strata_error *err);
/* Single writes; sync makes them durable before returning. */
int index_put(struct index *idx, const void *key, size_t klen, const void *val, size_t vlen,
	      int sync, struct strata_error *err);
int index_delete(struct index *idx, const void *key, size_t klen, int sync,
		 struct strata_error *err);

struct index_batch *index_batch_new(void); /* free with index_batch_free */
void index_batch_free(struct index_batch *b);
void index_batch_put(struct index_batch *b, const void *key, size_t klen, const void *val,
		     size_t vlen);
void index_batch_delete(struct index_batch *b, const void *key, size_t klen);
/* Deletes every key starting with prefix. */
void index_batch_delete_prefix(struct index_batch *b, const void *prefix, size_t plen);
size_t index_batch_bytes(struct index_batch *b);
size_t index_batch_count(struct index_batch *b);
/* Applies the batch atomically and clears it. sync: durable (the WAL is
 * synced, which also makes every earlier unsynced write durable). */
int index_batch_commit(struct index *idx, struct index_batch *b, int sync,
		       struct strata_error *err);

/* Iterates keys starting with prefix, in order. Free with index_iter_free. */
struct index_iter *index_iter_new(struct index *idx, const void *prefix, size_t plen);
void index_iter_free(struct index_iter *it);
/* 1 and the current key/value (valid until the next call), 0 at the end. */
int index_iter_next(struct index_iter *it, const void **key, size_t *klen, const void **val,
		    size_t *vlen);
/* Positions at the first key >= prefix+suffix within the prefix. */
void index_iter_seek(struct index_iter *it, const void *suffix, size_t slen);

/* The loop most table owners need: fn sees every key starting with prefix
 * and its value, in order, until it returns non-zero; that value is
 * returned (-ENOMEM when no iterator could be made). */
typedef int index_each_fn(const void *key, size_t klen, const void *val, size_t vlen, void *ctx);
int index_each(struct index *idx, const void *prefix, size_t plen, index_each_fn *fn, void *ctx);

/* Compacts the whole database, so that deleted keys give their space back. */
void index_compact(struct index *idx);

/* Writes what is in memory to table files and empties the log, so that an
 * open has nothing to replay. Best effort: a failure loses nothing. */
void index_flush(struct index *idx);

/* The same, started in the background: returns at once. */
void index_flush_start(struct index *idx);

/* Bytes held in memtables: on disk as a table file once flushed, which
 * happens in the background, before their log is dropped. */
uint64_t index_memtable_bytes(struct index *idx);
/* Bytes of the database on disk (sst + wal + manifest files). */
uint64_t index_disk_size(struct index *idx);

/* Big-endian u32 helpers for keys. */
static inline void be32_put(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}
static inline uint32_t be32_get(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline void be64_put(uint8_t *p, uint64_t v)
{
	be32_put(p, (uint32_t)(v >> 32));
	be32_put(p + 4, (uint32_t)v);
}
static inline uint64_t be64_get(const uint8_t *p)
{
	return (uint64_t)be32_get(p) << 32 | be32_get(p + 4);
}

#endif
