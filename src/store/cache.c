/* cache: budget, LRU eviction, pins, accounting and maintenance. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache.h"
#include "catalog.h"
#include "chunkstore.h"
#include "entry.h"
#include "src/base/hashset.h"
#include "src/view/imageinfo.h"
#include "src/ingest/ingest.h"
#include "src/base/log.h"
#include "src/base/util.h"

#define TOUCH_EVERY 60 /* seconds: reads and mounts must not turn into writes */
static const char counters_key[] = "Mcache_counters";

/* A counted set of names (pins, layers being ingested). */
struct nameref {
	char name[DIGEST_STR_MAX];
	unsigned count;
	struct nameref *next;
};

struct cache {
	struct store *st;
	pthread_mutex_t lock;          /* protects pins, inflight, counters */
	pthread_cond_t ingest_done;
	struct nameref *pins, *inflight;
	uint64_t hits, misses, evictions, bytes_evicted;
	uint64_t verify_runs, verify_bad;  /* since the daemon started; protected by lock */
	/* Ingests hold it shared; eviction, gc and repair exclusively, so that
	 * nothing drops a chunk an unfinished layer is about to reference. */
	pthread_rwlock_t maint;
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
	if (index_get(c->st->idx, counters_key, sizeof(counters_key) - 1, &v, NULL) == 0) {
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
		index_put(c->st->idx, counters_key, sizeof(counters_key) - 1, text, strlen(text), 0, NULL);
	free(text);
	json_decref(o);
}

int cache_new(struct store *st, struct cache **out, struct strata_error *err)
{
	struct cache *c = calloc(1, sizeof(*c));
	if (!c)
		return error_set(err, -ENOMEM, "out of memory");
	c->st = st;
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->ingest_done, NULL);
	pthread_rwlock_init(&c->maint, NULL);
	int r = chunkstore_recount(st->cs, err);
	if (r == 0)
		r = catalog_index_layer_users(st->idx, err);
	if (r < 0) {
		cache_free(c);
		return r;
	}
	load_counters(c);
	st->cache = c;
	*out = c;
	return 0;
}

