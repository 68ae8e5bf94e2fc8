/* report-spdx: the SPDX 2.3 JSON writer, and the helpers the writers share:
 * the SPDX license list and expression reader, name-based UUIDs.
 *
 * The document: a root package for the image (or directory) that the
 * document DESCRIBES and that CONTAINS one package per report package (purl
 * as a PACKAGE-MANAGER external reference) and one file per regular file of
 * the files section (SHA1, SHA256 and MD5 checksums); each package
 * CONTAINS the files it owns (a file that differs from what it shipped
 * says so in its comment), DEPENDS_ON its dependencies, and a Java archive
 * CONTAINS the archives inside it. Licenses that are SPDX
 * expressions of listed identifiers are declared as such; any other license
 * text becomes a LicenseRef- with the text in hasExtractedLicensingInfos. */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "src/base/buf.h"
#include "src/base/digest.h"
#include "report.h"

/* --- small helpers --------------------------------------------------------- */

void report_uuid(const char *name, char out[37])
{
	/* RFC 4122 section 4.3 with the URL namespace. */
	static const uint8_t ns[16] = { 0x6b, 0xa7, 0xb8, 0x11, 0x9d, 0xad, 0x11, 0xd1,
					0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8 };
	uint8_t s256[SHA256_LEN], s1[SHA1_LEN] = { 0 }, m5[MD5_LEN];
	struct filehash *h = filehash_new();
	if (h) {
		filehash_update(h, ns, sizeof(ns));
		filehash_update(h, name, strlen(name));
		filehash_final(h, s256, s1, m5);
		filehash_free(h);
	}
	s1[6] = (uint8_t)((s1[6] & 0x0f) | 0x50);
	s1[8] = (uint8_t)((s1[8] & 0x3f) | 0x80);
	char hex[33];
	hex_encode(s1, 16, hex);
	snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
}

static int digits(const char *s, size_t n, int lo, int hi)
{
	int v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		v = v * 10 + (s[i] - '0');
	}
	return v >= lo && v <= hi;
}

void report_created(const json_t *report, char out[32])
{
	const char *s = json_string_value(json_object_get(report, "created"));
	/* YYYY-MM-DDTHH:MM:SS, an optional fraction (dropped), then Z. */
	if (s && strlen(s) >= 20 && digits(s, 4, 0, 9999) && s[4] == '-' && digits(s + 5, 2, 1, 12) &&
	    s[7] == '-' && digits(s + 8, 2, 1, 31) && s[10] == 'T' && digits(s + 11, 2, 0, 23) &&
	    s[13] == ':' && digits(s + 14, 2, 0, 59) && s[16] == ':' && digits(s + 17, 2, 0, 60)) {
		const char *t = s + 19;
		if (*t == '.')
			for (t++; *t >= '0' && *t <= '9'; t++)
				;
		if (t[0] == 'Z' && !t[1]) {
			snprintf(out, 32, "%.19sZ", s);
			return;
		}
	}
	snprintf(out, 32, "1970-01-01T00:00:00Z");
}

char *report_package_purl(const json_t *report, const json_t *pkg)
{
	const char *p = json_string_value(json_object_get(pkg, "purl"));
	if (p && *p)
		return strdup(p);
	return purl_build(pkg, json_object_get(report, "distro"));
}

/* --- the SPDX document ------------------------------------------------------- */

static const char *str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s && *s ? s : NULL;
}

/* Appends the first max bytes of s with '+' as "plus" and every other byte
 * outside [A-Za-z0-9.-] as '-': what SPDX ids and LicenseRef- ids may hold. */
static int add_idstring(struct buf *b, const char *s, size_t max)
{
	for (size_t i = 0; s[i] && i < max; i++) {
		char c = s[i];
		int okc = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			  c == '.' || c == '-';
		int r = c == '+' ? buf_adds(b, "plus") : buf_addch(b, okc ? c : '-');
		if (r < 0)
			return -ENOMEM;
	}
	return 0;
}

static int is_hex(const char *s, size_t len)
{
	if (!s || strlen(s) != len)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') || (s[i] >= 'A' && s[i] <= 'F')))
			return 0;
	return 1;
}

