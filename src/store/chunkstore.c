/* chunkstore: compressed, deduplicated chunks in the index or in files. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include <zstd.h>

#include "chunkstore.h"
#include "src/base/util.h"

/* Chunk files whose bytes were verified against their id, and the state of
 * the file (device, inode, size, ctime) they were read in: see
 * chunkstore_get and CHUNKSTORE_VERIFY_ONCE. SEAL_WAYS slots per set, the
 * set picked by id; a chunk pushed out by another is verified again,
 * nothing worse. 2.25 MiB, whose pages are taken as they are used. */
#define SEAL_SLOTS (1u << 15)
#define SEAL_WAYS 4
#define SEAL_LOCKS 64
/* A file is sealed only once its ctime is this far in the past: a later
 * change then gets a later ctime even on a file system that keeps whole
 * seconds (or two, FAT's) of it. */
#define SEAL_AGE_SEC 2

struct seal {
	uint8_t id[SHA256_LEN];
	uint64_t dev, ino;
	int64_t ctime_sec;
	uint32_t ctime_nsec;
	uint32_t size;
	uint64_t raw; /* the file holds the chunk's bytes as they are (not zstd) */
};
_Static_assert(sizeof(struct seal) == SHA256_LEN + 40, "seals are compared with memcmp: no padding");

/* One reader thread's decompression context and compressed-bytes buffer,
 * kept between chunks: fresh memory for every chunk costs a page fault per
 * 4 KiB, more than the copy itself. */
struct readctx {
	ZSTD_DCtx *dctx;
	struct buf cbuf;
};

struct chunkstore {
	struct index *idx;
	char *dir;
	int dirfd;
	int level;
	pthread_key_t rctx_key; /* per-thread struct readctx */
	struct seal *seals;     /* SEAL_SLOTS; set h under seal_locks[h % SEAL_LOCKS] */
	pthread_mutex_t seal_locks[SEAL_LOCKS];
	pthread_mutex_t totals_lock;
	struct chunkstore_totals totals; /* protected by totals_lock */
	uint64_t since_check;            /* bytes stored since free space was checked; totals_lock */
	unsigned chunks_since_check;     /* and chunks; totals_lock */
};

/* Ingest stops while the free space is no more than the index's own size
 * (at least 8 MiB): the index must always be able to commit, flush and
 * compact — a compaction rewrites up to all of it, and only a compaction
 * gives the space of deleted keys back, so a store whose index met a full
 * disk could never shrink again (and Debian's RocksDB aborts on the error). */
#define CHUNKSTORE_CHECK_EVERY (4u << 20)
/* Small files grow the index more than their chunk bytes (an entry record,
 * references, the chunk inline): also check after this many chunks. */
#define CHUNKSTORE_CHECK_CHUNKS 128

static uint64_t headroom_of(struct chunkstore *cs)
{
	uint64_t h = index_disk_size(cs->idx);
	return h < (8u << 20) ? (8u << 20) : h;
}

struct chunk_writer {
	struct chunkstore *cs;
	ZSTD_CCtx *cctx;
	void *cbuf;
	size_t cbuf_len;
	struct buf rec;
};

static void readctx_free(void *p)
{
	struct readctx *rc = p;
	if (!rc)
		return;
	ZSTD_freeDCtx(rc->dctx);
	buf_release(&rc->cbuf);
	free(rc);
}

static struct readctx *readctx_get(struct chunkstore *cs)
{
	struct readctx *rc = pthread_getspecific(cs->rctx_key);
	if (rc)
		return rc;
	if (!(rc = calloc(1, sizeof(*rc))))
		return NULL;
	buf_init(&rc->cbuf, 0);
	if (!(rc->dctx = ZSTD_createDCtx()) || pthread_setspecific(cs->rctx_key, rc) != 0) {
		readctx_free(rc);
		return NULL;
	}
	return rc;
}

