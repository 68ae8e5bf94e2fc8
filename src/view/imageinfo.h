/* imageinfo: the store's images as the commands show them — find one by
 * reference or digest, list them, describe one with its layers, list its
 * merged files, remove one. JSON in and out, so that the daemon can serve
 * them and the command line print them. */
#ifndef STRATA_IMAGEINFO_H
#define STRATA_IMAGEINFO_H

#include <stdint.h>

#include <jansson.h>

#include "src/base/buf.h"
#include "src/base/digest.h"
#include "src/base/error.h"
#include "src/store/store.h"

/* Finds a stored image by reference, canonical name, digest or a unique
 * prefix of at least 4 hex digits of its digest. 0 with digest, -ENOENT
 * "image 'x' is not stored", -EINVAL for a bad or ambiguous reference. */
int imageinfo_resolve(struct store *st, const char *ref, char digest[DIGEST_STR_MAX],
		      struct strata_error *err);
/* [{names, digest, config_digest, platform, layers, size, pulled}] — a new reference. */
json_t *imageinfo_list(struct store *st);
/* {names, digest, media_type, config_digest, platform, pulled, layers[{digest,
 * diff_id, media_type, compressed_size, size, entries, chunks, new_chunks,
 * stored_bytes, shared_bytes, stored}]} — a new reference, or NULL with err. */
json_t *imageinfo_inspect(struct store *st, const char *digest, struct strata_error *err);
/* The merged tree, one line per entry sorted by path:
 * path TAB type TAB mode TAB uid TAB gid TAB size TAB link TAB sha256 */
int imageinfo_files(struct store *st, const char *digest, struct buf *out, struct strata_error *err);
/* Removes the image and its names, then every layer no other image uses
 * (entries, references and chunks). *freed: bytes of chunks removed. */
int imageinfo_remove(struct store *st, const char *digest, uint64_t *freed, struct strata_error *err);
/* As docker rmi does: when ref is one of several names of the image, only
 * that name goes (*untagged = 1); otherwise the image is removed, unless
 * busy names where it is in use (then -EBUSY "image 'x' is mounted at 'y'"). */
int imageinfo_remove_ref(struct store *st, const char *ref, const char *digest, const char *busy,
			 uint64_t *freed, int *untagged, struct strata_error *err);
/* "2026-11-22T15:08:27Z" */
json_t *imageinfo_time(int64_t unix_seconds);

#endif
