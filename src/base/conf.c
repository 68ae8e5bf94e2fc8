/* conf: settings with their defaults, the configuration file (strata.conf(5)),
 * environment overrides and flags, each key remembering where it came from. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "digest.h"
#include "log.h"
#include "util.h"

#ifndef STRATA_SYSCONFDIR
#define STRATA_SYSCONFDIR "/etc"
#endif

#define CONF_FILE_MAX (1 << 20)

/* How a key's value is held in struct strata_conf. */
enum field { F_STR, F_LIST, F_INT, F_U64, F_UINT };

struct key_def {
	const char *section, *name, *env;
	const char *key;        /* "section.name" */
	enum conf_kind kind;
	enum field field;
	size_t off;
	uint64_t lo, hi;        /* CONF_INT and CONF_SIZE bounds */
	int none_ok;            /* CONF_SIZE: "none" means 0, unbounded */
};

#define OFF(f) offsetof(struct strata_conf, f)

/* strata.conf(5) documents the keys in this order; conf_item follows it. */
static const struct key_def keys[] = {
	{ "store", "path", "STRATA_STORE", "store.path", CONF_STRING, F_STR, OFF(store), 0, 0, 0 },
	{ "cache", "max_size", "STRATA_CACHE_MAX_SIZE", "cache.max_size", CONF_SIZE, F_U64, OFF(cache_max_size), 0, UINT64_MAX, 1 },
	{ "cache", "low_watermark", "STRATA_CACHE_LOW_WATERMARK", "cache.low_watermark", CONF_INT, F_INT, OFF(cache_low_watermark), 10, 100, 0 },
	{ "chunks", "compression_level", "STRATA_CHUNKS_COMPRESSION_LEVEL", "chunks.compression_level", CONF_INT, F_INT, OFF(compression_level), 1, 19, 0 },
	{ "pull", "platform", "STRATA_PLATFORM", "pull.platform", CONF_STRING, F_STR, OFF(platform), 0, 0, 0 },
	{ "pull", "jobs", "STRATA_PULL_JOBS", "pull.jobs", CONF_INT, F_INT, OFF(jobs), 1, 64, 0 },
	{ "pull", "prescan_secrets", "STRATA_PULL_PRESCAN_SECRETS", "pull.prescan_secrets", CONF_BOOL, F_INT, OFF(prescan_secrets), 0, 1, 0 },
	{ "pull", "checkpoint_interval", "STRATA_PULL_CHECKPOINT_INTERVAL", "pull.checkpoint_interval", CONF_SIZE, F_U64, OFF(checkpoint_interval), 64 << 10, 1ULL << 30, 0 },
	{ "registry", "mirrors", "STRATA_REGISTRY_MIRRORS", "registry.mirrors", CONF_LIST, F_LIST, OFF(mirrors), 0, 0, 0 },
	{ "registry", "insecure", "STRATA_REGISTRY_INSECURE", "registry.insecure", CONF_LIST, F_LIST, OFF(insecure), 0, 0, 0 },
	{ "registry", "certs_dirs", "STRATA_REGISTRY_CERTS_DIRS", "registry.certs_dirs", CONF_LIST, F_LIST, OFF(certs_dirs), 0, 0, 0 },
	{ "registry", "ca_file", "STRATA_REGISTRY_CA_FILE", "registry.ca_file", CONF_STRING, F_STR, OFF(ca_file), 0, 0, 0 },
	{ "registry", "credentials", "STRATA_REGISTRY_CREDENTIALS", "registry.credentials", CONF_STRING, F_STR, OFF(credentials), 0, 0, 0 },
	{ "registry", "retries", "STRATA_REGISTRY_RETRIES", "registry.retries", CONF_INT, F_INT, OFF(retries), 1, 100, 0 },
	{ "registry", "stall_timeout", "STRATA_REGISTRY_STALL_TIMEOUT", "registry.stall_timeout", CONF_INT, F_INT, OFF(stall_timeout), 1, 3600, 0 },
	{ "limits", "max_entries", "STRATA_LIMITS_MAX_ENTRIES", "limits.max_entries", CONF_INT, F_U64, OFF(limits.max_entries), 1, UINT64_MAX, 0 },
	{ "limits", "max_path", "STRATA_LIMITS_MAX_PATH", "limits.max_path", CONF_INT, F_U64, OFF(limits.max_path), 1, UINT64_MAX, 0 },
	{ "limits", "max_name", "STRATA_LIMITS_MAX_NAME", "limits.max_name", CONF_INT, F_U64, OFF(limits.max_name), 1, UINT64_MAX, 0 },
	{ "limits", "max_depth", "STRATA_LIMITS_MAX_DEPTH", "limits.max_depth", CONF_INT, F_U64, OFF(limits.max_depth), 1, UINT64_MAX, 0 },
	{ "limits", "max_layer_size", "STRATA_LIMITS_MAX_LAYER_SIZE", "limits.max_layer_size", CONF_SIZE, F_U64, OFF(limits.max_layer_size), 1, UINT64_MAX, 0 },
	{ "limits", "max_manifest_size", "STRATA_LIMITS_MAX_MANIFEST_SIZE", "limits.max_manifest_size", CONF_SIZE, F_U64, OFF(limits.max_manifest), 1, UINT64_MAX, 0 },
	{ "limits", "max_xattr", "STRATA_LIMITS_MAX_XATTR", "limits.max_xattr", CONF_SIZE, F_U64, OFF(limits.max_xattr), 1, UINT64_MAX, 0 },
	{ "log", "level", "STRATA_LOG_LEVEL", "log.level", CONF_WORD, F_INT, OFF(log_level), 0, 0, 0 },
	{ "log", "destination", "STRATA_LOG_DESTINATION", "log.destination", CONF_WORD, F_INT, OFF(log_syslog), 0, 0, 0 },
	{ "daemon", "socket_mode", "STRATA_DAEMON_SOCKET_MODE", "daemon.socket_mode", CONF_MODE, F_UINT, OFF(socket_mode), 0, 0777, 0 },
	{ "daemon", "allow_other", "STRATA_DAEMON_ALLOW_OTHER", "daemon.allow_other", CONF_BOOL, F_INT, OFF(allow_other), 0, 1, 0 },
	{ "daemon", "metrics_address", "STRATA_DAEMON_METRICS_ADDRESS", "daemon.metrics_address", CONF_STRING, F_STR, OFF(metrics_address), 0, 0, 0 },
	{ "daemon", "socket_group", "STRATA_DAEMON_SOCKET_GROUP", "daemon.socket_group", CONF_STRING, F_STR, OFF(socket_group), 0, 0, 0 },
	{ "daemon", "admin_group", "STRATA_DAEMON_ADMIN_GROUP", "daemon.admin_group", CONF_STRING, F_STR, OFF(admin_group), 0, 0, 0 },
	{ "memo", "redis", "STRATA_MEMO_REDIS", "memo.redis", CONF_STRING, F_STR, OFF(memo_redis), 0, 0, 0 },
	{ "memo", "redis_prefix", "STRATA_MEMO_REDIS_PREFIX", "memo.redis_prefix", CONF_STRING, F_STR, OFF(memo_redis_prefix), 0, 0, 0 },
	{ "memo", "redis_ttl", "STRATA_MEMO_REDIS_TTL", "memo.redis_ttl", CONF_DURATION, F_U64, OFF(memo_redis_ttl_ms), 0, 3650ull * 86400000, 0 },
	{ "memo", "redis_connect_timeout", "STRATA_MEMO_REDIS_CONNECT_TIMEOUT", "memo.redis_connect_timeout", CONF_DURATION, F_U64, OFF(memo_redis_connect_timeout_ms), 1, 60000, 0 },
	{ "memo", "redis_timeout", "STRATA_MEMO_REDIS_TIMEOUT", "memo.redis_timeout", CONF_DURATION, F_U64, OFF(memo_redis_timeout_ms), 1, 60000, 0 },
	{ "memo", "redis_hmac_key_file", "STRATA_MEMO_REDIS_HMAC_KEY_FILE", "memo.redis_hmac_key_file", CONF_STRING, F_STR, OFF(memo_redis_hmac_key_file), 0, 0, 0 },
};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

