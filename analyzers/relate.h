/* relate: what the report says about packages beyond each one's own
 * records, worked out when the report is assembled from the memoized
 * per-file records (so that it costs no file read, and a new image that
 * shares its files with others reuses every record it can):
 *  - the licences of Debian packages, from the dpkg-copyright fact of
 *    /usr/share/doc/<name>/copyright (that directory may be a symbolic
 *    link to another package's, as libstdc++6's is to gcc-12-base's);
 *  - the dependency graph: each package's "dependencies" (indices into
 *    packages, sorted) and "unresolved_dependencies" (what it requires that
 *    nothing installed provides, as written), per ecosystem: deb Depends and
 *    Pre-Depends (the first installed alternative; a virtual package by
 *    every installed provider), rpm Requires (through Provides and the file
 *    lists), apk D: (through P: and p:; "!" conflicts left out), npm
 *    dependencies and optionalDependencies (through node_modules from the
 *    package's directory up, as require() finds them), python Requires-Dist
 *    (PEP 503 names; extras and other platforms left out; the same site
 *    directory first), gems' runtime dependencies (the same specifications
 *    directory first); and a Java archive's "contains": its own row
 *    contains its other rows and the own rows of the archives inside it.
 *    Record members that serve the join alone ("own", "files",
 *    "file_digests", "file_digest_algo") are removed.
 *
 * Packages are the report's sorted "packages" array; facts an object
 * mapping the path of each file that gave a fact to its record (see
 * analyzer.h). */
#ifndef STRATA_RELATE_H
#define STRATA_RELATE_H

#include <jansson.h>

#include "walk.h"

/* Adds to the records of packages what the facts and the walk's entries
 * tell about them. Returns 0 or -ENOMEM. */
int relate_packages(json_t *packages, const json_t *facts, const struct walk_result *walk);

#endif
