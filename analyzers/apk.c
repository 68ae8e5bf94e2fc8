/* apk: the apk-tools installed-database parser and its analyzer. One pass
 * over the lines keeping slices of the fields a record needs and building
 * its file list: linear in the input whatever its shape. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "apk.h"
#include "license.h"

struct slice {
	const char *p;
	size_t len;
};

struct entry {
	struct slice name, version, arch, origin, license, maintainer, depends, provides, url;
	json_t *files;   /* R: paths, each under the F: before it */
	json_t *digests; /* Z: of each file ("Q1" + base64 sha1), "" when none */
	struct buf dir;  /* the current F: */
	int bad;
};

static void entry_release(struct entry *e)
{
	json_decref(e->files);
	json_decref(e->digests);
	buf_release(&e->dir);
	memset(e, 0, sizeof(*e));
	e->dir = (struct buf)BUF_INIT;
}

/* Sets key to the words of a space-separated field (D:, p:). */
static int words(json_t *rec, const char *key, struct slice v)
{
	json_t *list = json_array();
	int r = list ? 0 : -ENOMEM;
	/* An absent field is { NULL, 0 }: no words, and no arithmetic on NULL. */
	for (const char *p = v.p, *end = v.len ? v.p + v.len : v.p; r == 0 && p < end;) {
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		const char *w = p;
		while (p < end && *p != ' ' && *p != '\t')
			p++;
		if (p > w && json_array_append_new(list, record_string(w, (size_t)(p - w))) < 0)
			r = -ENOMEM;
	}
	if (r == 0 && json_array_size(list))
		return json_object_set_new(rec, key, list) < 0 ? -ENOMEM : 0;
	json_decref(list);
	return r;
}

/* L: is an SPDX expression in today's Alpine ("MIT AND BSD-2-Clause"),
 * older ones list licences separated by spaces ("MIT BSD GPL2+"): when the
 * whole does not map, each word is a licence. */
static int apk_licenses(json_t *rec, struct slice l)
{
	struct buf b = BUF_INIT;
	int r = license_normalize(l.p, l.len, &b);
	buf_release(&b);
	if (r != 0 || !memchr(l.p, ' ', l.len))
		return r < 0 ? r : license_add(rec, l.p, l.len);
	for (const char *p = l.p, *end = l.p + l.len; p < end && r == 0;) {
		while (p < end && *p == ' ')
			p++;
		const char *w = p;
		while (p < end && *p != ' ')
			p++;
		if (p > w)
			r = license_add(rec, w, (size_t)(p - w));
	}
	return r;
}

static int entry_emit(const struct entry *e, json_t *out)
{
	if (e->bad || !e->name.len)
		return 0;
	json_t *rec = record_package("apk");
	if (!rec)
		return -ENOMEM;
	record_set_strn(rec, "name", e->name.p, e->name.len);
	record_set_strn(rec, "version", e->version.p, e->version.len);
	record_set_strn(rec, "architecture", e->arch.p, e->arch.len);
	record_set_strn(rec, "origin", e->origin.p, e->origin.len);
	record_set_strn(rec, "license", e->license.p, e->license.len);
	record_set_strn(rec, "maintainer", e->maintainer.p, e->maintainer.len);
	record_set_strn(rec, "url", e->url.p, e->url.len);
	if ((e->license.len && apk_licenses(rec, e->license) < 0) || words(rec, "depends", e->depends) < 0 ||
	    words(rec, "provides", e->provides) < 0) {
		json_decref(rec);
		return -ENOMEM;
	}
	if (json_array_size(e->files)) {
		json_object_set(rec, "files", e->files);
		json_object_set(rec, "file_digests", e->digests);
	}
	if (json_array_append_new(out, rec) < 0)
		return -ENOMEM;
	return 0;
}

/* Keeps the first occurrence: apk writes each of these once per entry. */
static void take(struct slice *dst, const char *p, size_t len)
{
	if (!dst->p)
		*dst = (struct slice){ p, len };
}

int apk_installed_parse(const char *data, size_t len, json_t *out, struct strata_error *err)
{
	struct entry e = { .dir = BUF_INIT };
	const char *end = data + len;
	size_t lineno = 0;
	int bad = 0, r;

	for (const char *line = data; line < end;) {
		const char *nl = memchr(line, '\n', (size_t)(end - line));
		size_t n = (size_t)((nl ? nl : end) - line);
		const char *l = line;
		line = nl ? nl + 1 : end;
		lineno++;
		while (n && (l[n - 1] == '\r' || l[n - 1] == ' ' || l[n - 1] == '\t'))
			n--;
		if (!n) {
			r = entry_emit(&e, out);
			entry_release(&e);
			if (r < 0)
				return error_set(err, r, "apk database: out of memory");
			continue;
		}
		if (n < 2 || l[1] != ':') {
			if (!e.bad)
				bad = error_set(err, -EBADMSG,
						"malformed apk database: line %zu: not a 'X:value' line", lineno);
			e.bad = 1;
			continue;
		}
		const char *v = l + 2;
		size_t vn = n - 2;
		switch (l[0]) {
		case 'P': take(&e.name, v, vn); break;
		case 'V': take(&e.version, v, vn); break;
		case 'A': take(&e.arch, v, vn); break;
		case 'o': take(&e.origin, v, vn); break;
		case 'L': take(&e.license, v, vn); break;
		case 'm': take(&e.maintainer, v, vn); break;
		case 'D': take(&e.depends, v, vn); break;
		case 'U': take(&e.url, v, vn); break;
		case 'p': take(&e.provides, v, vn); break;
		case 'F':
			buf_reset(&e.dir);
			if (vn && (buf_addch(&e.dir, '/') < 0 || buf_add(&e.dir, v, vn) < 0))
				goto nomem;
			break;
		case 'R': {
			/* dir "/usr/bin" (or none) and name: "/usr/bin/name". */
			size_t keep = e.dir.len;
			if (!e.files && (!(e.files = json_array()) || !(e.digests = json_array())))
				goto nomem;
			if (buf_addch(&e.dir, '/') < 0 || buf_add(&e.dir, v, vn) < 0 ||
			    json_array_append_new(e.files, record_string(e.dir.data, e.dir.len)) < 0 ||
			    json_array_append_new(e.digests, json_string("")) < 0)
				goto nomem;
			buf_setlen(&e.dir, keep);
			break;
		}
		case 'Z':
			/* The checksum of the R: just before it. */
			if (json_array_size(e.digests))
				json_array_set_new(e.digests, json_array_size(e.digests) - 1, record_string(v, vn));
			break;
		default: break;
		}
	}
	r = entry_emit(&e, out);
	entry_release(&e);
	if (r < 0)
		return error_set(err, r, "apk database: out of memory");
	return bad;
nomem:
	entry_release(&e);
	return error_set(err, -ENOMEM, "apk database: out of memory");
}

static const char *const apk_patterns[] = {
	"/lib/apk/db/installed",
	NULL,
};

static int apk_scan(const struct analyzer_file *f, json_t *out, struct strata_error *err)
{
	return analyzer_parse_whole(f, apk_installed_parse, out, err);
}

const struct analyzer analyzer_apk = {
	.name = "apk",
	.version = 4,
	.patterns = apk_patterns,
	.claims = NULL,
	.keyed_by_name = 0,
	.scan = apk_scan,
};
