/* daemon-analysis: see daemon-analysis.h. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "daemon-analysis.h"
#include "digest.h"
#include "memo.h"

#define REPORT_FLUSH_BYTES (1u << 20)

static void reply(struct http_conn *c, int r, json_t *out, const struct strata_error *err)
{
	if (r < 0)
		http_reply_error(c, http_status_of(r), err->msg[0] ? err->msg : strerror(-r));
	else
		http_reply_json(c, 200, out);
	json_decref(out);
}

/* Some bytes that could be a JSON object: the client parses what it gets
 * back, and an unreadable report is only a memo miss. */
static int looks_like_object(const char *s, size_t n)
{
	while (n && (s[n - 1] == '\n' || s[n - 1] == ' '))
		n--;
	return n >= 2 && s[0] == '{' && s[n - 1] == '}';
}

int daemon_analysis_report_route(struct store *st, const struct http_request *req, struct http_conn *c)
{
	int get = !strcmp(req->method, "GET");
	if (strcmp(req->path, "/v1/analysis/report") || (!get && strcmp(req->method, "POST")))
		return 0;
	char digest[DIGEST_STR_MAX + 1], config[2048];
	struct strata_error err = STRATA_ERROR_INIT;
	if (http_query_param(req, "digest", digest, sizeof(digest)) < 0 || !digest_valid(digest) ||
	    http_query_param(req, "config", config, sizeof(config)) < 0) {
		http_reply_error(c, 400, "analysis report: 'digest' and 'config' are needed");
		return 1;
	}
	int r;
	if (get) {
		struct buf text = BUF_INIT;
		r = memo_get_report(st, digest, config, &text, &err);
		if (r == -ENOENT)
			http_reply_error(c, 404, "no stored report");
		else if (r < 0)
			reply(c, r, NULL, &err);
		else
			http_reply(c, 200, "application/json", text.data, text.len);
		buf_release(&text);
		return 1;
	}
	if (!looks_like_object(req->body, req->body_len)) {
		http_reply_error(c, 400, "analysis report: the body must be a report (a JSON object)");
		return 1;
	}
	r = memo_put_report(st, digest, config, req->body, req->body_len, &err);
	reply(c, r, json_object(), &err);
	/* A report of megabytes nearly fills the index's 4 MiB memtable: the
	 * next durable commit (the pull of the next image) would then wait for
	 * its flush, 30 to 60 ms. Flush now, in the background, instead. */
	if (r == 0 && req->body_len >= REPORT_FLUSH_BYTES)
		index_flush_start(st->idx);
	return 1;
}

/* --- memo lookups ---------------------------------------------------------- */

static const char *skip_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

struct keylist {
	const char **v;
	size_t *len;
	size_t n, alloc;
};

static void keylist_release(struct keylist *k)
{
	free(k->v);
	free(k->len);
}

static int keylist_add(struct keylist *k, const char *s, size_t len)
{
	if (k->n == k->alloc) {
		size_t na = k->alloc ? k->alloc * 2 : 1024;
		const char **nv = realloc(k->v, na * sizeof(*nv));
		if (nv)
			k->v = nv;
		size_t *nl = nv ? realloc(k->len, na * sizeof(*nl)) : NULL;
		if (!nl)
			return -ENOMEM;
		k->len = nl;
		k->alloc = na;
	}
	k->v[k->n] = s;
	k->len[k->n++] = len;
	return 0;
}

/* The keys of a body that is exactly {"keys":[...]} of strings of printable
 * ASCII without escapes — what strata analyze sends — straight from the
 * text: 1 with them in k (pointing into the body), 0 for any other body
 * (left to the JSON parser), -ENOMEM. Parsing 10,000 keys with jansson
 * took longer than looking them up. */
