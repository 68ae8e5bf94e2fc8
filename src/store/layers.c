/* layers: layer records (binary), their chunk references, and the drop of
 * a layer's content. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "entry.h"
#include "layers.h"
#include "src/base/util.h"

#define LID_KEY_LEN 5                       /* 'N' lid */
#define REF_KEY_LEN (1 + SHA256_LEN + 4)    /* 'R' id lid, and 'P' lid id */

static void lid_key(uint8_t k[LID_KEY_LEN], uint32_t lid)
{
	k[0] = 'N';
	be32_put(k + 1, lid);
}

static void chunk_ref_key(uint8_t k[REF_KEY_LEN], const uint8_t id[SHA256_LEN], uint32_t lid)
{
	k[0] = 'R';
	memcpy(k + 1, id, SHA256_LEN);
	be32_put(k + 1 + SHA256_LEN, lid);
}

static void layer_ref_key(uint8_t k[REF_KEY_LEN], uint32_t lid, const uint8_t id[SHA256_LEN])
{
	k[0] = 'P';
	be32_put(k + 1, lid);
	memcpy(k + 5, id, SHA256_LEN);
}

/* --- records ------------------------------------------------------------- */

/* Layer records are binary: LAYER_FORMAT, four strings (varint length +
 * bytes), then eleven varints. `cache stats` and `cache ls` read every one
 * of them, and decoding this is two orders of magnitude cheaper than JSON.
 * Records written as JSON by earlier versions are still read. */
#define LAYER_FORMAT 0x01

static void put_str(struct buf *b, const char *s)
{
	size_t n = strlen(s);
	buf_add_varint(b, n);
	buf_add(b, s, n);
}

static int get_str(const uint8_t **p, const uint8_t *end, char *dst, size_t n)
{
	uint64_t len;
	if (varint_get(p, end, &len) < 0 || len > (uint64_t)(end - *p) || len >= n)
		return -EBADMSG;
	memcpy(dst, *p, len);
	dst[len] = 0;
	*p += len;
	return 0;
}

static int layer_encode(const struct layer_record *l, struct buf *b)
{
	buf_addch(b, LAYER_FORMAT);
	put_str(b, l->diff_id);
	put_str(b, l->blob_digest);
	put_str(b, l->media_type);
	put_str(b, l->state[0] ? l->state : "complete");
	const uint64_t v[] = { l->lid, l->compressed_size, l->size, l->entries, l->chunks, l->new_chunks,
			       l->stored_bytes, l->shared_bytes, l->content_bytes, (uint64_t)l->created,
			       (uint64_t)l->last_used };
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		buf_add_varint(b, v[i]);
	return b->data == buf_empty_ ? -ENOMEM : 0;
}

static int layer_decode(const uint8_t *p, size_t len, struct layer_record *l)
{
	const uint8_t *end = p + len;
	uint64_t v[11];
	memset(l, 0, sizeof(*l));
	if (!len || *p++ != LAYER_FORMAT)
		return -EBADMSG;
	if (get_str(&p, end, l->diff_id, sizeof(l->diff_id)) < 0 ||
	    get_str(&p, end, l->blob_digest, sizeof(l->blob_digest)) < 0 ||
	    get_str(&p, end, l->media_type, sizeof(l->media_type)) < 0 ||
	    get_str(&p, end, l->state, sizeof(l->state)) < 0)
		return -EBADMSG;
	for (size_t i = 0; i < 11; i++)
		if (varint_get(&p, end, &v[i]) < 0)
			return -EBADMSG;
	l->lid = (uint32_t)v[0];
	l->compressed_size = v[1];
	l->size = v[2];
	l->entries = v[3];
	l->chunks = v[4];
	l->new_chunks = v[5];
	l->stored_bytes = v[6];
	l->shared_bytes = v[7];
	l->content_bytes = v[8];
	l->created = (int64_t)v[9];
	l->last_used = (int64_t)v[10];
	return 0;
}

static void copy_str(char *dst, size_t n, json_t *obj, const char *field)
{
	const char *s = json_string_value(json_object_get(obj, field));
	snprintf(dst, n, "%s", s ? s : "");
}

