/* source: the dispatcher over the three transports (registry, OCI layout,
 * docker-archive); each transport fills in a struct source_ops. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "src/base/digest.h"
#include "source-impl.h"

int source_open(const struct image_ref *ref, const struct strata_conf *conf, struct source **out,
		struct strata_error *err)
{
	*out = NULL;
	switch (ref->transport) {
	case REF_DOCKER:
		return source_registry_open(out, ref, conf, err);
	case REF_OCI:
		return source_oci_open(out, ref, conf, err);
	case REF_DOCKER_ARCHIVE:
		return source_archive_open(out, ref, conf, err);
	}
	return error_set(err, -EINVAL, "reference '%s': unknown transport", ref->name ? ref->name : "");
}

void source_free(struct source *s)
{
	if (!s)
		return;
	s->ops->free(s);
}

int source_fetch_manifest(struct source *s, const char *reference, struct buf *body,
			  char **media_type, struct strata_error *err)
{
	char *ignored = NULL;
	int r = s->ops->fetch_manifest(s, reference, body, media_type ? media_type : &ignored, err);
	free(ignored);
	return r;
}

int source_fetch_blob(struct source *s, const struct descriptor *d, size_t max, struct buf *body,
		      struct strata_error *err)
{
	return s->ops->fetch_blob(s, d, max, body, err);
}

int source_stream_blob(struct source *s, const struct descriptor *d, blob_write_fn write,
		       void *ctx, struct strata_error *err)
{
	return s->ops->stream_blob(s, d, write, ctx, err);
}

int source_fetch_range(struct source *s, const struct descriptor *d, uint64_t off, uint64_t len,
		       struct buf *out, struct strata_error *err)
{
	if (!s->ops->fetch_range)
		return error_set(err, -ENOTSUP, "blob '%s': a %s source cannot fetch a range",
				 d->digest, s->ops->name);
	return s->ops->fetch_range(s, d, off, len, out, err);
}

void source_get_stats(struct source *s, struct source_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (s->ops->get_stats)
		s->ops->get_stats(s, out);
}

static int dup_opt(char **dst, const char *src)
{
	*dst = NULL;
	if (!src)
		return 0;
	*dst = strdup(src);
	return *dst ? 0 : -ENOMEM;
}

int source_copy_ref(struct image_ref *dst, const struct image_ref *src)
{
	memset(dst, 0, sizeof(*dst));
	dst->transport = src->transport;
	if (dup_opt(&dst->domain, src->domain) < 0 || dup_opt(&dst->path, src->path) < 0 ||
	    dup_opt(&dst->tag, src->tag) < 0 || dup_opt(&dst->digest, src->digest) < 0 ||
	    dup_opt(&dst->file, src->file) < 0 || dup_opt(&dst->name, src->name) < 0) {
		ref_release(dst);
		return -ENOMEM;
	}
	return 0;
}

int blob_check_init(struct blob_check *b, const struct descriptor *d, uint64_t *counter,
		    blob_write_fn write, void *ctx, struct strata_error *err)
{
	*b = (struct blob_check){ .d = d, .counter = counter, .write = write, .ctx = ctx };
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
	__atomic_fetch_add(b->counter, (uint64_t)len, __ATOMIC_RELAXED);
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
