/* httpd-impl: what httpd.c (connections) and httpd-parse.c (the request
 * parser) share; private to them and to the parser's fuzz target. */
#ifndef STRATA_HTTPD_IMPL_H
#define STRATA_HTTPD_IMPL_H

#include <stdint.h>

#include "httpd.h"

#define HTTPD_MAX_HEADERS 100

/* What the head of one request says about how to answer it. */
struct http_head {
	int minor;      /* HTTP/1.<minor>; 1 until the request line is parsed */
	int head_only;  /* a HEAD request: no response body */
	struct http_header hdrs[HTTPD_MAX_HEADERS];
	size_t n_hdrs;
};

/* The error response owed for a request that cannot be served; status 0
 * when the client is gone and nobody is left to answer. */
struct http_perr {
	int status;
	const char *msg; /* static text */
};

static inline int http_fail(struct http_perr *e, int status, const char *msg)
{
	e->status = status;
	e->msg = msg;
	return -1;
}

/* Parses a head (request line and headers up to and including the empty
 * line, NUL-terminated, free of NUL bytes) in place: method, path, query
 * and headers of req point into it. 0, or -1 with *e set. */
int httpd_parse_head(char *head, struct http_head *hd, struct http_request *req, struct http_perr *e);
/* How the body is framed: chunked, or *length bytes (0 when no body). */
int httpd_parse_framing(const struct http_head *hd, const struct http_request *req, int *chunked,
			uint64_t *length, struct http_perr *e);
/* A chunk-size line without its line end: 0, or -EINVAL. */
int httpd_parse_chunk_size(const char *line, uint64_t *size);
/* Whether a comma-separated header value (may be NULL) lists token. */
int httpd_has_token(const char *value, const char *token);

#endif
