/* test-dpkg: the dpkg status parser against the peer vectors (tests/vectors/dpkg),
 * status states, field quirks, hostile input, and the analyzer's claims. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "analyzers/dpkg.h"
#include "analyzers/dpkg-copyright.h"
#include "tap.h"
#include "vectors.h"

static void test_vectors(void)
{
	struct vec_list vecs = VEC_LIST_INIT;
	struct strata_error err = STRATA_ERROR_INIT;
	vec_find_vectors(&vecs, "dpkg");
	is_int(vecs.n, 12, "all dpkg vectors found");
	for (size_t i = 0; i < vecs.n; i++) {
		const char *rel = vecs.path[i];
		int md5 = vec_ends_with(rel, ".md5sums"), rc;
		json_t *out = vec_parse_vector(rel, md5 ? dpkg_md5sums_parse : dpkg_status_parse, &rc, &err);
		vec_check_vector(out, rel);
		if (vec_ends_with(rel, "/corrupt")) {
			is_int(rc, -EBADMSG, "%s: an error", rel);
			ok(strstr(err.msg, "malformed dpkg status") != NULL, "%s: message '%s'", rel, err.msg);
		} else if (vec_ends_with(rel, "/empty")) {
			ok(rc == 0 || rc == -EBADMSG, "%s: no package, error optional (%d)", rel, rc);
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
	json_t *out = vec_parse_vector("dpkg/status.d/coreutils-relationships", dpkg_status_parse, &rc, &err);
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

	out = vec_parse_vector("dpkg/status.d/single", dpkg_status_parse, &rc, &err);
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

	out = vec_parse_text(dpkg_status_parse,
			 "Package: a\nStatus: install ok not-installed\nVersion: 1\n\n"
			 "Package: b\nStatus: install ok half-installed\n\n"
			 "Package: c\nStatus: install ok installed\nVersion: 3\n\n"
			 "Package: d\nStatus: purge ok config-files\n\n"
			 "Package: e\nstatus: hold ok installed\nversion: 5\nARCHITECTURE: amd64\n",
			 &rc, &err);
	is_int(rc, 0, "status variants parse");
	is_int(json_array_size(out), 2, "only installed states count");
	is_str(vec_rec_str(out, 0, "name"), "c", "installed: c");
	is_str(vec_rec_str(out, 1, "name"), "e", "field names are case-insensitive");
	is_str(vec_rec_str(out, 1, "version"), "5", "lowercase version: field");
	is_str(vec_rec_str(out, 1, "architecture"), "amd64", "uppercase Architecture field");
	json_decref(out);

	out = vec_parse_text(dpkg_status_parse, "Package: crlf\r\nVersion: 1.0\r\nSource: s (2.0)\r\n\r\n", &rc, &err);
	is_int(json_array_size(out), 1, "CRLF lines");
	is_str(vec_rec_str(out, 0, "version"), "1.0", "CR is not part of the value");
	is_str(vec_rec_str(out, 0, "source_version"), "2.0", "source version with CRLF");
	json_decref(out);

	out = vec_parse_text(dpkg_status_parse, "Package: nonl\nVersion: 9", &rc, &err);
	is_int(rc, 0, "no trailing newline");
	is_str(vec_rec_str(out, 0, "version"), "9", "last line without newline is read");
	json_decref(out);

	out = vec_parse_text(dpkg_status_parse,
			 " orphan continuation\nPackage: lost\n\nPackage: kept\nVersion: 1\n", &rc, &err);
	is_int(rc, -EBADMSG, "a continuation line first is an error");
	ok(strstr(err.msg, "line 1") != NULL, "error names the line: %s", err.msg);
	is_int(json_array_size(out), 1, "the bad stanza is dropped, the next one read");
	is_str(vec_rec_str(out, 0, "name"), "kept", "the next stanza");
	json_decref(out);

	out = vec_parse_text(dpkg_status_parse, "Package: x\nVersion: 1\nInstalled-Size: 12kB\nSource: (\n", &rc, &err);
	ok(!json_object_get(json_array_get(out, 0), "installed_size"), "a non-numeric size is left out");
	is_str(vec_rec_str(out, 0, "source"), "", "a Source: of '(' gives an empty name");
	is_str(vec_rec_str(out, 0, "source_version"), "", "and an empty version, no overread");
	json_decref(out);

	out = vec_parse_text(dpkg_status_parse, "Package: x\nInstalled-Size: 99999999999999999999999\n", &rc, &err);
	ok(!json_object_get(json_array_get(out, 0), "installed_size"), "an overflowing size is left out");
	json_decref(out);

	out = vec_parse_text(dpkg_status_parse, "Package: first\nPackage: second\n", &rc, &err);
	is_str(vec_rec_str(out, 0, "name"), "first", "a repeated field: the first counts");
	json_decref(out);

	out = vec_parse_text(dpkg_status_parse, "Package: \xff\xfe bad utf8\nVersion: 1\n", &rc, &err);
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

	out = vec_parse_text(dpkg_status_parse, "", &rc, &err);
	ok(rc == 0 && json_array_size(out) == 0, "empty input: nothing, no error");
	json_decref(out);
	out = vec_parse_text(dpkg_status_parse, "\n\n  \n\t\n", &rc, &err);
	ok(rc == 0 && json_array_size(out) == 0, "blank lines only: nothing, no error");
	json_decref(out);

	out = vec_parse_text(dpkg_md5sums_parse, "d41d8cd98f00b204e9800998ecf8427e *bin/x\nnot a line\n", &rc, &err);
	is_int(rc, -EBADMSG, "md5sums: a malformed line is an error");
	is_int(json_array_size(out), 1, "md5sums: good lines kept");
	is_str(vec_rec_str(out, 0, "path"), "bin/x", "md5sums: binary-mode marker");
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
	double t = vec_seconds();
	json_t *out = vec_parse_text(dpkg_status_parse, s, &rc, &err);
	ok(rc == 0 && json_array_size(out) == 1, "a 16 MB line");
	printf("# " "in linear time (%.3f s)" " (timed: a figure, not a pass condition)\n", vec_seconds() - t);
	json_decref(out);

	/* 1 MB of one-byte continuation lines, then a huge field value. */
	strcpy(s, "Package: cont\nDescription: d\n");
	o = strlen(s);
	for (size_t i = 0; i < (1u << 20); i++) {
		s[o++] = ' ';
		s[o++] = '\n';
	}
	s[o] = '\0';
	t = vec_seconds();
	out = vec_parse_text(dpkg_status_parse, s, &rc, &err);
	ok(rc == 0 && json_array_size(out) == 1, "1 M continuation lines");
	printf("# " "in linear time (%.3f s)" " (timed: a figure, not a pass condition)\n", vec_seconds() - t);
	json_decref(out);

	/* 1 M tiny stanzas. */
	o = 0;
	for (size_t i = 0; i < (1u << 17); i++) {
		memcpy(s + o, "Package: p\n\n", 12);
		o += 12;
	}
	s[o] = '\0';
	t = vec_seconds();
	out = vec_parse_text(dpkg_status_parse, s, &rc, &err);
	is_int(json_array_size(out), (1u << 17), "128 Ki stanzas");
	printf("# " "in linear time (%.3f s)" " (timed: a figure, not a pass condition)\n", vec_seconds() - t);
	json_decref(out);

	/* Random bytes: no crash, an answer either way. */
	ok(vec_random_inputs(dpkg_status_parse, "Pa:ckge \n\t\r\0xSt", 16, 1, 200, 0),
	   "random inputs give 0 or -EBADMSG");
	free(s);
}

