/* rpm: the rpm analyzer (see rpm.h). Reads rpm header blobs into package
 * records; rpmdb.c finds the blobs in the database file. */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
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

int rpm_header_parse(const void *blob, size_t len, json_t **rec, struct strata_error *err)
{
	const uint8_t *p = blob;
	struct field f[F_COUNT];
	struct buf version = BUF_INIT;
	uint32_t il, dl, epoch = 0;
	json_t *r;

	*rec = NULL;
	memset(f, 0, sizeof(f));
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
	.version = 2,
	.patterns = rpm_patterns,
	.claims = NULL,
	.keyed_by_name = 0,
	.scan = rpm_scan,
};
