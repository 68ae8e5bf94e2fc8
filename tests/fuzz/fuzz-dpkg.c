/* fuzz-target: dpkg_status_parse 65536 */
/* libFuzzer target: the dpkg status and .md5sums parsers. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "analyzers/dpkg.h"
#include "fuzz.h"

/* Every record a package with a name string, every failure explained, the whole
 * array serialisable (invalid UTF-8 must have been degraded). */
static void check(int rc, json_t *out, const struct strata_error *err, int packages)
{
	if (rc != 0 && (rc != -EBADMSG || !err->msg[0]))
		abort();
	size_t i;
	json_t *rec;
	json_array_foreach(out, i, rec) {
		/* name is a string; it can be empty only when record_set_strn's
		 * lossy fallback cut an invalid UTF-8 value at a NUL byte. */
		if (packages && (strcmp(json_string_value(json_object_get(rec, "type")), "deb") ||
				 !json_is_string(json_object_get(rec, "name"))))
			abort();
	}
	char *s = json_dumps(out, 0);
	if (!s)
		abort();
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct strata_error err = STRATA_ERROR_INIT;
	json_t *out = json_array();
	int rc = dpkg_status_parse((const char *)data, size, out, &err);
	check(rc, out, &err, 1);
	json_decref(out);

	error_clear(&err);
	out = json_array();
	rc = dpkg_md5sums_parse((const char *)data, size, out, &err);
	check(rc, out, &err, 0);
	json_decref(out);
	return 0;
}
