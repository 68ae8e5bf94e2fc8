/* cache: budget, LRU eviction, pins, ingest claims and accounting. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cache.h"
#include "catalog.h"
#include "chunkstore.h"
#include "src/base/log.h"
#include "src/base/util.h"

#define TOUCH_EVERY 60 /* seconds: reads and mounts must not turn into writes */
static const char counters_key[] = "Mcache_counters";

/* "2026-11-22T15:08:27Z" */
static json_t *json_time(int64_t t)
{
	char s[40];
	format_rfc3339(t, s, sizeof(s));
	return json_string(s);
}

/* A counted set of names (pins, layers being ingested). */
struct nameref {
	char name[DIGEST_STR_MAX];
	unsigned count;
	struct nameref *next;
};

struct cache {
	struct storedir *sd;
	pthread_mutex_t lock;          /* protects pins, inflight, counters */
	pthread_cond_t ingest_done;
	struct nameref *pins, *inflight;
	uint64_t hits, misses, evictions, bytes_evicted;
	uint64_t verify_runs, verify_bad;  /* since the daemon started; protected by lock */
	/* Ingests and verify hold it shared; eviction, gc and repair
	 * exclusively, so that nothing drops a chunk an unfinished layer is
	 * about to reference, or one verify is reading. */
	pthread_rwlock_t maint;
	/* Set once before the daemon serves (cache_set_map_keeper). */
	int (*keeps_map)(void *ctx, const struct layer_record *l);
	void *keeps_map_ctx;
};

static struct nameref **find_ref(struct nameref **head, const char *name)
{
	for (; *head; head = &(*head)->next)
		if (!strcmp((*head)->name, name))
			return head;
	return head;
}

static void ref_add(struct nameref **head, const char *name)
{
	struct nameref **p = find_ref(head, name);
	if (*p) {
		(*p)->count++;
		return;
	}
	struct nameref *n = calloc(1, sizeof(*n));
	if (!n)
		return;
	snprintf(n->name, sizeof(n->name), "%s", name);
	n->count = 1;
	*p = n;
}

static void ref_drop(struct nameref **head, const char *name)
{
	struct nameref **p = find_ref(head, name);
	if (*p && --(*p)->count == 0) {
		struct nameref *n = *p;
		*p = n->next;
		free(n);
	}
}

static int ref_has(struct nameref *head, const char *name)
{
	return *find_ref(&head, name) != NULL;
}

static void ref_free(struct nameref *head)
{
	while (head) {
		struct nameref *n = head->next;
		free(head);
		head = n;
	}
}

static void load_counters(struct cache *c)
{
	struct buf v = BUF_INIT;
	if (index_get(c->sd->idx, counters_key, sizeof(counters_key) - 1, &v, NULL) == 0) {
		json_t *o = json_loadb(v.data, v.len, 0, NULL);
		c->hits = (uint64_t)json_integer_value(json_object_get(o, "hits"));
		c->misses = (uint64_t)json_integer_value(json_object_get(o, "misses"));
		c->evictions = (uint64_t)json_integer_value(json_object_get(o, "evictions"));
		c->bytes_evicted = (uint64_t)json_integer_value(json_object_get(o, "bytes_evicted"));
		json_decref(o);
	}
	buf_release(&v);
}

/* Called with c->lock held. Not synced: counters are statistics. */
static void save_counters(struct cache *c)
{
	json_t *o = json_pack("{s:I, s:I, s:I, s:I}", "hits", (json_int_t)c->hits, "misses",
			      (json_int_t)c->misses, "evictions", (json_int_t)c->evictions,
			      "bytes_evicted", (json_int_t)c->bytes_evicted);
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	if (text)
		index_put(c->sd->idx, counters_key, sizeof(counters_key) - 1, text, strlen(text), 0, NULL);
	free(text);
	json_decref(o);
}

