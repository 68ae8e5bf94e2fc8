/* daemon-analysis: the analysis memo's endpoints (memo.h).
 *
 *   POST /v1/analysis/lookup   {keys: [key]}            -> {results: {key: value}}
 *   POST /v1/analysis/store    {results: {key: value}}  -> {stored: n}
 *   GET  /v1/analysis/report?digest=D&config=C          -> report | 404
 *   POST /v1/analysis/report?digest=D&config=C  report  -> {}
 *   POST /v1/analysis/report/find {ref, config, platform?, auth?}
 *                                                       -> report | 404
 *   POST /v1/analysis/observe  {seconds, cached, ok}    -> {}  (for /metrics)
 *
 * A report travels as the text of a JSON object, stored and returned as it
 * came; a lookup as strata analyze sends it is read without the JSON parser.
 * With a shared tier (memo.redis), lookups and reports this node lacks
 * are asked of it (memo.h); report/find asks it for the report of an image
 * this node need not have: the reference resolved to its manifest digest
 * by one request to the registry, nothing pulled. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "daemon-impl.h"
#include "src/base/digest.h"
#include "src/store/memo.h"
#include "src/store/sharedmemo.h"

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

/* The report's key: ?digest=D&config=C. 0, or negative when it answered. */
static int report_key(const struct http_request *req, struct http_conn *c, char *digest, size_t dlen,
		      char *config, size_t clen)
{
	if (http_need_param(req, c, "analysis report", "digest", digest, dlen) < 0 ||
	    http_need_param(req, c, "analysis report", "config", config, clen) < 0)
		return -EINVAL;
	if (!digest_valid(digest)) {
		http_reply_error(c, 400, "analysis report: 'digest' is not a digest");
		return -EINVAL;
	}
	return 0;
}

void daemon_analysis_report_get(void *ctx, const struct http_request *req, json_t *body, struct http_conn *c)
{
	struct daemon *d = ctx;
	char digest[DIGEST_STR_MAX + 1], config[2048];
	struct strata_error err = STRATA_ERROR_INIT;
	struct buf text = BUF_INIT;
	(void)body;
	if (report_key(req, c, digest, sizeof(digest), config, sizeof(config)) < 0)
		return;
	int r = memo_get_report(d->st, digest, config, &text, &err);
	if (r == -ENOENT)
		http_reply_error(c, 404, "no stored report");
	else if (r < 0)
		reply(c, r, NULL, &err);
	else
		http_reply(c, 200, "application/json", text.data, text.len);
	buf_release(&text);
}

void daemon_analysis_report_put(void *ctx, const struct http_request *req, json_t *body, struct http_conn *c)
{
	struct daemon *d = ctx;
	char digest[DIGEST_STR_MAX + 1], config[2048];
	struct strata_error err = STRATA_ERROR_INIT;
	(void)body;
	if (report_key(req, c, digest, sizeof(digest), config, sizeof(config)) < 0)
		return;
	if (!looks_like_object(req->body, req->body_len)) {
		http_reply_error(c, 400, "analysis report: the body must be a report (a JSON object)");
		return;
	}
	int r = memo_put_report(d->st, digest, config, req->body, req->body_len, &err);
	reply(c, r, json_object(), &err);
	/* A report of megabytes nearly fills the index's 4 MiB memtable: the
	 * next durable commit (the pull of the next image) would then wait for
	 * its flush, 30 to 60 ms. Flush now, in the background, instead. */
	if (r == 0 && req->body_len >= REPORT_FLUSH_BYTES)
		index_flush_start(d->st->idx);
}

void daemon_analysis_report_find(void *ctx, const struct http_request *req, json_t *body, struct http_conn *c)
{
	struct daemon *d = ctx;
	struct strata_error err = STRATA_ERROR_INIT;
	char digest[DIGEST_STR_MAX];
	struct buf text = BUF_INIT;
	const char *config = json_string_value(json_object_get(body, "config"));
	if (!config || !*config || strlen(config) >= 2048) {
		http_reply_error(c, 400, "analysis report: 'config' must be a string of 1 to 2047 bytes");
		return;
	}
	/* Without a fleet there is nothing to find: no registry request. */
	if (!d->shared) {
		http_reply_error(c, 404, "no shared memo (memo.redis) is configured");
		return;
	}
	int r = daemon_image_resolve(d, req, body, digest, &err);
	if (r < 0)
		http_reply_error(c, http_status_of(r), err.msg);
	else if (sharedmemo_get_report(d->shared, digest, config, &text) < 0)
		http_reply_error(c, 404, "no shared report");
	else
		http_reply(c, 200, "application/json", text.data, text.len);
	buf_release(&text);
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

/* The keys of a lookup: straight from the text when it is what strata
 * analyze sends, else through the JSON parser. */
void daemon_analysis_lookup(void *ctx, const struct http_request *req, json_t *body, struct http_conn *c)
{
	struct daemon *d = ctx;
	struct strata_error err = STRATA_ERROR_INIT;
	struct keylist k = { 0 };
	json_t *parsed = NULL;
	(void)body;
	int r = plain_keys(req->body, req->body_len, &k);
	if (r < 0) {
		http_reply_error(c, 500, "out of memory");
		goto out;
	}
	if (r == 1) {
		lookup_reply(d->st, &k, c);
		goto out;
	}
	parsed = json_loadb(req->body, req->body_len, 0, NULL);
	json_t *keys = json_object_get(parsed, "keys");
	if (!json_is_array(keys)) {
		http_reply_error(c, 400, "analysis lookup: 'keys' must be an array");
		goto out;
	}
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
		lookup_reply(d->st, &k, c);
out:
	json_decref(parsed);
	keylist_release(&k);
}

void daemon_analysis_store(void *ctx, const struct http_request *req, json_t *body, struct http_conn *c)
{
	struct daemon *d = ctx;
	struct strata_error err = STRATA_ERROR_INIT;
	(void)req;
	json_t *results = json_object_get(body, "results");
	if (!json_is_object(results)) {
		http_reply_error(c, 400, "analysis store: 'results' must be an object");
		return;
	}
	int r = memo_store(d->st, results, &err);
	reply(c, r, json_pack("{s:I}", "stored", (json_int_t)json_object_size(results)), &err);
}

/* The longest analysis a histogram bucket can tell from another. */
#define OBSERVE_MAX_SECONDS (7 * 24 * 3600.0)

void daemon_analysis_observe(void *ctx, const struct http_request *req, json_t *body, struct http_conn *c)
{
	struct daemon *d = ctx;
	(void)req;
	json_t *secs = json_object_get(body, "seconds");
	double v = json_number_value(secs);
	/* NaN fails both comparisons. */
	if (!json_is_number(secs) || !(v >= 0 && v <= OBSERVE_MAX_SECONDS)) {
		http_reply_error(c, 400, "analysis observe: 'seconds' must be a number from 0 to 604800");
		return;
	}
	metrics_analysis(d->metrics, v, json_is_true(json_object_get(body, "cached")),
			 json_is_true(json_object_get(body, "ok")));
	http_reply(c, 200, "application/json", "{}\n", 3);
}