static void test_analyzer(void)
{
	is_str(analyzer_dpkg.name, "dpkg", "name");
	is_int(analyzer_dpkg.version, 2, "version");
	ok(vec_claimed(&analyzer_dpkg, "/var/lib/dpkg/status"), "claims the status file");
	ok(vec_claimed(&analyzer_dpkg, "/var/lib/dpkg/status.d/libc6"), "claims a distroless entry");
	ok(!vec_claimed(&analyzer_dpkg, "/var/lib/dpkg/status.d/libc6.md5sums"), "not its md5sums");
	ok(!vec_claimed(&analyzer_dpkg, "/var/lib/dpkg/status-old"), "not status-old");
	ok(!vec_claimed(&analyzer_dpkg, "/var/lib/dpkg/status.d/sub/x"), "not a nested file");
	ok(!vec_claimed(&analyzer_dpkg, "/srv/var/lib/dpkg/status"), "not a status file elsewhere");

	struct strata_error err = STRATA_ERROR_INIT;
	int rc;
	static const char text[] = "Package: a\nVersion: 1\n\nPackage: b\nStatus: deinstall ok config-files\n";
	json_t *out = vec_scan_text(&analyzer_dpkg, "/var/lib/dpkg/status", text, sizeof(text) - 1, &rc, &err);
	is_int(rc, 0, "scan through a file descriptor");
	is_int(json_array_size(out), 1, "scan: one installed package");
	is_str(vec_rec_str(out, 0, "name"), "a", "scan: its name");
	json_decref(out);
}

