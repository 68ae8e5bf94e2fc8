/* rpm: the rpm analyzer (see rpm.h). Reads rpm header blobs into package
 * records; rpmdb.c finds the blobs in the database file. */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "src/base/buf.h"
#include "rpm.h"
#include "rpmdb.h"
#include "license.h"

#define RPM_TYPE_INT32 4
#define RPM_TYPE_STRING 6
#define RPM_TYPE_STRING_ARRAY 8
#define RPM_TYPE_I18NSTRING 9
#define RPM_TYPE_MAX 9

/* rpm's own limits on a header (lib/header.c): tags and bytes of data. */
#define RPM_HEADER_TAGS_MAX 0xffffu
#define RPM_HEADER_DATA_MAX 0x0fffffffu

/* The tags a record is made of, and the record key each becomes. */
enum { F_NAME, F_VERSION, F_RELEASE, F_EPOCH, F_VENDOR, F_LICENSE, F_ARCH, F_SOURCERPM, F_COUNT };
static const uint32_t field_tag[F_COUNT] = { 1000, 1001, 1002, 1003, 1011, 1014, 1022, 1044 };
static const char *const field_key[F_COUNT] = {
	"name", "rpm_version", "release", "epoch", "vendor", "license", "arch", "sourcerpm",
};

struct field {
	int found;
	uint32_t type, offset, count;
	const char *s; /* string fields, once read: s[0..n) */
	size_t n;
};

/* The array tags relationships and file ownership are read from. */
enum {
	A_PROVIDENAME, A_REQUIREFLAGS, A_REQUIRENAME, A_FILEDIGESTS, A_FILEFLAGS, A_DIRINDEXES,
	A_BASENAMES, A_DIRNAMES, A_FILEDIGESTALGO, A_COUNT
};
static const uint32_t array_tag[A_COUNT] = { 1047, 1048, 1049, 1035, 1037, 1116, 1117, 1118, 5011 };

#define RPMSENSE_RPMLIB (1u << 24) /* rpmlib(...) features, not packages */
#define RPMFILE_CONFIG (1u << 0)   /* %config: expected to be edited */
#define RPMFILE_GHOST (1u << 6)    /* listed, never installed */

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* Reads string field k (its first string, for arrays) from the data store. */
static int field_string(struct field *f, int k, const uint8_t *store, uint32_t dl,
			struct strata_error *err)
{
	if (f->type != RPM_TYPE_STRING && f->type != RPM_TYPE_STRING_ARRAY &&
	    f->type != RPM_TYPE_I18NSTRING)
		return error_set(err, -EBADMSG, "rpm header: tag %u has type %u, not a string",
				 field_tag[k], f->type);
	/* offset <= dl was checked with the index. */
	const uint8_t *nul = memchr(store + f->offset, '\0', dl - f->offset);
	if (!f->count || !nul)
		return error_set(err, -EBADMSG, "rpm header: tag %u: string runs past the end",
				 field_tag[k]);
	f->s = (const char *)store + f->offset;
	f->n = (size_t)(nul - (store + f->offset));
	return 0;
}

/* The strings of a STRING_ARRAY entry: each NUL-terminated, all inside
 * the data store. Fills v[0..count) (count at most max); -EBADMSG. */
static int string_array(const struct field *a, const uint8_t *store, uint32_t dl, const char **v, size_t max)
{
	if (!a->found)
		return 0;
	if (a->type != RPM_TYPE_STRING_ARRAY || a->count > max)
		return -EBADMSG;
	uint32_t off = a->offset;
	for (uint32_t i = 0; i < a->count; i++) {
		const uint8_t *nul = off < dl ? memchr(store + off, '\0', dl - off) : NULL;
		if (!nul)
			return -EBADMSG;
		v[i] = (const char *)store + off;
		off = (uint32_t)(nul - store) + 1;
	}
	return 0;
}

/* The values of an INT32 entry with count elements. */
static int int32_array(const struct field *a, const uint8_t *store, uint32_t dl, uint32_t count, uint32_t *v)
{
	if (!a->found || a->type != RPM_TYPE_INT32 || a->count < count ||
	    (uint64_t)a->offset + 4ull * count > dl)
		return -EBADMSG;
	for (uint32_t i = 0; i < count; i++)
		v[i] = be32(store + a->offset + 4 * i);
	return 0;
}

