/* httpd: HTTP/1.1 over a Unix socket for the store daemon's API. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "src/base/buf.h"
#include "httpd.h"
#include "httpd-impl.h"
#include "src/base/log.h"
#include "src/base/util.h"

#define MAX_CHUNK_LINE 1024
/* After an error response, what the client still sends is read and dropped
 * for a while so that it sees the response rather than a reset. */
#define LINGER_MS 1000
#define LINGER_BYTES (4u << 20)
/* Descriptors one request may carry; more are closed on arrival. */
#define MAX_FDS 4
/* Supplementary groups of a caller that are looked at. */
#define MAX_GROUPS 64
/* Refused connections kept open a moment so that the client can write its
 * request and read the 503 instead of failing on a closed socket. */
#define REFUSED_MAX 64
#define REFUSED_MS 500
/* After a request this large, give the memory back to the system. */
#define TRIM_BYTES (1u << 20)

enum resp_state { RESP_NONE, RESP_DONE, RESP_STREAM, RESP_ENDED };

struct httpd {
	int lfd;
	int wake[2];               /* readable once stopping: wakes every poll */
	char *path;
	dev_t dev;                 /* of the socket file we bound, so that */
	ino_t ino;                 /* stop unlinks only ours */
	struct httpd_options o;
	const struct http_route *routes;
	size_t n_routes;
	void *ctx;
	pthread_t acceptor;
	pthread_mutex_t lock;      /* protects nconns, the per-uid counts and zombies */
	pthread_cond_t idle;       /* signalled when a connection ends */
	unsigned nconns;
	struct uid_count { uid_t uid; unsigned n; } *per_uid; /* max_conns slots, n == 0 free */
	struct http_conn *zombies; /* ended connection threads, to be joined */
	int stopping;              /* set once; read with __atomic */
	/* Refused connections draining; only the accept thread touches them. */
	struct refused { int fd; uint64_t until; } refused[REFUSED_MAX];
	size_t n_refused;
};

struct http_conn {
	struct httpd *h;
	struct http_conn *next;    /* in h->zombies */
	pthread_t tid;
	int fd;
	uid_t uid;
	gid_t gid;
	pid_t pid;
	gid_t groups[MAX_GROUPS];
	size_t n_groups;
	int fds[MAX_FDS];          /* received with the current request */
	size_t n_fds;
	char *rbuf;                /* received, not yet consumed: rbuf[rpos..rlen) */
	size_t rpos, rlen, rcap, scanned;
	/* the current request */
	struct http_head hd;
	int keep_alive;
	enum resp_state state;
	int status;
	int broken;                /* a write failed; read and set with __atomic */
};

static const struct httpd_options defaults = {
	.max_conns = 256,
	.max_conns_per_uid = 64,
	.max_head = 16 << 10,
	.head_timeout_ms = 60000,
	.idle_timeout_ms = 60000,
	.write_timeout_ms = 60000,
};

static int is_stopping(const struct httpd *h)
{
	return __atomic_load_n(&h->stopping, __ATOMIC_ACQUIRE);
}

static int ms_left(uint64_t deadline)
{
	uint64_t now = now_ns();
	if (now >= deadline)
		return 0;
	uint64_t ms = (deadline - now + 999999) / 1000000;
	return ms > INT32_MAX ? INT32_MAX : (int)ms;
}

static uint64_t deadline_in(unsigned ms)
{
	return now_ns() + (uint64_t)ms * 1000000;
}

static const char *reason(int status)
{
	switch (status) {
	case 100: return "Continue";
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 410: return "Gone";
	case 411: return "Length Required";
	case 413: return "Content Too Large";
	case 415: return "Unsupported Media Type";
	case 417: return "Expectation Failed";
	case 422: return "Unprocessable Content";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	case 507: return "Insufficient Storage";
	default: return status < 300 ? "OK" : status < 500 ? "Client Error" : "Server Error";
	}
}

/* --- reading ------------------------------------------------------------ */

/* Keeps the descriptors that came with a read, up to MAX_FDS a request. */
static void take_fds(struct http_conn *c, struct msghdr *msg)
{
	for (struct cmsghdr *h = CMSG_FIRSTHDR(msg); h; h = CMSG_NXTHDR(msg, h)) {
		if (h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS)
			continue;
		size_t n = (h->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int fd;
			memcpy(&fd, CMSG_DATA(h) + i * sizeof(int), sizeof(int));
			if (c->n_fds < MAX_FDS)
				c->fds[c->n_fds++] = fd;
			else
				close(fd);
		}
	}
}

static void drop_fds(struct http_conn *c)
{
	for (size_t i = 0; i < c->n_fds; i++)
		close(c->fds[i]);
	c->n_fds = 0;
}

