/* cpe: CPE candidates for a package record (rules in cpe.h). Candidate sets
 * are small arrays (a few dozen values at most), so every operation is a
 * linear scan; a package costs microseconds. */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "src/base/buf.h"
#include "cpe.h"

/* A candidate vendor or product; the flags say which variations it may
 * give (a set holds one of each value and flags). */
struct cand {
	char *v;
	uint8_t no_sub, no_delim;
};

struct set {
	struct cand *c;
	size_t n, alloc;
	int nomem;
};

static void set_release(struct set *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->c[i].v);
	free(s->c);
	memset(s, 0, sizeof(*s));
}

static void set_add(struct set *s, const char *v, int no_sub, int no_delim)
{
	if (!v)
		return;
	/* A value written as a quoted string counts without its quotes. */
	size_t n = strlen(v);
	int quoted = n >= 2 && v[0] == '"' && v[n - 1] == '"';
	for (size_t i = 0; i < s->n; i++)
		if (s->c[i].no_sub == no_sub && s->c[i].no_delim == no_delim && strlen(s->c[i].v) == n - 2 * quoted &&
		    !memcmp(s->c[i].v, v + quoted, n - 2 * quoted))
			return;
	if (s->n == s->alloc) {
		size_t na = s->alloc ? s->alloc * 2 : 16;
		struct cand *nc = realloc(s->c, na * sizeof(*nc));
		if (!nc) {
			s->nomem = 1;
			return;
		}
		s->c = nc;
		s->alloc = na;
	}
	char *copy = strndup(v + quoted, n - 2 * quoted);
	if (!copy) {
		s->nomem = 1;
		return;
	}
	s->c[s->n++] = (struct cand){ copy, (uint8_t)no_sub, (uint8_t)no_delim };
}

/* The n bytes at v as a candidate. */
static void set_add_n(struct set *s, const char *v, size_t n)
{
	char *copy = strndup(v, n);
	if (!copy)
		s->nomem = 1;
	set_add(s, copy, 0, 0);
	free(copy);
}

static void set_remove(struct set *s, const char *v)
{
	size_t k = 0;
	for (size_t i = 0; i < s->n; i++) {
		if (!strcmp(s->c[i].v, v))
			free(s->c[i].v);
		else
			s->c[k++] = s->c[i];
	}
	s->n = k;
}

static void set_union(struct set *dst, const struct set *src)
{
	for (size_t i = 0; i < src->n; i++)
		set_add(dst, src->c[i].v, src->c[i].no_sub, src->c[i].no_delim);
	dst->nomem |= src->nomem;
}

static int has(const struct set *s, const char *v)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->c[i].v, v))
			return 1;
	return 0;
}

/* "a-b_c": the same with '-' as '_' and with '_' as '-', where allowed. */
static void delimiter_variations(struct set *s)
{
	size_t n = s->n;
	for (size_t i = 0; i < n; i++) {
		if (s->c[i].no_delim)
			continue;
		static const char swaps[2][2] = { { '-', '_' }, { '_', '-' } };
		for (int k = 0; k < 2; k++) {
			if (!strchr(s->c[i].v, swaps[k][0]))
				continue;
			char *v = strdup(s->c[i].v);
			if (!v) {
				s->nomem = 1;
				return;
			}
			for (char *p = v; *p; p++)
				if (*p == swaps[k][0])
					*p = swaps[k][1];
			set_add(s, v, s->c[i].no_sub, s->c[i].no_delim);
			free(v);
		}
	}
}

/* "jenkins-ci-tools": "jenkins", "jenkins-ci", "jenkins-ci-tools". */
static void sub_selections(struct set *s)
{
	size_t n = s->n;
	struct buf acc = BUF_INIT;
	for (size_t i = 0; i < n; i++) {
		if (s->c[i].no_sub)
			continue;
		char *v = strdup(s->c[i].v);
		if (!v) {
			s->nomem = 1;
			break;
		}
		buf_reset(&acc);
		char last = 0;
		int any = 0;
		for (const char *p = v; *p;) {
			size_t k = strcspn(p, "-_");
			size_t tok = k + (p[k] ? 1 : 0); /* with its separator */
			const char *c = p;
			size_t cn = tok;
			while (cn && (*c == '-' || *c == '_'))
				c++, cn--;
			while (cn && (c[cn - 1] == '-' || c[cn - 1] == '_'))
				cn--;
			if (cn) {
				if (any)
					buf_addch(&acc, last);
				buf_add(&acc, c, cn);
				any = 1;
				set_add(s, acc.data, 0, 0);
			}
			last = p[tok - 1];
			p += tok;
		}
		free(v);
	}
	buf_release(&acc);
}

