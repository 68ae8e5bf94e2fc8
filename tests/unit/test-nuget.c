/* test-nuget: the deps.json reader against the peer vectors
 * (tests/vectors/nuget, all four columns), the analyzer's choice of
 * packages, packages.lock.json, .nuspec and .nupkg, hostile input, claims. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "analyzers/nuget.h"
#include "tap.h"
#include "vectors.h"
#include "zipw.h"

static void test_vectors(void)
{
	struct vec_list vecs = VEC_LIST_INIT;
	struct strata_error err = STRATA_ERROR_INIT;
	vec_find_vectors(&vecs, "nuget");
	is_int(vecs.n, 10, "all nuget vectors found");
	for (size_t i = 0; i < vecs.n; i++) {
		const char *rel = vecs.path[i];
		int rc, rc2;
		json_t *rows = vec_parse_vector(rel, nuget_deps_json_rows, &rc, &err);
		vec_check_vector(rows, rel);
		if (vec_ends_with(rel, "/invalid.deps.json")) {
			is_int(rc, -EBADMSG, "%s: an error", rel);
			ok(strstr(err.msg, "malformed deps.json") != NULL, "%s: message '%s'", rel, err.msg);
		} else {
			is_int(rc, 0, "%s: no error (%s)", rel, err.msg);
		}
		/* The analyzer reports exactly the rows of type "package". */
		json_t *recs = vec_parse_vector(rel, nuget_deps_json_parse, &rc2, &err);
		is_int(rc2, rc, "%s: same result from the analyzer's parser", rel);
		size_t k = 0, match = 1, want = 0;
		for (size_t j = 0; j < json_array_size(rows); j++) {
			if (strcmp(vec_rec_str(rows, j, "type"), "package"))
				continue;
			want++;
			match &= k < json_array_size(recs) &&
				 !strcmp(vec_rec_str(recs, k, "name"), vec_rec_str(rows, j, "name")) &&
				 !strcmp(vec_rec_str(recs, k, "version"), vec_rec_str(rows, j, "version")) &&
				 !strcmp(vec_rec_str(recs, k, "type"), "nuget");
			k++;
		}
		ok(match && json_array_size(recs) == want, "%s: %zu package records", rel, want);
		json_decref(rows);
		json_decref(recs);
	}
	vec_list_release(&vecs);
}

/* trivy's reading of the same rows (README): type package, project or
 * runtimepack, runtime not "no", "runtimepack." removed; checks that the
 * columns carry what a test of either peer's choice needs. */
static void test_trivy_choice(void)
{
	struct strata_error err = STRATA_ERROR_INIT;
	int rc;
	json_t *rows = vec_parse_vector("nuget/core_deps/self-contained.deps.json", nuget_deps_json_rows,
				    &rc, &err);
	int n = 0, rt = 0;
	for (size_t j = 0; j < json_array_size(rows); j++) {
		const char *type = vec_rec_str(rows, j, "type"), *name = vec_rec_str(rows, j, "name");
		if (strcmp(vec_rec_str(rows, j, "runtime"), "no") &&
		    (!strcmp(type, "package") || !strcmp(type, "project") || !strcmp(type, "runtimepack")))
			n++;
		if (!strcmp(type, "runtimepack") && !strncmp(name, "runtimepack.", 12))
			rt++;
	}
	is_int(n, 4, "self-contained: trivy's 4 packages");
	is_int(rt, 2, "two runtimepack. names kept as written");
	json_decref(rows);
}

