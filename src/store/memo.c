/* memo: see memo.h. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "src/base/buf.h"
#include "index.h"
#include "layers.h"
#include "memo.h"
#include "memokey.h"
#include "sharedmemo.h"

static int result_key(struct buf *k, const char *key)
{
	buf_reset(k);
	if (!*key || strlen(key) > MEMO_KEY_MAX)
		return -EINVAL;
	buf_addch(k, 'A');
	return buf_adds(k, key);
}

/* Appends key as a JSON string. Memo keys are plain text: the common case
 * needs no escaping and no allocation. */
static int add_json_string(struct buf *out, const char *key, size_t n)
{
	size_t i;
	for (i = 0; i < n && (unsigned char)key[i] >= 0x20 && key[i] != '"' && key[i] != '\\'; i++)
		;
	if (i == n)
		return buf_addch(out, '"') < 0 || buf_add(out, key, n) < 0 || buf_addch(out, '"') < 0 ? -ENOMEM : 0;
	json_t *s = json_stringn(key, n);
	char *text = s ? json_dumps(s, JSON_ENCODE_ANY) : NULL;
	int r = text ? buf_adds(out, text) : -ENOMEM;
	free(text);
	json_decref(s);
	return r;
}

struct lookup {
	const char *const *keys;
	const size_t *lens;
	size_t first;  /* the batch's first key in keys */
	size_t found;
	struct buf *out;
	uint8_t *hit;  /* per key: found here */
};

static int add_value(struct lookup *l, size_t i, const void *val, size_t vlen)
{
	if ((l->found++ && buf_addch(l->out, ',') < 0) || add_json_string(l->out, l->keys[i], l->lens[i]) < 0 ||
	    buf_addch(l->out, ':') < 0 || buf_add(l->out, val, vlen) < 0)
		return -ENOMEM;
	return 0;
}

static int add_found(void *ctx, size_t i, const void *val, size_t vlen)
{
	struct lookup *l = ctx;
	i += l->first;
	/* Stored by memo_store, which wrote an object. */
	if (vlen < 2 || *(const char *)val != '{')
		return 0;
	l->hit[i] = 1;
	return add_value(l, i, val, vlen);
}

/* What the node's memo lacks, from the shared tier: answered, and kept
 * here for the next time (not synced: it can be fetched again). */
struct shared_lookup {
	struct lookup *l;
	const size_t *which;       /* the keys asked for, as indexes in l->keys */
	struct index_batch *keep;
	struct buf k;
};

static int add_shared(void *ctx, size_t i, const char *json, size_t len)
{
	struct shared_lookup *s = ctx;
	size_t k = s->which[i];
	buf_reset(&s->k);
	if (buf_addch(&s->k, 'A') < 0 || buf_add(&s->k, s->l->keys[k], s->l->lens[k]) < 0)
		return -ENOMEM;
	index_batch_put(s->keep, s->k.data, s->k.len, json, len);
	return add_value(s->l, k, json, len);
}

static int lookup_shared(struct store *st, struct lookup *l, size_t n, struct strata_error *err)
{
	size_t *which = malloc((n ? n : 1) * sizeof(*which)), m = 0;
	const char **kv = malloc((n ? n : 1) * sizeof(*kv));
	size_t *kl = malloc((n ? n : 1) * sizeof(*kl));
	struct shared_lookup s = { l, which, index_batch_new(), BUF_INIT };
	int r = which && kv && kl && s.keep ? 0 : error_set(err, -ENOMEM, "out of memory");
	for (size_t i = 0; r == 0 && i < n; i++)
		if (!l->hit[i]) {
			which[m] = i;
			kv[m] = l->keys[i];
			kl[m++] = l->lens[i];
		}
	if (r == 0 && m && (r = sharedmemo_get_results(st->shared, m, kv, kl, add_shared, &s)) < 0)
		error_set(err, r, "out of memory");
	if (r == 0 && index_batch_count(s.keep) && index_batch_commit(st->idx, s.keep, 0, err) < 0)
		error_clear(err); /* a copy not kept is fetched again */
	index_batch_free(s.keep);
	buf_release(&s.k);
	free(which);
	free(kv);
	free(kl);
	return r;
}

