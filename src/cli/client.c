/* client: JSON calls to the store daemon — HTTP/1.1 written and read by
 * hand on its Unix socket. No HTTP library: a command that only asks the
 * daemon something loads nothing it does not need, and a request can carry
 * file descriptors (SCM_RIGHTS), which no HTTP library passes. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "src/base/buf.h"
#include "client.h"
#include "src/base/util.h"

#define CONNECT_TIMEOUT_MS 5000
#define DEFAULT_TIMEOUT_S 120L
#define MAX_HEAD (64u << 10)
#define MAX_RESPONSE (64u << 20) /* image listings and inspect output */
/* File listings (inspect --files, cache ls --json): an image at the entry
 * limit of a million lists in about 150 MB. */
#define MAX_TEXT_RESPONSE (1u << 30)
#define MAX_LINE (1u << 20)      /* one NDJSON event */

struct client {
	char *sock;
	int fd;                      /* the connection, -1 when none */
	long timeout;                /* seconds per call; 0 = none */
	int fds[CLIENT_MAX_FDS];     /* to go with the next request (borrowed) */
	size_t nfds;
	struct buf in;               /* received, not yet consumed: in.data[rpos..] */
	size_t rpos;
};

/* One request in flight. */
struct xfer {
	struct client *c;
	uint64_t deadline;           /* 0 = none */
	int status;
	int keep_alive;
	int chunked;
	int64_t length;              /* Content-Length, -1 until the close */
	int got_bytes;               /* any byte of the response arrived */
	struct buf body;             /* the whole body, or the unfinished line of a stream */
	int stream;
	int (*on_line)(void *ctx, json_t *event);
	void *ctx;
	json_t *last;                /* the last event of a stream */
	struct strata_error *err;
};

static int errno_of_status(int status)
{
	switch (status) {
	case 400: return -EINVAL;
	case 403: return -EACCES;
	case 404: return -ENOENT;
	case 409: return -EBUSY;
	case 503: return -EAGAIN;
	case 507: return -ENOSPC;
	default: return -EIO;
	}
}

int client_open(const char *socket_path, struct client **out, struct strata_error *err)
{
	struct client *c;
	*out = NULL;
	if (!(c = calloc(1, sizeof(*c))))
		return error_set(err, -ENOMEM, "out of memory");
	c->fd = -1;
	c->timeout = DEFAULT_TIMEOUT_S;
	buf_init(&c->in, 0);
	if (!(c->sock = strdup(socket_path))) {
		client_free(c);
		return error_set(err, -ENOMEM, "out of memory");
	}
	*out = c;
	return 0;
}

static void disconnect(struct client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	buf_reset(&c->in);
	c->rpos = 0;
}

void client_free(struct client *c)
{
	if (!c)
		return;
	disconnect(c);
	buf_release(&c->in);
	free(c->sock);
	free(c);
}

void client_set_timeout(struct client *c, long seconds)
{
	c->timeout = seconds > 0 ? seconds : 0;
}

int client_attach_fds(struct client *c, const int *fds, size_t n)
{
	if (n > CLIENT_MAX_FDS)
		return -E2BIG;
	memcpy(c->fds, fds, n * sizeof(int));
	c->nfds = n;
	return 0;
}

char *client_escape(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = strlen(s);
	char *out = malloc(3 * n + 1), *o = out;
	if (!out)
		return NULL;
	int dots = !strcmp(s, ".") || !strcmp(s, "..");
	for (const char *p = s; *p; p++) {
		unsigned char ch = (unsigned char)*p;
		if (!dots && ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
			      ch == '-' || ch == '.' || ch == '_' || ch == '~')) {
			*o++ = (char)ch;
		} else {
			*o++ = '%';
			*o++ = hex[ch >> 4];
			*o++ = hex[ch & 15];
		}
	}
	*o = '\0';
	return out;
}

/* --- the connection --------------------------------------------------------- */

static int ms_until(uint64_t deadline)
{
	if (!deadline)
		return -1;
	uint64_t now = now_ns();
	if (now >= deadline)
		return 0;
	uint64_t ms = (deadline - now + 999999) / 1000000;
	return ms > INT32_MAX ? INT32_MAX : (int)ms;
}

static int reach_error(struct client *c, int e, struct strata_error *err)
{
	return error_errno(err, -e, "cannot reach the strata daemon at '%s'", c->sock);
}