int chunkstore_open(struct index *idx, const char *dir, int level, struct chunkstore **out,
		    struct strata_error *err)
{
	int r = mkdir_p(dir, 0755);
	if (r < 0)
		return error_errno(err, r, "cannot create chunk directory '%s'", dir);
	struct chunkstore *cs = calloc(1, sizeof(*cs));
	if (!cs)
		return error_set(err, -ENOMEM, "out of memory");
	cs->idx = idx;
	cs->level = level;
	cs->dir = strdup(dir);
	cs->since_check = CHUNKSTORE_CHECK_EVERY; /* the first chunk checks */
	cs->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cs->dirfd < 0 || !cs->dir) {
		r = error_errno(err, -errno, "cannot open chunk directory '%s'", dir);
		free(cs->dir);
		free(cs);
		return r;
	}
	/* Pages of the table are taken only as slots are used. */
	if (!(cs->seals = calloc(SEAL_SLOTS, sizeof(*cs->seals)))) {
		close(cs->dirfd);
		free(cs->dir);
		free(cs);
		return error_set(err, -ENOMEM, "out of memory");
	}
	for (int i = 0; i < SEAL_LOCKS; i++)
		pthread_mutex_init(&cs->seal_locks[i], NULL);
	pthread_key_create(&cs->rctx_key, readctx_free);
	pthread_mutex_init(&cs->totals_lock, NULL);
	*out = cs;
	return 0;
}

void chunkstore_free(struct chunkstore *cs)
{
	if (!cs)
		return;
	readctx_free(pthread_getspecific(cs->rctx_key));
	pthread_setspecific(cs->rctx_key, NULL);
	pthread_key_delete(cs->rctx_key);
	for (int i = 0; i < SEAL_LOCKS; i++)
		pthread_mutex_destroy(&cs->seal_locks[i]);
	free(cs->seals);
	pthread_mutex_destroy(&cs->totals_lock);
	close(cs->dirfd);
	free(cs->dir);
	free(cs);
}

struct chunk_writer *chunk_writer_new(struct chunkstore *cs)
{
	struct chunk_writer *w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	w->cs = cs;
	w->cctx = ZSTD_createCCtx();
	buf_init(&w->rec, 0);
	if (!w->cctx) {
		free(w);
		return NULL;
	}
	ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_compressionLevel, cs->level);
	/* A checksum lets every read detect a damaged chunk file cheaply. */
	ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_checksumFlag, 1);
	return w;
}

void chunk_writer_free(struct chunk_writer *w)
{
	if (!w)
		return;
	ZSTD_freeCCtx(w->cctx);
	free(w->cbuf);
	buf_release(&w->rec);
	free(w);
}

static void chunk_key(uint8_t key[1 + SHA256_LEN], const uint8_t id[SHA256_LEN])
{
	key[0] = 'K';
	memcpy(key + 1, id, SHA256_LEN);
}

static void chunk_relpath(const uint8_t id[SHA256_LEN], char out[2 + 1 + 64 + 1])
{
	char hex[65];
	hex_encode(id, SHA256_LEN, hex);
	memcpy(out, hex, 2);
	out[2] = '/';
	memcpy(out + 3, hex, 65);
}

char *chunkstore_path(struct chunkstore *cs, const uint8_t id[SHA256_LEN])
{
	char rel[68];
	chunk_relpath(id, rel);
	return path_join(cs->dir, rel);
}

static int write_chunk_file(struct chunkstore *cs, const uint8_t id[SHA256_LEN], const void *data,
			    size_t len, struct strata_error *err)
{
	char rel[68], tmp[96];
	chunk_relpath(id, rel);
	uint64_t rnd;
	if (getrandom(&rnd, sizeof(rnd), 0) < 0)
		rnd = now_ns();
	snprintf(tmp, sizeof(tmp), "%s.%016llx.tmp", rel, (unsigned long long)rnd);
	int fd = openat(cs->dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
	/* The fan-out directory is made when the first chunk needs it, not
	 * checked for every chunk: a mkdirat per chunk locks the chunk
	 * directory that every writer shares. */
	if (fd < 0 && errno == ENOENT) {
		rel[2] = '\0';
		if (mkdirat(cs->dirfd, rel, 0755) < 0 && errno != EEXIST)
			return error_errno(err, -errno, "cannot create '%s/%s'", cs->dir, rel);
		rel[2] = '/';
		fd = openat(cs->dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
	}
	if (fd < 0)
		return error_errno(err, -errno, "cannot create chunk file '%s/%s'", cs->dir, tmp);
	const char *p = data;
	int r = 0;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			break;
		}
		p += n;
		len -= (size_t)n;
	}
	if (close(fd) < 0 && !r)
		r = -errno;
	if (!r && renameat(cs->dirfd, tmp, cs->dirfd, rel) < 0)
		r = -errno;
	if (r) {
		unlinkat(cs->dirfd, tmp, 0);
		return error_errno(err, r, "cannot write chunk file '%s/%s'", cs->dir, rel);
	}
	return 0;
}