static int add_strings(json_t *r, const char *key, const char *const *v, size_t n, const uint32_t *flags)
{
	json_t *list = json_array(), *seen = json_object();
	int rc = list && seen ? 0 : -ENOMEM;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		/* rpmlib(...) and the like are rpm's own features, not packages. */
		if (flags && ((flags[i] & RPMSENSE_RPMLIB) || !strncmp(v[i], "rpmlib(", 7)))
			continue;
		if (!*v[i] || json_object_get(seen, v[i]))
			continue;
		if (json_object_set_new(seen, v[i], json_true()) < 0 ||
		    json_array_append_new(list, record_string(v[i], strlen(v[i]))) < 0)
			rc = -ENOMEM;
	}
	json_decref(seen);
	if (rc == 0 && json_array_size(list))
		return json_object_set_new(r, key, list) < 0 ? -ENOMEM : 0;
	json_decref(list);
	return rc;
}

/* "provides", "requires" (names; rpmlib features left out), "files"
 * (DIRNAMES[DIRINDEXES[i]] + BASENAMES[i], %ghost entries left out),
 * "file_digests" (hex, "" for what has none and for %config files) and
 * "file_digest_algo" (rpm's
 * PGPHASHALGO: 1 md5, 2 sha1, 8 sha256). */
static int relations(json_t *r, const struct field *arr, const uint8_t *store, uint32_t dl,
		     struct strata_error *err)
{
	uint32_t nfiles = arr[A_BASENAMES].found ? arr[A_BASENAMES].count : 0;
	uint32_t nreq = arr[A_REQUIRENAME].found ? arr[A_REQUIRENAME].count : 0;
	uint32_t nprov = arr[A_PROVIDENAME].found ? arr[A_PROVIDENAME].count : 0;
	uint32_t ndirs = arr[A_DIRNAMES].found ? arr[A_DIRNAMES].count : 0;
	/* Every element takes at least one byte of the store. */
	if (nfiles > dl || nreq > dl || nprov > dl || ndirs > dl)
		return error_set(err, -EBADMSG, "rpm header: more array elements than data");
	size_t most = nfiles > nreq ? nfiles : nreq;
	most = most > nprov ? most : nprov;
	most = most > ndirs ? most : ndirs;
	const char **s = calloc(most + 1, sizeof(*s)), **dirs = calloc(ndirs + 1, sizeof(*dirs));
	const char **digests = calloc(nfiles + 1, sizeof(*digests));
	uint32_t *u = calloc(most + 1, sizeof(*u)), *didx = calloc(nfiles + 1, sizeof(*didx));
	uint32_t *fflags = calloc(nfiles + 1, sizeof(*fflags));
	struct buf path = BUF_INIT;
	int rc = s && dirs && digests && u && didx && fflags ? 0 : -ENOMEM;
	if (rc == 0 && (rc = string_array(&arr[A_PROVIDENAME], store, dl, s, most)) == 0)
		rc = add_strings(r, "provides", s, nprov, NULL);
	if (rc == 0 && nreq && (rc = string_array(&arr[A_REQUIRENAME], store, dl, s, most)) == 0) {
		int have_flags = int32_array(&arr[A_REQUIREFLAGS], store, dl, nreq, u) == 0;
		rc = add_strings(r, "requires", s, nreq, have_flags ? u : NULL);
	}
	if (rc == 0 && nfiles) {
		json_t *files = json_array(), *sums = json_array();
		int have_sums = string_array(&arr[A_FILEDIGESTS], store, dl, digests, nfiles) == 0 &&
				arr[A_FILEDIGESTS].count == nfiles;
		int have_flags = int32_array(&arr[A_FILEFLAGS], store, dl, nfiles, fflags) == 0;
		if (!files || !sums)
			rc = -ENOMEM;
		if (rc == 0)
			rc = string_array(&arr[A_DIRNAMES], store, dl, dirs, ndirs);
		if (rc == 0)
			rc = string_array(&arr[A_BASENAMES], store, dl, s, most);
		if (rc == 0)
			rc = int32_array(&arr[A_DIRINDEXES], store, dl, nfiles, didx);
		for (uint32_t i = 0; rc == 0 && i < nfiles; i++) {
			if (didx[i] >= ndirs) {
				rc = -EBADMSG;
				break;
			}
			if (have_flags && (fflags[i] & RPMFILE_GHOST))
				continue;
			buf_reset(&path);
			/* A %config file's digest is left out: editing it is its purpose. */
			const char *sum = have_flags && (fflags[i] & RPMFILE_CONFIG) ? "" : digests[i];
			if (buf_adds(&path, dirs[didx[i]]) < 0 || buf_adds(&path, s[i]) < 0 ||
			    json_array_append_new(files, record_string(path.data, path.len)) < 0 ||
			    (have_sums && json_array_append_new(sums, record_string(sum, strlen(sum))) < 0))
				rc = -ENOMEM;
		}
		if (rc == 0 && json_array_size(files)) {
			json_object_set(r, "files", files);
			if (have_sums) {
				uint32_t algo = 1; /* rpm's default when the tag is absent */
				if (arr[A_FILEDIGESTALGO].found)
					int32_array(&arr[A_FILEDIGESTALGO], store, dl, 1, &algo);
				json_object_set(r, "file_digests", sums);
				json_object_set_new(r, "file_digest_algo", json_integer(algo));
			}
		}
		json_decref(files);
		json_decref(sums);
	}
	free(s);
	free(dirs);
	free(digests);
	free(u);
	free(didx);
	free(fflags);
	buf_release(&path);
	if (rc == -ENOMEM)
		return error_set(err, rc, "rpm header: out of memory");
	if (rc < 0)
		return error_set(err, rc, "rpm header: bad provides, requires or file list");
	return 0;
}

