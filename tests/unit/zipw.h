/* zipw.h: a minimal zip writer for the unit tests that need archives
 * (test-java, test-nuget): entries stored or given as raw deflate
 * streams, a central directory, no zip64. Test code only. */
#ifndef STRATA_TEST_ZIPW_H
#define STRATA_TEST_ZIPW_H

#include <stddef.h>
#include <stdint.h>

#include "src/base/buf.h"

/* An archive being built in memory: local entries in data, the central
 * directory in cd. Start from ZIPW_INIT. */
struct zipw {
	struct buf data, cd;
	unsigned n;
};
#define ZIPW_INIT { BUF_INIT, BUF_INIT, 0 }

/* Append v to b little-endian, as zip's integers are; for tests that
 * write records of their own (data descriptors, bare local entries). */
void zipw_put16(struct buf *b, unsigned v);
void zipw_put32(struct buf *b, uint32_t v);

/* Adds an entry whose stored bytes are given as they are: method 0
 * (stored, raw = the content) or 8 (raw = a raw deflate stream); crc and
 * usize are what the headers claim about the content. */
void zipw_add_raw(struct zipw *z, const char *name, int method, uint32_t crc, const void *raw,
		  size_t rawlen, uint64_t usize);

/* Adds a stored entry holding len bytes of data, with their true CRC. */
void zipw_add(struct zipw *z, const char *name, const void *data, size_t len);

/* zipw_add() of a NUL-terminated text. */
void zipw_adds(struct zipw *z, const char *name, const char *text);

/* Finishes the archive; returns it in out (release it with buf_release)
 * and leaves z empty. */
void zipw_finish(struct zipw *z, struct buf *out);

#endif
