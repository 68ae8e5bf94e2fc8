/* fuzz-target: npm_package_json_parse 65536 */
/* libFuzzer target: the package.json reader. Every record must serialize
 * (valid UTF-8), and every failure must say why. */
#include "config.h"

#include <stdlib.h>

#include "fuzz.h"
#include "analyzers/npm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct strata_error err = STRATA_ERROR_INIT;
	json_t *out = json_array();
	int r = npm_package_json_parse((const char *)data, size, out, &err);
	if (r < 0 && (!err.msg[0] || json_array_size(out) != 0))
		abort();
	if (json_array_size(out) > 1)
		abort();
	char *s = json_dumps(out, 0);
	if (!s)
		abort();
	free(s);
	json_decref(out);
	return 0;
}
