/* estargz: the table of contents of an eStargz layer — a gzip layer whose
 * files each start a gzip member (and big files one member per chunk), with
 * a TOC, `stargz.index.json` in a tar of its own gzip member, found through
 * a 51-byte footer at the end of the blob. The format is stargz-snapshotter's
 * (github.com/containerd/stargz-snapshotter, estargz/types.go).
 *
 * Footer: a gzip member with no data whose FEXTRA field holds subfield "SG"
 * = "%016x" TOC offset "STARGZ" (the 47-byte legacy stargz footer has the
 * 22 bytes as the whole extra field).
 *
 * Parsed TOC: the entries in TOC order, each regular file with its chunks
 * (offset of the chunk's gzip member in the blob, offset in the file, size,
 * chunkDigest — the sha256 of the chunk's uncompressed bytes). An eStargz
 * layer without a chunkDigest on every chunk (plain stargz) is refused:
 * nothing read from it could be verified. */
#ifndef STRATA_ESTARGZ_H
#define STRATA_ESTARGZ_H

#include <stddef.h>
#include <stdint.h>

#include "src/base/buf.h"
#include "src/base/digest.h"
#include "src/base/error.h"

#define ESTARGZ_FOOTER 51
#define ESTARGZ_TOC_MAX (64u << 20)
#define ESTARGZ_TOC_DIGEST_ANNOTATION "containerd.io/snapshot/stargz/toc.digest"
#define ESTARGZ_SIZE_ANNOTATION "io.containers.estargz.uncompressed-size"

struct estargz_chunk {
	uint64_t blob_off;      /* the chunk's gzip member in the blob */
	uint64_t file_off;      /* where the chunk starts in the file */
	uint64_t size;
	uint8_t digest[SHA256_LEN];
};

enum estargz_type { ESTARGZ_DIR, ESTARGZ_REG, ESTARGZ_SYMLINK, ESTARGZ_HARDLINK,
		    ESTARGZ_CHAR, ESTARGZ_BLOCK, ESTARGZ_FIFO };

struct estargz_entry {
	char *name;             /* as in the TOC (not normalised) */
	enum estargz_type type;
	uint64_t size;
	int64_t mtime;
	uint32_t mode, uid, gid, dev_major, dev_minor;
	char *link;             /* symlink or hardlink target; NULL otherwise */
	struct buf xattrs;      /* entry.h's encoded list */
	int has_digest;
	uint8_t digest[SHA256_LEN]; /* the whole file's sha256 (regular files) */
	struct estargz_chunk *chunks;
	size_t nchunks;
};

struct estargz_toc {
	struct estargz_entry *e;
	size_t n;
	uint64_t chunk_bytes;   /* every chunk's size together */
	size_t prefetch_end;    /* entries before the prefetch landmark; 0: none */
	uint64_t toc_off;       /* the TOC's gzip member in the blob */
	uint8_t digest[SHA256_LEN]; /* sha256 of the TOC JSON */
	uint64_t json_len;      /* its bytes, which follow a 512-byte tar header */
};

/* The TOC offset from the last ESTARGZ_FOOTER (or 47) bytes of a blob.
 * -EINVAL "not an eStargz layer: <why>". */
int estargz_footer(const uint8_t *tail, size_t n, uint64_t *toc_off, struct strata_error *err);

/* Parses the TOC member (the blob's bytes from toc_off to the footer):
 * gunzips it, takes stargz.index.json out of its tar and parses it. When
 * want_digest is given, the JSON must hash to it (-EBADMSG otherwise).
 * -EBADMSG "eStargz TOC of blob '...': <why>" on anything malformed.
 * Release *out with estargz_toc_release. */
int estargz_parse_toc(const uint8_t *member, size_t n, const char *want_digest,
		      struct estargz_toc *out, struct strata_error *err);
void estargz_toc_release(struct estargz_toc *t);

#endif
