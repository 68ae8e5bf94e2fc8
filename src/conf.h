/* conf: strata's settings — defaults, then the configuration file (later),
 * then STRATA_* environment overrides, then command-line flags. */
#ifndef STRATA_CONF_H
#define STRATA_CONF_H

#include <stdint.h>

#include "error.h"

/* Limits that turn hostile input into clear errors (DESIGN invariant 5). */
struct strata_limits {
	uint64_t max_entries;      /* tar entries in one layer */
	uint64_t max_path;         /* bytes in one normalised path */
	uint64_t max_name;         /* bytes in one path component */
	uint64_t max_depth;        /* path components */
	uint64_t max_layer_size;   /* uncompressed bytes of one layer */
	uint64_t max_manifest;     /* bytes of a manifest, index or config */
	uint64_t max_xattr;        /* bytes of one entry's xattrs together */
};

struct strata_conf {
	char *store;               /* store directory */
	char *platform;            /* os/arch[/variant]; NULL = the host's */
	char *credentials;         /* docker config.json; NULL = the usual places */
	char **insecure;           /* registries allowed over plain HTTP / bad TLS; NULL-terminated */
	int compression_level;     /* zstd level for chunks */
	int jobs;                  /* layers ingested at once */
	int retries;               /* attempts per registry request */
	/* Credentials a client handed the daemon with one request, for one
	 * registry host; they win over the credentials file for that host. */
	const char *auth_host, *auth_user, *auth_password;
	struct strata_limits limits;
};

/* Fills defaults and applies the environment. Returns 0 or a negative
 * errno with err set (a bad value in an environment variable). */
int conf_load(struct strata_conf *c, struct strata_error *err);
void conf_release(struct strata_conf *c);
int conf_is_insecure(const struct strata_conf *c, const char *registry_host);

/* "512M", "4G", "4GiB", "1.5T", "123" (bytes). -EINVAL on anything else. */
int conf_parse_size(const char *s, uint64_t *out);
/* "90s", "12h", "7d", "30m". -EINVAL on anything else. */
int conf_parse_duration(const char *s, uint64_t *seconds);

#endif
