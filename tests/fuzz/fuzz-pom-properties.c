/* fuzz-target: java_pom_properties_parse 65536 */
/* libFuzzer target: the java.util.Properties reader and the pom.properties
 * fields on top of it. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "analyzers/javameta.h"

static int count(void *ctx, const char *key, const char *value)
{
	(*(size_t *)ctx)++;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct java_pom pom;
	memset(&pom, 0, sizeof(pom));
	if (java_pom_properties_parse((const char *)data, size, &pom) != 0)
		abort();
	java_pom_release(&pom);
	size_t n = 0;
	if (java_properties_parse((const char *)data, size, count, &n) != 0 || n > size)
		abort();
	return 0;
}
