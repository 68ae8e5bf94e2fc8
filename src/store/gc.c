/* gc: see gc.h. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "gc.h"
#include "layers.h"
#include "memo.h"
#include "src/base/log.h"

struct unreferenced {
	struct index *idx;
	struct buf ids;   /* SHA256_LEN each */
};

static int note_unreferenced(const uint8_t id[SHA256_LEN], void *ctx)
{
	struct unreferenced *u = ctx;
	return layers_chunk_used(u->idx, id, 1) ? 0 : buf_add(&u->ids, id, SHA256_LEN);
}

/* Removes the chunks in ids: their records and stale references durably,
 * then their files. *bytes: what they took on disk. */
static int remove_chunks(struct store *st, const struct buf *ids, uint64_t *bytes, struct strata_error *err)
{
	struct index_batch *b = index_batch_new();
	if (!b)
		return error_set(err, -ENOMEM, "out of memory");
	for (size_t off = 0; off < ids->len; off += SHA256_LEN) {
		const uint8_t *id = (const uint8_t *)ids->data + off;
		struct chunk_info ci;
		if (chunkstore_stat(st->cs, id, &ci) == 0)
			*bytes += chunk_disk_bytes(&ci);
		layers_forget_chunk(b, id);
		chunkstore_delete(st->cs, b, id);
	}
	int r = storedir_commit(st->sd, b, 1, err);
	index_batch_free(b);
	for (size_t off = 0; r == 0 && off < ids->len; off += SHA256_LEN)
		chunkstore_unlink(st->cs, (const uint8_t *)ids->data + off);
	return r;
}

int gc_run(struct store *st, json_t **report, struct strata_error *err)
{
	uint32_t *lids = NULL;
	size_t n_lids = 0;
	uint64_t bytes = 0, memo = 0;
	struct chunkstore_orphans orphans = { 0 };
	struct unreferenced u = { st->idx, BUF_INIT };
	int r;

	cache_exclusive_begin(st->cache);
	if ((r = layers_leftovers(st->idx, &lids, &n_lids)) < 0) {
		r = error_set(err, r, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n_lids; i++)
		if ((r = layers_drop(st->sd, lids[i], 0, NULL, err)) < 0)
			goto out;
	/* The chunks no complete layer references. */
	if ((r = chunkstore_each(st->cs, note_unreferenced, &u)) < 0) {
		r = error_set(err, r, "out of memory");
		goto out;
	}
	if ((r = remove_chunks(st, &u.ids, &bytes, err)) < 0)
		goto out;
	int q = chunkstore_remove_orphans(st->cs, &orphans);
	if (q < 0)
		log_warn("gc: cannot read the chunk directory of '%s': %s", st->dir, strerror(-q));
	bytes += orphans.bytes;
	if ((r = memo_gc(st, &memo, err)) < 0)
		goto out;
	index_compact(st->idx);
	r = chunkstore_recount(st->cs, err);
out:
	cache_exclusive_end(st->cache);
	if (r == 0) {
		uint64_t chunks = u.ids.len / SHA256_LEN;
		*report = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "chunks_removed", (json_int_t)chunks,
				    "files_removed", (json_int_t)orphans.files, "temp_files_removed",
				    (json_int_t)orphans.temp_files, "leftover_layers", (json_int_t)n_lids,
				    "memo_results_removed", (json_int_t)memo, "bytes_freed", (json_int_t)bytes,
				    "store_size", (json_int_t)cache_store_size(st->cache));
		log_info("gc: %llu chunks, %llu files, %llu temp files, %zu leftover layers, %llu memo results removed",
			 (unsigned long long)chunks, (unsigned long long)orphans.files,
			 (unsigned long long)orphans.temp_files, n_lids, (unsigned long long)memo);
	}
	free(lids);
	buf_release(&u.ids);
	return r;
}