int cache_new(struct storedir *sd, struct cache **out, struct strata_error *err)
{
	struct cache *c = calloc(1, sizeof(*c));
	if (!c)
		return error_set(err, -ENOMEM, "out of memory");
	c->sd = sd;
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->ingest_done, NULL);
	pthread_rwlock_init(&c->maint, NULL);
	int r = chunkstore_recount(sd->cs, err);
	if (r == 0)
		r = catalog_index_layer_users(sd->idx, err);
	if (r < 0) {
		cache_free(c);
		return r;
	}
	load_counters(c);
	*out = c;
	return 0;
}

void cache_free(struct cache *c)
{
	if (!c)
		return;
	ref_free(c->pins);
	ref_free(c->inflight);
	pthread_mutex_destroy(&c->lock);
	pthread_cond_destroy(&c->ingest_done);
	pthread_rwlock_destroy(&c->maint);
	free(c);
}

void cache_pin(struct cache *c, const char *diff_id)
{
	pthread_mutex_lock(&c->lock);
	ref_add(&c->pins, diff_id);
	pthread_mutex_unlock(&c->lock);
}

void cache_unpin(struct cache *c, const char *diff_id)
{
	pthread_mutex_lock(&c->lock);
	ref_drop(&c->pins, diff_id);
	pthread_mutex_unlock(&c->lock);
}

int cache_claim_layer(struct cache *c, const char *diff_id)
{
	pthread_mutex_lock(&c->lock);
	if (ref_has(c->inflight, diff_id)) {
		while (ref_has(c->inflight, diff_id))
			pthread_cond_wait(&c->ingest_done, &c->lock);
		pthread_mutex_unlock(&c->lock);
		return 0;
	}
	ref_add(&c->inflight, diff_id);
	pthread_mutex_unlock(&c->lock);
	pthread_rwlock_rdlock(&c->maint);
	return 1;
}

int cache_is_pinned(struct cache *c, const char *diff_id)
{
	pthread_mutex_lock(&c->lock);
	int pinned = ref_has(c->pins, diff_id);
	pthread_mutex_unlock(&c->lock);
	return pinned;
}

void cache_exclusive_begin(struct cache *c)
{
	pthread_rwlock_wrlock(&c->maint);
}

void cache_exclusive_end(struct cache *c)
{
	pthread_rwlock_unlock(&c->maint);
}

void cache_shared_begin(struct cache *c)
{
	pthread_rwlock_rdlock(&c->maint);
}

void cache_shared_end(struct cache *c)
{
	pthread_rwlock_unlock(&c->maint);
}

void cache_release_layer(struct cache *c, const char *diff_id)
{
	pthread_rwlock_unlock(&c->maint);
	pthread_mutex_lock(&c->lock);
	ref_drop(&c->inflight, diff_id);
	pthread_cond_broadcast(&c->ingest_done);
	pthread_mutex_unlock(&c->lock);
}

void cache_count(struct cache *c, uint64_t hits, uint64_t misses)
{
	pthread_mutex_lock(&c->lock);
	c->hits += hits;
	c->misses += misses;
	save_counters(c);
	pthread_mutex_unlock(&c->lock);
}

void cache_count_verify(struct cache *c, uint64_t bad_chunks)
{
	pthread_mutex_lock(&c->lock);
	c->verify_runs++;
	c->verify_bad += bad_chunks;
	pthread_mutex_unlock(&c->lock);
}

void cache_touch_image(struct cache *c, const char *digest)
{
	json_t *img = NULL, *l;
	size_t i;
	int64_t now = now_unix();
	if (catalog_get_image(c->sd->idx, digest, &img, NULL) < 0)
		return;
	struct index_batch *b = index_batch_new();
	json_array_foreach(json_object_get(img, "layers"), i, l) {
		const char *d = json_string_value(json_object_get(l, "diff_id"));
		struct layer_record rec;
		if (b && d && layers_get(c->sd->idx, d, &rec, NULL) == 0 &&
		    now - rec.last_used >= TOUCH_EVERY) {
			rec.last_used = now;
			layers_put(b, &rec);
		}
	}
	if (b && index_batch_count(b))
		storedir_commit(c->sd, b, 0, NULL);
	index_batch_free(b);
	json_decref(img);
}

