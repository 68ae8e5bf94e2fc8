/* pull: reference -> manifest -> config -> layers -> image record. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "src/store/cache.h"
#include "src/store/catalog.h"
#include "src/store/layers.h"
#include "ingest.h"
#include "src/base/log.h"
#include "src/registry/manifest.h"
#include "pull.h"
#include "src/registry/ref.h"
#include "src/registry/source.h"
#include "src/base/util.h"

struct pull_job {
	struct store *st;
	struct source *src;
	const struct manifest *m;
	const struct image_config *cfg;
	const struct pull_observer *obs;
	struct pull_layer_status *status;
	int *todo;                 /* layer indexes to ingest */
	size_t n_todo, next;       /* next: protected by lock */
	pthread_mutex_t lock;
	struct strata_error err;   /* the first failure; protected by lock */
	int failed;                /* protected by lock */
	uint64_t stored;           /* protected by lock */
	uint64_t hits;             /* layers found stored; protected by lock */
	uint64_t fetched;          /* layers this pull ingested; protected by lock */
	uint64_t chunks, new_chunks; /* of the layers ingested; protected by lock */
	int lazy;                  /* eStargz layers from their TOCs only (conf->pull_lazy) */
};

/* A layer that needs no ingest: stored, or (lazily) mapped from its TOC. */
static int layer_usable(const struct layer_record *rec, int lazy)
{
	return layers_complete(rec) || (lazy && layers_mapped(rec));
}

static void notify(const struct pull_job *j, size_t i)
{
	if (j->obs && j->obs->layer)
		j->obs->layer(j->obs->ctx, i, &j->status[i]);
}

struct layer_progress {
	struct pull_job *job;
	size_t i;
};

static void on_bytes(void *ctx, uint64_t n)
{
	struct layer_progress *lp = ctx;
	lp->job->status[lp->i].done = n;
	notify(lp->job, lp->i);
}

static void *pull_worker(void *arg)
{
	struct pull_job *j = arg;
	for (;;) {
		pthread_mutex_lock(&j->lock);
		if (j->failed || j->next >= j->n_todo) {
			pthread_mutex_unlock(&j->lock);
			return NULL;
		}
		size_t i = (size_t)j->todo[j->next++];
		pthread_mutex_unlock(&j->lock);

		struct strata_error err = STRATA_ERROR_INIT;
		struct layer_record rec;
		struct layer_progress lp = { j, i };
		const char *diff_id = j->cfg->diff_ids[i];
		struct cache *c = j->st->cache;
		int r = 0, mine;
		/* Another pull may be ingesting this layer: wait for it, use its work. */
		while (!(mine = cache_claim_layer(c, diff_id))) {
			if (layers_get(j->st->idx, diff_id, &rec, NULL) == 0 && layer_usable(&rec, j->lazy))
				break;
		}
		/* Claimed after another pull's ingest of it ended: stored now. */
		if (mine && layers_get(j->st->idx, diff_id, &rec, NULL) == 0 &&
		    layer_usable(&rec, j->lazy)) {
			cache_release_layer(c, diff_id);
			mine = 0;
		}
		if (mine) {
			const struct descriptor *blob = &j->m->layers[i];
			struct layer_record old;
			int had = layers_get(j->st->idx, diff_id, &old, NULL) == 0;
			j->status[i].state = PULL_LAYER_FETCHING;
			notify(j, i);
			r = -EINVAL;
			if (j->lazy && blob->toc_digest) {
				r = ingest_estargz(j->st, j->src, blob, diff_id, &rec, &err);
				if (r == -EINVAL) { /* not eStargz after all: the whole blob */
					log_info("layer %s: %s", blob->digest, err.msg);
					error_clear(&err);
				}
			}
			if (r == -EINVAL)
				r = ingest_layer(j->st, j->src, blob, diff_id, on_bytes, &lp, &rec, &err);
			/* A layer mapped before is whole now: its old map goes. */
			if (r == 0 && had && old.lid != rec.lid) {
				struct strata_error ignored = STRATA_ERROR_INIT;
				layers_drop(j->st->sd, old.lid, 1, NULL, &ignored);
			}
			cache_release_layer(c, diff_id);
			j->status[i].state = r < 0 ? PULL_LAYER_FAILED : PULL_LAYER_STORED;
		} else {
			j->status[i].state = PULL_LAYER_EXISTS;
		}
		notify(j, i);
		pthread_mutex_lock(&j->lock);
		if (!mine) {
			j->hits++;
		} else if (r < 0 && !j->failed) {
			j->failed = 1;
			char sd[20];
			digest_short(j->m->layers[i].digest, sd);
			error_set(&j->err, r, "layer %s: %s", sd, err.msg);
		} else if (r == 0) {
			j->fetched++;
			j->stored += rec.stored_bytes;
			j->chunks += rec.chunks;
			j->new_chunks += rec.new_chunks;
			log_info("layer %s stored: %llu entries, %llu chunks, %llu bytes new",
				 rec.diff_id, (unsigned long long)rec.entries,
				 (unsigned long long)rec.chunks, (unsigned long long)rec.stored_bytes);
		}
		pthread_mutex_unlock(&j->lock);
	}
}

