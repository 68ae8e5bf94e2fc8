/* daemon-pull: pulls on behalf of a caller — the POST /v1/pull stream, and
 * what a mount needs stored (daemon-mounts.c), and a registry reference's
 * manifest digest without a pull (daemon-analysis.c's report/find).
 *
 *   POST   /v1/pull          {ref, platform?, auth?{host,username,password}, source_fd?}
 *                            -> NDJSON: start, layer..., done|error
 *
 * A local source (oci:DIR, docker-archive:FILE) is read with the rights of
 * whoever asked: the strata command opens it and passes the descriptor
 * (source_fd: its index among the request's descriptors); only an owner
 * (root, the daemon's user) may name a path for the daemon to open. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "src/store/cache.h"
#include "src/store/catalog.h"
#include "daemon-impl.h"
#include "src/view/imageinfo.h"
#include "src/base/log.h"
#include "src/ingest/pull.h"
#include "src/registry/ref.h"
#include "src/base/util.h"

/* A request's copy of the configuration: the caller's credentials and its
 * local source. */
struct req_conf {
	struct strata_conf conf;
	struct caller who;
};

static int open_as_caller(void *ctx, int dirfd, const char *rel, int flags)
{
	return caller_open_beneath(ctx, dirfd, rel, flags);
}

/* The descriptor the caller passed for a local source, checked: opened for
 * reading (an O_PATH descriptor proves nothing), of the right kind. */
static int passed_source(const struct http_request *req, json_t *body, const struct image_ref *ref,
			 struct strata_error *err)
{
	json_t *idx = json_object_get(body, "source_fd");
	if (!json_is_integer(idx) || json_integer_value(idx) < 0 ||
	    (size_t)json_integer_value(idx) >= req->n_fds)
		return error_set(err, -EINVAL, "pull: 'source_fd' names no descriptor passed with the request");
	int fd = req->fds[json_integer_value(idx)];
	int fl = fcntl(fd, F_GETFL);
	struct stat st;
	if (fl < 0 || (fl & O_PATH) || ((fl & O_ACCMODE) != O_RDONLY && (fl & O_ACCMODE) != O_RDWR) ||
	    fstat(fd, &st) < 0)
		return error_set(err, -EACCES, "pull: the descriptor passed for '%s' is not open for reading",
				 ref->name);
	int want_dir = ref->transport == REF_OCI;
	if (want_dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode))
		return error_set(err, -EINVAL, "pull: the descriptor passed for '%s' is not a %s", ref->name,
				 want_dir ? "directory" : "regular file");
	return fd;
}

/* Fills rc for a pull of body's "ref" by req's caller. -EACCES when the
 * caller may not have the daemon read that local source. */
