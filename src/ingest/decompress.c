/* decompress: pull-style decoder of layer blobs — gzip (ISA-L or zlib, any
 * number of members), zstd (any number of frames, skippable ones included)
 * or none — reading compressed bytes through a callback into one fixed
 * input buffer, so memory does not grow with the stream. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef HAVE_ISAL
#include <isa-l/crc.h>
#include <isa-l/igzip_lib.h>
#else
#include <zlib.h>
#endif
#include <zstd.h>

#include "decompress.h"

#define DECOMPRESS_INBUF (256u << 10)
/* The decoders count output in 32-bit fields. */
#define DECOMPRESS_MAXOUT (1u << 30)
/* Deflate's window: what a checkpoint inside a member must carry. */
#define DECOMPRESS_WINDOW (32u << 10)
#ifdef HAVE_ISAL
/* ISA-L cannot be asked to stop at a block boundary, but it stops wherever
 * its input runs out and then says whether that was inside a block header.
 * Past a checkpoint position it is given this many bytes a call until it
 * stops at a boundary: small enough that a dynamic block header (tens of
 * bytes) is cut, large enough to keep the calls few. */
#define DECOMPRESS_HUNT_IN 128u
#endif

struct decompressor {
	enum compression kind;   /* COMP_AUTO until detected */
	decompress_read_fn read;
	void *ctx;

	uint8_t *in;             /* DECOMPRESS_INBUF bytes */
	size_t in_pos, in_len;   /* unconsumed input is in[in_pos, in_len) */
	uint64_t read_total;     /* bytes the source has handed over */
	int eof;                 /* the source said 0 */

	int ready;               /* the decoder below is set up */
	int in_unit;             /* inside a gzip member or a zstd frame */
	uint64_t units;          /* members or frames started */
	int done;                /* clean end returned */
	int fail;                /* sticky negative errno */
	char failmsg[256];

	/* checkpoints (decompress_set_checkpoints) */
	decompress_checkpoint_fn cp_fn;
	void *cp_ctx;
	uint64_t cp_interval;
	uint64_t cp_next;        /* the next checkpoint at the first boundary at or past this */
	uint64_t out_total;      /* uncompressed bytes produced */
	uint8_t *win;            /* ring of the member's last DECOMPRESS_WINDOW bytes */
	uint8_t *win_flat;       /* the ring laid out in order, for the callback */
	uint64_t win_fill;       /* bytes the member has produced (ring position) */

#ifdef HAVE_ISAL
	struct inflate_state *isal;
#else
	z_stream z;
#endif
	ZSTD_DCtx *zstd;
};

enum compression decompress_detect(const uint8_t *magic, size_t n)
{
	if (n >= 2 && magic[0] == 0x1f && magic[1] == 0x8b)
		return COMP_GZIP;
	if (n >= 4 && magic[0] == 0x28 && magic[1] == 0xb5 && magic[2] == 0x2f && magic[3] == 0xfd)
		return COMP_ZSTD;
	return COMP_NONE;
}

