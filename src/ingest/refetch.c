/* refetch: evicted chunks rebuilt from their layer's blob by Range
 * (refetch.h). */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt.h"
#include "span.h"
#include "refetch.h"
#include "src/base/log.h"
#include "src/base/util.h"
#include "src/registry/ref.h"
#include "src/registry/source.h"
#include "src/store/cache.h"
#include "src/store/catalog.h"
#include "src/store/layers.h"
#include "src/store/chunkstore.h"

/* A span longer than this (a single-frame zstd layer, a layer of one huge
 * member without block boundaries) is decoded only as far as the chunk. */
#define SPAN_KEEP_MAX (16u << 20)
#define WINDOW_MAX (32u << 10)
/* Uncompressed bytes fetched ahead of a sequential reader, at least: the
 * spans of an eStargz layer are its files, most of them small, and one
 * request per file would make reading a tree a request per file. */
#define AHEAD_BYTES (1u << 20)
/* A piece of a chunk longer than this is not kept (see struct piece). */
#define PIECE_MAX (4u << 20)

/* A chunk of a layer, where it lies in the uncompressed stream. */
struct located {
	uint8_t id[SHA256_LEN];
	uint64_t off;
	uint32_t len;
};

/* The decoded bytes [from, to) of a chunk that straddles a checkpoint,
 * the part a span that ends or starts there holds: its tail (from the
 * chunk's start to the checkpoint) or its head (from the checkpoint to the
 * chunk's end). The span on the other side of the checkpoint takes them and
 * stores the chunk instead of decoding the interval before or after it
 * again: a reader going forward or backward fetches each interval once.
 * Unverified bytes: they reach a caller only inside a chunk whose sha256
 * matched. */
struct piece {
	uint64_t off;             /* where the chunk starts */
	uint64_t from, to;
	uint8_t bytes[];
};

/* What a layer needs to be rebuilt; loaded once, kept until refetch_free. */
struct rlayer {
	uint32_t lid;
	char diff_id[DIGEST_STR_MAX];
	char blob_digest[DIGEST_STR_MAX];
	char media_type[128];
	struct descriptor blob;   /* points into the fields above */
	struct ckpt_table t;
	struct located *chunks;   /* by offset */
	size_t n;
	struct source *src;
	uint64_t last_end;        /* rf->lock: where the last span fetched ended */
	struct piece *tail, *head; /* rf->lock: the last spans', or NULL */
	struct rlayer *next;      /* rf->lock */
};

/* A span whose chunks a fetch stored: the first to go when another
 * fetch needs room (the budget drops what reads fetched longest ago, not
 * the whole layer). */
struct kept {
	uint32_t lid;
	uint64_t kstart, kend;
	struct kept *next;
};

/* One span being fetched; waiters hold references. */
struct flight {
	uint32_t lid;
	uint64_t kstart, kend;    /* the uncompressed bytes it will store */
	int done, rc, refs;       /* rf->lock */
	char msg[1024];
	struct flight *next;      /* rf->lock */
};

struct refetcher {
	struct store *st;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct rlayer *layers;    /* lock */
	struct flight *flights;   /* lock */
	int ahead_running;        /* lock: fetches ahead still running */
	int closing;              /* lock */
	/* Held from making room to the commit of what is stored, so that
	 * concurrent fetches do not each make room for themselves only and
	 * together pass the budget. Taken before the cache's maint lock. */
	pthread_mutex_t store_lock;
	struct kept *kept, *kept_last; /* store_lock: spans stored, oldest first */
	void (*room_hook)(void *ctx, uint64_t bytes);
	void *room_ctx;
	_Atomic uint64_t spans, bytes, chunks, failures, waits, ahead, latency_ns;
};

/* A span of a layer: decode [ustart, uend) from entry at (SIZE_MAX: the
 * layer is uncompressed), fetching the blob's bytes [cbeg, cend); keep
 * [kstart, kend) of it. With a tail, kstart is the tail's from and its
 * bytes come before ustart; with a head, kend is its to and its bytes come
 * after uend (the plan owns them). */
struct span_plan {
	size_t at;
	uint64_t ustart, uend, cbeg, cend, kstart, kend;
	struct piece *tail, *head;
};

int refetch_new(struct store *st, struct refetcher **out, struct strata_error *err)
{
	struct refetcher *rf = calloc(1, sizeof(*rf));
	*out = NULL;
	if (!rf)
		return error_set(err, -ENOMEM, "out of memory");
	rf->st = st;
	pthread_mutex_init(&rf->lock, NULL);
	pthread_cond_init(&rf->cond, NULL);
	pthread_mutex_init(&rf->store_lock, NULL);
	*out = rf;
	return 0;
}

