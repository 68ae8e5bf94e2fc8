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
 *    "file_digests", "file_digest_algo") are removed;
 *  - which package owns which file: dpkg's info/<package>[:<arch>].list
 *    (and .md5sums, for distroless images), rpm's and apk's file lists,
 *    each path looked up in the walk with directory links followed (/bin
 *    is usr/bin on a merged /usr); and which of those files differ from
 *    what their package shipped, by the digests the walk already has
 *    (dpkg's md5sums, rpm's file digests but %config files, apk's Z:
 *    SHA-1): each package's "modified_files", the entries' flags.
 *
 * Packages are the report's sorted "packages" array; facts an object
 * mapping the path of each file that gave a fact to its record (see
 * analyzer.h). */
#ifndef STRATA_RELATE_H
#define STRATA_RELATE_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "walk.h"

/* Which packages own each entry of the walk: entry i's owners are
 * pkg[off[i]..off[i + 1]) (indices into packages, ascending); modified[i]
 * is 1 when entry i is a regular file whose content differs from what an
 * owner shipped. All NULL when nothing is owned. */
struct relate_owners {
	uint32_t *off;
	uint32_t *pkg;
	uint8_t *modified;
	size_t n; /* entries */
};

void relate_owners_release(struct relate_owners *o);

/* Adds to the records of packages what the facts and the walk's entries
 * tell about them, and fills owners (when not NULL; release it with
 * relate_owners_release whatever the result). walk may be NULL: no link
 * followed, no file owned. Returns 0 or -ENOMEM. */
int relate_packages(json_t *packages, const json_t *facts, const struct walk_result *walk,
		    struct relate_owners *owners);

#endif
