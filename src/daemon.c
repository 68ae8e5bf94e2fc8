/* daemon: the store's owner — HTTP routes, pulls and mounts. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "mount.h"
#include "cache.h"
#include "catalog.h"
#include "daemon-analysis.h"
#include "daemon-cache.h"
#include "daemon-prescan.h"
#include "metrics.h"
#include "metricsd.h"
#include "daemon.h"
#include "httpd.h"
#include "imageinfo.h"
#include "layerlist.h"
#include "log.h"
#include "pull.h"
#include "store.h"
#include "util.h"

/* How often the daemon checks that its store is still the one it opened. */
#define STORE_CHECK_SECONDS 5

/* Layer listings kept in memory for image views (layerlist.h): the scan
 * image of the tests, 13,000 entries over 4 layers, takes 2.6 MiB. */
#define LAYER_LISTS_BUDGET (64u << 20)

struct served_mount {
	char *mountpoint, *ref;
	char digest[DIGEST_STR_MAX];
	int64_t since;
	struct mount *m;
	struct served_mount *next;
};

struct daemon {
	struct strata_conf *conf;
	struct store *st;
	struct cache *cache;
	struct httpd *httpd;
	pthread_mutex_t lock;          /* protects mounts and the counters */
	struct served_mount *mounts;
	uint64_t mounts_total;
	struct metrics *metrics;
};

char *daemon_socket_path(const char *store)
{
	return path_join(store, "strata.sock");
}

/* --- pull --------------------------------------------------------------- */

/* A request's copy of the configuration, with the client's credentials. */
struct req_conf {
	struct strata_conf conf;
};

static void req_conf_init(struct req_conf *rc, const struct daemon *d, json_t *body)
{
	rc->conf = *d->conf;
	json_t *auth = json_object_get(body, "auth");
	rc->conf.auth_host = json_string_value(json_object_get(auth, "host"));
	rc->conf.auth_user = json_string_value(json_object_get(auth, "username"));
	rc->conf.auth_password = json_string_value(json_object_get(auth, "password"));
}

struct pull_stream {
	struct http_conn *c;
	pthread_mutex_t lock; /* one writer at a time: layers report from several threads */
	uint64_t last_ns;
};

static void stream_event(struct pull_stream *ps, json_t *ev)
{
	char *line = json_dumps(ev, JSON_COMPACT);
	if (line) {
		pthread_mutex_lock(&ps->lock);
		http_stream_write(ps->c, line, strlen(line));
		http_stream_write(ps->c, "\n", 1);
		pthread_mutex_unlock(&ps->lock);
	}
	free(line);
	json_decref(ev);
}

static void on_start(void *ctx, const char *ref, size_t n)
{
	stream_event(ctx, json_pack("{s:s, s:s, s:I}", "event", "start", "ref", ref, "layers", (json_int_t)n));
}

static void on_layer(void *ctx, size_t i, const struct pull_layer_status *st)
{
	struct pull_stream *ps = ctx;
	/* Byte counts arrive per network read: a few updates a second are enough. */
	if (st->state == PULL_LAYER_FETCHING && st->done) {
		uint64_t now = now_ns();
		if (now - ps->last_ns < 100000000ull)
			return;
		ps->last_ns = now;
	}
	stream_event(ps, json_pack("{s:s, s:I, s:s, s:I, s:I, s:i}", "event", "layer", "index", (json_int_t)i,
				   "digest", st->digest, "size", (json_int_t)st->size,
				   "done", (json_int_t)st->done, "state", (int)st->state));
}

static json_t *result_json(const struct pull_result *res)
{
	return json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:b}", "digest", res->digest, "name", res->name,
			 "layers", (json_int_t)res->layers, "layers_fetched", (json_int_t)res->layers_fetched,
			 "bytes_fetched", (json_int_t)res->bytes_fetched,
			 "bytes_stored", (json_int_t)res->bytes_stored, "up_to_date", res->up_to_date);
}

static void count_pull(struct daemon *d, const char *ref, int ok, const struct pull_result *res)
{
	metrics_pull(d->metrics, ref, ok, res->bytes_fetched, res->chunks, res->new_chunks);
}

