/* test-manifest: manifests, indexes and configs shaped like the ones real
 * registries serve (Docker Hub, buildkit, skopeo), platform selection, and
 * the errors for documents strata cannot use. */
#include "config.h"

#include <errno.h>

#include "src/registry/manifest.h"
#include "tap.h"

#define HA "a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4"
#define HB "8e3ba11ec2a2b39ab372c60c16b421536e50e5ce64a0bc81765c2e38381bcff6"
#define HC "0a2b7e4d8a2e1a6f4d0b2e7a7f8a9c1d3e5f60718293a4b5c6d7e8f901234567"
#define HD "5d0da3dc976460b72c77d94c8a1ad043720b0416bfc16c52c45d4847e53fadb6"
#define HE "1111111111111111111111111111111111111111111111111111111111111111"
#define HF "2222222222222222222222222222222222222222222222222222222222222222"
#define HG "3333333333333333333333333333333333333333333333333333333333333333"

static const char docker_manifest[] =
	"{\n"
	"   \"schemaVersion\": 2,\n"
	"   \"mediaType\": \"application/vnd.docker.distribution.manifest.v2+json\",\n"
	"   \"config\": {\n"
	"      \"mediaType\": \"application/vnd.docker.container.image.v1+json\",\n"
	"      \"size\": 1472,\n"
	"      \"digest\": \"sha256:" HA "\"\n"
	"   },\n"
	"   \"layers\": [\n"
	"      {\n"
	"         \"mediaType\": \"application/vnd.docker.image.rootfs.diff.tar.gzip\",\n"
	"         \"size\": 3374563,\n"
	"         \"digest\": \"sha256:" HB "\"\n"
	"      },\n"
	"      {\n"
	"         \"mediaType\": \"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip\",\n"
	"         \"size\": 1240,\n"
	"         \"digest\": \"sha256:" HC "\",\n"
	"         \"urls\": [\"https://example.com/layer\"]\n"
	"      }\n"
	"   ]\n"
	"}";

static const char oci_manifest[] =
	"{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
	"\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\","
	"\"digest\":\"sha256:" HA "\",\"size\":581},"
	"\"layers\":["
	"{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"sha256:" HB "\",\"size\":29126484},"
	"{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+zstd\",\"digest\":\"sha256:" HC "\",\"size\":1000},"
	"{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"sha256:" HD "\",\"size\":0,"
	"\"annotations\":{\"org.opencontainers.image.title\":\"x\"}}],"
	"\"annotations\":{\"org.opencontainers.image.created\":\"2024-01-01T00:00:00Z\"}}";

/* skopeo writes manifests without mediaType; Docker Hub's content type tells. */
static const char oci_manifest_no_mt[] =
	"{\"schemaVersion\":2,"
	"\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\","
	"\"digest\":\"sha256:" HA "\",\"size\":581},"
	"\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\","
	"\"digest\":\"sha256:" HB "\",\"size\":12}]}";

/* buildkit: two platforms plus their attestation manifests. */
static const char buildkit_index[] =
	"{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"manifests\":["
	"{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"sha256:" HA "\",\"size\":1000,"
	"\"platform\":{\"architecture\":\"amd64\",\"os\":\"linux\"}},"
	"{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"sha256:" HB "\",\"size\":1001,"
	"\"platform\":{\"architecture\":\"arm64\",\"os\":\"linux\"}},"
	"{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"sha256:" HC "\",\"size\":839,"
	"\"annotations\":{\"vnd.docker.reference.digest\":\"sha256:" HA "\","
	"\"vnd.docker.reference.type\":\"attestation-manifest\"},"
	"\"platform\":{\"architecture\":\"unknown\",\"os\":\"unknown\"}},"
	"{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"sha256:" HD "\",\"size\":839,"
	"\"annotations\":{\"vnd.docker.reference.digest\":\"sha256:" HB "\","
	"\"vnd.docker.reference.type\":\"attestation-manifest\"},"
	"\"platform\":{\"architecture\":\"unknown\",\"os\":\"unknown\"}}]}";