void cache_free(struct cache *c)
{
	if (!c)
		return;
	if (c->st && c->st->cache == c)
		c->st->cache = NULL;
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

void cache_touch_image(struct cache *c, const char *digest)
{
	json_t *img = NULL, *l;
	size_t i;
	int64_t now = now_unix();
	if (catalog_get_image(c->st->idx, digest, &img, NULL) < 0)
		return;
	struct index_batch *b = index_batch_new();
	json_array_foreach(json_object_get(img, "layers"), i, l) {
		const char *d = json_string_value(json_object_get(l, "diff_id"));
		struct layer_record rec;
		if (b && d && catalog_get_layer(c->st->idx, d, &rec, NULL) == 0 &&
		    now - rec.last_used >= TOUCH_EVERY) {
			rec.last_used = now;
			catalog_put_layer(b, &rec);
		}
	}
	if (b && index_batch_count(b))
		store_commit(c->st, b, 0, NULL);
	index_batch_free(b);
	json_decref(img);
}

/* What du counts of the store: chunk files, their directories, the index
 * and the store's own directory (the log and socket aside). */
static uint64_t store_size_with(struct cache *c, const struct chunkstore_totals *t, uint64_t index_bytes)
{
	struct stat st;
	uint64_t top = stat(c->st->dir, &st) == 0 ? (uint64_t)st.st_blocks * 512 : 0;
	return t->file_bytes + chunkstore_dir_bytes(c->st->cs) + index_bytes + top;
}

/* The size a budget is held to: what du counts, plus the memtables, which
 * a background flush puts on disk after the check (t0200 saw the store
 * 0.7% over its budget right after a pull). */
uint64_t cache_store_size(struct cache *c)
{
	struct chunkstore_totals t;
	chunkstore_get_totals(c->st->cs, &t);
	return store_size_with(c, &t, index_disk_size(c->st->idx)) + index_memtable_bytes(c->st->idx);
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

/* Evicts one layer: with c->maint held exclusively. */
static int evict_layer(struct cache *c, struct layer_record *l, uint64_t *freed, struct strata_error *err)
{
	struct index_batch *b = index_batch_new();
	if (!b)
		return error_set(err, -ENOMEM, "out of memory");
	/* Invisible first (durably), then dropped: a crash between leaves only
	 * garbage that gc removes. */
	snprintf(l->state, sizeof(l->state), "evicted");
	catalog_put_layer(b, l);
	int r = store_commit(c->st, b, 1, err);
	index_batch_free(b);
	uint64_t f = 0;
	if (r == 0)
		r = ingest_drop_lid(c->st, l->lid, 1, &f, err);
	if (r == 0) {
		*freed += f;
		pthread_mutex_lock(&c->lock);
		c->evictions++;
		c->bytes_evicted += f;
		save_counters(c);
		pthread_mutex_unlock(&c->lock);
		log_info("evicted layer %s (%llu bytes freed)", l->diff_id, (unsigned long long)f);
	}
	return r;
}

/* Unpinned complete layers, least recently used first. */
static int candidates(struct cache *c, const char *const *keep, size_t n_keep, struct layer_list *out)
{
	struct layer_list all = { 0 };
	int r = catalog_each_layer(c->st->idx, collect_layer, &all);
	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; r == 0 && i < all.n; i++) {
		struct layer_record *l = &all.v[i];
		if (!catalog_layer_complete(l) || ref_has(c->pins, l->diff_id) ||
		    ref_has(c->inflight, l->diff_id) || in_list(keep, n_keep, l->diff_id))
			continue;
		r = collect_layer(l, out);
	}
	pthread_mutex_unlock(&c->lock);
	free(all.v);
	if (r == 0 && out->n > 1) /* none at all: v is NULL, which qsort may not take */
		qsort(out->v, out->n, sizeof(*out->v), by_last_used);
	return r;
}

static uint64_t pinned_bytes(struct cache *c, const char *const *keep, size_t n_keep, unsigned *n_layers)
{
	struct layer_list all = { 0 };
	uint64_t total = 0;
	*n_layers = 0;
	catalog_each_layer(c->st->idx, collect_layer, &all);
	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < all.n; i++)
		if (catalog_layer_complete(&all.v[i]) &&
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
		r = evict_layer(c, &cand.v[i], freed, err);
		evicted++;
		/* Deleted keys give their space back only when compacted. */
		if (r == 0 && cache_store_size(c) > target)
			index_compact(c->st->idx);
	}
	if (evicted)
		index_compact(c->st->idx);
	free(cand.v);
	return r;
}

int cache_enforce(struct cache *c, const char *const *keep, size_t n_keep, struct strata_error *err)
{
	uint64_t budget = c->st->conf->cache_max_size, freed = 0;
	if (!budget || cache_store_size(c) <= budget)
		return 0;
	uint64_t low = budget / 100 * (uint64_t)c->st->conf->cache_low_watermark;
	pthread_rwlock_wrlock(&c->maint);
	/* The index's log and memtables may be most of the excess: fold them first. */
	index_compact(c->st->idx);
	int r = cache_store_size(c) > budget ? evict_down_to(c, low, keep, n_keep, &freed, err) : 0;
	uint64_t size = cache_store_size(c);
	if (r == 0 && size > budget) {
		unsigned n;
		uint64_t pinned = pinned_bytes(c, NULL, 0, &n);
		char b[16], p[16], s[16];
		format_size(budget, b, sizeof(b));
		format_size(pinned, p, sizeof(p));
		format_size(size, s, sizeof(s));
		/* The new image does not fit: give its unused layers back too. */
		evict_down_to(c, low, NULL, 0, &freed, err);
		r = error_set(err, -ENOSPC, "cache budget %s exceeded: the store needs %s, and %s in %u layers "
			      "are pinned by live mounts", b, s, p, n);
	}
	pthread_rwlock_unlock(&c->maint);
	return r;
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
						      imageinfo_time(l->last_used), "stored_size",
						      (json_int_t)l->stored_bytes));
		estimate += l->stored_bytes;
		if (!o->dry_run) {
			r = evict_layer(c, l, &freed, err);
			size = cache_store_size(c);
		}
	}
	if (!o->dry_run && json_array_size(list))
		index_compact(c->st->idx);
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

