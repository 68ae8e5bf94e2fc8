/* fuzz-target: java_manifest_parse 65536 */
/* libFuzzer target: the JAR manifest reader. Keys are never empty, sections
 * only grow, and (when no NUL byte cuts a string short) keys and values are
 * trimmed. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "analyzers/javameta.h"

static int space(char c)
{
	return c == ' ' || c == '\t' || c == '\v' || c == '\f' || c == '\r' || c == '\n';
}

struct state {
	unsigned last;
	int nul; /* the input holds a NUL byte */
};

static int row(void *ctx, unsigned section, const char *key, const char *value)
{
	struct state *s = ctx;
	size_t k = strlen(key), v = strlen(value);
	if (section < s->last || !k || strchr(key, ':'))
		abort();
	if (!s->nul && (space(key[0]) || space(key[k - 1]) ||
			(v && (space(value[0]) || space(value[v - 1])))))
		abort();
	s->last = section;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct state s = { 0, memchr(data, 0, size) != NULL };
	if (java_manifest_parse((const char *)data, size, row, &s) != 0)
		abort();
	return 0;
}
