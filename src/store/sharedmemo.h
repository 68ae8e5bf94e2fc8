/* sharedmemo: the memo's shared tier — analysis results and whole reports
 * kept in Redis (or Valkey, or any server speaking its protocol) for a
 * fleet of nodes, so that what one node analyzed is free on every other.
 * The store daemon is its only client (the strata command never talks to
 * Redis): memo.c asks it for what the node's own memo lacks, and hands it
 * what the node keeps. Its keys, under memo.redis_prefix (P):
 *
 *   P "result:" <memo key>                      an analysis result (memo.h)
 *   P "report:" <manifest digest> "/" <config>  a whole report
 *
 * each holding one value in memoval's format (memoval.h), written with the
 * configured TTL.
 *
 * Reads are synchronous and batched: one call is one pipelined round trip
 * of MGETs, on a pool of connections. Writes go through a bounded queue to
 * one writer thread, off the analysis' path; when the queue is full a new
 * value is dropped (and counted), never waited for.
 *
 * Nothing here fails an analysis. A call that fails (no server, no answer
 * within memo.redis_timeout, an error reply, a protocol error) is a miss
 * and costs at most its timeout; while the server is unreachable, calls are
 * not tried at all but for one probe a second, which reconnects. One
 * warning is logged when an outage begins (and one when writes start
 * failing, as when the server is full), one line when it ends. A value
 * that fails its check is a miss, counted by reason and never trusted.
 *
 * All functions are thread-safe. */
#ifndef STRATA_SHAREDMEMO_H
#define STRATA_SHAREDMEMO_H

#include <stddef.h>
#include <stdint.h>

#include "src/base/buf.h"
#include "src/base/conf.h"
#include "src/base/error.h"
#include "memoval.h"

struct sharedmemo;

/* Opens the tier conf->memo_redis names (no connection is made yet: an
 * unreachable server is an outage, not an error). 0 with *out NULL when no
 * memo.redis is configured. -EINVAL/-EACCES/-ENOENT with err set for a bad
 * address or an HMAC key file that cannot be used: unreadable, shorter
 * than MEMOVAL_KEY_MIN bytes, or readable by others. */
int sharedmemo_open(const struct strata_conf *conf, struct sharedmemo **out, struct strata_error *err);
/* Writes what is queued for at most about a second more, then closes. NULL ok. */
void sharedmemo_free(struct sharedmemo *sm);

/* Looks up results for n memo keys (keys[i] of lens[i] bytes) and calls
 * found(ctx, i, json, len) for each sound value: a JSON object's text.
 * found returns 0, or a negative errno to stop (returned). Failures are
 * misses: 0. */
int sharedmemo_get_results(struct sharedmemo *sm, size_t n, const char *const *keys, const size_t *lens,
			   int (*found)(void *ctx, size_t i, const char *json, size_t len), void *ctx);
/* A whole report: 0 with its text appended to out, or -ENOENT (a miss, a
 * failure or a refused value alike). */
int sharedmemo_get_report(struct sharedmemo *sm, const char *digest, const char *config, struct buf *out);

/* Queue a value for writing (copied). Results must be JSON objects. */
void sharedmemo_put_result(struct sharedmemo *sm, const char *key, size_t klen, const char *json, size_t len);
void sharedmemo_put_report(struct sharedmemo *sm, const char *digest, const char *config, const char *text,
			   size_t len);

/* Waits up to ms milliseconds for the queue to be written out (or given
 * up on): 0 when it is empty, -ETIMEDOUT. For tests and benchmarks. */
int sharedmemo_flush(struct sharedmemo *sm, unsigned ms);

/* Request durations: upper bounds of the histogram buckets, in seconds. */
#define SHAREDMEMO_BUCKETS 11
extern const double sharedmemo_buckets[SHAREDMEMO_BUCKETS];

enum sharedmemo_op { SHAREDMEMO_READ, SHAREDMEMO_WRITE, SHAREDMEMO_OPS };
enum sharedmemo_kind { SHAREDMEMO_RESULT, SHAREDMEMO_REPORT, SHAREDMEMO_KINDS };

struct sharedmemo_stats {
	char address[256];             /* memo.redis without its password */
	int up;                        /* 0 from a failure until a call succeeds */
	int signing;                   /* values are signed and must be */
	uint64_t hits[SHAREDMEMO_KINDS], misses[SHAREDMEMO_KINDS];
	uint64_t rejected[MEMOVAL_REJECTS];    /* values refused, by reason */
	uint64_t errors[SHAREDMEMO_OPS];       /* calls that failed */
	uint64_t skipped[SHAREDMEMO_OPS];      /* calls not tried during an outage */
	uint64_t written, write_errors;        /* values written; refused by the server */
	uint64_t dropped;                      /* values dropped: the queue was full */
	uint64_t outages;
	uint64_t queue_items, queue_bytes;
	uint64_t hist[SHAREDMEMO_OPS][SHAREDMEMO_BUCKETS + 1]; /* per bucket, not cumulative */
	double seconds[SHAREDMEMO_OPS];
	uint64_t calls[SHAREDMEMO_OPS];
};
void sharedmemo_get_stats(struct sharedmemo *sm, struct sharedmemo_stats *out);
/* The stats as `cache stats --json` shows them under "shared_memo":
 * {address, state: "up"|"down", signed, hits: {result, report}, misses: {...},
 *  rejected: {reason: n}, errors: {read, write}, skipped: {read, write},
 *  outages, written, write_refused, dropped, queue_items, queue_bytes,
 *  read_seconds_mean}. New reference; NULL when out of memory. */
struct json_t;
struct json_t *sharedmemo_stats_json(const struct sharedmemo_stats *st);

#endif
