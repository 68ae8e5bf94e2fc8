/* purl: package URLs (https://github.com/package-url/purl-spec, ECMA-427)
 * for the package records of a report and for the scanned image itself. */
#ifndef STRATA_PURL_H
#define STRATA_PURL_H

#include <stddef.h>
#include <jansson.h>

#include "src/base/buf.h"

/* The purl of one package record (see the report contract for the rules per
 * type), e.g. "pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&distro=debian-12".
 * distro is the report's "distro" object, or NULL/json null when unknown (the
 * namespace of deb, rpm and apk purls is then left out). Returns a malloc'd
 * string (free() it), or NULL when the record has no name, has a type purl
 * does not know, or memory ran out. Always plain ASCII. */
char *purl_build(const json_t *pkg, const json_t *distro);

/* The purl of an image: pkg:oci/<name>@<digest>?repository_url=...&tag=...
 * ref is the image reference as the user gave it ("127.0.0.1:5000/app:1"),
 * digest the manifest digest. Returns a malloc'd string (free() it), or NULL
 * when either is missing or ref does not parse. */
char *purl_oci(const char *ref, const char *digest);

/* Appends len bytes of s percent-encoded as one purl component: everything
 * but ASCII letters, digits, ".-_~" and ':' becomes %XX (the spec never
 * encodes ':'). 0 or -ENOMEM. */
int purl_encode(struct buf *b, const char *s, size_t len);

#endif
