/* auth: parses WWW-Authenticate challenges (RFC 7235) and finds registry
 * credentials in Docker's config.json. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "auth.h"
#include "src/base/util.h"

#define AUTH_CONFIG_MAX (1 << 20)

static int is_tchar(unsigned char c)
{
	return isalnum(c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

static const char *skip_ws(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

static const char *skip_token(const char *p)
{
	while (is_tchar((unsigned char)*p))
		p++;
	return p;
}

/* Reads a quoted-string starting at the opening quote; *end is set past
 * the closing quote. NULL when unterminated or out of memory. */
static char *read_quoted(const char *p, const char **end)
{
	size_t n = 0;
	const char *q = p + 1;
	for (; *q && *q != '"'; q++, n++)
		if (*q == '\\' && q[1])
			q++;
	if (*q != '"')
		return NULL;
	char *out = malloc(n + 1), *o = out;
	if (!out)
		return NULL;
	for (q = p + 1; *q != '"'; q++) {
		if (*q == '\\' && q[1])
			q++;
		*o++ = *q;
	}
	*o = '\0';
	*end = q + 1;
	return out;
}

void auth_challenge_release(struct auth_challenge *c)
{
	if (!c)
		return;
	free(c->scheme);
	free(c->realm);
	free(c->service);
	free(c->scope);
	memset(c, 0, sizeof(*c));
}

int auth_parse_challenge(const char *header, struct auth_challenge *out)
{
	memset(out, 0, sizeof(*out));
	if (!header)
		return -EINVAL;
	const char *p = skip_ws(header);
	const char *s = p;
	p = skip_token(p);
	if (p == s || (*p && *p != ' ' && *p != '\t'))
		return -EINVAL;
	out->scheme = strndup(s, (size_t)(p - s));
	if (!out->scheme)
		return -ENOMEM;
	for (char *c = out->scheme; *c; c++)
		*c = (char)tolower((unsigned char)*c);

	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (!*p)
			break;
		const char *name = p;
		p = skip_token(p);
		size_t name_len = (size_t)(p - name);
		if (!name_len)
			goto bad;
		p = skip_ws(p);
		if (*p != '=')
			break; /* a token68 or the next challenge: not ours to read */
		p = skip_ws(p + 1);
		char *value;
		if (*p == '"') {
			value = read_quoted(p, &p);
			if (!value)
				goto bad;
		} else {
			const char *v = p;
			p = skip_token(p);
			if (p == v)
				goto bad;
			value = strndup(v, (size_t)(p - v));
			if (!value)
				goto nomem;
		}
		char **slot = NULL;
		if (name_len == 5 && !strncasecmp(name, "realm", 5))
			slot = &out->realm;
		else if (name_len == 7 && !strncasecmp(name, "service", 7))
			slot = &out->service;
		else if (name_len == 5 && !strncasecmp(name, "scope", 5))
			slot = &out->scope;
		if (slot && !*slot)
			*slot = value;
		else
			free(value);
		p = skip_ws(p);
		if (*p && *p != ',')
			goto bad;
	}
	if (!strcmp(out->scheme, "bearer") && (!out->realm || !*out->realm))
		goto bad;
	return 0;
nomem:
	auth_challenge_release(out);
	return -ENOMEM;
bad:
	auth_challenge_release(out);
	return -EINVAL;
}

static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

/* Decodes standard or URL-safe base64, padding optional. NULL when malformed. */
static char *b64_decode(const char *in, size_t *outlen)
{
	size_t n = strlen(in);
	while (n && (in[n - 1] == '=' || in[n - 1] == '\n'))
		n--;
	char *out = malloc(n * 3 / 4 + 2);
	if (!out)
		return NULL;
	size_t o = 0;
	uint32_t acc = 0;
	int bits = 0;
	for (size_t i = 0; i < n; i++) {
		int v = b64_value((unsigned char)in[i]);
		if (v < 0) {
			free(out);
			return NULL;
		}
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (char)((acc >> bits) & 0xff);
		}
	}
	out[o] = '\0';
	*outlen = o;
	return out;
}