static const char *const level_names[] = { "error", "warn", "info", "debug" };
static const char *const dest_names[] = { "stderr", "syslog" };

static char *default_store(void)
{
	if (geteuid() == 0)
		return strdup("/var/lib/strata");
	const char *xdg = getenv("XDG_DATA_HOME");
	const char *home = getenv("HOME");
	if (xdg && *xdg)
		return path_join(xdg, "strata");
	if (home && *home)
		return str_printf("%s/.local/share/strata", home);
	return strdup("/var/lib/strata");
}

/* Where podman and Docker look for a registry's certificates; rootless
 * podman looks in the user's own directory first. */
static char *default_certs_dirs(void)
{
	const char *sys = "/etc/containers/certs.d, /etc/docker/certs.d";
	if (geteuid() == 0)
		return strdup(sys);
	const char *xdg = getenv("XDG_CONFIG_HOME");
	const char *home = getenv("HOME");
	if (xdg && *xdg)
		return str_printf("%s/containers/certs.d, %s", xdg, sys);
	if (home && *home)
		return str_printf("%s/.config/containers/certs.d, %s", home, sys);
	return strdup(sys);
}

static void free_list(char **v)
{
	if (v)
		for (char **p = v; *p; p++)
			free(*p);
	free(v);
}

static char **split_list(const char *s)
{
	size_t n = 1;
	for (const char *p = s; *p; p++)
		n += *p == ',';
	char **v = calloc(n + 1, sizeof(*v));
	if (!v)
		return NULL;
	size_t i = 0;
	const char *start = s;
	for (const char *p = s;; p++) {
		if (*p == ',' || *p == '\0') {
			while (start < p && isspace((unsigned char)*start))
				start++;
			size_t len = (size_t)(p - start);
			while (len && isspace((unsigned char)start[len - 1]))
				len--;
			if (len && !(v[i++] = strndup(start, len))) {
				free_list(v);
				return NULL;
			}
			if (!*p)
				break;
			start = p + 1;
		}
	}
	return v;
}