/* --- the known additions and removals -------------------------------------- */

static const struct addition {
	const char *type, *name, *vendor; /* vendor NULL: any */
	const char *products[3], *vendors[4];
} additions[] = {
	{ "apk", "alsa", NULL, { NULL }, { "alsa-project" } },
	{ "apk", "alsa-lib", NULL, { NULL }, { "alsa-project" } },
	{ "apk", "apache", NULL, { "http_server" }, { NULL } },
	{ "apk", "bash", NULL, { NULL }, { "gnu" } },
	{ "apk", "bazel", NULL, { NULL }, { "google" } },
	{ "apk", "bind", NULL, { NULL }, { "isc" } },
	{ "apk", "clang", NULL, { NULL }, { "llvm" } },
	{ "apk", "curl", NULL, { NULL }, { "haxx" } },
	{ "apk", "dnsmasq", "dnsmasq", { NULL }, { "thekelleys" } },
	{ "apk", "firefox", NULL, { NULL }, { "mozilla" } },
	{ "apk", "firefox-esr", NULL, { NULL }, { "mozilla" } },
	{ "apk", "ghostscript", NULL, { NULL }, { "artifex" } },
	{ "apk", "git", NULL, { NULL }, { "git-scm" } },
	{ "apk", "glib", NULL, { NULL }, { "gnome" } },
	{ "apk", "glibc", NULL, { NULL }, { "gnu" } },
	{ "apk", "go", NULL, { NULL }, { "golang" } },
	{ "apk", "libavif", NULL, { NULL }, { "aomedia" } },
	{ "apk", "libxpm", NULL, { NULL }, { "libxpm_project" } },
	{ "apk", "make", NULL, { NULL }, { "gnu" } },
	{ "apk", "musl", NULL, { NULL }, { "musl-libc" } },
	{ "apk", "nodejs", NULL, { "node.js" }, { "nodejs" } },
	{ "apk", "nodejs-current", NULL, { "node.js" }, { "nodejs" } },
	{ "apk", "openjdk", NULL, { NULL }, { "oracle" } },
	{ "apk", "openjpeg", NULL, { NULL }, { "uclouvain" } },
	{ "apk", "podofo", NULL, { NULL }, { "podofo_project" } },
	{ "apk", "python", NULL, { NULL }, { "python_software_foundation" } },
	{ "apk", "ruby", NULL, { NULL }, { "ruby-lang" } },
	{ "apk", "thunderbird", NULL, { NULL }, { "mozilla" } },
	{ "apk", "tiff", NULL, { "libtiff" }, { NULL } },
	{ "apk", "wpa_supplicant", NULL, { NULL }, { "w1.fi" } },
	{ "deb", "dnsmasq", "dnsmasq", { NULL }, { "thekelleys" } },
	{ "gem", "Arabic-Prawn", NULL, { "arabic_prawn" }, { NULL } },
	{ "gem", "RedCloth", NULL, { "redcloth_library" }, { NULL } },
	{ "gem", "VladTheEnterprising", NULL, { "vladtheenterprising" }, { NULL } },
	{ "gem", "bio-basespace-sdk", NULL, { "basespace_ruby_sdk" }, { NULL } },
	{ "gem", "cgi", NULL, { NULL }, { "ruby-lang" } },
	{ "gem", "cremefraiche", NULL, { "creme_fraiche" }, { NULL } },
	{ "gem", "date", NULL, { NULL }, { "ruby-lang" } },
	{ "gem", "html-sanitizer", NULL, { "html_sanitizer" }, { NULL } },
	{ "gem", "openssl", NULL, { NULL }, { "ruby-lang" } },
	{ "gem", "rake", NULL, { NULL }, { "ruby-lang" } },
	{ "gem", "rdoc", NULL, { NULL }, { "ruby-lang" } },
	{ "gem", "rexml", NULL, { NULL }, { "ruby-lang" } },
	{ "gem", "sentry-raven", NULL, { "raven-ruby" }, { NULL } },
	{ "gem", "trunk", NULL, { NULL }, { "ruby-lang" } },
	{ "gem", "webrick", NULL, { NULL }, { "ruby-lang" } },
	{ "gem", "yajl-ruby", NULL, { "yajl-ruby_gem" }, { NULL } },
	{ "maven", "spring-core", NULL, { "spring_framework", "springsource_spring_framework" },
	  { "pivotal_software", "springsource", "vmware" } },
	{ "maven", "springframework", NULL, { "spring_framework", "springsource_spring_framework" },
	  { "pivotal_software", "springsource", "vmware" } },
	{ "npm", "handlebars.js", NULL, { "handlebars" }, { NULL } },
	{ "npm", "hapi", NULL, { "hapi_server_framework" }, { NULL } },
	{ "npm", "is-my-json-valid", NULL, { "is_my_json_valid" }, { NULL } },
	{ "npm", "mustache", NULL, { "mustache.js" }, { NULL } },
	{ "npm", "next", NULL, { "next.js" }, { "vercel" } },
	{ "npm", "redis", NULL, { NULL }, { "redis.js" } },
	{ "python", "Django", NULL, { NULL }, { "djangoproject" } },
	{ "python", "cryptography", NULL, { "python-cryptography" }, { "python-cryptography_project" } },
	{ "python", "pip", NULL, { NULL }, { "pypa" } },
	{ "python", "python-rrdtool", NULL, { "rrdtool" }, { NULL } },
};