/* --- gc ----------------------------------------------------------------- */

static int lid_known(struct index *idx, uint32_t lid, int *complete)
{
	uint8_t nk[5] = { 'N' };
	struct buf v = BUF_INIT;
	struct layer_record rec;
	be32_put(nk + 1, lid);
	*complete = 0;
	int r = index_get(idx, nk, sizeof(nk), &v, NULL);
	if (r == 0 && catalog_get_layer(idx, v.data, &rec, NULL) == 0 && rec.lid == lid)
		*complete = catalog_layer_complete(&rec);
	buf_release(&v);
	return r == 0;
}

/* Layer ids that have entries or references but no complete layer. */
static int leftover_lids(struct cache *c, uint32_t **out, size_t *n)
{
	static const char tables[] = { 'E', 'P' };
	size_t cap = 0;
	*out = NULL;
	*n = 0;
	for (size_t t = 0; t < sizeof(tables); t++) {
		struct index_iter *it = index_iter_new(c->st->idx, &tables[t], 1);
		const void *k, *v;
		size_t kl, vl;
		if (!it)
			return -ENOMEM;
		while (index_iter_next(it, &k, &kl, &v, &vl)) {
			if (kl < 5)
				continue;
			uint32_t lid = be32_get((const uint8_t *)k + 1);
			int complete, dup = 0;
			if (!lid_known(c->st->idx, lid, &complete) || !complete) {
				for (size_t i = 0; i < *n; i++)
					dup |= (*out)[i] == lid;
				if (!dup) {
					if (*n == cap) {
						cap = cap ? cap * 2 : 16;
						uint32_t *nv = realloc(*out, cap * sizeof(**out));
						if (!nv) {
							index_iter_free(it);
							return -ENOMEM;
						}
						*out = nv;
					}
					(*out)[(*n)++] = lid;
				}
			}
			/* Skip the rest of this lid's keys. */
			uint8_t next[4];
			be32_put(next, lid + 1);
			if (lid == UINT32_MAX)
				break;
			index_iter_seek(it, next, 4);
		}
		index_iter_free(it);
	}
	return 0;
}

