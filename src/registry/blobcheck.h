/* blobcheck: a blob on its way from a source to its consumer. The consumer
 * takes the bytes through a blob_write_fn; a transport that reads blobs it
 * has not verified (an OCI layout, a docker-archive) passes them through a
 * struct blob_check, which holds them to their descriptor's size and digest. */
#ifndef STRATA_BLOBCHECK_H
#define STRATA_BLOBCHECK_H

#include <stddef.h>
#include <stdint.h>

#include "src/base/digest.h"
#include "src/base/error.h"
#include "manifest.h"

/* Receives a blob's bytes in order; return 0 to go on, a negative errno to abort. */
typedef int (*blob_write_fn)(void *ctx, const void *data, size_t len);

struct blob_check {
	const struct descriptor *d;
	struct sha256_ctx *h;
	uint64_t total;        /* bytes passed on so far */
	blob_write_fn write;
	void *ctx;
};
/* Release with blob_check_release, whatever it returns. */
int blob_check_init(struct blob_check *b, const struct descriptor *d, blob_write_fn write, void *ctx,
		    struct strata_error *err);
/* Passes data on; -EBADMSG "size mismatch" past the declared size. */
int blob_check_feed(struct blob_check *b, const void *data, size_t len, struct strata_error *err);
/* At the end: size and digest must match the descriptor. */
int blob_check_finish(struct blob_check *b, struct strata_error *err);
void blob_check_release(struct blob_check *b);

#endif
