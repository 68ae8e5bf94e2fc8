/* buf: the one growable byte buffer of strata (after git's strbuf).
 * Never NULL once initialised, always NUL-terminated, optionally capped so
 * that data coming off the network cannot grow it without bound. */
#ifndef STRATA_BUF_H
#define STRATA_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

struct buf {
	char *data;   /* always points at valid, NUL-terminated memory */
	size_t len;
	size_t alloc; /* 0 while data points at the shared empty string */
	size_t max;   /* 0 = unlimited; appends past it fail with -EFBIG */
};

#define BUF_INIT { buf_empty_, 0, 0, 0 }
extern char buf_empty_[1];

void buf_init(struct buf *b, size_t max);
/* Frees the contents; the buffer is empty and reusable afterwards. */
void buf_release(struct buf *b);
void buf_reset(struct buf *b);
/* Returns 0, -ENOMEM, or -EFBIG when the cap would be passed. */
int buf_grow(struct buf *b, size_t extra);
int buf_add(struct buf *b, const void *data, size_t len);
int buf_adds(struct buf *b, const char *s);
int buf_addch(struct buf *b, char c);
int buf_addf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_vaddf(struct buf *b, const char *fmt, va_list ap);
void buf_setlen(struct buf *b, size_t len);
/* LEB128 varints, the index's integer encoding. */
int buf_add_varint(struct buf *b, uint64_t v);
/* Reads one varint at *p (advancing it); -EBADMSG when it runs past end. */
int varint_get(const uint8_t **p, const uint8_t *end, uint64_t *out);
/* Appends code point cp as UTF-8 (surrogates and values past U+10FFFF as
 * U+FFFD). */
int buf_add_utf8(struct buf *b, uint32_t cp);
/* Appends s made safe for a terminal and for one line, as `ls -b` shows
 * names: control characters (C0, DEL, and C1 written in UTF-8), bytes that
 * are not UTF-8 and the backslash itself as backslash escapes (\n, \t,
 * \\, else \ooo per byte). Printable text, UTF-8 included, is unchanged. */
int buf_add_visible(struct buf *b, const char *s);
/* Hands the contents to the caller (free() them) and leaves b empty. */
char *buf_detach(struct buf *b, size_t *len);

#endif
