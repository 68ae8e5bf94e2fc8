/* daemon: the store's owner — its route table, who may call what, and its
 * life from start to stop. The routes' handlers live in daemon-pull.c,
 * daemon-images.c, daemon-mounts.c, daemon-cache.c and daemon-analysis.c;
 * strata-serve(1) documents the API. */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "src/store/cache.h"
#include "src/store/sharedmemo.h"
#include "daemon-impl.h"
#include "daemon-prescan.h"
#include "daemon.h"
#include "src/base/log.h"
#include "metricsd.h"
#include "fuse/mount.h"
#include "src/base/util.h"
#include "src/ingest/refetch.h"

/* How often the daemon checks that its store is still the one it opened,
 * and drops the records of mounts that ended by themselves. */
#define STORE_CHECK_SECONDS 5

/* Layer listings kept in memory for image views (layerlist.h): the scan
 * image of the tests, 13,000 entries over 4 layers, takes 2.6 MiB. */
#define LAYER_LISTS_BUDGET (64u << 20)

/* Request bodies: small JSON for most routes; reports and memo batches
 * hold every file of an image. */
#define SMALL_BODY (64u << 10)
#define LARGE_BODY (64u << 20)

/* --- small routes ---------------------------------------------------------- */

static void handle_version(void *ctx, const struct http_request *req, json_t *body, struct http_conn *c)
{
	struct daemon *d = ctx;
	struct caller who;
	(void)body;
	daemon_caller(d, req, &who);
	json_t *out = json_pack("{s:s, s:s, s:i, s:s}", "version", PACKAGE_VERSION, "store", d->st->dir, "pid",
				(int)getpid(), "role", caller_role_name(who.role));
	http_reply_json(c, 200, out);
	json_decref(out);
}

/* The exposition text of every metric: the daemon's own, the live
 * mounts', and the cache's. */
static void metrics_text(void *ctx, struct buf *b)
{
	struct daemon *d = ctx;
	struct metrics_live live = { .op_names = mount_op_names, .n_ops = MOP_COUNT };
	struct cache_stats cs;
	daemon_mounts_metrics(d, &live);
	metrics_print(d->metrics, &live, b);
	if (d->shared) {
		struct sharedmemo_stats ss;
		sharedmemo_get_stats(d->shared, &ss);
		metrics_print_shared(&ss, b);
	}
	cache_get_stats(d->st->cache, &cs);
	metrics_print_cache(&cs, b);
	if (d->refetch) {
		struct refetch_stats rs;
		refetch_get_stats(d->refetch, &rs);
		metrics_print_refetch(&rs, b);
	}
}

static void handle_metrics(void *ctx, const struct http_request *req, json_t *body, struct http_conn *c)
{
	struct buf b = BUF_INIT;
	(void)req;
	(void)body;
	metrics_text(ctx, &b);
	http_reply(c, 200, "text/plain; version=0.0.4", b.data, b.len);
	buf_release(&b);
}

/* --- the route table -------------------------------------------------------- */

/* Every endpoint of the API, with what it takes and who may call it; the
 * first match wins (strata-serve(1), "API"). */
