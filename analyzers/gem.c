/* gem: the gemspec reader and its analyzer. A gemspec is Ruby; running it
 * would let an image execute code on the scanning host, so it is read as
 * text: the block variable of Gem::Specification.new, then the literal values
 * assigned to its name, version and licence(s), as RubyGems writes them
 * (`s.name = "rake".freeze`). Every line is looked at once and every value
 * is read within its line, so time stays linear in the input. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "gem.h"
#include "src/base/digest.h"
#include "license.h"

static void skip_ws(const char **p, const char *end)
{
	while (*p < end && (**p == ' ' || **p == '\t' || **p == '\r'))
		(*p)++;
}

static int is_ident(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* Length of the Ruby identifier at p (0 when none starts there). */
static size_t ident_len(const char *p, const char *end)
{
	if (p >= end || !is_ident((unsigned char)*p) || (*p >= '0' && *p <= '9'))
		return 0;
	size_t n = 0;
	while (p + n < end && is_ident((unsigned char)p[n]))
		n++;
	return n;
}

/* Consumes word at *p when it is there. */
static int eat(const char **p, const char *end, const char *word)
{
	size_t n = strlen(word);
	if ((size_t)(end - *p) < n || memcmp(*p, word, n))
		return 0;
	*p += n;
	return 1;
}

static int add_utf8(struct buf *b, unsigned long cp)
{
	char u[4];
	if (cp >= 0xd800 && cp <= 0xdfff)
		cp = '?';
	if (cp < 0x80)
		return buf_addch(b, (char)cp);
	if (cp < 0x800) {
		u[0] = (char)(0xc0 | (cp >> 6));
		u[1] = (char)(0x80 | (cp & 0x3f));
		return buf_add(b, u, 2);
	}
	if (cp < 0x10000) {
		u[0] = (char)(0xe0 | (cp >> 12));
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		return buf_add(b, u, 3);
	}
	if (cp > 0x10ffff)
		return buf_addch(b, '?');
	u[0] = (char)(0xf0 | (cp >> 18));
	u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	u[3] = (char)(0x80 | (cp & 0x3f));
	return buf_add(b, u, 4);
}

/* Up to max hex digits at *p; -1 when there is none. */
static long read_hex(const char **p, const char *end, int max)
{
	long v = -1;
	for (int i = 0; i < max && *p < end && hex_digit_value((unsigned char)**p) >= 0; i++, (*p)++)
		v = (v < 0 ? 0 : v * 16) + hex_digit_value((unsigned char)**p);
	return v;
}

/* One escape of a double-quoted string, *p just past the backslash. */
static int dq_escape(const char **p, const char *end, struct buf *out)
{
	if (*p >= end)
		return 0;
	char c = *(*p)++;
	long v;
	switch (c) {
	case 'n': return buf_addch(out, '\n');
	case 't': return buf_addch(out, '\t');
	case 'r': return buf_addch(out, '\r');
	case 's': return buf_addch(out, ' ');
	case 'e': return buf_addch(out, 0x1b);
	case 'a': return buf_addch(out, 0x07);
	case 'b': return buf_addch(out, 0x08);
	case 'f': return buf_addch(out, 0x0c);
	case 'v': return buf_addch(out, 0x0b);
	case 'x':
		v = read_hex(p, end, 2);
		return v < 0 ? 0 : buf_addch(out, (char)v);
	case 'u':
		if (*p < end && **p == '{') {
			/* \u{41 42}: code points separated by spaces. */
			(*p)++;
			for (;;) {
				skip_ws(p, end);
				if (*p < end && **p == '}') {
					(*p)++;
					return 0;
				}
				v = read_hex(p, end, 6);
				if (v < 0)
					return -EINVAL;
				int r = add_utf8(out, (unsigned long)v);
				if (r < 0)
					return r;
			}
		}
		v = read_hex(p, end, 4);
		return v < 0 ? -EINVAL : add_utf8(out, (unsigned long)v);
	default:
		if (c >= '0' && c <= '7') {
			v = c - '0';
			for (int i = 0; i < 2 && *p < end && **p >= '0' && **p <= '7'; i++)
				v = v * 8 + (*(*p)++ - '0');
			return buf_addch(out, (char)v);
		}
		return buf_addch(out, c); /* \" \\ \# and any other character */
	}
}

