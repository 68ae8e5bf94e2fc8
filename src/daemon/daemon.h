/* daemon: `strata serve` — the one process that owns a store. It serves the
 * HTTP API on STORE/strata.sock that every other command uses (its routes
 * are the table in daemon.c, documented in strata-serve(1)), decides what
 * each caller may do from the socket's peer credentials (caller.h), runs
 * pulls, and serves every mount of the store's images. */
#ifndef STRATA_DAEMON_H
#define STRATA_DAEMON_H

#include "src/base/conf.h"
#include "src/base/error.h"
#include "src/base/util.h"

/* The socket of the daemon of a store. malloc'd. Inline: the strata
 * command needs it without linking the daemon. */
static inline char *daemon_socket_path(const char *store)
{
	return path_join(store, "strata.sock");
}
/* Runs the daemon in the foreground until SIGTERM or SIGINT, then unmounts
 * what it serves and returns 0. A store already served by another daemon
 * gives -EBUSY "store '...' is already served by another strata daemon". */
int daemon_run(struct strata_conf *conf, struct strata_error *err);

#endif