static uint64_t get_u64(json_t *obj, const char *field)
{
	json_int_t v = json_integer_value(json_object_get(obj, field));
	return v < 0 ? 0 : (uint64_t)v;
}

static int layer_from_value(const char *text, size_t len, struct layer_record *l)
{
	if (len && text[0] != '{')
		return layer_decode((const uint8_t *)text, len, l);
	/* JSON, as written before LAYER_FORMAT */
	json_t *o = json_loadb(text, len, 0, NULL);
	if (!json_is_object(o)) {
		json_decref(o);
		return -EBADMSG;
	}
	memset(l, 0, sizeof(*l));
	copy_str(l->diff_id, sizeof(l->diff_id), o, "diff_id");
	copy_str(l->blob_digest, sizeof(l->blob_digest), o, "blob_digest");
	copy_str(l->media_type, sizeof(l->media_type), o, "media_type");
	l->lid = (uint32_t)get_u64(o, "lid");
	l->compressed_size = get_u64(o, "compressed_size");
	l->size = get_u64(o, "size");
	l->entries = get_u64(o, "entries");
	l->chunks = get_u64(o, "chunks");
	l->new_chunks = get_u64(o, "new_chunks");
	l->stored_bytes = get_u64(o, "stored_bytes");
	l->shared_bytes = get_u64(o, "shared_bytes");
	l->content_bytes = get_u64(o, "content_bytes");
	copy_str(l->state, sizeof(l->state), o, "state");
	l->created = (int64_t)get_u64(o, "created");
	l->last_used = (int64_t)get_u64(o, "last_used");
	json_decref(o);
	return 0;
}

int layers_complete(const struct layer_record *l)
{
	return !l->state[0] || !strcmp(l->state, "complete");
}

int layers_mapped(const struct layer_record *l)
{
	return !strcmp(l->state, "mapped");
}

int layers_get(struct index *idx, const char *diff_id, struct layer_record *out, struct strata_error *err)
{
	struct buf k = BUF_INIT, v = BUF_INIT;
	int r = index_str_key(&k, 'L', diff_id);
	if (r == 0)
		r = index_get(idx, k.data, k.len, &v, err);
	if (r == 0 && layer_from_value(v.data, v.len, out) < 0)
		r = error_set(err, -EBADMSG, "layer record '%s' is corrupt", diff_id);
	buf_release(&k);
	buf_release(&v);
	return r;
}

int layers_put(struct index_batch *b, const struct layer_record *l)
{
	struct buf k = BUF_INIT, v = BUF_INIT;
	int r = layer_encode(l, &v);
	if (r == 0 && (r = index_str_key(&k, 'L', l->diff_id)) == 0)
		index_batch_put(b, k.data, k.len, v.data, v.len);
	if (r == 0 && l->blob_digest[0] && (r = index_str_key(&k, 'B', l->blob_digest)) == 0)
		index_batch_put(b, k.data, k.len, l->diff_id, strlen(l->diff_id));
	if (r == 0) {
		uint8_t nk[LID_KEY_LEN];
		lid_key(nk, l->lid);
		index_batch_put(b, nk, sizeof(nk), l->diff_id, strlen(l->diff_id));
	}
	buf_release(&k);
	buf_release(&v);
	return r;
}

/* Removes the records of a layer (not its entries or chunks). */
static void delete_records(struct index_batch *b, const struct layer_record *l)
{
	struct buf k = BUF_INIT;
	if (index_str_key(&k, 'L', l->diff_id) == 0)
		index_batch_delete(b, k.data, k.len);
	if (l->blob_digest[0] && index_str_key(&k, 'B', l->blob_digest) == 0)
		index_batch_delete(b, k.data, k.len);
	uint8_t nk[LID_KEY_LEN];
	lid_key(nk, l->lid);
	index_batch_delete(b, nk, sizeof(nk));
	buf_release(&k);
}

int layers_for_blob(struct index *idx, const char *blob_digest, char diff_id[DIGEST_STR_MAX])
{
	return index_get_str_at(idx, 'B', blob_digest, diff_id, DIGEST_STR_MAX);
}

struct each_layer {
	int (*fn)(const struct layer_record *l, void *ctx);
	void *ctx;
};

