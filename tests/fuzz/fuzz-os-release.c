/* fuzz-target: os_release_parse 65536 */
/* libFuzzer target: the os-release parser. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "analyzers/distro.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct strata_error err = STRATA_ERROR_INIT;
	json_t *o = NULL;
	if (os_release_parse((const char *)data, size, &o, &err) != 0 || !json_is_object(o))
		abort(); /* only running out of memory may fail */
	if (json_object_size(o) > 5)
		abort();
	const char *key;
	json_t *v;
	json_object_foreach(o, key, v) {
		if (!json_is_string(v) || (strcmp(key, "id") && strcmp(key, "version_id") && strcmp(key, "name") &&
					   strcmp(key, "pretty_name") && strcmp(key, "version_codename")))
			abort();
	}
	char *s = json_dumps(o, 0);
	if (!s)
		abort();
	free(s);
	json_decref(o);
	return 0;
}