static int unlink_orphan_files(struct cache *c, uint64_t *files, uint64_t *tmps, uint64_t *bytes)
{
	char *dir = path_join(c->st->dir, "chunks");
	DIR *top = dir ? opendir(dir) : NULL;
	struct dirent *de;
	if (!top) {
		free(dir);
		return 0;
	}
	while ((de = readdir(top))) {
		if (de->d_name[0] == '.')
			continue;
		int fd = openat(dirfd(top), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		DIR *sub = fd >= 0 ? fdopendir(fd) : NULL;
		if (!sub) {
			if (fd >= 0)
				close(fd);
			continue;
		}
		struct dirent *f;
		while ((f = readdir(sub))) {
			struct stat st;
			uint8_t id[SHA256_LEN];
			struct chunk_info ci;
			if (f->d_name[0] == '.' || fstatat(dirfd(sub), f->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
				continue;
			size_t len = strlen(f->d_name);
			int tmp = len > 4 && !strcmp(f->d_name + len - 4, ".tmp");
			int orphan = !tmp && (len != 64 || hex_decode(f->d_name, 64, id) < 0 ||
					      chunkstore_stat(c->st->cs, id, &ci) < 0 || !(ci.flags & CHUNK_F_FILE));
			if ((tmp || orphan) && unlinkat(dirfd(sub), f->d_name, 0) == 0) {
				*bytes += (uint64_t)st.st_blocks * 512;
				if (tmp)
					(*tmps)++;
				else
					(*files)++;
			}
		}
		closedir(sub);
	}
	closedir(top);
	free(dir);
	return 0;
}

/* --- the memo's leftovers --------------------------------------------------- */

#define MEMO_GC_BATCH 10000 /* deletions committed at once */

static uint64_t first_u64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, sizeof(v));
	return v;
}

/* The contents of every regular file of every complete layer, into files,
 * and those layers' diff_ids, into layers. */
static int stored_contents(struct cache *c, struct hashset *files, struct hashset *layers)
{
	struct hashset complete = { 0 };
	struct index_iter *it = index_iter_new(c->st->idx, "N", 1);
	const void *k, *v;
	size_t kl, vl;
	int r = it ? 0 : -ENOMEM;
	while (r == 0 && index_iter_next(it, &k, &kl, &v, &vl) == 1) {
		/* 'N' lid -> diff_id: the layer's record says whether it is complete. */
		char diff_id[DIGEST_STR_MAX];
		struct layer_record rec;
		uint32_t lid = kl == 5 ? be32_get((const uint8_t *)k + 1) : 0;
		if (!lid || vl >= sizeof(diff_id))
			continue;
		memcpy(diff_id, v, vl);
		diff_id[vl] = '\0';
		if (catalog_get_layer(c->st->idx, diff_id, &rec, NULL) == 0 && rec.lid == lid &&
		    catalog_layer_complete(&rec) &&
		    (hashset_add(&complete, 1 + (uint64_t)lid) < 0 || hashset_add(layers, hashset_hash(v, vl)) < 0))
			r = -ENOMEM;
	}
	index_iter_free(it);
	it = r == 0 ? index_iter_new(c->st->idx, "E", 1) : NULL;
	while (it && r == 0 && index_iter_next(it, &k, &kl, &v, &vl) == 1) {
		struct entry e;
		if (kl > 5 && hashset_has(&complete, 1 + (uint64_t)be32_get((const uint8_t *)k + 1)) &&
		    entry_decode(v, vl, &e) == 0 && e.type == ENTRY_REG && hashset_add(files, first_u64(e.sha256)) < 0)
			r = -ENOMEM;
	}
	index_iter_free(it);
	hashset_release(&complete);
	return r;
}

/* Whether memo key k (memo.h: "<analyzer>@<version>[+config]/<sha256>[/name]"
 * or ".../layer/<diff_id>", after the table byte) speaks of something stored.
 * A key of another shape is kept. */
static int memo_key_live(const char *k, size_t kl, const struct hashset *files, const struct hashset *layers)
{
	const char *slash = memchr(k, '/', kl), *end = k + kl;
	if (!slash)
		return 1;
	const char *rest = slash + 1;
	if ((size_t)(end - rest) > 6 && !memcmp(rest, "layer/", 6))
		return hashset_has(layers, hashset_hash(rest + 6, (size_t)(end - rest - 6)));
	uint8_t id[8];
	if (end - rest < 2 * SHA256_LEN || hex_decode(rest, 2 * sizeof(id), id) < 0)
		return 1;
	return hashset_has(files, first_u64(id));
}

/* Analysis results (memo.h) kept after their contents' layers went: drops
 * those of contents that no complete layer holds, and the summaries of
 * layers not stored. Without it the memo grows with every pull (the secrets
 * prescan writes a result per new content) while layers come and go. */
static int gc_memo(struct cache *c, uint64_t *removed, struct strata_error *err)
{
	struct hashset files = { 0 }, layers = { 0 };
	struct index_batch *b = index_batch_new();
	size_t pending = 0;
	int r = b ? stored_contents(c, &files, &layers) : -ENOMEM;
	struct index_iter *it = r == 0 ? index_iter_new(c->st->idx, "A", 1) : NULL;
	const void *k, *v;
	size_t kl, vl;
	if (r == 0 && !it)
		r = -ENOMEM;
	while (r == 0 && index_iter_next(it, &k, &kl, &v, &vl) == 1) {
		if (kl < 2 || memo_key_live((const char *)k + 1, kl - 1, &files, &layers))
			continue;
		index_batch_delete(b, k, kl);
		(*removed)++;
		if (++pending == MEMO_GC_BATCH) {
			r = store_commit(c->st, b, 0, err);
			pending = 0;
		}
	}
	index_iter_free(it);
	if (r == -ENOMEM)
		error_set(err, r, "out of memory");
	else if (r == 0 && pending)
		r = store_commit(c->st, b, 0, err);
	index_batch_free(b);
	hashset_release(&files);
	hashset_release(&layers);
	return r;
}

int cache_gc(struct cache *c, json_t **report, struct strata_error *err)
{
	uint32_t *lids = NULL;
	size_t n_lids = 0;
	uint64_t chunks = 0, files = 0, tmps = 0, bytes = 0, memo = 0;
	struct index_batch *b = index_batch_new();
	struct buf ids = BUF_INIT;
	int r;

	pthread_rwlock_wrlock(&c->maint);
	if (!b || (r = leftover_lids(c, &lids, &n_lids)) < 0) {
		r = error_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n_lids; i++) {
		uint64_t f = 0;
		if ((r = ingest_drop_lid(c->st, lids[i], 0, &f, err)) < 0)
			goto out;
	}
	/* Chunks no layer references. */
	struct index_iter *it = index_iter_new(c->st->idx, "K", 1);
	const void *k, *v;
	size_t kl, vl;
	while (it && index_iter_next(it, &k, &kl, &v, &vl)) {
		if (kl != 1 + SHA256_LEN)
			continue;
		uint8_t rp[1 + SHA256_LEN] = { 'R' };
		memcpy(rp + 1, (const uint8_t *)k + 1, SHA256_LEN);
		struct index_iter *ri = index_iter_new(c->st->idx, rp, sizeof(rp));
		const void *rk, *rv;
		size_t rkl, rvl;
		int used = 0;
		while (ri && !used && index_iter_next(ri, &rk, &rkl, &rv, &rvl)) {
			int complete;
			used = rkl == sizeof(rp) + 4 &&
			       lid_known(c->st->idx, be32_get((const uint8_t *)rk + sizeof(rp)), &complete) && complete;
		}
		index_iter_free(ri);
		if (!used)
			buf_add(&ids, (const uint8_t *)k + 1, SHA256_LEN);
	}
	index_iter_free(it);
	for (size_t off = 0; off < ids.len; off += SHA256_LEN) {
		const uint8_t *id = (const uint8_t *)ids.data + off;
		struct chunk_info ci;
		if (chunkstore_stat(c->st->cs, id, &ci) == 0)
			bytes += ci.flags & CHUNK_F_FILE ? (ci.clen + 4095) & ~4095ull : ci.clen;
		/* Its stale references go with it. */
		uint8_t rp[1 + SHA256_LEN] = { 'R' };
		memcpy(rp + 1, id, SHA256_LEN);
		index_batch_delete_prefix(b, rp, sizeof(rp));
		chunkstore_delete(c->st->cs, b, id);
		chunks++;
	}
	if ((r = store_commit(c->st, b, 1, err)) < 0)
		goto out;
	for (size_t off = 0; off < ids.len; off += SHA256_LEN)
		chunkstore_unlink(c->st->cs, (const uint8_t *)ids.data + off);
	unlink_orphan_files(c, &files, &tmps, &bytes);
	if ((r = gc_memo(c, &memo, err)) < 0)
		goto out;
	index_compact(c->st->idx);
	r = chunkstore_recount(c->st->cs, err);
out:
	pthread_rwlock_unlock(&c->maint);
	if (r == 0) {
		*report = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "chunks_removed", (json_int_t)chunks,
				    "files_removed", (json_int_t)files, "temp_files_removed", (json_int_t)tmps,
				    "leftover_layers", (json_int_t)n_lids, "memo_results_removed", (json_int_t)memo,
				    "bytes_freed", (json_int_t)bytes, "store_size", (json_int_t)cache_store_size(c));
		log_info("gc: %llu chunks, %llu files, %llu temp files, %zu leftover layers, %llu memo results removed",
			 (unsigned long long)chunks, (unsigned long long)files, (unsigned long long)tmps, n_lids,
			 (unsigned long long)memo);
	}
	free(lids);
	buf_release(&ids);
	index_batch_free(b);
	return r;
}

