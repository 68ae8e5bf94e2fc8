/* ckpt: a layer's checkpoint table and its windows (ckpt.h). */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <zstd.h>

#include "ckpt.h"

#define CKPT_VERSION 1
#define CKPT_HEAD (1 + 1 + 8 + 8 + 8 + 4)
#define CKPT_ENTRY (8 + 8 + 1 + 4)
#define CKPT_WINDOW_MAX (32u << 10)

static void le_put(uint8_t *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t le_get(const uint8_t *p, int n)
{
	uint64_t v = 0;
	for (int i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

int ckpt_table_add(struct ckpt_table *t, const struct ckpt_entry *e)
{
	if (t->n == t->alloc) {
		size_t na = t->alloc ? t->alloc * 2 : 16;
		struct ckpt_entry *ne = realloc(t->e, na * sizeof(*ne));
		if (!ne)
			return -ENOMEM;
		t->e = ne;
		t->alloc = na;
	}
	t->e[t->n++] = *e;
	return 0;
}

void ckpt_table_release(struct ckpt_table *t)
{
	free(t->e);
	t->e = NULL;
	t->n = t->alloc = 0;
}

int ckpt_table_encode(const struct ckpt_table *t, struct buf *out)
{
	uint8_t h[CKPT_HEAD], e[CKPT_ENTRY];

	h[0] = CKPT_VERSION;
	h[1] = (uint8_t)t->kind;
	le_put(h + 2, t->interval, 8);
	le_put(h + 10, t->csize, 8);
	le_put(h + 18, t->usize, 8);
	le_put(h + 26, t->n, 4);
	if (buf_add(out, h, sizeof(h)) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < t->n; i++) {
		le_put(e, t->e[i].uoff, 8);
		le_put(e + 8, t->e[i].cbit, 8);
		e[16] = t->e[i].member;
		le_put(e + 17, t->e[i].wlen, 4);
		if (buf_add(out, e, sizeof(e)) < 0)
			return -ENOMEM;
	}
	return 0;
}

int ckpt_table_decode(const void *p, size_t n, struct ckpt_table *t)
{
	const uint8_t *b = p;
	uint64_t count;

	ckpt_table_release(t);
	if (n < CKPT_HEAD || b[0] != CKPT_VERSION)
		return -EBADMSG;
	t->kind = (enum compression)b[1];
	t->interval = le_get(b + 2, 8);
	t->csize = le_get(b + 10, 8);
	t->usize = le_get(b + 18, 8);
	count = le_get(b + 26, 4);
	if (t->kind != COMP_GZIP && t->kind != COMP_ZSTD && t->kind != COMP_NONE)
		return -EBADMSG;
	if (count != (n - CKPT_HEAD) / CKPT_ENTRY || (n - CKPT_HEAD) % CKPT_ENTRY)
		return -EBADMSG;
	for (uint64_t i = 0; i < count; i++) {
		const uint8_t *e = b + CKPT_HEAD + i * CKPT_ENTRY;
		struct ckpt_entry ce = {
			.uoff = le_get(e, 8), .cbit = le_get(e + 8, 8), .member = e[16],
			.wlen = (uint32_t)le_get(e + 17, 4),
		};
		if (ce.wlen > CKPT_WINDOW_MAX || ce.cbit / 8 > t->csize || ce.uoff > t->usize ||
		    (t->n && ce.uoff < t->e[t->n - 1].uoff) || (i == 0 && ce.uoff != 0)) {
			ckpt_table_release(t);
			return -EBADMSG;
		}
		if (ckpt_table_add(t, &ce) < 0) {
			ckpt_table_release(t);
			return -ENOMEM;
		}
	}
	if (t->kind != COMP_NONE && t->n == 0)
		return -EBADMSG;
	return 0;
}

int ckpt_table_span(const struct ckpt_table *t, uint64_t off, uint64_t len, size_t *at,
		    uint64_t *cbeg, uint64_t *cend)
{
	size_t lo = 0, hi;

	if (off > t->usize || len > t->usize - off)
		return -ERANGE;
	if (t->kind == COMP_NONE) {
		*at = SIZE_MAX;
		*cbeg = off;
		*cend = off + len;
		return 0;
	}
	/* The last entry at or before off. */
	hi = t->n;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (t->e[mid].uoff <= off)
			lo = mid;
		else
			hi = mid;
	}
	*at = lo;
	*cbeg = t->e[lo].cbit / 8;
	*cend = t->csize;
	/* The first later entry at or past the end: its bits are not needed. */
	for (size_t j = lo + 1; j < t->n; j++) {
		if (t->e[j].uoff >= off + len) {
			*cend = (t->e[j].cbit + 7) / 8;
			break;
		}
	}
	return 0;
}

int ckpt_window_pack(const uint8_t *w, size_t n, struct buf *out)
{
	size_t bound = ZSTD_compressBound(n), got;
	size_t at = out->len;

	if (buf_grow(out, bound) < 0)
		return -ENOMEM;
	got = ZSTD_compress(out->data + at, bound, w, n, 3);
	if (ZSTD_isError(got))
		return -ENOMEM;
	buf_setlen(out, at + got);
	return 0;
}

int ckpt_window_unpack(const void *p, size_t n, uint8_t *w, size_t wlen)
{
	size_t got;

	if (wlen > CKPT_WINDOW_MAX)
		return -EBADMSG;
	got = ZSTD_decompress(w, wlen, p, n);
	if (ZSTD_isError(got) || got != wlen)
		return -EBADMSG;
	return 0;
}