static int each_layer_record(const void *k, size_t kl, const void *v, size_t vl, void *ctx)
{
	struct each_layer *e = ctx;
	struct layer_record l;
	(void)k, (void)kl;
	return layer_from_value(v, vl, &l) == 0 ? e->fn(&l, e->ctx) : 0;
}

int layers_each(struct index *idx, int (*fn)(const struct layer_record *l, void *ctx), void *ctx)
{
	struct each_layer e = { fn, ctx };
	return index_each(idx, "L", 1, each_layer_record, &e);
}

int layers_diff_id(struct index *idx, uint32_t lid, char diff_id[DIGEST_STR_MAX])
{
	uint8_t nk[LID_KEY_LEN];
	lid_key(nk, lid);
	return index_get_str(idx, nk, sizeof(nk), diff_id, DIGEST_STR_MAX);
}

/* 1 when lid is the lid of a layer record whose content is stored. */
/* 1 when lid is a layer's whose content is stored; mapped_too: or mapped
 * (its entries and references are its map, its chunks come on read). */
static int lid_has(struct index *idx, uint32_t lid, int mapped_too)
{
	char d[DIGEST_STR_MAX];
	struct layer_record rec;
	return layers_diff_id(idx, lid, d) == 0 && layers_get(idx, d, &rec, NULL) == 0 && rec.lid == lid &&
	       (layers_complete(&rec) || (mapped_too && layers_mapped(&rec)));
}

/* --- references ------------------------------------------------------------ */

void layers_add_ref(struct index_batch *b, uint32_t lid, const uint8_t id[SHA256_LEN])
{
	uint8_t rk[REF_KEY_LEN], pk[REF_KEY_LEN];
	chunk_ref_key(rk, id, lid);
	layer_ref_key(pk, lid, id);
	index_batch_put(b, rk, sizeof(rk), "", 0);
	index_batch_put(b, pk, sizeof(pk), "", 0);
}

void layers_add_ref_at(struct index_batch *b, uint32_t lid, const uint8_t id[SHA256_LEN], uint64_t uoff,
		       uint32_t len)
{
	uint8_t rk[REF_KEY_LEN], pk[REF_KEY_LEN], place[12];
	chunk_ref_key(rk, id, lid);
	layer_ref_key(pk, lid, id);
	/* R's value: where the chunk's bytes start, from which an evicted
	 * chunk is rebuilt; P's the same and the length, so that the chunks of
	 * one span of the layer are one prefix scan away. */
	be64_put(place, uoff);
	be32_put(place + 8, len);
	index_batch_put(b, rk, sizeof(rk), place, 8);
	index_batch_put(b, pk, sizeof(pk), place, sizeof(place));
}

/* Calls fn with the lid of every reference to chunk id; stops at fn's first
 * non-zero return (returned). */
struct each_lid {
	int (*fn)(uint32_t lid, void *ctx);
	void *ctx;
};

/* 'R' chunk lid: the lid at the end of the key. */
static int each_ref_lid(const void *k, size_t kl, const void *v, size_t vl, void *ctx)
{
	struct each_lid *e = ctx;
	(void)v, (void)vl;
	return kl == REF_KEY_LEN ? e->fn(be32_get((const uint8_t *)k + 1 + SHA256_LEN), e->ctx) : 0;
}

static int each_user(struct index *idx, const uint8_t id[SHA256_LEN], int (*fn)(uint32_t lid, void *ctx),
		     void *ctx)
{
	uint8_t rp[1 + SHA256_LEN] = { 'R' };
	struct each_lid e = { fn, ctx };
	memcpy(rp + 1, id, SHA256_LEN);
	return index_each(idx, rp, sizeof(rp), each_ref_lid, &e);
}

struct used {
	struct index *idx;
	int complete_only;
};

static int is_user(uint32_t lid, void *ctx)
{
	struct used *u = ctx;
	return !u->complete_only || lid_has(u->idx, lid, 1);
}

int layers_chunk_used(struct index *idx, const uint8_t id[SHA256_LEN], int complete_only)
{
	struct used u = { idx, complete_only };
	return each_user(idx, id, is_user, &u) != 0;
}

static int is_complete_user(uint32_t lid, void *ctx)
{
	return lid_has(ctx, lid, 0);
}

