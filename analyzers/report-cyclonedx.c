/* report-cyclonedx: the CycloneDX 1.5 JSON writer. metadata.component is
 * the image (type "container", version its manifest digest, an oci purl) or
 * the directory (type "file"); components are the distribution (type
 * "operating-system", when the report names one) and one "library" per
 * report package with its purl, licenses and where it was found as
 * strata:path and strata:layer properties; dependencies, the graph the
 * report resolved. Secrets and files stay out: a BOM lists components. The serial number is a name-based UUID of the digest (or
 * directory) and the report's time, so the same report gives the same BOM. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "src/base/buf.h"
#include "report.h"

static const char *str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s && *s ? s : NULL;
}

static json_t *property(const char *name, const char *value)
{
	return json_pack("{s:s, s:s}", "name", name, "value", value);
}

/* licenses for a package: its "licenses" (or, in a report stored by an
 * older strata, "license") as [{license:{id}}] for listed identifiers and
 * [{license:{name}}] for texts; when one of them is an expression (AND,
 * OR, WITH) and all are SPDX, the tuple [{expression}] of them joined with
 * AND, since the schema takes one expression or a list, not both. NULL
 * when there is none. */
static json_t *licenses(const json_t *pkg)
{
	const json_t *list = json_object_get(pkg, "licenses");
	json_t *one = NULL;
	if (!json_array_size(list)) {
		const char *text = str(pkg, "license");
		if (!text || !strcmp(text, "NOASSERTION") || !strcmp(text, "NONE"))
			return NULL;
		one = json_pack("[s]", text);
		list = one;
	}
	json_t *out = json_array();
	struct buf expr = BUF_INIT;
	int compound = 0, texts = 0;
	size_t i;
	const json_t *v;
	json_array_foreach(list, i, v) {
		const char *text = json_string_value(v);
		char *canon = NULL;
		int single = 0;
		int r = text ? license_expression(text, &canon, &single) : 0;
		if (r > 0 && single)
			json_array_append_new(out, json_pack("{s:{s:s}}", "license", "id", canon));
		else
			json_array_append_new(out, json_pack("{s:{s:s}}", "license", "name", text ? text : ""));
		compound |= r > 0 && !single;
		texts |= r <= 0;
		if (r > 0) {
			int wrap = json_array_size(list) > 1 && (strstr(canon, " AND ") || strstr(canon, " OR "));
			buf_addf(&expr, "%s%s%s%s", i ? " AND " : "", wrap ? "(" : "", canon, wrap ? ")" : "");
		}
		free(canon);
	}
	if (compound && !texts) {
		json_decref(out);
		out = json_pack("[{s:s}]", "expression", expr.data);
	}
	buf_release(&expr);
	json_decref(one);
	return out;
}

static json_t *image_component(const json_t *report)
{
	const json_t *image = json_object_get(report, "image");
	const char *ref = str(image, "ref"), *digest = str(image, "digest"), *dir = str(image, "path");
	json_t *c;
	if (dir && !digest) {
		c = json_pack("{s:s, s:s, s:s}", "type", "file", "bom-ref", "root", "name", dir);
		return c;
	}
	c = json_pack("{s:s, s:s, s:s}", "type", "container", "bom-ref", "root", "name",
		      ref ? ref : digest ? digest : "unknown");
	if (!c)
		return NULL;
	if (digest)
		json_object_set_new(c, "version", json_string(digest));
	char *purl = purl_oci(ref, digest);
	if (purl)
		json_object_set_new(c, "purl", json_string(purl));
	free(purl);
	const json_t *layers = json_object_get(image, "layers");
	json_t *props = json_array();
	size_t i;
	const json_t *layer;
	json_array_foreach(layers, i, layer)
		if (json_string_value(layer))
			json_array_append_new(props, property("strata:layer", json_string_value(layer)));
	if (json_array_size(props))
		json_object_set_new(c, "properties", props);
	else
		json_decref(props);
	return c;
}

static json_t *os_component(const json_t *distro)
{
	const char *id = str(distro, "id");
	if (!id)
		return NULL;
	json_t *c = json_pack("{s:s, s:s, s:s}", "type", "operating-system", "bom-ref", "os", "name", id);
	if (!c)
		return NULL;
	if (str(distro, "version_id"))
		json_object_set_new(c, "version", json_string(str(distro, "version_id")));
	if (str(distro, "pretty_name"))
		json_object_set_new(c, "description", json_string(str(distro, "pretty_name")));
	return c;
}

/* The bom-ref of package index: unique by the index; the purl (or name)
 * makes it readable. malloc'd. */
static char *bom_ref(const json_t *report, const json_t *pkg, size_t index)
{
	char *purl = report_package_purl(report, pkg), *ref = NULL;
	const char *name = str(pkg, "name");
	if (asprintf(&ref, "pkg-%zu:%s", index, purl ? purl : name ? name : "") < 0)
		ref = NULL;
	free(purl);
	return ref;
}

static int is_os_type(const char *type)
{
	return type && (!strcmp(type, "deb") || !strcmp(type, "rpm") || !strcmp(type, "apk"));
}

/* The dependencies section: every component with what it depends on (a
 * package's dependencies, and for a Java archive the archives it
 * contains), the distribution depending on its packages, and the image
 * on the distribution and on every other package nothing else pulls in. */
