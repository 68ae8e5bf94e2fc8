/* verify: see verify.h. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "cache.h"
#include "catalog.h"
#include "layers.h"
#include "src/base/log.h"
#include "verify.h"

struct verify {
	struct store *st;
	json_t *corrupt, *missing, *layers; /* chunk ids, chunk ids, diff_ids */
	struct buf bad;                     /* the bad chunks' ids, SHA256_LEN each */
	struct buf data;                    /* a chunk's bytes */
	uint64_t checked;
};

/* Adds diff_id to v->layers unless it is there. */
static int note_layer(const char *diff_id, void *ctx)
{
	struct verify *v = ctx;
	size_t i;
	json_t *e;
	json_array_foreach(v->layers, i, e)
		if (!strcmp(json_string_value(e), diff_id))
			return 0;
	json_array_append_new(v->layers, json_string(diff_id));
	return 0;
}

static void note_bad(struct verify *v, const uint8_t id[SHA256_LEN], json_t *list)
{
	char ds[DIGEST_STR_MAX];
	digest_format(id, ds);
	json_array_append_new(list, json_string(ds));
	buf_add(&v->bad, id, SHA256_LEN);
	layers_of_chunk(v->st->idx, id, note_layer, v);
}

/* A chunk: present and hashing to its id. */
static int check_chunk(const uint8_t id[SHA256_LEN], void *ctx)
{
	struct verify *v = ctx;
	struct strata_error e2 = STRATA_ERROR_INIT;
	v->checked++;
	if (chunkstore_get(v->st->cs, id, &v->data, CHUNKSTORE_VERIFY_ALWAYS, &e2) < 0)
		note_bad(v, id, strstr(e2.msg, "missing") ? v->missing : v->corrupt);
	return 0;
}

/* A chunk a complete layer references: it has a record. */
static int check_ref(const uint8_t id[SHA256_LEN], void *ctx)
{
	struct verify *v = ctx;
	struct chunk_info ci;
	if (chunkstore_stat(v->st->cs, id, &ci) < 0)
		note_bad(v, id, v->missing);
	return 0;
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

/* The layers go (so a pull fetches them again), then the bad chunks. */
static int repair(struct verify *v, struct strata_error *err)
{
	struct store *st = v->st;
	size_t i;
	json_t *d;
	uint64_t freed = 0;
	int r = 0;
	json_array_foreach(v->layers, i, d) {
		struct layer_record rec;
		if (r == 0 && layers_get(st->idx, json_string_value(d), &rec, err) == 0 && layers_complete(&rec))
			r = cache_evict(st->cache, &rec, &freed, err);
	}
	struct index_batch *b = index_batch_new();
	for (size_t off = 0; b && r == 0 && off < v->bad.len; off += SHA256_LEN)
		chunkstore_delete(st->cs, b, (const uint8_t *)v->bad.data + off);
	if (b && r == 0)
		r = storedir_commit(st->sd, b, 1, err);
	for (size_t off = 0; r == 0 && off < v->bad.len; off += SHA256_LEN)
		chunkstore_unlink(st->cs, (const uint8_t *)v->bad.data + off);
	index_batch_free(b);
	log_warn("verify --repair: %zu bad chunks dropped, %zu layers evicted", v->bad.len / SHA256_LEN,
		 json_array_size(v->layers));
	return r;
}

int verify_run(struct store *st, int repair_it, json_t **report, struct strata_error *err)
{
	struct verify v = { st, json_array(), json_array(), json_array(), BUF_INIT, BUF_INIT, 0 };
	int r = 0;

	if (repair_it)
		cache_exclusive_begin(st->cache);
	else
		cache_shared_begin(st->cache);
	chunkstore_each(st->cs, check_chunk, &v);
	layers_each_ref(st->idx, check_ref, &v);
	struct image_hit hit = { v.layers, json_array() };
	catalog_each_image(st->idx, image_uses, &hit);
	int clean = json_array_size(v.corrupt) == 0 && json_array_size(v.missing) == 0;
	cache_count_verify(st->cache, json_array_size(v.corrupt) + json_array_size(v.missing));
	if (repair_it && !clean)
		r = repair(&v, err);
	if (repair_it)
		cache_exclusive_end(st->cache);
	else
		cache_shared_end(st->cache);
	buf_release(&v.bad);
	buf_release(&v.data);
	if (r < 0) {
		json_decref(v.corrupt);
		json_decref(v.missing);
		json_decref(v.layers);
		json_decref(hit.images);
		return r;
	}
	*report = json_pack("{s:I, s:o, s:o, s:o, s:o, s:b, s:b}", "chunks_checked", (json_int_t)v.checked,
			    "corrupt", v.corrupt, "missing", v.missing, "layers", v.layers, "images", hit.images,
			    "repaired", repair_it && !clean, "clean", clean);
	return 0;
}
