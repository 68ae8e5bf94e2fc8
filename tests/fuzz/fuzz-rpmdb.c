/* fuzz-target: rpmdb_parse 262144 */
/* libFuzzer target: rpmdb_parse on a whole rpm database image (SQLite,
 * Berkeley DB hash or NDB, told apart by content). Every record must be
 * valid JSON; every failure must say why. */
#include "config.h"

#include <stdlib.h>

#include "fuzz.h"
#include "analyzers/rpm.h"
#include "analyzers/rpmdb.h"

static int count_blob(const void *blob, size_t len, void *arg)
{
	(*(size_t *)arg)++;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct strata_error err = STRATA_ERROR_INIT, err2 = STRATA_ERROR_INIT;
	json_t *out = json_array();
	size_t blobs = 0;

	if (!out)
		abort();
	int r = rpmdb_parse(data, size, out, &err);
	if (r < 0 && (err.code == 0 || !err.msg[0]))
		abort();
	char *s = json_dumps(out, 0);
	json_t *again = s ? json_loads(s, 0, NULL) : NULL;
	if (!again || !json_equal(again, out))
		abort();
	/* The container walk alone sees at least one blob per record. */
	int r2 = rpmdb_foreach(data, size, count_blob, &blobs, &err2);
	if (blobs < json_array_size(out) || (r2 < 0 && !err2.msg[0]))
		abort();
	json_decref(again);
	free(s);
	json_decref(out);
	return 0;
}
