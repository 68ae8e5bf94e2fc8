/* Unit tests: the cache over a store in a temp directory — candidates in
 * least-recently-used order, pins and kept layers never evicted, the
 * budget enforced down to the low watermark, -ENOSPC when pinned content
 * alone is over it, one ingest per layer, the statistics; a layer whose
 * map is kept (cache_set_map_keeper) becomes mapped, and verify and gc
 * leave its map alone. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "src/base/util.h"
#include "src/store/cache.h"
#include "src/store/gc.h"
#include "src/store/verify.h"
#include "storefix.h"
#include "tap.h"

#define N_LAYERS 4
#define LAYER_BYTES (4u << 20) /* chunk files, not the index, are most of the store */

static void make_layer(struct storefix *f, unsigned i, struct layer_record *rec)
{
	struct strata_error err = STRATA_ERROR_INIT;
	struct buf tar = BUF_INIT;
	uint8_t *data = malloc(LAYER_BYTES);
	char name[32];
	storefix_noise(data, LAYER_BYTES, i + 1);
	snprintf(name, sizeof(name), "data%u", i);
	struct tarw *t = tarw_new();
	tarw_file(t, name, data, LAYER_BYTES, 0644);
	tarw_finish(t, &tar);
	int r = storefix_ingest(f, &tar, rec, &err);
	is_int(r, 0, "layer %u ingests%s%s", i, r ? ": " : "", r ? err.msg : "");
	buf_release(&tar);
	free(data);
}

/* Sets a layer's last use. */
static void set_used(struct storefix *f, struct layer_record *rec, int64_t when)
{
	struct index_batch *b = index_batch_new();
	rec->last_used = when;
	layers_put(b, rec);
	storedir_commit(f->st->sd, b, 1, NULL);
	index_batch_free(b);
}

static const char *state_of(struct storefix *f, const struct layer_record *l)
{
	static char s[16];
	struct layer_record rec;
	if (layers_get(f->st->idx, l->diff_id, &rec, NULL) < 0)
		return "gone";
	snprintf(s, sizeof(s), "%s", layers_complete(&rec) ? "complete" : "evicted");
	return s;
}

/* The layers a prune would evict, as letters ("ABD") in its order. */
static char *pruned(struct storefix *f, const struct layer_record *l, struct cache_prune_opts o)
{
	static char out[N_LAYERS + 1];
	struct strata_error err = STRATA_ERROR_INIT;
	json_t *report = NULL, *e;
	size_t i;
	out[0] = 0;
	o.dry_run = 1;
	if (cache_prune(f->st->cache, &o, &report, &err) < 0)
		return "(error)";
	json_array_foreach(json_object_get(report, "evicted"), i, e)
		for (unsigned k = 0; k < N_LAYERS; k++)
			if (!strcmp(json_string_value(json_object_get(e, "layer_id")), l[k].diff_id))
				snprintf(out + strlen(out), sizeof(out) - strlen(out), "%c", 'A' + k);
	json_decref(report);
	return out;
}

static int keep_all(void *ctx, const struct layer_record *l)
{
	(void)ctx;
	(void)l;
	return 1;
}

/* Another pull's claim on a layer this test claimed first. */
struct claimer {
	struct cache *c;
	const char *diff_id;
	int got;
	int done;
};