/* Reads the Ruby string literal at *p, which must end before end (the end
 * of its line): "...", '...', %q(...), %Q(...), %(...). Appends its value
 * to out and returns 1; 0 when there is no literal there or it cannot be
 * known without running Ruby (interpolation); -ENOMEM. */
static int ruby_string(const char **pp, const char *end, struct buf *out)
{
	const char *p = *pp;
	char open, close;
	int dq;
	if (p >= end)
		return 0;
	if (*p == '"' || *p == '\'') {
		open = close = *p;
		dq = *p == '"';
		p++;
	} else if (*p == '%' && p + 1 < end) {
		p++;
		dq = *p != 'q';
		if (*p == 'q' || *p == 'Q')
			p++;
		if (p >= end || is_ident((unsigned char)*p) || *p == ' ')
			return 0;
		open = *p++;
		close = open == '(' ? ')' : open == '[' ? ']' : open == '{' ? '}' : open == '<' ? '>' : open;
	} else {
		return 0;
	}
	size_t depth = 0;
	while (p < end) {
		char c = *p++;
		int r = 0;
		if (c == close && !depth) {
			*pp = p;
			return 1;
		}
		if (c != close && c == open)
			depth++;
		else if (c == close)
			depth--;
		if (c == '\\' && p < end) {
			if (dq) {
				r = dq_escape(&p, end, out);
				if (r == -EINVAL)
					return 0;
			} else if (*p == '\\' || *p == open || *p == close) {
				r = buf_addch(out, *p++);
			} else {
				r = buf_addch(out, c);
			}
		} else if (dq && c == '#' && p < end && (*p == '{' || *p == '@' || *p == '$')) {
			return 0; /* "#{x}", "#@x", "#$x": only Ruby knows the value */
		} else {
			r = buf_addch(out, c);
		}
		if (r < 0)
			return r;
	}
	return 0; /* no closing quote on this line */
}

/* A string literal, optionally followed by .freeze, or Gem::Version.new with
 * one as its argument. */
static int ruby_value(const char **pp, const char *end, struct buf *out)
{
	const char *p = *pp;
	int r, paren = 0;
	skip_ws(&p, end);
	if (eat(&p, end, "Gem::Version.new")) {
		skip_ws(&p, end);
		paren = eat(&p, end, "(");
		skip_ws(&p, end);
	}
	r = ruby_string(&p, end, out);
	if (r <= 0)
		return r;
	eat(&p, end, ".freeze");
	skip_ws(&p, end);
	if (paren && !eat(&p, end, ")"))
		return 0;
	*pp = p;
	return 1;
}

/* [ "a".freeze, 'b' ] or a single string: the values joined by sep. */
static int ruby_strings(const char **pp, const char *end, struct buf *out, const char *sep)
{
	const char *p = *pp;
	struct buf one = BUF_INIT;
	int r;
	skip_ws(&p, end);
	if (!eat(&p, end, "["))
		return ruby_value(pp, end, out);
	for (;;) {
		skip_ws(&p, end);
		if (eat(&p, end, "]"))
			break;
		buf_reset(&one);
		r = ruby_value(&p, end, &one);
		if (r <= 0)
			goto done;
		if (one.len && out->len && (r = buf_adds(out, sep)) < 0)
			goto done;
		if ((r = buf_add(out, one.data, one.len)) < 0)
			goto done;
		skip_ws(&p, end);
		if (!eat(&p, end, ",") && !(p < end && *p == ']')) {
			r = 0;
			goto done;
		}
	}
	*pp = p;
	r = 1;
done:
	buf_release(&one);
	return r;
}

/* Finds `Gem::Specification.new do |VAR|` or `... { |VAR|`; returns the
 * position after it, NULL when there is none, and VAR in *var / *varlen. */