static const struct removal {
	const char *type, *name, *products[2], *vendors[2];
} removals[] = {
	{ "gem", "grpc", { "grpc" }, { NULL } },
	{ "gem", "redis", { "redis" }, { NULL } },
	{ "maven", "gradle-enterprise", { "gradle-enterprise" }, { "gradle" } },
	{ "maven", "maven-builder-support", { "maven" }, { NULL } },
	{ "maven", "maven-model", { "maven" }, { NULL } },
	{ "maven", "maven-repository-metadata", { "maven" }, { NULL } },
	{ "maven", "maven-resolver-api", { "maven" }, { NULL } },
	{ "maven", "maven-resolver-connector-basic", { "maven" }, { NULL } },
	{ "maven", "maven-resolver-impl", { "maven" }, { NULL } },
	{ "maven", "maven-resolver-named-locks", { "maven" }, { NULL } },
	{ "maven", "maven-resolver-spi", { "maven" }, { NULL } },
	{ "maven", "maven-resolver-transport-file", { "maven" }, { NULL } },
	{ "maven", "maven-resolver-transport-http", { "maven" }, { NULL } },
	{ "maven", "maven-resolver-transport-wagon", { "maven" }, { NULL } },
	{ "maven", "maven-resolver-util", { "maven" }, { NULL } },
	{ "maven", "maven-settings", { "maven" }, { NULL } },
	{ "maven", "maven-settings-builder", { "maven" }, { NULL } },
	{ "maven", "maven-shared-utils", { "maven" }, { NULL } },
	{ "npm", "delegate", { NULL }, { "delegate" } },
	{ "npm", "docker", { NULL }, { "docker" } },
	{ "npm", "php", { NULL }, { "php" } },
	{ "npm", "redis", { NULL }, { "redis" } },
	{ "python", "kubernetes", { "kubernetes" }, { NULL } },
	{ "python", "redis", { NULL }, { "redis" } },
};

/* Adds the vendors the table adds for (type, name) and, for a vendor
 * candidate, for (type, name, vendor). */
static void add_vendors(struct set *s, const char *type, const char *name, const char *vendor)
{
	for (size_t i = 0; i < sizeof(additions) / sizeof(additions[0]); i++) {
		const struct addition *a = &additions[i];
		if (strcmp(a->type, type) || strcmp(a->name, name) || (a->vendor && (!vendor || strcmp(a->vendor, vendor))))
			continue;
		for (int k = 0; k < 4 && a->vendors[k]; k++)
			set_add(s, a->vendors[k], 0, 0);
	}
}

static void add_products(struct set *s, const char *type, const char *name)
{
	for (size_t i = 0; i < sizeof(additions) / sizeof(additions[0]); i++)
		if (!additions[i].vendor && !strcmp(additions[i].type, type) && !strcmp(additions[i].name, name))
			for (int k = 0; k < 3 && additions[i].products[k]; k++)
				set_add(s, additions[i].products[k], 0, 0);
}

static void remove_listed(struct set *s, const char *type, const char *name, int vendors)
{
	for (size_t i = 0; i < sizeof(removals) / sizeof(removals[0]); i++) {
		if (strcmp(removals[i].type, type) || strcmp(removals[i].name, name))
			continue;
		const char *const *v = vendors ? removals[i].vendors : removals[i].products;
		for (int k = 0; k < 2 && v[k]; k++)
			set_remove(s, v[k]);
	}
}