/* Ingests every layer not stored yet; layers that appear twice are ingested once. */
static int fetch_layers(struct pull_job *j, int jobs, struct pull_result *res, struct strata_error *err)
{
	size_t n = j->m->n_layers;
	int r = 0;
	j->todo = calloc(n ? n : 1, sizeof(*j->todo));
	if (!j->todo)
		return error_set(err, -ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		struct layer_record rec;
		struct strata_error e2 = STRATA_ERROR_INIT;
		int k = layers_get(j->st->idx, j->cfg->diff_ids[i], &rec, &e2);
		int dup = 0;
		for (size_t t = 0; t < j->n_todo; t++)
			dup |= !strcmp(j->cfg->diff_ids[j->todo[t]], j->cfg->diff_ids[i]);
		if ((k == 0 && layer_usable(&rec, j->lazy)) || dup) {
			j->hits++;
			j->status[i].state = PULL_LAYER_EXISTS;
			notify(j, i);
		} else {
			j->todo[j->n_todo++] = (int)i;
		}
	}
	if (jobs > (int)j->n_todo)
		jobs = (int)j->n_todo;
	pthread_t tids[64];
	int started = 0;
	for (; started < jobs && started < 64; started++)
		if (pthread_create(&tids[started], NULL, pull_worker, j) != 0)
			break;
	if (jobs > 0 && started == 0)
		return error_set(err, -EAGAIN, "cannot start download threads");
	for (int t = 0; t < started; t++)
		pthread_join(tids[t], NULL);
	cache_count(j->st->cache, j->hits, j->fetched);
	if (j->failed)
		r = error_set(err, j->err.code, "%s", j->err.msg);
	res->layers_fetched = j->fetched;
	res->bytes_stored = j->stored;
	res->chunks = j->chunks;
	res->new_chunks = j->new_chunks;
	for (size_t t = 0; t < j->n_todo; t++)
		res->bytes_fetched += j->status[j->todo[t]].done;
	return r;
}

