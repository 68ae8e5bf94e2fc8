/* test-dpkg: the dpkg status parser against the peer vectors (tests/vectors/dpkg),
 * status states, field quirks, hostile input, and the analyzer's claims. */
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

#include "dpkg.h"
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
	find_vectors("dpkg");
	is_int(nfound, 11, "all dpkg vectors found");
	for (size_t i = 0; i < nfound; i++) {
		const char *rel = found[i];
		int md5 = ends_with(rel, ".md5sums"), rc;
		json_t *out = parse_vector(rel, md5 ? dpkg_md5sums_parse : dpkg_status_parse, &rc, &err);
		char tsv[4096];
		snprintf(tsv, sizeof(tsv), "%s/vectors/%s.expected.tsv", srcdir(), rel);
		rows_match(out, tsv, rel);
		if (ends_with(rel, "/corrupt")) {
			is_int(rc, -EBADMSG, "%s: an error", rel);
			ok(strstr(err.msg, "malformed dpkg status") != NULL, "%s: message '%s'", rel, err.msg);
		} else if (ends_with(rel, "/empty")) {
			ok(rc == 0 || rc == -EBADMSG, "%s: no package, error optional (%d)", rel, rc);
		} else {
			is_int(rc, 0, "%s: no error (%s)", rel, err.msg);
		}
		json_decref(out);
		free(found[i]);
	}
}

static void test_fields(void)
{
	struct strata_error err = STRATA_ERROR_INIT;
	int rc;
	json_t *out = parse_vector("dpkg/status.d/coreutils-relationships", dpkg_status_parse, &rc, &err);
	size_t i;
	json_t *rec;
	int seen = 0;
	json_array_foreach(out, i, rec) {
		const char *name = json_string_value(json_object_get(rec, "name"));
		is_str(json_string_value(json_object_get(rec, "type")), "deb", "type deb");
		if (!strcmp(name, "libselinux1")) {
			seen++;
			is_str(json_string_value(json_object_get(rec, "source")), "libselinux", "source name");
			is_str(json_string_value(json_object_get(rec, "source_version")), "3.4-1",
			       "source version from the parentheses");
		}
		if (!strcmp(name, "coreutils")) {
			seen++;
			ok(!json_object_get(rec, "source"), "no Source: gives no source");
			ok(json_is_integer(json_object_get(rec, "installed_size")), "installed_size is an integer");
			ok(json_string_value(json_object_get(rec, "maintainer")) != NULL, "maintainer present");
		}
	}
	is_int(seen, 2, "both checked packages present");
	json_decref(out);

	out = parse_vector("dpkg/status.d/single", dpkg_status_parse, &rc, &err);
	rec = json_array_get(out, 0);
	is_int(json_integer_value(json_object_get(rec, "installed_size")), 4064, "single: Installed-Size");
	is_str(json_string_value(json_object_get(rec, "maintainer")),
	       "APT Development Team <deity@lists.debian.org>", "single: maintainer");
	json_decref(out);
}