/* read(2), but descriptors passed with the bytes are kept too. */
static ssize_t conn_recv(struct http_conn *c, void *data, size_t len)
{
	union {
		struct cmsghdr h;
		char space[CMSG_SPACE(sizeof(int) * MAX_FDS)];
	} u;
	struct iovec iov = { data, len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.space,
			      .msg_controllen = sizeof(u.space) };
	ssize_t n = recvmsg(c->fd, &msg, MSG_CMSG_CLOEXEC);
	if (n >= 0 && msg.msg_controllen)
		take_fds(c, &msg);
	return n;
}

/* Reads at most cap bytes into dst before deadline: bytes read, 0 at end
 * of file, -ETIMEDOUT, -ESHUTDOWN when the server stops, -errno. */
static int conn_wait_recv(struct http_conn *c, char *dst, size_t cap, uint64_t deadline)
{
	if (cap > INT_MAX)
		cap = INT_MAX;
	for (;;) {
		struct pollfd p[2] = { { c->fd, POLLIN, 0 }, { c->h->wake[0], POLLIN, 0 } };
		int left = ms_left(deadline);
		if (!left)
			return -ETIMEDOUT;
		int n = poll(p, 2, left);
		if (n < 0 && errno != EINTR)
			return -errno;
		/* Stopping: what has arrived is still read (a request sent before
		 * the stop is answered), but nobody is waited for any more. */
		if (p[1].revents && !p[0].revents)
			return -ESHUTDOWN;
		if (n <= 0)
			continue;
		ssize_t got = conn_recv(c, dst, cap);
		if (got >= 0)
			return (int)got;
		if (errno != EAGAIN && errno != EINTR)
			return -errno;
	}
}

/* Reads more into rbuf (which must have room) before deadline, as
 * conn_wait_recv. */
static int conn_fill(struct http_conn *c, uint64_t deadline)
{
	int r = conn_wait_recv(c, c->rbuf + c->rlen, c->rcap - c->rlen, deadline);
	if (r > 0)
		c->rlen += (size_t)r;
	return r;
}

static void conn_compact(struct http_conn *c)
{
	if (c->rpos) {
		memmove(c->rbuf, c->rbuf + c->rpos, c->rlen - c->rpos);
		c->rlen -= c->rpos;
		c->scanned = c->scanned > c->rpos ? c->scanned - c->rpos : 0;
		c->rpos = 0;
	}
}

/* One line (without its "\r\n") of at most max bytes; *line stays valid
 * until the next read. -E2BIG if longer, -EPIPE at end of file. */
static int conn_readline(struct http_conn *c, size_t max, uint64_t deadline, char **line, size_t *len)
{
	for (;;) {
		char *start = c->rbuf + c->rpos;
		char *nl = memchr(start, '\n', c->rlen - c->rpos);
		if (nl) {
			size_t n = (size_t)(nl - start);
			c->rpos += n + 1;
			if (n && start[n - 1] == '\r')
				n--;
			*nl = '\0';
			start[n] = '\0';
			*line = start;
			*len = n;
			return 0;
		}
		if (c->rlen - c->rpos >= max)
			return -E2BIG;
		conn_compact(c);
		int r = conn_fill(c, deadline);
		if (r == 0)
			return -EPIPE;
		if (r < 0)
			return r;
	}
}

static int conn_read_body(struct http_conn *c, size_t n, struct buf *body, uint64_t deadline)
{
	/* Room for all of it at once (a report is megabytes: a buffer grown
	 * by doubling copied it twice), read straight into it once what was
	 * read ahead is used up. */
	int r = buf_grow(body, n);
	if (r < 0)
		return r;
	while (n) {
		if (c->rpos == c->rlen && n >= c->rcap) {
			r = conn_wait_recv(c, body->data + body->len, n, deadline);
			if (r == 0)
				return -EPIPE;
			if (r < 0)
				return r;
			buf_setlen(body, body->len + (size_t)r);
			n -= (size_t)r;
			continue;
		}
		if (c->rpos == c->rlen) {
			c->rpos = c->rlen = c->scanned = 0;
			r = conn_fill(c, deadline);
			if (r == 0)
				return -EPIPE;
			if (r < 0)
				return r;
		}
		size_t take = c->rlen - c->rpos < n ? c->rlen - c->rpos : n;
		if ((r = buf_add(body, c->rbuf + c->rpos, take)) < 0)
			return r;
		c->rpos += take;
		n -= take;
	}
	return 0;
}

/* --- writing ------------------------------------------------------------ */

static void mark_broken(struct http_conn *c)
{
	__atomic_store_n(&c->broken, 1, __ATOMIC_RELEASE);
}

static int send_all(struct http_conn *c, const void *data, size_t len)
{
	const char *p = data;
	if (__atomic_load_n(&c->broken, __ATOMIC_ACQUIRE))
		return -EPIPE;
	while (len) {
		ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			/* No stop-wake here: a response in flight is finished. */
			struct pollfd pfd = { c->fd, POLLOUT, 0 };
			int r = poll(&pfd, 1, (int)c->h->o.write_timeout_ms);
			if (r < 0 && errno == EINTR)
				continue;
			if (r == 0) {
				mark_broken(c);
				return -ETIMEDOUT;
			}
			if (r > 0 && !(pfd.revents & (POLLERR | POLLHUP)))
				continue;
		}
		mark_broken(c);
		return -EPIPE;
	}
	return 0;
}

