/* entry: one tar entry of one layer as the index stores it — a compact
 * binary record (varints), decoded without copying. */
#ifndef STRATA_ENTRY_H
#define STRATA_ENTRY_H

#include <stddef.h>
#include <stdint.h>

#include "src/base/buf.h"
#include "src/base/digest.h"

enum entry_type {
	ENTRY_REG = 1,
	ENTRY_DIR,
	ENTRY_SYMLINK,
	ENTRY_HARDLINK, /* link = the target's path in the same layer */
	ENTRY_CHR,
	ENTRY_BLK,
	ENTRY_FIFO,
	ENTRY_WHITEOUT, /* ".wh.NAME": hides NAME of lower layers */
	ENTRY_OPAQUE,   /* ".wh..wh..opq": hides all lower children of its directory */
	ENTRY_SOCK,
};

#define ENTRY_F_IMPLICIT 1u /* a parent directory the tar did not list */

#define ENTRY_CHUNK_LEN (SHA256_LEN + 4) /* id + big-endian length */

struct entry {
	enum entry_type type;
	uint32_t flags;
	uint32_t mode;          /* 07777 bits only */
	uint32_t uid, gid;
	int64_t mtime;
	uint32_t mtime_nsec;
	uint64_t size;          /* regular files: bytes */
	uint32_t rdev_major, rdev_minor;
	uint32_t nlink;         /* names this file has in its layer (hardlinks + 1) */
	uint64_t ordinal;       /* position in the layer, 1-based: a stable inode seed */
	const char *link;       /* symlink or hardlink target; NOT NUL-terminated */
	size_t link_len;
	const uint8_t *xattrs;  /* encoded list, see entry_xattr_next */
	size_t xattrs_len;
	uint8_t sha256[SHA256_LEN], sha1[SHA1_LEN], md5[MD5_LEN]; /* ENTRY_REG */
	uint32_t nchunks;
	const uint8_t *chunks;  /* nchunks * ENTRY_CHUNK_LEN bytes */
};

/* Appends the record of e to out. */
int entry_encode(const struct entry *e, struct buf *out);
/* Decodes; pointers in e point into data. -EBADMSG on a malformed record. */
int entry_decode(const void *data, size_t len, struct entry *e);

/* Appends one xattr to an encoded list held in b. */
int entry_xattr_add(struct buf *b, const char *name, const void *value, size_t vlen);
/* Iterates an encoded list: *pos starts at 0; returns 1 with name (NUL-terminated
 * copy in namebuf) and value pointer, 0 at the end, -EBADMSG when malformed. */
int entry_xattr_next(const uint8_t *list, size_t len, size_t *pos, char *namebuf,
		     size_t namebuf_len, const uint8_t **value, size_t *vlen);

static inline uint32_t entry_chunk_len(const struct entry *e, uint32_t i)
{
	const uint8_t *p = e->chunks + (size_t)i * ENTRY_CHUNK_LEN + SHA256_LEN;
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline const uint8_t *entry_chunk_id(const struct entry *e, uint32_t i)
{
	return e->chunks + (size_t)i * ENTRY_CHUNK_LEN;
}

/* Key prefix of every entry of layer lid: 'E' lid(4). */
#define ENTRY_LAYER_PREFIX_LEN 5
void entry_layer_prefix(uint8_t out[ENTRY_LAYER_PREFIX_LEN], uint32_t lid);
/* Key of an entry: 'E' lid(4) parent '\0' name. path has no leading '/'. */
int entry_key(struct buf *key, uint32_t lid, const char *path, size_t len);
/* Key prefix of a directory's children: 'E' lid(4) dir '\0'. */
int entry_dir_prefix(struct buf *key, uint32_t lid, const char *dir, size_t len);

const char *entry_type_name(enum entry_type t);

#endif
