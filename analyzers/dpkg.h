/* dpkg: installed Debian packages from dpkg's status database
 * (/var/lib/dpkg/status) and from distroless images' per-package
 * /var/lib/dpkg/status.d/<name> files.
 *
 * Records: {"type": "deb", "name", "version", "architecture",
 * "source", "source_version" (both only when a Source: field is present;
 * source_version only when it gives one in parentheses), "maintainer",
 * "installed_size" (integer, KiB), "depends", "pre_depends", "provides"
 * (the field's comma-separated items, each trimmed, white space made
 * single: ["libc6 (>= 2.34)", "debconf | debconf-2.0"]), "licenses" (from
 * a License: field, which opkg's databases have; Debian's licences are in
 * copyright files, see dpkg-copyright.h)}; fields the stanza does not give
 * are absent, except name and version which are "" then.
 *
 * The sibling analyzer dpkg-files reads each package's file list,
 * /var/lib/dpkg/info/<package>[:<arch>].list, and md5sums, info/<package>
 * [:<arch>].md5sums and distroless status.d/<package>.md5sums, into facts:
 * {"fact": "dpkg-list", "paths": "<path>\n..."} and {"fact": "dpkg-md5sums",
 * "sums": "<md5> <path>\n..."}: one string each, a line per file, the md5
 * as 22 characters of base64 (RFC 4648, unpadded), each path absolute
 * ("/usr/share/doc/x/README") or front-coded: how many bytes it shares with
 * the path before, a space, and the rest ("15 y/README" after that one is
 * /usr/share/doc/y/README). Paths are most of a list's bytes, and the memo
 * hands these facts to every analysis. The package is in the file's name,
 * which is part of its memo key. */
#ifndef STRATA_DPKG_H
#define STRATA_DPKG_H

#include <stddef.h>
#include <jansson.h>

#include "analyzer.h"
#include "src/base/error.h"

extern const struct analyzer analyzer_dpkg, analyzer_dpkg_files;

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
/* The same list as one dpkg-md5sums fact (see above). */
int dpkg_md5sums_fact(const char *data, size_t len, json_t *out, struct strata_error *err);
/* A .list file (one path per line; "/." left out) as one dpkg-list fact. */
int dpkg_list_parse(const char *data, size_t len, json_t *out, struct strata_error *err);

#endif