static const struct http_route routes[] = {
	{ "GET", "/v1/version", HTTP_BODY_NONE, 0, ACCESS_ANY, handle_version },
	{ "POST", "/v1/pull", HTTP_BODY_JSON, SMALL_BODY, ACCESS_ANY, daemon_pull },
	{ "GET", "/v1/images", HTTP_BODY_NONE, 0, ACCESS_ANY, daemon_images },
	{ "GET", "/v1/images/", HTTP_BODY_NONE, 0, ACCESS_ANY, daemon_image },
	{ "DELETE", "/v1/images/", HTTP_BODY_NONE, 0, ACCESS_ADMIN, daemon_image_remove },
	{ "GET", "/v1/mounts", HTTP_BODY_NONE, 0, ACCESS_ANY, daemon_mounts_list },
	{ "POST", "/v1/mounts", HTTP_BODY_JSON, SMALL_BODY, ACCESS_ANY, daemon_mount },
	{ "DELETE", "/v1/mounts", HTTP_BODY_NONE, 0, ACCESS_ANY, daemon_umount },
	{ "GET", "/v1/cache/stats", HTTP_BODY_NONE, 0, ACCESS_ANY, daemon_cache_stats },
	{ "GET", "/v1/cache/layers", HTTP_BODY_NONE, 0, ACCESS_ANY, daemon_cache_layers },
	{ "POST", "/v1/cache/prune", HTTP_BODY_JSON, SMALL_BODY, ACCESS_ADMIN, daemon_cache_prune },
	{ "POST", "/v1/cache/gc", HTTP_BODY_JSON, SMALL_BODY, ACCESS_ADMIN, daemon_cache_gc },
	{ "POST", "/v1/cache/verify", HTTP_BODY_JSON, SMALL_BODY, ACCESS_ANY, daemon_cache_verify },
	{ "POST", "/v1/analysis/lookup", HTTP_BODY_RAW, LARGE_BODY, ACCESS_ANY, daemon_analysis_lookup },
	{ "POST", "/v1/analysis/store", HTTP_BODY_JSON, LARGE_BODY, ACCESS_ADMIN, daemon_analysis_store },
	{ "GET", "/v1/analysis/report", HTTP_BODY_NONE, 0, ACCESS_ANY, daemon_analysis_report_get },
	{ "POST", "/v1/analysis/report", HTTP_BODY_RAW, LARGE_BODY, ACCESS_ADMIN, daemon_analysis_report_put },
	{ "POST", "/v1/analysis/report/find", HTTP_BODY_JSON, SMALL_BODY, ACCESS_ANY, daemon_analysis_report_find },
	{ "POST", "/v1/analysis/observe", HTTP_BODY_JSON, SMALL_BODY, ACCESS_ANY, daemon_analysis_observe },
	{ "GET", "/metrics", HTTP_BODY_NONE, 0, ACCESS_ANY, handle_metrics },
};

/* Before a route's body is read: the caller's role against the route's. */
static int admit(void *ctx, const struct http_route *route, const struct http_request *req, struct http_conn *c)
{
	struct daemon *d = ctx;
	struct caller who;
	if (route->access != ACCESS_ADMIN)
		return 0;
	daemon_caller(d, req, &who);
	if (who.role >= CALLER_ADMIN)
		return 0;
	char what[128];
	snprintf(what, sizeof(what), "%s %s", req->method, req->path);
	return daemon_refuse(d, &who, c, what,
			     d->conf->admin_group ? "it needs root or membership of daemon.admin_group"
						  : "it needs root (no daemon.admin_group is configured)");
}

static void refused(void *ctx, uid_t uid)
{
	struct daemon *d = ctx;
	(void)uid;
	metrics_refused(d->metrics, METRICS_REFUSED_BUSY);
}

/* Chunks a read brings back take room in the budget like a pull's: the
 * fetching thread makes room before it stores them (the read waits for
 * the eviction), so that the budget holds throughout. */
static void refetch_room(void *ctx, uint64_t bytes)
{
	struct daemon *d = ctx;
	struct strata_error err = STRATA_ERROR_INIT;
	if (cache_make_room(d->st->cache, bytes, &err) < 0)
		log_warn("before storing refetched chunks: %s", err.msg);
}

/* A group of the configuration (key) as a gid: a name or a number;
 * (gid_t)-1 when unset. */
static int gid_of(const char *key, const char *group, gid_t *out, struct strata_error *err)
{
	*out = (gid_t)-1;
	if (!group || !*group)
		return 0;
	char *end;
	unsigned long n = strtoul(group, &end, 10);
	if (*end == '\0' && end != group) {
		*out = (gid_t)n;
		return 0;
	}
	struct group grp, *found = NULL;
	char buf[16384];
	if (getgrnam_r(group, &grp, buf, sizeof(buf), &found) != 0 || !found)
		return error_set(err, -EINVAL, "%s: no group '%s'", key, group);
	*out = found->gr_gid;
	return 0;
}

/* The members of daemon.socket_group must reach the socket inside the
 * store: the store directory gets that group and its search bit (no read,
 * no write: they can name the socket, nothing else). */
