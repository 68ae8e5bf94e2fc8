/* pull: resolve a reference to one image manifest, fetch its config, ingest
 * the layers not yet stored (several at once), then record the image and its
 * name in one durable write. */
#ifndef STRATA_PULL_H
#define STRATA_PULL_H

#include <stddef.h>
#include <stdint.h>

#include "src/base/digest.h"
#include "src/base/error.h"
#include "src/store/store.h"

enum pull_layer_state {
	PULL_LAYER_WAITING,
	PULL_LAYER_FETCHING,
	PULL_LAYER_STORED,   /* ingested now */
	PULL_LAYER_EXISTS,   /* was stored already: nothing fetched */
	PULL_LAYER_FAILED,
};

struct pull_layer_status {
	const char *digest;      /* the blob */
	uint64_t size;           /* compressed size */
	uint64_t done;           /* compressed bytes received */
	enum pull_layer_state state;
};

struct pull_observer {
	/* Called (from any thread) when the image's layers are known... */
	void (*start)(void *ctx, const char *ref, size_t n_layers);
	/* ...and whenever layer i changes state or makes progress. */
	void (*layer)(void *ctx, size_t i, const struct pull_layer_status *st);
	void *ctx;
};

struct pull_result {
	char digest[DIGEST_STR_MAX];   /* the image manifest */
	char name[512];                /* the canonical name it was stored under */
	size_t layers, layers_fetched;
	uint64_t bytes_fetched;        /* compressed */
	uint64_t bytes_stored;         /* newly taken on disk */
	uint64_t chunks, new_chunks;   /* chunks of the layers ingested; new_chunks were not stored yet */
	int up_to_date;                /* the image was stored already */
};

/* platform NULL: the configured default, else the host's. conf NULL: the
 * store's; a daemon passes a copy carrying one client's credentials. */
int pull_image(struct store *st, const struct strata_conf *conf, const char *ref, const char *platform,
	       const struct pull_observer *obs, struct pull_result *res, struct strata_error *err);

/* The digest of the image manifest ref names, for platform (NULL: as
 * pull_image), with one manifest request and nothing stored: the key of
 * what is known about an image before it is pulled. */
int pull_resolve(const struct strata_conf *conf, const char *ref, const char *platform, char *digest,
		 struct strata_error *err);

#endif
