/* test-report: the three report writers on tests/data/report-sample.json
 * (every package type, files, secrets, warnings) and on the same report as a
 * directory scan. The SBOMs are checked against the official CycloneDX 1.5
 * schema and strata's SPDX 2.3 schema by tests/validate-sbom.py, which must
 * also reject deliberately broken documents; their contents, the table and
 * the shared helpers (license expressions, UUIDs, purls against the sample's
 * independently computed ones) are checked here. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "analyzers/report.h"
#include "tap.h"

static char tmpdir[] = "/tmp/test-report.XXXXXX";
static const char *srcdir;
static int have_validator;

static char *path_in_tmp(const char *name)
{
	static char p[8][512];
	static int k;
	k = (k + 1) % 8;
	snprintf(p[k], sizeof(p[k]), "%s/%s", tmpdir, name);
	return p[k];
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 1 << 16, len = 0;
	char *s = malloc(cap);
	size_t n;
	while (s && (n = fread(s + len, 1, cap - len - 1, f)) > 0) {
		len += n;
		if (len + 1 == cap) {
			char *t = realloc(s, cap *= 2);
			if (!t) {
				free(s);
				s = NULL;
			}
			s = t;
		}
	}
	fclose(f);
	if (s)
		s[len] = '\0';
	return s;
}

typedef int (*writer)(const json_t *, const struct report_files *, FILE *, struct strata_error *);

/* Writes report with w (files from files, or the report's own when NULL)
 * to tmpdir/name; returns the writer's result. */
static int write_files_to(writer w, const json_t *report, const struct report_files *files, const char *name,
			  char *msg, size_t msglen)
{
	struct strata_error err = STRATA_ERROR_INIT;
	FILE *f = fopen(path_in_tmp(name), "w");
	if (!f) {
		perror(name);
		exit(99);
	}
	int r = w(report, files, f, &err);
	fclose(f);
	snprintf(msg, msglen, "%s", err.msg);
	return r;
}

static int write_to(writer w, const json_t *report, const char *name, char *msg, size_t msglen)
{
	return write_files_to(w, report, NULL, name, msg, msglen);
}

/* Runs python3 tests/validate-sbom.py fmt file; returns its exit status and
 * prints its line as a TAP comment. */