static int plain_keys(const char *p, size_t n, struct keylist *k)
{
	const char *end = p + n;
	p = skip_ws(p, end);
	if (end - p < 8 || memcmp(p, "{\"keys\"", 7))
		return 0;
	p = skip_ws(p + 7, end);
	if (p == end || *p++ != ':' || (p = skip_ws(p, end)) == end || *p++ != '[')
		return 0;
	p = skip_ws(p, end);
	for (int first = 1; p < end && *p != ']'; first = 0) {
		if (!first && (*p++ != ',' || (p = skip_ws(p, end)) == end))
			return 0;
		if (*p++ != '"')
			return 0;
		const char *s = p;
		while (p < end && *p != '"' && *p != '\\' && *p >= 0x20 && *p < 0x7f)
			p++;
		if (p == end || *p != '"' || keylist_add(k, s, (size_t)(p - s)) < 0)
			return p < end && *p == '"' ? -ENOMEM : 0;
		p = skip_ws(p + 1, end);
	}
	if (p == end || *p++ != ']' || (p = skip_ws(p, end)) == end || *p++ != '}')
		return 0;
	return skip_ws(p, end) == end;
}

static void lookup_reply(struct store *st, const struct keylist *k, struct http_conn *c)
{
	struct strata_error err = STRATA_ERROR_INIT;
	struct buf found = BUF_INIT;
	int r = memo_lookup(st, k->n, k->v, k->len, &found, &err);
	if (r < 0)
		reply(c, r, NULL, &err);
	else
		http_reply(c, 200, "application/json", found.data, found.len);
	buf_release(&found);
}

int daemon_analysis_lookup_route(struct store *st, const struct http_request *req, struct http_conn *c)
{
	struct keylist k = { 0 };
	if (strcmp(req->path, "/v1/analysis/lookup") || strcmp(req->method, "POST"))
		return 0;
	int r = plain_keys(req->body, req->body_len, &k);
	if (r < 0)
		http_reply_error(c, 500, "out of memory");
	else if (r == 1)
		lookup_reply(st, &k, c);
	keylist_release(&k);
	return r != 0;
}

int daemon_analysis_route(struct store *st, struct metrics *metrics, const struct http_request *req,
			  json_t *body, struct http_conn *c)
{
	const char *m = req->method, *p = req->path;
	struct strata_error err = STRATA_ERROR_INIT;
	int r;
	if (strncmp(p, "/v1/analysis/", 13))
		return 0;
	p += 13;
	if (!strcmp(p, "lookup") && !strcmp(m, "POST")) {
		json_t *keys = json_object_get(body, "keys");
		if (!json_is_array(keys)) {
			http_reply_error(c, 400, "analysis lookup: 'keys' must be an array");
			return 1;
		}
		struct keylist k = { 0 };
		json_t *key;
		size_t i;
		r = 0;
		json_array_foreach(keys, i, key) {
			const char *s = json_string_value(key);
			if (!s)
				r = error_set(&err, -EINVAL, "malformed memo key");
			else if (keylist_add(&k, s, strlen(s)) < 0)
				r = error_set(&err, -ENOMEM, "out of memory");
			if (r < 0)
				break;
		}
		if (r < 0)
			reply(c, r, NULL, &err);
		else
			lookup_reply(st, &k, c);
		keylist_release(&k);
	} else if (!strcmp(p, "store") && !strcmp(m, "POST")) {
		json_t *results = json_object_get(body, "results");
		if (!json_is_object(results)) {
			http_reply_error(c, 400, "analysis store: 'results' must be an object");
			return 1;
		}
		r = memo_store(st, results, &err);
		reply(c, r, json_pack("{s:I}", "stored", (json_int_t)json_object_size(results)), &err);
	} else if (!strcmp(p, "observe") && !strcmp(m, "POST")) {
		json_t *secs = json_object_get(body, "seconds");
		if (!json_is_number(secs)) {
			http_reply_error(c, 400, "analysis observe: 'seconds' must be a number");
			return 1;
		}
		metrics_analysis(metrics, json_number_value(secs), json_is_true(json_object_get(body, "cached")),
				 json_is_true(json_object_get(body, "ok")));
		reply(c, 0, json_object(), &err);
	} else {
		http_reply_error(c, 404, "no such endpoint");
	}
	return 1;
}
