/* store: the store directory — its lock, its index (RocksDB) and its chunk
 * store. One writing process owns a store at a time (DESIGN invariant 6).
 *
 *   STORE/lock      flock()ed by the writer
 *   STORE/index/    RocksDB
 *   STORE/chunks/   chunk files, fanned out by the first byte of the id */
#ifndef STRATA_STORE_H
#define STRATA_STORE_H

#include <pthread.h>
#include <stdint.h>

#include "chunkstore.h"
#include "src/base/conf.h"
#include "src/base/error.h"
#include "index.h"

struct cache;
struct layerlist_cache;

struct ingest_observer;
struct sharedmemo;

struct store {
	const struct strata_conf *conf;
	struct cache *cache;      /* set by cache_new in the daemon; NULL otherwise */
	struct layerlist_cache *lists; /* set by the daemon; NULL: image views read the index */
	const struct ingest_observer *observer; /* set by the daemon; NULL: no one sees file bytes */
	struct sharedmemo *shared; /* the memo's shared tier, set by the daemon; NULL: none */
	char *dir;
	struct index *idx;
	struct chunkstore *cs;
	int lock_fd;
	int readonly;
	pthread_mutex_t lid_lock; /* serialises store_alloc_lid */
	uint32_t lid_next, lid_limit; /* the reserved block; protected by lid_lock */
	/* Durable commits hold it exclusively across "sync the chunk files, then
	 * sync the index", other commits hold it shared: so no chunk record can
	 * reach the synced index ahead of its chunk file. */
	pthread_rwlock_t commit_lock;
};

enum store_mode {
	STORE_WRITE,    /* exclusive; waits while another writer holds the store */
	STORE_DAEMON,   /* exclusive; -EBUSY at once when another process holds it */
	STORE_READ,     /* beside a writer; an absent store reads as empty */
};

/* Opens conf->store. STORE_READ of a store that does not exist returns
 * -ENOENT (callers treat it as empty). Free with store_close. */
int store_open(const struct strata_conf *conf, enum store_mode mode, struct store **out,
	       struct strata_error *err);
void store_close(struct store *s);
/* 1 when the store's directory is no longer the one s opened: removed, or
 * replaced by a new store at the same path (the lock file is another). */
int store_replaced(const struct store *s);

/* Commits batch. durable: every chunk file written so far is synced first,
 * then the index, so that the records (and everything committed before
 * them) survive a crash together with the chunks they name. */
int store_commit(struct store *s, struct index_batch *batch, int durable, struct strata_error *err);

/* A new layer id, durable before it is used. */
int store_alloc_lid(struct store *s, uint32_t *lid, struct strata_error *err);

#endif
