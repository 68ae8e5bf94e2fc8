/* python: the parsers of a Python distribution's metadata files (the
 * METADATA / PKG-INFO header block, RECORD, top_level.txt) and the analyzer
 * that reads the metadata file of every installed distribution. Each parser
 * is one pass over the bytes. */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "license.h"
#include "python.h"

struct slice {
	const char *p;
	size_t len;
};

static int is_ws(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

static struct slice trim(const char *p, size_t len)
{
	while (len && is_ws((unsigned char)p[0])) {
		p++;
		len--;
	}
	while (len && is_ws((unsigned char)p[len - 1]))
		len--;
	return (struct slice){ p, len };
}

static int slice_is(struct slice s, const char *word)
{
	size_t n = strlen(word);
	return s.len == n && !strncasecmp(s.p, word, n);
}

/* email.parser's header line: a name of printable ASCII other than ':'
 * (possibly empty) and then ':'. Returns the name's length, or -1. */
static long header_name(const char *l, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)l[i];
		if (c == ':')
			return (long)i;
		if (c < 0x21 || c > 0x7e)
			return -1;
	}
	return -1;
}

/* The licences: License-Expression (PEP 639) when there is one; else a
 * License field that names a licence; else the licence classifiers that
 * do; else the License field's text, then the classifiers' texts. */
static int python_licenses(json_t *rec, struct slice expr, struct slice license, json_t *classifiers)
{
	if (expr.len)
		return license_add(rec, expr.p, expr.len);
	struct buf b = BUF_INIT;
	size_t i;
	json_t *c;
	int r = license.len ? license_normalize(license.p, license.len, &b) : 0, any = 0;
	if (r == 1) {
		r = license_add_raw(rec, b.data, b.len);
	} else if (r == 0) {
		for (int pass = 0; pass < 2 && r >= 0 && !any; pass++) {
			if (pass == 1 && license.len) {
				r = license_add(rec, license.p, license.len);
				break;
			}
			json_array_foreach(classifiers, i, c) {
				buf_reset(&b);
				int m = license_from_classifier(json_string_value(c), json_string_length(c), &b);
				if (m < 0 || (m == (pass == 0) && b.len && (r = license_add_raw(rec, b.data, b.len)) < 0)) {
					r = -ENOMEM;
					break;
				}
				any |= m == 1;
			}
		}
	}
	buf_release(&b);
	return r < 0 ? -ENOMEM : 0;
}

