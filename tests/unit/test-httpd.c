/* Unit tests: httpd (the daemon's HTTP server) and client (its libcurl
 * side), on a socket in a temporary directory, plus raw sockets for what
 * no well-behaved client sends. `test-httpd --serve PATH` just serves the
 * test routes until stdin closes, for trying them with curl by hand. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>

#include "src/base/buf.h"
#include "src/cli/client.h"
#include "src/base/error.h"
#include "src/daemon/httpd.h"
#include "tap.h"
#include "src/base/util.h"

/* What the slow stream's handler saw when its client went away. */
static pthread_mutex_t seen_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t seen_cond = PTHREAD_COND_INITIALIZER;
static int slow_done, slow_closed, slow_write_err;

static void handler(void *ctx, const struct http_request *req, json_t *body, struct http_conn *c)
{
	(void)body;
	char q[256], seg[1024];
	if (!strcmp(req->path, "/stream")) {
		int n = http_query_param(req, "n", q, sizeof(q)) == 0 ? atoi(q) : 10;
		http_stream_begin(c, 200, "application/x-ndjson");
		for (int i = 0; i < n; i++) {
			char line[64];
			int len = snprintf(line, sizeof(line), "{\"i\":%d}\n", i);
			if (http_stream_write(c, line, (size_t)len) < 0)
				break;
		}
		if (http_query_param(req, "fail", q, sizeof(q)) == 0) {
			const char *ev = "{\"event\":\"error\",\"error\":\"image 'x' is not stored\",\"status\":404}\n";
			http_stream_write(c, ev, strlen(ev));
		}
		http_stream_end(c);
	} else if (!strcmp(req->path, "/slowstream")) {
		int r = http_stream_begin(c, 200, "application/x-ndjson");
		uint64_t until = now_ns() + 10000000000ull;
		while (r == 0 && !http_conn_closed(c) && now_ns() < until) {
			r = http_stream_write(c, "{\"tick\":1}\n", 11);
			usleep(10000);
		}
		pthread_mutex_lock(&seen_lock);
		slow_done = 1;
		slow_closed = http_conn_closed(c);
		slow_write_err = r;
		pthread_cond_broadcast(&seen_cond);
		pthread_mutex_unlock(&seen_lock);
	} else if (!strcmp(req->path, "/text")) {
		http_reply(c, 200, "text/plain", "a\nb\n", 4);
	} else if (!strcmp(req->path, "/error")) {
		http_reply_error(c, 409, "image 'x' is mounted at '/mnt'");
	} else if (!strcmp(req->path, "/noreply")) {
		/* the server must answer for it */
	} else if (!strcmp(req->path, "/sleep")) {
		usleep(http_query_param(req, "ms", q, sizeof(q)) == 0 ? atoi(q) * 1000 : 200000);
		http_reply(c, 200, "text/plain", "slept\n", 6);
	} else if (!strncmp(req->path, "/echo", 5)) {
		json_t *v = json_pack("{s:s, s:s, s:s, s:s%, s:i, s:i}", "method", req->method, "path", req->path,
				      "query", req->query, "body", req->body, req->body_len, "uid",
				      (int)req->peer_uid, "minor", req->http_minor);
		if (!strncmp(req->path, "/echo/", 6)) {
			int r = http_path_segment(req->path + 6, seg, sizeof(seg));
			json_object_set_new(v, "seg", r == 0 ? json_string(seg) : json_integer(r));
		}
		if (http_query_param(req, "q", q, sizeof(q)) == 0)
			json_object_set_new(v, "q", json_string(q));
		const char *ct = http_header(req, "content-type");
		if (ct)
			json_object_set_new(v, "ct", json_string(ct));
		http_reply_json(c, 200, v);
		json_decref(v);
	} else {
		http_reply_error(c, 404, "no such endpoint");
	}
}

/* Every path to the one handler, as a catch-all route. */
static const struct http_route routes[] = {
	{ NULL, "/", HTTP_BODY_RAW, 1u << 20, 0, handler },
};
#define ROUTES routes, sizeof(routes) / sizeof(routes[0])

/* --- raw sockets -------------------------------------------------------- */

