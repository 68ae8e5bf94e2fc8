/* purl: builds package URLs from report package records, per the purl
 * specification (ECMA-427) and its type definitions: the type lowercase,
 * each namespace segment, the name, the version and each qualifier value
 * percent-encoded (all but letters, digits, ".-_~" and ':'), qualifiers
 * sorted by key with empty values left out. The choice of fields per type is
 * the report contract's. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "purl.h"
#include "src/registry/ref.h"

struct qualifier {
	const char *key;
	const char *value; /* NULL or "" = left out */
};

/* A non-empty string member of o, else NULL. */
static const char *member(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s && *s ? s : NULL;
}

int purl_encode(struct buf *b, const char *s, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	int r = buf_grow(b, len);
	if (r < 0)
		return r;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
			r = buf_addch(b, (char)c);
		else if (c == '.' || c == '-' || c == '_' || c == '~' || c == ':')
			r = buf_addch(b, (char)c);
		else {
			char t[3] = { '%', hex[c >> 4], hex[c & 15] };
			r = buf_add(b, t, 3);
		}
		if (r < 0)
			return r;
	}
	return 0;
}

static int encode_str(struct buf *b, const char *s)
{
	return purl_encode(b, s, strlen(s));
}

/* A malloc'd ASCII-lowercased copy (bytes >= 0x80 untouched). */
static char *lower_dup(const char *s)
{
	char *d = strdup(s);
	if (d)
		for (char *p = d; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p - 'A' + 'a');
	return d;
}

/* PEP 503 normalisation, as the pypi purl type asks: lowercase, every run of
 * '-', '_' and '.' becomes one '-'. malloc'd. */
static char *pypi_name(const char *s)
{
	char *d = malloc(strlen(s) + 1), *o = d;
	if (!d)
		return NULL;
	while (*s) {
		if (*s == '-' || *s == '_' || *s == '.') {
			while (*s == '-' || *s == '_' || *s == '.')
				s++;
			*o++ = '-';
			continue;
		}
		*o++ = (*s >= 'A' && *s <= 'Z') ? (char)(*s - 'A' + 'a') : *s;
		s++;
	}
	*o = '\0';
	return d;
}

static int qualifier_cmp(const void *a, const void *b)
{
	return strcmp(((const struct qualifier *)a)->key, ((const struct qualifier *)b)->key);
}

/* Writes "pkg:type[/ns]/name[@version][?k=v&...]" into b. ns, version and
 * qualifier values may be NULL. */
static int assemble(struct buf *b, const char *type, const char *ns, const char *name,
		    const char *version, struct qualifier *q, size_t nq)
{
	int r = buf_addf(b, "pkg:%s/", type);
	if (r == 0 && ns && *ns) {
		r = encode_str(b, ns);
		if (r == 0)
			r = buf_addch(b, '/');
	}
	if (r == 0)
		r = encode_str(b, name);
	if (r == 0 && version && *version) {
		r = buf_addch(b, '@');
		if (r == 0)
			r = encode_str(b, version);
	}
	if (nq)
		qsort(q, nq, sizeof(*q), qualifier_cmp);
	char sep = '?';
	for (size_t i = 0; r == 0 && i < nq; i++) {
		if (!q[i].value || !*q[i].value)
			continue;
		r = buf_addf(b, "%c%s=", sep, q[i].key);
		if (r == 0)
			r = encode_str(b, q[i].value);
		sep = '&';
	}
	return r;
}

/* "<id>-<version_id>", "<id>" or NULL, malloc'd. */
static char *distro_qualifier(const json_t *distro)
{
	const char *id = member(distro, "id"), *ver = member(distro, "version_id");
	if (!id)
		return NULL;
	if (!ver)
		return strdup(id);
	char *s = malloc(strlen(id) + strlen(ver) + 2);
	if (s)
		sprintf(s, "%s-%s", id, ver);
	return s;
}

/* The rpm epoch as text: the "epoch" member (integer or digits), else the
 * "E:" prefix of "version". NULL when none; malloc'd. */
static char *rpm_epoch(const json_t *pkg)
{
	const json_t *e = json_object_get(pkg, "epoch");
	char tmp[32];
	if (json_is_integer(e)) {
		snprintf(tmp, sizeof(tmp), "%" JSON_INTEGER_FORMAT, json_integer_value(e));
		return strdup(tmp);
	}
	if (json_is_string(e) && *json_string_value(e))
		return strdup(json_string_value(e));
	const char *v = member(pkg, "version");
	if (!v)
		return NULL;
	size_t n = strspn(v, "0123456789");
	if (n == 0 || n >= sizeof(tmp) || v[n] != ':')
		return NULL;
	memcpy(tmp, v, n);
	tmp[n] = '\0';
	return strdup(tmp);
}

/* VERSION-RELEASE for an rpm purl: from rpm_version and release when both are
 * there, else "version" without its epoch. malloc'd or NULL. */
static char *rpm_version(const json_t *pkg)
{
	const char *v = member(pkg, "rpm_version"), *rel = member(pkg, "release");
	if (v && rel) {
		char *s = malloc(strlen(v) + strlen(rel) + 2);
		if (s)
			sprintf(s, "%s-%s", v, rel);
		return s;
	}
	v = member(pkg, "version");
	if (!v)
		return NULL;
	size_t n = strspn(v, "0123456789");
	if (n > 0 && v[n] == ':')
		v += n + 1;
	return strdup(v);
}

