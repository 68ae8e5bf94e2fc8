/* dpkg-copyright: the copyright file reader and its analyzer (rules in
 * dpkg-copyright.h). A machine-readable file is read field by field; a
 * free-form one through a copy in lower case with white space runs made
 * one space, searched for the phrases that name licences. Every search
 * moves forward, so time stays linear in the file. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "src/base/buf.h"
#include "dpkg-copyright.h"
#include "license.h"

struct found {
	json_t *rec;
	int nomem;
};

/* Normalizes one DEP-5 name or expression and adds it. */
static void add(struct found *f, const char *s, size_t len)
{
	if (license_add_as(f->rec, s, len, LICENSE_DEP5) < 0)
		f->nomem = 1;
}

static void add_id(struct found *f, const char *id)
{
	if (license_add_raw(f->rec, id, strlen(id)) < 0)
		f->nomem = 1;
}

static int is_blank(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

static int field_is(const char *line, const char *end, const char *name)
{
	size_t n = strlen(name);
	return (size_t)(end - line) > n && !strncasecmp(line, name, n) && line[n] == ':';
}

/* The first non-blank line is "Format: <the copyright-format URL>" (or an
 * early DEP-5 draft's), or the file starts with a Files or Upstream-Name
 * field, as some machine-readable files without the header do. */
static int machine_readable(const char *data, size_t len)
{
	const char *p = data, *end = data + len;
	while (p < end && is_blank((unsigned char)*p))
		p++;
	if (field_is(p, end, "Files") || field_is(p, end, "Upstream-Name"))
		return 1;
	if (!field_is(p, end, "Format"))
		return 0;
	const char *nl = memchr(p, '\n', (size_t)(end - p));
	size_t n = (size_t)((nl ? nl : end) - p);
	static const char *const marks[] = { "copyright-format", "dep5", "dep-5" };
	for (size_t i = 0; i < sizeof(marks) / sizeof(marks[0]); i++) {
		size_t m = strlen(marks[i]);
		for (size_t k = 7; k + m <= n; k++)
			if (!strncasecmp(p + k, marks[i], m))
				return 1;
	}
	return 0;
}

/* The first line of a License field, trimmed; "none" (DEP-5 has no such
 * licence; files with no licence are written so) is nothing. */
static void license_field(struct found *f, const char *v, const char *end, int mapped_only)
{
	while (v < end && is_blank((unsigned char)*v))
		v++;
	while (end > v && is_blank((unsigned char)end[-1]))
		end--;
	size_t n = (size_t)(end - v);
	if (!n || (n == 4 && !strncasecmp(v, "none", 4)))
		return;
	if (mapped_only) {
		struct buf b = BUF_INIT;
		int r = license_normalize_as(v, n, LICENSE_DEP5, &b);
		buf_release(&b);
		if (r < 0)
			f->nomem = 1;
		if (r != 1)
			return;
	}
	add(f, v, n);
}

/* DEP-5: the License field of the header paragraph and of every Files
 * paragraph. A stand-alone License paragraph (License its first field)
 * gives the text of a licence that Files paragraphs name; it is not one
 * more licence of the package. */
static void dep5(const char *data, size_t len, struct found *f)
{
	const char *end = data + len, *lic = NULL, *lic_end = NULL;
	int first = 1, standalone = 0;
	for (const char *line = data; line <= end && !f->nomem;) {
		const char *nl = line < end ? memchr(line, '\n', (size_t)(end - line)) : NULL;
		const char *eol = nl ? nl : end;
		const char *t = line;
		while (t < eol && is_blank((unsigned char)*t))
			t++;
		if (t == eol) {
			/* A paragraph ends. */
			if (lic && !standalone)
				license_field(f, lic, lic_end, 0);
			lic = NULL;
			first = 1;
			standalone = 0;
		} else if (line[0] != ' ' && line[0] != '\t') {
			if (field_is(line, eol, "License") && !lic) {
				lic = line + 8;
				lic_end = eol;
				standalone = first;
			}
			first = 0;
		}
		if (line == end)
			break;
		line = nl ? nl + 1 : end;
	}
}

/* --- free-form files --------------------------------------------------------- */

/* The text in lower case, white space runs as one space, and for each of
 * its bytes the offset in the original (for names, whose case matters). */
struct flat {
	struct buf s;
	size_t *at;
};

static int flatten(const char *data, size_t len, struct flat *fl)
{
	buf_init(&fl->s, 0);
	fl->at = malloc((len + 1) * sizeof(*fl->at));
	if (!fl->at || buf_grow(&fl->s, len + 1) < 0)
		return -ENOMEM;
	size_t n = 0;
	for (size_t i = 0; i < len; i++) {
		int c = (unsigned char)data[i];
		if (is_blank(c)) {
			if (!n || fl->s.data[n - 1] == ' ')
				continue;
			c = ' ';
		} else if (c >= 'A' && c <= 'Z') {
			c += 'a' - 'A';
		}
		fl->s.data[n] = (char)c;
		fl->at[n++] = i;
	}
	fl->s.data[n] = '\0';
	fl->s.len = n;
	return 0;
}

static void flat_release(struct flat *fl)
{
	buf_release(&fl->s);
	free(fl->at);
}

/* The next occurrence of needle at or after from, within limit bytes (0:
 * to the end); NULL when none. */
static const char *find(const struct flat *fl, size_t from, const char *needle, size_t limit)
{
	if (from >= fl->s.len)
		return NULL;
	size_t end = limit && from + limit < fl->s.len ? from + limit : fl->s.len;
	size_t m = strlen(needle);
	for (const char *p = fl->s.data + from; (size_t)(p - fl->s.data) + m <= end; p++) {
		p = memchr(p, needle[0], end - (size_t)(p - fl->s.data));
		if (!p || (size_t)(p - fl->s.data) + m > end)
			return NULL;
		if (!memcmp(p, needle, m))
			return p;
	}
	return NULL;
}

/* A GNU licence named in the text: family 'G' (GPL), 'L' (LGPL), 'A'
 * (AGPL); version as written ("2", "2.1"); later: "or any later version". */
struct gnu {
	char family;
	char version[8];
	int later;
};

#define MAX_GNU 32

struct notices {
	struct gnu v[MAX_GNU];
	size_t n;
};

static void gnu_add(struct notices *ns, char family, const char *version, int later)
{
	for (size_t i = 0; i < ns->n; i++)
		if (ns->v[i].family == family && !strcmp(ns->v[i].version, version)) {
			ns->v[i].later |= later;
			return;
		}
	if (ns->n == MAX_GNU)
		return;
	struct gnu *g = &ns->v[ns->n++];
	g->family = family;
	snprintf(g->version, sizeof(g->version), "%s", version);
	g->later = later;
}

/* "version 2", "version 2.1": the number after "version " at p, into v. */
static int read_version(const char *p, const char *end, char v[8])
{
	size_t n = 0;
	if (p >= end || *p < '1' || *p > '9')
		return 0;
	while (p < end && n < 5 && ((*p >= '0' && *p <= '9') || (*p == '.' && p + 1 < end && p[1] >= '0' && p[1] <= '9')))
		v[n++] = *p++;
	v[n] = '\0';
	return n > 0;
}

/* Every "... general public license ... version N ..., or (at your
 * option) any later version" of the text. */
static void gnu_notices(const struct flat *fl, struct notices *ns)
{
	static const char gpl[] = "general public license";
	const char *hit = find(fl, 0, gpl, 0);
	while (hit) {
		size_t at = (size_t)(hit - fl->s.data), from = at + sizeof(gpl) - 1;
		/* The next mention bounds this one; found once, it is the next hit. */
		const char *next = find(fl, from, gpl, 0);
		/* The family: a word or two before. */
		size_t back = at > 24 ? at - 24 : 0;
		char family = 'G';
		const char *w = fl->s.data + back;
		size_t wn = at - back;
		if (memmem(w, wn, "lesser", 6) || memmem(w, wn, "library", 7))
			family = 'L';
		else if (memmem(w, wn, "affero", 6))
			family = 'A';
		hit = next;
		/* The version, before the next mention of a licence. */
		size_t limit = next ? (size_t)(next - fl->s.data) - from : fl->s.len - from;
		if (limit > 200)
			limit = 200;
		/* The first "version N", "vN" or "(vN" ("(v3 or later) with
		 * version 3.1 of the GCC Runtime Library Exception"). */
		const char *ver = NULL, *lim = fl->s.data + from + limit;
		char v[8];
		size_t vlen = 0;
		for (const char *p = fl->s.data + from; p < lim && !ver; p++) {
			if (lim - p > 8 && !memcmp(p, "version ", 8) && read_version(p + 8, lim, v))
				ver = p, vlen = 8;
			else if (*p == 'v' && (p[-1] == ' ' || p[-1] == '(') && read_version(p + 1, lim, v))
				ver = p, vlen = 1;
		}
		if (!ver)
			continue;
		size_t after = (size_t)(ver - fl->s.data) + vlen;
		size_t span = next ? (size_t)(next - fl->s.data) - after : fl->s.len - after;
		if (span > 120)
			span = 120;
		int later = find(fl, after, "later version", span) != NULL || find(fl, after, "or later", span) != NULL ||
			    find(fl, after, "or any later", span) != NULL;
		gnu_add(ns, family, v, later);
	}
}

/* The SPDX identifier of a GNU licence: "GPL-2.0-or-later". */
static void gnu_id(const struct gnu *g, char out[40])
{
	const char *fam = g->family == 'L' ? "LGPL" : g->family == 'A' ? "AGPL" : "GPL";
	snprintf(out, 40, "%s-%s%s%s", fam, g->version, strchr(g->version, '.') ? "" : ".0",
		 g->later ? "-or-later" : "-only");
}

/* A common-licenses name "GPL-2", "LGPL-2.1": its family and version. */
static int gnu_name(const char *s, size_t n, struct gnu *g)
{
	size_t fl = n >= 4 && !strncmp(s, "LGPL", 4) ? 4 : n >= 4 && !strncmp(s, "AGPL", 4) ? 4 : n >= 3 && !strncmp(s, "GPL", 3) ? 3 : 0;
	memset(g, 0, sizeof(*g));
	if (!fl)
		return 0;
	g->family = fl == 3 ? 'G' : s[0];
	if (fl == n)
		return 1; /* unversioned */
	if (s[fl] != '-' || n - fl - 1 >= sizeof(g->version) || n - fl - 1 == 0)
		return 0;
	memcpy(g->version, s + fl + 1, n - fl - 1);
	g->version[n - fl - 1] = '\0';
	/* "GPL-2.0" and "GPL-2" are the same licence. */
	size_t vn = strlen(g->version);
	if (vn > 2 && !strcmp(g->version + vn - 2, ".0"))
		g->version[vn - 2] = '\0';
	for (const char *p = g->version; *p; p++)
		if (!((*p >= '0' && *p <= '9') || *p == '.'))
			return 0;
	return 1;
}

/* The opening words of the usual permissive licences. */
static void permissive(const struct flat *fl, struct found *f)
{
	static const struct {
		const char *phrase, *id;
	} fixed[] = {
		{ "permission is hereby granted, free of charge, to any person obtaining a copy", "MIT" },
		{ "permission to use, copy, modify, and/or distribute this software for any purpose with or without fee is hereby granted", "ISC" },
		{ "altered source versions must be plainly marked as such", "Zlib" },
		{ "licensed under the apache license, version 2.0", "Apache-2.0" },
		{ "python software foundation license version 2", "PSF-2.0" },
		{ "mozilla public license, v. 2.0", "MPL-2.0" },
	};
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		if (find(fl, 0, fixed[i].phrase, 0))
			add_id(f, fixed[i].id);
	/* BSD: the clauses that follow say which. */
	static const char bsd[] = "redistribution and use in source and binary forms, with or without modification, are permitted";
	const char *hit = find(fl, 0, bsd, 0);
	while (hit) {
		size_t from = (size_t)(hit - fl->s.data) + sizeof(bsd) - 1;
		const char *next = find(fl, from, bsd, 0);
		size_t limit = next ? (size_t)(next - fl->s.data) - from : 0;
		if (!limit || limit > 2000)
			limit = 2000;
		if (find(fl, from, "all advertising materials mentioning", limit))
			add_id(f, "BSD-4-Clause");
		else if (find(fl, from, "may not be used to endorse", limit) || find(fl, from, "neither the name", limit))
			add_id(f, "BSD-3-Clause");
		else
			add_id(f, "BSD-2-Clause");
		hit = next;
	}
}

static void free_form(const char *data, size_t len, struct found *f)
{
	/* "License: GPLv2+" lines, as some free-form files have: when the
	 * value is a licence's name, not a sentence. */
	const char *end = data + len;
	for (const char *line = data; line < end && !f->nomem;) {
		const char *nl = memchr(line, '\n', (size_t)(end - line));
		const char *eol = nl ? nl : end;
		if (field_is(line, eol, "License"))
			license_field(f, line + 8, eol, 1);
		line = nl ? nl + 1 : end;
	}
	struct flat fl;
	struct notices ns = { .n = 0 };
	if (flatten(data, len, &fl) < 0) {
		f->nomem = 1;
		flat_release(&fl);
		return;
	}
	gnu_notices(&fl, &ns);
	int used[MAX_GNU] = { 0 };
	/* References, in the order written. Their names keep their case. */
	static const char dir[] = "/usr/share/common-licenses/";
	size_t from = 0;
	const char *hit;
	while (!f->nomem && (hit = find(&fl, from, dir, 0))) {
		size_t at = (size_t)(hit - fl.s.data) + sizeof(dir) - 1;
		from = at;
		if (at >= fl.s.len)
			break;
		const char *name = data + fl.at[at];
		size_t n = 0;
		while (name + n < data + len &&
		       ((name[n] >= '0' && name[n] <= '9') || (name[n] >= 'A' && name[n] <= 'Z') ||
			(name[n] >= 'a' && name[n] <= 'z') || strchr("_.+-", name[n])))
			n++;
		while (n && strchr("_.-", name[n - 1]))
			n--;
		if (!n)
			continue;
		struct gnu g;
		if (gnu_name(name, n, &g)) {
			if (!g.version[0]) {
				/* "GPL": the notices say which version, if they do. */
				int versioned = 0;
				for (size_t i = 0; i < ns.n; i++)
					versioned |= ns.v[i].family == g.family;
				if (!versioned)
					add(f, name, n);
				continue;
			}
			for (size_t i = 0; i < ns.n; i++)
				if (ns.v[i].family == g.family && !strcmp(ns.v[i].version, g.version)) {
					g.later = ns.v[i].later;
					used[i] = 1;
				}
			char id[40];
			gnu_id(&g, id);
			add_id(f, id);
		} else if (n == 3 && !memcmp(name, "BSD", 3)) {
			/* common-licenses/BSD is the University of California's. */
			add_id(f, "BSD-3-Clause");
		} else {
			add(f, name, n);
		}
	}
	for (size_t i = 0; i < ns.n && !f->nomem; i++)
		if (!used[i]) {
			char id[40];
			gnu_id(&ns.v[i], id);
			add_id(f, id);
		}
	if (!f->nomem)
		permissive(&fl, f);
	flat_release(&fl);
}

int dpkg_copyright_parse(const char *data, size_t len, json_t *out, struct strata_error *err)
{
	struct found f = { json_pack("{s:s, s:[]}", "fact", "copyright", "licenses"), 0 };
	if (!f.rec)
		return error_set(err, -ENOMEM, "copyright: out of memory");
	if (machine_readable(data, len))
		dep5(data, len, &f);
	else
		free_form(data, len, &f);
	if (f.nomem) {
		json_decref(f.rec);
		return error_set(err, -ENOMEM, "copyright: out of memory");
	}
	if (!json_array_size(json_object_get(f.rec, "licenses"))) {
		json_decref(f.rec);
		return 0;
	}
	if (json_array_append_new(out, f.rec) < 0)
		return error_set(err, -ENOMEM, "copyright: out of memory");
	return 0;
}

/* /usr/share/doc/<package>/copyright, the package's own directory only
 * (ca-certificates' examples/.../debian/copyright is not a package's). */
static const char *const copyright_patterns[] = {
	"/usr/share/doc/*/copyright",
	NULL,
};

static int copyright_claims(const char *path, uint64_t size, const struct analyzer_limits *limits)
{
	const char *pkg = path + strlen("/usr/share/doc/");
	const char *slash = strchr(pkg, '/');
	return slash && slash != pkg && !strcmp(slash, "/copyright");
}

static int copyright_scan(const struct analyzer_file *f, json_t *out, struct strata_error *err)
{
	return analyzer_parse_whole(f, dpkg_copyright_parse, out, err);
}

const struct analyzer analyzer_dpkg_copyright = {
	.name = "dpkg-copyright",
	.family = "dpkg",
	.version = 1,
	.patterns = copyright_patterns,
	.claims = copyright_claims,
	.keyed_by_name = 0,
	.scan = copyright_scan,
};
