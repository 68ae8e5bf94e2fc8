/* report-table: the report as text for people. A header naming what was
 * scanned, the packages with their licences (sorted by type, name,
 * version, licences, path), the files that differ from what their
 * package shipped (when there are any), the secrets
 * (most severe first), the warnings, and a summary line. Columns are as wide
 * as their widest cell up to a cap; cells past the cap are cut with "...".
 * Control characters in names (C0, DEL, C1) become '?', so hostile package
 * metadata cannot move the cursor or recolour the terminal. O(n log n) in
 * the rows. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "src/base/buf.h"
#include "report.h"

#define MAX_COLS 5

struct cell {
	char *text;   /* sanitised, malloc'd */
	size_t width; /* in code points */
};

struct row {
	struct cell c[MAX_COLS];
	int rank;         /* secrets: severity rank */
	long long line;   /* secrets: line number */
	const char *key;  /* secrets: path, for sorting */
};

struct table {
	size_t ncols;
	const char *head[MAX_COLS];
	size_t cap[MAX_COLS];   /* widest a column may be; 0 = no cap (last column) */
	size_t width[MAX_COLS];
	struct row *rows;
	size_t n;
};

static const char *str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

/* A copy of s with control characters as '?', cut to at most cap code points
 * ("..." marking the cut) when cap is not 0. */
static int sanitise(const char *s, size_t cap, struct cell *c)
{
	size_t len = strlen(s), w = 0, cut = len;
	for (size_t i = 0; i < len; i++) {
		if (((unsigned char)s[i] & 0xc0) == 0x80)
			continue;
		if (cap && w == cap - 3)
			cut = i;
		w++;
	}
	int truncated = cap && w > cap;
	if (!truncated)
		cut = len;
	c->text = malloc(cut + 4);
	if (!c->text)
		return -ENOMEM;
	for (size_t i = 0; i < cut; i++) {
		unsigned char ch = (unsigned char)s[i];
		/* C0, DEL, and C1 (U+0080..U+009F, 0xC2 0x80..0x9F in UTF-8). */
		int c1 = ch == 0xC2 && i + 1 < cut && (unsigned char)s[i + 1] < 0xA0;
		c->text[i] = (ch < 0x20 || ch == 0x7f || c1) ? '?' : (char)ch;
		if (c1)
			c->text[++i] = '?';
	}
	c->width = truncated ? cap : w;
	if (truncated) {
		memcpy(c->text + cut, "...", 3);
		cut += 3;
	}
	c->text[cut] = '\0';
	return 0;
}

static void table_free(struct table *t)
{
	for (size_t i = 0; i < t->n; i++)
		for (size_t k = 0; k < t->ncols; k++)
			free(t->rows[i].c[k].text);
	free(t->rows);
}

static int table_init(struct table *t, size_t rows, size_t ncols)
{
	t->ncols = ncols;
	t->n = 0;
	t->rows = calloc(rows ? rows : 1, sizeof(*t->rows));
	for (size_t k = 0; k < ncols; k++)
		t->width[k] = strlen(t->head[k]);
	return t->rows ? 0 : -ENOMEM;
}

/* Appends a row of ncols cells; widens the columns. */
static int table_add(struct table *t, const char *const *cells)
{
	struct row *r = &t->rows[t->n];
	for (size_t k = 0; k < t->ncols; k++) {
		if (sanitise(cells[k], t->cap[k], &r->c[k]) < 0) {
			while (k--)
				free(r->c[k].text);
			return -ENOMEM;
		}
		if (r->c[k].width > t->width[k])
			t->width[k] = r->c[k].width;
	}
	t->n++;
	return 0;
}

static void pad(FILE *out, size_t n)
{
	static const char spaces[] = "                                                                ";
	while (n > 0) {
		size_t m = n < sizeof(spaces) - 1 ? n : sizeof(spaces) - 1;
		fwrite(spaces, 1, m, out);
		n -= m;
	}
}

static void print_line(FILE *out, const struct table *t, const char *const *text, const size_t *width)
{
	for (size_t k = 0; k < t->ncols; k++) {
		fputs(text[k], out);
		if (k + 1 < t->ncols)
			pad(out, t->width[k] - width[k] + 2);
	}
	fputc('\n', out);
}

