/* test-relate: what the report works out across packages: the dependency
 * graph of every ecosystem (against syft's expectations for the dpkg and
 * apk vectors, tests/vectors/{dpkg,apk}/relationships.tsv), Java
 * containment, and the licences of Debian packages from their copyright
 * facts, doc directory symlinks followed. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "analyzers/apk.h"
#include "analyzers/dpkg.h"
#include "analyzers/relate.h"
#include "tap.h"
#include "vectors.h"
#include "analyzers/walk.h"

/* "a; b" of the names of pkg's key (indices), sorted. */
static char *names_of(json_t *packages, json_t *pkg, const char *key)
{
	char *v[512];
	size_t n = 0, i;
	json_t *x;
	json_array_foreach(json_object_get(pkg, key), i, x)
		if (n < 512)
			v[n++] = strdup(json_string_value(json_object_get(json_array_get(packages, (size_t)json_integer_value(x)), "name")));
	qsort(v, n, sizeof(*v), vec_cmp_str);
	struct buf b = BUF_INIT;
	for (i = 0; i < n; i++) {
		buf_addf(&b, "%s%s", i ? "; " : "", v[i]);
		free(v[i]);
	}
	return buf_detach(&b, NULL);
}

static json_t *relate_text(const char *text, int apk)
{
	struct strata_error err = STRATA_ERROR_INIT;
	int rc;
	json_t *out = vec_parse_text(apk ? apk_installed_parse : dpkg_status_parse, text, &rc, &err);
	json_t *facts = json_object();
	is_int(relate_packages(out, facts, NULL, NULL), 0, "relate");
	json_decref(facts);
	return out;
}

static json_t *find(json_t *packages, const char *name)
{
	size_t i;
	json_t *p;
	json_array_foreach(packages, i, p)
		if (!strcmp(json_string_value(json_object_get(p, "name")), name))
			return p;
	return NULL;
}

/* The peers' graphs: each row's dependencies, and where there is no note
 * the same set as syft's. */
static void test_vectors(const char *eco, int apk)
{
	char rel[128];
	snprintf(rel, sizeof(rel), "%s/relationships.tsv", eco);
	size_t n;
	char ***rows = vec_tsv_rows(rel, &n);
	ok(n > 0, "%s: %zu rows", rel, n);
	json_t *packages = NULL;
	const char *input = "";
	for (size_t i = 0; i < n; i++) {
		char **c = rows[i];
		if (strcmp(c[0], input)) {
			json_decref(packages);
			char path[4096], *data;
			size_t len;
			snprintf(path, sizeof(path), "%s/vectors/%s", vec_srcdir(), c[0]);
			vec_slurp(path, &data, &len);
			packages = relate_text(data, apk);
			free(data);
			input = c[0];
		}
		json_t *p = find(packages, c[1]);
		char *got = p ? names_of(packages, p, "dependencies") : strdup("(missing)");
		if (!ok(!strcmp(got, c[2]), "%s %s: depends on '%s'", c[0], c[1], got))
			printf("#   want '%s'\n", c[2]);
		if (!c[5][0])
			is_str(c[2], c[4], "  as %s expects", c[3]);
		else
			printf("#   %s expects '%s': %s\n", c[3], c[4], c[5]);
		free(got);
	}
	json_decref(packages);
	vec_tsv_free(rows, n);
}

static void test_deb(void)
{
	json_t *p = relate_text("Package: a\nVersion: 1\nPre-Depends: b\nDepends: c:any (>= 1), missing | d, e | f, "
				"virt, gone (>= 2)\n\nPackage: b\n\nPackage: c\n\nPackage: d\n\nPackage: e\n\n"
				"Package: f\n\nPackage: v1\nProvides: virt (= 1)\n\nPackage: v2\nProvides: virt\n", 0);
	json_t *a = find(p, "a");
	char *s = names_of(p, a, "dependencies");
	is_str(s, "b; c; d; e; v1; v2", "deb: pre-depends, arch qualifier, the first installed alternative, every provider");
	free(s);
	s = json_dumps(json_object_get(a, "unresolved_dependencies"), 0);
	is_str(s, "[\"gone (>= 2)\"]", "deb: what nothing installed satisfies is reported, as written");
	free(s);
	ok(!json_object_get(find(p, "b"), "dependencies"), "deb: no dependencies, no member");
	json_decref(p);
}

