/* test-decompress: round trips, detection, truncation, corruption and
 * source errors for the gzip / zstd / none stream decoder. */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>
#include <zstd.h>

#include "src/ingest/decompress.h"
#include "tap.h"

static uint64_t rng_state = 0x5eed;

static uint64_t rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Text-like data with random stretches, so deflate makes real Huffman
 * blocks and some stored ones. */
static uint8_t *make_data(size_t n)
{
	static const char *words[] = { "layer ", "chunk ", "sha256 ", "usr/lib/", "\n",
				       "strata ", "overlay ", "whiteout ", "0123456789" };
	uint8_t *p = malloc(n ? n : 1);
	size_t i = 0;
	while (i < n) {
		if (rnd() % 16 == 0) {
			size_t run = rnd() % 300;
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
	size_t len, cap;
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

static void gz_member(struct blob *b, const uint8_t *data, size_t n, int level)
{
	z_stream z;
	memset(&z, 0, sizeof(z));
	deflateInit2(&z, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
	size_t cap = deflateBound(&z, n) + 64;
	uint8_t *out = malloc(cap);
	z.next_in = (uint8_t *)data;
	z.avail_in = n;
	z.next_out = out;
	z.avail_out = cap;
	int r = deflate(&z, Z_FINISH);
	if (r != Z_STREAM_END)
		abort();
	blob_add(b, out, z.total_out);
	deflateEnd(&z);
	free(out);
}

/* A member whose header carries every optional field: FEXTRA, FNAME,
 * FCOMMENT and FHCRC. */
static void gz_member_fields(struct blob *b, const uint8_t *data, size_t n)
{
	static uint8_t extra[] = { 'S', 'T', 4, 0, 1, 2, 3, 4 };
	gz_header h = { .extra = extra, .extra_len = sizeof(extra),
			.name = (Bytef *)"layer.tar", .comment = (Bytef *)"made by the test",
			.hcrc = 1, .os = 3 };
	z_stream z;
	memset(&z, 0, sizeof(z));
	deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
	deflateSetHeader(&z, &h);
	size_t cap = deflateBound(&z, n) + 256;
	uint8_t *out = malloc(cap);
	z.next_in = (uint8_t *)data;
	z.avail_in = n;
	z.next_out = out;
	z.avail_out = cap;
	if (deflate(&z, Z_FINISH) != Z_STREAM_END)
		abort();
	blob_add(b, out, z.total_out);
	deflateEnd(&z);
	free(out);
}

static void zstd_frame(struct blob *b, const uint8_t *data, size_t n, int level)
{
	ZSTD_CCtx *c = ZSTD_createCCtx();
	ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, level);
	ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1);
	size_t cap = ZSTD_compressBound(n);
	uint8_t *out = malloc(cap);
	size_t r = ZSTD_compress2(c, out, cap, data, n);
	if (ZSTD_isError(r))
		abort();
	blob_add(b, out, r);
	free(out);
	ZSTD_freeCCtx(c);
}

static void zstd_skippable(struct blob *b, size_t n)
{
	uint8_t hdr[8] = { 0x53, 0x2a, 0x4d, 0x18 };
	hdr[4] = n; hdr[5] = n >> 8; hdr[6] = n >> 16; hdr[7] = n >> 24;
	blob_add(b, hdr, 8);
	for (size_t i = 0; i < n; i++) {
		uint8_t c = rnd();
		blob_add(b, &c, 1);
	}
}

/* The compressed side: hands out p[0, len) in slices of at most `slice`
 * bytes (0: random sizes), failing with fail_code at offset fail_at. */
struct source {
	const uint8_t *p;
	size_t len, pos;
	size_t slice;
	size_t fail_at;
	int fail_code;
	struct strata_error *err;
	int reads_after_end;
};

static ssize_t src_read(void *ctx, void *buf, size_t len)
{
	struct source *s = ctx;
	size_t n = s->len - s->pos;

	if (s->fail_code && s->pos >= s->fail_at)
		return error_set(s->err, s->fail_code, "registry: connection reset");
	if (n == 0) {
		s->reads_after_end++;
		return 0;
	}
	if (n > len)
		n = len;
	if (s->fail_code && n > s->fail_at - s->pos)
		n = s->fail_at - s->pos;
	size_t lim = s->slice ? s->slice : 1 + rnd() % 9000;
	if (n > lim)
		n = lim;
	memcpy(buf, s->p + s->pos, n);
	s->pos += n;
	return n;
}

struct result {
	int code;              /* 0 or the negative errno */
	char msg[1024];
	enum compression kind;
	struct blob out;
	uint64_t consumed;
};

/* Decodes everything; outsz 0 asks for random output sizes. */
static void decode(enum compression c, struct source *s, size_t outsz, struct result *res)
{
	struct strata_error err = STRATA_ERROR_INIT;
	struct decompressor *d;
	size_t cap = outsz ? outsz : 70000;
	uint8_t *buf = malloc(cap);

	memset(res, 0, sizeof(*res));
	if (!s->err)
		s->err = &err;
	res->code = decompress_new(c, src_read, s, &d);
	if (res->code < 0)
		goto out;
	for (;;) {
		size_t want = outsz ? outsz : 1 + rnd() % cap;
		ssize_t n = decompress_read(d, buf, want, s->err);
		if (n < 0) {
			res->code = n;
			snprintf(res->msg, sizeof(res->msg), "%s", s->err->msg);
			/* errors are sticky */
			if (decompress_read(d, buf, want, s->err) != n)
				res->code = -9999;
			break;
		}
		if (n == 0)
			break;
		if ((size_t)n > want)
			abort();
		blob_add(&res->out, buf, n);
	}
	res->kind = decompress_kind(d);
	res->consumed = decompress_consumed(d);
	decompress_free(d);
out:
	if (s->err == &err)
		s->err = NULL;
	free(buf);
}

static int same(const struct result *r, const uint8_t *want, size_t n)
{
	return r->code == 0 && r->out.len == n && (n == 0 || !memcmp(r->out.p, want, n));
}

static int has(const struct result *r, const char *what)
{
	return r->code == -EBADMSG && strstr(r->msg, what);
}

static void test_detect(void)
{
	const uint8_t gz[] = { 0x1f, 0x8b, 8, 0 }, zs[] = { 0x28, 0xb5, 0x2f, 0xfd }, tar[] = "usr/";
	is_int(decompress_detect(gz, 4), COMP_GZIP, "detect gzip");
	is_int(decompress_detect(gz, 2), COMP_GZIP, "detect gzip from 2 bytes");
	is_int(decompress_detect(zs, 4), COMP_ZSTD, "detect zstd");
	is_int(decompress_detect(zs, 3), COMP_NONE, "3 bytes of zstd magic are not zstd");
	is_int(decompress_detect(tar, 4), COMP_NONE, "detect none");
	is_int(decompress_detect(tar, 0), COMP_NONE, "detect nothing");
}

static void test_none(void)
{
	size_t n = 1 << 20;
	uint8_t *data = make_data(n);
	struct source s = { .p = data, .len = n };
	struct result r;

	decode(COMP_AUTO, &s, 0, &r);
	ok(same(&r, data, n), "none: auto round trip");
	is_int(r.kind, COMP_NONE, "none: detected");
	is_int(r.consumed, n, "none: consumed counts every byte");
	free(r.out.p);

	struct source s2 = { .p = (const uint8_t *)"ab", .len = 2, .slice = 1 };
	decode(COMP_AUTO, &s2, 1, &r);
	ok(same(&r, (const uint8_t *)"ab", 2), "none: 2-byte stream under auto");
	free(r.out.p);

	struct source s3 = { .p = data, .len = 0 };
	decode(COMP_AUTO, &s3, 4096, &r);
	ok(same(&r, data, 0), "none: empty stream under auto");
	is_int(r.kind, COMP_NONE, "none: empty stream is none");
	free(r.out.p);

	/* explicit none passes gzip bytes through untouched */
	struct blob gz = { 0 };
	gz_member(&gz, data, 1000, 6);
	struct source s4 = { .p = gz.p, .len = gz.len, .slice = 100 };
	decode(COMP_NONE, &s4, 333, &r);
	ok(same(&r, gz.p, gz.len), "none: explicit none passes gzip bytes through");
	free(r.out.p);
	free(gz.p);
	free(data);
}

static void test_gzip_roundtrip(void)
{
	size_t n = 3 << 20;
	uint8_t *data = make_data(n);
	struct blob one = { 0 }, multi = { 0 };
	struct result r;

	gz_member(&one, data, n, 6);
	struct source s = { .p = one.p, .len = one.len, .slice = 1 << 20 };
	decode(COMP_AUTO, &s, 1 << 16, &r);
	ok(same(&r, data, n), "gzip: single member round trip");
	is_int(r.kind, COMP_GZIP, "gzip: detected");
	is_int(r.consumed, one.len, "gzip: consumed is the compressed size");
	free(r.out.p);

	/* members of several sizes and levels, one of them empty, level 0
	 * makes stored blocks */
	size_t cuts[] = { 0, 1, 1, 70000, 70001, 1 << 20, n };
	int levels[] = { 6, 1, 9, 0, 6, 6 };
	for (int i = 0; i < 6; i++)
		gz_member(&multi, data + cuts[i], cuts[i + 1] - cuts[i], levels[i]);

	size_t slices[] = { 1 << 20, 7, 0 };
	size_t outs[] = { 1 << 16, 4096, 0 };
	for (int i = 0; i < 3; i++) {
		struct source sm = { .p = multi.p, .len = multi.len, .slice = slices[i] };
		decode(COMP_AUTO, &sm, outs[i], &r);
		ok(same(&r, data, n), "gzip: 6 members, input slices of %zu, output %zu",
		   slices[i], outs[i]);
		if (r.code)
			printf("#   %d %s\n", r.code, r.msg);
		is_int(r.consumed, multi.len, "gzip: all members consumed");
		free(r.out.p);
	}

	/* 1-byte output buffer over a smaller stream */
	struct blob small = { 0 };
	gz_member(&small, data, 50000, 6);
	gz_member(&small, data + 50000, 20000, 9);
	struct source s1 = { .p = small.p, .len = small.len, .slice = 0 };
	decode(COMP_GZIP, &s1, 1, &r);
	ok(same(&r, data, 70000), "gzip: 1-byte output reads");
	free(r.out.p);
	struct source s2 = { .p = small.p, .len = small.len, .slice = 1 };
	decode(COMP_GZIP, &s2, 4096, &r);
	ok(same(&r, data, 70000), "gzip: 1-byte input slices");
	is_int(r.consumed, small.len, "gzip: all members consumed");
	free(r.out.p);

	/* optional header fields, in the first member and a later one */
	struct blob fields = { 0 };
	gz_member_fields(&fields, data, 40000);
	gz_member_fields(&fields, data + 40000, 30000);
	for (int sl = 0; sl < 2; sl++) {
		struct source sf = { .p = fields.p, .len = fields.len, .slice = sl };
		decode(COMP_AUTO, &sf, 0, &r);
		ok(same(&r, data, 70000), "gzip: members with FEXTRA, FNAME, FCOMMENT, FHCRC (%s reads)",
		   sl ? "1-byte" : "random");
		if (r.code)
			printf("#   %d '%s' after %zu bytes\n", r.code, r.msg, r.out.len);
		free(r.out.p);
	}
	/* a wrong header crc: the byte after the comment's NUL is the FHCRC */
	uint8_t *hc = memmem(fields.p, fields.len, "made by the test", 17);
	hc[17] ^= 0x55;
	struct source shc = { .p = fields.p, .len = fields.len, .slice = 0 };
	decode(COMP_AUTO, &shc, 0, &r);
	ok(has(&r, "gzip stream is corrupt"), "gzip: wrong header crc is corrupt ('%s')", r.msg);
	free(r.out.p);
	free(fields.p);

	/* a name that never ends is an error, not unbounded buffering */
	struct blob longname = { 0 };
	blob_add(&longname, "\x1f\x8b\x08\x08\0\0\0\0\0\x03", 10);
	for (int i = 0; i < 400000; i++)
		blob_add(&longname, "n", 1);
	struct source sl = { .p = longname.p, .len = longname.len, .slice = 0 };
	decode(COMP_AUTO, &sl, 0, &r);
	ok(r.code == -EBADMSG && r.out.len == 0, "gzip: endless FNAME fails ('%s')", r.msg);
	free(r.out.p);
	free(longname.p);

	/* one huge output buffer */
	struct source sh = { .p = multi.p, .len = multi.len, .slice = 1 << 20 };
	decode(COMP_GZIP, &sh, 64 << 20, &r);
	ok(same(&r, data, n), "gzip: 64 MiB output reads");
	free(r.out.p);

	free(small.p);
	free(multi.p);
	free(one.p);
	free(data);
}

/* Offsets worth trying one by one: the ends of the stream and of its first
 * member or frame, where headers and trailers are; elsewhere a stride. */
static int near(size_t at, size_t len, size_t boundary)
{
	return at < 64 || len - at < 64 || (at + 64 > boundary && at < boundary + 64);
}

static void test_gzip_bad(void)
{
	size_t n = 200000;
	uint8_t *data = make_data(n);
	struct blob b = { 0 };
	struct result r;

	gz_member(&b, data, 120000, 6);
	size_t m1 = b.len;
	gz_member(&b, data + 120000, n - 120000, 1);

	/* every truncation point but the member boundary is "truncated" */
	int bad = 0, checked = 0;
	for (size_t cut = 0; cut < b.len; cut += near(cut, b.len, m1) ? 1 : 97) {
		struct source s = { .p = b.p, .len = cut, .slice = 0 };
		decode(COMP_GZIP, &s, 0, &r);
		checked++;
		if (cut == m1) {
			if (!same(&r, data, 120000)) {
				printf("#   cut at the member boundary: %d %s\n", r.code, r.msg);
				bad++;
			}
		} else if (!has(&r, "gzip stream is truncated")) {
			if (bad++ < 5)
				printf("#   cut %zu of %zu: %d '%s'\n", cut, b.len, r.code, r.msg);
		}
		free(r.out.p);
	}
	ok(!bad, "gzip: %d truncation points give 'truncated'", checked);

	/* flipped bytes outside MTIME/XFL/OS: corrupt or truncated */
	bad = checked = 0;
	for (size_t at = 0; at < b.len; at += near(at, b.len, m1) ? 1 : 89) {
		if ((at >= 4 && at <= 9) || (at >= m1 + 4 && at <= m1 + 9))
			continue;
		b.p[at] ^= 0xff;
		struct source s = { .p = b.p, .len = b.len, .slice = 0 };
		decode(COMP_GZIP, &s, 0, &r);
		b.p[at] ^= 0xff;
		checked++;
		if (!has(&r, "gzip stream is corrupt") && !has(&r, "gzip stream is truncated")) {
			if (bad++ < 5)
				printf("#   flip at %zu of %zu: %d '%s'\n", at, b.len, r.code, r.msg);
		}
		free(r.out.p);
	}
	ok(!bad, "gzip: %d flipped bytes give 'corrupt' or 'truncated'", checked);

	/* a wrong CRC alone, and a wrong ISIZE alone */
	b.p[b.len - 8] ^= 1;
	struct source sc = { .p = b.p, .len = b.len, .slice = 0 };
	decode(COMP_GZIP, &sc, 0, &r);
	ok(has(&r, "gzip stream is corrupt"), "gzip: wrong crc is corrupt ('%s')", r.msg);
	b.p[b.len - 8] ^= 1;
	free(r.out.p);
	b.p[b.len - 4] ^= 1;
	struct source si = { .p = b.p, .len = b.len, .slice = 0 };
	decode(COMP_GZIP, &si, 0, &r);
	ok(has(&r, "gzip stream is corrupt"), "gzip: wrong isize is corrupt ('%s')", r.msg);
	b.p[b.len - 4] ^= 1;
	free(r.out.p);

	/* anything after the last member */
	const char *tails[] = { "x", "\0", "\0\0\0\0\0\0\0\0", "\x1f\x8c", "garbage after the end" };
	size_t tlens[] = { 1, 1, 8, 2, 21 };
	for (int i = 0; i < 5; i++) {
		struct blob t = { 0 };
		blob_add(&t, b.p, b.len);
		blob_add(&t, tails[i], tlens[i]);
		for (int sl = 0; sl < 2; sl++) {
			struct source s = { .p = t.p, .len = t.len, .slice = sl ? 1 : 0 };
			decode(COMP_AUTO, &s, 0, &r);
			ok(has(&r, "gzip stream is corrupt: trailing garbage"),
			   "gzip: %zu bytes of trailing garbage (%s reads) ('%s')",
			   tlens[i], sl ? "1-byte" : "random", r.msg);
			free(r.out.p);
		}
		free(t.p);
	}
	struct blob t = { 0 };
	blob_add(&t, b.p, b.len);
	blob_add(&t, "\x1f", 1);
	struct source st = { .p = t.p, .len = t.len, .slice = 0 };
	decode(COMP_AUTO, &st, 0, &r);
	ok(has(&r, "gzip stream is truncated"), "gzip: a lone 1f after the end is truncated ('%s')", r.msg);
	free(r.out.p);
	free(t.p);

	/* explicit gzip on something else */
	struct source sn = { .p = data, .len = 1000, .slice = 0 };
	decode(COMP_GZIP, &sn, 0, &r);
	ok(has(&r, "gzip stream is corrupt"), "gzip: not gzip at all ('%s')", r.msg);
	free(r.out.p);
	struct source se = { .p = data, .len = 0, .slice = 0 };
	decode(COMP_GZIP, &se, 0, &r);
	ok(has(&r, "gzip stream is truncated"), "gzip: empty stream is truncated ('%s')", r.msg);
	free(r.out.p);

	free(b.p);
	free(data);
}

static void test_zstd(void)
{
	size_t n = 3 << 20;
	uint8_t *data = make_data(n);
	struct blob b = { 0 };
	struct result r;

	zstd_frame(&b, data, 1 << 20, 3);
	zstd_skippable(&b, 1000);
	zstd_frame(&b, data + (1 << 20), 0, 3);
	zstd_frame(&b, data + (1 << 20), n - (1 << 20), 9);
	zstd_skippable(&b, 0);

	size_t slices[] = { 1 << 20, 1, 0 };
	size_t outs[] = { 1 << 16, 0, 4096 };
	for (int i = 0; i < 3; i++) {
		struct source s = { .p = b.p, .len = b.len, .slice = slices[i] };
		decode(COMP_AUTO, &s, outs[i], &r);
		ok(same(&r, data, n), "zstd: frames and skippable frames, slices of %zu, output %zu",
		   slices[i], outs[i]);
		if (r.code)
			printf("#   %d %s\n", r.code, r.msg);
		is_int(r.kind, COMP_ZSTD, "zstd: detected");
		is_int(r.consumed, b.len, "zstd: all frames consumed");
		free(r.out.p);
	}
	struct source s1 = { .p = b.p, .len = b.len, .slice = 0 };
	decode(COMP_ZSTD, &s1, 1, &r);
	ok(same(&r, data, n), "zstd: 1-byte output reads");
	free(r.out.p);
	struct source sh = { .p = b.p, .len = b.len, .slice = 0 };
	decode(COMP_ZSTD, &sh, 64 << 20, &r);
	ok(same(&r, data, n), "zstd: 64 MiB output reads");
	free(r.out.p);

	/* a small stream for exhaustive truncation and flips */
	struct blob sm = { 0 };
	zstd_frame(&sm, data, 30000, 3);
	size_t f1 = sm.len;
	zstd_frame(&sm, data + 30000, 20000, 3);
	int bad = 0, checked = 0;
	for (size_t cut = 0; cut < sm.len; cut += near(cut, sm.len, f1) ? 1 : 41) {
		struct source s = { .p = sm.p, .len = cut, .slice = 0 };
		decode(COMP_ZSTD, &s, 0, &r);
		checked++;
		if (cut == f1 ? !same(&r, data, 30000) : !has(&r, "zstd stream is truncated")) {
			if (bad++ < 5)
				printf("#   cut %zu of %zu: %d '%s'\n", cut, sm.len, r.code, r.msg);
		}
		free(r.out.p);
	}
	ok(!bad, "zstd: %d truncation points give 'truncated'", checked);
	bad = checked = 0;
	for (size_t at = 0; at < sm.len; at += near(at, sm.len, f1) ? 1 : 37) {
		sm.p[at] ^= 0xff;
		struct source s = { .p = sm.p, .len = sm.len, .slice = 0 };
		decode(COMP_ZSTD, &s, 0, &r);
		sm.p[at] ^= 0xff;
		checked++;
		if (!has(&r, "zstd stream is corrupt") && !has(&r, "zstd stream is truncated")) {
			if (bad++ < 5)
				printf("#   flip at %zu of %zu: %d '%s'\n", at, sm.len, r.code, r.msg);
		}
		free(r.out.p);
	}
	ok(!bad, "zstd: %d flipped bytes give 'corrupt' or 'truncated'", checked);

	blob_add(&sm, "junk", 4);
	struct source sj = { .p = sm.p, .len = sm.len, .slice = 0 };
	decode(COMP_AUTO, &sj, 0, &r);
	ok(has(&r, "zstd stream is corrupt"), "zstd: trailing garbage is corrupt ('%s')", r.msg);
	free(r.out.p);
	struct source se = { .p = data, .len = 0 };
	decode(COMP_ZSTD, &se, 0, &r);
	ok(has(&r, "zstd stream is truncated"), "zstd: empty stream is truncated ('%s')", r.msg);
	free(r.out.p);

	free(sm.p);
	free(b.p);
	free(data);
}

static void test_source_error(void)
{
	size_t n = 1 << 20;
	uint8_t *data = make_data(n);
	struct blob gz = { 0 }, zs = { 0 };
	struct result r;

	gz_member(&gz, data, n, 6);
	zstd_frame(&zs, data, n, 3);
	struct blob *blobs[] = { &gz, &zs, NULL };
	const char *names[] = { "gzip", "zstd", "none" };
	for (int i = 0; i < 3; i++) {
		const uint8_t *p = blobs[i] ? blobs[i]->p : data;
		size_t len = blobs[i] ? blobs[i]->len : n;
		size_t ats[] = { 0, 2, len / 2 };
		for (int k = 0; k < 3; k++) {
			struct strata_error err = STRATA_ERROR_INIT;
			struct source s = { .p = p, .len = len, .slice = 0, .fail_at = ats[k],
					    .fail_code = -ECONNRESET, .err = &err };
			decode(COMP_AUTO, &s, 0, &r);
			is_int(r.code, -ECONNRESET, "%s: source error at %zu passes through", names[i], ats[k]);
			is_str(err.msg, "registry: connection reset", "%s: source's message kept", names[i]);
			free(r.out.p);
		}
	}
	/* an error from a source that kept its message elsewhere still says something */
	struct strata_error other = STRATA_ERROR_INIT, mine = STRATA_ERROR_INIT;
	struct source s = { .p = gz.p, .len = gz.len, .fail_at = 100, .fail_code = -EIO, .err = &other };
	struct decompressor *d;
	uint8_t buf[4096];
	ssize_t got = 0;
	decompress_new(COMP_AUTO, src_read, &s, &d);
	while ((got = decompress_read(d, buf, sizeof(buf), &mine)) > 0)
		;
	is_int(got, -EIO, "source error code with a separate error struct");
	ok(mine.msg[0] != '\0', "a message is set: '%s'", mine.msg);
	decompress_free(d);
	decompress_free(NULL);

	free(gz.p);
	free(zs.p);
	free(data);
}

int main(void)
{
	test_detect();
	test_none();
	test_gzip_roundtrip();
	test_gzip_bad();
	test_zstd();
	test_source_error();
	return tap_done();
}