static void rlayer_free(struct rlayer *l)
{
	if (!l)
		return;
	ckpt_table_release(&l->t);
	free(l->tail);
	free(l->head);
	free(l->chunks);
	source_free(l->src);
	free(l);
}

void refetch_free(struct refetcher *rf)
{
	if (!rf)
		return;
	pthread_mutex_lock(&rf->lock);
	rf->closing = 1;
	while (rf->ahead_running)
		pthread_cond_wait(&rf->cond, &rf->lock);
	pthread_mutex_unlock(&rf->lock);
	for (struct rlayer *l = rf->layers, *next; l; l = next) {
		next = l->next;
		rlayer_free(l);
	}
	for (struct kept *k = rf->kept, *next; k; k = next) {
		next = k->next;
		free(k);
	}
	pthread_mutex_destroy(&rf->lock);
	pthread_mutex_destroy(&rf->store_lock);
	pthread_cond_destroy(&rf->cond);
	free(rf);
}

void refetch_set_room_hook(struct refetcher *rf, void (*fn)(void *ctx, uint64_t bytes), void *ctx)
{
	rf->room_hook = fn;
	rf->room_ctx = ctx;
}

void refetch_get_stats(struct refetcher *rf, struct refetch_stats *out)
{
	out->spans = atomic_load(&rf->spans);
	out->bytes = atomic_load(&rf->bytes);
	out->chunks = atomic_load(&rf->chunks);
	out->failures = atomic_load(&rf->failures);
	out->waits = atomic_load(&rf->waits);
	out->ahead = atomic_load(&rf->ahead);
	out->latency_ns = atomic_load(&rf->latency_ns);
}

/* --- what a layer keeps -------------------------------------------------- */

static int load_table(struct index *idx, uint32_t lid, struct ckpt_table *t)
{
	struct buf v = BUF_INIT;
	int r = layers_get_checkpoints(idx, lid, &v);
	if (r == 0)
		r = ckpt_table_decode(v.data, v.len, t);
	buf_release(&v);
	return r;
}

struct user_source {
	struct store *st;
	struct source *src;
};

static int try_user(const char *name, void *ctx)
{
	struct user_source *u = ctx;
	struct image_ref ref;
	struct strata_error e = STRATA_ERROR_INIT;
	int found = 0;
	if (ref_parse(name, &ref, &e) == 0) {
		found = ref.transport == REF_DOCKER && source_open(&ref, u->st->conf, &u->src, &e) == 0;
		ref_release(&ref);
	}
	return found;
}

/* The source of the first image using diff_id that came from a registry. */
static int open_source(struct store *st, const char *diff_id, struct source **out)
{
	struct user_source u = { st, NULL };
	int r = catalog_layer_users(st->idx, diff_id, try_user, &u);
	*out = u.src;
	return r > 0 ? 0 : r < 0 ? r : -ENOENT;
}

static int by_offset(const void *a, const void *b)
{
	const struct located *x = a, *y = b;
	return x->off < y->off ? -1 : x->off > y->off;
}

struct chunk_list {
	struct rlayer *l;
	size_t alloc;
};

static int add_chunk(const uint8_t id[SHA256_LEN], uint64_t off, uint32_t len, void *ctx)
{
	struct chunk_list *cl = ctx;
	struct rlayer *l = cl->l;
	if (l->n == cl->alloc) {
		size_t na = cl->alloc ? 2 * cl->alloc : 256;
		struct located *nc = realloc(l->chunks, na * sizeof(*nc));
		if (!nc)
			return -ENOMEM;
		l->chunks = nc;
		cl->alloc = na;
	}
	struct located *c = &l->chunks[l->n++];
	memcpy(c->id, id, SHA256_LEN);
	c->off = off;
	c->len = len;
	return 0;
}

static int load_chunks(struct index *idx, struct rlayer *l)
{
	struct chunk_list cl = { l, 0 };
	int r = layers_each_place(idx, l->lid, add_chunk, &cl);
	if (r == 0 && l->n > 1)
		qsort(l->chunks, l->n, sizeof(*l->chunks), by_offset);
	return r;
}

static int load_layer(struct refetcher *rf, uint32_t lid, struct rlayer **out,
		      struct strata_error *err)
{
	struct rlayer *l = calloc(1, sizeof(*l));
	struct layer_record rec;
	int r;

