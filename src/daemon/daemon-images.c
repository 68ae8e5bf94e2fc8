/* daemon-images: the stored images.
 *
 *   GET    /v1/images        [image]
 *   GET    /v1/images/REF    inspect JSON; ?files=1 -> text/plain listing
 *   DELETE /v1/images/REF    {digest, freed, untagged}              (admin) */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "src/store/cache.h"
#include "daemon-impl.h"
#include "src/view/imageinfo.h"
#include "src/base/log.h"
#include "src/base/util.h"

void daemon_images(void *ctx, const struct http_request *req, json_t *body, struct http_conn *c)
{
	struct daemon *d = ctx;
	(void)req;
	(void)body;
	json_t *out = imageinfo_list(d->st);
	http_reply_json(c, 200, out);
	json_decref(out);
}

/* The image a /v1/images/REF path names: 0 with digest, or negative when
 * it answered. */
static int image_of_path(struct daemon *d, const struct http_request *req, struct http_conn *c, char *ref,
			 size_t len, char *digest)
{
	struct strata_error err = STRATA_ERROR_INIT;
	if (http_path_segment(req->path + strlen("/v1/images/"), ref, len) < 0) {
		http_reply_error(c, 400, "malformed image reference in the path");
		return -EINVAL;
	}
	int r = imageinfo_resolve(d->st, ref, digest, &err);
	if (r < 0) {
		http_reply_error(c, http_status_of(r), err.msg);
		return r;
	}
	return 0;
}

void daemon_image(void *ctx, const struct http_request *req, json_t *body, struct http_conn *c)
{
	struct daemon *d = ctx;
	struct strata_error err = STRATA_ERROR_INIT;
	char ref[4096], digest[DIGEST_STR_MAX], files[8];
	(void)body;
	if (image_of_path(d, req, c, ref, sizeof(ref), digest) < 0)
		return;
	int got = http_query_param(req, "files", files, sizeof(files));
	if (got < 0 && got != -ENOENT) {
		http_need_param(req, c, "inspect", "files", files, sizeof(files));
		return;
	}
	if (got == 0 && files[0] == '1') {
		struct buf listing = BUF_INIT;
		int r = imageinfo_files(d->st, digest, &listing, &err);
		if (r < 0)
			http_reply_error(c, http_status_of(r), err.msg);
		else
			http_reply(c, 200, "text/plain", listing.data, listing.len);
		buf_release(&listing);
		return;
	}
	json_t *out = imageinfo_inspect(d->st, digest, &err);
	if (!out)
		http_reply_error(c, 500, err.msg);
	else
		http_reply_json(c, 200, out);
	json_decref(out);
}

void daemon_image_remove(void *ctx, const struct http_request *req, json_t *body, struct http_conn *c)
{
	struct daemon *d = ctx;
	struct strata_error err = STRATA_ERROR_INIT;
	char ref[4096], digest[DIGEST_STR_MAX], mp[PATH_MAX];
	uint64_t freed = 0;
	int untagged = 0;
	(void)body;
	if (image_of_path(d, req, c, ref, sizeof(ref), digest) < 0)
		return;
	const char *busy = daemon_mounted_digest(d, digest, mp, sizeof(mp)) ? mp : NULL;
	/* An ingest running now may be reusing this image's chunks as
	 * stored: they must not go from under it. */
	cache_exclusive_begin(d->st->cache);
	int r = imageinfo_remove_ref(d->st, ref, digest, busy, &freed, &untagged, &err);
	cache_exclusive_end(d->st->cache);
	if (r < 0) {
		http_reply_error(c, http_status_of(r), err.msg);
		return;
	}
	log_info("%s %s (%llu bytes freed, uid %u)", untagged ? "untagged" : "removed", ref,
		 (unsigned long long)freed, (unsigned)req->peer_uid);
	json_t *out = json_pack("{s:s, s:I, s:b}", "digest", digest, "freed", (json_int_t)freed, "untagged",
				untagged);
	http_reply_json(c, 200, out);
	json_decref(out);
}
