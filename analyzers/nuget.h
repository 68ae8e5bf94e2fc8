/* nuget: .NET (NuGet) packages, from three kinds of files:
 *  - *.deps.json (an application's dependency manifest): the entries of
 *    "libraries" whose "type" is "package" ("project", "runtimepack",
 *    "referenceassembly" ... are not NuGet packages);
 *  - packages.lock.json (any directory): every dependencies.<framework>.<name> with a
 *    "resolved" version (once per name and version across frameworks);
 *  - *.nupkg (a zip): the id, version and licence expression of the
 *    .nuspec at the archive's root.
 *
 * Records: {"type": "nuget", "name", "version", "license" (a .nupkg's
 * <license type="expression">, when it has one)}. */
#ifndef STRATA_NUGET_H
#define STRATA_NUGET_H

#include <stddef.h>
#include <jansson.h>

#include "analyzer.h"
#include "src/base/error.h"

extern const struct analyzer analyzer_nuget;

/* Every entry of a deps.json's "libraries", in file order, as an object
 * {"name", "version" (the key split at its first '/'; version "" when it
 * has none), "type" ("" when absent), "runtime": "yes" when the entry under
 * the runtime target (targets[runtimeTarget.name]) has a non-empty
 * "runtime", "runtimeTargets" or "native", "no" when it has none, "absent"
 * when that entry or the runtime target itself is missing} appended to
 * rows. No "libraries" gives no row and no error. Returns 0; -EBADMSG with
 * err set when the input is not JSON or its root or "libraries" is not an
 * object; -ENOMEM. */
int nuget_deps_json_rows(const char *data, size_t len, json_t *rows, struct strata_error *err);

/* The analyzer's reading of a deps.json: a record per library of type
 * "package". Errors as for nuget_deps_json_rows. */
int nuget_deps_json_parse(const char *data, size_t len, json_t *out, struct strata_error *err);

/* A packages.lock.json: a record per distinct name and resolved version.
 * Returns 0, -EBADMSG with err set (not JSON, not an object), -ENOMEM. */
int nuget_packages_lock_parse(const char *data, size_t len, json_t *out,
			      struct strata_error *err);

/* A .nuspec (XML): one record from package/metadata's id, version and
 * license (type="expression" only). The XML is read leniently, without a
 * DTD or namespaces (prefixes are ignored). Returns 0; -EBADMSG with err
 * set when there is no package/metadata/id; -ENOMEM. */
int nuget_nuspec_parse(const char *data, size_t len, json_t *out, struct strata_error *err);

#endif
