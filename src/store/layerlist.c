/* layerlist: see layerlist.h. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "entry.h"
#include "layerlist.h"

/* Offsets into the listing's arena: a listing is smaller than the budget,
 * which stays under 4 GiB. */
struct ent {
	uint32_t name, nlen, rec, rlen;
};

struct dir {
	uint64_t hash;      /* 0: a free slot */
	uint32_t path, plen;
	uint32_t first, n;  /* its children in ents */
};

struct layerlist {
	uint32_t lid;
	size_t bytes;       /* the memory it takes, counted against the budget */
	char *arena;        /* directory paths, names and records */
	size_t alen, acap;
	struct ent *ents;
	size_t nents, ecap;
	struct dir *dirs;   /* open addressing by path hash; dcap a power of two */
	size_t ndirs, dcap;
	/* cache->lock */
	unsigned refs;      /* holders, the cache included while cached */
	struct layerlist *prev, *next; /* the cached ones, most recently used first */
};

/* Layers found larger than the whole budget, remembered so that every walk
 * of their images does not scan them again only to give up. */
#define TOO_LARGE_MAX 64

struct layerlist_cache {
	size_t budget;
	pthread_mutex_t lock;
	struct layerlist *head, *tail; /* lock */
	size_t bytes;                  /* lock: every live listing, cached or only in use */
	uint32_t too_large[TOO_LARGE_MAX]; /* lock: a ring of layer ids */
	unsigned n_too_large;          /* lock: how many were ever added */
};

static uint64_t path_hash(const char *s, size_t len)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < len; i++)
		h = (h ^ (uint8_t)s[i]) * 1099511628211ull;
	return h ? h : 1;
}

static void list_free(struct layerlist *l)
{
	if (!l)
		return;
	free(l->arena);
	free(l->ents);
	free(l->dirs);
	free(l);
}

/* --- building ------------------------------------------------------------ */

/* Appends len bytes to the arena: their offset, -EFBIG past cap bytes, or
 * -ENOMEM. */
static int64_t arena_add(struct layerlist *l, const void *p, size_t len, size_t cap)
{
	if (l->alen + len > cap)
		return -EFBIG;
	if (l->alen + len > l->acap) {
		size_t nc = l->acap ? l->acap * 2 : 4096;
		while (nc < l->alen + len)
			nc *= 2;
		char *na = realloc(l->arena, nc);
		if (!na)
			return -ENOMEM;
		l->arena = na;
		l->acap = nc;
	}
	memcpy(l->arena + l->alen, p, len);
	l->alen += len;
	return (int64_t)(l->alen - len);
}

static int ent_push(struct layerlist *l, struct ent e)
{
	if (l->nents == l->ecap) {
		size_t nc = l->ecap ? l->ecap * 2 : 64;
		struct ent *ne = realloc(l->ents, nc * sizeof(*ne));
		if (!ne)
			return -ENOMEM;
		l->ents = ne;
		l->ecap = nc;
	}
	l->ents[l->nents++] = e;
	return 0;
}

static int dir_push(struct layerlist *l, struct dir d)
{
	if (l->ndirs == l->dcap) {
		size_t nc = l->dcap ? l->dcap * 2 : 16;
		struct dir *nd = realloc(l->dirs, nc * sizeof(*nd));
		if (!nd)
			return -ENOMEM;
		l->dirs = nd;
		l->dcap = nc;
	}
	l->dirs[l->ndirs++] = d;
	return 0;
}

/* The directories, collected in key order, into a hash table. */
static int dirs_index(struct layerlist *l)
{
	size_t cap = 16;
	while (cap < l->ndirs * 2)
		cap *= 2;
	struct dir *t = calloc(cap, sizeof(*t));
	if (!t)
		return -ENOMEM;
	for (size_t i = 0; i < l->ndirs; i++) {
		size_t j = l->dirs[i].hash & (cap - 1);
		while (t[j].hash)
			j = (j + 1) & (cap - 1);
		t[j] = l->dirs[i];
	}
	free(l->dirs);
	l->dirs = t;
	l->dcap = cap;
	return 0;
}

/* One scan of the layer's records. A directory's children are contiguous in
 * the index ('E' lid parent '\0' name), so each parent starts one group. */
