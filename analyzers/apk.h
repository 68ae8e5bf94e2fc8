/* apk: installed Alpine packages from apk-tools' database,
 * /lib/apk/db/installed.
 *
 * Records: {"type": "apk", "name" (P:), "version" (V:), "architecture" (A:),
 * "origin" (o:, the source package), "license" (L:), "licenses" (see
 * license.h), "maintainer" (m:), "url" (U:), "depends" (the words of D:,
 * as written:
 * "so:libc.musl-x86_64.so.1", "!conflict", "name>=1.2"), "provides" (the
 * words of p:), "files" (each R: under the F: before it, absolute) and
 * "file_digests" (the Z: of each file, "Q1" and a base64 SHA-1, "" when it
 * has none)}; fields an entry does not give are absent, except name and
 * version. */
#ifndef STRATA_APK_H
#define STRATA_APK_H

#include <stddef.h>
#include <jansson.h>

#include "analyzer.h"
#include "src/base/error.h"

extern const struct analyzer analyzer_apk;

/* Parses the database (blank-line-separated entries of "X:value" lines) and
 * appends one record per entry with a non-empty P: to the array out. An entry
 * holding a line that is not "X:value" is dropped, parsing goes on with the
 * next entry, and the function returns -EBADMSG with err set to the first
 * problem; -ENOMEM when out of memory. */
int apk_installed_parse(const char *data, size_t len, json_t *out, struct strata_error *err);

#endif
