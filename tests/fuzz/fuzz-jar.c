/* fuzz-target: java_archive_parse 262144 */
/* libFuzzer target: the Java archive walk (zip reading through libarchive,
 * nested archives, the row rules) on an in-memory archive, with limits
 * lowered so that a bomb costs little. Every record must serialize and
 * name its archive; every failure must say why. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "analyzers/java.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct analyzer_limits l;
	analyzer_limits_default(&l);
	l.max_file_size = 4u << 20;
	l.archive_max_bytes = 16u << 20;
	l.archive_depth = 4;
	struct strata_error err = STRATA_ERROR_INIT;
	json_t *out = json_array();
	int r = java_archive_parse(data, size, "fuzz-1.0.jar", &l, out, &err);
	if (r < 0 && !err.msg[0])
		abort();
	for (size_t i = 0; i < json_array_size(out); i++) {
		json_t *rec = json_array_get(out, i);
		if (!json_string_value(json_object_get(rec, "archive")) ||
		    !json_string_value(json_object_get(rec, "evidence")) ||
		    strcmp(json_string_value(json_object_get(rec, "type")), "maven"))
			abort();
	}
	char *s = json_dumps(out, 0);
	if (!s)
		abort();
	free(s);
	json_decref(out);
	return 0;
}
