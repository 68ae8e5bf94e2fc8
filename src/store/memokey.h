/* memokey: the one spelling of the keys of analysis results (memo.h's 'A'
 * table, without the table byte) — written by the analyzers, read back by
 * the memo's gc:
 *   "<prefix>/<sha256 hex>[/<name>]"   an analyzer's records for one content
 *   "<prefix>/layer/<diff_id>"          its summary of one layer
 * prefix names the analyzer: "<analyzer>@<version>[+config]". */
#ifndef STRATA_MEMOKEY_H
#define STRATA_MEMOKEY_H

#include <stddef.h>
#include <stdint.h>

#include "src/base/digest.h"

/* name (may be NULL): for an analyzer that reads the file's name too.
 * malloc'd; NULL when out of memory. */
char *memokey_content(const char *prefix, const uint8_t sha256[SHA256_LEN], const char *name);
char *memokey_layer(const char *prefix, const char *diff_id);

enum memokey_kind { MEMOKEY_OTHER, MEMOKEY_CONTENT, MEMOKEY_LAYER };
struct memokey {
	enum memokey_kind kind;
	uint8_t sha256[SHA256_LEN];   /* MEMOKEY_CONTENT */
	const char *diff_id;          /* MEMOKEY_LAYER: inside the key parsed, not NUL-terminated */
	size_t diff_id_len;
};
/* What key k (kl bytes) speaks of; MEMOKEY_OTHER for any other shape. */
void memokey_parse(const char *k, size_t kl, struct memokey *out);

#endif
