/* Unit tests: verify and gc over a store in a temp directory — a chunk
 * file corrupted and one removed are found, named with the layers and
 * images they break, and repaired; gc removes the leftovers of an ingest
 * that never committed, unreferenced chunks, orphan and temporary files,
 * and leaves a stored layer whole. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "src/store/cache.h"
#include "src/store/entry.h"
#include "src/store/gc.h"
#include "src/store/verify.h"
#include "src/view/imageview.h"
#include "storefix.h"
#include "tap.h"

#define BIG (300u << 10) /* several chunks, each a file of its own */

/* A layer of one big file and a small one; recorded as image i, "test/i:1". */
static void make_image(struct storefix *f, unsigned i, struct layer_record *rec)
{
	struct strata_error err = STRATA_ERROR_INIT;
	struct buf tar = BUF_INIT;
	uint8_t *data = malloc(BIG);
	char name[32], digest[DIGEST_STR_MAX];
	storefix_noise(data, BIG, i);
	struct tarw *t = tarw_new();
	tarw_file(t, "big", data, BIG, 0644);
	snprintf(name, sizeof(name), "small %u", i);
	tarw_text(t, "small", name);
	tarw_finish(t, &tar);
	is_int(storefix_ingest(f, &tar, rec, &err), 0, "layer %u ingests", i);
	storefix_digest(i, digest);
	snprintf(name, sizeof(name), "test/%u:1", i);
	is_int(storefix_put_image(f, digest, name, rec, 1), 0, "image %u is recorded", i);
	buf_release(&tar);
	free(data);
}

/* Chunk k of image i's file "big". */
static int chunk_of(struct storefix *f, unsigned i, unsigned k, uint8_t id[SHA256_LEN])
{
	struct strata_error err = STRATA_ERROR_INIT;
	struct imageview *v = NULL;
	struct iv_node root, n;
	char digest[DIGEST_STR_MAX];
	int r;
	storefix_digest(i, digest);
	if ((r = imageview_open(f->st, digest, &v, &err)) < 0)
		return r;
	iv_node_init(&n);
	if ((r = imageview_root(v, &root, &err)) == 0) {
		r = imageview_lookup(v, &root, "", "big", &n, &err);
		iv_node_release(&root);
	}
	if (r == 0 && k >= n.e.nchunks)
		r = -ERANGE;
	if (r == 0)
		memcpy(id, entry_chunk_id(&n.e, k), SHA256_LEN);
	iv_node_release(&n);
	imageview_free(v);
	return r;
}

static json_t *verify(struct storefix *f, int repair)
{
	struct strata_error err = STRATA_ERROR_INIT;
	json_t *report = NULL;
	int r = verify_run(f->st, repair, &report, &err);
	if (r < 0)
		printf("# verify: %s\n", err.msg);
	return report;
}

static int has(json_t *list, const char *s)
{
	size_t i;
	json_t *e;
	json_array_foreach(list, i, e)
		if (!strcmp(json_string_value(e), s))
			return 1;
	return 0;
}