/* Keys per batched read: a batch's index keys stay small. */
#define LOOKUP_BATCH 4096

int memo_lookup(struct store *st, size_t n, const char *const *keys, const size_t *lens, struct buf *out,
		struct strata_error *err)
{
	struct buf all = BUF_INIT;
	size_t bn = n < LOOKUP_BATCH ? n : LOOKUP_BATCH;
	const char **kv = malloc((bn ? bn : 1) * sizeof(*kv));
	size_t *kl = malloc((bn ? bn : 1) * sizeof(*kl));
	struct lookup l = { .keys = keys, .lens = lens, .out = out, .hit = calloc(n ? n : 1, 1) };
	int r = kv && kl && l.hit && buf_adds(out, "{\"results\":{") == 0 ? 0 : error_set(err, -ENOMEM, "out of memory");
	for (size_t first = 0; r == 0 && first < n; first += bn) {
		size_t m = n - first < bn ? n - first : bn;
		/* 'A' + key each, end to end; pointers once the buffer stops moving. */
		buf_reset(&all);
		for (size_t i = 0; r == 0 && i < m; i++) {
			size_t len = lens[first + i];
			if (!len || len > MEMO_KEY_MAX || memchr(keys[first + i], 0, len))
				r = error_set(err, -EINVAL, "malformed memo key");
			else if (buf_addch(&all, 'A') < 0 || buf_add(&all, keys[first + i], len) < 0)
				r = error_set(err, -ENOMEM, "out of memory");
			kl[i] = len + 1;
		}
		for (size_t i = 0, o = 0; r == 0 && i < m; o += kl[i++])
			kv[i] = all.data + o;
		l.first = first;
		if (r == 0 && (r = index_multi_get(st->idx, m, kv, kl, add_found, &l, err)) == -ENOMEM)
			error_set(err, r, "out of memory");
	}
	if (r == 0 && st->shared && l.found < n)
		r = lookup_shared(st, &l, n, err);
	if (r == 0 && buf_adds(out, "}}\n") < 0)
		r = error_set(err, -ENOMEM, "out of memory");
	free(l.hit);
	free(kv);
	free(kl);
	buf_release(&all);
	return r;
}

int memo_store(struct store *st, json_t *results, struct strata_error *err)
{
	struct index_batch *b = index_batch_new();
	struct buf k = BUF_INIT;
	size_t n = json_object_size(results), i = 0;
	char **texts = calloc(n ? n : 1, sizeof(*texts));
	const char *key;
	json_t *val;
	int r = 0;
	if (!b || !texts) {
		index_batch_free(b);
		free(texts);
		return error_set(err, -ENOMEM, "out of memory");
	}
	json_object_foreach(results, key, val) {
		if (!json_is_object(val) || result_key(&k, key) < 0) {
			r = error_set(err, -EINVAL, "malformed memo result '%.80s'", key);
			break;
		}
		char *text = json_dumps(val, JSON_COMPACT);
		if (!text) {
			r = error_set(err, -ENOMEM, "out of memory");
			break;
		}
		index_batch_put(b, k.data, k.len, text, strlen(text));
		texts[i++] = text;
	}
	/* Not synced: a result lost in a crash is computed again. */
	if (!r)
		r = index_batch_commit(st->idx, b, 0, err);
	/* Accepted here: the fleet may have them too. */
	i = 0;
	json_object_foreach(results, key, val) {
		if (i >= n || !texts[i])
			break;
		if (r == 0)
			sharedmemo_put_result(st->shared, key, strlen(key), texts[i], strlen(texts[i]));
		free(texts[i++]);
	}
	free(texts);
	index_batch_free(b);
	buf_release(&k);
	return r;
}

