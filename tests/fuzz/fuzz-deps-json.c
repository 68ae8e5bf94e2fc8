/* fuzz-target: nuget_deps_json_rows 65536 */
/* libFuzzer target: the nuget readers on the same bytes: deps.json (all
 * rows, and the analyzer's packages, which must be the rows of type
 * "package"), packages.lock.json and .nuspec. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "analyzers/nuget.h"

static void check(json_t *out, int r, const struct strata_error *err)
{
	if (r < 0 && !err->msg[0])
		abort();
	char *s = json_dumps(out, 0);
	if (!s)
		abort();
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *d = (const char *)data;
	struct strata_error e1 = STRATA_ERROR_INIT, e2 = STRATA_ERROR_INIT;
	json_t *rows = json_array(), *recs = json_array();
	int r1 = nuget_deps_json_rows(d, size, rows, &e1);
	int r2 = nuget_deps_json_parse(d, size, recs, &e2);
	check(rows, r1, &e1);
	check(recs, r2, &e2);
	if (r1 != r2)
		abort();
	size_t packages = 0;
	for (size_t i = 0; i < json_array_size(rows); i++) {
		json_t *row = json_array_get(rows, i);
		const char *rt = json_string_value(json_object_get(row, "runtime"));
		if (!rt || (strcmp(rt, "yes") && strcmp(rt, "no") && strcmp(rt, "absent")))
			abort();
		packages += !strcmp(json_string_value(json_object_get(row, "type")), "package");
	}
	if (r1 == 0 && packages != json_array_size(recs))
		abort();
	json_decref(rows);
	json_decref(recs);

	struct strata_error e3 = STRATA_ERROR_INIT, e4 = STRATA_ERROR_INIT;
	json_t *lock = json_array(), *spec = json_array();
	check(lock, nuget_packages_lock_parse(d, size, lock, &e3), &e3);
	int r4 = nuget_nuspec_parse(d, size, spec, &e4);
	check(spec, r4, &e4);
	if ((r4 == 0) != (json_array_size(spec) == 1))
		abort();
	json_decref(lock);
	json_decref(spec);
	return 0;
}
