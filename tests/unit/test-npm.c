/* test-npm: the package.json reader against the peer vectors
 * (tests/vectors/npm), licence forms, hostile input, and the claim rule. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "npm.h"
#include "tap.h"

/* --- vector helpers (the same in test-dpkg, -apk, -python, -gem, -npm, -nuget, -java) --------- */

typedef int (*parse_fn)(const char *data, size_t len, json_t *out, struct strata_error *err);

static const char *srcdir(void)
{
	const char *s = getenv("TEST_SRCDIR");
	return s && *s ? s : "tests";
}

/* Reads a whole file; the caller frees *data. Exits 99 when it cannot. */
static void slurp(const char *path, char **data, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		printf("Bail out! cannot open %s\n", path);
		exit(99);
	}
	size_t alloc = 4096, n = 0;
	char *p = malloc(alloc);
	for (;;) {
		if (!p)
			exit(99);
		n += fread(p + n, 1, alloc - n - 1, f);
		if (n < alloc - 1)
			break;
		alloc *= 2;
		p = realloc(p, alloc);
	}
	fclose(f);
	p[n] = '\0';
	*data = p;
	*len = n;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* One TSV row of a record, columns named by the header line cols (tab-
 * separated): strings as they are, integers in decimal, absent keys as "". */
static char *record_row(json_t *rec, const char *cols)
{
	char out[8192] = "", key[128];
	size_t o = 0;
	for (const char *c = cols; *c;) {
		size_t k = strcspn(c, "\t\n");
		snprintf(key, sizeof(key), "%.*s", (int)k, c);
		json_t *v = json_object_get(rec, key);
		if (c != cols) /* not "if (o)": the first column may be empty */
			o += snprintf(out + o, sizeof(out) - o, "\t");
		if (json_is_string(v))
			o += snprintf(out + o, sizeof(out) - o, "%s", json_string_value(v));
		else if (json_is_integer(v))
			o += snprintf(out + o, sizeof(out) - o, "%lld", (long long)json_integer_value(v));
		if (o >= sizeof(out))
			o = sizeof(out) - 1;
		c += k;
		if (*c != '\t')
			break;
		c++;
	}
	return strdup(out);
}

/* Compares the records in got with the rows of the .expected.tsv file at
 * path, as sets of rows (multisets: a duplicate row must be duplicated). */
static int rows_match(json_t *got, const char *tsv_path, const char *what)
{
	char *tsv;
	size_t len;
	slurp(tsv_path, &tsv, &len);
	char *cols = tsv, *body = strchr(tsv, '\n');
	if (!body) {
		printf("Bail out! %s has no header line\n", tsv_path);
		exit(99);
	}
	*body++ = '\0';
	size_t nwant = 0, ngot = json_array_size(got);
	char **want = calloc(len + 1, sizeof(*want));
	for (char *l = body; *l;) {
		char *nl = strchr(l, '\n');
		if (nl)
			*nl = '\0';
		want[nwant++] = strdup(l);
		if (!nl)
			break;
		l = nl + 1;
	}
	char **have = calloc(ngot + 1, sizeof(*have));
	for (size_t i = 0; i < ngot; i++)
		have[i] = record_row(json_array_get(got, i), cols);
	qsort(want, nwant, sizeof(*want), cmp_str);
	qsort(have, ngot, sizeof(*have), cmp_str);
	int same = nwant == ngot;
	for (size_t i = 0; same && i < nwant; i++)
		same = !strcmp(want[i], have[i]);
	if (!ok(same, "%s: %zu rows as expected", what, nwant)) {
		for (size_t i = 0; i < nwant; i++)
			printf("#   want: %s\n", want[i]);
		for (size_t i = 0; i < ngot; i++)
			printf("#   got:  %s\n", have[i]);
	}
	for (size_t i = 0; i < nwant; i++)
		free(want[i]);
	for (size_t i = 0; i < ngot; i++)
		free(have[i]);
	free(want);
	free(have);
	free(tsv);
	return same;
}

/* Runs fn over a vector input (path relative to tests/vectors/) and returns
 * the records (the caller json_decref()s them); *rc gets fn's result. */
