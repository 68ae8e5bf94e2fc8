/* store: a store as its owner holds it — the directory (storedir.h: lock,
 * index, chunks, commits) with what is built on it: the cache (budget,
 * pins, ingest claims; cache.h), the layer listings kept in memory for
 * image views (layerlist.h), the observer that sees every file an ingest
 * stores, and the memo's shared tier (sharedmemo.h). store_open builds all of it and store_close frees it;
 * nothing is attached afterwards. */
#ifndef STRATA_STORE_H
#define STRATA_STORE_H

#include <stddef.h>

#include "chunkstore.h"
#include "src/base/conf.h"
#include "src/base/error.h"
#include "index.h"
#include "storedir.h"

struct cache;
struct layerlist_cache;
struct ingest_observer; /* src/ingest/ingest.h: the store only holds it for ingests */
struct sharedmemo;      /* sharedmemo.h */

struct store_options {
	size_t layer_lists;    /* bytes of layer listings kept in memory; 0: none, views read the index */
	const struct ingest_observer *observer; /* NULL: none; borrowed, outlives the store */
	struct sharedmemo *shared;     /* the memo's shared tier; NULL: none; borrowed, outlives the store */
};

struct store {
	struct storedir *sd;
	/* The directory's, for short: immutable while the store is open. */
	const struct strata_conf *conf;
	const char *dir;
	struct index *idx;
	struct chunkstore *cs;

	struct cache *cache;                     /* never NULL */
	struct layerlist_cache *lists;           /* NULL: image views read the index */
	const struct ingest_observer *observer;  /* NULL: no one sees file bytes */
	struct sharedmemo *shared;               /* NULL: no shared tier (memo.c) */
};

/* Opens conf->store (creating it) for this process alone, and builds its
 * parts; o may be NULL (no listings, no observer). -EBUSY "store '...' is
 * already served by another strata daemon". Free with store_close. */
int store_open(const struct strata_conf *conf, const struct store_options *o, struct store **out,
	       struct strata_error *err);
void store_close(struct store *st);

#endif
