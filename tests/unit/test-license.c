/* test-license: the SPDX License List and expression reader, and the
 * reading of licence declarations as the packages of every ecosystem write
 * them (DEP-5, rpm, npm, Maven, PyPI classifiers, URLs). */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "analyzers/license.h"
#include "tap.h"

static void test_expression(void)
{
	char *canon;
	int single;
	struct { const char *in, *canon; int single; } ok_cases[] = {
		{ "MIT", "MIT", 1 },
		{ "mit", "MIT", 1 },
		{ "Apache-2.0 OR MIT", "Apache-2.0 OR MIT", 0 },
		{ "(MIT AND Zlib)", "(MIT AND Zlib)", 0 },
		{ "gpl-2.0-or-later WITH classpath-exception-2.0", "GPL-2.0-or-later WITH Classpath-exception-2.0", 0 },
		{ "Apache-2.0+", "Apache-2.0+", 0 },
		{ "GPL-2.0+", "GPL-2.0+", 1 },
		{ "( MIT  or  BSD-3-Clause )and ISC", "(MIT OR BSD-3-Clause) AND ISC", 0 },
	};
	for (size_t i = 0; i < sizeof(ok_cases) / sizeof(ok_cases[0]); i++) {
		int r = license_expression(ok_cases[i].in, &canon, &single);
		ok(r == 1 && !strcmp(canon, ok_cases[i].canon) && single == ok_cases[i].single,
		   "expression '%s' -> '%s'", ok_cases[i].in, r == 1 ? canon : "(rejected)");
		if (r == 1)
			free(canon);
	}
	const char *bad[] = { "", "GPLv2+", "Apache 2.0", "MIT AND", "(MIT", "MIT)", "MIT Or ISC",
			      "LicenseRef-foo", "MIT WITH ISC OR", "BSD" };
	int rejected = 0;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		rejected += license_expression(bad[i], &canon, &single) == 0;
	is_int(rejected, sizeof(bad) / sizeof(bad[0]), "non-expressions are rejected");
	char deep[200];
	memset(deep, '(', 60);
	strcpy(deep + 60, "MIT");
	memset(deep + 63, ')', 60);
	deep[123] = '\0';
	is_int(license_expression(deep, &canon, &single), 0, "nesting past 32 is refused, not recursed");

	/* Every identifier CycloneDX validates license.id against is known. */
	const char *srcdir = getenv("TEST_SRCDIR");
	char schema[512];
	snprintf(schema, sizeof(schema), "%s/data/schemas/spdx.schema.json", srcdir && *srcdir ? srcdir : "tests");
	json_t *s = json_load_file(schema, 0, NULL);
	size_t i, unknown = 0, n = json_array_size(json_object_get(s, "enum"));
	const json_t *id;
	json_array_foreach(json_object_get(s, "enum"), i, id) {
		const char *v = json_string_value(id), *got = license_id(v, strlen(v));
		unknown += !got || strcmp(got, v);
	}
	ok(n > 500 && unknown == 0, "all %zu ids of spdx.schema.json are in the table (%zu missing)", n, unknown);
	json_decref(s);
}

/* Declarations as packages write them, and what they mean. want NULL: not
 * a licence we can name, kept as text. */
