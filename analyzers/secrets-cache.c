/* secrets-cache: compiled Hyperscan databases of secret rule sets, kept on
 * disk (see secrets-cache.h). */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "src/base/digest.h"
#include "src/base/log.h"
#include "secrets-cache.h"
#include "src/base/util.h"

#define MAGIC "strataHS"
#define FORMAT 1u
#define HEADER_LEN (8 + 4 + 4 + 8 + SHA256_LEN + SHA256_LEN)
#define PAYLOAD_MAX (64u << 20) /* a larger database is compiled every time */
#define UNUSED_MAX (30 * 86400) /* seconds; an entry older than this is removed */
#define TOUCH_AFTER 86400       /* seconds; a hit older than this gets a new mtime */
#define TMP_MAX_AGE 3600        /* seconds; a temporary file this old was left by a crash */
#define NAME_MAX_LEN 96

static void put_le(uint8_t *p, uint64_t v, int bytes)
{
	for (int i = 0; i < bytes; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, int bytes)
{
	uint64_t v = 0;
	for (int i = bytes - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static void hash_u64(struct sha256_ctx *c, uint64_t v)
{
	uint8_t b[8];
	put_le(b, v, 8);
	sha256_update(c, b, sizeof(b));
}

/* Title, severity and the analyzer's own rule flags do not change what
 * Hyperscan builds, so rule sets that differ only there share an entry. */
static int cache_key(const char *const *exprs, const unsigned *flags, const unsigned *ids, unsigned n,
		     unsigned mode, uint8_t key[SHA256_LEN])
{
	hs_platform_info_t plat;
	if (hs_populate_platform(&plat) != HS_SUCCESS)
		return -ENOTSUP;
	struct sha256_ctx *c = sha256_new();
	if (!c)
		return -ENOMEM;
	const char *version = hs_version();
	sha256_update(c, MAGIC, 8);
	hash_u64(c, FORMAT);
	sha256_update(c, version, strlen(version) + 1);
	hash_u64(c, plat.tune);
	hash_u64(c, plat.cpu_features);
	hash_u64(c, mode);
	hash_u64(c, n);
	for (unsigned i = 0; i < n; i++) {
		hash_u64(c, ids ? ids[i] : 0);
		hash_u64(c, flags ? flags[i] : 0);
		sha256_update(c, exprs[i], strlen(exprs[i]) + 1);
	}
	sha256_final(c, key);
	sha256_free(c);
	return 0;
}

static int disabled(void)
{
	const char *v = getenv("STRATA_NO_HSDB_CACHE");
	return v && *v && strcmp(v, "0") != 0;
}

/* The cache directory's path (malloc'd), or NULL without HOME. Relative
 * values are ignored, as the XDG base directory specification says. */
static char *cache_path(void)
{
	const char *xdg = getenv("XDG_CACHE_HOME");
	const char *home = getenv("HOME");
	if (xdg && xdg[0] == '/')
		return path_join(xdg, "strata");
	if (home && home[0] == '/')
		return str_printf("%s/.cache/strata", home);
	return NULL;
}

/* Opens the cache directory (an fd, or negative errno), creating it when
 * create is set. Only a real directory of ours that no one else may write
 * is used: another user's files must never become our database. */
static int cache_dir_open(const char *path, int create)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT && create) {
		char *parent = strdup(path);
		if (!parent)
			return -ENOMEM;
		*strrchr(parent, '/') = '\0';
		int r = *parent ? mkdir_p(parent, 0700) : 0;
		free(parent);
		if (r < 0)
			return r;
		if (mkdir(path, 0700) < 0 && errno != EEXIST)
			return -errno;
		fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	}
	if (fd < 0)
		return -errno;
	struct stat st;
	if (fstat(fd, &st) < 0 || st.st_uid != geteuid() || (st.st_mode & 022)) {
		close(fd);
		return -EPERM;
	}
	return fd;
}

static void entry_name(const uint8_t key[SHA256_LEN], char name[NAME_MAX_LEN])
{
	char hex[2 * SHA256_LEN + 1];
	hex_encode(key, SHA256_LEN, hex);
	snprintf(name, NAME_MAX_LEN, "secrets-%s.hsdb", hex);
}

static int read_all(int fd, uint8_t *buf, size_t len)
{
	size_t done = 0;
	while (done < len) {
		ssize_t n = pread(fd, buf + done, len - done, (off_t)done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO; /* shrank under us */
		done += (size_t)n;
	}
	return 0;
}

/* Checks the header and the payload's digest: Hyperscan checks a
 * database's version and platform, not that its bytes are intact. */
static int entry_check(const uint8_t *buf, size_t len, const uint8_t key[SHA256_LEN])
{
	uint8_t sum[SHA256_LEN];
	if (len < HEADER_LEN || memcmp(buf, MAGIC, 8) != 0)
		return -EINVAL;
	if (get_le(buf + 8, 4) != FORMAT || get_le(buf + 12, 4) != HEADER_LEN ||
	    get_le(buf + 16, 8) != len - HEADER_LEN || memcmp(buf + 24, key, SHA256_LEN) != 0)
		return -EINVAL;
	sha256_once(buf + HEADER_LEN, len - HEADER_LEN, sum);
	return memcmp(buf + 24 + SHA256_LEN, sum, SHA256_LEN) == 0 ? 0 : -EINVAL;
}

/* The database stored under key in the directory dfd: 0, or -ENOENT, or
 * negative errno for a file that is unusable (it gets replaced). */
static int entry_load(int dfd, const char *name, const uint8_t key[SHA256_LEN], hs_database_t **db)
{
	int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ENOENT : -errno;
	uint8_t *buf = NULL;
	struct stat st;
	int r = fstat(fd, &st) < 0 ? -errno : 0;
	if (r == 0 && (!S_ISREG(st.st_mode) || st.st_uid != geteuid() || st.st_size < HEADER_LEN ||
		       st.st_size > HEADER_LEN + (off_t)PAYLOAD_MAX))
		r = -EINVAL;
	if (r == 0 && !(buf = malloc((size_t)st.st_size)))
		r = -ENOMEM;
	if (r == 0)
		r = read_all(fd, buf, (size_t)st.st_size);
	if (r == 0)
		r = entry_check(buf, (size_t)st.st_size, key);
	if (r == 0 && hs_deserialize_database((const char *)buf + HEADER_LEN,
					      (size_t)st.st_size - HEADER_LEN, db) != HS_SUCCESS)
		r = -EINVAL; /* another version or platform, despite the key */
	/* The mtime says when the entry was last used (see secrets_cache_prune). */
	if (r == 0 && st.st_mtime < time(NULL) - TOUCH_AFTER)
		futimens(fd, NULL);
	free(buf);
	close(fd);
	return r;
}

/* Removes entries unused for UNUSED_MAX and temporary files that a crash
 * left: each Hyperscan upgrade or rules file edit makes a new entry. */
static void secrets_cache_prune(int dfd)
{
	int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);
	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	time_t now = time(NULL);
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);
		int tmp = len > 4 && !strcmp(e->d_name + len - 4, ".tmp");
		int entry = len > 5 && !strcmp(e->d_name + len - 5, ".hsdb");
		struct stat st;
		if (strncmp(e->d_name, "secrets-", 8) != 0 || !(tmp || entry) ||
		    fstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (st.st_mtime < now - (tmp ? TMP_MAX_AGE : UNUSED_MAX))
			unlinkat(dfd, e->d_name, 0);
	}
	closedir(d);
}