static json_t *parse_vector(const char *rel, parse_fn fn, int *rc, struct strata_error *err)
{
	char path[4096];
	char *data;
	size_t len;
	snprintf(path, sizeof(path), "%s/vectors/%s", srcdir(), rel);
	slurp(path, &data, &len);
	json_t *out = json_array();
	error_clear(err);
	*rc = fn(data, len, out, err);
	free(data);
	return out;
}

/* Every *.expected.tsv under tests/vectors/<dir>, as paths relative to
 * tests/vectors/ with the suffix removed (the inputs), sorted. */
static char *found[256];
static size_t nfound;
static const char *find_base;

static int find_cb(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	static const char suffix[] = ".expected.tsv";
	size_t n = strlen(path), s = sizeof(suffix) - 1;
	if (type == FTW_F && n > s && !strcmp(path + n - s, suffix) && nfound < 256)
		found[nfound++] = strndup(path + strlen(find_base) + 1, n - s - strlen(find_base) - 1);
	return 0;
}

static void find_vectors(const char *dir)
{
	static char base[4096];
	char top[4096];
	snprintf(base, sizeof(base), "%s/vectors", srcdir());
	snprintf(top, sizeof(top), "%s/%s", base, dir);
	find_base = base;
	while (nfound)
		free(found[--nfound]);
	if (nftw(top, find_cb, 16, FTW_PHYS) != 0) {
		printf("Bail out! cannot walk %s\n", top);
		exit(99);
	}
	qsort(found, nfound, sizeof(*found), cmp_str);
}

__attribute__((unused)) static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && !strcmp(s + n - m, suffix);
}

/* Wall-clock seconds, for the linear-time checks. */
__attribute__((unused)) static double seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Parses a NUL-terminated literal; returns the records, *rc the result. */
static json_t *parse_text(parse_fn fn, const char *text, int *rc, struct strata_error *err)
{
	json_t *out = json_array();
	error_clear(err);
	*rc = fn(text, strlen(text), out, err);
	return out;
}

__attribute__((unused)) static const char *rec_str(json_t *out, size_t i, const char *key)
{
	return json_string_value(json_object_get(json_array_get(out, i), key));
}

/* Whether the walk would hand path to a: a pattern matches (fnmatch flags
 * 0, as the walk does) and the finer claims() test, if any, agrees. */
static int claimed(const struct analyzer *a, const char *path)
{
	int hit = a->patterns == NULL;
	for (size_t i = 0; a->patterns && a->patterns[i]; i++)
		if (fnmatch(a->patterns[i], path, 0) == 0)
			hit = 1;
	return hit && (!a->claims || a->claims(path, 100, NULL));
}

/* Runs a's scan over text through a real file descriptor, as the walk does. */
static json_t *scan_text(const struct analyzer *a, const char *path, const char *text, size_t len,
			 int *rc, struct strata_error *err)
{
	char tmp[] = "/tmp/test-analyzer.XXXXXX";
	int fd = mkstemp(tmp);
	if (fd < 0 || write(fd, text, len) != (ssize_t)len) {
		printf("Bail out! cannot write %s\n", tmp);
		exit(99);
	}
	unlink(tmp);
	struct analyzer_limits limits;
	analyzer_limits_default(&limits);
	struct analyzer_file f = { .fd = fd, .path = path, .size = len, .limits = &limits };
	json_t *out = json_array();
	error_clear(err);
	*rc = a->scan(&f, out, err);
	close(fd);
	return out;
}

/* --- end of vector helpers ---------------------------------------------- */

static void test_vectors(void)
{
	struct strata_error err = STRATA_ERROR_INIT;
	find_vectors("npm");
	is_int(nfound, 20, "all npm vectors found");
	for (size_t i = 0; i < nfound; i++) {
		const char *rel = found[i];
		int rc;
		json_t *out = parse_vector(rel, npm_package_json_parse, &rc, &err);
		char tsv[4096];
		snprintf(tsv, sizeof(tsv), "%s/vectors/%s.expected.tsv", srcdir(), rel);
		rows_match(out, tsv, rel);
		if (!strcmp(rel, "npm/corrupt/package.json")) {
			is_int(rc, -EBADMSG, "%s: an error", rel);
			ok(strstr(err.msg, "malformed package.json") != NULL, "%s: message '%s'", rel,
			   err.msg);
		} else {
			is_int(rc, 0, "%s: no error (%s)", rel, err.msg);
		}
		for (size_t k = 0; k < json_array_size(out); k++)
			is_str(rec_str(out, k, "type"), "npm", "%s: type npm", rel);
		json_decref(out);
	}
}

