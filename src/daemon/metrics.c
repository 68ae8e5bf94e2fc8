/* metrics: see metrics.h. */
#include "config.h"

#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "src/ingest/refetch.h"
#include "src/registry/ref.h"
#include "src/store/cache.h"
#include "src/store/sharedmemo.h"

static const double buckets[] = { 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300 };
#define NBUCKETS (sizeof(buckets) / sizeof(buckets[0]))

struct registry_counts {
	char name[128];   /* host[:port], "oci", "docker-archive", or "other" */
	uint64_t ok, failed, bytes;
};

struct metrics {
	pthread_mutex_t lock;  /* protects everything below */
	struct registry_counts reg[METRICS_REGISTRIES];
	unsigned nreg;
	uint64_t chunks, new_chunks;
	uint64_t ops[METRICS_OPS], op_errors[METRICS_OPS], bytes_read;
	uint64_t analyses[2][2];      /* [cached][ok] */
	uint64_t refused[METRICS_REFUSALS];
	uint64_t hist[NBUCKETS + 1];  /* cumulative at print time; here per bucket */
	double hist_sum;
	uint64_t hist_count;
};

struct metrics *metrics_new(void)
{
	struct metrics *m = calloc(1, sizeof(*m));
	if (m)
		pthread_mutex_init(&m->lock, NULL);
	return m;
}

void metrics_free(struct metrics *m)
{
	if (!m)
		return;
	pthread_mutex_destroy(&m->lock);
	free(m);
}

/* The registry a reference pulls from, as a label value. */
static void registry_of(const char *ref, char *out, size_t n)
{
	struct image_ref r;
	memset(&r, 0, sizeof(r));
	if (!ref || ref_parse(ref, &r, NULL) < 0)
		snprintf(out, n, "other");
	else if (r.transport == REF_OCI)
		snprintf(out, n, "oci");
	else if (r.transport == REF_DOCKER_ARCHIVE)
		snprintf(out, n, "docker-archive");
	else
		snprintf(out, n, "%s", r.domain ? r.domain : "other");
	ref_release(&r);
}

void metrics_pull(struct metrics *m, const char *ref, int ok, uint64_t bytes_fetched, uint64_t chunks,
		  uint64_t new_chunks)
{
	char name[128];
	registry_of(ref, name, sizeof(name));
	pthread_mutex_lock(&m->lock);
	unsigned i = 0;
	while (i < m->nreg && strcmp(m->reg[i].name, name))
		i++;
	if (i == m->nreg) {
		/* A bounded label set: registries past the table count as "other". */
		if (m->nreg == METRICS_REGISTRIES) {
			snprintf(name, sizeof(name), "other");
			for (i = 0; i < m->nreg && strcmp(m->reg[i].name, name); i++)
				;
			if (i == m->nreg)
				i = m->nreg - 1;
		} else {
			snprintf(m->reg[m->nreg++].name, sizeof(m->reg[0].name), "%s", name);
		}
	}
	if (ok)
		m->reg[i].ok++;
	else
		m->reg[i].failed++;
	m->reg[i].bytes += bytes_fetched;
	m->chunks += chunks;
	m->new_chunks += new_chunks;
	pthread_mutex_unlock(&m->lock);
}

void metrics_retire_mount(struct metrics *m, const uint64_t *ops, const uint64_t *op_errors, unsigned n,
			  uint64_t bytes_read)
{
	pthread_mutex_lock(&m->lock);
	for (unsigned i = 0; i < n && i < METRICS_OPS; i++) {
		m->ops[i] += ops[i];
		m->op_errors[i] += op_errors[i];
	}
	m->bytes_read += bytes_read;
	pthread_mutex_unlock(&m->lock);
}

void metrics_analysis(struct metrics *m, double seconds, int cached, int ok)
{
	if (seconds < 0)
		seconds = 0;
	pthread_mutex_lock(&m->lock);
	m->analyses[!!cached][!!ok]++;
	if (ok) {
		size_t b = 0;
		while (b < NBUCKETS && seconds > buckets[b])
			b++;
		m->hist[b]++;
		m->hist_sum += seconds;
		m->hist_count++;
	}
	pthread_mutex_unlock(&m->lock);
}