static int send_head(struct http_conn *c, int status, const char *content_type, const char *framing)
{
	struct buf b = BUF_INIT;
	int r = buf_addf(&b, "HTTP/1.%d %d %s\r\n", c->hd.minor, status, reason(status));
	/* The type comes from handlers, but a stray newline would split the head. */
	if (content_type && !strpbrk(content_type, "\r\n"))
		r = r ?: buf_addf(&b, "Content-Type: %s\r\n", content_type);
	if (framing)
		r = r ?: buf_adds(&b, framing);
	if (!c->keep_alive)
		r = r ?: buf_adds(&b, "Connection: close\r\n");
	else if (c->hd.minor == 0)
		r = r ?: buf_adds(&b, "Connection: keep-alive\r\n");
	r = r ?: buf_adds(&b, "\r\n");
	r = r ?: send_all(c, b.data, b.len);
	buf_release(&b);
	return r;
}

int http_reply(struct http_conn *c, int status, const char *content_type, const void *body, size_t len)
{
	char framing[64];
	if (c->state != RESP_NONE)
		return -EALREADY;
	c->state = RESP_DONE;
	c->status = status;
	int bodiless = status == 204 || status == 304 || status < 200;
	if (bodiless)
		len = 0;
	snprintf(framing, sizeof(framing), "Content-Length: %zu\r\n", len);
	int r = send_head(c, status, content_type, bodiless ? NULL : framing);
	if (r == 0 && len && !c->hd.head_only)
		r = send_all(c, body, len);
	return r;
}

int http_reply_json(struct http_conn *c, int status, json_t *v)
{
	char *s = v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
	if (!s)
		return http_reply_error(c, 500, "cannot serialise the response");
	size_t n = strlen(s);
	char *t = realloc(s, n + 2);
	if (!t) {
		free(s);
		return http_reply_error(c, 500, "out of memory");
	}
	t[n] = '\n';
	int r = http_reply(c, status, "application/json", t, n + 1);
	free(t);
	return r;
}

int http_reply_error(struct http_conn *c, int status, const char *msg)
{
	json_t *s = json_string(msg ? msg : "");
	if (!s) {
		/* Not UTF-8 (a path from an image, say): keep the ASCII, mark the rest. */
		char *copy = strdup(msg);
		if (copy)
			for (char *p = copy; *p; p++)
				if ((unsigned char)*p >= 0x80)
					*p = '?';
		s = json_string(copy ? copy : "error");
		free(copy);
	}
	json_t *v = json_object();
	int r;
	if (!s || !v || json_object_set_new(v, "error", s) < 0) {
		json_decref(v);
		static const char oom[] = "{\"error\":\"out of memory\"}\n";
		return http_reply(c, status, "application/json", oom, sizeof(oom) - 1);
	}
	r = http_reply_json(c, status, v);
	json_decref(v);
	return r;
}

int http_need_param(const struct http_request *r, struct http_conn *c, const char *what, const char *name,
		    char *out, size_t outlen)
{
	char msg[256];
	int got = http_query_param(r, name, out, outlen);
	if (got == 0)
		return 0;
	snprintf(msg, sizeof(msg), got == -ENOENT ? "%s: no '%s' given"
				   : got == -ENAMETOOLONG ? "%s: '%s' is too long"
				   : "%s: '%s' is malformed (bad percent escape or NUL byte)", what, name);
	http_reply_error(c, 400, msg);
	return got;
}

int http_stream_begin(struct http_conn *c, int status, const char *content_type)
{
	if (c->state != RESP_NONE)
		return -EALREADY;
	c->state = RESP_STREAM;
	c->status = status;
	if (c->hd.minor == 0)
		c->keep_alive = 0; /* HTTP/1.0 has no chunks: the body ends at close */
	return send_head(c, status, content_type, c->hd.minor ? "Transfer-Encoding: chunked\r\n" : NULL);
}

int http_stream_write(struct http_conn *c, const void *data, size_t len)
{
	if (c->state != RESP_STREAM)
		return -EINVAL;
	if (!len || c->hd.head_only)
		return 0;
	if (!c->hd.minor)
		return send_all(c, data, len);
	struct buf b = BUF_INIT;
	int r = buf_addf(&b, "%zx\r\n", len);
	r = r ?: buf_add(&b, data, len);
	r = r ?: buf_adds(&b, "\r\n");
	r = r ?: send_all(c, b.data, b.len);
	buf_release(&b);
	return r;
}

int http_stream_end(struct http_conn *c)
{
	if (c->state != RESP_STREAM)
		return -EINVAL;
	c->state = RESP_ENDED;
	if (!c->hd.minor || c->hd.head_only)
		return 0;
	return send_all(c, "0\r\n\r\n", 5);
}

