/* manifest: parsing OCI and Docker schema 2 manifests, indexes / manifest
 * lists and image configs (jansson), and choosing an index entry by platform. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "src/base/buf.h"
#include "src/base/digest.h"
#include "manifest.h"

#define MT_DOCKER_V1      "application/vnd.docker.distribution.manifest.v1+json"
#define MT_DOCKER_V1_JWS  "application/vnd.docker.distribution.manifest.v1+prettyjws"

static const struct {
	const char *media_type;
	enum compression comp;
} layer_types[] = {
	{ "application/vnd.docker.image.rootfs.diff.tar.gzip", COMP_GZIP },
	{ "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", COMP_GZIP },
	{ "application/vnd.docker.image.rootfs.diff.tar", COMP_NONE },
	{ "application/vnd.oci.image.layer.v1.tar", COMP_NONE },
	{ "application/vnd.oci.image.layer.v1.tar+gzip", COMP_GZIP },
	{ "application/vnd.oci.image.layer.v1.tar+zstd", COMP_ZSTD },
	{ "application/vnd.oci.image.layer.nondistributable.v1.tar", COMP_NONE },
	{ "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", COMP_GZIP },
	{ "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd", COMP_ZSTD },
};

int manifest_layer_compression(const char *media_type)
{
	if (!media_type)
		return -1;
	for (size_t i = 0; i < sizeof(layer_types) / sizeof(layer_types[0]); i++)
		if (!strcmp(media_type, layer_types[i].media_type))
			return (int)layer_types[i].comp;
	return -1;
}

static int is_index_type(const char *mt)
{
	return !strcmp(mt, MT_OCI_INDEX) || !strcmp(mt, MT_DOCKER_LIST);
}

static int is_image_type(const char *mt)
{
	return !strcmp(mt, MT_OCI_MANIFEST) || !strcmp(mt, MT_DOCKER_MANIFEST);
}

static int is_schema1_type(const char *mt)
{
	return !strcmp(mt, MT_DOCKER_V1) || !strcmp(mt, MT_DOCKER_V1_JWS);
}

/* An optional string member; -EBADMSG when present but not a string. */
static int get_string(json_t *obj, const char *key, const char *where, char **out,
		      struct strata_error *err)
{
	json_t *v = json_object_get(obj, key);
	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return error_set(err, -EBADMSG, "%s'%s' is not a string", where, key);
	*out = strdup(json_string_value(v));
	return *out ? 0 : -ENOMEM;
}

static void descriptor_release(struct descriptor *d)
{
	free(d->media_type);
	free(d->digest);
	free(d->os);
	free(d->arch);
	free(d->variant);
	free(d->toc_digest);
	memset(d, 0, sizeof(*d));
}

/* where: "config: ", "layers[3]: " — the prefix every message starts with. */
static int parse_descriptor(json_t *obj, const char *where, int need_media_type, int platform,
			    struct descriptor *d, struct strata_error *err)
{
	int r;
	json_t *v;

	memset(d, 0, sizeof(*d));
	if (!json_is_object(obj))
		return error_set(err, -EBADMSG, "%snot an object", where);

	r = get_string(obj, "mediaType", where, &d->media_type, err);
	if (r < 0)
		goto fail;
	if (!d->media_type && need_media_type) {
		r = error_set(err, -EBADMSG, "%smissing 'mediaType'", where);
		goto fail;
	}

	v = json_object_get(obj, "digest");
	if (!v) {
		r = error_set(err, -EBADMSG, "%smissing 'digest'", where);
		goto fail;
	}
	if (!json_is_string(v)) {
		r = error_set(err, -EBADMSG, "%s'digest' is not a string", where);
		goto fail;
	}
	const char *ds = json_string_value(v);
	if (!digest_valid(ds)) {
		const char *colon = strchr(ds, ':');
		if (colon && (colon - ds != 6 || strncmp(ds, "sha256", 6)))
			r = error_set(err, -EPROTONOSUPPORT, "%sunsupported digest algorithm in '%.100s'",
				      where, ds);
		else
			r = error_set(err, -EBADMSG, "%sinvalid digest '%.100s'", where, ds);
		goto fail;
	}
	d->digest = strdup(ds);
	if (!d->digest) {
		r = -ENOMEM;
		goto fail;
	}

