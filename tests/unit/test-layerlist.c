/* Unit tests: layer listings over a real RocksDB index in a temp dir. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "src/store/entry.h"
#include "src/store/index.h"
#include "src/store/layerlist.h"
#include "tap.h"
#include "src/base/util.h"

/* Entry records are opaque to a listing: the path itself stands in. */
static void put(struct index_batch *b, uint32_t lid, const char *path)
{
	struct buf k = BUF_INIT;
	entry_key(&k, lid, path, strlen(path));
	index_batch_put(b, k.data, k.len, path, strlen(path));
	buf_release(&k);
}

static size_t count(struct layerlist *l, const char *dir)
{
	size_t first;
	return layerlist_dir(l, dir, strlen(dir), &first);
}

static const char *find(struct layerlist *l, const char *dir, const char *name)
{
	static char out[256];
	const void *rec;
	size_t len;
	if (layerlist_find(l, dir, strlen(dir), name, strlen(name), &rec, &len) < 0)
		return NULL;
	snprintf(out, sizeof(out), "%.*s", (int)len, (const char *)rec);
	return out;
}

int main(void)
{
	char tmpl[] = "/tmp/strata-test-layerlist.XXXXXX";
	char *dir = mkdtemp(tmpl);
	char *ipath = path_join(dir, "index");
	struct strata_error err = STRATA_ERROR_INIT;
	struct index *idx = NULL;
	is_int(index_open(ipath, &idx, &err), 0, "open index");

	/* Layer 7 and its neighbours 6 and 8, whose records must not leak in.
	 * "a" sorts between "a\0..." and "a/b\0...": groups must still form. */
	struct index_batch *b = index_batch_new();
	static const char *const paths[] = { "", "a", "a/b", "a/b/c", "a/bb", "a/b/d", "a.x", "a-y", "z",
					     "a/.wh.gone", "a/b/.wh..wh..opq" };
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		put(b, 7, paths[i]);
	put(b, 6, "a/other");
	put(b, 8, "a/later");
	is_int(index_batch_commit(idx, b, 0, &err), 0, "commit");
	index_batch_free(b);

	struct layerlist_cache *c = layerlist_cache_new(1 << 20);
	struct layerlist *l = NULL, *again = NULL;
	ok(layerlist_peek(c, 7) == NULL, "nothing cached at first");
	is_int(layerlist_get(c, idx, 7, &l, &err), 0, "build the listing of layer 7");
	is_int(count(l, ""), 5, "root: itself, a, a.x, a-y, z");
	is_int(count(l, "a"), 3, "a: b, bb, .wh.gone");
	is_int(count(l, "a/b"), 3, "a/b: c, d, the opaque marker");
	is_int(count(l, "a/b/c"), 0, "a file has no children");
	is_int(count(l, "nope"), 0, "an absent directory has none");
	is_str(find(l, "", ""), "", "the root's own record");
	is_str(find(l, "a", "bb"), "a/bb", "a/bb");
	is_str(find(l, "a", "b"), "a/b", "a/b, a prefix of a/bb");
	is_str(find(l, "a/b", ".wh..wh..opq"), "a/b/.wh..wh..opq", "the opaque marker");
	ok(find(l, "a", "other") == NULL, "another layer's record is not in it");
	ok(find(l, "a", "later") == NULL, "nor the next layer's");
	ok(find(l, "a", "c") == NULL, "absent name");
	ok(find(l, "a", "bbb") == NULL, "absent name after the last");

	size_t first, n = layerlist_dir(l, "a", 1, &first);
	const char *nm, *prev = NULL;
	size_t nl, pl = 0, rl;
	const void *rec;
	int sorted = 1;
	for (size_t i = first; i < first + n; i++) {
		layerlist_entry(l, i, &nm, &nl, &rec, &rl);
		if (prev && memcmp(prev, nm, pl < nl ? pl : nl) > 0)
			sorted = 0;
		prev = nm;
		pl = nl;
	}
	ok(sorted, "children come in key order");

	again = layerlist_peek(c, 7);
	ok(again == l, "the same listing is shared");
	layerlist_release(c, again);
	layerlist_release(c, l);
	ok((l = layerlist_peek(c, 7)) != NULL, "still cached once released");
	layerlist_release(c, l);
	layerlist_cache_free(c);

	/* A budget too small for the listing: the caller reads the index. */
	c = layerlist_cache_new(64);
	is_int(layerlist_get(c, idx, 7, &l, &err), -EFBIG, "too large for the budget");
	layerlist_cache_free(c);

	/* A budget for one listing: the one not in use goes to make room. */
	c = layerlist_cache_new(8 << 10);
	struct layerlist *l6 = NULL, *l8 = NULL;
	is_int(layerlist_get(c, idx, 6, &l6, &err), 0, "layer 6");
	is_int(layerlist_get(c, idx, 8, &l8, &err), -EFBIG, "no room beside layer 6 in use");
	layerlist_release(c, l6);
	is_int(layerlist_get(c, idx, 8, &l8, &err), 0, "room once layer 6 is released");
	ok(layerlist_peek(c, 6) == NULL, "layer 6 was dropped for it");
	is_str(find(l8, "a", "later"), "a/later", "layer 8's record");
	layerlist_release(c, l8);
	layerlist_release(c, NULL);
	layerlist_cache_free(c);
	layerlist_cache_free(NULL);

	index_close(idx);
	rm_rf(dir);
	free(ipath);
	return tap_done();
}