int http_conn_closed(struct http_conn *c)
{
	if (__atomic_load_n(&c->broken, __ATOMIC_ACQUIRE) || is_stopping(c->h))
		return 1;
	/* POLLHUP only: a client that half-closed after its request still reads. */
	struct pollfd p = { c->fd, 0, 0 };
	if (poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLERR)))
		return 1;
	return 0;
}

static int body_error(int r, struct http_perr *e)
{
	switch (r) {
	case -EFBIG: return http_fail(e, 413, "request body too large");
	case -ETIMEDOUT: return http_fail(e, 408, "request timed out");
	case -ESHUTDOWN: return http_fail(e, 503, "the server is shutting down");
	case -E2BIG:
	case -EINVAL: return http_fail(e, 400, "malformed chunked body");
	default: return http_fail(e, 0, NULL); /* the client is gone: nobody to answer */
	}
}

static int read_chunked(struct http_conn *c, struct buf *body, size_t max, uint64_t deadline,
			struct http_perr *e)
{
	char *line;
	size_t len;
	int r;
	for (;;) {
		if ((r = conn_readline(c, MAX_CHUNK_LINE, deadline, &line, &len)) < 0)
			return body_error(r, e);
		uint64_t size;
		if (httpd_parse_chunk_size(line, &size) < 0)
			return body_error(-EINVAL, e);
		if (!size)
			break;
		if (size > max - body->len)
			return body_error(-EFBIG, e);
		if ((r = conn_read_body(c, (size_t)size, body, deadline)) < 0)
			return body_error(r, e);
		if ((r = conn_readline(c, MAX_CHUNK_LINE, deadline, &line, &len)) < 0)
			return body_error(r, e);
		if (len)
			return body_error(-EINVAL, e);
	}
	/* Trailers are read and ignored, within the head's budget. */
	size_t total = 0;
	do {
		if ((r = conn_readline(c, c->h->o.max_head, deadline, &line, &len)) < 0)
			return body_error(r, e);
		total += len + 2;
		if (total > c->h->o.max_head)
			return http_fail(e, 431, "chunked trailer too large");
	} while (len);
	return 0;
}

/* The body, framed as the head said, of at most max bytes. */
static int read_body(struct http_conn *c, const struct http_request *req, int chunked, uint64_t length,
		     size_t max, struct buf *body, struct http_perr *e)
{
	if (!chunked && length > max)
		return http_fail(e, 413, "request body too large");
	if (!chunked && !length)
		return 0;
	const char *expect = http_header(req, "Expect");
	if (expect) {
		if (strcasecmp(expect, "100-continue"))
			return http_fail(e, 417, "unsupported expectation");
		if (c->hd.minor && send_all(c, "HTTP/1.1 100 Continue\r\n\r\n", 25) < 0)
			return http_fail(e, 0, NULL);
	}
	uint64_t deadline = deadline_in(c->h->o.head_timeout_ms);
	if (chunked)
		return read_chunked(c, body, max, deadline, e);
	int r = conn_read_body(c, (size_t)length, body, deadline);
	if (r < 0)
		return body_error(r, e);
	return 0;
}

/* --- connections -------------------------------------------------------- */

/* Finds the empty line that ends the head in rbuf[0..rlen): its end, or 0. */
static size_t find_head_end(struct http_conn *c)
{
	size_t i = c->scanned > 2 ? c->scanned - 2 : 0;
	for (; i < c->rlen; i++) {
		if (c->rbuf[i] != '\n')
			continue;
		if (i + 1 < c->rlen && c->rbuf[i + 1] == '\n')
			return i + 2;
		if (i + 2 < c->rlen && c->rbuf[i + 1] == '\r' && c->rbuf[i + 2] == '\n')
			return i + 3;
	}
	c->scanned = c->rlen;
	return 0;
}

/* Reads what the client still sends, briefly, so that it reads our error
 * response instead of failing its write on a reset. */
static void linger(struct http_conn *c)
{
	char sink[4096];
	size_t total = 0;
	uint64_t deadline = deadline_in(LINGER_MS);
	shutdown(c->fd, SHUT_WR);
	while (total < LINGER_BYTES) {
		struct pollfd p[2] = { { c->fd, POLLIN, 0 }, { c->h->wake[0], POLLIN, 0 } };
		int left = ms_left(deadline);
		if (!left || poll(p, 2, left) <= 0 || p[1].revents)
			break;
		ssize_t n = read(c->fd, sink, sizeof(sink));
		if (n <= 0 && !(n < 0 && (errno == EINTR || errno == EAGAIN)))
			break;
		if (n > 0)
			total += (size_t)n;
	}
}

/* The first route whose method and path match; *path_known is set when
 * some route serves the path with another method (405, not 404). */
