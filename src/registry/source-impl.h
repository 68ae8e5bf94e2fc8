/* source-impl: the table each transport fills in (private to src/). */
#ifndef STRATA_SOURCE_IMPL_H
#define STRATA_SOURCE_IMPL_H

#include "source.h"

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
	void (*get_stats)(struct source *s, struct source_stats *out);
	void (*free)(struct source *s);
};

/* Every transport's struct starts with this. */
struct source {
	const struct source_ops *ops;
	const struct strata_conf *conf;
	struct image_ref ref; /* a copy, owned by the source */
};

int source_registry_open(struct source **out, const struct image_ref *ref,
			 const struct strata_conf *conf, struct strata_error *err);
int source_oci_open(struct source **out, const struct image_ref *ref,
		    const struct strata_conf *conf, struct strata_error *err);
int source_archive_open(struct source **out, const struct image_ref *ref,
			const struct strata_conf *conf, struct strata_error *err);
/* A blob on its way to write(): counted into *counter, hashed, and held to
 * its descriptor's size and digest. Shared by the local transports. */
struct blob_check {
	const struct descriptor *d;
	struct sha256_ctx *h;
	uint64_t total;
	uint64_t *counter;     /* updated atomically */
	blob_write_fn write;
	void *ctx;
};
int blob_check_init(struct blob_check *b, const struct descriptor *d, uint64_t *counter,
		    blob_write_fn write, void *ctx, struct strata_error *err);
/* Passes data on; -EBADMSG "size mismatch" past the declared size. */
int blob_check_feed(struct blob_check *b, const void *data, size_t len, struct strata_error *err);
/* At the end: size and digest must match the descriptor. */
int blob_check_finish(struct blob_check *b, struct strata_error *err);
void blob_check_release(struct blob_check *b);

/* Deep copy of a ref for struct source.ref. */
int source_copy_ref(struct image_ref *dst, const struct image_ref *src);

#endif