static int parse_word(const char *v, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v, names[i]))
			return (int)i;
	return -1;
}

static int parse_bool(const char *v)
{
	static const char *const yes[] = { "true", "yes", "on", "1" }, *const no[] = { "false", "no", "off", "0" };
	if (parse_word(v, yes, 4) >= 0)
		return 1;
	if (parse_word(v, no, 4) >= 0)
		return 0;
	return -1;
}

static int valid_platform(const char *v)
{
	int parts = 1;
	if (*v == '/' || v[strlen(v) - 1] == '/' || strstr(v, "//"))
		return 0;
	for (const char *p = v; *p; p++) {
		if (*p == '/')
			parts++;
		else if (isspace((unsigned char)*p))
			return 0;
	}
	return parts == 2 || parts == 3;
}

/* Checks v for key k and stores it; the message names the value and the key
 * and is prefixed by the caller with where the value was written. */
static int set_value(struct strata_conf *c, size_t k, const char *v, struct strata_error *err)
{
	const struct key_def *d = &keys[k];
	char *field = (char *)c + d->off;
	char name[64];
	snprintf(name, sizeof(name), "%s.%s", d->section, d->name);
	uint64_t n = 0;
	int r;

	switch (d->kind) {
	case CONF_STRING: {
		char *s = NULL;
		if (k == 0 && !*v)
			return error_set(err, -EINVAL, "empty value for %s", name);
		if (!strcmp(d->name, "platform") && *v && !valid_platform(v))
			return error_set(err, -EINVAL, "invalid platform '%s' for %s (OS/ARCH[/VARIANT])", v, name);
		if ((!strcmp(d->name, "ca_file") || !strcmp(d->name, "redis_hmac_key_file")) && *v && *v != '/')
			return error_set(err, -EINVAL, "invalid path '%s' for %s (an absolute path)", v, name);
		if (!strcmp(d->name, "redis") && *v) {
			struct conf_redis_url u;
			int ur = conf_parse_redis_url(v, &u);
			conf_redis_url_release(&u);
			if (ur == -ENOMEM)
				return error_set(err, ur, "out of memory");
			if (ur < 0) {
				char *shown = conf_redis_url_redacted(v);
				error_set(err, -EINVAL, "invalid address '%s' for %s "
					  "(redis://[USER:PASSWORD@]HOST[:PORT][/DB])", shown ? shown : "", name);
				free(shown);
				return -EINVAL;
			}
		}
		if (!strcmp(d->name, "redis_prefix") && (!*v || strlen(v) > 64 || strpbrk(v, " \t*?[]")))
			return error_set(err, -EINVAL, "invalid prefix '%s' for %s (1 to 64 characters, no blank "
					 "or glob character)", v, name);
		if (*v && !(s = strdup(v)))
			return error_set(err, -ENOMEM, "out of memory");
		free(*(char **)field);
		*(char **)field = s;
		return 0;
	}
	case CONF_LIST: {
		char **list = split_list(v);
		if (!list)
			return error_set(err, -ENOMEM, "out of memory");
		if (!strcmp(d->name, "mirrors"))
			for (char **p = list; *p; p++) {
				char *eq = strchr(*p, '=');
				if (!eq || eq == *p || !eq[1] || strpbrk(*p, " \t")) {
					error_set(err, -EINVAL, "invalid mirror '%s' for %s (REGISTRY=MIRROR)", *p, name);
					free_list(list);
					return -EINVAL;
				}
			}
		if (!strcmp(d->name, "certs_dirs"))
			for (char **p = list; *p; p++)
				if (**p != '/') {
					error_set(err, -EINVAL, "invalid path '%s' for %s (absolute paths)", *p, name);
					free_list(list);
					return -EINVAL;
				}
		free_list(*(char ***)field);
		*(char ***)field = list;
		return 0;
	}
	case CONF_SIZE:
		if (d->none_ok && !strcmp(v, "none"))
			n = 0;
		else if ((r = conf_parse_size(v, &n)) < 0)
			return error_set(err, -EINVAL, r == -ERANGE ? "size '%s' for %s is too large"
					 : "invalid size '%s' for %s (a whole number of bytes, or a number with a unit "
					   "K, M, G or T, such as 512M or 1.5G)", v, name);
		if (!(d->none_ok && n == 0) && (n < d->lo || n > d->hi))
			return error_set(err, -EINVAL, "size '%s' for %s is %s", v, name,
					 n < d->lo ? "too small" : "too large");
		break;
	case CONF_INT: {
		char *end;
		errno = 0;
		unsigned long long x = isdigit((unsigned char)*v) ? strtoull(v, &end, 10) : 0;
		if (!isdigit((unsigned char)*v) || errno || *end)
			return error_set(err, -EINVAL, "invalid number '%s' for %s", v, name);
		if (x < d->lo || x > d->hi) {
			if (d->hi == UINT64_MAX)
				return error_set(err, -EINVAL, "number '%s' for %s is below %llu", v, name,
						 (unsigned long long)d->lo);
			return error_set(err, -EINVAL, "number '%s' for %s is outside %llu..%llu", v, name,
					 (unsigned long long)d->lo, (unsigned long long)d->hi);
		}
		n = x;
		break;
	}
	case CONF_BOOL: {
		int b = parse_bool(v);
		if (b < 0)
			return error_set(err, -EINVAL, "invalid boolean '%s' for %s (true or false)", v, name);
		n = (uint64_t)b;
		break;
	}
	case CONF_MODE: {
		char *end = NULL;
		size_t len = strlen(v);
		unsigned long x = len && len <= 4 && v[0] >= '0' && v[0] <= '7' ? strtoul(v, &end, 8) : 01000;
		if (x > d->hi || *end)
			return error_set(err, -EINVAL, "invalid mode '%s' for %s (octal, such as 0600)", v, name);
		n = x;
		break;
	}
	case CONF_DURATION:
		if ((r = conf_parse_duration_ms(v, &n)) < 0)
			return error_set(err, -EINVAL, r == -ERANGE ? "duration '%s' for %s is too long"
					 : "invalid duration '%s' for %s (a number with a unit ms, s, m, h or d, "
					   "such as 250ms or 30d)", v, name);
		if (n < d->lo || n > d->hi)
			return error_set(err, -EINVAL, "duration '%s' for %s is %s", v, name,
					 n < d->lo ? "too short" : "too long");
		break;
	case CONF_WORD: {
		int w = !strcmp(d->name, "level") ? parse_word(v, level_names, 4) : parse_word(v, dest_names, 2);
		if (w < 0)
			return error_set(err, -EINVAL, "invalid %s '%s' for %s (%s)",
					 !strcmp(d->name, "level") ? "log level" : "log destination", v, name,
					 !strcmp(d->name, "level") ? "error, warn, info or debug" : "stderr or syslog");
		n = (uint64_t)w;
		break;
	}
	}
	switch (d->field) {
	case F_INT: *(int *)field = (int)n; break;
	case F_UINT: *(unsigned *)field = (unsigned)n; break;
	case F_U64: *(uint64_t *)field = n; break;
	default: break;
	}
	return 0;
}