void metrics_refused(struct metrics *m, enum metrics_refusal why)
{
	pthread_mutex_lock(&m->lock);
	m->refused[why]++;
	pthread_mutex_unlock(&m->lock);
}

static void head(struct buf *out, const char *name, const char *type, const char *help)
{
	buf_addf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A metric with one sample and no labels. */
static void single(struct buf *out, const char *name, const char *type, const char *help, uint64_t v)
{
	head(out, name, type, help);
	buf_addf(out, "%s %llu\n", name, (unsigned long long)v);
}

void metrics_print(struct metrics *m, const struct metrics_live *live, struct buf *out)
{
	pthread_mutex_lock(&m->lock);
	head(out, "strata_pulls_total", "counter", "Image pulls by registry and outcome.");
	for (unsigned i = 0; i < m->nreg; i++) {
		buf_addf(out, "strata_pulls_total{registry=\"%s\",outcome=\"success\"} %llu\n", m->reg[i].name,
			 (unsigned long long)m->reg[i].ok);
		buf_addf(out, "strata_pulls_total{registry=\"%s\",outcome=\"failure\"} %llu\n", m->reg[i].name,
			 (unsigned long long)m->reg[i].failed);
	}
	head(out, "strata_pull_fetched_bytes_total", "counter", "Compressed layer bytes fetched, by registry.");
	for (unsigned i = 0; i < m->nreg; i++)
		buf_addf(out, "strata_pull_fetched_bytes_total{registry=\"%s\"} %llu\n", m->reg[i].name,
			 (unsigned long long)m->reg[i].bytes);
	head(out, "strata_ingest_chunks_total", "counter",
	     "Chunks of ingested layers: hit (already stored, deduplicated) or miss (stored new).");
	buf_addf(out, "strata_ingest_chunks_total{result=\"hit\"} %llu\nstrata_ingest_chunks_total{result=\"miss\"} %llu\n",
		 (unsigned long long)(m->chunks - m->new_chunks), (unsigned long long)m->new_chunks);
	single(out, "strata_mounts_active", "gauge", "Images mounted now.", live->active_mounts);
	single(out, "strata_mount_read_bytes_total", "counter",
	       "Bytes read through mounts.", m->bytes_read + live->bytes_read);
	head(out, "strata_fuse_requests_total", "counter", "FUSE requests served by mounts, by operation.");
	for (unsigned i = 0; i < live->n_ops; i++)
		buf_addf(out, "strata_fuse_requests_total{op=\"%s\"} %llu\n", live->op_names[i],
			 (unsigned long long)(m->ops[i] + live->ops[i]));
	head(out, "strata_fuse_errors_total", "counter",
	     "FUSE requests answered with an error (not counting names that do not exist), by operation.");
	for (unsigned i = 0; i < live->n_ops; i++)
		buf_addf(out, "strata_fuse_errors_total{op=\"%s\"} %llu\n", live->op_names[i],
			 (unsigned long long)(m->op_errors[i] + live->op_errors[i]));
	head(out, "strata_analyses_total", "counter", "Image analyses, by whether the stored report served them, and outcome.");
	for (int c = 0; c < 2; c++)
		for (int ok = 0; ok < 2; ok++)
			buf_addf(out, "strata_analyses_total{cached=\"%s\",outcome=\"%s\"} %llu\n", c ? "true" : "false",
				 ok ? "success" : "failure", (unsigned long long)m->analyses[c][ok]);
	head(out, "strata_analysis_duration_seconds", "histogram", "Duration of successful image analyses.");
	uint64_t cum = 0;
	for (size_t b = 0; b < NBUCKETS; b++) {
		cum += m->hist[b];
		buf_addf(out, "strata_analysis_duration_seconds_bucket{le=\"%g\"} %llu\n", buckets[b],
			 (unsigned long long)cum);
	}
	buf_addf(out, "strata_analysis_duration_seconds_bucket{le=\"+Inf\"} %llu\n", (unsigned long long)m->hist_count);
	buf_addf(out, "strata_analysis_duration_seconds_sum %.6f\nstrata_analysis_duration_seconds_count %llu\n",
		 m->hist_sum, (unsigned long long)m->hist_count);
	head(out, "strata_requests_refused_total", "counter",
	     "Requests refused: forbidden to the caller (403) or one connection too many (503).");
	buf_addf(out, "strata_requests_refused_total{reason=\"forbidden\"} %llu\n"
		 "strata_requests_refused_total{reason=\"busy\"} %llu\n",
		 (unsigned long long)m->refused[METRICS_REFUSED_FORBIDDEN],
		 (unsigned long long)m->refused[METRICS_REFUSED_BUSY]);
	pthread_mutex_unlock(&m->lock);
}

void metrics_print_cache(const struct cache_stats *s, struct buf *out)
{
	/* Each a field of struct cache_stats: a uint64_t, or a double ratio. */
	static const struct {
		const char *name, *type, *help;
		size_t offset;
		int ratio;
	} m[] = {
#define U(f) offsetof(struct cache_stats, f), 0
#define R(f) offsetof(struct cache_stats, f), 1
		{ "strata_cache_layer_hits_total", "counter", "Layers a pull or mount found stored.", U(hits) },
		{ "strata_cache_layer_misses_total", "counter", "Layers a pull or mount had to fetch.", U(misses) },
		{ "strata_cache_layers", "gauge", "Layers whose content is stored.", U(layers) },
		{ "strata_cache_layers_compressed_bytes", "gauge", "Compressed size of the stored layers.",
		  U(compressed_bytes) },
		{ "strata_cache_chunks", "gauge", "Distinct chunks stored.", U(chunks) },
		{ "strata_cache_logical_bytes", "gauge", "Uncompressed size of the stored layers.", U(logical_bytes) },
		{ "strata_cache_store_bytes", "gauge", "Bytes the store takes on disk.", U(store_bytes) },
		{ "strata_cache_budget_bytes", "gauge", "The store's budget (0: none).", U(budget) },
		{ "strata_cache_evictions_total", "counter", "Layers evicted.", U(evictions) },
		{ "strata_cache_evicted_bytes_total", "counter", "Bytes freed by evictions.", U(bytes_evicted) },
		{ "strata_cache_verify_runs_total", "counter", "cache verify runs since the daemon started.",
		  U(verify_runs) },
		{ "strata_cache_verify_failures_total", "counter",
		  "Chunks cache verify found corrupt or missing, since the daemon started.", U(verify_bad_chunks) },
		{ "strata_cache_dedup_ratio", "gauge", "Content bytes per unique chunk byte.", R(dedup_ratio) },
		{ "strata_cache_compression_ratio", "gauge", "Unique chunk bytes per stored chunk byte.",
		  R(compression_ratio) },
#undef U
#undef R
	};
	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		head(out, m[i].name, m[i].type, m[i].help);
		const char *field = (const char *)s + m[i].offset;
		if (m[i].ratio)
			buf_addf(out, "%s %.4f\n", m[i].name, *(const double *)field);
		else
			buf_addf(out, "%s %lld\n", m[i].name, (long long)*(const uint64_t *)field);
	}
}

