/* daemon-cache: the store daemon's cache endpoints (private to the daemon).
 *
 *   GET  /v1/cache/stats           cache_stats JSON; ?format=prometheus -> text
 *   GET  /v1/cache/layers          [layer record]
 *   POST /v1/cache/prune           {max_size?, older_than?, all?, dry_run?} -> report
 *   POST /v1/cache/gc              -> report
 *   POST /v1/cache/verify          {repair?} -> report
 * Errors: {"error"} with 400 (bad body), 404 (no such endpoint), 405 (wrong
 * method), 409 (busy), 503 (the store has no cache), 507 (over budget). */
#ifndef STRATA_DAEMON_CACHE_H
#define STRATA_DAEMON_CACHE_H

#include <jansson.h>

#include "cache.h"
#include "httpd.h"

/* For a request whose path starts with "/v1/cache/": replies and returns 1.
 * Any other path: returns 0 without replying. body is the parsed request
 * body (NULL if none; borrowed). cache may be NULL (replies 503). */
int daemon_cache_route(struct cache *cache, const struct http_request *req, json_t *body, struct http_conn *c);

#endif