static const char *find_block(const char *data, const char *end, const char **var, size_t *varlen)
{
	static const char marker[] = "Gem::Specification.new";
	const char *p = data;
	while (p < end) {
		/* memchr, not memmem: sanitizer builds check memmem's whole
		 * haystack on every call, which would make this loop quadratic. */
		const char *m = memchr(p, 'G', (size_t)(end - p));
		if (!m)
			return NULL;
		p = m + 1;
		if ((size_t)(end - m) < sizeof(marker) - 1 || memcmp(m, marker, sizeof(marker) - 1))
			continue;
		p = m + sizeof(marker) - 1;
		const char *q = p;
		skip_ws(&q, end);
		if (eat(&q, end, "()"))
			skip_ws(&q, end);
		if (eat(&q, end, "do")) {
			if (q < end && is_ident((unsigned char)*q))
				continue;
		} else if (!eat(&q, end, "{")) {
			continue;
		}
		skip_ws(&q, end);
		if (!eat(&q, end, "|"))
			continue;
		skip_ws(&q, end);
		size_t n = ident_len(q, end);
		if (!n)
			continue;
		const char *v = q;
		q += n;
		skip_ws(&q, end);
		if (!eat(&q, end, "|"))
			continue;
		*var = v;
		*varlen = n;
		return q;
	}
	return NULL;
}

enum { ATTR_NAME, ATTR_VERSION, ATTR_LICENSE, ATTR_AUTHORS, ATTR_HOMEPAGE, ATTR_N };