	v = json_object_get(obj, "size");
	if (!v) {
		r = error_set(err, -EBADMSG, "%smissing 'size'", where);
		goto fail;
	}
	if (!json_is_integer(v) || json_integer_value(v) < 0) {
		r = error_set(err, -EBADMSG, "%sinvalid 'size'", where);
		goto fail;
	}
	d->size = (int64_t)json_integer_value(v);

	/* An eStargz layer's TOC digest; a malformed one is as good as none. */
	v = json_object_get(json_object_get(obj, "annotations"), "containerd.io/snapshot/stargz/toc.digest");
	if (json_is_string(v) && digest_valid(json_string_value(v)) &&
	    !(d->toc_digest = strdup(json_string_value(v)))) {
		r = -ENOMEM;
		goto fail;
	}

	if (platform) {
		json_t *p = json_object_get(obj, "platform");
		if (p && !json_is_object(p)) {
			r = error_set(err, -EBADMSG, "%s'platform' is not an object", where);
			goto fail;
		}
		if (p) {
			if ((r = get_string(p, "os", where, &d->os, err)) < 0 ||
			    (r = get_string(p, "architecture", where, &d->arch, err)) < 0 ||
			    (r = get_string(p, "variant", where, &d->variant, err)) < 0)
				goto fail;
			if (d->variant && !*d->variant) {
				free(d->variant);
				d->variant = NULL;
			}
		}
	}
	return 0;
fail:
	descriptor_release(d);
	return r == -ENOMEM ? error_set(err, r, "%sout of memory", where) : r;
}

static int parse_array(json_t *doc, const char *key, int index, struct descriptor **out,
		       size_t *n_out, struct strata_error *err)
{
	json_t *arr = json_object_get(doc, key);
	size_t n, i;
	int r = 0;

	if (!arr)
		return error_set(err, -EBADMSG, "manifest has no '%s'", key);
	if (!json_is_array(arr))
		return error_set(err, -EBADMSG, "manifest '%s' is not an array", key);
	n = json_array_size(arr);
	*out = calloc(n ? n : 1, sizeof(**out));
	if (!*out)
		return error_set(err, -ENOMEM, "manifest: out of memory");
	for (i = 0; i < n; i++) {
		char where[64];
		snprintf(where, sizeof(where), "%s[%zu]: ", key, i);
		r = parse_descriptor(json_array_get(arr, i), where, 1, index, &(*out)[i], err);
		if (r < 0)
			break;
		if (!index && manifest_layer_compression((*out)[i].media_type) < 0) {
			r = error_set(err, -EPROTONOSUPPORT, "%sunsupported layer media type '%s'",
				      where, (*out)[i].media_type);
			i++;
			break;
		}
	}
	if (r < 0) {
		while (i-- > 0)
			descriptor_release(&(*out)[i]);
		free(*out);
		*out = NULL;
		return r;
	}
	*n_out = n;
	return 0;
}

/* Strips parameters ("; charset=utf-8") and blanks from a Content-Type. */
static void content_type_base(const char *ct, char *out, size_t outlen)
{
	size_t n = 0;
	out[0] = '\0';
	if (!ct)
		return;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	while (ct[n] && ct[n] != ';' && ct[n] != ' ' && ct[n] != '\t')
		n++;
	if (n >= outlen)
		return;
	memcpy(out, ct, n);
	out[n] = '\0';
}

int manifest_parse(const char *data, size_t len, const char *content_type, struct manifest *out,
		   struct strata_error *err)
{
	json_error_t jerr;
	json_t *doc, *v;
	char ct[256];
	const char *mt = NULL;
	int r;