static int dc_fail(struct decompressor *d, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int dc_fail(struct decompressor *d, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(d->failmsg, sizeof(d->failmsg), fmt, ap);
	va_end(ap);
	d->fail = code;
	return code;
}

static int dc_setup(struct decompressor *d)
{
	switch (d->kind) {
	case COMP_GZIP:
		if (d->cp_fn) {
			d->win = malloc(DECOMPRESS_WINDOW);
			d->win_flat = malloc(DECOMPRESS_WINDOW);
			if (!d->win || !d->win_flat)
				return -ENOMEM;
		}
#ifdef HAVE_ISAL
		d->isal = malloc(sizeof(*d->isal));
		if (!d->isal)
			return -ENOMEM;
		isal_inflate_init(d->isal);
#else
		memset(&d->z, 0, sizeof(d->z));
		if (inflateInit2(&d->z, 15 + 16) != Z_OK)
			return -ENOMEM;
#endif
		break;
	case COMP_ZSTD:
		d->zstd = ZSTD_createDCtx();
		if (!d->zstd)
			return -ENOMEM;
		break;
	case COMP_NONE:
		break;
	default:
		return -EINVAL;
	}
	d->ready = 1;
	return 0;
}

int decompress_new(enum compression c, decompress_read_fn read, void *ctx,
		   struct decompressor **out)
{
	struct decompressor *d;
	int r;

	*out = NULL;
	if (c != COMP_AUTO && c != COMP_NONE && c != COMP_GZIP && c != COMP_ZSTD)
		return -EINVAL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->in = malloc(DECOMPRESS_INBUF);
	if (!d->in) {
		r = -ENOMEM;
		goto fail;
	}
	d->kind = c;
	d->read = read;
	d->ctx = ctx;
	*out = d;
	return 0;
fail:
	decompress_free(d);
	return r;
}

void decompress_free(struct decompressor *d)
{
	if (!d)
		return;
#ifdef HAVE_ISAL
	free(d->isal);
#else
	if (d->ready && d->kind == COMP_GZIP)
		inflateEnd(&d->z);
#endif
	ZSTD_freeDCtx(d->zstd);
	free(d->win);
	free(d->win_flat);
	free(d->in);
	free(d);
}

void decompress_set_checkpoints(struct decompressor *d, uint64_t interval,
				decompress_checkpoint_fn fn, void *ctx)
{
	d->cp_fn = fn;
	d->cp_ctx = ctx;
	d->cp_interval = interval ? interval : 1;
	d->cp_next = 0;
}

/* Keeps the member's last DECOMPRESS_WINDOW output bytes. */
static void cp_window_add(struct decompressor *d, const uint8_t *p, size_t n)
{
	if (!d->win)
		return;
	/* Bytes that end a window before the next checkpoint can start are
	 * never needed: count them, copy nothing. */
	if (d->out_total + n + DECOMPRESS_WINDOW < d->cp_next) {
		d->win_fill += n;
		return;
	}
	if (n > DECOMPRESS_WINDOW) {
		d->win_fill += n - DECOMPRESS_WINDOW;
		p += n - DECOMPRESS_WINDOW;
		n = DECOMPRESS_WINDOW;
	}
	while (n) {
		size_t at = d->win_fill % DECOMPRESS_WINDOW;
		size_t k = DECOMPRESS_WINDOW - at < n ? DECOMPRESS_WINDOW - at : n;
		memcpy(d->win + at, p, k);
		d->win_fill += k;
		p += k;
		n -= k;
	}
}

/* Hands a checkpoint to the callback; schedules the next one. */
static int cp_emit(struct decompressor *d, uint64_t uoff, uint64_t cbit, int member)
{
	struct decompress_checkpoint cp = { .uoff = uoff, .cbit = cbit, .member = member };
	int r;

	if (!member && d->win) {
		size_t len = d->win_fill < DECOMPRESS_WINDOW ? (size_t)d->win_fill : DECOMPRESS_WINDOW;
		size_t at = d->win_fill % DECOMPRESS_WINDOW;
		if (d->win_fill <= DECOMPRESS_WINDOW) {
			memcpy(d->win_flat, d->win, len);
		} else {
			memcpy(d->win_flat, d->win + at, DECOMPRESS_WINDOW - at);
			memcpy(d->win_flat + DECOMPRESS_WINDOW - at, d->win, at);
		}
		cp.window = d->win_flat;
		cp.wlen = len;
	}
	r = d->cp_fn(d->cp_ctx, &cp);
	if (r < 0)
		return dc_fail(d, r, "cannot record a checkpoint: %s", strerror(-r));
	d->cp_next = uoff + d->cp_interval;
	return 0;
}

/* Whether a resumable point here is taken. */
static int cp_due(const struct decompressor *d, uint64_t uoff)
{
	return d->cp_fn && uoff >= d->cp_next;
}

enum compression decompress_kind(const struct decompressor *d)
{
	return d->kind;
}

uint64_t decompress_consumed(const struct decompressor *d)
{
	return d->read_total - (d->in_len - d->in_pos);
}

/* Appends what the source gives to the input buffer: >0 bytes, 0 at the end,
 * or the source's negative errno. */
static ssize_t dc_fill(struct decompressor *d)
{
	ssize_t n;

	if (d->eof)
		return 0;
	if (d->in_pos == d->in_len) {
		d->in_pos = d->in_len = 0;
	} else if (d->in_pos > 0) {
		memmove(d->in, d->in + d->in_pos, d->in_len - d->in_pos);
		d->in_len -= d->in_pos;
		d->in_pos = 0;
	}
	if (d->in_len == DECOMPRESS_INBUF)
		return dc_fail(d, -EBADMSG, "%s stream is corrupt: decoder made no progress",
			       d->kind == COMP_ZSTD ? "zstd" : "gzip");
	n = d->read(d->ctx, d->in + d->in_len, DECOMPRESS_INBUF - d->in_len);
	if (n < 0)
		return dc_fail(d, (int)n, "%s", "");
	if (n == 0) {
		d->eof = 1;
		return 0;
	}
	if ((size_t)n > DECOMPRESS_INBUF - d->in_len)
		return dc_fail(d, -EIO, "compressed stream: read callback returned too much");
	d->in_len += n;
	d->read_total += n;
	return n;
}

/* Fills until at least n bytes are buffered or the source ends. */
static int dc_want(struct decompressor *d, size_t n)
{
	while (d->in_len - d->in_pos < n && !d->eof) {
		ssize_t r = dc_fill(d);
		if (r < 0)
			return (int)r;
	}
	return 0;
}

static ssize_t none_read(struct decompressor *d, uint8_t *buf, size_t len)
{
	size_t avail = d->in_len - d->in_pos;
	ssize_t n;

	if (d->out_total == 0 && cp_due(d, 0)) {
		int r = cp_emit(d, 0, 0, 1);
		if (r < 0)
			return r;
		d->cp_fn = NULL; /* any offset resumes: one is enough */
	}

	if (avail) {
		if (len > avail)
			len = avail;
		memcpy(buf, d->in + d->in_pos, len);
		d->in_pos += len;
		return len;
	}
	if (d->eof)
		return 0;
	/* Nothing to decode: straight into the caller's buffer. */
	n = d->read(d->ctx, buf, len);
	if (n < 0)
		return dc_fail(d, (int)n, "%s", "");
	if ((size_t)n > len)
		return dc_fail(d, -EIO, "compressed stream: read callback returned too much");
	if (n == 0)
		d->eof = 1;
	d->read_total += n;
	return n;
}

#ifdef HAVE_ISAL
/* The size of the gzip header at p: 0 while more bytes are needed, -1 with
 * *why when it is invalid. */
static long gz_header_size(const uint8_t *p, size_t avail, const char **why)
{
	size_t n = 10;
	const uint8_t *nul;
	uint8_t flg;

	if (avail < n)
		return 0;
	flg = p[3];
	if (p[2] != 8) {
		*why = "unknown compression method";
		return -1;
	}
	if (flg & 0xe0) {
		*why = "unknown header flags set";
		return -1;
	}
	if (flg & 0x04) { /* FEXTRA */
		if (avail < n + 2)
			return 0;
		n += 2 + (p[n] | (size_t)p[n + 1] << 8);
	}
	for (uint8_t f = 0x08; f <= 0x10; f <<= 1) { /* FNAME, FCOMMENT */
		if (!(flg & f))
			continue;
		nul = n < avail ? memchr(p + n, 0, avail - n) : NULL;
		if (!nul)
			return 0;
		n = nul - p + 1;
	}
	if (flg & 0x02) { /* FHCRC */
		if (avail < n + 2)
			return 0;
		if ((crc32_gzip_refl(0, p, n) & 0xffff) != (p[n] | (unsigned)p[n + 1] << 8)) {
			*why = "header crc mismatch";
			return -1;
		}
		n += 2;
	}
	return avail < n ? 0 : (long)n;
}

/* ISA-L's own header parser rejects a valid FHCRC when the header arrives
 * in pieces, so the header is parsed here and ISA-L decodes from the
 * deflate data on, still checking the trailer's CRC and length. */
static int gz_skip_header(struct decompressor *d)
{
	for (;;) {
		const char *why = NULL;
		long n = gz_header_size(d->in + d->in_pos, d->in_len - d->in_pos, &why);
		ssize_t r;

		if (n < 0)
			return dc_fail(d, -EBADMSG, "gzip stream is corrupt: %s", why);
		if (n > 0) {
			d->in_pos += n;
			isal_inflate_reset(d->isal);
			d->isal->crc_flag = ISAL_GZIP_NO_HDR_VER;
			return 0;
		}
		if (d->in_len - d->in_pos == DECOMPRESS_INBUF)
			return dc_fail(d, -EBADMSG, "gzip stream is corrupt: header too long");
		r = dc_fill(d);
		if (r < 0)
			return r;
		if (r == 0)
			return dc_fail(d, -EBADMSG, "gzip stream is truncated");
	}
}
#endif

/* Between gzip members: the clean end, the next member, or garbage. */
static int gz_boundary(struct decompressor *d)
{
	int r = dc_want(d, 2);
	if (r < 0)
		return r;
	size_t avail = d->in_len - d->in_pos;
	const uint8_t *p = d->in + d->in_pos;

	if (avail == 0)
		return d->units ? 0 : dc_fail(d, -EBADMSG, "gzip stream is truncated");
	if (p[0] != 0x1f || (avail >= 2 && p[1] != 0x8b)) {
		if (d->units)
			return dc_fail(d, -EBADMSG, "gzip stream is corrupt: trailing garbage");
		return dc_fail(d, -EBADMSG, "gzip stream is corrupt: not in gzip format");
	}
	if (avail < 2)
		return dc_fail(d, -EBADMSG, "gzip stream is truncated");
#ifdef HAVE_ISAL
	r = gz_skip_header(d);
	if (r < 0)
		return r;
#else
	if (inflateReset(&d->z) != Z_OK)
		return dc_fail(d, -EINVAL, "gzip stream is corrupt: cannot reset inflater");
#endif
	d->in_unit = 1;
	d->units++;
	return 1;
}

#ifdef HAVE_ISAL
static const char *isal_reason(int ret)
{
	switch (ret) {
	case ISAL_INVALID_BLOCK: return "invalid deflate block";
	case ISAL_INVALID_SYMBOL: return "invalid deflate symbol";
	case ISAL_INVALID_LOOKBACK: return "invalid distance too far back";
	case ISAL_INVALID_WRAPPER: return "invalid gzip header";
	case ISAL_UNSUPPORTED_METHOD: return "unknown compression method";
	case ISAL_INCORRECT_CHECKSUM: return "checksum or length mismatch";
	case ISAL_NEED_DICT: return "needs a preset dictionary";
	default: return "inflate failed";
	}
}

/* One inflate step: sets *produced, *member_end and *boundary (the bit
 * offset of a block boundary the step stopped at, when looking for one;
 * else -1); 0 or a negative errno. */
static int gz_step(struct decompressor *d, uint8_t *buf, size_t len,
		   size_t *produced, int *member_end, int64_t *boundary)
{
	struct inflate_state *s = d->isal;
	int ret;

	int hunt = cp_due(d, d->out_total);
	size_t avail = d->in_len - d->in_pos;

	s->next_in = d->in + d->in_pos;
	s->avail_in = hunt && avail > DECOMPRESS_HUNT_IN ? DECOMPRESS_HUNT_IN : avail;
	s->next_out = buf;
	s->avail_out = len;
	ret = isal_inflate(s);
	d->in_pos = s->next_in - d->in;
	*produced = s->next_out - buf;
	if (ret != ISAL_DECOMP_OK)
		return dc_fail(d, -EBADMSG, "gzip stream is corrupt: %s", isal_reason(ret));
	*member_end = s->block_state == ISAL_BLOCK_FINISH;
	*boundary = -1;
	/* Stopped before a block header with every byte before it written out:
	 * the header starts read_in_length bits before the next input byte, or
	 * before the bytes ISA-L kept of a header it could not finish. */
	if (hunt && s->tmp_out_valid == s->tmp_out_processed) {
		uint64_t next = decompress_consumed(d);
		if (s->block_state == ISAL_BLOCK_NEW_HDR)
			*boundary = (int64_t)(next * 8 - (uint64_t)s->read_in_length);
		else if (s->block_state == ISAL_BLOCK_HDR)
			*boundary = (int64_t)((next - (uint64_t)s->tmp_in_size) * 8 -
					      (uint64_t)s->read_in_length);
	}
	return 0;
}
#else
static int gz_step(struct decompressor *d, uint8_t *buf, size_t len,
		   size_t *produced, int *member_end, int64_t *boundary)
{
	z_stream *z = &d->z;
	int ret;

	z->next_in = d->in + d->in_pos;
	z->avail_in = d->in_len - d->in_pos;
	z->next_out = buf;
	z->avail_out = len;
	/* Z_BLOCK stops at each block boundary, as zran's access points do. */
	ret = inflate(z, d->cp_fn ? Z_BLOCK : Z_NO_FLUSH);
	d->in_pos = z->next_in - d->in;
	*produced = z->next_out - buf;
	*member_end = ret == Z_STREAM_END;
	*boundary = -1;
	if (d->cp_fn && (ret == Z_OK || ret == Z_BUF_ERROR) && (z->data_type & 128) &&
	    !(z->data_type & 64))
		*boundary = (int64_t)(decompress_consumed(d) * 8 - (uint64_t)(z->data_type & 7));
	switch (ret) {
	case Z_OK:
	case Z_STREAM_END:
	case Z_BUF_ERROR: /* no progress possible: the caller decides */
		return 0;
	case Z_MEM_ERROR:
		return dc_fail(d, -ENOMEM, "gzip stream: out of memory");
	case Z_NEED_DICT:
		return dc_fail(d, -EBADMSG, "gzip stream is corrupt: needs a preset dictionary");
	default:
		return dc_fail(d, -EBADMSG, "gzip stream is corrupt: %s",
			       z->msg ? z->msg : "inflate failed");
	}
}
#endif

static ssize_t gz_read(struct decompressor *d, uint8_t *buf, size_t len)
{
	for (;;) {
		size_t before = d->in_pos, produced;
		int64_t boundary = -1;
		int r, member_end = 0;

		if (!d->in_unit) {
			uint64_t start = decompress_consumed(d);
			r = gz_boundary(d);
			if (r <= 0)
				return r;
			d->win_fill = 0; /* a member refers to nothing before it */
			if (cp_due(d, d->out_total) && (r = cp_emit(d, d->out_total, start * 8, 1)) < 0)
				return r;
		}
		r = gz_step(d, buf, len, &produced, &member_end, &boundary);
		if (r < 0)
			return r;
		cp_window_add(d, buf, produced);
		if (boundary >= 0 && !member_end && cp_due(d, d->out_total + produced) &&
		    (r = cp_emit(d, d->out_total + produced, (uint64_t)boundary, 0)) < 0)
			return r;
		if (member_end)
			d->in_unit = 0;
		if (produced)
			return produced;
		if (member_end || d->in_pos != before)
			continue;
		r = dc_fill(d);
		if (r < 0)
			return r;
		if (r == 0)
			return dc_fail(d, -EBADMSG, "gzip stream is truncated");
	}
}

static ssize_t zstd_read(struct decompressor *d, uint8_t *buf, size_t len)
{
	for (;;) {
		ZSTD_inBuffer in = { d->in, d->in_len, d->in_pos };
		ZSTD_outBuffer out = { buf, len, 0 };
		size_t ret;
		ssize_t r;

		if (!d->in_unit) {
			/* Between frames: a clean end is only possible here. */
			r = dc_want(d, 1);
			if (r < 0)
				return r;
			if (d->in_pos == d->in_len) {
				if (!d->units)
					return dc_fail(d, -EBADMSG, "zstd stream is truncated");
				return 0;
			}
			in.size = d->in_len;
			in.pos = d->in_pos;
			d->in_unit = 1;
			d->units++;
			if (cp_due(d, d->out_total) &&
			    (r = cp_emit(d, d->out_total, decompress_consumed(d) * 8, 1)) < 0)
				return r;
		}
		ret = ZSTD_decompressStream(d->zstd, &out, &in);
		if (ZSTD_isError(ret))
			return dc_fail(d, -EBADMSG, "zstd stream is corrupt: %s", ZSTD_getErrorName(ret));
		int moved = in.pos != d->in_pos;
		d->in_pos = in.pos;
		if (ret == 0)
			d->in_unit = 0; /* frame decoded and flushed */
		if (out.pos)
			return out.pos;
		if (ret == 0 || moved)
			continue;
		r = dc_fill(d);
		if (r < 0)
			return r;
		if (r == 0)
			return dc_fail(d, -EBADMSG, "zstd stream is truncated");
	}
}

ssize_t decompress_read(struct decompressor *d, void *buf, size_t len, struct strata_error *err)
{
	ssize_t r;

	if (d->fail)
		goto fail;
	if (d->done || len == 0)
		return 0;
	if (len > DECOMPRESS_MAXOUT)
		len = DECOMPRESS_MAXOUT;
	if (!d->ready) {
		/* Set up at the first read, so that checkpoints can be asked for first. */
		if (d->kind == COMP_AUTO) {
			r = dc_want(d, 4);
			if (r < 0)
				goto fail;
			d->kind = decompress_detect(d->in + d->in_pos, d->in_len - d->in_pos);
		}
		r = dc_setup(d);
		if (r < 0) {
			dc_fail(d, (int)r, "cannot set up the decompressor");
			goto fail;
		}
	}
	switch (d->kind) {
	case COMP_GZIP:
		r = gz_read(d, buf, len);
		break;
	case COMP_ZSTD:
		r = zstd_read(d, buf, len);
		break;
	default:
		r = none_read(d, buf, len);
		break;
	}
	if (r < 0)
		goto fail;
	if (r == 0)
		d->done = 1;
	d->out_total += (uint64_t)r;
	return r;
fail:
	/* An empty message is the source's own error, kept where the source
	 * put it; the generic one below only fills an empty err. */
	if (d->failmsg[0])
		return error_set(err, d->fail, "%s", d->failmsg);
	return error_errno(err, d->fail, "cannot read compressed stream");
}