/* What du counts of the store: chunk files, their directories, the index
 * and the store's own directory (the log and socket aside). */
static uint64_t store_size_with(struct cache *c, const struct chunkstore_totals *t, uint64_t index_bytes)
{
	struct stat st;
	uint64_t top = stat(c->sd->dir, &st) == 0 ? (uint64_t)st.st_blocks * 512 : 0;
	return t->file_bytes + chunkstore_dir_bytes(c->sd->cs) + index_bytes + top;
}

/* The size a budget is held to: what du counts, plus the memtables, which
 * a background flush puts on disk after the check (t0200 saw the store
 * 0.7% over its budget right after a pull). */
uint64_t cache_store_size(struct cache *c)
{
	struct chunkstore_totals t;
	chunkstore_get_totals(c->sd->cs, &t);
	return store_size_with(c, &t, index_disk_size(c->sd->idx)) + index_memtable_bytes(c->sd->idx);
}

/* --- eviction ----------------------------------------------------------- */

struct layer_list {
	struct layer_record *v;
	size_t n, cap;
};

static int collect_layer(const struct layer_record *l, void *ctx)
{
	struct layer_list *ll = ctx;
	if (ll->n == ll->cap) {
		size_t nc = ll->cap ? ll->cap * 2 : 64;
		void *nv = realloc(ll->v, nc * sizeof(*ll->v));
		if (!nv)
			return -ENOMEM;
		ll->v = nv;
		ll->cap = nc;
	}
	ll->v[ll->n++] = *l;
	return 0;
}

static int by_last_used(const void *a, const void *b)
{
	const struct layer_record *x = a, *y = b;
	return x->last_used < y->last_used ? -1 : x->last_used > y->last_used;
}

static int in_list(const char *const *keep, size_t n, const char *d)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(keep[i], d))
			return 1;
	return 0;
}

void cache_set_map_keeper(struct cache *c, int (*fn)(void *ctx, const struct layer_record *l), void *ctx)
{
	c->keeps_map = fn;
	c->keeps_map_ctx = ctx;
}

int cache_evict(struct cache *c, struct layer_record *l, uint64_t *freed, struct strata_error *err)
{
	uint64_t f = 0;
	int r, mapped = layers_mapped(l);
	if (mapped)
		r = layers_drop_held(c->sd, l->lid, &f, err);
	else
		r = layers_evict(c->sd, l, c->keeps_map && c->keeps_map(c->keeps_map_ctx, l), &f, err);
	if (r == 0) {
		*freed += f;
		pthread_mutex_lock(&c->lock);
		c->evictions++;
		c->bytes_evicted += f;
		save_counters(c);
		pthread_mutex_unlock(&c->lock);
		log_info("evicted %s %s (%llu bytes freed%s)", mapped ? "the chunks of mapped layer" : "layer",
			 l->diff_id, (unsigned long long)f, layers_mapped(l) && !mapped ? "; its map is kept" : "");
	}
	return r;
}

int cache_evict_span(struct cache *c, uint32_t lid, uint64_t from, uint64_t to, struct strata_error *err)
{
	uint64_t f = 0;
	pthread_rwlock_wrlock(&c->maint);
	int r = layers_drop_held_range(c->sd, lid, from, to, &f, err);
	pthread_rwlock_unlock(&c->maint);
	if (r == 0 && f) {
		pthread_mutex_lock(&c->lock);
		c->bytes_evicted += f;
		save_counters(c);
		pthread_mutex_unlock(&c->lock);
		log_debug("evicted the chunks of layer %u's bytes %llu-%llu (%llu bytes freed)", (unsigned)lid,
			  (unsigned long long)from, (unsigned long long)to, (unsigned long long)f);
	}
	return r;
}

/* Unpinned complete layers, least recently used first; then the mapped
 * layers that hold chunks, pinned or not (a live mount's reader fetches
 * a dropped chunk again), least recently used first, each with
 * stored_bytes set to what dropping its chunks frees. */
