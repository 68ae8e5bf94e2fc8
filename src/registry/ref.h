/* ref: image references in Docker's grammar, with strata's transports.
 *   alpine                       -> docker.io/library/alpine:latest
 *   localhost:5000/a/b:tag        host:port/path:tag
 *   repo@sha256:<hex>, repo:tag@sha256:<hex>
 *   docker://REF, oci:DIR[:TAG], docker-archive:FILE */
#ifndef STRATA_REF_H
#define STRATA_REF_H

#include "src/base/error.h"

enum ref_transport { REF_DOCKER, REF_OCI, REF_DOCKER_ARCHIVE };

struct image_ref {
	enum ref_transport transport;
	char *domain;  /* REF_DOCKER: "docker.io", "127.0.0.1:5000"; else NULL */
	char *path;    /* REF_DOCKER: "library/alpine"; else NULL */
	char *tag;     /* "latest" when neither tag nor digest was given; may be NULL
			* when only a digest was given; REF_OCI: the layout tag or NULL */
	char *digest;  /* "sha256:<hex>" or NULL */
	char *file;    /* REF_OCI: layout directory; REF_DOCKER_ARCHIVE: the file; else NULL */
	char *name;    /* canonical form, used as the stored name:
			* "docker.io/library/alpine:latest", "h:5000/a@sha256:…",
			* "oci:/abs/dir:tag", "docker-archive:/abs/file" */
};

/* Parses s. On failure returns -EINVAL with a message such as
 * "invalid reference 'Foo': repository name must be lowercase". Relative
 * paths of oci:/docker-archive: are made absolute. Release with ref_release. */
int ref_parse(const char *s, struct image_ref *out, struct strata_error *err);
void ref_release(struct image_ref *r);
/* A deep copy of src into dst: 0, or -ENOMEM with dst released. */
int ref_copy(struct image_ref *dst, const struct image_ref *src);

/* "docker.io/library/alpine" (no tag or digest); malloc'd, free(). */
char *ref_repository(const struct image_ref *r);
/* What to ask the source for: the digest when pinned, else the tag (may be NULL
 * for an oci layout with one image). Not owned by the caller. */
const char *ref_reference(const struct image_ref *r);
/* 1 when host (with or without :port) is localhost, 127.0.0.0/8 or ::1. */
int ref_host_is_loopback(const char *domain);

#endif
