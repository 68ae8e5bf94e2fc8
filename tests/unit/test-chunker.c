/* test-chunker: FastCDC boundaries — pinned forever, independent of how
 * the data is sliced, within min/max, near avg, stable under insertion. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "src/ingest/chunker.h"
#include "tap.h"

static uint64_t rng_state;

static uint64_t rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint8_t *random_data(size_t n, uint64_t seed)
{
	uint8_t *p = malloc(n);
	rng_state = seed;
	for (size_t i = 0; i < n; i += 8) {
		uint64_t v = rnd();
		memcpy(p + i, &v, n - i < 8 ? n - i : 8);
	}
	return p;
}

struct cuts {
	size_t *len; /* chunk lengths, the last one possibly without a cut */
	size_t n, cap;
};

static void cuts_add(struct cuts *c, size_t len)
{
	if (c->n == c->cap) {
		c->cap = c->cap ? 2 * c->cap : 64;
		c->len = realloc(c->len, c->cap * sizeof(*c->len));
	}
	c->len[c->n++] = len;
}

/* Chunks data fed in slices of at most `slice` bytes (0: random sizes,
 * 1 upwards, sometimes 0 bytes). */
static void chunk_all(const uint8_t *data, size_t n, size_t slice, uint32_t min, uint32_t avg,
		      uint32_t max, struct cuts *out)
{
	struct chunker c;
	size_t off = 0, cur = 0;

	memset(out, 0, sizeof(*out));
	chunker_init(&c, min, avg, max);
	while (off < n) {
		size_t len = slice ? slice : rnd() % 3 == 0 ? rnd() % 64 : rnd() % (3 * max);
		if (len > n - off)
			len = n - off;
		const uint8_t *p = data + off;
		size_t left = len;
		do {
			int cut;
			size_t took = chunker_scan(&c, p, left, &cut);
			if (took > left)
				abort();
			cur += took;
			p += took;
			left -= took;
			if (cut) {
				cuts_add(out, cur);
				cur = 0;
			} else if (left) {
				abort(); /* no cut means all of data was taken */
			}
		} while (left);
		off += len;
	}
	if (cur)
		cuts_add(out, cur);
}

static int cuts_equal(const struct cuts *a, const struct cuts *b)
{
	return a->n == b->n && !memcmp(a->len, b->len, a->n * sizeof(*a->len));
}

static uint64_t fnv(const uint8_t *p, size_t n, uint64_t h)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

static uint64_t cuts_digest(const struct cuts *c)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < c->n; i++) {
		uint64_t v = c->len[i];
		h = fnv((const uint8_t *)&v, sizeof(v), h);
	}
	return h;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Content hashes of the chunks, sorted, for set comparison. */
static uint64_t *chunk_hashes(const uint8_t *data, const struct cuts *c)
{
	uint64_t *h = malloc(c->n * sizeof(*h));
	size_t off = 0;
	for (size_t i = 0; i < c->n; i++) {
		h[i] = fnv(data + off, c->len[i], 0xcbf29ce484222325ull);
		off += c->len[i];
	}
	qsort(h, c->n, sizeof(*h), cmp_u64);
	return h;
}

static size_t common_count(const uint64_t *a, size_t na, const uint64_t *b, size_t nb)
{
	size_t i = 0, j = 0, same = 0;
	while (i < na && j < nb) {
		if (a[i] == b[j]) {
			same++; i++; j++;
		} else if (a[i] < b[j]) {
			i++;
		} else {
			j++;
		}
	}
	return same;
}

static void test_pinned(void)
{
	/* Boundaries are part of the store format: these values may never
	 * change, or dedup against existing stores breaks. */
	size_t n = 8 << 20;
	uint8_t *data = random_data(n, 42);
	struct cuts c;

	chunk_all(data, n, n, CHUNK_MIN, CHUNK_AVG, CHUNK_MAX, &c);
	printf("# %zu chunks, first %zu %zu %zu, digest %016llx\n", c.n, c.len[0], c.len[1],
	       c.len[2], (unsigned long long)cuts_digest(&c));
	is_int(c.n, 113, "pinned: chunk count of 8 MiB from seed 42");
	is_int(c.len[0], 113243, "pinned: first chunk length");
	ok(cuts_digest(&c) == 0x4093f27f7ebfaf92ull, "pinned: digest of all chunk lengths");
	free(c.len);
	free(data);
}

static void test_slicing(void)
{
	size_t n = 8 << 20;
	uint8_t *data = random_data(n, 7);
	struct cuts whole, again, sliced;

	chunk_all(data, n, n, CHUNK_MIN, CHUNK_AVG, CHUNK_MAX, &whole);
	chunk_all(data, n, n, CHUNK_MIN, CHUNK_AVG, CHUNK_MAX, &again);
	ok(cuts_equal(&whole, &again), "deterministic: same data, same cuts");
	free(again.len);

	size_t slices[] = { 1, 4096, 65536 + 3, 0, 0 };
	for (int i = 0; i < 5; i++) {
		size_t len = slices[i] == 1 ? n / 8 : n; /* byte by byte is slow: a prefix */
		struct cuts ref;
		if (len != n)
			chunk_all(data, len, len, CHUNK_MIN, CHUNK_AVG, CHUNK_MAX, &ref);
		chunk_all(data, len, slices[i], CHUNK_MIN, CHUNK_AVG, CHUNK_MAX, &sliced);
		ok(cuts_equal(len == n ? &whole : &ref, &sliced),
		   "%s slices of %zu give the same %zu cuts", slices[i] ? "fixed" : "random",
		   slices[i], sliced.n);
		free(sliced.len);
		if (len != n)
			free(ref.len);
	}
	free(whole.len);
	free(data);
}

