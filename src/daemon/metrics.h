/* metrics: the daemon's counters that outlive a single pull or mount —
 * pulls and bytes by registry and outcome, chunk hits at ingest, FUSE
 * requests of mounts already gone, analyses and their durations — and the
 * Prometheus text exposition of all of them with the cache's own and the
 * shared memo's. */
#ifndef STRATA_METRICS_H
#define STRATA_METRICS_H

#include <stdint.h>

#include "src/base/buf.h"

#define METRICS_REGISTRIES 32
#define METRICS_OPS 16

struct metrics;

struct metrics *metrics_new(void);   /* free with metrics_free */
void metrics_free(struct metrics *m);

/* ref: as given to the pull ("127.0.0.1:5000/a:1", "oci:/dir:tag"). */
void metrics_pull(struct metrics *m, const char *ref, int ok, uint64_t bytes_fetched, uint64_t chunks,
		  uint64_t new_chunks);
/* Adds the final counters of a mount that is going away. n: entries of ops. */
void metrics_retire_mount(struct metrics *m, const uint64_t *ops, const uint64_t *op_errors, unsigned n,
			  uint64_t bytes_read);
void metrics_analysis(struct metrics *m, double seconds, int cached, int ok);
/* A request refused: forbidden (403, by the caller's rights) or busy (503,
 * one connection too many). */
enum metrics_refusal { METRICS_REFUSED_FORBIDDEN, METRICS_REFUSED_BUSY, METRICS_REFUSALS };
void metrics_refused(struct metrics *m, enum metrics_refusal why);

/* Live mounts' counters, added to the retired ones when printing. */
struct metrics_live {
	const char *const *op_names;
	unsigned n_ops;
	uint64_t ops[METRICS_OPS], op_errors[METRICS_OPS];
	uint64_t bytes_read, active_mounts;
};
void metrics_print(struct metrics *m, const struct metrics_live *live, struct buf *out);
/* The cache's figures (cache.h), appended to out. */
struct cache_stats;
void metrics_print_cache(const struct cache_stats *s, struct buf *out);
/* The Range fetches of chunks that were not stored (refetch.h). */
struct refetch_stats;
void metrics_print_refetch(const struct refetch_stats *s, struct buf *out);
/* The shared memo tier's counters (sharedmemo.h), for a daemon that has one. */
struct sharedmemo_stats;
void metrics_print_shared(const struct sharedmemo_stats *st, struct buf *out);

#endif
