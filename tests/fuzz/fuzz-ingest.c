/* fuzz-target: ingest_stream 262144 */
/* libFuzzer target: a layer stream (gzip, zstd or a bare tar, detected)
 * through ingest_stream() into a store in a temp directory made once per
 * process and reused across inputs, with small limits and no diff_id check.
 * A layer that ingests is dropped again so that the store stays small.
 * The replay of one input: fuzz-ingest FILE. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "src/base/conf.h"
#include "fuzz.h"
#include "src/ingest/ingest.h"
#include "src/base/log.h"
#include "src/store/layers.h"
#include "src/store/store.h"

static struct strata_conf conf;
static struct store *st;
static char dir[64];

struct src {
	const uint8_t *p;
	size_t len, off;
};

static ssize_t src_read(void *ctx, void *buf, size_t len)
{
	struct src *s = ctx;
	size_t n = s->len - s->off;
	if (n > len)
		n = len;
	memcpy(buf, s->p + s->off, n);
	s->off += n;
	return (ssize_t)n;
}

static void cleanup(void)
{
	char cmd[128];
	store_close(st);
	conf_release(&conf);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "fuzz-ingest: could not remove %s\n", dir);
}

static void setup(void)
{
	struct strata_error err = STRATA_ERROR_INIT;
	log_set_level(LOG_LVL_ERROR);
	/* tmpfs when there is one: the store fsyncs every commit. run-fuzz.sh
	 * names a parent it removes, for runs that end in a crash. */
	const char *parent = getenv("STRATA_FUZZ_TMP");
	if (!parent)
		parent = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	snprintf(dir, sizeof(dir), "%.40s/strata-fuzz-ingest.XXXXXX", parent);
	if (!mkdtemp(dir) || conf_load(&conf, &err) != 0)
		goto fail;
	free(conf.store);
	conf.store = strdup(dir);
	conf.limits.max_entries = 1000;
	conf.limits.max_layer_size = 64u << 20;
	if (!conf.store || store_open(&conf, NULL, &st, &err) != 0)
		goto fail;
	atexit(cleanup);
	return;
fail:
	fprintf(stderr, "fuzz-ingest: setup: %s\n", err.msg);
	abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!st)
		setup();
	struct src s = { data, size, 0 };
	struct layer_record rec;
	struct strata_error err = STRATA_ERROR_INIT;
	int r = ingest_stream(st, src_read, &s, NULL, NULL, NULL, NULL, &rec, &err);
	if (r == 0) {
		uint64_t freed = 0;
		struct strata_error e2 = STRATA_ERROR_INIT;
		if (layers_drop(st->sd, rec.lid, 1, &freed, &e2) != 0) {
			fprintf(stderr, "fuzz-ingest: drop: %s\n", e2.msg);
			abort();
		}
	} else if (!err.msg[0]) {
		fprintf(stderr, "fuzz-ingest: error %d without a message\n", r);
		abort();
	}
	return 0;
}
