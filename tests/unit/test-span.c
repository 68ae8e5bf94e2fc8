/* test-span: checkpoints taken while decoding (decompress.h), kept in a
 * table (ckpt.h), and every piece of the stream rebuilt from one of them and
 * the compressed bytes after it (span.h) — gzip of one and of several
 * members, several deflate levels, zstd of one and of several frames, and an
 * uncompressed stream; then truncated and corrupted spans. */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>
#include <zstd.h>

#include "src/ingest/ckpt.h"
#include "src/ingest/decompress.h"
#include "src/ingest/span.h"
#include "tap.h"

static uint64_t rng_state = 0x5eed;

static uint64_t rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Text with random stretches: real Huffman blocks and some stored ones. */
static uint8_t *make_data(size_t n)
{
	static const char *words[] = { "layer ", "chunk ", "sha256 ", "usr/lib/", "\n",
				       "strata ", "overlay ", "whiteout ", "0123456789" };
	uint8_t *p = malloc(n);
	size_t i = 0;
	while (i < n) {
		if (rnd() % 16 == 0) {
			size_t run = rnd() % (rnd() % 64 ? 300 : 70000);
			for (size_t k = 0; k < run && i < n; k++)
				p[i++] = rnd();
		} else {
			const char *w = words[rnd() % (sizeof(words) / sizeof(words[0]))];
			for (; *w && i < n; w++)
				p[i++] = *w;
		}
	}
	return p;
}

struct blob {
	uint8_t *p;
	size_t len, cap, pos;
};

