/* memoval: the value codec of the shared memo tier (sharedmemo.h). What a
 * node writes to Redis and every node reads back is untrusted input: it
 * comes over the network from a server anyone with its password can write.
 * So each value names its format, its kind and its length, and carries a
 * check over all of that, the key it was written under and its body:
 *
 *   offset size
 *        0    4  magic "STMV"
 *        4    1  format version (1)
 *        5    1  kind: 'A' an analysis result, 'Y' a whole report
 *        6    1  flags: 1 the body is one zstd frame, 2 signed
 *        7    1  0
 *        8    8  payload length, little-endian (the body once decompressed)
 *       16    8  key id: signed, the first 8 bytes of sha256("strata-memo-key\0"
 *                + key); else 0
 *       24   32  check: signed, HMAC-SHA256 under the fleet's key; else sha256;
 *                over bytes 0..23, the memo key's length (4 bytes,
 *                little-endian) and bytes, then the body as stored
 *       56    -  body
 *
 * The check covers the key, so a value copied under another key fails it;
 * it covers the body as stored, so nothing unchecked reaches the
 * decompressor. An unsigned value proves only that it was not damaged on
 * the way: anyone who can write to the server can compute a sha256. A
 * signed one proves it was written by a holder of the key. */
#ifndef STRATA_MEMOVAL_H
#define STRATA_MEMOVAL_H

#include <stddef.h>
#include <stdint.h>

#include "src/base/buf.h"

#define MEMOVAL_HEADER 56
/* The largest payload either side accepts: a report of about 200,000 files. */
#define MEMOVAL_MAX (64u << 20)
#define MEMOVAL_KEY_MIN 32     /* bytes of an HMAC key, at least */

enum memoval_kind { MEMOVAL_RESULT = 'A', MEMOVAL_REPORT = 'Y' };

/* Why a value was refused: memoval_decode's return value. */
enum memoval_reject {
	MEMOVAL_OK = 0,
	MEMOVAL_MALFORMED,    /* not a value of this format or version, or inconsistent */
	MEMOVAL_CHECKSUM,     /* unsigned and its sha256 does not match: damaged */
	MEMOVAL_UNSIGNED,     /* unsigned, and this node requires signed values */
	MEMOVAL_SIGNATURE,    /* signed under another key, or its HMAC does not match */
	MEMOVAL_UNVERIFIABLE, /* signed, and this node has no key to check it */
	MEMOVAL_REJECTS
};

/* The fleet's HMAC key, or none (len 0): values are then written unsigned
 * and only unsigned values are accepted. */
struct memoval_key {
	uint8_t *bytes;
	size_t len;
	uint8_t id[8];
};

/* Sets k from len bytes (copied). -EINVAL under MEMOVAL_KEY_MIN bytes,
 * -ENOMEM. Release with memoval_key_release (accepts a zeroed struct). */
int memoval_key_init(struct memoval_key *k, const void *bytes, size_t len);
void memoval_key_release(struct memoval_key *k);

/* Appends to out the value of payload (plen bytes, at most MEMOVAL_MAX)
 * stored under key; signed when k has a key. Bodies of 1 KiB and more are
 * compressed when that makes them smaller. 0, -EFBIG or -ENOMEM. */
int memoval_encode(const struct memoval_key *k, enum memoval_kind kind, const char *key, size_t klen,
		   const void *payload, size_t plen, struct buf *out);

/* Checks the value val (vlen bytes) read under key and, when it is sound,
 * appends its payload to out: MEMOVAL_OK (0); otherwise the reason (a
 * positive enum memoval_reject), with out as it was; -ENOMEM when memory
 * runs out. max: the largest payload accepted (at most MEMOVAL_MAX). */
int memoval_decode(const struct memoval_key *k, enum memoval_kind kind, const char *key, size_t klen,
		   const void *val, size_t vlen, size_t max, struct buf *out);

/* "malformed", "checksum", ...: a label for metrics. */
const char *memoval_reject_name(enum memoval_reject why);

#endif
