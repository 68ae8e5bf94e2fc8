/* conf: strata's settings — defaults, then the configuration file
 * (strata.conf(5)), then STRATA_* environment overrides, then command-line
 * flags; each key remembers which of them it came from. */
#ifndef STRATA_CONF_H
#define STRATA_CONF_H

#include <stdint.h>

#include "error.h"

/* Limits that turn hostile input into clear errors (ARCHITECTURE.md,
 * "Bounded resources"). */
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
	char *metrics_address;     /* [HOST:]PORT serving /metrics over TCP; NULL = off */
	char *admin_group;         /* group whose members administer the daemon's store; NULL = none */
	char *socket_group;        /* group of STORE/strata.sock; NULL = the daemon's */
	char **insecure;           /* registries allowed over plain HTTP / bad TLS; NULL-terminated */
	char **certs_dirs;         /* certs.d directories (tlsconf.h); NULL-terminated */
	char *ca_file;             /* one more CA bundle for every registry; NULL = none */
	int compression_level;     /* zstd level for chunks */
	int jobs;                  /* layers ingested at once */
	int prescan_secrets;       /* the daemon scans small files for secrets as it ingests */
	uint64_t checkpoint_interval; /* uncompressed bytes between a layer's checkpoints */
	int retries;               /* attempts per registry request */
	int stall_timeout;         /* seconds without a byte before a transfer counts as cut */
	uint64_t cache_max_size;   /* store budget in bytes; 0 = unbounded */
	int cache_low_watermark;   /* percent of the budget eviction goes down to */
	/* Credentials a client handed the daemon with one request, for one
	 * registry host; they win over the credentials file for that host. */
	const char *auth_host, *auth_user, *auth_password;
	/* A local source (oci:, docker-archive:) the caller opened itself and
	 * handed over, for one request; -1: the reference's path is opened.
	 * Files beneath it are opened by source_open_beneath when set (with the
	 * caller's rights: a function of the daemon's), else by this process. */
	int source_fd;
	/* For one request: layers that carry an eStargz TOC are built from it
	 * and fetched on read (a mount, pull --lazy) rather than pulled whole. */
	int pull_lazy;
	int (*source_open_beneath)(void *ctx, int dirfd, const char *rel, int flags);
	void *source_open_ctx;
	struct strata_limits limits;
	char **mirrors;            /* "REGISTRY=MIRROR" entries; NULL-terminated */
	int log_level;             /* enum log_level (log.h) */
	int log_syslog;            /* log to syslog rather than stderr */
	unsigned socket_mode;      /* permissions of STORE/strata.sock */
	int allow_other;           /* FUSE mounts with allow_other */
	/* The memo's shared tier (sharedmemo.h); memo_redis NULL: none. */
	char *memo_redis;          /* redis://[USER:PASSWORD@]HOST[:PORT][/DB] */
	char *memo_redis_prefix;   /* of every key strata writes there */
	uint64_t memo_redis_ttl_ms;              /* 0: values never expire */
	uint64_t memo_redis_connect_timeout_ms;
	uint64_t memo_redis_timeout_ms;          /* of one call, all its round trips */
	char *memo_redis_hmac_key_file;          /* NULL: values are not signed */
	/* The configuration file read (absolute), NULL when none was; how it
	 * was named: 0 the default path, 1 STRATA_CONFIG, 2 conf_load_from's
	 * path (--config, which a spawned daemon must be given again). */
	char *config_path;
	int config_explicit;
	char **origins;            /* per key (conf_item order); NULL = default */
};

/* What conf_item describes. */
enum conf_kind {
	CONF_STRING,   /* text; NULL when unset */
	CONF_LIST,     /* comma-separated list */
	CONF_INT,      /* decimal number */
	CONF_SIZE,     /* bytes, written "512M", "4G" */
	CONF_BOOL,
	CONF_MODE,     /* octal permissions */
	CONF_WORD,     /* one of a few words (log.level, log.destination) */
	CONF_DURATION, /* a time, written "250ms", "2s", "30d"; number is milliseconds */
};

/* One key of the configuration and its current value. */
struct conf_item {
	const char *key;       /* "cache.max_size" */
	const char *env;       /* "STRATA_CACHE_MAX_SIZE" */
	enum conf_kind kind;
	char *text;            /* the value as strata.conf spells it (malloc'd); NULL = unset */
	uint64_t number;       /* CONF_INT, CONF_SIZE, CONF_BOOL, CONF_MODE, CONF_DURATION */
	char *const *list;     /* CONF_LIST: borrowed from the conf, NULL-terminated */
	const char *origin;    /* "default", "file:LINE", "env NAME", or what conf_set was told */
};

/* Fills defaults, reads the configuration file and applies the environment:
 * conf_load_from(c, NULL, err). Returns 0 or a negative errno with err set
 * to one line ("FILE:LINE: unknown key 'x' in [cache]"); c is then empty. */
int conf_load(struct strata_conf *c, struct strata_error *err);
/* The same with the file given by --config: path, else $STRATA_CONFIG, else
 * STRATA_SYSCONFDIR/strata/strata.conf. Only the last may be missing. */
int conf_load_from(struct strata_conf *c, const char *path, struct strata_error *err);
/* Sets key ("store.path") from a command-line flag, checked as in the file;
 * origin ("flag --store") is what conf_item reports. 0 or -EINVAL/-ENOENT
 * with err set. */
int conf_set(struct strata_conf *c, const char *key, const char *value, const char *origin,
	     struct strata_error *err);
/* Key i (0, 1, ... in strata.conf(5) order) of c into *out; -ENOENT past the
 * last key. Release *out with conf_item_release. */
int conf_item(const struct strata_conf *c, size_t i, struct conf_item *out);
void conf_item_release(struct conf_item *it);
/* The path of the configuration file when neither --config nor STRATA_CONFIG
 * names one. Static string. */
const char *conf_default_path(void);
void conf_release(struct strata_conf *c);
int conf_is_insecure(const struct strata_conf *c, const char *registry_host);
/* The mirror configured for a registry host ("docker.io"), NULL if none.
 * Borrowed from c. */
const char *conf_mirror(const struct strata_conf *c, const char *registry_host);

/* "512M", "4G", "4GiB", "1.5T", "123" (bytes). -EINVAL on anything else. */
int conf_parse_size(const char *s, uint64_t *out);
/* "90s", "12h", "7d", "30m". -EINVAL on anything else. */
int conf_parse_duration(const char *s, uint64_t *seconds);
/* The same, and "250ms", in milliseconds; a bare number is seconds. */
int conf_parse_duration_ms(const char *s, uint64_t *ms);

/* A Redis server's address, redis://[USER[:PASSWORD]@]HOST[:PORT][/DB]
 * (USER and PASSWORD percent-encoded; HOST an IPv6 address in brackets).
 * Every string is malloc'd; release with conf_redis_url_release. */
struct conf_redis_url {
	char *user, *password;     /* NULL when not given */
	char *host;
	int port;                  /* 6379 unless given */
	int db;                    /* 0 unless given */
};
/* 0, -EINVAL for anything else, -ENOMEM. */
int conf_parse_redis_url(const char *s, struct conf_redis_url *out);
void conf_redis_url_release(struct conf_redis_url *u);
/* s with its password replaced by "*****", for messages and `config
 * show`. malloc'd; NULL when out of memory. */
char *conf_redis_url_redacted(const char *s);

#endif
