/* daemon-impl: what the daemon's modules share — its state, who the
 * caller is (daemon-impl.c), and the handlers its route table (daemon.c)
 * names. The modules call each other only downwards: daemon.c names every
 * handler; daemon-images.c asks daemon-mounts.c what is mounted;
 * daemon-mounts.c asks daemon-pull.c for what a mount needs stored.
 * Private to the daemon. */
#ifndef STRATA_DAEMON_IMPL_H
#define STRATA_DAEMON_IMPL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "caller.h"
#include "src/base/conf.h"
#include "httpd.h"
#include "metrics.h"
#include "src/store/store.h"

struct served_mount;
struct sharedmemo;

struct daemon {
	struct strata_conf *conf;
	struct store *st;
	struct refetcher *refetch;     /* evicted and eStargz chunks, by Range (refetch.h) */
	struct httpd *httpd;
	struct metrics *metrics;
	struct sharedmemo *shared;     /* memo.redis; NULL: none */
	gid_t admin_gid;               /* daemon.admin_group, (gid_t)-1 for none */
	pthread_mutex_t lock;          /* protects mounts, mounts_total and recovered */
	struct served_mount *mounts;
	uint64_t mounts_total;
	/* Mount points a dead daemon left, unmounted at start: an unmount asked
	 * for one of them afterwards has nothing left to do, and says so. */
	char **recovered;
	size_t n_recovered;
};

/* What a route asks of its caller (struct http_route.access). */
enum daemon_access {
	ACCESS_ANY,        /* whoever reaches the socket; the handler may ask more */
	ACCESS_ADMIN,      /* root, the daemon's user or daemon.admin_group */
};

/* The caller of req. */
void daemon_caller(const struct daemon *d, const struct http_request *req, struct caller *out);
/* Answers 403 with "<what> is not allowed to uid N: <why>", logs it with
 * the caller's uid and counts it. Returns -EACCES. */
int daemon_refuse(struct daemon *d, const struct caller *who, struct http_conn *c, const char *what,
		  const char *why);

/* daemon-pull.c: pulls. */
void daemon_pull(void *ctx, const struct http_request *req, json_t *body, struct http_conn *c);
/* Resolves body's "ref" to a stored image, pulling it (or what of it was
 * evicted) unless "no_pull" is set — for a mount. 0 with *digest, or -errno
 * with err set (status from http_status_of). */
int daemon_image_for_mount(struct daemon *d, const struct http_request *req, json_t *body, char *digest,
			   struct strata_error *err);
/* The manifest digest body's registry "ref" names (for its "platform"),
 * with the caller's "auth", by one manifest request: nothing is pulled.
 * -ENOENT for a local source (oci:, docker-archive:). */
int daemon_image_resolve(struct daemon *d, const struct http_request *req, json_t *body, char *digest,
			 struct strata_error *err);

/* daemon-images.c: the stored images. */
void daemon_images(void *ctx, const struct http_request *req, json_t *body, struct http_conn *c);
void daemon_image(void *ctx, const struct http_request *req, json_t *body, struct http_conn *c);
void daemon_image_remove(void *ctx, const struct http_request *req, json_t *body, struct http_conn *c);

/* daemon-mounts.c: the mounts it serves. */
void daemon_mounts_list(void *ctx, const struct http_request *req, json_t *body, struct http_conn *c);
void daemon_mount(void *ctx, const struct http_request *req, json_t *body, struct http_conn *c);
void daemon_umount(void *ctx, const struct http_request *req, json_t *body, struct http_conn *c);
/* 1 when some live mount serves image digest, its mount point in mp. */
int daemon_mounted_digest(struct daemon *d, const char *digest, char *mp, size_t len);
/* Drops the records of mounts that ended by themselves (unmounted from
 * outside, connection aborted). */
void daemon_mounts_reap(struct daemon *d);
/* At start: unmounts what a daemon of this store that died left mounted
 * (STORE/mounts), and removes the temporary directories among them. */
void daemon_mounts_recover(struct daemon *d);
/* At the end: unmounts everything; record: rewrite STORE/mounts (not in
 * a store that was replaced under the daemon). */
void daemon_mounts_stop(struct daemon *d, int record);
/* Adds the live mounts' counters to live. */
struct metrics_live;
void daemon_mounts_metrics(struct daemon *d, struct metrics_live *live);

/* daemon-cache.c: /v1/cache/... */
void daemon_cache_stats(void *ctx, const struct http_request *req, json_t *body, struct http_conn *c);
void daemon_cache_layers(void *ctx, const struct http_request *req, json_t *body, struct http_conn *c);
void daemon_cache_prune(void *ctx, const struct http_request *req, json_t *body, struct http_conn *c);
void daemon_cache_gc(void *ctx, const struct http_request *req, json_t *body, struct http_conn *c);
void daemon_cache_verify(void *ctx, const struct http_request *req, json_t *body, struct http_conn *c);

/* daemon-analysis.c: /v1/analysis/... */
void daemon_analysis_lookup(void *ctx, const struct http_request *req, json_t *body, struct http_conn *c);
void daemon_analysis_store(void *ctx, const struct http_request *req, json_t *body, struct http_conn *c);
void daemon_analysis_report_get(void *ctx, const struct http_request *req, json_t *body, struct http_conn *c);
void daemon_analysis_report_put(void *ctx, const struct http_request *req, json_t *body, struct http_conn *c);
void daemon_analysis_report_find(void *ctx, const struct http_request *req, json_t *body, struct http_conn *c);
void daemon_analysis_observe(void *ctx, const struct http_request *req, json_t *body, struct http_conn *c);

#endif