static int open_store_to(const char *store, gid_t gid, struct strata_error *err)
{
	struct stat st;
	if (stat(store, &st) < 0)
		return error_errno(err, -errno, "store '%s'", store);
	if ((st.st_gid != gid && chown(store, (uid_t)-1, gid) < 0) ||
	    (!(st.st_mode & S_IXGRP) && chmod(store, (st.st_mode & 07777) | S_IXGRP) < 0))
		return error_errno(err, -errno, "cannot open store '%s' to daemon.socket_group", store);
	return 0;
}

/* --- lifecycle ---------------------------------------------------------- */

int daemon_run(struct strata_conf *conf, struct strata_error *err)
{
	struct daemon d = { .conf = conf, .admin_gid = (gid_t)-1 };
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

	gid_t socket_gid;
	if ((r = gid_of("daemon.admin_group", conf->admin_group, &d.admin_gid, err)) < 0 ||
	    (r = gid_of("daemon.socket_group", conf->socket_group, &socket_gid, err)) < 0)
		goto out;
	if ((r = sharedmemo_open(conf, &d.shared, err)) < 0)
		goto out;
	if (conf->prescan_secrets && !(prescan = prescan_new())) {
		r = error_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	struct store_options so = { .layer_lists = LAYER_LISTS_BUDGET, .observer = prescan, .shared = d.shared };
	if ((r = store_open(conf, &so, &d.st, err)) < 0)
		goto out;
	if ((r = refetch_new(d.st, &d.refetch, err)) < 0)
		goto out;
	refetch_set_room_hook(d.refetch, refetch_room, &d);
	cache_set_map_keeper(d.st->cache, refetch_keeps_map, d.st);
	daemon_mounts_recover(&d);
	/* A budget lowered since the last run applies at once. */
	if (cache_enforce(d.st->cache, NULL, 0, err) < 0) {
		log_warn("%s", err->msg);
		error_clear(err);
	}
	/* The TCP listener first: a bad address fails before anything is served. */
	if (conf->metrics_address && *conf->metrics_address &&
	    (r = metricsd_start(conf->metrics_address, metrics_text, &d, &metricsd, err)) < 0)
		goto out;
	struct httpd_options ho = { .admit = admit, .refused = refused };
	if (socket_gid != (gid_t)-1) {
		ho.set_group = 1;
		ho.group = socket_gid;
		if ((r = open_store_to(conf->store, socket_gid, err)) < 0)
			goto out;
	}
	if ((r = httpd_start(sock, conf->socket_mode ? conf->socket_mode : 0600, &ho, routes,
			     sizeof(routes) / sizeof(routes[0]), &d, &d.httpd, err)) < 0)
		goto out;
	log_info("serving store '%s' on '%s'", conf->store, sock);
	if (d.shared) {
		struct sharedmemo_stats ss;
		sharedmemo_get_stats(d.shared, &ss);
		log_info("shared memo: %s%s", ss.address, ss.signing ? ", values signed" : "");
	}
	/* Signals, and every few seconds a look at the store's directory. */
	const struct timespec every = { STORE_CHECK_SECONDS, 0 };
	for (;;) {
		sig = sigtimedwait(&sigs, NULL, &every);
		if (sig > 0 && sig != SIGHUP)
			break;
		if (sig < 0 && storedir_replaced(d.st->sd)) {
			replaced = 1;
			break;
		}
		if (sig < 0)
			daemon_mounts_reap(&d);
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
	if (d.st)
		daemon_mounts_stop(&d, !replaced);
	/* Closing the index would write by path: into a new store there, even
	 * delete its files as obsolete. Nothing of the old one is worth that. */
	if (replaced) {
		fflush(stderr);
		_exit(1);
	}
	/* Fetches ahead (and the budget checks they make) end first. */
	refetch_free(d.refetch);
	/* Every view (mount) is gone: nothing holds a listing now. */
	store_close(d.st);
	prescan_free(prescan);
	/* After the last request and ingest: what they queued is written. */
	sharedmemo_free(d.shared);
	metrics_free(d.metrics);
	pthread_mutex_destroy(&d.lock);
	free(sock);
	return r;
}