	if (!l)
		return error_set(err, -ENOMEM, "out of memory");
	l->lid = lid;
	if ((r = layers_diff_id(rf->st->idx, lid, l->diff_id)) < 0) {
		error_set(err, r, "layer %u: no diff_id", (unsigned)lid);
		goto fail;
	}
	if ((r = layers_get(rf->st->idx, l->diff_id, &rec, err)) < 0)
		goto fail;
	if ((r = load_table(rf->st->idx, lid, &l->t)) < 0) {
		error_set(err, r, "layer '%s' keeps no checkpoints", l->diff_id);
		goto fail;
	}
	if (!rec.blob_digest[0] || (r = open_source(rf->st, l->diff_id, &l->src)) < 0) {
		r = error_set(err, -ENOENT, "layer '%s' came from no registry", l->diff_id);
		goto fail;
	}
	if ((r = load_chunks(rf->st->idx, l)) < 0) {
		error_set(err, r, "out of memory");
		goto fail;
	}
	snprintf(l->blob_digest, sizeof(l->blob_digest), "%s", rec.blob_digest);
	snprintf(l->media_type, sizeof(l->media_type), "%s", rec.media_type);
	l->blob.digest = l->blob_digest;
	l->blob.media_type = l->media_type;
	l->blob.size = (int64_t)rec.compressed_size;
	*out = l;
	return 0;
fail:
	rlayer_free(l);
	return r;
}

static struct rlayer *get_layer(struct refetcher *rf, uint32_t lid, struct strata_error *err)
{
	struct rlayer *l, *fresh = NULL;

	pthread_mutex_lock(&rf->lock);
	for (l = rf->layers; l && l->lid != lid; l = l->next)
		;
	pthread_mutex_unlock(&rf->lock);
	if (l)
		return l;
	if (load_layer(rf, lid, &fresh, err) < 0)
		return NULL;
	pthread_mutex_lock(&rf->lock);
	for (l = rf->layers; l && l->lid != lid; l = l->next)
		;
	if (!l) {
		fresh->next = rf->layers;
		rf->layers = l = fresh;
		fresh = NULL;
	}
	pthread_mutex_unlock(&rf->lock);
	rlayer_free(fresh);
	return l;
}

int refetch_layer_possible(struct store *st, const char *diff_id, uint32_t lid)
{
	struct ckpt_table t = CKPT_TABLE_INIT;
	struct source *src = NULL;
	int ok = load_table(st->idx, lid, &t) == 0 && open_source(st, diff_id, &src) == 0;
	ckpt_table_release(&t);
	source_free(src);
	return ok;
}

int refetch_keeps_map(void *ctx, const struct layer_record *l)
{
	struct store *st = ctx;
	struct ckpt_table t = CKPT_TABLE_INIT;
	struct source *src = NULL;
	int ok = l->blob_digest[0] && load_table(st->idx, l->lid, &t) == 0 &&
		 /* One zstd frame: a chunk would cost the layer up to it. */
		 (t.kind != COMP_ZSTD || t.n > 1) && open_source(st, l->diff_id, &src) == 0;
	ckpt_table_release(&t);
	source_free(src);
	return ok;
}

/* --- spans ----------------------------------------------------------------- */

static int plan_span(const struct rlayer *l, uint64_t off, uint32_t len, struct span_plan *p)
{
	const struct ckpt_table *t = &l->t;
	int r = ckpt_table_span(t, off, len, &p->at, &p->cbeg, &p->cend);
	if (r < 0)
		return r;
	if (p->at == SIZE_MAX) {
		/* Uncompressed: interval-aligned spans. */
		uint64_t iv = t->interval ? t->interval : 4u << 20;
		p->ustart = off - off % iv;
		p->uend = (off + len + iv - 1) / iv * iv;
		if (p->uend > t->usize)
			p->uend = t->usize;
		p->cbeg = p->ustart;
		p->cend = p->uend;
	} else {
		p->ustart = t->e[p->at].uoff;
		p->uend = t->usize;
		for (size_t j = p->at + 1; j < t->n; j++)
			if (t->e[j].uoff >= off + len) {
				p->uend = t->e[j].uoff;
				break;
			}
	}
	p->kstart = p->ustart;
	p->kend = p->uend;
	p->tail = p->head = NULL;
	if (p->uend - p->ustart > SPAN_KEEP_MAX) {
		p->kstart = off;
		p->kend = off + len;
	}
	return 0;
}