static void table_print(FILE *out, const struct table *t)
{
	size_t w[MAX_COLS];
	for (size_t k = 0; k < t->ncols; k++)
		w[k] = strlen(t->head[k]);
	print_line(out, t, t->head, w);
	for (size_t i = 0; i < t->n; i++) {
		const char *text[MAX_COLS];
		for (size_t k = 0; k < t->ncols; k++) {
			text[k] = t->rows[i].c[k].text;
			w[k] = t->rows[i].c[k].width;
		}
		print_line(out, t, text, w);
	}
}

/* Type, then name without regard to case, version, path; strcmp last so
 * that the order is total. */
static int by_package(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	int c = strcmp(x->c[0].text, y->c[0].text);
	if (!c)
		c = strcasecmp(x->c[1].text, y->c[1].text);
	for (size_t k = 1; !c && k < MAX_COLS; k++)
		c = strcmp(x->c[k].text, y->c[k].text);
	return c;
}

static int by_secret(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	if (x->rank != y->rank)
		return x->rank - y->rank;
	int c = strcmp(x->key, y->key);
	if (c)
		return c;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return strcmp(x->c[1].text, y->c[1].text);
}

static int severity_rank(const char *s)
{
	static const char *const order[] = { "CRITICAL", "HIGH", "MEDIUM", "LOW", "INFO" };
	for (int i = 0; i < 5; i++)
		if (!strcmp(s, order[i]))
			return i;
	return 5;
}

/* Prints the packages and puts "deb 5, npm 7" in by_type. */
static int packages_section(FILE *out, const json_t *packages, struct buf *by_type)
{
	struct table t = { .head = { "TYPE", "NAME", "VERSION", "LICENSES", "PATH" }, .cap = { 12, 60, 40, 48, 0 } };
	size_t n = json_array_size(packages), i;
	if (table_init(&t, n, 5) < 0)
		return -ENOMEM;
	const json_t *p;
	struct buf lic = BUF_INIT;
	json_array_foreach(packages, i, p) {
		/* "MIT, GPL-2.0-or-later"; "-" when the package declares none. */
		buf_reset(&lic);
		size_t k;
		const json_t *l;
		json_array_foreach(json_object_get(p, "licenses"), k, l)
			buf_addf(&lic, "%s%s", k ? ", " : "", json_string_value(l) ? json_string_value(l) : "");
		const char *cells[] = { str(p, "type"), str(p, "name"), str(p, "version"),
					lic.len ? lic.data : *str(p, "license") ? str(p, "license") : "-", str(p, "path") };
		if (table_add(&t, cells) < 0) {
			buf_release(&lic);
			table_free(&t);
			return -ENOMEM;
		}
	}
	buf_release(&lic);
	if (t.n > 1)
		qsort(t.rows, t.n, sizeof(*t.rows), by_package);
	for (i = 0; i < t.n;) {
		size_t k = i;
		while (k < t.n && !strcmp(t.rows[k].c[0].text, t.rows[i].c[0].text))
			k++;
		if (buf_addf(by_type, "%s%s %zu", i ? ", " : "", *t.rows[i].c[0].text ? t.rows[i].c[0].text : "?",
			     k - i) < 0) {
			table_free(&t);
			return -ENOMEM;
		}
		i = k;
	}
	fprintf(out, "PACKAGES (%zu)\n", n);
	if (n)
		table_print(out, &t);
	else
		fputs("  none found\n", out);
	table_free(&t);
	return 0;
}

static int secrets_section(FILE *out, const json_t *secrets)
{
	struct table t = { .head = { "SEVERITY", "RULE", "PATH:LINE", "MATCH" }, .cap = { 10, 40, 100, 0 } };
	size_t n = json_array_size(secrets), i;
	if (table_init(&t, n, 4) < 0)
		return -ENOMEM;
	const json_t *s;
	json_array_foreach(secrets, i, s) {
		struct buf where = BUF_INIT;
		long long line = json_integer_value(json_object_get(s, "line"));
		if (buf_addf(&where, "%s:%lld", str(s, "path"), line) < 0) {
			table_free(&t);
			return -ENOMEM;
		}
		const char *cells[] = { str(s, "severity"), str(s, "rule"), where.data, str(s, "match") };
		int r = table_add(&t, cells);
		buf_release(&where);
		if (r < 0) {
			table_free(&t);
			return -ENOMEM;
		}
		struct row *row = &t.rows[t.n - 1];
		row->rank = severity_rank(cells[0]);
		row->line = line;
		row->key = str(s, "path");
	}
	if (t.n > 1)
		qsort(t.rows, t.n, sizeof(*t.rows), by_secret);
	fprintf(out, "\nSECRETS (%zu)\n", n);
	if (n)
		table_print(out, &t);
	else
		fputs("  none found\n", out);
	table_free(&t);
	return 0;
}

