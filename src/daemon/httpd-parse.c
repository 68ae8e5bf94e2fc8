/* httpd-parse: the request parser of httpd — request line, headers, body
 * framing, chunk sizes — and the helpers handlers use to read a request.
 * Everything here reads untrusted bytes and is covered by a fuzz target. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "httpd-impl.h"
#include "src/base/digest.h"

#define MAX_METHOD 20

static int unescape(const char *s, size_t n, int plus_is_space, char *out, size_t outlen)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		int ch = (unsigned char)s[i];
		if (ch == '%') {
			if (i + 2 >= n)
				return -EINVAL;
			int hi = hex_digit_value((unsigned char)s[i + 1]), lo = hex_digit_value((unsigned char)s[i + 2]);
			if (hi < 0 || lo < 0)
				return -EINVAL;
			ch = hi * 16 + lo;
			i += 2;
		} else if (ch == '+' && plus_is_space) {
			ch = ' ';
		}
		if (ch == 0)
			return -EINVAL;
		if (o + 1 >= outlen)
			return -ENAMETOOLONG;
		out[o++] = (char)ch;
	}
	if (!outlen)
		return -ENAMETOOLONG;
	out[o] = '\0';
	return 0;
}

int http_path_segment(const char *seg, char *out, size_t outlen)
{
	size_t n = strlen(seg);
	if (!n || memchr(seg, '/', n))
		return -EINVAL;
	return unescape(seg, n, 0, out, outlen);
}

int http_query_param(const struct http_request *r, const char *name, char *out, size_t outlen)
{
	size_t want = strlen(name);
	char key[256];
	for (const char *p = r->query; *p;) {
		size_t n = strcspn(p, "&;");
		const char *eq = memchr(p, '=', n);
		size_t klen = eq ? (size_t)(eq - p) : n;
		if (want < sizeof(key) && unescape(p, klen, 1, key, want + 1) == 0 && !strcmp(key, name)) {
			if (!eq)
				return outlen ? (out[0] = '\0', 0) : -ENAMETOOLONG;
			return unescape(eq + 1, n - klen - 1, 1, out, outlen);
		}
		p += n;
		if (*p)
			p++;
	}
	return -ENOENT;
}

const char *http_header(const struct http_request *r, const char *name)
{
	for (size_t i = 0; i < r->n_headers; i++)
		if (!strcasecmp(r->headers[i].name, name))
			return r->headers[i].value;
	return NULL;
}

/* Whether a comma-separated header value lists token (case-insensitive). */
int httpd_has_token(const char *value, const char *token)
{
	size_t tl = strlen(token);
	for (const char *p = value; p && *p;) {
		p += strspn(p, " \t,");
		size_t n = strcspn(p, ",");
		size_t m = n;
		while (m && (p[m - 1] == ' ' || p[m - 1] == '\t'))
			m--;
		if (m == tl && !strncasecmp(p, token, tl))
			return 1;
		p += n;
	}
	return 0;
}

/* --- heads -------------------------------------------------------------- */

