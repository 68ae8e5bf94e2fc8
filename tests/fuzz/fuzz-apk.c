/* fuzz-target: apk_installed_parse 65536 */
/* libFuzzer target: the apk installed-database parser. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "analyzers/apk.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct strata_error err = STRATA_ERROR_INIT;
	json_t *out = json_array();
	int rc = apk_installed_parse((const char *)data, size, out, &err);
	if (rc != 0 && (rc != -EBADMSG || !err.msg[0]))
		abort();
	size_t i;
	json_t *rec;
	json_array_foreach(out, i, rec) {
		/* name is a string; it can be empty only when record_set_strn's
		 * lossy fallback cut an invalid UTF-8 value at a NUL byte. */
		if (strcmp(json_string_value(json_object_get(rec, "type")), "apk") ||
		    !json_is_string(json_object_get(rec, "name")))
			abort();
	}
	char *s = json_dumps(out, 0);
	if (!s)
		abort();
	free(s);
	json_decref(out);
	return 0;
}