static const struct {
	const char *in, *want;
} decls[] = {
	/* SPDX, in any case, and its deprecated GNU spellings */
	{ "MIT", "MIT" },
	{ "mit", "MIT" },
	{ "(MIT OR Apache-2.0)", "(MIT OR Apache-2.0)" },
	{ "MIT or Apache-2.0", "MIT OR Apache-2.0" },
	{ "GPL-2.0", "GPL-2.0-only" },
	{ "GPL-2.0+", "GPL-2.0-or-later" },
	{ "LGPL-2.1-or-later", "LGPL-2.1-or-later" },
	{ "GPL-3.0-only", "GPL-3.0-only" },
	{ "GPL-2.0-with-classpath-exception", "GPL-2.0-only WITH Classpath-exception-2.0" },
	{ "Apache-2.0+", "Apache-2.0+" },
	{ "X11", "X11" },
	{ "MIT-0", "MIT-0" },
	{ "0BSD", "0BSD" },
	{ "CC0-1.0", "CC0-1.0" },
	/* DEP-5 short names */
	{ "GPL-2", "GPL-2.0-only" },
	{ "GPL-2+", "GPL-2.0-or-later" },
	{ "LGPL-2.1+", "LGPL-2.1-or-later" },
	{ "LGPL-3", "LGPL-3.0-only" },
	{ "GFDL-NIV-1.3+", "GFDL-1.3-no-invariants-or-later" },
	{ "Expat", "MIT" },
	{ "BSD-3-clause", "BSD-3-Clause" },
	{ "BSD-2-clause", "BSD-2-Clause" },
	{ "Zlib", "Zlib" },
	{ "CC0", "CC0-1.0" },
	{ "GPL-2+ or Artistic", NULL },
	{ "GPL-2+ with Bison exception", "GPL-2.0-or-later WITH Bison-exception-2.2" },
	{ "GPL-3+ with GCC exception", "GPL-3.0-or-later WITH GCC-exception-3.1" },
	{ "GPL-2 with Linux-syscall-note exception", "GPL-2.0-only WITH Linux-syscall-note" },
	{ "GPL-2+ with OpenSSL exception", NULL },
	{ "BSD-3-clause or GPL-2+, and MIT", "(BSD-3-Clause OR GPL-2.0-or-later) AND MIT" },
	{ "public-domain", NULL },
	{ "GPL", "GPL-1.0-or-later" },
	/* rpm (Fedora's old short names) */
	{ "GPLv2+", "GPL-2.0-or-later" },
	{ "GPLv2", "GPL-2.0-only" },
	{ "GPL+", "GPL-1.0-or-later" },
	{ "LGPLv2+ and GPLv3+", "LGPL-2.0-or-later AND GPL-3.0-or-later" },
	{ "ASL 2.0", "Apache-2.0" },
	{ "MIT and ASL 2.0", "MIT AND Apache-2.0" },
	{ "MPLv2.0", "MPL-2.0" },
	{ "BSD", NULL },
	{ "Public Domain", NULL },
	/* Maven, npm, PyPI spellings */
	{ "The Apache Software License, Version 2.0", "Apache-2.0" },
	{ "Apache License, Version 2.0", "Apache-2.0" },
	{ "Apache License 2.0", "Apache-2.0" },
	{ "Apache 2.0", "Apache-2.0" },
	{ "Apache-2", "Apache-2.0" },
	{ "Apache", NULL },
	{ "MIT License", "MIT" },
	{ "The MIT License (MIT)", "MIT" },
	{ "BSD License", NULL },
	{ "new BSD License", "BSD-3-Clause" },
	{ "Eclipse Public License - v 1.0", "EPL-1.0" },
	{ "Eclipse Public License 2.0", "EPL-2.0" },
	{ "GNU General Public License v2.0", "GPL-2.0-only" },
	{ "GNU Lesser General Public License v3 or later", "LGPL-3.0-or-later" },
	{ "GNU General Public Licence, version 3", "GPL-3.0-only" },
	{ "Mozilla Public License 2.0", "MPL-2.0" },
	{ "Boost Software License 1.0", "BSL-1.0" },
	{ "PSF", "PSF-2.0" },
	{ "ISCL", "ISC" },
	{ "UNLICENSED", NULL },
	{ "Unlicense", "Unlicense" },
	{ "SEE LICENSE IN LICENSE.md", NULL },
	{ "MIT-style", NULL },
	{ "Apache-2.0 WITH LLVM-exception", "Apache-2.0 WITH LLVM-exception" },
	{ "Apache-2.0 with LLVM exception", "Apache-2.0 WITH LLVM-exception" },
	/* URLs */
	{ "https://www.apache.org/licenses/LICENSE-2.0.txt", "Apache-2.0" },
	{ "http://www.apache.org/licenses/LICENSE-2.0", "Apache-2.0" },
	{ "https://opensource.org/licenses/MIT", "MIT" },
	{ "http://www.opensource.org/licenses/mit-license.php", "MIT" },
	{ "https://www.gnu.org/licenses/old-licenses/gpl-2.0.html", "GPL-2.0-only" },
	{ "https://licenses.nuget.org/MIT", "MIT" },
	{ "https://licenses.nuget.org/(MIT%20OR%20Apache-2.0)", "(MIT OR Apache-2.0)" },
	{ "https://spdx.org/licenses/BSD-3-Clause.html", "BSD-3-Clause" },
	{ "https://example.com/LICENSE", NULL },
};

