/* analyzer: helpers shared by every analyzer (reading a file whole, building
 * records). The table itself is analyzers.c. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analyzer.h"

void analyzer_limits_default(struct analyzer_limits *l)
{
	l->max_file_size = 256ull << 20;
	l->secrets_max_size = 10ull << 20;
	l->archive_depth = 8;
	l->archive_max_bytes = 1ull << 30;
}

int analyzer_read_all(const struct analyzer_file *f, uint64_t max, struct buf *out,
		      struct strata_error *err)
{
	buf_reset(out);
	if (f->size > max)
		return error_set(err, -EFBIG, "'%s' is %llu bytes, over the limit of %llu", f->path,
				 (unsigned long long)f->size, (unsigned long long)max);
	for (;;) {
		/* Read past the stated size by one byte: a file that grew is caught. */
		int r = buf_grow(out, 65536);
		if (r < 0)
			return error_set(err, r, "cannot read '%s': %s", f->path, strerror(-r));
		ssize_t n = pread(f->fd, out->data + out->len, 65536, (off_t)out->len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return error_errno(err, -errno, "cannot read '%s'", f->path);
		}
		if (n == 0)
			break;
		buf_setlen(out, out->len + (size_t)n);
		if (out->len > max)
			return error_set(err, -EFBIG, "'%s' is over the limit of %llu bytes", f->path,
					 (unsigned long long)max);
	}
	return 0;
}

int analyzer_parse_whole(const struct analyzer_file *f,
			 int (*parse)(const char *data, size_t len, json_t *out, struct strata_error *err),
			 json_t *out, struct strata_error *err)
{
	struct buf b = BUF_INIT;
	int r = analyzer_read_all(f, f->limits->max_file_size, &b, err);
	if (r == 0)
		r = parse(b.data, b.len, out, err);
	buf_release(&b);
	return r;
}

json_t *record_string(const char *s, size_t len)
{
	/* json_stringn refuses invalid UTF-8, which would break the report:
	 * fall back to a copy with every non-ASCII byte replaced (NULs kept). */
	json_t *v = json_stringn(s, len);
	if (!v) {
		char *copy = malloc(len + 1);
		if (!copy)
			return NULL;
		for (size_t i = 0; i < len; i++)
			copy[i] = (unsigned char)s[i] >= 0x80 ? '?' : s[i];
		copy[len] = 0;
		v = json_stringn(copy, len);
		free(copy);
	}
	return v;
}

void record_set_strn(json_t *rec, const char *key, const char *s, size_t len)
{
	json_t *v = s ? record_string(s, len) : NULL;
	if (v)
		json_object_set_new(rec, key, v);
}

void record_set_str(json_t *rec, const char *key, const char *s)
{
	if (s)
		record_set_strn(rec, key, s, strlen(s));
}

json_t *record_package(const char *type)
{
	return json_pack("{s:s, s:s, s:s}", "type", type, "name", "", "version", "");
}