static void test_edge_cases(void)
{
	struct strata_error err = STRATA_ERROR_INIT;
	int rc;
	json_t *out;

	out = parse_text(dpkg_status_parse,
			 "Package: a\nStatus: install ok not-installed\nVersion: 1\n\n"
			 "Package: b\nStatus: install ok half-installed\n\n"
			 "Package: c\nStatus: install ok installed\nVersion: 3\n\n"
			 "Package: d\nStatus: purge ok config-files\n\n"
			 "Package: e\nstatus: hold ok installed\nversion: 5\nARCHITECTURE: amd64\n",
			 &rc, &err);
	is_int(rc, 0, "status variants parse");
	is_int(json_array_size(out), 2, "only installed states count");
	is_str(rec_str(out, 0, "name"), "c", "installed: c");
	is_str(rec_str(out, 1, "name"), "e", "field names are case-insensitive");
	is_str(rec_str(out, 1, "version"), "5", "lowercase version: field");
	is_str(rec_str(out, 1, "architecture"), "amd64", "uppercase Architecture field");
	json_decref(out);

	out = parse_text(dpkg_status_parse, "Package: crlf\r\nVersion: 1.0\r\nSource: s (2.0)\r\n\r\n", &rc, &err);
	is_int(json_array_size(out), 1, "CRLF lines");
	is_str(rec_str(out, 0, "version"), "1.0", "CR is not part of the value");
	is_str(rec_str(out, 0, "source_version"), "2.0", "source version with CRLF");
	json_decref(out);

	out = parse_text(dpkg_status_parse, "Package: nonl\nVersion: 9", &rc, &err);
	is_int(rc, 0, "no trailing newline");
	is_str(rec_str(out, 0, "version"), "9", "last line without newline is read");
	json_decref(out);

	out = parse_text(dpkg_status_parse,
			 " orphan continuation\nPackage: lost\n\nPackage: kept\nVersion: 1\n", &rc, &err);
	is_int(rc, -EBADMSG, "a continuation line first is an error");
	ok(strstr(err.msg, "line 1") != NULL, "error names the line: %s", err.msg);
	is_int(json_array_size(out), 1, "the bad stanza is dropped, the next one read");
	is_str(rec_str(out, 0, "name"), "kept", "the next stanza");
	json_decref(out);

	out = parse_text(dpkg_status_parse, "Package: x\nVersion: 1\nInstalled-Size: 12kB\nSource: (\n", &rc, &err);
	ok(!json_object_get(json_array_get(out, 0), "installed_size"), "a non-numeric size is left out");
	is_str(rec_str(out, 0, "source"), "", "a Source: of '(' gives an empty name");
	is_str(rec_str(out, 0, "source_version"), "", "and an empty version, no overread");
	json_decref(out);

	out = parse_text(dpkg_status_parse, "Package: x\nInstalled-Size: 99999999999999999999999\n", &rc, &err);
	ok(!json_object_get(json_array_get(out, 0), "installed_size"), "an overflowing size is left out");
	json_decref(out);

	out = parse_text(dpkg_status_parse, "Package: first\nPackage: second\n", &rc, &err);
	is_str(rec_str(out, 0, "name"), "first", "a repeated field: the first counts");
	json_decref(out);

	out = parse_text(dpkg_status_parse, "Package: \xff\xfe bad utf8\nVersion: 1\n", &rc, &err);
	is_int(json_array_size(out), 1, "invalid UTF-8 still gives a record");
	char *dump = json_dumps(out, 0);
	ok(dump && strstr(dump, "bad utf8"), "and it serialises: %s", dump ? dump : "(null)");
	free(dump);
	json_decref(out);

	/* NUL bytes inside values: the parser works on lengths, not C strings. */
	static const char nul[] = "Package: a\0b\nVersion: 1\0\n\nPackage: c\n";
	out = json_array();
	error_clear(&err);
	rc = dpkg_status_parse(nul, sizeof(nul) - 1, out, &err);
	is_int(json_array_size(out), 2, "NUL bytes do not end the input");
	json_decref(out);

	out = parse_text(dpkg_status_parse, "", &rc, &err);
	ok(rc == 0 && json_array_size(out) == 0, "empty input: nothing, no error");
	json_decref(out);
	out = parse_text(dpkg_status_parse, "\n\n  \n\t\n", &rc, &err);
	ok(rc == 0 && json_array_size(out) == 0, "blank lines only: nothing, no error");
	json_decref(out);

	out = parse_text(dpkg_md5sums_parse, "d41d8cd98f00b204e9800998ecf8427e *bin/x\nnot a line\n", &rc, &err);
	is_int(rc, -EBADMSG, "md5sums: a malformed line is an error");
	is_int(json_array_size(out), 1, "md5sums: good lines kept");
	is_str(rec_str(out, 0, "path"), "bin/x", "md5sums: binary-mode marker");
	json_decref(out);
}