/* Incompressible chunks (media, archives, compressed or encrypted files:
 * the bulk of many layers) would pay a full zstd pass to be stored raw.
 * Three samples, start, middle and end, compressed first: when together
 * they do not shrink by PROBE_GAIN, the chunk is stored raw at once. A
 * chunk whose redundancy lies only across the samples' spans loses its
 * compression; that costs disk, never correctness. */
#define PROBE_MIN (32u << 10)   /* smaller chunks are compressed whole */
#define PROBE_LEN (4u << 10)
#define PROBE_GAIN 32           /* in 1/1024ths of the sampled bytes */

static int incompressible(struct chunk_writer *w, const uint8_t *data, size_t len)
{
	if (len < PROBE_MIN)
		return 0;
	size_t in = 0, out = 0;
	for (size_t i = 0; i < 3; i++) {
		size_t c = ZSTD_compress2(w->cctx, w->cbuf, w->cbuf_len, data + (len - PROBE_LEN) / 2 * i,
					  PROBE_LEN);
		if (ZSTD_isError(c))
			return 0;
		in += PROBE_LEN;
		out += c;
	}
	return out * 1024 >= in * (1024 - PROBE_GAIN);
}

int chunk_writer_put(struct chunk_writer *w, struct index_batch *batch, const uint8_t id[SHA256_LEN],
		     const void *data, size_t len, uint64_t *stored, struct strata_error *err)
{
	uint8_t key[1 + SHA256_LEN];
	chunk_key(key, id);
	*stored = 0;
	if (index_exists(w->cs->idx, key, sizeof(key)))
		return 0;

	size_t bound = ZSTD_compressBound(len);
	if (bound > w->cbuf_len) {
		void *nb = realloc(w->cbuf, bound);
		if (!nb)
			return error_set(err, -ENOMEM, "out of memory");
		w->cbuf = nb;
		w->cbuf_len = bound;
	}
	size_t clen = incompressible(w, data, len) ? len : ZSTD_compress2(w->cctx, w->cbuf, w->cbuf_len, data, len);
	uint32_t flags = CHUNK_F_ZSTD;
	const void *payload = w->cbuf;
	if (ZSTD_isError(clen) || clen >= len) {
		flags = 0;
		payload = data;
		clen = len;
	}
	uint64_t headroom = 0;
	pthread_mutex_lock(&w->cs->totals_lock);
	w->cs->since_check += clen;
	w->cs->chunks_since_check++;
	if (w->cs->since_check >= CHUNKSTORE_CHECK_EVERY || w->cs->chunks_since_check >= CHUNKSTORE_CHECK_CHUNKS) {
		struct statvfs vfs;
		w->cs->since_check = 0;
		w->cs->chunks_since_check = 0;
		uint64_t need = headroom_of(w->cs);
		if (fstatvfs(w->cs->dirfd, &vfs) == 0 &&
		    (uint64_t)vfs.f_bavail * vfs.f_frsize < need + CHUNKSTORE_CHECK_EVERY)
			headroom = need;
	}
	pthread_mutex_unlock(&w->cs->totals_lock);
	if (headroom)
		return error_set(err, -ENOSPC, "no space left on device for the store in '%s' (%llu MiB are kept free for its index)",
				 w->cs->dir, (unsigned long long)(headroom >> 20));
	if (clen > CHUNK_INLINE_MAX) {
		int r = write_chunk_file(w->cs, id, payload, clen, err);
		if (r < 0)
			return r;
		flags |= CHUNK_F_FILE;
		/* What du sees: whole blocks. */
		*stored = (clen + 4095) & ~(uint64_t)4095;
	} else {
		*stored = clen;
	}
	buf_reset(&w->rec);
	uint8_t f = (uint8_t)flags;
	int r = buf_add(&w->rec, &f, 1);
	if (r < 0 || (r = buf_add_varint(&w->rec, len)) < 0 || (r = buf_add_varint(&w->rec, clen)) < 0 ||
	    (!(flags & CHUNK_F_FILE) && (r = buf_add(&w->rec, payload, clen)) < 0))
		return error_set(err, r, "out of memory");
	index_batch_put(batch, key, sizeof(key), w->rec.data, w->rec.len);
	pthread_mutex_lock(&w->cs->totals_lock);
	w->cs->totals.chunks++;
	w->cs->totals.ulen += len;
	if (flags & CHUNK_F_FILE)
		w->cs->totals.file_bytes += *stored;
	else
		w->cs->totals.inline_bytes += *stored;
	pthread_mutex_unlock(&w->cs->totals_lock);
	return 0;
}

