/* client: JSON calls to the store daemon over its Unix socket (libcurl). */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "buf.h"
#include "client.h"

#define CONNECT_TIMEOUT_S 5L
#define DEFAULT_TIMEOUT_S 120L
#define MAX_RESPONSE (64u << 20) /* image listings and inspect output */
/* File listings (inspect --files, cache ls --json): an image at the entry
 * limit of a million lists in about 150 MB. */
#define MAX_TEXT_RESPONSE (1u << 30)
#define MAX_LINE (1u << 20)      /* one NDJSON event */

struct client {
	char *sock;
	CURL *h;
	long timeout;
	char errbuf[CURL_ERROR_SIZE];
};

/* One request in flight. */
struct xfer {
	struct client *c;
	struct buf body;     /* the whole body, or the unfinished line of a stream */
	int stream;
	int (*on_line)(void *ctx, json_t *event);
	void *ctx;
	json_t *last;        /* the last event of a stream */
	int cb_err;          /* why the write callback stopped the transfer */
	struct strata_error *err;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result;

static void curl_global(void)
{
	curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static int errno_of_status(long status)
{
	switch (status) {
	case 400: return -EINVAL;
	case 403: return -EACCES;
	case 404: return -ENOENT;
	case 409: return -EBUSY;
	case 507: return -ENOSPC;
	default: return -EIO;
	}
}

int client_open(const char *socket_path, struct client **out, struct strata_error *err)
{
	struct client *c;
	*out = NULL;
	pthread_once(&curl_once, curl_global);
	if (curl_init_result != CURLE_OK)
		return error_set(err, -EIO, "cannot initialise libcurl: %s", curl_easy_strerror(curl_init_result));
	if (!(c = calloc(1, sizeof(*c))))
		return error_set(err, -ENOMEM, "out of memory");
	c->timeout = DEFAULT_TIMEOUT_S;
	if (!(c->sock = strdup(socket_path)) || !(c->h = curl_easy_init())) {
		client_free(c);
		return error_set(err, -ENOMEM, "out of memory");
	}
	*out = c;
	return 0;
}

void client_free(struct client *c)
{
	if (!c)
		return;
	if (c->h)
		curl_easy_cleanup(c->h);
	free(c->sock);
	free(c);
}

void client_set_timeout(struct client *c, long seconds)
{
	c->timeout = seconds > 0 ? seconds : 0;
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

/* --- responses ---------------------------------------------------------- */

static long response_status(struct xfer *x)
{
	long status = 0;
	curl_easy_getinfo(x->c->h, CURLINFO_RESPONSE_CODE, &status);
	return status;
}

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

static size_t on_data(char *data, size_t size, size_t nmemb, void *userp)
{
	struct xfer *x = userp;
	size_t n = size * nmemb;
	long status = response_status(x);
	int streaming = x->stream && status >= 200 && status < 300;
	int r = buf_add(&x->body, data, n);
	if (r == -EFBIG)
		r = error_set(x->err, -EFBIG, "the strata daemon at '%s' sent %s over %zu bytes", x->c->sock,
			      streaming ? "an event line" : "a response", x->body.max);
	else if (r < 0)
		r = error_set(x->err, r, "out of memory");
	if (r == 0 && streaming)
		r = stream_lines(x);
	if (r < 0) {
		x->cb_err = r;
		return 0; /* makes curl stop with CURLE_WRITE_ERROR */
	}
	return n;
}

/* The daemon's {"error"} text, or something readable made of the body. */
static int fail_status(struct xfer *x, long status, json_t *v)
{
	const char *msg = json_string_value(json_object_get(v, "error"));
	if (msg)
		return error_set(x->err, errno_of_status(status), "%s", msg);
	char first[160];
	size_t i = 0;
	for (const char *p = x->body.data; *p && *p != '\n' && i + 1 < sizeof(first); p++)
		first[i++] = (*p >= 0x20 && *p < 0x7f) ? *p : '?';
	first[i] = '\0';
	return error_set(x->err, errno_of_status(status), "the strata daemon at '%s' answered HTTP %ld%s%s",
			 x->c->sock, status, i ? ": " : "", first);
}

/* --- requests ----------------------------------------------------------- */

static int transfer_error(struct xfer *x, CURLcode res)
{
	struct client *c = x->c;
	char why[CURL_ERROR_SIZE];
	long oserr = 0;
	curl_off_t connected = 0;
	/* curl's messages start with a capital letter; ours do not. */
	snprintf(why, sizeof(why), "%s", c->errbuf[0] ? c->errbuf : curl_easy_strerror(res));
	if (why[0] >= 'A' && why[0] <= 'Z' && !(why[1] >= 'A' && why[1] <= 'Z'))
		why[0] = (char)(why[0] - 'A' + 'a');
	switch (res) {
	case CURLE_WRITE_ERROR:
		if (x->cb_err)
			return x->cb_err;
		break;
	case CURLE_COULDNT_CONNECT:
		curl_easy_getinfo(c->h, CURLINFO_OS_ERRNO, &oserr);
		if (oserr)
			return error_errno(x->err, (int)-oserr, "cannot reach the strata daemon at '%s'", c->sock);
		return error_set(x->err, -ECONNREFUSED, "cannot reach the strata daemon at '%s': %s", c->sock, why);
	case CURLE_OPERATION_TIMEDOUT:
		curl_easy_getinfo(c->h, CURLINFO_PRETRANSFER_TIME_T, &connected);
		if (!connected)
			return error_set(x->err, -ETIMEDOUT, "cannot reach the strata daemon at '%s': %s", c->sock,
					 why);
		return error_set(x->err, -ETIMEDOUT, "the strata daemon at '%s' did not answer within %ld s",
				 c->sock, c->timeout);
	case CURLE_GOT_NOTHING:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_PARTIAL_FILE:
		return error_set(x->err, -ECONNRESET, "the strata daemon at '%s' hung up: %s", c->sock, why);
	default:
		break;
	}
	return error_set(x->err, -EIO, "talking to the strata daemon at '%s': %s", c->sock, why);
}

/* body: the request's JSON text (len bytes), or NULL for none. */
static int perform(struct xfer *x, const char *method, const char *path, const char *body, size_t len,
		   long timeout)
{
	struct client *c = x->c;
	CURL *h = c->h;
	struct curl_slist *hdrs = NULL, *t;
	char *url = NULL;
	int r;

	if (path[0] != '/')
		return error_set(x->err, -EINVAL, "request path '%s' does not start with '/'", path);
	size_t ulen = strlen(path) + sizeof("http://strata");
	if (!(url = malloc(ulen))) {
		r = error_set(x->err, -ENOMEM, "out of memory");
		goto out;
	}
	snprintf(url, ulen, "http://strata%s", path);
	/* Expect: off, or curl waits a second before sending larger bodies. */
	static const char *const lines[] = { "Accept: application/json, application/x-ndjson",
					     "Content-Type: application/json", "Expect:" };
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		if (!(t = curl_slist_append(hdrs, lines[i]))) {
			r = error_set(x->err, -ENOMEM, "out of memory");
			goto out;
		}
		hdrs = t;
	}

	curl_easy_reset(h); /* keeps the open connection */
	c->errbuf[0] = '\0';
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, c->sock);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->errbuf);
	curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT_S);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, timeout);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "strata/" PACKAGE_VERSION);
	if (!strcmp(method, "HEAD")) {
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	} else if (body || !strcmp(method, "POST") || !strcmp(method, "PUT")) {
		/* POSTFIELDS gives a Content-Length body; the method is ours. */
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? body : "");
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(body ? len : 0));
		if (strcmp(method, "POST"))
			curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	} else {
		curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
		if (strcmp(method, "GET"))
			curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	}
	CURLcode res = curl_easy_perform(h);
	r = res == CURLE_OK ? 0 : transfer_error(x, res);