int rpm_header_parse(const void *blob, size_t len, json_t **rec, struct strata_error *err)
{
	const uint8_t *p = blob;
	struct field f[F_COUNT], arr[A_COUNT];
	struct buf version = BUF_INIT;
	uint32_t il, dl, epoch = 0;
	json_t *r;

	*rec = NULL;
	memset(f, 0, sizeof(f));
	memset(arr, 0, sizeof(arr));
	if (len < 8)
		return error_set(err, -EBADMSG, "rpm header: truncated (%zu bytes)", len);
	il = be32(p);
	dl = be32(p + 4);
	if (il < 1 || il > RPM_HEADER_TAGS_MAX)
		return error_set(err, -EBADMSG, "rpm header: bad index count %u", il);
	if (dl > RPM_HEADER_DATA_MAX)
		return error_set(err, -EBADMSG, "rpm header: bad data length %u", dl);
	if (8 + (uint64_t)il * 16 + dl > len)
		return error_set(err, -EBADMSG,
				 "rpm header: truncated: %u entries and %u bytes of data in %zu bytes", il,
				 dl, len);

	const uint8_t *index = p + 8, *store = index + (size_t)il * 16;
	for (uint32_t i = 0; i < il; i++) {
		const uint8_t *e = index + (size_t)i * 16;
		uint32_t tag = be32(e), type = be32(e + 4), offset = be32(e + 8);
		/* As rpm's headerVerifyInfo: every entry, used or not. */
		if (type > RPM_TYPE_MAX)
			return error_set(err, -EBADMSG, "rpm header: entry %u (tag %u) has bad type %u",
					 i, tag, type);
		if (offset > dl)
			return error_set(err, -EBADMSG,
					 "rpm header: entry %u (tag %u) points past the data", i, tag);
		for (int k = 0; k < F_COUNT; k++) {
			if (tag != field_tag[k] || f[k].found)
				continue;
			f[k].found = 1;
			f[k].type = type;
			f[k].offset = offset;
			f[k].count = be32(e + 12);
		}
		for (int k = 0; k < A_COUNT; k++) {
			if (tag != array_tag[k] || arr[k].found)
				continue;
			arr[k].found = 1;
			arr[k].type = type;
			arr[k].offset = offset;
			arr[k].count = be32(e + 12);
		}
	}
	if (!f[F_NAME].found)
		return error_set(err, -EBADMSG, "rpm header: no name");
	for (int k = 0; k < F_COUNT; k++) {
		if (!f[k].found || k == F_EPOCH)
			continue;
		int rc = field_string(&f[k], k, store, dl, err);
		if (rc < 0)
			return rc;
	}
	if (f[F_EPOCH].found) {
		if (f[F_EPOCH].type != RPM_TYPE_INT32 || !f[F_EPOCH].count ||
		    (uint64_t)f[F_EPOCH].offset + 4 > dl)
			return error_set(err, -EBADMSG, "rpm header: bad epoch");
		epoch = be32(store + f[F_EPOCH].offset);
	}

	/* version: [EPOCH:]VERSION-RELEASE, the epoch only when there is one. */
	int rc = 0;
	if (f[F_EPOCH].found)
		rc = buf_addf(&version, "%u:", epoch);
	if (!rc && f[F_VERSION].found)
		rc = buf_add(&version, f[F_VERSION].s, f[F_VERSION].n);
	if (!rc && f[F_RELEASE].found) {
		rc = buf_addch(&version, '-');
		if (!rc)
			rc = buf_add(&version, f[F_RELEASE].s, f[F_RELEASE].n);
	}
	r = rc ? NULL : record_package("rpm");
	if (!r) {
		buf_release(&version);
		return error_set(err, -ENOMEM, "rpm header: out of memory");
	}
	record_set_strn(r, "version", version.data, version.len);
	buf_release(&version);
	for (int k = 0; k < F_COUNT; k++) {
		if (!f[k].found)
			continue;
		if (k == F_EPOCH)
			json_object_set_new(r, field_key[k], json_integer(epoch));
		else
			record_set_strn(r, field_key[k], f[k].s, f[k].n);
	}
	if (f[F_LICENSE].found && license_add(r, f[F_LICENSE].s, f[F_LICENSE].n) < 0) {
		json_decref(r);
		return error_set(err, -ENOMEM, "rpm header: out of memory");
	}
	rc = relations(r, arr, store, dl, err);
	if (rc < 0) {
		json_decref(r);
		return rc;
	}
	*rec = r;
	return 0;
}

