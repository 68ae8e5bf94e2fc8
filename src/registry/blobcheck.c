/* blobcheck: see blobcheck.h. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "blobcheck.h"

int blob_check_init(struct blob_check *b, const struct descriptor *d, blob_write_fn write, void *ctx,
		    struct strata_error *err)
{
	*b = (struct blob_check){ .d = d, .write = write, .ctx = ctx };
	b->h = sha256_new();
	return b->h ? 0 : error_set(err, -ENOMEM, "blob '%s': out of memory", d->digest);
}

int blob_check_feed(struct blob_check *b, const void *data, size_t len, struct strata_error *err)
{
	if (b->total + len > (uint64_t)b->d->size)
		return error_set(err, -EBADMSG, "blob '%s': size mismatch (more than %lld bytes)",
				 b->d->digest, (long long)b->d->size);
	sha256_update(b->h, data, len);
	b->total += len;
	int r = b->write(b->ctx, data, len);
	return r < 0 ? error_set(err, r, "blob '%s': write failed", b->d->digest) : 0;
}

int blob_check_finish(struct blob_check *b, struct strata_error *err)
{
	uint8_t id[SHA256_LEN];
	char got[DIGEST_STR_MAX];
	if (b->total != (uint64_t)b->d->size)
		return error_set(err, -EBADMSG, "blob '%s': size mismatch (got %llu bytes, want %lld)",
				 b->d->digest, (unsigned long long)b->total, (long long)b->d->size);
	sha256_final(b->h, id);
	digest_format(id, got);
	if (strcmp(got, b->d->digest))
		return error_set(err, -EBADMSG, "blob '%s': digest mismatch (got %s)", b->d->digest, got);
	return 0;
}

void blob_check_release(struct blob_check *b)
{
	sha256_free(b->h);
	b->h = NULL;
}