/* The entry at uncompressed offset u, after entry from; SIZE_MAX: none. */
static size_t entry_at(const struct ckpt_table *t, size_t from, uint64_t u)
{
	for (size_t j = from; j < t->n && t->e[j].uoff <= u; j++)
		if (t->e[j].uoff == u)
			return j;
	return SIZE_MAX;
}

/* With rf->lock held: p, planned for [off, off + len), takes l's pieces
 * that go with it. The tail, when p starts at its checkpoint, or before it
 * for a chunk that starts in the tail (p then starts at the checkpoint);
 * the head, when p ends at its checkpoint, or after it for a chunk that
 * ends in the head (p then ends at the checkpoint). */
static void plan_take_pieces(struct rlayer *l, uint64_t off, uint32_t len, struct span_plan *p)
{
	struct piece *tl = l->tail, *hd = l->head;
	size_t j;

	if (p->at == SIZE_MAX || p->kstart != p->ustart || p->kend != p->uend)
		return;
	if (tl && p->uend > tl->to &&
	    (p->ustart == tl->to ||
	     (p->ustart < tl->to && off >= tl->from && off < tl->to &&
	      (j = entry_at(&l->t, p->at, tl->to)) != SIZE_MAX))) {
		if (p->ustart != tl->to) {
			p->at = j;
			p->ustart = tl->to;
			p->cbeg = l->t.e[j].cbit / 8;
		}
		p->kstart = tl->from;
		p->tail = tl;
		l->tail = NULL;
	}
	if (hd && p->ustart < hd->from && hd->off >= p->kstart &&
	    (p->uend == hd->from ||
	     (p->uend > hd->from && off + len > hd->from && off + len <= hd->to &&
	      (j = entry_at(&l->t, p->at, hd->from)) != SIZE_MAX))) {
		if (p->uend != hd->from) {
			p->uend = hd->from;
			p->cend = (l->t.e[j].cbit + 7) / 8;
		}
		p->kend = hd->to;
		p->head = hd;
		l->head = NULL;
	}
}

/* With rf->lock held: *slot is pc (may be NULL), replacing the one kept. */
static void keep_piece(struct piece **slot, struct piece *pc)
{
	free(*slot);
	*slot = pc;
}

static void plan_release(struct span_plan *p)
{
	free(p->tail);
	free(p->head);
}

/* The piece [from, to) of the chunk at off, out of ubuf, which holds
 * [kstart, ...); NULL when too big or out of memory. */
static struct piece *piece_new(const uint8_t *ubuf, uint64_t kstart, uint64_t off, uint64_t from,
			       uint64_t to)
{
	struct piece *pc = to - from <= PIECE_MAX ? malloc(sizeof(*pc) + (to - from)) : NULL;
	if (pc) {
		pc->off = off;
		pc->from = from;
		pc->to = to;
		memcpy(pc->bytes, ubuf + (from - kstart), to - from);
	}
	return pc;
}

static int load_window(struct store *st, uint32_t lid, size_t at, uint32_t wlen, uint8_t *w)
{
	struct buf v = BUF_INIT;
	int r = layers_get_window(st->idx, lid, (uint32_t)at, &v);
	if (r == 0)
		r = ckpt_window_unpack(v.data, v.len, w, wlen);
	buf_release(&v);
	return r;
}

/* With rf->store_lock held: room for need more bytes within the budget by
 * dropping the chunks of the spans stored longest ago. */
static void drop_kept(struct refetcher *rf, uint64_t need)
{
	uint64_t budget = rf->st->conf->cache_max_size;
	while (budget && rf->kept && cache_store_size(rf->st->cache) + need > budget) {
		struct kept *k = rf->kept;
		struct strata_error e = STRATA_ERROR_INIT;
		if (!(rf->kept = k->next))
			rf->kept_last = NULL;
		if (cache_evict_span(rf->st->cache, k->lid, k->kstart, k->kend, &e) < 0)
			log_warn("refetch: %s", e.msg);
		free(k);
	}
}

/* With rf->store_lock held: room for need more bytes within the budget,
 * first by drop_kept, then as the owner's hook does (cache_make_room:
 * complete layers, then whole mapped layers). */
static void make_room(struct refetcher *rf, uint64_t need)
{
	drop_kept(rf, need);
	if (rf->room_hook)
		rf->room_hook(rf->room_ctx, need);
}

