/* test-npm: the package.json reader against the peer vectors
 * (tests/vectors/npm), licence forms, hostile input, and the claim rule. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "analyzers/npm.h"
#include "tap.h"
#include "vectors.h"

static void test_vectors(void)
{
	struct vec_list vecs = VEC_LIST_INIT;
	struct strata_error err = STRATA_ERROR_INIT;
	vec_find_vectors(&vecs, "npm");
	is_int(vecs.n, 20, "all npm vectors found");
	for (size_t i = 0; i < vecs.n; i++) {
		const char *rel = vecs.path[i];
		int rc;
		json_t *out = vec_parse_vector(rel, npm_package_json_parse, &rc, &err);
		vec_check_vector(out, rel);
		if (!strcmp(rel, "npm/corrupt/package.json")) {
			is_int(rc, -EBADMSG, "%s: an error", rel);
			ok(strstr(err.msg, "malformed package.json") != NULL, "%s: message '%s'", rel,
			   err.msg);
		} else {
			is_int(rc, 0, "%s: no error (%s)", rel, err.msg);
		}
		for (size_t k = 0; k < json_array_size(out); k++)
			is_str(vec_rec_str(out, k, "type"), "npm", "%s: type npm", rel);
		json_decref(out);
	}
	vec_list_release(&vecs);
}

/* The licence a vector's package.json gives, or NULL. */
static char *vector_license(const char *rel)
{
	struct strata_error err = STRATA_ERROR_INIT;
	int rc;
	json_t *out = vec_parse_vector(rel, npm_package_json_parse, &rc, &err);
	const char *s = vec_rec_str(out, 0, "license");
	char *copy = s ? strdup(s) : NULL;
	json_decref(out);
	return copy;
}