/* "os/arch[/variant]": os and arch equal, and the variants too when both have one. */
static int platform_matches(const char *have_in, const char *want_in)
{
	/* The names uname and some tools use for the same architectures. */
	static const char *const alias[][2] = { { "x86_64", "amd64" }, { "aarch64", "arm64" } };
	char have[128], want[128];
	snprintf(have, sizeof(have), "%s", have_in);
	snprintf(want, sizeof(want), "%s", want_in);
	for (size_t i = 0; i < sizeof(alias) / sizeof(alias[0]); i++) {
		char *p = strstr(want, alias[i][0]);
		if (p && p[-1] == '/') {
			char tmp[128];
			snprintf(tmp, sizeof(tmp), "%.*s%s%s", (int)(p - want), want, alias[i][1],
				 p + strlen(alias[i][0]));
			snprintf(want, sizeof(want), "%s", tmp);
		}
	}
	const char *h2 = strchr(have, '/'), *w2 = strchr(want, '/');
	if (!h2 || !w2 || h2 - have != w2 - want || strncmp(have, want, (size_t)(h2 - have)))
		return 0;
	const char *h3 = strchr(h2 + 1, '/'), *w3 = strchr(w2 + 1, '/');
	size_t hl = h3 ? (size_t)(h3 - h2) : strlen(h2), wl = w3 ? (size_t)(w3 - w2) : strlen(w2);
	if (hl != wl || strncmp(h2, w2, hl))
		return 0;
	return !h3 || !w3 || !strcmp(h3, w3);
}

static json_t *image_json(const char *digest, const char *name, const char *platform,
			  const struct manifest *m, const struct buf *mbody, const struct buf *cbody)
{
	json_t *layers = json_array();
	for (size_t i = 0; i < m->n_layers; i++)
		json_array_append_new(layers, json_pack("{s:s, s:I, s:s}", "digest", m->layers[i].digest,
							"size", (json_int_t)m->layers[i].size,
							"media_type", m->layers[i].media_type ? m->layers[i].media_type : ""));
	int64_t now = now_unix();
	return json_pack("{s:s, s:s, s:s, s:s, s:[s], s:s%, s:s%, s:o, s:I, s:I}",
			 "digest", digest, "media_type", m->media_type ? m->media_type : "",
			 "config_digest", m->config.digest, "platform", platform, "names", name,
			 "manifest", mbody->data, mbody->len, "config", cbody->data, cbody->len,
			 "layers", layers, "pulled", (json_int_t)now, "last_used", (json_int_t)now);
}

/* Records the image (adding the name to an existing record) durably. */
static int commit_image(struct store *st, const char *digest, const char *name,
			const char *index_digest, const char *platform, json_t *fresh,
			const struct image_config *cfg, struct strata_error *err)
{
	json_t *img = NULL;
	int r = catalog_get_image(st->idx, digest, &img, NULL);
	if (r == 0) {
		json_t *names = json_object_get(img, "names");
		int have = 0;
		size_t i;
		json_t *v;
		json_array_foreach(names, i, v)
			have |= !strcmp(json_string_value(v), name);
		if (!have)
			json_array_append_new(names, json_string(name));
		json_object_set_new(img, "last_used", json_integer(now_unix()));
	} else {
		img = json_incref(fresh);
	}
	/* diff_ids go into the record so that readers need not parse the config. */
	json_t *layers = json_object_get(img, "layers");
	for (size_t i = 0; cfg && i < cfg->n_diff_ids && i < json_array_size(layers); i++)
		json_object_set_new(json_array_get(layers, i), "diff_id", json_string(cfg->diff_ids[i]));

	/* A name that pointed at another image moves to this one. */
	char old[DIGEST_STR_MAX];
	struct index_batch *b = index_batch_new();
	if (!b || !img) {
		json_decref(img);
		index_batch_free(b);
		return error_set(err, -ENOMEM, "out of memory");
	}
	if (catalog_resolve_name(st->idx, name, old) == 0 && strcmp(old, digest)) {
		json_t *prev = NULL;
		if (catalog_get_image(st->idx, old, &prev, NULL) == 0) {
			json_t *names = json_object_get(prev, "names");
			for (size_t i = json_array_size(names); i-- > 0;)
				if (!strcmp(json_string_value(json_array_get(names, i)), name))
					json_array_remove(names, i);
			catalog_put_image(b, prev);
			json_decref(prev);
		}
	}
	catalog_put_image(b, img);
	catalog_put_name(b, name, digest);
	if (index_digest)
		catalog_put_alias(b, index_digest, platform, digest);
	r = storedir_commit(st->sd, b, 1, err);
	index_batch_free(b);
	json_decref(img);
	return r;
}

