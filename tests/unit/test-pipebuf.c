/* test-pipebuf: a writer and a reader thread through a small pipe — order,
 * end of data, the writer's error status, and the reader giving up. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "src/ingest/pipebuf.h"
#include "tap.h"

#define STAGE (1u << 20)

static uint64_t rnd(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

struct writer {
	struct pipebuf *p;
	uint64_t total;   /* bytes of the counter pattern to send */
	int status;       /* passed to close_write */
	int result;       /* the first failing pipebuf_write, or 0 */
	uint64_t written;
};

/* The stream is the little-endian uint64 sequence 0, 1, 2, ... cut to total
 * bytes, written in random-sized pieces. */
static void *writer_main(void *arg)
{
	struct writer *w = arg;
	uint64_t *block = malloc(STAGE), seed = 1, word = 0;

	while (w->written < w->total) {
		for (size_t i = 0; i < STAGE / 8; i++)
			block[i] = word++;
		size_t off = 0, end = STAGE;
		if (end > w->total - w->written)
			end = w->total - w->written;
		while (off < end) {
			size_t n = rnd(&seed) % 3 == 0 ? rnd(&seed) % 100 : rnd(&seed) % 200000;
			if (n > end - off)
				n = end - off;
			int r = pipebuf_write(w->p, (uint8_t *)block + off, n);
			if (r < 0) {
				w->result = r;
				goto out;
			}
			off += n;
			w->written += n;
		}
	}
out:
	pipebuf_close_write(w->p, w->status);
	free(block);
	return NULL;
}

/* Reads to the end, checking the pattern; returns the final read result. */
static ssize_t read_all(struct pipebuf *p, uint64_t *got, int *order_ok)
{
	uint8_t *stage = malloc(STAGE);
	uint64_t seed = 2, word = 0;
	size_t fill = 0;
	ssize_t n;

	*got = 0;
	*order_ok = 1;
	for (;;) {
		size_t want = rnd(&seed) % 2 ? 1 + rnd(&seed) % 64 : 1 + rnd(&seed) % 300000;
		if (want > STAGE - fill)
			want = STAGE - fill;
		n = pipebuf_read(p, stage + fill, want);
		if (n > 0 && (size_t)n > want)
			*order_ok = 0;
		if (n > 0) {
			fill += n;
			*got += n;
		}
		if (fill == STAGE || (n <= 0 && fill)) {
			for (size_t i = 0; i + 8 <= fill; i += 8, word++) {
				uint64_t v;
				memcpy(&v, stage + i, 8);
				if (v != word)
					*order_ok = 0;
			}
			fill = 0;
		}
		if (n <= 0)
			break;
	}
	free(stage);
	return n;
}

static void test_stream(uint64_t total, size_t cap)
{
	struct pipebuf *p = pipebuf_new(cap);
	struct writer w = { .p = p, .total = total };
	pthread_t t;
	struct timespec t0, t1;
	uint64_t got;
	int order_ok;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	pthread_create(&t, NULL, writer_main, &w);
	ssize_t end = read_all(p, &got, &order_ok);
	pthread_join(t, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double s = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	is_int(end, 0, "%llu bytes through %zu: clean end", (unsigned long long)total, cap);
	is_int(got, total, "every byte arrived (%.0f MB/s)", total / s / 1e6);
	ok(order_ok, "in order");
	is_int(w.result, 0, "the writer saw no error");
	pipebuf_free(p);
}

static void test_error_status(void)
{
	struct pipebuf *p = pipebuf_new(4096);
	struct writer w = { .p = p, .total = 100000, .status = -ECONNRESET };
	pthread_t t;
	uint64_t got;
	int order_ok;

	pthread_create(&t, NULL, writer_main, &w);
	ssize_t end = read_all(p, &got, &order_ok);
	pthread_join(t, NULL);
	is_int(end, -ECONNRESET, "the writer's error comes after its bytes");
	is_int(got, 100000, "all bytes before the error arrived");
	ok(order_ok, "in order before the error");
	char c;
	is_int(pipebuf_read(p, &c, 1), -ECONNRESET, "the error stays");
	pipebuf_free(p);

	/* a clean end stays a clean end, and a write after it fails */
	p = pipebuf_new(16);
	is_int(pipebuf_write(p, "abc", 3), 0, "write into an empty pipe");
	is_int(pipebuf_write(p, "", 0), 0, "empty write");
	pipebuf_close_write(p, 0);
	is_int(pipebuf_write(p, "d", 1), -EPIPE, "write after close_write fails");
	char buf[8];
	is_int(pipebuf_read(p, buf, sizeof(buf)), 3, "buffered bytes after close_write");
	ok(!memcmp(buf, "abc", 3), "and they are the ones written");
	is_int(pipebuf_read(p, buf, sizeof(buf)), 0, "then the clean end");
	is_int(pipebuf_read(p, buf, sizeof(buf)), 0, "and again");
	pipebuf_close_read(p);
	pipebuf_free(p);
	pipebuf_free(NULL);
}

static void *close_read_later(void *arg)
{
	usleep(100000);
	pipebuf_close_read(arg);
	return NULL;
}

static void test_close_read(void)
{
	/* a writer blocked on a full pipe is released by the reader giving up */
	struct pipebuf *p = pipebuf_new(1024);
	struct writer w = { .p = p, .total = 1 << 20 };
	pthread_t t, closer;

	pthread_create(&closer, NULL, close_read_later, p);
	writer_main(&w);
	pthread_join(closer, NULL);
	is_int(w.result, -ECANCELED, "blocked writer gets ECANCELED");
	ok(w.written < (1 << 20), "it stopped early (%llu bytes written in whole)",
	   (unsigned long long)w.written);
	is_int(pipebuf_write(p, "x", 1), -ECANCELED, "later writes get ECANCELED too");
	pipebuf_free(p);

	/* the same with the writer in its own thread and the reader reading a while */
	p = pipebuf_new(65536);
	struct writer w2 = { .p = p, .total = 64 << 20 };
	pthread_create(&t, NULL, writer_main, &w2);
	char buf[4096];
	ssize_t total = 0;
	while (total < (1 << 20)) {
		ssize_t n = pipebuf_read(p, buf, sizeof(buf));
		if (n <= 0)
			break;
		total += n;
	}
	pipebuf_close_read(p);
	pthread_join(t, NULL);
	is_int(w2.result, -ECANCELED, "writer thread stops once the reader closes");
	pipebuf_free(p);
}

int main(void)
{
	test_stream(1ull << 30, 65536);
	test_stream(100000, 1);
	test_stream(8 << 20, 4097);
	test_error_status();
	test_close_read();
	return tap_done();
}