static int candidates(struct cache *c, const char *const *keep, size_t n_keep, struct layer_list *out)
{
	struct layer_list all = { 0 }, mapped = { 0 };
	int r = layers_each(c->sd->idx, collect_layer, &all);
	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; r == 0 && i < all.n; i++) {
		struct layer_record *l = &all.v[i];
		if (ref_has(c->inflight, l->diff_id) || in_list(keep, n_keep, l->diff_id))
			continue;
		if (layers_mapped(l))
			r = collect_layer(l, &mapped);
		else if (layers_complete(l) && !ref_has(c->pins, l->diff_id))
			r = collect_layer(l, out);
	}
	pthread_mutex_unlock(&c->lock);
	free(all.v);
	if (r == 0 && out->n > 1) /* none at all: v is NULL, which qsort may not take */
		qsort(out->v, out->n, sizeof(*out->v), by_last_used);
	if (r == 0 && mapped.n > 1)
		qsort(mapped.v, mapped.n, sizeof(*mapped.v), by_last_used);
	for (size_t i = 0; r == 0 && i < mapped.n; i++) {
		mapped.v[i].stored_bytes = layers_held_bytes(c->sd, mapped.v[i].lid);
		if (mapped.v[i].stored_bytes)
			r = collect_layer(&mapped.v[i], out);
	}
	free(mapped.v);
	return r;
}

static uint64_t pinned_bytes(struct cache *c, const char *const *keep, size_t n_keep, unsigned *n_layers)
{
	struct layer_list all = { 0 };
	uint64_t total = 0;
	*n_layers = 0;
	layers_each(c->sd->idx, collect_layer, &all);
	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < all.n; i++)
		if (layers_complete(&all.v[i]) &&
		    (ref_has(c->pins, all.v[i].diff_id) || in_list(keep, n_keep, all.v[i].diff_id))) {
			total += all.v[i].stored_bytes;
			(*n_layers)++;
		}
	pthread_mutex_unlock(&c->lock);
	free(all.v);
	return total;
}

/* Evicts candidates in LRU order until the store is at most target bytes. */
static int evict_down_to(struct cache *c, uint64_t target, const char *const *keep, size_t n_keep,
			 uint64_t *freed, struct strata_error *err)
{
	struct layer_list cand = { 0 };
	int r = candidates(c, keep, n_keep, &cand);
	int evicted = 0;
	for (size_t i = 0; r == 0 && i < cand.n && cache_store_size(c) > target; i++) {
		r = cache_evict(c, &cand.v[i], freed, err);
		evicted++;
		/* Deleted keys give their space back only when compacted. */
		if (r == 0 && cache_store_size(c) > target)
			index_compact(c->sd->idx);
	}
	if (evicted)
		index_compact(c->sd->idx);
	free(cand.v);
	return r;
}

/* Evicts, keeping their maps, complete layers whose map is kept, pinned
 * or not, least recently used first, until the store is at most target. */
static void unmap_down_to(struct cache *c, uint64_t target, uint64_t *freed, struct strata_error *err)
{
	struct layer_list all = { 0 };
	if (!c->keeps_map || layers_each(c->sd->idx, collect_layer, &all) < 0)
		goto out;
	if (all.n > 1)
		qsort(all.v, all.n, sizeof(*all.v), by_last_used);
	for (size_t i = 0; i < all.n && cache_store_size(c) > target; i++) {
		struct layer_record *l = &all.v[i];
		int busy;
		pthread_mutex_lock(&c->lock);
		busy = ref_has(c->inflight, l->diff_id);
		pthread_mutex_unlock(&c->lock);
		if (busy || !layers_complete(l) || !c->keeps_map(c->keeps_map_ctx, l))
			continue;
		if (cache_evict(c, l, freed, err) < 0)
			break;
		index_compact(c->sd->idx);
	}
out:
	free(all.v);
}

