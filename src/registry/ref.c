/* ref: parsing and normalising image references (Docker's grammar, as in
 * distribution/reference) and strata's transport prefixes. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "src/base/digest.h"
#include "ref.h"
#include "src/base/util.h"

#define NAME_TOTAL_MAX 255
#define TAG_MAX 128
#define DEFAULT_DOMAIN "docker.io"
#define LEGACY_DOMAIN "index.docker.io"

static int is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static int is_alnum(char c)
{
	return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

static int is_word(char c)
{
	return is_alnum(c) || c == '_';
}

/* [a-z0-9]+(?:(?:[._]|__|[-]*)[a-z0-9]+)* over s[0..len) */
static int path_component_valid(const char *s, size_t len)
{
	size_t i = 0;
	if (len == 0 || !is_lower_alnum(s[0]))
		return 0;
	while (i < len) {
		while (i < len && is_lower_alnum(s[i]))
			i++;
		if (i == len)
			return 1;
		/* a separator, then at least one alnum */
		if (s[i] == '.') {
			i++;
		} else if (s[i] == '_') {
			i++;
			if (i < len && s[i] == '_')
				i++;
		} else if (s[i] == '-') {
			while (i < len && s[i] == '-')
				i++;
		} else {
			return 0;
		}
		if (i == len || !is_lower_alnum(s[i]))
			return 0;
	}
	return 1;
}

/* [a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9] */
static int domain_component_valid(const char *s, size_t len)
{
	if (len == 0 || !is_alnum(s[0]) || !is_alnum(s[len - 1]))
		return 0;
	for (size_t i = 1; i + 1 < len; i++)
		if (!is_alnum(s[i]) && s[i] != '-')
			return 0;
	return 1;
}

