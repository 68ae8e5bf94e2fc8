/* layers: the store's layers. The one module that builds the keys of, and
 * writes, their tables (index.h):
 *   'L' diff_id -> layer record      'B' blob digest -> diff_id
 *   'N' lid -> diff_id               (lid: the number a layer's keys carry)
 *   'R' chunk id lid -> "" or place  'P' lid chunk id -> "" or place
 *   'Z' lid -> checkpoint table      'Z' lid n -> window of checkpoint n
 * R and P are a layer's references to its chunks, one table per direction;
 * a place says where the chunk lies in the layer's uncompressed stream.
 * The checkpoints (their format is src/ingest/ckpt.h's) are stored as
 * opaque values. Dropping a layer's content drops its checkpoints too.
 *
 * A layer's life: an ingest references each chunk it stores
 * (layers_add_ref) and writes the record (layers_put) in its last, durable
 * commit, once every chunk is durable; until then nothing names the lid.
 * Later the layer is evicted (the record stays, "evicted", the content
 * goes; or "mapped": only chunks go, the map stays), removed (record and content go), or, after a failed ingest, its
 * content is dropped. A layer's content is its entries ('E', entry.h) and
 * its references; dropping it removes every chunk no other layer
 * references. */
#ifndef STRATA_LAYERS_H
#define STRATA_LAYERS_H

#include <stddef.h>
#include <stdint.h>

#include "src/base/digest.h"
#include "src/base/error.h"
#include "src/base/hashset.h"
#include "index.h"
#include "storedir.h"

struct layer_record {
	char diff_id[DIGEST_STR_MAX];
	char blob_digest[DIGEST_STR_MAX];
	char media_type[128];
	uint32_t lid;
	uint64_t compressed_size;  /* the blob */
	uint64_t size;             /* the uncompressed tar stream */
	uint64_t entries, chunks, new_chunks;
	uint64_t stored_bytes;     /* bytes this layer newly took on disk */
	uint64_t shared_bytes;     /* content bytes found already stored */
	uint64_t content_bytes;    /* bytes of all the layer's file contents */
	int64_t created, last_used;
	char state[16];            /* "complete", "evicted" or "mapped" (an eStargz layer
	                            * built from its TOC; "" reads as complete) */
};

/* --- records ------------------------------------------------------------- */

/* 1 when the layer's content is in the store. */
int layers_complete(const struct layer_record *l);
/* 1 when the layer is mapped: its entries and chunk references are stored,
 * its chunks are fetched by Range on read (src/ingest/refetch.h). */
int layers_mapped(const struct layer_record *l);
/* 0, -ENOENT, or -EIO/-EBADMSG with err set. */
int layers_get(struct index *idx, const char *diff_id, struct layer_record *out, struct strata_error *err);
/* Adds the layer record and its blob and lid mappings to b: -ENOMEM. */
int layers_put(struct index_batch *b, const struct layer_record *l);
/* diff_id of a blob already ingested: 0 or -ENOENT. */
int layers_for_blob(struct index *idx, const char *blob_digest, char diff_id[DIGEST_STR_MAX]);
/* Calls fn for every layer record; stops when fn returns non-zero (returned). */
int layers_each(struct index *idx, int (*fn)(const struct layer_record *l, void *ctx), void *ctx);

/* --- references ------------------------------------------------------------ */

/* Adds "layer lid references chunk id" (both directions) to b. */
void layers_add_ref(struct index_batch *b, uint32_t lid, const uint8_t id[SHA256_LEN]);
/* The same, with the chunk's place in the layer's uncompressed stream
 * (uoff, len), from which an evicted chunk is rebuilt (src/ingest/refetch.h). */
void layers_add_ref_at(struct index_batch *b, uint32_t lid, const uint8_t id[SHA256_LEN], uint64_t uoff,
		       uint32_t len);
/* 1 when a layer references chunk id; complete_only: a layer whose record
 * says it is complete or mapped (leftovers of failed ingests do not count). */
int layers_chunk_used(struct index *idx, const uint8_t id[SHA256_LEN], int complete_only);
/* Calls fn with every chunk lid references that has a place (offset and
 * length in the layer's uncompressed stream), in chunk id order; stops when
 * fn returns non-zero (returned). -ENOMEM. */
int layers_each_place(struct index *idx, uint32_t lid,
		      int (*fn)(const uint8_t id[SHA256_LEN], uint64_t off, uint32_t len, void *ctx), void *ctx);
/* The layers that reference chunk id where it has a place: up to max
 * (lid, offset) pairs into lids and offs; *n says how many. 0 or -ENOMEM. */