static void test_apk(void)
{
	json_t *p = relate_text("P:a\nV:1\nD:so:libz.so.1 !conflict b>=2 cmd:tool missing\n\nP:b\nV:2\n\nP:zlib\nV:1\n"
				"p:so:libz.so.1=1.2.13\n\nP:t\nV:1\np:cmd:tool=1\n", 1);
	json_t *a = find(p, "a");
	char *s = names_of(p, a, "dependencies");
	is_str(s, "b; t; zlib", "apk: so: and cmd: through p:, a version constraint, no conflict");
	free(s);
	s = json_dumps(json_object_get(a, "unresolved_dependencies"), 0);
	is_str(s, "[\"missing\"]", "apk: unresolved");
	free(s);
	json_decref(p);
}

static json_t *pkg(const char *type, const char *name, const char *path, const char *extra)
{
	json_t *p = json_pack("{s:s, s:s, s:s, s:s}", "type", type, "name", name, "version", "1", "path", path);
	if (extra) {
		json_t *x = json_loads(extra, 0, NULL);
		json_object_update(p, x);
		json_decref(x);
	}
	return p;
}

static void test_languages(void)
{
	json_t *p = json_array();
	/* npm: /app's express uses its own nested debug, the root's ms. */
	json_array_append_new(p, pkg("npm", "app", "/app/package.json", "{\"requires\": [\"express\", \"nope\"], \"requires_optional\": [\"fsevents\"]}"));
	json_array_append_new(p, pkg("npm", "express", "/app/node_modules/express/package.json", "{\"requires\": [\"debug\", \"ms\"]}"));
	json_array_append_new(p, pkg("npm", "debug", "/app/node_modules/express/node_modules/debug/package.json", "{\"requires\": [\"ms\"]}"));
	json_array_append_new(p, pkg("npm", "debug", "/app/node_modules/debug/package.json", NULL));
	json_array_append_new(p, pkg("npm", "ms", "/app/node_modules/ms/package.json", NULL));
	json_array_append_new(p, pkg("npm", "ms", "/other/node_modules/ms/package.json", NULL));
	/* python: normalized names, extras and other platforms left out,
	 * the same site directory first. */
	json_array_append_new(p, pkg("python", "requests", "/usr/lib/python3/dist-packages/requests-2.dist-info/METADATA",
				     "{\"requires_dist\": [\"charset_normalizer (<4,>=2)\", \"Idna>=2.5\", "
				     "\"PySocks!=1.5.7; extra == 'socks'\", \"pywin32; sys_platform == 'win32'\", "
				     "\"tomli; python_version < '3.11'\"]}"));
	json_array_append_new(p, pkg("python", "charset-normalizer", "/usr/lib/python3/dist-packages/charset_normalizer-3.dist-info/METADATA", NULL));
	json_array_append_new(p, pkg("python", "idna", "/venv/lib/site-packages/idna-3.dist-info/METADATA", NULL));
	json_array_append_new(p, pkg("python", "idna", "/usr/lib/python3/dist-packages/idna-3.egg-info", NULL));
	/* gem and rpm */
	json_array_append_new(p, pkg("gem", "rails", "/g/specifications/rails-1.gemspec", "{\"requires\": [\"rack\"]}"));
	json_array_append_new(p, pkg("gem", "rack", "/g/specifications/rack-1.gemspec", NULL));
	json_array_append_new(p, pkg("rpm", "bash", "/var/lib/rpm/rpmdb.sqlite",
				     "{\"requires\": [\"/bin/sh\", \"libc.so.6()(64bit)\", \"config(bash)\", \"gone\"], \"provides\": [\"bash\", \"config(bash)\"], \"files\": [\"/bin/bash\", \"/bin/sh\"]}"));
	json_array_append_new(p, pkg("rpm", "glibc", "/var/lib/rpm/rpmdb.sqlite", "{\"provides\": [\"libc.so.6()(64bit)\"]}"));
	/* maven: fat.jar's own row contains the shaded row and the nested jar's own row */
	json_array_append_new(p, pkg("maven", "fat", "/opt/fat.jar", "{\"own\": true, \"archive\": \"\"}"));
	json_array_append_new(p, pkg("maven", "shaded", "/opt/fat.jar", "{\"archive\": \"\"}"));
	json_array_append_new(p, pkg("maven", "lib", "/opt/fat.jar!/BOOT-INF/lib/lib.jar", "{\"own\": true, \"archive\": \"BOOT-INF/lib/lib.jar\"}"));
	json_array_append_new(p, pkg("maven", "deeper", "/opt/fat.jar!/BOOT-INF/lib/lib.jar!/x.jar", "{\"own\": true, \"archive\": \"BOOT-INF/lib/lib.jar!/x.jar\"}"));
	json_t *facts = json_object();
	is_int(relate_packages(p, facts, NULL, NULL), 0, "relate");
	json_decref(facts);
	static const struct { size_t i; const char *key, *want; } c[] = {
		{ 0, "dependencies", "express" },
		{ 1, "dependencies", "debug; ms" },
		{ 2, "dependencies", "ms" },
		{ 6, "dependencies", "charset-normalizer; idna" },
		{ 10, "dependencies", "rack" },
		{ 12, "dependencies", "glibc" },
		{ 14, "contains", "lib; shaded" },
		{ 16, "contains", "deeper" },
	};
	for (size_t k = 0; k < sizeof(c) / sizeof(c[0]); k++) {
		char *s = names_of(p, json_array_get(p, c[k].i), c[k].key);
		is_str(s, c[k].want, "%s %s: %s", json_string_value(json_object_get(json_array_get(p, c[k].i), "type")),
		       json_string_value(json_object_get(json_array_get(p, c[k].i), "name")), c[k].key);
		free(s);
	}
	is_int(json_integer_value(json_array_get(json_object_get(json_array_get(p, 1), "dependencies"), 0)), 2,
	       "npm: express's debug is its nested one");
	is_int(json_integer_value(json_array_get(json_object_get(json_array_get(p, 6), "dependencies"), 1)), 9,
	       "python: requests' idna is the one in its own site directory");
	char *s = json_dumps(json_object_get(json_array_get(p, 0), "unresolved_dependencies"), 0);
	is_str(s, "[\"nope\", \"fsevents (optional)\"]", "npm: unresolved, an optional one marked so");
	free(s);
	s = json_dumps(json_object_get(json_array_get(p, 6), "unresolved_dependencies"), 0);
	is_str(s, "[\"tomli; python_version < '3.11'\"]", "python: a marker on the version is kept, unmet");
	free(s);
	s = json_dumps(json_object_get(json_array_get(p, 12), "unresolved_dependencies"), 0);
	is_str(s, "[\"gone\"]", "rpm: /bin/sh through the file list, config() by itself, rpmlib left out");
	free(s);
	json_decref(p);
}