	memset(out, 0, sizeof(*out));
	doc = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!doc)
		return error_set(err, -EBADMSG, "manifest is not JSON: %s", jerr.text);
	if (!json_is_object(doc)) {
		r = error_set(err, -EBADMSG, "manifest is not a JSON object");
		goto fail;
	}

	/* The document's own mediaType is authoritative; a registry's
	 * Content-Type only fills in when it is absent, and generic content
	 * types (application/json) leave it to the fields. */
	v = json_object_get(doc, "mediaType");
	content_type_base(content_type, ct, sizeof(ct));
	if (v) {
		if (!json_is_string(v)) {
			r = error_set(err, -EBADMSG, "manifest 'mediaType' is not a string");
			goto fail;
		}
		mt = json_string_value(v);
		if (!is_index_type(mt) && !is_image_type(mt)) {
			r = error_set(err, -EPROTONOSUPPORT, "unsupported manifest media type '%.200s'", mt);
			goto fail;
		}
	} else if (is_index_type(ct) || is_image_type(ct)) {
		mt = ct;
	} else if (is_schema1_type(ct)) {
		r = error_set(err, -EPROTONOSUPPORT, "unsupported manifest media type '%s'", ct);
		goto fail;
	}

	v = json_object_get(doc, "schemaVersion");
	if (!v) {
		r = error_set(err, -EBADMSG, "manifest has no 'schemaVersion'");
		goto fail;
	}
	if (!json_is_integer(v) || json_integer_value(v) != 2) {
		if (json_is_integer(v) && json_integer_value(v) == 1)
			r = error_set(err, -EPROTONOSUPPORT,
				      "unsupported manifest media type '%s' (schema version 1)",
				      MT_DOCKER_V1_JWS);
		else
			r = error_set(err, -EBADMSG, "manifest 'schemaVersion' is not 2");
		goto fail;
	}

	if (!mt) {
		if (json_object_get(doc, "manifests"))
			mt = MT_OCI_INDEX;
		else if (json_object_get(doc, "layers"))
			mt = MT_OCI_MANIFEST;
		else {
			r = error_set(err, -EBADMSG, "manifest has neither 'layers' nor 'manifests'");
			goto fail;
		}
	}
	out->media_type = strdup(mt);
	if (!out->media_type) {
		r = error_set(err, -ENOMEM, "manifest: out of memory");
		goto fail;
	}

	if (is_index_type(mt)) {
		out->kind = MANIFEST_INDEX;
		r = parse_array(doc, "manifests", 1, &out->manifests, &out->n_manifests, err);
		if (r < 0)
			goto fail;
	} else {
		out->kind = MANIFEST_IMAGE;
		json_t *cfg = json_object_get(doc, "config");
		if (!cfg) {
			r = error_set(err, -EBADMSG, "manifest has no 'config'");
			goto fail;
		}
		r = parse_descriptor(cfg, "config: ", 0, 0, &out->config, err);
		if (r < 0)
			goto fail;
		if (!out->config.media_type) {
			out->config.media_type = strdup(strcmp(mt, MT_DOCKER_MANIFEST) ?
							MT_OCI_CONFIG : MT_DOCKER_CONFIG);
			if (!out->config.media_type) {
				r = error_set(err, -ENOMEM, "manifest: out of memory");
				goto fail;
			}
		}
		/* A helm chart or another artifact is a valid manifest but no image. */
		if (strcmp(out->config.media_type, MT_OCI_CONFIG) &&
		    strcmp(out->config.media_type, MT_DOCKER_CONFIG)) {
			r = error_set(err, -EPROTONOSUPPORT,
				      "unsupported config media type '%.200s': not a container image",
				      out->config.media_type);
			goto fail;
		}
		r = parse_array(doc, "layers", 0, &out->layers, &out->n_layers, err);
		if (r < 0)
			goto fail;
	}
	json_decref(doc);
	return 0;
