/* daemon-cache: the cache endpoints — check the request, call the cache,
 * gc or verify module, reply with JSON.
 *
 *   GET  /v1/cache/stats           cache_stats JSON (and "shared_memo", the shared
 *                                  tier's, when memo.redis is set); ?format=prometheus -> text
 *   GET  /v1/cache/layers          [layer record]
 *   POST /v1/cache/prune           {max_size?, older_than?, all?, dry_run?} -> report   (admin)
 *   POST /v1/cache/gc              -> report                                             (admin)
 *   POST /v1/cache/verify          {repair?} -> report                       (repair: admin) */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "src/base/buf.h"
#include "src/store/cache.h"
#include "src/store/gc.h"
#include "src/store/verify.h"
#include "src/store/sharedmemo.h"
#include "daemon-impl.h"
#include "src/base/log.h"

static void reply_report(struct http_conn *c, int r, json_t *report, const struct strata_error *err)
{
	if (r < 0)
		http_reply_error(c, http_status_of(r), err->msg[0] ? err->msg : strerror(-r));
	else if (!report)
		http_reply_error(c, 500, "out of memory");
	else
		http_reply_json(c, 200, report);
	json_decref(report);
}

/* An optional non-negative integer field; -1 when present but not one. */
static int opt_u64(json_t *body, const char *key, uint64_t *out)
{
	json_t *v = json_object_get(body, key);
	*out = 0;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return -1;
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

/* An optional boolean field; -1 when present but not one. */
static int opt_bool(json_t *body, const char *key, int *out)
{
	json_t *v = json_object_get(body, key);
	*out = 0;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_boolean(v))
		return -1;
	*out = json_is_true(v);
	return 0;
}

static json_t *stats_json(const struct cache_stats *s)
{
	json_t *o = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f, s:f, s:I, s:I, s:I, s:I}",
			      "cache_hits", (json_int_t)s->hits, "cache_misses", (json_int_t)s->misses,
			      "record_count", (json_int_t)s->layers,
			      "record_total_size", (json_int_t)s->compressed_bytes,
			      "chunk_count", (json_int_t)s->chunks, "logical_bytes", (json_int_t)s->logical_bytes,
			      "content_bytes", (json_int_t)s->content_bytes, "unique_bytes", (json_int_t)s->unique_bytes,
			      "stored_bytes", (json_int_t)s->store_bytes,
			      "chunk_file_bytes", (json_int_t)s->chunk_file_bytes,
			      "dedup_ratio", s->dedup_ratio, "compression_ratio", s->compression_ratio,
			      "budget", (json_int_t)s->budget,
			      "evictions", (json_int_t)s->evictions, "bytes_evicted", (json_int_t)s->bytes_evicted,
			      "index_bytes", (json_int_t)s->index_bytes);
	json_object_set_new(o, "mapped_layers", json_integer((json_int_t)s->mapped_layers));
	json_object_set_new(o, "map_bytes", json_integer((json_int_t)s->map_bytes));
	json_object_set_new(o, "verify_runs", json_integer((json_int_t)s->verify_runs));
	json_object_set_new(o, "verify_bad_chunks", json_integer((json_int_t)s->verify_bad_chunks));
	return o;
}

void daemon_cache_stats(void *ctx, const struct http_request *req, json_t *body, struct http_conn *c)
{
	struct cache_stats stats;
	char fmt[32];
	(void)body;
	int got = http_query_param(req, "format", fmt, sizeof(fmt));
	if (got < 0 && got != -ENOENT) {
		http_need_param(req, c, "cache stats", "format", fmt, sizeof(fmt));
		return;
	}
	if (got == 0 && strcmp(fmt, "json")) {
		if (strcmp(fmt, "prometheus")) {
			http_reply_error(c, 400, "cache stats: format must be 'json' or 'prometheus'");
			return;
		}
		struct buf b = BUF_INIT;
		cache_get_stats(((struct daemon *)ctx)->st->cache, &stats);
		metrics_print_cache(&stats, &b);
		http_reply(c, 200, "text/plain; version=0.0.4", b.data, b.len);
		buf_release(&b);
		return;
	}
	struct daemon *d = ctx;
	cache_get_stats(d->st->cache, &stats);
	json_t *st = stats_json(&stats);
	if (st && d->shared) {
		struct sharedmemo_stats ss;
		sharedmemo_get_stats(d->shared, &ss);
		json_object_set_new(st, "shared_memo", sharedmemo_stats_json(&ss));
	}
	reply_report(c, 0, st, NULL);
}

