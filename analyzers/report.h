/* report writers: turn a strata-report/1 object (see strata-analyze(1)) into
 * strata's own JSON (report-json.c), an SPDX 2.3 JSON document
 * (report-spdx.c), a CycloneDX 1.5 JSON BOM (report-cyclonedx.c) or a table
 * for people (report-table.c). Each writer streams its output element by
 * element, and takes the files section one record at a time from a struct
 * report_files, so that a fresh analysis need not turn a million walk
 * entries into JSON objects at once. Output depends on the report and its
 * files alone: the same report gives the same bytes. */
#ifndef STRATA_REPORT_H
#define STRATA_REPORT_H

#include <stddef.h>
#include <stdio.h>
#include <jansson.h>

#include "src/base/error.h"
#include "license.h"
#include "purl.h"

/* The files section, one record at a time. */
struct report_files {
	int present;  /* 0: the report has no files section */
	size_t n;
	/* Record i: a new reference (json_decref() it), NULL when out of memory. */
	json_t *(*record)(const void *ctx, size_t i);
	const void *ctx;
	/* Optional, for report_write_json alone: writes record i as json_dumpf
	 * writes record(ctx, i), without the object (a million of them made
	 * and dumped were most of an analysis's time); 0, or -EIO. */
	int (*write_json)(const void *ctx, size_t i, FILE *out);
};

/* The report's own "files" array, as a report_files; valid while report is. */
void report_files_of(const json_t *report, struct report_files *out);

/* Each returns 0, or a negative errno with err set: -EINVAL when report is
 * not an object, -EIO when writing to out failed. files NULL: the report's
 * own "files" array. Missing sections count as empty; a package without a
 * "purl" gets one from purl_build(). report_write_json writes the report's
 * members in their order, the "files" member's items taken from files. */
int report_write_json(const json_t *report, const struct report_files *files, FILE *out,
		      struct strata_error *err);
int report_write_spdx(const json_t *report, const struct report_files *files, FILE *out,
		      struct strata_error *err);
int report_write_cyclonedx(const json_t *report, const struct report_files *files, FILE *out,
			   struct strata_error *err);
int report_write_table(const json_t *report, const struct report_files *files, FILE *out,
		       struct strata_error *err);

/* --- helpers the writers share (report-spdx.c, report-json.c) --------------- */

/* An RFC 4122 version 5 (SHA-1, URL namespace) UUID of name, lowercase,
 * "xxxxxxxx-xxxx-5xxx-yxxx-xxxxxxxxxxxx", into out (37 bytes). */
void report_uuid(const char *name, char out[37]);

/* The report's "created" when it is an RFC 3339 UTC time to the second
 * ("2026-11-22T18:00:00Z"), else "1970-01-01T00:00:00Z", into out (32 bytes). */
void report_created(const json_t *report, char out[32]);

/* A JSON object written member by member: long arrays are streamed one
 * item at a time ("{\n  \"key\": value,\n  \"list\": [\n    item,\n ...]\n}"). */
struct report_json {
	FILE *out;
	int members;  /* members written so far */
	size_t items; /* items written to the open array */
	int failed;   /* negative errno of the first failure, 0 if none */
};
void report_json_begin(struct report_json *j, FILE *out);
/* Writes "key": value and drops the reference to value (NULL = -ENOMEM). */
void report_json_member(struct report_json *j, const char *key, json_t *value);
void report_json_array(struct report_json *j, const char *key);
/* Writes one item of the open array and drops the reference to value. */
void report_json_item(struct report_json *j, json_t *value);
void report_json_array_end(struct report_json *j);
/* Non-zero once an item could not be made or written: stop early. */
int report_json_failed(const struct report_json *j);
/* Closes the object, flushes; 0, or -EIO/-ENOMEM with err set. */
int report_json_end(struct report_json *j, struct strata_error *err);

/* 1 when s is UTF-8 that jansson takes (json_stringn), else 0. */
int report_utf8_valid(const char *s, size_t len);
/* Writes s as a JSON string, byte for byte as json_dumpf (jansson 2.14, no
 * flags) writes it: '"', '\\' and control characters escaped, '/' and the
 * rest as they are. When s is not valid UTF-8, every byte from 0x80 up is
 * written as '?', as record_set_strn stores it. */
void report_json_string(FILE *out, const char *s, size_t len);

/* The package's purl: its "purl" member, else purl_build() with the report's
 * distro. malloc'd (free() it) or NULL. */
char *report_package_purl(const json_t *report, const json_t *pkg);

#endif