/* Writes db under name, header first, atomically (no fsync: a file that a
 * crash cut short fails its checks). */
static int entry_store(int dfd, const char *name, const uint8_t key[SHA256_LEN], const hs_database_t *db)
{
	char *bytes = NULL;
	size_t len = 0;
	if (hs_serialize_database(db, &bytes, &len) != HS_SUCCESS)
		return -ENOMEM;
	uint8_t *file = len <= PAYLOAD_MAX ? malloc(HEADER_LEN + len) : NULL;
	int r = len > PAYLOAD_MAX ? -EFBIG : file ? 0 : -ENOMEM;
	if (r == 0) {
		memcpy(file, MAGIC, 8);
		put_le(file + 8, FORMAT, 4);
		put_le(file + 12, HEADER_LEN, 4);
		put_le(file + 16, len, 8);
		memcpy(file + 24, key, SHA256_LEN);
		sha256_once(bytes, len, file + 24 + SHA256_LEN);
		memcpy(file + HEADER_LEN, bytes, len);
		r = write_file_atomic_at(dfd, name, file, HEADER_LEN + len, 0600, 0);
	}
	free(file);
	free(bytes); /* Hyperscan's misc allocator: malloc unless set otherwise */
	return r;
}

/* One compilation's way through the cache; dir NULL: the cache is not used. */
struct lookup {
	char *dir;
	int dfd; /* the directory, or negative errno */
	uint8_t key[SHA256_LEN];
	char name[NAME_MAX_LEN];
};

