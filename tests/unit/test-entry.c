/* Unit tests: entry records and keys. */
#include "config.h"

#include <string.h>

#include "src/store/entry.h"
#include "tap.h"

int main(void)
{
	struct buf rec = BUF_INIT, xat = BUF_INIT, key = BUF_INIT;
	uint8_t chunks[2 * ENTRY_CHUNK_LEN];
	memset(chunks, 0xab, sizeof(chunks));
	chunks[ENTRY_CHUNK_LEN - 1] = 7; /* length of chunk 0, big-endian low byte */
	entry_xattr_add(&xat, "user.test", "v1", 2);
	entry_xattr_add(&xat, "security.capability", "\0\1\2", 3);
	struct entry e = {
		.type = ENTRY_REG, .mode = 04755, .uid = 1000, .gid = 50, .mtime = -12345,
		.mtime_nsec = 999, .size = 1ull << 40, .nlink = 3, .ordinal = 77,
		.xattrs = (const uint8_t *)xat.data, .xattrs_len = xat.len, .nchunks = 2, .chunks = chunks,
	};
	memset(e.sha256, 1, sizeof(e.sha256));
	memset(e.md5, 3, sizeof(e.md5));
	is_int(entry_encode(&e, &rec), 0, "encode a regular file");
	struct entry d;
	is_int(entry_decode(rec.data, rec.len, &d), 0, "decode it");
	is_int(d.type, ENTRY_REG, "type");
	is_int(d.mode, 04755, "mode with setuid");
	is_int(d.mtime, -12345, "negative mtime survives");
	is_int(d.size, 1ull << 40, "large size");
	is_int(d.nlink, 3, "nlink");
	is_int(d.nchunks, 2, "chunk count");
	is_int(entry_chunk_len(&d, 0), 0xababab07u, "chunk length");
	ok(!memcmp(d.md5, e.md5, MD5_LEN), "md5");

	size_t pos = 0, vlen;
	char name[64];
	const uint8_t *val;
	is_int(entry_xattr_next(d.xattrs, d.xattrs_len, &pos, name, sizeof(name), &val, &vlen), 1, "first xattr");
	is_str(name, "user.test", "its name");
	is_int(entry_xattr_next(d.xattrs, d.xattrs_len, &pos, name, sizeof(name), &val, &vlen), 1, "second xattr");
	ok(vlen == 3 && val[2] == 2, "binary value");
	is_int(entry_xattr_next(d.xattrs, d.xattrs_len, &pos, name, sizeof(name), &val, &vlen), 0, "end of list");

	for (size_t cut = 0; cut < rec.len; cut++)
		if (entry_decode(rec.data, cut, &d) == 0) {
			ok(0, "a truncated record (%zu of %zu bytes) must not decode", cut, rec.len);
			break;
		}
	ok(1, "every truncation of the record is rejected");

	struct entry l = { .type = ENTRY_SYMLINK, .mode = 0777, .link = "../x", .link_len = 4 };
	buf_reset(&rec);
	entry_encode(&l, &rec);
	entry_decode(rec.data, rec.len, &d);
	ok(d.link_len == 4 && !memcmp(d.link, "../x", 4), "symlink target");

	entry_key(&key, 0x01020304, "usr/bin/ls", 10);
	ok(key.len == 5 + 7 + 1 + 2 && !memcmp(key.data, "E\1\2\3\4usr/bin\0ls", key.len), "key splits parent and name");
	entry_key(&key, 1, "etc", 3);
	ok(key.len == 5 + 1 + 3 && !memcmp(key.data + 5, "\0etc", 4), "top-level names have an empty parent");
	struct buf pre = BUF_INIT;
	entry_dir_prefix(&pre, 0x01020304, "usr/bin", 7);
	entry_key(&key, 0x01020304, "usr/bin/ls", 10);
	ok(!memcmp(key.data, pre.data, pre.len), "a child's key starts with its directory's prefix");
	entry_key(&key, 0x01020304, "usr/bin/sub/x", 13);
	ok(memcmp(key.data, pre.data, pre.len) != 0, "a grandchild's key does not");
	buf_release(&pre);
	buf_release(&rec);
	buf_release(&xat);
	buf_release(&key);
	return tap_done();
}
