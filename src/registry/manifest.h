/* manifest: OCI / Docker schema 2 manifests, image indexes / manifest
 * lists, image configs; platform selection. */
#ifndef STRATA_MANIFEST_H
#define STRATA_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#include "src/base/error.h"

#define MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define MT_DOCKER_LIST     "application/vnd.docker.distribution.manifest.list.v2+json"
#define MT_DOCKER_CONFIG   "application/vnd.docker.container.image.v1+json"
#define MT_OCI_MANIFEST    "application/vnd.oci.image.manifest.v1+json"
#define MT_OCI_INDEX       "application/vnd.oci.image.index.v1+json"
#define MT_OCI_CONFIG      "application/vnd.oci.image.config.v1+json"
/* What a registry is asked for, in an Accept header. */
#define MANIFEST_ACCEPT MT_OCI_INDEX ", " MT_OCI_MANIFEST ", " MT_DOCKER_LIST ", " MT_DOCKER_MANIFEST

enum compression { COMP_AUTO = 0, COMP_NONE, COMP_GZIP, COMP_ZSTD };

struct descriptor {
	char *media_type;
	char *digest;        /* validated "sha256:<hex>" */
	int64_t size;        /* >= 0 */
	char *os, *arch, *variant; /* index entries only; NULL otherwise */
	char *toc_digest;    /* layers: the eStargz TOC digest annotation, or NULL */
};

enum manifest_kind { MANIFEST_IMAGE, MANIFEST_INDEX };

struct manifest {
	enum manifest_kind kind;
	char *media_type;             /* as resolved (from the document or the content type) */
	struct descriptor config;     /* MANIFEST_IMAGE */
	struct descriptor *layers;    /* MANIFEST_IMAGE */
	size_t n_layers;
	struct descriptor *manifests; /* MANIFEST_INDEX */
	size_t n_manifests;
};

/* Parses a manifest or index. content_type (the registry's Content-Type,
 * may be NULL) is used when the document has no mediaType. Errors (-EBADMSG /
 * -EPROTONOSUPPORT) say what is wrong: "manifest is not JSON", "unsupported
 * manifest media type 'x'", "layer 3: invalid digest". Release with
 * manifest_release. */
int manifest_parse(const char *data, size_t len, const char *content_type, struct manifest *out,
		   struct strata_error *err);
void manifest_release(struct manifest *m);

/* Picks the entry of an index for platform "os/arch[/variant]" (NULL = the
 * host's). Returns 0 and *out (points into index), or -ENOENT with a message
 * listing the platforms the index offers. */
int manifest_select_platform(const struct manifest *index, const char *platform,
			     const struct descriptor **out, struct strata_error *err);
/* The host's platform, e.g. "linux/amd64" or "linux/arm64/v8". Static string. */
const char *platform_host(void);

/* The compression a layer media type declares; -1 for a media type that is not a layer. */
int manifest_layer_compression(const char *media_type);

struct image_config {
	char *os, *arch, *variant;
	char *created;           /* may be NULL */
	char **diff_ids;         /* validated digests */
	size_t n_diff_ids;
};

/* Parses an image config; requires rootfs.type "layers" and valid diff_ids. */
int image_config_parse(const char *data, size_t len, struct image_config *out,
		       struct strata_error *err);
void image_config_release(struct image_config *c);

#endif
