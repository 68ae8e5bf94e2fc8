/* nuget: the deps.json, packages.lock.json and .nuspec readers and the
 * analyzer over them (rules in nuget.h). JSON goes through jansson, whose
 * parser bounds its nesting depth; the .nuspec through a small forward-only
 * XML scanner that never backtracks, so it is linear in its input. */
#include "config.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "java.h"
#include "license.h"
#include "nuget.h"

#define NUSPEC_MAX (4u << 20)

static json_t *load_object(const char *data, size_t len, const char *what,
			   struct strata_error *err)
{
	if (len >= 3 && !memcmp(data, "\xEF\xBB\xBF", 3)) {
		data += 3;
		len -= 3;
	}
	json_error_t jerr;
	json_t *root = json_loadb(data, len, 0, &jerr);
	if (!root) {
		error_set(err, -EBADMSG, "malformed %s: %s (line %d)", what, jerr.text, jerr.line);
		return NULL;
	}
	if (!json_is_object(root)) {
		error_set(err, -EBADMSG, "malformed %s: not a JSON object", what);
		json_decref(root);
		return NULL;
	}
	return root;
}

static int nonempty(json_t *v)
{
	return (json_is_object(v) && json_object_size(v)) || (json_is_array(v) && json_array_size(v));
}

/* Appends {"type": "nuget", name, version} to out (with keys name and
 * version of lengths nlen and vlen). Returns 0 or -ENOMEM. */
static int add_package(json_t *out, const char *name, size_t nlen, const char *version,
		       size_t vlen)
{
	json_t *rec = record_package("nuget");
	if (!rec)
		return -ENOMEM;
	record_set_strn(rec, "name", name, nlen);
	record_set_strn(rec, "version", version, vlen);
	return json_array_append_new(out, rec) < 0 ? -ENOMEM : 0;
}

/* Walks "libraries"; with rows set, appends every row as documented for
 * nuget_deps_json_rows, else a package record for each type "package". */
static int deps_json(const char *data, size_t len, json_t *out, int rows,
		     struct strata_error *err)
{
	json_t *root = load_object(data, len, "deps.json", err);
	if (!root)
		return -EBADMSG;
	int r = 0;
	json_t *libs = json_object_get(root, "libraries");
	if (!libs)
		goto out;
	if (!json_is_object(libs)) {
		r = error_set(err, -EBADMSG, "malformed deps.json: \"libraries\" is not an object");
		goto out;
	}
	const char *tname = json_string_value(json_object_get(json_object_get(root, "runtimeTarget"),
							      "name"));
	json_t *target = tname ? json_object_get(json_object_get(root, "targets"), tname) : NULL;
	if (!json_is_object(target))
		target = NULL;
	const char *key;
	json_t *lib;
	json_object_foreach(libs, key, lib) {
		const char *slash = strchr(key, '/');
		size_t nlen = slash ? (size_t)(slash - key) : strlen(key);
		const char *version = slash ? slash + 1 : "";
		const char *type = json_string_value(json_object_get(lib, "type"));
		if (!rows) {
			if (type && !strcmp(type, "package") &&
			    add_package(out, key, nlen, version, strlen(version)) < 0)
				r = -ENOMEM;
		} else {
			json_t *entry = target ? json_object_get(target, key) : NULL;
			const char *runtime = "absent";
			if (entry)
				runtime = nonempty(json_object_get(entry, "runtime")) ||
					  nonempty(json_object_get(entry, "runtimeTargets")) ||
					  nonempty(json_object_get(entry, "native")) ? "yes" : "no";
			json_t *row = json_object();
			if (row) {
				record_set_strn(row, "name", key, nlen);
				record_set_str(row, "version", version);
				record_set_str(row, "type", type ? type : "");
				record_set_str(row, "runtime", runtime);
			}
			if (!row || json_array_append_new(out, row) < 0)
				r = -ENOMEM;
		}
		if (r < 0) {
			r = error_set(err, r, "deps.json: out of memory");
			break;
		}
	}
out:
	json_decref(root);
	return r;
}

int nuget_deps_json_rows(const char *data, size_t len, json_t *rows, struct strata_error *err)
{
	return deps_json(data, len, rows, 1, err);
}

int nuget_deps_json_parse(const char *data, size_t len, json_t *out, struct strata_error *err)
{
	return deps_json(data, len, out, 0, err);
}