static int connect_daemon(struct client *c, struct strata_error *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(c->sock) >= sizeof(sa.sun_path))
		return error_set(err, -ENAMETOOLONG, "socket path '%s' is too long", c->sock);
	memcpy(sa.sun_path, c->sock, strlen(c->sock) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return reach_error(c, errno, err);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		/* A full backlog: the daemon is alive but does not accept. */
		if (e == EAGAIN) {
			struct pollfd p = { fd, POLLOUT, 0 };
			if (poll(&p, 1, CONNECT_TIMEOUT_MS) > 0 &&
			    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
				goto connected;
			close(fd);
			return error_set(err, -ETIMEDOUT, "cannot reach the strata daemon at '%s': it does not "
					 "accept connections", c->sock);
		}
		close(fd);
		return reach_error(c, e, err);
	}
connected:
	c->fd = fd;
	buf_reset(&c->in);
	c->rpos = 0;
	return 0;
}

/* Sends all of data; the descriptors to pass ride on its first byte. */
static int send_all(struct xfer *x, const char *data, size_t len, int with_fds)
{
	struct client *c = x->c;
	union {
		struct cmsghdr h;
		char space[CMSG_SPACE(sizeof(int) * CLIENT_MAX_FDS)];
	} u;
	while (len) {
		struct iovec iov = { (void *)data, len };
		struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
		if (with_fds && c->nfds) {
			memset(&u, 0, sizeof(u));
			msg.msg_control = u.space;
			msg.msg_controllen = CMSG_SPACE(sizeof(int) * c->nfds);
			struct cmsghdr *h = CMSG_FIRSTHDR(&msg);
			h->cmsg_level = SOL_SOCKET;
			h->cmsg_type = SCM_RIGHTS;
			h->cmsg_len = CMSG_LEN(sizeof(int) * c->nfds);
			memcpy(CMSG_DATA(h), c->fds, sizeof(int) * c->nfds);
		}
		ssize_t n = sendmsg(c->fd, &msg, MSG_NOSIGNAL);
		if (n > 0) {
			data += n;
			len -= (size_t)n;
			with_fds = 0;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			struct pollfd p = { c->fd, POLLOUT, 0 };
			int left = ms_until(x->deadline);
			if (left == 0 || poll(&p, 1, left) == 0)
				return -ETIMEDOUT;
			continue;
		}
		return n < 0 ? -errno : -EPIPE;
	}
	return 0;
}