static const struct http_route *find_route(const struct httpd *h, const struct http_request *req,
					   int *path_known)
{
	*path_known = 0;
	for (size_t i = 0; i < h->n_routes; i++) {
		const struct http_route *r = &h->routes[i];
		size_t n = strlen(r->path);
		int match = n && r->path[n - 1] == '/' ? !strncmp(req->path, r->path, n)
						       : !strcmp(req->path, r->path);
		if (!match)
			continue;
		*path_known = 1;
		if (!r->method || !strcmp(r->method, req->method) ||
		    (!strcmp(req->method, "HEAD") && !strcmp(r->method, "GET")))
			return r;
	}
	return NULL;
}

/* Serves one request: 1 to keep the connection, 0 to close it. Routed
 * before the body is read: a request nobody serves, or a caller refused,
 * costs no memory for its body. */
static int serve_one(struct http_conn *c)
{
	struct httpd *h = c->h;
	struct http_perr e = { 0, NULL };
	struct http_request req;
	const struct http_route *route;
	struct buf body = BUF_INIT;
	json_t *json = NULL;
	char *head = NULL;
	int r, keep = 0, chunked, path_known;
	uint64_t length;

	memset(&req, 0, sizeof(req));
	c->hd.minor = 1;
	c->hd.head_only = 0;
	c->keep_alive = 0;
	c->state = RESP_NONE;
	c->status = 0;
	c->hd.n_hdrs = 0;

	conn_compact(c);
	/* Idle between requests; blank lines before a request are allowed. */
	for (;;) {
		size_t blank = 0;
		while (blank < c->rlen && (c->rbuf[blank] == '\r' || c->rbuf[blank] == '\n'))
			blank++;
		c->rpos = blank;
		conn_compact(c);
		if (c->rlen)
			break;
		if (conn_fill(c, deadline_in(h->o.idle_timeout_ms)) <= 0)
			goto out;
	}
	uint64_t deadline = deadline_in(h->o.head_timeout_ms);
	size_t end;
	c->scanned = 0;
	while (!(end = find_head_end(c))) {
		if (c->rlen >= h->o.max_head) {
			http_fail(&e, 431, "request head too large");
			goto respond;
		}
		r = conn_fill(c, deadline);
		if (r == -ETIMEDOUT)
			http_fail(&e, 408, "request timed out");
		else if (r == -ESHUTDOWN)
			http_fail(&e, 503, "the server is shutting down");
		if (r <= 0)
			goto respond;
	}
	if (end > h->o.max_head) {
		http_fail(&e, 431, "request head too large");
		goto respond;
	}
	if (!(head = malloc(end + 1))) {
		http_fail(&e, 500, "out of memory");
		goto respond;
	}
	memcpy(head, c->rbuf, end);
	head[end] = '\0';
	c->rpos = end;
	if (memchr(head, '\0', end)) {
		http_fail(&e, 400, "NUL byte in the request head");
		goto respond;
	}
	if (httpd_parse_head(head, &c->hd, &req, &e) < 0)
		goto respond;
	const char *conn_hdr = http_header(&req, "Connection");
	c->keep_alive = c->hd.minor ? !httpd_has_token(conn_hdr, "close") : httpd_has_token(conn_hdr, "keep-alive");
	if (httpd_parse_framing(&c->hd, &req, &chunked, &length, &e) < 0)
		goto respond;
	req.peer_uid = c->uid;
	req.peer_gid = c->gid;
	req.peer_pid = c->pid;
	req.peer_groups = c->groups;
	req.n_peer_groups = c->n_groups;
	req.http_minor = c->hd.minor;

	if (!(route = find_route(h, &req, &path_known))) {
		http_fail(&e, path_known ? 405 : 404, path_known ? "method not allowed" : "no such endpoint");
		goto respond;
	}
	if ((chunked || length) && route->body == HTTP_BODY_NONE) {
		http_fail(&e, 413, "this endpoint takes no request body");
		goto respond;
	}
	if (h->o.admit) {
		/* A refused request's body is never read: the connection ends. */
		int keep_before = c->keep_alive;
		if (chunked || length)
			c->keep_alive = 0;
		if (h->o.admit(h->ctx, route, &req, c) < 0) {
			if (!c->keep_alive)
				linger(c);
			goto out;
		}
		c->keep_alive = keep_before;
	}
	buf_init(&body, route->max_body);
	if (read_body(c, &req, chunked, length, route->max_body, &body, &e) < 0)
		goto respond;
	/* Descriptors may come with any byte of the request. */
	req.fds = c->fds;
	req.n_fds = c->n_fds;
	req.body = body.data;
	req.body_len = body.len;
	if (route->body == HTTP_BODY_JSON && body.len) {
		json = json_loadb(body.data, body.len, 0, NULL);
		if (!json_is_object(json)) {
			http_fail(&e, 400, "request body is not a JSON object");
			goto respond;
		}
	}
	route->fn(h->ctx, &req, json, c);
	if (c->state == RESP_NONE) {
		log_warn("http: %s %s: the handler sent no response", req.method, req.path);
		http_reply_error(c, 500, "internal error: no response");
	} else if (c->state == RESP_STREAM) {
		http_stream_end(c);
	}
	log_debug("http: %s %s%s%s -> %d (uid %u pid %d)", req.method, req.path, req.query[0] ? "?" : "",
		  req.query, c->status, (unsigned)c->uid, (int)c->pid);
	keep = c->keep_alive && !__atomic_load_n(&c->broken, __ATOMIC_ACQUIRE) && !is_stopping(h);
	goto out;

respond:
	if (e.status) {
		log_debug("http: bad request from pid %d: %d %s", (int)c->pid, e.status, e.msg);
		c->keep_alive = 0;
		c->state = RESP_NONE;
		c->hd.head_only = 0;
		if (http_reply_error(c, e.status, e.msg) == 0)
			linger(c);
	}
out:
	json_decref(json);
	drop_fds(c);
	size_t big = body.alloc;
	buf_release(&body);
	free(head);
	/* A large body's memory, and what its parse took, back to the system. */
	if (big >= TRIM_BYTES)
		malloc_trim(0);
	return keep;
}

