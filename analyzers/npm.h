/* npm: installed npm packages and a project's own package.json.
 *
 * Claimed files: package.json directly in a package directory under
 * node_modules (.../node_modules/<name>/package.json and
 * .../node_modules/@<scope>/<name>/package.json, the last node_modules of
 * the path deciding), and every package.json that is not inside a
 * node_modules directory at all (an application's own /app/package.json).
 * Files deeper inside an installed package (node_modules/x/lib/package.json,
 * test fixtures) are not packages and are left alone.
 *
 * Records: {"type": "npm", "name", "version", "license" (when the file
 * gives one), "licenses" (license.h), "homepage" and "repository_url"
 * (when given: repository as a string or its url), "requires" and
 * "requires_optional"
 * (the names of dependencies and optionalDependencies, in file order;
 * absent when empty)}. The report
 * resolves the names as node's require() does, through the node_modules
 * directories from the package's own up to the root. */
#ifndef STRATA_NPM_H
#define STRATA_NPM_H

#include <stddef.h>
#include <jansson.h>

#include "analyzer.h"
#include "src/base/error.h"

extern const struct analyzer analyzer_npm;

/* Parses a package.json and appends at most one record to out: none when
 * the top-level object has neither a string "name" nor a string "version"
 * (the other one is "" then). license is "license" (a string, or an
 * object's "type"), else the legacy "licenses" array (strings or objects
 * with "type"), several joined with " OR ". Returns 0; -EBADMSG with err
 * set when the input is not JSON or not an object; -ENOMEM. */
int npm_package_json_parse(const char *data, size_t len, json_t *out, struct strata_error *err);

/* The claim rule above, for a path whose base name is package.json: 1 when
 * it is claimed. */
int npm_claims_path(const char *path);

#endif
