/* decompress: a pull-style stream decoder for layer blobs — gzip (ISA-L
 * when built with it, zlib otherwise; multi-member), zstd, or none, detected
 * from the magic bytes. */
#ifndef STRATA_DECOMPRESS_H
#define STRATA_DECOMPRESS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "src/base/error.h"
#include "src/registry/manifest.h"

/* Reads up to len compressed bytes; returns the count, 0 at the end, or a
 * negative errno (the source's own error is kept in its error struct). */
typedef ssize_t (*decompress_read_fn)(void *ctx, void *buf, size_t len);

struct decompressor;

/* c = COMP_AUTO detects from the first bytes. Free with decompress_free. */
int decompress_new(enum compression c, decompress_read_fn read, void *ctx,
		   struct decompressor **out);
void decompress_free(struct decompressor *d);
/* Returns up to len decompressed bytes, 0 at the clean end of the stream, or a
 * negative errno: -EBADMSG "gzip stream is corrupt: <why>", "gzip stream is
 * truncated", "zstd stream is corrupt: <why>", "zstd stream is truncated". */
ssize_t decompress_read(struct decompressor *d, void *buf, size_t len, struct strata_error *err);
/* What was detected or given (valid after the first read). */
enum compression decompress_kind(const struct decompressor *d);
/* Compressed bytes consumed so far. */
uint64_t decompress_consumed(const struct decompressor *d);
/* A point where decoding can resume (zran's access point), handed to the
 * checkpoint callback as the stream is decoded:
 *   uoff    uncompressed bytes before it (the output decompress_read has
 *           produced up to here, whether or not returned yet);
 *   cbit    compressed bit offset where decoding resumes;
 *   member  1: cbit is the byte-aligned start of a gzip member or zstd frame
 *           (nothing earlier is needed); 0: a deflate block boundary inside a
 *           member, which needs window;
 *   window  the wlen (<= 32 KiB) uncompressed bytes before uoff in the same
 *           member, valid only during the call. */
struct decompress_checkpoint {
	uint64_t uoff;
	uint64_t cbit;
	int member;
	const uint8_t *window;
	size_t wlen;
};
typedef int (*decompress_checkpoint_fn)(void *ctx, const struct decompress_checkpoint *cp);

/* Asks for checkpoints: one at the start of the stream, then the first
 * resumable point at or past every interval bytes of output after the last
 * one — for gzip a deflate block boundary or a member start, for zstd a frame
 * start (a single-frame layer gets only the first), for an uncompressed
 * stream none past the first (any offset resumes). A negative return from fn
 * fails the read with it. Set before the first read. */
void decompress_set_checkpoints(struct decompressor *d, uint64_t interval,
				decompress_checkpoint_fn fn, void *ctx);

/* COMP_GZIP for 1f 8b, COMP_ZSTD for 28 b5 2f fd, COMP_NONE otherwise. */
enum compression decompress_detect(const uint8_t *magic, size_t n);

#endif