static int build_os(struct buf *b, const char *type, const json_t *pkg, const json_t *distro,
		    const char *name)
{
	const char *id = member(distro, "id");
	char *ns = id ? lower_dup(id) : NULL;
	char *dq = distro_qualifier(distro);
	char *epoch = NULL, *version = NULL, *lname = NULL, *upstream = NULL;
	int r = -ENOMEM;
	if (id && (!ns || !dq))
		goto out;
	if (!strcmp(type, "rpm")) {
		epoch = rpm_epoch(pkg);
		version = rpm_version(pkg);
		struct qualifier q[] = {
			{ "arch", member(pkg, "arch") },
			{ "epoch", epoch },
			{ "upstream", member(pkg, "sourcerpm") },
			{ "distro", dq },
		};
		r = assemble(b, "rpm", ns, name, version, q, 4);
	} else {
		/* deb and apk names are lowercase by definition of both types. */
		lname = lower_dup(name);
		if (!lname)
			goto out;
		/* The source package, which vulnerability data is about: deb's
		 * Source (with its version when it differs), apk's origin. */
		const char *src = member(pkg, !strcmp(type, "deb") ? "source" : "origin");
		const char *srcver = !strcmp(type, "deb") ? member(pkg, "source_version") : NULL;
		if (src && srcver && asprintf(&upstream, "%s@%s", src, srcver) < 0)
			goto out;
		struct qualifier q[] = {
			{ "arch", member(pkg, "architecture") },
			{ "upstream", upstream ? upstream : src },
			{ "distro", dq },
		};
		r = assemble(b, type, ns, lname, member(pkg, "version"), q, 3);
	}
out:
	free(ns);
	free(dq);
	free(epoch);
	free(version);
	free(lname);
	free(upstream);
	return r;
}

static int build_npm(struct buf *b, const json_t *pkg, const char *name)
{
	/* npm names and scopes are case-insensitive: the canonical form is
	 * lowercase. "@scope/name" puts the scope, '@' and all, in the
	 * namespace, where the encoding turns '@' into %40. */
	char *lname = lower_dup(name);
	if (!lname)
		return -ENOMEM;
	char *ns = NULL, *n = lname, *slash = strchr(lname, '/');
	if (lname[0] == '@' && slash && slash > lname + 1 && slash[1]) {
		*slash = '\0';
		ns = lname;
		n = slash + 1;
	}
	int r = assemble(b, "npm", ns, n, member(pkg, "version"), NULL, 0);
	free(lname);
	return r;
}

char *purl_build(const json_t *pkg, const json_t *distro)
{
	const char *type = member(pkg, "type"), *name = member(pkg, "name");
	if (!type || !name)
		return NULL;
	if (!json_is_object(distro))
		distro = NULL;
	struct buf b = BUF_INIT;
	int r;
	if (!strcmp(type, "deb") || !strcmp(type, "rpm") || !strcmp(type, "apk"))
		r = build_os(&b, type, pkg, distro, name);
	else if (!strcmp(type, "npm"))
		r = build_npm(&b, pkg, name);
	else if (!strcmp(type, "python")) {
		char *n = pypi_name(name);
		r = n ? assemble(&b, "pypi", NULL, n, member(pkg, "version"), NULL, 0) : -ENOMEM;
		free(n);
	} else if (!strcmp(type, "gem") || !strcmp(type, "nuget"))
		r = assemble(&b, type, NULL, name, member(pkg, "version"), NULL, 0);
	else if (!strcmp(type, "maven"))
		r = assemble(&b, "maven", member(pkg, "group"), name, member(pkg, "version"), NULL, 0);
	else
		r = -EINVAL;
	if (r < 0) {
		buf_release(&b);
		return NULL;
	}
	return buf_detach(&b, NULL);
}

/* The last '/'-separated segment of s, lowercased; malloc'd. */
static char *last_segment(const char *s)
{
	const char *p = strrchr(s, '/');
	return lower_dup(p ? p + 1 : s);
}

char *purl_oci(const char *ref, const char *digest)
{
	if (!ref || !*ref || !digest || !*digest)
		return NULL;
	struct image_ref ir;
	memset(&ir, 0, sizeof(ir));
	if (ref_parse(ref, &ir, NULL) < 0)
		return NULL;
	char *name = NULL, *repo = NULL;
	struct buf b = BUF_INIT;
	int r = -ENOMEM;
	if (ir.transport == REF_DOCKER && ir.path) {
		name = last_segment(ir.path);
		repo = ref_repository(&ir);
		if (!repo)
			goto out;
	} else if (ir.file) {
		name = last_segment(ir.file);
	}
	if (!name || !*name)
		goto out;
	struct qualifier q[] = {
		{ "repository_url", repo },
		{ "tag", ir.tag },
	};
	r = assemble(&b, "oci", NULL, name, digest, q, 2);
out:
	free(name);
	free(repo);
	ref_release(&ir);
	if (r < 0) {
		buf_release(&b);
		return NULL;
	}
	return buf_detach(&b, NULL);
}
