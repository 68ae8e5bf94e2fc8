/* buf: growable NUL-terminated byte buffer with an optional size cap. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

char buf_empty_[1];

void buf_init(struct buf *b, size_t max)
{
	b->data = buf_empty_;
	b->len = 0;
	b->alloc = 0;
	b->max = max;
}

void buf_release(struct buf *b)
{
	if (b->alloc)
		free(b->data);
	buf_init(b, b->max);
}

void buf_reset(struct buf *b)
{
	buf_setlen(b, 0);
}

int buf_grow(struct buf *b, size_t extra)
{
	size_t want = b->len + extra + 1;
	if (want < b->len)
		return -ENOMEM;
	if (b->max && b->len + extra > b->max)
		return -EFBIG;
	if (want <= b->alloc)
		return 0;
	size_t n = b->alloc ? b->alloc : 64;
	while (n < want)
		n = n * 3 / 2 + 16;
	char *p = b->alloc ? realloc(b->data, n) : malloc(n);
	if (!p)
		return -ENOMEM;
	if (!b->alloc)
		p[0] = '\0';
	b->data = p;
	b->alloc = n;
	return 0;
}

int buf_add(struct buf *b, const void *data, size_t len)
{
	int r = buf_grow(b, len);
	if (r < 0)
		return r;
	if (len)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
	return 0;
}

int buf_adds(struct buf *b, const char *s)
{
	return buf_add(b, s, strlen(s));
}

int buf_addch(struct buf *b, char c)
{
	return buf_add(b, &c, 1);
}

int buf_vaddf(struct buf *b, const char *fmt, va_list ap)
{
	va_list cp;
	va_copy(cp, ap);
	int n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n < 0)
		return -EINVAL;
	int r = buf_grow(b, (size_t)n);
	if (r < 0)
		return r;
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

int buf_addf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = buf_vaddf(b, fmt, ap);
	va_end(ap);
	return r;
}

void buf_setlen(struct buf *b, size_t len)
{
	if (!b->alloc)
		return;
	b->len = len;
	b->data[len] = '\0';
}

char *buf_detach(struct buf *b, size_t *len)
{
	char *p;
	if (len)
		*len = b->len;
	if (b->alloc)
		p = b->data;
	else
		p = calloc(1, 1);
	buf_init(b, b->max);
	return p;
}

int buf_add_varint(struct buf *b, uint64_t v)
{
	uint8_t tmp[10];
	size_t n = 0;
	do {
		tmp[n] = (uint8_t)(v & 0x7f);
		v >>= 7;
		if (v)
			tmp[n] |= 0x80;
		n++;
	} while (v);
	return buf_add(b, tmp, n);
}

int varint_get(const uint8_t **p, const uint8_t *end, uint64_t *out)
{
	uint64_t v = 0;
	for (int shift = 0; shift < 64; shift += 7) {
		if (*p >= end)
			return -EBADMSG;
		uint8_t c = *(*p)++;
		v |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80)) {
			*out = v;
			return 0;
		}
	}
	return -EBADMSG;
}

/* The length of the well-formed UTF-8 sequence at p (1 to 4), or 0. */
static size_t utf8_len(const unsigned char *p)
{
	if (p[0] < 0x80)
		return 1;
	size_t n = p[0] >= 0xF0 && p[0] <= 0xF4 ? 4 : p[0] >= 0xE0 ? 3 : p[0] >= 0xC2 && p[0] < 0xE0 ? 2 : 0;
	if (!n || p[0] > 0xF4)
		return 0;
	for (size_t i = 1; i < n; i++)
		if ((p[i] & 0xC0) != 0x80)
			return 0;
	/* Overlong three- and four-byte forms, surrogates, past U+10FFFF. */
	if ((p[0] == 0xE0 && p[1] < 0xA0) || (p[0] == 0xED && p[1] >= 0xA0) || (p[0] == 0xF0 && p[1] < 0x90) ||
	    (p[0] == 0xF4 && p[1] >= 0x90))
		return 0;
	return n;
}

int buf_add_visible(struct buf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	int r = 0;
	while (*p && r == 0) {
		size_t n = utf8_len(p);
		/* U+0080..U+009F: C1 controls, which some terminals obey. */
		int c1 = n == 2 && p[0] == 0xC2 && p[1] < 0xA0;
		if (n > 1 && !c1) {
			r = buf_add(b, p, n);
			p += n;
			continue;
		}
		if (n == 1 && *p >= 0x20 && *p != 0x7F && *p != '\\') {
			r = buf_addch(b, (char)*p++);
			continue;
		}
		switch (*p) {
		case '\n': r = buf_adds(b, "\\n"); break;
		case '\t': r = buf_adds(b, "\\t"); break;
		case '\r': r = buf_adds(b, "\\r"); break;
		case '\\': r = buf_adds(b, "\\\\"); break;
		default: r = buf_addf(b, "\\%03o", *p); break;
		}
		p++;
		if (c1 && r == 0)
			r = buf_addf(b, "\\%03o", *p++);
	}
	return r;
}

int buf_add_utf8(struct buf *b, uint32_t cp)
{
	char u[4];
	size_t n;
	if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		cp = 0xFFFD; /* not a character: the replacement character */
	if (cp < 0x80) {
		u[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xC0 | (cp >> 6));
		u[1] = (char)(0x80 | (cp & 0x3F));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xE0 | (cp >> 12));
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		u[2] = (char)(0x80 | (cp & 0x3F));
		n = 3;
	} else {
		u[0] = (char)(0xF0 | (cp >> 18));
		u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
		u[3] = (char)(0x80 | (cp & 0x3F));
		n = 4;
	}
	return buf_add(b, u, n);
}
