/* chunkcache: decompressed chunks in memory, sharded by chunk id.
 *
 * Each shard has its own lock, hash table and LRU list, so readers of
 * different chunks rarely meet. The budget is global: every entry carries a
 * tick of its last use and eviction takes the oldest unused entry among the
 * shards' LRU tails, which is the global LRU order. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "src/base/buf.h"
#include "chunkcache.h"

#define NSHARDS 32
#define ENTRY_OVERHEAD 128 /* charged per entry besides its bytes */
#define EVICT_SCAN 16      /* busy entries skipped at a shard's tail before giving up on it */

enum centry_state { CE_LOADING, CE_READY, CE_FAILED };

struct centry {
	uint8_t id[SHA256_LEN];
	struct centry *hnext;              /* shard->lock */
	struct centry *prev, *next;        /* shard LRU, READY entries only; shard->lock */
	uint64_t tick;                     /* shard->lock */
	unsigned refs;                     /* shard->lock; the loader holds one while loading */
	enum centry_state state;           /* shard->lock */
	int in_table;                      /* shard->lock */
	int err_code;                      /* CE_FAILED; immutable once failed */
	char *err_msg;
	uint8_t *data;                     /* CE_READY: immutable while the entry lives */
	size_t len;
};

struct shard {
	pthread_mutex_t lock;
	pthread_cond_t loaded;             /* broadcast when a load ends */
	struct centry **buckets;           /* lock */
	size_t nbuckets, n;                /* lock */
	struct centry lru;                 /* sentinel: lru.next is the most recent; lock */
};

struct chunkcache {
	struct chunkstore *cs;
	size_t budget;
	int verify;
	atomic_uint_fast64_t bytes, entries, tick, hits, misses, evictions, direct;
	struct shard shards[NSHARDS];
};

static uint64_t id_hash(const uint8_t *id)
{
	uint64_t h;
	memcpy(&h, id + 8, sizeof(h)); /* a sha256 is uniform; id[0] picks the shard */
	return h;
}

static struct shard *shard_of(struct chunkcache *c, const uint8_t *id)
{
	return &c->shards[id[0] % NSHARDS];
}

static size_t cost(const struct centry *e)
{
	return e->len + ENTRY_OVERHEAD;
}

struct chunkcache *chunkcache_new(struct chunkstore *cs, size_t budget_bytes)
{
	struct chunkcache *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->cs = cs;
	c->budget = budget_bytes;
	c->verify = CHUNKSTORE_VERIFY_ALWAYS;
	for (int i = 0; i < NSHARDS; i++) {
		struct shard *s = &c->shards[i];
		pthread_mutex_init(&s->lock, NULL);
		pthread_cond_init(&s->loaded, NULL);
		s->lru.next = s->lru.prev = &s->lru;
		s->nbuckets = 64;
		s->buckets = calloc(s->nbuckets, sizeof(*s->buckets));
		if (!s->buckets) {
			chunkcache_free(c);
			return NULL;
		}
	}
	return c;
}

static void centry_free(struct centry *e)
{
	free(e->data);
	free(e->err_msg);
	free(e);
}

void chunkcache_free(struct chunkcache *c)
{
	if (!c)
		return;
	for (int i = 0; i < NSHARDS; i++) {
		struct shard *s = &c->shards[i];
		for (size_t b = 0; s->buckets && b < s->nbuckets; b++)
			for (struct centry *e = s->buckets[b], *next; e; e = next) {
				next = e->hnext;
				centry_free(e);
			}
		free(s->buckets);
		pthread_mutex_destroy(&s->lock);
		pthread_cond_destroy(&s->loaded);
	}
	free(c);
}

void chunkcache_set_verify(struct chunkcache *c, int verify)
{
	c->verify = verify;
}

/* --- one shard; every function here runs under s->lock ------------------- */

static struct centry *shard_find(struct shard *s, const uint8_t *id)
{
	for (struct centry *e = s->buckets[id_hash(id) & (s->nbuckets - 1)]; e; e = e->hnext)
		if (!memcmp(e->id, id, SHA256_LEN))
			return e;
	return NULL;
}