static int req_conf_init(struct req_conf *rc, struct daemon *d, const struct http_request *req, json_t *body,
			 const char *refstr, struct strata_error *err)
{
	struct image_ref ref;
	rc->conf = *d->conf;
	daemon_caller(d, req, &rc->who);
	json_t *auth = json_object_get(body, "auth");
	rc->conf.auth_host = json_string_value(json_object_get(auth, "host"));
	rc->conf.auth_user = json_string_value(json_object_get(auth, "username"));
	rc->conf.auth_password = json_string_value(json_object_get(auth, "password"));
	rc->conf.source_fd = -1;
	rc->conf.source_open_beneath = NULL;
	rc->conf.pull_lazy = json_is_true(json_object_get(body, "lazy"));
	if (ref_parse(refstr, &ref, err) < 0)
		return -EINVAL;
	int r = 0;
	if (ref.transport != REF_DOCKER) {
		if (json_object_get(body, "source_fd")) {
			r = passed_source(req, body, &ref, err);
			if (r >= 0) {
				rc->conf.source_fd = r;
				rc->conf.source_open_beneath = open_as_caller;
				rc->conf.source_open_ctx = &rc->who;
				r = 0;
			}
		} else if (rc->who.role != CALLER_OWNER) {
			r = error_set(err, -EACCES, "pull of '%s' is not allowed to uid %u: a local source must be "
				      "opened by the caller and passed as a descriptor (the strata command does)",
				      ref.name, (unsigned)rc->who.uid);
		}
	}
	ref_release(&ref);
	return r;
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

void daemon_pull(void *ctx, const struct http_request *req, json_t *body, struct http_conn *c)
{
	struct daemon *d = ctx;
	const char *ref = json_string_value(json_object_get(body, "ref"));
	struct strata_error err = STRATA_ERROR_INIT;
	struct req_conf rc;
	if (!ref) {
		http_reply_error(c, 400, "pull: no 'ref' given");
		return;
	}
	int r = req_conf_init(&rc, d, req, body, ref, &err);
	if (r == -EACCES) {
		daemon_refuse(d, &rc.who, c, "pull", err.msg);
		return;
	}
	if (r < 0) {
		http_reply_error(c, http_status_of(r), err.msg);
		return;
	}
	struct pull_stream ps = { .c = c };
	pthread_mutex_init(&ps.lock, NULL);
	struct pull_observer obs = { on_start, on_layer, &ps };
	struct pull_result res = { 0 };
	http_stream_begin(c, 200, "application/x-ndjson");
	r = pull_image(d->st, &rc.conf, ref, json_string_value(json_object_get(body, "platform")), &obs, &res,
		       &err);
	count_pull(d, ref, r == 0, &res);
	if (r < 0) {
		log_warn("%s", err.msg);
		stream_event(&ps, json_pack("{s:s, s:s}", "event", "error", "error", err.msg));
	} else {
		log_info("pulled %s as %s (uid %u)", res.name, res.digest, (unsigned)rc.who.uid);
		stream_event(&ps, json_pack("{s:s, s:o}", "event", "done", "result", result_json(&res)));
	}
	http_stream_end(c);
	pthread_mutex_destroy(&ps.lock);
}

/* --- what a mount needs stored ------------------------------------------------ */

static uint64_t image_layer_count(struct daemon *d, const char *digest)
{
	json_t *img = NULL;
	if (catalog_get_image(d->st->idx, digest, &img, NULL) < 0)
		return 0;
	uint64_t n = json_array_size(json_object_get(img, "layers"));
	json_decref(img);
	return n;
}

int daemon_image_for_mount(struct daemon *d, const struct http_request *req, json_t *body, char *digest,
			   struct strata_error *err)
{
	const char *ref = json_string_value(json_object_get(body, "ref"));
	int no_pull = json_is_true(json_object_get(body, "no_pull"));
	char pull_ref[1024];
	int r = imageinfo_resolve(d->st, ref, digest, err);
	snprintf(pull_ref, sizeof(pull_ref), "%s", ref);
	/* Stored but partly evicted: pull what is missing, by the image's name
	 * when it was asked for by digest (or refuse with --no-pull). */
	if (r == 0 && !catalog_image_mountable(d->st->idx, digest)) {
		error_clear(err);
		if (no_pull)
			return error_set(err, -ENOENT, "image '%s' is not stored (layers evicted; --no-pull was given)",
					 ref);
		json_t *img = NULL;
		if (catalog_get_image(d->st->idx, digest, &img, NULL) == 0 &&
		    json_array_size(json_object_get(img, "names")))
			snprintf(pull_ref, sizeof(pull_ref), "%s",
				 json_string_value(json_array_get(json_object_get(img, "names"), 0)));
		json_decref(img);
		r = -ENOENT;
	} else if (r == 0) {
		cache_count(d->st->cache, image_layer_count(d, digest), 0);
		return 0;
	}
	if (r != -ENOENT)
		return r;
	error_clear(err);
	if (no_pull)
		return error_set(err, -ENOENT, "image '%s' is not stored (and --no-pull was given)", ref);
	struct req_conf rc;
	struct pull_result res = { 0 };
	if ((r = req_conf_init(&rc, d, req, body, pull_ref, err)) < 0)
		return r;
	rc.conf.pull_lazy = 1; /* an eStargz image mounts before it downloads */
	r = pull_image(d->st, &rc.conf, pull_ref, json_string_value(json_object_get(body, "platform")), NULL, &res,
		       err);
	count_pull(d, pull_ref, r == 0, &res);
	if (r == 0)
		snprintf(digest, DIGEST_STR_MAX, "%s", res.digest);
	return r;
}

int daemon_image_resolve(struct daemon *d, const struct http_request *req, json_t *body, char *digest,
			 struct strata_error *err)
{
	const char *ref = json_string_value(json_object_get(body, "ref"));
	struct image_ref parsed;
	struct req_conf rc;
	if (!ref)
		return error_set(err, -EINVAL, "no 'ref' given");
	if (ref_parse(ref, &parsed, err) < 0)
		return -EINVAL;
	int remote = parsed.transport == REF_DOCKER;
	ref_release(&parsed);
	/* A local source is opened with the caller's rights, by a pull. */
	if (!remote)
		return error_set(err, -ENOENT, "'%s' is not in a registry", ref);
	int r = req_conf_init(&rc, d, req, body, ref, err);
	return r < 0 ? r : pull_resolve(&rc.conf, ref, json_string_value(json_object_get(body, "platform")), digest, err);
}
