/* test-nuget: the deps.json reader against the peer vectors
 * (tests/vectors/nuget, all four columns), the analyzer's choice of
 * packages, packages.lock.json, .nuspec and .nupkg, hostile input, claims. */
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
#include <zlib.h>

#include <jansson.h>

#include "nuget.h"
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

/* --- a minimal zip writer (the same in test-java and test-nuget) -------- */

/* An archive being built in memory: local entries in data, the central
 * directory in cd. */
struct zipw {
	struct buf data, cd;
	unsigned n;
};

static void put16(struct buf *b, unsigned v)
{
	unsigned char x[2] = { (unsigned char)v, (unsigned char)(v >> 8) };
	buf_add(b, x, 2);
}

static void put32(struct buf *b, uint32_t v)
{
	put16(b, v & 0xFFFF);
	put16(b, v >> 16);
}

/* Adds an entry whose stored bytes are given as they are: method 0
 * (stored, raw = the content) or 8 (raw = a raw deflate stream); crc and
 * usize are what the headers claim about the content. */
static void zipw_add_raw(struct zipw *z, const char *name, int method, uint32_t crc,
			 const void *raw, size_t rawlen, uint64_t usize)
{
	size_t off = z->data.len, nlen = strlen(name);
	unsigned flags = 0;
	for (size_t i = 0; i < nlen; i++)
		if ((unsigned char)name[i] >= 0x80)
			flags = 0x800; /* the name is UTF-8, as zip tools mark it */
	put32(&z->data, 0x04034b50);
	put16(&z->data, 20);
	put16(&z->data, flags);
	put16(&z->data, (unsigned)method);
	put16(&z->data, 0);
	put16(&z->data, 0x21);
	put32(&z->data, crc);
	put32(&z->data, (uint32_t)rawlen);
	put32(&z->data, (uint32_t)usize);
	put16(&z->data, (unsigned)nlen);
	put16(&z->data, 0);
	buf_add(&z->data, name, nlen);
	buf_add(&z->data, raw, rawlen);
	put32(&z->cd, 0x02014b50);
	put16(&z->cd, 20);
	put16(&z->cd, 20);
	put16(&z->cd, flags);
	put16(&z->cd, (unsigned)method);
	put16(&z->cd, 0);
	put16(&z->cd, 0x21);
	put32(&z->cd, crc);
	put32(&z->cd, (uint32_t)rawlen);
	put32(&z->cd, (uint32_t)usize);
	put16(&z->cd, (unsigned)nlen);
	put16(&z->cd, 0);
	put16(&z->cd, 0);
	put16(&z->cd, 0);
	put16(&z->cd, 0);
	put32(&z->cd, 0);
	put32(&z->cd, (uint32_t)off);
	buf_add(&z->cd, name, nlen);
	z->n++;
}

static void zipw_add(struct zipw *z, const char *name, const void *data, size_t len)
{
	uint32_t crc = (uint32_t)crc32(0, data, (uInt)len);
	zipw_add_raw(z, name, 0, crc, data, len, len);
}

static void zipw_adds(struct zipw *z, const char *name, const char *text)
{
	zipw_add(z, name, text, strlen(text));
}

/* Finishes the archive; returns it in out (release it with buf_release)
 * and leaves z empty. */
static void zipw_finish(struct zipw *z, struct buf *out)
{
	size_t cdoff = z->data.len;
	buf_add(&z->data, z->cd.data, z->cd.len);
	put32(&z->data, 0x06054b50);
	put16(&z->data, 0);
	put16(&z->data, 0);
	put16(&z->data, z->n);
	put16(&z->data, z->n);
	put32(&z->data, (uint32_t)z->cd.len);
	put32(&z->data, (uint32_t)cdoff);
	put16(&z->data, 0);
	*out = z->data;
	buf_release(&z->cd);
	buf_init(&z->data, 0);
	z->n = 0;
}

/* --- end of the zip writer ------------------------------------------------ */

static void test_vectors(void)
{
	struct strata_error err = STRATA_ERROR_INIT;
	find_vectors("nuget");
	is_int(nfound, 10, "all nuget vectors found");
	for (size_t i = 0; i < nfound; i++) {
		const char *rel = found[i];
		int rc, rc2;
		json_t *rows = parse_vector(rel, nuget_deps_json_rows, &rc, &err);
		char tsv[4096];
		snprintf(tsv, sizeof(tsv), "%s/vectors/%s.expected.tsv", srcdir(), rel);
		rows_match(rows, tsv, rel);
		if (ends_with(rel, "/invalid.deps.json")) {
			is_int(rc, -EBADMSG, "%s: an error", rel);
			ok(strstr(err.msg, "malformed deps.json") != NULL, "%s: message '%s'", rel, err.msg);
		} else {
			is_int(rc, 0, "%s: no error (%s)", rel, err.msg);
		}
		/* The analyzer reports exactly the rows of type "package". */
		json_t *recs = parse_vector(rel, nuget_deps_json_parse, &rc2, &err);
		is_int(rc2, rc, "%s: same result from the analyzer's parser", rel);
		size_t k = 0, match = 1, want = 0;
		for (size_t j = 0; j < json_array_size(rows); j++) {
			if (strcmp(rec_str(rows, j, "type"), "package"))
				continue;
			want++;
			match &= k < json_array_size(recs) &&
				 !strcmp(rec_str(recs, k, "name"), rec_str(rows, j, "name")) &&
				 !strcmp(rec_str(recs, k, "version"), rec_str(rows, j, "version")) &&
				 !strcmp(rec_str(recs, k, "type"), "nuget");
			k++;
		}
		ok(match && json_array_size(recs) == want, "%s: %zu package records", rel, want);
		json_decref(rows);
		json_decref(recs);
	}
}