/* --- metadata --------------------------------------------------------------- */

static const char *str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s && *s ? s : NULL;
}

/* A copy of name (n bytes) without its surrounding blanks, lower case;
 * NULL when out of memory. */
static char *trimmed_lower(const char *name, size_t n)
{
	while (n && (*name == ' ' || *name == '\t'))
		name++, n--;
	while (n && (name[n - 1] == ' ' || name[n - 1] == '\t'))
		n--;
	char *s = strndup(name, n);
	for (char *p = s; p && *p; p++)
		*p = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
	return s;
}

/* '-', ' ' and '.' as '_', in place. */
static void underscored(char *s)
{
	for (; *s; s++)
		if (*s == '-' || *s == ' ' || *s == '.')
			*s = '_';
}

/* Lower case, trimmed, '-', ' ' and '.' as '_', no leading "the_". */
static char *person(const char *name, size_t n)
{
	char *s = trimmed_lower(name, n);
	if (!s)
		return NULL;
	underscored(s);
	if (!strncmp(s, "the_", 4))
		memmove(s, s + 4, strlen(s + 4) + 1);
	return s;
}

/* An e-mail address's part before '@'. */
static size_t before_at(const char *s)
{
	return strcspn(s, "@");
}

/* A vendor from a project URL: a few well-known sites, else the owner of a
 * GitHub or GitLab repository. */
static void url_vendors(struct set *s, const char *url)
{
	static const struct { const char *prefix, *vendor; } sites[] = {
		{ "https://www.gnu.org/", "gnu" }, { "https://developer.gnome.org/", "gnome" },
		{ "https://www.ruby-lang.org/", "ruby-lang" }, { "https://llvm.org/", "llvm" },
		{ "https://www.isc.org/", "isc" }, { "https://musl.libc.org/", "musl-libc" },
		{ "https://www.mozilla.org/", "mozilla" }, { "https://www.x.org/", "x.org" },
		{ "https://w1.fi/", "w1.fi" },
	};
	if (!url)
		return;
	for (size_t i = 0; i < sizeof(sites) / sizeof(sites[0]); i++)
		if (!strncmp(url, sites[i].prefix, strlen(sites[i].prefix))) {
			set_add(s, sites[i].vendor, 1, 1);
			return;
		}
	static const char *const schemes[] = { "https://", "http://", "git://" };
	for (size_t i = 0; i < 3; i++) {
		size_t n = strlen(schemes[i]);
		if (strncmp(url, schemes[i], n))
			continue;
		const char *host = url + n;
		if (strncmp(host, "github.com/", 11) && strncmp(host, "gitlab.com/", 11))
			return;
		const char *owner = host + 11;
		size_t k = 0;
		while (owner[k] && owner[k] != '/' && ((owner[k] >= 'a' && owner[k] <= 'z') || (owner[k] >= 'A' && owner[k] <= 'Z') ||
						      (owner[k] >= '0' && owner[k] <= '9') || owner[k] == '_' || owner[k] == '-'))
			k++;
		if (owner[k] != '/')
			return;
		char *v = strndup(owner, k);
		if (v)
			set_add(s, v, 1, 1);
		else
			s->nomem = 1;
		free(v);
		return;
	}
}

/* rpm's Vendor: up to a comma, lower case, without spaces, a trailing
 * "<http://...>" dropped ("Red Hat, Inc." is "redhat"). */
static void rpm_vendor(struct set *s, const char *vendor)
{
	if (!vendor)
		return;
	size_t n = strlen(vendor);
	while (n && (vendor[n - 1] == ' ' || vendor[n - 1] == '\t'))
		n--;
	const char *lt = n && vendor[n - 1] == '>' ? memrchr(vendor, '<', n) : NULL;
	if (lt) {
		size_t scheme = !strncmp(lt + 1, "https://", 8) ? 8 : !strncmp(lt + 1, "http://", 7) ? 7 : 0;
		char host = scheme ? lt[1 + scheme] : '/';
		if (host != '/' && host != '>')
			n = (size_t)(lt - vendor);
	}
	char *v = malloc(n + 1);
	size_t k = 0;
	if (!v) {
		s->nomem = 1;
		return;
	}
	for (size_t i = 0; i < n && vendor[i] != ','; i++) {
		char c = vendor[i];
		if (c == ' ' || c == '\t')
			continue;
		v[k++] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
	}
	v[k] = '\0';
	if (k)
		set_add(s, v, 1, 0);
	free(v);
}