static int set_origin(struct strata_conf *c, size_t k, char *origin, struct strata_error *err)
{
	if (!origin)
		return error_set(err, -ENOMEM, "out of memory");
	free(c->origins[k]);
	c->origins[k] = origin;
	return 0;
}

static int find_key(const char *section, const char *name)
{
	for (size_t k = 0; k < NKEYS; k++)
		if (!strcmp(keys[k].section, section) && !strcmp(keys[k].name, name))
			return (int)k;
	return -1;
}

static int known_section(const char *section)
{
	for (size_t k = 0; k < NKEYS; k++)
		if (!strcmp(keys[k].section, section))
			return 1;
	return 0;
}

static char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	size_t n = strlen(s);
	while (n && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	return s;
}

/* Nothing but blanks and a comment may follow a section or a quoted value. */
static int only_comment(const char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	return !*s || *s == '#' || *s == ';';
}

/* One "key = value" line, value unquoted and stripped of a trailing comment
 * in place. Returns the value, or NULL with *why set. */
static char *split_value(char *eq, const char **why)
{
	char *v = eq + 1;
	while (isspace((unsigned char)*v))
		v++;
	if (*v == '"' || *v == '\'') {
		char *close = strchr(v + 1, *v);
		if (!close) {
			*why = "unterminated quoted value";
			return NULL;
		}
		if (!only_comment(close + 1)) {
			*why = "text after the quoted value";
			return NULL;
		}
		*close = '\0';
		return v + 1;
	}
	/* A comment after a value starts with # or ; after a blank, so that
	 * "a;b" stays one value. */
	for (char *p = v; *p; p++)
		if ((*p == '#' || *p == ';') && (p == v || isspace((unsigned char)p[-1]))) {
			*p = '\0';
			break;
		}
	return trim(v);
}

