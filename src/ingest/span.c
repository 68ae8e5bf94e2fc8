/* span: decoding a piece of a layer from a checkpoint (span.h). Zlib does
 * the resuming even where ISA-L did the ingest: inflatePrime has no ISA-L
 * counterpart, and a span is at most a few MiB. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>
#include <zstd.h>

#include "span.h"

#define SPAN_SCRATCH (64u << 10)

/* Where output goes: first into scratch while skipping, then into out. */
struct span_out {
	uint8_t *scratch;
	uint64_t skip;
	uint8_t *out;
	size_t len, done;
};

static uint8_t *out_ptr(struct span_out *o, size_t *room)
{
	if (o->skip) {
		*room = o->skip < SPAN_SCRATCH ? (size_t)o->skip : SPAN_SCRATCH;
		return o->scratch;
	}
	*room = o->len - o->done;
	return o->out + o->done;
}

static void out_advance(struct span_out *o, size_t n)
{
	if (o->skip)
		o->skip -= n;
	else
		o->done += n;
}

static int span_short(struct strata_error *err)
{
	return error_set(err, -ENODATA, "compressed span ends before the bytes asked for");
}

static int gzip_span(const struct span_start *sp, const uint8_t *c, size_t clen,
		     struct span_out *o, struct strata_error *err)
{
	z_stream z;
	size_t pos = 0;
	int raw = !sp->member, ret, r = 0;

	memset(&z, 0, sizeof(z));
	if (inflateInit2(&z, raw ? -15 : 15 + 16) != Z_OK)
		return error_set(err, -ENOMEM, "out of memory");
	if (raw) {
		unsigned bit = (unsigned)(sp->cbit % 8);
		if (bit) {
			/* The byte's low bits ended the previous block. */
			if (clen < 1) {
				r = span_short(err);
				goto out;
			}
			inflatePrime(&z, (int)(8 - bit), c[0] >> bit);
			pos = 1;
		}
		if (sp->wlen && inflateSetDictionary(&z, sp->window, (uInt)sp->wlen) != Z_OK) {
			r = error_set(err, -EBADMSG, "compressed span is corrupt: bad window");
			goto out;
		}
	}
	while (o->done < o->len) {
		size_t room;
		uint8_t *dst = out_ptr(o, &room);
		z.next_in = (Bytef *)(c + pos);
		z.avail_in = (uInt)(clen - pos > UINT32_MAX ? UINT32_MAX : clen - pos);
		z.next_out = dst;
		z.avail_out = (uInt)room;
		ret = inflate(&z, Z_NO_FLUSH);
		pos = (size_t)(z.next_in - c);
		out_advance(o, (size_t)(z.next_out - dst));
		if (ret == Z_STREAM_END) {
			if (raw)
				pos += 8; /* the member's trailer: CRC-32 and length */
			if (o->done == o->len)
				break;
			if (pos >= clen) {
				r = span_short(err);
				goto out;
			}
			raw = 0;
			if (inflateReset2(&z, 15 + 16) != Z_OK) {
				r = error_set(err, -EBADMSG, "compressed span is corrupt: cannot reset inflater");
				goto out;
			}
			continue;
		}
		if (ret == Z_OK && z.next_out != dst)
			continue;
		if (ret == Z_OK || ret == Z_BUF_ERROR) {
			if (pos >= clen) {
				r = span_short(err);
				goto out;
			}
			continue;
		}
		r = error_set(err, -EBADMSG, "compressed span is corrupt: %s",
			      z.msg ? z.msg : "inflate failed");
		goto out;
	}
out:
	inflateEnd(&z);
	return r;
}

static int zstd_span(const uint8_t *c, size_t clen, struct span_out *o, struct strata_error *err)
{
	ZSTD_DCtx *dc = ZSTD_createDCtx();
	ZSTD_inBuffer in = { c, clen, 0 };
	int r = 0;

	if (!dc)
		return error_set(err, -ENOMEM, "out of memory");
	while (o->done < o->len) {
		size_t room, ret;
		ZSTD_outBuffer ob;
		ob.dst = out_ptr(o, &room);
		ob.size = room;
		ob.pos = 0;
		ret = ZSTD_decompressStream(dc, &ob, &in);
		if (ZSTD_isError(ret)) {
			r = error_set(err, -EBADMSG, "compressed span is corrupt: %s",
				      ZSTD_getErrorName(ret));
			break;
		}
		out_advance(o, ob.pos);
		if (ob.pos == 0 && in.pos == in.size) {
			r = span_short(err);
			break;
		}
	}
	ZSTD_freeDCtx(dc);
	return r;
}

int span_decode(const struct span_start *sp, const uint8_t *cdata, size_t clen, uint64_t skip,
		uint8_t *out, size_t len, struct strata_error *err)
{
	struct span_out o = { .skip = skip, .out = out, .len = len };
	int r;

	if (len == 0)
		return 0;
	if (sp->kind == COMP_NONE) {
		if (skip > clen || len > clen - skip)
			return span_short(err);
		memcpy(out, cdata + skip, len);
		return 0;
	}
	if (sp->kind != COMP_GZIP && sp->kind != COMP_ZSTD)
		return error_set(err, -EINVAL, "compressed span: unknown compression");
	if (skip) {
		o.scratch = malloc(SPAN_SCRATCH);
		if (!o.scratch)
			return error_set(err, -ENOMEM, "out of memory");
	}
	r = sp->kind == COMP_GZIP ? gzip_span(sp, cdata, clen, &o, err) : zstd_span(cdata, clen, &o, err);
	free(o.scratch);
	return r;
}