int nuget_packages_lock_parse(const char *data, size_t len, json_t *out,
			      struct strata_error *err)
{
	json_t *root = load_object(data, len, "packages.lock.json", err);
	if (!root)
		return -EBADMSG;
	json_t *seen = json_object();
	struct buf k = BUF_INIT;
	int r = seen ? 0 : -ENOMEM;
	const char *fw, *name;
	json_t *deps, *dep;
	json_object_foreach(json_object_get(root, "dependencies"), fw, deps) {
		json_object_foreach(deps, name, dep) {
			json_t *resolved = json_object_get(dep, "resolved");
			if (r < 0 || !json_is_string(resolved))
				continue;
			/* The same package under several frameworks is one package. */
			buf_reset(&k);
			if ((r = buf_addf(&k, "%s\x01%s", name, json_string_value(resolved))) < 0)
				break;
			if (json_object_get(seen, k.data))
				continue;
			if (json_object_set_new(seen, k.data, json_true()) < 0 ||
			    add_package(out, name, strlen(name), json_string_value(resolved),
					json_string_length(resolved)) < 0)
				r = -ENOMEM;
		}
	}
	if (r < 0)
		error_set(err, r, "packages.lock.json: out of memory");
	buf_release(&k);
	json_decref(seen);
	json_decref(root);
	return r;
}

/* ---- .nuspec ------------------------------------------------------------ */

enum { NS_ID, NS_VERSION, NS_LICENSE, NS_LICENSE_URL, NS_N };

static int starts(const char *p, const char *end, const char *s)
{
	size_t n = strlen(s);
	return (size_t)(end - p) >= n && !memcmp(p, s, n);
}

