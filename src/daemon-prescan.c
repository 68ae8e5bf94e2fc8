/* daemon-prescan: see daemon-prescan.h. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "analyze.h"
#include "daemon-prescan.h"
#include "log.h"
#include "memo.h"
#include "secrets.h"

#define BATCH_RESULTS 1000 /* results stored at once */

struct prescan {
	struct ingest_observer obs; /* first: the observer handed out is the prescan */
	struct store *st;
	const struct analyzer *secrets;
};

/* One layer's state: the file being read, results not yet stored. */
struct layer_scan {
	struct prescan *p;
	struct buf data;
	int want;    /* this file is small enough, and no allocation failed */
	int binary;  /* a NUL in its first bytes: nothing more to keep */
	json_t *batch;
};

/* Results are true of the bytes they were made from whatever becomes of
 * the layer, so a batch is stored as it fills, not held to the commit. */
static void store_batch(struct layer_scan *l)
{
	if (!json_object_size(l->batch))
		return;
	struct strata_error err = STRATA_ERROR_INIT;
	if (memo_store(l->p->st, l->batch, &err) < 0)
		log_warn("secrets prescan: results not stored: %s", err.msg);
	json_object_clear(l->batch);
}

static void *layer_begin(void *ctx)
{
	struct layer_scan *l = calloc(1, sizeof(*l));
	if (!l || !(l->batch = json_object())) {
		free(l);
		return NULL;
	}
	l->p = ctx;
	buf_init(&l->data, 0);
	return l;
}

static void file_begin(void *layer, uint64_t size)
{
	struct layer_scan *l = layer;
	buf_reset(&l->data);
	/* Empty files are not claimed by the analyzer: nothing to memoize. A
	 * larger file may still be binary, which its first bytes tell. */
	l->want = size > 0;
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

static void file_end(void *layer, const uint8_t sha256[SHA256_LEN])
{
	struct layer_scan *l = layer;
	if (!l->want)
		return;
	l->want = 0;
	struct strata_error err = STRATA_ERROR_INIT;
	char *key = analyze_memo_key(l->p->secrets, sha256, NULL);
	json_t *records = json_array();
	/* A scan that fails (too many findings, say) is left to the analysis,
	 * which reports it with the file's path. */
	/* The same content again (a million copies of one small file, say) is
	 * scanned once per batch. */
	if (key && records && !json_object_get(l->batch, key) &&
	    secrets_scan_buffer(l->data.data, l->data.len, records, &err) == 0) {
		json_object_set_new(l->batch, key, json_pack("{s:O}", "records", records));
		if (json_object_size(l->batch) >= BATCH_RESULTS)
			store_batch(l);
	}
	json_decref(records);
	free(key);
}

static void layer_end(void *layer, int ok)
{
	struct layer_scan *l = layer;
	/* After a failure (the daemon stopping, a full disk) write nothing more. */
	if (ok)
		store_batch(l);
	json_decref(l->batch);
	buf_release(&l->data);
	free(l);
}

struct ingest_observer *prescan_new(struct store *st)
{
	const struct analyzer *secrets = analyzer_find("secrets");
	struct prescan *p = secrets ? calloc(1, sizeof(*p)) : NULL;
	if (!p)
		return NULL;
	p->st = st;
	p->secrets = secrets;
	p->obs = (struct ingest_observer){ p, layer_begin, file_begin, file_data, file_end, layer_end };
	return &p->obs;
}

void prescan_free(struct ingest_observer *o)
{
	free(o);
}
