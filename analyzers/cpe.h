/* cpe: CPE 2.3 names (formatted strings) for the packages of a report, made
 * as syft makes them, so that matchers that read CPEs from an SBOM (Grype,
 * Trivy's sbom mode, Dependency-Track) find what they would find in
 * syft's:
 *  - an npm, PyPI or RubyGems package that the NVD's CPE dictionary names
 *    by its ecosystem's package name gets the dictionary's CPEs, with the
 *    package's version (cpe-dict.c);
 *  - any other gets candidates: products from its name (and, by type, a
 *    "python-" one, the Maven artifactId and groupId parts, an apk's
 *    upstream name), vendors from the products and from the metadata
 *    (rpm's Vendor, a Python author and author e-mail, gem authors and
 *    homepage, npm's repository and homepage on GitHub or GitLab, apk's
 *    URL, a Maven groupId), each with "-" and "_" swapped, vendors also cut
 *    at their separators ("jenkins-ci" gives "jenkins"), the known
 *    additions and removals of particular packages, and "apache" alone when
 *    it is a candidate; every vendor with every product.
 * Most specific first: ties by the longer fields, then the string.
 *
 * Package records are read as the report has them (see the analyzers'
 * headers): "type", "name", "version" and the members named above. */
#ifndef STRATA_CPE_H
#define STRATA_CPE_H

#include <jansson.h>

/* A new array of the package's CPE strings (empty when it has no name or
 * its type has none), or NULL when out of memory. */
json_t *cpe_generate(const json_t *pkg);

/* The dictionary's CPEs for name in ecosystem eco ("npm", "python",
 * "gem"): their templates ("vendor:product:*:..." after "cpe:2.3:a:"), in
 * dictionary order, into v (at most max); returns how many there are. */
size_t cpe_dictionary(const char *eco, const char *name, const char **v, size_t max);

#endif
