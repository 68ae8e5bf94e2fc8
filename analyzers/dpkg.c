/* dpkg: the dpkg status database parser and its analyzer. The file is read
 * line by line in one pass, keeping only slices of the fields a record
 * needs, so time and memory stay linear however long the lines or the
 * continuation runs are. */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "dpkg.h"
#include "license.h"

struct slice {
	const char *p;
	size_t len;
};

struct stanza {
	struct slice package, status, version, arch, source, maintainer, size;
	struct slice depends, pre_depends, provides, license;
	struct slice *cont; /* a relationship field that continuation lines extend */
	int fields;     /* fields seen so far in this stanza */
	int bad;        /* a malformed line: the stanza gives no record */
};

static int is_blank(int c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

static struct slice trim(const char *p, size_t len)
{
	while (len && is_blank((unsigned char)p[0])) {
		p++;
		len--;
	}
	while (len && is_blank((unsigned char)p[len - 1]))
		len--;
	return (struct slice){ p, len };
}

static int slice_is(struct slice s, const char *word)
{
	size_t n = strlen(word);
	return s.len == n && !strncasecmp(s.p, word, n);
}

/* Status: "want flag state"; only the state word matters, and it must be
 * exactly "installed" ("not-installed", "half-installed" are not). */
static int status_installed(struct slice s)
{
	size_t i = s.len;
	while (i && !is_blank((unsigned char)s.p[i - 1]))
		i--;
	return s.len - i == 9 && !memcmp(s.p + i, "installed", 9);
}

/* Installed-Size in KiB; -1 when it is not a plain non-negative integer. */
static long long parse_size(struct slice s)
{
	long long v = 0;
	if (!s.len)
		return -1;
	for (size_t i = 0; i < s.len; i++) {
		if (s.p[i] < '0' || s.p[i] > '9')
			return -1;
		if (v > (INT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (s.p[i] - '0');
	}
	return v;
}

/* Sets key to the comma-separated items of a relationship field, each
 * trimmed ("libc6 (>= 2.34)", "debconf | debconf-2.0"); nothing when the
 * field is absent or empty. 0 or -ENOMEM. */
static int list_field(json_t *rec, const char *key, struct slice v)
{
	if (!v.len)
		return 0;
	json_t *list = json_array();
	if (!list || json_object_set_new(rec, key, list) < 0)
		return -ENOMEM;
	struct buf item = BUF_INIT;
	int r = 0;
	for (const char *p = v.p, *end = v.p + v.len; p <= end && r == 0; p++) {
		if (p == end || *p == ',') {
			/* A folded field's line breaks are white space too. */
			while (item.len && item.data[item.len - 1] == ' ')
				buf_setlen(&item, item.len - 1);
			if (item.len)
				r = json_array_append_new(list, record_string(item.data, item.len));
			buf_reset(&item);
		} else if (is_blank((unsigned char)*p) || *p == '\n') {
			if (item.len && item.data[item.len - 1] != ' ')
				r = buf_addch(&item, ' ');
		} else {
			r = buf_addch(&item, *p);
		}
	}
	buf_release(&item);
	return r < 0 ? -ENOMEM : 0;
}

/* Appends the record of a finished stanza; 0, or -ENOMEM. */
static int stanza_emit(const struct stanza *st, json_t *out)
{
	if (st->bad || !st->package.len)
		return 0;
	if (st->status.p && !status_installed(st->status))
		return 0;
	json_t *rec = record_package("deb");
	if (!rec)
		return -ENOMEM;
	record_set_strn(rec, "name", st->package.p, st->package.len);
	record_set_strn(rec, "version", st->version.p, st->version.len);
	record_set_strn(rec, "architecture", st->arch.p, st->arch.len);
	if (st->source.p) {
		/* "Source: name (version)": the version when it differs from the
		 * binary package's. */
		const char *p = st->source.p, *end = p + st->source.len;
		const char *q = p;
		while (q < end && !is_blank((unsigned char)*q) && *q != '(')
			q++;
		record_set_strn(rec, "source", p, (size_t)(q - p));
		const char *open = memchr(q, '(', (size_t)(end - q));
		if (open) {
			const char *close = memchr(open, ')', (size_t)(end - open));
			struct slice v = trim(open + 1, (size_t)((close ? close : end) - open - 1));
			record_set_strn(rec, "source_version", v.p, v.len);
		}
	}
	record_set_strn(rec, "maintainer", st->maintainer.p, st->maintainer.len);
	long long size = st->size.p ? parse_size(st->size) : -1;
	if (size >= 0)
		json_object_set_new(rec, "installed_size", json_integer(size));
	if (list_field(rec, "depends", st->depends) < 0 || list_field(rec, "pre_depends", st->pre_depends) < 0 ||
	    list_field(rec, "provides", st->provides) < 0 ||
	    (st->license.len && license_add(rec, st->license.p, st->license.len) < 0)) {
		json_decref(rec);
		return -ENOMEM;
	}
	if (json_array_append_new(out, rec) < 0)
		return -ENOMEM;
	return 0;
}

/* Keeps the first occurrence of a field (dpkg refuses duplicates anyway). */
static void take(struct slice *dst, struct slice v)
{
	if (!dst->p)
		*dst = v;
}

int dpkg_status_parse(const char *data, size_t len, json_t *out, struct strata_error *err)
{
	struct stanza st;
	const char *end = data + len;
	size_t lineno = 0;
	int bad = 0, r;

	memset(&st, 0, sizeof(st));
	for (const char *line = data; line < end;) {
		const char *nl = memchr(line, '\n', (size_t)(end - line));
		const char *eol = nl ? nl : end;
		size_t n = (size_t)(eol - line);
		lineno++;
		if (!trim(line, n).len) {
			/* A blank line (or one of white space only) ends the stanza. */
			r = stanza_emit(&st, out);
			if (r < 0)
				return error_set(err, r, "dpkg status: out of memory");
			memset(&st, 0, sizeof(st));
		} else if (line[0] == ' ' || line[0] == '\t') {
			/* A continuation line: only the relationship fields are read
			 * on (a long Depends: may be folded); it must follow a field. */
			if (st.cont)
				st.cont->len = (size_t)(eol - st.cont->p);
			if (!st.fields && !st.bad) {
				st.bad = 1;
				bad = error_set(err, -EBADMSG,
						"malformed dpkg status: line %zu: continuation line without a field",
						lineno);
			}
		} else {
			const char *colon = memchr(line, ':', n);
			if (!colon) {
				/* Not a field: the stanza is dropped (the continuation
				 * lines after it included). */
				if (!st.bad)
					bad = error_set(err, -EBADMSG,
							"malformed dpkg status: line %zu: not a field", lineno);
				st.bad = 1;
			} else {
				struct slice key = trim(line, (size_t)(colon - line));
				struct slice v = trim(colon + 1, (size_t)(eol - colon - 1));
				struct slice *rel = slice_is(key, "Depends") ? &st.depends
						    : slice_is(key, "Pre-Depends") ? &st.pre_depends
						    : slice_is(key, "Provides") ? &st.provides : NULL;
				st.cont = rel && !rel->p ? rel : NULL;
				if (!v.p)
					v.p = colon + 1; /* an empty first line that continues */
				if (slice_is(key, "Package"))
					take(&st.package, v);
				else if (slice_is(key, "Status"))
					take(&st.status, v);
				else if (slice_is(key, "Version"))
					take(&st.version, v);
				else if (slice_is(key, "Architecture"))
					take(&st.arch, v);
				else if (slice_is(key, "Source"))
					take(&st.source, v);
				else if (slice_is(key, "Maintainer"))
					take(&st.maintainer, v);
				else if (slice_is(key, "Installed-Size"))
					take(&st.size, v);
				else if (rel)
					take(rel, v);
				else if (slice_is(key, "License"))
					take(&st.license, v);
				st.fields++;
			}
		}
		line = nl ? nl + 1 : end;
	}
	r = stanza_emit(&st, out);
	if (r < 0)
		return error_set(err, r, "dpkg status: out of memory");
	return bad;
}

static int is_hex(int c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Calls fn(path, plen, md5, ctx) for each well-formed line of an md5sums
 * list; -EBADMSG (err set) at the end when a line was malformed. */
static int md5sums_each(const char *data, size_t len,
			int (*fn)(const char *path, size_t plen, const char *md5, void *ctx), void *ctx,
			struct strata_error *err)
{
	const char *end = data + len;
	size_t lineno = 0;
	int bad = 0;

	for (const char *line = data; line < end;) {
		const char *nl = memchr(line, '\n', (size_t)(end - line));
		size_t n = (size_t)((nl ? nl : end) - line);
		const char *l = line;
		lineno++;
		line = nl ? nl + 1 : end;
		if (n && l[n - 1] == '\r')
			n--;
		if (!n)
			continue;
		/* md5sum(1) output: 32 hex digits, a space, then a space (text
		 * mode) or '*' (binary mode), then the path. */
		size_t i = 0;
		while (i < n && is_hex((unsigned char)l[i]))
			i++;
		if (i != 32 || n < 35 || l[32] != ' ' || (l[33] != ' ' && l[33] != '*')) {
			bad = error_set(err, -EBADMSG, "malformed dpkg md5sums: line %zu", lineno);
			continue;
		}
		if (fn(l + 34, n - 34, l, ctx) < 0)
			return error_set(err, -ENOMEM, "dpkg md5sums: out of memory");
	}
	return bad;
}

static int md5sums_row(const char *path, size_t plen, const char *md5, void *ctx)
{
	json_t *rec = json_object();
	if (!rec)
		return -ENOMEM;
	record_set_strn(rec, "path", path, plen);
	record_set_strn(rec, "md5", md5, 32);
	return json_array_append_new(ctx, rec) < 0 ? -ENOMEM : 0;
}

int dpkg_md5sums_parse(const char *data, size_t len, json_t *out, struct strata_error *err)
{
	return md5sums_each(data, len, md5sums_row, out, err);
}

/* A fact's text holds paths front-coded (dpkg.h): absolute, or how many
 * bytes they share with the path before, a space, and the rest. */
struct coded {
	struct buf text;
	struct buf prev; /* the path before, absolute */
};

static int code_path(struct coded *c, const char *path, size_t n)
{
	struct buf abs = BUF_INIT;
	int r = 0;
	if (!n || path[0] != '/') {
		if ((r = buf_addch(&abs, '/')) == 0)
			r = buf_add(&abs, path, n);
		path = abs.data;
		n = abs.len;
	}
	size_t k = 0;
	while (r == 0 && k < n && k < c->prev.len && c->prev.data[k] == path[k])
		k++;
	/* "/usr/" shared gains nothing over writing it. */
	if (r == 0 && k > 5)
		r = buf_addf(&c->text, "%zu ", k);
	else
		k = 0;
	if (r == 0)
		r = buf_add(&c->text, path + k, n - k);
	if (r == 0)
		r = buf_addch(&c->text, '\n');
	if (r == 0) {
		buf_reset(&c->prev);
		r = buf_add(&c->prev, path, n);
	}
	buf_release(&abs);
	return r;
}

static int hexval(int c)
{
	return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}

/* The fact's lines: "<md5> <path>", the md5 as 22 characters of base64
 * (RFC 4648, no padding: 16 bytes), the path coded. */
static int md5sums_fact_row(const char *path, size_t plen, const char *md5, void *ctx)
{
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	struct coded *c = ctx;
	char out[23];
	uint32_t acc = 0;
	int bits = 0;
	size_t o = 0;
	for (int i = 0; i < 32; i++) {
		acc = acc << 4 | (uint32_t)hexval((unsigned char)md5[i]);
		bits += 4;
		if (bits >= 6) {
			bits -= 6;
			out[o++] = b64[(acc >> bits) & 63];
		}
	}
	out[o++] = b64[(acc << (6 - bits)) & 63]; /* the last 2 bits */
	out[o++] = ' ';
	int r = buf_add(&c->text, out, o);
	return r < 0 ? r : code_path(c, path, plen);
}

/* A fact record whose key holds text, as one JSON string: thousands of
 * paths as one string cost the memo a fraction of what as many strings do. */
static int text_fact(json_t *out, const char *fact, const char *key, const struct buf *text)
{
	json_t *rec = json_pack("{s:s}", "fact", fact);
	if (!rec || json_object_set_new(rec, key, record_string(text->data, text->len)) < 0 ||
	    json_array_append_new(out, rec) < 0)
		return -ENOMEM;
	return 0;
}

int dpkg_md5sums_fact(const char *data, size_t len, json_t *out, struct strata_error *err)
{
	struct coded c = { BUF_INIT, BUF_INIT };
	int r = md5sums_each(data, len, md5sums_fact_row, &c, err);
	if (r != -ENOMEM && text_fact(out, "dpkg-md5sums", "sums", &c.text) < 0)
		r = -ENOMEM;
	buf_release(&c.text);
	buf_release(&c.prev);
	if (r == -ENOMEM)
		return error_set(err, -ENOMEM, "dpkg md5sums: out of memory");
	return r;
}

int dpkg_list_parse(const char *data, size_t len, json_t *out, struct strata_error *err)
{
	struct coded c = { BUF_INIT, BUF_INIT };
	const char *end = data + len;
	int r = 0;
	for (const char *line = data; line < end && r == 0;) {
		const char *nl = memchr(line, '\n', (size_t)(end - line));
		size_t n = (size_t)((nl ? nl : end) - line);
		const char *l = line;
		line = nl ? nl + 1 : end;
		if (n && l[n - 1] == '\r')
			n--;
		/* "/." stands for the root, which every package lists. */
		if (!n || (n == 2 && !memcmp(l, "/.", 2)))
			continue;
		r = code_path(&c, l, n);
	}
	if (r == 0)
		r = text_fact(out, "dpkg-list", "paths", &c.text);
	buf_release(&c.text);
	buf_release(&c.prev);
	return r < 0 ? error_set(err, -ENOMEM, "dpkg file list: out of memory") : 0;
}

/* The status file, and distroless per-package files; their .md5sums
 * siblings are file lists, not stanzas. */
static const char *const dpkg_patterns[] = {
	"/var/lib/dpkg/status",
	"/var/lib/dpkg/status.d/*",
	NULL,
};

static int dpkg_claims(const char *path, uint64_t size, const struct analyzer_limits *limits)
{
	static const char dir[] = "/var/lib/dpkg/status.d/";
	if (strncmp(path, dir, sizeof(dir) - 1))
		return 1;
	const char *name = path + sizeof(dir) - 1;
	size_t n = strlen(name);
	if (strchr(name, '/'))
		return 0;
	return !(n >= 8 && !strcmp(name + n - 8, ".md5sums"));
}

static int dpkg_scan(const struct analyzer_file *f, json_t *out, struct strata_error *err)
{
	return analyzer_parse_whole(f, dpkg_status_parse, out, err);
}

const struct analyzer analyzer_dpkg = {
	.name = "dpkg",
	.version = 2,
	.patterns = dpkg_patterns,
	.claims = dpkg_claims,
	.keyed_by_name = 0,
	.scan = dpkg_scan,
};

/* --- dpkg-files: each package's file list and md5sums ----------------------- */

static const char *const files_patterns[] = {
	"/var/lib/dpkg/info/*.list",
	"/var/lib/dpkg/info/*.md5sums",
	"/var/lib/dpkg/status.d/*.md5sums",
	NULL,
};

static int files_claims(const char *path, uint64_t size, const struct analyzer_limits *limits)
{
	const char *base = strrchr(path, '/') + 1;
	return path + strlen("/var/lib/dpkg/info/") == base || path + strlen("/var/lib/dpkg/status.d/") == base;
}

static int files_scan(const struct analyzer_file *f, json_t *out, struct strata_error *err)
{
	size_t n = strlen(f->path);
	int list = n > 5 && !strcmp(f->path + n - 5, ".list");
	return analyzer_parse_whole(f, list ? dpkg_list_parse : dpkg_md5sums_fact, out, err);
}

const struct analyzer analyzer_dpkg_files = {
	.name = "dpkg-files",
	.family = "dpkg",
	.version = 3,
	.patterns = files_patterns,
	.claims = files_claims,
	/* What the bytes are (a list or md5sums) is in the name. */
	.keyed_by_name = 1,
	.scan = files_scan,
};