/* 1 when a complete layer references chunk id. */
static int chunk_in_complete(struct index *idx, const uint8_t id[SHA256_LEN])
{
	return each_user(idx, id, is_complete_user, idx) != 0;
}

int layers_each_place(struct index *idx, uint32_t lid,
		      int (*fn)(const uint8_t id[SHA256_LEN], uint64_t off, uint32_t len, void *ctx), void *ctx)
{
	uint8_t prefix[5] = { 'P' };
	be32_put(prefix + 1, lid);
	struct index_iter *it = index_iter_new(idx, prefix, sizeof(prefix));
	const void *k, *v;
	size_t kl, vl;
	int r = it ? 0 : -ENOMEM;
	while (r == 0 && index_iter_next(it, &k, &kl, &v, &vl))
		if (kl == REF_KEY_LEN && vl == 12)
			r = fn((const uint8_t *)k + sizeof(prefix), be64_get(v), be32_get((const uint8_t *)v + 8), ctx);
	index_iter_free(it);
	return r;
}

int layers_chunk_places(struct index *idx, const uint8_t id[SHA256_LEN], uint32_t *lids, uint64_t *offs,
			size_t max, size_t *n)
{
	uint8_t prefix[1 + SHA256_LEN] = { 'R' };
	memcpy(prefix + 1, id, SHA256_LEN);
	struct index_iter *it = index_iter_new(idx, prefix, sizeof(prefix));
	const void *k, *v;
	size_t kl, vl;
	*n = 0;
	if (!it)
		return -ENOMEM;
	while (*n < max && index_iter_next(it, &k, &kl, &v, &vl)) {
		if (kl != REF_KEY_LEN || vl != 8)
			continue;
		lids[*n] = be32_get((const uint8_t *)k + sizeof(prefix));
		offs[(*n)++] = be64_get(v);
	}
	index_iter_free(it);
	return 0;
}

struct named {
	struct index *idx;
	int (*fn)(const char *diff_id, void *ctx);
	void *ctx;
};

static int name_user(uint32_t lid, void *ctx)
{
	struct named *n = ctx;
	char d[DIGEST_STR_MAX];
	return layers_diff_id(n->idx, lid, d) == 0 ? n->fn(d, n->ctx) : 0;
}

int layers_of_chunk(struct index *idx, const uint8_t id[SHA256_LEN],
		    int (*fn)(const char *diff_id, void *ctx), void *ctx)
{
	struct named n = { idx, fn, ctx };
	return each_user(idx, id, name_user, &n);
}

struct each_ref {
	struct index *idx;
	int (*fn)(const uint8_t id[SHA256_LEN], void *ctx);
	void *ctx;
};

/* 'P' lid chunk: the chunk, when its layer is complete. */
static int each_complete_ref(const void *k, size_t kl, const void *v, size_t vl, void *ctx)
{
	struct each_ref *e = ctx;
	(void)v, (void)vl;
	if (kl != REF_KEY_LEN || !lid_has(e->idx, be32_get((const uint8_t *)k + 1), 0))
		return 0;
	return e->fn((const uint8_t *)k + 5, e->ctx);
}

int layers_each_ref(struct index *idx, int (*fn)(const uint8_t id[SHA256_LEN], void *ctx), void *ctx)
{
	struct each_ref e = { idx, fn, ctx };
	return index_each(idx, "P", 1, each_complete_ref, &e);
}

void layers_forget_chunk(struct index_batch *b, const uint8_t id[SHA256_LEN])
{
	uint8_t rp[1 + SHA256_LEN] = { 'R' };
	memcpy(rp + 1, id, SHA256_LEN);
	index_batch_delete_prefix(b, rp, sizeof(rp));
}

/* --- checkpoints ------------------------------------------------------------ */

static void ckpt_key(uint8_t k[9], uint32_t lid, uint32_t seq)
{
	k[0] = 'Z';
	be32_put(k + 1, lid);
	be32_put(k + 5, seq);
}

void layers_put_checkpoints(struct index_batch *b, uint32_t lid, const void *table, size_t n)
{
	uint8_t k[9];
	ckpt_key(k, lid, 0);
	index_batch_put(b, k, 5, table, n);
}