static void test_deps_edges(void)
{
	struct strata_error err = STRATA_ERROR_INIT;
	int rc;
	json_t *out;

	out = vec_parse_text(nuget_deps_json_rows,
			 "{\"libraries\":{\"NoSlash\":{\"type\":\"package\"},\"A/1/2\":{},"
			 "\"B/3\":{\"type\":5}}}", &rc, &err);
	is_int(rc, 0, "odd keys: no error");
	is_int(json_array_size(out), 3, "three rows");
	is_str(vec_rec_str(out, 0, "version"), "", "no '/': empty version");
	is_str(vec_rec_str(out, 1, "name"), "A", "split at the first '/'");
	is_str(vec_rec_str(out, 1, "version"), "1/2", "the rest is the version");
	is_str(vec_rec_str(out, 1, "type"), "", "no type: empty");
	is_str(vec_rec_str(out, 2, "type"), "", "a non-string type: empty");
	is_str(vec_rec_str(out, 0, "runtime"), "absent", "no runtime target: absent");
	json_decref(out);

	out = vec_parse_text(nuget_deps_json_rows,
			 "{\"runtimeTarget\":{\"name\":\"T\"},\"targets\":{\"T\":{"
			 "\"A/1\":{\"native\":{\"x.so\":{}}},\"B/1\":{\"runtime\":{}},\"C/1\":{\"runtimeTargets\":[]}}},"
			 "\"libraries\":{\"A/1\":{\"type\":\"package\"},\"B/1\":{\"type\":\"package\"},"
			 "\"C/1\":{\"type\":\"package\"},\"D/1\":{\"type\":\"package\"}}}", &rc, &err);
	is_str(vec_rec_str(out, 0, "runtime"), "yes", "native counts");
	is_str(vec_rec_str(out, 1, "runtime"), "no", "an empty runtime does not");
	is_str(vec_rec_str(out, 2, "runtime"), "no", "nor an empty runtimeTargets");
	is_str(vec_rec_str(out, 3, "runtime"), "absent", "missing from the target: absent");
	json_decref(out);

	static const char *const bad[] = { "[]", "", "{\"libraries\":[]}", "{\"libraries\":{}" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		out = vec_parse_text(nuget_deps_json_parse, bad[i], &rc, &err);
		ok(rc == -EBADMSG && err.msg[0] && json_array_size(out) == 0, "'%s' is an error: %s",
		   bad[i], err.msg);
		json_decref(out);
	}
}

static void test_lock(void)
{
	static const char lock[] =
		"{\n"
		"  \"version\": 1,\n"
		"  \"dependencies\": {\n"
		"    \"net6.0\": {\n"
		"      \"Newtonsoft.Json\": {\"type\": \"Direct\", \"requested\": \"[13.0.1, )\",\n"
		"                          \"resolved\": \"13.0.1\", \"contentHash\": \"x\"},\n"
		"      \"Serilog\": {\"type\": \"Transitive\", \"resolved\": \"2.10.0\"},\n"
		"      \"MyLib\": {\"type\": \"Project\"}\n"
		"    },\n"
		"    \"net7.0\": {\n"
		"      \"Newtonsoft.Json\": {\"type\": \"Direct\", \"resolved\": \"13.0.1\"},\n"
		"      \"Serilog\": {\"type\": \"Transitive\", \"resolved\": \"3.0.0\"},\n"
		"      \"Odd\": {\"resolved\": 3}\n"
		"    },\n"
		"    \"bad\": [1, 2]\n"
		"  }\n"
		"}\n";
	struct strata_error err = STRATA_ERROR_INIT;
	int rc;
	json_t *out = vec_parse_text(nuget_packages_lock_parse, lock, &rc, &err);
	is_int(rc, 0, "packages.lock.json: no error");
	is_int(json_array_size(out), 3, "three distinct resolved packages");
	is_str(vec_rec_str(out, 0, "name"), "Newtonsoft.Json", "first name");
	is_str(vec_rec_str(out, 0, "version"), "13.0.1", "first version");
	is_str(vec_rec_str(out, 1, "name"), "Serilog", "second");
	is_str(vec_rec_str(out, 2, "version"), "3.0.0", "a second version of one name is its own package");
	is_str(vec_rec_str(out, 2, "type"), "nuget", "type nuget");
	json_decref(out);

	out = vec_parse_text(nuget_packages_lock_parse, "{\"version\":1}", &rc, &err);
	ok(rc == 0 && json_array_size(out) == 0, "no dependencies: nothing, no error");
	json_decref(out);
	out = vec_parse_text(nuget_packages_lock_parse, "{\"dependencies\":", &rc, &err);
	ok(rc == -EBADMSG && strstr(err.msg, "packages.lock.json"), "truncated: %s", err.msg);
	json_decref(out);
}