int python_metadata_parse(const char *data, size_t len, json_t *out, struct strata_error *err)
{
	struct slice name = { NULL, 0 }, version = { NULL, 0 }, license = { NULL, 0 };
	struct slice expr = { NULL, 0 }, author = { NULL, 0 }, email = { NULL, 0 };
	int license_multiline = 0, in_license = 0;
	const char *end = data + len;

	if (!trim(data, len).len)
		return 0; /* an empty file: no distribution, and nothing wrong */
	json_t *classifiers = json_array(), *requires = json_array();
	for (const char *line = data; line < end;) {
		const char *nl = memchr(line, '\n', (size_t)(end - line));
		size_t n = (size_t)((nl ? nl : end) - line);
		const char *l = line;
		line = nl ? nl + 1 : end;
		if (n && l[n - 1] == '\r')
			n--;
		if (!n)
			break; /* the empty line between headers and body */
		if (l[0] == ' ' || l[0] == '\t') {
			/* A continuation. Only License's matters: a License that goes on
			 * for lines is a licence text, not a name. Raw CRs inside such
			 * lines (unidecode's description) are plain bytes here. */
			if (in_license && trim(l, n).len)
				license_multiline = 1;
			continue;
		}
		long k = header_name(l, n);
		if (k < 0)
			break; /* not a header: email.parser ends the block here too */
		struct slice key = { l, (size_t)k };
		struct slice v = trim(l + k + 1, n - (size_t)k - 1);
		in_license = 0;
		/* The first of a repeated header counts, as msg['Name'] does. */
		if (slice_is(key, "Name") && !name.p)
			name = v;
		else if (slice_is(key, "Version") && !version.p)
			version = v;
		else if (slice_is(key, "License-Expression") && !expr.p)
			expr = v;
		else if (slice_is(key, "Author") && !author.p)
			author = v;
		else if (slice_is(key, "Author-email") && !email.p)
			email = v;
		else if (slice_is(key, "License") && !license.p) {
			license = v;
			in_license = 1;
		} else if (slice_is(key, "Classifier") && v.len > 10 && !memcmp(v.p, "License ::", 10)) {
			json_array_append_new(classifiers, record_string(v.p, v.len));
		} else if (slice_is(key, "Requires-Dist") && v.len) {
			json_array_append_new(requires, record_string(v.p, v.len));
		}
	}
	json_t *rec = name.len ? record_package("python") : NULL;
	int r = 0;
	if (!name.len)
		r = error_set(err, -EBADMSG, "malformed python metadata: no Name field");
	else if (!rec || !classifiers || !requires)
		r = -ENOMEM;
	if (r == 0) {
		record_set_strn(rec, "name", name.p, name.len);
		record_set_strn(rec, "version", version.p, version.len);
		if (author.len)
			record_set_strn(rec, "author", author.p, author.len);
		if (email.len)
			record_set_strn(rec, "author_email", email.p, email.len);
		if (license.len && (license_multiline || slice_is(license, "UNKNOWN")))
			license.len = 0;
		if (expr.len)
			record_set_strn(rec, "license", expr.p, expr.len);
		else if (license.len)
			record_set_strn(rec, "license", license.p, license.len);
		r = python_licenses(rec, expr, license, classifiers);
		if (r == 0 && json_array_size(requires) && json_object_set(rec, "requires_dist", requires) < 0)
			r = -ENOMEM;
	}
	json_decref(classifiers);
	json_decref(requires);
	if (r == 0 && json_array_append_new(out, rec) < 0)
		r = -ENOMEM;
	else if (r < 0)
		json_decref(rec);
	if (r == -ENOMEM)
		return error_set(err, -ENOMEM, "python metadata: out of memory");
	return r;
}

/* One RECORD row: path, "algorithm=digest", size. */
static int record_row(struct buf *f, json_t *out)
{
	json_t *rec = json_object();
	if (!rec)
		return -ENOMEM;
	record_set_strn(rec, "path", f[0].data, f[0].len);
	if (f[1].len) {
		const char *eq = memchr(f[1].data, '=', f[1].len);
		if (eq) {
			record_set_strn(rec, "hash_algorithm", f[1].data, (size_t)(eq - f[1].data));
			record_set_strn(rec, "hash_value", eq + 1, f[1].len - (size_t)(eq - f[1].data) - 1);
		} else {
			record_set_strn(rec, "hash_value", f[1].data, f[1].len);
		}
	}
	long long size = f[2].len ? 0 : -1;
	for (size_t i = 0; i < f[2].len && size >= 0; i++) {
		char c = f[2].data[i];
		if (c < '0' || c > '9' || size > (INT64_MAX - 9) / 10)
			size = -1;
		else
			size = size * 10 + (c - '0');
	}
	if (size >= 0)
		json_object_set_new(rec, "size", json_integer(size));
	if (json_array_append_new(out, rec) < 0)
		return -ENOMEM;
	return 0;
}

/* Python's csv reader in its default (non-strict) dialect: ',' between
 * fields, '"' quotes with "" for a quote inside, a record ends at CR, LF or
 * CRLF outside quotes. Only three fields are ever kept. */
