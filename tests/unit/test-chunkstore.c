/* Unit tests: the chunk store over a real RocksDB index in a temp dir. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "src/store/chunkstore.h"
#include "src/store/index.h"
#include "tap.h"
#include "src/base/util.h"

static void put(struct chunk_writer *w, struct index *idx, const void *data, size_t len,
		uint8_t id[SHA256_LEN], uint64_t *stored)
{
	struct strata_error err = STRATA_ERROR_INIT;
	struct index_batch *b = index_batch_new();
	sha256_once(data, len, id);
	if (chunk_writer_put(w, b, id, data, len, stored, &err) < 0)
		printf("# put: %s\n", err.msg);
	index_batch_commit(idx, b, 1, &err);
	index_batch_free(b);
}

int main(void)
{
	char tmpl[] = "/tmp/strata-test-chunkstore.XXXXXX";
	char *dir = mkdtemp(tmpl);
	char *ipath = path_join(dir, "index"), *cpath = path_join(dir, "chunks");
	struct strata_error err = STRATA_ERROR_INIT;
	struct index *idx = NULL;
	struct chunkstore *cs = NULL;
	is_int(index_open(ipath, &idx, &err), 0, "open index");
	is_int(chunkstore_open(idx, cpath, 3, &cs, &err), 0, "open chunk store");
	struct chunk_writer *w = chunk_writer_new(cs);

	/* Compressible and small: inline in the index, zstd. */
	char small[4000];
	memset(small, 'a', sizeof(small));
	uint8_t id1[SHA256_LEN], id2[SHA256_LEN], id3[SHA256_LEN];
	uint64_t stored;
	put(w, idx, small, sizeof(small), id1, &stored);
	ok(stored > 0 && stored < sizeof(small), "a compressible chunk is stored compressed (%llu bytes)",
	   (unsigned long long)stored);
	struct chunk_info ci;
	chunkstore_stat(cs, id1, &ci);
	ok(!(ci.flags & CHUNK_F_FILE) && (ci.flags & CHUNK_F_ZSTD), "small chunks live in the index");
	put(w, idx, small, sizeof(small), id1, &stored);
	is_int(stored, 0, "storing it again stores nothing");

	/* Incompressible and large: a raw chunk file. */
	size_t n = 200 << 10;
	uint8_t *rnd = malloc(n);
	int fd = open("/dev/urandom", O_RDONLY);
	ok(read(fd, rnd, n) == (ssize_t)n, "random data");
	close(fd);
	put(w, idx, rnd, n, id2, &stored);
	chunkstore_stat(cs, id2, &ci);
	ok((ci.flags & CHUNK_F_FILE) && !(ci.flags & CHUNK_F_ZSTD), "incompressible chunks are stored raw, in a file");
	is_int(ci.clen, n, "raw: its bytes as they are");
	is_int(stored, (n + 4095) & ~4095ull, "taking its size in whole blocks");

	/* Compressible and large: a zstd chunk file. */
	uint8_t *text = malloc(n);
	/* Random letters from a small alphabet: compresses, but stays large. */
	for (size_t i = 0; i < n; i++)
		text[i] = (uint8_t)('a' + (rnd[i] & 7));
	put(w, idx, text, n, id3, &stored);
	chunkstore_stat(cs, id3, &ci);
	ok(ci.flags & CHUNK_F_ZSTD, "compressible large chunks are zstd");

	/* Random at the start, text after it: the probe samples the middle and
	 * the end too, and the chunk is compressed. */
	uint8_t *mixed = malloc(n);
	uint8_t id4[SHA256_LEN];
	memcpy(mixed, rnd, 8192);
	memcpy(mixed + 8192, text, n - 8192);
	put(w, idx, mixed, n, id4, &stored);
	chunkstore_stat(cs, id4, &ci);
	ok((ci.flags & CHUNK_F_ZSTD) && ci.clen < n / 2, "a chunk random only at its start is zstd (%llu bytes)",
	   (unsigned long long)ci.clen);

	struct buf out = BUF_INIT;
	is_int(chunkstore_get(cs, id1, &out, 1, &err), 0, "read back the inline chunk");
	ok(out.len == sizeof(small) && !memcmp(out.data, small, sizeof(small)), "same bytes");
	is_int(chunkstore_get(cs, id2, &out, 1, &err), 0, "read back the raw file chunk");
	ok(out.len == n && !memcmp(out.data, rnd, n), "same bytes");
	is_int(chunkstore_get(cs, id3, &out, 1, &err), 0, "read back the zstd file chunk");
	ok(out.len == n && !memcmp(out.data, text, n), "same bytes");
	is_int(chunkstore_get(cs, id4, &out, 1, &err), 0, "read back the mixed chunk, verified");
	ok(out.len == n && !memcmp(out.data, mixed, n), "same bytes");
	free(mixed);

	/* Verified once: a raw chunk file is trusted, and read straight from
	 * the file, only after a hash of it, once its ctime is 2 s old. */
	uint8_t part[4096];
	is_int(chunkstore_read_sealed(cs, id2, (uint32_t)n, 0, part, 100), -EAGAIN, "never verified: not trusted");
	is_int(chunkstore_get(cs, id2, &out, CHUNKSTORE_VERIFY_ONCE, &err), 0, "verify a fresh raw chunk file");
	is_int(chunkstore_read_sealed(cs, id2, (uint32_t)n, 0, part, 100), -EAGAIN,
	       "a file changed less than 2 s ago is not trusted");
	sleep(3);
	is_int(chunkstore_get(cs, id2, &out, CHUNKSTORE_VERIFY_ONCE, &err), 0, "verify it again, 3 s later");
	ok(out.len == n && !memcmp(out.data, rnd, n), "same bytes");
	memset(part, 0, sizeof(part));
	is_int(chunkstore_read_sealed(cs, id2, (uint32_t)n, 1000, part, sizeof(part)), 0, "now trusted: read from the file");
	ok(!memcmp(part, rnd + 1000, sizeof(part)), "the bytes at that offset");
	is_int(chunkstore_read_sealed(cs, id2, (uint32_t)n + 1, 0, part, 100), -EAGAIN, "not with another length");
	is_int(chunkstore_read_sealed(cs, id2, (uint32_t)n, n - 10, part, 100), -EAGAIN, "not past its end");
	is_int(chunkstore_get(cs, id3, &out, CHUNKSTORE_VERIFY_ONCE, &err), 0, "verify the zstd chunk file");
	is_int(chunkstore_read_sealed(cs, id3, (uint32_t)n, 0, part, 100), -EAGAIN, "a zstd chunk is never read raw");

	/* Damage: a flipped byte in a zstd file and a raw file; a deleted file. */
	char *p3 = chunkstore_path(cs, id3), *p2 = chunkstore_path(cs, id2);
	chmod(p3, 0644);
	fd = open(p3, O_RDWR);
	char c;
	pread(fd, &c, 1, 100);
	c ^= 0x55;
	pwrite(fd, &c, 1, 100);
	close(fd);
	error_clear(&err);
	is_int(chunkstore_get(cs, id3, &out, 0, &err), -EIO, "a flipped byte in a zstd chunk is EIO");
	ok(strstr(err.msg, "corrupt") != NULL, "named corrupt: %s", err.msg);
	chmod(p2, 0644);
	fd = open(p2, O_RDWR);
	pread(fd, &c, 1, 100);
	c ^= 0x55;
	pwrite(fd, &c, 1, 100);
	close(fd);
	error_clear(&err);
	is_int(chunkstore_read_sealed(cs, id2, (uint32_t)n, 0, part, 100), -EAGAIN,
	       "a trusted file changed since is not trusted");
	error_clear(&err);
	is_int(chunkstore_get(cs, id2, &out, CHUNKSTORE_VERIFY_ONCE, &err), -EIO,
	       "verify-once hashes it again: a flipped byte is EIO");
	error_clear(&err);
	is_int(chunkstore_get(cs, id2, &out, 1, &err), -EIO, "a flipped byte in a raw chunk is caught by verify");
	unlink(p2);
	error_clear(&err);
	is_int(chunkstore_get(cs, id2, &out, 0, &err), -EIO, "a deleted chunk file is EIO");
	ok(strstr(err.msg, "missing") != NULL, "named missing: %s", err.msg);
	uint8_t none[SHA256_LEN] = { 0 };
	error_clear(&err);
	is_int(chunkstore_get(cs, none, &out, 0, &err), -ENOENT, "an unknown chunk is ENOENT");

	free(p2);
	free(p3);
	buf_release(&out);
	free(rnd);
	free(text);
	chunk_writer_free(w);
	chunkstore_free(cs);
	index_close(idx);
	rm_rf(dir);
	free(ipath);
	free(cpath);
	return tap_done();
}