static const char nuspec[] =
	"\xEF\xBB\xBF<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
	"<!-- a comment with <id>wrong</id> in it -->\n"
	"<package xmlns=\"http://schemas.microsoft.com/packaging/2013/05/nuspec.xsd\">\n"
	"  <metadata minClientVersion=\"2.12\">\n"
	"    <id>Newtonsoft.Json</id>\n"
	"    <version>\n      13.0.1\n    </version>\n"
	"    <title>Json.NET &amp; friends</title>\n"
	"    <license type=\"expression\">MIT</license>\n"
	"    <dependencies><group targetFramework=\"net6.0\"><dependency id=\"X\" version=\"1\" />"
	"</group></dependencies>\n"
	"  </metadata>\n"
	"  <files><file src=\"a\"><id>also wrong</id></file></files>\n"
	"</package>\n";

static void test_nuspec(void)
{
	struct strata_error err = STRATA_ERROR_INIT;
	int rc;
	json_t *out = vec_parse_text(nuget_nuspec_parse, nuspec, &rc, &err);
	is_int(rc, 0, "nuspec: no error (%s)", err.msg);
	is_int(json_array_size(out), 1, "one record");
	is_str(vec_rec_str(out, 0, "name"), "Newtonsoft.Json", "id");
	is_str(vec_rec_str(out, 0, "version"), "13.0.1", "version trimmed");
	is_str(vec_rec_str(out, 0, "license"), "MIT", "license expression");
	is_str(vec_rec_str(out, 0, "type"), "nuget", "type");
	json_decref(out);

	out = vec_parse_text(nuget_nuspec_parse,
			 "<ns:package xmlns:ns='x'><ns:metadata><ns:id>A&#x42;&#67;&lt;&bogus;&amp</ns:id>"
			 "<ns:version><![CDATA[1.0<beta>]]></ns:version>"
			 "<ns:license type='file'>LICENSE.txt</ns:license></ns:metadata></ns:package>",
			 &rc, &err);
	is_int(rc, 0, "prefixed names, references, CDATA: no error");
	is_str(vec_rec_str(out, 0, "name"), "ABC<&bogus;&amp", "references resolved, unknown ones kept");
	is_str(vec_rec_str(out, 0, "version"), "1.0<beta>", "CDATA kept as written");
	ok(vec_rec_str(out, 0, "license") == NULL, "a licence file is not a licence expression");
	json_decref(out);

	static const char *const bad[] = {
		"", "<package><metadata><version>1</version></metadata></package>",
		"<metadata><id>x</id></metadata>", "<package><id>x</id></package>",
		"<package><metadata><id/></metadata></package>", "<<<<>>>>", "<package",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		out = vec_parse_text(nuget_nuspec_parse, bad[i], &rc, &err);
		ok(rc == -EBADMSG && json_array_size(out) == 0, "'%s': no id, an error (%s)", bad[i],
		   err.msg);
		json_decref(out);
	}

	/* Cut short inside the id: what is there is kept. */
	out = vec_parse_text(nuget_nuspec_parse, "<package><metadata><id>Trunc", &rc, &err);
	is_str(vec_rec_str(out, 0, "name"), "Trunc", "an id cut short by the end of input");
	json_decref(out);

	/* Linear in the input: a megabyte of nested tags and of '<'. */
	size_t n = 1 << 20;
	char *big = malloc(n + 1);
	for (size_t i = 0; i < n; i++)
		big[i] = "<a>"[i % 3];
	big[n] = '\0';
	double t = vec_seconds();
	out = vec_parse_text(nuget_nuspec_parse, big, &rc, &err);
	json_decref(out);
	memset(big, '<', n);
	out = vec_parse_text(nuget_nuspec_parse, big, &rc, &err);
	json_decref(out);
	printf("# hostile nuspecs parsed in %.2f s (timed: a figure, not a pass condition)\n", vec_seconds() - t);
	free(big);
}

static json_t *scan_buf(const char *path, const struct buf *b, int *rc, struct strata_error *err)
{
	return vec_scan_text(&analyzer_nuget, path, b->data, b->len, rc, err);
}

