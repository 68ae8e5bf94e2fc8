/* registry: a client of the OCI distribution API on libcurl — manifests,
 * blobs, Bearer and Basic auth, redirects, retries, resumption. */
#ifndef STRATA_REGISTRY_H
#define STRATA_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include "src/base/buf.h"
#include "src/base/conf.h"
#include "src/base/error.h"

struct registry;

/* One client per registry host ("docker.io" is spoken to at
 * registry-1.docker.io). Every registry is spoken to over HTTPS, verified
 * with the system's CAs and those of the host's certs.d directories and
 * registry.ca_file (tlsconf.h), presenting the client certificate found
 * there. Loopback hosts and hosts listed in registry.insecure (whose
 * certificates are not verified) are spoken to over plain HTTP if they do
 * not speak TLS at all, as the first answer shows; a certificate that fails
 * verification is an error, never a reason for plain HTTP. Reads the
 * certificates once: -EINVAL, -ENOENT ... with err set naming a bad file.
 * Thread-safe: requests may be made from several threads at once; they share
 * connections and tokens. Free with registry_free. */
int registry_open(const char *domain, const struct strata_conf *conf, struct registry **out,
		  struct strata_error *err);
void registry_free(struct registry *r);

/* GET /v2/<repo>/manifests/<reference> with the manifest Accept header.
 * *content_type is malloc'd (may be NULL). 404 gives -ENOENT "manifest unknown:
 * '<repo>:<reference>' not found in <host>"; 401/403 after authenticating
 * gives -EACCES "... access denied". */
int registry_get_manifest(struct registry *r, const char *repo, const char *reference,
			  size_t max, struct buf *body, char **content_type,
			  struct strata_error *err);
/* GET a whole (small) blob; the digest is not checked here. */
int registry_get_blob(struct registry *r, const char *repo, const char *digest, size_t max,
		      struct buf *body, struct strata_error *err);
/* Streams a blob of the given size to write(), resuming with Range after
 * a cut connection or a stall (no byte for conf's stall_timeout seconds) and
 * retrying with backoff on 429/5xx; verifies size and sha256 digest at the
 * end. write() sees every byte exactly once, in order. */
int registry_stream_blob(struct registry *r, const char *repo, const char *digest, int64_t size,
			 int (*write)(void *ctx, const void *data, size_t len), void *ctx,
			 struct strata_error *err);

/* GETs bytes [off, off + len) of a blob with one Range request into out
 * (replaced), with no retry: a transfer that stalls for conf's stall_timeout
 * fails, so that the caller's own deadline holds. A server that answers the
 * whole blob is read up to the range and cut off. The bytes are not
 * verified: the caller checks what it decodes from them. -EIO "... connection
 * closed after N of M bytes of a range", the errors of registry_stream_blob. */
int registry_get_range(struct registry *r, const char *repo, const char *digest, uint64_t off,
		       uint64_t len, struct buf *out, struct strata_error *err);

struct registry_stats {
	uint64_t requests, bytes, resumes, retries;
};
void registry_get_stats(struct registry *r, struct registry_stats *out);

#endif
