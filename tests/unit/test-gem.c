/* test-gem: the gemspec reader against the peer vectors (tests/vectors/gem),
 * the literal forms RubyGems writes, what it must not guess, hostile input,
 * and the analyzer's claims. */
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

#include "gem.h"
#include "tap.h"

/* --- vector helpers (the same in test-dpkg, -apk, -python, -gem) --------- */

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
		if (o)
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
	nfound = 0;
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
	find_vectors("gem");
	is_int(nfound, 8, "all gem vectors found");
	for (size_t i = 0; i < nfound; i++) {
		const char *rel = found[i];
		int rc;
		json_t *out = parse_vector(rel, gem_spec_parse, &rc, &err);
		char tsv[4096];
		snprintf(tsv, sizeof(tsv), "%s/vectors/%s.expected.tsv", srcdir(), rel);
		rows_match(out, tsv, rel);
		if (ends_with(rel, "/malformed00.gemspec")) {
			is_int(rc, -EBADMSG, "%s: an error", rel);
			is_str(err.msg, "malformed gemspec: no name assigned on 'spec'", "%s: message", rel);
		} else if (ends_with(rel, "/malformed01.gemspec")) {
			is_int(rc, -EBADMSG, "%s: an error", rel);
			is_str(err.msg, "malformed gemspec: no version assigned on 's'", "%s: message", rel);
		} else {
			is_int(rc, 0, "%s: no error (%s)", rel, err.msg);
		}
		json_decref(out);
		free(found[i]);
	}
}

static void test_licenses(void)
{
	static const struct {
		const char *file, *license;
	} want[] = {
		{ "gem/gemspec/license.gemspec", "MIT" },
		{ "gem/gemspec/multiple_licenses.gemspec", "Ruby OR BSDL OR PSFL" },
		{ "gem/gemspec/normal00.gemspec", "MIT" },
		{ "gem/gemspec/normal01.gemspec", "MIT" },
		{ "gem/specifications/bundler.gemspec", "MIT" },
		{ "gem/specifications/formatador.gemspec", "MIT" },
	};
	struct strata_error err = STRATA_ERROR_INIT;
	for (size_t i = 0; i < sizeof(want) / sizeof(*want); i++) {
		int rc;
		json_t *out = parse_vector(want[i].file, gem_spec_parse, &rc, &err);
		is_str(rec_str(out, 0, "license"), want[i].license, "%s: license", want[i].file);
		is_str(rec_str(out, 0, "type"), "gem", "%s: type gem", want[i].file);
		json_decref(out);
	}
}

/* name and version of a gemspec text, "name version" or the error. */
static const char *nv(const char *text)
{
	static char buf[1200];
	struct strata_error err = STRATA_ERROR_INIT;
	int rc;
	json_t *out = parse_text(gem_spec_parse, text, &rc, &err);
	if (rc < 0)
		snprintf(buf, sizeof(buf), "error: %s", err.msg);
	else
		snprintf(buf, sizeof(buf), "%s %s|%s", rec_str(out, 0, "name"), rec_str(out, 0, "version"),
			 rec_str(out, 0, "license") ? rec_str(out, 0, "license") : "-");
	json_decref(out);
	return buf;
}

