/* index: RocksDB behind a small typed interface. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <rocksdb/c.h>

#include "index.h"
#include "src/base/util.h"

struct index {
	rocksdb_t *db;
	rocksdb_column_family_handle_t *cf; /* the default (only) column family */
	rocksdb_options_t *opts;
	rocksdb_block_based_table_options_t *table;
	rocksdb_cache_t *cache;
	rocksdb_readoptions_t *ropts;
	rocksdb_writeoptions_t *wopts, *wopts_sync;
	char *path;
	/* Set by the first failed write: RocksDB stops writing after an I/O
	 * error, and Debian's build asserts on a sync that follows one, so no
	 * later write reaches it. Read and set with __atomic. */
	int write_failed;
};

struct index_batch {
	rocksdb_writebatch_t *wb;
};

struct index_iter {
	rocksdb_iterator_t *it;
	rocksdb_readoptions_t *ropts;
	char *prefix;
	size_t plen;
	char *upper;   /* the first key past the prefix: RocksDB's iterate_upper_bound */
	int started;
};

static int rocks_error(struct strata_error *err, char *msg, const char *what)
{
	/* RocksDB reports a held LOCK as an IO error whose text names the lock. */
	int code = strstr(msg, "lock") || strstr(msg, "Lock") ? -EBUSY
		   : strstr(msg, "No space left") ? -ENOSPC : -EIO;
	error_set(err, code, "%s: %s", what, msg);
	rocksdb_free(msg);
	return code;
}

static int write_error(struct index *idx, struct strata_error *err, char *msg)
{
	__atomic_store_n(&idx->write_failed, 1, __ATOMIC_RELAXED);
	return rocks_error(err, msg, "index write failed");
}

static int refuse_write(struct index *idx, struct strata_error *err)
{
	if (!__atomic_load_n(&idx->write_failed, __ATOMIC_RELAXED))
		return 0;
	return error_set(err, -EIO, "index '%s' takes no more writes after a failed one: restart the daemon "
			 "(once there is free space, if the disk filled)", idx->path);
}

int index_open(const char *path, struct index **out, struct strata_error *err)
{
	struct index *idx = calloc(1, sizeof(*idx));
	if (!idx)
		return error_set(err, -ENOMEM, "out of memory");
	idx->path = strdup(path);
	idx->opts = rocksdb_options_create();
	rocksdb_options_set_create_if_missing(idx->opts, 1);
	rocksdb_options_increase_parallelism(idx->opts, 2);
	rocksdb_options_set_compression(idx->opts, rocksdb_lz4_compression);
	rocksdb_options_set_max_open_files(idx->opts, 256);
	/* Small memtables keep the daemon's memory flat; the metadata is small. */
	/* RocksDB preallocates its log (about 1.1 write buffers) and manifest:
	 * both count against the store's budget, so keep them small. */
	rocksdb_options_set_write_buffer_size(idx->opts, 4 << 20);
	rocksdb_options_set_manifest_preallocation_size(idx->opts, 64 << 10);
	/* The log counts against the store's budget: keep it short. */
	rocksdb_options_set_max_total_wal_size(idx->opts, 16 << 20);
	rocksdb_options_set_keep_log_file_num(idx->opts, 3);
	rocksdb_options_set_max_log_file_size(idx->opts, 4 << 20);
	idx->table = rocksdb_block_based_options_create();
	idx->cache = rocksdb_cache_create_lru(32 << 20);
	rocksdb_block_based_options_set_block_cache(idx->table, idx->cache);
	/* A block ends before a value that would overflow it, however little it
	 * holds (RocksDB's default adds the value unless the block is 90% full):
	 * otherwise the few small keys written before a stored report ('U'
	 * names, 'L' layers) share its multi-megabyte block, too big for a
	 * cache shard, and each lookup of one decompressed the whole report
	 * again (16-27 ms per layer record). */
	rocksdb_block_based_options_set_block_size_deviation(idx->table, 100);
	/* Lookups of absent names (whiteout probes) are frequent: bloom filters. */
	rocksdb_block_based_options_set_filter_policy(idx->table, rocksdb_filterpolicy_create_bloom(10));
	rocksdb_options_set_block_based_table_factory(idx->opts, idx->table);
	idx->ropts = rocksdb_readoptions_create();
	idx->wopts = rocksdb_writeoptions_create();
	idx->wopts_sync = rocksdb_writeoptions_create();
	rocksdb_writeoptions_set_sync(idx->wopts_sync, 1);

	/* Opened by column family only to hold the default one's handle, which
	 * batched reads need; the database is the same either way. */
	const char *cf_names[] = { "default" };
	const rocksdb_options_t *cf_opts[] = { idx->opts };
	char *msg = NULL;
	idx->db = rocksdb_open_column_families(idx->opts, path, 1, cf_names, cf_opts, &idx->cf, &msg);
	if (msg) {
		int r = rocks_error(err, msg, "cannot open index");
		index_close(idx);
		return r;
	}
	*out = idx;
	return 0;
}

