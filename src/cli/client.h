/* client: the CLI's side of the store daemon's API — JSON over HTTP/1.1 on
 * the daemon's Unix socket, written by hand (private to src/). A client is
 * used by one thread at a time; it keeps its connection open between calls.
 * A request can carry open file descriptors (SCM_RIGHTS): how a caller hands
 * the daemon a local file it may read. */
#ifndef STRATA_CLIENT_H
#define STRATA_CLIENT_H

#include <jansson.h>

#include "src/base/buf.h"
#include "src/base/error.h"

struct client;

/* At most this many descriptors go with one request. */
#define CLIENT_MAX_FDS 4

/* Does not connect yet. Free with client_free(). */
int client_open(const char *socket_path, struct client **out, struct strata_error *err);
void client_free(struct client *c);
/* The total time a client_call() may take, in seconds; 0 means no limit
 * (for calls that can pull, like a mount). Default 120. Connecting always
 * times out after a few seconds; client_stream() has no total limit. */
void client_set_timeout(struct client *c, long seconds);

/* Sends method and path ("/v1/images", already escaped) with body (may be
 * NULL; not stolen) as JSON. On 2xx returns 0 with the status in *status
 * and the body parsed in *out (NULL if it is not JSON; json_decref() it).
 * status and out may be NULL. Failures, with *out NULL:
 *   -ENOENT / -ECONNREFUSED  "cannot reach the strata daemon at '<path>': ..."
 *   -ETIMEDOUT, -ECONNRESET  the daemon did not answer in time / hung up
 *   503 -EAGAIN              "the strata daemon at '<path>' is busy: ..."
 *   non-2xx                  the daemon's {"error"} text verbatim, with
 *                            404 -ENOENT, 400 -EINVAL, 403 -EACCES, 409 -EBUSY,
 *                            507 -ENOSPC, anything else -EIO */
int client_call(struct client *c, const char *method, const char *path, json_t *body, int *status,
		json_t **out, struct strata_error *err);

/* The descriptors fds[0..n) (borrowed: the caller closes them after the
 * call) go with the next request; the daemon finds them by index. -E2BIG
 * past CLIENT_MAX_FDS. */
int client_attach_fds(struct client *c, const int *fds, size_t n);

/* Same, with the request's JSON already text: body (len bytes, not stolen). */
int client_call_body(struct client *c, const char *method, const char *path, const char *body, size_t len,
		     int *status, json_t **out, struct strata_error *err);

/* Same, without a request body, for a response that is not JSON (a file
 * listing, /metrics): the body is appended to out. */
int client_call_text(struct client *c, const char *method, const char *path, int *status, struct buf *out,
		     struct strata_error *err);
/* Same, with a JSON request body (may be NULL; not stolen). */
int client_call_json_text(struct client *c, const char *method, const char *path, json_t *body, int *status,
			  struct buf *out, struct strata_error *err);

/* Same as client_call, for a response of NDJSON events: on_line(ctx, event)
 * is called for every line as it arrives, the last one included (event is
 * borrowed; a negative return aborts the call with that value), and the
 * last line is returned in *out (json_decref() it). A last line that is an
 * object with an "error" string fails the call with that text, and -EIO or
 * the errno of its optional integer "status" (mapped as above). on_line
 * may be NULL. No total time limit. */
int client_stream(struct client *c, const char *method, const char *path, json_t *body,
		  int (*on_line)(void *ctx, json_t *event), void *ctx, json_t **out, struct strata_error *err);

/* Percent-encodes s as one path segment: everything but A-Z a-z 0-9 - . _ ~
 * (and "." or ".." whole, which URL parsers would fold). malloc'd: free()
 * it; NULL when out of memory. */
char *client_escape(const char *s);

#endif
