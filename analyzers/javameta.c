/* javameta: the JAR manifest and java.util.Properties readers (see
 * javameta.h for the rules). Both walk the input once, line by line,
 * building each attribute in a growable buffer, so a hostile file costs
 * time and memory linear in its size. */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "src/base/buf.h"
#include "javameta.h"
#include "src/base/digest.h"

/* One natural line: [*line, *line + *n), terminator (LF, CRLF or CR)
 * excluded; returns where the next line starts. */
static const char *next_line(const char *p, const char *end, const char **line, size_t *n)
{
	const char *e = p;
	while (e < end && *e != '\n' && *e != '\r')
		e++;
	*line = p;
	*n = (size_t)(e - p);
	if (e < end)
		e += (*e == '\r' && e + 1 < end && e[1] == '\n') ? 2 : 1;
	return e;
}

/* ---- MANIFEST.MF ------------------------------------------------------ */

/* Go's strings.TrimSpace as far as single bytes go (syft trims with it). */
static int mf_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\v' || c == '\f' || c == '\r' || c == '\n';
}

struct mf_state {
	struct buf key, value;
	int pending;  /* key/value hold an attribute not yet passed to fn */
	unsigned section;
	int started;  /* a section has been opened */
	int open;     /* the current section has an attribute (no blank line since) */
};

static int mf_flush(struct mf_state *s, java_manifest_fn fn, void *ctx)
{
	if (!s->pending)
		return 0;
	s->pending = 0;
	size_t n = s->value.len;
	while (n && mf_space((unsigned char)s->value.data[n - 1]))
		n--;
	buf_setlen(&s->value, n);
	if (!s->key.data[0])
		return 0; /* a key of NUL bytes is no key */
	return fn(ctx, s->section, s->key.data, s->value.data);
}

int java_manifest_parse(const char *data, size_t len, java_manifest_fn fn, void *ctx)
{
	struct mf_state s = { BUF_INIT, BUF_INIT, 0, 0, 0, 0 };
	const char *p = data, *end = data + len;
	int r = 0;
	while (p < end && r >= 0) {
		const char *line;
		size_t n;
		p = next_line(p, end, &line, &n);
		size_t lead = 0;
		while (lead < n && mf_space((unsigned char)line[lead]))
			lead++;
		if (lead == n) {
			/* A section break: what follows opens a new section, and a
			 * continuation right after it has nothing to continue. */
			r = mf_flush(&s, fn, ctx);
			s.open = 0;
			continue;
		}
		if (line[0] == ' ') {
			if (s.pending)
				r = buf_add(&s.value, line + lead, n - lead);
			continue;
		}
		const char *colon = memchr(line, ':', n);
		if (!colon)
			continue;
		size_t kb = 0, ke = (size_t)(colon - line);
		while (kb < ke && mf_space((unsigned char)line[kb]))
			kb++;
		while (ke > kb && mf_space((unsigned char)line[ke - 1]))
			ke--;
		if (ke == kb)
			continue;
		r = mf_flush(&s, fn, ctx);
		if (r < 0)
			break;
		if (!s.open) {
			s.section = s.started ? s.section + 1 : 0;
			s.started = s.open = 1;
		}
		size_t vb = (size_t)(colon - line) + 1;
		while (vb < n && mf_space((unsigned char)line[vb]))
			vb++;
		buf_reset(&s.key);
		buf_reset(&s.value);
		r = buf_add(&s.key, line + kb, ke - kb);
		if (r == 0)
			r = buf_add(&s.value, line + vb, n - vb);
		s.pending = r == 0;
	}
	if (r >= 0)
		r = mf_flush(&s, fn, ctx);
	buf_release(&s.key);
	buf_release(&s.value);
	return r < 0 ? r : 0;
}

/* ---- .properties ------------------------------------------------------ */

static int prop_space(char c)
{
	return c == ' ' || c == '\t' || c == '\f';
}

/* The code unit of a well-formed \uXXXX at s[i] (i at the backslash), or -1. */
static long uescape(const char *s, size_t i, size_t n)
{
	if (i + 6 > n || s[i] != '\\' || s[i + 1] != 'u')
		return -1;
	long v = 0;
	for (size_t k = i + 2; k < i + 6; k++) {
		int h = hex_digit_value(s[k]);
		if (h < 0)
			return -1;
		v = v * 16 + h;
	}
	return v;
}