/* Docker Hub's alpine: a manifest list with arm variants and amd64 and 386. */
static const char docker_list[] =
	"{\"manifests\":["
	"{\"digest\":\"sha256:" HA "\",\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\","
	"\"platform\":{\"architecture\":\"amd64\",\"os\":\"linux\"},\"size\":528},"
	"{\"digest\":\"sha256:" HB "\",\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\","
	"\"platform\":{\"architecture\":\"arm\",\"os\":\"linux\",\"variant\":\"v6\"},\"size\":528},"
	"{\"digest\":\"sha256:" HC "\",\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\","
	"\"platform\":{\"architecture\":\"arm\",\"os\":\"linux\",\"variant\":\"v7\"},\"size\":528},"
	"{\"digest\":\"sha256:" HD "\",\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\","
	"\"platform\":{\"architecture\":\"arm64\",\"os\":\"linux\",\"variant\":\"v8\"},\"size\":528},"
	"{\"digest\":\"sha256:" HE "\",\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\","
	"\"platform\":{\"architecture\":\"386\",\"os\":\"linux\"},\"size\":528},"
	"{\"digest\":\"sha256:" HF "\",\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\","
	"\"platform\":{\"architecture\":\"amd64\",\"os\":\"windows\",\"os.version\":\"10.0.17763.5329\"},\"size\":528},"
	"{\"digest\":\"sha256:" HG "\",\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\","
	"\"platform\":{\"architecture\":\"amd64\",\"os\":\"linux\",\"variant\":\"v3\"},\"size\":528}"
	"],\"mediaType\":\"application/vnd.docker.distribution.manifest.list.v2+json\",\"schemaVersion\":2}";