/* Debian licences come from the copyright fact of the package's doc
 * directory, a symbolic link followed. */
static void test_deb_licenses(void)
{
	json_t *p = json_array();
	json_array_append_new(p, pkg("deb", "gcc-12-base", "/var/lib/dpkg/status", NULL));
	json_array_append_new(p, pkg("deb", "libstdc++6", "/var/lib/dpkg/status", "{\"licenses\": [\"Own\"]}"));
	json_array_append_new(p, pkg("deb", "loop", "/var/lib/dpkg/status", NULL));
	json_t *facts = json_pack("{s:{s:s, s:[s, s]}}", "/usr/share/doc/gcc-12-base/copyright", "fact", "copyright",
				  "licenses", "GPL-3.0-or-later", "Own");
	struct walk_entry e[3];
	memset(e, 0, sizeof(e));
	e[0].path = "/usr/share/doc/libstdc++6";
	e[0].mode = S_IFLNK | 0777;
	e[0].link = "gcc-12-base";
	e[1].path = "/usr/share/doc/loop";
	e[1].mode = S_IFLNK | 0777;
	e[1].link = "../doc/./loop";
	struct walk_result w = { e, 2, NULL, 0 };
	is_int(relate_packages(p, facts, &w, NULL), 0, "relate");
	char *s = json_dumps(json_object_get(json_array_get(p, 1), "licenses"), 0);
	is_str(s, "[\"Own\", \"GPL-3.0-or-later\"]", "through the doc symlink, each licence once");
	free(s);
	ok(!json_object_get(json_array_get(p, 2), "licenses"), "a symlink loop gives nothing and ends");
	json_decref(facts);
	json_decref(p);
}

