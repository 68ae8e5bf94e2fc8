/* test-apk: the apk installed-database parser against the peer vectors
 * (tests/vectors/apk), malformed lines, hostile input, and the analyzer. */
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

#include "apk.h"
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
	find_vectors("apk");
	is_int(nfound, 6, "all apk vectors found");
	for (size_t i = 0; i < nfound; i++) {
		const char *rel = found[i];
		int rc;
		json_t *out = parse_vector(rel, apk_installed_parse, &rc, &err);
		char tsv[4096];
		snprintf(tsv, sizeof(tsv), "%s/vectors/%s.expected.tsv", srcdir(), rel);
		if (strstr(rel, "/corrupt/")) {
			is_int(rc, -EBADMSG, "%s: an error", rel);
			ok(strstr(err.msg, "line 1") != NULL, "%s: message names line 1: %s", rel, err.msg);
			/* The README accepts the error alone or the error plus the
			 * well-formed entry after the bad line; this parser gives the
			 * latter, so check exactly that. */
			is_int(json_array_size(out), 1, "%s: the entry after the bad line is kept", rel);
			is_str(rec_str(out, 0, "name"), "alpine-baselayout-data", "%s: its name", rel);
			is_str(rec_str(out, 0, "version"), "3.2.0-r22", "%s: its version", rel);
		} else {
			rows_match(out, tsv, rel);
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
	json_t *out = parse_vector("apk/single", apk_installed_parse, &rc, &err);
	is_str(rec_str(out, 0, "type"), "apk", "type apk");
	is_str(rec_str(out, 0, "license"), "MIT BSD GPL2+", "license from L:");
	is_str(rec_str(out, 0, "maintainer"), "Timo Ter\xc3\xa4s <timo.teras@iki.fi>", "maintainer from m:, UTF-8 kept");
	json_decref(out);
}

static void test_edge_cases(void)
{
	struct strata_error err = STRATA_ERROR_INIT;
	int rc;
	json_t *out;

	out = parse_text(apk_installed_parse, "P:a\nV:1\n\n\n\nP:b\r\nV:2\r\n\r\nV:3\nA:x\n\nP:\nV:4\n", &rc, &err);
	is_int(rc, 0, "blank runs, CRLF, entries without P:");
	is_int(json_array_size(out), 2, "two named entries");
	is_str(rec_str(out, 1, "version"), "2", "CR stripped");
	ok(!json_object_get(json_array_get(out, 0), "architecture"), "absent A: gives no key");
	json_decref(out);

	out = parse_text(apk_installed_parse, "P:nonl\nV:9", &rc, &err);
	is_str(rec_str(out, 0, "version"), "9", "no trailing newline");
	json_decref(out);

	out = parse_text(apk_installed_parse, "P:x\nV:1\nPX\n\nP:y\n", &rc, &err);
	is_int(rc, -EBADMSG, "a bad line mid-entry");
	ok(strstr(err.msg, "line 3") != NULL, "names line 3: %s", err.msg);
	is_int(json_array_size(out), 1, "drops that entry only");
	is_str(rec_str(out, 0, "name"), "y", "keeps the next");
	json_decref(out);

	out = parse_text(apk_installed_parse, "P:a:b:c\nV:\n", &rc, &err);
	is_str(rec_str(out, 0, "name"), "a:b:c", "colons in the value");
	is_str(rec_str(out, 0, "version"), "", "empty V:");
	json_decref(out);

	static const char nul[] = "P:a\0b\nV:1\n\nP:\xc3\x28\n";
	out = json_array();
	error_clear(&err);
	rc = apk_installed_parse(nul, sizeof(nul) - 1, out, &err);
	is_int(json_array_size(out), 2, "NUL and invalid UTF-8");
	char *dump = json_dumps(out, 0);
	ok(dump != NULL, "serialises");
	free(dump);
	json_decref(out);

	out = parse_text(apk_installed_parse, "", &rc, &err);
	ok(rc == 0 && json_array_size(out) == 0, "empty: nothing, no error");
	json_decref(out);
}

static void test_hostile(void)
{
	struct strata_error err = STRATA_ERROR_INIT;
	int rc;
	size_t big = 16u << 20;
	char *s = malloc(big + 64);

	strcpy(s, "P:huge\nT:");
	size_t o = strlen(s);
	memset(s + o, 'x', big);
	strcpy(s + o + big, "\nV:1\n");
	double t = seconds();
	json_t *out = parse_text(apk_installed_parse, s, &rc, &err);
	ok(rc == 0 && json_array_size(out) == 1, "a 16 MB line");
	printf("# " "in linear time (%.3f s)" " (timed: a figure, not a pass condition)\n", seconds() - t);
	json_decref(out);

	o = 0;
	for (size_t i = 0; i < (1u << 20); i++) {
		memcpy(s + o, "x\n", 2);
		o += 2;
	}
	s[o] = '\0';
	t = seconds();
	out = parse_text(apk_installed_parse, s, &rc, &err);
	ok(rc == -EBADMSG && json_array_size(out) == 0, "1 M bad lines: one error");
	printf("# " "in linear time (%.3f s)" " (timed: a figure, not a pass condition)\n", seconds() - t);
	json_decref(out);

	o = 0;
	for (size_t i = 0; i < (1u << 17); i++) {
		memcpy(s + o, "P:p\n\n", 5);
		o += 5;
	}
	s[o] = '\0';
	t = seconds();
	out = parse_text(apk_installed_parse, s, &rc, &err);
	is_int(json_array_size(out), 1u << 17, "128 Ki entries");
	printf("# " "in linear time (%.3f s)" " (timed: a figure, not a pass condition)\n", seconds() - t);
	json_decref(out);

	srand(2);
	for (int round = 0; round < 200; round++) {
		size_t n = (size_t)(rand() % 4096);
		for (size_t i = 0; i < n; i++)
			s[i] = "PV:Aom\n\n\r\0x L:\xff"[rand() % 16];
		out = json_array();
		error_clear(&err);
		rc = apk_installed_parse(s, n, out, &err);
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
	is_str(analyzer_apk.name, "apk", "name");
	ok(claimed(&analyzer_apk, "/lib/apk/db/installed"), "claims the database");
	ok(!claimed(&analyzer_apk, "/lib/apk/db/installed.new"), "not a sibling");
	ok(!claimed(&analyzer_apk, "/x/lib/apk/db/installed"), "not elsewhere");

	struct strata_error err = STRATA_ERROR_INIT;
	int rc;
	static const char text[] = "P:musl\nV:1.2.3-r0\nA:x86_64\no:musl\n";
	json_t *out = scan_text(&analyzer_apk, "/lib/apk/db/installed", text, sizeof(text) - 1, &rc, &err);
	is_int(rc, 0, "scan through a file descriptor");
	is_str(rec_str(out, 0, "origin"), "musl", "scan: origin");
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