static void shard_grow(struct shard *s)
{
	size_t nb = s->nbuckets * 2;
	struct centry **b = calloc(nb, sizeof(*b));
	if (!b)
		return; /* longer chains, still correct */
	for (size_t i = 0; i < s->nbuckets; i++)
		for (struct centry *e = s->buckets[i], *next; e; e = next) {
			next = e->hnext;
			size_t j = id_hash(e->id) & (nb - 1);
			e->hnext = b[j];
			b[j] = e;
		}
	free(s->buckets);
	s->buckets = b;
	s->nbuckets = nb;
}

static void shard_insert(struct shard *s, struct centry *e)
{
	if (s->n + 1 > s->nbuckets * 2)
		shard_grow(s);
	size_t j = id_hash(e->id) & (s->nbuckets - 1);
	e->hnext = s->buckets[j];
	s->buckets[j] = e;
	e->in_table = 1;
	s->n++;
}

static void shard_remove(struct shard *s, struct centry *e)
{
	struct centry **pp = &s->buckets[id_hash(e->id) & (s->nbuckets - 1)];
	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	e->in_table = 0;
	s->n--;
}

static void lru_unlink(struct centry *e)
{
	e->prev->next = e->next;
	e->next->prev = e->prev;
	e->prev = e->next = NULL;
}

static void lru_push_front(struct shard *s, struct centry *e)
{
	e->next = s->lru.next;
	e->prev = &s->lru;
	s->lru.next->prev = e;
	s->lru.next = e;
}

/* The least recently used entry nobody is reading, if one is near the tail. */
static struct centry *shard_victim(struct shard *s)
{
	int scanned = 0;
	for (struct centry *e = s->lru.prev; e != &s->lru && scanned < EVICT_SCAN; e = e->prev, scanned++)
		if (e->refs == 0)
			return e;
	return NULL;
}

static void unref_locked(struct shard *s, struct centry *e)
{
	(void)s;
	if (--e->refs == 0 && !e->in_table)
		centry_free(e);
}

/* --- the cache ----------------------------------------------------------- */

static void evict(struct chunkcache *c)
{
	while (atomic_load_explicit(&c->bytes, memory_order_relaxed) > c->budget) {
		int best = -1;
		uint64_t best_tick = UINT64_MAX;
		for (int i = 0; i < NSHARDS; i++) {
			struct shard *s = &c->shards[i];
			pthread_mutex_lock(&s->lock);
			struct centry *e = shard_victim(s);
			if (e && e->tick < best_tick) {
				best_tick = e->tick;
				best = i;
			}
			pthread_mutex_unlock(&s->lock);
		}
		if (best < 0)
			return; /* everything is being read: the budget is exceeded only meanwhile */
		struct shard *s = &c->shards[best];
		pthread_mutex_lock(&s->lock);
		struct centry *e = shard_victim(s);
		if (e) {
			lru_unlink(e);
			shard_remove(s, e);
			atomic_fetch_sub(&c->bytes, cost(e));
			atomic_fetch_sub(&c->entries, 1);
			atomic_fetch_add_explicit(&c->evictions, 1, memory_order_relaxed);
			centry_free(e);
		}
		pthread_mutex_unlock(&s->lock);
	}
}

/* Loads e (held by the caller, state LOADING) outside the lock. */
static void load(struct chunkcache *c, struct shard *s, struct centry *e, uint32_t len)
{
	struct strata_error lerr = STRATA_ERROR_INIT;
	struct buf b = BUF_INIT;
	int r = chunkstore_get(c->cs, e->id, &b, c->verify, &lerr);
	if (r == 0 && b.len != len) {
		char d[DIGEST_STR_MAX];
		digest_format(e->id, d);
		r = error_set(&lerr, -EIO, "chunk '%s' has %zu bytes where %u were expected", d, b.len, len);
	}
	pthread_mutex_lock(&s->lock);
	if (r == 0) {
		e->len = b.len;
		e->data = (uint8_t *)buf_detach(&b, NULL);
		e->state = CE_READY;
		e->tick = atomic_fetch_add_explicit(&c->tick, 1, memory_order_relaxed);
		lru_push_front(s, e);
		atomic_fetch_add(&c->bytes, cost(e));
		atomic_fetch_add(&c->entries, 1);
	} else {
		e->state = CE_FAILED;
		e->err_code = r;
		e->err_msg = strdup(lerr.msg[0] ? lerr.msg : "cannot load chunk");
		shard_remove(s, e); /* not remembered: the next reader retries */
	}
	pthread_cond_broadcast(&s->loaded);
	pthread_mutex_unlock(&s->lock);
	buf_release(&b);
}