/* Holds the store to its budget less need bytes about to be stored. */
static int enforce(struct cache *c, const char *const *keep, size_t n_keep, uint64_t need,
		   struct strata_error *err)
{
	uint64_t full = c->sd->conf->cache_max_size, freed = 0;
	if (!full || cache_store_size(c) + need <= full)
		return 0;
	uint64_t budget = need < full ? full - need : 0;
	uint64_t low = full / 100 * (uint64_t)c->sd->conf->cache_low_watermark;
	low = low < budget ? low : budget;
	pthread_rwlock_wrlock(&c->maint);
	/* The index's log and memtables may be most of the excess: fold them first. */
	index_compact(c->sd->idx);
	int r = cache_store_size(c) > budget ? evict_down_to(c, low, keep, n_keep, &freed, err) : 0;
	uint64_t size = cache_store_size(c);
	if (r == 0 && size > budget) {
		unsigned n;
		uint64_t pinned = pinned_bytes(c, NULL, 0, &n);
		char b[16], p[16], s[16];
		format_size(full, b, sizeof(b));
		format_size(pinned, p, sizeof(p));
		format_size(size, s, sizeof(s));
		/* The new image does not fit: give its unused layers back too. */
		evict_down_to(c, low, NULL, 0, &freed, err);
		/* Then the maps-only eviction of every layer that keeps its map,
		 * pinned or kept: their readers fetch the chunks again. */
		if (cache_store_size(c) > budget)
			unmap_down_to(c, low, &freed, err);
		size = cache_store_size(c);
		if (size <= budget) {
			pthread_rwlock_unlock(&c->maint);
			return 0;
		}
		format_size(size, s, sizeof(s));
		r = error_set(err, -ENOSPC, "cache budget %s exceeded: the store needs %s, and %s in %u layers "
			      "are pinned by live mounts", b, s, p, n);
	}
	pthread_rwlock_unlock(&c->maint);
	return r;
}

int cache_enforce(struct cache *c, const char *const *keep, size_t n_keep, struct strata_error *err)
{
	return enforce(c, keep, n_keep, 0, err);
}

int cache_make_room(struct cache *c, uint64_t need, struct strata_error *err)
{
	return enforce(c, NULL, 0, need, err);
}

int cache_prune(struct cache *c, const struct cache_prune_opts *o, json_t **report, struct strata_error *err)
{
	struct layer_list cand = { 0 };
	json_t *list = json_array();
	uint64_t freed = 0, estimate = 0, size;
	int64_t now = now_unix();
	int r;

	pthread_rwlock_wrlock(&c->maint);
	size = cache_store_size(c);
	r = candidates(c, NULL, 0, &cand);
	for (size_t i = 0; r == 0 && i < cand.n; i++) {
		struct layer_record *l = &cand.v[i];
		int old = o->older_than && now - l->last_used >= (int64_t)o->older_than;
		int big = o->max_size && size - (o->dry_run ? estimate : 0) > o->max_size;
		if (!o->all && !old && !big)
			continue;
		json_array_append_new(list, json_pack("{s:s, s:o, s:I}", "layer_id", l->diff_id, "last_referred",
						      json_time(l->last_used), "stored_size",
						      (json_int_t)l->stored_bytes));
		estimate += l->stored_bytes;
		if (!o->dry_run) {
			r = cache_evict(c, l, &freed, err);
			size = cache_store_size(c);
		}
	}
	if (!o->dry_run && json_array_size(list))
		index_compact(c->sd->idx);
	pthread_rwlock_unlock(&c->maint);
	free(cand.v);
	if (r < 0) {
		json_decref(list);
		return r;
	}
	*report = json_pack("{s:o, s:I, s:I, s:b, s:I}", "evicted", list, "layers",
			    (json_int_t)json_array_size(list), "bytes_freed",
			    (json_int_t)(o->dry_run ? estimate : freed), "dry_run", o->dry_run,
			    "store_size", (json_int_t)cache_store_size(c));
	return 0;
}

/* --- reporting ---------------------------------------------------------- */

struct sums {
	struct index *idx;
	uint64_t records, compressed, logical, content, stored, mapped, map_bytes;
};