/* Properties.loadConvert: s[0..n) with its escapes resolved into out. */
static int unescape(const char *s, size_t n, struct buf *out)
{
	buf_reset(out);
	size_t i = 0;
	int r = 0;
	while (i < n && r == 0) {
		char c = s[i];
		if (c != '\\') {
			size_t j = i;
			while (j < n && s[j] != '\\')
				j++;
			r = buf_add(out, s + i, j - i);
			i = j;
			continue;
		}
		if (i + 1 >= n)
			break; /* a lone trailing backslash stands for nothing */
		c = s[i + 1];
		if (c == 'u') {
			long cp = uescape(s, i, n);
			if (cp < 0) {
				r = buf_add(out, s + i, 2); /* malformed: kept as written */
				i += 2;
				continue;
			}
			i += 6;
			if (cp >= 0xD800 && cp <= 0xDBFF) {
				long lo = uescape(s, i, n);
				if (lo >= 0xDC00 && lo <= 0xDFFF) {
					cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
					i += 6;
				} else {
					cp = 0xFFFD;
				}
			} else if (cp >= 0xDC00 && cp <= 0xDFFF) {
				cp = 0xFFFD;
			}
			r = buf_add_utf8(out, (unsigned long)cp);
			continue;
		}
		switch (c) {
		case 't': c = '\t'; break;
		case 'n': c = '\n'; break;
		case 'r': c = '\r'; break;
		case 'f': c = '\f'; break;
		default: break;
		}
		r = buf_addch(out, c);
		i += 2;
	}
	return r;
}

/* Splits one logical line (escapes still in it) into key and value as
 * Properties.load does, and hands them to fn. */
static int prop_line(const char *s, size_t n, struct buf *key, struct buf *value,
		     java_properties_fn fn, void *ctx)
{
	size_t klen = 0, vstart = n;
	int sep = 0, bs = 0;
	while (klen < n) {
		char c = s[klen];
		if ((c == '=' || c == ':') && !bs) {
			vstart = klen + 1;
			sep = 1;
			break;
		}
		if (prop_space(c) && !bs) {
			vstart = klen + 1;
			break;
		}
		bs = c == '\\' ? !bs : 0;
		klen++;
	}
	while (vstart < n) {
		char c = s[vstart];
		if (!prop_space(c)) {
			if (!sep && (c == '=' || c == ':'))
				sep = 1;
			else
				break;
		}
		vstart++;
	}
	int r = unescape(s, klen, key);
	if (r == 0)
		r = unescape(s + vstart, n - vstart, value);
	if (r == 0)
		r = fn(ctx, key->data, value->data);
	return r;
}

int java_properties_parse(const char *data, size_t len, java_properties_fn fn, void *ctx)
{
	struct buf logical = BUF_INIT, key = BUF_INIT, value = BUF_INIT;
	const char *p = data, *end = data + len;
	int r = 0;
	while (p < end && r >= 0) {
		const char *line;
		size_t n;
		p = next_line(p, end, &line, &n);
		size_t i = 0;
		while (i < n && prop_space(line[i]))
			i++;
		if (i == n || line[i] == '#' || line[i] == '!')
			continue;
		buf_reset(&logical);
		for (;;) {
			/* An odd run of backslashes at the end joins the next line. */
			size_t bs = 0;
			while (bs < n - i && line[n - 1 - bs] == '\\')
				bs++;
			int more = bs % 2 == 1;
			r = buf_add(&logical, line + i, n - i - (more ? 1 : 0));
			if (r < 0 || !more || p >= end)
				break;
			p = next_line(p, end, &line, &n);
			i = 0;
			while (i < n && prop_space(line[i]))
				i++;
		}
		if (r == 0)
			r = prop_line(logical.data, logical.len, &key, &value, fn, ctx);
	}
	buf_release(&logical);
	buf_release(&key);
	buf_release(&value);
	return r < 0 ? r : 0;
}

static int pom_set(char **slot, const char *v)
{
	char *copy = strdup(v);
	if (!copy)
		return -ENOMEM;
	free(*slot);
	*slot = copy;
	return 0;
}

static int pom_property(void *ctx, const char *key, const char *value)
{
	struct java_pom *pom = ctx;
	if (!strcmp(key, "groupId"))
		return pom_set(&pom->group_id, value);
	if (!strcmp(key, "artifactId"))
		return pom_set(&pom->artifact_id, value);
	if (!strcmp(key, "version"))
		return pom_set(&pom->version, value);
	return 0;
}

int java_pom_properties_parse(const char *data, size_t len, struct java_pom *out)
{
	int r = java_properties_parse(data, len, pom_property, out);
	if (r < 0)
		java_pom_release(out);
	return r;
}

void java_pom_release(struct java_pom *p)
{
	if (!p)
		return;
	free(p->group_id);
	free(p->artifact_id);
	free(p->version);
	p->group_id = p->artifact_id = p->version = NULL;
}

