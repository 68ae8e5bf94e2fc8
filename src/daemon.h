/* daemon: `strata serve` — the one process that owns a store. It serves the
 * HTTP API on STORE/strata.sock that every other command uses, runs pulls,
 * and serves every mount of the store's images.
 *
 *   GET    /v1/version               {version, store, pid}
 *   POST   /v1/pull                  {ref, platform?, auth?{host,username,password}}
 *                                    -> NDJSON: start, layer..., done|error
 *   GET    /v1/images                [image]
 *   GET    /v1/images/REF            inspect JSON; ?files=1 -> text/plain listing
 *   DELETE /v1/images/REF            {digest, freed}
 *   GET    /v1/mounts                [{mountpoint, ref, digest, since}]
 *   POST   /v1/mounts                {ref, mountpoint, no_pull?, platform?, auth?}
 *   DELETE /v1/mounts?path=MP        {mountpoint}
 *   GET    /metrics                  Prometheus text
 *   /v1/cache/...                    see daemon-cache.h
 *   /v1/analysis/...                 memoized analysis results, see daemon-analysis.h
 * REF in a path is one percent-encoded segment. Errors: {"error": "..."}
 * with 400 (bad request), 404 (not stored / not mounted), 409 (busy). */
#ifndef STRATA_DAEMON_H
#define STRATA_DAEMON_H

#include "conf.h"
#include "error.h"

/* The socket of the daemon of a store. malloc'd. */
char *daemon_socket_path(const char *store);
/* Runs the daemon in the foreground until SIGTERM or SIGINT, then unmounts
 * what it serves and returns 0. A store already served by another daemon
 * gives -EBUSY "store '...' is already served by another strata daemon". */
int daemon_run(struct strata_conf *conf, struct strata_error *err);

#endif
