/* httpd: a small HTTP/1.1 server on a Unix socket — the transport of the
 * store daemon's API (private to src/). One thread per connection, bounded;
 * keep-alive; whole request bodies read before the handler runs; responses
 * either whole (Content-Length) or streamed (chunked, flushed per write).
 *
 * Input is treated as untrusted: the request head is capped (431), bodies
 * are capped (413), Content-Length and chunked request bodies are both
 * accepted (both at once is 400), idle and slow connections time out (408
 * or a silent close), and every request that arrives whole gets exactly one
 * response — a handler that returns without replying produces a 500. */
#ifndef STRATA_HTTPD_H
#define STRATA_HTTPD_H

#include <stddef.h>
#include <sys/types.h>

#include <jansson.h>

#include "src/base/error.h"

struct httpd;
struct http_conn;   /* the response side of one request */

struct http_header {
	const char *name;   /* as sent; compare case-insensitively */
	const char *value;  /* without surrounding white space */
};

struct http_request {
	const char *method;    /* "GET", "POST", ...: upper-case letters only */
	const char *path;      /* raw, still percent-encoded, without the query: "/v1/images/a%2Fb" */
	const char *query;     /* raw, after '?'; "" if none */
	const char *body;      /* the whole body, NUL-terminated; "" if none */
	size_t body_len;
	uid_t peer_uid;        /* from SO_PEERCRED */
	pid_t peer_pid;
	gid_t peer_gid;
	const gid_t *peer_groups; /* supplementary groups (SO_PEERGROUPS) */
	size_t n_peer_groups;
	const int *fds;        /* passed with the request; closed after the handler */
	size_t n_fds;
	int http_minor;        /* 0 for HTTP/1.0, 1 for HTTP/1.1 */
	const struct http_header *headers;
	size_t n_headers;
};

typedef void (*http_handler_fn)(void *ctx, const struct http_request *req, json_t *body, struct http_conn *c);

enum http_body {
	HTTP_BODY_NONE,   /* a request with a body is refused (413) */
	HTTP_BODY_JSON,   /* a JSON object, parsed for the handler (else 400) */
	HTTP_BODY_RAW,    /* bytes, as they came (req->body) */
};

/* One entry of the route table. A request is matched on method and path
 * before anything past its head is read. */
struct http_route {
	const char *method;     /* "GET" (also serves HEAD), "POST", ...; NULL: any */
	const char *path;       /* exactly, or every path below it when it ends in '/' */
	enum http_body body;
	size_t max_body;        /* bytes, for HTTP_BODY_JSON and HTTP_BODY_RAW */
	int access;             /* the server's user reads it (admit below) */
	http_handler_fn fn;
};

/* Limits and timeouts; a field left 0 takes the default in brackets. */
struct httpd_options {
	unsigned max_conns;          /* connections served at once; beyond them 503 [256] */
	unsigned max_conns_per_uid;  /* of one caller (uid) [64] */
	size_t max_head;             /* request line + headers, bytes [16 KiB] */
	unsigned head_timeout_ms;    /* a request's head and body must arrive within this [60 s] */
	unsigned idle_timeout_ms;    /* a connection idle between requests is closed [60 s] */
	unsigned write_timeout_ms;   /* a client reading nothing for this long is dropped [60 s] */
	int set_group;               /* give the socket file this group: */
	gid_t group;
	/* Called for a matched route before its body is read: 0 serves it; a
	 * negative return means admit answered (a refusal). NULL: all pass. */
	int (*admit)(void *ctx, const struct http_route *route, const struct http_request *req,
		     struct http_conn *c);
	/* Called when a connection is refused for being one too many. */
	void (*refused)(void *ctx, uid_t uid);
};

/* Listens on path, chmod'ed to mode, and serves routes[0..n) (the first
 * match wins) from connection threads with ctx (so the handlers must be
 * thread-safe). A socket file nobody answers on is a leftover and is
 * replaced; one that answers gives -EADDRINUSE "socket '<path>' is in use
 * by another daemon". Returns once listening; *out is freed with
 * httpd_stop(). opts may be NULL. */
int httpd_start(const char *path, mode_t mode, const struct httpd_options *opts, const struct http_route *routes,
		size_t n_routes, void *ctx, struct httpd **out, struct strata_error *err);
/* Stops accepting, closes idle connections, waits for the handlers in flight
 * (which see http_conn_closed() == 1 from now on), unlinks the socket if it
 * is still ours, frees h. NULL is fine. */
void httpd_stop(struct httpd *h);

/* Case-insensitive; the first header of that name, or NULL. */
const char *http_header(const struct http_request *r, const char *name);
/* The percent-decoded value ('+' is a space) of the first query parameter
 * name into out: 0, -ENOENT if absent, -EINVAL if malformed (bad escape,
 * NUL byte), -ENAMETOOLONG if it does not fit in outlen (with its NUL). A
 * parameter without '=' has the value "". */
int http_query_param(const struct http_request *r, const char *name, char *out, size_t outlen);
/* The same, answering the request for the caller when the parameter is
 * absent ("<what>: no '<name>' given"), malformed or too long (400 each,
 * saying which): 0, or negative when it replied. */
int http_need_param(const struct http_request *r, struct http_conn *c, const char *what, const char *name,
		    char *out, size_t outlen);
/* Percent-decodes seg, which must be exactly one path segment (no raw '/',
 * not empty), e.g. the tail of "/v1/images/docker.io%2Flibrary%2Falpine":
 * 0, -EINVAL if malformed, -ENAMETOOLONG if it does not fit in outlen. */
int http_path_segment(const char *seg, char *out, size_t outlen);

/* A connection is valid until the handler returns. Calls on one
 * connection from several threads must be serialised by the caller.
 * Every reply function returns 0, -EALREADY if a response was already
 * begun, or -EPIPE / -ETIMEDOUT if the client went away or stopped
 * reading (the connection is then closed after the handler returns).
 * HEAD requests get the head of the response only. */
int http_reply(struct http_conn *c, int status, const char *content_type, const void *body, size_t len);
/* v serialised compactly plus a newline; does not steal v. */
int http_reply_json(struct http_conn *c, int status, json_t *v);
/* {"error": msg} with status. */
int http_reply_error(struct http_conn *c, int status, const char *msg);
/* The status for a negative errno, the inverse of the client's mapping:
 * -ENOENT 404, -EINVAL 400, -EACCES and -EPERM 403, -EBUSY 409, -EAGAIN 503,
 * -ENOSPC 507, else 500. */
int http_status_of(int negative_errno);

/* Streaming: chunked transfer encoding (or until-close to an HTTP/1.0
 * client), each write sent at once, for NDJSON progress. A stream the
 * handler does not end is ended for it. Writes of 0 bytes do nothing. */
int http_stream_begin(struct http_conn *c, int status, const char *content_type);
int http_stream_write(struct http_conn *c, const void *data, size_t len);
int http_stream_end(struct http_conn *c);

/* 1 once the client has hung up, a write to it failed or the server is
 * stopping, so a long handler can give up early; 0 otherwise. */
int http_conn_closed(struct http_conn *c);

#endif