static int build(struct index *idx, uint32_t lid, size_t cap, struct layerlist **out,
		 struct strata_error *err)
{
	uint8_t prefix[ENTRY_LAYER_PREFIX_LEN];
	entry_layer_prefix(prefix, lid);
	struct layerlist *l = calloc(1, sizeof(*l));
	/* Never NULL, so that empty names and paths compare without fuss. */
	if (l && (l->arena = malloc(4096)))
		l->acap = 4096;
	struct index_iter *it = l && l->arena ? index_iter_new(idx, prefix, sizeof(prefix)) : NULL;
	const void *kp, *vp;
	size_t kl, vl;
	int r = it ? 0 : -ENOMEM;
	struct dir *cur = NULL;
	while (r == 0 && index_iter_next(it, &kp, &kl, &vp, &vl)) {
		const char *k = (const char *)kp + sizeof(prefix);
		size_t rest = kl - sizeof(prefix);
		const char *nul = memchr(k, 0, rest);
		if (!nul) {
			r = error_set(err, -EIO, "corrupt entry key in layer %u", lid);
			break;
		}
		size_t plen = (size_t)(nul - k);
		if (!cur || cur->plen != plen || memcmp(l->arena + cur->path, k, plen)) {
			int64_t off = arena_add(l, k, plen, cap);
			if (off < 0 || (off = dir_push(l, (struct dir){ path_hash(k, plen), (uint32_t)off,
									(uint32_t)plen, (uint32_t)l->nents, 0 })) < 0) {
				r = (int)off;
				break;
			}
			cur = &l->dirs[l->ndirs - 1];
		}
		int64_t name = arena_add(l, nul + 1, rest - plen - 1, cap);
		int64_t rec = name < 0 ? name : arena_add(l, vp, vl, cap);
		if (rec < 0) {
			r = (int)rec;
			break;
		}
		if (ent_push(l, (struct ent){ (uint32_t)name, (uint32_t)(rest - plen - 1), (uint32_t)rec, (uint32_t)vl }) < 0) {
			r = -ENOMEM;
			break;
		}
		cur->n++;
		if (l->acap + l->ecap * sizeof(struct ent) + l->dcap * sizeof(struct dir) > cap) {
			r = -EFBIG;
			break;
		}
	}
	index_iter_free(it);
	if (r == 0 && (r = dirs_index(l)) < 0)
		error_set(err, r, "out of memory");
	else if (r == -ENOMEM)
		error_set(err, r, "out of memory");
	if (r < 0) {
		list_free(l);
		return r;
	}
	l->lid = lid;
	l->bytes = sizeof(*l) + l->acap + l->ecap * sizeof(struct ent) + l->dcap * sizeof(struct dir);
	*out = l;
	return 0;
}

/* --- the cache ----------------------------------------------------------- */

struct layerlist_cache *layerlist_cache_new(size_t budget)
{
	struct layerlist_cache *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->budget = budget < UINT32_MAX ? budget : UINT32_MAX;
	pthread_mutex_init(&c->lock, NULL);
	return c;
}

static void unlink_locked(struct layerlist_cache *c, struct layerlist *l)
{
	if (l->prev)
		l->prev->next = l->next;
	else
		c->head = l->next;
	if (l->next)
		l->next->prev = l->prev;
	else
		c->tail = l->prev;
	l->prev = l->next = NULL;
}

static void push_front_locked(struct layerlist_cache *c, struct layerlist *l)
{
	l->prev = NULL;
	l->next = c->head;
	if (c->head)
		c->head->prev = l;
	else
		c->tail = l;
	c->head = l;
}

static void unref_locked(struct layerlist_cache *c, struct layerlist *l)
{
	if (--l->refs)
		return;
	c->bytes -= l->bytes;
	list_free(l);
}

static struct layerlist *find_locked(struct layerlist_cache *c, uint32_t lid)
{
	for (struct layerlist *l = c->head; l; l = l->next)
		if (l->lid == lid) {
			unlink_locked(c, l);
			push_front_locked(c, l);
			l->refs++;
			return l;
		}
	return NULL;
}

/* Drops cached listings nobody else holds, least recently used first, until
 * need more bytes fit: 1 when they do. */
static int make_room_locked(struct layerlist_cache *c, size_t need)
{
	for (struct layerlist *l = c->tail, *prev; l && c->bytes + need > c->budget; l = prev) {
		prev = l->prev;
		if (l->refs > 1)
			continue;
		unlink_locked(c, l);
		unref_locked(c, l);
	}
	return c->bytes + need <= c->budget;
}