void index_close(struct index *idx)
{
	if (!idx)
		return;
	if (idx->cf)
		rocksdb_column_family_handle_destroy(idx->cf);
	if (idx->db)
		rocksdb_close(idx->db);
	rocksdb_writeoptions_destroy(idx->wopts);
	rocksdb_writeoptions_destroy(idx->wopts_sync);
	rocksdb_readoptions_destroy(idx->ropts);
	rocksdb_options_destroy(idx->opts);
	rocksdb_block_based_options_destroy(idx->table);
	rocksdb_cache_destroy(idx->cache);
	free(idx->path);
	free(idx);
}

int index_get(struct index *idx, const void *key, size_t klen, struct buf *val,
	      struct strata_error *err)
{
	char *msg = NULL;
	size_t vlen = 0;
	char *v = rocksdb_get(idx->db, idx->ropts, key, klen, &vlen, &msg);
	if (msg)
		return rocks_error(err, msg, "index read failed");
	if (!v)
		return -ENOENT;
	buf_reset(val);
	int r = buf_add(val, v, vlen);
	rocksdb_free(v);
	return r;
}

int index_get_str(struct index *idx, const void *key, size_t klen, char *out, size_t n)
{
	struct buf v = BUF_INIT;
	int r = index_get(idx, key, klen, &v, NULL);
	if (r == 0)
		snprintf(out, n, "%s", v.data);
	buf_release(&v);
	return r < 0 ? -ENOENT : 0;
}

int index_str_key(struct buf *k, char table, const char *s)
{
	buf_reset(k);
	int r = buf_addch(k, table);
	return r < 0 ? r : buf_adds(k, s);
}

int index_get_str_at(struct index *idx, char table, const char *s, char *out, size_t n)
{
	struct buf k = BUF_INIT;
	int r = index_str_key(&k, table, s);
	if (r == 0)
		r = index_get_str(idx, k.data, k.len, out, n);
	buf_release(&k);
	return r;
}

int index_multi_get(struct index *idx, size_t n, const char *const *keys, const size_t *klens,
		    index_found_fn fn, void *ctx, struct strata_error *err)
{
	rocksdb_pinnableslice_t **vals = calloc(n ? n : 1, sizeof(*vals));
	char **errs = calloc(n ? n : 1, sizeof(*errs));
	int r = 0;
	if (!vals || !errs) {
		free(vals);
		free(errs);
		return error_set(err, -ENOMEM, "out of memory");
	}
	rocksdb_batched_multi_get_cf(idx->db, idx->ropts, idx->cf, n, keys, klens, vals, errs, 0);
	for (size_t i = 0; i < n; i++) {
		if (errs[i] && r == 0)
			r = rocks_error(err, errs[i], "index read failed");
		else if (errs[i])
			rocksdb_free(errs[i]);
		else if (vals[i] && r == 0) {
			size_t vlen = 0;
			const char *v = rocksdb_pinnableslice_value(vals[i], &vlen);
			r = fn(ctx, i, v, vlen);
		}
		rocksdb_pinnableslice_destroy(vals[i]);
	}
	free(vals);
	free(errs);
	return r;
}

