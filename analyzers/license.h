/* license: SPDX license identifiers and expressions, and the reading of the
 * licence declarations packages carry — DEP-5 short names ("GPL-2+"), rpm's
 * Fedora names ("GPLv2+ and LGPLv2+"), Maven and npm spellings ("The Apache
 * Software License, Version 2.0"), Python trove classifiers, licence URLs —
 * as SPDX expressions where they map.
 *
 * Records carry licences as "licenses": an array of strings, each either an
 * SPDX expression in canonical form (listed identifiers in the list's
 * spelling, operators upper case, GNU licences with -only or -or-later) or,
 * when the declaration does not map, the declaration's own text, trimmed.
 * A package's licences apply together: the SBOM writers join them with AND.
 *
 * Everything here is pure and bounded by its input; no function keeps
 * state between calls. */
#ifndef STRATA_LICENSE_H
#define STRATA_LICENSE_H

#include <stddef.h>
#include <jansson.h>

#include "src/base/buf.h"

/* The SPDX License List version the identifiers below come from. */
#define LICENSE_LIST_VERSION "3.28"

/* The canonical spelling of an SPDX license or exception identifier from the
 * SPDX License List (matched without regard to case), or NULL. The list is
 * the one CycloneDX 1.5's spdx.schema.json enumerates. */
const char *license_id(const char *s, size_t len);

/* Reads s as an SPDX license expression (AND, OR, WITH, parentheses, a '+'
 * suffix) made only of listed identifiers. Returns 1 and sets *canon to the
 * canonical text (malloc'd, free() it) and *single to 1 when it is one bare
 * identifier; returns 0 when s is anything else; -ENOMEM. */
int license_expression(const char *s, char **canon, int *single);

/* Appends to out the SPDX expression that the declaration s[0..len) means
 * and returns 1; when it does not map, appends s trimmed (white space runs
 * made one space) and returns 0; -ENOMEM. Names ("MIT License", "GPLv2+",
 * "Apache 2.0"), their combinations with and/or/AND/OR/commas (DEP-5: a
 * comma joins with AND, below "or" and "and"), "X with Y exception", and
 * SPDX expressions are read; a declaration that is a URL is read as
 * license_from_url does. */
int license_normalize(const char *s, size_t len, struct buf *out);

/* Where a declaration comes from, when that changes what a name means:
 * DEP-5 (Debian copyright files) reads "Artistic" as Perl's. */
enum license_dialect { LICENSE_ANY, LICENSE_DEP5 };
int license_normalize_as(const char *s, size_t len, enum license_dialect dialect, struct buf *out);

/* The licence a URL names (apache.org/licenses/LICENSE-2.0,
 * opensource.org/licenses/MIT, gnu.org/licenses/gpl-3.0, spdx.org/licenses/X,
 * licenses.nuget.org/EXPR, ...), appended to out: 1. 0 and nothing
 * appended when the URL is not one of them; -ENOMEM. */
int license_from_url(const char *s, size_t len, struct buf *out);

/* The licence of a Python trove classifier ("License :: OSI Approved :: MIT
 * License"): 1 with the SPDX expression appended to out when it maps; 0 and
 * nothing appended for a classifier that is not a licence's; otherwise 0
 * with the classifier's last part appended ("BSD License"). -ENOMEM. */
int license_from_classifier(const char *s, size_t len, struct buf *out);

/* Normalizes the declaration s[0..len) and appends it to rec's "licenses"
 * array (made when missing) unless it is empty or already there. A
 * declaration that does not map as a whole but only joins names with "and"
 * (or DEP-5's comma) is added part by part ("MIT and Custom" gives "MIT"
 * and "Custom"), since a package's licences apply together anyway; one
 * with an "or" is kept whole. Returns 0 or -ENOMEM. */
int license_add(json_t *rec, const char *s, size_t len);
int license_add_as(json_t *rec, const char *s, size_t len, enum license_dialect dialect);

/* Appends text, as it is, to rec's "licenses" unless empty or there. 0 or
 * -ENOMEM. */
int license_add_raw(json_t *rec, const char *s, size_t len);

#endif