static json_t *copyright_records(const char *rel, int *rc, struct strata_error *err)
{
	return vec_parse_vector(rel, dpkg_copyright_parse, rc, err);
}

/* Copyright files, machine-readable and free-form, against the peers'
 * expectations (tests/vectors/dpkg/licenses.tsv). */
static void test_copyright(void)
{
	vec_check_licenses("dpkg", copyright_records);
	static const struct { const char *text, *want; } c[] = {
		/* The header's and the Files paragraphs' License; stand-alone
		 * paragraphs only give texts; "none" is no licence. */
		{ "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\nLicense: MIT\n\n"
		  "Files: *\nCopyright: x\nLicense: GPL-2+ or Artistic, and BSD-3-clause\n\nFiles: a\nLicense: none\n\n"
		  "License: Apache-2.0\n text\n", "MIT; (GPL-2.0-or-later OR Artistic-1.0-Perl) AND BSD-3-Clause" },
		{ "Format: http://dep.debian.net/deps/dep5\n\nFiles: *\nLicense: LGPL-2.1+\n", "LGPL-2.1-or-later" },
		{ "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\nFiles: *\n"
		  "License: Custom-thing and MIT\n", "Custom-thing; MIT" },
		/* Free-form: notices decide -only / -or-later of references. */
		{ "Copyright x.\n\nThis library is free software; you can redistribute it under the terms of the GNU\n"
		  "Lesser General Public License as published by the Free Software Foundation; either\n"
		  "version 2.1 of the License, or (at your option) any later version.\n\nOn Debian systems see\n"
		  "`/usr/share/common-licenses/LGPL-2.1'.\n", "LGPL-2.1-or-later" },
		{ "Licensed under the GNU General Public License, version 2.\nSee /usr/share/common-licenses/GPL-2.\n",
		  "GPL-2.0-only" },
		{ "See /usr/share/common-licenses/GPL.\n", "GPL-1.0-or-later" },
		{ "GNU General Public License (v3 or later) with version 3.1 of the GCC Runtime Library Exception\n",
		  "GPL-3.0-or-later" },
		{ "Permission is hereby granted, free of charge, to any person obtaining a copy of this software\n",
		  "MIT" },
		{ "Redistribution and use in source and binary forms, with or without\nmodification, are permitted"
		  " provided that: 1. ... 3. Neither the name of the author may be used", "BSD-3-Clause" },
		{ "Just some words about the package.\n", "" },
	};
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct strata_error err = STRATA_ERROR_INIT;
		int rc;
		json_t *out = vec_parse_text(dpkg_copyright_parse, c[i].text, &rc, &err);
		char *l = vec_licenses_text(json_array_get(out, 0));
		is_str(l, c[i].want, "copyright case %zu", i);
		if (!c[i].want[0])
			is_int(json_array_size(out), 0, "  no record when no licence");
		free(l);
		json_decref(out);
	}
	ok(vec_claimed(&analyzer_dpkg_copyright, "/usr/share/doc/libc6/copyright"), "claims a package's copyright");
	ok(!vec_claimed(&analyzer_dpkg_copyright,
			"/usr/share/doc/ca-certificates/examples/ca-certificates-local/debian/copyright"),
	   "not one deeper down");
	ok(!vec_claimed(&analyzer_dpkg_copyright, "/usr/share/doc/copyright"), "not one without a package");
	is_str(analyzer_dpkg_copyright.family, "dpkg", "selected with dpkg");
	ok(vec_random_inputs(dpkg_copyright_parse, "License: GPL-2+ or\n general public license version 2.1 later\n/"
			     "usr/share/common-licenses/", 80, 3, 200, 12), "copyright: random inputs");
}