int index_exists(struct index *idx, const void *key, size_t klen)
{
	char *msg = NULL;
	size_t vlen = 0;
	char *v = rocksdb_get(idx->db, idx->ropts, key, klen, &vlen, &msg);
	if (msg) {
		rocksdb_free(msg);
		return 0;
	}
	rocksdb_free(v);
	return v != NULL;
}

int index_put(struct index *idx, const void *key, size_t klen, const void *val, size_t vlen,
	      int sync, struct strata_error *err)
{
	char *msg = NULL;
	int r = refuse_write(idx, err);
	if (r < 0)
		return r;
	rocksdb_put(idx->db, sync ? idx->wopts_sync : idx->wopts, key, klen, val, vlen, &msg);
	return msg ? write_error(idx, err, msg) : 0;
}

int index_delete(struct index *idx, const void *key, size_t klen, int sync,
		 struct strata_error *err)
{
	char *msg = NULL;
	int r = refuse_write(idx, err);
	if (r < 0)
		return r;
	rocksdb_delete(idx->db, sync ? idx->wopts_sync : idx->wopts, key, klen, &msg);
	return msg ? write_error(idx, err, msg) : 0;
}

struct index_batch *index_batch_new(void)
{
	struct index_batch *b = calloc(1, sizeof(*b));
	if (b)
		b->wb = rocksdb_writebatch_create();
	return b;
}

void index_batch_free(struct index_batch *b)
{
	if (!b)
		return;
	rocksdb_writebatch_destroy(b->wb);
	free(b);
}

void index_batch_put(struct index_batch *b, const void *key, size_t klen, const void *val,
		     size_t vlen)
{
	rocksdb_writebatch_put(b->wb, key, klen, val, vlen);
}

void index_batch_delete(struct index_batch *b, const void *key, size_t klen)
{
	rocksdb_writebatch_delete(b->wb, key, klen);
}

void index_batch_delete_prefix(struct index_batch *b, const void *prefix, size_t plen)
{
	/* The end of the range: the prefix with its last non-0xff byte incremented. */
	char *end = malloc(plen);
	size_t n = plen;
	if (!end)
		return;
	memcpy(end, prefix, plen);
	while (n && (unsigned char)end[n - 1] == 0xff)
		n--;
	if (n) {
		end[n - 1]++;
		rocksdb_writebatch_delete_range(b->wb, prefix, plen, end, n);
	}
	free(end);
}

size_t index_batch_bytes(struct index_batch *b)
{
	size_t n = 0;
	rocksdb_writebatch_data(b->wb, &n);
	return n;
}

size_t index_batch_count(struct index_batch *b)
{
	return (size_t)rocksdb_writebatch_count(b->wb);
}

int index_batch_commit(struct index *idx, struct index_batch *b, int sync,
		       struct strata_error *err)
{
	char *msg = NULL;
	int r = refuse_write(idx, err);
	if (r < 0)
		return r;
	rocksdb_write(idx->db, sync ? idx->wopts_sync : idx->wopts, b->wb, &msg);
	if (msg)
		return write_error(idx, err, msg);
	rocksdb_writebatch_clear(b->wb);
	return 0;
}

