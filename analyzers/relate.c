/* relate: joins facts to packages at report time (see relate.h). Lookups
 * go through JSON objects keyed by path or name and a binary search of the
 * walk's sorted entries, so the whole join is O(n log n) in the records. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "src/base/buf.h"
#include "relate.h"

static const char *str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s && *s ? s : NULL;
}

/* The walk entry of path, or NULL. */
static const struct walk_entry *entry_of(const struct walk_result *w, const char *path)
{
	size_t lo = 0, hi = w ? w->n : 0;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(path, w->v[mid].path);
		if (!c)
			return &w->v[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/* dir/target with "." and ".." resolved inside the root, into out. */
static int join_path(struct buf *out, const char *dir, const char *target)
{
	buf_reset(out);
	if (target[0] != '/' && buf_adds(out, dir) < 0)
		return -ENOMEM;
	for (const char *p = target; *p;) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);
		if (n == 2 && !memcmp(p, "..", 2)) {
			char *last = strrchr(out->data, '/');
			buf_setlen(out, last ? (size_t)(last - out->data) : 0);
		} else if (n && !(n == 1 && p[0] == '.')) {
			if (buf_addch(out, '/') < 0 || buf_add(out, p, n) < 0)
				return -ENOMEM;
		}
		p += n + (slash ? 1 : 0);
	}
	return 0;
}

/* The copyright fact of Debian package name: /usr/share/doc/<name>/
 * copyright, the directory followed when it is a symbolic link (a few
 * hops at most). */
static const json_t *copyright_of(const json_t *facts, const struct walk_result *w, const char *name,
				  struct buf *b)
{
	if (buf_addf(b, "/usr/share/doc/%s", name) < 0)
		return NULL;
	for (int hop = 0; hop < 4; hop++) {
		size_t dir = b->len;
		if (buf_adds(b, "/copyright") < 0)
			return NULL;
		const json_t *f = json_object_get(facts, b->data);
		if (f)
			return f;
		buf_setlen(b, dir);
		const struct walk_entry *e = entry_of(w, b->data);
		if (!e || !S_ISLNK(e->mode) || !e->link)
			return NULL;
		/* The link's target is relative to the link's directory. */
		struct buf t = BUF_INIT;
		char *slash = strrchr(b->data, '/');
		*slash = '\0';
		int r = join_path(&t, b->data, e->link);
		buf_reset(b);
		if (r < 0 || buf_add(b, t.data, t.len) < 0) {
			buf_release(&t);
			return NULL;
		}
		buf_release(&t);
	}
	return NULL;
}

static int deb_licenses(json_t *pkg, const json_t *facts, const struct walk_result *w)
{
	struct buf b = BUF_INIT;
	const json_t *fact = copyright_of(facts, w, str(pkg, "name"), &b);
	buf_release(&b);
	const json_t *list = json_object_get(fact, "licenses");
	if (!json_array_size(list))
		return 0;
	json_t *mine = json_object_get(pkg, "licenses");
	if (!json_is_array(mine)) {
		mine = json_array();
		if (!mine || json_object_set_new(pkg, "licenses", mine) < 0)
			return -ENOMEM;
	}
	size_t i, k;
	json_t *v, *have;
	json_array_foreach(list, i, v) {
		int dup = 0;
		json_array_foreach(mine, k, have)
			dup |= json_equal(have, v);
		if (!dup && json_array_append(mine, v) < 0)
			return -ENOMEM;
	}
	return 0;
}


/* --- the dependency graph ------------------------------------------------- */

/* Maps from names to package indices, as JSON objects whose values are
 * arrays of integers ("deb\x01libc6" -> [12]). */
struct graph {
	json_t *packages;
	json_t *names;    /* "type\x01name" -> [i...] (python: the PEP 503 name) */
	json_t *provides; /* "type\x01provided name" -> [i...] */
	json_t *paths;    /* npm: package.json path -> i; maven: own row path -> i; rpm: file -> [i] */
	struct buf key;
	int nomem;
};

static void map_add(struct graph *g, json_t *map, const char *type, const char *name, size_t len, size_t i)
{
	buf_reset(&g->key);
	if ((type && buf_addf(&g->key, "%s\x01", type) < 0) || buf_add(&g->key, name, len) < 0) {
		g->nomem = 1;
		return;
	}
	json_t *list = json_object_get(map, g->key.data);
	if (!list && (!(list = json_array()) || json_object_set_new(map, g->key.data, list) < 0)) {
		g->nomem = 1;
		return;
	}
	/* Indices arrive in order: one check keeps each once. */
	size_t n = json_array_size(list);
	if (n && (size_t)json_integer_value(json_array_get(list, n - 1)) == i)
		return;
	if (json_array_append_new(list, json_integer((json_int_t)i)) < 0)
		g->nomem = 1;
}

static const json_t *map_get(struct graph *g, const json_t *map, const char *type, const char *name, size_t len)
{
	buf_reset(&g->key);
	if ((type && buf_addf(&g->key, "%s\x01", type) < 0) || buf_add(&g->key, name, len) < 0) {
		g->nomem = 1;
		return NULL;
	}
	return json_object_get(map, g->key.data);
}

