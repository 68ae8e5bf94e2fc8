/* auth: the registry's WWW-Authenticate challenge and the credentials of
 * Docker's config.json ("auths"). */
#ifndef STRATA_AUTH_H
#define STRATA_AUTH_H

#include "src/base/error.h"

struct auth_challenge {
	char *scheme;  /* "bearer" or "basic", lowercased */
	char *realm;   /* may be NULL for basic */
	char *service; /* may be NULL */
	char *scope;   /* may be NULL */
};

/* Parses a WWW-Authenticate header value (RFC 7235 auth-params, quoted or
 * token values, any order). -EINVAL when it is not a challenge. Release with
 * auth_challenge_release. */
int auth_parse_challenge(const char *header, struct auth_challenge *out);
void auth_challenge_release(struct auth_challenge *c);

/* Looks up credentials for a registry host in path (NULL: $DOCKER_CONFIG/config.json,
 * then ~/.docker/config.json). Matches "host", "https://host", "http://host",
 * "https://host/v1/" style keys; docker.io also matches "https://index.docker.io/v1/".
 * Returns 0 with *user and *password malloc'd, -ENOENT when there are none,
 * -EBADMSG with a message when the file is malformed. */
int auth_lookup_credentials(const char *path, const char *host, char **user, char **password,
			    struct strata_error *err);

#endif