/* Which package owns which file, and which files differ from what their
 * package shipped: dpkg lists and md5sums (facts), a merged /usr's links
 * followed, rpm's sha256 file digests, apk's Z: SHA-1s. */
static void test_owners(void)
{
	json_t *p = json_array();
	json_array_append_new(p, pkg("apk", "busybox", "/lib/apk/db/installed",
				     "{\"files\": [\"/bin/busybox\"], \"file_digests\": [\"Q1AQIDBAUGBwgJCgsMDQ4PEBESExQ=\"]}"));
	json_array_append_new(p, pkg("deb", "bash", "/var/lib/dpkg/status", "{\"architecture\": \"amd64\"}"));
	json_array_append_new(p, pkg("deb", "base-files", "/var/lib/dpkg/status", "{\"architecture\": \"amd64\"}"));
	json_array_append_new(p, pkg("rpm", "glibc", "/var/lib/rpm/rpmdb.sqlite",
				     "{\"files\": [\"/usr/lib/libc.so\", \"/etc/ld.so.conf\"], \"file_digest_algo\": 8, "
				     "\"file_digests\": [\"00000000000000000000000000000000000000000000000000000000000000ff\", \"\"]}"));
	/* Every file's md5 is 0102...10: bash's md5sums say otherwise for
	 * /bin/bash, and agree for its README (named as dpkg.h codes it: the
	 * bytes shared with the path before, and the rest). */
	json_t *facts = json_pack("{s:{s:s, s:s}, s:{s:s, s:s}, s:{s:s, s:s}}",
				  "/var/lib/dpkg/info/bash:amd64.list", "fact", "dpkg-list", "paths",
				  "/bin\n/bin/bash\n/usr/share/doc/bash/changelog\n20 README\n20 other\n/etc/bash.bashrc\n16 \n",
				  "/var/lib/dpkg/info/bash:amd64.md5sums", "fact", "dpkg-md5sums", "sums",
				  "AAAAAAAAAAAAAAAAAAAAAA /bin/bash\n"
				  "AQIDBAUGBwgJCgsMDQ4PEA /usr/share/doc/bash/changelog\n"
				  "AQIDBAUGBwgJCgsMDQ4PEA 20 README\n",
				  "/var/lib/dpkg/info/base-files.list", "fact", "dpkg-list", "paths", "/etc/bash.bashrc\n");
	struct walk_entry e[8];
	memset(e, 0, sizeof(e));
	const char *paths[] = { "/bin", "/bin/busybox", "/etc/bash.bashrc", "/etc/ld.so.conf", "/usr/bin/bash",
				"/usr/lib/libc.so", "/usr/share/doc/bash/README", "/usr/share/doc/bash/other" };
	for (int k = 0; k < 8; k++) {
		e[k].path = (char *)paths[k];
		e[k].mode = S_IFREG | 0644;
		e[k].digests = 1;
		memcpy(e[k].md5, "\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10", 16);
	}
	e[0].mode = S_IFLNK | 0777;
	e[0].link = "usr/bin";
	e[7].mode = S_IFLNK | 0777; /* a link bash ships, not a directory */
	e[7].link = "README";
	struct walk_result w = { e, 8, NULL, 0 };
	struct relate_owners o = { 0 };
	is_int(relate_packages(p, facts, &w, &o), 0, "relate");
	ok(o.off != NULL, "owners found");
	char got[512] = "";
	for (size_t k = 0; o.off && k < 8; k++) {
		size_t len = strlen(got);
		snprintf(got + len, sizeof(got) - len, "%s%s:", k ? " " : "", paths[k]);
		for (uint32_t x = o.off[k]; x < o.off[k + 1]; x++) {
			len = strlen(got);
			snprintf(got + len, sizeof(got) - len, "%s%s", x > o.off[k] ? "," : "",
				 json_string_value(json_object_get(json_array_get(p, o.pkg[x]), "name")));
		}
		if (o.modified[k]) {
			len = strlen(got);
			snprintf(got + len, sizeof(got) - len, "!");
		}
	}
	is_str(got, "/bin: /bin/busybox:busybox! /etc/bash.bashrc:bash,base-files /etc/ld.so.conf:glibc "
		    "/usr/bin/bash:bash! /usr/lib/libc.so:glibc! /usr/share/doc/bash/README:bash /usr/share/doc/bash/other:bash",
	       "owners ('!': differs from what it shipped; /bin/bash through the /bin link, which is no file of bash's; "
	       "a %%config file's digest not checked)");
	char *s = json_dumps(json_object_get(json_array_get(p, 1), "modified_files"), 0);
	is_str(s, "[\"/bin/bash\"]", "bash's modified_files, as the list names them");
	free(s);
	ok(!json_object_get(json_array_get(p, 2), "modified_files"), "base-files: none");
	ok(!json_object_get(json_array_get(p, 3), "files") && !json_object_get(json_array_get(p, 3), "file_digests"),
	   "the file lists stay out of the report");
	relate_owners_release(&o);
	/* The coded texts above are what dpkg-files writes for these files
	 * (bash's list names /etc/bash.bashrc twice: it is owned once). */
	struct strata_error err = STRATA_ERROR_INIT;
	int rc;
	json_t *out = vec_parse_text(dpkg_list_parse,
				     "/.\n/bin\n/bin/bash\n/usr/share/doc/bash/changelog\n/usr/share/doc/bash/README\n"
				     "/usr/share/doc/bash/other\n/etc/bash.bashrc\n/etc/bash.bashrc\n", &rc, &err);
	is_str(json_string_value(json_object_get(json_array_get(out, 0), "paths")),
	       json_string_value(json_object_get(json_object_get(facts, "/var/lib/dpkg/info/bash:amd64.list"), "paths")),
	       "the list, as dpkg-files codes it");
	json_decref(out);
	out = vec_parse_text(dpkg_md5sums_fact,
			     "00000000000000000000000000000000  bin/bash\n"
			     "0102030405060708090a0b0c0d0e0f10  usr/share/doc/bash/changelog\n"
			     "0102030405060708090A0B0C0D0E0F10  usr/share/doc/bash/README\n", &rc, &err);
	is_str(json_string_value(json_object_get(json_array_get(out, 0), "sums")),
	       json_string_value(json_object_get(json_object_get(facts, "/var/lib/dpkg/info/bash:amd64.md5sums"), "sums")),
	       "the md5sums, as dpkg-files codes them");
	json_decref(out);
	json_decref(facts);
	json_decref(p);
}

int main(void)
{
	test_vectors("dpkg", 0);
	test_vectors("apk", 1);
	test_deb();
	test_apk();
	test_languages();
	test_deb_licenses();
	test_owners();
	return tap_done();
}