static int raw_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Reads until end of file or timeout_ms of silence. */
static void raw_read(int fd, struct buf *out, int timeout_ms)
{
	char tmp[4096];
	for (;;) {
		struct pollfd p = { fd, POLLIN, 0 };
		if (poll(&p, 1, timeout_ms) <= 0)
			return;
		ssize_t n = read(fd, tmp, sizeof(tmp));
		if (n <= 0)
			return;
		buf_add(out, tmp, (size_t)n);
	}
}

/* Sends data on a new connection and returns all the server says. */
static char *raw_exchange(const char *path, const void *data, size_t len, int timeout_ms)
{
	struct buf out = BUF_INIT;
	int fd = raw_connect(path);
	if (fd < 0)
		return strdup("(connect failed)");
	const char *p = data;
	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n <= 0)
			break;
		p += n;
		len -= (size_t)n;
	}
	raw_read(fd, &out, timeout_ms);
	close(fd);
	return buf_detach(&out, NULL);
}

/* A keep-alive connection that has been served once, so that the server
 * counts it; connections of earlier tests may take a moment to end. */
static int held_conn(const char *path)
{
	for (int tries = 0; tries < 100; tries++) {
		char tmp[4096];
		size_t got = 0;
		int fd = raw_connect(path);
		if (fd >= 0 && send(fd, "GET /echo HTTP/1.1\r\n\r\n", 22, MSG_NOSIGNAL) == 22) {
			/* The whole response, so that nothing of it is left unread. */
			struct pollfd p = { fd, POLLIN, 0 };
			while (got < sizeof(tmp) - 1 && poll(&p, 1, 2000) > 0) {
				ssize_t n = read(fd, tmp + got, sizeof(tmp) - 1 - got);
				if (n <= 0)
					break;
				got += (size_t)n;
				tmp[got] = '\0';
				if (strstr(tmp, "}\n"))
					break;
			}
		}
		if (got && !strncmp(tmp, "HTTP/1.1 200 ", 13))
			return fd;
		if (fd >= 0)
			close(fd);
		usleep(20000);
	}
	return -1;
}

