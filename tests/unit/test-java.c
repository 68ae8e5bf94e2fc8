/* test-java: the manifest and pom.properties readers and the archive walk
 * against the peer vectors (tests/vectors/java), a Debian jar, fat jars
 * built here, deep nesting, zip bombs, hostile input and the claims. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include <zlib.h>

#include <jansson.h>

#include "analyzers/java.h"
#include "analyzers/javameta.h"
#include "tap.h"
#include "vectors.h"
#include "zipw.h"

/* Adds name holding data, deflated. */
static void zipw_add_deflated(struct zipw *z, const char *name, const void *data, size_t len)
{
	z_stream s;
	memset(&s, 0, sizeof(s));
	struct buf out = BUF_INIT;
	if (deflateInit2(&s, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		exit(99);
	buf_grow(&out, deflateBound(&s, (uLong)len));
	s.next_in = (Bytef *)data;
	s.avail_in = (uInt)len;
	s.next_out = (Bytef *)out.data;
	s.avail_out = (uInt)(out.alloc - 1);
	if (deflate(&s, Z_FINISH) != Z_STREAM_END)
		exit(99);
	zipw_add_raw(z, name, 8, (uint32_t)crc32(0, data, (uInt)len), out.data, s.total_out, len);
	deflateEnd(&s);
	buf_release(&out);
}

/* A raw deflate stream of mib MiB of zeros: one compressed MiB repeated
 * (a full flush makes the copies independent of each other) and a final
 * empty block, so a gigabyte costs a megabyte and no time; *crc gets the
 * CRC-32 of the whole. */
static void zero_stream(unsigned mib, struct buf *out, uint32_t *crc)
{
	static unsigned char zeros[1 << 20];
	unsigned char chunk[1 << 14], tail[64];
	z_stream s;
	memset(&s, 0, sizeof(s));
	if (deflateInit2(&s, 9, Z_DEFLATED, -15, 9, Z_DEFAULT_STRATEGY) != Z_OK)
		exit(99);
	s.next_in = zeros;
	s.avail_in = sizeof(zeros);
	s.next_out = chunk;
	s.avail_out = sizeof(chunk);
	if (deflate(&s, Z_FULL_FLUSH) != Z_OK || s.avail_in)
		exit(99);
	size_t clen = sizeof(chunk) - s.avail_out;
	s.next_out = tail;
	s.avail_out = sizeof(tail);
	if (deflate(&s, Z_FINISH) != Z_STREAM_END)
		exit(99);
	size_t tlen = sizeof(tail) - s.avail_out;
	deflateEnd(&s);
	uLong one = crc32(0, zeros, sizeof(zeros)), all = one;
	buf_reset(out);
	buf_add(out, chunk, clen);
	for (unsigned i = 1; i < mib; i++) {
		buf_add(out, chunk, clen);
		all = crc32_combine(all, one, sizeof(zeros));
	}
	buf_add(out, tail, tlen);
	*crc = (uint32_t)all;
}

static struct analyzer_limits defaults;

/* ---- the readers ---------------------------------------------------------- */

static int manifest_row(void *ctx, unsigned section, const char *key, const char *value)
{
	json_t *row = json_object();
	if (!row)
		return -ENOMEM;
	json_object_set_new(row, "section", json_integer(section));
	record_set_str(row, "key", key);
	record_set_str(row, "value", value);
	return json_array_append_new(ctx, row) == 0 ? 0 : -ENOMEM;
}

static int manifest_rows(const char *data, size_t len, json_t *out, struct strata_error *err)
{
	return java_manifest_parse(data, len, manifest_row, out);
}

static int pom_rows(const char *data, size_t len, json_t *out, struct strata_error *err)
{
	struct java_pom pom = { NULL, NULL, NULL };
	int r = java_pom_properties_parse(data, len, &pom);
	if (r == 0 && (pom.group_id || pom.artifact_id || pom.version)) {
		json_t *row = json_object();
		record_set_str(row, "groupId", pom.group_id);
		record_set_str(row, "artifactId", pom.artifact_id);
		record_set_str(row, "version", pom.version);
		json_array_append_new(out, row);
	}
	java_pom_release(&pom);
	return r;
}

/* The records of the walk as the README's jar columns. */
static json_t *jar_rows(json_t *recs)
{
	json_t *rows = json_array();
	for (size_t i = 0; i < json_array_size(recs); i++) {
		json_t *row = json_object();
		record_set_str(row, "groupId", vec_rec_str(recs, i, "group"));
		record_set_str(row, "artifactId", vec_rec_str(recs, i, "name"));
		record_set_str(row, "version", vec_rec_str(recs, i, "version"));
		record_set_str(row, "evidence", vec_rec_str(recs, i, "evidence"));
		json_array_append_new(rows, row);
	}
	return rows;
}

static const char *base_of(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

static void test_manifest_vectors(void)
{
	struct vec_list vecs = VEC_LIST_INIT;
	struct strata_error err = STRATA_ERROR_INIT;
	vec_find_vectors(&vecs, "java/manifest");
	is_int(vecs.n, 7, "all manifest vectors found");
	for (size_t i = 0; i < vecs.n; i++) {
		int rc;
		json_t *out = vec_parse_vector(vecs.path[i], manifest_rows, &rc, &err);
		vec_check_vector(out, vecs.path[i]);
		is_int(rc, 0, "%s: no error", vecs.path[i]);
		json_decref(out);
	}
	vec_list_release(&vecs);
}

static void test_pom_vectors(void)
{
	struct vec_list vecs = VEC_LIST_INIT;
	struct strata_error err = STRATA_ERROR_INIT;
	vec_find_vectors(&vecs, "java/pom");
	is_int(vecs.n, 5, "all pom.properties vectors found");
	for (size_t i = 0; i < vecs.n; i++) {
		int rc;
		json_t *out = vec_parse_vector(vecs.path[i], pom_rows, &rc, &err);
		vec_check_vector(out, vecs.path[i]);
		is_int(rc, 0, "%s: no error", vecs.path[i]);
		json_decref(out);
	}
	vec_list_release(&vecs);
}

static void test_jar_vectors(void)
{
	struct vec_list vecs = VEC_LIST_INIT;
	struct strata_error err = STRATA_ERROR_INIT;
	vec_find_vectors(&vecs, "java/jar");
	is_int(vecs.n, 6, "all jar vectors found");
	for (size_t i = 0; i < vecs.n; i++) {
		char path[4096], tsv[4096], where[4200];
		char *data;
		size_t len;
		snprintf(path, sizeof(path), "%s/vectors/%s", vec_srcdir(), vecs.path[i]);
		snprintf(tsv, sizeof(tsv), "%s.expected.tsv", path);
		vec_slurp(path, &data, &len);
		json_t *out = json_array();
		error_clear(&err);
		int rc = java_archive_parse(data, len, base_of(vecs.path[i]), &defaults, out, &err);
		json_t *rows = jar_rows(out);
		vec_rows_match(rows, tsv, vecs.path[i]);
		is_int(rc, 0, "%s: no error (%s)", vecs.path[i], err.msg);
		json_decref(rows);
		json_decref(out);

		/* The same through a file descriptor, as the walk hands it over. */
		snprintf(where, sizeof(where), "/opt/app/%s", base_of(vecs.path[i]));
		out = vec_scan_text(&analyzer_java, where, data, len, &rc, &err);
		rows = jar_rows(out);
		snprintf(where, sizeof(where), "%s (scan)", vecs.path[i]);
		vec_rows_match(rows, tsv, where);
		is_int(rc, 0, "%s: no error", where);
		for (size_t k = 0; k < json_array_size(out); k++)
			is_str(vec_rec_str(out, k, "type"), "maven", "%s: type maven", where);
		json_decref(rows);
		json_decref(out);
		free(data);
	}
	vec_list_release(&vecs);
}

static void test_nested_archive_field(void)
{
	struct strata_error err = STRATA_ERROR_INIT;
	char path[4096], *data;
	size_t len;
	int rc;
	snprintf(path, sizeof(path), "%s/vectors/java/jar/nested.jar", vec_srcdir());
	vec_slurp(path, &data, &len);
	json_t *out = vec_scan_text(&analyzer_java, "/nested.jar", data, len, &rc, &err);
	int seen = 0;
	for (size_t i = 0; i < json_array_size(out); i++) {
		const char *name = vec_rec_str(out, i, "name"), *archive = vec_rec_str(out, i, "archive");
		if (!strcmp(name, "nested"))
			seen += !strcmp(archive, "");
		if (!strcmp(name, "nested2"))
			seen += !strcmp(archive, "META-INF/jars/nested2.jar");
		if (!strcmp(name, "nested3"))
			seen += !strcmp(archive, "META-INF/jars/nested2.jar!/META-INF/jars/nested3.jar");
	}
	is_int(seen, 3, "nested.jar: each record names its archive");
	is_str(vec_rec_str(out, 0, "name"), "nested", "the archive's own rows come first");
	json_decref(out);
	free(data);
}

/* ---- java.util.Properties and manifest edges ------------------------------ */

struct kv {
	char text[4096];
};

static int kv_cat(void *ctx, const char *key, const char *value)
{
	struct kv *kv = ctx;
	size_t n = strlen(kv->text);
	snprintf(kv->text + n, sizeof(kv->text) - n, "[%s]=[%s]", key, value);
	return 0;
}

static const char *props(struct kv *kv, const char *text)
{
	kv->text[0] = '\0';
	if (java_properties_parse(text, strlen(text), kv_cat, kv) < 0)
		return "(error)";
	return kv->text;
}

static void test_properties(void)
{
	struct kv kv;
	static const struct {
		const char *in, *want, *what;
	} cases[] = {
		{ "a=1\nb = 2\n c\t:\t3 \n", "[a]=[1][b]=[2][c]=[3 ]", "separators, white space" },
		{ "a\\\n   b=c\n", "[ab]=[c]", "a continued key" },
		{ "k=one \\\n   two\\\n\n", "[k]=[one two]", "a continued value; an empty last line ends it" },
		{ "k=v\\\\\nx=y", "[k]=[v\\][x]=[y]", "an even run of backslashes does not continue" },
		{ "key\\ with\\ spaces = v", "[key with spaces]=[v]", "escaped spaces in a key" },
		{ "a\\=b=c", "[a=b]=[c]", "an escaped separator" },
		{ "k v w", "[k]=[v w]", "white space separates" },
		{ "k = = v", "[k]=[= v]", "only one separator is skipped" },
		{ "k", "[k]=[]", "a key alone" },
		{ "=v", "[]=[v]", "an empty key" },
		{ "# c\\\nk=v\n! also\n", "[k]=[v]", "comments do not continue" },
		{ "  \t\f\n\n", "", "blank lines" },
		{ "a=1\rb=2\r\nc=3", "[a]=[1][b]=[2][c]=[3]", "CR, CRLF and LF line ends" },
		{ "u=\\u0041\\u00e9\\u20AC", "[u]=[A\xc3\xa9\xe2\x82\xac]", "\\u escapes as UTF-8" },
		{ "s=\\ud83d\\ude00", "[s]=[\xf0\x9f\x98\x80]", "a surrogate pair" },
		{ "s=\\ud83dx", "[s]=[\xef\xbf\xbdx]", "a lone surrogate" },
		{ "m=\\u12g4\\", "[m]=[\\u12g4]", "a malformed \\u kept, a trailing backslash dropped" },
		{ "t=\\t\\n\\r\\f\\q", "[t]=[\t\n\r\fq]", "character escapes" },
		{ "k=v\\", "[k]=[v]", "a continuation at the end of input" },
		{ "x=1\nx=2", "[x]=[1][x]=[2]", "duplicates come twice" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		is_str(props(&kv, cases[i].in), cases[i].want, "properties: %s", cases[i].what);

	struct java_pom pom = { NULL, NULL, NULL };
	static const char text[] = "groupId=a\nartifactId=b\nversion=1\nversion=2\nGroupId=no\n";
	is_int(java_pom_properties_parse(text, sizeof(text) - 1, &pom), 0, "pom: parses");
	is_str(pom.group_id, "a", "pom: groupId");
	is_str(pom.version, "2", "pom: the last version wins");
	java_pom_release(&pom);
	java_pom_release(&pom);
	ok(pom.artifact_id == NULL, "pom: released twice is fine");
}

struct mfrows {
	char text[4096];
};

static int mf_cat(void *ctx, unsigned section, const char *key, const char *value)
{
	struct mfrows *m = ctx;
	size_t n = strlen(m->text);
	snprintf(m->text + n, sizeof(m->text) - n, "%u[%s]=[%s]", section, key, value);
	return 0;
}

static int mf_stop(void *ctx, unsigned section, const char *key, const char *value)
{
	return -ECANCELED;
}

static const char *mf(struct mfrows *m, const char *text)
{
	m->text[0] = '\0';
	if (java_manifest_parse(text, strlen(text), mf_cat, m) < 0)
		return "(error)";
	return m->text;
}

static void test_manifest_edges(void)
{
	struct mfrows m;
	is_str(mf(&m, "Implementation-Title: Apache Hadoop shaded \r\n Guava\r\n"),
	       "0[Implementation-Title]=[Apache Hadoop shaded Guava]",
	       "manifest: CRLF, a space before the line break is kept");
	is_str(mf(&m, " orphan\nA: 1\n\n continued?\nB: 2"), "0[A]=[1]1[B]=[2]",
	       "manifest: continuations with nothing to continue are dropped");
	is_str(mf(&m, "A:1\n\n\n\n\nB:2\n  \nC:3"), "0[A]=[1]1[B]=[2]2[C]=[3]",
	       "manifest: runs of blank lines open one section");
	is_str(mf(&m, "\n\nA: x: y\nB:\n"), "0[A]=[x: y]0[B]=[]",
	       "manifest: split at the first colon; leading blank lines open no section");
	is_str(mf(&m, ""), "", "manifest: empty");
	struct strata_error err = STRATA_ERROR_INIT;
	int rc;
	json_t *out = vec_parse_text(manifest_rows, "A: \xff\xfe\n", &rc, &err);
	ok(rc == 0 && json_array_size(out) == 1, "manifest: invalid UTF-8 is read");
	json_decref(out);
	is_int(java_manifest_parse("A: 1\nB: 2\n", 10, mf_stop, NULL), -ECANCELED,
	       "manifest: the callback's error stops the parse");
}

/* ---- archives built here -------------------------------------------------- */

static json_t *walk(const struct buf *jar, const char *name, const struct analyzer_limits *l,
		    int *rc, struct strata_error *err)
{
	json_t *out = json_array();
	error_clear(err);
	*rc = java_archive_parse(jar->data, jar->len, name, l, out, err);
	return out;
}

/* Index of the record with this evidence, or -1. */
static long find_evidence(json_t *out, const char *evidence)
{
	for (size_t i = 0; i < json_array_size(out); i++)
		if (!strcmp(vec_rec_str(out, i, "evidence"), evidence))
			return (long)i;
	return -1;
}

static int has_row(json_t *out, const char *group, const char *name, const char *version,
		   const char *evidence, const char *archive)
{
	long i = find_evidence(out, evidence);
	return i >= 0 && !strcmp(vec_rec_str(out, (size_t)i, "group"), group) &&
	       !strcmp(vec_rec_str(out, (size_t)i, "name"), name) &&
	       !strcmp(vec_rec_str(out, (size_t)i, "version"), version) &&
	       !strcmp(vec_rec_str(out, (size_t)i, "archive"), archive);
}

static void vector_bytes(const char *rel, char **data, size_t *len)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/vectors/java/jar/%s", vec_srcdir(), rel);
	vec_slurp(path, data, len);
}

static void test_fat_jar(int deflated)
{
	struct strata_error err = STRATA_ERROR_INIT;
	struct zipw z = ZIPW_INIT;
	struct buf jar;
	char *a, *b, *c;
	size_t alen, blen, clen;
	int rc;
	const char *how = deflated ? "deflated" : "stored";
	void (*add)(struct zipw *, const char *, const void *, size_t) =
		deflated ? zipw_add_deflated : zipw_add;
	vector_bytes("multi-license-1.0.0.jar", &a, &alen);
	vector_bytes("hadoop-shaded-guava-1.1.0-SNAPSHOT.jar", &b, &blen);
	vector_bytes("license-from-jenkins-plugin.jar", &c, &clen);
	zipw_adds(&z, "META-INF/MANIFEST.MF", "Manifest-Version: 1.0\nImplementation-Title: app\n"
		  "Implementation-Version: 9\nStart-Class: com.example.App\n");
	zipw_adds(&z, "META-INF/maven/com.example/app/pom.properties",
		  "groupId=com.example\nartifactId=app\nversion=1.0\n");
	zipw_adds(&z, "BOOT-INF/classes/com/example/App.class", "\xca\xfe\xba\xbe");
	add(&z, "BOOT-INF/lib/multi-license-1.0.0.jar", a, alen);
	add(&z, "BOOT-INF/lib/hadoop-shaded-guava-1.1.0-SNAPSHOT.jar", b, blen);
	add(&z, "BOOT-INF/lib/jenkins-plugin.jar", c, clen);
	zipw_adds(&z, "BOOT-INF/lib/", "");
	zipw_finish(&z, &jar);

	json_t *out = walk(&jar, "app-1.0.jar", &defaults, &rc, &err);
	is_int(rc, 0, "fat jar (%s): no error (%s)", how, err.msg);
	is_int(json_array_size(out), 8, "fat jar (%s): 1 + 1 + 5 + 1 rows", how);
	ok(has_row(out, "com.example", "app", "1.0",
		   "META-INF/maven/com.example/app/pom.properties", ""),
	   "fat jar (%s): its own pom row; no manifest row, as it is app-1.0.jar", how);
	ok(has_row(out, "com.example", "multi-license", "1.0.0",
		   "BOOT-INF/lib/multi-license-1.0.0.jar!/META-INF/maven/com.example/multi-license/"
		   "pom.properties", "BOOT-INF/lib/multi-license-1.0.0.jar"),
	   "fat jar (%s): a nested jar's row with its evidence and archive", how);
	ok(has_row(out, "com.google.guava", "listenablefuture",
		   "9999.0-empty-to-avoid-conflict-with-guava",
		   "BOOT-INF/lib/hadoop-shaded-guava-1.1.0-SNAPSHOT.jar!/META-INF/maven/"
		   "com.google.guava/listenablefuture/pom.properties",
		   "BOOT-INF/lib/hadoop-shaded-guava-1.1.0-SNAPSHOT.jar"),
	   "fat jar (%s): a shaded row of the second nested jar", how);
	ok(has_row(out, "com.example", "jenkins-plugin", "1.0.0",
		   "BOOT-INF/lib/jenkins-plugin.jar!/META-INF/MANIFEST.MF",
		   "BOOT-INF/lib/jenkins-plugin.jar"),
	   "fat jar (%s): a nested jar's manifest row", how);
	is_str(vec_rec_str(out, 0, "name"), "app", "fat jar (%s): the top rows come first", how);
	json_decref(out);

	/* Under another name its single pom.properties still describes it:
	 * no manifest row beside it. */
	out = walk(&jar, "fat.jar", &defaults, &rc, &err);
	ok(!has_row(out, "", "app", "9", "META-INF/MANIFEST.MF", ""),
	   "fat jar (%s) as fat.jar: a single pom row is the jar's, no manifest row", how);
	is_int(json_array_size(out), 8, "fat jar (%s) as fat.jar: 8 rows", how);
	json_decref(out);

	/* One level of nesting allowed: the jars inside are read, no deeper. */
	struct analyzer_limits l = defaults;
	l.archive_depth = 0;
	out = walk(&jar, "app-1.0.jar", &l, &rc, &err);
	ok(rc == -ELOOP && json_array_size(out) == 1 && strstr(err.msg, "nested deeper"),
	   "fat jar (%s), depth 0: own row only, and %s", how, err.msg);
	json_decref(out);
	buf_release(&jar);
	free(a);
	free(b);
	free(c);
}

static void test_debian_jar(void)
{
	static const char path[] = "/usr/share/java/commons-lang3.jar";
	if (access(path, R_OK) != 0) {
		ok(1, "# SKIP %s: not installed (apt-get install libcommons-lang3-java)", path);
		return;
	}
	char *data;
	size_t len;
	int rc;
	struct strata_error err = STRATA_ERROR_INIT;
	vec_slurp(path, &data, &len);
	static const char ev[] = "META-INF/maven/org.apache.commons/commons-lang3/pom.properties";
	/* Debian installs it as commons-lang3.jar with a versioned symlink. */
	json_t *out = vec_scan_text(&analyzer_java, "/usr/share/java/commons-lang3-3.12.0.jar", data, len,
				&rc, &err);
	is_int(rc, 0, "debian commons-lang3-3.12.0.jar: no error (%s)", err.msg);
	long i = find_evidence(out, ev);
	ok(i >= 0, "debian jar: the pom.properties row");
	const char *v = i >= 0 ? vec_rec_str(out, (size_t)i, "version") : "";
	ok(i >= 0 && !strcmp(vec_rec_str(out, (size_t)i, "group"), "org.apache.commons") &&
	   !strcmp(vec_rec_str(out, (size_t)i, "name"), "commons-lang3") && v[0] == '3',
	   "debian jar: org.apache.commons:commons-lang3:%s", v);
	char name[256];
	snprintf(name, sizeof(name), "/usr/share/java/commons-lang3-%s.jar", v);
	json_decref(out);
	out = vec_scan_text(&analyzer_java, name, data, len, &rc, &err);
	is_int(json_array_size(out), 1, "debian jar as %s: its pom row alone", base_of(name));
	json_decref(out);
	out = vec_scan_text(&analyzer_java, path, data, len, &rc, &err);
	ok(json_array_size(out) == 1 && find_evidence(out, "META-INF/MANIFEST.MF") < 0,
	   "debian jar as commons-lang3.jar (Debian's name, no version): its pom row alone");
	json_decref(out);
	free(data);
}

/* A jar nested depth levels deep: level k holds a pom for a<k> and, but
 * for the last, lib/n<k+1>.jar. */
static void nested_jar(unsigned k, unsigned depth, struct buf *out)
{
	struct zipw z = ZIPW_INIT;
	char pom[128], name[64];
	snprintf(pom, sizeof(pom), "groupId=g\nartifactId=a%u\nversion=1\n", k);
	zipw_adds(&z, "META-INF/maven/g/a/pom.properties", pom);
	if (k + 1 < depth) {
		struct buf inner;
		nested_jar(k + 1, depth, &inner);
		snprintf(name, sizeof(name), "lib/n%u.jar", k + 1);
		zipw_add(&z, name, inner.data, inner.len);
		buf_release(&inner);
	}
	zipw_finish(&z, out);
}

static void test_deep(void)
{
	struct strata_error err = STRATA_ERROR_INIT;
	struct buf jar;
	int rc;
	nested_jar(0, 100, &jar);
	double t = vec_seconds();
	json_t *out = walk(&jar, "n0.jar", &defaults, &rc, &err);
	is_int(rc, -ELOOP, "100 deep: an error");
	ok(strstr(err.msg, "nested deeper than 8") != NULL, "100 deep: %s", err.msg);
	is_int(json_array_size(out), 9, "100 deep: the rows of the 9 levels read are kept");
	ok(has_row(out, "g", "a8", "1",
		   "lib/n1.jar!/lib/n2.jar!/lib/n3.jar!/lib/n4.jar!/lib/n5.jar!/lib/n6.jar!/"
		   "lib/n7.jar!/lib/n8.jar!/META-INF/maven/g/a/pom.properties",
		   "lib/n1.jar!/lib/n2.jar!/lib/n3.jar!/lib/n4.jar!/lib/n5.jar!/lib/n6.jar!/"
		   "lib/n7.jar!/lib/n8.jar"),
	   "100 deep: the deepest row read, with its evidence and archive");
	json_decref(out);
	struct analyzer_limits l = defaults;
	l.archive_depth = 1000;
	out = walk(&jar, "n0.jar", &l, &rc, &err);
	ok(rc == -ELOOP && json_array_size(out) == 65,
	   "100 deep with depth 1000: capped at 64 levels (%zu rows)", json_array_size(out));
	json_decref(out);
	printf("# 100 deep in %.2f s (timed: a figure, not a pass condition)\n", vec_seconds() - t);
	buf_release(&jar);
}

/* Appends a local entry holding text, stored, to b (no central directory). */
static void stream_entry(struct buf *b, const char *name, const char *text)
{
	size_t nlen = strlen(name), len = strlen(text);
	zipw_put32(b, 0x04034b50);
	zipw_put16(b, 20);
	zipw_put16(b, 0);
	zipw_put16(b, 0);
	zipw_put16(b, 0);
	zipw_put16(b, 0x21);
	zipw_put32(b, (uint32_t)crc32(0, (const Bytef *)text, (uInt)len));
	zipw_put32(b, (uint32_t)len);
	zipw_put32(b, (uint32_t)len);
	zipw_put16(b, (unsigned)nlen);
	zipw_put16(b, 0);
	buf_add(b, name, nlen);
	buf_add(b, text, len);
}

/* Appends a deflated local entry whose sizes follow the data in a data
 * descriptor, as a streaming writer makes them. */
static void stream_entry_dd(struct buf *b, const char *name, uint32_t crc, const void *raw,
			    size_t rawlen, uint64_t usize)
{
	size_t nlen = strlen(name);
	zipw_put32(b, 0x04034b50);
	zipw_put16(b, 20);
	zipw_put16(b, 8);
	zipw_put16(b, 8);
	zipw_put16(b, 0);
	zipw_put16(b, 0x21);
	zipw_put32(b, 0);
	zipw_put32(b, 0);
	zipw_put32(b, 0);
	zipw_put16(b, (unsigned)nlen);
	zipw_put16(b, 0);
	buf_add(b, name, nlen);
	buf_add(b, raw, rawlen);
	zipw_put32(b, 0x08074b50);
	zipw_put32(b, crc);
	zipw_put32(b, (uint32_t)rawlen);
	zipw_put32(b, (uint32_t)usize);
}

static long max_rss_mib(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss / 1024;
}

static void test_bombs(void)
{
	struct strata_error err = STRATA_ERROR_INIT;
	struct zipw z = ZIPW_INIT;
	struct buf jar, zeros = BUF_INIT;
	uint32_t crc;
	int rc;
	static const char pom[] = "groupId=g\nartifactId=kept\nversion=1\n";
	zero_stream(1100, &zeros, &crc);
	ok(zeros.len < (2u << 20), "a 1100 MiB entry in %zu bytes", zeros.len);

	/* Honest: the central directory says 1100 MiB, over the entry limit. */
	zipw_add_raw(&z, "BOOT-INF/lib/bomb.jar", 8, crc, zeros.data, zeros.len, 1100ull << 20);
	zipw_adds(&z, "META-INF/maven/g/kept/pom.properties", pom);
	zipw_finish(&z, &jar);
	double t = vec_seconds();
	json_t *out = walk(&jar, "x.jar", &defaults, &rc, &err);
	ok(rc == -EFBIG && strstr(err.msg, "bomb.jar"), "1100 MiB nested jar: %s", err.msg);
	ok(json_array_size(out) == 1 && !strcmp(vec_rec_str(out, 0, "name"), "kept"),
	   "1100 MiB nested jar: the other entries are still read");
	json_decref(out);
	buf_release(&jar);

	/* Lying: it claims 1000 bytes and inflates to 1100 MiB. */
	zipw_add_raw(&z, "BOOT-INF/lib/liar.jar", 8, crc, zeros.data, zeros.len, 1000);
	zipw_adds(&z, "META-INF/maven/g/kept/pom.properties", pom);
	zipw_finish(&z, &jar);
	out = walk(&jar, "x.jar", &defaults, &rc, &err);
	ok(rc < 0 && strstr(err.msg, "liar.jar"), "a jar lying about its size: %s", err.msg);
	is_int(json_array_size(out), 1, "a jar lying about its size: the rest is read");
	json_decref(out);
	buf_release(&jar);

	/* Lying about the manifest: read no further than the stated size. */
	zipw_add_raw(&z, "META-INF/MANIFEST.MF", 8, crc, zeros.data, zeros.len, 10);
	zipw_adds(&z, "META-INF/maven/g/kept/pom.properties", pom);
	zipw_finish(&z, &jar);
	out = walk(&jar, "x.jar", &defaults, &rc, &err);
	ok(rc < 0 && strstr(err.msg, "MANIFEST.MF") && json_array_size(out) == 1,
	   "a manifest lying about its size: %s", err.msg);
	json_decref(out);
	buf_release(&jar);
	printf("# " "zip bombs with default limits: quick (%.1fs)" " (timed: a figure, not a pass condition)\n", vec_seconds() - t);

	/* Wide: 40 nested jars of 16 MiB each, honest, against the budget of
	 * one archive (lowered here from 1 GiB to keep the test fast): three
	 * are inflated, the others skipped for want of budget. */
	buf_reset(&zeros);
	zero_stream(16, &zeros, &crc);
	zipw_adds(&z, "META-INF/maven/g/kept/pom.properties", pom);
	for (int i = 0; i < 40; i++) {
		char name[64];
		snprintf(name, sizeof(name), "lib/w%d.jar", i);
		zipw_add_raw(&z, name, 8, crc, zeros.data, zeros.len, 16u << 20);
	}
	zipw_finish(&z, &jar);
	struct analyzer_limits l = defaults;
	l.archive_max_bytes = 50u << 20;
	t = vec_seconds();
	out = walk(&jar, "x.jar", &l, &rc, &err);
	ok(rc < 0 && json_array_size(out) == 1, "40 x 16 MiB, budget 50 MiB: %s", err.msg);
	printf("# " "the budget bounds the time (%.1fs)" " (timed: a figure, not a pass condition)\n", vec_seconds() - t);
	json_decref(out);
	l.archive_max_bytes = 8u << 20;
	out = walk(&jar, "x.jar", &l, &rc, &err);
	ok(rc == -EFBIG && strstr(err.msg, "'lib/w0.jar' is 16777216 bytes, over what is left"),
	   "40 x 16 MiB, budget 8 MiB: %s", err.msg);
	json_decref(out);
	buf_release(&jar);

	/* No central directory, sizes after the data: the entry's size is not
	 * known before it is inflated, so the budget stops the read. */
	struct buf st = BUF_INIT;
	buf_reset(&zeros);
	zero_stream(1100, &zeros, &crc);
	stream_entry(&st, "META-INF/maven/g/kept/pom.properties", pom);
	stream_entry_dd(&st, "BOOT-INF/lib/streamed.jar", crc, zeros.data, zeros.len, 1100u << 20);
	stream_entry(&st, "META-INF/maven/g/after/pom.properties", "artifactId=after\nversion=1\n");
	l.archive_max_bytes = 16u << 20;
	l.max_file_size = 2ull << 30;
	t = vec_seconds();
	out = walk(&st, "x.jar", &l, &rc, &err);
	ok(rc == -EFBIG && strstr(err.msg, "streamed.jar' inflates past the limit"),
	   "a streamed 1100 MiB entry, budget 16 MiB: %s", err.msg);
	ok(json_array_size(out) == 1 && !strcmp(vec_rec_str(out, 0, "name"), "kept"),
	   "a streamed bomb: what came before is kept, nothing after is read");
	printf("# " "a streamed bomb: quick (%.1fs)" " (timed: a figure, not a pass condition)\n", vec_seconds() - t);
	json_decref(out);
	buf_release(&st);
	ok(max_rss_mib() < 1024, "zip bombs: at most %ld MiB resident", max_rss_mib());
	buf_release(&zeros);
}

static void test_hostile(void)
{
	struct strata_error err = STRATA_ERROR_INIT;
	struct zipw z = ZIPW_INIT;
	struct buf jar;
	int rc;

	/* A broken nested jar does not stop the walk. */
	zipw_adds(&z, "WEB-INF/lib/broken.jar", "this is not a zip file");
	zipw_adds(&z, "WEB-INF/lib/empty.jar", "");
	zipw_adds(&z, "META-INF/maven/g/web/pom.properties", "artifactId=web\nversion=2\n");
	zipw_adds(&z, "WEB-INF/lib/foo-bar-2.3.1.Final.jar",
		  "PK\x05\x06\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0");
	zipw_adds(&z, "META-INF/maven/g/nover/pom.properties", "artifactId=nover\n");
	zipw_finish(&z, &jar);
	json_t *out = walk(&jar, "web-2.war", &defaults, &rc, &err);
	ok(rc == -EBADMSG && strstr(err.msg, "WEB-INF/lib/broken.jar"), "a broken nested jar: %s",
	   err.msg);
	ok(has_row(out, "", "web", "2", "META-INF/maven/g/web/pom.properties", ""),
	   "a broken nested jar: the war's own row is kept (web-2.war is its own artifact)");
	ok(has_row(out, "", "foo-bar", "2.3.1.Final", "WEB-INF/lib/foo-bar-2.3.1.Final.jar!/(file name)",
		   "WEB-INF/lib/foo-bar-2.3.1.Final.jar"),
	   "an empty nested jar: its row from the file name");
	is_int(json_array_size(out), 2, "no row without a version, none for the broken jars");
	json_decref(out);

	/* A truncated real jar and plain garbage: errors, no crash. */
	char *data;
	size_t len;
	vector_bytes("hadoop-shaded-guava-1.1.0-SNAPSHOT.jar", &data, &len);
	for (size_t cut = 0; cut < len; cut += len / 50 + 1) {
		struct buf part = { data, cut, 0, 0 };
		out = walk(&part, "cut.jar", &defaults, &rc, &err);
		json_decref(out);
	}
	ok(1, "a real jar cut at 50 places: no crash");
	struct buf whole = { data, len, 0, 0 };
	out = walk(&whole, NULL, &defaults, &rc, &err);
	ok(json_array_size(out) == 6 && find_evidence(out, "META-INF/MANIFEST.MF") >= 0,
	   "no file name: no pom row is the archive's own, so the manifest row as well");
	json_decref(out);
	srand(1);
	for (size_t i = 0; i < len; i++)
		if (rand() % 500 == 0)
			data[i] = (char)rand();
	out = walk(&whole, "flipped.jar", &defaults, &rc, &err);
	ok(1, "a real jar with flipped bytes: no crash (%d, %zu rows)", rc, json_array_size(out));
	json_decref(out);
	free(data);
	static const char junk[] = "PK\x03\x04 not really";
	struct buf j = { (char *)junk, sizeof(junk) - 1, 0, 0 };
	out = walk(&j, "j.jar", &defaults, &rc, &err);
	ok(rc < 0 && err.msg[0] && json_array_size(out) == 0, "garbage: %s", err.msg);
	json_decref(out);
	out = vec_scan_text(&analyzer_java, "/x/empty.jar", "", 0, &rc, &err);
	ok(rc < 0 && err.msg[0], "an empty file: %s", err.msg);
	json_decref(out);
	buf_release(&jar);
}

static void test_manifest_rules(void)
{
	struct strata_error err = STRATA_ERROR_INIT;
	struct zipw z = ZIPW_INIT;
	struct buf jar;
	int rc;
	zipw_adds(&z, "META-INF/MANIFEST.MF",
		  "Manifest-Version: 1.0\r\n"
		  "Bundle-SymbolicName: org.example.core.util;singleton:=true\r\n"
		  "Specification-Vendor: nope\r\n"
		  "Bundle-Name: Core Util\r\n"
		  "Specification-Version: 1.2\r\n"
		  "Bundle-Version: 1.2.3\r\n"
		  "\r\n"
		  "Name: org/example/\r\n"
		  "Implementation-Title: not the main section\r\n");
	zipw_finish(&z, &jar);
	json_t *out = walk(&jar, "core-util-1.2.3.jar", &defaults, &rc, &err);
	ok(rc == 0 && json_array_size(out) == 1 &&
	   has_row(out, "org.example.core", "Core Util", "1.2", "META-INF/MANIFEST.MF", ""),
	   "manifest: symbolic name cut at its last dot, Bundle-Name, Specification-Version");
	json_decref(out);
	buf_release(&jar);

	zipw_adds(&z, "META-INF/MANIFEST.MF", "Implementation-Title: t\n");
	zipw_finish(&z, &jar);
	out = walk(&jar, "t-4.0.jar", &defaults, &rc, &err);
	ok(json_array_size(out) == 1 && has_row(out, "", "t", "4.0", "(file name)", ""),
	   "manifest without a version: the file name gives the row");
	json_decref(out);
	out = walk(&jar, "t.jar", &defaults, &rc, &err);
	is_int(json_array_size(out), 0, "no version anywhere: no row");
	json_decref(out);
	buf_release(&jar);
}

static void test_names(void)
{
	struct strata_error err = STRATA_ERROR_INIT;
	struct zipw z = ZIPW_INIT;
	struct buf jar;
	int rc;
	zipw_adds(&z, "META-INF/maven/gr\xc3\xb6up/x/pom.properties",
		  "groupId=gr\\u00f6up\nartifactId=x\nversion=1\n");
	zipw_adds(&z, "META-INF/maven/\xff/y/pom.properties", "artifactId=y\nversion=1\n");
	zipw_finish(&z, &jar);
	json_t *out = walk(&jar, "n.jar", &defaults, &rc, &err);
	ok(has_row(out, "gr\xc3\xb6up", "x", "1", "META-INF/maven/gr\xc3\xb6up/x/pom.properties", ""),
	   "a UTF-8 entry name (flagged) is read, in any locale");
	/* libarchive cannot convert a name flagged UTF-8 that is not: the entry
	 * is passed over (an unflagged name is read as raw bytes, and degraded
	 * by record_set_strn). */
	is_int(json_array_size(out), 1, "a name wrongly flagged UTF-8 is passed over");
	char *s = json_dumps(out, 0);
	ok(s != NULL, "the records serialize");
	free(s);
	json_decref(out);
	buf_release(&jar);
}

static void test_fd_offset(void)
{
	char path[4096], *data;
	size_t len;
	snprintf(path, sizeof(path), "%s/vectors/java/jar/nested.jar", vec_srcdir());
	vec_slurp(path, &data, &len);
	int fd = open(path, O_RDONLY);
	struct analyzer_file f = { .fd = fd, .path = "/a/nested.jar", .size = len, .limits = &defaults };
	struct strata_error err = STRATA_ERROR_INIT;
	json_t *out = json_array();
	int rc = analyzer_java.scan(&f, out, &err);
	ok(rc == 0 && json_array_size(out) == 3, "scan of a file");
	is_int(lseek(fd, 0, SEEK_CUR), 0, "the fd's offset is left alone");
	close(fd);
	json_decref(out);
	free(data);
}

static void test_claims(void)
{
	static const struct {
		const char *path;
		int want;
	} cases[] = {
		{ "/opt/app.jar", 1 }, { "/opt/APP.JAR", 1 }, { "/srv/ROOT.War", 1 },
		{ "/srv/x.ear", 1 }, { "/srv/x.par", 1 }, { "/opt/x.jar.sha1", 0 },
		{ "/opt/jar", 0 }, { "/opt/x.zip", 0 }, { "/opt/x.jarx", 0 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		is_int(vec_claimed(&analyzer_java, cases[i].path), cases[i].want, "claims %s",
		       cases[i].path);
	is_int(analyzer_java.keyed_by_name, 1, "keyed by name: the file name decides rows");
	is_str(analyzer_java.name, "java", "analyzer name");
}

static json_t *jar_records(const char *rel, int *rc, struct strata_error *err)
{
	char path[4096], *data;
	size_t len;
	snprintf(path, sizeof(path), "%s/vectors/%s", vec_srcdir(), rel);
	vec_slurp(path, &data, &len);
	json_t *out = json_array();
	*rc = java_archive_parse(data, len, strrchr(rel, '/') + 1, &defaults, out, err);
	free(data);
	return out;
}

/* Licences from pom.xml <licenses>, Bundle-License and Jenkins'
 * Plugin-License-Name, each on the right row. */
static void test_licenses(void)
{
	vec_check_licenses("java", jar_records);
	struct zipw z = ZIPW_INIT;
	struct buf jar = BUF_INIT;
	zipw_adds(&z, "META-INF/maven/org.x/lib/pom.properties", "groupId=org.x\nartifactId=lib\nversion=1\n");
	zipw_adds(&z, "META-INF/maven/org.x/lib/pom.xml",
		 "<project><!-- <licenses><license><name>GPL</name></license></licenses> -->"
		 "<licenses><license><name>The Apache Software License, Version 2.0</name>"
		 "<url>https://www.apache.org/licenses/LICENSE-2.0.txt</url></license>"
		 "<license><name>Custom &amp; Co</name></license></licenses></project>");
	zipw_adds(&z, "META-INF/maven/org.x/other/pom.properties", "groupId=org.x\nartifactId=other\nversion=2\n");
	zipw_adds(&z, "META-INF/MANIFEST.MF", "Manifest-Version: 1.0\r\nBundle-License: https://opensource.org/licenses/MIT\r\n");
	zipw_finish(&z, &jar);
	struct strata_error err = STRATA_ERROR_INIT;
	json_t *out = json_array();
	java_archive_parse(jar.data, jar.len, "lib-1.jar", &defaults, out, &err);
	size_t i;
	json_t *r;
	int seen = 0;
	json_array_foreach(out, i, r) {
		const char *name = json_string_value(json_object_get(r, "name"));
		char *l = vec_licenses_text(r);
		if (!strcmp(name, "lib")) {
			is_str(l, "Apache-2.0; Custom & Co", "pom.xml licences on their artifact (comments skipped)");
			seen++;
		} else if (!strcmp(name, "other")) {
			is_str(l, "", "a shaded artifact without a pom.xml: no licence (Bundle-License is the archive's)");
			seen++;
		}
		free(l);
	}
	is_int(seen, 2, "both rows");
	json_decref(out);
	buf_release(&jar);
}

int main(void)
{
	analyzer_limits_default(&defaults);
	test_manifest_vectors();
	test_pom_vectors();
	test_jar_vectors();
	test_nested_archive_field();
	test_properties();
	test_manifest_edges();
	test_fat_jar(0);
	test_fat_jar(1);
	test_debian_jar();
	test_deep();
	test_bombs();
	test_hostile();
	test_manifest_rules();
	test_names();
	test_fd_offset();
	test_claims();
	test_licenses();
	return tap_done();
}