static int validate(const char *fmt, const char *file)
{
	char script[512], outp[600];
	snprintf(script, sizeof(script), "%s/validate-sbom.py", srcdir);
	snprintf(outp, sizeof(outp), "%s/validator.out", tmpdir);
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int fd = open(outp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execlp("python3", "python3", script, fmt, file, (char *)NULL);
		_exit(127);
	}
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	char *out = slurp(outp);
	if (out) {
		for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n"))
			printf("#   %s\n", line);
		free(out);
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static const char *sget(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "";
}

/* The SPDX package whose externalRefs hold purl, or NULL. */
static const json_t *spdx_by_purl(const json_t *doc, const char *purl)
{
	size_t i, k;
	const json_t *p, *ref;
	json_array_foreach(json_object_get(doc, "packages"), i, p)
		json_array_foreach(json_object_get(p, "externalRefs"), k, ref)
			if (!strcmp(sget(ref, "referenceLocator"), purl))
				return p;
	return NULL;
}

static const json_t *cdx_by_purl(const json_t *doc, const char *purl)
{
	size_t i;
	const json_t *c;
	json_array_foreach(json_object_get(doc, "components"), i, c)
		if (!strcmp(sget(c, "purl"), purl))
			return c;
	return NULL;
}

static size_t regular_files(const json_t *report)
{
	size_t i, n = 0;
	const json_t *f;
	json_array_foreach(json_object_get(report, "files"), i, f)
		n += !strcmp(sget(f, "type"), "file");
	return n;
}

static void check_spdx(const json_t *report, const char *file, int dir)
{
	json_error_t e;
	json_t *doc = json_load_file(path_in_tmp(file), 0, &e);
	if (!ok(doc, "%s parses as JSON", file)) {
		printf("#   %s at line %d\n", e.text, e.line);
		return;
	}
	const json_t *pkgs = json_object_get(report, "packages");
	size_t npkg = json_array_size(pkgs), i, missing = 0;
	is_str(sget(doc, "spdxVersion"), "SPDX-2.3", "spdxVersion");
	is_str(sget(doc, "dataLicense"), "CC0-1.0", "dataLicense");
	is_str(sget(doc, "SPDXID"), "SPDXRef-DOCUMENT", "document SPDXID");
	ok(!strncmp(sget(doc, "documentNamespace"), "https://strata.invalid/spdx/", 28),
	   "documentNamespace under strata.invalid: %s", sget(doc, "documentNamespace"));
	is_str(json_string_value(json_array_get(json_object_get(json_object_get(doc, "creationInfo"), "creators"), 0)),
	       "Tool: strata-0.1", "creator is the tool with its version");
	is_int(json_array_size(json_object_get(doc, "packages")), npkg + 1, "one SPDX package per package, plus the root");
	is_int(json_array_size(json_object_get(doc, "files")), regular_files(report),
	       "one SPDX file per regular file");
	is_int(json_array_size(json_object_get(doc, "relationships")), 1 + npkg + regular_files(report),
	       "DESCRIBES plus one CONTAINS per package and file");
	const json_t *root = json_array_get(json_object_get(doc, "packages"), 0);
	is_str(sget(root, "SPDXID"), dir ? "SPDXRef-Directory" : "SPDXRef-Image", "root package id");
	ok(json_is_true(json_object_get(root, "filesAnalyzed")) &&
	   strlen(sget(json_object_get(root, "packageVerificationCode"), "packageVerificationCodeValue")) == 40,
	   "the root holds the files: filesAnalyzed and a verification code");
	const json_t *p;
	json_array_foreach(pkgs, i, p) {
		const json_t *sp = spdx_by_purl(doc, sget(p, "purl"));
		if (!sp || strcmp(sget(sp, "name"), sget(p, "name")) || strcmp(sget(sp, "versionInfo"), sget(p, "version"))) {
			printf("#   missing or wrong: %s\n", sget(p, "purl"));
			missing++;
		}
	}
	is_int(missing, 0, "every package is there with its name, version and purl");
	if (!dir) {
		const json_t *sp = spdx_by_purl(doc, "pkg:npm/pako@2.1.0");
		is_str(sget(sp, "licenseDeclared"), "(MIT AND Zlib)", "an SPDX expression is declared as is");
		sp = spdx_by_purl(doc, "pkg:npm/lodash@4.17.21");
		is_str(sget(sp, "licenseDeclared"), "MIT", "a listed id is declared as is");
		ok(strstr(sget(sp, "sourceInfo"), "/app/node_modules/lodash/package.json") &&
		   strstr(sget(sp, "sourceInfo"), "layer sha256:"), "sourceInfo names path and layer: %s",
		   sget(sp, "sourceInfo"));
		sp = spdx_by_purl(doc, "pkg:rpm/debian/bash@5.1.8-6.el9?arch=x86_64&distro=debian-12&upstream=bash-5.1.8-6.el9.src.rpm");
		is_str(sget(sp, "licenseDeclared"), "LicenseRef-GPLv3plus", "a non-SPDX license becomes a LicenseRef");
		sp = spdx_by_purl(doc, "pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&distro=debian-12&upstream=glibc%402.36-9%2Bdeb12u4");
		is_str(sget(sp, "licenseDeclared"), "NOASSERTION", "no license: NOASSERTION");
		const json_t *infos = json_object_get(doc, "hasExtractedLicensingInfos"), *li;
		int found = 0;
		json_array_foreach(infos, i, li)
			found += !strcmp(sget(li, "licenseId"), "LicenseRef-GPLv3plus") &&
				 !strcmp(sget(li, "extractedText"), "GPLv3+");
		is_int(found, 1, "the LicenseRef is declared once with the text found");
		const char *ext = sget(json_array_get(json_object_get(root, "externalRefs"), 0), "referenceLocator");
		ok(!strncmp(ext, "pkg:oci/app@sha256:", 19) && strstr(ext, "repository_url=127.0.0.1:5000%2Fapp"),
		   "the image has an oci purl: %s", ext);
	}
	/* SPDXIDs are unique (the validator checks it too, when it runs). */
	json_t *seen = json_object();
	size_t dups = 0;
	const char *kinds[] = { "packages", "files" };
	for (int k = 0; k < 2; k++)
		json_array_foreach(json_object_get(doc, kinds[k]), i, p) {
			dups += json_object_get(seen, sget(p, "SPDXID")) != NULL;
			json_object_set_new(seen, sget(p, "SPDXID"), json_true());
		}
	is_int(dups, 0, "SPDXIDs are unique");
	json_decref(seen);
	json_decref(doc);
}

static void check_cyclonedx(const json_t *report, const char *file, int dir)
{
	json_error_t e;
	json_t *doc = json_load_file(path_in_tmp(file), 0, &e);
	if (!ok(doc, "%s parses as JSON", file)) {
		printf("#   %s at line %d\n", e.text, e.line);
		return;
	}
	const json_t *pkgs = json_object_get(report, "packages");
	size_t npkg = json_array_size(pkgs), i, missing = 0;
	is_str(sget(doc, "bomFormat"), "CycloneDX", "bomFormat");
	is_str(sget(doc, "specVersion"), "1.5", "specVersion");
	const char *sn = sget(doc, "serialNumber");
	ok(strlen(sn) == 45 && !strncmp(sn, "urn:uuid:", 9) && sn[23] == '5', "serialNumber is a v5 UUID URN: %s", sn);
	is_int(json_integer_value(json_object_get(doc, "version")), 1, "version 1");
	const json_t *meta = json_object_get(doc, "metadata"), *root = json_object_get(meta, "component");
	is_str(sget(meta, "timestamp"), "2026-11-22T18:00:00Z", "timestamp is the report's");
	is_str(sget(json_array_get(json_object_get(json_object_get(meta, "tools"), "components"), 0), "name"),
	       "strata", "the tool in the 1.5 form");
	is_str(sget(root, "type"), dir ? "file" : "container", "metadata.component type");
	is_int(json_array_size(json_object_get(doc, "components")), npkg + 1,
	       "one component per package, plus the operating system");
	is_str(sget(json_array_get(json_object_get(doc, "components"), 0), "type"), "operating-system",
	       "the distribution is a component");
	const json_t *p;
	json_array_foreach(pkgs, i, p) {
		const json_t *c = cdx_by_purl(doc, sget(p, "purl"));
		if (!c || strcmp(sget(c, "name"), sget(p, "name")) || strcmp(sget(c, "type"), "library")) {
			printf("#   missing or wrong: %s\n", sget(p, "purl"));
			missing++;
		}
	}
	is_int(missing, 0, "every package is a library component with its purl");
	if (!dir) {
		is_str(sget(root, "version"), sget(json_object_get(report, "image"), "digest"), "image version is its digest");
		const json_t *c = cdx_by_purl(doc, "pkg:npm/lodash@4.17.21");
		is_str(sget(json_object_get(json_array_get(json_object_get(c, "licenses"), 0), "license"), "id"), "MIT",
		       "a listed id: license.id");
		const json_t *prop = json_array_get(json_object_get(c, "properties"), 1);
		ok(!strcmp(sget(prop, "name"), "strata:path") &&
		   !strcmp(sget(prop, "value"), "/app/node_modules/lodash/package.json"), "strata:path property");
		c = cdx_by_purl(doc, "pkg:npm/pako@2.1.0");
		is_str(sget(json_array_get(json_object_get(c, "licenses"), 0), "expression"), "(MIT AND Zlib)",
		       "an expression: expression");
		c = cdx_by_purl(doc, "pkg:pypi/requests@2.31.0");
		is_str(sget(json_object_get(json_array_get(json_object_get(c, "licenses"), 0), "license"), "name"),
		       "Apache 2.0", "other text: license.name");
		c = cdx_by_purl(doc, "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1");
		is_str(sget(c, "group"), "org.apache.logging.log4j", "maven group");
	}
	json_decref(doc);
}

static void check_table(const json_t *report, const char *file, int dir)
{
	char *t = slurp(path_in_tmp(file));
	if (!ok(t, "%s was written", file))
		return;
	size_t i, missing = 0;
	const json_t *p;
	json_array_foreach(json_object_get(report, "packages"), i, p) {
		char name[256];
		snprintf(name, sizeof(name), "%s", sget(p, "name"));
		for (char *c = name; *c; c++)
			if ((unsigned char)*c < 0x20)
				*c = '?';
		if (!strstr(t, name)) {
			printf("#   no '%s'\n", name);
			missing++;
		}
	}
	is_int(missing, 0, "every package name is in the table");
	ok(!strchr(t, 0x1b), "no escape character reaches the terminal");
	ok(strstr(t, "Weird_Name?[31m"), "control characters show as '?'");
	ok(strstr(t, "\nCRITICAL  aws-access-key-id  /app/.env:1") != NULL, "the secret line, most severe first");
	ok(strstr(t, "  java '/opt/bomb.jar': archive expands past") != NULL, "the warnings");
	ok(strstr(t, "\n26 packages (apk 3, deb 5, gem 2, maven 3, npm 4, nuget 2, python 4, rpm 3), "
		     "3 secrets, 2 warnings, 24 files\n") != NULL, "the summary line counts");
	ok(strstr(t, dir ? "DIRECTORY  /srv/rootfs\n" : "IMAGE      127.0.0.1:5000/app:1\n") != NULL, "the header");
	ok(strstr(t, "DISTRO     Debian GNU/Linux 12 (bookworm)\n") != NULL, "the distro");
	/* Sorted by type then name: apk rows come before deb rows, libc6 after base-files. */
	char *apk = strstr(t, "\napk "), *deb = strstr(t, "\ndeb "), *base = strstr(t, "base-files"),
	     *libc = strstr(t, "libc6");
	ok(apk && deb && apk < deb && base && libc && base < libc, "rows sorted by type, then name");
	/* Columns line up: NAME starts at the same offset on the header and a row. */
	char *hdr = strstr(t, "\nTYPE "), *row = strstr(t, "\nnuget ");
	ok(hdr && row && strstr(hdr, "NAME") - hdr == strstr(row, "Newtonsoft") - row, "columns are aligned");
	free(t);
}

/* The sample as a directory scan: image {"path"}, no layers anywhere. */
static json_t *as_directory(const json_t *report)
{
	json_t *d = json_deep_copy(report);
	json_object_set_new(d, "image", json_pack("{s:s}", "path", "/srv/rootfs"));
	const char *sections[] = { "files", "packages", "secrets" };
	for (int k = 0; k < 3; k++) {
		size_t i;
		json_t *x;
		json_array_foreach(json_object_get(d, sections[k]), i, x)
			json_object_del(x, "layer");
	}
	return d;
}

static void run_writers(const json_t *report, int dir)
{
	char msg[1100];
	const char *tag = dir ? "dir" : "image";
	char spdx[64], cdx[64], table[64];
	snprintf(spdx, sizeof(spdx), "%s.spdx.json", tag);
	snprintf(cdx, sizeof(cdx), "%s.cdx.json", tag);
	snprintf(table, sizeof(table), "%s.txt", tag);
	is_int(write_to(report_write_spdx, report, spdx, msg, sizeof(msg)), 0, "%s: spdx-json written %s", tag, msg);
	is_int(write_to(report_write_cyclonedx, report, cdx, msg, sizeof(msg)), 0, "%s: cyclonedx-json written %s", tag, msg);
	is_int(write_to(report_write_table, report, table, msg, sizeof(msg)), 0, "%s: table written %s", tag, msg);
	check_spdx(report, spdx, dir);
	check_cyclonedx(report, cdx, dir);
	check_table(report, table, dir);
	if (have_validator) {
		is_int(validate("spdx", path_in_tmp(spdx)), 0, "%s: the SPDX document validates", tag);
		is_int(validate("cyclonedx", path_in_tmp(cdx)), 0, "%s: the CycloneDX BOM validates", tag);
	}

	/* The same report gives the same bytes. */
	write_to(report_write_spdx, report, "again.json", msg, sizeof(msg));
	char *a = slurp(path_in_tmp(spdx)), *b = slurp(path_in_tmp("again.json"));
	ok(a && b && !strcmp(a, b), "%s: spdx output is deterministic", tag);
	free(a);
	free(b);
}

/* Rewrites tmpdir/in into tmpdir/out with edit applied; the validator must
 * then fail. */
static void negative(const char *fmt, const char *in, void (*edit)(json_t *), const char *what)
{
	json_t *doc = json_load_file(path_in_tmp(in), 0, NULL);
	if (!doc) {
		ok(0, "negative control %s: cannot load %s", what, in);
		return;
	}
	edit(doc);
	json_dump_file(doc, path_in_tmp("broken.json"), 0);
	json_decref(doc);
	is_int(validate(fmt, path_in_tmp("broken.json")), 1, "negative control: %s fails validation", what);
}

static void drop_spec_version(json_t *d)
{
	json_object_del(d, "specVersion");
}

static void bad_license_id(json_t *d)
{
	json_t *c = json_array_get(json_object_get(d, "components"), 1);
	json_object_set_new(c, "licenses", json_pack("[{s:{s:s}}]", "license", "id", "Not-A-License-1.0"));
}

static void duplicate_bom_ref(json_t *d)
{
	json_t *comps = json_object_get(d, "components");
	json_object_set(json_array_get(comps, 2), "bom-ref", json_object_get(json_array_get(comps, 1), "bom-ref"));
}

static void drop_spdxid(json_t *d)
{
	json_object_del(json_array_get(json_object_get(d, "packages"), 3), "SPDXID");
}

static void undeclared_licenseref(json_t *d)
{
	json_object_del(d, "hasExtractedLicensingInfos");
}

static void dangling_relationship(json_t *d)
{
	json_object_set_new(json_array_get(json_object_get(d, "relationships"), 1), "relatedSpdxElement",
			    json_string("SPDXRef-Nowhere"));
}

static void test_validator(void)
{
	if (!have_validator) {
		printf("# skipping schema validation: python3 with the jsonschema module is not available\n");
		return;
	}
	negative("cyclonedx", "image.cdx.json", drop_spec_version, "a BOM without specVersion");
	negative("cyclonedx", "image.cdx.json", bad_license_id, "a license id outside spdx.schema.json");
	negative("cyclonedx", "image.cdx.json", duplicate_bom_ref, "a duplicate bom-ref");
	negative("spdx", "image.spdx.json", drop_spdxid, "a package without SPDXID");
	negative("spdx", "image.spdx.json", undeclared_licenseref, "an undeclared LicenseRef");
	negative("spdx", "image.spdx.json", dangling_relationship, "a relationship to nothing");
	is_int(validate("cyclonedx", path_in_tmp("image.txt")), 1, "negative control: the table is no BOM");
}

static void test_helpers(const json_t *report)
{
	char u1[37], u2[37];
	report_uuid("strata:x", u1);
	report_uuid("strata:x", u2);
	ok(!strcmp(u1, u2) && strlen(u1) == 36 && u1[14] == '5' && strchr("89ab", u1[19]), "uuid v5: %s", u1);
	report_uuid("www.example.com", u2);
	is_str(u2, "b63cdfa4-3df9-568e-97ae-006c5b8fd652",
	       "uuid v5 agrees with Python's uuid.uuid5(NAMESPACE_URL, 'www.example.com')");

	char c[32];
	json_t *r = json_pack("{s:s}", "created", "2026-11-22T18:00:00.123456Z");
	report_created(r, c);
	is_str(c, "2026-11-22T18:00:00Z", "fractional seconds dropped");
	json_object_set_new(r, "created", json_string("yesterday"));
	report_created(r, c);
	is_str(c, "1970-01-01T00:00:00Z", "a bad time falls back to the epoch");
	json_decref(r);

	/* purl_build agrees with the sample's purls, computed by an independent
	 * implementation (Python's urllib.parse.quote, safe=':'). */
	const json_t *p;
	size_t i;
	size_t differ = 0;
	json_array_foreach(json_object_get(report, "packages"), i, p) {
		char *got = purl_build(p, json_object_get(report, "distro"));
		if (!got || strcmp(got, sget(p, "purl"))) {
			printf("#   %s != %s\n", got ? got : "(null)", sget(p, "purl"));
			differ++;
		}
		free(got);
	}
	is_int(differ, 0, "purl_build matches every purl of the sample");
}

static void test_errors(const json_t *report)
{
	struct strata_error err = STRATA_ERROR_INIT;
	json_t *arr = json_array();
	FILE *f = fopen(path_in_tmp("x"), "w");
	is_int(report_write_json(arr, NULL, f, &err), -EINVAL, "json: not an object: -EINVAL (%s)", err.msg);
	error_clear(&err);
	is_int(report_write_spdx(arr, NULL, f, &err), -EINVAL, "spdx: not an object: -EINVAL (%s)", err.msg);
	error_clear(&err);
	is_int(report_write_cyclonedx(arr, NULL, f, &err), -EINVAL, "cyclonedx: not an object: -EINVAL");
	error_clear(&err);
	is_int(report_write_table(arr, NULL, f, &err), -EINVAL, "table: not an object: -EINVAL");
	error_clear(&err);
	fclose(f);
	json_decref(arr);

	f = fopen("/dev/full", "w");
	if (f) {
		writer ws[] = { report_write_json, report_write_spdx, report_write_cyclonedx, report_write_table };
		int eio = 0;
		for (int k = 0; k < 4; k++) {
			error_clear(&err);
			eio += ws[k](report, NULL, f, &err) == -EIO && strstr(err.msg, "cannot write");
			clearerr(f);
		}
		is_int(eio, 4, "a full disk is -EIO from every writer (%s)", err.msg);
		fclose(f);
	}

	json_t *empty = json_object();
	char msg[1100];
	is_int(write_to(report_write_spdx, empty, "empty.spdx.json", msg, sizeof(msg)), 0, "an empty report: spdx");
	is_int(write_to(report_write_cyclonedx, empty, "empty.cdx.json", msg, sizeof(msg)), 0, "an empty report: cyclonedx");
	is_int(write_to(report_write_table, empty, "empty.txt", msg, sizeof(msg)), 0, "an empty report: table");
	if (have_validator) {
		is_int(validate("spdx", path_in_tmp("empty.spdx.json")), 0, "the empty SPDX document validates");
		is_int(validate("cyclonedx", path_in_tmp("empty.cdx.json")), 0, "the empty BOM validates");
	}
	json_decref(empty);
}

/* Overlong cells are cut at a character boundary; empty sections say so. */
static void test_table_edges(void)
{
	struct buf name = BUF_INIT;
	for (int i = 0; i < 100; i++)
		buf_adds(&name, "\xc3\xa9");
	json_t *r = json_pack("{s:[{s:s, s:s, s:s, s:s}]}", "packages", "type", "gem", "name", name.data,
			      "version", "1", "path", "/x");
	char msg[1100];
	is_int(write_to(report_write_table, r, "edge.txt", msg, sizeof(msg)), 0, "a table with a long name");
	char *t = slurp(path_in_tmp("edge.txt"));
	buf_setlen(&name, 57 * 2);
	buf_adds(&name, "...  1        -         /x\n");
	ok(t && strstr(t, name.data), "a 100-character name is cut to 57 characters and '...'");
	ok(t && strstr(t, "SECRETS (0)\n  none found\n"), "an empty section says none found");
	ok(t && strstr(t, "DISTRO     unknown\n"), "no distro: unknown");
	free(t);
	json_decref(r);
	buf_release(&name);
}

/* A files section from a source of its own, one fresh record at a time (as
 * a fresh analysis gives its walk entries): NULL at fail_at. */
struct files_source {
	const json_t *files;
	size_t fail_at;
};

static json_t *source_record(const void *ctx, size_t i)
{
	const struct files_source *s = ctx;
	return i == s->fail_at ? NULL : json_deep_copy(json_array_get(s->files, i));
}

/* Every writer gives the same bytes for a report whose files come from a
 * report_files as for the report holding them; strata's JSON reads back
 * as the report itself; a record that cannot be made fails the writer. */
static void test_files_source(const json_t *report)
{
	writer ws[] = { report_write_json, report_write_spdx, report_write_cyclonedx, report_write_table };
	const char *names[] = { "json", "spdx", "cyclonedx", "table" };
	const json_t *files = json_object_get(report, "files");
	struct files_source src = { files, (size_t)-1 };
	struct report_files rf = { 1, json_array_size(files), source_record, &src, NULL };
	json_t *apart = json_deep_copy(report);
	json_object_set_new(apart, "files", json_array());
	char msg[1100];
	ok(json_array_size(files) > 2, "the sample has files (%zu)", json_array_size(files));
	for (int k = 0; k < 4; k++) {
		is_int(write_to(ws[k], report, "whole.out", msg, sizeof(msg)), 0, "%s: written from the report", names[k]);
		is_int(write_files_to(ws[k], apart, &rf, "apart.out", msg, sizeof(msg)), 0,
		       "%s: written with the files apart", names[k]);
		char *a = slurp(path_in_tmp("whole.out")), *b = slurp(path_in_tmp("apart.out"));
		ok(a && b && !strcmp(a, b), "%s: the same bytes either way", names[k]);
		free(a);
		free(b);
	}
	write_to(report_write_json, report, "whole.json", msg, sizeof(msg));
	json_t *back = json_load_file(path_in_tmp("whole.json"), 0, NULL);
	ok(back && json_equal(back, report), "json: the output reads back as the report");
	json_decref(back);
	src.fail_at = 2;
	is_int(write_files_to(report_write_json, apart, &rf, "fail.json", msg, sizeof(msg)), -ENOMEM,
	       "json: a record that cannot be made is -ENOMEM (%s)", msg);
	is_int(write_files_to(report_write_spdx, apart, &rf, "fail.spdx.json", msg, sizeof(msg)), -ENOMEM,
	       "spdx: a record that cannot be made is -ENOMEM (%s)", msg);
	json_decref(apart);
}

/* 20000 packages and 100000 files: linear enough to take well under the
 * limit, and the outputs stay valid. */
static void test_large(const json_t *sample)
{
	json_t *r = json_deep_copy(sample), *pkgs = json_array(), *files = json_array();
	const json_t *tpl = json_object_get(sample, "packages");
	for (size_t i = 0; i < 20000; i++) {
		json_t *p = json_deep_copy(json_array_get(tpl, i % json_array_size(tpl)));
		json_object_set_new(p, "name", json_sprintf("pkg%05zu-%s", i, sget(p, "name")));
		json_object_del(p, "purl");
		/* 5000 license texts alike in their first 64 bytes: 5000 LicenseRefs. */
		if (i % 4 == 0)
			json_object_set_new(p, "license", json_sprintf("Proprietary license of a vendor who ships many "
								       "packages under one text, revision %zu", i));
		json_array_append_new(pkgs, p);
	}
	for (size_t i = 0; i < 100000; i++)
		json_array_append_new(files, json_pack("{s:o, s:s, s:i, s:s, s:s, s:s}", "path",
						       json_sprintf("/usr/share/doc/f%06zu", i), "type", "file", "mode", 420,
						       "sha1", "da39a3ee5e6b4b0d3255bfef95601890afd80709", "sha256",
						       "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
						       "md5", "d41d8cd98f00b204e9800998ecf8427e"));
	json_object_set_new(r, "packages", pkgs);
	json_object_set_new(r, "files", files);
	char msg[1100];
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int a = write_to(report_write_spdx, r, "large.spdx.json", msg, sizeof(msg));
	int b = write_to(report_write_cyclonedx, r, "large.cdx.json", msg, sizeof(msg));
	int c = write_to(report_write_table, r, "large.txt", msg, sizeof(msg));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	ok(a == 0 && b == 0 && c == 0 && s < 30, "20000 packages, 100000 files: all three written in %.2f s", s);
	char *t = slurp(path_in_tmp("large.txt"));
	size_t lines = 0;
	for (char *q = t; q && *q; q++)
		lines += *q == '\n';
	ok(t && strstr(t, "\n20000 packages (") && lines > 20000, "the large table has every row (%zu lines)", lines);
	free(t);
	/* Parsed back rather than schema-validated: jsonschema takes minutes on
	 * 20000 components, and the sample's outputs already validate. */
	json_t *doc = json_load_file(path_in_tmp("large.spdx.json"), 0, NULL);
	ok(doc && json_array_size(json_object_get(doc, "packages")) == 20001 &&
	   json_array_size(json_object_get(doc, "files")) == 100000 &&
	   json_array_size(json_object_get(doc, "relationships")) == 120001, "the large SPDX document is complete");
	json_t *ids = json_object();
	size_t i;
	const json_t *li;
	json_array_foreach(json_object_get(doc, "hasExtractedLicensingInfos"), i, li)
		json_object_set_new(ids, sget(li, "licenseId"), json_true());
	ok(json_object_size(ids) >= 5000 && json_object_size(ids) == json_array_size(json_object_get(doc,
	   "hasExtractedLicensingInfos")), "%zu distinct LicenseRefs for texts alike in their first 64 bytes",
	   json_object_size(ids));
	json_decref(ids);
	json_decref(doc);
	doc = json_load_file(path_in_tmp("large.cdx.json"), 0, NULL);
	ok(doc && json_array_size(json_object_get(doc, "components")) == 20001, "the large BOM is complete");
	json_decref(doc);
	json_decref(r);
}

static void cleanup(void)
{
	const char *names[] = { "image.spdx.json", "image.cdx.json", "image.txt", "dir.spdx.json", "dir.cdx.json",
				"dir.txt", "again.json", "broken.json", "validator.out", "x", "empty.spdx.json",
				"empty.cdx.json", "empty.txt", "edge.txt", "large.spdx.json", "large.cdx.json", "large.txt" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		unlink(path_in_tmp(names[i]));
	rmdir(tmpdir);
}

/* The graph in the SBOMs: DEPENDS_ON and CONTAINS relationships in SPDX,
 * the dependencies section of CycloneDX, both valid. */
static void test_graph(const json_t *sample)
{
	json_t *r = json_deep_copy(sample);
	json_t *pk = json_object_get(r, "packages");
	size_t n = json_array_size(pk);
	json_object_set_new(json_array_get(pk, 1), "dependencies", json_pack("[i, i]", 0, 2));
	json_object_set_new(json_array_get(pk, 2), "dependencies", json_pack("[i]", 0));
	json_object_set_new(json_array_get(pk, n - 1), "contains", json_pack("[i]", (int)n - 2));
	char msg[1100];
	is_int(write_to(report_write_spdx, r, "graph.spdx.json", msg, sizeof(msg)), 0, "spdx with a graph");
	is_int(write_to(report_write_cyclonedx, r, "graph.cdx.json", msg, sizeof(msg)), 0, "cyclonedx with a graph");
	if (have_validator) {
		ok(validate("spdx", "graph.spdx.json"), "  the spdx validates");
		ok(validate("cyclonedx", "graph.cdx.json"), "  the cyclonedx validates");
	}
	json_t *doc = json_load_file(path_in_tmp("graph.spdx.json"), 0, NULL);
	size_t i, deps = 0, contains = 0;
	const json_t *rel;
	json_array_foreach(json_object_get(doc, "relationships"), i, rel) {
		deps += !strcmp(sget(rel, "relationshipType"), "DEPENDS_ON");
		contains += !strcmp(sget(rel, "relationshipType"), "CONTAINS") &&
			    !strncmp(sget(rel, "spdxElementId"), "SPDXRef-Package-", 16);
	}
	is_int(deps, 3, "spdx: a DEPENDS_ON per dependency");
	is_int(contains, 1, "spdx: a package CONTAINS a package");
	json_decref(doc);
	doc = json_load_file(path_in_tmp("graph.cdx.json"), 0, NULL);
	const json_t *d = json_object_get(doc, "dependencies");
	/* root, os, then one per component in order */
	is_int(json_array_size(d), n + 2, "cyclonedx: root, os and every component in dependencies");
	is_str(sget(json_array_get(d, 0), "ref"), "root", "  the image first");
	is_int(json_array_size(json_object_get(json_array_get(d, 3), "dependsOn")), 2, "  package 1 depends on two");
	const char *ref0 = sget(json_array_get(d, 2), "ref");
	is_str(json_string_value(json_array_get(json_object_get(json_array_get(d, 3), "dependsOn"), 0)), ref0,
	       "  by their bom-refs");
	size_t rooted = 0;
	json_array_foreach(json_object_get(json_array_get(d, 0), "dependsOn"), i, rel)
		rooted += !strcmp(json_string_value(rel), ref0) || !strcmp(json_string_value(rel), sget(json_array_get(d, n), "ref"));
	is_int(rooted, 0, "  the image does not depend directly on what a package pulls in");
	json_decref(doc);
	json_decref(r);
}

int main(void)
{
	srcdir = getenv("TEST_SRCDIR");
	if (!srcdir || !*srcdir)
		srcdir = "tests";
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 99;
	}
	atexit(cleanup);
	char sample[512];
	snprintf(sample, sizeof(sample), "%s/data/report-sample.json", srcdir);
	json_error_t e;
	json_t *report = json_load_file(sample, 0, &e);
	if (!report) {
		printf("Bail out! cannot load %s: %s\n", sample, e.text);
		return 99;
	}
	have_validator = system("python3 -c 'import jsonschema' >/dev/null 2>&1") == 0;
	if (!have_validator)
		printf("# python3 jsonschema missing: schema validation is skipped\n");

	test_helpers(report);
	run_writers(report, 0);
	json_t *dir = as_directory(report);
	run_writers(dir, 1);
	json_decref(dir);
	test_validator();
	test_errors(report);
	test_table_edges();
	test_files_source(report);
	test_large(report);
	test_graph(report);
	json_decref(report);
	return tap_done();
}