struct parse_ctx {
	json_t *out;
	struct strata_error *err;
	unsigned seen;  /* blobs so far */
	unsigned bad;   /* of which unreadable */
	int first;      /* error of the first unreadable one */
};

static int parse_blob(const void *blob, size_t len, void *arg)
{
	struct parse_ctx *c = arg;
	struct strata_error e = STRATA_ERROR_INIT;
	json_t *rec;
	int r;

	c->seen++;
	r = rpm_header_parse(blob, len, &rec, &e);
	if (r == -ENOMEM)
		return error_set(c->err, r, "%s", e.msg);
	if (r < 0) {
		error_set(c->err, r, "package %u: %s", c->seen, e.msg);
		c->bad++;
		if (!c->first)
			c->first = r;
		return 0;
	}
	const char *name = json_string_value(json_object_get(rec, "name"));
	if (name && !strcmp(name, "gpg-pubkey")) {
		json_decref(rec);
		return 0;
	}
	if (json_array_append_new(c->out, rec) < 0)
		return error_set(c->err, -ENOMEM, "rpm database: out of memory");
	return 0;
}

int rpmdb_parse(const void *data, size_t len, json_t *out, struct strata_error *err)
{
	struct parse_ctx c = { .out = out, .err = err };
	int r = rpmdb_foreach(data, len, parse_blob, &c, err);
	if (c.bad > 1 && err) {
		size_t n = strlen(err->msg);
		snprintf(err->msg + n, sizeof(err->msg) - n, " (and %u more unreadable packages)",
			 c.bad - 1);
	}
	return r < 0 ? r : c.first;
}

static const char *const rpm_patterns[] = {
	"/var/lib/rpm/Packages",
	"/var/lib/rpm/Packages.db",
	"/var/lib/rpm/rpmdb.sqlite",
	"/usr/lib/sysimage/rpm/Packages",
	"/usr/lib/sysimage/rpm/Packages.db",
	"/usr/lib/sysimage/rpm/rpmdb.sqlite",
	"/usr/share/rpm/Packages",
	"/usr/share/rpm/Packages.db",
	"/usr/share/rpm/rpmdb.sqlite",
	NULL,
};

static int rpm_scan(const struct analyzer_file *f, json_t *out, struct strata_error *err)
{
	struct buf b = BUF_INIT;
	int r = analyzer_read_all(f, f->limits->max_file_size, &b, err);
	/* An empty database file (an image that never installed anything)
	 * holds no package and is not worth a warning. */
	if (r == 0 && b.len)
		r = rpmdb_parse(b.data, b.len, out, err);
	buf_release(&b);
	return r;
}

const struct analyzer analyzer_rpm = {
	.name = "rpm",
	.version = 4,
	.patterns = rpm_patterns,
	.claims = NULL,
	.keyed_by_name = 0,
	.scan = rpm_scan,
};