static void *claim_main(void *arg)
{
	struct claimer *cl = arg;
	cl->got = cache_claim_layer(cl->c, cl->diff_id);
	if (cl->got)
		cache_release_layer(cl->c, cl->diff_id);
	__atomic_store_n(&cl->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

int main(void)
{
	struct storefix f;
	struct strata_error err = STRATA_ERROR_INIT;
	struct layer_record l[N_LAYERS];
	struct cache_stats s;

	if (storefix_init(&f) < 0 || storefix_open(&f, NULL) < 0) {
		printf("Bail out! cannot make a store\n");
		return 99;
	}
	struct cache *c = f.st->cache;
	ok(c != NULL, "store_open builds the cache");
	for (unsigned i = 0; i < N_LAYERS; i++)
		make_layer(&f, i, &l[i]);
	/* A used longest ago, D last. */
	int64_t now = now_unix();
	for (unsigned i = 0; i < N_LAYERS; i++)
		set_used(&f, &l[i], now - 4000 + 1000 * (int64_t)i);

	cache_get_stats(c, &s);
	is_int(s.layers, N_LAYERS, "stats: every layer is stored");
	ok(s.store_bytes >= N_LAYERS * (uint64_t)LAYER_BYTES, "stats: the store holds the chunk files (%llu bytes)",
	   (unsigned long long)s.store_bytes);
	is_int(s.evictions, 0, "stats: nothing evicted yet");

	/* Candidates come least recently used first; a pinned layer is none. */
	cache_pin(c, l[2].diff_id);
	ok(cache_is_pinned(c, l[2].diff_id), "C is pinned");
	is_str(pruned(&f, l, (struct cache_prune_opts){ .all = 1 }), "ABD", "prune --all: LRU order, the pin skipped");
	is_str(pruned(&f, l, (struct cache_prune_opts){ .max_size = cache_store_size(c) - 1 }), "A",
	       "prune to one byte less: the least recently used layer alone");
	is_str(pruned(&f, l, (struct cache_prune_opts){ .older_than = 2500 }), "AB",
	       "prune --older-than: the layers unused for that long");
	is_str(state_of(&f, &l[0]), "complete", "a dry run evicts nothing");

	/* The budget: a MiB under the store (the index compacted first, so that
	 * only evictions can make room), B kept; down to 95% of it, A (the least
	 * recently used) alone is enough. */
	const char *keep[] = { l[1].diff_id };
	index_compact(f.st->idx);
	f.conf.cache_low_watermark = 95;
	f.conf.cache_max_size = cache_store_size(c) - (1u << 20);
	is_int(cache_enforce(c, keep, 1, &err), 0, "enforce the budget");
	ok(cache_store_size(c) <= f.conf.cache_max_size, "the store is within its budget");
	is_str(state_of(&f, &l[0]), "evicted", "the least recently used layer is evicted");
	is_str(state_of(&f, &l[1]), "complete", "a kept layer stays");
	is_str(state_of(&f, &l[2]), "complete", "a pinned layer stays");
	is_str(state_of(&f, &l[3]), "complete", "the most recently used layer stays");
	cache_get_stats(c, &s);
	is_int(s.evictions, 1, "stats: one eviction");
	ok(s.bytes_evicted >= LAYER_BYTES, "stats: its bytes freed (%llu)", (unsigned long long)s.bytes_evicted);
	is_int(s.layers, N_LAYERS - 1, "stats: one layer less stored");

	/* Pinned content alone over the budget: every other layer goes, the
	 * pinned one stays, and the caller hears why. */
	f.conf.cache_max_size = 1u << 20;
	int r = cache_enforce(c, NULL, 0, &err);
	is_int(r, -ENOSPC, "a budget the pinned layer alone exceeds");
	ok(strstr(err.msg, "cache budget 1.0 MiB exceeded") && strstr(err.msg, "pinned by live mounts"),
	   "the message says so: %s", err.msg);
	is_str(state_of(&f, &l[1]), "evicted", "the unpinned layers are evicted");
	is_str(state_of(&f, &l[3]), "evicted", "... all of them");
	is_str(state_of(&f, &l[2]), "complete", "the pinned layer is not");

	/* Unpinned, it goes like any other. */
	cache_unpin(c, l[2].diff_id);
	ok(!cache_is_pinned(c, l[2].diff_id), "C is unpinned");
	f.conf.cache_max_size = 0;
	json_t *report = NULL;
	is_int(cache_prune(c, &(struct cache_prune_opts){ .all = 1 }, &report, &err), 0, "prune --all");
	is_int(json_integer_value(json_object_get(report, "layers")), 1, "prune evicts the last layer");
	json_decref(report);
	is_str(state_of(&f, &l[2]), "evicted", "C is evicted now");
	cache_get_stats(c, &s);
	is_int(s.layers, 0, "stats: no layer stored");
	is_int(s.evictions, N_LAYERS, "stats: every layer counted as evicted once");
	json_t *ls = cache_layers(c);
	is_int(json_array_size(ls), N_LAYERS, "cache ls still lists the evicted layers");
	is_str(json_string_value(json_object_get(json_array_get(ls, 0), "state")), "evicted", "... as evicted");
	json_decref(ls);

	/* One ingest per layer: a second claim waits for the first, then is
	 * told the layer is there to look up. */
	is_int(cache_claim_layer(c, l[0].diff_id), 1, "the first claim is granted");
	struct claimer cl = { c, l[0].diff_id, -1, 0 };
	pthread_t tid;
	pthread_create(&tid, NULL, claim_main, &cl);
	usleep(100000);
	is_int(__atomic_load_n(&cl.done, __ATOMIC_ACQUIRE), 0, "a second claim of the same layer waits");
	cache_release_layer(c, l[0].diff_id);
	pthread_join(tid, NULL);
	is_int(cl.got, 0, "and is told to look the layer up again");
	is_int(cache_claim_layer(c, l[1].diff_id), 1, "another layer is claimed at once");
	cache_release_layer(c, l[1].diff_id);

	/* A layer whose chunks can come back keeps its map when evicted. */
	struct layer_record m;
	make_layer(&f, N_LAYERS, &m);
	cache_set_map_keeper(c, keep_all, NULL);
	uint64_t freed = 0, map_before = layers_map_bytes(f.st->idx, m.lid, NULL);
	is_int(cache_evict(c, &m, &freed, &err), 0, "evict a layer that keeps its map");
	ok(freed >= LAYER_BYTES, "its chunks are freed (%llu bytes)", (unsigned long long)freed);
	struct layer_record got;
	ok(layers_get(f.st->idx, m.diff_id, &got, NULL) == 0 && layers_mapped(&got), "its state is mapped");
	is_int(layers_map_bytes(f.st->idx, m.lid, NULL), map_before, "its map is whole (%llu bytes)",
	       (unsigned long long)map_before);
	is_int(layers_held_bytes(f.st->sd, m.lid), 0, "it holds no chunk");
	cache_get_stats(c, &s);
	is_int(s.mapped_layers, 1, "stats: one mapped layer");
	is_int(s.map_bytes, map_before, "stats: its map's bytes");
	json_t *rep = NULL;
	is_int(verify_run(f.st, 0, &rep, &err), 0, "verify");
	ok(json_is_true(json_object_get(rep, "clean")), "a map without its chunks is no damage");
	json_decref(rep);
	rep = NULL;
	is_int(gc_run(f.st, &rep, &err), 0, "gc");
	is_int(json_integer_value(json_object_get(rep, "leftover_layers")), 0, "gc finds no leftover in a map");
	json_decref(rep);
	is_int(layers_map_bytes(f.st->idx, m.lid, NULL), map_before, "the map is still whole");
	is_int(layers_remove(f.st->sd, &got, NULL, &err), 0, "remove the layer");
	is_int(layers_map_bytes(f.st->idx, m.lid, NULL), 0, "its map goes with it");

	storefix_release(&f);
	return tap_done();
}