static void test_forms(void)
{
	is_str(nv("Gem::Specification.new do |s|\n  s.name = 'single'\n  s.version = '1.0'\nend\n"),
	       "single 1.0|-", "single quotes");
	is_str(nv("Gem::Specification.new do |g|\ng.name = %q{old}\ng.version = %q<0.8.7>\n"
		  "g.licenses = [%q(MIT), \"Apache-2.0\".freeze]\nend\n"),
	       "old 0.8.7|MIT OR Apache-2.0", "%%q forms, as RubyGems 1.x wrote them");
	is_str(nv("Gem::Specification.new do |s|\ns.name = \"v\"\ns.version = Gem::Version.new(\"2.0.1\")\nend\n"),
	       "v 2.0.1|-", "Gem::Version.new(...)");
	is_str(nv("Gem::Specification.new do |s|\ns.name = \"v\"\ns.version = Gem::Version.new \"3\"\nend\n"),
	       "v 3|-", "Gem::Version.new without parentheses");
	is_str(nv("Gem::Specification.new { |spec|\n\tspec.name=\"brace\"\n\tspec.version=\"1\".freeze\n}\n"),
	       "brace 1|-", "a brace block, no spaces around '='");
	is_str(nv("Gem::Specification.new do |s|\ns.name = \"esc\\\"aped\\u00e9\\u{41 42}\\x43\\101\"\n"
		  "s.version = \"1\"\nend\n"),
	       "esc\"aped\xc3\xa9" "ABCA 1|-", "double-quoted escapes");
	is_str(nv("Gem::Specification.new do |s|\ns.name = 'it\\'s\\\\'\ns.version = '1'\nend\n"),
	       "it's\\ 1|-", "single-quoted escapes");
	is_str(nv("Gem::Specification.new do |s|\ns.name = \"x-#{VERSION}\"\ns.version = \"1\"\nend\n"),
	       "error: malformed gemspec: no name assigned on 's'", "interpolation is not guessed");
	is_str(nv("Gem::Specification.new do |s|\ns.name = Foo::NAME\ns.version = \"1\"\nend\n"),
	       "error: malformed gemspec: no name assigned on 's'", "a constant is not guessed");
	is_str(nv("Gem::Specification.new do |s|\ns.name == \"cmp\"\ns.name = \"real\"\ns.version = \"1\"\nend\n"),
	       "real 1|-", "a comparison is not an assignment");
	is_str(nv("Gem::Specification.new do |s|\ns.name = \"first\"\ns.name = \"second\"\ns.version = \"1\"\nend\n"),
	       "first 1|-", "the first assignment counts");
	is_str(nv("Gem::Specification.new do |s|\ns.names = \"no\"\ns.name = \"yes\"\ns.version = \"1\"\nend\n"),
	       "yes 1|-", "s.names is another attribute");
	is_str(nv("Gem::Specification.new do |s|\n# s.name = \"comment\"\ns.name = \"x\"\ns.version = \"1\"\nend\n"),
	       "x 1|-", "a commented-out assignment");
	is_str(nv("Gem::Specification.new do |s|\ns.name = \"unterminated\ns.version = \"1\"\nend\n"),
	       "error: malformed gemspec: no name assigned on 's'", "a string not closed on its line");
	is_str(nv("Gem::Specification.new do |s|\ns.name = \"a\"\ns.version = \"\"\nend\n"),
	       "error: malformed gemspec: no version assigned on 's'", "an empty version is none");
	is_str(nv("s.name = \"a\"\ns.version = \"1\"\n"),
	       "error: malformed gemspec: no Gem::Specification.new block", "no block");
	is_str(nv("Gem::Specification.newer do |s|\nGem::Specification.new done |s|\n"
		  "Gem::Specification.new do |t|\nt.name = \"late\"\nt.version = \"1\"\n"),
	       "late 1|-", "false starts before the block");
	is_str(nv("Gem::Specification.new do |s|\r\n  s.name = \"crlf\"\r\n  s.version = \"1\"\r\nend\r\n"),
	       "crlf 1|-", "CRLF lines");
	is_str(nv("Gem::Specification.new do |s|\ns.name = \"nonl\"\ns.version = \"1\""), "nonl 1|-",
	       "no trailing newline");
	is_str(nv("Gem::Specification.new do |s|\ns.name = \"l\"\ns.version = \"1\"\ns.licenses = []\nend\n"),
	       "l 1|-", "an empty licence list");
	is_str(nv("Gem::Specification.new do |s|\ns.name = \"l\"\ns.version = \"1\"\ns.licenses = [\"A\", B]\n"
		  "s.license = \"C\"\nend\n"),
	       "l 1|C", "an unreadable list does not count; a later license does");

	struct strata_error err = STRATA_ERROR_INIT;
	int rc;
	static const char nul[] = "Gem::Specification.new do |s|\ns.name = \"a\0b\xff\"\ns.version = \"1\"\n";
	json_t *out = json_array();
	rc = gem_spec_parse(nul, sizeof(nul) - 1, out, &err);
	is_int(rc, 0, "NUL and invalid UTF-8 inside a string");
	char *dump = json_dumps(out, 0);
	ok(dump != NULL, "serialises: %s", dump ? dump : "(null)");
	free(dump);
	json_decref(out);
}