static void count_uid(struct httpd *h, uid_t uid, int delta)
{
	for (unsigned i = 0; i < h->o.max_conns; i++)
		if (h->per_uid[i].n && h->per_uid[i].uid == uid) {
			h->per_uid[i].n += (unsigned)delta;
			return;
		}
	for (unsigned i = 0; delta > 0 && i < h->o.max_conns; i++)
		if (!h->per_uid[i].n) {
			h->per_uid[i].uid = uid;
			h->per_uid[i].n = 1;
			return;
		}
}

static unsigned uid_conns(const struct httpd *h, uid_t uid)
{
	for (unsigned i = 0; i < h->o.max_conns; i++)
		if (h->per_uid[i].n && h->per_uid[i].uid == uid)
			return h->per_uid[i].n;
	return 0;
}

static void *conn_main(void *arg)
{
	struct http_conn *c = arg;
	struct httpd *h = c->h;
	c->rcap = h->o.max_head;
	c->rbuf = malloc(c->rcap);
	if (c->rbuf)
		while (serve_one(c))
			;
	drop_fds(c);
	close(c->fd);
	free(c->rbuf);
	c->rbuf = NULL;
	pthread_mutex_lock(&h->lock);
	c->next = h->zombies;
	h->zombies = c;
	h->nconns--;
	count_uid(h, c->uid, -1);
	pthread_cond_broadcast(&h->idle);
	pthread_mutex_unlock(&h->lock);
	return NULL;
}

/* Joins the connection threads that ended. Only the thread that created
 * them (or stop, after it) calls this, so their tids are set. */
static void reap(struct httpd *h)
{
	pthread_mutex_lock(&h->lock);
	struct http_conn *z = h->zombies;
	h->zombies = NULL;
	pthread_mutex_unlock(&h->lock);
	while (z) {
		struct http_conn *next = z->next;
		pthread_join(z->tid, NULL);
		free(z);
		z = next;
	}
}

/* Answers a connection that is one too many with a 503 it can read: the
 * answer goes out at once, and the socket stays open (read and dropped) for
 * a moment, so that a client still writing its request does not fail on a
 * closed socket before it reads why. */
static void refuse(struct httpd *h, int fd, const char *why)
{
	struct buf b = BUF_INIT;
	char body[256];
	int n = snprintf(body, sizeof(body), "{\"error\":\"%s\"}\n", why);
	if (buf_addf(&b, "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
		     "Connection: close\r\nRetry-After: 1\r\nContent-Length: %d\r\n\r\n%s", n, body) == 0) {
		ssize_t sent = send(fd, b.data, b.len, MSG_NOSIGNAL | MSG_DONTWAIT);
		(void)sent;
	}
	buf_release(&b);
	shutdown(fd, SHUT_WR);
	if (h->n_refused == REFUSED_MAX) {
		close(h->refused[0].fd);
		memmove(h->refused, h->refused + 1, sizeof(h->refused[0]) * (REFUSED_MAX - 1));
		h->n_refused--;
	}
	h->refused[h->n_refused].fd = fd;
	h->refused[h->n_refused].until = deadline_in(REFUSED_MS);
	h->n_refused++;
}

/* Reads and drops what refused clients send; closes them at their time or
 * their end of file. */
static void drain_refused(struct httpd *h, const struct pollfd *p)
{
	uint64_t now = now_ns();
	size_t keep = 0;
	for (size_t i = 0; i < h->n_refused; i++) {
		int done = now >= h->refused[i].until;
		if (!done && p && (p[i].revents & (POLLIN | POLLHUP | POLLERR))) {
			char sink[4096];
			ssize_t n = recv(h->refused[i].fd, sink, sizeof(sink), MSG_DONTWAIT);
			done = n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR);
		}
		if (done)
			close(h->refused[i].fd);
		else
			h->refused[keep++] = h->refused[i];
	}
	h->n_refused = keep;
}