/* PEP 503: lower case, runs of '-', '_', '.' as one '-'. */
static void pep503(const char *s, size_t n, struct buf *out)
{
	buf_reset(out);
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '-' || c == '_' || c == '.') {
			if (out->len && out->data[out->len - 1] != '-')
				buf_addch(out, '-');
			continue;
		}
		buf_addch(out, (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c));
	}
}

/* The directory a python distribution's metadata lies in: the site
 * directory ("/usr/lib/python3/dist-packages"). malloc'd. */
static char *python_env(const char *path)
{
	char *d = strdup(path ? path : "");
	for (int up = 0; d && up < 2; up++) {
		char *slash = strrchr(d, '/');
		if (!slash)
			break;
		const char *base = slash + 1;
		size_t n = strlen(base);
		int meta = !strcmp(base, "METADATA") || !strcmp(base, "PKG-INFO");
		int info = n > 9 && (!strcasecmp(base + n - 9, "dist-info") || !strcasecmp(base + n - 8, "egg-info") ||
				     !strcmp(base, "EGG-INFO"));
		if (!meta && !info && up)
			break;
		*slash = '\0';
		if (!meta)
			break;
	}
	return d;
}

/* The directory that holds a package's own files, for resolving its
 * dependencies near it first (gems: the specifications directory). */
static char *dir_of(const char *path)
{
	const char *slash = path ? strrchr(path, '/') : NULL;
	return strndup(path ? path : "", slash ? (size_t)(slash - path) : 0);
}

struct edges {
	json_t *deps;       /* [i...] */
	json_t *unresolved; /* ["item", ...] */
};

static void edge_add(struct graph *g, struct edges *e, size_t from, const json_t *to)
{
	size_t k;
	const json_t *v;
	json_array_foreach(to, k, v) {
		json_int_t t = json_integer_value(v);
		if ((size_t)t != from && json_array_append_new(e->deps, json_integer(t)) < 0)
			g->nomem = 1;
	}
}

static void unresolved(struct graph *g, struct edges *e, const char *item)
{
	if (json_array_append_new(e->unresolved, json_string(item)) < 0)
		g->nomem = 1;
}

/* A dependency name: up to white space, '(' or an operator; deb's ":any"
 * architecture qualifier dropped. */
static size_t dep_name(const char *s, const char *stops)
{
	size_t n = 0;
	while (s[n] == ' ')
		n++;
	return strcspn(s + n, stops) + n;
}

static const json_t *os_lookup(struct graph *g, const char *type, const char *name, size_t n)
{
	while (n && name[0] == ' ')
		name++, n--;
	const json_t *to = map_get(g, g->names, type, name, n);
	return json_array_size(to) ? to : map_get(g, g->provides, type, name, n);
}

/* deb: Depends and Pre-Depends items, "a (>= 1) | b:any | c": the first
 * alternative installed, as a package or as a virtual one some installed
 * package provides. */
static void deb_edges(struct graph *g, const json_t *pkg, size_t i, struct edges *e)
{
	static const char *const fields[] = { "pre_depends", "depends" };
	for (int f = 0; f < 2; f++) {
		size_t k;
		const json_t *item;
		json_array_foreach(json_object_get(pkg, fields[f]), k, item) {
			const char *s = json_string_value(item);
			const json_t *to = NULL;
			while (s && *s && !to) {
				size_t n = dep_name(s, " (:|");
				to = os_lookup(g, "deb", s, n);
				const char *bar = strchr(s, '|');
				s = bar ? bar + 1 : NULL;
			}
			if (json_array_size(to))
				edge_add(g, e, i, to);
			else if (json_string_value(item))
				unresolved(g, e, json_string_value(item));
		}
	}
}

/* rpm: Requires by name through Provides (every package provides its own
 * name), a path through the file lists. */
static void rpm_edges(struct graph *g, const json_t *pkg, size_t i, struct edges *e)
{
	size_t k;
	const json_t *item;
	json_array_foreach(json_object_get(pkg, "requires"), k, item) {
		const char *s = json_string_value(item);
		const json_t *to = s[0] == '/' ? map_get(g, g->paths, "rpm", s, strlen(s)) : os_lookup(g, "rpm", s, strlen(s));
		if (json_array_size(to))
			edge_add(g, e, i, to);
		else
			unresolved(g, e, s);
	}
}

/* apk: D: words, "!x" (a conflict) left out, "name>=1" by name, "so:..."
 * and "cmd:..." through p:. */
static void apk_edges(struct graph *g, const json_t *pkg, size_t i, struct edges *e)
{
	size_t k;
	const json_t *item;
	json_array_foreach(json_object_get(pkg, "depends"), k, item) {
		const char *s = json_string_value(item);
		if (s[0] == '!')
			continue;
		const json_t *to = os_lookup(g, "apk", s, dep_name(s, "<>=~"));
		if (json_array_size(to))
			edge_add(g, e, i, to);
		else
			unresolved(g, e, s);
	}
}

/* npm: each name as require() finds it, in node_modules from the package's
 * own directory up to the root. */