static int parse_text(struct strata_conf *c, const char *path, char *text, struct strata_error *err)
{
	char section[64] = "";
	unsigned line = 0;
	for (char *next = text; next;) {
		char *s = next;
		next = strchr(s, '\n');
		if (next)
			*next++ = '\0';
		line++;
		s = trim(s);
		if (!*s || *s == '#' || *s == ';')
			continue;
		if (*s == '[') {
			char *close = strchr(s, ']');
			if (!close || !only_comment(close + 1))
				return error_set(err, -EINVAL, "%s:%u: invalid section header '%s'", path, line, s);
			*close = '\0';
			char *name = trim(s + 1);
			if (!known_section(name) || strlen(name) >= sizeof(section))
				return error_set(err, -EINVAL, "%s:%u: unknown section '[%s]'", path, line, name);
			strcpy(section, name);
			continue;
		}
		char *eq = strchr(s, '=');
		if (!eq)
			return error_set(err, -EINVAL, "%s:%u: expected 'key = value' or '[section]', not '%s'",
					 path, line, s);
		*eq = '\0';
		char *key = trim(s);
		if (!*section)
			return error_set(err, -EINVAL, "%s:%u: key '%s' before any [section]", path, line, key);
		int k = find_key(section, key);
		if (k < 0)
			return error_set(err, -EINVAL, "%s:%u: unknown key '%s' in [%s]", path, line, key, section);
		const char *why = NULL;
		char *value = split_value(eq, &why);
		if (!value)
			return error_set(err, -EINVAL, "%s:%u: %s for %s.%s", path, line, why, section, key);
		int r = set_value(c, (size_t)k, value, err);
		if (r < 0)
			return error_prefix(err, "%s:%u: ", path, line), r;
		if ((r = set_origin(c, (size_t)k, str_printf("file:%u", line), err)) < 0)
			return r;
	}
	return 0;
}

const char *conf_default_path(void)
{
	return STRATA_SYSCONFDIR "/strata/strata.conf";
}

static int read_conf_file(struct strata_conf *c, const char *path, int explicit,
			  struct strata_error *err)
{
	char *text = NULL;
	size_t len = 0;
	int r = read_file(path, CONF_FILE_MAX, &text, &len);
	if (r == -ENOENT && !explicit)
		return 0;
	if (r == -EFBIG)
		return error_set(err, r, "configuration file '%s': larger than %d bytes", path, CONF_FILE_MAX);
	if (r == -EBADFD)
		return error_set(err, -EINVAL, "configuration file '%s' is not a regular file", path);
	if (r < 0) {
		char why[128];
		snprintf(why, sizeof(why), "%s", strerror(-r));
		why[0] = (char)tolower((unsigned char)why[0]);
		return error_set(err, r, "cannot read configuration file '%s': %s", path, why);
	}
	/* Text only: a NUL would end every line parser's view of the file. */
	const char *nul = memchr(text, '\0', len);
	if (nul) {
		size_t at = (size_t)(nul - text);
		free(text);
		return error_set(err, -EINVAL, "configuration file '%s': a NUL byte at offset %zu (not a text file)",
				 path, at);
	}
	/* The daemon runs in another directory: keep a path it can reopen. */
	c->config_path = realpath(path, NULL);
	if (!c->config_path)
		c->config_path = strdup(path);
	c->config_explicit = explicit;
	r = c->config_path ? parse_text(c, path, text, err) : error_set(err, -ENOMEM, "out of memory");
	free(text);
	return r;
}

static int apply_env(struct strata_conf *c, struct strata_error *err)
{
	for (size_t k = 0; k < NKEYS; k++) {
		const char *v = getenv(keys[k].env);
		if (!v || !*v)
			continue;
		if (strpbrk(v, "\n\r"))
			return error_set(err, -EINVAL, "environment variable %s: value spans lines", keys[k].env);
		int r = set_value(c, k, v, err);
		if (r < 0)
			return error_prefix(err, "environment variable %s: ", keys[k].env), r;
		if ((r = set_origin(c, k, str_printf("env %s", keys[k].env), err)) < 0)
			return r;
	}
	return 0;
}