static int report_key(struct buf *k, const char *digest, const char *config)
{
	buf_reset(k);
	buf_addch(k, 'Y');
	buf_adds(k, digest);
	buf_addch(k, 0);
	return buf_adds(k, config);
}

int memo_get_report(struct store *st, const char *digest, const char *config, struct buf *out,
		    struct strata_error *err)
{
	struct buf k = BUF_INIT;
	report_key(&k, digest, config);
	int r = index_get(st->idx, k.data, k.len, out, err);
	/* Not kept here: nothing would remove a report of an image that is
	 * not stored (reports go with their image). */
	if (r == -ENOENT && st->shared && sharedmemo_get_report(st->shared, digest, config, out) == 0) {
		error_clear(err);
		r = 0;
	}
	buf_release(&k);
	return r;
}

int memo_put_report(struct store *st, const char *digest, const char *config, const char *text,
		    size_t len, struct strata_error *err)
{
	struct buf k = BUF_INIT;
	report_key(&k, digest, config);
	int r = index_put(st->idx, k.data, k.len, text, len, 0, err);
	if (r == 0)
		sharedmemo_put_report(st->shared, digest, config, text, len);
	buf_release(&k);
	return r;
}

void memo_forget_image(struct index_batch *b, const char *digest)
{
	struct buf k = BUF_INIT;
	buf_addch(&k, 'Y');
	buf_adds(&k, digest);
	buf_addch(&k, 0);
	index_batch_delete_prefix(b, k.data, k.len);
	buf_release(&k);
}

void memo_count(struct store *st, uint64_t *results, uint64_t *reports, uint64_t *bytes)
{
	*results = *reports = *bytes = 0;
	for (int t = 0; t < 2; t++) {
		struct index_iter *it = index_iter_new(st->idx, t ? "Y" : "A", 1);
		const void *k, *v;
		size_t kl, vl;
		while (it && index_iter_next(it, &k, &kl, &v, &vl) == 1) {
			++*(t ? reports : results);
			*bytes += kl + vl;
		}
		index_iter_free(it);
	}
}

/* Whether result key k (without the table byte) speaks of something
 * stored; a key of another shape is kept. */
static int key_live(const char *k, size_t kl, const struct layers_stored *live)
{
	struct memokey mk;
	memokey_parse(k, kl, &mk);
	if (mk.kind == MEMOKEY_LAYER)
		return layers_stored_layer(live, mk.diff_id, mk.diff_id_len);
	if (mk.kind == MEMOKEY_CONTENT)
		return layers_stored_content(live, mk.sha256);
	return 1;
}

#define GC_BATCH 10000 /* deletions committed at once */

int memo_gc(struct store *st, uint64_t *removed, struct strata_error *err)
{
	struct layers_stored live;
	struct index_batch *b = index_batch_new();
	size_t pending = 0;
	int r = layers_stored_init(st->idx, &live);
	struct index_iter *it = r == 0 && b ? index_iter_new(st->idx, "A", 1) : NULL;
	const void *k, *v;
	size_t kl, vl;
	*removed = 0;
	if (!it)
		r = -ENOMEM;
	while (r == 0 && index_iter_next(it, &k, &kl, &v, &vl) == 1) {
		if (kl < 2 || key_live((const char *)k + 1, kl - 1, &live))
			continue;
		index_batch_delete(b, k, kl);
		(*removed)++;
		if (++pending == GC_BATCH) {
			r = storedir_commit(st->sd, b, 0, err);
			pending = 0;
		}
	}
	index_iter_free(it);
	if (r == -ENOMEM)
		error_set(err, r, "out of memory");
	else if (r == 0 && pending)
		r = storedir_commit(st->sd, b, 0, err);
	index_batch_free(b);
	layers_stored_release(&live);
	return r;
}