void layers_put_window(struct index_batch *b, uint32_t lid, uint32_t seq, const void *w, size_t n)
{
	uint8_t k[9];
	ckpt_key(k, lid, seq);
	index_batch_put(b, k, sizeof(k), w, n);
}

int layers_get_checkpoints(struct index *idx, uint32_t lid, struct buf *out)
{
	uint8_t k[9];
	ckpt_key(k, lid, 0);
	return index_get(idx, k, 5, out, NULL);
}

int layers_get_window(struct index *idx, uint32_t lid, uint32_t seq, struct buf *out)
{
	uint8_t k[9];
	ckpt_key(k, lid, seq);
	return index_get(idx, k, sizeof(k), out, NULL);
}

/* --- lifecycle --------------------------------------------------------------- */

/* Drops the chunks in ids (SHA256_LEN each) that no layer references
 * (complete_users: no complete layer): records first, durably, then files.
 * *freed (may be NULL) counts their stored bytes. */
static int drop_chunks(struct storedir *sd, struct index_batch *b, const struct buf *ids, int complete_users,
		       uint64_t *freed, struct strata_error *err)
{
	for (size_t off = 0; off < ids->len; off += SHA256_LEN) {
		const uint8_t *id = (const uint8_t *)ids->data + off;
		struct chunk_info ci;
		if (complete_users ? chunk_in_complete(sd->idx, id) : layers_chunk_used(sd->idx, id, 0))
			continue;
		if (chunkstore_stat(sd->cs, id, &ci) < 0)
			continue;
		if (freed)
			*freed += chunk_disk_bytes(&ci);
		chunkstore_delete(sd->cs, b, id);
	}
	int r = storedir_commit(sd, b, 1, err);
	for (size_t off = 0; r == 0 && off < ids->len; off += SHA256_LEN) {
		const uint8_t *id = (const uint8_t *)ids->data + off;
		struct chunk_info ci;
		if (chunkstore_stat(sd->cs, id, &ci) == -ENOENT)
			chunkstore_unlink(sd->cs, id);
	}
	return r;
}

/* The ids of the chunks lid references, into ids; with rb (may be NULL),
 * the removal of every reference queued in it. */
static int ref_ids(struct index *idx, uint32_t lid, struct index_batch *rb, struct buf *ids)
{
	uint8_t prefix[5] = { 'P' };
	be32_put(prefix + 1, lid);
	struct index_iter *it = index_iter_new(idx, prefix, sizeof(prefix));
	const void *k, *v;
	size_t kl, vl;
	int r = it ? 0 : -ENOMEM;
	while (r == 0 && index_iter_next(it, &k, &kl, &v, &vl)) {
		if (kl != REF_KEY_LEN)
			continue;
		const uint8_t *id = (const uint8_t *)k + sizeof(prefix);
		if (rb) {
			uint8_t rk[REF_KEY_LEN];
			chunk_ref_key(rk, id, lid);
			index_batch_delete(rb, rk, sizeof(rk));
		}
		r = buf_add(ids, id, SHA256_LEN);
	}
	index_iter_free(it);
	if (rb)
		index_batch_delete_prefix(rb, prefix, sizeof(prefix));
	return r;
}

