/* Unit tests: the decompressed-chunk cache over a real chunk store in a temp
 * dir — exact bytes, the budget, concurrent readers, failed loads. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "src/store/chunkcache.h"
#include "src/store/chunkstore.h"
#include "src/store/index.h"
#include "tap.h"
#include "src/base/util.h"

#define NCHUNKS 48
#define NTHREADS 8

static uint8_t *chunk_data[NCHUNKS];
static uint32_t chunk_len[NCHUNKS];
static uint8_t chunk_id[NCHUNKS][SHA256_LEN];

struct reader {
	struct chunkcache *cc;
	unsigned seed;
	int bad, errors;
};

static void *reader_main(void *arg)
{
	struct reader *rd = arg;
	uint8_t out[64 << 10];
	for (int i = 0; i < 4000; i++) {
		unsigned k = (unsigned)rand_r(&rd->seed) % NCHUNKS;
		uint32_t len = chunk_len[k];
		uint64_t off = (uint64_t)rand_r(&rd->seed) % len;
		size_t n = (size_t)rand_r(&rd->seed) % (len - off + 1);
		if (n > sizeof(out))
			n = sizeof(out);
		struct strata_error err = STRATA_ERROR_INIT;
		if (chunkcache_read(rd->cc, chunk_id[k], len, off, out, n, &err) < 0)
			rd->errors++;
		else if (memcmp(out, chunk_data[k] + off, n))
			rd->bad++;
	}
	return NULL;
}

int main(void)
{
	char tmpl[] = "/tmp/strata-test-chunkcache.XXXXXX";
	char *dir = mkdtemp(tmpl);
	char *ipath = path_join(dir, "index"), *cpath = path_join(dir, "chunks");
	struct strata_error err = STRATA_ERROR_INIT;
	struct index *idx = NULL;
	struct chunkstore *cs = NULL;
	is_int(index_open(ipath, &idx, &err), 0, "open index");
	is_int(chunkstore_open(idx, cpath, 3, &cs, &err), 0, "open chunk store");
	struct chunk_writer *w = chunk_writer_new(cs);
	struct index_batch *b = index_batch_new();

	/* Chunks of 4 KiB to 100 KiB, half compressible (zstd), half not (raw). */
	unsigned seed = 42;
	size_t total = 0;
	for (int k = 0; k < NCHUNKS; k++) {
		chunk_len[k] = 4096 + (uint32_t)(rand_r(&seed) % (96 << 10));
		chunk_data[k] = malloc(chunk_len[k]);
		for (uint32_t i = 0; i < chunk_len[k]; i++)
			chunk_data[k][i] = (uint8_t)(k % 2 ? rand_r(&seed) : 'a' + (rand_r(&seed) & 3));
		sha256_once(chunk_data[k], chunk_len[k], chunk_id[k]);
		uint64_t stored;
		if (chunk_writer_put(w, b, chunk_id[k], chunk_data[k], chunk_len[k], &stored, &err) < 0)
			printf("# put: %s\n", err.msg);
		total += chunk_len[k];
	}
	is_int(index_batch_commit(idx, b, 1, &err), 0, "chunks stored");

	/* Correctness and hits, with room for everything. */
	struct chunkcache *cc = chunkcache_new(cs, 64 << 20);
	ok(cc != NULL, "cache created");
	uint8_t *out = malloc(100 << 10);
	int same = 1;
	for (int k = 0; k < NCHUNKS; k++) {
		if (chunkcache_read(cc, chunk_id[k], chunk_len[k], 0, out, chunk_len[k], &err) < 0 ||
		    memcmp(out, chunk_data[k], chunk_len[k]))
			same = 0;
	}
	ok(same, "whole chunks read back exactly");
	ok(chunkcache_read(cc, chunk_id[3], chunk_len[3], 100, out, 50, &err) == 0 &&
	   !memcmp(out, chunk_data[3] + 100, 50), "a range inside a chunk");
	ok(chunkcache_read(cc, chunk_id[3], chunk_len[3], chunk_len[3], out, 0, &err) == 0,
	   "an empty read at the end");
	is_int(chunkcache_read(cc, chunk_id[3], chunk_len[3], chunk_len[3] - 10, out, 11, &err), -EINVAL,
	       "a range past the end is EINVAL");
	struct chunkcache_stats st;
	chunkcache_get_stats(cc, &st);
	is_int(st.misses, NCHUNKS, "one miss per chunk");
	is_int(st.hits, 2, "then hits");
	is_int(st.entries, NCHUNKS, "all chunks held");
	error_clear(&err);
	is_int(chunkcache_read(cc, chunk_id[3], chunk_len[3] + 1, 0, out, 10, &err), -EIO,
	       "a chunk asked for with the wrong length is EIO");
	chunkcache_free(cc);

	/* A budget of a quarter of the data. */
	size_t budget = total / 4;
	cc = chunkcache_new(cs, budget);
	int over = 0;
	for (int round = 0; round < 3; round++)
		for (int k = 0; k < NCHUNKS; k++) {
			chunkcache_read(cc, chunk_id[k], chunk_len[k], 0, out, chunk_len[k], &err);
			chunkcache_get_stats(cc, &st);
			if (st.bytes > budget)
				over = 1;
		}
	ok(!over, "the budget (%zu bytes) is never exceeded between reads", budget);
	chunkcache_get_stats(cc, &st);
	ok(st.evictions > 0 && st.entries < NCHUNKS, "chunks were evicted (%llu), %llu held",
	   (unsigned long long)st.evictions, (unsigned long long)st.entries);
	/* LRU: the most recent chunk stays, the oldest goes. */
	uint64_t misses = st.misses;
	chunkcache_read(cc, chunk_id[NCHUNKS - 1], chunk_len[NCHUNKS - 1], 0, out, 1, &err);
	chunkcache_get_stats(cc, &st);
	is_int(st.misses, misses, "the most recently used chunk is still held");
	chunkcache_read(cc, chunk_id[0], chunk_len[0], 0, out, 1, &err);
	chunkcache_get_stats(cc, &st);
	is_int(st.misses, misses + 1, "the least recently used one was evicted");
	chunkcache_free(cc);

	/* Concurrent readers: small budget so that loads, hits and evictions race. */
	cc = chunkcache_new(cs, budget);
	pthread_t th[NTHREADS];
	struct reader rd[NTHREADS];
	for (int i = 0; i < NTHREADS; i++) {
		rd[i] = (struct reader){ .cc = cc, .seed = (unsigned)i * 7919 + 1 };
		pthread_create(&th[i], NULL, reader_main, &rd[i]);
	}
	int bad = 0, errors = 0;
	for (int i = 0; i < NTHREADS; i++) {
		pthread_join(th[i], NULL);
		bad += rd[i].bad;
		errors += rd[i].errors;
	}
	is_int(errors, 0, "%d threads: no read failed", NTHREADS);
	is_int(bad, 0, "%d threads: every byte exact", NTHREADS);
	chunkcache_get_stats(cc, &st);
	ok(st.bytes <= budget, "budget respected after the threads (%llu <= %zu)",
	   (unsigned long long)st.bytes, budget);
	ok(st.hits + st.misses == NTHREADS * 4000, "every read counted as a hit or a miss");
	chunkcache_free(cc);

	/* A missing chunk file: EIO for that chunk, not remembered, others fine. */
	cc = chunkcache_new(cs, 64 << 20);
	int raw = 1; /* odd chunks are random: large ones live in files */
	for (int k = 1; k < NCHUNKS; k += 2) {
		struct chunk_info ci;
		if (chunkstore_stat(cs, chunk_id[k], &ci) == 0 && (ci.flags & CHUNK_F_FILE)) {
			raw = k;
			break;
		}
	}
	char *p = chunkstore_path(cs, chunk_id[raw]);
	char *moved = str_printf("%s.moved", p);
	rename(p, moved);
	error_clear(&err);
	is_int(chunkcache_read(cc, chunk_id[raw], chunk_len[raw], 0, out, 10, &err), -EIO,
	       "a chunk whose file is gone is EIO");
	ok(strstr(err.msg, "missing") && strstr(err.msg, "sha256:"), "message names the chunk: %s", err.msg);
	ok(chunkcache_read(cc, chunk_id[0], chunk_len[0], 0, out, 10, &err) == 0, "other chunks still read");
	rename(moved, p);
	error_clear(&err);
	ok(chunkcache_read(cc, chunk_id[raw], chunk_len[raw], 0, out, chunk_len[raw], &err) == 0 &&
	   !memcmp(out, chunk_data[raw], chunk_len[raw]), "the failure was not cached: it reads once restored");
	chunkcache_free(cc);
	chunkcache_free(NULL);
	free(p);
	free(moved);

	for (int k = 0; k < NCHUNKS; k++)
		free(chunk_data[k]);
	free(out);
	index_batch_free(b);
	chunk_writer_free(w);
	chunkstore_free(cs);
	index_close(idx);
	rm_rf(dir);
	free(ipath);
	free(cpath);
	return tap_done();
}