static const char config_doc[] =
	"{\"architecture\":\"amd64\",\"config\":{\"Env\":[\"PATH=/usr/bin\"],\"Cmd\":[\"/bin/sh\"]},"
	"\"created\":\"2024-01-27T00:30:56.150816183Z\",\"history\":[{\"created_by\":\"ADD x /\"}],"
	"\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":["
	"\"sha256:" HA "\",\"sha256:" HB "\"]}}";

static void test_docker_manifest(void)
{
	struct strata_error err = STRATA_ERROR_INIT;
	struct manifest m;
	int r = manifest_parse(docker_manifest, sizeof(docker_manifest) - 1, NULL, &m, &err);
	if (!ok(r == 0, "docker schema 2 manifest parses"))
		printf("#   %s\n", err.msg);
	if (r)
		return;
	is_int(m.kind, MANIFEST_IMAGE, "kind image");
	is_str(m.media_type, MT_DOCKER_MANIFEST, "media type from the document");
	is_str(m.config.media_type, MT_DOCKER_CONFIG, "config media type");
	is_str(m.config.digest, "sha256:" HA, "config digest");
	is_int(m.config.size, 1472, "config size");
	is_int(m.n_layers, 2, "two layers");
	is_int(m.layers[0].size, 3374563, "layer 0 size");
	is_str(m.layers[1].digest, "sha256:" HC, "layer 1 digest");
	is_str(m.layers[0].os, NULL, "layers have no platform");
	is_int(manifest_layer_compression(m.layers[0].media_type), COMP_GZIP, "docker layer is gzip");
	is_int(manifest_layer_compression(m.layers[1].media_type), COMP_GZIP, "foreign layer is gzip");
	manifest_release(&m);
	manifest_release(&m);
	manifest_release(NULL);
	ok(1, "manifest_release twice and on NULL");
}

static void test_oci_manifest(void)
{
	struct strata_error err = STRATA_ERROR_INIT;
	struct manifest m;
	int r = manifest_parse(oci_manifest, sizeof(oci_manifest) - 1, "application/json", &m, &err);
	if (!ok(r == 0, "oci manifest parses"))
		printf("#   %s\n", err.msg);
	if (r)
		return;
	is_str(m.media_type, MT_OCI_MANIFEST, "oci media type");
	is_int(m.n_layers, 3, "three layers");
	is_int(m.layers[0].size, 29126484, "layer size");
	is_int(m.layers[2].size, 0, "size 0 is allowed");
	is_int(manifest_layer_compression(m.layers[1].media_type), COMP_ZSTD, "zstd layer");
	is_int(manifest_layer_compression(m.layers[2].media_type), COMP_NONE, "plain tar layer");
	manifest_release(&m);

	r = manifest_parse(oci_manifest_no_mt, sizeof(oci_manifest_no_mt) - 1,
			   "application/vnd.oci.image.manifest.v1+json; charset=utf-8", &m, &err);
	is_int(r, 0, "manifest without mediaType parses");
	is_str(m.media_type, MT_OCI_MANIFEST, "media type from the content type (parameters stripped)");
	manifest_release(&m);

	r = manifest_parse(oci_manifest_no_mt, sizeof(oci_manifest_no_mt) - 1, NULL, &m, &err);
	is_int(r, 0, "manifest without mediaType nor content type parses");
	is_str(m.media_type, MT_OCI_MANIFEST, "inferred from 'layers'");
	is_int(m.kind, MANIFEST_IMAGE, "inferred kind image");
	manifest_release(&m);

	r = manifest_parse(oci_manifest_no_mt, sizeof(oci_manifest_no_mt) - 1,
			   MT_DOCKER_MANIFEST, &m, &err);
	is_str(m.media_type, MT_DOCKER_MANIFEST, "content type used when the document is silent");
	manifest_release(&m);
}

static void test_index(void)
{
	struct strata_error err = STRATA_ERROR_INIT;
	struct manifest m;
	const struct descriptor *d;
	int r;

	r = manifest_parse(buildkit_index, sizeof(buildkit_index) - 1, NULL, &m, &err);
	if (!ok(r == 0, "buildkit index parses"))
		printf("#   %s\n", err.msg);
	if (r)
		return;
	is_int(m.kind, MANIFEST_INDEX, "kind index");
	is_int(m.n_manifests, 4, "four entries");
	is_str(m.manifests[0].os, "linux", "entry os");
	is_str(m.manifests[1].arch, "arm64", "entry arch");
	is_str(m.manifests[1].variant, NULL, "no variant");

	is_int(manifest_select_platform(&m, "linux/amd64", &d, &err), 0, "select linux/amd64");
	is_str(d ? d->digest : NULL, "sha256:" HA, "amd64 entry");
	is_int(manifest_select_platform(&m, "linux/arm64", &d, &err), 0, "select linux/arm64");
	is_str(d ? d->digest : NULL, "sha256:" HB, "arm64 entry");
	is_int(manifest_select_platform(&m, "linux/arm64/v8", &d, &err), 0, "select linux/arm64/v8");
	is_str(d ? d->digest : NULL, "sha256:" HB, "arm64/v8 matches arm64 without variant");
	is_int(manifest_select_platform(&m, "linux/aarch64", &d, &err), 0, "aarch64 is arm64");
	is_int(manifest_select_platform(&m, "linux/x86_64", &d, &err), 0, "x86_64 is amd64");
	is_str(d ? d->digest : NULL, "sha256:" HA, "x86_64 entry");

	error_clear(&err);
	is_int(manifest_select_platform(&m, "linux/s390x", &d, &err), -ENOENT, "no s390x");
	is_str(err.msg, "no image for platform 'linux/s390x' (available: linux/amd64, linux/arm64)",
	       "error lists the platforms, not the attestations");
	ok(d == NULL, "nothing selected");
	error_clear(&err);
	is_int(manifest_select_platform(&m, "unknown/unknown", &d, &err), -ENOENT,
	       "attestation manifests are never selected");
	error_clear(&err);
	is_int(manifest_select_platform(&m, "linux", &d, &err), -EINVAL, "bad platform string");
	ok(strstr(err.msg, "os/arch") != NULL, "bad platform message: %s", err.msg);
	error_clear(&err);
	int offered = !strcmp(platform_host(), "linux/amd64") || !strcmp(platform_host(), "linux/arm64/v8");
	is_int(manifest_select_platform(&m, NULL, &d, &err), offered ? 0 : -ENOENT,
	       "NULL selects the host platform (%s)", platform_host());
	manifest_release(&m);

	r = manifest_parse(docker_list, sizeof(docker_list) - 1, NULL, &m, &err);
	if (!ok(r == 0, "docker manifest list parses"))
		printf("#   %s\n", err.msg);
	if (r)
		return;
	is_str(m.media_type, MT_DOCKER_LIST, "list media type");
	is_int(manifest_select_platform(&m, "linux/amd64", &d, &err), 0, "list amd64");
	is_str(d ? d->digest : NULL, "sha256:" HA, "plain amd64 preferred over amd64/v3");
	is_int(manifest_select_platform(&m, "linux/amd64/v3", &d, &err), 0, "list amd64/v3");
	is_str(d ? d->digest : NULL, "sha256:" HG, "amd64/v3 entry");
	is_int(manifest_select_platform(&m, "linux/arm", &d, &err), 0, "list arm");
	is_str(d ? d->digest : NULL, "sha256:" HC, "arm without variant is v7");
	is_int(manifest_select_platform(&m, "linux/arm/v6", &d, &err), 0, "list arm/v6");
	is_str(d ? d->digest : NULL, "sha256:" HB, "arm/v6 entry");
	is_int(manifest_select_platform(&m, "linux/arm64", &d, &err), 0, "list arm64");
	is_str(d ? d->digest : NULL, "sha256:" HD, "arm64 matches arm64/v8");
	is_int(manifest_select_platform(&m, "windows/amd64", &d, &err), 0, "list windows");
	is_str(d ? d->digest : NULL, "sha256:" HF, "windows entry");
	is_int(manifest_select_platform(&m, "linux/386", &d, &err), 0, "list 386");
	is_str(d ? d->digest : NULL, "sha256:" HE, "386 entry");
	error_clear(&err);
	is_int(manifest_select_platform(&m, "linux/arm/v5", &d, &err), -ENOENT, "no arm/v5");
	ok(strstr(err.msg, "linux/arm/v6, linux/arm/v7, linux/arm64/v8") != NULL,
	   "variants listed: %s", err.msg);
	manifest_release(&m);

	/* an OCI layout's index.json: one entry, no platform */
	static const char plain[] =
		"{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
		"\"digest\":\"sha256:" HA "\",\"size\":10,\"annotations\":{\"org.opencontainers.image.ref.name\":\"base\"}}]}";
	r = manifest_parse(plain, sizeof(plain) - 1, NULL, &m, &err);
	is_int(r, 0, "index without mediaType parses");
	is_str(m.media_type, MT_OCI_INDEX, "inferred from 'manifests'");
	is_int(manifest_select_platform(&m, "linux/amd64", &d, &err), 0, "a lone entry without platform is taken");
	manifest_release(&m);
}

struct bad_case {
	const char *doc, *content_type;
	int code;
	const char *msg;
};

#define LAYER(mt, dg, sz) "{\"mediaType\":\"" mt "\",\"digest\":\"" dg "\",\"size\":" sz "}"
#define CFG "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"sha256:" HA "\",\"size\":2}"
#define GZ "application/vnd.oci.image.layer.v1.tar+gzip"

static const struct bad_case bad[] = {
	{ "not json at all", NULL, -EBADMSG, "manifest is not JSON: " },
	{ "{\"schemaVersion\":2,", NULL, -EBADMSG, "manifest is not JSON: " },
	{ "[1,2]", NULL, -EBADMSG, "manifest is not a JSON object" },
	{ "{\"schemaVersion\":1,\"name\":\"library/alpine\",\"tag\":\"latest\",\"fsLayers\":[],\"signatures\":[]}",
	  "application/vnd.docker.distribution.manifest.v1+prettyjws", -EPROTONOSUPPORT,
	  "unsupported manifest media type 'application/vnd.docker.distribution.manifest.v1+prettyjws'" },
	{ "{\"schemaVersion\":1,\"name\":\"library/alpine\",\"fsLayers\":[]}",
	  "application/vnd.docker.distribution.manifest.v1+json", -EPROTONOSUPPORT,
	  "unsupported manifest media type 'application/vnd.docker.distribution.manifest.v1+json'" },
	{ "{\"schemaVersion\":1,\"name\":\"library/alpine\",\"fsLayers\":[]}", NULL, -EPROTONOSUPPORT,
	  "unsupported manifest media type" },
	{ "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.artifact.manifest.v1+json\"}", NULL,
	  -EPROTONOSUPPORT, "unsupported manifest media type 'application/vnd.oci.artifact.manifest.v1+json'" },
	{ "{\"schemaVersion\":3," CFG ",\"layers\":[]}", NULL, -EBADMSG, "'schemaVersion' is not 2" },
	{ "{\"schemaVersion\":\"2\"," CFG ",\"layers\":[]}", NULL, -EBADMSG, "'schemaVersion' is not 2" },
	{ "{" CFG ",\"layers\":[]}", NULL, -EBADMSG, "manifest has no 'schemaVersion'" },
	{ "{\"schemaVersion\":2}", NULL, -EBADMSG, "manifest has neither 'layers' nor 'manifests'" },
	{ "{\"schemaVersion\":2,\"mediaType\":\"" MT_OCI_MANIFEST "\",\"layers\":[]}", NULL, -EBADMSG,
	  "manifest has no 'config'" },
	{ "{\"schemaVersion\":2," CFG ",\"layers\":{}}", NULL, -EBADMSG, "manifest 'layers' is not an array" },
	{ "{\"schemaVersion\":2," CFG ",\"layers\":[" LAYER(GZ, "sha256:" HB, "1") "," LAYER(GZ, "sha256:zz", "1") "]}",
	  NULL, -EBADMSG, "layers[1]: invalid digest 'sha256:zz'" },
	{ "{\"schemaVersion\":2," CFG ",\"layers\":[" LAYER(GZ, "sha512:" HB HB, "1") "]}",
	  NULL, -EPROTONOSUPPORT, "layers[0]: unsupported digest algorithm" },
	{ "{\"schemaVersion\":2," CFG ",\"layers\":[" LAYER(GZ, "sha256:" HB, "-1") "]}",
	  NULL, -EBADMSG, "layers[0]: invalid 'size'" },
	{ "{\"schemaVersion\":2," CFG ",\"layers\":[" LAYER(GZ, "sha256:" HB, "1.5") "]}",
	  NULL, -EBADMSG, "layers[0]: invalid 'size'" },
	{ "{\"schemaVersion\":2," CFG ",\"layers\":[{\"mediaType\":\"" GZ "\",\"digest\":\"sha256:" HB "\"}]}",
	  NULL, -EBADMSG, "layers[0]: missing 'size'" },
	{ "{\"schemaVersion\":2," CFG ",\"layers\":[{\"mediaType\":\"" GZ "\",\"size\":3}]}",
	  NULL, -EBADMSG, "layers[0]: missing 'digest'" },
	{ "{\"schemaVersion\":2," CFG ",\"layers\":[{\"digest\":\"sha256:" HB "\",\"size\":3}]}",
	  NULL, -EBADMSG, "layers[0]: missing 'mediaType'" },
	{ "{\"schemaVersion\":2," CFG ",\"layers\":[7]}", NULL, -EBADMSG, "layers[0]: not an object" },
	{ "{\"schemaVersion\":2,\"config\":{\"digest\":\"sha256:" HA "\"},\"layers\":[]}",
	  NULL, -EBADMSG, "config: missing 'size'" },
	{ "{\"schemaVersion\":2," CFG ",\"layers\":[" LAYER("application/vnd.cncf.helm.chart.content.v1.tar+gzip",
	  "sha256:" HB, "1") "]}", NULL, -EPROTONOSUPPORT,
	  "layers[0]: unsupported layer media type 'application/vnd.cncf.helm.chart.content.v1.tar+gzip'" },
	{ "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"application/vnd.cncf.helm.config.v1+json\","
	  "\"digest\":\"sha256:" HA "\",\"size\":2},\"layers\":[]}", NULL, -EPROTONOSUPPORT,
	  "unsupported config media type 'application/vnd.cncf.helm.config.v1+json'" },
	{ "{\"schemaVersion\":2,\"mediaType\":\"" MT_OCI_INDEX "\",\"manifests\":[{\"mediaType\":\"" MT_OCI_MANIFEST
	  "\",\"digest\":\"sha256:" HA "\",\"size\":1},{\"mediaType\":\"" MT_OCI_MANIFEST "\",\"digest\":\"md5:x\",\"size\":1}]}",
	  NULL, -EPROTONOSUPPORT, "manifests[1]: unsupported digest algorithm" },
	{ "{\"schemaVersion\":2,\"mediaType\":\"" MT_OCI_INDEX "\",\"manifests\":[{\"mediaType\":\"" MT_OCI_MANIFEST
	  "\",\"digest\":\"sha256:" HA "\",\"size\":1,\"platform\":\"linux\"}]}",
	  NULL, -EBADMSG, "manifests[0]: 'platform' is not an object" },
	{ "{\"schemaVersion\":2,\"mediaType\":\"" MT_OCI_INDEX "\"}", NULL, -EBADMSG, "manifest has no 'manifests'" },
	{ "{\"schemaVersion\":2,\"schemaVersion\":2," CFG ",\"layers\":[]}", NULL, -EBADMSG, "manifest is not JSON: " },
};

static void test_errors(void)
{
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct strata_error err = STRATA_ERROR_INIT;
		struct manifest m;
		int r = manifest_parse(bad[i].doc, strlen(bad[i].doc), bad[i].content_type, &m, &err);
		is_int(r, bad[i].code, "bad manifest %zu fails with the right code", i);
		if (!ok(strstr(err.msg, bad[i].msg) != NULL, "bad manifest %zu: '%s'", i, bad[i].msg))
			printf("#   got '%s'\n", err.msg);
		ok(m.layers == NULL && m.media_type == NULL, "bad manifest %zu leaves nothing allocated", i);
	}
	/* the length is honoured: a valid document cut short is not JSON */
	struct strata_error err = STRATA_ERROR_INIT;
	struct manifest m;
	is_int(manifest_parse(oci_manifest, 40, NULL, &m, &err), -EBADMSG, "truncated document");
}