static void python_vendor(struct set *s, const char *v, int no_delim)
{
	set_add(s, v, 1, no_delim);
	size_t n = strlen(v);
	if (n >= 7 && !strcmp(v + n - 7, "project"))
		return;
	char *a = NULL, *b = NULL;
	if (asprintf(&a, "%sproject", v) < 0 || asprintf(&b, "%s_project", v) < 0) {
		s->nomem = 1;
		a = b = NULL;
	}
	set_add(s, a, 1, 1);
	set_add(s, b, 1, 1);
	free(a);
	free(b);
}

/* apk's "py3-foo", "libcrypto1.1", "ruby3.2-bundler": the upstream name
 * without the stream's version ("py-foo", "libcrypto", "ruby-bundler"),
 * and for py- and ruby- names the python or gem package it packages. */
static char *apk_upstream(const char *name, const char **type)
{
	size_t n = strlen(name);
	*type = NULL;
	char *out = NULL;
	for (size_t i = 1; i < n && !out; i++) {
		/* stream: [a-zA-Z][\w-]* */
		int ok = (name[0] >= 'a' && name[0] <= 'z') || (name[0] >= 'A' && name[0] <= 'Z');
		for (size_t k = 1; ok && k < i; k++)
			ok = (name[k] >= 'a' && name[k] <= 'z') || (name[k] >= 'A' && name[k] <= 'Z') ||
			     (name[k] >= '0' && name[k] <= '9') || name[k] == '_' || name[k] == '-';
		if (!ok)
			break;
		/* version: -?\d[\d.]*, then the end or "-" and a sub-package */
		size_t j = i + (name[i] == '-');
		if (j >= n || name[j] < '0' || name[j] > '9')
			continue;
		for (size_t e = j + 1; e <= n && !out; e++) {
			if (e < n && !((name[e] >= '0' && name[e] <= '9') || name[e] == '.')) {
				if (name[e] != '-')
					break;
			}
			if (e == n) {
				out = strndup(name, i);
			} else if (name[e] == '-') {
				const char *sub = name + e + 1;
				int sub_ok = !*sub || (*sub >= 'a' && *sub <= 'z') || (*sub >= 'A' && *sub <= 'Z');
				for (const char *p = sub; sub_ok && *p; p++)
					sub_ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
						 *p == '_' || *p == '-';
				if (sub_ok && *sub && asprintf(&out, "%.*s-%s", (int)i, name, sub) < 0)
					out = NULL;
				else if (sub_ok && !*sub)
					out = strndup(name, i);
				break;
			}
		}
	}
	if (!out)
		out = strdup(name);
	if (out && !strncmp(out, "py-", 3) && out[3]) {
		memmove(out, out + 3, strlen(out + 3) + 1);
		*type = "python";
	} else if (out && !strncmp(out, "ruby-", 5) && out[5]) {
		memmove(out, out + 5, strlen(out + 5) + 1);
		*type = "gem";
	}
	return out;
}

static const char *const domains[] = { "com", "org", "net", "io", "be" };

static int java_forbidden(const char *f, size_t n, int product)
{
	return (n == 6 && !strncasecmp(f, "plugin", 6)) || (n == 7 && !strncasecmp(f, "plugins", 7)) ||
	       (product && n == 6 && !strncasecmp(f, "client", 6));
}

/* A Maven artifactId and groupId: the artifactId, and the groupId's parts
 * past the second that begin or end it (for a groupId alone, all of them). */
/* The next dot-separated field of a groupId at *p, blanks around it cut;
 * 0 at the end. */
static int group_field(const char **p, const char **f, size_t *fn)
{
	if (!**p)
		return 0;
	size_t n = strcspn(*p, ".");
	*f = *p;
	*fn = n;
	while (*fn && **f == ' ')
		(*f)++, (*fn)--;
	while (*fn && (*f)[*fn - 1] == ' ')
		(*fn)--;
	*p += n + ((*p)[n] == '.');
	return 1;
}

