/* apk: the apk-tools installed-database parser and its analyzer. One pass
 * over the lines keeping slices of the six fields a record needs: linear in
 * the input whatever its shape. */
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
	struct slice name, version, arch, origin, license, maintainer;
	int bad;
};

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
	if (e->license.len && apk_licenses(rec, e->license) < 0) {
		json_decref(rec);
		return -ENOMEM;
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
	struct entry e;
	const char *end = data + len;
	size_t lineno = 0;
	int bad = 0, r;

	memset(&e, 0, sizeof(e));
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
			if (r < 0)
				return error_set(err, r, "apk database: out of memory");
			memset(&e, 0, sizeof(e));
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
		default: break;
		}
	}
	r = entry_emit(&e, out);
	if (r < 0)
		return error_set(err, r, "apk database: out of memory");
	return bad;
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
	.version = 2,
	.patterns = apk_patterns,
	.claims = NULL,
	.keyed_by_name = 0,
	.scan = apk_scan,
};