static void handle_pull(struct daemon *d, json_t *body, struct http_conn *c)
{
	const char *ref = json_string_value(json_object_get(body, "ref"));
	if (!ref) {
		http_reply_error(c, 400, "pull: no 'ref' given");
		return;
	}
	struct req_conf rc;
	req_conf_init(&rc, d, body);
	struct pull_stream ps = { .c = c };
	pthread_mutex_init(&ps.lock, NULL);
	struct pull_observer obs = { on_start, on_layer, &ps };
	struct pull_result res = { 0 };
	struct strata_error err = STRATA_ERROR_INIT;
	http_stream_begin(c, 200, "application/x-ndjson");
	int r = pull_image(d->st, &rc.conf, ref, json_string_value(json_object_get(body, "platform")),
			   &obs, &res, &err);
	count_pull(d, ref, r == 0, &res);
	if (r < 0) {
		log_warn("%s", err.msg);
		stream_event(&ps, json_pack("{s:s, s:s}", "event", "error", "error", err.msg));
	} else {
		log_info("pulled %s as %s", res.name, res.digest);
		stream_event(&ps, json_pack("{s:s, s:o}", "event", "done", "result", result_json(&res)));
	}
	http_stream_end(c);
	pthread_mutex_destroy(&ps.lock);
}

/* --- images ------------------------------------------------------------- */

static int mounted_digest(struct daemon *d, const char *digest, char *mountpoint, size_t len)
{
	int found = 0;
	pthread_mutex_lock(&d->lock);
	for (struct served_mount *m = d->mounts; m && !found; m = m->next)
		if (!strcmp(m->digest, digest)) {
			snprintf(mountpoint, len, "%s", m->mountpoint);
			found = 1;
		}
	pthread_mutex_unlock(&d->lock);
	return found;
}

static void handle_image(struct daemon *d, const struct http_request *req, const char *ref,
			 struct http_conn *c)
{
	struct strata_error err = STRATA_ERROR_INIT;
	char digest[DIGEST_STR_MAX];
	int r = imageinfo_resolve(d->st, ref, digest, &err);
	if (r < 0) {
		http_reply_error(c, http_status_of(r), err.msg);
		return;
	}
	if (!strcmp(req->method, "DELETE")) {
		char mp[PATH_MAX];
		uint64_t freed = 0;
		int untagged = 0;
		const char *busy = mounted_digest(d, digest, mp, sizeof(mp)) ? mp : NULL;
		/* An ingest running now may be reusing this image's chunks as
		 * stored: they must not go from under it. */
		cache_exclusive_begin(d->cache);
		r = imageinfo_remove_ref(d->st, ref, digest, busy, &freed, &untagged, &err);
		cache_exclusive_end(d->cache);
		if (r < 0) {
			http_reply_error(c, http_status_of(r), err.msg);
			return;
		}
		log_info("%s %s (%llu bytes freed)", untagged ? "untagged" : "removed", ref,
			 (unsigned long long)freed);
		json_t *out = json_pack("{s:s, s:I, s:b}", "digest", digest, "freed", (json_int_t)freed,
					"untagged", untagged);
		http_reply_json(c, 200, out);
		json_decref(out);
		return;
	}
	char files[8];
	if (http_query_param(req, "files", files, sizeof(files)) == 0 && files[0] == '1') {
		struct buf listing = BUF_INIT;
		if ((r = imageinfo_files(d->st, digest, &listing, &err)) < 0)
			http_reply_error(c, http_status_of(r), err.msg);
		else
			http_reply(c, 200, "text/plain", listing.data, listing.len);
		buf_release(&listing);
		return;
	}
	json_t *out = imageinfo_inspect(d->st, digest, &err);
	if (!out)
		http_reply_error(c, 500, err.msg);
	else
		http_reply_json(c, 200, out);
	json_decref(out);
}

/* --- mounts ------------------------------------------------------------- */

static json_t *mount_json(const struct served_mount *m)
{
	return json_pack("{s:s, s:s, s:s, s:o}", "mountpoint", m->mountpoint, "ref", m->ref, "digest",
			 m->digest, "since", imageinfo_time(m->since));
}

/* Pins (or unpins) every layer of an image: a live mount's content stays. */
static void pin_image(struct daemon *d, const char *digest, int pin)
{
	json_t *img = NULL, *l;
	size_t i;
	if (catalog_get_image(d->st->idx, digest, &img, NULL) < 0)
		return;
	json_array_foreach(json_object_get(img, "layers"), i, l) {
		const char *id = json_string_value(json_object_get(l, "diff_id"));
		if (id && pin)
			cache_pin(d->cache, id);
		else if (id)
			cache_unpin(d->cache, id);
	}
	json_decref(img);
}

