/* memo: see memo.h. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "index.h"
#include "memo.h"

static int result_key(struct buf *k, const char *key)
{
	buf_reset(k);
	if (!*key || strlen(key) > MEMO_KEY_MAX)
		return -EINVAL;
	buf_addch(k, 'A');
	return buf_adds(k, key);
}

int memo_lookup(struct store *st, json_t *keys, struct buf *out, struct strata_error *err)
{
	struct buf k = BUF_INIT, v = BUF_INIT;
	json_t *key;
	size_t i, n = 0;
	int r = buf_adds(out, "{\"results\":{");
	json_array_foreach(keys, i, key) {
		const char *s = json_string_value(key);
		if (!s || result_key(&k, s) < 0) {
			r = error_set(err, -EINVAL, "malformed memo key");
			break;
		}
		buf_reset(&v);
		r = index_get(st->idx, k.data, k.len, &v, err);
		if (r == -ENOENT) {
			r = 0;
			continue;
		}
		if (r < 0)
			break;
		/* Stored by memo_store, which wrote an object. */
		if (v.len < 2 || v.data[0] != '{')
			continue;
		char *name = json_dumps(key, JSON_ENCODE_ANY);
		if (!name || (n++ && buf_addch(out, ',') < 0) || buf_adds(out, name) < 0 || buf_addch(out, ':') < 0 ||
		    buf_add(out, v.data, v.len) < 0) {
			free(name);
			r = error_set(err, -ENOMEM, "out of memory");
			break;
		}
		free(name);
	}
	if (r == 0 && buf_adds(out, "}}\n") < 0)
		r = error_set(err, -ENOMEM, "out of memory");
	buf_release(&k);
	buf_release(&v);
	return r;
}

int memo_store(struct store *st, json_t *results, struct strata_error *err)
{
	struct index_batch *b = index_batch_new();
	struct buf k = BUF_INIT;
	const char *key;
	json_t *val;
	int r = 0;
	if (!b)
		return error_set(err, -ENOMEM, "out of memory");
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
		free(text);
	}
	/* Not synced: a result lost in a crash is computed again. */
	if (!r)
		r = index_batch_commit(st->idx, b, 0, err);
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
	buf_release(&k);
	return r;
}

int memo_put_report(struct store *st, const char *digest, const char *config, const char *text,
		    size_t len, struct strata_error *err)
{
	struct buf k = BUF_INIT;
	report_key(&k, digest, config);
	int r = index_put(st->idx, k.data, k.len, text, len, 0, err);
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