int layers_drop(struct storedir *sd, uint32_t lid, int drop_chunks_too, uint64_t *freed, struct strata_error *err)
{
	uint8_t prefix[5] = { 'Z' }; /* the checkpoints (index.h) */
	struct index_batch *b = index_batch_new();
	struct buf ids = BUF_INIT;
	uint8_t entries[ENTRY_LAYER_PREFIX_LEN];
	int r = 0;
	if (freed)
		*freed = 0;
	be32_put(prefix + 1, lid);
	entry_layer_prefix(entries, lid);
	if (!b || ref_ids(sd->idx, lid, b, &ids) < 0) {
		r = error_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	index_batch_delete_prefix(b, entries, sizeof(entries));
	index_batch_delete_prefix(b, prefix, sizeof(prefix));
	if ((r = storedir_commit(sd, b, 1, err)) < 0 || !drop_chunks_too)
		goto out;
	/* Chunks no other layer references go too. */
	r = drop_chunks(sd, b, &ids, 0, freed, err);
out:
	index_batch_free(b);
	buf_release(&ids);
	return r;
}

int layers_drop_held(struct storedir *sd, uint32_t lid, uint64_t *freed, struct strata_error *err)
{
	struct index_batch *b = index_batch_new();
	struct buf ids = BUF_INIT;
	int r;
	if (freed)
		*freed = 0;
	if (!b || ref_ids(sd->idx, lid, NULL, &ids) < 0)
		r = error_set(err, -ENOMEM, "out of memory");
	else
		r = drop_chunks(sd, b, &ids, 1, freed, err);
	index_batch_free(b);
	buf_release(&ids);
	return r;
}

struct in_range {
	uint64_t from, to;
	struct buf *ids;
};

static int add_in_range(const uint8_t id[SHA256_LEN], uint64_t off, uint32_t len, void *ctx)
{
	struct in_range *x = ctx;
	return off >= x->from && off + len <= x->to ? buf_add(x->ids, id, SHA256_LEN) : 0;
}

int layers_drop_held_range(struct storedir *sd, uint32_t lid, uint64_t from, uint64_t to, uint64_t *freed,
			   struct strata_error *err)
{
	struct index_batch *b = index_batch_new();
	struct buf ids = BUF_INIT;
	struct in_range x = { from, to, &ids };
	int r;
	if (freed)
		*freed = 0;
	if (!b || layers_each_place(sd->idx, lid, add_in_range, &x) < 0)
		r = error_set(err, -ENOMEM, "out of memory");
	else
		r = drop_chunks(sd, b, &ids, 1, freed, err);
	index_batch_free(b);
	buf_release(&ids);
	return r;
}

uint64_t layers_held_bytes(struct storedir *sd, uint32_t lid)
{
	struct buf ids = BUF_INIT;
	uint64_t n = 0;
	if (ref_ids(sd->idx, lid, NULL, &ids) == 0)
		for (size_t off = 0; off < ids.len; off += SHA256_LEN) {
			const uint8_t *id = (const uint8_t *)ids.data + off;
			struct chunk_info ci;
			if (chunkstore_stat(sd->cs, id, &ci) == 0 && !chunk_in_complete(sd->idx, id))
				n += chunk_disk_bytes(&ci);
		}
	buf_release(&ids);
	return n;
}

uint64_t layers_map_bytes(struct index *idx, uint32_t lid, uint64_t *checkpoints)
{
	/* Keyed by lid first: entries, references (P; R mirrors it), checkpoints. */
	static const char tables[] = { 'E', 'P', 'Z' };
	uint64_t n = 0;
	for (size_t t = 0; t < sizeof(tables); t++) {
		uint8_t prefix[5] = { (uint8_t)tables[t] };
		be32_put(prefix + 1, lid);
		struct index_iter *it = index_iter_new(idx, prefix, sizeof(prefix));
		const void *k, *v;
		size_t kl, vl;
		uint64_t m = 0;
		while (it && index_iter_next(it, &k, &kl, &v, &vl))
			m += (kl + vl) * (tables[t] == 'P' ? 2 : 1);
		index_iter_free(it);
		if (tables[t] == 'Z' && checkpoints)
			*checkpoints = m;
		n += m;
	}
	return n;
}

int layers_evict(struct storedir *sd, struct layer_record *l, int keep_map, uint64_t *freed,
		 struct strata_error *err)
{
	struct index_batch *b = index_batch_new();
	if (!b)
		return error_set(err, -ENOMEM, "out of memory");
	/* The new state first (durably), then the content: a crash between
	 * leaves only garbage that gc removes. Keeping the map, the layer
	 * stays mountable: its chunks come back by Range (refetch.h). */
	snprintf(l->state, sizeof(l->state), keep_map ? "mapped" : "evicted");
	int r = layers_put(b, l);
	if (r < 0)
		r = error_set(err, r, "out of memory");
	else
		r = storedir_commit(sd, b, 1, err);
	index_batch_free(b);
	if (r < 0)
		return r;
	return keep_map ? layers_drop_held(sd, l->lid, freed, err) : layers_drop(sd, l->lid, 1, freed, err);
}

int layers_remove(struct storedir *sd, const struct layer_record *l, uint64_t *freed, struct strata_error *err)
{
	struct index_batch *b = index_batch_new();
	if (!b)
		return error_set(err, -ENOMEM, "out of memory");
	delete_records(b, l);
	int r = storedir_commit(sd, b, 1, err);
	index_batch_free(b);
	return r < 0 ? r : layers_drop(sd, l->lid, 1, freed, err);
}

static int add_lid(uint32_t **v, size_t *n, size_t *cap, uint32_t lid)
{
	for (size_t i = 0; i < *n; i++)
		if ((*v)[i] == lid)
			return 0;
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 16;
		uint32_t *nv = realloc(*v, nc * sizeof(**v));
		if (!nv)
			return -ENOMEM;
		*v = nv;
		*cap = nc;
	}
	(*v)[(*n)++] = lid;
	return 0;
}