/* A file of the files section that becomes an SPDX file: regular, with a
 * well-formed SHA1 (the checksum SPDX requires). */
static int spdx_file(const json_t *f)
{
	const char *type = str(f, "type");
	return type && !strcmp(type, "file") && str(f, "path") && is_hex(str(f, "sha1"), 40);
}

static int cmp_sha1(const void *a, const void *b)
{
	return memcmp(a, b, 40);
}

/* The SHA1 of n sorted, concatenated lowercase SHA1s, into out (41 bytes). */
static int code_of(char (*v)[40], size_t n, char out[41])
{
	struct filehash *h = filehash_new();
	if (!h)
		return -ENOMEM;
	qsort(v, n, sizeof(*v), cmp_sha1);
	for (size_t i = 0; i < n; i++)
		filehash_update(h, v[i], 40);
	uint8_t s256[SHA256_LEN], s1[SHA1_LEN], m5[MD5_LEN];
	filehash_final(h, s256, s1, m5);
	filehash_free(h);
	hex_encode(s1, SHA1_LEN, out);
	return 0;
}

struct sha1s {
	char (*v)[40];
	size_t n, alloc;
};

static int sha1s_add(struct sha1s *l, const char *s)
{
	if (l->n == l->alloc) {
		size_t na = l->alloc ? l->alloc * 2 : 16;
		char (*nv)[40] = realloc(l->v, na * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		l->v = nv;
		l->alloc = na;
	}
	for (int k = 0; k < 40; k++)
		l->v[l->n][k] = (s[k] >= 'A' && s[k] <= 'F') ? (char)(s[k] + 32) : s[k];
	l->n++;
	return 0;
}

/* The package verification codes (SPDX 2.3 clause 7.9): the SHA1 of the
 * sorted, concatenated SHA1s of a package's files, lowercase; for the
 * root, of every SPDX file, and for each of the npkg report packages, of
 * the files it owns ("packages" of a file record). Each out is "" when the
 * package has no file. 0 or -ENOMEM. */
static int verification_codes(const struct report_files *files, size_t npkg, char root[41], char (*codes)[41])
{
	struct sha1s all = { NULL, 0, 0 }, *per = calloc(npkg + 1, sizeof(*per));
	int r = per ? 0 : -ENOMEM;
	root[0] = '\0';
	for (size_t i = 0; r == 0 && i < files->n; i++) {
		json_t *f = files->record(files->ctx, i);
		if (!f) {
			r = -ENOMEM;
			break;
		}
		if (spdx_file(f)) {
			r = sha1s_add(&all, str(f, "sha1"));
			size_t k;
			const json_t *v;
			json_array_foreach(json_object_get(f, "packages"), k, v) {
				size_t p = (size_t)json_integer_value(v);
				if (r == 0 && p < npkg)
					r = sha1s_add(&per[p], str(f, "sha1"));
			}
		}
		json_decref(f);
	}
	if (r == 0 && all.n)
		r = code_of(all.v, all.n, root);
	for (size_t p = 0; per && p < npkg; p++) {
		codes[p][0] = '\0';
		if (r == 0 && per[p].n)
			r = code_of(per[p].v, per[p].n, codes[p]);
		free(per[p].v);
	}
	free(per);
	free(all.v);
	return r;
}

struct licenses {
	json_t *by_text; /* license text -> LicenseRef id */
	json_t *taken;   /* LicenseRef ids in use */
	json_t *next;    /* LicenseRef id prefix -> next number to try */
	json_t *infos;   /* hasExtractedLicensingInfos */
};

/* licenseDeclared for a package's license text: the canonical expression,
 * else a LicenseRef- declared in hasExtractedLicensingInfos. malloc'd. */
static char *declared(struct licenses *l, const char *text)
{
	char *canon;
	int single;
	if (!text)
		return strdup("NOASSERTION");
	if (!strcmp(text, "NONE") || !strcmp(text, "NOASSERTION"))
		return strdup(text);
	int r = license_expression(text, &canon, &single);
	if (r < 0)
		return NULL;
	if (r > 0)
		return canon;
	const char *known = json_string_value(json_object_get(l->by_text, text));
	if (known)
		return strdup(known);
	struct buf id = BUF_INIT;
	if (buf_adds(&id, "LicenseRef-") < 0 || add_idstring(&id, text, 64) < 0)
		goto fail;
	/* Texts that share their first 64 bytes get -2, -3...: the next number
	 * to try is kept per prefix so that many of them stay linear. */
	size_t base = id.len;
	json_t *next = json_object_get(l->next, id.data);
	json_int_t k = next ? json_integer_value(next) : 2;
	char *prefix = NULL;
	if (json_object_get(l->taken, id.data)) {
		prefix = strdup(id.data);
		if (!prefix)
			goto fail;
		do {
			buf_setlen(&id, base);
			if (buf_addf(&id, "-%lld", (long long)k++) < 0) {
				free(prefix);
				goto fail;
			}
		} while (json_object_get(l->taken, id.data));
		json_object_set_new(l->next, prefix, json_integer(k));
		free(prefix);
	}
	json_object_set_new(l->taken, id.data, json_true());
	json_object_set_new(l->by_text, text, json_string(id.data));
	json_array_append_new(l->infos, json_pack("{s:s, s:s, s:s}", "licenseId", id.data,
						  "extractedText", text, "name", text));
	return buf_detach(&id, NULL);
fail:
	buf_release(&id);
	return NULL;
}

/* licenseDeclared for a package: its "licenses", each as declared() reads
 * it, joined with AND (a part with AND or OR in parentheses); a report
 * without them (one stored by an older strata) has "license". malloc'd. */
static char *declared_all(struct licenses *l, const json_t *pkg)
{
	const json_t *list = json_object_get(pkg, "licenses");
	if (!json_array_size(list))
		return declared(l, str(pkg, "license"));
	if (json_array_size(list) == 1)
		return declared(l, json_string_value(json_array_get(list, 0)));
	struct buf b = BUF_INIT;
	size_t i;
	const json_t *v;
	json_array_foreach(list, i, v) {
		char *one = declared(l, json_string_value(v));
		if (!one) {
			buf_release(&b);
			return NULL;
		}
		int wrap = strstr(one, " AND ") || strstr(one, " OR ");
		int r = buf_addf(&b, "%s%s%s%s", i ? " AND " : "", wrap ? "(" : "", one, wrap ? ")" : "");
		free(one);
		if (r < 0) {
			buf_release(&b);
			return NULL;
		}
	}
	return buf_detach(&b, NULL);
}

static json_t *purl_ref(const char *purl)
{
	return json_pack("[{s:s, s:s, s:s}]", "referenceCategory", "PACKAGE-MANAGER", "referenceType",
			 "purl", "referenceLocator", purl);
}

/* The package's CPEs as SECURITY references, after its purl: matchers
 * (Grype, Dependency-Track) read them from there. */
static void cpe_refs(json_t *refs, const json_t *pkg)
{
	size_t i;
	const json_t *c;
	json_array_foreach(json_object_get(pkg, "cpes"), i, c)
		if (json_string_value(c))
			json_array_append_new(refs, json_pack("{s:s, s:s, s:s}", "referenceCategory", "SECURITY",
							      "referenceType", "cpe23Type", "referenceLocator",
							      json_string_value(c)));
}

static json_t *root_package(const json_t *report, const char *root_id, const char *name,
			    const char code[41], int *with_files)
{
	const json_t *image = json_object_get(report, "image");
	const char *digest = str(image, "digest");
	json_t *p = json_pack("{s:s, s:s}", "SPDXID", root_id, "name", name);
	if (!p)
		return NULL;
	if (digest)
		json_object_set_new(p, "versionInfo", json_string(digest));
	json_object_set_new(p, "downloadLocation", json_string("NOASSERTION"));
	/* A package with filesAnalyzed false must contain no files (clause 7.8). */
	*with_files = code[0] != '\0';
	if (*with_files) {
		json_object_set_new(p, "filesAnalyzed", json_true());
		json_object_set_new(p, "packageVerificationCode",
				    json_pack("{s:s}", "packageVerificationCodeValue", code));
	} else {
		json_object_set_new(p, "filesAnalyzed", json_false());
	}
	json_object_set_new(p, "licenseConcluded", json_string("NOASSERTION"));
	json_object_set_new(p, "licenseDeclared", json_string("NOASSERTION"));
	json_object_set_new(p, "copyrightText", json_string("NOASSERTION"));
	if (str(image, "path")) {
		json_object_set_new(p, "primaryPackagePurpose", json_string("OTHER"));
		json_object_set_new(p, "comment", json_sprintf("root file system in directory %s",
							       str(image, "path")));
	} else {
		json_object_set_new(p, "primaryPackagePurpose", json_string("CONTAINER"));
		char *purl = purl_oci(str(image, "ref"), digest);
		if (purl)
			json_object_set_new(p, "externalRefs", purl_ref(purl));
		free(purl);
	}
	return p;
}

static json_t *package(const json_t *report, const json_t *pkg, const char *id,
		       struct licenses *l, const char code[41])
{
	const char *version = str(pkg, "version"), *path = str(pkg, "path"), *layer = str(pkg, "layer");
	char *lic = declared_all(l, pkg);
	char *purl = report_package_purl(report, pkg);
	json_t *p = json_pack("{s:s, s:s}", "SPDXID", id, "name", str(pkg, "name") ? str(pkg, "name") : "");
	if (!p || !lic)
		goto out;
	if (version)
		json_object_set_new(p, "versionInfo", json_string(version));
	json_object_set_new(p, "downloadLocation", json_string("NOASSERTION"));
	/* A package that CONTAINS files must say it analyzed them (7.8). */
	json_object_set_new(p, "filesAnalyzed", json_boolean(code[0]));
	if (code[0])
		json_object_set_new(p, "packageVerificationCode", json_pack("{s:s}", "packageVerificationCodeValue", code));
	json_object_set_new(p, "licenseConcluded", json_string("NOASSERTION"));
	json_object_set_new(p, "licenseDeclared", json_string(lic));
	json_object_set_new(p, "copyrightText", json_string("NOASSERTION"));
	json_t *refs = purl ? purl_ref(purl) : json_array();
	cpe_refs(refs, pkg);
	if (json_array_size(refs))
		json_object_set_new(p, "externalRefs", refs);
	else
		json_decref(refs);
	if (path)
		json_object_set_new(p, "sourceInfo", layer ? json_sprintf("found in %s (layer %s)", path, layer)
							   : json_sprintf("found in %s", path));
	const char *type = str(pkg, "type");
	if (type)
		json_object_set_new(p, "comment", json_sprintf("strata package type: %s", type));
	free(lic);
	free(purl);
	return p;
out:
	json_decref(p);
	free(lic);
	free(purl);
	return NULL;
}

/* The files a package owns, as (package, file number) pairs, for its
 * CONTAINS relationships. */
struct owned {
	size_t (*v)[2];
	size_t n, alloc;
	int nomem;
};

static void owned_add(struct owned *o, size_t pkg, size_t file)
{
	if (o->n == o->alloc) {
		size_t na = o->alloc ? o->alloc * 2 : 1024;
		size_t (*nv)[2] = realloc(o->v, na * sizeof(*nv));
		if (!nv) {
			o->nomem = 1;
			return;
		}
		o->v = nv;
		o->alloc = na;
	}
	o->v[o->n][0] = pkg;
	o->v[o->n++][1] = file;
}

static json_t *file(const json_t *f, size_t k, const json_t *packages, size_t npkg, struct owned *owned)
{
	const char *path = str(f, "path"), *layer = str(f, "layer");
	json_t *sums = json_pack("[{s:s, s:s}]", "algorithm", "SHA1", "checksumValue", str(f, "sha1"));
	if (is_hex(str(f, "sha256"), 64))
		json_array_append_new(sums, json_pack("{s:s, s:s}", "algorithm", "SHA256", "checksumValue",
						      str(f, "sha256")));
	if (is_hex(str(f, "md5"), 32))
		json_array_append_new(sums, json_pack("{s:s, s:s}", "algorithm", "MD5", "checksumValue",
						      str(f, "md5")));
	char id[48];
	snprintf(id, sizeof(id), "SPDXRef-File-%zu", k);
	/* SPDX file names are relative to the package root: "./etc/passwd". */
	json_t *o = json_pack("{s:s, s:s++, s:o}", "SPDXID", id, "fileName", ".",
			      path[0] == '/' ? "" : "/", path, "checksums", sums);
	if (!o)
		return NULL;
	struct buf c = BUF_INIT;
	if (layer)
		buf_addf(&c, "layer %s", layer);
	size_t i;
	const json_t *v;
	json_array_foreach(json_object_get(f, "packages"), i, v) {
		size_t p = (size_t)json_integer_value(v);
		if (p >= npkg)
			continue;
		owned_add(owned, p, k);
		/* Its content is not what the package shipped. */
		if (json_is_true(json_object_get(f, "modified")))
			buf_addf(&c, "%sdiffers from what package %s shipped", c.len ? "; " : "",
				 str(json_array_get(packages, p), "name") ? str(json_array_get(packages, p), "name") : "?");
	}
	if (c.len)
		json_object_set_new(o, "comment", json_string(c.data));
	buf_release(&c);
	return o;
}

static json_t *relationship(const char *from, const char *type, const char *to)
{
	return json_pack("{s:s, s:s, s:s}", "spdxElementId", from, "relationshipType", type,
			 "relatedSpdxElement", to);
}

/* "SPDXRef-Package-<type>-<name>-<index>": the index alone keeps it unique,
 * since it follows the last '-'. malloc'd. */
static char *package_id(const json_t *pkg, size_t index)
{
	struct buf b = BUF_INIT;
	if (buf_adds(&b, "SPDXRef-Package-") < 0 || add_idstring(&b, str(pkg, "type") ? str(pkg, "type") : "x", 16) < 0 ||
	    buf_addch(&b, '-') < 0 || add_idstring(&b, str(pkg, "name") ? str(pkg, "name") : "", 64) < 0 ||
	    buf_addf(&b, "-%zu", index) < 0) {
		buf_release(&b);
		return NULL;
	}
	return buf_detach(&b, NULL);
}

int report_write_spdx(const json_t *report, const struct report_files *files, FILE *out,
		      struct strata_error *err)
{
	if (!json_is_object(report))
		return error_set(err, -EINVAL, "cannot write spdx-json: the report is not a JSON object");
	const json_t *image = json_object_get(report, "image"), *tool = json_object_get(report, "tool");
	const json_t *packages = json_object_get(report, "packages");
	struct report_files own;
	if (!files) {
		report_files_of(report, &own);
		files = &own;
	}
	const char *digest = str(image, "digest"), *dir = str(image, "path");
	const char *name = str(image, "ref") ? str(image, "ref") : digest ? digest : dir ? dir : "unknown";
	const char *root_id = dir ? "SPDXRef-Directory" : "SPDXRef-Image";
	char created[32], uuid[37];
	report_created(report, created);

	/* Unique per image and run, stable for the same report. */
	struct buf ns = BUF_INIT, key = BUF_INIT;
	buf_adds(&ns, "https://strata.invalid/spdx/");
	add_idstring(&ns, digest ? digest : dir ? "directory" : "unknown", 80);
	buf_addf(&key, "strata-spdx:%s:%s:%s", digest ? digest : "", dir ? dir : "", created);
	report_uuid(key.data, uuid);
	buf_addf(&ns, "/%s", uuid);

	struct licenses l = { json_object(), json_object(), json_object(), json_array() };
	struct owned owned = { NULL, 0, 0, 0 };
	struct report_json j;
	int with_files = 0;
	size_t npkg = json_array_size(packages), i;
	char **ids = calloc(npkg ? npkg : 1, sizeof(*ids));
	int r = -ENOMEM;
	if (!ids || !l.by_text || !l.taken || !l.next || !l.infos || !ns.len || !key.len)
		goto out;

	report_json_begin(&j, out);
	report_json_member(&j, "spdxVersion", json_string("SPDX-2.3"));
	report_json_member(&j, "dataLicense", json_string("CC0-1.0"));
	report_json_member(&j, "SPDXID", json_string("SPDXRef-DOCUMENT"));
	report_json_member(&j, "name", json_string(name));
	report_json_member(&j, "documentNamespace", json_string(ns.data));
	const char *tv = str(tool, "version");
	report_json_member(&j, "creationInfo",
			   json_pack("{s:s, s:[s+], s:s}", "created", created, "creators", "Tool: strata-",
				     tv ? tv : PACKAGE_VERSION, "licenseListVersion", LICENSE_LIST_VERSION));

	char root_code[41];
	char (*codes)[41] = calloc(npkg + 1, sizeof(*codes));
	if (!codes || verification_codes(files, npkg, root_code, codes) < 0) {
		free(codes);
		r = -ENOMEM;
		goto out;
	}
	report_json_array(&j, "packages");
	report_json_item(&j, root_package(report, root_id, name, root_code, &with_files));
	const json_t *pkg;
	json_array_foreach(packages, i, pkg) {
		ids[i] = package_id(pkg, i);
		report_json_item(&j, ids[i] ? package(report, pkg, ids[i], &l, codes[i]) : NULL);
	}
	free(codes);
	report_json_array_end(&j);

	size_t k = 0;
	const json_t *f;
	if (with_files) {
		report_json_array(&j, "files");
		for (i = 0; i < files->n && !report_json_failed(&j); i++) {
			json_t *rec = files->record(files->ctx, i);
			if (!rec || spdx_file(rec))
				report_json_item(&j, rec ? file(rec, k++, packages, npkg, &owned) : NULL);
			json_decref(rec);
		}
		report_json_array_end(&j);
	}

	report_json_array(&j, "relationships");
	report_json_item(&j, relationship("SPDXRef-DOCUMENT", "DESCRIBES", root_id));
	for (i = 0; i < npkg; i++)
		if (ids[i])
			report_json_item(&j, relationship(root_id, "CONTAINS", ids[i]));
	/* The graph the report resolved: DEPENDS_ON, and a Java archive
	 * CONTAINS the archives inside it. */
	json_array_foreach(packages, i, pkg) {
		static const char *const keys[] = { "dependencies", "contains" }, *const types[] = { "DEPENDS_ON", "CONTAINS" };
		for (int which = 0; which < 2 && ids[i]; which++) {
			size_t e;
			const json_t *v;
			json_array_foreach(json_object_get(pkg, keys[which]), e, v) {
				size_t t = (size_t)json_integer_value(v);
				if (t < npkg && ids[t])
					report_json_item(&j, relationship(ids[i], types[which], ids[t]));
			}
		}
	}
	for (size_t n = 0; n < k; n++) {
		char fid[48];
		snprintf(fid, sizeof(fid), "SPDXRef-File-%zu", n);
		report_json_item(&j, relationship(root_id, "CONTAINS", fid));
	}
	/* And each package the files it installed. */
	for (size_t n = 0; n < owned.n && !report_json_failed(&j); n++) {
		char fid[48];
		snprintf(fid, sizeof(fid), "SPDXRef-File-%zu", owned.v[n][1]);
		if (ids[owned.v[n][0]])
			report_json_item(&j, relationship(ids[owned.v[n][0]], "CONTAINS", fid));
	}
	if (owned.nomem)
		report_json_item(&j, NULL);
	report_json_array_end(&j);

	if (json_array_size(l.infos)) {
		report_json_array(&j, "hasExtractedLicensingInfos");
		json_array_foreach(l.infos, i, f)
			report_json_item(&j, json_incref((json_t *)f));
		report_json_array_end(&j);
	}
	r = report_json_end(&j, err);
out:
	if (r == -ENOMEM)
		error_set(err, r, "cannot write spdx-json: out of memory");
	for (i = 0; ids && i < npkg; i++)
		free(ids[i]);
	free(ids);
	free(owned.v);
	json_decref(l.by_text);
	json_decref(l.taken);
	json_decref(l.next);
	json_decref(l.infos);
	buf_release(&ns);
	buf_release(&key);
	return r;
}
