/* source-impl: what a transport implements — the table of its operations and
 * the struct its own starts with — and the open function that the
 * dispatcher (source.c) lists for it. A transport includes this, never
 * source.h: the dispatcher stands above its transports. Private to
 * src/registry/. */
#ifndef STRATA_SOURCE_IMPL_H
#define STRATA_SOURCE_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "src/base/buf.h"
#include "src/base/conf.h"
#include "src/base/error.h"
#include "blobcheck.h"
#include "manifest.h"
#include "ref.h"

struct source;

struct source_ops {
	const char *name;
	int (*fetch_manifest)(struct source *s, const char *reference, struct buf *body,
			      char **media_type, struct strata_error *err);
	int (*fetch_blob)(struct source *s, const struct descriptor *d, size_t max,
			  struct buf *body, struct strata_error *err);
	int (*stream_blob)(struct source *s, const struct descriptor *d, blob_write_fn write,
			   void *ctx, struct strata_error *err);
	/* NULL: the transport cannot fetch a piece of a blob (-ENOTSUP). */
	int (*fetch_range)(struct source *s, const struct descriptor *d, uint64_t off,
			   uint64_t len, struct buf *out, struct strata_error *err);
	void (*free)(struct source *s);
};

/* Every transport's struct starts with this. */
struct source {
	const struct source_ops *ops;
	const struct strata_conf *conf;
	struct image_ref ref; /* a copy (ref_copy), owned by the source */
};

/* One per transport; source.c lists them by the transport they serve. */
int source_registry_open(struct source **out, const struct image_ref *ref,
			 const struct strata_conf *conf, struct strata_error *err);
int source_oci_open(struct source **out, const struct image_ref *ref,
		    const struct strata_conf *conf, struct strata_error *err);
int source_archive_open(struct source **out, const struct image_ref *ref,
			const struct strata_conf *conf, struct strata_error *err);

#endif