struct index_iter *index_iter_new(struct index *idx, const void *prefix, size_t plen)
{
	struct index_iter *it = calloc(1, sizeof(*it));
	if (!it)
		return NULL;
	it->prefix = malloc(plen ? plen : 1);
	if (!it->prefix) {
		free(it);
		return NULL;
	}
	memcpy(it->prefix, prefix, plen);
	it->plen = plen;
	it->ropts = rocksdb_readoptions_create();
	/* Scans of a whole table must not evict the hot lookups from the cache. */
	rocksdb_readoptions_set_fill_cache(it->ropts, 0);
	/* Bounded: without it a seek past the last key of a prefix walks every
	 * tombstone after it, and removing a layer's chunks one reference check
	 * at a time went quadratic (two minutes for a 30,000-file layer). */
	size_t ul = plen;
	it->upper = malloc(plen ? plen : 1);
	if (it->upper) {
		memcpy(it->upper, prefix, plen);
		while (ul > 0 && (unsigned char)it->upper[ul - 1] == 0xFF)
			ul--;
		if (ul > 0) {
			it->upper[ul - 1] = (char)((unsigned char)it->upper[ul - 1] + 1);
			rocksdb_readoptions_set_iterate_upper_bound(it->ropts, it->upper, ul);
		}
	}
	it->it = rocksdb_create_iterator(idx->db, it->ropts);
	rocksdb_iter_seek(it->it, prefix, plen);
	return it;
}

void index_iter_free(struct index_iter *it)
{
	if (!it)
		return;
	rocksdb_iter_destroy(it->it);
	rocksdb_readoptions_destroy(it->ropts);
	free(it->upper);
	free(it->prefix);
	free(it);
}

void index_iter_seek(struct index_iter *it, const void *suffix, size_t slen)
{
	char *k = malloc(it->plen + slen);
	if (!k)
		return;
	memcpy(k, it->prefix, it->plen);
	memcpy(k + it->plen, suffix, slen);
	rocksdb_iter_seek(it->it, k, it->plen + slen);
	free(k);
	it->started = 0;
}

int index_iter_next(struct index_iter *it, const void **key, size_t *klen, const void **val,
		    size_t *vlen)
{
	if (it->started)
		rocksdb_iter_next(it->it);
	it->started = 1;
	if (!rocksdb_iter_valid(it->it))
		return 0;
	size_t kl;
	const char *k = rocksdb_iter_key(it->it, &kl);
	if (kl < it->plen || memcmp(k, it->prefix, it->plen))
		return 0;
	*key = k;
	*klen = kl;
	if (val)
		*val = rocksdb_iter_value(it->it, vlen);
	return 1;
}

void index_compact(struct index *idx)
{
	/* Down to the bottom level too (kForceOptimized = 3): by default RocksDB
	 * leaves the bottom level alone, and the space of keys deleted there
	 * never comes back — a store that filled its disk stayed full. */
	rocksdb_compactoptions_t *co = rocksdb_compactoptions_create();
	rocksdb_compactoptions_set_bottommost_level_compaction(co, 3);
	rocksdb_compact_range_opt(idx->db, co, NULL, 0, NULL, 0);
	rocksdb_compactoptions_destroy(co);
}

static void flush(struct index *idx, int wait)
{
	/* After a failed write RocksDB takes nothing more (see write_failed). */
	if (__atomic_load_n(&idx->write_failed, __ATOMIC_RELAXED))
		return;
	rocksdb_flushoptions_t *fo = rocksdb_flushoptions_create();
	char *e = NULL;
	rocksdb_flushoptions_set_wait(fo, (unsigned char)wait);
	rocksdb_flush(idx->db, fo, &e);
	rocksdb_free(e); /* a failed flush leaves the log to replay: nothing is lost */
	rocksdb_flushoptions_destroy(fo);
}

void index_flush(struct index *idx)
{
	flush(idx, 1);
}

void index_flush_start(struct index *idx)
{
	flush(idx, 0);
}

uint64_t index_memtable_bytes(struct index *idx)
{
	uint64_t v = 0;
	return rocksdb_property_int(idx->db, "rocksdb.cur-size-all-mem-tables", &v) == 0 ? v : 0;
}

uint64_t index_disk_size(struct index *idx)
{
	DIR *d = opendir(idx->path);
	if (!d)
		return 0;
	uint64_t total = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		struct stat st;
		/* "." too: the directory's own blocks are on disk as well. */
		if (fstatat(dirfd(d), de->d_name, &st, 0) == 0 &&
		    (S_ISREG(st.st_mode) || !strcmp(de->d_name, ".")))
			total += (uint64_t)st.st_blocks * 512;
	}
	closedir(d);
	return total;
}