/* host(:port)? where host is a dotted domain name or a bracketed IPv6 address */
static int domain_valid(const char *s, size_t len)
{
	size_t hostlen;
	if (len == 0)
		return 0;
	if (s[0] == '[') {
		const char *close = memchr(s, ']', len);
		if (!close || close == s + 1)
			return 0;
		for (const char *p = s + 1; p < close; p++)
			if (!strchr("0123456789abcdefABCDEF:", *p))
				return 0;
		hostlen = (size_t)(close - s) + 1;
	} else {
		const char *colon = memchr(s, ':', len);
		hostlen = colon ? (size_t)(colon - s) : len;
		size_t start = 0;
		for (size_t i = 0; i <= hostlen; i++) {
			if (i == hostlen || s[i] == '.') {
				if (!domain_component_valid(s + start, i - start))
					return 0;
				start = i + 1;
			}
		}
	}
	if (hostlen == len)
		return 1;
	if (s[hostlen] != ':' || hostlen + 1 == len)
		return 0;
	for (size_t i = hostlen + 1; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

/* [\w][\w.-]{0,127} */
static int tag_valid(const char *s)
{
	size_t len = strlen(s);
	if (len == 0 || len > TAG_MAX || !is_word(s[0]))
		return 0;
	for (size_t i = 1; i < len; i++)
		if (!is_word(s[i]) && s[i] != '.' && s[i] != '-')
			return 0;
	return 1;
}

static int is_hex64(const char *s)
{
	if (strlen(s) != 64)
		return 0;
	for (const char *p = s; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return 0;
	return 1;
}

/* Checks a digest string; says why it is refused. */
static const char *digest_problem(const char *d)
{
	const char *colon = strchr(d, ':');
	if (!colon || colon == d)
		return "invalid digest format";
	for (const char *p = d; p < colon; p++)
		if (!is_alnum(*p) && !strchr("-_+.", *p))
			return "invalid digest format";
	if ((size_t)(colon - d) != 6 || strncmp(d, "sha256", 6))
		return "unsupported digest algorithm (only sha256 is supported)";
	if (!digest_valid(d))
		return "invalid sha256 digest (want 64 lowercase hex digits)";
	return NULL;
}

static int fail(struct strata_error *err, const char *s, const char *why)
{
	return error_set(err, -EINVAL, "invalid reference '%s': %s", s, why);
}

static char *make_absolute(const char *p)
{
	char *real = realpath(p, NULL);
	if (real)
		return real;
	if (p[0] == '/')
		return strdup(p);
	char cwd[PATH_MAX];
	if (!getcwd(cwd, sizeof(cwd)))
		return NULL;
	return path_join(cwd, p);
}

/* Docker's splitDockerDomain: the first component names a registry when it
 * has a '.' or ':', is "localhost", or has uppercase letters. */
static int first_is_domain(const char *name, size_t len)
{
	if (memchr(name, '.', len) || memchr(name, ':', len))
		return 1;
	if (len == 9 && !strncmp(name, "localhost", 9))
		return 1;
	for (size_t i = 0; i < len; i++)
		if (name[i] >= 'A' && name[i] <= 'Z')
			return 1;
	return 0;
}

static int parse_docker(const char *orig, const char *s, struct image_ref *out,
			struct strata_error *err)
{
	char *work, *name, *at, *tag = NULL, *path;
	char *domain = NULL;
	int r = -ENOMEM;

	if (!*s)
		return fail(err, orig, "empty reference");
	if (is_hex64(s))
		return fail(err, orig, "cannot specify 64-byte hexadecimal strings");
	work = strdup(s);
	if (!work)
		return -ENOMEM;
	name = work;

	at = strchr(name, '@');
	if (at) {
		*at = '\0';
		const char *why = digest_problem(at + 1);
		if (why) {
			r = fail(err, orig, why);
			goto out;
		}
	}
	char *slash = strrchr(name, '/');
	char *colon = strrchr(name, ':');
	if (colon && (!slash || colon > slash)) {
		*colon = '\0';
		tag = colon + 1;
		if (!tag_valid(tag)) {
			r = fail(err, orig, "invalid tag format");
			goto out;
		}
	}
	if (!*name) {
		r = fail(err, orig, "missing repository name");
		goto out;
	}

	slash = strchr(name, '/');
	if (slash && first_is_domain(name, (size_t)(slash - name))) {
		*slash = '\0';
		domain = name;
		path = slash + 1;
		if (!domain_valid(domain, strlen(domain))) {
			r = fail(err, orig, "invalid registry host");
			goto out;
		}
	} else {
		domain = DEFAULT_DOMAIN;
		path = name;
	}
	if (!strcmp(domain, LEGACY_DOMAIN))
		domain = DEFAULT_DOMAIN;

	for (char *p = path; *p; p++) {
		if (*p >= 'A' && *p <= 'Z') {
			r = fail(err, orig, "repository name must be lowercase");
			goto out;
		}
	}
	for (const char *c = path;;) {
		const char *end = strchr(c, '/');
		size_t len = end ? (size_t)(end - c) : strlen(c);
		if (!path_component_valid(c, len)) {
			r = fail(err, orig, len ? "invalid repository name" :
				 "repository name has an empty component");
			goto out;
		}
		if (!end)
			break;
		c = end + 1;
	}

	int official = !strcmp(domain, DEFAULT_DOMAIN) && !strchr(path, '/');
	if (strlen(domain) + 1 + (official ? 8 : 0) + strlen(path) > NAME_TOTAL_MAX) {
		r = fail(err, orig, "repository name must not be more than 255 characters");
		goto out;
	}

	out->transport = REF_DOCKER;
	out->domain = strdup(domain);
	out->path = official ? str_printf("library/%s", path) : strdup(path);
	if (tag)
		out->tag = strdup(tag);
	else if (!at)
		out->tag = strdup("latest");
	if (at)
		out->digest = strdup(at + 1);
	if (!out->domain || !out->path || (!out->tag && (tag || !at)) || (at && !out->digest))
		goto out;
	/* A registry named like a transport ("oci:30", host oci, port 30) keeps
	 * its docker:// in the stored name, which would otherwise read back as
	 * an OCI layout. */
	int ambiguous = !strncmp(out->domain, "oci:", 4) || !strncmp(out->domain, "docker-archive:", 15);
	out->name = str_printf("%s%s/%s%s%s%s%s", ambiguous ? "docker://" : "", out->domain, out->path,
			       out->tag ? ":" : "", out->tag ? out->tag : "", out->digest ? "@" : "",
			       out->digest ? out->digest : "");
	if (!out->name)
		goto out;
	r = 0;
out:
	free(work);
	return r;
}

/* oci:DIR[:TAG][@DIGEST]. DIR may itself contain ':'; the last one splits
 * off a tag only when what follows is a valid tag. */
static int parse_oci(const char *orig, const char *s, struct image_ref *out,
		     struct strata_error *err)
{
	char *work = strdup(s), *dir;
	int r = -ENOMEM;
	if (!work)
		return -ENOMEM;
	dir = work;
	char *at = strrchr(dir, '@');
	if (at && !strncmp(at + 1, "sha256:", 7)) {
		const char *why = digest_problem(at + 1);
		if (why) {
			r = fail(err, orig, why);
			goto out;
		}
		*at = '\0';
		out->digest = strdup(at + 1);
		if (!out->digest)
			goto out;
	}
	char *colon = strrchr(dir, ':');
	if (colon && colon != dir && !strchr(colon + 1, '/') && tag_valid(colon + 1)) {
		*colon = '\0';
		out->tag = strdup(colon + 1);
		if (!out->tag)
			goto out;
	}
	if (!*dir) {
		r = fail(err, orig, "missing layout directory");
		goto out;
	}
	out->transport = REF_OCI;
	out->file = make_absolute(dir);
	if (!out->file)
		goto out;
	out->name = str_printf("oci:%s%s%s%s%s", out->file, out->tag ? ":" : "",
			       out->tag ? out->tag : "", out->digest ? "@" : "",
			       out->digest ? out->digest : "");
	if (!out->name)
		goto out;
	r = 0;
out:
	free(work);
	return r;
}

static int parse_archive(const char *orig, const char *s, struct image_ref *out,
			 struct strata_error *err)
{
	if (!*s)
		return fail(err, orig, "missing archive file");
	out->transport = REF_DOCKER_ARCHIVE;
	out->file = make_absolute(s);
	if (!out->file)
		return -ENOMEM;
	out->name = str_printf("docker-archive:%s", out->file);
	return out->name ? 0 : -ENOMEM;
}

int ref_parse(const char *s, struct image_ref *out, struct strata_error *err)
{
	int r;
	memset(out, 0, sizeof(*out));
	if (!s)
		return error_set(err, -EINVAL, "invalid reference: empty reference");
	if (!strncmp(s, "docker://", 9))
		r = parse_docker(s, s + 9, out, err);
	else if (!strncmp(s, "oci:", 4))
		r = parse_oci(s, s + 4, out, err);
	else if (!strncmp(s, "docker-archive:", 15))
		r = parse_archive(s, s + 15, out, err);
	else
		r = parse_docker(s, s, out, err);
	if (r < 0) {
		ref_release(out);
		if (r == -ENOMEM)
			error_set(err, r, "invalid reference '%s': out of memory", s);
	}
	return r;
}

void ref_release(struct image_ref *r)
{
	if (!r)
		return;
	free(r->domain);
	free(r->path);
	free(r->tag);
	free(r->digest);
	free(r->file);
	free(r->name);
	memset(r, 0, sizeof(*r));
}

static int dup_opt(char **dst, const char *src)
{
	*dst = NULL;
	if (!src)
		return 0;
	*dst = strdup(src);
	return *dst ? 0 : -ENOMEM;
}

int ref_copy(struct image_ref *dst, const struct image_ref *src)
{
	memset(dst, 0, sizeof(*dst));
	dst->transport = src->transport;
	if (dup_opt(&dst->domain, src->domain) < 0 || dup_opt(&dst->path, src->path) < 0 ||
	    dup_opt(&dst->tag, src->tag) < 0 || dup_opt(&dst->digest, src->digest) < 0 ||
	    dup_opt(&dst->file, src->file) < 0 || dup_opt(&dst->name, src->name) < 0) {
		ref_release(dst);
		return -ENOMEM;
	}
	return 0;
}

char *ref_repository(const struct image_ref *r)
{
	switch (r->transport) {
	case REF_DOCKER:
		return str_printf("%s/%s", r->domain, r->path);
	case REF_OCI:
		return str_printf("oci:%s", r->file);
	case REF_DOCKER_ARCHIVE:
		return str_printf("docker-archive:%s", r->file);
	}
	return NULL;
}

const char *ref_reference(const struct image_ref *r)
{
	return r->digest ? r->digest : r->tag;
}

int ref_host_is_loopback(const char *domain)
{
	char host[256];
	const char *end;
	size_t len;

	if (!domain)
		return 0;
	if (domain[0] == '[') {
		end = strchr(domain, ']');
		if (!end || (end[1] && end[1] != ':'))
			return 0;
		domain++;
	} else {
		/* an unbracketed address with several colons is bare IPv6 */
		const char *c = strchr(domain, ':');
		end = (c && strchr(c + 1, ':')) ? domain + strlen(domain) :
		      c ? c : domain + strlen(domain);
	}
	len = (size_t)(end - domain);
	if (len == 0 || len >= sizeof(host))
		return 0;
	memcpy(host, domain, len);
	host[len] = '\0';
	if (!strcasecmp(host, "localhost"))
		return 1;
	struct in_addr a4;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	struct in6_addr a6;
	if (inet_pton(AF_INET6, host, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6);
	return 0;
}