/* With rf->store_lock held: p's span of lid is stored, the newest. */
static void note_kept(struct refetcher *rf, uint32_t lid, const struct span_plan *p)
{
	struct kept *k = calloc(1, sizeof(*k));
	if (!k)
		return; /* then only the budget's eviction of whole layers drops it */
	k->lid = lid;
	k->kstart = p->kstart;
	k->kend = p->kend;
	if (rf->kept_last)
		rf->kept_last->next = k;
	else
		rf->kept = k;
	rf->kept_last = k;
}

/* Fetches and decodes p's span of l; stores each chunk lying whole in what
 * is kept that matches its id. want (may be NULL) is a chunk whose bytes go
 * to out. */
static int fetch_span(struct refetcher *rf, struct rlayer *l, const struct span_plan *p,
		      const uint8_t *want, uint64_t want_off, uint32_t want_len, struct buf *out,
		      struct strata_error *err)
{
	struct buf cbuf = BUF_INIT;
	uint8_t *ubuf = NULL, window[WINDOW_MAX];
	struct span_start sp = { .kind = l->t.kind };
	struct index_batch *batch = NULL;
	struct chunk_writer *w = NULL;
	uint64_t t0 = now_ns(), stored_bytes = 0, got = 0;
	int r, found = 0, locked = 0, bad = 0;

