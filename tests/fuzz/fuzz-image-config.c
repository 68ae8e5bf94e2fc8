/* fuzz-target: image_config_parse 16384 */
/* libFuzzer target: image_config_parse. */
#include "config.h"

#include <stdlib.h>

#include "src/base/digest.h"
#include "fuzz.h"
#include "src/registry/manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *doc = malloc(size ? size : 1);
	if (!doc)
		abort();
	memcpy(doc, data, size);
	struct image_config c;
	struct strata_error err = STRATA_ERROR_INIT;
	if (image_config_parse(doc, size, &c, &err) == 0) {
		for (size_t i = 0; i < c.n_diff_ids; i++)
			if (!digest_valid(c.diff_ids[i]))
				abort(); /* the header promises validated digests */
		image_config_release(&c);
	} else if (!err.msg[0]) {
		abort();
	}
	free(doc);
	return 0;
}