static void java_products(struct set *s, const char *artifact, const char *group)
{
	if (artifact && *artifact)
		set_add(s, artifact, 0, 0);
	if (!group || !*group)
		return;
	int plugin = (artifact && strstr(artifact, "plugin")) || strstr(group, "plugin");
	size_t al = artifact ? strlen(artifact) : 0, fn;
	const char *p = group, *f;
	for (int i = 0; group_field(&p, &f, &fn); i++) {
		int project = al >= fn && (!strncmp(artifact, f, fn) || !strncmp(artifact + al - fn, f, fn));
		if (fn && !java_forbidden(f, fn, 1) && i > 1 && (!al || (project && !plugin)))
			set_add_n(s, f, fn);
	}
}

static void java_vendors(struct set *s, const char *group)
{
	if (!group || !*group)
		return;
	set_add(s, group, 1, 1);
	size_t fn;
	const char *p = group, *f;
	for (int i = 0; group_field(&p, &f, &fn); i++)
		if (fn && i && !java_forbidden(f, fn, 0))
			set_add_n(s, f, fn);
}

/* An artifactId that is really a groupId ("org.foo.bar") names no product. */
static const char *java_artifact(const char *name)
{
	if (!name || !strchr(name, '.'))
		return name;
	for (size_t i = 0; i < sizeof(domains) / sizeof(domains[0]); i++) {
		size_t n = strlen(domains[i]);
		if (!strncmp(name, domains[i], n) && name[n] == '.')
			return NULL;
	}
	return name;
}

/* .NET: the name lower case, ".dll" dropped, '-', ' ' and '.' as '_'. */
static char *dotnet_name(const char *name)
{
	char *s = trimmed_lower(name, strlen(name));
	if (!s)
		return NULL;
	size_t n = strlen(s);
	if (n >= 4 && !strcmp(s + n - 4, ".dll"))
		s[n - 4] = '\0';
	underscored(s);
	return s;
}

/* --- formatted strings ------------------------------------------------------- */

/* Appends v as a CPE 2.3 formatted-string field: spaces as '_', the
 * punctuation the specification allows quoted with '\', '-' '.' '_' as they
 * are, "" as '*'. 0, or -EINVAL when v holds a byte no field may hold. */
static int field(struct buf *b, const char *v)
{
	if (!v || !*v)
		return buf_addch(b, '*') < 0 ? -ENOMEM : 0;
	for (const char *p = v; *p; p++) {
		unsigned char c = (unsigned char)*p;
		int r;
		if (c == ' ')
			r = buf_addch(b, '_');
		else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
			 c == '_')
			r = buf_addch(b, (char)c);
		else if (c < 0x80 && strchr("!\"#$%&'()+,/:;<=>@[]^`{|}~", c))
			r = buf_addf(b, "\\%c", c);
		else
			return -EINVAL;
		if (r < 0)
			return -ENOMEM;
	}
	return 0;
}

/* One CPE with its sort keys: the weighted count of fields given, their
 * length. */
struct one {
	char *s;
	int score;
	size_t len;
};

static int by_specificity(const void *pa, const void *pb)
{
	const struct one *a = pa, *b = pb;
	if (a->score != b->score)
		return b->score - a->score;
	if (a->len != b->len)
		return a->len > b->len ? -1 : 1;
	return strcmp(a->s, b->s);
}

/* The fields of a dictionary template, split at ':' not quoted: vendor,
 * product, version, ... Each is written back as it is, but the version. */
static int from_template(const char *t, const char *version, struct one *o)
{
	struct buf b = BUF_INIT;
	int k = 0, r = buf_adds(&b, "cpe:2.3:a:");
	o->score = 2;
	o->len = 1;
	const char *p = t;
	while (r == 0 && p) {
		const char *end = p;
		while (*end && *end != ':')
			end += *end == '\\' && end[1] ? 2 : 1;
		size_t n = (size_t)(end - p);
		if (k)
			r = buf_addch(&b, ':');
		if (r == 0 && k == 2) {
			r = field(&b, version);
		} else if (r == 0) {
			r = buf_add(&b, p, n) < 0 ? -ENOMEM : 0;
		}
		/* vendor 3, product 4, version 1, target_sw 1 when given */
		int given = k == 2 ? version && *version : !(n == 1 && *p == '*');
		if (given && (k == 0 || k == 1 || k == 2 || k == 7)) {
			o->score += k == 0 ? 3 : k == 1 ? 4 : 1;
			o->len += k == 2 ? strlen(version) : n;
		}
		k++;
		p = *end ? end + 1 : NULL;
	}
	if (r < 0 || k != 10) {
		buf_release(&b);
		return r < 0 ? r : -EINVAL;
	}
	o->s = buf_detach(&b, NULL);
	return 0;
}