void layerlist_cache_free(struct layerlist_cache *c)
{
	if (!c)
		return;
	while (c->head) {
		struct layerlist *l = c->head;
		unlink_locked(c, l);
		unref_locked(c, l);
	}
	pthread_mutex_destroy(&c->lock);
	free(c);
}

struct layerlist *layerlist_peek(struct layerlist_cache *c, uint32_t lid)
{
	pthread_mutex_lock(&c->lock);
	struct layerlist *l = find_locked(c, lid);
	pthread_mutex_unlock(&c->lock);
	return l;
}

/* The bytes a new listing may take: the budget less what the listings in
 * use hold (the others can go to make room). 0 for a layer known to be
 * too large. */
static size_t room_locked(struct layerlist_cache *c, uint32_t lid)
{
	size_t in_use = c->bytes;
	for (unsigned i = 0; i < c->n_too_large && i < TOO_LARGE_MAX; i++)
		if (c->too_large[i] == lid)
			return 0;
	for (struct layerlist *l = c->head; l; l = l->next)
		if (l->refs == 1)
			in_use -= l->bytes;
	return c->budget - in_use;
}

int layerlist_get(struct layerlist_cache *c, struct index *idx, uint32_t lid, struct layerlist **out,
		  struct strata_error *err)
{
	pthread_mutex_lock(&c->lock);
	size_t room = (*out = find_locked(c, lid)) ? 0 : room_locked(c, lid);
	pthread_mutex_unlock(&c->lock);
	if (*out)
		return 0;
	/* Built outside the lock: another view may build the same one meanwhile,
	 * and then the first one kept wins. */
	struct layerlist *l;
	int r = room ? build(idx, lid, room, &l, err) : -EFBIG;
	if (r == -EFBIG && room == c->budget) {
		pthread_mutex_lock(&c->lock);
		c->too_large[c->n_too_large++ % TOO_LARGE_MAX] = lid;
		pthread_mutex_unlock(&c->lock);
	}
	if (r < 0)
		return r;
	pthread_mutex_lock(&c->lock);
	struct layerlist *have = find_locked(c, lid);
	if (!have && !make_room_locked(c, l->bytes))
		r = -EFBIG;
	if (!have && r == 0) {
		l->refs = 2;
		c->bytes += l->bytes;
		push_front_locked(c, l);
		have = l;
		l = NULL;
	}
	pthread_mutex_unlock(&c->lock);
	list_free(l);
	*out = have;
	return r;
}

void layerlist_release(struct layerlist_cache *c, struct layerlist *l)
{
	if (!l)
		return;
	pthread_mutex_lock(&c->lock);
	unref_locked(c, l);
	pthread_mutex_unlock(&c->lock);
}

/* --- reading ------------------------------------------------------------- */

size_t layerlist_dir(const struct layerlist *l, const char *dir, size_t dlen, size_t *first)
{
	uint64_t h = path_hash(dir, dlen);
	for (size_t j = h & (l->dcap - 1); l->dirs[j].hash; j = (j + 1) & (l->dcap - 1)) {
		const struct dir *d = &l->dirs[j];
		if (d->hash == h && d->plen == dlen && !memcmp(l->arena + d->path, dir, dlen)) {
			*first = d->first;
			return d->n;
		}
	}
	*first = 0;
	return 0;
}

void layerlist_entry(const struct layerlist *l, size_t i, const char **name, size_t *nlen, const void **rec,
		     size_t *rlen)
{
	const struct ent *e = &l->ents[i];
	*name = l->arena + e->name;
	*nlen = e->nlen;
	*rec = l->arena + e->rec;
	*rlen = e->rlen;
}

int layerlist_find(const struct layerlist *l, const char *dir, size_t dlen, const char *name, size_t nlen,
		   const void **rec, size_t *rlen)
{
	size_t first, n = layerlist_dir(l, dir, dlen, &first);
	size_t lo = first, hi = first + n;
	/* Bytewise, a name before any longer name it begins: the index's order. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct ent *e = &l->ents[mid];
		int c = memcmp(l->arena + e->name, name, e->nlen < nlen ? e->nlen : nlen);
		if (!c)
			c = e->nlen < nlen ? -1 : e->nlen > nlen;
		if (!c) {
			*rec = l->arena + e->rec;
			*rlen = e->rlen;
			return 0;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -ENOENT;
}