/* 1 when every layer of the image is stored (none evicted). */
static int image_present(struct daemon *d, const char *digest)
{
	json_t *img = NULL, *l;
	size_t i;
	int ok = 1;
	if (catalog_get_image(d->st->idx, digest, &img, NULL) < 0)
		return 0;
	json_array_foreach(json_object_get(img, "layers"), i, l) {
		struct layer_record rec;
		const char *id = json_string_value(json_object_get(l, "diff_id"));
		if (!id || catalog_get_layer(d->st->idx, id, &rec, NULL) < 0 || !catalog_layer_complete(&rec))
			ok = 0;
	}
	json_decref(img);
	return ok;
}

static uint64_t image_layer_count(struct daemon *d, const char *digest)
{
	json_t *img = NULL;
	if (catalog_get_image(d->st->idx, digest, &img, NULL) < 0)
		return 0;
	uint64_t n = json_array_size(json_object_get(img, "layers"));
	json_decref(img);
	return n;
}

static void handle_mount(struct daemon *d, json_t *body, struct http_conn *c)
{
	const char *ref = json_string_value(json_object_get(body, "ref"));
	const char *mp = json_string_value(json_object_get(body, "mountpoint"));
	int no_pull = json_is_true(json_object_get(body, "no_pull"));
	struct strata_error err = STRATA_ERROR_INIT;
	char digest[DIGEST_STR_MAX];
	if (!ref || !mp || mp[0] != '/') {
		http_reply_error(c, 400, "mount: 'ref' and an absolute 'mountpoint' are needed");
		return;
	}
	int r = imageinfo_resolve(d->st, ref, digest, &err);
	char pull_ref[1024];
	snprintf(pull_ref, sizeof(pull_ref), "%s", ref);
	/* Stored but partly evicted: pull what is missing, by the image's name
	 * when it was asked for by digest (or refuse with --no-pull). */
	if (r == 0 && !image_present(d, digest)) {
		error_clear(&err);
		r = -ENOENT;
		if (no_pull) {
			error_set(&err, -ENOENT, "image '%s' is not stored (layers evicted; --no-pull was given)", ref);
			http_reply_error(c, 404, err.msg);
			return;
		}
		json_t *img = NULL;
		if (catalog_get_image(d->st->idx, digest, &img, NULL) == 0 &&
		    json_array_size(json_object_get(img, "names")))
			snprintf(pull_ref, sizeof(pull_ref), "%s",
				 json_string_value(json_array_get(json_object_get(img, "names"), 0)));
		json_decref(img);
	} else if (r == 0) {
		cache_count(d->cache, image_layer_count(d, digest), 0);
	}
	if (r == -ENOENT && !no_pull) {
		struct req_conf rc;
		struct pull_result res = { 0 };
		req_conf_init(&rc, d, body);
		error_clear(&err);
		r = pull_image(d->st, &rc.conf, pull_ref, json_string_value(json_object_get(body, "platform")),
			       NULL, &res, &err);
		count_pull(d, pull_ref, r == 0, &res);
		if (r == 0)
			snprintf(digest, sizeof(digest), "%s", res.digest);
	} else if (r == -ENOENT) {
		error_clear(&err);
		error_set(&err, -ENOENT, "image '%s' is not stored (and --no-pull was given)", ref);
	}
	if (r < 0) {
		http_reply_error(c, http_status_of(r), err.msg);
		return;
	}
	struct served_mount *sm = calloc(1, sizeof(*sm));
	if (!sm || !(sm->mountpoint = strdup(mp)) || !(sm->ref = strdup(ref))) {
		if (sm)
			free(sm->mountpoint);
		free(sm);
		http_reply_error(c, 500, "out of memory");
		return;
	}
	snprintf(sm->digest, sizeof(sm->digest), "%s", digest);
	struct mount_options mo = { .ref = ref, .allow_other = d->conf->allow_other, .cache_bytes = 64u << 20 };
	pin_image(d, digest, 1);
	cache_touch_image(d->cache, digest);
	if ((r = mount_start(d->st, digest, mp, &mo, &sm->m, &err)) < 0) {
		pin_image(d, digest, 0);
		http_reply_error(c, http_status_of(r), err.msg);
		free(sm->mountpoint);
		free(sm->ref);
		free(sm);
		return;
	}
	sm->since = now_unix();
	pthread_mutex_lock(&d->lock);
	sm->next = d->mounts;
	d->mounts = sm;
	d->mounts_total++;
	pthread_mutex_unlock(&d->lock);
	log_info("mounted %s (%s) at %s", ref, digest, mp);
	json_t *out = mount_json(sm);
	http_reply_json(c, 200, out);
	json_decref(out);
}