static json_t *finish(struct one *v, size_t n)
{
	if (n > 1)
		qsort(v, n, sizeof(*v), by_specificity);
	json_t *out = json_array();
	for (size_t i = 0; i < n; i++) {
		if (out && (!i || strcmp(v[i].s, v[i - 1].s)) && json_array_append_new(out, json_string(v[i].s)) < 0) {
			json_decref(out);
			out = NULL;
		}
	}
	/* Only now: each string is compared with the one before it. */
	for (size_t i = 0; i < n; i++)
		free(v[i].s);
	free(v);
	return out;
}

/* --- the candidates ------------------------------------------------------------ */

static void products_of(const json_t *pkg, const char *type, const char *name, struct set *p)
{
	if (!strcmp(type, "nuget")) {
		char *d = dotnet_name(name), *dn = NULL;
		if (!d || asprintf(&dn, "%s_.net", d) < 0) {
			p->nomem = 1;
			dn = NULL;
		}
		set_add(p, d, 1, 1);
		size_t n = strlen(name);
		if (!(n >= 5 && !strcmp(name + n - 5, "_.net")))
			set_add(p, dn, 1, 1);
		free(d);
		free(dn);
	} else {
		set_add(p, name, 0, 0);
	}
	if (!strcmp(type, "python") && strncmp(name, "python", 6)) {
		char *v = NULL;
		if (asprintf(&v, "python-%s", name) < 0)
			p->nomem = 1;
		else
			set_add(p, v, 0, 0);
		free(v);
	}
	if (!strcmp(type, "maven"))
		java_products(p, java_artifact(name), str(pkg, "group"));
	if (!strcmp(type, "apk")) {
		const char *up_type;
		char *up = apk_upstream(name, &up_type);
		if (!up) {
			p->nomem = 1;
		} else {
			set_add(p, up, 0, 0);
			add_products(p, up_type ? up_type : "apk", up);
			remove_listed(p, up_type ? up_type : "apk", up, 0);
		}
		free(up);
	}
	set_remove(p, "");
	set_remove(p, "*");
	delimiter_variations(p);
	add_products(p, type, name);
	remove_listed(p, type, name, 0);
}

static void vendors_of(const json_t *pkg, const char *type, const char *name, const struct set *products,
		       struct set *v)
{
	size_t i;
	const json_t *x;
	set_union(v, products);
	if (!strcmp(type, "gem"))
		set_add(v, "ruby-lang", 0, 0);
	if (!strcmp(type, "nuget")) {
		/* .NET: the name is the vendor, nothing else. */
		set_release(v);
		char *d = dotnet_name(name);
		if (!d)
			v->nomem = 1;
		set_add(v, d, 1, 1);
		free(d);
	} else if (!strcmp(type, "rpm")) {
		rpm_vendor(v, str(pkg, "vendor"));
	} else if (!strcmp(type, "gem")) {
		json_array_foreach(json_object_get(pkg, "authors"), i, x) {
			const char *a = json_string_value(x);
			char *n = a ? person(a, before_at(a)) : NULL;
			set_add(v, n, 1, 0);
			free(n);
		}
		url_vendors(v, str(pkg, "homepage"));
	} else if (!strcmp(type, "python")) {
		const char *author = str(pkg, "author"), *email = str(pkg, "author_email");
		if (author) {
			char *n = person(author, strlen(author));
			if (n)
				python_vendor(v, n, 1);
			free(n);
		}
		if (email) {
			char *n = person(email, before_at(email));
			if (n)
				python_vendor(v, n, 0);
			free(n);
		}
	} else if (!strcmp(type, "maven")) {
		java_vendors(v, str(pkg, "group"));
	} else if (!strcmp(type, "apk")) {
		const char *up_type;
		char *up = apk_upstream(name, &up_type);
		if (up) {
			const char *t = up_type ? up_type : "apk";
			set_add(v, up, 0, 0);
			add_vendors(v, t, up, up);
			remove_listed(v, t, up, 1);
			if (up_type && !strcmp(up_type, "python")) {
				struct set pv = { 0 };
				python_vendor(&pv, up, 0);
				for (size_t k = 0; k < pv.n; k++) {
					set_add(v, pv.c[k].v, 0, 0);
					add_vendors(v, "python", pv.c[k].v, pv.c[k].v);
					remove_listed(v, "python", pv.c[k].v, 1);
				}
				v->nomem |= pv.nomem;
				set_release(&pv);
			}
		} else {
			v->nomem = 1;
		}
		free(up);
		url_vendors(v, str(pkg, "url"));
	} else if (!strcmp(type, "npm")) {
		url_vendors(v, str(pkg, "repository_url"));
		url_vendors(v, str(pkg, "homepage"));
	}
	set_remove(v, "");
	set_remove(v, "*");
	delimiter_variations(v);
	sub_selections(v);
	size_t n = v->n;
	char **names = calloc(n + 1, sizeof(*names));
	for (i = 0; names && i < n; i++)
		names[i] = strdup(v->c[i].v);
	for (i = 0; names && i < n; i++)
		if (names[i])
			add_vendors(v, type, name, names[i]);
	for (i = 0; names && i < n; i++)
		free(names[i]);
	free(names);
	remove_listed(v, type, name, 1);
	/* A vendor known to be in the dictionary wins outright. */
	if (has(v, "apache")) {
		set_release(v);
		set_add(v, "apache", 0, 0);
	}
}