/* Files whose content is not what their package shipped; nothing when
 * there are none. */
static int modified_section(FILE *out, const json_t *packages)
{
	struct table t = { .head = { "PACKAGE", "MODIFIED FILE" }, .cap = { 60, 0 } };
	size_t n = 0, i, k;
	const json_t *p, *f;
	json_array_foreach(packages, i, p)
		n += json_array_size(json_object_get(p, "modified_files"));
	if (!n)
		return 0;
	if (table_init(&t, n, 2) < 0)
		return -ENOMEM;
	json_array_foreach(packages, i, p)
		json_array_foreach(json_object_get(p, "modified_files"), k, f) {
			const char *cells[] = { str(p, "name"), json_string_value(f) ? json_string_value(f) : "" };
			if (table_add(&t, cells) < 0) {
				table_free(&t);
				return -ENOMEM;
			}
		}
	fprintf(out, "\nMODIFIED FILES (%zu)\n", n);
	table_print(out, &t);
	table_free(&t);
	return 0;
}

static int warnings_section(FILE *out, const json_t *warnings)
{
	size_t n = json_array_size(warnings), i;
	const json_t *w;
	fprintf(out, "\nWARNINGS (%zu)\n", n);
	json_array_foreach(warnings, i, w) {
		struct cell c;
		if (sanitise(json_string_value(w) ? json_string_value(w) : "", 0, &c) < 0)
			return -ENOMEM;
		fprintf(out, "  %s\n", c.text);
		free(c.text);
	}
	return 0;
}

static void header(FILE *out, const json_t *report)
{
	const json_t *image = json_object_get(report, "image"), *distro = json_object_get(report, "distro");
	struct cell c;
	struct { const char *label, *value; } lines[] = {
		{ "IMAGE", str(image, "ref") },
		{ "DIRECTORY", str(image, "path") },
		{ "DIGEST", str(image, "digest") },
		{ "DISTRO", *str(distro, "pretty_name") ? str(distro, "pretty_name")
			    : *str(distro, "id") ? str(distro, "id") : "unknown" },
		{ "CREATED", str(report, "created") },
	};
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		if (!*lines[i].value || sanitise(lines[i].value, 0, &c) < 0)
			continue;
		fprintf(out, "%-10s %s\n", lines[i].label, c.text);
		free(c.text);
	}
	size_t layers = json_array_size(json_object_get(image, "layers"));
	if (layers)
		fprintf(out, "%-10s %zu\n", "LAYERS", layers);
	fputc('\n', out);
}

int report_write_table(const json_t *report, const struct report_files *files, FILE *out,
		       struct strata_error *err)
{
	if (!json_is_object(report))
		return error_set(err, -EINVAL, "cannot write table: the report is not a JSON object");
	const json_t *packages = json_object_get(report, "packages"), *secrets = json_object_get(report, "secrets");
	const json_t *warnings = json_object_get(report, "warnings");
	struct report_files own;
	if (!files) {
		report_files_of(report, &own);
		files = &own;
	}
	struct buf by_type = BUF_INIT;
	header(out, report);
	int r = packages_section(out, packages, &by_type);
	if (r == 0)
		r = modified_section(out, packages);
	if (r == 0)
		r = secrets_section(out, secrets);
	if (r == 0)
		r = warnings_section(out, warnings);
	if (r < 0) {
		buf_release(&by_type);
		return error_set(err, r, "cannot write table: out of memory");
	}
	/* "12 packages (deb 5, npm 7), 1 secret, 0 warnings, 4567 files" */
	size_t np = json_array_size(packages), ns = json_array_size(secrets), nw = json_array_size(warnings);
	fprintf(out, "\n%zu package%s", np, np == 1 ? "" : "s");
	if (by_type.len)
		fprintf(out, " (%s)", by_type.data);
	buf_release(&by_type);
	fprintf(out, ", %zu secret%s, %zu warning%s", ns, ns == 1 ? "" : "s", nw, nw == 1 ? "" : "s");
	if (files->present)
		fprintf(out, ", %zu file%s", files->n, files->n == 1 ? "" : "s");
	fputc('\n', out);
	if (fflush(out) != 0 || ferror(out))
		return error_set(err, -EIO, "cannot write table: %s", strerror(EIO));
	return 0;
}
