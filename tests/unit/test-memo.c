/* Unit tests: the memo's keys (memokey) and its gc over a store in a temp
 * directory — results of contents a complete layer holds stay, those of
 * contents gone with an evicted layer go, and so do summaries of layers
 * not stored; keys of another shape stay. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "src/store/memo.h"
#include "src/store/memokey.h"
#include "storefix.h"
#include "tap.h"

static void text_layer(struct storefix *f, const char *path, const char *text, struct layer_record *rec)
{
	struct strata_error err = STRATA_ERROR_INIT;
	struct buf tar = BUF_INIT;
	struct tarw *t = tarw_new();
	tarw_text(t, path, text);
	tarw_finish(t, &tar);
	is_int(storefix_ingest(f, &tar, rec, &err), 0, "a layer holding '%s'", text);
	buf_release(&tar);
}

static char *content_key(const char *text, const char *name)
{
	uint8_t sha[SHA256_LEN];
	sha256_once(text, strlen(text), sha);
	return memokey_content("secrets@1+rules", sha, name);
}

/* The keys of those given that the memo holds, as a JSON object. */
static json_t *lookup(struct store *st, char **keys, size_t n)
{
	struct strata_error err = STRATA_ERROR_INIT;
	struct buf out = BUF_INIT;
	size_t lens[16];
	for (size_t i = 0; i < n; i++)
		lens[i] = strlen(keys[i]);
	json_t *res = NULL;
	if (memo_lookup(st, n, (const char *const *)keys, lens, &out, &err) == 0) {
		json_t *doc = json_loadb(out.data, out.len, 0, NULL);
		res = json_incref(json_object_get(doc, "results"));
		json_decref(doc);
	}
	buf_release(&out);
	return res;
}

static void test_keys(void)
{
	uint8_t sha[SHA256_LEN];
	struct memokey mk;
	char hex[65];
	for (int i = 0; i < SHA256_LEN; i++)
		sha[i] = (uint8_t)i;
	hex_encode(sha, SHA256_LEN, hex);

	char *k = memokey_content("dpkg@2", sha, NULL), want[200];
	snprintf(want, sizeof(want), "dpkg@2/%s", hex);
	is_str(k, want, "a content key");
	memokey_parse(k, strlen(k), &mk);
	is_int(mk.kind, MEMOKEY_CONTENT, "parses as a content key");
	ok(!memcmp(mk.sha256, sha, SHA256_LEN), "with its sha256");
	free(k);

	k = memokey_content("java@3+x", sha, "app.jar");
	snprintf(want, sizeof(want), "java@3+x/%s/app.jar", hex);
	is_str(k, want, "a content key with the file's name");
	memokey_parse(k, strlen(k), &mk);
	is_int(mk.kind, MEMOKEY_CONTENT, "parses as a content key too");
	free(k);

	k = memokey_layer("secrets@1", "sha256:abc");
	is_str(k, "secrets@1/layer/sha256:abc", "a layer summary key");
	memokey_parse(k, strlen(k), &mk);
	is_int(mk.kind, MEMOKEY_LAYER, "parses as a layer key");
	ok(mk.diff_id_len == 10 && !memcmp(mk.diff_id, "sha256:abc", 10), "with its diff_id");
	free(k);

	static const char *const other[] = { "summary", "x@1/short", "x@1/layer/", "x@1/zz" };
	for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
		memokey_parse(other[i], strlen(other[i]), &mk);
		is_int(mk.kind, MEMOKEY_OTHER, "'%s' is of another shape", other[i]);
	}
}

int main(void)
{
	struct storefix f;
	struct strata_error err = STRATA_ERROR_INIT;
	struct layer_record l1, l2;

	test_keys();

	if (storefix_init(&f) < 0 || storefix_open(&f, NULL) < 0) {
		printf("Bail out! cannot make a store\n");
		return 99;
	}
	text_layer(&f, "a", "alpha", &l1);
	text_layer(&f, "b", "beta", &l2);

	char *keys[] = {
		content_key("alpha", NULL),           /* 0: held by layer 1: stays */
		content_key("alpha", "a"),            /* 1: the same, keyed by name too: stays */
		content_key("beta", NULL),            /* 2: only layer 2 held it: goes */
		content_key("gamma", NULL),           /* 3: never stored: goes */
		memokey_layer("secrets@1+rules", l1.diff_id), /* 4: a stored layer: stays */
		memokey_layer("secrets@1+rules", l2.diff_id), /* 5: evicted: goes */
		memokey_layer("secrets@1+rules", "sha256:0000"), /* 6: never stored: goes */
		strdup("no-slash-at-all"),            /* 7: another shape: stays */
	};
	const size_t n = sizeof(keys) / sizeof(keys[0]);
	json_t *results = json_object();
	for (size_t i = 0; i < n; i++)
		json_object_set_new(results, keys[i], json_pack("{s:[]}", "records"));
	is_int(memo_store(f.st, results, &err), 0, "store %zu results", n);
	json_decref(results);

	json_t *found = lookup(f.st, keys, n);
	is_int(json_object_size(found), n, "every result is there");
	json_decref(found);

	uint64_t removed = 99;
	is_int(memo_gc(f.st, &removed, &err), 0, "memo gc with both layers stored");
	is_int(removed, 2, "removes what no layer ever held (gamma, an unknown layer)");

	uint64_t freed = 0;
	is_int(layers_evict(f.st->sd, &l2, 0, &freed, &err), 0, "evict layer 2");
	is_int(memo_gc(f.st, &removed, &err), 0, "memo gc again");
	is_int(removed, 2, "removes beta's result and layer 2's summary");

	found = lookup(f.st, keys, n);
	static const int stays[] = { 1, 1, 0, 0, 1, 0, 0, 1 };
	for (size_t i = 0; i < n; i++)
		is_int(json_object_get(found, keys[i]) != NULL, stays[i], "result %zu %s", i,
		       stays[i] ? "stays" : "is gone");
	json_decref(found);

	/* Reports go with their image, not with gc. */
	char digest[DIGEST_STR_MAX];
	struct buf rep = BUF_INIT;
	storefix_digest(7, digest);
	is_int(memo_put_report(f.st, digest, "files", "{}", 2, &err), 0, "store a report");
	is_int(memo_gc(f.st, &removed, &err), 0, "memo gc");
	is_int(memo_get_report(f.st, digest, "files", &rep, &err), 0, "the report stays");
	struct index_batch *b = index_batch_new();
	memo_forget_image(b, digest);
	storedir_commit(f.st->sd, b, 1, &err);
	index_batch_free(b);
	is_int(memo_get_report(f.st, digest, "files", &rep, &err), -ENOENT, "forgetting the image drops it");
	buf_release(&rep);

	for (size_t i = 0; i < n; i++)
		free(keys[i]);
	storefix_release(&f);
	return tap_done();
}