/* Reads more into c->in: bytes read, 0 at the end, -ETIMEDOUT, -errno. */
static int fill(struct xfer *x)
{
	struct client *c = x->c;
	if (c->rpos && c->rpos == c->in.len) {
		buf_reset(&c->in);
		c->rpos = 0;
	}
	int r = buf_grow(&c->in, 64 << 10);
	if (r < 0)
		return r;
	for (;;) {
		ssize_t n = read(c->fd, c->in.data + c->in.len, c->in.alloc - c->in.len - 1);
		if (n >= 0) {
			buf_setlen(&c->in, c->in.len + (size_t)n);
			if (n)
				x->got_bytes = 1;
			return (int)n;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return -errno;
		struct pollfd p = { c->fd, POLLIN, 0 };
		int left = ms_until(x->deadline);
		if (left == 0)
			return -ETIMEDOUT;
		if (poll(&p, 1, left) == 0)
			return -ETIMEDOUT;
	}
}

/* One line of the head (without its line end), pointing into c->in. */
static int read_line(struct xfer *x, char **line)
{
	struct client *c = x->c;
	for (;;) {
		char *start = c->in.data + c->rpos;
		char *nl = memchr(start, '\n', c->in.len - c->rpos);
		if (nl) {
			*nl = '\0';
			if (nl > start && nl[-1] == '\r')
				nl[-1] = '\0';
			c->rpos = (size_t)(nl + 1 - c->in.data);
			*line = start;
			return 0;
		}
		if (c->in.len - c->rpos > MAX_HEAD)
			return -E2BIG;
		/* Keep what is unread at the front; lines handed out are used up. */
		if (c->rpos) {
			memmove(c->in.data, c->in.data + c->rpos, c->in.len - c->rpos);
			buf_setlen(&c->in, c->in.len - c->rpos);
			c->rpos = 0;
		}
		int r = fill(x);
		if (r == 0)
			return -EPIPE;
		if (r < 0)
			return r;
	}
}

/* --- responses -------------------------------------------------------------- */

static int stream_line(struct xfer *x, const char *line, size_t len)
{
	json_error_t jerr;
	while (len && (line[len - 1] == '\r' || line[len - 1] == ' '))
		len--;
	if (!len)
		return 0;
	json_t *ev = json_loadb(line, len, JSON_DECODE_ANY, &jerr);
	if (!ev)
		return error_set(x->err, -EPROTO, "the strata daemon at '%s' sent an event that is not JSON: %s",
				 x->c->sock, jerr.text);
	if (x->on_line) {
		int r = x->on_line(x->ctx, ev);
		if (r < 0) {
			json_decref(ev);
			return r;
		}
	}
	json_decref(x->last);
	x->last = ev;
	return 0;
}

/* Hands every complete line in x->body to stream_line and keeps the rest. */
static int stream_lines(struct xfer *x)
{
	size_t start = 0;
	int r = 0;
	char *nl;
	while (!r && (nl = memchr(x->body.data + start, '\n', x->body.len - start))) {
		size_t len = (size_t)(nl - (x->body.data + start));
		r = stream_line(x, x->body.data + start, len);
		start += len + 1;
	}
	if (start) {
		memmove(x->body.data, x->body.data + start, x->body.len - start);
		buf_setlen(&x->body, x->body.len - start);
	}
	return r;
}

static int body_data(struct xfer *x, const char *data, size_t n)
{
	int streaming = x->stream && x->status >= 200 && x->status < 300;
	int r = buf_add(&x->body, data, n);
	if (r == -EFBIG)
		return error_set(x->err, -EFBIG, "the strata daemon at '%s' sent %s over %zu bytes", x->c->sock,
				 streaming ? "an event line" : "a response", x->body.max);
	if (r < 0)
		return error_set(x->err, r, "out of memory");
	return streaming ? stream_lines(x) : 0;
}

static int io_error(struct xfer *x, int r)
{
	struct client *c = x->c;
	if (r == -ETIMEDOUT)
		return error_set(x->err, -ETIMEDOUT, "the strata daemon at '%s' did not answer within %ld s",
				 c->sock, c->timeout);
	if (r == -E2BIG)
		return error_set(x->err, -EPROTO, "the strata daemon at '%s' sent a response head over %u bytes",
				 c->sock, MAX_HEAD);
	if (r == -EPROTO)
		return error_set(x->err, -EPROTO, "the strata daemon at '%s' sent a malformed response", c->sock);
	if (r == -EPIPE || r == -ECONNRESET)
		return error_set(x->err, -ECONNRESET, "the strata daemon at '%s' hung up", c->sock);
	return error_errno(x->err, r, "talking to the strata daemon at '%s'", c->sock);
}

/* The body: n bytes, chunks, or up to the close. Raw error codes: the
 * caller words them (a callback's error is already worded: -ECANCELED). */
static int read_body(struct xfer *x)
{
	struct client *c = x->c;
	int r;
	if (!x->chunked) {
		int64_t left = x->length;
		for (;;) {
			size_t have = c->in.len - c->rpos;
			size_t take = left >= 0 && (int64_t)have > left ? (size_t)left : have;
			if (take && (r = body_data(x, c->in.data + c->rpos, take)) < 0)
				return r;
			c->rpos += take;
			if (left >= 0 && (left -= (int64_t)take) == 0)
				return 0;
			r = fill(x);
			if (r == 0)
				return left < 0 ? 0 : -EPIPE;
			if (r < 0)
				return r;
		}
	}
	for (;;) {
		char *line, *end;
		if ((r = read_line(x, &line)) < 0)
			return r;
		errno = 0;
		unsigned long long size = strtoull(line, &end, 16);
		if (end == line || errno || (*end && *end != ';'))
			return -EPROTO;
		if (!size)
			break;
		while (size) {
			if (c->rpos == c->in.len && (r = fill(x)) <= 0)
				return r ? r : -EPIPE;
			size_t have = c->in.len - c->rpos;
			size_t take = have > size ? (size_t)size : have;
			if ((r = body_data(x, c->in.data + c->rpos, take)) < 0)
				return r;
			c->rpos += take;
			size -= take;
		}
		if ((r = read_line(x, &line)) < 0)
			return r;
		if (*line)
			return -EPROTO;
	}
	do { /* trailers */
		char *line;
		if ((r = read_line(x, &line)) < 0)
			return r;
		if (!*line)
			return 0;
	} while (1);
}

static int read_head(struct xfer *x)
{
	char *line;
	int r, minor;
	do { /* 1xx responses are skipped */
		if ((r = read_line(x, &line)) < 0)
			return r;
		if (sscanf(line, "HTTP/1.%d %3d", &minor, &x->status) != 2 || x->status < 100 || x->status > 599)
			return -EPROTO;
		x->keep_alive = minor >= 1;
		x->chunked = 0;
		x->length = -1;
		for (;;) {
			if ((r = read_line(x, &line)) < 0)
				return r;
			if (!*line)
				break;
			char *colon = strchr(line, ':');
			if (!colon)
				return -EPROTO;
			*colon = '\0';
			char *v = colon + 1;
			while (*v == ' ' || *v == '\t')
				v++;
			if (!strcasecmp(line, "Content-Length")) {
				char *end;
				errno = 0;
				long long n = strtoll(v, &end, 10);
				if (end == v || errno || n < 0)
					return -EPROTO;
				x->length = n;
			} else if (!strcasecmp(line, "Transfer-Encoding")) {
				x->chunked = strcasestr(v, "chunked") != NULL;
			} else if (!strcasecmp(line, "Connection")) {
				if (strcasestr(v, "close"))
					x->keep_alive = 0;
				else if (strcasestr(v, "keep-alive"))
					x->keep_alive = 1;
			}
		}
	} while (x->status < 200);
	return 0;
}

/* The daemon's {"error"} text, or something readable made of the body. */
static int fail_status(struct xfer *x, json_t *v)
{
	const char *msg = json_string_value(json_object_get(v, "error"));
	int e = errno_of_status(x->status);
	if (x->status == 503)
		return error_set(x->err, e, "the strata daemon at '%s' is busy: %s; try again", x->c->sock,
				 msg ? msg : "it serves as many requests as it takes");
	if (msg)
		return error_set(x->err, e, "%s", msg);
	char first[160];
	size_t i = 0;
	for (const char *p = x->body.data; *p && *p != '\n' && i + 1 < sizeof(first); p++)
		first[i++] = (*p >= 0x20 && *p < 0x7f) ? *p : '?';
	first[i] = '\0';
	return error_set(x->err, e, "the strata daemon at '%s' answered HTTP %d%s%s", x->c->sock, x->status,
			 i ? ": " : "", first);
}

/* --- requests --------------------------------------------------------------- */

static int write_request(struct xfer *x, const char *method, const char *path, const char *body, size_t len)
{
	struct buf head = BUF_INIT;
	int has_body = body || !strcmp(method, "POST") || !strcmp(method, "PUT");
	int r = buf_addf(&head, "%s %s HTTP/1.1\r\nHost: strata\r\nUser-Agent: strata/" PACKAGE_VERSION
			 "\r\nAccept: application/json, application/x-ndjson\r\n", method, path);
	if (r == 0 && has_body)
		r = buf_addf(&head, "Content-Type: application/json\r\nContent-Length: %zu\r\n", body ? len : 0);
	r = r ?: buf_adds(&head, "\r\n");
	if (r < 0) {
		buf_release(&head);
		return -ENOMEM;
	}
	r = send_all(x, head.data, head.len, 1);
	if (r == 0 && body && len)
		r = send_all(x, body, len, 0);
	buf_release(&head);
	return r;
}

/* body: the request's JSON text (len bytes), or NULL for none. Sends, and
 * reads the response's head and body (streamed to on_line when asked). A
 * kept connection the daemon closed meanwhile is opened again, once. */
static int perform(struct xfer *x, const char *method, const char *path, const char *body, size_t len,
		   long timeout)
{
	struct client *c = x->c;
	int r;
	if (path[0] != '/' || strpbrk(path, " \r\n"))
		return error_set(x->err, -EINVAL, "request path '%s' is not a path", path);
	x->deadline = timeout > 0 ? now_ns() + (uint64_t)timeout * 1000000000ull : 0;
	for (int attempt = 0;; attempt++) {
		int reused = c->fd >= 0;
		if (!reused && (r = connect_daemon(c, x->err)) < 0)
			goto out;
		x->got_bytes = 0;
		r = write_request(x, method, path, body, len);
		if (r == 0)
			r = read_head(x);
		if (r < 0 && reused && !x->got_bytes && attempt == 0 && r != -ETIMEDOUT) {
			disconnect(c);
			continue;
		}
		break;
	}
	if (r == 0 && !(x->status == 204 || x->status == 304 || !strcmp(method, "HEAD")))
		r = read_body(x);
	if (r < 0 && r != -ECANCELED && !x->err->msg[0])
		r = io_error(x, r);
	if (r < 0 || !x->keep_alive || (x->length < 0 && !x->chunked))
		disconnect(c);
out:
	c->nfds = 0;
	return r;
}

/* A whole response: 0 on 2xx, with the body left in x->body. */
static int call(struct xfer *x, const char *method, const char *path, const char *body, size_t len,
		int *status)
{
	if (status)
		*status = 0;
	int r = perform(x, method, path, body, len, x->c->timeout);
	if (r < 0)
		return r;
	if (status)
		*status = x->status;
	if (x->status < 200 || x->status > 299) {
		json_t *v = json_loadb(x->body.data, x->body.len, JSON_DECODE_ANY, NULL);
		r = fail_status(x, v);
		json_decref(v);
	}
	return r;
}

int client_call_body(struct client *c, const char *method, const char *path, const char *body, size_t len,
		     int *status, json_t **out, struct strata_error *err)
{
	struct xfer x = { .c = c, .err = err };
	if (out)
		*out = NULL;
	buf_init(&x.body, MAX_RESPONSE);
	int r = call(&x, method, path, body, len, status);
	if (r == 0 && out && x.body.len)
		*out = json_loadb(x.body.data, x.body.len, JSON_DECODE_ANY, NULL);
	buf_release(&x.body);
	return r;
}

int client_call(struct client *c, const char *method, const char *path, json_t *body, int *status,
		json_t **out, struct strata_error *err)
{
	char *json = NULL;
	if (out)
		*out = NULL;
	if (body && !(json = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY)))
		return error_set(err, -ENOMEM, "cannot serialise the request to '%s'", path);
	int r = client_call_body(c, method, path, json, json ? strlen(json) : 0, status, out, err);
	free(json);
	return r;
}

