/* ckpt: a layer's checkpoint table — the map that lets any piece of the
 * layer's uncompressed stream be rebuilt from a compressed span of its blob
 * (span.h), kept when the layer's chunks are evicted.
 *
 * Table (binary, little-endian): u8 version (1), u8 compression
 * (enum compression), u64 interval, u64 compressed size, u64 uncompressed
 * size, u32 n, then n times: u64 uoff, u64 cbit, u8 member, u32 window
 * length. Entries are in uoff order; the first is at uoff 0. A window (the
 * 32 KiB before a checkpoint inside a gzip member) is stored beside the table
 * on its own, zstd-compressed (ckpt_window_pack), so that a read loads one
 * window, not all of them. An uncompressed layer has a table with no
 * entries: any offset is its own checkpoint. */
#ifndef STRATA_CKPT_H
#define STRATA_CKPT_H

#include <stddef.h>
#include <stdint.h>

#include "src/base/buf.h"
#include "src/registry/manifest.h"

struct ckpt_entry {
	uint64_t uoff;    /* uncompressed offset */
	uint64_t cbit;    /* compressed bit offset */
	uint8_t member;   /* at a gzip member or zstd frame start */
	uint32_t wlen;    /* uncompressed window bytes (0 when member) */
};

struct ckpt_table {
	enum compression kind;
	uint64_t interval;
	uint64_t csize;   /* the blob's bytes */
	uint64_t usize;   /* the uncompressed stream's bytes */
	size_t n, alloc;
	struct ckpt_entry *e;
};

#define CKPT_TABLE_INIT { COMP_NONE, 0, 0, 0, 0, 0, NULL }

/* Appends an entry (uoff must not go down). 0 or -ENOMEM. */
int ckpt_table_add(struct ckpt_table *t, const struct ckpt_entry *e);
void ckpt_table_release(struct ckpt_table *t);
/* Appends the encoded table to out. 0 or -ENOMEM. */
int ckpt_table_encode(const struct ckpt_table *t, struct buf *out);
/* Replaces *t by the table in p. 0, or -EBADMSG when it is malformed. */
int ckpt_table_decode(const void *p, size_t n, struct ckpt_table *t);

/* What to fetch for the uncompressed bytes [off, off + len): the entry to
 * start from (*at; SIZE_MAX for an uncompressed layer) and the blob's bytes
 * [*cbeg, *cend) that hold them. -ERANGE when the bytes are past the end. */
int ckpt_table_span(const struct ckpt_table *t, uint64_t off, uint64_t len, size_t *at,
		    uint64_t *cbeg, uint64_t *cend);

/* A window, zstd-compressed for storage; appended to out. 0 or -ENOMEM. */
int ckpt_window_pack(const uint8_t *w, size_t n, struct buf *out);
/* Unpacks a stored window of wlen bytes into w (32 KiB). 0 or -EBADMSG. */
int ckpt_window_unpack(const void *p, size_t n, uint8_t *w, size_t wlen);

#endif
