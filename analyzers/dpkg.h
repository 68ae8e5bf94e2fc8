/* dpkg: installed Debian packages from dpkg's status database
 * (/var/lib/dpkg/status) and from distroless images' per-package
 * /var/lib/dpkg/status.d/<name> files.
 *
 * Records: {"type": "deb", "name", "version", "architecture",
 * "source", "source_version" (both only when a Source: field is present;
 * source_version only when it gives one in parentheses), "maintainer",
 * "installed_size" (integer, KiB)}; fields the stanza does not give are
 * absent, except name and version which are "" then. */
#ifndef STRATA_DPKG_H
#define STRATA_DPKG_H

#include <stddef.h>
#include <jansson.h>

#include "analyzer.h"
#include "src/base/error.h"

extern const struct analyzer analyzer_dpkg;

/* Parses a status file (RFC 822-style stanzas) and appends one record per
 * installed package to the array out: stanzas with an empty Package: and
 * stanzas whose Status: does not end in "installed" are skipped; a stanza
 * without Status: (distroless) counts as installed. A malformed stanza (a
 * line that is not a field, a continuation line with no field before it)
 * is dropped, parsing goes on with the next one, and the function returns
 * -EBADMSG with err set to the first problem; -ENOMEM when out of memory. */
int dpkg_status_parse(const char *data, size_t len, json_t *out, struct strata_error *err);

/* Parses a dpkg .md5sums list ("<32 hex>  <path>" lines) into records
 * {"path", "md5"}, path as written. Malformed lines are skipped and give
 * -EBADMSG at the end. */
int dpkg_md5sums_parse(const char *data, size_t len, json_t *out, struct strata_error *err);

#endif
