/* entry: the binary entry record (version 1):
 *   u8 version, u8 type, varint flags, mode, uid, gid, zigzag mtime, nsec,
 *   size, rdev major, minor, nlink, ordinal, link (len + bytes),
 *   xattrs (len + bytes), [REG: sha256 sha1 md5, varint nchunks, chunks]. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "entry.h"

#define ENTRY_VERSION 1

static int put_bytes(struct buf *b, const void *data, size_t len)
{
	int r = buf_add_varint(b, len);
	return r < 0 ? r : buf_add(b, data, len);
}

int entry_encode(const struct entry *e, struct buf *out)
{
	uint8_t head[2] = { ENTRY_VERSION, (uint8_t)e->type };
	uint64_t zz = ((uint64_t)e->mtime << 1) ^ (uint64_t)(e->mtime >> 63);
	int r = buf_add(out, head, 2);
	if (r < 0 || (r = buf_add_varint(out, e->flags)) < 0 || (r = buf_add_varint(out, e->mode)) < 0 ||
	    (r = buf_add_varint(out, e->uid)) < 0 || (r = buf_add_varint(out, e->gid)) < 0 ||
	    (r = buf_add_varint(out, zz)) < 0 || (r = buf_add_varint(out, e->mtime_nsec)) < 0 ||
	    (r = buf_add_varint(out, e->size)) < 0 || (r = buf_add_varint(out, e->rdev_major)) < 0 ||
	    (r = buf_add_varint(out, e->rdev_minor)) < 0 || (r = buf_add_varint(out, e->nlink)) < 0 ||
	    (r = buf_add_varint(out, e->ordinal)) < 0 ||
	    (r = put_bytes(out, e->link, e->link_len)) < 0 ||
	    (r = put_bytes(out, e->xattrs, e->xattrs_len)) < 0)
		return r;
	if (e->type != ENTRY_REG)
		return 0;
	if ((r = buf_add(out, e->sha256, SHA256_LEN)) < 0 || (r = buf_add(out, e->sha1, SHA1_LEN)) < 0 ||
	    (r = buf_add(out, e->md5, MD5_LEN)) < 0 || (r = buf_add_varint(out, e->nchunks)) < 0)
		return r;
	return buf_add(out, e->chunks, (size_t)e->nchunks * ENTRY_CHUNK_LEN);
}

static int get_u32(const uint8_t **p, const uint8_t *end, uint32_t *out)
{
	uint64_t v;
	int r = varint_get(p, end, &v);
	if (r < 0 || v > UINT32_MAX)
		return -EBADMSG;
	*out = (uint32_t)v;
	return 0;
}

static int get_bytes(const uint8_t **p, const uint8_t *end, const uint8_t **data, size_t *len)
{
	uint64_t n;
	if (varint_get(p, end, &n) < 0 || n > (uint64_t)(end - *p))
		return -EBADMSG;
	*data = *p;
	*len = (size_t)n;
	*p += n;
	return 0;
}

int entry_decode(const void *data, size_t len, struct entry *e)
{
	const uint8_t *p = data, *end = p + len;
	uint64_t zz;
	const uint8_t *link;
	memset(e, 0, sizeof(*e));
	if (len < 2 || p[0] != ENTRY_VERSION || p[1] < ENTRY_REG || p[1] > ENTRY_SOCK)
		return -EBADMSG;
	e->type = (enum entry_type)p[1];
	p += 2;
	if (get_u32(&p, end, &e->flags) < 0 || get_u32(&p, end, &e->mode) < 0 ||
	    get_u32(&p, end, &e->uid) < 0 || get_u32(&p, end, &e->gid) < 0 ||
	    varint_get(&p, end, &zz) < 0 || get_u32(&p, end, &e->mtime_nsec) < 0 ||
	    varint_get(&p, end, &e->size) < 0 || get_u32(&p, end, &e->rdev_major) < 0 ||
	    get_u32(&p, end, &e->rdev_minor) < 0 || get_u32(&p, end, &e->nlink) < 0 ||
	    varint_get(&p, end, &e->ordinal) < 0 || get_bytes(&p, end, &link, &e->link_len) < 0 ||
	    get_bytes(&p, end, &e->xattrs, &e->xattrs_len) < 0)
		return -EBADMSG;
	e->mtime = (int64_t)(zz >> 1) ^ -(int64_t)(zz & 1);
	e->link = (const char *)link;
	if (e->type != ENTRY_REG)
		return p == end ? 0 : -EBADMSG;
	if ((size_t)(end - p) < SHA256_LEN + SHA1_LEN + MD5_LEN)
		return -EBADMSG;
	memcpy(e->sha256, p, SHA256_LEN);
	memcpy(e->sha1, p + SHA256_LEN, SHA1_LEN);
	memcpy(e->md5, p + SHA256_LEN + SHA1_LEN, MD5_LEN);
	p += SHA256_LEN + SHA1_LEN + MD5_LEN;
	if (get_u32(&p, end, &e->nchunks) < 0 ||
	    (size_t)(end - p) != (size_t)e->nchunks * ENTRY_CHUNK_LEN)
		return -EBADMSG;
	e->chunks = p;
	return 0;
}

int entry_xattr_add(struct buf *b, const char *name, const void *value, size_t vlen)
{
	int r = put_bytes(b, name, strlen(name));
	return r < 0 ? r : put_bytes(b, value, vlen);
}

int entry_xattr_next(const uint8_t *list, size_t len, size_t *pos, char *namebuf,
		     size_t namebuf_len, const uint8_t **value, size_t *vlen)
{
	const uint8_t *p = list + *pos, *end = list + len, *name;
	size_t nlen;
	if (p >= end)
		return 0;
	if (get_bytes(&p, end, &name, &nlen) < 0 || nlen + 1 > namebuf_len ||
	    get_bytes(&p, end, value, vlen) < 0)
		return -EBADMSG;
	memcpy(namebuf, name, nlen);
	namebuf[nlen] = '\0';
	*pos = (size_t)(p - list);
	return 1;
}

void entry_layer_prefix(uint8_t out[ENTRY_LAYER_PREFIX_LEN], uint32_t lid)
{
	out[0] = 'E';
	out[1] = (uint8_t)(lid >> 24);
	out[2] = (uint8_t)(lid >> 16);
	out[3] = (uint8_t)(lid >> 8);
	out[4] = (uint8_t)lid;
}

static int key_head(struct buf *key, uint32_t lid)
{
	uint8_t h[ENTRY_LAYER_PREFIX_LEN];
	entry_layer_prefix(h, lid);
	buf_reset(key);
	return buf_add(key, h, sizeof(h));
}

int entry_key(struct buf *key, uint32_t lid, const char *path, size_t len)
{
	const char *slash = memrchr(path, '/', len);
	size_t plen = slash ? (size_t)(slash - path) : 0;
	const char *name = slash ? slash + 1 : path;
	int r = key_head(key, lid);
	if (r < 0 || (r = buf_add(key, path, plen)) < 0 || (r = buf_addch(key, '\0')) < 0)
		return r;
	return buf_add(key, name, len - (size_t)(name - path));
}

int entry_dir_prefix(struct buf *key, uint32_t lid, const char *dir, size_t len)
{
	int r = key_head(key, lid);
	if (r < 0 || (r = buf_add(key, dir, len)) < 0)
		return r;
	return buf_addch(key, '\0');
}

const char *entry_type_name(enum entry_type t)
{
	switch (t) {
	case ENTRY_REG: return "file";
	case ENTRY_DIR: return "dir";
	case ENTRY_SYMLINK: return "symlink";
	case ENTRY_HARDLINK: return "hardlink";
	case ENTRY_CHR: return "char";
	case ENTRY_BLK: return "block";
	case ENTRY_FIFO: return "fifo";
	case ENTRY_WHITEOUT: return "whiteout";
	case ENTRY_OPAQUE: return "opaque";
	case ENTRY_SOCK: return "socket";
	}
	return "unknown";
}