/* --- verify ------------------------------------------------------------- */

/* The layers (diff_ids) that reference chunk id, added to layers (no repeats). */
static void layers_of_chunk(struct cache *c, const uint8_t *id, json_t *layers)
{
	uint8_t rp[1 + SHA256_LEN] = { 'R' };
	memcpy(rp + 1, id, SHA256_LEN);
	struct index_iter *ri = index_iter_new(c->st->idx, rp, sizeof(rp));
	const void *k, *v;
	size_t kl, vl;
	while (ri && index_iter_next(ri, &k, &kl, &v, &vl)) {
		if (kl != sizeof(rp) + 4)
			continue;
		uint8_t nk[5] = { 'N' };
		struct buf d = BUF_INIT;
		memcpy(nk + 1, (const uint8_t *)k + sizeof(rp), 4);
		if (index_get(c->st->idx, nk, sizeof(nk), &d, NULL) == 0) {
			size_t i;
			json_t *e;
			int have = 0;
			json_array_foreach(layers, i, e)
				have |= !strcmp(json_string_value(e), d.data);
			if (!have)
				json_array_append_new(layers, json_string(d.data));
		}
		buf_release(&d);
	}
	index_iter_free(ri);
}

struct image_hit {
	json_t *layers, *images;
};

static int image_uses(json_t *img, void *ctx)
{
	struct image_hit *h = ctx;
	size_t i, j;
	json_t *l, *bad;
	json_array_foreach(json_object_get(img, "layers"), i, l) {
		const char *d = json_string_value(json_object_get(l, "diff_id"));
		json_array_foreach(h->layers, j, bad)
			if (d && !strcmp(d, json_string_value(bad))) {
				json_t *names = json_object_get(img, "names");
				json_array_append(h->images, json_array_size(names) ? json_array_get(names, 0)
										   : json_object_get(img, "digest"));
				return 0;
			}
	}
	return 0;
}

