/* test-apk: the apk installed-database parser against the peer vectors
 * (tests/vectors/apk), malformed lines, hostile input, and the analyzer. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "analyzers/apk.h"
#include "tap.h"
#include "vectors.h"

static void test_vectors(void)
{
	struct vec_list vecs = VEC_LIST_INIT;
	struct strata_error err = STRATA_ERROR_INIT;
	vec_find_vectors(&vecs, "apk");
	is_int(vecs.n, 6, "all apk vectors found");
	for (size_t i = 0; i < vecs.n; i++) {
		const char *rel = vecs.path[i];
		int rc;
		json_t *out = vec_parse_vector(rel, apk_installed_parse, &rc, &err);
		char tsv[4096];
		snprintf(tsv, sizeof(tsv), "%s/vectors/%s.expected.tsv", vec_srcdir(), rel);
		if (strstr(rel, "/corrupt/")) {
			is_int(rc, -EBADMSG, "%s: an error", rel);
			ok(strstr(err.msg, "line 1") != NULL, "%s: message names line 1: %s", rel, err.msg);
			/* The README accepts the error alone or the error plus the
			 * well-formed entry after the bad line; this parser gives the
			 * latter, so check exactly that. */
			is_int(json_array_size(out), 1, "%s: the entry after the bad line is kept", rel);
			is_str(vec_rec_str(out, 0, "name"), "alpine-baselayout-data", "%s: its name", rel);
			is_str(vec_rec_str(out, 0, "version"), "3.2.0-r22", "%s: its version", rel);
		} else {
			vec_rows_match(out, tsv, rel);
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
	json_t *out = vec_parse_vector("apk/single", apk_installed_parse, &rc, &err);
	is_str(vec_rec_str(out, 0, "type"), "apk", "type apk");
	is_str(vec_rec_str(out, 0, "license"), "MIT BSD GPL2+", "license from L:");
	is_str(vec_rec_str(out, 0, "maintainer"), "Timo Ter\xc3\xa4s <timo.teras@iki.fi>", "maintainer from m:, UTF-8 kept");
	json_decref(out);
}

static void test_edge_cases(void)
{
	struct strata_error err = STRATA_ERROR_INIT;
	int rc;
	json_t *out;

	out = vec_parse_text(apk_installed_parse, "P:a\nV:1\n\n\n\nP:b\r\nV:2\r\n\r\nV:3\nA:x\n\nP:\nV:4\n", &rc, &err);
	is_int(rc, 0, "blank runs, CRLF, entries without P:");
	is_int(json_array_size(out), 2, "two named entries");
	is_str(vec_rec_str(out, 1, "version"), "2", "CR stripped");
	ok(!json_object_get(json_array_get(out, 0), "architecture"), "absent A: gives no key");
	json_decref(out);

	out = vec_parse_text(apk_installed_parse, "P:nonl\nV:9", &rc, &err);
	is_str(vec_rec_str(out, 0, "version"), "9", "no trailing newline");
	json_decref(out);

	out = vec_parse_text(apk_installed_parse, "P:x\nV:1\nPX\n\nP:y\n", &rc, &err);
	is_int(rc, -EBADMSG, "a bad line mid-entry");
	ok(strstr(err.msg, "line 3") != NULL, "names line 3: %s", err.msg);
	is_int(json_array_size(out), 1, "drops that entry only");
	is_str(vec_rec_str(out, 0, "name"), "y", "keeps the next");
	json_decref(out);

	out = vec_parse_text(apk_installed_parse, "P:a:b:c\nV:\n", &rc, &err);
	is_str(vec_rec_str(out, 0, "name"), "a:b:c", "colons in the value");
	is_str(vec_rec_str(out, 0, "version"), "", "empty V:");
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

	out = vec_parse_text(apk_installed_parse, "", &rc, &err);
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
	double t = vec_seconds();
	json_t *out = vec_parse_text(apk_installed_parse, s, &rc, &err);
	ok(rc == 0 && json_array_size(out) == 1, "a 16 MB line");
	printf("# " "in linear time (%.3f s)" " (timed: a figure, not a pass condition)\n", vec_seconds() - t);
	json_decref(out);

	o = 0;
	for (size_t i = 0; i < (1u << 20); i++) {
		memcpy(s + o, "x\n", 2);
		o += 2;
	}
	s[o] = '\0';
	t = vec_seconds();
	out = vec_parse_text(apk_installed_parse, s, &rc, &err);
	ok(rc == -EBADMSG && json_array_size(out) == 0, "1 M bad lines: one error");
	printf("# " "in linear time (%.3f s)" " (timed: a figure, not a pass condition)\n", vec_seconds() - t);
	json_decref(out);

	o = 0;
	for (size_t i = 0; i < (1u << 17); i++) {
		memcpy(s + o, "P:p\n\n", 5);
		o += 5;
	}
	s[o] = '\0';
	t = vec_seconds();
	out = vec_parse_text(apk_installed_parse, s, &rc, &err);
	is_int(json_array_size(out), 1u << 17, "128 Ki entries");
	printf("# " "in linear time (%.3f s)" " (timed: a figure, not a pass condition)\n", vec_seconds() - t);
	json_decref(out);

	ok(vec_random_inputs(apk_installed_parse, "PV:Aom\n\n\r\0x L:\xff", 16, 2, 200, 0),
	   "random inputs give 0 or -EBADMSG");
	free(s);
}

static void test_analyzer(void)
{
	is_str(analyzer_apk.name, "apk", "name");
	ok(vec_claimed(&analyzer_apk, "/lib/apk/db/installed"), "claims the database");
	ok(!vec_claimed(&analyzer_apk, "/lib/apk/db/installed.new"), "not a sibling");
	ok(!vec_claimed(&analyzer_apk, "/x/lib/apk/db/installed"), "not elsewhere");

	struct strata_error err = STRATA_ERROR_INIT;
	int rc;
	static const char text[] = "P:musl\nV:1.2.3-r0\nA:x86_64\no:musl\n";
	json_t *out = vec_scan_text(&analyzer_apk, "/lib/apk/db/installed", text, sizeof(text) - 1, &rc, &err);
	is_int(rc, 0, "scan through a file descriptor");
	is_str(vec_rec_str(out, 0, "origin"), "musl", "scan: origin");
	json_decref(out);
}

static json_t *apk_records(const char *rel, int *rc, struct strata_error *err)
{
	return vec_parse_vector(rel, apk_installed_parse, rc, err);
}

/* L: as an SPDX expression, else as words each a licence (older Alpine). */
static void test_peer_licenses(void)
{
	vec_check_licenses("apk", apk_records);
	struct strata_error err = STRATA_ERROR_INIT;
	int rc;
	json_t *out = vec_parse_text(apk_installed_parse, "P:a\nV:1\nL:MIT AND (BSD-2-Clause OR GPL-2.0-or-later)\n", &rc, &err);
	char *l = vec_licenses_text(json_array_get(out, 0));
	is_str(l, "MIT AND (BSD-2-Clause OR GPL-2.0-or-later)", "an expression stays one");
	free(l);
	json_decref(out);
}

int main(void)
{
	test_vectors();
	test_fields();
	test_edge_cases();
	test_hostile();
	test_analyzer();
	test_peer_licenses();
	return tap_done();
}