fail:
	json_decref(doc);
	manifest_release(out);
	return r;
}

void manifest_release(struct manifest *m)
{
	if (!m)
		return;
	free(m->media_type);
	descriptor_release(&m->config);
	for (size_t i = 0; i < m->n_layers; i++)
		descriptor_release(&m->layers[i]);
	free(m->layers);
	for (size_t i = 0; i < m->n_manifests; i++)
		descriptor_release(&m->manifests[i]);
	free(m->manifests);
	memset(m, 0, sizeof(*m));
}

const char *platform_host(void)
{
#if defined(__x86_64__)
	return "linux/amd64";
#elif defined(__aarch64__)
	return "linux/arm64/v8";
#elif defined(__arm__) && defined(__ARM_ARCH_6__)
	return "linux/arm/v6";
#elif defined(__arm__)
	return "linux/arm/v7";
#elif defined(__i386__)
	return "linux/386";
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return "linux/ppc64le";
#elif defined(__s390x__)
	return "linux/s390x";
#elif defined(__riscv) && __riscv_xlen == 64
	return "linux/riscv64";
#else
	return "linux/unknown";
#endif
}

static const char *norm_arch(const char *a)
{
	if (!a)
		return "";
	if (!strcmp(a, "x86_64") || !strcmp(a, "x86-64"))
		return "amd64";
	if (!strcmp(a, "aarch64"))
		return "arm64";
	if (!strcmp(a, "i386") || !strcmp(a, "i686"))
		return "386";
	return a;
}

/* The variant an architecture implies when none is written (containerd's
 * platform normalisation): arm64 is v8, arm is v7. */
static const char *norm_variant(const char *arch, const char *variant)
{
	if (variant && *variant)
		return variant;
	if (!strcmp(arch, "arm64"))
		return "v8";
	if (!strcmp(arch, "arm"))
		return "v7";
	return "";
}

static void add_platform(struct buf *b, const struct descriptor *d)
{
	if (b->len)
		buf_adds(b, ", ");
	buf_addf(b, "%s/%s", d->os, d->arch);
	if (d->variant)
		buf_addf(b, "/%s", d->variant);
}

int manifest_select_platform(const struct manifest *index, const char *platform,
			     const struct descriptor **out, struct strata_error *err)
{
	char want[128], *os, *arch, *variant = NULL;
	const struct descriptor *best = NULL, *lone = NULL;
	int best_score = 0;
	size_t n_plain = 0;

	*out = NULL;
	if (!platform)
		platform = platform_host();
	if (strlen(platform) >= sizeof(want))
		return error_set(err, -EINVAL, "invalid platform '%.60s…'", platform);
	strcpy(want, platform);
	os = want;
	arch = strchr(want, '/');
	if (!arch || arch == os || !arch[1])
		return error_set(err, -EINVAL, "invalid platform '%s': want os/arch[/variant]", platform);
	*arch++ = '\0';
	variant = strchr(arch, '/');
	if (variant) {
		*variant++ = '\0';
		if (!*variant || strchr(variant, '/'))
			return error_set(err, -EINVAL, "invalid platform '%s': want os/arch[/variant]",
					 platform);
	}
	const char *warch = norm_arch(arch);
	const char *wvar = norm_variant(warch, variant);

	for (size_t i = 0; i < index->n_manifests; i++) {
		const struct descriptor *d = &index->manifests[i];
		if (!d->os || !d->arch) {
			n_plain++;
			lone = d;
			continue;
		}
		/* attestation manifests (buildkit) are marked unknown/unknown */
		if (!strcmp(d->os, "unknown"))
			continue;
		if (strcmp(d->os, os))
			continue;
		const char *darch = norm_arch(d->arch);
		if (strcmp(darch, warch))
			continue;
		const char *dvar = norm_variant(darch, d->variant);
		int score;
		if (!strcmp(dvar, wvar))
			score = 2;
		else if (!variant && !*wvar)
			score = 1; /* "linux/amd64" takes amd64/v3 when nothing else is offered */
		else
			continue;
		if (score > best_score) {
			best = d;
			best_score = score;
		}
	}
	if (best) {
		*out = best;
		return 0;
	}
	/* An index whose single entry says nothing about its platform. */
	if (n_plain == 1 && index->n_manifests == 1) {
		*out = lone;
		return 0;
	}

	struct buf avail = BUF_INIT;
	for (size_t i = 0; i < index->n_manifests; i++) {
		const struct descriptor *d = &index->manifests[i];
		if (d->os && d->arch && strcmp(d->os, "unknown"))
			add_platform(&avail, d);
	}
	int r = error_set(err, -ENOENT, "no image for platform '%s' (available: %s)", platform,
			  avail.len ? avail.data : "none");
	buf_release(&avail);
	return r;
}