static void test_sizes(uint32_t min, uint32_t avg, uint32_t max, size_t n)
{
	uint8_t *data = random_data(n, min ^ avg ^ max);
	struct cuts c;
	size_t bad = 0, at_max = 0, sum = 0;

	chunk_all(data, n, 0, min, avg, max, &c);
	for (size_t i = 0; i < c.n; i++) {
		sum += c.len[i];
		if (c.len[i] > max || (i + 1 < c.n && c.len[i] < min))
			bad++;
		at_max += c.len[i] == max;
	}
	is_int(sum, n, "%u/%u/%u: chunks cover the data", min, avg, max);
	is_int(bad, 0, "%u/%u/%u: %zu chunks within min and max", min, avg, max, c.n);
	double mean = (double)n / c.n;
	ok(mean > 0.8 * avg && mean < 1.4 * avg, "%u/%u/%u: mean chunk %.0f is near avg",
	   min, avg, max, mean);
	ok(at_max * 50 < c.n, "%u/%u/%u: few chunks (%zu of %zu) are cut at max on random data",
	   min, avg, max, at_max, c.n);
	free(c.len);
	free(data);
}

static void test_insertion(void)
{
	size_t n = 8 << 20, ins = 100, mid = n / 2 + 12345;
	uint8_t *data = random_data(n, 99);
	uint8_t *edited = malloc(n + ins);
	struct cuts a, b;

	memcpy(edited, data, mid);
	for (size_t i = 0; i < ins; i++)
		edited[mid + i] = rnd();
	memcpy(edited + mid + ins, data + mid, n - mid);

	chunk_all(data, n, 0, CHUNK_MIN, CHUNK_AVG, CHUNK_MAX, &a);
	chunk_all(edited, n + ins, 0, CHUNK_MIN, CHUNK_AVG, CHUNK_MAX, &b);
	uint64_t *ha = chunk_hashes(data, &a), *hb = chunk_hashes(edited, &b);
	size_t same = common_count(ha, a.n, hb, b.n);
	ok(b.n - same <= 3 && a.n - same <= 3,
	   "insertion of %zu bytes: %zu of %zu chunks unchanged (%zu new)", ins, same, b.n, b.n - same);
	ok(same > 100, "insertion: the data has many chunks (%zu)", same);
	free(ha);
	free(hb);
	free(a.len);
	free(b.len);
	free(edited);
	free(data);
}

static void test_zeros(void)
{
	size_t n = 4 * CHUNK_MAX + 1000;
	uint8_t *data = calloc(1, n);
	struct cuts c;
	size_t bad = 0;

	chunk_all(data, n, 0, CHUNK_MIN, CHUNK_AVG, CHUNK_MAX, &c);
	is_int(c.n, 5, "zeros: 4 full chunks and a tail");
	for (size_t i = 0; i + 1 < c.n; i++)
		bad += c.len[i] != CHUNK_MAX;
	is_int(bad, 0, "zeros: every full chunk is cut at max");
	is_int(c.len[c.n - 1], 1000, "zeros: the tail is what is left");
	free(c.len);

	/* min == avg == max degenerates to fixed-size chunks */
	chunk_all(data, n, 0, 4096, 4096, 4096, &c);
	bad = 0;
	for (size_t i = 0; i + 1 < c.n; i++)
		bad += c.len[i] != 4096;
	ok(!bad && c.n == (n + 4095) / 4096, "min = avg = max: fixed %u-byte chunks", 4096);
	free(c.len);
	free(data);
}

static void test_speed(void)
{
	size_t n = 128 << 20;
	uint8_t *data = random_data(n, 3);
	struct chunker c;
	struct timespec t0, t1;
	size_t chunks = 0;

	chunker_init(&c, CHUNK_MIN, CHUNK_AVG, CHUNK_MAX);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (size_t off = 0; off < n;) {
		int cut;
		off += chunker_scan(&c, data + off, n - off, &cut);
		chunks += cut;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double s = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	ok(chunks > 0, "speed: %.2f GB/s over %zu MiB (%zu chunks)", n / s / 1e9, n >> 20, chunks);
	free(data);
}

int main(void)
{
	test_pinned();
	test_slicing();
	test_sizes(CHUNK_MIN, CHUNK_AVG, CHUNK_MAX, 64 << 20);
	test_sizes(64, 256, 1024, 4 << 20);
	test_sizes(2048, 8192, 65536, 16 << 20);
	test_insertion();
	test_zeros();
	test_speed();
	return tap_done();
}
