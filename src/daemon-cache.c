/* daemon-cache: HTTP handlers of the cache endpoints — check the request,
 * call the cache module, reply with its JSON. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "buf.h"
#include "daemon-cache.h"
#include "log.h"

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

static void handle_stats(struct cache *cache, const struct http_request *req, struct http_conn *c)
{
	char fmt[32];
	if (http_query_param(req, "format", fmt, sizeof(fmt)) == 0 && strcmp(fmt, "json")) {
		if (strcmp(fmt, "prometheus")) {
			http_reply_error(c, 400, "cache stats: format must be 'json' or 'prometheus'");
			return;
		}
		struct buf b = BUF_INIT;
		if (cache_stats_prometheus(cache, &b) < 0)
			http_reply_error(c, 500, "out of memory");
		else
			http_reply(c, 200, "text/plain; version=0.0.4", b.data, b.len);
		buf_release(&b);
		return;
	}
	json_t *st = cache_stats(cache);
	reply_report(c, 0, st, NULL);
}

static void handle_prune(struct cache *cache, json_t *body, struct http_conn *c)
{
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

static void handle_gc(struct cache *cache, struct http_conn *c)
{
	struct strata_error err = STRATA_ERROR_INIT;
	json_t *report = NULL;
	int r = cache_gc(cache, &report, &err);
	if (r == 0)
		log_info("cache gc: %lld bytes freed",
			 (long long)json_integer_value(json_object_get(report, "bytes_freed")));
	reply_report(c, r, report, &err);
}

static void handle_verify(struct cache *cache, json_t *body, struct http_conn *c)
{
	struct strata_error err = STRATA_ERROR_INIT;
	json_t *report = NULL;
	int repair;
	if (opt_bool(body, "repair", &repair) < 0) {
		http_reply_error(c, 400, "cache verify: 'repair' must be a boolean");
		return;
	}
	int r = cache_verify(cache, repair, &report, &err);
	if (r == 0 && !json_is_true(json_object_get(report, "clean")))
		log_warn("cache verify: %zu corrupt and %zu missing chunks%s",
			 json_array_size(json_object_get(report, "corrupt")),
			 json_array_size(json_object_get(report, "missing")), repair ? " (repaired)" : "");
	reply_report(c, r, report, &err);
}

int daemon_cache_route(struct cache *cache, const struct http_request *req, json_t *body, struct http_conn *c)
{
	static const struct {
		const char *path, *method;
	} routes[] = {
		{ "/v1/cache/stats", "GET" }, { "/v1/cache/layers", "GET" }, { "/v1/cache/prune", "POST" },
		{ "/v1/cache/gc", "POST" }, { "/v1/cache/verify", "POST" },
	};
	const char *p = req->path, *m = req->method;
	size_t i, n = sizeof(routes) / sizeof(routes[0]);
	if (strncmp(p, "/v1/cache/", 10))
		return 0;
	for (i = 0; i < n && strcmp(p, routes[i].path); i++)
		;
	if (i == n) {
		http_reply_error(c, 404, "no such endpoint");
		return 1;
	}
	/* HEAD is served as GET by httpd (head only). */
	if (strcmp(m, routes[i].method) && !(!strcmp(m, "HEAD") && !strcmp(routes[i].method, "GET"))) {
		http_reply_error(c, 405, "method not allowed");
		return 1;
	}
	if (!cache) {
		http_reply_error(c, 503, "the store has no cache accounting");
		return 1;
	}
	switch (i) {
	case 0: handle_stats(cache, req, c); break;
	case 1: reply_report(c, 0, cache_layers(cache), NULL); break;
	case 2: handle_prune(cache, body, c); break;
	case 3: handle_gc(cache, c); break;
	default: handle_verify(cache, body, c); break;
	}
	return 1;
}