int image_config_parse(const char *data, size_t len, struct image_config *out,
		       struct strata_error *err)
{
	json_error_t jerr;
	json_t *doc, *rootfs, *type, *ids;
	int r;

	memset(out, 0, sizeof(*out));
	doc = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!doc)
		return error_set(err, -EBADMSG, "image config is not JSON: %s", jerr.text);
	if (!json_is_object(doc)) {
		r = error_set(err, -EBADMSG, "image config is not a JSON object");
		goto fail;
	}
	if ((r = get_string(doc, "os", "image config: ", &out->os, err)) < 0 ||
	    (r = get_string(doc, "architecture", "image config: ", &out->arch, err)) < 0 ||
	    (r = get_string(doc, "variant", "image config: ", &out->variant, err)) < 0 ||
	    (r = get_string(doc, "created", "image config: ", &out->created, err)) < 0)
		goto fail;

	rootfs = json_object_get(doc, "rootfs");
	if (!json_is_object(rootfs)) {
		r = error_set(err, -EBADMSG, "image config has no 'rootfs'");
		goto fail;
	}
	type = json_object_get(rootfs, "type");
	if (!json_is_string(type) || strcmp(json_string_value(type), "layers")) {
		r = error_set(err, -EBADMSG, "image config: rootfs.type is not 'layers'");
		goto fail;
	}
	ids = json_object_get(rootfs, "diff_ids");
	if (!json_is_array(ids)) {
		r = error_set(err, -EBADMSG, "image config: rootfs.diff_ids is not an array");
		goto fail;
	}
	out->n_diff_ids = json_array_size(ids);
	out->diff_ids = calloc(out->n_diff_ids + 1, sizeof(char *));
	if (!out->diff_ids) {
		r = error_set(err, -ENOMEM, "image config: out of memory");
		goto fail;
	}
	for (size_t i = 0; i < out->n_diff_ids; i++) {
		json_t *v = json_array_get(ids, i);
		if (!json_is_string(v) || !digest_valid(json_string_value(v))) {
			r = error_set(err, -EBADMSG, "image config: rootfs.diff_ids[%zu]: invalid digest '%.100s'",
				      i, json_is_string(v) ? json_string_value(v) : "(not a string)");
			goto fail;
		}
		out->diff_ids[i] = strdup(json_string_value(v));
		if (!out->diff_ids[i]) {
			r = error_set(err, -ENOMEM, "image config: out of memory");
			goto fail;
		}
	}
	json_decref(doc);
	return 0;
fail:
	json_decref(doc);
	image_config_release(out);
	return r;
}

void image_config_release(struct image_config *c)
{
	if (!c)
		return;
	free(c->os);
	free(c->arch);
	free(c->variant);
	free(c->created);
	if (c->diff_ids)
		for (size_t i = 0; i < c->n_diff_ids; i++)
			free(c->diff_ids[i]);
	free(c->diff_ids);
	memset(c, 0, sizeof(*c));
}
