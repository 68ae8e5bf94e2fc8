/* storedir: the store's directory — its lock, its index (RocksDB) and its
 * chunk store — and the rules of everything written to it: a commit
 * (storedir_commit) and layer ids handed out once (storedir_alloc_lid).
 * One process holds a store directory at a time: the daemon that owns the
 * store (ARCHITECTURE.md).
 *
 *   STORE/lock      flock()ed by the holder
 *   STORE/index/    RocksDB
 *   STORE/chunks/   chunk files, fanned out by the first byte of the id */
#ifndef STRATA_STOREDIR_H
#define STRATA_STOREDIR_H

#include <pthread.h>
#include <stdint.h>

#include "chunkstore.h"
#include "src/base/conf.h"
#include "src/base/error.h"
#include "index.h"

struct storedir {
	const struct strata_conf *conf; /* borrowed; outlives the directory */
	char *dir;
	struct index *idx;
	struct chunkstore *cs;
	int lock_fd;
	pthread_mutex_t lid_lock; /* serialises storedir_alloc_lid */
	uint32_t lid_next, lid_limit; /* the reserved block; protected by lid_lock */
	/* Durable commits hold it exclusively across "sync the chunk files, then
	 * sync the index", other commits hold it shared: so no chunk record can
	 * reach the synced index ahead of its chunk file. */
	pthread_rwlock_t commit_lock;
};

/* Opens conf->store, creating it, and locks it: -EBUSY "store '...' is
 * already served by another strata daemon" when another process holds it.
 * Free with storedir_close. */
int storedir_open(const struct strata_conf *conf, struct storedir **out, struct strata_error *err);
void storedir_close(struct storedir *sd);
/* 1 when the store's directory is no longer the one sd opened: removed, or
 * replaced by a new store at the same path (the lock file is another). */
int storedir_replaced(const struct storedir *sd);

/* Commits batch. durable: every chunk file written so far is synced first,
 * then the index, so that the records (and everything committed before
 * them) survive a crash together with the chunks they name. */
int storedir_commit(struct storedir *sd, struct index_batch *batch, int durable, struct strata_error *err);

/* A new layer id, durable before it is used. */
int storedir_alloc_lid(struct storedir *sd, uint32_t *lid, struct strata_error *err);

#endif