/* ---- pom.xml <licenses> ------------------------------------------------ */

/* The first occurrence of tag ("<name>" written as "name") opening at or
 * after p, outside comments: returns the position after its '>', or NULL. */
static const char *xml_open(const char *p, const char *end, const char *tag)
{
	size_t n = strlen(tag);
	while (p < end) {
		const char *lt = memchr(p, '<', (size_t)(end - p));
		if (!lt)
			return NULL;
		if ((size_t)(end - lt) >= 4 && !memcmp(lt, "<!--", 4)) {
			const char *close = NULL;
			for (const char *q = lt + 4; q + 3 <= end && !close; q++) {
				q = memchr(q, '-', (size_t)(end - q));
				if (!q || q + 3 > end)
					break;
				if (!memcmp(q, "-->", 3))
					close = q + 3;
			}
			if (!close)
				return NULL;
			p = close;
			continue;
		}
		const char *t = lt + 1;
		if ((size_t)(end - t) > n && !memcmp(t, tag, n) && (t[n] == '>' || t[n] == ' ' || t[n] == '\t' ||
								     t[n] == '\r' || t[n] == '\n')) {
			const char *gt = memchr(t + n, '>', (size_t)(end - t - n));
			return gt ? gt + 1 : NULL;
		}
		p = lt + 1;
	}
	return NULL;
}

/* Where "</tag>" starts at or after p, or NULL. */
static const char *xml_close(const char *p, const char *end, const char *tag)
{
	size_t n = strlen(tag);
	for (; p < end; p++) {
		p = memchr(p, '<', (size_t)(end - p));
		if (!p)
			return NULL;
		if ((size_t)(end - p) >= n + 3 && p[1] == '/' && !memcmp(p + 2, tag, n) && p[n + 2] == '>')
			return p;
	}
	return NULL;
}

/* The text of <tag>...</tag> inside [p, end): entities and CDATA resolved,
 * trimmed, into out (reset first). 1 when the element is there. */
static int xml_text(const char *p, const char *end, const char *tag, struct buf *out)
{
	buf_reset(out);
	const char *s = xml_open(p, end, tag);
	const char *e = s ? xml_close(s, end, tag) : NULL;
	if (!e)
		return 0;
	static const struct { const char *name; char c; } ents[] = {
		{ "&amp;", '&' }, { "&lt;", '<' }, { "&gt;", '>' }, { "&quot;", '"' }, { "&apos;", '\'' },
	};
	while (s < e) {
		if ((size_t)(e - s) >= 9 && !memcmp(s, "<![CDATA[", 9)) {
			const char *q = s + 9;
			while (q + 3 <= e && memcmp(q, "]]>", 3))
				q++;
			if (q + 3 > e)
				break;
			if (buf_add(out, s + 9, (size_t)(q - s - 9)) < 0)
				return -ENOMEM;
			s = q + 3;
			continue;
		}
		int done = 0;
		for (size_t i = 0; *s == '&' && i < sizeof(ents) / sizeof(ents[0]) && !done; i++) {
			size_t m = strlen(ents[i].name);
			if ((size_t)(e - s) >= m && !memcmp(s, ents[i].name, m)) {
				if (buf_addch(out, ents[i].c) < 0)
					return -ENOMEM;
				s += m;
				done = 1;
			}
		}
		if (!done && buf_addch(out, *s++) < 0)
			return -ENOMEM;
	}
	size_t a = 0, b = out->len;
	while (a < b && mf_space((unsigned char)out->data[a]))
		a++;
	while (b > a && mf_space((unsigned char)out->data[b - 1]))
		b--;
	memmove(out->data, out->data + a, b - a);
	buf_setlen(out, b - a);
	return 1;
}

int java_pom_licenses(const char *data, size_t len, java_license_fn fn, void *ctx)
{
	const char *end = data + len;
	const char *p = xml_open(data, end, "licenses");
	const char *stop = p ? xml_close(p, end, "licenses") : NULL;
	struct buf name = BUF_INIT, url = BUF_INIT;
	int r = 0;
	while (stop && r == 0) {
		const char *lic = xml_open(p, stop, "license");
		const char *lic_end = lic ? xml_close(lic, stop, "license") : NULL;
		if (!lic_end)
			break;
		if (xml_text(lic, lic_end, "name", &name) < 0 || xml_text(lic, lic_end, "url", &url) < 0)
			r = -ENOMEM;
		else if (name.len || url.len)
			r = fn(ctx, name.data, url.data);
		p = lic_end;
	}
	buf_release(&name);
	buf_release(&url);
	return r;
}