static int sum_layer(const struct layer_record *l, void *ctx)
{
	struct sums *s = ctx;
	/* A mapped layer's only: a complete layer's map is part of its
	 * content, and reading every map would make stats cost a scan of the
	 * index. */
	if (layers_mapped(l)) {
		s->map_bytes += layers_map_bytes(s->idx, l->lid, NULL);
		s->mapped++;
	}
	if (!layers_complete(l))
		return 0;
	s->records++;
	s->compressed += l->compressed_size;
	s->logical += l->size;
	s->content += l->content_bytes;
	s->stored += l->stored_bytes;
	return 0;
}

void cache_get_stats(struct cache *c, struct cache_stats *out)
{
	struct sums s = { .idx = c->sd->idx };
	struct chunkstore_totals t;
	layers_each(c->sd->idx, sum_layer, &s);
	chunkstore_get_totals(c->sd->cs, &t);
	uint64_t index_bytes = index_disk_size(c->sd->idx);
	*out = (struct cache_stats){
		.layers = s.records,
		.mapped_layers = s.mapped,
		.map_bytes = s.map_bytes,
		.compressed_bytes = s.compressed,
		.logical_bytes = s.logical,
		.content_bytes = s.content,
		.chunks = t.chunks,
		.unique_bytes = t.ulen,
		.store_bytes = store_size_with(c, &t, index_bytes),
		.chunk_file_bytes = t.file_bytes,
		.index_bytes = index_bytes,
		.budget = c->sd->conf->cache_max_size,
		.dedup_ratio = t.ulen ? (double)s.content / (double)t.ulen : 1.0,
		.compression_ratio = t.file_bytes + t.inline_bytes
					     ? (double)t.ulen / (double)(t.file_bytes + t.inline_bytes) : 1.0,
	};
	pthread_mutex_lock(&c->lock);
	out->hits = c->hits;
	out->misses = c->misses;
	out->evictions = c->evictions;
	out->bytes_evicted = c->bytes_evicted;
	out->verify_runs = c->verify_runs;
	out->verify_bad_chunks = c->verify_bad;
	pthread_mutex_unlock(&c->lock);
}

struct ls_ctx {
	struct storedir *sd;
	json_t *out, *users; /* users: diff_id -> [image names] */
};

static int note_user(const char *diff_id, const char *name, void *ctx)
{
	struct ls_ctx *x = ctx;
	json_t *list = json_object_get(x->users, diff_id);
	if (!list) {
		list = json_array();
		json_object_set_new(x->users, diff_id, list);
	}
	json_array_append_new(list, json_string(name));
	return 0;
}

static int ls_layer(const struct layer_record *l, void *ctx)
{
	struct ls_ctx *x = ctx;
	json_t *users = json_object_get(x->users, l->diff_id);
	int complete = layers_complete(l), mapped = layers_mapped(l);
	/* A mapped layer's stored size: the chunks fetched back that it alone
	 * holds; its map (entries, references, checkpoints) is map_size. */
	uint64_t stored = complete ? l->stored_bytes : mapped ? layers_held_bytes(x->sd, l->lid) : 0;
	uint64_t ckpt = 0, map = mapped ? layers_map_bytes(x->sd->idx, l->lid, &ckpt) : 0;
	json_array_append_new(x->out, json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:o, s:s, s:o}",
		"layer_id", l->diff_id, "size", (json_int_t)l->size,
		"stored_size", (json_int_t)stored,
		"map_size", (json_int_t)map, "checkpoint_size", (json_int_t)ckpt,
		"reference_count", (json_int_t)json_array_size(users),
		"last_referred", json_time(l->last_used),
		"state", layers_complete(l) ? "complete" : l->state,
		"images", users ? json_incref(users) : json_array()));
	return 0;
}

json_t *cache_layers(struct cache *c)
{
	struct ls_ctx x = { c->sd, json_array(), json_object() };
	catalog_each_layer_user(c->sd->idx, note_user, &x);
	layers_each(c->sd->idx, ls_layer, &x);
	json_decref(x.users);
	return x.out;
}
