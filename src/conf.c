/* conf: settings with their defaults and environment overrides. */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "util.h"

static int env_u64(const char *name, uint64_t *v, int is_size, struct strata_error *err)
{
	const char *s = getenv(name);
	if (!s || !*s)
		return 0;
	int r;
	if (is_size) {
		r = conf_parse_size(s, v);
	} else {
		char *end;
		errno = 0;
		unsigned long long n = strtoull(s, &end, 10);
		r = (errno || *end || end == s || strchr(s, '-')) ? -EINVAL : 0;
		if (!r)
			*v = n;
	}
	if (r < 0)
		return error_set(err, -EINVAL, "environment variable %s: invalid value '%s'", name, s);
	return 0;
}

static int env_int(const char *name, int *v, int lo, int hi, struct strata_error *err)
{
	uint64_t n = (uint64_t)*v;
	int r = env_u64(name, &n, 0, err);
	if (r < 0)
		return r;
	if ((int64_t)n < lo || (int64_t)n > hi)
		return error_set(err, -EINVAL, "environment variable %s: %llu is outside %d..%d", name,
				 (unsigned long long)n, lo, hi);
	*v = (int)n;
	return 0;
}

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
			while (start < p && *start == ' ')
				start++;
			size_t len = (size_t)(p - start);
			while (len && start[len - 1] == ' ')
				len--;
			if (len)
				v[i++] = strndup(start, len);
			if (!*p)
				break;
			start = p + 1;
		}
	}
	return v;
}

int conf_load(struct strata_conf *c, struct strata_error *err)
{
	memset(c, 0, sizeof(*c));
	c->compression_level = 3;
	c->jobs = 3;
	c->retries = 5;
	c->limits.max_entries = 1000000;
	c->limits.max_path = 4096;
	c->limits.max_name = 255;
	c->limits.max_depth = 1024;
	c->limits.max_layer_size = 64ULL << 30;
	c->limits.max_manifest = 4 << 20;
	c->limits.max_xattr = 64 << 10;

	const char *s;
	c->store = (s = getenv("STRATA_STORE")) && *s ? strdup(s) : default_store();
	if ((s = getenv("STRATA_PLATFORM")) && *s)
		c->platform = strdup(s);
	if ((s = getenv("STRATA_REGISTRY_CREDENTIALS")) && *s)
		c->credentials = strdup(s);
	c->insecure = split_list((s = getenv("STRATA_REGISTRY_INSECURE")) ? s : "");

	int r = 0;
	if ((r = env_int("STRATA_CHUNKS_COMPRESSION_LEVEL", &c->compression_level, 1, 19, err)) < 0 ||
	    (r = env_int("STRATA_PULL_JOBS", &c->jobs, 1, 64, err)) < 0 ||
	    (r = env_int("STRATA_REGISTRY_RETRIES", &c->retries, 1, 100, err)) < 0 ||
	    (r = env_u64("STRATA_LIMITS_MAX_ENTRIES", &c->limits.max_entries, 0, err)) < 0 ||
	    (r = env_u64("STRATA_LIMITS_MAX_PATH", &c->limits.max_path, 0, err)) < 0 ||
	    (r = env_u64("STRATA_LIMITS_MAX_NAME", &c->limits.max_name, 0, err)) < 0 ||
	    (r = env_u64("STRATA_LIMITS_MAX_DEPTH", &c->limits.max_depth, 0, err)) < 0 ||
	    (r = env_u64("STRATA_LIMITS_MAX_LAYER_SIZE", &c->limits.max_layer_size, 1, err)) < 0 ||
	    (r = env_u64("STRATA_LIMITS_MAX_MANIFEST_SIZE", &c->limits.max_manifest, 1, err)) < 0) {
		conf_release(c);
		return r;
	}
	if (!c->store || !c->insecure) {
		conf_release(c);
		return error_set(err, -ENOMEM, "out of memory");
	}
	return 0;
}

void conf_release(struct strata_conf *c)
{
	free(c->store);
	free(c->platform);
	free(c->credentials);
	if (c->insecure)
		for (char **p = c->insecure; *p; p++)
			free(*p);
	free(c->insecure);
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

int conf_parse_size(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || v < 0 || !isfinite(v))
		return -EINVAL;
	double mult = 1;
	switch (*end) {
	case 'k': case 'K': mult = 1024.0; end++; break;
	case 'm': case 'M': mult = 1024.0 * 1024; end++; break;
	case 'g': case 'G': mult = 1024.0 * 1024 * 1024; end++; break;
	case 't': case 'T': mult = 1024.0 * 1024 * 1024 * 1024; end++; break;
	case 'b': case 'B': end++; break;
	default: break;
	}
	if (mult > 1 && (!strcmp(end, "iB") || !strcmp(end, "B") || !strcmp(end, "ib")))
		end += strlen(end);
	if (*end)
		return -EINVAL;
	double bytes = v * mult;
	if (bytes > 1.8e19)
		return -EINVAL;
	*out = (uint64_t)bytes;
	return 0;
}

int conf_parse_duration(const char *s, uint64_t *seconds)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || v < 0 || !isfinite(v))
		return -EINVAL;
	double mult;
	if (!strcmp(end, "s") || !*end)
		mult = 1;
	else if (!strcmp(end, "m"))
		mult = 60;
	else if (!strcmp(end, "h"))
		mult = 3600;
	else if (!strcmp(end, "d"))
		mult = 86400;
	else if (!strcmp(end, "w"))
		mult = 7 * 86400;
	else
		return -EINVAL;
	*seconds = (uint64_t)(v * mult);
	return 0;
}
