/* fuzz-target: auth_parse_challenge 1024 */
/* libFuzzer target: auth_parse_challenge (a registry's WWW-Authenticate). */
#include "config.h"

#include <stdlib.h>

#include "src/registry/auth.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_cstr(data, size);
	struct auth_challenge c;
	if (auth_parse_challenge(s, &c) == 0) {
		if (!c.scheme)
			abort();
		auth_challenge_release(&c);
	}
	free(s);
	return 0;
}
