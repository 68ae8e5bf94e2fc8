/* daemon-analysis: HTTP handlers of the analysis memo (memo.h).
 *
 *   POST /v1/analysis/lookup   {keys: [key]}            -> {results: {key: value}}
 *   POST /v1/analysis/store    {results: {key: value}}  -> {stored: n}
 *   GET  /v1/analysis/report?digest=D&config=C          -> report | 404
 *   POST /v1/analysis/report   {digest, config, report} -> {}
 *   POST /v1/analysis/observe  {seconds, cached, ok}    -> {}  (for /metrics)
 */
#ifndef STRATA_DAEMON_ANALYSIS_H
#define STRATA_DAEMON_ANALYSIS_H

#include <jansson.h>

#include "httpd.h"
#include "metrics.h"
#include "store.h"

/* 1 when req was one of these endpoints (and has been answered), else 0. */
int daemon_analysis_route(struct store *st, struct metrics *metrics, const struct http_request *req,
			  json_t *body, struct http_conn *c);

#endif
