/* test-python: the METADATA / PKG-INFO, RECORD and top_level.txt parsers
 * against the peer vectors (tests/vectors/python), hostile input, and the
 * analyzer's claims (the vectors' upper-case directories included). */
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

#include "python.h"
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
	find_vectors("python");
	is_int(nfound, 29, "all python vectors found");
	for (size_t i = 0; i < nfound; i++) {
		const char *rel = found[i];
		parse_fn fn = python_metadata_parse;
		if (ends_with(rel, "/RECORD"))
			fn = python_record_parse;
		else if (ends_with(rel, "/top_level.txt"))
			fn = python_top_level_parse;
		int rc;
		json_t *out = parse_vector(rel, fn, &rc, &err);
		char tsv[4096];
		snprintf(tsv, sizeof(tsv), "%s/vectors/%s.expected.tsv", srcdir(), rel);
		rows_match(out, tsv, rel);
		if (ends_with(rel, "/invalid.json")) {
			is_int(rc, -EBADMSG, "%s: an error", rel);
			ok(strstr(err.msg, "no Name") != NULL, "%s: message '%s'", rel, err.msg);
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
	json_t *out = parse_vector("python/packaging/asyncssh-2.14.2.METADATA", python_metadata_parse, &rc, &err);
	is_str(rec_str(out, 0, "type"), "python", "type python");
	is_str(rec_str(out, 0, "license"), "Eclipse Public License v2.0", "license from License:");
	json_decref(out);
	out = parse_vector("python/packaging/unidecode-egg-info.PKG-INFO", python_metadata_parse, &rc, &err);
	ok(!json_object_get(json_array_get(out, 0), "license"), "License: UNKNOWN gives no license");
	json_decref(out);

	out = parse_text(python_metadata_parse,
			 "Metadata-Version: 2.4\nname:  spaced  \nLicense: MIT\nLicense-Expression: MIT OR Apache-2.0\n"
			 "Version: 1\nName: second\n\nName: body\n",
			 &rc, &err);
	is_int(rc, 0, "header names are case-insensitive");
	is_str(rec_str(out, 0, "name"), "spaced", "trimmed, the first Name counts");
	is_str(rec_str(out, 0, "license"), "MIT OR Apache-2.0", "License-Expression wins");
	json_decref(out);

	out = parse_text(python_metadata_parse, "Name: x\nLicense: Copyright (c) me\n  and more text\n", &rc, &err);
	ok(!json_object_get(json_array_get(out, 0), "license"), "a multi-line License is a text, not a name");
	json_decref(out);

	out = parse_text(python_metadata_parse, "Name: cr\r\nVersion: 2\r\n\r\n", &rc, &err);
	is_str(rec_str(out, 0, "version"), "2", "CRLF lines");
	json_decref(out);

	out = parse_text(python_metadata_parse, "\nName: after-blank\n", &rc, &err);
	is_int(rc, -EBADMSG, "a leading empty line ends the headers: no Name");
	json_decref(out);
	out = parse_text(python_metadata_parse, "Name:\nVersion: 1\n", &rc, &err);
	is_int(rc, -EBADMSG, "an empty Name is an error");
	json_decref(out);
	out = parse_text(python_metadata_parse, " \n\t\n", &rc, &err);
	ok(rc == 0 && json_array_size(out) == 0, "white space only: nothing, no error");
	json_decref(out);
	out = parse_text(python_metadata_parse, "Bad Header: x\nName: y\n", &rc, &err);
	is_int(rc, -EBADMSG, "a name with a space is not a header and ends the block");
	json_decref(out);
	out = parse_text(python_metadata_parse, "Name: nonl", &rc, &err);
	is_str(rec_str(out, 0, "name"), "nonl", "no trailing newline");
	json_decref(out);

	static const char nul[] = "Name: a\0b\xff\nVersion: 1\n";
	out = json_array();
	error_clear(&err);
	rc = python_metadata_parse(nul, sizeof(nul) - 1, out, &err);
	is_int(json_array_size(out), 1, "NUL and invalid UTF-8 in a value");
	char *dump = json_dumps(out, 0);
	ok(dump != NULL, "serialises");
	free(dump);
	json_decref(out);
}

static void test_record(void)
{
	struct strata_error err = STRATA_ERROR_INIT;
	int rc;
	json_t *out = parse_text(python_record_parse,
				 "\"a,b.py\",sha256=x,1\r\n"
				 "\"multi\nline\",md5=y,2\r"
				 "q\"uote.py,,\n"
				 "\"esc\"\"aped\",sha1=z==,99999999999999999999999\n"
				 "\n"
				 "two,fields\n"
				 "four,f,i,elds\n"
				 "last,sha256=w,3",
				 &rc, &err);
	is_int(rc, 0, "RECORD edge cases parse");
	is_int(json_array_size(out), 5, "five three-field rows");
	is_str(rec_str(out, 0, "path"), "a,b.py", "a quoted comma");
	is_str(rec_str(out, 1, "path"), "multi\nline", "a quoted newline, CR line end");
	is_str(rec_str(out, 2, "path"), "q\"uote.py", "a quote inside an unquoted field");
	ok(!json_object_get(json_array_get(out, 2), "size"), "empty size: absent");
	is_str(rec_str(out, 3, "path"), "esc\"aped", "a doubled quote");
	is_str(rec_str(out, 3, "hash_value"), "z==", "split at the first '='");
	ok(!json_object_get(json_array_get(out, 3), "size"), "an overflowing size: absent");
	is_int(json_integer_value(json_object_get(json_array_get(out, 4), "size")), 3, "last row without newline");
	json_decref(out);

	out = parse_text(python_record_parse, "ok,sha256=a,1\n\"open,x,y\n", &rc, &err);
	is_int(rc, -EBADMSG, "an unterminated quote is an error");
	is_int(json_array_size(out), 1, "rows before it are kept");
	json_decref(out);

	out = parse_text(python_top_level_parse, "a\r\n\n  b  \n\n", &rc, &err);
	is_int(json_array_size(out), 2, "top_level: blank lines skipped");
	is_str(rec_str(out, 1, "module"), "b", "top_level: trimmed");
	json_decref(out);
}

static void test_hostile(void)
{
	struct strata_error err = STRATA_ERROR_INIT;
	int rc;
	size_t big = 16u << 20;
	char *s = malloc(big + 64);

	strcpy(s, "Name: huge\nSummary: ");
	size_t o = strlen(s);
	memset(s + o, 'x', big);
	strcpy(s + o + big, "\nVersion: 1\n");
	double t = seconds();
	json_t *out = parse_text(python_metadata_parse, s, &rc, &err);
	ok(rc == 0 && json_array_size(out) == 1, "a 16 MB line");
	is_str(rec_str(out, 0, "version"), "1", "the header after it");
	printf("# " "in linear time (%.3f s)" " (timed: a figure, not a pass condition)\n", seconds() - t);
	json_decref(out);

	strcpy(s, "Name: cont\nDescription: d\n");
	o = strlen(s);
	for (size_t i = 0; i < (1u << 20); i++) {
		s[o++] = ' ';
		s[o++] = '\n';
	}
	memcpy(s + o, "Version: 2\n", 12);
	t = seconds();
	out = parse_text(python_metadata_parse, s, &rc, &err);
	is_str(rec_str(out, 0, "version"), "2", "a header after 1 M continuation lines");
	printf("# " "in linear time (%.3f s)" " (timed: a figure, not a pass condition)\n", seconds() - t);
	json_decref(out);

	/* RECORD: 16 MB in one quoted field, then 1 M short rows. */
	s[0] = '"';
	memset(s + 1, ',', big);
	strcpy(s + 1 + big, "\",h=v,1\n");
	t = seconds();
	out = parse_text(python_record_parse, s, &rc, &err);
	is_int(json_array_size(out), 1, "RECORD: a 16 MB quoted field");
	printf("# " "in linear time (%.3f s)" " (timed: a figure, not a pass condition)\n", seconds() - t);
	json_decref(out);
	o = 0;
	for (size_t i = 0; i < (1u << 17); i++) {
		memcpy(s + o, "a,b,c\n", 6);
		o += 6;
	}
	s[o] = '\0';
	t = seconds();
	out = parse_text(python_record_parse, s, &rc, &err);
	is_int(json_array_size(out), 1u << 17, "RECORD: 128 Ki rows");
	printf("# " "in linear time (%.3f s)" " (timed: a figure, not a pass condition)\n", seconds() - t);
	json_decref(out);

	srand(3);
	for (int round = 0; round < 300; round++) {
		size_t n = (size_t)(rand() % 4096);
		for (size_t i = 0; i < n; i++)
			s[i] = "Name:Vrsio \n\t\r\0\",="[rand() % 16];
		parse_fn fns[] = { python_metadata_parse, python_record_parse, python_top_level_parse };
		out = json_array();
		error_clear(&err);
		rc = fns[round % 3](s, n, out, &err);
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
	static const char *const yes[] = {
		"/usr/lib/python3/dist-packages/requests-2.28.1.dist-info/METADATA",
		"/x/site-packages/nested/dist-name/dist-info/METADATA",
		"/x/site-packages/uppercase/dist-name/DIST-INFO/METADATA",
		"/x/site-packages/uppercase/egg-name/EGG-INFO/PKG-INFO",
		"/x/site-packages/nested/egg-name/egg-info/PKG-INFO",
		"/usr/lib/python3/dist-packages/foo.egg-info/PKG-INFO",
		"/usr/lib/python2.7/lib-dynload/Python-2.7.egg-info",
		"/x/empty-1.0.0-py3.8.egg-info",
		"/x/TEST.EGG-INFO",
		"/root.egg-info",
	};
	static const char *const no[] = {
		"/x/foo.dist-info/RECORD",
		"/x/foo.dist-info/top_level.txt",
		"/x/foo.egg-info/PKG-INFO-INVALID",
		"/x/foo.dist-info/PKG-INFO",
		"/x/foo.egg-info/METADATA",
		"/x/sdist-1.0/PKG-INFO",
		"/METADATA",
		"/x/asyncssh-2.14.2.METADATA",
		"/x/foo.egg-info.bak",
	};
	is_str(analyzer_python.name, "python", "name");
	for (size_t i = 0; i < sizeof(yes) / sizeof(*yes); i++)
		ok(claimed(&analyzer_python, yes[i]), "claims %s", yes[i]);
	for (size_t i = 0; i < sizeof(no) / sizeof(*no); i++)
		ok(!claimed(&analyzer_python, no[i]), "does not claim %s", no[i]);

	struct strata_error err = STRATA_ERROR_INIT;
	int rc;
	static const char text[] = "Name: six\nVersion: 1.16.0\nLicense: MIT\n";
	json_t *out = scan_text(&analyzer_python, "/x/six-1.16.0.dist-info/METADATA", text, sizeof(text) - 1, &rc,
				&err);
	is_int(rc, 0, "scan through a file descriptor");
	is_str(rec_str(out, 0, "version"), "1.16.0", "scan: version");
	json_decref(out);
}

int main(void)
{
	test_vectors();
	test_fields();
	test_record();
	test_hostile();
	test_analyzer();
	return tap_done();
}