int conf_load_from(struct strata_conf *c, const char *path, struct strata_error *err)
{
	memset(c, 0, sizeof(*c));
	/* Level 1 compresses the chunks of a pull about 30% faster than 3 for
	 * about 4% more store (BENCHMARKS.md): the pull is CPU-bound. */
	c->compression_level = 1;
	c->prescan_secrets = 1;
	c->checkpoint_interval = 4u << 20;
	c->jobs = 3;
	c->retries = 5;
	c->stall_timeout = 30;
	c->cache_low_watermark = 90;
	c->limits.max_entries = 1000000;
	c->limits.max_path = 4096;
	c->limits.max_name = 255;
	c->limits.max_depth = 1024;
	c->limits.max_layer_size = 64ULL << 30;
	c->limits.max_manifest = 4 << 20;
	c->limits.max_xattr = 64 << 10;
	c->log_level = LOG_LVL_WARN;
	c->socket_mode = 0600;
	c->source_fd = -1;
	c->memo_redis_ttl_ms = 30ull * 86400000;
	c->memo_redis_connect_timeout_ms = 250;
	c->memo_redis_timeout_ms = 500;
	c->memo_redis_prefix = strdup("strata:");
	c->store = default_store();
	c->insecure = calloc(1, sizeof(char *));
	c->mirrors = calloc(1, sizeof(char *));
	char *dirs = default_certs_dirs();
	c->certs_dirs = dirs ? split_list(dirs) : NULL;
	free(dirs);
	c->origins = calloc(NKEYS, sizeof(char *));
	int r;
	if (!c->store || !c->memo_redis_prefix || !c->insecure || !c->mirrors || !c->certs_dirs || !c->origins) {
		r = error_set(err, -ENOMEM, "out of memory");
		goto fail;
	}

	const char *env = getenv("STRATA_CONFIG");
	int explicit = 2;
	if (!path || !*path) {
		path = env && *env ? env : NULL;
		explicit = 1;
	}
	if (!path) {
		path = conf_default_path();
		explicit = 0;
	}
	if ((r = read_conf_file(c, path, explicit, err)) < 0 || (r = apply_env(c, err)) < 0)
		goto fail;
	return 0;
fail:
	conf_release(c);
	return r;
}

int conf_load(struct strata_conf *c, struct strata_error *err)
{
	return conf_load_from(c, NULL, err);
}

int conf_set(struct strata_conf *c, const char *key, const char *value, const char *origin,
	     struct strata_error *err)
{
	const char *dot = strchr(key, '.');
	char section[64];
	if (!dot || (size_t)(dot - key) >= sizeof(section))
		return error_set(err, -ENOENT, "unknown configuration key '%s'", key);
	memcpy(section, key, (size_t)(dot - key));
	section[dot - key] = '\0';
	int k = find_key(section, dot + 1);
	if (k < 0)
		return error_set(err, -ENOENT, "unknown configuration key '%s'", key);
	int r = set_value(c, (size_t)k, value, err);
	if (r < 0)
		return error_prefix(err, "%s: ", origin), r;
	return set_origin(c, (size_t)k, strdup(origin), err);
}

/* "3G" rather than 3221225472 when the size is a whole number of a unit. */
static char *format_exact_size(uint64_t n)
{
	static const char units[] = "KMGT";
	int u = -1;
	while (n && u < 3 && n % 1024 == 0) {
		n /= 1024;
		u++;
	}
	return u < 0 ? str_printf("%llu", (unsigned long long)n)
		     : str_printf("%llu%c", (unsigned long long)n, units[u]);
}

/* "30d" rather than 2592000000 (milliseconds): the largest whole unit. */
static char *format_duration_ms(uint64_t ms)
{
	static const struct { uint64_t ms; const char *unit; } units[] = {
		{ 86400000, "d" }, { 3600000, "h" }, { 60000, "m" }, { 1000, "s" },
	};
	if (!ms)
		return strdup("0");
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (ms % units[i].ms == 0)
			return str_printf("%llu%s", (unsigned long long)(ms / units[i].ms), units[i].unit);
	return str_printf("%llums", (unsigned long long)ms);
}

int conf_item(const struct strata_conf *c, size_t i, struct conf_item *out)
{
	memset(out, 0, sizeof(*out));
	if (i >= NKEYS)
		return -ENOENT;
	const struct key_def *d = &keys[i];
	const char *field = (const char *)c + d->off;
	out->key = d->key;
	out->env = d->env;
	out->kind = d->kind;
	out->origin = c->origins && c->origins[i] ? c->origins[i] : "default";
	switch (d->field) {
	case F_STR: {
		const char *s = *(char *const *)field;
		/* A password is not shown. */
		if (s && !(out->text = d->off == OFF(memo_redis) ? conf_redis_url_redacted(s) : strdup(s)))
			return -ENOMEM;
		return 0;
	}
	case F_LIST: {
		char *const *list = *(char **const *)field;
		out->list = list;
		size_t len = 1;
		for (char *const *p = list; p && *p; p++)
			len += strlen(*p) + 2;
		char *t = calloc(1, len);
		if (!t)
			return -ENOMEM;
		for (char *const *p = list; p && *p; p++) {
			if (p != list)
				strcat(t, ", ");
			strcat(t, *p);
		}
		out->text = t;
		return 0;
	}
	case F_INT: out->number = (uint64_t)*(const int *)field; break;
	case F_UINT: out->number = *(const unsigned *)field; break;
	case F_U64: out->number = *(const uint64_t *)field; break;
	}
	switch (d->kind) {
	case CONF_SIZE: out->text = d->none_ok && !out->number ? strdup("none") : format_exact_size(out->number); break;
	case CONF_BOOL: out->text = strdup(out->number ? "true" : "false"); break;
	case CONF_MODE: out->text = str_printf("%04o", (unsigned)out->number); break;
	case CONF_DURATION: out->text = format_duration_ms(out->number); break;
	case CONF_WORD:
		out->text = strdup(!strcmp(d->name, "level") ? level_names[out->number & 3]
				   : dest_names[out->number & 1]);
		break;
	default: out->text = str_printf("%llu", (unsigned long long)out->number); break;
	}
	return out->text ? 0 : -ENOMEM;
}

