/* fuzz-target: ref_parse 512 */
/* libFuzzer target: ref_parse and the helpers that read a parsed reference. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "src/registry/ref.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_cstr(data, size);
	struct image_ref r;
	struct strata_error err = STRATA_ERROR_INIT;
	memset(&r, 0, sizeof(r));
	if (ref_parse(s, &r, &err) == 0) {
		/* A parsed name must parse again, and to the same name: it is what
		 * is stored. Known exception: a layout directory with a ':' in it
		 * (the name "oci:/d/a:b" reads back as directory /d/a, tag b). */
		struct image_ref again;
		struct strata_error err2 = STRATA_ERROR_INIT;
		memset(&again, 0, sizeof(again));
		if (!r.name || ref_parse(r.name, &again, &err2) != 0)
			abort();
		if (!(r.file && strchr(r.file, ':')) && strcmp(again.name, r.name) != 0)
			abort();
		ref_release(&again);
		if (r.transport == REF_DOCKER) {
			free(ref_repository(&r));
			ref_host_is_loopback(r.domain);
		}
		ref_reference(&r);
		ref_release(&r);
	} else if (err.code == 0 || !err.msg[0]) {
		abort(); /* every failure says why */
	}
	ref_host_is_loopback(s);
	free(s);
	return 0;
}