	r = source_fetch_range(l->src, &l->blob, p->cbeg, p->cend - p->cbeg, &cbuf, err);
	if (r < 0) {
		r = err->code = -EIO; /* whatever the registry said, the read fails so */
		goto out;
	}
	atomic_fetch_add(&rf->bytes, cbuf.len);
	if (!(ubuf = malloc(p->kend - p->kstart ? p->kend - p->kstart : 1))) {
		r = error_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	if (p->tail)
		memcpy(ubuf, p->tail->bytes, p->tail->to - p->tail->from);
	if (p->head)
		memcpy(ubuf + (p->head->from - p->kstart), p->head->bytes, p->head->to - p->head->from);
	if (p->at == SIZE_MAX)
		r = span_decode(&sp, (const uint8_t *)cbuf.data, cbuf.len, 0, ubuf, p->kend - p->kstart, err);
	/* Each checkpoint's piece on its own, from its own start: an eStargz
	 * layer's checkpoints are gzip members whose stream is not the virtual
	 * one of its chunks (a member ends with the next entry's tar header). */
	uint64_t dend = p->head ? p->uend : p->kend; /* what is decoded ends there */
	for (size_t j = p->at; p->at != SIZE_MAX && r == 0 && j < l->t.n && l->t.e[j].uoff < dend; j++) {
		const struct ckpt_entry *e = &l->t.e[j];
		uint64_t next = j + 1 < l->t.n ? l->t.e[j + 1].uoff : l->t.usize;
		uint64_t from = e->uoff > p->kstart ? e->uoff : p->kstart, to = next < dend ? next : dend;
		uint64_t at = e->cbit / 8 - p->cbeg;
		if (to <= from)
			continue;
		sp.uoff = e->uoff;
		sp.cbit = e->cbit;
		sp.member = e->member;
		sp.wlen = e->wlen;
		sp.window = NULL;
		if (e->wlen) {
			if (load_window(rf->st, l->lid, j, e->wlen, window) < 0) {
				r = error_set(err, -EIO, "layer '%s': checkpoint %zu has no window", l->diff_id, j);
				goto out;
			}
			sp.window = window;
		}
		if (at > cbuf.len)
			r = error_set(err, -ENODATA, "compressed span ends before checkpoint %zu", j);
		else
			r = span_decode(&sp, (const uint8_t *)cbuf.data + at, cbuf.len - at, from - e->uoff,
					ubuf + (from - p->kstart), to - from, err);
	}
	if (r < 0) {
		error_prefix(err, "layer '%s': span at %llu: ", l->diff_id, (unsigned long long)p->ustart);
		r = err->code = -EIO;
		goto out;
	}
	if (!(batch = index_batch_new()) || !(w = chunk_writer_new(rf->st->cs))) {
		r = error_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	/* Room first (the budget holds while the chunks are written), then the
	 * chunks, with eviction held off: it must not drop a chunk between our
	 * look at the store and the commit of what we add. */
	/* What the span's chunks will take, about: stored compressed, they
	 * take about what the registry sent for them, a quarter more for
	 * block rounding. */
	pthread_mutex_lock(&rf->store_lock);
	make_room(rf, (p->cend - p->cbeg) / 4 * 5);
	cache_shared_begin(rf->st->cache);
	locked = 1;
	/* The chunks lying whole in the kept bytes: the first at or past kstart. */
	size_t lo = 0, hi = l->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (l->chunks[mid].off < p->kstart)
			lo = mid + 1;
		else
			hi = mid;
	}
	size_t i;
	for (i = lo; i < l->n && l->chunks[i].off + l->chunks[i].len <= p->kend; i++) {
		const struct located *c = &l->chunks[i];
		const uint8_t *bytes = ubuf + (c->off - p->kstart);
		uint8_t sum[SHA256_LEN];
		struct chunk_info ci;
		int is_want = want && !memcmp(c->id, want, SHA256_LEN) && c->off == want_off;
		if (!is_want && chunkstore_stat(rf->st->cs, c->id, &ci) == 0)
			continue;
		sha256_once(bytes, c->len, sum);
		if (memcmp(sum, c->id, SHA256_LEN)) {
			char hex[DIGEST_STR_MAX];
			digest_format(c->id, hex);
			if (is_want) {
				/* -ESTALE: a piece kept from another span may be what is wrong. */
				r = error_set(err, p->tail || p->head ? -ESTALE : -EIO,
					      "chunk '%s' rebuilt from blob '%s' does not match its id",
					      hex, l->blob_digest);
				goto out;
			}
			log_warn("refetch: chunk '%s' rebuilt from blob '%s' does not match its id; not stored",
				 hex, l->blob_digest);
			bad = 1;
			continue;
		}
		if (is_want) {
			buf_reset(out);
			if (buf_add(out, bytes, c->len) < 0) {
				r = error_set(err, -ENOMEM, "out of memory");
				goto out;
			}
			found = 1;
		}
		uint64_t stored = 0;
		if ((r = chunk_writer_put(w, batch, c->id, bytes, c->len, &stored, err)) < 0)
			goto out;
		stored_bytes += stored;
		got++;
	}
	if (want && !found && want_len && want_off >= p->kstart && want_off + want_len <= p->kend) {
		/* Not in the layer's list (a chunk of a sparse file's neighbour):
		 * cut it out by place all the same, verified. */
		uint8_t sum[SHA256_LEN];
		const uint8_t *bytes = ubuf + (want_off - p->kstart);
		sha256_once(bytes, want_len, sum);
		if (memcmp(sum, want, SHA256_LEN) == 0 && buf_add(out, bytes, want_len) == 0)
			found = 1;
	}
	if ((r = storedir_commit(rf->st->sd, batch, 0, err)) < 0)
		goto out;
	cache_shared_end(rf->st->cache);
	if (stored_bytes)
		note_kept(rf, l->lid, p);
	/* The room made was a guess (the span's compressed size): a span whose
	 * chunks were all new can take more. Back within the budget at once. */
	drop_kept(rf, 0);
	pthread_mutex_unlock(&rf->store_lock);
	locked = 0;
	/* The chunks across the checkpoints the span starts and ends at: their
	 * pieces here are for the spans on the other side (not from a span
	 * that came wrong). */
	if (p->at != SIZE_MAX && !bad) {
		const struct located *c = lo > 0 ? &l->chunks[lo - 1] : NULL;
		struct piece *hd = NULL, *tl = NULL;
		if (p->kstart == p->ustart && c && c->off + c->len > p->kstart && c->off + c->len <= p->kend)
			hd = piece_new(ubuf, p->kstart, c->off, p->kstart, c->off + c->len);
		c = i < l->n ? &l->chunks[i] : NULL;
		if (p->kend == p->uend && c && c->off >= p->kstart && c->off < p->kend && p->kend < l->t.usize)
			tl = piece_new(ubuf, p->kstart, c->off, c->off, p->kend);
		pthread_mutex_lock(&rf->lock);
		if (hd)
			keep_piece(&l->head, hd);
		if (tl)
			keep_piece(&l->tail, tl);
		pthread_mutex_unlock(&rf->lock);
	}
	atomic_fetch_add(&rf->spans, 1);
	atomic_fetch_add(&rf->chunks, got);
	atomic_fetch_add(&rf->latency_ns, now_ns() - t0);
	log_debug("refetch: layer '%s' bytes %llu-%llu of its blob: %llu chunks stored",
		  l->diff_id, (unsigned long long)p->cbeg, (unsigned long long)p->cend,
		  (unsigned long long)got);
	if (want && !found)
		r = error_set(err, -EIO, "layer '%s': the chunk is not where the layer says", l->diff_id);
out:
	if (locked) {
		cache_shared_end(rf->st->cache);
		pthread_mutex_unlock(&rf->store_lock);
	}
	if (r < 0)
		atomic_fetch_add(&rf->failures, 1);
	chunk_writer_free(w);
	index_batch_free(batch);
	free(ubuf);
	buf_release(&cbuf);
	return r;
}

/* --- one fetch per span ------------------------------------------------------ */

/* The fetch in flight that will store [off, end) of layer lid, or NULL. */
static struct flight *flight_find(struct refetcher *rf, uint32_t lid, uint64_t off, uint64_t end)
{
	for (struct flight *f = rf->flights; f; f = f->next)
		if (f->lid == lid && f->kstart <= off && end <= f->kend)
			return f;
	return NULL;
}

static void flight_unlink(struct refetcher *rf, struct flight *f)
{
	for (struct flight **pp = &rf->flights; *pp; pp = &(*pp)->next)
		if (*pp == f) {
			*pp = f->next;
			return;
		}
}

static void flight_put(struct flight *f)
{
	if (--f->refs == 0)
		free(f);
}

struct ahead {
	struct refetcher *rf;
	struct rlayer *l;
	struct span_plan p;
	struct flight *f;
};

static void *ahead_main(void *arg)
{
	struct ahead *a = arg;
	struct refetcher *rf = a->rf;
	struct strata_error err = STRATA_ERROR_INIT;
	int r = fetch_span(rf, a->l, &a->p, NULL, 0, 0, NULL, &err);
	plan_release(&a->p);
	if (r < 0)
		log_warn("refetch ahead: %s", err.msg);
	pthread_mutex_lock(&rf->lock);
	a->f->done = 1;
	a->f->rc = r;
	snprintf(a->f->msg, sizeof(a->f->msg), "%s", err.msg);
	flight_unlink(rf, a->f);
	flight_put(a->f);
	rf->ahead_running--;
	pthread_cond_broadcast(&rf->cond);
	pthread_mutex_unlock(&rf->lock);
	free(a);
	return NULL;
}

/* How much of l from off on to fetch ahead: up to AHEAD_BYTES of chunks
 * that are not stored, stopping at the first that is (a reader that went
 * through the part after this one before has it); 0: none. */
static uint64_t ahead_len(struct refetcher *rf, const struct rlayer *l, uint64_t off)
{
	size_t lo = 0, hi = l->n;
	uint64_t end = off;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (l->chunks[mid].off < off)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; i < l->n && end - off < AHEAD_BYTES; i++) {
		struct chunk_info ci;
		if (chunkstore_stat(rf->st->cs, l->chunks[i].id, &ci) == 0)
			break;
		end = l->chunks[i].off + l->chunks[i].len;
	}
	return end - off;
}