static void blob_add(struct blob *b, const void *p, size_t n)
{
	if (b->len + n > b->cap) {
		b->cap = 2 * (b->len + n);
		b->p = realloc(b->p, b->cap);
		if (!b->p)
			abort();
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

static void gzip_member(struct blob *b, const uint8_t *p, size_t n, int level)
{
	z_stream z;
	uint8_t out[65536];
	int ret;
	memset(&z, 0, sizeof(z));
	if (deflateInit2(&z, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		abort();
	z.next_in = (Bytef *)p;
	z.avail_in = (uInt)n;
	do {
		z.next_out = out;
		z.avail_out = sizeof(out);
		ret = deflate(&z, Z_FINISH);
		blob_add(b, out, sizeof(out) - z.avail_out);
	} while (ret != Z_STREAM_END);
	deflateEnd(&z);
}

static void zstd_frame(struct blob *b, const uint8_t *p, size_t n)
{
	size_t bound = ZSTD_compressBound(n);
	uint8_t *out = malloc(bound);
	size_t got = ZSTD_compress(out, bound, p, n, 3);
	if (ZSTD_isError(got))
		abort();
	blob_add(b, out, got);
	free(out);
}

static ssize_t blob_read(void *ctx, void *buf, size_t len)
{
	struct blob *b = ctx;
	/* Odd sizes, so that boundaries fall anywhere in the input buffer. */
	size_t n = b->len - b->pos < len ? b->len - b->pos : len;
	if (n > 7919)
		n = 7919;
	memcpy(buf, b->p + b->pos, n);
	b->pos += n;
	return (ssize_t)n;
}

/* What ingest keeps: the table and each window. */
struct kept {
	struct ckpt_table t;
	struct blob windows; /* packed windows back to back */
	size_t *woff;        /* where entry i's packed window starts */
	size_t *wsize;
	size_t nw;
	int bad_window;      /* a window shorter than 32 KiB inside a member's later part */
};

static int keep(void *ctx, const struct decompress_checkpoint *cp)
{
	struct kept *k = ctx;
	struct ckpt_entry e = { .uoff = cp->uoff, .cbit = cp->cbit, .member = (uint8_t)cp->member,
				.wlen = (uint32_t)cp->wlen };
	struct buf packed = BUF_INIT;
	if (ckpt_table_add(&k->t, &e) < 0)
		return -ENOMEM;
	k->woff = realloc(k->woff, k->t.n * sizeof(size_t));
	k->wsize = realloc(k->wsize, k->t.n * sizeof(size_t));
	k->woff[k->t.n - 1] = k->windows.len;
	if (cp->wlen) {
		if (ckpt_window_pack(cp->window, cp->wlen, &packed) < 0)
			return -ENOMEM;
		blob_add(&k->windows, packed.data, packed.len);
	}
	k->wsize[k->t.n - 1] = packed.len;
	buf_release(&packed);
	return 0;
}

/* Decodes the whole blob with checkpoints every interval bytes, checks the
 * output, then rebuilds pieces from the checkpoints. */
static void check_kind(const char *what, struct blob *b, enum compression kind,
		       const uint8_t *data, size_t n, uint64_t interval)
{
	struct decompressor *d;
	struct strata_error err = STRATA_ERROR_INIT;
	struct kept k = { .t = CKPT_TABLE_INIT };
	uint8_t *out = malloc(n + 1), *piece = malloc(2u << 20), window[32768];
	size_t got = 0, bad = 0, tried = 0;
	ssize_t r;

	b->pos = 0;
	if (decompress_new(COMP_AUTO, blob_read, b, &d) < 0)
		abort();
	decompress_set_checkpoints(d, interval, keep, &k);
	while ((r = decompress_read(d, out + got, n + 1 - got, &err)) > 0)
		got += (size_t)r;
	ok(r == 0 && got == n && !memcmp(out, data, n), "%s: decodes with checkpoints (%s)", what,
	   err.msg);
	decompress_free(d);
	k.t.kind = kind;
	k.t.interval = interval;
	k.t.csize = b->len;
	k.t.usize = n;

	/* Checkpoints come in order, about one an interval. */
	int ordered = k.t.n > 0 && k.t.e[0].uoff == 0;
	for (size_t i = 1; i < k.t.n; i++)
		ordered &= k.t.e[i].uoff >= k.t.e[i - 1].uoff + interval &&
			   k.t.e[i].cbit > k.t.e[i - 1].cbit;
	ok(ordered, "%s: %zu checkpoints in order, one per interval at most", what, k.t.n);
	if (kind == COMP_GZIP && n / interval > 4)
		ok(k.t.n * 2 > n / interval, "%s: a checkpoint about every interval (%zu for %zu)",
		   what, k.t.n, n / interval);

	/* The table survives encoding. */
	struct buf enc = BUF_INIT;
	struct ckpt_table back = CKPT_TABLE_INIT;
	int same = ckpt_table_encode(&k.t, &enc) == 0 && ckpt_table_decode(enc.data, enc.len, &back) == 0 &&
		   back.n == k.t.n && back.kind == kind && back.usize == n && back.csize == b->len;
	for (size_t i = 0; same && i < k.t.n; i++)
		same = back.e[i].uoff == k.t.e[i].uoff && back.e[i].cbit == k.t.e[i].cbit &&
		       back.e[i].member == k.t.e[i].member && back.e[i].wlen == k.t.e[i].wlen;
	ok(same, "%s: table encodes and decodes (%zu bytes)", what, enc.len);
	ok(ckpt_table_decode(enc.data, enc.len - 1, &back) == -EBADMSG, "%s: a cut table is refused", what);

	/* Pieces at random offsets, at checkpoints, and across them. */
	for (int i = 0; i < 300; i++) {
		uint64_t off, len = 1 + rnd() % (i % 3 ? 70000 : (1u << 20));
		size_t at;
		uint64_t cb, ce;
		if (i < 40 && k.t.n)
		{
			off = k.t.e[rnd() % k.t.n].uoff + (i % 2 ? 0 : rnd() % 5);
			if (i % 4 == 1 && off > 0)
				off--; /* the byte before a checkpoint: from the one before */
		}
		else
			off = rnd() % n;
		if (off >= n)
			off = n - 1;
		if (len > n - off)
			len = n - off;
		if (ckpt_table_span(&k.t, off, len, &at, &cb, &ce) < 0) {
			bad++;
			continue;
		}
		struct span_start sp = { .kind = kind };
		if (at != SIZE_MAX) {
			sp.uoff = k.t.e[at].uoff;
			sp.cbit = k.t.e[at].cbit;
			sp.member = k.t.e[at].member;
			sp.wlen = k.t.e[at].wlen;
			if (sp.wlen) {
				if (ckpt_window_unpack(k.windows.p + k.woff[at], k.wsize[at], window, sp.wlen) < 0) {
					bad++;
					continue;
				}
				sp.window = window;
			}
		}
		uint64_t skip = off - (at == SIZE_MAX ? cb : sp.uoff);
		if (at == SIZE_MAX)
			skip = 0;
		tried++;
		if (span_decode(&sp, b->p + cb, (size_t)(ce - cb), skip, piece, (size_t)len, &err) < 0 ||
		    memcmp(piece, data + off, (size_t)len)) {
			if (bad++ < 3)
				printf("#   %s: piece at %llu+%llu from entry %zu: %s\n", what,
				       (unsigned long long)off, (unsigned long long)len, at, err.msg);
		}
	}
	is_int(bad, 0, "%s: %zu pieces rebuilt from their checkpoints", what, tried);

	/* A span cut short, and one with a flipped byte. */
	if (kind != COMP_NONE && k.t.n > 1) {
		size_t at;
		uint64_t cb, ce, off = k.t.e[1].uoff, len = n - off < (2u << 20) ? n - off : 2u << 20;
		ckpt_table_span(&k.t, off, len, &at, &cb, &ce);
		struct span_start sp = { .kind = kind, .uoff = k.t.e[at].uoff, .cbit = k.t.e[at].cbit,
					 .member = k.t.e[at].member, .wlen = k.t.e[at].wlen };
		if (sp.wlen) {
			ckpt_window_unpack(k.windows.p + k.woff[at], k.wsize[at], window, sp.wlen);
			sp.window = window;
		}
		error_clear(&err);
		is_int(span_decode(&sp, b->p + cb, (size_t)(ce - cb) / 4, 0, piece, (size_t)len, &err),
		       -ENODATA, "%s: a short span says so (%s)", what, err.msg);
		uint8_t *copy = malloc(ce - cb);
		memcpy(copy, b->p + cb, ce - cb);
		for (size_t j = 8; j < ce - cb; j += 97)
			copy[j] ^= 0x5a;
		error_clear(&err);
		int rr = span_decode(&sp, copy, (size_t)(ce - cb), 0, piece, (size_t)len, &err);
		ok(rr < 0 || memcmp(piece, data + off, (size_t)len), "%s: a corrupted span never gives the bytes (%d)", what, rr);
		free(copy);
	}
	buf_release(&enc);
	ckpt_table_release(&back);
	ckpt_table_release(&k.t);
	free(k.windows.p);
	free(k.woff);
	free(k.wsize);
	free(out);
	free(piece);
}

int main(void)
{
	size_t n = 6u << 20;
	uint8_t *data = make_data(n);
	struct blob b = { 0 };

	for (int level = 1; level <= 9; level += 4) {
		char what[64];
		b.len = 0;
		gzip_member(&b, data, n, level);
		snprintf(what, sizeof(what), "gzip -%d", level);
		check_kind(what, &b, COMP_GZIP, data, n, 256u << 10);
	}
	/* Members of uneven sizes, as pigz --independent or eStargz make. */
	b.len = 0;
	for (size_t off = 0; off < n;) {
		size_t m = 1 + rnd() % (700u << 10);
		if (m > n - off)
			m = n - off;
		gzip_member(&b, data + off, m, 6);
		off += m;
	}
	check_kind("gzip, many members", &b, COMP_GZIP, data, n, 256u << 10);
	b.len = 0;
	zstd_frame(&b, data, n);
	check_kind("zstd, one frame", &b, COMP_ZSTD, data, n, 256u << 10);
	b.len = 0;
	for (size_t off = 0; off < n; off += 1u << 20)
		zstd_frame(&b, data + off, n - off < (1u << 20) ? n - off : 1u << 20);
	check_kind("zstd, frames", &b, COMP_ZSTD, data, n, 256u << 10);
	b.len = 0;
	blob_add(&b, data, n);
	check_kind("uncompressed", &b, COMP_NONE, data, n, 256u << 10);
	free(b.p);
	free(data);
	return tap_done();
}