static void test_hostile(void)
{
	struct strata_error err = STRATA_ERROR_INIT;
	int rc;
	size_t big = 16u << 20;
	char *s = malloc(big + 64);

	/* One 16 MB line. */
	strcpy(s, "Package: huge\nDescription: ");
	size_t o = strlen(s);
	memset(s + o, 'x', big);
	strcpy(s + o + big, "\nVersion: 1\n");
	double t = seconds();
	json_t *out = parse_text(dpkg_status_parse, s, &rc, &err);
	ok(rc == 0 && json_array_size(out) == 1, "a 16 MB line");
	printf("# " "in linear time (%.3f s)" " (timed: a figure, not a pass condition)\n", seconds() - t);
	json_decref(out);

	/* 1 MB of one-byte continuation lines, then a huge field value. */
	strcpy(s, "Package: cont\nDescription: d\n");
	o = strlen(s);
	for (size_t i = 0; i < (1u << 20); i++) {
		s[o++] = ' ';
		s[o++] = '\n';
	}
	s[o] = '\0';
	t = seconds();
	out = parse_text(dpkg_status_parse, s, &rc, &err);
	ok(rc == 0 && json_array_size(out) == 1, "1 M continuation lines");
	printf("# " "in linear time (%.3f s)" " (timed: a figure, not a pass condition)\n", seconds() - t);
	json_decref(out);

	/* 1 M tiny stanzas. */
	o = 0;
	for (size_t i = 0; i < (1u << 17); i++) {
		memcpy(s + o, "Package: p\n\n", 12);
		o += 12;
	}
	s[o] = '\0';
	t = seconds();
	out = parse_text(dpkg_status_parse, s, &rc, &err);
	is_int(json_array_size(out), (1u << 17), "128 Ki stanzas");
	printf("# " "in linear time (%.3f s)" " (timed: a figure, not a pass condition)\n", seconds() - t);
	json_decref(out);

	/* Random bytes: no crash, an answer either way. */
	srand(1);
	for (int round = 0; round < 200; round++) {
		size_t n = (size_t)(rand() % 4096);
		for (size_t i = 0; i < n; i++)
			s[i] = "Pa:ckge \n\t\r\0xSt"[rand() % 16];
		out = json_array();
		error_clear(&err);
		rc = dpkg_status_parse(s, n, out, &err);
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
	is_str(analyzer_dpkg.name, "dpkg", "name");
	is_int(analyzer_dpkg.version, 1, "version");
	ok(claimed(&analyzer_dpkg, "/var/lib/dpkg/status"), "claims the status file");
	ok(claimed(&analyzer_dpkg, "/var/lib/dpkg/status.d/libc6"), "claims a distroless entry");
	ok(!claimed(&analyzer_dpkg, "/var/lib/dpkg/status.d/libc6.md5sums"), "not its md5sums");
	ok(!claimed(&analyzer_dpkg, "/var/lib/dpkg/status-old"), "not status-old");
	ok(!claimed(&analyzer_dpkg, "/var/lib/dpkg/status.d/sub/x"), "not a nested file");
	ok(!claimed(&analyzer_dpkg, "/srv/var/lib/dpkg/status"), "not a status file elsewhere");

	struct strata_error err = STRATA_ERROR_INIT;
	int rc;
	static const char text[] = "Package: a\nVersion: 1\n\nPackage: b\nStatus: deinstall ok config-files\n";
	json_t *out = scan_text(&analyzer_dpkg, "/var/lib/dpkg/status", text, sizeof(text) - 1, &rc, &err);
	is_int(rc, 0, "scan through a file descriptor");
	is_int(json_array_size(out), 1, "scan: one installed package");
	is_str(rec_str(out, 0, "name"), "a", "scan: its name");
	json_decref(out);
}

int main(void)
{
	test_vectors();
	test_fields();
	test_edge_cases();
	test_hostile();
	test_analyzer();
	return tap_done();
}