void conf_item_release(struct conf_item *it)
{
	if (!it)
		return;
	free(it->text);
	memset(it, 0, sizeof(*it));
}

void conf_release(struct strata_conf *c)
{
	free(c->store);
	free(c->platform);
	free(c->credentials);
	free(c->metrics_address);
	free(c->admin_group);
	free(c->socket_group);
	free_list(c->insecure);
	free_list(c->mirrors);
	free_list(c->certs_dirs);
	free(c->ca_file);
	free(c->memo_redis);
	free(c->memo_redis_prefix);
	free(c->memo_redis_hmac_key_file);
	if (c->origins)
		for (size_t k = 0; k < NKEYS; k++)
			free(c->origins[k]);
	free(c->origins);
	free(c->config_path);
	memset(c, 0, sizeof(*c));
}

int conf_is_insecure(const struct strata_conf *c, const char *host)
{
	if (!c->insecure)
		return 0;
	for (char **p = c->insecure; *p; p++)
		if (!strcmp(*p, host))
			return 1;
	return 0;
}

const char *conf_mirror(const struct strata_conf *c, const char *host)
{
	size_t n = strlen(host);
	if (!c->mirrors)
		return NULL;
	for (char **p = c->mirrors; *p; p++)
		if (!strncmp(*p, host, n) && (*p)[n] == '=')
			return *p + n + 1;
	return NULL;
}

/* DIGITS[.DIGITS]: the whole part and the fraction as fracnum/fracden.
 * Decimal only: no sign, no hex, no exponent. Returns the end, or NULL. */
static const char *parse_decimal(const char *s, uint64_t *whole, uint64_t *fracnum, uint64_t *fracden)
{
	const char *p = s;
	*whole = 0;
	*fracnum = 0;
	*fracden = 1;
	if (!isdigit((unsigned char)*p))
		return NULL;
	for (; isdigit((unsigned char)*p); p++) {
		uint64_t d = (uint64_t)(*p - '0');
		if (*whole > UINT64_MAX / 10 || (*whole == UINT64_MAX / 10 && d > UINT64_MAX % 10))
			return NULL;
		*whole = *whole * 10 + d;
	}
	if (*p != '.')
		return p;
	if (!isdigit((unsigned char)*++p))
		return NULL;
	for (; isdigit((unsigned char)*p); p++)
		if (*fracden <= UINT64_MAX / 100) { /* digits past 18 do not matter */
			*fracnum = *fracnum * 10 + (uint64_t)(*p - '0');
			*fracden *= 10;
		}
	return p;
}

/* whole * mult + fracnum * mult / fracden, or -ERANGE past 2^64 - 1. */
static int scale_value(uint64_t whole, uint64_t fracnum, uint64_t fracden, uint64_t mult, uint64_t *out)
{
	if (mult && whole > UINT64_MAX / mult)
		return -ERANGE;
	uint64_t v = whole * mult;
	uint64_t f = (uint64_t)((unsigned __int128)fracnum * mult / fracden);
	if (v > UINT64_MAX - f)
		return -ERANGE;
	*out = v + f;
	return 0;
}

int conf_parse_size(const char *s, uint64_t *out)
{
	uint64_t whole, num, den, mult = 1;
	const char *p = parse_decimal(s, &whole, &num, &den);
	if (!p)
		return -EINVAL;
	switch (*p) {
	case 'k': case 'K': mult = 1ull << 10; p++; break;
	case 'm': case 'M': mult = 1ull << 20; p++; break;
	case 'g': case 'G': mult = 1ull << 30; p++; break;
	case 't': case 'T': mult = 1ull << 40; p++; break;
	case 'b': case 'B': p++; break;
	default: break;
	}
	if (mult > 1 && (!strcmp(p, "iB") || !strcmp(p, "B") || !strcmp(p, "ib")))
		p += strlen(p);
	if (*p)
		return -EINVAL;
	/* A byte count is whole: "0.5" is no size (it used to mean 0, unbounded). */
	if (mult == 1 && num)
		return -EINVAL;
	int r = scale_value(whole, num, den, mult, out);
	if (r == 0 && *out == 0 && (whole || num))
		return -EINVAL; /* less than a byte */
	return r;
}

