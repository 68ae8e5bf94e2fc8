/* fuzz-target: rpm_header_parse 65536 */
/* libFuzzer target: rpm_header_parse on one header blob as the rpm database
 * stores it. A record must be valid JSON with a name; a refusal must say why. */
#include "config.h"

#include <stdlib.h>

#include "fuzz.h"
#include "analyzers/rpm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct strata_error err = STRATA_ERROR_INIT;
	json_t *rec = NULL;

	if (rpm_header_parse(data, size, &rec, &err) == 0) {
		if (!rec || !json_is_string(json_object_get(rec, "name")) ||
		    !json_is_string(json_object_get(rec, "version")))
			abort();
		/* Whatever bytes the header held, the record must dump to JSON
		 * that reads back the same (invalid UTF-8 degraded). */
		char *s = json_dumps(rec, 0);
		json_t *again = s ? json_loads(s, 0, NULL) : NULL;
		if (!again || !json_equal(again, rec))
			abort();
		json_decref(again);
		free(s);
		json_decref(rec);
	} else if (rec || err.code == 0 || !err.msg[0]) {
		abort();
	}
	return 0;
}
