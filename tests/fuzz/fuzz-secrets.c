/* fuzz-target: secrets_scan_buffer 65536 */
/* libFuzzer target: secrets_scan_buffer on arbitrary bytes, in one go and in
 * blocks whose size the first byte picks (the input is not shifted).
 * Every record must be well formed, and both ways must find the same. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "analyzers/secrets.h"

static void check_records(json_t *out, const uint8_t *data, size_t size)
{
	size_t lines = 1;
	for (size_t i = 0; i < size; i++)
		lines += data[i] == '\n';
	size_t i;
	json_t *r;
	json_array_foreach(out, i, r) {
		const char *rule = json_string_value(json_object_get(r, "rule"));
		const char *match = json_string_value(json_object_get(r, "match"));
		json_int_t line = json_integer_value(json_object_get(r, "line"));
		if (!rule || !*rule || !match || !json_string_value(json_object_get(r, "title")) ||
		    !json_string_value(json_object_get(r, "severity")))
			abort();
		if (line < 1 || (size_t)line > lines)
			abort();
		if (strlen(match) > SECRETS_SHOW_MAX || strchr(match, '\n') || strchr(match, '\r'))
			abort();
	}
	if (json_array_size(out) > SECRETS_MAX_FINDINGS)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct strata_error err = STRATA_ERROR_INIT, err2 = STRATA_ERROR_INIT;
	json_t *whole = json_array(), *split = json_array();
	if (!whole || !split)
		abort();
	/* Not NUL-terminated on purpose: the scan takes a length. */
	char *copy = malloc(size ? size : 1);
	if (!copy)
		abort();
	memcpy(copy, data, size);
	int r1 = secrets_scan_buffer(copy, size, whole, &err);
	if (r1 < 0 && !err.msg[0])
		abort(); /* every failure says why */
	size_t block = !size ? 1 : data[0] < 32 ? 1u + data[0] : 64u * data[0];
	int r2 = secrets_scan_buffer_blocks(copy, size, block, split, &err2);
	if (r2 < 0 && !err2.msg[0])
		abort();
	check_records(whole, data, size);
	check_records(split, data, size);
	/* Confirmation windows are placed by the hits alone: block boundaries
	 * change nothing. */
	char *a = json_dumps(whole, JSON_SORT_KEYS), *b = json_dumps(split, JSON_SORT_KEYS);
	if (!a || !b || r1 != r2 || strcmp(a, b))
		abort();
	free(a);
	free(b);
	json_decref(whole);
	json_decref(split);
	free(copy);
	return 0;
}