/* The caller's supplementary groups, as the kernel knows them. */
static void peer_groups(struct http_conn *c)
{
	socklen_t len = sizeof(c->groups);
	if (getsockopt(c->fd, SOL_SOCKET, SO_PEERGROUPS, c->groups, &len) == 0)
		c->n_groups = len / sizeof(gid_t);
	else
		c->n_groups = 0;
}

static void *accept_main(void *arg)
{
	struct httpd *h = arg;
	struct pollfd p[2 + REFUSED_MAX];
	while (!is_stopping(h)) {
		reap(h);
		p[0] = (struct pollfd){ h->lfd, POLLIN, 0 };
		p[1] = (struct pollfd){ h->wake[0], POLLIN, 0 };
		for (size_t i = 0; i < h->n_refused; i++)
			p[2 + i] = (struct pollfd){ h->refused[i].fd, POLLIN, 0 };
		int n = poll(p, 2 + h->n_refused, h->n_refused ? 50 : -1);
		drain_refused(h, n > 0 ? p + 2 : NULL);
		if (n <= 0 || p[1].revents || !p[0].revents)
			continue;
		int fd = accept4(h->lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
				log_warn("http: cannot accept a connection on '%s': %s", h->path, strerror(errno));
				poll(&p[1], 1, 100); /* let connections end rather than spin */
			}
			continue;
		}
		struct ucred cred = { 0, (uid_t)-1, (gid_t)-1 };
		socklen_t cl = sizeof(cred);
		getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl);
		struct http_conn *c = NULL;
		const char *why = NULL;
		pthread_mutex_lock(&h->lock);
		if (h->nconns >= h->o.max_conns)
			why = "too many connections to the daemon";
		else if (uid_conns(h, cred.uid) >= h->o.max_conns_per_uid)
			why = "too many connections from this user";
		else if ((c = calloc(1, sizeof(*c)))) {
			h->nconns++;
			count_uid(h, cred.uid, 1);
		}
		pthread_mutex_unlock(&h->lock);
		if (!c) {
			log_warn("http: refusing a connection from uid %u pid %d: %s", (unsigned)cred.uid, (int)cred.pid,
				 why ? why : "out of memory");
			if (h->o.refused)
				h->o.refused(h->ctx, cred.uid);
			refuse(h, fd, why ? why : "out of memory");
			continue;
		}
		c->h = h;
		c->fd = fd;
		c->uid = cred.uid;
		c->gid = cred.gid;
		c->pid = cred.pid;
		peer_groups(c);
		int r = pthread_create(&c->tid, NULL, conn_main, c);
		if (r) {
			log_warn("http: cannot start a connection thread: %s", strerror(r));
			refuse(h, fd, "cannot start a connection thread");
			free(c);
			pthread_mutex_lock(&h->lock);
			h->nconns--;
			count_uid(h, cred.uid, -1);
			pthread_cond_broadcast(&h->idle);
			pthread_mutex_unlock(&h->lock);
		}
	}
	for (size_t i = 0; i < h->n_refused; i++)
		close(h->refused[i].fd);
	h->n_refused = 0;
	return NULL;
}

/* --- lifecycle ---------------------------------------------------------- */

/* Whether a server answers on the socket at path: 1, 0 (stale), -errno. */
static int socket_answers(const char *path, const struct sockaddr_un *sa)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	int r = connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
	int saved = errno;
	close(fd);
	if (r == 0 || saved == EAGAIN || saved == EINPROGRESS)
		return 1; /* EAGAIN: its backlog is full, so it is alive */
	if (saved == ECONNREFUSED)
		return 0;
	return -saved;
}

static int listen_on(struct httpd *h, mode_t mode, struct strata_error *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int r, lockfd = -1;
	char *lockpath = NULL;

	if (strlen(h->path) >= sizeof(sa.sun_path))
		return error_set(err, -ENAMETOOLONG, "socket path '%s' is too long (at most %zu bytes)", h->path,
				 sizeof(sa.sun_path) - 1);
	memcpy(sa.sun_path, h->path, strlen(h->path) + 1);
	/* Two daemons starting at once must not both take the socket over. */
	if (!(lockpath = str_printf("%s.lock", h->path)))
		return error_set(err, -ENOMEM, "out of memory");
	lockfd = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lockfd < 0 || flock(lockfd, LOCK_EX) < 0) {
		r = error_errno(err, -errno, "cannot lock '%s'", lockpath);
		goto out;
	}
	if (lstat(h->path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			r = error_set(err, -EEXIST, "'%s' exists and is not a socket", h->path);
			goto out;
		}
		r = socket_answers(h->path, &sa);
		if (r > 0) {
			r = error_set(err, -EADDRINUSE, "socket '%s' is in use by another daemon", h->path);
			goto out;
		}
		if (r < 0) {
			r = error_errno(err, r, "cannot probe socket '%s'", h->path);
			goto out;
		}
		log_info("replacing stale socket '%s'", h->path);
		if (unlink(h->path) < 0 && errno != ENOENT) {
			r = error_errno(err, -errno, "cannot remove stale socket '%s'", h->path);
			goto out;
		}
	}
	h->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (h->lfd < 0) {
		r = error_errno(err, -errno, "cannot create a socket");
		goto out;
	}
	if (bind(h->lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = error_errno(err, -errno, "cannot bind '%s'", h->path);
		goto out;
	}
	/* Before listen(): nobody can connect while the mode is still wrong. */
	if ((h->o.set_group && chown(h->path, (uid_t)-1, h->o.group) < 0) || chmod(h->path, mode) < 0 ||
	    lstat(h->path, &st) < 0 || listen(h->lfd, 128) < 0) {
		r = error_errno(err, -errno, "cannot listen on '%s'", h->path);
		unlink(h->path);
		goto out;
	}
	h->dev = st.st_dev;
	h->ino = st.st_ino;
	r = 0;
out:
	if (lockfd >= 0)
		close(lockfd);
	free(lockpath);
	return r;
}

