/* ingest: one layer, in one streaming pass, into the store —
 * blob -> digest check -> decompress -> diff_id check -> tar entries ->
 * content-defined chunks -> chunk store, with every regular file's sha256,
 * sha1 and md5 recorded on the way. The layer becomes visible (its record is
 * written, synced) only after all of it is durable. */
#ifndef STRATA_INGEST_H
#define STRATA_INGEST_H

#include <stdint.h>
#include <sys/types.h>

#include "src/base/error.h"
#include "src/registry/manifest.h"
#include "src/registry/source.h"
#include "src/store/layers.h"
#include "src/store/store.h"

/* Called from the ingesting thread as compressed bytes arrive. */
typedef void (*ingest_progress_fn)(void *ctx, uint64_t compressed_bytes);

/* Sees the bytes of every regular file as a layer streams by (the daemon's
 * secrets prescan), from the ingesting thread: layer_begin, then per file
 * file_begin, file_data as the bytes come, file_end with its sha256; then
 * layer_end with the committed layer's diff_id, or NULL after a failure (a
 * file begun may not have ended). One layer's calls come from one thread;
 * layers ingest in parallel. Given to store_open (st->observer). */
struct ingest_observer {
	void *ctx;
	void *(*layer_begin)(void *ctx, struct store *st); /* per-layer state; NULL: watch nothing */
	void (*file_begin)(void *layer, uint64_t size);
	void (*file_data)(void *layer, const void *data, size_t len);
	void (*file_end)(void *layer, const uint8_t sha256[SHA256_LEN]);
	void (*layer_end)(void *layer, const char *diff_id);
};

/* Fetches blob from src and ingests it. diff_id is what the image config
 * says the uncompressed stream hashes to. On success *out describes the
 * committed layer. On failure nothing of the layer is visible. */
int ingest_layer(struct store *st, struct source *src, const struct descriptor *blob,
		 const char *diff_id, ingest_progress_fn progress, void *pctx,
		 struct layer_record *out, struct strata_error *err);

/* Ingests a layer stream read through read() (compressed or not, detected).
 * diff_id may be NULL (no check; the computed one is used). blob may be NULL.
 * For ingest_layer, the fuzz target and tests. */
int ingest_stream(struct store *st, ssize_t (*read)(void *ctx, void *buf, size_t len), void *rctx,
		  const struct descriptor *blob, const char *diff_id, ingest_progress_fn progress,
		  void *pctx, struct layer_record *out, struct strata_error *err);

/* Builds the layer of an eStargz blob from its footer and table of contents
 * (estargz.h), fetched by Range from src, without fetching a chunk: the
 * layer record says "mapped", its entries and chunk references are those
 * of the TOC (each chunk's id is its chunkDigest), and its checkpoints are
 * the chunks' gzip members, so that refetch.h brings any chunk back on
 * read. The TOC must hash to blob->toc_digest. diff_id is recorded
 * unverified: only a full ingest of the blob can check it. -EINVAL "not an
 * eStargz layer: ..." when the blob has no stargz footer. */
int ingest_estargz(struct store *st, struct source *src, const struct descriptor *blob,
		   const char *diff_id, struct layer_record *out, struct strata_error *err);

/* Normalises a tar path: strips leading '/' and "./", folds "." and "..".
 * Returns 0 with out = "a/b" ("" is the root), or -EINVAL when the path
 * escapes the root or breaks the name, length or depth limits (err says which). */
int ingest_normalize_path(const char *in, const struct strata_limits *lim, struct buf *out,
			  struct strata_error *err);

#endif