int chunkstore_sync(struct chunkstore *cs, struct strata_error *err)
{
	if (syncfs(cs->dirfd) < 0)
		return error_errno(err, -errno, "cannot sync chunk directory '%s'", cs->dir);
	return 0;
}

static int decode_record(const uint8_t *p, size_t n, struct chunk_info *ci, const uint8_t **payload)
{
	const uint8_t *end = p + n;
	if (n < 1)
		return -EBADMSG;
	ci->flags = *p++;
	if (varint_get(&p, end, &ci->ulen) < 0 || varint_get(&p, end, &ci->clen) < 0)
		return -EBADMSG;
	if (!(ci->flags & CHUNK_F_FILE) && (uint64_t)(end - p) != ci->clen)
		return -EBADMSG;
	*payload = p;
	return 0;
}

int chunkstore_stat(struct chunkstore *cs, const uint8_t id[SHA256_LEN], struct chunk_info *out)
{
	uint8_t key[1 + SHA256_LEN];
	struct buf rec = BUF_INIT;
	const uint8_t *payload;
	chunk_key(key, id);
	int r = index_get(cs->idx, key, sizeof(key), &rec, NULL);
	if (r == 0)
		r = decode_record((const uint8_t *)rec.data, rec.len, out, &payload);
	buf_release(&rec);
	return r;
}

/* What a chunk file was while it was read: st, and whether it stayed so
 * (stable) and is old enough to be sealed. */
struct file_state {
	struct stat st;
	int stable;
};

static int same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/* Reads a chunk file of clen bytes into out (replacing its contents). With
 * fs, also what the file was before and after the read. */
