/* source-registry: the docker:// transport — a source over the registry
 * client that checks every manifest named by digest and every blob. A
 * configured mirror of the reference's registry (registry.mirrors) is tried
 * first; whatever it cannot serve comes from the origin. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "src/base/digest.h"
#include "src/base/log.h"
#include "registry.h"
#include "source-impl.h"

#define DEFAULT_MAX_MANIFEST (4 << 20)

struct source_registry {
	struct source base;
	struct registry *reg;
	struct registry *mirror;  /* NULL: none configured, or it failed */
	char *mirror_name;
};

static struct source_registry *to_reg(struct source *s)
{
	return (struct source_registry *)s;
}

static int check_digest(const char *kind, const char *repo, const char *digest,
			const struct buf *body, struct strata_error *err)
{
	uint8_t want[SHA256_LEN], got[SHA256_LEN];
	if (digest_parse(digest, want) < 0)
		return error_set(err, -EINVAL, "%s '%s': invalid digest", kind, digest);
	sha256_once(body->data, body->len, got);
	if (!memcmp(want, got, SHA256_LEN))
		return 0;
	char hex[DIGEST_STR_MAX];
	digest_format(got, hex);
	return error_set(err, -EBADMSG, "%s '%s%s%s': digest mismatch (got %s)", kind,
			 repo ? repo : "", repo ? "@" : "", digest, hex);
}

static int reg_fetch_manifest(struct source *s, const char *reference, struct buf *body,
			      char **media_type, struct strata_error *err)
{
	struct source_registry *rs = to_reg(s);
	if (media_type)
		*media_type = NULL;
	if (!reference)
		reference = ref_reference(&s->ref);
	if (!reference)
		return error_set(err, -EINVAL, "reference '%s' names neither a tag nor a digest",
				 s->ref.name ? s->ref.name : "?");
	size_t max = s->conf && s->conf->limits.max_manifest ? s->conf->limits.max_manifest
							     : DEFAULT_MAX_MANIFEST;
	char *ct = NULL;
	int r = -ENOENT;
	if (rs->mirror) {
		struct strata_error merr = STRATA_ERROR_INIT;
		r = registry_get_manifest(rs->mirror, s->ref.path, reference, max, body, &ct, &merr);
		if (r < 0) {
			/* A mirror that cannot serve the manifest serves nothing of this pull. */
			log_warn("mirror '%s' of '%s': %s; using the origin", rs->mirror_name, s->ref.domain, merr.msg);
			registry_free(rs->mirror);
			rs->mirror = NULL;
			buf_reset(body);
		}
	}
	if (r < 0)
		r = registry_get_manifest(rs->reg, s->ref.path, reference, max, body, &ct, err);
	if (r == 0 && digest_valid(reference))
		r = check_digest("manifest", s->ref.path, reference, body, err);
	if (r == 0 && media_type)
		*media_type = ct;
	else
		free(ct);
	return r;
}

static int reg_fetch_blob(struct source *s, const struct descriptor *d, size_t max,
			  struct buf *body, struct strata_error *err)
{
	struct source_registry *rs = to_reg(s);
	if (d->size > 0 && (uint64_t)d->size > max)
		return error_set(err, -EFBIG, "blob '%s': %lld bytes, more than the limit of %zu",
				 d->digest, (long long)d->size, max);
	int r = -ENOENT;
	if (rs->mirror) {
		struct strata_error merr = STRATA_ERROR_INIT;
		r = registry_get_blob(rs->mirror, s->ref.path, d->digest, max, body, &merr);
		if (r < 0) {
			log_warn("mirror '%s' of '%s': %s; using the origin", rs->mirror_name, s->ref.domain, merr.msg);
			buf_reset(body);
		}
	}
	if (r < 0)
		r = registry_get_blob(rs->reg, s->ref.path, d->digest, max, body, err);
	if (r < 0)
		return r;
	if (d->size >= 0 && body->len != (uint64_t)d->size)
		return error_set(err, -EBADMSG, "blob '%s': size mismatch (got %zu bytes, expected %lld)",
				 d->digest, body->len, (long long)d->size);
	return check_digest("blob", NULL, d->digest, body, err);
}

/* Counts what the mirror delivered: the origin can take over only from
 * the first byte. */
struct counted_write {
	blob_write_fn write;
	void *ctx;
	uint64_t bytes;
};

