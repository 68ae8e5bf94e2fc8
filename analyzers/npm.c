/* npm: the package.json reader and its analyzer (rules in npm.h). The
 * file is parsed whole with jansson, whose parser bounds its nesting depth. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "license.h"
#include "npm.h"

/* Appends the licence named by v (a string, or an object's "type") to b,
 * " OR " between several. Returns 0 or -ENOMEM. */
static int add_license(struct buf *b, json_t *v)
{
	if (json_is_object(v))
		v = json_object_get(v, "type");
	const char *s = json_string_value(v);
	if (!s || !json_string_length(v))
		return 0;
	if (b->len) {
		int r = buf_adds(b, " OR ");
		if (r < 0)
			return r;
	}
	return buf_add(b, s, json_string_length(v));
}

static int add_licenses(struct buf *b, json_t *v)
{
	if (!json_is_array(v))
		return add_license(b, v);
	size_t i;
	json_t *x;
	json_array_foreach(v, i, x) {
		int r = add_license(b, x);
		if (r < 0)
			return r;
	}
	return 0;
}

/* The names of a dependencies object ({"name": "range", ...}), in file
 * order, as key of rec; nothing when there are none. 0 or -ENOMEM. */
static int dep_names(json_t *rec, const char *key, json_t *deps)
{
	if (!json_object_size(deps))
		return 0;
	json_t *list = json_array();
	const char *name;
	json_t *v;
	if (!list || json_object_set_new(rec, key, list) < 0)
		return -ENOMEM;
	json_object_foreach(deps, name, v)
		if (*name && json_array_append_new(list, record_string(name, strlen(name))) < 0)
			return -ENOMEM;
	return 0;
}

int npm_package_json_parse(const char *data, size_t len, json_t *out, struct strata_error *err)
{
	/* npm strips a byte order mark before parsing; so do we. */
	if (len >= 3 && !memcmp(data, "\xEF\xBB\xBF", 3)) {
		data += 3;
		len -= 3;
	}
	json_error_t jerr;
	json_t *root = json_loadb(data, len, 0, &jerr);
	if (!root)
		return error_set(err, -EBADMSG, "malformed package.json: %s (line %d)", jerr.text,
				 jerr.line);
	int r = 0;
	if (!json_is_object(root)) {
		r = error_set(err, -EBADMSG, "malformed package.json: not a JSON object");
		goto out;
	}
	json_t *name = json_object_get(root, "name"), *version = json_object_get(root, "version");
	if (!json_is_string(name) && !json_is_string(version))
		goto out;
	json_t *rec = record_package("npm");
	if (!rec) {
		r = error_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	if (json_is_string(name))
		record_set_strn(rec, "name", json_string_value(name), json_string_length(name));
	if (json_is_string(version))
		record_set_strn(rec, "version", json_string_value(version), json_string_length(version));
	struct buf lic = BUF_INIT;
	r = add_licenses(&lic, json_object_get(root, "license"));
	if (r == 0 && !lic.len)
		r = add_licenses(&lic, json_object_get(root, "licenses"));
	if (r == 0 && lic.len) {
		record_set_strn(rec, "license", lic.data, lic.len);
		r = license_add(rec, lic.data, lic.len);
	}
	/* Where the project lives, for its CPE vendor (cpe.h). */
	json_t *home = json_object_get(root, "homepage"), *repo = json_object_get(root, "repository");
	if (json_is_object(repo))
		repo = json_object_get(repo, "url");
	if (json_is_string(home))
		record_set_strn(rec, "homepage", json_string_value(home), json_string_length(home));
	if (json_is_string(repo))
		record_set_strn(rec, "repository_url", json_string_value(repo), json_string_length(repo));
	if (r == 0)
		r = dep_names(rec, "requires", json_object_get(root, "dependencies"));
	if (r == 0)
		r = dep_names(rec, "requires_optional", json_object_get(root, "optionalDependencies"));
	buf_release(&lic);
	if (r < 0)
		json_decref(rec);
	if (r < 0 || json_array_append_new(out, rec) < 0) /* the append takes rec either way */
		r = error_set(err, -ENOMEM, "out of memory");
out:
	json_decref(root);
	return r;
}

int npm_claims_path(const char *path)
{
	static const char base[] = "package.json";
	size_t n = strlen(path), nb = sizeof(base) - 1;
	if (n < nb || strcmp(path + n - nb, base) || (n > nb && path[n - nb - 1] != '/'))
		return 0;
	const char *last = NULL;
	for (const char *p = path; (p = strstr(p, "/node_modules/")); p++)
		last = p;
	if (!last)
		return 1; /* a project's own package.json */
	const char *rest = last + strlen("/node_modules/");
	const char *slash = strchr(rest, '/');
	if (!slash || slash == rest)
		return 0;
	if (rest[0] == '@') {
		rest = slash + 1;
		slash = strchr(rest, '/');
		if (!slash || slash == rest)
			return 0;
	}
	return !strcmp(slash + 1, base);
}

static const char *const npm_patterns[] = {
	"*/package.json",
	NULL,
};

static int npm_claims(const char *path, uint64_t size, const struct analyzer_limits *limits)
{
	return npm_claims_path(path);
}

static int npm_scan(const struct analyzer_file *f, json_t *out, struct strata_error *err)
{
	return analyzer_parse_whole(f, npm_package_json_parse, out, err);
}

const struct analyzer analyzer_npm = {
	.name = "npm",
	.version = 4,
	.patterns = npm_patterns,
	.claims = npm_claims,
	.keyed_by_name = 0,
	.scan = npm_scan,
};