void daemon_cache_layers(void *ctx, const struct http_request *req, json_t *body, struct http_conn *c)
{
	(void)req;
	(void)body;
	reply_report(c, 0, cache_layers(((struct daemon *)ctx)->st->cache), NULL);
}

void daemon_cache_prune(void *ctx, const struct http_request *req, json_t *body, struct http_conn *c)
{
	struct cache *cache = ((struct daemon *)ctx)->st->cache;
	(void)req;
	struct cache_prune_opts o = { 0 };
	struct strata_error err = STRATA_ERROR_INIT;
	json_t *report = NULL;
	if (opt_u64(body, "max_size", &o.max_size) < 0 || opt_u64(body, "older_than", &o.older_than) < 0 ||
	    opt_bool(body, "all", &o.all) < 0 || opt_bool(body, "dry_run", &o.dry_run) < 0) {
		http_reply_error(c, 400, "cache prune: 'max_size' and 'older_than' must be non-negative integers, "
				 "'all' and 'dry_run' booleans");
		return;
	}
	if (!o.max_size && !o.older_than && !o.all) {
		http_reply_error(c, 400, "cache prune: give 'max_size', 'older_than' or 'all'");
		return;
	}
	int r = cache_prune(cache, &o, &report, &err);
	if (r == 0 && !o.dry_run)
		log_info("cache prune: %lld layers evicted, %lld bytes freed",
			 (long long)json_integer_value(json_object_get(report, "layers")),
			 (long long)json_integer_value(json_object_get(report, "bytes_freed")));
	reply_report(c, r, report, &err);
}

void daemon_cache_gc(void *ctx, const struct http_request *req, json_t *body, struct http_conn *c)
{
	struct store *st = ((struct daemon *)ctx)->st;
	(void)req;
	(void)body;
	struct strata_error err = STRATA_ERROR_INIT;
	json_t *report = NULL;
	int r = gc_run(st, &report, &err);
	if (r == 0)
		log_info("cache gc: %lld bytes freed",
			 (long long)json_integer_value(json_object_get(report, "bytes_freed")));
	reply_report(c, r, report, &err);
}

void daemon_cache_verify(void *ctx, const struct http_request *req, json_t *body, struct http_conn *c)
{
	struct daemon *d = ctx;
	struct strata_error err = STRATA_ERROR_INIT;
	json_t *report = NULL;
	int repair;
	if (opt_bool(body, "repair", &repair) < 0) {
		http_reply_error(c, 400, "cache verify: 'repair' must be a boolean");
		return;
	}
	/* Reading is everybody's; repairing removes what others use. */
	struct caller who;
	daemon_caller(d, req, &who);
	if (repair && who.role < CALLER_ADMIN) {
		daemon_refuse(d, &who, c, "cache verify --repair", "it needs root or daemon.admin_group");
		return;
	}
	int r = verify_run(d->st, repair, &report, &err);
	if (r == 0 && !json_is_true(json_object_get(report, "clean")))
		log_warn("cache verify: %zu corrupt and %zu missing chunks%s",
			 json_array_size(json_object_get(report, "corrupt")),
			 json_array_size(json_object_get(report, "missing")), repair ? " (repaired)" : "");
	reply_report(c, r, report, &err);
}
