/* relate: what the report says about packages beyond each one's own
 * records, worked out when the report is assembled from the memoized
 * per-file records (so that it costs no file read, and a new image that
 * shares its files with others reuses every record it can):
 *  - the licences of Debian packages, from the dpkg-copyright fact of
 *    /usr/share/doc/<name>/copyright (that directory may be a symbolic
 *    link to another package's, as libstdc++6's is to gcc-12-base's).
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