/* One pull's state, from the reference to the image record. */
struct pull {
	struct store *st;
	const struct strata_conf *conf;
	const char *asked;          /* the platform asked for, or NULL */
	const char *platform;       /* asked, or the default */
	const struct pull_observer *obs;
	struct pull_result *res;
	struct strata_error *err;
	struct image_ref ref;
	struct source *src;
	struct buf mbody, cbody;    /* the image manifest's and config's bytes */
	char *ctype;                /* the manifest's content type */
	struct manifest m, idx;     /* the image manifest; the index it came from */
	struct image_config cfg;
	char digest[DIGEST_STR_MAX];       /* the image manifest's */
	char index_digest[DIGEST_STR_MAX]; /* "" unless the reference named an index */
	char img_platform[128];            /* what the config says */
	int pinned;                 /* the config's layers are pinned */
};

/* 1 when the image p->digest is stored whole, or mapped for a lazy pull. */
static int image_usable(struct pull *p)
{
	return p->conf->pull_lazy ? catalog_image_mountable(p->st->idx, p->digest)
				  : catalog_image_complete(p->st->idx, p->digest);
}

/* Fetches the manifest p->digest names (NULL: the one the reference names)
 * into p->m. */
static int fetch_manifest(struct pull *p, const char *digest)
{
	free(p->ctype);
	p->ctype = NULL;
	buf_reset(&p->mbody);
	int r = source_fetch_manifest(p->src, digest, &p->mbody, &p->ctype, p->err);
	return r < 0 ? r : manifest_parse(p->mbody.data, p->mbody.len, p->ctype, &p->m, p->err);
}

/* The manifest the reference names and, when that is an index, the one
 * for the platform: 1 when that image is stored complete already, 0 when
 * it is to be pulled (p->m is its manifest). p->digest names it. */
static int resolve(struct pull *p)
{
	uint8_t raw[SHA256_LEN];
	int r = fetch_manifest(p, NULL);
	if (r < 0)
		return r;
	sha256_once(p->mbody.data, p->mbody.len, raw);
	digest_format(raw, p->digest);
	if (p->m.kind == MANIFEST_INDEX) {
		const struct descriptor *d;
		snprintf(p->index_digest, sizeof(p->index_digest), "%s", p->digest);
		if (catalog_resolve_alias(p->st->idx, p->index_digest, p->platform, p->digest) == 0 &&
		    image_usable(p))
			return 1;
		if ((r = manifest_select_platform(&p->m, p->platform, &d, p->err)) < 0)
			return r;
		snprintf(p->digest, sizeof(p->digest), "%s", d->digest);
		p->idx = p->m;
		memset(&p->m, 0, sizeof(p->m));
		if ((r = fetch_manifest(p, p->digest)) < 0)
			return r;
		if (p->m.kind != MANIFEST_IMAGE)
			return error_set(p->err, -EBADMSG, "manifest '%s': an index entry names another index",
					 p->digest);
	}
	return image_usable(p);
}

/* The image's config, its platform held to the one asked for and its
 * diff_ids to the manifest's layers. */
static int fetch_config(struct pull *p)
{
	const struct image_config *cfg = &p->cfg;
	int r = source_fetch_blob(p->src, &p->m.config, p->conf->limits.max_manifest, &p->cbody, p->err);
	if (r == 0)
		r = image_config_parse(p->cbody.data, p->cbody.len, &p->cfg, p->err);
	if (r < 0) {
		error_prefix(p->err, "config '%s': ", p->m.config.digest);
		return r;
	}
	snprintf(p->img_platform, sizeof(p->img_platform), "%s/%s%s%s", cfg->os ? cfg->os : "unknown",
		 cfg->arch ? cfg->arch : "unknown", cfg->variant ? "/" : "", cfg->variant ? cfg->variant : "");
	/* One platform-specific manifest asked for another platform: say so
	 * rather than store something that will not run where it was wanted. */
	if (p->asked && !p->index_digest[0] && !platform_matches(p->img_platform, p->asked))
		return error_set(p->err, -ENOENT, "the image is for %s, not %s", p->img_platform, p->asked);
	if (cfg->n_diff_ids != p->m.n_layers)
		return error_set(p->err, -EBADMSG, "image config lists %zu diff_ids for %zu layers: diff_id mismatch",
				 cfg->n_diff_ids, p->m.n_layers);
	return 0;
}