static void test_nupkg(void)
{
	struct strata_error err = STRATA_ERROR_INIT;
	struct zipw z = ZIPW_INIT;
	struct buf pkg;
	int rc;
	zipw_adds(&z, "_rels/.rels", "<Relationships/>");
	zipw_adds(&z, "lib/net6.0/x.nuspec", "<package><metadata><id>Wrong</id></metadata></package>");
	zipw_add(&z, "Newtonsoft.Json.nuspec", nuspec, sizeof(nuspec) - 1);
	zipw_adds(&z, "lib/net6.0/Newtonsoft.Json.dll", "MZ");
	zipw_finish(&z, &pkg);
	json_t *out = scan_buf("/root/.nuget/packages/newtonsoft.json/13.0.1/"
			       "newtonsoft.json.13.0.1.nupkg", &pkg, &rc, &err);
	is_int(rc, 0, "nupkg: no error (%s)", err.msg);
	is_int(json_array_size(out), 1, "nupkg: one record, from the root .nuspec");
	is_str(vec_rec_str(out, 0, "name"), "Newtonsoft.Json", "nupkg: id");
	is_str(vec_rec_str(out, 0, "version"), "13.0.1", "nupkg: version");
	json_decref(out);
	buf_release(&pkg);

	zipw_adds(&z, "lib/a.dll", "MZ");
	zipw_finish(&z, &pkg);
	out = scan_buf("/x/a.nupkg", &pkg, &rc, &err);
	ok(rc == -EBADMSG && strstr(err.msg, "no .nuspec"), "nupkg without .nuspec: %s", err.msg);
	json_decref(out);
	buf_release(&pkg);

	out = vec_scan_text(&analyzer_nuget, "/x/b.nupkg", "not a zip at all", 16, &rc, &err);
	ok(rc < 0 && err.msg[0] && json_array_size(out) == 0, "not a zip: %s", err.msg);
	json_decref(out);

	static const char deps[] = "{\"libraries\":{\"A/1.0\":{\"type\":\"package\"},"
				   "\"App/1.0\":{\"type\":\"project\"}}}";
	out = vec_scan_text(&analyzer_nuget, "/app/App.deps.json", deps, sizeof(deps) - 1, &rc, &err);
	ok(rc == 0 && json_array_size(out) == 1 && !strcmp(vec_rec_str(out, 0, "name"), "A"),
	   "deps.json through the analyzer: the package only");
	json_decref(out);
	static const char lock[] = "{\"dependencies\":{\"net8.0\":{\"B\":{\"resolved\":\"2.0\"}}}}";
	out = vec_scan_text(&analyzer_nuget, "/src/packages.lock.json", lock, sizeof(lock) - 1, &rc, &err);
	ok(rc == 0 && json_array_size(out) == 1 && !strcmp(vec_rec_str(out, 0, "name"), "B"),
	   "packages.lock.json through the analyzer");
	json_decref(out);
}

static void test_claims(void)
{
	static const struct {
		const char *path;
		int want;
	} cases[] = {
		{ "/app/MyApp.deps.json", 1 },
		{ "/usr/share/dotnet/shared/Microsoft.NETCore.App/8.0.0/Microsoft.NETCore.App.deps.json", 1 },
		{ "/src/app/packages.lock.json", 1 },
		{ "/root/.nuget/packages/serilog/2.10.0/serilog.2.10.0.nupkg", 1 },
		{ "/app/deps.json", 0 },
		{ "/app/MyApp.runtimeconfig.json", 0 },
		{ "/app/packages.lock.json.orig", 0 },
		{ "/app/mypackages.lock.json", 0 },
		{ "/app/x.nupkg.sha512", 0 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		is_int(vec_claimed(&analyzer_nuget, cases[i].path), cases[i].want, "claims %s",
		       cases[i].path);
	is_str(analyzer_nuget.name, "nuget", "analyzer name");
}

int main(void)
{
	test_vectors();
	test_trivy_choice();
	test_deps_edges();
	test_lock();
	test_nuspec();
	test_nupkg();
	test_claims();
	return tap_done();
}