static void free_served(struct daemon *d, struct served_mount *m)
{
	struct mount_stats ms;
	mount_get_stats(m->m, &ms);
	mount_stop(m->m);
	metrics_retire_mount(d->metrics, ms.ops, ms.op_errors, MOP_COUNT, ms.bytes_read);
	pin_image(d, m->digest, 0);
	cache_touch_image(d->cache, m->digest);
	free(m->mountpoint);
	free(m->ref);
	free(m);
}

static void handle_umount(struct daemon *d, const struct http_request *req, struct http_conn *c)
{
	char mp[PATH_MAX];
	struct strata_error err = STRATA_ERROR_INIT;
	if (http_query_param(req, "path", mp, sizeof(mp)) < 0) {
		http_reply_error(c, 400, "umount: no 'path' given");
		return;
	}
	struct served_mount *found = NULL;
	pthread_mutex_lock(&d->lock);
	for (struct served_mount **p = &d->mounts; *p; p = &(*p)->next)
		if (!strcmp((*p)->mountpoint, mp)) {
			found = *p;
			*p = found->next;
			break;
		}
	pthread_mutex_unlock(&d->lock);
	if (found) {
		free_served(d, found);
		log_info("unmounted %s", mp);
	} else if (mount_force_unmount(mp, &err) < 0) {
		/* Not ours: perhaps left by a daemon that died. */
		http_reply_error(c, http_status_of(err.code), err.msg);
		return;
	}
	json_t *out = json_pack("{s:s}", "mountpoint", mp);
	http_reply_json(c, 200, out);
	json_decref(out);
}

static void handle_mounts(struct daemon *d, struct http_conn *c)
{
	json_t *out = json_array();
	pthread_mutex_lock(&d->lock);
	for (struct served_mount *m = d->mounts; m; m = m->next)
		json_array_append_new(out, mount_json(m));
	pthread_mutex_unlock(&d->lock);
	http_reply_json(c, 200, out);
	json_decref(out);
}

/* --- metrics ------------------------------------------------------------ */

/* The exposition text of every metric: the daemon's own, the live
 * mounts', and the cache's. */
static void metrics_text(void *ctx, struct buf *b)
{
	struct daemon *d = ctx;
	struct metrics_live live = { .op_names = mount_op_names, .n_ops = MOP_COUNT };
	pthread_mutex_lock(&d->lock);
	for (struct served_mount *m = d->mounts; m; m = m->next) {
		struct mount_stats ms;
		mount_get_stats(m->m, &ms);
		for (int i = 0; i < MOP_COUNT; i++) {
			live.ops[i] += ms.ops[i];
			live.op_errors[i] += ms.op_errors[i];
		}
		live.bytes_read += ms.bytes_read;
		live.active_mounts++;
	}
	pthread_mutex_unlock(&d->lock);
	metrics_print(d->metrics, &live, b);
	cache_stats_prometheus(d->cache, b);
}

static void handle_metrics(struct daemon *d, struct http_conn *c)
{
	struct buf b = BUF_INIT;
	metrics_text(d, &b);
	http_reply(c, 200, "text/plain; version=0.0.4", b.data, b.len);
	buf_release(&b);
}

/* --- routing ------------------------------------------------------------ */

static void route(void *ctx, const struct http_request *req, struct http_conn *c)
{
	struct daemon *d = ctx;
	const char *m = req->method, *p = req->path;
	json_t *body = NULL;
	if (daemon_analysis_report_route(d->st, req, c) || daemon_analysis_lookup_route(d->st, req, c))
		return;
	if (req->body_len) {
		body = json_loadb(req->body, req->body_len, 0, NULL);
		if (!json_is_object(body)) {
			json_decref(body);
			http_reply_error(c, 400, "request body is not a JSON object");
			return;
		}
	}
	log_debug("%s %s", m, p);
	if (daemon_cache_route(d->cache, req, body, c)) {
		/* answered: /v1/cache/... */
	} else if (daemon_analysis_route(d->st, d->metrics, req, body, c)) {
		/* answered: /v1/analysis/... */
	} else if (!strcmp(p, "/v1/version") && !strcmp(m, "GET")) {
		json_t *out = json_pack("{s:s, s:s, s:i}", "version", PACKAGE_VERSION, "store", d->st->dir,
					"pid", (int)getpid());
		http_reply_json(c, 200, out);
		json_decref(out);
	} else if (!strcmp(p, "/v1/pull") && !strcmp(m, "POST")) {
		handle_pull(d, body, c);
	} else if (!strcmp(p, "/v1/images") && !strcmp(m, "GET")) {
		json_t *out = imageinfo_list(d->st);
		http_reply_json(c, 200, out);
		json_decref(out);
	} else if (!strncmp(p, "/v1/images/", 11) && (!strcmp(m, "GET") || !strcmp(m, "DELETE"))) {
		char ref[4096];
		if (http_path_segment(p + 11, ref, sizeof(ref)) < 0)
			http_reply_error(c, 400, "malformed image reference in the path");
		else
			handle_image(d, req, ref, c);
	} else if (!strcmp(p, "/v1/mounts") && !strcmp(m, "GET")) {
		handle_mounts(d, c);
	} else if (!strcmp(p, "/v1/mounts") && !strcmp(m, "POST")) {
		handle_mount(d, body, c);
	} else if (!strcmp(p, "/v1/mounts") && !strcmp(m, "DELETE")) {
		handle_umount(d, req, c);
	} else if (!strcmp(p, "/metrics") && !strcmp(m, "GET")) {
		handle_metrics(d, c);
	} else {
		http_reply_error(c, 404, "no such endpoint");
	}
	json_decref(body);
}