static void lookup_release(struct lookup *lk)
{
	if (lk->dfd >= 0)
		close(lk->dfd);
	free(lk->dir);
}

/* 0 and *db when the entry is there and sound; anything else is a miss. */
static int secrets_cache_lookup(struct lookup *lk, const char *const *exprs, const unsigned *flags,
				const unsigned *ids, unsigned n, unsigned mode, hs_database_t **db)
{
	lk->dfd = -ENOENT;
	lk->dir = disabled() ? NULL : cache_path();
	if (!lk->dir || cache_key(exprs, flags, ids, n, mode, lk->key) < 0) {
		free(lk->dir);
		lk->dir = NULL;
		return -ENOENT;
	}
	entry_name(lk->key, lk->name);
	lk->dfd = cache_dir_open(lk->dir, 0);
	int r = lk->dfd >= 0 ? entry_load(lk->dfd, lk->name, lk->key, db) : lk->dfd;
	if (r == 0)
		log_debug("secrets: rules database loaded from '%s/%s'", lk->dir, lk->name);
	else if (lk->dfd >= 0 && r != -ENOENT)
		log_debug("secrets: ignoring rules database '%s/%s': %s", lk->dir, lk->name,
			  r == -EINVAL ? "bad file" : strerror(-r));
	return r;
}

static void secrets_cache_store(struct lookup *lk, const hs_database_t *db, double ms)
{
	if (lk->dfd < 0 && lk->dfd != -EPERM)
		lk->dfd = cache_dir_open(lk->dir, 1);
	int r = lk->dfd >= 0 ? entry_store(lk->dfd, lk->name, lk->key, db) : lk->dfd;
	if (r == 0) {
		secrets_cache_prune(lk->dfd);
		log_debug("secrets: rules compiled in %.1f ms, stored in '%s/%s'", ms, lk->dir, lk->name);
	} else {
		log_debug("secrets: rules compiled in %.1f ms, not cached in '%s': %s", ms, lk->dir,
			  strerror(-r));
	}
}

hs_error_t secrets_cache_compile(const char *const *exprs, const unsigned *flags, const unsigned *ids,
				 unsigned n, unsigned mode, hs_database_t **db,
				 hs_compile_error_t **error)
{
	struct lookup lk;
	if (secrets_cache_lookup(&lk, exprs, flags, ids, n, mode, db) == 0) {
		lookup_release(&lk);
		return HS_SUCCESS;
	}
	uint64_t t0 = now_ns();
	hs_error_t e = hs_compile_multi(exprs, flags, ids, n, mode, NULL, db, error);
	if (e == HS_SUCCESS && lk.dir)
		secrets_cache_store(&lk, *db, (double)(now_ns() - t0) / 1e6);
	lookup_release(&lk);
	return e;
}