/* "https://host/v1/" -> "host"; compares case-insensitively. */
static int key_matches(const char *key, const char *host)
{
	const char *k = key;
	if (!strncasecmp(k, "https://", 8))
		k += 8;
	else if (!strncasecmp(k, "http://", 7))
		k += 7;
	size_t len = strcspn(k, "/");
	if (len == strlen(host) && !strncasecmp(k, host, len))
		return 1;
	if (!strcmp(host, "docker.io")) {
		static const char *const aliases[] = { "index.docker.io", "registry-1.docker.io",
						       "registry.hub.docker.com" };
		for (size_t i = 0; i < sizeof(aliases) / sizeof(*aliases); i++)
			if (len == strlen(aliases[i]) && !strncasecmp(k, aliases[i], len))
				return 1;
	}
	return 0;
}

static int entry_credentials(json_t *entry, const char *path, const char *key, char **user,
			     char **password, struct strata_error *err)
{
	const char *auth = json_string_value(json_object_get(entry, "auth"));
	const char *u = json_string_value(json_object_get(entry, "username"));
	const char *pw = json_string_value(json_object_get(entry, "password"));
	if (auth && *auth) {
		size_t len;
		char *dec = b64_decode(auth, &len);
		char *colon = dec ? memchr(dec, ':', len) : NULL;
		if (!colon || memchr(dec, '\0', len)) {
			free(dec);
			return error_set(err, -EBADMSG,
					 "credentials file '%s': entry '%s': 'auth' is not base64 "
					 "of user:password", path, key);
		}
		*colon = '\0';
		*user = strdup(dec);
		*password = strdup(colon + 1);
		explicit_bzero(dec, len);
		free(dec);
	} else if (u && pw) {
		*user = strdup(u);
		*password = strdup(pw);
	} else {
		return -ENOENT;
	}
	if (!*user || !*password) {
		free(*user);
		free(*password);
		*user = *password = NULL;
		return -ENOMEM;
	}
	return 0;
}

static int lookup_in(const char *path, const char *host, char **user, char **password,
		     struct strata_error *err)
{
	char *data = NULL;
	size_t len;
	int r = read_file(path, AUTH_CONFIG_MAX, &data, &len);
	if (r == -ENOENT || r == -ENOTDIR)
		return -ENOENT;
	if (r < 0)
		return error_errno(err, r, "cannot read credentials file '%s'", path);
	json_error_t jerr;
	json_t *root = json_loadb(data, len, 0, &jerr);
	explicit_bzero(data, len);
	free(data);
	if (!root)
		return error_set(err, -EBADMSG, "credentials file '%s': not JSON (line %d: %s)", path,
				 jerr.line, jerr.text);
	r = -ENOENT;
	json_t *auths = json_object_get(root, "auths");
	if (!json_is_object(root) || (auths && !json_is_object(auths))) {
		r = error_set(err, -EBADMSG, "credentials file '%s': 'auths' is not an object", path);
		goto out;
	}
	/* An exact key wins over a URL-style one, so two spellings of one host
	 * resolve the same way whatever the order in the file. */
	json_t *exact = json_object_get(auths, host);
	if (exact && json_is_object(exact)) {
		r = entry_credentials(exact, path, host, user, password, err);
		if (r != -ENOENT)
			goto out;
	}
	const char *key;
	json_t *entry;
	json_object_foreach(auths, key, entry) {
		if (!json_is_object(entry) || !key_matches(key, host))
			continue;
		r = entry_credentials(entry, path, key, user, password, err);
		if (r != -ENOENT)
			goto out;
	}
out:
	json_decref(root);
	return r;
}

int auth_lookup_credentials(const char *path, const char *host, char **user, char **password,
			    struct strata_error *err)
{
	*user = *password = NULL;
	if (path)
		return lookup_in(path, host, user, password, err);
	int r = -ENOENT;
	const char *dir = getenv("DOCKER_CONFIG");
	if (dir && *dir) {
		char *p = path_join(dir, "config.json");
		if (!p)
			return -ENOMEM;
		r = lookup_in(p, host, user, password, err);
		free(p);
		if (r != -ENOENT)
			return r;
	}
	const char *home = getenv("HOME");
	if (home && *home) {
		char *p = str_printf("%s/.docker/config.json", home);
		if (!p)
			return -ENOMEM;
		r = lookup_in(p, host, user, password, err);
		free(p);
	}
	return r;
}
