/* distro: the os-release(5) parser. The file is meant to be sourceable by a
 * shell, so values follow shell quoting; where a shell and systemd's reader
 * differ on input no shell would accept (white space around '=', spaces in
 * an unquoted value), the systemd reading is taken, since systemd is what
 * the distributions test their files with. One pass, no recursion. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "analyzer.h"
#include "src/base/buf.h"
#include "distro.h"

static const struct {
	const char *var, *key;
} wanted[] = {
	{ "ID", "id" },
	{ "VERSION_ID", "version_id" },
	{ "NAME", "name" },
	{ "PRETTY_NAME", "pretty_name" },
	{ "VERSION_CODENAME", "version_codename" },
};

static int is_key_start(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static int is_key_char(int c)
{
	return is_key_start(c) || (c >= '0' && c <= '9');
}

static size_t skip_line(const char *d, size_t len, size_t i)
{
	const char *nl = memchr(d + i, '\n', len - i);
	return nl ? (size_t)(nl - d) + 1 : len;
}

/* Reads the value starting at d[*pi] up to its unquoted line end into v.
 * Returns its length (trailing unquoted white space dropped), or -1 when a
 * quote is never closed (the rest of the input is then consumed). */
static long read_value(const char *d, size_t len, size_t *pi, int after_ws, struct buf *v)
{
	size_t i = *pi, keep = 0;
	int prev_ws = after_ws, r = 0;

	while (i < len && d[i] != '\n') {
		char c = d[i];
		if (c == ' ' || c == '\t' || c == '\r') {
			r = buf_addch(v, c);
			prev_ws = 1;
			i++;
		} else if (c == '#' && prev_ws) {
			/* A comment, up to the newline. */
			const char *nl = memchr(d + i, '\n', len - i);
			i = nl ? (size_t)(nl - d) : len;
			break;
		} else if (c == '\\') {
			if (i + 1 < len && d[i + 1] == '\n') {
				i += 2; /* a line continuation */
				continue;
			}
			r = buf_addch(v, i + 1 < len ? d[i + 1] : '\\');
			i += i + 1 < len ? 2 : 1;
			keep = v->len;
			prev_ws = 0;
		} else if (c == '\'') {
			const char *close = memchr(d + i + 1, '\'', len - i - 1);
			if (!close) {
				*pi = len;
				return -1;
			}
			r = buf_add(v, d + i + 1, (size_t)(close - d) - i - 1);
			i = (size_t)(close - d) + 1;
			keep = v->len;
			prev_ws = 0;
		} else if (c == '"') {
			for (i++;; i++) {
				if (i >= len) {
					*pi = len;
					return -1;
				}
				if (d[i] == '"')
					break;
				if (d[i] == '\\' && i + 1 < len) {
					char e = d[i + 1];
					if (e == '\n') {
						i++;
						continue;
					}
					if (e == '"' || e == '\\' || e == '$' || e == '`') {
						i++;
						r = buf_addch(v, e);
						if (r < 0)
							return r;
						continue;
					}
				}
				r = buf_addch(v, d[i]);
				if (r < 0)
					return r;
			}
			i++;
			keep = v->len;
			prev_ws = 0;
		} else {
			r = buf_addch(v, c);
			i++;
			keep = v->len;
			prev_ws = 0;
		}
		if (r < 0)
			return r;
	}
	if (i < len && d[i] == '\n')
		i++;
	*pi = i;
	return (long)keep;
}

int os_release_parse(const char *data, size_t len, json_t **out, struct strata_error *err)
{
	struct buf v = BUF_INIT;
	size_t i = 0;
	json_t *o = json_object();

	*out = NULL;
	if (!o)
		return error_set(err, -ENOMEM, "os-release: out of memory");
	while (i < len) {
		char c = data[i];
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v') {
			i++;
			continue;
		}
		if (c == '#' || !is_key_start((unsigned char)c)) {
			i = skip_line(data, len, i); /* a comment, or no assignment */
			continue;
		}
		size_t k = i;
		while (i < len && is_key_char((unsigned char)data[i]))
			i++;
		size_t klen = i - k;
		if (klen == 6 && !memcmp(data + k, "export", 6) && i < len && (data[i] == ' ' || data[i] == '\t'))
			continue; /* "export KEY=value": the assignment follows */
		while (i < len && (data[i] == ' ' || data[i] == '\t'))
			i++;
		if (i >= len || data[i] != '=') {
			i = skip_line(data, len, i);
			continue;
		}
		i++;
		size_t before = i;
		while (i < len && (data[i] == ' ' || data[i] == '\t'))
			i++;
		buf_reset(&v);
		long n = read_value(data, len, &i, i > before, &v);
		if (n == -ENOMEM) {
			json_decref(o);
			buf_release(&v);
			return error_set(err, -ENOMEM, "os-release: out of memory");
		}
		if (n < 0)
			continue; /* an unclosed quote: the assignment is not taken */
		for (size_t w = 0; w < sizeof(wanted) / sizeof(*wanted); w++) {
			if (strlen(wanted[w].var) != klen || memcmp(wanted[w].var, data + k, klen))
				continue;
			if (n > 0)
				record_set_strn(o, wanted[w].key, v.data, (size_t)n);
			else
				json_object_del(o, wanted[w].key);
		}
	}
	buf_release(&v);
	*out = o;
	return 0;
}