out:
	curl_slist_free_all(hdrs);
	free(url);
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
	long st = response_status(x);
	if (status)
		*status = (int)st;
	if (st < 200 || st > 299) {
		json_t *v = json_loadb(x->body.data, x->body.len, JSON_DECODE_ANY, NULL);
		r = fail_status(x, st, v);
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

int client_call_text(struct client *c, const char *method, const char *path, int *status, struct buf *out,
		     struct strata_error *err)
{
	struct xfer x = { .c = c, .err = err };
	buf_init(&x.body, MAX_TEXT_RESPONSE);
	int r = call(&x, method, path, NULL, 0, status);
	if (r == 0)
		r = buf_add(out, x.body.data, x.body.len) < 0 ? error_set(err, -ENOMEM, "out of memory") : 0;
	buf_release(&x.body);
	return r;
}

int client_stream(struct client *c, const char *method, const char *path, json_t *body,
		  int (*on_line)(void *ctx, json_t *event), void *ctx, json_t **out, struct strata_error *err)
{
	struct xfer x = { .c = c, .err = err, .stream = 1, .on_line = on_line, .ctx = ctx };
	json_t *v = NULL;
	char *json = NULL;
	long st;
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
	st = response_status(&x);
	if (st < 200 || st > 299) {
		if (x.body.len)
			v = json_loadb(x.body.data, x.body.len, JSON_DECODE_ANY, NULL);
		r = fail_status(&x, st, v);
		goto out;
	}
	if ((r = stream_line(&x, x.body.data, x.body.len)) < 0) /* a last line without '\n' */
		goto out;
	const char *msg = json_string_value(json_object_get(x.last, "error"));
	if (msg) {
		json_t *code = json_object_get(x.last, "status");
		r = error_set(err, json_is_integer(code) ? errno_of_status((long)json_integer_value(code)) : -EIO,
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