static int unique(struct set *s, char ***out, size_t *n)
{
	*out = calloc(s->n + 1, sizeof(**out));
	*n = 0;
	if (!*out)
		return -ENOMEM;
	for (size_t i = 0; i < s->n; i++) {
		size_t k = 0;
		while (k < *n && strcmp((*out)[k], s->c[i].v))
			k++;
		if (k == *n)
			(*out)[(*n)++] = s->c[i].v;
	}
	return 0;
}

json_t *cpe_generate(const json_t *pkg)
{
	const char *type = str(pkg, "type"), *name = str(pkg, "name"), *version = str(pkg, "version");
	if (!type || !name)
		return json_array();
	struct one *v = NULL;
	size_t n = 0;
	/* The dictionary first, for the ecosystems it indexes. */
	if (!strcmp(type, "npm") || !strcmp(type, "python") || !strcmp(type, "gem")) {
		const char *t[16];
		size_t m = cpe_dictionary(type, name, t, 16);
		if (m) {
			v = calloc(m, sizeof(*v));
			for (size_t i = 0; v && i < m; i++)
				if (from_template(t[i], version, &v[n]) == 0)
					n++;
			if (!v)
				return NULL;
			if (n)
				return finish(v, n);
			free(v);
			v = NULL;
		}
	}
	struct set products = { 0 }, vendors = { 0 };
	products_of(pkg, type, name, &products);
	vendors_of(pkg, type, name, &products, &vendors);
	char **pv = NULL, **vv = NULL;
	size_t np = 0, nv = 0;
	int r = products.nomem || vendors.nomem ? -ENOMEM : 0;
	if (r == 0)
		r = unique(&products, &pv, &np);
	if (r == 0)
		r = unique(&vendors, &vv, &nv);
	if (r == 0 && np && nv && !(v = calloc(np * nv, sizeof(*v))))
		r = -ENOMEM;
	struct buf b = BUF_INIT;
	for (size_t i = 0; r == 0 && i < np; i++)
		for (size_t k = 0; r == 0 && k < nv; k++) {
			buf_reset(&b);
			int fr = buf_adds(&b, "cpe:2.3:a:") < 0 ? -ENOMEM : field(&b, vv[k]);
			if (fr == 0 && buf_addch(&b, ':') < 0)
				fr = -ENOMEM;
			if (fr == 0)
				fr = field(&b, pv[i]);
			if (fr == 0 && buf_addch(&b, ':') < 0)
				fr = -ENOMEM;
			if (fr == 0)
				fr = field(&b, version);
			if (fr == 0 && buf_adds(&b, ":*:*:*:*:*:*:*") < 0)
				fr = -ENOMEM;
			if (fr == -ENOMEM) {
				r = fr;
			} else if (fr == 0) {
				/* part 2, vendor 3, product 4, version 1 */
				v[n].score = 9 + (version ? 1 : 0);
				v[n].len = 1 + strlen(vv[k]) + strlen(pv[i]) + (version ? strlen(version) : 0);
				if (!(v[n].s = strdup(b.data)))
					r = -ENOMEM;
				else
					n++;
			}
		}
	buf_release(&b);
	free(pv);
	free(vv);
	set_release(&products);
	set_release(&vendors);
	if (r < 0) {
		for (size_t i = 0; i < n; i++)
			free(v[i].s);
		free(v);
		return NULL;
	}
	return v ? finish(v, n) : json_array();
}
