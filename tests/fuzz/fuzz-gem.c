/* fuzz-target: gem_spec_parse 65536 */
/* libFuzzer target: the gemspec reader. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "analyzers/gem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct strata_error err = STRATA_ERROR_INIT;
	json_t *out = json_array();
	int rc = gem_spec_parse((const char *)data, size, out, &err);
	if (rc != 0 && (rc != -EBADMSG || !err.msg[0]))
		abort();
	/* A record exactly when it succeeded, with name and version strings
	 * (empty only when record_set_strn's lossy fallback cut an invalid
	 * UTF-8 value at a NUL byte). */
	if (json_array_size(out) != (rc == 0 ? 1u : 0u))
		abort();
	if (rc == 0 && (!json_is_string(json_object_get(json_array_get(out, 0), "name")) ||
			!json_is_string(json_object_get(json_array_get(out, 0), "version"))))
		abort();
	char *s = json_dumps(out, 0);
	if (!s)
		abort();
	free(s);
	json_decref(out);
	return 0;
}
