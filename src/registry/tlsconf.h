/* tlsconf: the TLS trust and client certificate of one registry host, found
 * where containers/image (podman, skopeo) and Docker keep them.
 *
 * For a registry written HOST or HOST:PORT in references (its directory name,
 * as "registry.lab:5000" or "[::1]:5000"), every directory DIR of
 * registry.certs_dirs is looked into, in order, as DIR/HOST[:PORT]/:
 *
 *   *.crt                 CA certificates (PEM), all trusted
 *   NAME.cert + NAME.key  a client certificate and its key (PEM); Docker's
 *                         client.cert and client.key are one such pair
 *
 * and registry.ca_file, one more PEM bundle, is trusted for every registry.
 * These CAs are trusted besides the system's, never instead of them. The
 * first client pair in directory order, then name order, is the one
 * presented; every pair found is checked.
 *
 * A directory that does not exist is no error. Errors, with err set to one
 * line naming the file: a .cert without its .key or a .key without its
 * .cert, a file that cannot be read, a .crt or registry.ca_file with no PEM
 * certificate in it, a client certificate or key that does not parse or
 * whose key does not match. */
#ifndef STRATA_TLSCONF_H
#define STRATA_TLSCONF_H

#include <stddef.h>

#include "src/base/buf.h"
#include "src/base/error.h"

struct tlsconf {
	struct buf cas;        /* PEM of every CA found, concatenated; empty = none */
	int ca_files;          /* files that added to cas */
	char *cert_path;       /* the client certificate presented; NULL = none */
	char *key_path;        /* and its key */
	struct buf cert, key;  /* their PEM text; key is wiped on release */
	char *looked_in;       /* "DIR1/HOST, DIR2/HOST" ("" = no directory), for messages */
};

/* Fills t (caller-owned, released with tlsconf_release) for registry host
 * from dirs (NULL-terminated, may be NULL) and ca_file (may be NULL).
 * Returns 0, or a negative errno with err set and t released. */
int tlsconf_load(struct tlsconf *t, const char *host, char *const *dirs, const char *ca_file,
		 struct strata_error *err);
void tlsconf_release(struct tlsconf *t);

#endif