/* Ingests the layers not stored yet and makes room for them within the
 * budget, then records the image. */
static int store_image(struct pull *p)
{
	struct pull_job job = { .st = p->st, .src = p->src, .lazy = p->conf->pull_lazy, .m = &p->m, .cfg = &p->cfg,
				 .obs = p->obs };
	const char *const *diff_ids = (const char *const *)p->cfg.diff_ids;
	size_t n = p->m.n_layers;
	json_t *img = image_json(p->digest, p->ref.name, p->img_platform, &p->m, &p->mbody, &p->cbody);
	int r = 0;

	p->res->layers = n;
	job.status = calloc(n ? n : 1, sizeof(*job.status));
	pthread_mutex_init(&job.lock, NULL);
	if (!img || !job.status) {
		r = error_set(p->err, -ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		job.status[i].digest = p->m.layers[i].digest;
		job.status[i].size = (uint64_t)p->m.layers[i].size;
	}
	if (p->obs && p->obs->start)
		p->obs->start(p->obs->ctx, p->ref.name, n);
	/* Until the image is committed nothing names its layers: pinned, no
	 * rmi, prune or gc takes one that this pull found already stored. */
	for (size_t i = 0; i < p->cfg.n_diff_ids; i++)
		cache_pin(p->st->cache, diff_ids[i]);
	p->pinned = 1;
	if ((r = fetch_layers(&job, p->conf->jobs, p->res, p->err)) < 0)
		goto out;
	/* Make room within the budget, keeping what this image needs. */
	r = cache_enforce(p->st->cache, diff_ids, p->cfg.n_diff_ids, p->err);
	/* Bigger than the budget alone: an image from a registry is recorded
	 * all the same, and the enforcement after it keeps only the maps of
	 * its layers (cache.h); their chunks come back by Range on read. */
	int too_big = r == -ENOSPC && p->ref.transport == REF_DOCKER;
	if (too_big) {
		log_info("%s: %s; its layers keep only their maps", p->ref.name, p->err->msg);
		error_clear(p->err);
		r = 0;
	}
	if (r < 0)
		goto out;
	r = commit_image(p->st, p->digest, p->ref.name, p->index_digest[0] ? p->index_digest : NULL, p->platform,
			 img, &p->cfg, p->err);
	/* Committing grows the index on disk too (a new log file, preallocated):
	 * look again, so that the budget holds as du sees it after the pull. */
	if (r == 0) {
		struct strata_error e2 = STRATA_ERROR_INIT;
		if (cache_enforce(p->st->cache, diff_ids, p->cfg.n_diff_ids, &e2) < 0) {
			if (too_big)
				r = error_set(p->err, e2.code, "%s", e2.msg);
			else
				log_warn("after pulling %s: %s", p->ref.name, e2.msg);
		}
	}
out:
	pthread_mutex_destroy(&job.lock);
	free(job.status);
	free(job.todo);
	json_decref(img);
	return r;
}

/* The image is stored already: the name is recorded, its layers counted
 * as found and used now. */
static int record_stored(struct pull *p)
{
	json_t *img = NULL;
	int r = 0;
	p->res->up_to_date = 1;
	if (catalog_get_image(p->st->idx, p->digest, &img, p->err) == 0) {
		const char *have = json_string_value(json_object_get(img, "platform"));
		p->res->layers = json_array_size(json_object_get(img, "layers"));
		if (p->asked && have && !platform_matches(have, p->asked))
			r = error_set(p->err, -ENOENT, "the image is for %s, not %s", have, p->asked);
	}
	json_decref(img);
	if (r == 0)
		r = commit_image(p->st, p->digest, p->ref.name, NULL, p->platform, NULL, NULL, p->err);
	if (r == 0) {
		cache_count(p->st->cache, p->res->layers, 0);
		cache_touch_image(p->st->cache, p->digest);
	}
	return r;
}

static void pull_release(struct pull *p)
{
	for (size_t i = 0; p->pinned && i < p->cfg.n_diff_ids; i++)
		cache_unpin(p->st->cache, p->cfg.diff_ids[i]);
	image_config_release(&p->cfg);
	manifest_release(&p->m);
	manifest_release(&p->idx);
	free(p->ctype);
	buf_release(&p->mbody);
	buf_release(&p->cbody);
	source_free(p->src);
	ref_release(&p->ref);
}

int pull_image(struct store *st, const struct strata_conf *conf, const char *refstr, const char *platform,
	       const struct pull_observer *obs, struct pull_result *res, struct strata_error *err)
{
	struct pull p = { .st = st, .conf = conf ? conf : st->conf, .asked = platform, .obs = obs, .res = res,
			  .err = err };
	int r;

	memset(res, 0, sizeof(*res));
	p.platform = platform ? platform : p.conf->platform ? p.conf->platform : platform_host();
	if ((r = ref_parse(refstr, &p.ref, err)) < 0)
		return r;
	snprintf(res->name, sizeof(res->name), "%s", p.ref.name);
	buf_init(&p.mbody, p.conf->limits.max_manifest);
	buf_init(&p.cbody, p.conf->limits.max_manifest);
	if ((r = source_open(&p.ref, p.conf, &p.src, err)) == 0)
		r = resolve(&p);
	if (r == 1)
		r = record_stored(&p);
	else if (r == 0 && (r = fetch_config(&p)) == 0)
		r = store_image(&p);
	if (r == 0)
		snprintf(res->digest, sizeof(res->digest), "%s", p.digest);
	else
		error_prefix(err, "pull '%s': ", refstr);
	/* Out of space: flush the index now, into the room ingest keeps free
	 * for it. Should something else take that room too, a restart then has
	 * no log to replay (a replay writes a table file, which a full disk
	 * refuses, and the store would not open). */
	if (r == -ENOSPC)
		index_flush(st->idx);
	pull_release(&p);
	return r;
}

int pull_resolve(const struct strata_conf *conf, const char *refstr, const char *platform, char *digest,
		 struct strata_error *err)
{
	struct image_ref ref = { 0 };
	struct source *src = NULL;
	struct buf body = BUF_INIT;
	struct manifest m = { 0 };
	char *ctype = NULL;
	uint8_t raw[SHA256_LEN];
	int r;
	if (!platform)
		platform = conf->platform ? conf->platform : platform_host();
	if ((r = ref_parse(refstr, &ref, err)) < 0)
		return r;
	buf_init(&body, conf->limits.max_manifest);
	if ((r = source_open(&ref, conf, &src, err)) < 0 ||
	    (r = source_fetch_manifest(src, NULL, &body, &ctype, err)) < 0 ||
	    (r = manifest_parse(body.data, body.len, ctype, &m, err)) < 0)
		goto out;
	if (m.kind == MANIFEST_INDEX) {
		/* The index names the platform's manifest by its digest: no
		 * second request. */
		const struct descriptor *d;
		if ((r = manifest_select_platform(&m, platform, &d, err)) < 0)
			goto out;
		snprintf(digest, DIGEST_STR_MAX, "%s", d->digest);
	} else {
		sha256_once(body.data, body.len, raw);
		digest_format(raw, digest);
	}
out:
	if (r < 0)
		error_prefix(err, "resolve '%s': ", refstr);
	manifest_release(&m);
	free(ctype);
	buf_release(&body);
	source_free(src);
	ref_release(&ref);
	return r;
}