static int read_chunk_file(struct chunkstore *cs, const uint8_t id[SHA256_LEN], struct buf *out,
			   uint64_t clen, struct file_state *fs)
{
	char rel[68];
	struct stat after;
	chunk_relpath(id, rel);
	int fd = openat(cs->dirfd, rel, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	buf_reset(out);
	int r = buf_grow(out, clen);
	if (r == 0 && fs && fstat(fd, &fs->st) < 0)
		r = -errno;
	if (r < 0) {
		close(fd);
		return r;
	}
	uint64_t got = 0;
	while (got < clen) {
		ssize_t n = pread(fd, out->data + got, clen - got, (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = n < 0 ? -errno : -EIO;
			break;
		}
		got += (uint64_t)n;
	}
	/* A chunk file longer than its record says has been tampered with. */
	char extra;
	if (!r && pread(fd, &extra, 1, (off_t)clen) == 1)
		r = -EIO;
	if (!r && fs) {
		struct timespec now;
		clock_gettime(CLOCK_REALTIME_COARSE, &now);
		fs->stable = fstat(fd, &after) == 0 && same_file(&fs->st, &after) &&
			     fs->st.st_ctim.tv_sec + SEAL_AGE_SEC < now.tv_sec;
	}
	close(fd);
	if (!r)
		buf_setlen(out, clen);
	return r;
}

/* The set of slots id may be in, and the lock that guards it. */
static struct seal *seal_set(struct chunkstore *cs, const uint8_t id[SHA256_LEN], pthread_mutex_t **lock)
{
	uint32_t h;
	memcpy(&h, id + 4, sizeof(h)); /* a sha256 is uniform */
	h &= SEAL_SLOTS / SEAL_WAYS - 1;
	*lock = &cs->seal_locks[h % SEAL_LOCKS];
	return &cs->seals[h * SEAL_WAYS];
}

/* id's slot in set, or NULL; under the set's lock. */
static struct seal *seal_find(struct seal *set, const uint8_t id[SHA256_LEN])
{
	for (int i = 0; i < SEAL_WAYS; i++)
		if (!memcmp(set[i].id, id, SHA256_LEN))
			return &set[i];
	return NULL;
}

static void seal_fill(struct seal *s, const uint8_t id[SHA256_LEN], const struct stat *st, int raw)
{
	memcpy(s->id, id, SHA256_LEN);
	s->raw = raw;
	s->dev = st->st_dev;
	s->ino = st->st_ino;
	s->size = (uint32_t)st->st_size;
	s->ctime_sec = st->st_ctim.tv_sec;
	s->ctime_nsec = (uint32_t)st->st_ctim.tv_nsec;
}

/* 1 when the chunk file was verified before and has not changed since. */
static int seal_holds(struct chunkstore *cs, const uint8_t id[SHA256_LEN], const struct file_state *fs,
		      int raw)
{
	struct seal want;
	pthread_mutex_t *lock;
	if (!fs->stable)
		return 0;
	seal_fill(&want, id, &fs->st, raw);
	struct seal *set = seal_set(cs, id, &lock);
	pthread_mutex_lock(lock);
	struct seal *s = seal_find(set, id);
	int hit = s && !memcmp(s, &want, sizeof(want));
	pthread_mutex_unlock(lock);
	return hit;
}

static void seal_record(struct chunkstore *cs, const uint8_t id[SHA256_LEN], const struct file_state *fs,
			int raw)
{
	pthread_mutex_t *lock;
	if (!fs->stable)
		return;
	struct seal *set = seal_set(cs, id, &lock);
	pthread_mutex_lock(lock);
	struct seal *s = seal_find(set, id);
	if (!s) {
		/* The newest seal goes first; the oldest of the set goes. */
		memmove(&set[1], &set[0], (SEAL_WAYS - 1) * sizeof(*set));
		s = &set[0];
	}
	seal_fill(s, id, &fs->st, raw);
	pthread_mutex_unlock(lock);
}

int chunkstore_read_sealed(struct chunkstore *cs, const uint8_t id[SHA256_LEN], uint32_t len, uint64_t off,
			   void *dst, size_t n)
{
	struct seal seen;
	pthread_mutex_t *lock;
	struct stat before, after;
	char rel[68];
	struct seal *set = seal_set(cs, id, &lock);
	pthread_mutex_lock(lock);
	struct seal *s = seal_find(set, id);
	if (s)
		seen = *s;
	pthread_mutex_unlock(lock);
	if (!s || !seen.raw || seen.size != len || off > len || n > len - off)
		return -EAGAIN;
	chunk_relpath(id, rel);
	int fd = openat(cs->dirfd, rel, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -EAGAIN;
	int r = -EAGAIN;
	struct seal now;
	if (fstat(fd, &before) < 0)
		goto out;
	seal_fill(&now, id, &before, 1);
	if (memcmp(&now, &seen, sizeof(now)))
		goto out;
	for (size_t got = 0; got < n;) {
		ssize_t k = pread(fd, (char *)dst + got, n - got, (off_t)(off + got));
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			goto out;
		got += (size_t)k;
	}
	/* Changed while it was read: the caller loads and hashes it again. */
	if (fstat(fd, &after) == 0 && same_file(&before, &after))
		r = 0;
out:
	close(fd);
	return r;
}

void chunkstore_prefetch(struct chunkstore *cs, const uint8_t id[SHA256_LEN])
{
	char rel[68];
	chunk_relpath(id, rel);
	int fd = openat(cs->dirfd, rel, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return; /* kept in the index, or not there: the read will say */
	posix_fadvise(fd, 0, 0, POSIX_FADV_WILLNEED);
	close(fd);
}

int chunkstore_get(struct chunkstore *cs, const uint8_t id[SHA256_LEN], struct buf *out, int verify,
		   struct strata_error *err)
{
	char dstr[DIGEST_STR_MAX];
	uint8_t key[1 + SHA256_LEN];
	struct buf rec = BUF_INIT;
	struct chunk_info ci;
	struct file_state fs = { .stable = 0 };
	const uint8_t *payload;
	int r, sealed = 0;

	chunk_key(key, id);
	digest_format(id, dstr);
	struct readctx *rc = readctx_get(cs);
	if (!rc)
		return error_set(err, -ENOMEM, "out of memory");
	r = index_get(cs->idx, key, sizeof(key), &rec, err);
	if (r == -ENOENT)
		r = error_set(err, -ENOENT, "chunk '%s' is missing", dstr);
	if (r < 0)
		goto out;
	if (decode_record((const uint8_t *)rec.data, rec.len, &ci, &payload) < 0) {
		r = error_set(err, -EIO, "chunk '%s': corrupt record", dstr);
		goto out;
	}
	if (ci.flags & CHUNK_F_FILE) {
		/* Raw bytes go straight where they are wanted; compressed ones
		 * into this thread's buffer, which stays for the next chunk. */
		struct buf *dst = ci.flags & CHUNK_F_ZSTD ? &rc->cbuf : out;
		r = read_chunk_file(cs, id, dst, ci.clen, verify == CHUNKSTORE_VERIFY_ONCE ? &fs : NULL);
		if (r == -ENOENT) {
			r = error_set(err, -EIO, "chunk '%s' is missing its file", dstr);
			goto out;
		}
		if (r < 0) {
			r = error_set(err, -EIO, "chunk '%s' is corrupt: %s", dstr,
				      r == -EIO ? "wrong size" : strerror(-r));
			goto out;
		}
		payload = (const uint8_t *)dst->data;
		sealed = verify == CHUNKSTORE_VERIFY_ONCE && seal_holds(cs, id, &fs, !(ci.flags & CHUNK_F_ZSTD));
	}
	if (ci.flags & CHUNK_F_ZSTD) {
		buf_reset(out);
		if ((r = buf_grow(out, ci.ulen)) < 0)
			goto out;
		size_t n = ZSTD_decompressDCtx(rc->dctx, out->data, ci.ulen, payload, ci.clen);
		if (ZSTD_isError(n) || n != ci.ulen) {
			r = error_set(err, -EIO, "chunk '%s' is corrupt: %s", dstr,
				      ZSTD_isError(n) ? ZSTD_getErrorName(n) : "wrong size");
			goto out;
		}
		buf_setlen(out, ci.ulen);
	} else if (ci.clen != ci.ulen) {
		r = error_set(err, -EIO, "chunk '%s' is corrupt: wrong size", dstr);
		goto out;
	} else if (!(ci.flags & CHUNK_F_FILE)) {
		buf_reset(out);
		if ((r = buf_add(out, payload, ci.ulen)) < 0)
			goto out;
	}
	if (verify && !sealed) {
		uint8_t got[SHA256_LEN];
		sha256_once(out->data, out->len, got);
		if (memcmp(got, id, SHA256_LEN)) {
			r = error_set(err, -EIO, "chunk '%s' is corrupt: content does not match its id", dstr);
			goto out;
		}
		if (verify == CHUNKSTORE_VERIFY_ONCE && (ci.flags & CHUNK_F_FILE))
			seal_record(cs, id, &fs, !(ci.flags & CHUNK_F_ZSTD));
	}
out:
	buf_release(&rec);
	return r;
}

void chunkstore_delete(struct chunkstore *cs, struct index_batch *batch, const uint8_t id[SHA256_LEN])
{
	uint8_t key[1 + SHA256_LEN];
	struct chunk_info ci;
	chunk_key(key, id);
	if (chunkstore_stat(cs, id, &ci) == 0) {
		pthread_mutex_lock(&cs->totals_lock);
		cs->totals.chunks -= cs->totals.chunks ? 1 : 0;
		cs->totals.ulen -= ci.ulen <= cs->totals.ulen ? ci.ulen : cs->totals.ulen;
		uint64_t *t = ci.flags & CHUNK_F_FILE ? &cs->totals.file_bytes : &cs->totals.inline_bytes;
		uint64_t sz = chunk_disk_bytes(&ci);
		*t -= sz <= *t ? sz : *t;
		pthread_mutex_unlock(&cs->totals_lock);
	}
	index_batch_delete(batch, key, sizeof(key));
}

void chunkstore_get_totals(struct chunkstore *cs, struct chunkstore_totals *out)
{
	pthread_mutex_lock(&cs->totals_lock);
	*out = cs->totals;
	pthread_mutex_unlock(&cs->totals_lock);
}

static int count_record(const void *k, size_t kl, const void *v, size_t vl, void *ctx)
{
	struct chunkstore_totals *t = ctx;
	struct chunk_info ci;
	const uint8_t *payload;
	if (kl != 1 + SHA256_LEN || decode_record(v, vl, &ci, &payload) < 0)
		return 0;
	t->chunks++;
	t->ulen += ci.ulen;
	if (ci.flags & CHUNK_F_FILE)
		t->file_bytes += (ci.clen + 4095) & ~4095ull;
	else
		t->inline_bytes += ci.clen;
	return 0;
}

int chunkstore_recount(struct chunkstore *cs, struct strata_error *err)
{
	struct chunkstore_totals t = { 0 };
	if (index_each(cs->idx, "K", 1, count_record, &t) < 0)
		return error_set(err, -ENOMEM, "out of memory");
	pthread_mutex_lock(&cs->totals_lock);
	cs->totals = t;
	pthread_mutex_unlock(&cs->totals_lock);
	return 0;
}

struct each_chunk {
	int (*fn)(const uint8_t id[SHA256_LEN], void *ctx);
	void *ctx;
};

static int each_chunk_key(const void *k, size_t kl, const void *v, size_t vl, void *ctx)
{
	struct each_chunk *e = ctx;
	(void)v, (void)vl;
	return kl == 1 + SHA256_LEN ? e->fn((const uint8_t *)k + 1, e->ctx) : 0;
}

int chunkstore_each(struct chunkstore *cs, int (*fn)(const uint8_t id[SHA256_LEN], void *ctx), void *ctx)
{
	struct each_chunk e = { fn, ctx };
	return index_each(cs->idx, "K", 1, each_chunk_key, &e);
}

int chunkstore_unlink(struct chunkstore *cs, const uint8_t id[SHA256_LEN])
{
	char rel[68];
	chunk_relpath(id, rel);
	if (unlinkat(cs->dirfd, rel, 0) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

uint64_t chunkstore_dir_bytes(struct chunkstore *cs)
{
	struct stat st;
	uint64_t total = fstat(cs->dirfd, &st) == 0 ? (uint64_t)st.st_blocks * 512 : 0;
	/* A descriptor of its own: a dup would share dirfd's directory offset. */
	int fd = openat(cs->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *top = fd >= 0 ? fdopendir(fd) : NULL;
	if (!top) {
		if (fd >= 0)
			close(fd);
		return total;
	}
	struct dirent *de;
	while ((de = readdir(top)))
		if (de->d_name[0] != '.' && fstatat(cs->dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISDIR(st.st_mode))
			total += (uint64_t)st.st_blocks * 512;
	closedir(top);
	return total;
}

int chunkstore_remove_orphans(struct chunkstore *cs, struct chunkstore_orphans *out)
{
	*out = (struct chunkstore_orphans){ 0 };
	int fd = openat(cs->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *top = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;
	if (!top) {
		if (fd >= 0)
			close(fd);
		return -errno;
	}
	while ((de = readdir(top))) {
		if (de->d_name[0] == '.')
			continue;
		int sfd = openat(dirfd(top), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		DIR *sub = sfd >= 0 ? fdopendir(sfd) : NULL;
		if (!sub) {
			if (sfd >= 0)
				close(sfd);
			continue;
		}
		struct dirent *f;
		while ((f = readdir(sub))) {
			struct stat st;
			uint8_t id[SHA256_LEN];
			struct chunk_info ci;
			if (f->d_name[0] == '.' || fstatat(dirfd(sub), f->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
				continue;
			size_t len = strlen(f->d_name);
			int tmp = len > 4 && !strcmp(f->d_name + len - 4, ".tmp");
			int orphan = !tmp && (len != 64 || hex_decode(f->d_name, 64, id) < 0 ||
					      chunkstore_stat(cs, id, &ci) < 0 || !(ci.flags & CHUNK_F_FILE));
			if ((tmp || orphan) && unlinkat(dirfd(sub), f->d_name, 0) == 0) {
				out->bytes += (uint64_t)st.st_blocks * 512;
				if (tmp)
					out->temp_files++;
				else
					out->files++;
			}
		}
		closedir(sub);
	}
	closedir(top);
	return 0;
}