static void test_layer_types(void)
{
	is_int(manifest_layer_compression("application/vnd.oci.image.layer.nondistributable.v1.tar"),
	       COMP_NONE, "nondistributable tar");
	is_int(manifest_layer_compression("application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"),
	       COMP_GZIP, "nondistributable gzip");
	is_int(manifest_layer_compression("application/vnd.oci.image.layer.nondistributable.v1.tar+zstd"),
	       COMP_ZSTD, "nondistributable zstd");
	is_int(manifest_layer_compression("application/vnd.in-toto+json"), -1, "in-toto is not a layer");
	is_int(manifest_layer_compression("application/vnd.oci.image.config.v1+json"), -1, "config is not a layer");
	is_int(manifest_layer_compression(NULL), -1, "NULL is not a layer");
}

static void test_config(void)
{
	struct strata_error err = STRATA_ERROR_INIT;
	struct image_config c;
	int r = image_config_parse(config_doc, sizeof(config_doc) - 1, &c, &err);
	if (!ok(r == 0, "config parses"))
		printf("#   %s\n", err.msg);
	if (r)
		return;
	is_str(c.os, "linux", "config os");
	is_str(c.arch, "amd64", "config arch");
	is_str(c.variant, NULL, "config variant");
	is_str(c.created, "2024-01-27T00:30:56.150816183Z", "config created");
	is_int(c.n_diff_ids, 2, "two diff_ids");
	is_str(c.diff_ids[1], "sha256:" HB, "diff_id 1");
	image_config_release(&c);
	image_config_release(NULL);

	static const char *bad_configs[][2] = {
		{ "{", "image config is not JSON: " },
		{ "{\"os\":\"linux\"}", "image config has no 'rootfs'" },
		{ "{\"rootfs\":{\"type\":\"snapshot\",\"diff_ids\":[]}}", "rootfs.type is not 'layers'" },
		{ "{\"rootfs\":{\"type\":\"layers\"}}", "rootfs.diff_ids is not an array" },
		{ "{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:" HA "\",\"sha256:nope\"]}}",
		  "rootfs.diff_ids[1]: invalid digest 'sha256:nope'" },
		{ "{\"os\":7,\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}", "'os' is not a string" },
	};
	for (size_t i = 0; i < sizeof(bad_configs) / sizeof(bad_configs[0]); i++) {
		error_clear(&err);
		r = image_config_parse(bad_configs[i][0], strlen(bad_configs[i][0]), &c, &err);
		is_int(r, -EBADMSG, "bad config %zu", i);
		if (!ok(strstr(err.msg, bad_configs[i][1]) != NULL, "bad config %zu: '%s'", i, bad_configs[i][1]))
			printf("#   got '%s'\n", err.msg);
	}

	static const char empty[] = "{\"architecture\":\"arm64\",\"variant\":\"v8\",\"os\":\"linux\","
				    "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}";
	error_clear(&err);
	is_int(image_config_parse(empty, sizeof(empty) - 1, &c, &err), 0, "config with no layers");
	is_str(c.variant, "v8", "variant read");
	is_int(c.n_diff_ids, 0, "no diff_ids");
	image_config_release(&c);
}

int main(void)
{
	test_docker_manifest();
	test_oci_manifest();
	test_index();
	test_errors();
	test_layer_types();
	test_config();
	return tap_done();
}