static void test_normalize(void)
{
	for (size_t i = 0; i < sizeof(decls) / sizeof(decls[0]); i++) {
		struct buf b = BUF_INIT;
		int r = license_normalize(decls[i].in, strlen(decls[i].in), &b);
		const char *want = decls[i].want ? decls[i].want : decls[i].in;
		ok(r == (decls[i].want != NULL) && !strcmp(b.data, want), "'%s' -> '%s' (%s)", decls[i].in, b.data,
		   r == 1 ? "SPDX" : "text");
		if (r == 1) {
			/* Whatever it gives is an expression the strict reader takes. */
			char *canon;
			int single;
			int e = license_expression(b.data, &canon, &single);
			ok(e == 1 && !strcmp(canon, b.data), "  and is canonical SPDX");
			if (e == 1)
				free(canon);
		}
		buf_release(&b);
	}
	struct buf b = BUF_INIT;
	is_int(license_normalize("  MIT \n", 7, &b), 1, "white space around is trimmed");
	is_str(b.data, "MIT", "  to MIT");
	buf_reset(&b);
	is_int(license_normalize("Some   custom\tterms", 19, &b), 0, "text");
	is_str(b.data, "Some custom terms", "  with its white space made single");
	buf_reset(&b);
	is_int(license_normalize("", 0, &b), 0, "empty: nothing");
	is_int(b.len, 0, "  appended");
	char long_name[4000];
	memset(long_name, 'x', sizeof(long_name));
	is_int(license_normalize(long_name, sizeof(long_name), &b), 0, "a long text is kept as text");
	is_int(b.len, sizeof(long_name), "  whole");
	buf_release(&b);
}

static void test_classifiers(void)
{
	static const struct { const char *in, *want; int r; } c[] = {
		{ "License :: OSI Approved :: MIT License", "MIT", 1 },
		{ "License :: OSI Approved :: GNU General Public License v2 or later (GPLv2+)", "GPL-2.0-or-later", 1 },
		{ "License :: OSI Approved :: GNU Lesser General Public License v3 (LGPLv3)", "LGPL-3.0-only", 1 },
		{ "License :: OSI Approved :: Mozilla Public License 2.0 (MPL 2.0)", "MPL-2.0", 1 },
		{ "License :: OSI Approved :: Python Software Foundation License", "PSF-2.0", 1 },
		{ "License :: OSI Approved :: ISC License (ISCL)", "ISC", 1 },
		{ "License :: OSI Approved :: BSD License", "BSD License", 0 },
		{ "License :: OSI Approved", "", 0 },
		{ "Programming Language :: Python :: 3", "", 0 },
	};
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct buf b = BUF_INIT;
		int r = license_from_classifier(c[i].in, strlen(c[i].in), &b);
		ok(r == c[i].r && !strcmp(b.data, c[i].want), "classifier '%s' -> '%s'", c[i].in, b.data);
		buf_release(&b);
	}
}

static void test_add(void)
{
	json_t *rec = json_object();
	is_int(license_add(rec, "GPL-2+", 6), 0, "add GPL-2+");
	is_int(license_add(rec, "GPL-2.0+", 8), 0, "add GPL-2.0+ (the same licence)");
	is_int(license_add(rec, "", 0), 0, "add nothing");
	is_int(license_add(rec, "Custom", 6), 0, "add a text");
	is_int(license_add_raw(rec, " \xff bad ", 7), 0, "add bytes that are not UTF-8");
	char *s = json_dumps(json_object_get(rec, "licenses"), 0);
	is_str(s, "[\"GPL-2.0-or-later\", \"Custom\", \"? bad\"]", "licenses, each once, valid JSON");
	free(s);
	json_decref(rec);
}

int main(void)
{
	test_expression();
	test_normalize();
	test_classifiers();
	test_add();
	return tap_done();
}