/* A counter with one sample per label value: name{label="labels[i]"} v[i]. */
static void labelled(struct buf *out, const char *name, const char *help, const char *label,
		     const char *const *labels, const uint64_t *v, int n)
{
	head(out, name, "counter", help);
	for (int i = 0; i < n; i++)
		buf_addf(out, "%s{%s=\"%s\"} %llu\n", name, label, labels[i], (unsigned long long)v[i]);
}

void metrics_print_refetch(const struct refetch_stats *s, struct buf *out)
{
	head(out, "strata_refetch_spans_total", "counter",
	     "Range requests that brought chunks that were not stored (mapped eStargz layers).");
	buf_addf(out, "strata_refetch_spans_total %llu\n", (unsigned long long)s->spans);
	head(out, "strata_refetch_bytes_total", "counter", "Compressed bytes those requests brought.");
	buf_addf(out, "strata_refetch_bytes_total %llu\n", (unsigned long long)s->bytes);
	head(out, "strata_refetch_chunks_total", "counter", "Chunks stored from them, each checked against its id.");
	buf_addf(out, "strata_refetch_chunks_total %llu\n", (unsigned long long)s->chunks);
	head(out, "strata_refetch_ahead_total", "counter", "Spans fetched ahead of a sequential reader.");
	buf_addf(out, "strata_refetch_ahead_total %llu\n", (unsigned long long)s->ahead);
	head(out, "strata_refetch_failures_total", "counter",
	     "Range fetches that failed (registry gone or stalled, bytes that do not decode or match): reads answered EIO.");
	buf_addf(out, "strata_refetch_failures_total %llu\n", (unsigned long long)s->failures);
	head(out, "strata_refetch_seconds_total", "counter", "Time spent in successful Range fetches, decoding included.");
	buf_addf(out, "strata_refetch_seconds_total %.6f\n", (double)s->latency_ns / 1e9);
}