int python_record_parse(const char *data, size_t len, json_t *out, struct strata_error *err)
{
	struct buf f[3] = { BUF_INIT, BUF_INIT, BUF_INIT };
	size_t nf = 0, i = 0;
	int r = 0;

	while (i < len) {
		/* One record: fields until an unquoted line end or the end. */
		int empty_line = 1;
		nf = 0;
		for (int k = 0; k < 3; k++)
			buf_reset(&f[k]);
		for (;;) {
			struct buf *cur = nf < 3 ? &f[nf] : NULL;
			int quoted = 0;
			if (i < len && data[i] == '"') {
				/* Quoting counts only at the start of a field. */
				quoted = 1;
				empty_line = 0;
				i++;
			}
			for (; i < len; i++) {
				char c = data[i];
				if (quoted) {
					if (c != '"') {
						if (cur && (r = buf_addch(cur, c)) < 0)
							goto fail;
					} else if (i + 1 < len && data[i + 1] == '"') {
						if (cur && (r = buf_addch(cur, '"')) < 0)
							goto fail;
						i++;
					} else {
						quoted = 0;
					}
					continue;
				}
				if (c == ',' || c == '\n' || c == '\r')
					break;
				empty_line = 0;
				if (cur && (r = buf_addch(cur, c)) < 0)
					goto fail;
			}
			if (quoted) {
				r = error_set(err, -EBADMSG, "malformed python RECORD: unterminated quote");
				goto fail;
			}
			nf++;
			if (i < len && data[i] == ',') {
				empty_line = 0;
				i++;
				continue;
			}
			break;
		}
		/* The line end: CR, LF or CRLF. */
		if (i < len && data[i] == '\r')
			i++;
		if (i < len && data[i] == '\n')
			i++;
		if (!empty_line && nf == 3 && (r = record_row(f, out)) < 0)
			goto fail;
	}
	r = 0;
fail:
	for (int k = 0; k < 3; k++)
		buf_release(&f[k]);
	if (r == -ENOMEM)
		error_set(err, r, "python RECORD: out of memory");
	return r;
}

int python_top_level_parse(const char *data, size_t len, json_t *out, struct strata_error *err)
{
	const char *end = data + len;
	for (const char *line = data; line < end;) {
		const char *nl = memchr(line, '\n', (size_t)(end - line));
		struct slice m = trim(line, (size_t)((nl ? nl : end) - line));
		line = nl ? nl + 1 : end;
		if (!m.len)
			continue;
		json_t *rec = json_object();
		if (!rec)
			return error_set(err, -ENOMEM, "python top_level.txt: out of memory");
		record_set_strn(rec, "module", m.p, m.len);
		if (json_array_append_new(out, rec) < 0)
			return error_set(err, -ENOMEM, "python top_level.txt: out of memory");
	}
	return 0;
}

/* Whether the last n bytes before end spell suffix, ignoring case. */
static int ends_with_ci(const char *s, size_t n, const char *suffix)
{
	size_t m = strlen(suffix);
	return n >= m && !strncasecmp(s + n - m, suffix, m);
}

/* Cheap prefilters; python_claims does the case-insensitive test. */
static const char *const python_patterns[] = {
	"*/METADATA",
	"*/PKG-INFO",
	"*.[eE][gG][gG]-[iI][nN][fF][oO]",
	NULL,
};

static int python_claims(const char *path, uint64_t size, const struct analyzer_limits *limits)
{
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	const char *dir = slash ? slash : path;
	while (dir > path && dir[-1] != '/')
		dir--;
	size_t dirlen = slash ? (size_t)(slash - dir) : 0;
	/* Directory names as installers write them (foo-1.0.dist-info,
	 * foo.egg-info, an egg's EGG-INFO); any case, as on a case-insensitive
	 * file system the installer may have written either. */
	if (!strcmp(base, "METADATA"))
		return ends_with_ci(dir, dirlen, "dist-info");
	if (!strcmp(base, "PKG-INFO"))
		return ends_with_ci(dir, dirlen, "egg-info");
	return ends_with_ci(base, strlen(base), ".egg-info");
}

static int python_scan(const struct analyzer_file *f, json_t *out, struct strata_error *err)
{
	return analyzer_parse_whole(f, python_metadata_parse, out, err);
}

const struct analyzer analyzer_python = {
	.name = "python",
	.version = 4,
	.patterns = python_patterns,
	.claims = python_claims,
	.keyed_by_name = 0,
	.scan = python_scan,
};