/* The licence a vector's package.json gives, or NULL. */
static char *vector_license(const char *rel)
{
	struct strata_error err = STRATA_ERROR_INIT;
	int rc;
	json_t *out = parse_vector(rel, npm_package_json_parse, &rc, &err);
	const char *s = rec_str(out, 0, "license");
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
	json_t *out = parse_text(npm_package_json_parse,
				 "{\"name\":\"a\",\"license\":{\"url\":\"x\"},"
				 "\"licenses\":[\"BSD-3-Clause\",{\"type\":\"\"},7,{\"type\":\"GPL-2.0\"}]}",
				 &rc, &err);
	is_str(rec_str(out, 0, "license"), "BSD-3-Clause OR GPL-2.0",
	       "an unusable license falls back to licenses, bad entries skipped");
	is_str(rec_str(out, 0, "version"), "", "no version: empty");
	json_decref(out);
}

static void test_edges(void)
{
	struct strata_error err = STRATA_ERROR_INIT;
	int rc;
	json_t *out;

	out = parse_text(npm_package_json_parse, "\xEF\xBB\xBF{\"name\":\"bom\",\"version\":\"1.0.0\"}", &rc, &err);
	is_int(rc, 0, "a byte order mark is skipped");
	is_str(rec_str(out, 0, "name"), "bom", "name after a BOM");
	json_decref(out);

	out = parse_text(npm_package_json_parse, "{\"name\":\"@scope/pkg\",\"version\":\"2.0.0-rc.1+b\"}", &rc, &err);
	is_str(rec_str(out, 0, "name"), "@scope/pkg", "scoped name kept as written");
	is_str(rec_str(out, 0, "version"), "2.0.0-rc.1+b", "version verbatim");
	json_decref(out);

	out = parse_text(npm_package_json_parse, "{\"version\":\"1.2.3\"}", &rc, &err);
	is_int(json_array_size(out), 1, "version alone gives a package");
	is_str(rec_str(out, 0, "name"), "", "with an empty name");
	json_decref(out);

	out = parse_text(npm_package_json_parse, "{\"name\":5,\"version\":[1]}", &rc, &err);
	is_int(rc, 0, "non-string name and version: no error");
	is_int(json_array_size(out), 0, "and no package");
	json_decref(out);

	static const char *const bad[] = { "[]", "\"x\"", "", "{", "{\"name\":\"a\"} x", "null" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		out = parse_text(npm_package_json_parse, bad[i], &rc, &err);
		ok(rc == -EBADMSG && err.msg[0] && json_array_size(out) == 0,
		   "'%s' is an error: %s", bad[i], err.msg);
		json_decref(out);
	}

	/* Invalid UTF-8 would break the report: jansson refuses it. */
	out = parse_text(npm_package_json_parse, "{\"name\":\"a\xff\",\"version\":\"1\"}", &rc, &err);
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
	out = parse_text(npm_package_json_parse, deep, &rc, &err);
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
		is_int(claimed(&analyzer_npm, cases[i].path), cases[i].want, "claims %s", cases[i].path);
	is_str(analyzer_npm.name, "npm", "analyzer name");
	is_int(analyzer_npm.keyed_by_name, 0, "not keyed by name");
}

static void test_scan(void)
{
	struct strata_error err = STRATA_ERROR_INIT;
	int rc;
	static const char text[] = "{\"name\":\"left-pad\",\"version\":\"1.3.0\",\"license\":\"WTFPL\"}";
	json_t *out = scan_text(&analyzer_npm, "/app/node_modules/left-pad/package.json", text,
				sizeof(text) - 1, &rc, &err);
	is_int(rc, 0, "scan through an fd");
	is_int(json_array_size(out), 1, "one record");
	is_str(rec_str(out, 0, "name"), "left-pad", "name");
	is_str(rec_str(out, 0, "version"), "1.3.0", "version");
	is_str(rec_str(out, 0, "license"), "WTFPL", "license");
	json_decref(out);
}

int main(void)
{
	test_vectors();
	test_licenses();
	test_edges();
	test_claims();
	test_scan();
	return tap_done();
}