void metrics_print_shared(const struct sharedmemo_stats *st, struct buf *out)
{
	static const char *const kinds[SHAREDMEMO_KINDS] = { "result", "report" };
	static const char *const ops[SHAREDMEMO_OPS] = { "read", "write" };
	const char *reasons[MEMOVAL_REJECTS];
	for (int w = 0; w < MEMOVAL_REJECTS; w++)
		reasons[w] = memoval_reject_name(w);
	head(out, "strata_shared_memo_up", "gauge",
	     "1 while the shared memo (memo.redis) answers, 0 from a failed call until one succeeds.");
	buf_addf(out, "strata_shared_memo_up %d\n", st->up);
	labelled(out, "strata_shared_memo_hits_total", "Values found in the shared memo, by kind.", "kind", kinds,
		 st->hits, SHAREDMEMO_KINDS);
	labelled(out, "strata_shared_memo_misses_total", "Values asked of the shared memo and not there, by kind.",
		 "kind", kinds, st->misses, SHAREDMEMO_KINDS);
	labelled(out, "strata_shared_memo_rejected_total",
		 "Values read from the shared memo and refused, by reason: malformed, checksum (damaged), unsigned, "
		 "signature (another key, or forged), unverifiable (signed, and no key here).",
		 "reason", reasons + 1, st->rejected + 1, MEMOVAL_REJECTS - 1);
	labelled(out, "strata_shared_memo_errors_total",
		 "Calls to the shared memo that failed (unreachable, timed out, not Redis), by direction.", "op", ops,
		 st->errors, SHAREDMEMO_OPS);
	labelled(out, "strata_shared_memo_skipped_total",
		 "Calls to the shared memo not made during an outage (it is probed once a second), by direction.", "op",
		 ops, st->skipped, SHAREDMEMO_OPS);
	single(out, "strata_shared_memo_outages_total", "counter",
	       "Times the shared memo stopped answering.", st->outages);
	single(out, "strata_shared_memo_written_total", "counter",
	       "Values written to the shared memo.", st->written);
	single(out, "strata_shared_memo_write_refused_total", "counter",
	       "Values the shared memo's server refused to write (full: maxmemory; read-only).", st->write_errors);
	single(out, "strata_shared_memo_dropped_total", "counter",
	       "Values not written: the write queue was full.", st->dropped);
	single(out, "strata_shared_memo_queue_items", "gauge",
	       "Values waiting to be written to the shared memo.", st->queue_items);
	single(out, "strata_shared_memo_queue_bytes", "gauge",
	       "Bytes of the values waiting to be written.", st->queue_bytes);
	head(out, "strata_shared_memo_request_seconds", "histogram",
	     "Duration of calls to the shared memo (one round trip of batched commands), by direction.");
	for (int o = 0; o < SHAREDMEMO_OPS; o++) {
		uint64_t cum = 0;
		for (int b = 0; b < SHAREDMEMO_BUCKETS; b++) {
			cum += st->hist[o][b];
			buf_addf(out, "strata_shared_memo_request_seconds_bucket{op=\"%s\",le=\"%g\"} %llu\n", ops[o],
				 sharedmemo_buckets[b], (unsigned long long)cum);
		}
		buf_addf(out, "strata_shared_memo_request_seconds_bucket{op=\"%s\",le=\"+Inf\"} %llu\n", ops[o],
			 (unsigned long long)st->calls[o]);
		buf_addf(out, "strata_shared_memo_request_seconds_sum{op=\"%s\"} %.6f\n", ops[o], st->seconds[o]);
		buf_addf(out, "strata_shared_memo_request_seconds_count{op=\"%s\"} %llu\n", ops[o],
			 (unsigned long long)st->calls[o]);
	}
}