/* With rf->lock held: notes where l's reader is; 1 when it went from one
 * span to the next, so that the spans after p may be fetched ahead. */
static int ahead_wanted(struct refetcher *rf, struct rlayer *l, const struct span_plan *p)
{
	int sequential = l->last_end == p->ustart;
	l->last_end = p->uend;
	return sequential && !rf->closing && p->uend < l->t.usize && rf->ahead_running < 2;
}

/* Without rf->lock (ahead_len reads the chunk store): plans the fetch of
 * the spans after p (ahead_len) in one request; then, with the lock,
 * starts it in the background unless a fetch of them started meanwhile. */
static void start_ahead(struct refetcher *rf, struct rlayer *l, const struct span_plan *p)
{
	uint64_t want = ahead_len(rf, l, p->uend);
	struct span_plan next;
	struct ahead *a;
	pthread_t tid;
	pthread_attr_t attr;

	if (!want || plan_span(l, p->uend, (uint32_t)want, &next) < 0 || next.ustart != p->uend)
		return;
	if (!(a = calloc(1, sizeof(*a))) || !(a->f = calloc(1, sizeof(*a->f)))) {
		free(a);
		return;
	}
	a->rf = rf;
	a->l = l;
	a->p = next;
	a->f->lid = l->lid;
	a->f->refs = 1;
	pthread_mutex_lock(&rf->lock);
	if (rf->closing || rf->ahead_running >= 2 || flight_find(rf, l->lid, next.kstart, next.kstart + 1)) {
		pthread_mutex_unlock(&rf->lock);
		free(a->f);
		free(a);
		return;
	}
	/* The chunk across p's end (p's tail) comes with it: fetching ahead
	 * from p's end leaves nothing before it for the reader to fetch again. */
	plan_take_pieces(l, next.ustart, 0, &a->p);
	a->f->kstart = a->p.kstart;
	a->f->kend = a->p.kend;
	/* The reader's next miss past what comes ahead goes on in sequence. */
	l->last_end = next.uend;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&tid, &attr, ahead_main, a) != 0) {
		if (a->p.tail) /* back where they were */
			keep_piece(&l->tail, a->p.tail);
		if (a->p.head)
			keep_piece(&l->head, a->p.head);
		free(a->f);
		free(a);
	} else {
		a->f->next = rf->flights;
		rf->flights = a->f;
		rf->ahead_running++;
		atomic_fetch_add(&rf->ahead, 1);
	}
	pthread_attr_destroy(&attr);
	pthread_mutex_unlock(&rf->lock);
}