/* Relationship fields, folded lines included, and the dpkg-files facts. */
static void test_relationships(void)
{
	struct strata_error err = STRATA_ERROR_INIT;
	int rc;
	json_t *out = vec_parse_text(dpkg_status_parse,
				     "Package: a\nVersion: 1\nDepends: libc6 (>= 2.34), debconf (>= 0.5) |\n debconf-2.0,\n"
				     "  libx:any\nPre-Depends: dpkg (>= 1.19)\nProvides: www-browser, a-virtual (= 1)\n"
				     "Description: x\n continued, with, commas\n", &rc, &err);
	json_t *rec = json_array_get(out, 0);
	char *s = json_dumps(json_object_get(rec, "depends"), 0);
	is_str(s, "[\"libc6 (>= 2.34)\", \"debconf (>= 0.5) | debconf-2.0\", \"libx:any\"]", "depends, folded");
	free(s);
	s = json_dumps(json_object_get(rec, "pre_depends"), 0);
	is_str(s, "[\"dpkg (>= 1.19)\"]", "pre_depends");
	free(s);
	s = json_dumps(json_object_get(rec, "provides"), 0);
	is_str(s, "[\"www-browser\", \"a-virtual (= 1)\"]", "provides");
	free(s);
	json_decref(out);

	out = vec_parse_vector("dpkg/image-distroless-deb/var/lib/dpkg/status.d/libsqlite3-0.md5sums",
			       dpkg_md5sums_fact, &rc, &err);
	rec = json_array_get(out, 0);
	is_str(json_string_value(json_object_get(rec, "fact")), "dpkg-md5sums", "md5sums fact");
	const char *sums = json_string_value(json_object_get(rec, "sums"));
	size_t lines = 0;
	for (const char *p = sums; p && *p; p++)
		lines += *p == '\n';
	is_int(lines, 6, "  6 lines");
	ok(sums && strlen(sums) > 24 && sums[22] == ' ' && sums[23] == '/', "  '<md5> <absolute path>'");
	json_decref(out);
	out = vec_parse_text(dpkg_md5sums_fact, "0123456789ABCDEF0123456789abcdef *usr/bin/x\n", &rc, &err);
	is_str(json_string_value(json_object_get(json_array_get(out, 0), "sums")),
	       "ASNFZ4mrze8BI0VniavN7w /usr/bin/x\n", "  md5 in base64 (either case of hex read), binary mode's '*' read");
	json_decref(out);
	out = vec_parse_text(dpkg_list_parse, "/.\n/usr\n/usr/bin/a\r\n\n", &rc, &err);
	is_str(json_string_value(json_object_get(json_array_get(out, 0), "paths")), "/usr\n/usr/bin/a\n",
	       "list fact: /. and blank lines left out");
	json_decref(out);
	out = vec_parse_text(dpkg_list_parse, "/usr/bin\n/usr/bin/a\n/usr/bin/b\n/usr/lib/c\nusr/lib/d\n", &rc, &err);
	is_str(json_string_value(json_object_get(json_array_get(out, 0), "paths")),
	       "/usr/bin\n8 /a\n9 b\n/usr/lib/c\n9 d\n", "  front-coded: the bytes shared with the path before, when more than '/usr/'");
	json_decref(out);
	ok(vec_claimed(&analyzer_dpkg_files, "/var/lib/dpkg/info/libc6:amd64.list"), "claims a .list");
	ok(vec_claimed(&analyzer_dpkg_files, "/var/lib/dpkg/info/libc6:amd64.md5sums"), "claims a .md5sums");
	ok(vec_claimed(&analyzer_dpkg_files, "/var/lib/dpkg/status.d/libc6.md5sums"), "claims a distroless .md5sums");
	ok(!vec_claimed(&analyzer_dpkg_files, "/var/lib/dpkg/info/x/y.list"), "not deeper");
	ok(!vec_claimed(&analyzer_dpkg_files, "/var/lib/dpkg/info/libc6.postinst"), "not a script");
	ok(analyzer_dpkg_files.keyed_by_name, "keyed by name (a list and md5sums differ by name only)");
}

int main(void)
{
	test_vectors();
	test_fields();
	test_edge_cases();
	test_hostile();
	test_analyzer();
	test_copyright();
	test_relationships();
	return tap_done();
}
