/* daemon-analysis: HTTP handlers of the analysis memo (memo.h).
 *
 *   POST /v1/analysis/lookup   {keys: [key]}            -> {results: {key: value}}
 *   POST /v1/analysis/store    {results: {key: value}}  -> {stored: n}
 *   GET  /v1/analysis/report?digest=D&config=C          -> report | 404
 *   POST /v1/analysis/report?digest=D&config=C  report  -> {}
 *   POST /v1/analysis/observe  {seconds, cached, ok}    -> {}  (for /metrics)
 *
 * A report travels as the text of a JSON object, stored and returned as it
 * came (daemon_analysis_report_route, before the body is parsed). A lookup
 * body as strata analyze sends it is read without the JSON parser
 * (daemon_analysis_lookup_route, also before). */
#ifndef STRATA_DAEMON_ANALYSIS_H
#define STRATA_DAEMON_ANALYSIS_H

#include <jansson.h>

#include "httpd.h"
#include "metrics.h"
#include "store.h"

/* 1 when req was GET or POST /v1/analysis/report (and has been answered). */
int daemon_analysis_report_route(struct store *st, const struct http_request *req, struct http_conn *c);
/* 1 when req was POST /v1/analysis/lookup with plain keys (and has been
 * answered); 0 leaves any other body to daemon_analysis_route. */
int daemon_analysis_lookup_route(struct store *st, const struct http_request *req, struct http_conn *c);
/* 1 when req was one of the others (and has been answered), else 0. */
int daemon_analysis_route(struct store *st, struct metrics *metrics, const struct http_request *req,
			  json_t *body, struct http_conn *c);

#endif
