/* memokey: see memokey.h. */
#include "config.h"

#include <string.h>

#include "src/base/buf.h"
#include "memokey.h"

#define LAYER "layer/" /* after the prefix's '/' */

char *memokey_content(const char *prefix, const uint8_t sha256[SHA256_LEN], const char *name)
{
	char hex[2 * SHA256_LEN + 1];
	struct buf b = BUF_INIT;
	hex_encode(sha256, SHA256_LEN, hex);
	buf_addf(&b, "%s/%s", prefix, hex);
	if (name)
		buf_addf(&b, "/%s", name);
	return buf_detach(&b, NULL);
}

char *memokey_layer(const char *prefix, const char *diff_id)
{
	struct buf b = BUF_INIT;
	buf_addf(&b, "%s/" LAYER "%s", prefix, diff_id);
	return buf_detach(&b, NULL);
}

void memokey_parse(const char *k, size_t kl, struct memokey *out)
{
	const char *slash = memchr(k, '/', kl), *end = k + kl;
	const size_t ll = strlen(LAYER);
	memset(out, 0, sizeof(*out));
	if (!slash)
		return;
	const char *rest = slash + 1;
	if ((size_t)(end - rest) > ll && !memcmp(rest, LAYER, ll)) {
		out->kind = MEMOKEY_LAYER;
		out->diff_id = rest + ll;
		out->diff_id_len = (size_t)(end - rest) - ll;
	} else if (end - rest >= 2 * SHA256_LEN && hex_decode(rest, 2 * SHA256_LEN, out->sha256) == 0) {
		out->kind = MEMOKEY_CONTENT;
	}
}