static int xml_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* The code point of a character reference body ("#38", "#x26"), or -1. */
static long char_ref(const char *s, size_t n)
{
	if (n < 2 || s[0] != '#')
		return -1;
	int hex = s[1] == 'x';
	size_t i = hex ? 2 : 1;
	long v = 0;
	if (i >= n)
		return -1;
	for (; i < n; i++) {
		int d;
		char c = s[i];
		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (hex && c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (hex && c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return -1;
		v = v * (hex ? 16 : 10) + d;
		if (v > 0x10FFFF)
			return -1;
	}
	if (v == 0 || (v >= 0xD800 && v <= 0xDFFF))
		return -1;
	return v;
}

/* Character data with its entity and character references resolved;
 * unknown references are kept as written. */
static int add_text(struct buf *b, const char *s, size_t n)
{
	static const struct { const char *name; char c; } ents[] = {
		{ "amp", '&' }, { "lt", '<' }, { "gt", '>' }, { "quot", '"' }, { "apos", '\'' },
	};
	size_t i = 0;
	int r = 0;
	while (i < n && r == 0) {
		const char *amp = memchr(s + i, '&', n - i);
		size_t run = amp ? (size_t)(amp - (s + i)) : n - i;
		r = buf_add(b, s + i, run);
		i += run;
		if (!amp || r < 0)
			break;
		size_t look = n - i < 12 ? n - i : 12;
		const char *semi = memchr(s + i, ';', look);
		size_t en = semi ? (size_t)(semi - (s + i)) - 1 : 0;
		const char *body = s + i + 1;
		int done = 0;
		for (size_t k = 0; semi && k < sizeof(ents) / sizeof(ents[0]) && !done; k++) {
			if (en == strlen(ents[k].name) && !memcmp(body, ents[k].name, en)) {
				r = buf_addch(b, ents[k].c);
				done = 1;
			}
		}
		long cp = semi && !done ? char_ref(body, en) : -1;
		if (cp > 0) {
			r = buf_add_utf8(b, (unsigned long)cp);
			done = 1;
		}
		if (done) {
			i += en + 2;
		} else {
			r = buf_addch(b, '&');
			i++;
		}
	}
	return r;
}

static int local_is(const char *name, size_t n, const char *want)
{
	const char *colon = memchr(name, ':', n);
	while (colon) {
		n -= (size_t)(colon + 1 - name);
		name = colon + 1;
		colon = memchr(name, ':', n);
	}
	return n == strlen(want) && !memcmp(name, want, n);
}

/* Whether the attributes a[0..n) include type="expression". */
static int type_is_expression(const char *a, size_t n)
{
	size_t i = 0;
	while (i < n) {
		while (i < n && (xml_space(a[i]) || a[i] == '/'))
			i++;
		size_t nb = i;
		while (i < n && a[i] != '=' && !xml_space(a[i]) && a[i] != '/')
			i++;
		size_t ne = i;
		while (i < n && xml_space(a[i]))
			i++;
		if (i >= n || a[i] != '=') {
			if (i == nb)
				i++; /* a stray character: step over it */
			continue;
		}
		i++;
		while (i < n && xml_space(a[i]))
			i++;
		if (i >= n || (a[i] != '"' && a[i] != '\''))
			continue;
		char q = a[i++];
		const char *v = a + i, *ve = memchr(v, q, n - i);
		if (!ve)
			return 0;
		if (local_is(a + nb, ne - nb, "type"))
			return ve - v == 10 && !memcmp(v, "expression", 10);
		i = (size_t)(ve - a) + 1;
	}
	return 0;
}

static void trim_buf(struct buf *b)
{
	size_t s = 0, e = b->len;
	while (s < e && xml_space(b->data[s]))
		s++;
	while (e > s && xml_space(b->data[e - 1]))
		e--;
	memmove(b->data, b->data + s, e - s);
	buf_setlen(b, e - s);
}

int nuget_nuspec_parse(const char *data, size_t len, json_t *out, struct strata_error *err)
{
	struct buf f[NS_N] = { BUF_INIT, BUF_INIT, BUF_INIT, BUF_INIT };
	int have[NS_N] = { 0, 0, 0, 0 };
	const char *p = data, *end = data + len;
	size_t depth = 0, cap_depth = 0;
	int pkg = 0, meta = 0, cap = -1, r = 0;
	while (p < end && r == 0) {
		if (*p != '<') {
			const char *lt = memchr(p, '<', (size_t)(end - p));
			if (!lt)
				lt = end;
			if (cap >= 0)
				r = add_text(&f[cap], p, (size_t)(lt - p));
			p = lt;
			continue;
		}
		const char *q;
		if (starts(p, end, "<!--")) {
			q = memmem(p + 4, (size_t)(end - p - 4), "-->", 3);
			p = q ? q + 3 : end;
			continue;
		}
		if (starts(p, end, "<![CDATA[")) {
			q = memmem(p + 9, (size_t)(end - p - 9), "]]>", 3);
			if (cap >= 0)
				r = buf_add(&f[cap], p + 9, (size_t)((q ? q : end) - (p + 9)));
			p = q ? q + 3 : end;
			continue;
		}
		if (starts(p, end, "<?")) {
			q = memmem(p + 2, (size_t)(end - p - 2), "?>", 2);
			p = q ? q + 2 : end;
			continue;
		}
		/* A tag (or <!DOCTYPE ...>): up to the first '>' outside quotes. */
		char quote = 0;
		for (q = p + 1; q < end && (quote || *q != '>'); q++) {
			if (quote && *q == quote)
				quote = 0;
			else if (!quote && (*q == '"' || *q == '\''))
				quote = *q;
		}
		if (q >= end)
			break;
		const char *t = p + 1, *tend = q;
		p = q + 1;
		if (t < tend && *t == '!')
			continue;
		if (t < tend && *t == '/') {
			if (depth)
				depth--;
			if (cap >= 0 && depth < cap_depth) {
				have[cap] = 1;
				cap = -1;
			}
			if (depth < 2)
				meta = 0;
			if (depth < 1)
				pkg = 0;
			continue;
		}
		if (tend > t && tend[-1] == '/')
			continue; /* an empty element holds nothing we want */
		const char *n = t;
		while (n < tend && !xml_space(*n))
			n++;
		size_t nlen = (size_t)(n - t);
		if (depth == 0)
			pkg = local_is(t, nlen, "package");
		else if (depth == 1)
			meta = pkg && local_is(t, nlen, "metadata");
		else if (depth == 2 && meta && cap < 0) {
			int which = local_is(t, nlen, "id") ? NS_ID :
				    local_is(t, nlen, "version") ? NS_VERSION :
				    local_is(t, nlen, "license") &&
				    type_is_expression(n, (size_t)(tend - n)) ? NS_LICENSE :
				    local_is(t, nlen, "licenseUrl") ? NS_LICENSE_URL : -1;
			if (which >= 0 && !have[which]) {
				cap = which;
				cap_depth = depth + 1;
				buf_reset(&f[which]);
			}
		}
		depth++;
	}
	if (cap >= 0)
		have[cap] = 1; /* cut short: keep what was there */
	for (int i = 0; i < NS_N; i++)
		trim_buf(&f[i]);
	if (r < 0) {
		r = error_set(err, r, "nuspec: out of memory");
	} else if (!have[NS_ID] || !f[NS_ID].len) {
		r = error_set(err, -EBADMSG, "malformed nuspec: no package id");
	} else {
		json_t *rec = record_package("nuget");
		if (rec) {
			record_set_strn(rec, "name", f[NS_ID].data, f[NS_ID].len);
			record_set_strn(rec, "version", f[NS_VERSION].data, f[NS_VERSION].len);
			if (have[NS_LICENSE] && f[NS_LICENSE].len)
				record_set_strn(rec, "license", f[NS_LICENSE].data, f[NS_LICENSE].len);
			/* The expression; else the URL (deprecated, and on nuget.org
			 * licenses.nuget.org/<expression> for packages that have one). */
			int lr = 0;
			if (have[NS_LICENSE] && f[NS_LICENSE].len)
				lr = license_add(rec, f[NS_LICENSE].data, f[NS_LICENSE].len);
			else if (have[NS_LICENSE_URL] && f[NS_LICENSE_URL].len)
				lr = license_add(rec, f[NS_LICENSE_URL].data, f[NS_LICENSE_URL].len);
			if (lr < 0) {
				json_decref(rec);
				rec = NULL;
			}
		}
		if (!rec || json_array_append_new(out, rec) < 0)
			r = error_set(err, -ENOMEM, "nuspec: out of memory");
	}
	for (int i = 0; i < NS_N; i++)
		buf_release(&f[i]);
	return r;
}

/* ---- the analyzer ------------------------------------------------------ */

static int ends_with(const char *s, const char *suffix, int nocase)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && !(nocase ? strcasecmp(s + n - m, suffix) : strcmp(s + n - m, suffix));
}

/* The .nuspec at the root of a .nupkg. */
static int nupkg_scan(const struct analyzer_file *f, json_t *out, struct strata_error *err)
{
	struct java_zip *z = java_zip_open_fd(f->fd, f->size, err);
	if (!z)
		return err->code ? err->code : -EBADMSG;
	struct archive *a = java_zip_archive(z);
	struct archive_entry *e;
	struct buf b = BUF_INIT;
	int ar, r = 1;
	while (r > 0 && (ar = archive_read_next_header(a, &e)) != ARCHIVE_EOF) {
		if (ar != ARCHIVE_OK && ar != ARCHIVE_WARN) {
			char why[256];
			r = error_set(err, -EBADMSG, "malformed nupkg: %s",
				      java_zip_error(a, why, sizeof(why)));
			break;
		}
		const char *name = archive_entry_pathname(e);
		if (!name || strchr(name, '/') || !ends_with(name, ".nuspec", 1) ||
		    archive_entry_filetype(e) != AE_IFREG)
			continue;
		for (;;) {
			la_ssize_t n;
			if ((r = buf_grow(&b, 65536)) < 0 ||
			    (n = archive_read_data(a, b.data + b.len, 65536)) == 0)
				break;
			if (n < 0) {
				char why[256];
				r = error_set(err, -EBADMSG, "cannot read '%s': %s", name,
					      java_zip_error(a, why, sizeof(why)));
				break;
			}
			buf_setlen(&b, b.len + (size_t)n);
			if (b.len > NUSPEC_MAX) {
				r = error_set(err, -EFBIG, "'%s' is over the limit of %u bytes", name,
					      NUSPEC_MAX);
				break;
			}
		}
		if (r == 0)
			r = nuget_nuspec_parse(b.data, b.len, out, err);
		else if (r == -ENOMEM)
			error_set(err, r, "nupkg: out of memory");
	}
	if (r > 0)
		r = error_set(err, -EBADMSG, "malformed nupkg: no .nuspec at the root");
	buf_release(&b);
	java_zip_free(z);
	return r;
}

static const char *const nuget_patterns[] = {
	"*.deps.json",
	"*/packages.lock.json",
	"*.nupkg",
	NULL,
};

static int nuget_scan(const struct analyzer_file *f, json_t *out, struct strata_error *err)
{
	if (ends_with(f->path, ".nupkg", 0))
		return nupkg_scan(f, out, err);
	struct buf b = BUF_INIT;
	int r = analyzer_read_all(f, f->limits->max_file_size, &b, err);
	if (r == 0 && ends_with(f->path, ".deps.json", 0))
		r = nuget_deps_json_parse(b.data, b.len, out, err);
	else if (r == 0)
		r = nuget_packages_lock_parse(b.data, b.len, out, err);
	buf_release(&b);
	return r;
}

const struct analyzer analyzer_nuget = {
	.name = "nuget",
	.version = 2,
	.patterns = nuget_patterns,
	.claims = NULL,
	.keyed_by_name = 0,
	.scan = nuget_scan,
};
