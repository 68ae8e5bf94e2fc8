/* python: installed Python distributions, from the metadata file each
 * installer leaves beside the code: <dist>.dist-info/METADATA (wheels),
 * <egg>.egg-info/PKG-INFO and EGG-INFO/PKG-INFO (setuptools eggs), and
 * single-file <egg>.egg-info (distutils, Debian's python packages).
 *
 * Records: {"type": "python", "name", "version", "license", "licenses",
 * "requires_dist", "author", "author_email" (when given)}: name and version as written with white space trimmed
 * (normalising the name is the purl's business); license from
 * License-Expression, else from a one-line License that is not "UNKNOWN",
 * absent otherwise; licenses as license.h says; requires_dist the
 * Requires-Dist values as written ("urllib3 (<1.27,>=1.21.1)",
 * "PySocks!=1.5.7,>=1.5.6; extra == 'socks'"), absent when none, which the
 * report resolves against the installed distributions. */
#ifndef STRATA_PYTHON_H
#define STRATA_PYTHON_H

#include <stddef.h>
#include <jansson.h>

#include "analyzer.h"
#include "src/base/error.h"

extern const struct analyzer analyzer_python;

/* Parses the RFC 822 header block of a METADATA / PKG-INFO file (the block
 * ends at the first empty line or at the first line that is neither a
 * header nor an indented continuation, as Python's email.parser reads it)
 * and appends one record to out. A file of white space only gives nothing
 * and 0; a header block without a non-empty Name: gives -EBADMSG. */
int python_metadata_parse(const char *data, size_t len, json_t *out, struct strata_error *err);

/* Parses a RECORD file (CSV as Python's csv module writes it) into records
 * {"path", "hash_algorithm", "hash_value", "size" (integer)}: one per row of
 * exactly three fields, other rows skipped; a quoted field running into the
 * end of the file gives -EBADMSG. */
int python_record_parse(const char *data, size_t len, json_t *out, struct strata_error *err);

/* Parses top_level.txt into records {"module"}: one per non-empty line. */
int python_top_level_parse(const char *data, size_t len, json_t *out, struct strata_error *err);

#endif