int client_call_json_text(struct client *c, const char *method, const char *path, json_t *body, int *status,
			  struct buf *out, struct strata_error *err)
{
	struct xfer x = { .c = c, .err = err };
	char *json = body ? json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
	if (body && !json)
		return error_set(err, -ENOMEM, "cannot serialise the request to '%s'", path);
	buf_init(&x.body, MAX_TEXT_RESPONSE);
	int r = call(&x, method, path, json, json ? strlen(json) : 0, status);
	if (r == 0)
		r = buf_add(out, x.body.data, x.body.len) < 0 ? error_set(err, -ENOMEM, "out of memory") : 0;
	buf_release(&x.body);
	free(json);
	return r;
}

int client_call_text(struct client *c, const char *method, const char *path, int *status, struct buf *out,
		     struct strata_error *err)
{
	return client_call_json_text(c, method, path, NULL, status, out, err);
}

int client_stream(struct client *c, const char *method, const char *path, json_t *body,
		  int (*on_line)(void *ctx, json_t *event), void *ctx, json_t **out, struct strata_error *err)
{
	struct xfer x = { .c = c, .err = err, .stream = 1, .on_line = on_line, .ctx = ctx };
	json_t *v = NULL;
	char *json = NULL;
	int r;

	if (out)
		*out = NULL;
	buf_init(&x.body, MAX_LINE);
	if (body && !(json = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY))) {
		r = error_set(err, -ENOMEM, "cannot serialise the request to '%s'", path);
		goto out;
	}
	if ((r = perform(&x, method, path, json, json ? strlen(json) : 0, 0)) < 0)
		goto out;
	if (x.status < 200 || x.status > 299) {
		if (x.body.len)
			v = json_loadb(x.body.data, x.body.len, JSON_DECODE_ANY, NULL);
		r = fail_status(&x, v);
		goto out;
	}
	if ((r = stream_line(&x, x.body.data, x.body.len)) < 0) /* a last line without '\n' */
		goto out;
	const char *msg = json_string_value(json_object_get(x.last, "error"));
	if (msg) {
		json_t *code = json_object_get(x.last, "status");
		r = error_set(err, json_is_integer(code) ? errno_of_status((int)json_integer_value(code)) : -EIO,
			      "%s", msg);
		goto out;
	}
	if (out) {
		*out = x.last;
		x.last = NULL;
	}
out:
	json_decref(v);
	json_decref(x.last);
	buf_release(&x.body);
	free(json);
	return r;
}