static void test_hostile(void)
{
	struct strata_error err = STRATA_ERROR_INIT;
	int rc;
	size_t big = 16u << 20;
	char *s = malloc(big + 256);

	/* A 16 MB unterminated string, then a 16 MB name. */
	strcpy(s, "Gem::Specification.new do |s|\ns.name = \"");
	size_t o = strlen(s);
	memset(s + o, 'x', big);
	strcpy(s + o + big, "\ns.version = \"1\"\n");
	double t = seconds();
	json_t *out = parse_text(gem_spec_parse, s, &rc, &err);
	is_int(rc, -EBADMSG, "a 16 MB unterminated string");
	printf("# " "in linear time (%.3f s)" " (timed: a figure, not a pass condition)\n", seconds() - t);
	json_decref(out);

	/* 1 M lines that look almost like assignments. */
	strcpy(s, "Gem::Specification.new do |s|\n");
	o = strlen(s);
	for (size_t i = 0; i < (1u << 20); i++) {
		memcpy(s + o, "s.name\n", 7);
		o += 7;
	}
	strcpy(s + o, "s.name = \"n\"\ns.version = \"1\"\n");
	t = seconds();
	out = parse_text(gem_spec_parse, s, &rc, &err);
	is_int(rc, 0, "1 M near-assignments");
	printf("# " "in linear time (%.3f s)" " (timed: a figure, not a pass condition)\n", seconds() - t);
	json_decref(out);

	/* 1 M false starts of the block marker. */
	o = 0;
	for (size_t i = 0; i < (1u << 19); i++) {
		memcpy(s + o, "Gem::Specification.new do |\n", 28);
		o += 28;
	}
	s[o] = '\0';
	t = seconds();
	out = parse_text(gem_spec_parse, s, &rc, &err);
	is_int(rc, -EBADMSG, "512 Ki false block starts");
	printf("# " "in linear time (%.3f s)" " (timed: a figure, not a pass condition)\n", seconds() - t);
	json_decref(out);

	/* Deep %q nesting on one line: a counter, not recursion. */
	strcpy(s, "Gem::Specification.new do |s|\ns.version = '1'\ns.name = %q");
	o = strlen(s);
	for (size_t i = 0; i < (1u << 20); i++)
		s[o++] = '(';
	for (size_t i = 0; i < (1u << 20); i++)
		s[o++] = ')';
	s[o] = '\0';
	out = parse_text(gem_spec_parse, s, &rc, &err);
	is_int(rc, 0, "1 M nested %%q parentheses");
	is_int(strlen(rec_str(out, 0, "name")), (2u << 20) - 2, "all kept but the outer pair");
	json_decref(out);

	srand(4);
	static const char alphabet[] = "Gem::Specification.new do |s|\ns.name = \"'%q{}()[]\\#u";
	for (int round = 0; round < 300; round++) {
		size_t n = (size_t)(rand() % 4096);
		size_t pre = round % 2 ? 0 : 30;
		memcpy(s, alphabet, pre);
		for (size_t i = pre; i < n; i++)
			s[i] = alphabet[rand() % (sizeof(alphabet) - 1)];
		out = json_array();
		error_clear(&err);
		rc = gem_spec_parse(s, n > pre ? n : pre, out, &err);
		if (rc != 0 && rc != -EBADMSG)
			break;
		json_decref(out);
		out = NULL;
	}
	ok(out == NULL, "random inputs give 0 or -EBADMSG");
	json_decref(out);
	free(s);
}

static void test_analyzer(void)
{
	is_str(analyzer_gem.name, "gem", "name");
	ok(claimed(&analyzer_gem, "/usr/local/bundle/specifications/rake-13.0.3.gemspec"), "claims a spec");
	ok(claimed(&analyzer_gem, "/usr/lib/ruby/gems/3.1.0/specifications/default/bundler-2.3.7.gemspec"),
	   "claims a default gem's spec");
	ok(!claimed(&analyzer_gem, "/app/rake.gemspec"), "not a gemspec outside specifications/");
	ok(!claimed(&analyzer_gem, "/x/specifications/rake.gemspec.bak"), "not another suffix");

	struct strata_error err = STRATA_ERROR_INIT;
	int rc;
	static const char text[] = "Gem::Specification.new do |s|\n s.name = \"rake\"\n s.version = \"13.0.3\"\nend\n";
	json_t *out = scan_text(&analyzer_gem, "/x/specifications/rake-13.0.3.gemspec", text, sizeof(text) - 1, &rc,
				&err);
	is_int(rc, 0, "scan through a file descriptor");
	is_str(rec_str(out, 0, "version"), "13.0.3", "scan: version");
	json_decref(out);
}

int main(void)
{
	test_vectors();
	test_licenses();
	test_forms();
	test_hostile();
	test_analyzer();
	return tap_done();
}