static int is_tchar(int ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

/* Parses the head (NUL-terminated, modified in place) into req. */
int httpd_parse_head(char *head, struct http_head *hd, struct http_request *req, struct http_perr *e)
{
	char *line = head, *next;
	int first = 1;
	hd->minor = 1;
	hd->head_only = 0;
	hd->n_hdrs = 0;
	for (; *line; line = next) {
		if (!(next = strchr(line, '\n')))
			return http_fail(e, 400, "malformed request head");
		*next++ = '\0';
		size_t n = strlen(line);
		if (n && line[n - 1] == '\r')
			line[--n] = '\0';
		if (!n)
			break;
		for (size_t i = 0; i < n; i++) {
			unsigned char ch = (unsigned char)line[i];
			if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
				return http_fail(e, 400, "control character in the request head");
		}
		if (first) {
			first = 0;
			char *sp1 = strchr(line, ' '), *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
			if (!sp1 || !sp2 || strchr(sp2 + 1, ' '))
				return http_fail(e, 400, "malformed request line");
			*sp1 = *sp2 = '\0';
			char *method = line, *target = sp1 + 1, *version = sp2 + 1;
			size_t ml = strlen(method);
			if (!ml || ml > MAX_METHOD || strspn(method, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != ml)
				return http_fail(e, 400, "malformed request method");
			if (!strcmp(version, "HTTP/1.1"))
				hd->minor = 1;
			else if (!strcmp(version, "HTTP/1.0"))
				hd->minor = 0;
			else if (!strncmp(version, "HTTP/", 5) && version[5] >= '0' && version[5] <= '9')
				return http_fail(e, 505, "only HTTP/1.0 and HTTP/1.1 are spoken here");
			else
				return http_fail(e, 400, "malformed request line");
			if (target[0] != '/')
				return http_fail(e, 400, "the request target must be a path");
			for (char *p = target; *p; p++)
				if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
					return http_fail(e, 400, "invalid character in the request target");
			char *q = strchr(target, '?');
			if (q)
				*q++ = '\0';
			req->method = method;
			req->path = target;
			req->query = q ? q : "";
			hd->head_only = !strcmp(method, "HEAD");
			continue;
		}
		if (line[0] == ' ' || line[0] == '\t')
			return http_fail(e, 400, "folded header lines are not accepted");
		char *colon = strchr(line, ':');
		if (!colon || colon == line)
			return http_fail(e, 400, "malformed header line");
		for (char *p = line; p < colon; p++)
			if (!is_tchar((unsigned char)*p))
				return http_fail(e, 400, "malformed header name");
		*colon = '\0';
		char *v = colon + 1;
		v += strspn(v, " \t");
		char *end = v + strlen(v);
		while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
			*--end = '\0';
		if (hd->n_hdrs == HTTPD_MAX_HEADERS)
			return http_fail(e, 431, "too many header lines");
		hd->hdrs[hd->n_hdrs].name = line;
		hd->hdrs[hd->n_hdrs].value = v;
		hd->n_hdrs++;
	}
	if (first)
		return http_fail(e, 400, "empty request");
	req->headers = hd->hdrs;
	req->n_headers = hd->n_hdrs;
	return 0;
}

/* How the body is framed: sets *chunked or *length. */
int httpd_parse_framing(const struct http_head *hd, const struct http_request *req, int *chunked, uint64_t *length,
			 struct http_perr *e)
{
	const char *te = NULL, *cl = NULL;
	*chunked = 0;
	*length = 0;
	for (size_t i = 0; i < req->n_headers; i++) {
		const struct http_header *h = &req->headers[i];
		if (!strcasecmp(h->name, "Transfer-Encoding")) {
			if (te)
				return http_fail(e, 400, "more than one Transfer-Encoding header");
			te = h->value;
		} else if (!strcasecmp(h->name, "Content-Length")) {
			/* Differing lengths are the stuff of request smuggling. */
			if (cl && strcmp(cl, h->value))
				return http_fail(e, 400, "conflicting Content-Length headers");
			cl = h->value;
		}
	}
	if (te) {
		if (cl)
			return http_fail(e, 400, "both Content-Length and Transfer-Encoding given");
		if (!hd->minor)
			return http_fail(e, 400, "Transfer-Encoding in an HTTP/1.0 request");
		if (strcasecmp(te, "chunked"))
			return http_fail(e, 501, "only the chunked transfer coding is supported");
		*chunked = 1;
		return 0;
	}
	if (cl) {
		if (!*cl || strspn(cl, "0123456789") != strlen(cl) || strlen(cl) > 18)
			return http_fail(e, 400, "malformed Content-Length");
		*length = strtoull(cl, NULL, 10);
	}
	return 0;
}


int httpd_parse_chunk_size(const char *line, uint64_t *size)
{
	size_t digits = strspn(line, "0123456789abcdefABCDEF");
	/* 15 digits cannot overflow; extensions after ';' are ignored. */
	if (!digits || digits > 15 || (line[digits] && line[digits] != ';' && line[digits] != ' ' &&
				       line[digits] != '\t'))
		return -EINVAL;
	*size = strtoull(line, NULL, 16);
	return 0;
}