/* --- lifecycle ---------------------------------------------------------- */

int daemon_run(struct strata_conf *conf, struct strata_error *err)
{
	struct daemon d = { .conf = conf };
	struct metricsd *metricsd = NULL;
	struct ingest_observer *prescan = NULL;
	sigset_t sigs;
	int r, sig, replaced = 0;
	char *sock = daemon_socket_path(conf->store);

	pthread_mutex_init(&d.lock, NULL);
	if (!(d.metrics = metrics_new())) {
		free(sock);
		return error_set(err, -ENOMEM, "out of memory");
	}
	/* Signals are taken synchronously below; every thread inherits the mask. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	if ((r = store_open(conf, STORE_DAEMON, &d.st, err)) < 0)
		goto out;
	if ((r = cache_new(d.st, &d.cache, err)) < 0)
		goto out;
	if (!(d.st->lists = layerlist_cache_new(LAYER_LISTS_BUDGET))) {
		r = error_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	if (conf->prescan_secrets && !(prescan = prescan_new(d.st))) {
		r = error_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	d.st->observer = prescan;
	/* A budget lowered since the last run applies at once. */
	if (cache_enforce(d.cache, NULL, 0, err) < 0) {
		log_warn("%s", err->msg);
		error_clear(err);
	}
	/* The TCP listener first: a bad address fails before anything is served. */
	if (conf->metrics_address && *conf->metrics_address &&
	    (r = metricsd_start(conf->metrics_address, metrics_text, &d, &metricsd, err)) < 0)
		goto out;
	/* Bodies up to 64 MiB: a stored analysis report holds every file of an image. */
	const struct httpd_options ho = { .max_body = 64u << 20 };
	if ((r = httpd_start_opts(sock, conf->socket_mode ? conf->socket_mode : 0600, &ho, route, &d, &d.httpd,
				  err)) < 0)
		goto out;
	log_info("serving store '%s' on '%s'", conf->store, sock);
	/* Signals, and every few seconds a look at the store's directory. */
	const struct timespec every = { STORE_CHECK_SECONDS, 0 };
	for (;;) {
		sig = sigtimedwait(&sigs, NULL, &every);
		if (sig > 0 && sig != SIGHUP)
			break;
		if (sig < 0 && store_replaced(d.st)) {
			replaced = 1;
			break;
		}
	}
	if (replaced)
		log_error("store '%s' was removed or replaced while this daemon served it: stopping without "
			  "writing to it", conf->store);
	else
		log_info("signal %d: unmounting and stopping", sig);
	r = 0;
out:
	metricsd_stop(metricsd);
	httpd_stop(d.httpd);
	while (d.mounts) {
		struct served_mount *m = d.mounts;
		d.mounts = m->next;
		free_served(&d, m);
	}
	/* Closing the index would write by path: into a new store there, even
	 * delete its files as obsolete. Nothing of the old one is worth that. */
	if (replaced) {
		fflush(stderr);
		_exit(1);
	}
	cache_free(d.cache);
	if (d.st) {
		/* Every view (mount) is gone: nothing holds a listing now. */
		layerlist_cache_free(d.st->lists);
		d.st->lists = NULL;
		d.st->observer = NULL;
	}
	prescan_free(prescan);
	store_close(d.st);
	metrics_free(d.metrics);
	pthread_mutex_destroy(&d.lock);
	free(sock);
	return r;
}