int cache_verify(struct cache *c, int repair, json_t **report, struct strata_error *err)
{
	json_t *corrupt = json_array(), *missing = json_array(), *layers = json_array();
	struct buf bad = BUF_INIT, data = BUF_INIT;
	uint64_t checked = 0;
	int r = 0;

	if (repair)
		pthread_rwlock_wrlock(&c->maint);
	else
		pthread_rwlock_rdlock(&c->maint);
	/* Every chunk: present and hashing to its id. */
	struct index_iter *it = index_iter_new(c->st->idx, "K", 1);
	const void *k, *v;
	size_t kl, vl;
	while (it && index_iter_next(it, &k, &kl, &v, &vl)) {
		if (kl != 1 + SHA256_LEN)
			continue;
		const uint8_t *id = (const uint8_t *)k + 1;
		struct strata_error e2 = STRATA_ERROR_INIT;
		char ds[DIGEST_STR_MAX];
		checked++;
		int q = chunkstore_get(c->st->cs, id, &data, 1, &e2);
		if (q == 0)
			continue;
		digest_format(id, ds);
		json_array_append_new(strstr(e2.msg, "missing") ? missing : corrupt, json_string(ds));
		buf_add(&bad, id, SHA256_LEN);
		layers_of_chunk(c, id, layers);
	}
	index_iter_free(it);
	/* Every reference of every complete layer: its chunk has a record. */
	it = index_iter_new(c->st->idx, "P", 1);
	while (it && index_iter_next(it, &k, &kl, &v, &vl)) {
		int complete;
		if (kl != 5 + SHA256_LEN || !lid_known(c->st->idx, be32_get((const uint8_t *)k + 1), &complete) ||
		    !complete)
			continue;
		const uint8_t *id = (const uint8_t *)k + 5;
		struct chunk_info ci;
		if (chunkstore_stat(c->st->cs, id, &ci) == 0)
			continue;
		char ds[DIGEST_STR_MAX];
		digest_format(id, ds);
		json_array_append_new(missing, json_string(ds));
		buf_add(&bad, id, SHA256_LEN);
		layers_of_chunk(c, id, layers);
	}
	index_iter_free(it);

	struct image_hit hit = { layers, json_array() };
	catalog_each_image(c->st->idx, image_uses, &hit);
	int clean = json_array_size(corrupt) == 0 && json_array_size(missing) == 0;
	pthread_mutex_lock(&c->lock);
	c->verify_runs++;
	c->verify_bad += json_array_size(corrupt) + json_array_size(missing);
	pthread_mutex_unlock(&c->lock);
	if (repair && !clean) {
		/* The layers go (so a pull fetches them again), then the bad chunks. */
		size_t i;
		json_t *d;
		uint64_t freed = 0;
		json_array_foreach(layers, i, d) {
			struct layer_record rec;
			if (r == 0 && catalog_get_layer(c->st->idx, json_string_value(d), &rec, err) == 0 &&
			    catalog_layer_complete(&rec))
				r = evict_layer(c, &rec, &freed, err);
		}
		struct index_batch *b = index_batch_new();
		for (size_t off = 0; b && r == 0 && off < bad.len; off += SHA256_LEN)
			chunkstore_delete(c->st->cs, b, (const uint8_t *)bad.data + off);
		if (b && r == 0)
			r = store_commit(c->st, b, 1, err);
		for (size_t off = 0; r == 0 && off < bad.len; off += SHA256_LEN)
			chunkstore_unlink(c->st->cs, (const uint8_t *)bad.data + off);
		index_batch_free(b);
		log_warn("verify --repair: %zu bad chunks dropped, %zu layers evicted",
			 bad.len / SHA256_LEN, json_array_size(layers));
	}
	pthread_rwlock_unlock(&c->maint);
	buf_release(&bad);
	buf_release(&data);
	if (r < 0) {
		json_decref(corrupt);
		json_decref(missing);
		json_decref(layers);
		json_decref(hit.images);
		return r;
	}
	*report = json_pack("{s:I, s:o, s:o, s:o, s:o, s:b, s:b}", "chunks_checked", (json_int_t)checked,
			    "corrupt", corrupt, "missing", missing, "layers", layers, "images", hit.images,
			    "repaired", repair && !clean, "clean", clean);
	return 0;
}