int conf_parse_duration_ms(const char *s, uint64_t *ms)
{
	uint64_t whole, num, den, mult;
	const char *p = parse_decimal(s, &whole, &num, &den);
	if (!p)
		return -EINVAL;
	if (!strcmp(p, "ms"))
		mult = 1;
	else if (!strcmp(p, "s") || !*p)
		mult = 1000;
	else if (!strcmp(p, "m"))
		mult = 60000;
	else if (!strcmp(p, "h"))
		mult = 3600000;
	else if (!strcmp(p, "d"))
		mult = 86400000;
	else
		return -EINVAL;
	return scale_value(whole, num, den, mult, ms);
}

int conf_parse_duration(const char *s, uint64_t *seconds)
{
	uint64_t whole, num, den, mult;
	const char *p = parse_decimal(s, &whole, &num, &den);
	if (!p)
		return -EINVAL;
	if (!strcmp(p, "s") || !*p)
		mult = 1;
	else if (!strcmp(p, "m"))
		mult = 60;
	else if (!strcmp(p, "h"))
		mult = 3600;
	else if (!strcmp(p, "d"))
		mult = 86400;
	else if (!strcmp(p, "w"))
		mult = 7 * 86400;
	else
		return -EINVAL;
	return scale_value(whole, num, den, mult, seconds);
}

/* Percent-decodes n bytes of s; NUL bytes and bad escapes are refused. */
static int url_decode(const char *s, size_t n, char **out)
{
	char *d = malloc(n + 1);
	size_t o = 0;
	if (!(*out = d))
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (s[i] != '%') {
			d[o++] = s[i];
			continue;
		}
		int hi = i + 2 < n ? hex_digit_value(s[i + 1]) : -1;
		int lo = hi >= 0 ? hex_digit_value(s[i + 2]) : -1;
		if (lo < 0 || (hi == 0 && lo == 0)) {
			d[o] = '\0'; /* the caller releases (and wipes) it as a string */
			return -EINVAL;
		}
		d[o++] = (char)(hi << 4 | lo);
		i += 2;
	}
	d[o] = '\0';
	return 0;
}

int conf_parse_redis_url(const char *s, struct conf_redis_url *u)
{
	memset(u, 0, sizeof(*u));
	u->port = 6379;
	if (strncmp(s, "redis://", 8))
		return -EINVAL;
	const char *p = s + 8, *end = p + strcspn(p, "/?#");
	if (*end == '?' || *end == '#')
		return -EINVAL;
	/* USER[:PASSWORD]@: the last '@' before the path ends it. */
	const char *at = NULL;
	for (const char *q = p; q < end; q++)
		if (*q == '@')
			at = q;
	int r;
	if (at) {
		const char *colon = memchr(p, ':', (size_t)(at - p));
		size_t ulen = colon ? (size_t)(colon - p) : (size_t)(at - p);
		if (ulen && (r = url_decode(p, ulen, &u->user)) < 0)
			return r;
		if (colon && (r = url_decode(colon + 1, (size_t)(at - colon - 1), &u->password)) < 0)
			return r;
		p = at + 1;
	}
	const char *host = p, *hend;
	if (*p == '[') {
		if (!(hend = memchr(p, ']', (size_t)(end - p))))
			return -EINVAL;
		host = p + 1;
		p = hend + 1;
	} else {
		hend = p + strcspn(p, ":/");
		if (hend > end)
			hend = end;
		p = hend;
	}
	if (hend == host || memchr(host, '%', (size_t)(hend - host)) || memchr(host, '@', (size_t)(hend - host)))
		return -EINVAL;
	if (!(u->host = strndup(host, (size_t)(hend - host))))
		return -ENOMEM;
	if (p < end && *p == ':') {
		char *e;
		errno = 0;
		long port = isdigit((unsigned char)p[1]) ? strtol(p + 1, &e, 10) : -1;
		if (port < 1 || port > 65535 || errno || e != end)
			return -EINVAL;
		u->port = (int)port;
	} else if (p != end) {
		return -EINVAL;
	}
	if (*end == '/' && end[1]) {
		char *e;
		errno = 0;
		long db = isdigit((unsigned char)end[1]) ? strtol(end + 1, &e, 10) : -1;
		if (db < 0 || db > 65535 || errno || *e)
			return -EINVAL;
		u->db = (int)db;
	}
	return 0;
}

void conf_redis_url_release(struct conf_redis_url *u)
{
	if (!u)
		return;
	if (u->password)
		memset(u->password, 0, strlen(u->password));
	free(u->user);
	free(u->password);
	free(u->host);
	memset(u, 0, sizeof(*u));
}

char *conf_redis_url_redacted(const char *s)
{
	const char *p = strncmp(s, "redis://", 8) ? s : s + 8, *end = p + strcspn(p, "/?#"), *at = NULL;
	for (const char *q = p; q < end; q++)
		if (*q == '@')
			at = q;
	const char *colon = at ? memchr(p, ':', (size_t)(at - p)) : NULL;
	if (!colon)
		return strdup(s);
	return str_printf("%.*s:*****%s", (int)(colon - s), s, at);
}
