/* fuzz-target: python_metadata_parse 65536 */
/* libFuzzer target: the Python METADATA / PKG-INFO, RECORD and top_level.txt
 * parsers. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "analyzers/python.h"

static void run(int (*fn)(const char *, size_t, json_t *, struct strata_error *), const uint8_t *data,
		size_t size, size_t max_records)
{
	struct strata_error err = STRATA_ERROR_INIT;
	json_t *out = json_array();
	int rc = fn((const char *)data, size, out, &err);
	if (rc != 0 && (rc != -EBADMSG || !err.msg[0]))
		abort();
	if (max_records && json_array_size(out) > max_records)
		abort();
	char *s = json_dumps(out, 0);
	if (!s)
		abort();
	free(s);
	json_decref(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	run(python_metadata_parse, data, size, 1); /* one distribution per file */
	run(python_record_parse, data, size, 0);
	run(python_top_level_parse, data, size, 0);
	return 0;
}
