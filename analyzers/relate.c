/* relate: joins facts to packages at report time (see relate.h). Lookups
 * go through JSON objects keyed by path or name and a binary search of the
 * walk's sorted entries, so the whole join is O(n log n) in the records. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "buf.h"
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

int relate_packages(json_t *packages, const json_t *facts, const struct walk_result *walk)
{
	size_t i;
	json_t *pkg;
	json_array_foreach(packages, i, pkg) {
		const char *type = str(pkg, "type");
		if (type && !strcmp(type, "deb") && str(pkg, "name") && deb_licenses(pkg, facts, walk) < 0)
			return -ENOMEM;
	}
	return 0;
}