/* --- reporting ---------------------------------------------------------- */

struct sums {
	uint64_t records, compressed, logical, content, stored;
};

static int sum_layer(const struct layer_record *l, void *ctx)
{
	struct sums *s = ctx;
	if (!catalog_layer_complete(l))
		return 0;
	s->records++;
	s->compressed += l->compressed_size;
	s->logical += l->size;
	s->content += l->content_bytes;
	s->stored += l->stored_bytes;
	return 0;
}

json_t *cache_stats(struct cache *c)
{
	struct sums s = { 0 };
	struct chunkstore_totals t;
	catalog_each_layer(c->st->idx, sum_layer, &s);
	chunkstore_get_totals(c->st->cs, &t);
	uint64_t index_bytes = index_disk_size(c->st->idx);
	pthread_mutex_lock(&c->lock);
	json_t *o = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f, s:f, s:I, s:I, s:I, s:I}",
			      "cache_hits", (json_int_t)c->hits, "cache_misses", (json_int_t)c->misses,
			      "record_count", (json_int_t)s.records,
			      "record_total_size", (json_int_t)s.compressed,
			      "chunk_count", (json_int_t)t.chunks, "logical_bytes", (json_int_t)s.logical,
			      "content_bytes", (json_int_t)s.content, "unique_bytes", (json_int_t)t.ulen,
			      "stored_bytes", (json_int_t)store_size_with(c, &t, index_bytes),
			      "chunk_file_bytes", (json_int_t)t.file_bytes,
			      "dedup_ratio", t.ulen ? (double)s.content / (double)t.ulen : 1.0,
			      "compression_ratio",
			      t.file_bytes + t.inline_bytes ? (double)t.ulen / (double)(t.file_bytes + t.inline_bytes) : 1.0,
			      "budget", (json_int_t)c->st->conf->cache_max_size,
			      "evictions", (json_int_t)c->evictions, "bytes_evicted", (json_int_t)c->bytes_evicted,
			      "index_bytes", (json_int_t)index_bytes);
	json_object_set_new(o, "verify_runs", json_integer((json_int_t)c->verify_runs));
	json_object_set_new(o, "verify_bad_chunks", json_integer((json_int_t)c->verify_bad));
	pthread_mutex_unlock(&c->lock);
	return o;
}