int httpd_start(const char *path, mode_t mode, const struct httpd_options *opts, const struct http_route *routes,
		size_t n_routes, void *ctx, struct httpd **out, struct strata_error *err)
{
	struct httpd *h;
	int r;

	*out = NULL;
	if (!(h = calloc(1, sizeof(*h))))
		return error_set(err, -ENOMEM, "out of memory");
	h->lfd = h->wake[0] = h->wake[1] = -1;
	h->o = opts ? *opts : defaults;
	if (!h->o.max_conns)
		h->o.max_conns = defaults.max_conns;
	if (!h->o.max_conns_per_uid)
		h->o.max_conns_per_uid = defaults.max_conns_per_uid;
	if (h->o.max_head < 1024)
		h->o.max_head = h->o.max_head ? 1024 : defaults.max_head;
	if (!h->o.head_timeout_ms)
		h->o.head_timeout_ms = defaults.head_timeout_ms;
	if (!h->o.idle_timeout_ms)
		h->o.idle_timeout_ms = defaults.idle_timeout_ms;
	if (!h->o.write_timeout_ms)
		h->o.write_timeout_ms = defaults.write_timeout_ms;
	h->routes = routes;
	h->n_routes = n_routes;
	h->ctx = ctx;
	pthread_mutex_init(&h->lock, NULL);
	pthread_cond_init(&h->idle, NULL);
	if (!(h->path = strdup(path)) || !(h->per_uid = calloc(h->o.max_conns, sizeof(*h->per_uid)))) {
		r = error_set(err, -ENOMEM, "out of memory");
		goto fail_init;
	}
	if (pipe2(h->wake, O_CLOEXEC | O_NONBLOCK) < 0) {
		r = error_errno(err, -errno, "cannot create a pipe");
		goto fail_init;
	}
	if ((r = listen_on(h, mode, err)) < 0)
		goto fail_init;
	if ((r = pthread_create(&h->acceptor, NULL, accept_main, h))) {
		r = error_errno(err, -r, "cannot start the server thread");
		goto fail_listen;
	}
	*out = h;
	return 0;

fail_listen:
	unlink(h->path);
fail_init:
	if (h->lfd >= 0)
		close(h->lfd);
	if (h->wake[0] >= 0) {
		close(h->wake[0]);
		close(h->wake[1]);
	}
	pthread_cond_destroy(&h->idle);
	pthread_mutex_destroy(&h->lock);
	free(h->per_uid);
	free(h->path);
	free(h);
	return r;
}

void httpd_stop(struct httpd *h)
{
	struct stat st;
	if (!h)
		return;
	__atomic_store_n(&h->stopping, 1, __ATOMIC_RELEASE);
	ssize_t n = write(h->wake[1], "x", 1);
	(void)n;
	pthread_join(h->acceptor, NULL);
	/* Unlink first so that new clients fail fast, but only our own file:
	 * a newer daemon may have taken the path over. */
	if (lstat(h->path, &st) == 0 && st.st_dev == h->dev && st.st_ino == h->ino)
		unlink(h->path);
	close(h->lfd);
	pthread_mutex_lock(&h->lock);
	while (h->nconns)
		pthread_cond_wait(&h->idle, &h->lock);
	pthread_mutex_unlock(&h->lock);
	reap(h);
	close(h->wake[0]);
	close(h->wake[1]);
	pthread_cond_destroy(&h->idle);
	pthread_mutex_destroy(&h->lock);
	free(h->per_uid);
	free(h->path);
	free(h);
}

int http_status_of(int r)
{
	switch (r) {
	case -ENOENT: return 404;
	case -EINVAL: return 400;
	case -EACCES:
	case -EPERM: return 403;
	case -EBUSY: return 409;
	case -EAGAIN: return 503;
	case -ENOSPC: return 507;
	default: return 500;
	}
}
