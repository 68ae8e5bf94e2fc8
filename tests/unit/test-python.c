/* test-python: the METADATA / PKG-INFO, RECORD and top_level.txt parsers
 * against the peer vectors (tests/vectors/python), hostile input, and the
 * analyzer's claims (the vectors' upper-case directories included). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "analyzers/python.h"
#include "tap.h"
#include "vectors.h"

static void test_vectors(void)
{
	struct vec_list vecs = VEC_LIST_INIT;
	struct strata_error err = STRATA_ERROR_INIT;
	vec_find_vectors(&vecs, "python");
	is_int(vecs.n, 29, "all python vectors found");
	for (size_t i = 0; i < vecs.n; i++) {
		const char *rel = vecs.path[i];
		vec_parse_fn fn = python_metadata_parse;
		if (vec_ends_with(rel, "/RECORD"))
			fn = python_record_parse;
		else if (vec_ends_with(rel, "/top_level.txt"))
			fn = python_top_level_parse;
		int rc;
		json_t *out = vec_parse_vector(rel, fn, &rc, &err);
		vec_check_vector(out, rel);
		if (vec_ends_with(rel, "/invalid.json")) {
			is_int(rc, -EBADMSG, "%s: an error", rel);
			ok(strstr(err.msg, "no Name") != NULL, "%s: message '%s'", rel, err.msg);
		} else {
			is_int(rc, 0, "%s: no error (%s)", rel, err.msg);
		}
		json_decref(out);
	}
	vec_list_release(&vecs);
}

static void test_fields(void)
{
	struct strata_error err = STRATA_ERROR_INIT;
	int rc;
	json_t *out = vec_parse_vector("python/packaging/asyncssh-2.14.2.METADATA", python_metadata_parse, &rc, &err);
	is_str(vec_rec_str(out, 0, "type"), "python", "type python");
	is_str(vec_rec_str(out, 0, "license"), "Eclipse Public License v2.0", "license from License:");
	json_decref(out);
	out = vec_parse_vector("python/packaging/unidecode-egg-info.PKG-INFO", python_metadata_parse, &rc, &err);
	ok(!json_object_get(json_array_get(out, 0), "license"), "License: UNKNOWN gives no license");
	json_decref(out);

	out = vec_parse_text(python_metadata_parse,
			 "Metadata-Version: 2.4\nname:  spaced  \nLicense: MIT\nLicense-Expression: MIT OR Apache-2.0\n"
			 "Version: 1\nName: second\n\nName: body\n",
			 &rc, &err);
	is_int(rc, 0, "header names are case-insensitive");
	is_str(vec_rec_str(out, 0, "name"), "spaced", "trimmed, the first Name counts");
	is_str(vec_rec_str(out, 0, "license"), "MIT OR Apache-2.0", "License-Expression wins");
	json_decref(out);

	out = vec_parse_text(python_metadata_parse, "Name: x\nLicense: Copyright (c) me\n  and more text\n", &rc, &err);
	ok(!json_object_get(json_array_get(out, 0), "license"), "a multi-line License is a text, not a name");
	json_decref(out);

	out = vec_parse_text(python_metadata_parse, "Name: cr\r\nVersion: 2\r\n\r\n", &rc, &err);
	is_str(vec_rec_str(out, 0, "version"), "2", "CRLF lines");
	json_decref(out);

	out = vec_parse_text(python_metadata_parse, "\nName: after-blank\n", &rc, &err);
	is_int(rc, -EBADMSG, "a leading empty line ends the headers: no Name");
	json_decref(out);
	out = vec_parse_text(python_metadata_parse, "Name:\nVersion: 1\n", &rc, &err);
	is_int(rc, -EBADMSG, "an empty Name is an error");
	json_decref(out);
	out = vec_parse_text(python_metadata_parse, " \n\t\n", &rc, &err);
	ok(rc == 0 && json_array_size(out) == 0, "white space only: nothing, no error");
	json_decref(out);
	out = vec_parse_text(python_metadata_parse, "Bad Header: x\nName: y\n", &rc, &err);
	is_int(rc, -EBADMSG, "a name with a space is not a header and ends the block");
	json_decref(out);
	out = vec_parse_text(python_metadata_parse, "Name: nonl", &rc, &err);
	is_str(vec_rec_str(out, 0, "name"), "nonl", "no trailing newline");
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
	json_t *out = vec_parse_text(python_record_parse,
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
	is_str(vec_rec_str(out, 0, "path"), "a,b.py", "a quoted comma");
	is_str(vec_rec_str(out, 1, "path"), "multi\nline", "a quoted newline, CR line end");
	is_str(vec_rec_str(out, 2, "path"), "q\"uote.py", "a quote inside an unquoted field");
	ok(!json_object_get(json_array_get(out, 2), "size"), "empty size: absent");
	is_str(vec_rec_str(out, 3, "path"), "esc\"aped", "a doubled quote");
	is_str(vec_rec_str(out, 3, "hash_value"), "z==", "split at the first '='");
	ok(!json_object_get(json_array_get(out, 3), "size"), "an overflowing size: absent");
	is_int(json_integer_value(json_object_get(json_array_get(out, 4), "size")), 3, "last row without newline");
	json_decref(out);

	out = vec_parse_text(python_record_parse, "ok,sha256=a,1\n\"open,x,y\n", &rc, &err);
	is_int(rc, -EBADMSG, "an unterminated quote is an error");
	is_int(json_array_size(out), 1, "rows before it are kept");
	json_decref(out);

	out = vec_parse_text(python_top_level_parse, "a\r\n\n  b  \n\n", &rc, &err);
	is_int(json_array_size(out), 2, "top_level: blank lines skipped");
	is_str(vec_rec_str(out, 1, "module"), "b", "top_level: trimmed");
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
	double t = vec_seconds();
	json_t *out = vec_parse_text(python_metadata_parse, s, &rc, &err);
	ok(rc == 0 && json_array_size(out) == 1, "a 16 MB line");
	is_str(vec_rec_str(out, 0, "version"), "1", "the header after it");
	printf("# " "in linear time (%.3f s)" " (timed: a figure, not a pass condition)\n", vec_seconds() - t);
	json_decref(out);

	strcpy(s, "Name: cont\nDescription: d\n");
	o = strlen(s);
	for (size_t i = 0; i < (1u << 20); i++) {
		s[o++] = ' ';
		s[o++] = '\n';
	}
	memcpy(s + o, "Version: 2\n", 12);
	t = vec_seconds();
	out = vec_parse_text(python_metadata_parse, s, &rc, &err);
	is_str(vec_rec_str(out, 0, "version"), "2", "a header after 1 M continuation lines");
	printf("# " "in linear time (%.3f s)" " (timed: a figure, not a pass condition)\n", vec_seconds() - t);
	json_decref(out);

	/* RECORD: 16 MB in one quoted field, then 1 M short rows. */
	s[0] = '"';
	memset(s + 1, ',', big);
	strcpy(s + 1 + big, "\",h=v,1\n");
	t = vec_seconds();
	out = vec_parse_text(python_record_parse, s, &rc, &err);
	is_int(json_array_size(out), 1, "RECORD: a 16 MB quoted field");
	printf("# " "in linear time (%.3f s)" " (timed: a figure, not a pass condition)\n", vec_seconds() - t);
	json_decref(out);
	o = 0;
	for (size_t i = 0; i < (1u << 17); i++) {
		memcpy(s + o, "a,b,c\n", 6);
		o += 6;
	}
	s[o] = '\0';
	t = vec_seconds();
	out = vec_parse_text(python_record_parse, s, &rc, &err);
	is_int(json_array_size(out), 1u << 17, "RECORD: 128 Ki rows");
	printf("# " "in linear time (%.3f s)" " (timed: a figure, not a pass condition)\n", vec_seconds() - t);
	json_decref(out);

	static const char alphabet[] = "Name:Vrsio \n\t\r\0\",=";
	ok(vec_random_inputs(python_metadata_parse, alphabet, 16, 3, 100, 0) &&
	   vec_random_inputs(python_record_parse, alphabet, 16, 3, 100, 0) &&
	   vec_random_inputs(python_top_level_parse, alphabet, 16, 3, 100, 0),
	   "random inputs give 0 or -EBADMSG");
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
		ok(vec_claimed(&analyzer_python, yes[i]), "claims %s", yes[i]);
	for (size_t i = 0; i < sizeof(no) / sizeof(*no); i++)
		ok(!vec_claimed(&analyzer_python, no[i]), "does not claim %s", no[i]);

	struct strata_error err = STRATA_ERROR_INIT;
	int rc;
	static const char text[] = "Name: six\nVersion: 1.16.0\nLicense: MIT\n";
	json_t *out = vec_scan_text(&analyzer_python, "/x/six-1.16.0.dist-info/METADATA", text, sizeof(text) - 1, &rc,
				&err);
	is_int(rc, 0, "scan through a file descriptor");
	is_str(vec_rec_str(out, 0, "version"), "1.16.0", "scan: version");
	json_decref(out);
}