static int count_write(void *ctx, const void *data, size_t len)
{
	struct counted_write *cw = ctx;
	cw->bytes += len;
	return cw->write(cw->ctx, data, len);
}

static int reg_stream_blob(struct source *s, const struct descriptor *d, blob_write_fn write,
			   void *ctx, struct strata_error *err)
{
	struct source_registry *rs = to_reg(s);
	if (rs->mirror) {
		struct counted_write cw = { write, ctx, 0 };
		struct strata_error merr = STRATA_ERROR_INIT;
		int r = registry_stream_blob(rs->mirror, s->ref.path, d->digest, d->size, count_write, &cw, &merr);
		if (r == 0 || cw.bytes > 0) {
			if (r < 0)
				error_set(err, r, "mirror '%s': %s", rs->mirror_name, merr.msg);
			return r;
		}
		log_warn("mirror '%s' of '%s': %s; using the origin", rs->mirror_name, s->ref.domain, merr.msg);
	}
	return registry_stream_blob(rs->reg, s->ref.path, d->digest, d->size, write, ctx, err);
}

static int reg_fetch_range(struct source *s, const struct descriptor *d, uint64_t off,
			   uint64_t len, struct buf *out, struct strata_error *err)
{
	struct source_registry *rs = to_reg(s);
	if (rs->mirror) {
		struct strata_error merr = STRATA_ERROR_INIT;
		int r = registry_get_range(rs->mirror, s->ref.path, d->digest, off, len, out, &merr);
		if (r == 0)
			return 0;
		log_warn("mirror '%s' of '%s': %s; using the origin", rs->mirror_name, s->ref.domain, merr.msg);
	}
	return registry_get_range(rs->reg, s->ref.path, d->digest, off, len, out, err);
}

static void reg_free(struct source *s)
{
	if (!s)
		return;
	registry_free(to_reg(s)->reg);
	registry_free(to_reg(s)->mirror);
	free(to_reg(s)->mirror_name);
	ref_release(&s->ref);
	free(s);
}

static const struct source_ops registry_ops = {
	.name = "docker",
	.fetch_manifest = reg_fetch_manifest,
	.fetch_blob = reg_fetch_blob,
	.stream_blob = reg_stream_blob,
	.fetch_range = reg_fetch_range,
	.free = reg_free,
};

/* The mirror host configured for domain ("docker.io=https://m.example"
 * gives "m.example"), or NULL. The scheme only documents intent: the mirror
 * is spoken to as any registry is (registry.h). */
static const char *mirror_of(const struct strata_conf *conf, const char *domain)
{
	size_t dl = strlen(domain);
	for (char **p = conf && conf->mirrors ? conf->mirrors : NULL; p && *p; p++) {
		if (strncmp(*p, domain, dl) || (*p)[dl] != '=')
			continue;
		const char *m = *p + dl + 1;
		if (!strncmp(m, "https://", 8))
			m += 8;
		else if (!strncmp(m, "http://", 7))
			m += 7;
		return *m ? m : NULL;
	}
	return NULL;
}

int source_registry_open(struct source **out, const struct image_ref *ref,
			 const struct strata_conf *conf, struct strata_error *err)
{
	*out = NULL;
	if (ref->transport != REF_DOCKER || !ref->domain || !ref->path)
		return error_set(err, -EINVAL, "reference '%s' is not a registry reference",
				 ref->name ? ref->name : "?");
	struct source_registry *rs = calloc(1, sizeof(*rs));
	if (!rs)
		return error_set(err, -ENOMEM, "out of memory");
	rs->base.ops = &registry_ops;
	rs->base.conf = conf;
	int r = ref_copy(&rs->base.ref, ref);
	if (r < 0) {
		free(rs);
		return error_set(err, r, "out of memory");
	}
	r = registry_open(ref->domain, conf, &rs->reg, err);
	if (r < 0) {
		reg_free(&rs->base);
		return r;
	}
	const char *mirror = mirror_of(conf, ref->domain);
	if (mirror) {
		struct strata_error merr = STRATA_ERROR_INIT;
		rs->mirror_name = strdup(mirror);
		if (!rs->mirror_name || registry_open(mirror, conf, &rs->mirror, &merr) < 0)
			log_warn("mirror '%s' of '%s': %s; using the origin", mirror, ref->domain,
				 merr.msg[0] ? merr.msg : "out of memory");
	}
	*out = &rs->base;
	return 0;
}