static void dependencies(struct report_json *j, const json_t *packages, char **refs, int with_os)
{
	size_t n = json_array_size(packages), i, k;
	char *pulled = calloc(n + 1, 1);
	const json_t *pkg, *v;
	static const char *const keys[] = { "dependencies", "contains" };
	json_array_foreach(packages, i, pkg)
		for (int f = 0; f < 2; f++)
			json_array_foreach(json_object_get(pkg, keys[f]), k, v)
				if (pulled && (size_t)json_integer_value(v) < n)
					pulled[json_integer_value(v)] = 1;
	json_t *root = json_array(), *os = json_array();
	if (with_os)
		json_array_append_new(root, json_string("os"));
	json_array_foreach(packages, i, pkg) {
		if (!refs[i])
			continue;
		if (with_os && is_os_type(str(pkg, "type")))
			json_array_append_new(os, json_string(refs[i]));
		else if (pulled && !pulled[i])
			json_array_append_new(root, json_string(refs[i]));
	}
	report_json_array(j, "dependencies");
	report_json_item(j, json_pack("{s:s, s:o}", "ref", "root", "dependsOn", root));
	if (with_os)
		report_json_item(j, json_pack("{s:s, s:o}", "ref", "os", "dependsOn", os));
	else
		json_decref(os);
	json_array_foreach(packages, i, pkg) {
		if (!refs[i] || report_json_failed(j))
			continue;
		json_t *on = json_array();
		for (int f = 0; f < 2; f++)
			json_array_foreach(json_object_get(pkg, keys[f]), k, v) {
				size_t t = (size_t)json_integer_value(v);
				if (t < n && refs[t])
					json_array_append_new(on, json_string(refs[t]));
			}
		report_json_item(j, json_pack("{s:s, s:o}", "ref", refs[i], "dependsOn", on));
	}
	report_json_array_end(j);
	free(pulled);
}

static json_t *component(const json_t *report, const json_t *pkg, const char *ref)
{
	const char *name = str(pkg, "name"), *version = str(pkg, "version"), *type = str(pkg, "type");
	char *purl = report_package_purl(report, pkg);
	json_t *c = json_pack("{s:s, s:s}", "type", "library", "bom-ref", ref);
	if (!c)
		goto out;
	if (type && !strcmp(type, "maven") && str(pkg, "group"))
		json_object_set_new(c, "group", json_string(str(pkg, "group")));
	json_object_set_new(c, "name", json_string(name ? name : ""));
	if (version)
		json_object_set_new(c, "version", json_string(version));
	json_t *l = licenses(pkg);
	if (l)
		json_object_set_new(c, "licenses", l);
	if (purl)
		json_object_set_new(c, "purl", json_string(purl));
	/* The most specific CPE as "cpe", the others as properties. */
	const json_t *cpes = json_object_get(pkg, "cpes");
	if (json_string_value(json_array_get(cpes, 0)))
		json_object_set_new(c, "cpe", json_string(json_string_value(json_array_get(cpes, 0))));
	json_t *props = json_array();
	size_t k;
	const json_t *cv;
	json_array_foreach(cpes, k, cv)
		if (k && json_string_value(cv))
			json_array_append_new(props, property("strata:cpe23", json_string_value(cv)));
	if (type)
		json_array_append_new(props, property("strata:type", type));
	if (str(pkg, "path"))
		json_array_append_new(props, property("strata:path", str(pkg, "path")));
	if (str(pkg, "layer"))
		json_array_append_new(props, property("strata:layer", str(pkg, "layer")));
	json_object_set_new(c, "properties", props);
out:
	free(purl);
	return c;
}

int report_write_cyclonedx(const json_t *report, const struct report_files *files, FILE *out,
			   struct strata_error *err)
{
	(void)files; /* files stay out of a BOM */
	if (!json_is_object(report))
		return error_set(err, -EINVAL, "cannot write cyclonedx-json: the report is not a JSON object");
	const json_t *image = json_object_get(report, "image"), *tool = json_object_get(report, "tool");
	const json_t *packages = json_object_get(report, "packages");
	const char *digest = str(image, "digest"), *dir = str(image, "path"), *tv = str(tool, "version");
	char created[32], uuid[37];
	report_created(report, created);
	char *key = NULL;
	if (asprintf(&key, "strata-cyclonedx:%s:%s:%s", digest ? digest : "", dir ? dir : "", created) < 0)
		return error_set(err, -ENOMEM, "cannot write cyclonedx-json: out of memory");
	report_uuid(key, uuid);
	free(key);

	struct report_json j;
	report_json_begin(&j, out);
	report_json_member(&j, "bomFormat", json_string("CycloneDX"));
	report_json_member(&j, "specVersion", json_string("1.5"));
	report_json_member(&j, "serialNumber", json_sprintf("urn:uuid:%s", uuid));
	report_json_member(&j, "version", json_integer(1));
	json_t *meta = json_pack("{s:s, s:{s:[{s:s, s:s, s:s}]}}", "timestamp", created, "tools",
				 "components", "type", "application", "name", "strata", "version",
				 tv ? tv : PACKAGE_VERSION);
	json_t *root = image_component(report);
	if (meta && root)
		json_object_set_new(meta, "component", root);
	else
		json_decref(root);
	report_json_member(&j, "metadata", meta);

	report_json_array(&j, "components");
	json_t *os = os_component(json_object_get(report, "distro"));
	int with_os = os != NULL;
	if (os)
		report_json_item(&j, os);
	size_t i, n = json_array_size(packages);
	const json_t *pkg;
	char **refs = calloc(n + 1, sizeof(*refs));
	if (!refs) {
		report_json_array_end(&j);
		report_json_end(&j, err);
		return error_set(err, -ENOMEM, "cannot write cyclonedx-json: out of memory");
	}
	json_array_foreach(packages, i, pkg) {
		refs[i] = bom_ref(report, pkg, i);
		report_json_item(&j, refs[i] ? component(report, pkg, refs[i]) : NULL);
	}
	report_json_array_end(&j);
	dependencies(&j, packages, refs, with_os);
	for (i = 0; i < n; i++)
		free(refs[i]);
	free(refs);
	return report_json_end(&j, err);
}