int chunkcache_read(struct chunkcache *c, const uint8_t id[SHA256_LEN], uint32_t len,
		    uint64_t off_in_chunk, void *dst, size_t n, struct strata_error *err)
{
	if (off_in_chunk > len || n > len - off_in_chunk)
		return error_set(err, -EINVAL, "read of %zu bytes at %llu is outside a chunk of %u bytes",
				 n, (unsigned long long)off_in_chunk, len);
	struct shard *s = shard_of(c, id);
	pthread_mutex_lock(&s->lock);
	struct centry *e = shard_find(s, id);
	if (!e && c->verify == CHUNKSTORE_VERIFY_ONCE) {
		/* A raw chunk whose file was verified and has not changed is
		 * read from the file itself: the kernel's page cache is its
		 * cache, and its bytes are copied once, not three times into
		 * memory that is new to this process. */
		pthread_mutex_unlock(&s->lock);
		if (chunkstore_read_sealed(c->cs, id, len, off_in_chunk, dst, n) == 0) {
			atomic_fetch_add_explicit(&c->direct, 1, memory_order_relaxed);
			return 0;
		}
		pthread_mutex_lock(&s->lock);
		e = shard_find(s, id);
	}
	if (e) {
		e->refs++;
		while (e->state == CE_LOADING)
			pthread_cond_wait(&s->loaded, &s->lock);
		if (e->state == CE_READY) {
			e->tick = atomic_fetch_add_explicit(&c->tick, 1, memory_order_relaxed);
			lru_unlink(e);
			lru_push_front(s, e);
		}
		pthread_mutex_unlock(&s->lock);
		atomic_fetch_add_explicit(&c->hits, 1, memory_order_relaxed);
	} else {
		e = calloc(1, sizeof(*e));
		if (!e) {
			pthread_mutex_unlock(&s->lock);
			return error_set(err, -ENOMEM, "out of memory");
		}
		memcpy(e->id, id, SHA256_LEN);
		e->state = CE_LOADING;
		e->refs = 1;
		shard_insert(s, e);
		pthread_mutex_unlock(&s->lock);
		atomic_fetch_add_explicit(&c->misses, 1, memory_order_relaxed);
		load(c, s, e, len);
	}

	int r = 0;
	/* state and data no longer change while we hold a reference */
	if (e->state == CE_FAILED)
		r = error_set(err, e->err_code, "%s", e->err_msg ? e->err_msg : "cannot load chunk");
	else if (e->len != len)
		r = error_set(err, -EIO, "chunk read with length %u but it has %zu bytes", len, e->len);
	else
		memcpy(dst, e->data + off_in_chunk, n);

	pthread_mutex_lock(&s->lock);
	unref_locked(s, e);
	pthread_mutex_unlock(&s->lock);
	if (atomic_load_explicit(&c->bytes, memory_order_relaxed) > c->budget)
		evict(c);
	return r;
}

void chunkcache_prefetch(struct chunkcache *c, const uint8_t id[SHA256_LEN])
{
	struct shard *s = shard_of(c, id);
	pthread_mutex_lock(&s->lock);
	int cached = shard_find(s, id) != NULL;
	pthread_mutex_unlock(&s->lock);
	if (!cached)
		chunkstore_prefetch(c->cs, id);
}

void chunkcache_get_stats(struct chunkcache *c, struct chunkcache_stats *out)
{
	out->hits = atomic_load(&c->hits);
	out->misses = atomic_load(&c->misses);
	out->evictions = atomic_load(&c->evictions);
	out->direct = atomic_load(&c->direct);
	out->bytes = atomic_load(&c->bytes);
	out->entries = atomic_load(&c->entries);
}