int layers_chunk_places(struct index *idx, const uint8_t id[SHA256_LEN], uint32_t *lids, uint64_t *offs,
			size_t max, size_t *n);
/* Calls fn with the diff_id of every layer that references chunk id (a
 * layer may come twice); stops when fn returns non-zero (returned). */
int layers_of_chunk(struct index *idx, const uint8_t id[SHA256_LEN],
		    int (*fn)(const char *diff_id, void *ctx), void *ctx);
/* Calls fn with every chunk a complete layer references (a chunk may come
 * more than once); stops when fn returns non-zero (returned). */
int layers_each_ref(struct index *idx, int (*fn)(const uint8_t id[SHA256_LEN], void *ctx), void *ctx);
/* Queues the removal of every reference to chunk id in b (with the chunk). */
void layers_forget_chunk(struct index_batch *b, const uint8_t id[SHA256_LEN]);

/* --- checkpoints ------------------------------------------------------------ */

/* Adds lid's checkpoint table (encoded) to b. */
void layers_put_checkpoints(struct index_batch *b, uint32_t lid, const void *table, size_t n);
/* Adds the window of lid's checkpoint seq (packed) to b. */
void layers_put_window(struct index_batch *b, uint32_t lid, uint32_t seq, const void *w, size_t n);
/* lid's checkpoint table, or the window of its checkpoint seq, into out
 * (replaced): 0, -ENOENT, or -EIO. */
int layers_get_checkpoints(struct index *idx, uint32_t lid, struct buf *out);
int layers_get_window(struct index *idx, uint32_t lid, uint32_t seq, struct buf *out);
/* The diff_id of the layer lid belongs to: 0, or -ENOENT. */
int layers_diff_id(struct index *idx, uint32_t lid, char diff_id[DIGEST_STR_MAX]);

/* --- lifecycle --------------------------------------------------------------- */

/* Removes the entries and chunk references of lid, durably (after a failed
 * ingest, or as part of evicting or removing its layer). drop_chunks: the
 * chunks that lose their last reference go too (records, then files);
 * *freed (may be NULL) counts their stored bytes. */
int layers_drop(struct storedir *sd, uint32_t lid, int drop_chunks, uint64_t *freed, struct strata_error *err);
/* Marks l evicted (durably, first: a crash leaves only garbage for gc),
 * then drops its content. keep_map: marks it mapped instead and drops only
 * the chunks no complete layer references; its entries, references with
 * their places and checkpoints stay (refetch.h brings chunks back). The
 * caller holds off ingests (cache.h). */
int layers_evict(struct storedir *sd, struct layer_record *l, int keep_map, uint64_t *freed,
		 struct strata_error *err);
/* Drops the stored chunks of lid (a mapped layer) that no complete layer
 * references, keeping its map. */
int layers_drop_held(struct storedir *sd, uint32_t lid, uint64_t *freed, struct strata_error *err);
/* The same for the chunks of lid that lie whole in [from, to) of its
 * uncompressed stream (a span fetched back, refetch.h). */
int layers_drop_held_range(struct storedir *sd, uint32_t lid, uint64_t from, uint64_t to, uint64_t *freed,
			   struct strata_error *err);
/* The disk bytes of the stored chunks of lid that no complete layer
 * references: what layers_drop_held would free. */
uint64_t layers_held_bytes(struct storedir *sd, uint32_t lid);
/* The bytes of lid's map in the index: entries, references, checkpoints;
 * *checkpoints (may be NULL): those of the checkpoints alone. */
uint64_t layers_map_bytes(struct index *idx, uint32_t lid, uint64_t *checkpoints);
/* Removes l's records (durably, first), then its content. */
int layers_remove(struct storedir *sd, const struct layer_record *l, uint64_t *freed, struct strata_error *err);
/* The lids that have entries or references but no complete or mapped layer: the
 * leftovers of ingests that failed or were interrupted. *lids: free(). */
int layers_leftovers(struct index *idx, uint32_t **lids, size_t *n);

/* What the complete layers hold: their diff_ids and the contents (sha256)
 * of their regular files, as sets — for the gc of what speaks of content
 * that is no longer stored (memo.h). */
struct layers_stored {
	struct hashset contents, layers;
};
/* 0 or -ENOMEM; release with layers_stored_release either way. */
int layers_stored_init(struct index *idx, struct layers_stored *out);
void layers_stored_release(struct layers_stored *s);
int layers_stored_content(const struct layers_stored *s, const uint8_t sha256[SHA256_LEN]);
int layers_stored_layer(const struct layers_stored *s, const char *diff_id, size_t len);

#endif
