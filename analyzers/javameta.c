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