static void test_licenses(void)
{
	static const struct {
		const char *rel, *want;
	} cases[] = {
		{ "npm/pkg-json/package.json", "Artistic-2.0" },
		{ "npm/pkg-json/package-license-object.json", "ISC" },
		{ "npm/pkg-json/package-license-objects.json", "MIT OR Apache-2.0" },
		{ "npm/pkg-json/package-malformed-license.json", "MIT" },
		{ "npm/pkg-json/package-no-license.json", NULL },
		/* "licenses" inside "scripts" is not the licence field */
		{ "npm/pkg-json/package-private.json", "Artistic-2.0" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = vector_license(cases[i].rel);
		is_str(got, cases[i].want, "%s: license", cases[i].rel);
		free(got);
	}
	struct strata_error err = STRATA_ERROR_INIT;
	int rc;
	json_t *out = vec_parse_text(npm_package_json_parse,
				 "{\"name\":\"a\",\"license\":{\"url\":\"x\"},"
				 "\"licenses\":[\"BSD-3-Clause\",{\"type\":\"\"},7,{\"type\":\"GPL-2.0\"}]}",
				 &rc, &err);
	is_str(vec_rec_str(out, 0, "license"), "BSD-3-Clause OR GPL-2.0",
	       "an unusable license falls back to licenses, bad entries skipped");
	is_str(vec_rec_str(out, 0, "version"), "", "no version: empty");
	json_decref(out);
}

static void test_edges(void)
{
	struct strata_error err = STRATA_ERROR_INIT;
	int rc;
	json_t *out;

	out = vec_parse_text(npm_package_json_parse, "\xEF\xBB\xBF{\"name\":\"bom\",\"version\":\"1.0.0\"}", &rc, &err);
	is_int(rc, 0, "a byte order mark is skipped");
	is_str(vec_rec_str(out, 0, "name"), "bom", "name after a BOM");
	json_decref(out);

	out = vec_parse_text(npm_package_json_parse, "{\"name\":\"@scope/pkg\",\"version\":\"2.0.0-rc.1+b\"}", &rc, &err);
	is_str(vec_rec_str(out, 0, "name"), "@scope/pkg", "scoped name kept as written");
	is_str(vec_rec_str(out, 0, "version"), "2.0.0-rc.1+b", "version verbatim");
	json_decref(out);

	out = vec_parse_text(npm_package_json_parse, "{\"version\":\"1.2.3\"}", &rc, &err);
	is_int(json_array_size(out), 1, "version alone gives a package");
	is_str(vec_rec_str(out, 0, "name"), "", "with an empty name");
	json_decref(out);

	out = vec_parse_text(npm_package_json_parse, "{\"name\":5,\"version\":[1]}", &rc, &err);
	is_int(rc, 0, "non-string name and version: no error");
	is_int(json_array_size(out), 0, "and no package");
	json_decref(out);

	static const char *const bad[] = { "[]", "\"x\"", "", "{", "{\"name\":\"a\"} x", "null" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		out = vec_parse_text(npm_package_json_parse, bad[i], &rc, &err);
		ok(rc == -EBADMSG && err.msg[0] && json_array_size(out) == 0,
		   "'%s' is an error: %s", bad[i], err.msg);
		json_decref(out);
	}

	/* Invalid UTF-8 would break the report: jansson refuses it. */
	out = vec_parse_text(npm_package_json_parse, "{\"name\":\"a\xff\",\"version\":\"1\"}", &rc, &err);
	is_int(rc, -EBADMSG, "invalid UTF-8 is malformed JSON");
	json_decref(out);

	/* Deep nesting is bounded by the parser, not the stack. */
	size_t depth = 200000;
	char *deep = malloc(depth * 2 + 64);
	size_t o = (size_t)sprintf(deep, "{\"name\":\"d\",\"x\":");
	for (size_t i = 0; i < depth; i++)
		deep[o++] = '[';
	for (size_t i = 0; i < depth; i++)
		deep[o++] = ']';
	deep[o++] = '}';
	deep[o] = '\0';
	out = vec_parse_text(npm_package_json_parse, deep, &rc, &err);
	is_int(rc, -EBADMSG, "200000 nested arrays: an error, no crash");
	json_decref(out);
	free(deep);
}

static void test_claims(void)
{
	static const struct {
		const char *path;
		int want;
	} cases[] = {
		{ "/app/package.json", 1 },
		{ "/package.json", 1 },
		{ "/usr/src/app/node_modules/express/package.json", 1 },
		{ "/usr/src/app/node_modules/@babel/core/package.json", 1 },
		{ "/app/node_modules/a/node_modules/b/package.json", 1 },
		{ "/app/node_modules/a/node_modules/@s/b/package.json", 1 },
		{ "/app/node_modules/.pnpm/a@1.0.0/node_modules/a/package.json", 1 },
		{ "/usr/lib/node_modules/npm/package.json", 1 },
		{ "/app/node_modules/a/lib/package.json", 0 },
		{ "/app/node_modules/a/test/fixtures/package.json", 0 },
		{ "/app/node_modules/@s/b/lib/package.json", 0 },
		{ "/app/node_modules/package.json", 0 },
		{ "/app/node_modules/@scope/package.json", 0 },
		{ "/app/mypackage.json", 0 },
		{ "/app/package.json.bak", 0 },
		{ "/app/package-lock.json", 0 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		is_int(vec_claimed(&analyzer_npm, cases[i].path), cases[i].want, "claims %s", cases[i].path);
	is_str(analyzer_npm.name, "npm", "analyzer name");
	is_int(analyzer_npm.keyed_by_name, 0, "not keyed by name");
}

static void test_scan(void)
{
	struct strata_error err = STRATA_ERROR_INIT;
	int rc;
	static const char text[] = "{\"name\":\"left-pad\",\"version\":\"1.3.0\",\"license\":\"WTFPL\"}";
	json_t *out = vec_scan_text(&analyzer_npm, "/app/node_modules/left-pad/package.json", text,
				sizeof(text) - 1, &rc, &err);
	is_int(rc, 0, "scan through an fd");
	is_int(json_array_size(out), 1, "one record");
	is_str(vec_rec_str(out, 0, "name"), "left-pad", "name");
	is_str(vec_rec_str(out, 0, "version"), "1.3.0", "version");
	is_str(vec_rec_str(out, 0, "license"), "WTFPL", "license");
	json_decref(out);
}

static json_t *npm_records(const char *rel, int *rc, struct strata_error *err)
{
	return vec_parse_vector(rel, npm_package_json_parse, rc, err);
}

/* Licences, normalized, against the peers' expectations. */
static void test_peer_licenses(void)
{
	vec_check_licenses("npm", npm_records);
	struct strata_error err = STRATA_ERROR_INIT;
	int rc;
	json_t *out = vec_parse_text(npm_package_json_parse,
				     "{\"name\":\"a\",\"version\":\"1\",\"license\":\"(MIT OR Apache-2.0)\"}", &rc, &err);
	char *l = vec_licenses_text(json_array_get(out, 0));
	is_str(l, "(MIT OR Apache-2.0)", "an SPDX expression stays one");
	free(l);
	json_decref(out);
	out = vec_parse_text(npm_package_json_parse, "{\"name\":\"a\",\"license\":\"SEE LICENSE IN LICENSE\"}", &rc, &err);
	l = vec_licenses_text(json_array_get(out, 0));
	is_str(l, "SEE LICENSE IN LICENSE", "a text stays text");
	free(l);
	json_decref(out);
}

int main(void)
{
	test_vectors();
	test_licenses();
	test_edges();
	test_claims();
	test_scan();
	test_peer_licenses();
	return tap_done();
}