struct ls_ctx {
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
	json_array_append_new(x->out, json_pack("{s:s, s:I, s:I, s:I, s:o, s:s, s:o}",
		"layer_id", l->diff_id, "size", (json_int_t)l->size,
		"stored_size", (json_int_t)(catalog_layer_complete(l) ? l->stored_bytes : 0),
		"reference_count", (json_int_t)json_array_size(users),
		"last_referred", imageinfo_time(l->last_used),
		"state", catalog_layer_complete(l) ? "complete" : "evicted",
		"images", users ? json_incref(users) : json_array()));
	return 0;
}

json_t *cache_layers(struct cache *c)
{
	struct ls_ctx x = { json_array(), json_object() };
	catalog_each_layer_user(c->st->idx, note_user, &x);
	catalog_each_layer(c->st->idx, ls_layer, &x);
	json_decref(x.users);
	return x.out;
}

int cache_stats_prometheus(struct cache *c, struct buf *out)
{
	static const struct {
		const char *key, *name, *type, *help;
	} m[] = {
		{ "cache_hits", "strata_cache_layer_hits_total", "counter", "Layers a pull or mount found stored." },
		{ "cache_misses", "strata_cache_layer_misses_total", "counter", "Layers a pull or mount had to fetch." },
		{ "record_count", "strata_cache_layers", "gauge", "Layers whose content is stored." },
		{ "record_total_size", "strata_cache_layers_compressed_bytes", "gauge", "Compressed size of the stored layers." },
		{ "chunk_count", "strata_cache_chunks", "gauge", "Distinct chunks stored." },
		{ "logical_bytes", "strata_cache_logical_bytes", "gauge", "Uncompressed size of the stored layers." },
		{ "stored_bytes", "strata_cache_store_bytes", "gauge", "Bytes the store takes on disk." },
		{ "budget", "strata_cache_budget_bytes", "gauge", "The store's budget (0: none)." },
		{ "evictions", "strata_cache_evictions_total", "counter", "Layers evicted." },
		{ "bytes_evicted", "strata_cache_evicted_bytes_total", "counter", "Bytes freed by evictions." },
		{ "verify_runs", "strata_cache_verify_runs_total", "counter", "cache verify runs since the daemon started." },
		{ "verify_bad_chunks", "strata_cache_verify_failures_total", "counter",
		  "Chunks cache verify found corrupt or missing, since the daemon started." },
		{ "dedup_ratio", "strata_cache_dedup_ratio", "gauge", "Content bytes per unique chunk byte." },
		{ "compression_ratio", "strata_cache_compression_ratio", "gauge", "Unique chunk bytes per stored chunk byte." },
	};
	json_t *s = cache_stats(c);
	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		json_t *v = json_object_get(s, m[i].key);
		buf_addf(out, "# HELP %s %s\n# TYPE %s %s\n", m[i].name, m[i].help, m[i].name, m[i].type);
		if (json_is_real(v))
			buf_addf(out, "%s %.4f\n", m[i].name, json_real_value(v));
		else
			buf_addf(out, "%s %lld\n", m[i].name, (long long)json_integer_value(v));
	}
	json_decref(s);
	return 0;
}