static int starts(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

/* --- client threads ----------------------------------------------------- */

struct worker {
	const char *sock;
	int id, ok;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct client *cl = NULL;
	struct strata_error err = STRATA_ERROR_INIT;
	if (client_open(w->sock, &cl, &err) < 0)
		return NULL;
	for (int i = 0; i < 20; i++) {
		char path[64];
		json_t *out = NULL;
		snprintf(path, sizeof(path), "/echo?q=%d-%d", w->id, i);
		if (client_call(cl, "GET", path, NULL, NULL, &out, &err) == 0) {
			char want[32];
			snprintf(want, sizeof(want), "%d-%d", w->id, i);
			const char *q = json_string_value(json_object_get(out, "q"));
			w->ok += q && !strcmp(q, want);
		}
		json_decref(out);
	}
	client_free(cl);
	return NULL;
}

static int count_lines(void *ctx, json_t *ev)
{
	int *next = ctx;
	json_t *i = json_object_get(ev, "i");
	if (json_is_integer(i)) {
		if (json_integer_value(i) != *next)
			*next = -1000000;
		else
			(*next)++;
	}
	return 0;
}

static int serve_forever(const char *path)
{
	struct httpd *h;
	struct strata_error err = STRATA_ERROR_INIT;
	if (httpd_start(path, 0600, NULL, ROUTES, NULL, &h, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	char line[64];
	while (fgets(line, sizeof(line), stdin))
		;
	httpd_stop(h);
	return 0;
}

/* --- the tests ---------------------------------------------------------- */

static void test_client_basics(const char *sock)
{
	struct client *cl;
	struct strata_error err = STRATA_ERROR_INIT;
	json_t *out = NULL;
	int status = 0;

	ok(client_open(sock, &cl, &err) == 0, "client_open");
	is_int(client_call(cl, "GET", "/echo?q=a%20b+c%2B&x", NULL, &status, &out, &err), 0, "GET round trip");
	is_int(status, 200, "status 200");
	is_str(json_string_value(json_object_get(out, "method")), "GET", "method");
	is_str(json_string_value(json_object_get(out, "path")), "/echo", "path without query");
	is_str(json_string_value(json_object_get(out, "query")), "q=a%20b+c%2B&x", "raw query");
	is_str(json_string_value(json_object_get(out, "q")), "a b c+", "query parameter decoded");
	is_int(json_integer_value(json_object_get(out, "uid")), getuid(), "peer uid from SO_PEERCRED");
	json_decref(out);

	json_t *body = json_pack("{s:[i,i], s:s}", "a", 1, 2, "s", "ünï");
	is_int(client_call(cl, "POST", "/echo", body, &status, &out, &err), 0, "POST with a JSON body");
	json_t *echoed = json_loads(json_string_value(json_object_get(out, "body")), 0, NULL);
	ok(json_equal(echoed, body), "the body arrives intact");
	is_str(json_string_value(json_object_get(out, "ct")), "application/json", "as application/json");
	json_decref(echoed);
	json_decref(out);
	json_decref(body);

	is_int(client_call(cl, "DELETE", "/echo", NULL, NULL, &out, &err), 0, "DELETE without a body");
	is_str(json_string_value(json_object_get(out, "method")), "DELETE", "method DELETE");
	is_str(json_string_value(json_object_get(out, "body")), "", "and no body");
	json_decref(out);

	static const char *refs[] = { "127.0.0.1:5000/a/b:tag", "docker.io/library/alpine@sha256:abc",
				      "ünï cødé/%?#&+=;", "..", "." };
	for (size_t i = 0; i < sizeof(refs) / sizeof(refs[0]); i++) {
		char *esc = client_escape(refs[i]);
		char *path = str_printf("/echo/%s", esc);
		ok(!strchr(esc, '/') && !strchr(esc, '?') && strcmp(esc, "..") && strcmp(esc, "."),
		   "escape '%s' -> '%s'", refs[i], esc);
		out = NULL;
		is_int(client_call(cl, "GET", path, NULL, NULL, &out, &err), 0, "GET %s", path);
		is_str(json_string_value(json_object_get(out, "seg")), refs[i], "segment decodes back");
		json_decref(out);
		free(path);
		free(esc);
	}

	struct buf text = BUF_INIT;
	is_int(client_call_text(cl, "GET", "/text", &status, &text, &err), 0, "a text response");
	is_str(text.data, "a\nb\n", "comes back as it was");
	is_int(client_call(cl, "GET", "/text", NULL, &status, &out, &err), 0, "and through client_call");
	ok(out == NULL, "as no JSON");
	is_int(client_call_text(cl, "GET", "/error", &status, &text, &err), -EBUSY, "text calls fail alike");
	buf_release(&text);
	error_clear(&err);
	is_int(client_call(cl, "GET", "/error", NULL, &status, &out, &err), -EBUSY, "409 maps to -EBUSY");
	is_int(status, 409, "with the status");
	is_str(err.msg, "image 'x' is mounted at '/mnt'", "and the daemon's message verbatim");
	ok(out == NULL, "no output on failure");
	error_clear(&err);
	is_int(client_call(cl, "GET", "/nope", NULL, NULL, NULL, &err), -ENOENT, "404 maps to -ENOENT");
	error_clear(&err);
	is_int(client_call(cl, "GET", "/noreply", NULL, &status, NULL, &err), -EIO,
	       "a handler that does not reply gives 500");
	is_int(status, 500, "status 500");
	error_clear(&err);

	/* A body over the cap: 413, and the client reads it rather than a reset. */
	json_t *big = json_object();
	char *blob = malloc(1200000);
	memset(blob, 'x', 1199999);
	blob[1199999] = '\0';
	json_object_set_new(big, "blob", json_string(blob));
	is_int(client_call(cl, "POST", "/echo", big, &status, NULL, &err), -EIO, "oversize body fails");
	is_int(status, 413, "with 413");
	is_str(err.msg, "request body too large", "and says why");
	error_clear(&err);
	json_decref(big);
	free(blob);
	is_int(client_call(cl, "GET", "/echo", NULL, &status, NULL, &err), 0, "the client recovers");

	client_set_timeout(cl, 1);
	is_int(client_call(cl, "GET", "/sleep?ms=1500", NULL, &status, NULL, &err), -ETIMEDOUT,
	       "a call past the client's timeout: -ETIMEDOUT");
	ok(strstr(err.msg, "did not answer") != NULL, "'%s'", err.msg);
	error_clear(&err);
	client_set_timeout(cl, 0);
	is_int(client_call(cl, "GET", "/sleep?ms=1100", NULL, &status, NULL, &err), 0, "no limit with 0");

	/* NDJSON streaming. */
	int next = 0;
	out = NULL;
	is_int(client_stream(cl, "GET", "/stream?n=1000", NULL, count_lines, &next, &out, &err), 0,
	       "stream of 1000 events");
	is_int(next, 1000, "every event arrives, in order");
	is_int(json_integer_value(json_object_get(out, "i")), 999, "the last one is returned");
	json_decref(out);
	next = 0;
	is_int(client_stream(cl, "POST", "/stream?n=3&fail=1", NULL, count_lines, &next, &out, &err), -ENOENT,
	       "a stream ending in an error event fails");
	is_str(err.msg, "image 'x' is not stored", "with the event's message");
	is_int(next, 3, "after the progress events");
	error_clear(&err);
	is_int(client_stream(cl, "GET", "/error", NULL, count_lines, &next, &out, &err), -EBUSY,
	       "a stream refused up front fails like a call");
	error_clear(&err);
	client_free(cl);
}

static void test_raw(const char *sock)
{
	char *r;
#define RAW(s) raw_exchange(sock, s, sizeof(s) - 1, 2000)
	r = RAW("\x01\x02garbage\xff\r\n\r\n");
	ok(starts(r, "HTTP/1.1 400 "), "garbage request line: 400 (%.30s)", r);
	ok(strstr(r, "Connection: close") != NULL, "and the connection closes");
	free(r);
	r = RAW("GET /echo HTTP/2.0\r\n\r\n");
	ok(starts(r, "HTTP/1.1 505 "), "HTTP/2.0: 505 (%.30s)", r);
	free(r);
	r = RAW("GET http://x/echo HTTP/1.1\r\n\r\n");
	ok(starts(r, "HTTP/1.1 400 "), "absolute-form target: 400");
	free(r);
	r = RAW("GET /echo HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n");
	ok(starts(r, "HTTP/1.1 400 "), "folded header: 400");
	free(r);
	r = RAW("GET /echo HTTP/1.1\r\nBad Name: x\r\n\r\n");
	ok(starts(r, "HTTP/1.1 400 "), "space in a header name: 400");
	free(r);
	r = RAW("POST /echo HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd");
	ok(starts(r, "HTTP/1.1 400 "), "conflicting Content-Length: 400");
	free(r);
	r = RAW("POST /echo HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
	ok(starts(r, "HTTP/1.1 400 "), "Content-Length with chunked: 400");
	free(r);
	r = RAW("POST /echo HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n");
	ok(starts(r, "HTTP/1.1 501 "), "unknown transfer coding: 501");
	free(r);
	r = RAW("POST /echo HTTP/1.1\r\nContent-Length: -1\r\n\r\n");
	ok(starts(r, "HTTP/1.1 400 "), "negative Content-Length: 400");
	free(r);
	r = RAW("POST /echo HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n");
	ok(starts(r, "HTTP/1.1 400 "), "huge Content-Length: 400");
	free(r);
	r = RAW("POST /echo HTTP/1.1\r\nContent-Length: 2000000\r\n\r\n");
	ok(starts(r, "HTTP/1.1 413 "), "Content-Length over the cap: 413 before the body is sent");
	free(r);
	r = RAW("POST /echo HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2000000\r\n\r\n");
	ok(starts(r, "HTTP/1.1 413 "), "and with Expect: 100-continue, 413 instead of 100");
	free(r);
	r = RAW("POST /echo HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi");
	ok(starts(r, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 "), "Expect: 100-continue gets 100 then 200");
	free(r);
	r = RAW("POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
		"5;ext=1\r\nhello\r\n7\r\n, world\r\n0\r\nTrailer: x\r\n\r\n");
	ok(starts(r, "HTTP/1.1 200 ") && strstr(r, "\"body\":\"hello, world\""), "chunked request body");
	free(r);
	r = RAW("POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n");
	ok(starts(r, "HTTP/1.1 400 "), "malformed chunk size: 400");
	free(r);
	r = RAW("POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFF\r\n");
	ok(starts(r, "HTTP/1.1 413 "), "chunk over the cap: 413");
	free(r);
	r = RAW("GET /echo HTTP/1.1\r\nX: a\0b\r\n\r\n");
	ok(starts(r, "HTTP/1.1 400 "), "NUL in a header: 400");
	free(r);
	r = RAW("HEAD /echo HTTP/1.1\r\nConnection: close\r\n\r\n");
	ok(starts(r, "HTTP/1.1 200 ") && strstr(r, "Content-Length: ") && !strstr(r, "{"),
	   "HEAD: the head only");
	free(r);
	r = RAW("GET /echo HTTP/1.0\r\n\r\n");
	ok(starts(r, "HTTP/1.0 200 ") && strstr(r, "\"minor\":0"), "HTTP/1.0 answered and closed");
	free(r);
	r = RAW("GET /stream?n=2 HTTP/1.0\r\n\r\n");
	ok(strstr(r, "\r\n\r\n{\"i\":0}\n{\"i\":1}\n") != NULL, "HTTP/1.0 stream: no chunks, ends at close");
	free(r);
	r = RAW("\r\n\r\nGET /echo?q=1 HTTP/1.1\r\n\r\nGET /echo?q=2 HTTP/1.1\nConnection: close\n\n");
	ok(strstr(r, "\"q\":\"1\"") && strstr(r, "\"q\":\"2\"") && strstr(r, "Connection: close"),
	   "pipelined keep-alive requests, leading blank lines and bare LF");
	free(r);

	/* A head over 16 KiB. */
	struct buf big = BUF_INIT;
	buf_adds(&big, "GET /echo HTTP/1.1\r\n");
	for (int i = 0; i < 400; i++)
		buf_addf(&big, "X-Filler-%d: %040d\r\n", i, i);
	buf_adds(&big, "\r\n");
	r = raw_exchange(sock, big.data, big.len, 2000);
	ok(starts(r, "HTTP/1.1 431 "), "oversize head: 431 (%.30s)", r);
	free(r);
	buf_release(&big);
	/* Random bytes. */
	char junk[65536];
	unsigned seed = 42;
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (char)(rand_r(&seed) & 0xff);
	for (int i = 0; i < 4; i++) {
		r = raw_exchange(sock, junk + i * 1000, sizeof(junk) - i * 1000, 2000);
		ok(starts(r, "HTTP/1.1 4"), "random bytes: a 4xx (%.12s)", r);
		free(r);
	}
#undef RAW
}

static void test_hangup(const char *sock)
{
	int fd = raw_connect(sock);
	const char req[] = "GET /slowstream HTTP/1.1\r\n\r\n";
	ok(send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL) > 0, "start a slow stream");
	char tmp[256];
	ok(read(fd, tmp, sizeof(tmp)) > 0, "it streams");
	close(fd);
	pthread_mutex_lock(&seen_lock);
	uint64_t until = now_ns() + 5000000000ull;
	while (!slow_done && now_ns() < until) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 50000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&seen_cond, &seen_lock, &ts);
	}
	pthread_mutex_unlock(&seen_lock);
	ok(slow_done, "the handler stopped after the client hung up");
	ok(slow_closed == 1 || slow_write_err == -EPIPE, "it saw http_conn_closed (%d) or -EPIPE (%d)",
	   slow_closed, slow_write_err);
	char *r = raw_exchange(sock, "GET /echo HTTP/1.1\r\nConnection: close\r\n\r\n", 42, 2000);
	ok(starts(r, "HTTP/1.1 200 "), "the server survives");
	free(r);
}

static void test_concurrency(const char *sock)
{
	struct worker w[50];
	pthread_t t[50];
	for (int i = 0; i < 50; i++) {
		w[i] = (struct worker){ sock, i, 0 };
		pthread_create(&t[i], NULL, worker_main, &w[i]);
	}
	int good = 0;
	for (int i = 0; i < 50; i++) {
		pthread_join(t[i], NULL);
		good += w[i].ok;
	}
	is_int(good, 50 * 20, "50 concurrent clients, 20 calls each, all answered right");
}

static void test_limits(const char *dir)
{
	struct strata_error err = STRATA_ERROR_INIT;
	struct httpd *h;
	char *sock = path_join(dir, "limits.sock");
	struct httpd_options o = { .max_conns = 2, .head_timeout_ms = 300, .idle_timeout_ms = 400 };
	is_int(httpd_start(sock, 0600, &o, ROUTES, NULL, &h, &err), 0, "server with short timeouts");

	int fd = raw_connect(sock);
	send(fd, "GET /echo HTTP/1.1\r\n", 20, MSG_NOSIGNAL);
	uint64_t t0 = now_ns();
	struct buf out = BUF_INIT;
	raw_read(fd, &out, 3000);
	ok(starts(out.data, "HTTP/1.1 408 "), "a slow head times out with 408 (%.30s)", out.data);
	ok(now_ns() - t0 < 2000000000ull, "promptly (%llu ms)", (unsigned long long)((now_ns() - t0) / 1000000));
	close(fd);
	buf_release(&out);

	fd = raw_connect(sock);
	t0 = now_ns();
	raw_read(fd, &out, 3000);
	ok(out.len == 0 && now_ns() - t0 < 2000000000ull, "an idle connection is closed silently");
	close(fd);

	/* Dribbling a byte at a time does not extend the deadline. */
	fd = raw_connect(sock);
	const char *slow = "GET /echo HTTP/1.1\r\nX: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
	t0 = now_ns();
	for (const char *p = slow; *p && now_ns() - t0 < 1500000000ull; p++) {
		if (send(fd, p, 1, MSG_NOSIGNAL) < 0)
			break;
		usleep(20000);
	}
	raw_read(fd, &out, 2000);
	ok(starts(out.data, "HTTP/1.1 408 "), "a dribbling client times out too");
	close(fd);
	buf_release(&out);

	int a = held_conn(sock), b = held_conn(sock);
	ok(a >= 0 && b >= 0, "two connections served and held open");
	char *r = raw_exchange(sock, "GET /echo HTTP/1.1\r\n\r\n", 22, 2000);
	ok(starts(r, "HTTP/1.1 503 "), "a connection past max_conns gets 503 (%.30s)", r);
	free(r);
	close(a);
	close(b);

	/* Stop with an idle keep-alive connection and a handler in flight. */
	fd = held_conn(sock);
	int busy = held_conn(sock);
	send(busy, "GET /sleep HTTP/1.1\r\n\r\n", 23, MSG_NOSIGNAL);
	usleep(50000);
	t0 = now_ns();
	httpd_stop(h);
	uint64_t took = (now_ns() - t0) / 1000000;
	ok(took < 1000, "httpd_stop with connections open returns promptly (%llu ms)", (unsigned long long)took);
	raw_read(busy, &out, 1000);
	ok(starts(out.data, "HTTP/1.1 200 ") && strstr(out.data, "slept"), "the handler in flight finished");
	buf_release(&out);
	struct stat st;
	ok(stat(sock, &st) < 0 && errno == ENOENT, "the socket is gone");
	close(fd);
	close(busy);
	free(sock);
}

static void test_start_stop(const char *dir, const char *sock)
{
	struct strata_error err = STRATA_ERROR_INIT;
	struct httpd *h = NULL;
	struct client *cl;
	struct stat st;

	ok(stat(sock, &st) == 0 && (st.st_mode & 0777) == 0600 && S_ISSOCK(st.st_mode), "socket mode 0600");
	is_int(httpd_start(sock, 0600, NULL, ROUTES, NULL, &h, &err), -EADDRINUSE, "a second server: -EADDRINUSE");
	ok(strstr(err.msg, "is in use by another daemon") != NULL, "'%s'", err.msg);
	ok(h == NULL, "and no server");
	error_clear(&err);

	/* A socket file left behind by a dead server. */
	char *stale = path_join(dir, "stale.sock");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", stale);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	ok(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0, "make a stale socket");
	close(fd);
	client_open(stale, &cl, &err);
	is_int(client_call(cl, "GET", "/echo", NULL, NULL, NULL, &err), -ECONNREFUSED,
	       "calling a dead daemon: -ECONNREFUSED");
	ok(starts(err.msg, "cannot reach the strata daemon at '"), "'%s'", err.msg);
	error_clear(&err);
	is_int(httpd_start(stale, 0660, NULL, ROUTES, NULL, &h, &err), 0, "a stale socket is replaced");
	is_int(client_call(cl, "GET", "/echo", NULL, NULL, NULL, &err), 0, "and served");
	ok(stat(stale, &st) == 0 && (st.st_mode & 0777) == 0660, "with mode 0660");
	httpd_stop(h);
	error_clear(&err);
	is_int(client_call(cl, "GET", "/echo", NULL, NULL, NULL, &err), -ENOENT, "after stop: -ENOENT");
	ok(starts(err.msg, "cannot reach the strata daemon at '") && strstr(err.msg, "no such file"), "'%s'",
	   err.msg);
	client_free(cl);
	httpd_stop(NULL);
	free(stale);

	char *file = path_join(dir, "file.sock");
	write_file_atomic_at(AT_FDCWD, file, "x", 1, 0600, 0);
	error_clear(&err);
	is_int(httpd_start(file, 0600, NULL, ROUTES, NULL, &h, &err), -EEXIST, "a regular file is not replaced");
	free(file);
}

static void test_helpers(void)
{
	char out[16];
	is_int(http_path_segment("a%2Fb%3A1", out, sizeof(out)), 0, "segment decodes");
	is_str(out, "a/b:1", "to a/b:1");
	is_int(http_path_segment("a/b", out, sizeof(out)), -EINVAL, "a raw slash is refused");
	is_int(http_path_segment("", out, sizeof(out)), -EINVAL, "so is an empty segment");
	is_int(http_path_segment("%zz", out, sizeof(out)), -EINVAL, "and a bad escape");
	is_int(http_path_segment("ab%4", out, sizeof(out)), -EINVAL, "and a cut escape");
	is_int(http_path_segment("a%00", out, sizeof(out)), -EINVAL, "and NUL");
	is_int(http_path_segment("0123456789abcdef", out, sizeof(out)), -ENAMETOOLONG, "too long");
	is_int(http_path_segment("0123456789abcde", out, sizeof(out)), 0, "just fits");

	struct http_request req = { .query = "a=1&b&c=x+y%21&a=2&long=0123456789abcdefXYZ" };
	is_int(http_query_param(&req, "a", out, sizeof(out)), 0, "query a");
	is_str(out, "1", "first wins");
	is_int(http_query_param(&req, "b", out, sizeof(out)), 0, "query b without '='");
	is_str(out, "", "is empty");
	http_query_param(&req, "c", out, sizeof(out));
	is_str(out, "x y!", "plus and escapes decoded");
	is_int(http_query_param(&req, "d", out, sizeof(out)), -ENOENT, "absent: -ENOENT");
	is_int(http_query_param(&req, "long", out, sizeof(out)), -ENAMETOOLONG, "too long: -ENAMETOOLONG");
	char *e = client_escape("a b/c:d~e");
	is_str(e, "a%20b%2Fc%3Ad~e", "client_escape");
	free(e);
}

int main(int argc, char **argv)
{
	struct strata_error err = STRATA_ERROR_INIT;
	struct httpd *h;
	char tmpl[] = "/tmp/test-httpd.XXXXXX";

	signal(SIGPIPE, SIG_IGN);
	if (argc == 3 && !strcmp(argv[1], "--serve"))
		return serve_forever(argv[2]);
	char *dir = mkdtemp(tmpl);
	if (!dir) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 99;
	}
	char *sock = path_join(dir, "strata.sock");
	test_helpers();
	if (!ok(httpd_start(sock, 0600, NULL, ROUTES, NULL, &h, &err) == 0, "httpd_start: %s", err.msg))
		return tap_done();
	test_start_stop(dir, sock);
	test_client_basics(sock);
	test_raw(sock);
	test_hangup(sock);
	test_concurrency(sock);
	test_limits(dir);
	httpd_stop(h);
	rm_rf(dir);
	free(sock);
	return tap_done();
}