/* trivy's reading of the same rows (README): type package, project or
 * runtimepack, runtime not "no", "runtimepack." removed; checks that the
 * columns carry what a test of either peer's choice needs. */
static void test_trivy_choice(void)
{
	struct strata_error err = STRATA_ERROR_INIT;
	int rc;
	json_t *rows = parse_vector("nuget/core_deps/self-contained.deps.json", nuget_deps_json_rows,
				    &rc, &err);
	int n = 0, rt = 0;
	for (size_t j = 0; j < json_array_size(rows); j++) {
		const char *type = rec_str(rows, j, "type"), *name = rec_str(rows, j, "name");
		if (strcmp(rec_str(rows, j, "runtime"), "no") &&
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

	out = parse_text(nuget_deps_json_rows,
			 "{\"libraries\":{\"NoSlash\":{\"type\":\"package\"},\"A/1/2\":{},"
			 "\"B/3\":{\"type\":5}}}", &rc, &err);
	is_int(rc, 0, "odd keys: no error");
	is_int(json_array_size(out), 3, "three rows");
	is_str(rec_str(out, 0, "version"), "", "no '/': empty version");
	is_str(rec_str(out, 1, "name"), "A", "split at the first '/'");
	is_str(rec_str(out, 1, "version"), "1/2", "the rest is the version");
	is_str(rec_str(out, 1, "type"), "", "no type: empty");
	is_str(rec_str(out, 2, "type"), "", "a non-string type: empty");
	is_str(rec_str(out, 0, "runtime"), "absent", "no runtime target: absent");
	json_decref(out);

	out = parse_text(nuget_deps_json_rows,
			 "{\"runtimeTarget\":{\"name\":\"T\"},\"targets\":{\"T\":{"
			 "\"A/1\":{\"native\":{\"x.so\":{}}},\"B/1\":{\"runtime\":{}},\"C/1\":{\"runtimeTargets\":[]}}},"
			 "\"libraries\":{\"A/1\":{\"type\":\"package\"},\"B/1\":{\"type\":\"package\"},"
			 "\"C/1\":{\"type\":\"package\"},\"D/1\":{\"type\":\"package\"}}}", &rc, &err);
	is_str(rec_str(out, 0, "runtime"), "yes", "native counts");
	is_str(rec_str(out, 1, "runtime"), "no", "an empty runtime does not");
	is_str(rec_str(out, 2, "runtime"), "no", "nor an empty runtimeTargets");
	is_str(rec_str(out, 3, "runtime"), "absent", "missing from the target: absent");
	json_decref(out);

	static const char *const bad[] = { "[]", "", "{\"libraries\":[]}", "{\"libraries\":{}" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		out = parse_text(nuget_deps_json_parse, bad[i], &rc, &err);
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
	json_t *out = parse_text(nuget_packages_lock_parse, lock, &rc, &err);
	is_int(rc, 0, "packages.lock.json: no error");
	is_int(json_array_size(out), 3, "three distinct resolved packages");
	is_str(rec_str(out, 0, "name"), "Newtonsoft.Json", "first name");
	is_str(rec_str(out, 0, "version"), "13.0.1", "first version");
	is_str(rec_str(out, 1, "name"), "Serilog", "second");
	is_str(rec_str(out, 2, "version"), "3.0.0", "a second version of one name is its own package");
	is_str(rec_str(out, 2, "type"), "nuget", "type nuget");
	json_decref(out);

	out = parse_text(nuget_packages_lock_parse, "{\"version\":1}", &rc, &err);
	ok(rc == 0 && json_array_size(out) == 0, "no dependencies: nothing, no error");
	json_decref(out);
	out = parse_text(nuget_packages_lock_parse, "{\"dependencies\":", &rc, &err);
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
	json_t *out = parse_text(nuget_nuspec_parse, nuspec, &rc, &err);
	is_int(rc, 0, "nuspec: no error (%s)", err.msg);
	is_int(json_array_size(out), 1, "one record");
	is_str(rec_str(out, 0, "name"), "Newtonsoft.Json", "id");
	is_str(rec_str(out, 0, "version"), "13.0.1", "version trimmed");
	is_str(rec_str(out, 0, "license"), "MIT", "license expression");
	is_str(rec_str(out, 0, "type"), "nuget", "type");
	json_decref(out);

	out = parse_text(nuget_nuspec_parse,
			 "<ns:package xmlns:ns='x'><ns:metadata><ns:id>A&#x42;&#67;&lt;&bogus;&amp</ns:id>"
			 "<ns:version><![CDATA[1.0<beta>]]></ns:version>"
			 "<ns:license type='file'>LICENSE.txt</ns:license></ns:metadata></ns:package>",
			 &rc, &err);
	is_int(rc, 0, "prefixed names, references, CDATA: no error");
	is_str(rec_str(out, 0, "name"), "ABC<&bogus;&amp", "references resolved, unknown ones kept");
	is_str(rec_str(out, 0, "version"), "1.0<beta>", "CDATA kept as written");
	ok(rec_str(out, 0, "license") == NULL, "a licence file is not a licence expression");
	json_decref(out);

	static const char *const bad[] = {
		"", "<package><metadata><version>1</version></metadata></package>",
		"<metadata><id>x</id></metadata>", "<package><id>x</id></package>",
		"<package><metadata><id/></metadata></package>", "<<<<>>>>", "<package",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		out = parse_text(nuget_nuspec_parse, bad[i], &rc, &err);
		ok(rc == -EBADMSG && json_array_size(out) == 0, "'%s': no id, an error (%s)", bad[i],
		   err.msg);
		json_decref(out);
	}

	/* Cut short inside the id: what is there is kept. */
	out = parse_text(nuget_nuspec_parse, "<package><metadata><id>Trunc", &rc, &err);
	is_str(rec_str(out, 0, "name"), "Trunc", "an id cut short by the end of input");
	json_decref(out);

	/* Linear in the input: a megabyte of nested tags and of '<'. */
	size_t n = 1 << 20;
	char *big = malloc(n + 1);
	for (size_t i = 0; i < n; i++)
		big[i] = "<a>"[i % 3];
	big[n] = '\0';
	double t = seconds();
	out = parse_text(nuget_nuspec_parse, big, &rc, &err);
	json_decref(out);
	memset(big, '<', n);
	out = parse_text(nuget_nuspec_parse, big, &rc, &err);
	json_decref(out);
	printf("# hostile nuspecs parsed in %.2f s (timed: a figure, not a pass condition)\n", seconds() - t);
	free(big);
}

static json_t *scan_buf(const char *path, const struct buf *b, int *rc, struct strata_error *err)
{
	return scan_text(&analyzer_nuget, path, b->data, b->len, rc, err);
}

static void test_nupkg(void)
{
	struct strata_error err = STRATA_ERROR_INIT;
	struct zipw z = { BUF_INIT, BUF_INIT, 0 };
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
	is_str(rec_str(out, 0, "name"), "Newtonsoft.Json", "nupkg: id");
	is_str(rec_str(out, 0, "version"), "13.0.1", "nupkg: version");
	json_decref(out);
	buf_release(&pkg);

	zipw_adds(&z, "lib/a.dll", "MZ");
	zipw_finish(&z, &pkg);
	out = scan_buf("/x/a.nupkg", &pkg, &rc, &err);
	ok(rc == -EBADMSG && strstr(err.msg, "no .nuspec"), "nupkg without .nuspec: %s", err.msg);
	json_decref(out);
	buf_release(&pkg);

	out = scan_text(&analyzer_nuget, "/x/b.nupkg", "not a zip at all", 16, &rc, &err);
	ok(rc < 0 && err.msg[0] && json_array_size(out) == 0, "not a zip: %s", err.msg);
	json_decref(out);

	static const char deps[] = "{\"libraries\":{\"A/1.0\":{\"type\":\"package\"},"
				   "\"App/1.0\":{\"type\":\"project\"}}}";
	out = scan_text(&analyzer_nuget, "/app/App.deps.json", deps, sizeof(deps) - 1, &rc, &err);
	ok(rc == 0 && json_array_size(out) == 1 && !strcmp(rec_str(out, 0, "name"), "A"),
	   "deps.json through the analyzer: the package only");
	json_decref(out);
	static const char lock[] = "{\"dependencies\":{\"net8.0\":{\"B\":{\"resolved\":\"2.0\"}}}}";
	out = scan_text(&analyzer_nuget, "/src/packages.lock.json", lock, sizeof(lock) - 1, &rc, &err);
	ok(rc == 0 && json_array_size(out) == 1 && !strcmp(rec_str(out, 0, "name"), "B"),
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
		is_int(claimed(&analyzer_nuget, cases[i].path), cases[i].want, "claims %s",
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
