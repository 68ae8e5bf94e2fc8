/* dpkg-copyright: the licences of a Debian package, from the copyright file
 * it installs as /usr/share/doc/<package>/copyright.
 *
 * A machine-readable file (DEP-5: its first field is Format: naming the
 * copyright-format specification) is read by its License fields: the first
 * line of every License field, each read as a DEP-5 licence expression
 * ("GPL-2+ or Artistic, and BSD-3-clause"). Any other file is read the way
 * the peers' readers classify the common free-form ones:
 *  - references to /usr/share/common-licenses/<name>;
 *  - GNU licence notices ("... the GNU Lesser General Public License as
 *    published by the Free Software Foundation; either version 2.1 of the
 *    License, or (at your option) any later version"), which also say
 *    whether a referenced GNU licence is "-only" or "-or-later";
 *  - the opening sentences of the usual permissive licences (MIT, BSD with
 *    2, 3 or 4 clauses, ISC, Zlib, Apache 2.0, the PSF licence, MPL 2.0).
 *
 * Records: at most one, {"fact": "copyright", "licenses": [...]} (see
 * license.h); none when the file names no licence. The package is the
 * directory the file is in, which the report resolves (the records depend on
 * the bytes alone, so one result serves every package with the same file). */
#ifndef STRATA_DPKG_COPYRIGHT_H
#define STRATA_DPKG_COPYRIGHT_H

#include <stddef.h>
#include <jansson.h>

#include "analyzer.h"
#include "src/base/error.h"

extern const struct analyzer analyzer_dpkg_copyright;

/* Reads a copyright file as above and appends its record to out. Returns 0
 * or -ENOMEM (with err set); a file that is not text is read all the same. */
int dpkg_copyright_parse(const char *data, size_t len, json_t *out, struct strata_error *err);

#endif