static void npm_edges(struct graph *g, const json_t *pkg, size_t i, struct edges *e)
{
	static const char *const fields[] = { "requires", "requires_optional" };
	const char *path = str(pkg, "path");
	if (!path)
		return;
	struct buf dir = BUF_INIT, cand = BUF_INIT;
	for (int f = 0; f < 2; f++) {
		size_t k;
		const json_t *item;
		json_array_foreach(json_object_get(pkg, fields[f]), k, item) {
			const char *name = json_string_value(item);
			const json_t *to = NULL;
			buf_reset(&dir);
			buf_adds(&dir, path);
			for (char *slash; !to && (slash = strrchr(dir.data, '/'));) {
				buf_setlen(&dir, (size_t)(slash - dir.data));
				const char *base = strrchr(dir.data, '/');
				if (base && !strcmp(base + 1, "node_modules"))
					continue;
				buf_reset(&cand);
				buf_addf(&cand, "%s/node_modules/%s/package.json", dir.data, name);
				to = json_object_get(g->paths, cand.data);
			}
			if (to)
				edge_add(g, e, i, to);
			else if (f == 0)
				unresolved(g, e, name);
			else {
				buf_reset(&cand);
				buf_addf(&cand, "%s (optional)", name);
				unresolved(g, e, cand.data);
			}
		}
	}
	buf_release(&dir);
	buf_release(&cand);
}

/* Of the packages to, those in place (a directory) when there are any. */
static json_t *nearest(const json_t *to, const json_t *packages, const char *place, char *(*where)(const char *))
{
	json_t *near = json_array();
	size_t k;
	const json_t *v;
	json_array_foreach(to, k, v) {
		char *w = where(str(json_array_get(packages, (size_t)json_integer_value(v)), "path"));
		if (w && place && !strcmp(w, place))
			json_array_append(near, (json_t *)v);
		free(w);
	}
	if (!json_array_size(near))
		json_array_extend(near, (json_t *)to);
	return near;
}

/* A Requires-Dist marker that only an extra, or a platform other than
 * Linux, would install: "extra == 'socks'", "sys_platform == 'win32'"
 * (markers on the Python version are kept: which one is installed is not
 * known here; an unmet one shows as unresolved, with its marker). */
static int marker_excludes(const char *m)
{
	if (strstr(m, "extra"))
		return 1;
	if (strstr(m, " or "))
		return 0;
	static const char *const other[] = {
		"sys_platform == \"win32\"", "sys_platform == 'win32'", "sys_platform == \"darwin\"",
		"sys_platform == 'darwin'", "sys_platform == \"cygwin\"", "sys_platform == 'cygwin'",
		"platform_system == \"Windows\"", "platform_system == 'Windows'", "platform_system == \"Darwin\"",
		"platform_system == 'Darwin'", "os_name == \"nt\"", "os_name == 'nt'",
		"platform_python_implementation == \"PyPy\"", "platform_python_implementation == 'PyPy'",
		"implementation_name == \"pypy\"", "implementation_name == 'pypy'",
	};
	for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++)
		if (strstr(m, other[i]))
			return 1;
	return 0;
}

