/* fuzz-target: manifest_parse 16384 */
/* libFuzzer target: manifest_parse (manifests, indexes, with and without a
 * Content-Type) and platform selection on what it returns. The first byte
 * picks the content type, so the corpus files are plain JSON after one byte. */
#include "config.h"

#include <stdlib.h>

#include "fuzz.h"
#include "src/registry/manifest.h"

static const char *const types[] = { NULL, MT_OCI_MANIFEST, MT_OCI_INDEX, MT_DOCKER_MANIFEST,
				     MT_DOCKER_LIST, "application/json", "text/plain" };
static const char *const platforms[] = { NULL, "linux/amd64", "linux/arm64/v8", "linux/arm/v7",
					 "windows/amd64", "linux", "linux/arm64/v8/extra", "" };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	unsigned sel = data[0];
	const char *ct = types[sel % (sizeof(types) / sizeof(types[0]))];
	const char *plat = platforms[(sel >> 3) % (sizeof(platforms) / sizeof(platforms[0]))];
	/* Not NUL-terminated on purpose: manifest_parse takes a length. */
	char *doc = malloc(size - 1 ? size - 1 : 1);
	if (!doc)
		abort();
	memcpy(doc, data + 1, size - 1);

	struct manifest m;
	struct strata_error err = STRATA_ERROR_INIT;
	if (manifest_parse(doc, size - 1, ct, &m, &err) == 0) {
		if (m.kind == MANIFEST_INDEX) {
			const struct descriptor *d = NULL;
			struct strata_error e2 = STRATA_ERROR_INIT;
			if (manifest_select_platform(&m, plat, &d, &e2) == 0 &&
			    (d < m.manifests || d >= m.manifests + m.n_manifests))
				abort();
		} else {
			for (size_t i = 0; i < m.n_layers; i++)
				manifest_layer_compression(m.layers[i].media_type);
		}
		manifest_release(&m);
	} else if (!err.msg[0]) {
		abort();
	}
	free(doc);
	return 0;
}