static json_t *python_records(const char *rel, int *rc, struct strata_error *err)
{
	return vec_parse_vector(rel, python_metadata_parse, rc, err);
}

/* Licences: License-Expression, else a License that names one, else the
 * classifiers that do, else the texts; peers' expectations. */
static void test_peer_licenses(void)
{
	vec_check_licenses("python", python_records);
	static const struct { const char *text, *want; } c[] = {
		{ "Name: a\nLicense-Expression: MIT OR Apache-2.0\nLicense: BSD\n", "MIT OR Apache-2.0" },
		{ "Name: a\nLicense: BSD License\nClassifier: License :: OSI Approved :: BSD License\n"
		  "Classifier: License :: OSI Approved :: MIT License\n", "MIT" },
		{ "Name: a\nLicense: BSD License\nClassifier: License :: OSI Approved :: BSD License\n", "BSD License" },
		{ "Name: a\nClassifier: License :: OSI Approved :: BSD License\n", "BSD License" },
		{ "Name: a\nLicense: UNKNOWN\n", "" },
		{ "Name: a\nLicense: Apache License 2.0\nClassifier: License :: OSI Approved :: MIT License\n", "Apache-2.0" },
	};
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct strata_error err = STRATA_ERROR_INIT;
		int rc;
		json_t *out = vec_parse_text(python_metadata_parse, c[i].text, &rc, &err);
		char *l = vec_licenses_text(json_array_get(out, 0));
		is_str(l, c[i].want, "licenses of case %zu", i);
		free(l);
		json_decref(out);
	}
}

int main(void)
{
	test_vectors();
	test_fields();
	test_record();
	test_hostile();
	test_analyzer();
	test_peer_licenses();
	return tap_done();
}
