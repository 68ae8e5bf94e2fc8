/* span: rebuilds a piece of a layer's uncompressed stream from a checkpoint
 * (decompress.h) and the compressed bytes after it, as zlib's zran example
 * resumes a gzip stream — with inflatePrime for the bits of a byte shared
 * with the previous block and inflateSetDictionary for the window. Gzip
 * members and zstd frames that follow inside the span are decoded on; an
 * uncompressed layer is its own span.
 *
 * Nothing is verified here: the caller checks what it cuts out of the span
 * (a chunk's sha256) before using a byte of it. */
#ifndef STRATA_SPAN_H
#define STRATA_SPAN_H

#include <stddef.h>
#include <stdint.h>

#include "src/base/error.h"
#include "src/registry/manifest.h"

/* Where decoding starts: a checkpoint of a layer compressed with kind. */
struct span_start {
	enum compression kind;   /* COMP_GZIP, COMP_ZSTD or COMP_NONE */
	uint64_t uoff;           /* uncompressed offset of the checkpoint */
	uint64_t cbit;           /* its compressed bit offset */
	int member;              /* at a member or frame start (no window needed) */
	const uint8_t *window;   /* up to 32 KiB before uoff; NULL when member */
	size_t wlen;
};

/* cdata holds the blob's compressed bytes from byte cbit / 8 on (clen of
 * them). Decodes from the checkpoint, drops skip bytes, and writes the next
 * len bytes to out. 0, or -EBADMSG "compressed span is corrupt: <why>",
 * -ENODATA "compressed span ends before the bytes asked for", -ENOMEM. */
int span_decode(const struct span_start *sp, const uint8_t *cdata, size_t clen, uint64_t skip,
		uint8_t *out, size_t len, struct strata_error *err);

#endif
