/* source: the dispatcher over the three transports (registry, OCI layout,
 * docker-archive), listed in one table; each transport fills in a struct
 * source_ops (source-impl.h). */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "source-impl.h"
#include "source.h"

/* The transports, by the reference's transport. */
static const struct {
	enum ref_transport transport;
	int (*open)(struct source **out, const struct image_ref *ref, const struct strata_conf *conf,
		    struct strata_error *err);
} transports[] = {
	{ REF_DOCKER, source_registry_open },
	{ REF_OCI, source_oci_open },
	{ REF_DOCKER_ARCHIVE, source_archive_open },
};

int source_open(const struct image_ref *ref, const struct strata_conf *conf, struct source **out,
		struct strata_error *err)
{
	*out = NULL;
	for (size_t i = 0; i < sizeof(transports) / sizeof(transports[0]); i++)
		if (transports[i].transport == ref->transport)
			return transports[i].open(out, ref, conf, err);
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

