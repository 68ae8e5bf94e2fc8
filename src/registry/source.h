/* source: where an image comes from — a registry (docker://), an OCI image
 * layout (oci:) or a `docker save` file (docker-archive:). One interface over
 * the three, so pull never knows which it talks to. */
#ifndef STRATA_SOURCE_H
#define STRATA_SOURCE_H

#include <stddef.h>
#include <stdint.h>

#include "src/base/buf.h"
#include "src/base/conf.h"
#include "src/base/error.h"
#include "blobcheck.h"
#include "manifest.h"
#include "ref.h"

struct source;

/* Opens the source ref names. The registry source makes no request yet.
 * Free with source_free. */
int source_open(const struct image_ref *ref, const struct strata_conf *conf, struct source **out,
		struct strata_error *err);
void source_free(struct source *s);

/* Fetches the manifest or index named by reference (a tag or a digest; NULL:
 * the one the ref names). body holds at most conf->limits.max_manifest bytes.
 * *media_type (malloc'd, may be NULL) is the content type the source reported.
 * When reference is a digest the bytes are verified against it. */
int source_fetch_manifest(struct source *s, const char *reference, struct buf *body,
			  char **media_type, struct strata_error *err);
/* Fetches a small blob (a config) whole, verified against its digest. */
int source_fetch_blob(struct source *s, const struct descriptor *d, size_t max, struct buf *body,
		      struct strata_error *err);
/* Streams a blob to write(), from any thread; at most one call per thread at a
 * time, several threads at once. Verifies size and digest at the end:
 * -EBADMSG "blob 'sha256:…': digest mismatch (got sha256:…)". An interrupted
 * transfer is resumed where the source allows it; write() never sees a byte twice. */
int source_stream_blob(struct source *s, const struct descriptor *d, blob_write_fn write,
		       void *ctx, struct strata_error *err);
/* Fetches bytes [off, off + len) of a blob into out (replaced), unverified,
 * in one attempt bounded by conf's stall_timeout (registry_get_range): from
 * the registry's mirror when one is configured, else (or when the mirror
 * fails) from the registry. -ENOTSUP for a local source. */
int source_fetch_range(struct source *s, const struct descriptor *d, uint64_t off, uint64_t len,
		       struct buf *out, struct strata_error *err);

#endif