int layers_leftovers(struct index *idx, uint32_t **lids, size_t *n)
{
	/* Both tables are keyed by lid first: the entries and the references. */
	static const char tables[] = { 'E', 'P' };
	size_t cap = 0;
	int r = 0;
	*lids = NULL;
	*n = 0;
	for (size_t t = 0; r == 0 && t < sizeof(tables); t++) {
		struct index_iter *it = index_iter_new(idx, &tables[t], 1);
		const void *k, *v;
		size_t kl, vl;
		if (!it)
			return -ENOMEM;
		while (r == 0 && index_iter_next(it, &k, &kl, &v, &vl)) {
			if (kl < 5)
				continue;
			uint32_t lid = be32_get((const uint8_t *)k + 1);
			if (!lid_has(idx, lid, 1))
				r = add_lid(lids, n, &cap, lid);
			/* Skip the rest of this lid's keys. */
			uint8_t next[4];
			if (lid == UINT32_MAX)
				break;
			be32_put(next, lid + 1);
			index_iter_seek(it, next, 4);
		}
		index_iter_free(it);
	}
	return r;
}

/* --- what the complete layers hold ------------------------------------------ */

static uint64_t first_u64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, sizeof(v));
	return v;
}

int layers_stored_init(struct index *idx, struct layers_stored *out)
{
	struct hashset complete = { 0 };
	struct index_iter *it = index_iter_new(idx, "N", 1);
	const void *k, *v;
	size_t kl, vl;
	int r = it ? 0 : -ENOMEM;
	*out = (struct layers_stored){ 0 };
	while (r == 0 && index_iter_next(it, &k, &kl, &v, &vl) == 1) {
		/* 'N' lid -> diff_id: the layer's record says whether it is complete. */
		char diff_id[DIGEST_STR_MAX];
		struct layer_record rec;
		uint32_t lid = kl == LID_KEY_LEN ? be32_get((const uint8_t *)k + 1) : 0;
		if (!lid || vl >= sizeof(diff_id))
			continue;
		memcpy(diff_id, v, vl);
		diff_id[vl] = '\0';
		if (layers_get(idx, diff_id, &rec, NULL) == 0 && rec.lid == lid && layers_complete(&rec) &&
		    (hashset_add(&complete, 1 + (uint64_t)lid) < 0 ||
		     hashset_add(&out->layers, hashset_hash(v, vl)) < 0))
			r = -ENOMEM;
	}
	index_iter_free(it);
	it = r == 0 ? index_iter_new(idx, "E", 1) : NULL;
	while (it && r == 0 && index_iter_next(it, &k, &kl, &v, &vl) == 1) {
		struct entry e;
		if (kl > 5 && hashset_has(&complete, 1 + (uint64_t)be32_get((const uint8_t *)k + 1)) &&
		    entry_decode(v, vl, &e) == 0 && e.type == ENTRY_REG &&
		    hashset_add(&out->contents, first_u64(e.sha256)) < 0)
			r = -ENOMEM;
	}
	index_iter_free(it);
	hashset_release(&complete);
	return r;
}

void layers_stored_release(struct layers_stored *s)
{
	hashset_release(&s->contents);
	hashset_release(&s->layers);
}

int layers_stored_content(const struct layers_stored *s, const uint8_t sha256[SHA256_LEN])
{
	return hashset_has(&s->contents, first_u64(sha256));
}

int layers_stored_layer(const struct layers_stored *s, const char *diff_id, size_t len)
{
	return hashset_has(&s->layers, hashset_hash(diff_id, len));
}