/* Rebuilds id from layer l, where it lies at off. */
static int from_layer(struct refetcher *rf, struct rlayer *l, const uint8_t *id, uint64_t off,
		      uint32_t len, struct buf *out, struct strata_error *err)
{
	struct span_plan p;
	struct flight *f;
	int r;

	if (plan_span(l, off, len, &p) < 0)
		return error_set(err, -EIO, "layer '%s': chunk at %llu lies past the layer's end",
				 l->diff_id, (unsigned long long)off);
	pthread_mutex_lock(&rf->lock);
	while ((f = flight_find(rf, l->lid, off, off + len))) {
		/* Another reader fetches this span: wait, then read what it stored. */
		f->refs++;
		atomic_fetch_add(&rf->waits, 1);
		while (!f->done)
			pthread_cond_wait(&rf->cond, &rf->lock);
		r = f->rc;
		if (r < 0)
			error_set(err, -EIO, "%s", f->msg);
		flight_put(f);
		pthread_mutex_unlock(&rf->lock);
		if (r < 0)
			return r;
		struct strata_error e = STRATA_ERROR_INIT;
		if (chunkstore_get(rf->st->cs, id, out, 1, &e) == 0)
			return 0;
		pthread_mutex_lock(&rf->lock); /* evicted meanwhile: fetch it ourselves */
	}
	if (!(f = calloc(1, sizeof(*f)))) {
		pthread_mutex_unlock(&rf->lock);
		return error_set(err, -ENOMEM, "out of memory");
	}
	plan_take_pieces(l, off, len, &p);
	f->lid = l->lid;
	f->kstart = p.kstart;
	f->kend = p.kend;
	f->refs = 1;
	f->next = rf->flights;
	rf->flights = f;
	pthread_mutex_unlock(&rf->lock);

	r = fetch_span(rf, l, &p, id, off, len, out, err);
	plan_release(&p);
	if (r == -ESTALE) {
		/* Once more from the blob alone. */
		error_clear(err);
		plan_span(l, off, len, &p);
		r = fetch_span(rf, l, &p, id, off, len, out, err);
	}

	pthread_mutex_lock(&rf->lock);
	f->done = 1;
	f->rc = r;
	snprintf(f->msg, sizeof(f->msg), "%s", err->msg);
	flight_unlink(rf, f);
	flight_put(f);
	int ahead = r == 0 && ahead_wanted(rf, l, &p);
	pthread_cond_broadcast(&rf->cond);
	pthread_mutex_unlock(&rf->lock);
	if (ahead)
		start_ahead(rf, l, &p);
	return r;
}

int refetch_chunk(struct refetcher *rf, const uint8_t id[SHA256_LEN], uint32_t len,
		  struct buf *out, struct strata_error *err)
{
	uint32_t lids[8];
	uint64_t offs[8];
	size_t n = 0;
	char hex[DIGEST_STR_MAX];
	struct strata_error last = STRATA_ERROR_INIT;
	int r = -ENOENT;

	if (layers_chunk_places(rf->st->idx, id, lids, offs, 8, &n) < 0)
		return error_set(err, -ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		struct rlayer *l = get_layer(rf, lids[i], &last);
		if (!l)
			continue;
		error_clear(&last);
		r = from_layer(rf, l, id, offs[i], len, out, &last);
		if (r == 0)
			return 0;
		log_warn("refetch: %s", last.msg);
	}
	digest_format(id, hex);
	if (r == -ENOENT)
		return error_set(err, -ENOENT, "chunk '%s' is in no layer that can fetch it again%s%s",
				 hex, last.msg[0] ? ": " : "", last.msg);
	return error_set(err, -EIO, "chunk '%s': %s", hex, last.msg);
}
