/* daemon-prescan: see daemon-prescan.h. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "analyzers/analyze.h"
#include "daemon-prescan.h"
#include "src/base/log.h"
#include "src/store/memo.h"
#include "analyzers/secrets.h"

#define BATCH_RESULTS 1000 /* results stored at once */
#define SUMMARY_MAX 10000  /* contents with findings, or without a result, in a layer summary */

struct prescan {
	struct ingest_observer obs; /* first: the observer handed out is the prescan */
	const struct analyzer *secrets;
};

/* One layer's state: the file being read, results not yet stored, and the
 * layer's summary (analyze_layer_summary_key) as it grows. */
struct layer_scan {
	struct prescan *p;
	struct store *st;   /* where the results go */
	struct buf data;
	int claimed; /* the analyzer claims this file (it has bytes) */
	int want;    /* and it is to be scanned: no allocation failed, not too big */
	int binary;  /* a NUL in its first bytes: nothing more to keep */
	json_t *batch;
	json_t *found, *unscanned; /* NULL once the summary is given up */
};

/* Results are true of the bytes they were made from whatever becomes of
 * the layer, so a batch is stored as it fills, not held to the commit. */
static void store_batch(struct layer_scan *l)
{
	if (!json_object_size(l->batch))
		return;
	struct strata_error err = STRATA_ERROR_INIT;
	if (memo_store(l->st, l->batch, &err) < 0)
		log_warn("secrets prescan: results not stored: %s", err.msg);
	json_object_clear(l->batch);
}

static void *layer_begin(void *ctx, struct store *st)
{
	struct layer_scan *l = calloc(1, sizeof(*l));
	if (!l || !(l->batch = json_object())) {
		free(l);
		return NULL;
	}
	l->p = ctx;
	l->st = st;
	l->found = json_object();
	l->unscanned = json_object();
	buf_init(&l->data, 0);
	return l;
}

static void file_begin(void *layer, uint64_t size)
{
	struct layer_scan *l = layer;
	buf_reset(&l->data);
	/* Empty files are not claimed by the analyzer: nothing to memoize. A
	 * larger file may still be binary, which its first bytes tell. */
	l->claimed = l->want = size > 0;
	l->binary = 0;
}

static void file_data(void *layer, const void *data, size_t len)
{
	struct layer_scan *l = layer;
	if (!l->want || l->binary)
		return;
	/* The scan looks no further than the probe in a binary file: the
	 * rest of it need not be kept, whatever its size. */
	if (l->data.len < SECRETS_BINARY_PROBE) {
		size_t n = SECRETS_BINARY_PROBE - l->data.len < len ? SECRETS_BINARY_PROBE - l->data.len : len;
		if (buf_add(&l->data, data, n) < 0) {
			l->want = 0;
			return;
		}
		data = (const char *)data + n;
		len -= n;
		if (l->data.len == SECRETS_BINARY_PROBE && memchr(l->data.data, '\0', SECRETS_BINARY_PROBE)) {
			l->binary = 1;
			return;
		}
	}
	if (l->data.len + len > PRESCAN_MAX || buf_add(&l->data, data, len) < 0)
		l->want = 0;
}

/* Notes a content in the layer's summary: its records when it has any, or
 * that it has no result here. A summary that would grow past SUMMARY_MAX
 * is given up: the per-file results still answer. */
static void summarize(struct layer_scan *l, const uint8_t sha256[SHA256_LEN], json_t *records)
{
	if (!l->found || !l->unscanned || (records && !json_array_size(records)))
		return;
	char hex[2 * SHA256_LEN + 1];
	hex_encode(sha256, SHA256_LEN, hex);
	json_t *into = records ? l->found : l->unscanned;
	if (json_object_size(into) >= SUMMARY_MAX ||
	    json_object_set_new(into, hex, records ? json_incref(records) : json_integer(1)) < 0) {
		json_decref(l->found);
		json_decref(l->unscanned);
		l->found = l->unscanned = NULL;
	}
}

static void file_end(void *layer, const uint8_t sha256[SHA256_LEN])
{
	struct layer_scan *l = layer;
	if (!l->claimed)
		return;
	struct strata_error err = STRATA_ERROR_INIT;
	char *key = l->want ? analyze_memo_key(l->p->secrets, sha256, NULL) : NULL;
	json_t *records = json_array(), *seen = key ? json_object_get(l->batch, key) : NULL;
	/* The same content again (a million copies of one small file, say) is
	 * scanned once per batch. A scan that fails (too many findings, say) is
	 * left to the analysis, which reports it with the file's path. */
	if (seen) {
		summarize(l, sha256, json_object_get(seen, "records"));
	} else if (key && records && secrets_scan_buffer(l->data.data, l->data.len, records, &err) == 0) {
		json_object_set_new(l->batch, key, json_pack("{s:O}", "records", records));
		summarize(l, sha256, records);
		if (json_object_size(l->batch) >= BATCH_RESULTS)
			store_batch(l);
	} else {
		summarize(l, sha256, NULL);
	}
	json_decref(records);
	free(key);
	l->claimed = l->want = 0;
}

static void layer_end(void *layer, const char *diff_id)
{
	struct layer_scan *l = layer;
	/* After a failure (the daemon stopping, a full disk) write nothing more.
	 * The summary goes with the last results: it speaks for all of them. */
	char *key = diff_id && l->found && l->unscanned ? analyze_layer_summary_key(l->p->secrets, diff_id) : NULL;
	if (key)
		json_object_set_new(l->batch, key,
				    json_pack("{s:O, s:O}", "found", l->found, "unscanned", l->unscanned));
	if (diff_id)
		store_batch(l);
	free(key);
	json_decref(l->found);
	json_decref(l->unscanned);
	json_decref(l->batch);
	buf_release(&l->data);
	free(l);
}

struct ingest_observer *prescan_new(void)
{
	const struct analyzer *secrets = analyzer_find("secrets");
	struct prescan *p = secrets ? calloc(1, sizeof(*p)) : NULL;
	if (!p)
		return NULL;
	/* The daemon maps nothing writable and executable (its systemd unit
	 * says MemoryDenyWriteExecute): confirmations are rare, interpret them. */
	secrets_use_jit(0);
	p->secrets = secrets;
	p->obs = (struct ingest_observer){ p, layer_begin, file_begin, file_data, file_end, layer_end };
	return &p->obs;
}

void prescan_free(struct ingest_observer *o)
{
	free(o);
}