static void python_edges(struct graph *g, const json_t *pkg, size_t i, struct edges *e)
{
	char *env = python_env(str(pkg, "path"));
	struct buf name = BUF_INIT;
	size_t k;
	const json_t *item;
	json_array_foreach(json_object_get(pkg, "requires_dist"), k, item) {
		const char *s = json_string_value(item), *semi = strchr(s, ';');
		if (semi && marker_excludes(semi + 1))
			continue;
		pep503(s, strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-"), &name);
		const json_t *to = name.len ? map_get(g, g->names, "python", name.data, name.len) : NULL;
		if (json_array_size(to)) {
			json_t *near = nearest(to, g->packages, env, python_env);
			edge_add(g, e, i, near);
			json_decref(near);
		} else {
			unresolved(g, e, s);
		}
	}
	buf_release(&name);
	free(env);
}

static void gem_edges(struct graph *g, const json_t *pkg, size_t i, struct edges *e)
{
	char *here = dir_of(str(pkg, "path"));
	size_t k;
	const json_t *item;
	json_array_foreach(json_object_get(pkg, "requires"), k, item) {
		const char *s = json_string_value(item);
		const json_t *to = map_get(g, g->names, "gem", s, strlen(s));
		if (json_array_size(to)) {
			json_t *near = nearest(to, g->packages, here, dir_of);
			edge_add(g, e, i, near);
			json_decref(near);
		} else {
			unresolved(g, e, s);
		}
	}
	free(here);
}

/* maven: the archive's own row CONTAINS its other rows and the own rows of
 * the archives nested one level down. */
static void maven_contains(struct graph *g, const json_t *pkg, size_t i, json_t *contains)
{
	const char *path = str(pkg, "path");
	if (!path)
		return;
	const json_t *parent = NULL;
	if (!json_is_true(json_object_get(pkg, "own"))) {
		parent = json_object_get(g->paths, path);
	} else if (str(pkg, "archive")) {
		const char *cut = NULL;
		for (const char *p = path; (p = strstr(p, "!/")); p++)
			cut = p;
		if (cut) {
			char *outer = strndup(path, (size_t)(cut - path));
			parent = outer ? json_object_get(g->paths, outer) : NULL;
			free(outer);
		}
	}
	if (!json_array_size(parent))
		return;
	size_t p = (size_t)json_integer_value(json_array_get(parent, 0));
	if (p == i)
		return;
	json_t *list = json_array_get(contains, p);
	if (json_array_append_new(list, json_integer((json_int_t)i)) < 0)
		g->nomem = 1;
}

static int by_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int by_int(const void *a, const void *b)
{
	json_int_t x = *(const json_int_t *)a, y = *(const json_int_t *)b;
	return x < y ? -1 : x > y;
}

/* Sets key to list sorted, each index once; nothing when it is empty. */
static int set_indices(json_t *pkg, const char *key, json_t *list)
{
	size_t n = json_array_size(list), m = 0;
	if (!n)
		return 0;
	json_int_t *v = malloc(n * sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (size_t k = 0; k < n; k++)
		v[k] = json_integer_value(json_array_get(list, k));
	qsort(v, n, sizeof(*v), by_int);
	json_t *out = json_array();
	for (size_t k = 0; out && k < n; k++)
		if (!k || v[k] != v[k - 1])
			m += json_array_append_new(out, json_integer(v[k])) == 0;
	free(v);
	return out && json_object_set_new(pkg, key, out) == 0 ? 0 : -ENOMEM;
}

static int graph_index(struct graph *g)
{
	size_t i;
	json_t *pkg;
	struct buf name = BUF_INIT;
	json_array_foreach(g->packages, i, pkg) {
		const char *type = str(pkg, "type"), *n = str(pkg, "name"), *path = str(pkg, "path");
		if (!type || !n)
			continue;
		if (!strcmp(type, "python")) {
			pep503(n, strlen(n), &name);
			map_add(g, g->names, type, name.data, name.len, i);
		} else {
			map_add(g, g->names, type, n, strlen(n), i);
		}
		size_t k;
		const json_t *v;
		json_array_foreach(json_object_get(pkg, "provides"), k, v) {
			/* deb "x (= 1)", apk "so:libz.so.1=1.2.13", rpm "x(y)" */
			const char *p = json_string_value(v);
			size_t len = !strcmp(type, "deb") ? dep_name(p, " (") : !strcmp(type, "apk") ? dep_name(p, "=") : strlen(p);
			map_add(g, g->provides, type, p, len, i);
		}
		if (!strcmp(type, "rpm"))
			json_array_foreach(json_object_get(pkg, "files"), k, v)
				map_add(g, g->paths, "rpm", json_string_value(v), json_string_length(v), i);
		if (path && (!strcmp(type, "npm") || (!strcmp(type, "maven") && json_is_true(json_object_get(pkg, "own")))))
			map_add(g, g->paths, NULL, path, strlen(path), i);
	}
	buf_release(&name);
	return g->nomem ? -ENOMEM : 0;
}

/* Sets each package's "dependencies" (indices into packages, sorted),
 * "unresolved_dependencies" (what it names that nothing installed is) and,
 * for Java archives, "contains". */
static int graph_relate(json_t *packages)
{
	struct graph g = { .packages = packages, .names = json_object(), .provides = json_object(),
			   .paths = json_object(), .key = BUF_INIT };
	size_t n = json_array_size(packages), i;
	json_t *contains = json_array(), *pkg;
	int r = g.names && g.provides && g.paths && contains ? 0 : -ENOMEM;
	for (i = 0; r == 0 && i < n; i++)
		if (json_array_append_new(contains, json_array()) < 0)
			r = -ENOMEM;
	if (r == 0)
		r = graph_index(&g);
	json_array_foreach(packages, i, pkg) {
		if (r < 0)
			break;
		const char *type = str(pkg, "type");
		struct edges e = { json_array(), json_array() };
		if (!type || !e.deps || !e.unresolved)
			g.nomem = !type ? g.nomem : 1;
		else if (!strcmp(type, "deb"))
			deb_edges(&g, pkg, i, &e);
		else if (!strcmp(type, "rpm"))
			rpm_edges(&g, pkg, i, &e);
		else if (!strcmp(type, "apk"))
			apk_edges(&g, pkg, i, &e);
		else if (!strcmp(type, "npm"))
			npm_edges(&g, pkg, i, &e);
		else if (!strcmp(type, "python"))
			python_edges(&g, pkg, i, &e);
		else if (!strcmp(type, "gem"))
			gem_edges(&g, pkg, i, &e);
		else if (!strcmp(type, "maven"))
			maven_contains(&g, pkg, i, contains);
		if (!g.nomem && set_indices(pkg, "dependencies", e.deps) < 0)
			g.nomem = 1;
		if (!g.nomem && json_array_size(e.unresolved) &&
		    json_object_set(pkg, "unresolved_dependencies", e.unresolved) < 0)
			g.nomem = 1;
		json_decref(e.deps);
		json_decref(e.unresolved);
		r = g.nomem ? -ENOMEM : 0;
	}
	for (i = 0; r == 0 && i < n; i++)
		r = set_indices(json_array_get(packages, i), "contains", json_array_get(contains, i));
	json_decref(contains);
	json_decref(g.names);
	json_decref(g.provides);
	json_decref(g.paths);
	buf_release(&g.key);
	return r;
}

/* --- which package owns which file ------------------------------------------ */

/* The walk entry of an image path, following links on the way (never the
 * last component: a package owns a link as a link), inside the root, a few
 * hops at most: "/bin/bash" is "/usr/bin/bash" where /bin -> usr/bin. */
static const struct walk_entry *entry_resolved(const struct walk_result *w, const char *path, struct buf *b)
{
	const struct walk_entry *e = entry_of(w, path);
	if (e)
		return e;
	buf_reset(b);
	if (buf_adds(b, path) < 0)
		return NULL;
	for (int hops = 0; hops < 8; hops++) {
		/* The longest proper prefix that is a link. */
		size_t at = b->len;
		const struct walk_entry *link = NULL;
		while (!link && at > 1) {
			char *slash = memrchr(b->data, '/', at - 1);
			if (!slash || slash == b->data)
				break;
			at = (size_t)(slash - b->data);
			b->data[at] = '\0';
			link = entry_of(w, b->data);
			b->data[at] = '/';
			if (link && (!S_ISLNK(link->mode) || !link->link))
				return NULL; /* a real directory, and the path is not in it */
		}
		if (!link)
			return NULL;
		struct buf t = BUF_INIT;
		char *rest = strdup(b->data + at);
		b->data[at] = '\0';
		char *slash = strrchr(b->data, '/');
		*slash = '\0';
		int r = rest ? join_path(&t, b->data, link->link) : -ENOMEM;
		if (r == 0)
			r = buf_adds(&t, rest);
		free(rest);
		buf_reset(b);
		if (r < 0 || buf_add(b, t.data, t.len) < 0) {
			buf_release(&t);
			return NULL;
		}
		buf_release(&t);
		if ((e = entry_of(w, b->data)))
			return e;
	}
	return NULL;
}

struct pair {
	uint32_t entry, pkg;
};

struct owning {
	const struct walk_result *w;
	struct pair *v;
	size_t n, alloc;
	uint8_t *modified;
	json_t **changed; /* per package: its modified files, or NULL */
	struct buf b;
	struct buf from, to; /* the last directory resolved through a link, and where it leads */
	size_t last;         /* the walk entry found last */
	int nomem;
};

/* The walk entry of path, searched for from the last one found: a list's
 * paths come in about the walk's order (both sorted, mostly), so a few
 * steps forward find most. */
static const struct walk_entry *entry_near(struct owning *o, const char *path)
{
	const struct walk_result *w = o->w;
	size_t lo = 0, hi = w->n;
	if (o->last < w->n) {
		int c = strcmp(path, w->v[o->last].path);
		if (!c)
			return &w->v[o->last];
		if (c < 0) {
			hi = o->last;
		} else {
			lo = o->last + 1;
			for (size_t step = 1; lo < hi; step *= 2) {
				size_t probe = o->last + step < hi ? o->last + step : hi - 1;
				c = strcmp(path, w->v[probe].path);
				if (!c) {
					o->last = probe;
					return &w->v[probe];
				}
				if (c < 0) {
					hi = probe;
					break;
				}
				lo = probe + 1;
			}
		}
	}
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(path, w->v[mid].path);
		if (!c) {
			o->last = mid;
			return &w->v[mid];
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	o->last = lo < w->n ? lo : o->last;
	return NULL;
}

/* The walk entry of path, as entry_resolved finds it, remembering where the
 * last directory that needed a link led: a package's files come directory
 * by directory, and on a merged /usr most of /bin, /lib and /sbin do. */
static const struct walk_entry *entry_cached(struct owning *o, const char *path)
{
	const struct walk_entry *e = entry_near(o, path);
	if (e)
		return e;
	const char *slash = strrchr(path, '/');
	size_t d = slash ? (size_t)(slash - path) : 0;
	if (slash && o->from.len == d && d && !memcmp(o->from.data, path, d)) {
		size_t keep = o->to.len;
		if (buf_adds(&o->to, slash) < 0) {
			o->nomem = 1;
			return NULL;
		}
		e = entry_near(o, o->to.data);
		buf_setlen(&o->to, keep);
		return e;
	}
	e = entry_resolved(o->w, path, &o->b);
	/* o->b holds where path led: its directory is where path's leads. */
	if (e && slash && o->b.len) {
		const char *ts = strrchr(o->b.data, '/');
		buf_reset(&o->from);
		buf_reset(&o->to);
		if (ts && (buf_add(&o->from, path, d) < 0 || buf_add(&o->to, o->b.data, (size_t)(ts - o->b.data)) < 0))
			o->nomem = 1;
	}
	return e;
}

/* Notes that package p owns entry e (not a directory: those are shared);
 * returns whether it does. */
static int own(struct owning *o, const struct walk_entry *e, size_t p)
{
	if (!e || S_ISDIR(e->mode))
		return 0;
	if (o->n == o->alloc) {
		size_t na = o->alloc ? o->alloc * 2 : 4096;
		struct pair *nv = realloc(o->v, na * sizeof(*nv));
		if (!nv) {
			o->nomem = 1;
			return 0;
		}
		o->v = nv;
		o->alloc = na;
	}
	o->v[o->n++] = (struct pair){ (uint32_t)(e - o->w->v), (uint32_t)p };
	return 1;
}

#define PATH_LIMIT 4096

/* The next path of a dpkg fact's text (dpkg.h: front-coded) from the n
 * bytes at s into path, which holds the path before (*len bytes). 0 when
 * the line is malformed or too long; path is then as it was. */
static int decode_path(const char *s, size_t n, char *path, size_t *len)
{
	size_t k = 0, i = 0;
	if (n && s[0] != '/') {
		while (i < n && s[i] >= '0' && s[i] <= '9' && k <= PATH_LIMIT)
			k = k * 10 + (size_t)(s[i++] - '0');
		if (!i || i == n || s[i] != ' ' || k > *len)
			return 0;
		i++;
	} else if (!n) {
		return 0;
	}
	if (k + n - i >= PATH_LIMIT)
		return 0;
	memcpy(path + k, s + i, n - i);
	*len = k + n - i;
	path[*len] = '\0';
	return 1;
}

static int hexval(int c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Whether hex (of n bytes' worth) spells want. */
static int same_hex(const char *hex, const uint8_t *want, size_t n)
{
	if (strlen(hex) != 2 * n)
		return -1;
	for (size_t i = 0; i < n; i++) {
		int a = hexval((unsigned char)hex[2 * i]), b = hexval((unsigned char)hex[2 * i + 1]);
		if (a < 0 || b < 0)
			return -1;
		if ((uint8_t)(a * 16 + b) != want[i])
			return 0;
	}
	return 1;
}

/* Decodes the n characters of base64 at s (RFC 4648, padding ends it)
 * into out; how many bytes, or -1 when a character is not base64 or
 * there are more than cap bytes. */
static int base64_decode(const char *s, size_t n, uint8_t *out, size_t cap)
{
	size_t o = 0;
	uint32_t acc = 0;
	int bits = 0;
	for (size_t i = 0; i < n && s[i] != '='; i++) {
		int c = s[i];
		int v = c >= 'A' && c <= 'Z' ? c - 'A' : c >= 'a' && c <= 'z' ? c - 'a' + 26 : c >= '0' && c <= '9' ? c - '0' + 52 :
			c == '+' ? 62 : c == '/' ? 63 : -1;
		if (v < 0)
			return -1;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o == cap)
				return -1;
			out[o++] = (uint8_t)(acc >> bits);
		}
	}
	return (int)o;
}

/* An md5sums fact's digest (22 characters of base64) against want. */
static int same_md5(const char *b64, const uint8_t want[16])
{
	uint8_t md5[16];
	return base64_decode(b64, 22, md5, sizeof(md5)) == 16 ? !memcmp(md5, want, 16) : -1;
}

/* apk's Z: "Q1" + base64 of the SHA-1. */
static int same_q1(const char *z, const uint8_t sha1[20])
{
	uint8_t out[20];
	if (strncmp(z, "Q1", 2) || strlen(z) != 30)
		return -1;
	return base64_decode(z + 2, 28, out, sizeof(out)) == 20 ? !memcmp(out, sha1, 20) : -1;
}

/* Notes a file whose content is not what package p shipped. */
static void changed(struct owning *o, const struct walk_entry *e, const char *path, size_t p)
{
	o->modified[e - o->w->v] = 1;
	if (!o->changed[p] && !(o->changed[p] = json_array()))
		o->nomem = 1;
	else if (json_array_append_new(o->changed[p], json_string(path)) < 0)
		o->nomem = 1;
}

/* The deb package a dpkg info file is about ("libc6:amd64.list"). */
static int info_package(const json_t *debs, const json_t *packages, const char *path)
{
	const char *base = strrchr(path, '/') + 1, *dot = strrchr(base, '.');
	const char *colon = memchr(base, ':', (size_t)(dot - base));
	char *name = strndup(base, (size_t)((colon ? colon : dot) - base));
	const json_t *list = name ? json_object_get(debs, name) : NULL;
	free(name);
	size_t k;
	const json_t *v;
	json_array_foreach(list, k, v) {
		const char *arch = str(json_array_get(packages, (size_t)json_integer_value(v)), "architecture");
		if (!colon || (arch && strlen(arch) == (size_t)(dot - colon - 1) && !memcmp(arch, colon + 1, strlen(arch))))
			return (int)json_integer_value(v);
	}
	return -1;
}

static int by_string(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The first of the n sorted strings of v not before key. */
static size_t lower_bound(char **v, size_t n, const char *key)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(v[mid], key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Package p owns those of a list's links (the nlinks paths in links,
 * each ending in a NUL, their entries in le) that are no directory of
 * the list: a link the image has where the package has a directory
 * (/bin on a merged /usr) is not the package's. The list's directories
 * are those its paths are in, sorted once. */
static void own_links(struct owning *o, const char *text, const struct buf *links,
		      const struct walk_entry *const *le, size_t nlinks, size_t p)
{
	struct buf dirs = BUF_INIT;
	size_t *at = NULL, n = 0, alloc = 0, plen = 0, last = (size_t)-1;
	char path[PATH_LIMIT];
	for (const char *l = text; *l && !o->nomem;) {
		size_t k = strcspn(l, "\n");
		int ok = decode_path(l, k, path, &plen);
		l += k + (l[k] == '\n');
		const char *slash = ok ? strrchr(path, '/') : NULL;
		size_t d = slash ? (size_t)(slash - path) : 0;
		if (!d || (last != (size_t)-1 && !strncmp(dirs.data + last, path, d) && dirs.data[last + d] == '\0'))
			continue;
		if (n == alloc) {
			size_t na = alloc ? 2 * alloc : 64;
			size_t *nv = realloc(at, na * sizeof(*nv));
			if (!nv) {
				o->nomem = 1;
				break;
			}
			at = nv;
			alloc = na;
		}
		at[n++] = last = dirs.len;
		if (buf_add(&dirs, path, d) < 0 || buf_addch(&dirs, '\0') < 0)
			o->nomem = 1;
	}
	char **v = o->nomem ? NULL : malloc((n + 1) * sizeof(*v));
	if (!o->nomem && !v)
		o->nomem = 1;
	for (size_t i = 0; v && i < n; i++)
		v[i] = dirs.data + at[i];
	if (v)
		qsort(v, n, sizeof(*v), by_string);
	const char *name = links->data;
	for (size_t i = 0; v && i < nlinks; name += strlen(name) + 1, i++) {
		size_t len = strlen(name), k = lower_bound(v, n, name);
		/* name itself, or a directory under it: name/... sorts after
		 * name, after name-x and name.x too, so look past those. */
		int dir = k < n && !strcmp(v[k], name);
		if (!dir && len + 1 < PATH_LIMIT) {
			memcpy(path, name, len);
			memcpy(path + len, "/", 2);
			k = lower_bound(v, n, path);
			dir = k < n && !strncmp(v[k], path, len + 1);
		}
		if (!dir)
			own(o, le[i], p);
	}
	free(v);
	free(at);
	buf_release(&dirs);
}

/* The files of a dpkg fact (a .list, or md5sums: then sums) that package
 * p owns, and those of md5sums whose content is not what it shipped. */
static void own_listed(struct owning *o, const char *text, int sums, size_t p)
{
	char path[PATH_LIMIT];
	size_t plen = 0, nlinks = 0, alloc = 0;
	struct buf links = BUF_INIT;
	const struct walk_entry **le = NULL;
	for (const char *l = text; !o->nomem && *l;) {
		/* "<path>", or "<md5> <path>" with 22 characters of md5. */
		size_t n = strcspn(l, "\n");
		const char *want = sums && n > 23 ? l : NULL, *coded = want ? l + 23 : l;
		size_t cn = want ? n - 23 : n;
		l += n + (l[n] == '\n');
		if ((sums && !want) || !decode_path(coded, cn, path, &plen))
			continue;
		const struct walk_entry *e = entry_cached(o, path);
		if (e && !sums && S_ISLNK(e->mode)) {
			if (nlinks == alloc) {
				size_t na = alloc ? 2 * alloc : 16;
				const struct walk_entry **nv = realloc(le, na * sizeof(*nv));
				if (!nv) {
					o->nomem = 1;
					break;
				}
				le = nv;
				alloc = na;
			}
			le[nlinks++] = e;
			if (buf_add(&links, path, plen + 1) < 0)
				o->nomem = 1;
		} else if (e && own(o, e, p) && want && S_ISREG(e->mode) && e->digests && same_md5(want, e->md5) == 0) {
			changed(o, e, path, p);
		}
	}
	if (nlinks && !o->nomem)
		own_links(o, text, &links, le, nlinks, p);
	free(le);
	buf_release(&links);
}

static int owners_find(json_t *packages, const json_t *facts, const struct walk_result *w, struct relate_owners *out)
{
	size_t np = json_array_size(packages), i, k;
	struct owning o = { .w = w, .b = BUF_INIT, .from = BUF_INIT, .to = BUF_INIT };
	json_t *debs = json_object(), *pkg;
	o.modified = calloc(w->n + 1, 1);
	o.changed = calloc(np + 1, sizeof(*o.changed));
	if (!debs || !o.modified || !o.changed)
		o.nomem = 1;
	json_array_foreach(packages, i, pkg) {
		const char *type = str(pkg, "type"), *name = str(pkg, "name");
		if (!o.nomem && type && name && !strcmp(type, "deb")) {
			json_t *l = json_object_get(debs, name);
			if (!l && (!(l = json_array()) || json_object_set_new(debs, name, l) < 0))
				o.nomem = 1;
			else if (json_array_append_new(l, json_integer((json_int_t)i)) < 0)
				o.nomem = 1;
		}
	}
	/* dpkg: the .list names what a package installed; md5sums what it
	 * shipped, conffiles left out (they are meant to change). */
	const char *path;
	json_t *fact;
	json_object_foreach((json_t *)facts, path, fact) {
		const char *kind = str(fact, "fact");
		int list = kind && !strcmp(kind, "dpkg-list"), sums = kind && !strcmp(kind, "dpkg-md5sums");
		int p = list || sums ? info_package(debs, packages, path) : -1;
		if (p < 0 || o.nomem)
			continue;
		const char *text = json_string_value(json_object_get(fact, list ? "paths" : "sums"));
		if (text)
			own_listed(&o, text, sums, (size_t)p);
	}
	/* rpm and apk carry their file lists in their records. */
	json_array_foreach(packages, i, pkg) {
		const char *type = str(pkg, "type");
		int rpm = type && !strcmp(type, "rpm"), apk = type && !strcmp(type, "apk");
		if (o.nomem || (!rpm && !apk))
			continue;
		json_int_t algo = json_integer_value(json_object_get(pkg, "file_digest_algo"));
		const json_t *sums = json_object_get(pkg, "file_digests"), *v;
		json_array_foreach(json_object_get(pkg, "files"), k, v) {
			const struct walk_entry *e = entry_cached(&o, json_string_value(v));
			const char *want = json_string_value(json_array_get(sums, k));
			if (!own(&o, e, i) || !want || !*want || !S_ISREG(e->mode) || !e->digests)
				continue;
			int same = apk ? same_q1(want, e->sha1) : algo == 8 ? same_hex(want, e->sha256, 32) :
				   algo == 2 ? same_hex(want, e->sha1, 20) : algo == 1 ? same_hex(want, e->md5, 16) : -1;
			if (same == 0)
				changed(&o, e, json_string_value(v), i);
		}
	}
	if (!o.nomem && o.n) {
		/* Grouped by entry (a counting sort: entries are indices), each
		 * entry's packages in order, each once. */
		out->n = w->n;
		out->off = calloc(w->n + 1, sizeof(*out->off));
		out->pkg = malloc(o.n * sizeof(*out->pkg));
		uint32_t *start = calloc(w->n + 1, sizeof(*start)), *by = malloc(o.n * sizeof(*by));
		if (!out->off || !out->pkg || !start || !by)
			o.nomem = 1;
		for (size_t x = 0; !o.nomem && x < o.n; x++)
			start[o.v[x].entry + 1]++;
		for (size_t x = 0; !o.nomem && x < w->n; x++)
			start[x + 1] += start[x];
		for (size_t x = 0; !o.nomem && x < o.n; x++)
			by[start[o.v[x].entry]++] = o.v[x].pkg;
		/* start[x] is now where entry x's packages end. */
		uint32_t m = 0, from = 0;
		for (size_t x = 0; !o.nomem && x < w->n; x++) {
			out->off[x] = m;
			for (uint32_t y = from; y < start[x]; y++) {
				uint32_t pk = by[y], at = m;
				while (at > out->off[x] && out->pkg[at - 1] > pk)
					at--;
				if (at > out->off[x] && out->pkg[at - 1] == pk)
					continue;
				memmove(out->pkg + at + 1, out->pkg + at, (m - at) * sizeof(*out->pkg));
				out->pkg[at] = pk;
				m++;
			}
			from = start[x];
		}
		if (!o.nomem)
			out->off[w->n] = m;
		free(start);
		free(by);
		out->modified = o.modified;
		o.modified = NULL;
	}
	for (i = 0; o.changed && i < np; i++) {
		if (!o.nomem && o.changed[i]) {
			/* Sorted, each once (a file listed twice). */
			json_t *l = o.changed[i];
			size_t n = json_array_size(l);
			const char **v = malloc(n * sizeof(*v));
			json_t *sorted = json_array();
			for (k = 0; v && k < n; k++)
				v[k] = json_string_value(json_array_get(l, k));
			if (v && sorted) {
				qsort(v, n, sizeof(*v), by_str);
				for (k = 0; k < n; k++)
					if (!k || strcmp(v[k], v[k - 1]))
						json_array_append_new(sorted, json_string(v[k]));
			}
			if (!v || !sorted || json_object_set_new(json_array_get(packages, i), "modified_files", sorted) < 0)
				o.nomem = 1;
			free(v);
		}
		json_decref(o.changed[i]);
	}
	free(o.changed);
	free(o.modified);
	free(o.v);
	buf_release(&o.b);
	buf_release(&o.from);
	buf_release(&o.to);
	json_decref(debs);
	return o.nomem ? -ENOMEM : 0;
}

void relate_owners_release(struct relate_owners *o)
{
	free(o->off);
	free(o->pkg);
	free(o->modified);
	memset(o, 0, sizeof(*o));
}

int relate_packages(json_t *packages, const json_t *facts, const struct walk_result *walk,
		    struct relate_owners *owners)
{
	size_t i;
	json_t *pkg;
	json_array_foreach(packages, i, pkg) {
		const char *type = str(pkg, "type");
		if (type && !strcmp(type, "deb") && str(pkg, "name") && deb_licenses(pkg, facts, walk) < 0)
			return -ENOMEM;
	}
	int r = graph_relate(packages);
	struct relate_owners none = { 0 };
	if (r == 0 && walk)
		r = owners_find(packages, facts, walk, owners ? owners : &none);
	relate_owners_release(&none);
	/* What the records carry for the join alone stays out of the report
	 * (an rpm's file list is its files section's business). */
	static const char *const internal[] = { "own", "files", "file_digests", "file_digest_algo" };
	json_array_foreach(packages, i, pkg)
		for (size_t k = 0; k < sizeof(internal) / sizeof(internal[0]); k++)
			json_object_del(pkg, internal[k]);
	return r;
}
