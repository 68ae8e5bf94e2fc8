/* daemon-analysis: see daemon-analysis.h. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "daemon-analysis.h"
#include "digest.h"
#include "memo.h"

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
	return 1;
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
		struct buf found = BUF_INIT;
		r = memo_lookup(st, keys, &found, &err);
		if (r < 0)
			reply(c, r, NULL, &err);
		else
			http_reply(c, 200, "application/json", found.data, found.len);
		buf_release(&found);
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