int gem_spec_parse(const char *data, size_t len, json_t *out, struct strata_error *err)
{
	/* attribute names and the value each sets */
	static const struct { const char *name; int attr; } attrs[] = {
		{ "name", ATTR_NAME }, { "version", ATTR_VERSION }, { "license", ATTR_LICENSE },
		{ "licenses", ATTR_LICENSE }, { "authors", ATTR_AUTHORS }, { "author", ATTR_AUTHORS },
		{ "homepage", ATTR_HOMEPAGE },
	};
	const char *end = data + len, *var;
	size_t varlen;
	struct buf val[ATTR_N] = { BUF_INIT, BUF_INIT, BUF_INIT, BUF_INIT, BUF_INIT };
	int have[ATTR_N] = { 0, 0, 0, 0, 0 };
	int r = 0;

	const char *p = find_block(data, end, &var, &varlen);
	json_t *deps = json_array(), *seen = json_object();
	struct buf dep = BUF_INIT;
	if (!p) {
		json_decref(deps);
		json_decref(seen);
		return error_set(err, -EBADMSG, "malformed gemspec: no Gem::Specification.new block");
	}
	if (!deps || !seen) {
		r = error_set(err, -ENOMEM, "gemspec: out of memory");
		goto done;
	}
	int newer = 0;
	for (const char *m = p; !newer && m < end && (m = memchr(m, '.', (size_t)(end - m))); m++)
		newer = ((size_t)(end - m) > 23 && !memcmp(m, ".add_runtime_dependency", 23)) ||
			((size_t)(end - m) > 27 && !memcmp(m, ".add_development_dependency", 27));
	for (const char *line = p; line < end;) {
		const char *nl = memchr(line, '\n', (size_t)(end - line));
		const char *eol = nl ? nl : end;
		const char *q = line;
		line = nl ? nl + 1 : end;
		skip_ws(&q, eol);
		/* VAR.attr = value, where VAR is the block's own variable. */
		if ((size_t)(eol - q) <= varlen || memcmp(q, var, varlen) || q[varlen] != '.')
			continue;
		q += varlen + 1;
		size_t an = ident_len(q, eol);
		/* VAR.add_runtime_dependency(%q<rack>.freeze, [...]) and its older
		 * name add_dependency; development dependencies are not the gem's.
		 * RubyGems writes both forms, the old one in an "else" branch
		 * for a RubyGems too old to tell them apart, where it names the
		 * development dependencies too: add_dependency counts only in a
		 * gemspec that uses neither of the newer names. */
		if ((an == 22 && !memcmp(q, "add_runtime_dependency", 22)) ||
		    (an == 14 && !memcmp(q, "add_dependency", 14) && !newer)) {
			q += an;
			skip_ws(&q, eol);
			eat(&q, eol, "(");
			buf_reset(&dep);
			r = ruby_value(&q, eol, &dep);
			if (r < 0) {
				error_set(err, r, "gemspec: out of memory");
				goto done;
			}
			if (r == 1 && dep.len && !json_object_get(seen, dep.data) &&
			    /* seen is never written out: any bytes are a key */
			    (json_object_set_new_nocheck(seen, dep.data, json_true()) < 0 ||
			     json_array_append_new(deps, record_string(dep.data, dep.len)) < 0)) {
				r = error_set(err, -ENOMEM, "gemspec: out of memory");
				goto done;
			}
			r = 0;
			continue;
		}
		int a = -1;
		for (size_t i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++)
			if (an == strlen(attrs[i].name) && !memcmp(q, attrs[i].name, an))
				a = attrs[i].attr;
		if (a < 0 || have[a])
			continue;
		q += an;
		skip_ws(&q, eol);
		if (!eat(&q, eol, "=") || (q < eol && (*q == '=' || *q == '~')))
			continue; /* a comparison, not an assignment */
		buf_reset(&val[a]);
		r = a == ATTR_LICENSE ? ruby_strings(&q, eol, &val[a], " OR ")
		    : a == ATTR_AUTHORS ? ruby_strings(&q, eol, &val[a], "\n") : ruby_value(&q, eol, &val[a]);
		if (r < 0) {
			error_set(err, r, "gemspec: out of memory");
			goto done;
		}
		have[a] = r == 1 && val[a].len > 0;
	}
	if (!have[ATTR_NAME] || !have[ATTR_VERSION]) {
		r = error_set(err, -EBADMSG, "malformed gemspec: no %s assigned on '%.*s'",
			      have[ATTR_NAME] ? "version" : "name", (int)(varlen > 64 ? 64 : varlen), var);
		goto done;
	}
	json_t *rec = record_package("gem");
	if (!rec) {
		r = error_set(err, -ENOMEM, "gemspec: out of memory");
		goto done;
	}
	record_set_strn(rec, "name", val[ATTR_NAME].data, val[ATTR_NAME].len);
	record_set_strn(rec, "version", val[ATTR_VERSION].data, val[ATTR_VERSION].len);
	r = 0;
	if (have[ATTR_LICENSE]) {
		record_set_strn(rec, "license", val[ATTR_LICENSE].data, val[ATTR_LICENSE].len);
		r = license_add(rec, val[ATTR_LICENSE].data, val[ATTR_LICENSE].len);
	}
	if (r == 0 && json_array_size(deps) && json_object_set(rec, "requires", deps) < 0)
		r = -ENOMEM;
	/* Who made it and where it lives, for its CPE vendors (cpe.h). */
	if (r == 0 && have[ATTR_HOMEPAGE])
		record_set_strn(rec, "homepage", val[ATTR_HOMEPAGE].data, val[ATTR_HOMEPAGE].len);
	if (r == 0 && have[ATTR_AUTHORS]) {
		json_t *authors = json_array();
		for (const char *a = val[ATTR_AUTHORS].data; authors && *a;) {
			size_t n = strcspn(a, "\n");
			if (n)
				json_array_append_new(authors, record_string(a, n));
			a += n + (a[n] == '\n');
		}
		if (!authors || json_object_set_new(rec, "authors", authors) < 0)
			r = -ENOMEM;
	}
	if (r < 0)
		json_decref(rec);
	if (r < 0 || json_array_append_new(out, rec) < 0)
		r = error_set(err, -ENOMEM, "gemspec: out of memory");
done:
	for (int i = 0; i < ATTR_N; i++)
		buf_release(&val[i]);
	buf_release(&dep);
	json_decref(deps);
	json_decref(seen);
	return r;
}

/* Any depth under specifications/: RubyGems keeps default gems in
 * specifications/default/. */
static const char *const gem_patterns[] = {
	"*/specifications/*.gemspec",
	NULL,
};

static int gem_scan(const struct analyzer_file *f, json_t *out, struct strata_error *err)
{
	return analyzer_parse_whole(f, gem_spec_parse, out, err);
}

const struct analyzer analyzer_gem = {
	.name = "gem",
	.version = 4,
	.patterns = gem_patterns,
	.claims = NULL,
	.keyed_by_name = 0,
	.scan = gem_scan,
};
