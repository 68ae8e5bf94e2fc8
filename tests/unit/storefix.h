/* storefix.h: a real store in a temporary directory for the unit tests of
 * the store's core (test-imageview, test-cache, test-gc, test-memo) —
 * layers written as tar streams with libarchive and ingested as a pull
 * ingests them, images recorded as a pull records them. No root, no FUSE,
 * no registry. Test code only. */
#ifndef STRATA_TEST_STOREFIX_H
#define STRATA_TEST_STOREFIX_H

#include <stddef.h>
#include <stdint.h>

#include "src/base/buf.h"
#include "src/base/conf.h"
#include "src/store/layers.h"
#include "src/store/store.h"

/* A store in a new temporary directory (dir/store), with the default
 * configuration (an empty file) changed by the caller before storefix_open. */
struct storefix {
	struct strata_conf conf;
	char dir[64];
	struct store *st;
};
/* Fills conf and makes the directory: 0, or -errno. */
int storefix_init(struct storefix *f);
/* Opens the store (o may be NULL): store_open's result. */
int storefix_open(struct storefix *f, const struct store_options *o);
/* Closes the store, removes the directory, releases conf. */
void storefix_release(struct storefix *f);

/* A tar stream being written in memory (libarchive, pax format). */
struct tarw;
struct tarw *tarw_new(void);
void tarw_dir(struct tarw *t, const char *path, unsigned mode);
void tarw_file(struct tarw *t, const char *path, const void *data, size_t len, unsigned mode);
void tarw_text(struct tarw *t, const char *path, const char *text);
void tarw_symlink(struct tarw *t, const char *path, const char *target);
void tarw_hardlink(struct tarw *t, const char *path, const char *target);
/* Ends the stream, appends it to out and frees t. */
void tarw_finish(struct tarw *t, struct buf *out);

/* Ingests a layer stream (ingest_stream, no diff_id check): 0 with *rec,
 * or its error (err set). */
int storefix_ingest(struct storefix *f, const struct buf *tar, struct layer_record *rec,
		    struct strata_error *err);
/* Records an image named name, of digest ("sha256:" + 64 hex), over the
 * layers given bottom first, as a pull does (catalog): 0 or -errno. */
int storefix_put_image(struct storefix *f, const char *digest, const char *name,
		       const struct layer_record *layers, size_t n);
/* n bytes no compressor shrinks, different for every seed. */
void storefix_noise(uint8_t *p, size_t n, uint64_t seed);
/* A digest for image i of a test: "sha256:" followed by i's hex, padded. */
void storefix_digest(unsigned i, char out[DIGEST_STR_MAX]);

#endif
