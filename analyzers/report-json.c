/* report-json: strata's own JSON report (strata-report/1), the files
 * section handed to the writers one record at a time, and the JSON object
 * written member by member that every JSON writer uses — so that a report
 * with a million files is never a second tree in memory, nor a first one. */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "report.h"

/* --- a JSON object written member by member -------------------------------- */

static void json_out(struct report_json *j, json_t *v)
{
	if (!v) {
		if (!j->failed)
			j->failed = -ENOMEM;
		return;
	}
	if (json_dumpf(v, j->out, JSON_ENCODE_ANY) < 0 && !j->failed)
		j->failed = -EIO;
	json_decref(v);
}

/* ",\n  \"key\": " with the key escaped: a stored report's keys are read back. */
static void json_key(struct report_json *j, const char *key)
{
	fputs(j->members++ ? ",\n  " : "\n  ", j->out);
	json_out(j, json_string(key));
	fputs(": ", j->out);
}

void report_json_begin(struct report_json *j, FILE *out)
{
	j->out = out;
	j->members = 0;
	j->items = 0;
	j->failed = 0;
	fputc('{', out);
}

void report_json_member(struct report_json *j, const char *key, json_t *value)
{
	json_key(j, key);
	json_out(j, value);
}

void report_json_array(struct report_json *j, const char *key)
{
	json_key(j, key);
	fputc('[', j->out);
	j->items = 0;
}

static void json_item_begin(struct report_json *j)
{
	fputs(j->items++ ? ",\n    " : "\n    ", j->out);
}

void report_json_item(struct report_json *j, json_t *value)
{
	json_item_begin(j);
	json_out(j, value);
}

void report_json_array_end(struct report_json *j)
{
	fputs(j->items ? "\n  ]" : "]", j->out);
}

int report_json_failed(const struct report_json *j)
{
	return j->failed || ferror(j->out);
}

int report_json_end(struct report_json *j, struct strata_error *err)
{
	fputs("\n}\n", j->out);
	if (fflush(j->out) != 0 || ferror(j->out)) {
		if (!j->failed)
			j->failed = -EIO;
	}
	if (j->failed == -ENOMEM)
		return error_set(err, -ENOMEM, "cannot write report: out of memory");
	if (j->failed)
		return error_set(err, j->failed, "cannot write report: %s", strerror(-j->failed));
	return 0;
}

/* --- strings as jansson writes them ----------------------------------------- */

/* The length of the UTF-8 sequence s[0] begins, 0 when it is not one that
 * jansson accepts (utf8_check_first/utf8_check_full in its utf.c): no
 * overlong forms, no surrogates, nothing past U+10FFFF. */
static size_t utf8_sequence(const unsigned char *s, size_t left)
{
	size_t n = s[0] < 0x80 ? 1 : s[0] < 0xc2 ? 0 : s[0] < 0xe0 ? 2 : s[0] < 0xf0 ? 3 : s[0] < 0xf5 ? 4 : 0;
	if (n <= 1)
		return n;
	if (n > left)
		return 0;
	uint32_t v = s[0] & (0x7f >> n);
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		v = (v << 6) | (s[i] & 0x3f);
	}
	if (v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff) || (n == 3 && v < 0x800) || (n == 4 && v < 0x10000))
		return 0;
	return n;
}

int report_utf8_valid(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	for (size_t i = 0, n; i < len; i += n)
		if (!(n = utf8_sequence(u + i, len - i)))
			return 0;
	return 1;
}

void report_json_string(FILE *out, const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	int ascii = !report_utf8_valid(s, len);
	size_t plain = 0; /* start of the bytes not written yet */
	fputc('"', out);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = u[i];
		if (c >= 0x20 && c != '"' && c != '\\' && !(ascii && c >= 0x80))
			continue;
		fwrite(s + plain, 1, i - plain, out);
		plain = i + 1;
		switch (c) {
		case '"': fputs("\\\"", out); break;
		case '\\': fputs("\\\\", out); break;
		case '\b': fputs("\\b", out); break;
		case '\f': fputs("\\f", out); break;
		case '\n': fputs("\\n", out); break;
		case '\r': fputs("\\r", out); break;
		case '\t': fputs("\\t", out); break;
		default:
			if (c >= 0x80)
				fputc('?', out);
			else
				fprintf(out, "\\u%04X", c);
		}
	}
	fwrite(s + plain, 1, len - plain, out);
	fputc('"', out);
}

/* --- the files section --------------------------------------------------- */

static json_t *array_record(const void *ctx, size_t i)
{
	return json_incref(json_array_get(ctx, i));
}

void report_files_of(const json_t *report, struct report_files *out)
{
	const json_t *files = json_object_get(report, "files");
	out->present = json_is_array(files);
	out->n = json_array_size(files);
	out->record = array_record;
	out->ctx = files;
	out->write_json = NULL;
}

/* --- strata-report/1 ------------------------------------------------------- */

int report_write_json(const json_t *report, const struct report_files *files, FILE *out,
		      struct strata_error *err)
{
	if (!json_is_object(report))
		return error_set(err, -EINVAL, "cannot write json: the report is not a JSON object");
	struct report_files own;
	if (!files) {
		report_files_of(report, &own);
		files = &own;
	}
	struct report_json j;
	const char *key;
	json_t *value;
	report_json_begin(&j, out);
	/* Members in the report's order, arrays an item per line; "files"
	 * from the writer's source. */
	json_object_foreach((json_t *)report, key, value) {
		if (!strcmp(key, "files") && files->present) {
			report_json_array(&j, key);
			for (size_t i = 0; i < files->n && !report_json_failed(&j); i++) {
				if (!files->write_json) {
					report_json_item(&j, files->record(files->ctx, i));
					continue;
				}
				json_item_begin(&j);
				if (files->write_json(files->ctx, i, out) < 0)
					j.failed = -EIO;
			}
			report_json_array_end(&j);
		} else if (json_is_array(value)) {
			size_t i;
			json_t *item;
			report_json_array(&j, key);
			json_array_foreach(value, i, item)
				report_json_item(&j, json_incref(item));
			report_json_array_end(&j);
		} else {
			report_json_member(&j, key, json_incref(value));
		}
	}
	return report_json_end(&j, err);
}