static int64_t num(json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

static int exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

int main(void)
{
	struct storefix f;
	struct strata_error err = STRATA_ERROR_INIT;
	struct layer_record l[4];
	uint8_t bad1[SHA256_LEN], bad2[SHA256_LEN], keep[SHA256_LEN];
	char d1[DIGEST_STR_MAX], d2[DIGEST_STR_MAX];
	json_t *rep;

	if (storefix_init(&f) < 0 || storefix_open(&f, NULL) < 0) {
		printf("Bail out! cannot make a store\n");
		return 99;
	}
	for (unsigned i = 1; i <= 3; i++)
		make_image(&f, i, &l[i]);

	rep = verify(&f, 0);
	ok(json_is_true(json_object_get(rep, "clean")), "a fresh store verifies clean");
	int64_t checked = num(rep, "chunks_checked");
	ok(checked >= 9, "every chunk is checked (%lld)", (long long)checked);
	json_decref(rep);

	/* Damage: a byte of a chunk file of image 1 flipped, a chunk file of
	 * image 2 removed. */
	is_int(chunk_of(&f, 1, 0, bad1), 0, "a chunk of image 1");
	is_int(chunk_of(&f, 2, 1, bad2), 0, "a chunk of image 2");
	is_int(chunk_of(&f, 3, 0, keep), 0, "a chunk of image 3");
	char *p1 = chunkstore_path(f.st->cs, bad1), *p2 = chunkstore_path(f.st->cs, bad2);
	chmod(p1, 0644);
	int fd = open(p1, O_RDWR);
	char byte;
	ok(fd >= 0 && pread(fd, &byte, 1, 100) == 1, "read the chunk file");
	byte ^= 0x55;
	ok(pwrite(fd, &byte, 1, 100) == 1, "corrupt it");
	close(fd);
	is_int(unlink(p2), 0, "remove the other");
	digest_format(bad1, d1);
	digest_format(bad2, d2);

	rep = verify(&f, 0);
	ok(!json_is_true(json_object_get(rep, "clean")), "verify finds the damage");
	ok(has(json_object_get(rep, "corrupt"), d1), "the flipped chunk is corrupt");
	ok(has(json_object_get(rep, "missing"), d2), "the removed chunk is missing");
	is_int(json_array_size(json_object_get(rep, "corrupt")) + json_array_size(json_object_get(rep, "missing")), 2,
	       "nothing else is bad");
	ok(has(json_object_get(rep, "layers"), l[1].diff_id) && has(json_object_get(rep, "layers"), l[2].diff_id),
	   "both broken layers are named");
	ok(!has(json_object_get(rep, "layers"), l[3].diff_id), "the sound layer is not");
	ok(has(json_object_get(rep, "images"), "test/1:1") && has(json_object_get(rep, "images"), "test/2:1"),
	   "the images they break are named");
	ok(!json_is_true(json_object_get(rep, "repaired")), "nothing repaired without --repair");
	json_decref(rep);
	struct layer_record rec;
	ok(layers_get(f.st->idx, l[1].diff_id, &rec, NULL) == 0 && layers_complete(&rec), "layer 1 still complete");

	struct cache_stats s;
	cache_get_stats(f.st->cache, &s);
	is_int(s.verify_runs, 2, "stats: two verify runs");
	is_int(s.verify_bad_chunks, 2, "stats: two bad chunks");

	rep = verify(&f, 1);
	ok(json_is_true(json_object_get(rep, "repaired")), "verify --repair repairs");
	json_decref(rep);
	ok(layers_get(f.st->idx, l[1].diff_id, &rec, NULL) == 0 && !layers_complete(&rec),
	   "the broken layer 1 is evicted: a pull fetches it again");
	ok(layers_get(f.st->idx, l[2].diff_id, &rec, NULL) == 0 && !layers_complete(&rec), "so is layer 2");
	ok(layers_get(f.st->idx, l[3].diff_id, &rec, NULL) == 0 && layers_complete(&rec), "layer 3 stays");
	ok(!exists(p1), "the corrupt chunk file is gone");
	rep = verify(&f, 0);
	ok(json_is_true(json_object_get(rep, "clean")), "the store verifies clean after the repair");
	json_decref(rep);

	/* What crashes leave: the entries and references of a lid that never
	 * got its record; a layer marked evicted whose content was not dropped
	 * yet, with chunks only it references; a chunk file without a record;
	 * a write that never finished. */
	uint32_t lid;
	is_int(storedir_alloc_lid(f.st->sd, &lid, &err), 0, "a lid for the interrupted ingest");
	struct buf tar = BUF_INIT;
	uint8_t *data = malloc(BIG);
	storefix_noise(data, BIG, 99);
	struct tarw *t = tarw_new();
	tarw_file(t, "lost", data, BIG, 0644);
	tarw_finish(t, &tar);
	struct layer_record lost;
	is_int(storefix_ingest(&f, &tar, &lost, &err), 0, "a layer that a crash will leave half evicted");
	struct index_batch *b = index_batch_new();
	struct buf k = BUF_INIT, v = BUF_INIT;
	struct entry e = { .type = ENTRY_REG, .mode = 0644, .nlink = 1 };
	entry_key(&k, lid, "half", 4);
	entry_encode(&e, &v);
	index_batch_put(b, k.data, k.len, v.data, v.len);
	layers_add_ref(b, lid, keep);
	snprintf(lost.state, sizeof(lost.state), "evicted");
	layers_put(b, &lost);
	is_int(storedir_commit(f.st->sd, b, 1, &err), 0, "write what the crashes left");
	index_batch_free(b);
	buf_release(&k);
	buf_release(&v);
	buf_release(&tar);
	free(data);

	char orphan[512], tmp[512], hex[65];
	memset(hex, 'e', 64);
	hex[64] = 0;
	snprintf(orphan, sizeof(orphan), "%s/chunks/ee", f.conf.store);
	mkdir(orphan, 0755);
	snprintf(orphan, sizeof(orphan), "%s/chunks/ee/%s", f.conf.store, hex);
	snprintf(tmp, sizeof(tmp), "%s/chunks/ee/%s.1234.tmp", f.conf.store, hex);
	FILE *o1 = fopen(orphan, "w"), *o2 = fopen(tmp, "w");
	ok(o1 && o2 && fputs("junk", o1) >= 0 && fputs("junk", o2) >= 0, "an orphan chunk file and a temporary one");
	if (o1)
		fclose(o1);
	if (o2)
		fclose(o2);

	rep = NULL;
	is_int(gc_run(f.st, &rep, &err), 0, "gc");
	is_int(num(rep, "leftover_layers"), 2, "gc: the lid without a record and the half-evicted one are leftovers");
	ok(num(rep, "chunks_removed") >= 4, "gc: the chunks only the half-evicted layer had are removed (%lld)",
	   (long long)num(rep, "chunks_removed"));
	is_int(num(rep, "files_removed"), 1, "gc: the orphan file is removed");
	is_int(num(rep, "temp_files_removed"), 1, "gc: the temporary file is removed");
	ok(num(rep, "bytes_freed") > 0, "gc: bytes freed (%lld)", (long long)num(rep, "bytes_freed"));
	json_decref(rep);
	ok(!exists(orphan) && !exists(tmp), "both files are gone");
	struct chunk_info ci;
	char *pk = chunkstore_path(f.st->cs, keep);
	ok(chunkstore_stat(f.st->cs, keep, &ci) == 0 && exists(pk), "a chunk the stored layer 3 references stays");
	free(pk);
	uint32_t *lids = NULL;
	size_t n_lids = 9;
	is_int(layers_leftovers(f.st->idx, &lids, &n_lids), 0, "look for leftovers again");
	is_int(n_lids, 0, "none are left");
	free(lids);
	rep = verify(&f, 0);
	ok(json_is_true(json_object_get(rep, "clean")), "the store verifies clean after gc");
	json_decref(rep);

	rep = NULL;
	is_int(gc_run(f.st, &rep, &err), 0, "gc again");
	is_int(num(rep, "chunks_removed") + num(rep, "files_removed") + num(rep, "leftover_layers"), 0,
	       "finds nothing more");
	json_decref(rep);

	free(p1);
	free(p2);
	storefix_release(&f);
	return tap_done();
}
