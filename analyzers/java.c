/* java: the Java archive analyzer (rules in java.h). One pass over each
 * archive with libarchive's zip reader: pom.properties and the manifest
 * are read into memory (small, capped), nested archives are read into
 * memory and walked the same way, and every decompressed byte is charged
 * to one budget per top-level file, so a zip bomb (deep, wide or
 * overlapping) costs bounded time and memory. */
#include "config.h"

#include <archive.h>
#include <archive_entry.h>
#include <ctype.h>
#include <errno.h>
#include <locale.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "java.h"
#include "license.h"
#include "javameta.h"

#define JAVA_META_MAX (4u << 20)   /* a pom.properties or MANIFEST.MF */
#define JAVA_MAX_ENTRIES 4000000ul /* entries looked at, all levels together */
#define JAVA_MAX_ARCHIVES 20000ul  /* nested archives opened */
#define JAVA_MAX_DEPTH 64u         /* whatever limits->archive_depth says */
#define JAVA_BLOCK 65536

/* ---- entry names ------------------------------------------------------- */

/* libarchive converts UTF-8 entry names to the charset of the current
 * locale, which in a process that never called setlocale(3) is ASCII: a
 * non-ASCII name would come back NULL. A UTF-8 locale for the reading
 * thread alone (uselocale(3)) keeps them; it is made once and kept. */
static pthread_once_t utf8_once = PTHREAD_ONCE_INIT;
static locale_t utf8_locale;

static void utf8_init(void)
{
	utf8_locale = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
}

/* Switches this thread to the UTF-8 locale; returns what to restore with
 * utf8_leave. */
static locale_t utf8_enter(void)
{
	pthread_once(&utf8_once, utf8_init);
	return utf8_locale ? uselocale(utf8_locale) : (locale_t)0;
}

static void utf8_leave(locale_t old)
{
	if (old)
		uselocale(old);
}

/* ---- the zip reader over an fd ---------------------------------------- */

struct java_zip {
	struct archive *a;
	int fd;
	uint64_t size, pos;
	char block[JAVA_BLOCK];
};

static la_ssize_t zip_read(struct archive *a, void *data, const void **out)
{
	struct java_zip *z = data;
	*out = z->block;
	for (;;) {
		ssize_t n = pread(z->fd, z->block, sizeof(z->block), (off_t)z->pos);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			archive_set_error(a, errno, "read error");
			return -1;
		}
		z->pos += (uint64_t)n;
		return n;
	}
}

static la_int64_t zip_skip(struct archive *a, void *data, la_int64_t request)
{
	struct java_zip *z = data;
	uint64_t left = z->size > z->pos ? z->size - z->pos : 0;
	if (request < 0)
		return 0;
	if ((uint64_t)request > left)
		request = (la_int64_t)left;
	z->pos += (uint64_t)request;
	return request;
}

static la_int64_t zip_seek(struct archive *a, void *data, la_int64_t offset, int whence)
{
	struct java_zip *z = data;
	int64_t base = whence == SEEK_CUR ? (int64_t)z->pos : whence == SEEK_END ? (int64_t)z->size : 0;
	if ((offset > 0 && base > INT64_MAX - offset) || base + offset < 0)
		return ARCHIVE_FATAL;
	z->pos = (uint64_t)(base + offset);
	return (la_int64_t)z->pos;
}

/* A reader for zip archives only (jars, wars, nupkgs are all zips). */
static struct archive *zip_new(void)
{
	struct archive *a = archive_read_new();
	if (a && archive_read_support_format_zip(a) != ARCHIVE_OK) {
		archive_read_free(a);
		a = NULL;
	}
	return a;
}

struct java_zip *java_zip_open_fd(int fd, uint64_t size, struct strata_error *err)
{
	struct java_zip *z = calloc(1, sizeof(*z));
	if (!z || !(z->a = zip_new())) {
		free(z);
		error_set(err, -ENOMEM, "out of memory");
		return NULL;
	}
	z->fd = fd;
	z->size = size;
	/* No open or close callback: z outlives the handle, so a failed open
	 * cannot free it behind our back. */
	archive_read_set_read_callback(z->a, zip_read);
	archive_read_set_skip_callback(z->a, zip_skip);
	archive_read_set_seek_callback(z->a, zip_seek);
	archive_read_set_callback_data(z->a, z);
	if (archive_read_open1(z->a) != ARCHIVE_OK) {
		char why[256];
		int code = archive_errno(z->a) == ENOMEM ? -ENOMEM : -EBADMSG;
		error_set(err, code, "not a zip archive: %s", java_zip_error(z->a, why, sizeof(why)));
		java_zip_free(z);
		return NULL;
	}
	return z;
}

struct archive *java_zip_archive(struct java_zip *z)
{
	return z->a;
}

void java_zip_free(struct java_zip *z)
{
	if (!z)
		return;
	if (z->a)
		archive_read_free(z->a);
	free(z);
}

const char *java_zip_error(struct archive *a, char *buf, size_t size)
{
	const char *s = archive_error_string(a);
	snprintf(buf, size, "%s", s && *s ? s : "unrecognized archive format");
	/* strata's messages are lowercase; keep acronyms ("ZIP") as they are. */
	if (buf[0] >= 'A' && buf[0] <= 'Z' && !(buf[1] >= 'A' && buf[1] <= 'Z'))
		buf[0] = (char)(buf[0] - 'A' + 'a');
	return buf;
}

/* ---- the walk ----------------------------------------------------------- */

struct walk {
	const struct analyzer_limits *limits;
	unsigned max_depth;
	uint64_t budget;           /* decompressed bytes still allowed */
	unsigned long entries, archives;
	int stopped;               /* a budget ran out: read nothing more */
	int rc;                    /* the first failure, 0 if none */
	struct strata_error *err;
};

/* One archive being walked. */
struct level {
	const char *archive; /* its path inside the top-level file, "" for that file */
	const char *name;    /* its base name, NULL when unknown */
	unsigned depth;      /* 0 for the top-level file */
};

/* Main-section attributes the fallback row reads, in the README's order of
 * preference within each of groupId, artifactId, version. */
enum {
	MF_VENDOR_ID, MF_SYMBOLIC_NAME, MF_IMPL_VENDOR, MF_SPEC_VENDOR,
	MF_IMPL_TITLE, MF_SPEC_TITLE, MF_BUNDLE_NAME,
	MF_IMPL_VERSION, MF_SPEC_VERSION, MF_BUNDLE_VERSION,
	MF_BUNDLE_LICENSE,
	MF_N
};

static const char *const mf_keys[MF_N] = {
	"Implementation-Vendor-Id", "Bundle-SymbolicName", "Implementation-Vendor",
	"Specification-Vendor", "Implementation-Title", "Specification-Title", "Bundle-Name",
	"Implementation-Version", "Specification-Version", "Bundle-Version",
	"Bundle-License",
};

struct mf_main {
	char *v[MF_N];
	char *evidence; /* NULL until a manifest was read */
	json_t *plugin;  /* Jenkins' Plugin-License-Name, -Name-2, ... values */
};

static void mf_release(struct mf_main *m)
{
	for (int i = 0; i < MF_N; i++)
		free(m->v[i]);
	free(m->evidence);
	json_decref(m->plugin);
	memset(m, 0, sizeof(*m));
}

static int walk_fail(struct walk *w, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int walk_fail(struct walk *w, int code, const char *fmt, ...)
{
	char msg[900];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	error_set(w->err, code, "%s", msg);
	if (!w->rc)
		w->rc = code;
	return code;
}

/* a + sep + b, or a copy of b when a is empty; free() it. */
static char *join(const char *a, const char *sep, const char *b)
{
	size_t la = strlen(a), ls = la ? strlen(sep) : 0, lb = strlen(b);
	char *s = malloc(la + ls + lb + 1);
	if (!s)
		return NULL;
	memcpy(s, a, la);
	memcpy(s + la, sep, ls);
	memcpy(s + la + ls, b, lb + 1);
	return s;
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

/* Length of name without a .jar/.war/.ear/.par extension (any case), or 0
 * when it has none of them. */
static size_t archive_stem(const char *name)
{
	static const char *const ext[] = { ".jar", ".war", ".ear", ".par" };
	size_t n = strlen(name);
	if (n <= 4)
		return 0;
	for (size_t i = 0; i < sizeof(ext) / sizeof(ext[0]); i++)
		if (!strcasecmp(name + n - 4, ext[i]))
			return n - 4;
	return 0;
}

/* Whether the archive named name is artifact-version itself, or artifact
 * alone (Debian installs /usr/share/java/commons-io.jar without a version). */
static int is_own(const char *name, const char *artifact, const char *version)
{
	size_t n = name ? archive_stem(name) : 0, la = strlen(artifact), lv = strlen(version);
	if (n && n == la && !memcmp(name, artifact, la))
		return 1;
	return n && n == la + 1 + lv && !memcmp(name, artifact, la) && name[la] == '-' &&
	       !memcmp(name + la + 1, version, lv);
}

enum { K_OTHER, K_POM, K_POMXML, K_MANIFEST, K_NESTED };

static int classify(const char *path)
{
	const char *base = base_name(path);
	if (!strcmp(base, "pom.properties"))
		return K_POM;
	if (!strcmp(base, "pom.xml") && !strncmp(path, "META-INF/maven/", 15))
		return K_POMXML;
	if (!strcasecmp(path, "META-INF/MANIFEST.MF"))
		return K_MANIFEST;
	if (archive_stem(base))
		return K_NESTED;
	return K_OTHER;
}

static int add_row(json_t *out, const char *group, const char *artifact, const char *version,
		   const char *evidence, const char *archive)
{
	json_t *rec = record_package("maven");
	if (!rec)
		return -ENOMEM;
	record_set_str(rec, "group", group ? group : "");
	record_set_str(rec, "name", artifact);
	record_set_str(rec, "version", version);
	record_set_str(rec, "evidence", evidence);
	record_set_str(rec, "archive", archive);
	return json_array_append_new(out, rec) < 0 ? -ENOMEM : 0;
}

/* Reads the current entry (path: where it is, for messages) into b, at most
 * cap bytes. Returns 0; -ENOMEM; or another negative errno after noting
 * the failure in w (the walk goes on with the next entry unless it set
 * w->stopped). */
static int read_entry(struct walk *w, struct archive *a, struct archive_entry *e, const char *path,
		      uint64_t cap, struct buf *b)
{
	/* The central directory states the size: read no more than that, so
	 * an entry lying about its size costs no more than an honest one. */
	uint64_t limit = cap;
	int stated = archive_entry_size_is_set(e);
	buf_reset(b);
	if (stated) {
		int64_t size = archive_entry_size(e);
		if (size < 0)
			size = 0;
		if ((uint64_t)size > cap)
			return walk_fail(w, -EFBIG, "'%s' is %lld bytes, over the limit of %llu, not read",
					 path, (long long)size, (unsigned long long)cap);
		if ((uint64_t)size > w->budget)
			return walk_fail(w, -EFBIG, "'%s' is %lld bytes, over what is left of the %llu "
					 "bytes one archive may inflate to, not read", path,
					 (long long)size, (unsigned long long)w->limits->archive_max_bytes);
		limit = (uint64_t)size;
		/* One allocation of the right size rather than a series of copies. */
		int r = buf_grow(b, (size_t)limit + 1);
		if (r < 0)
			return walk_fail(w, r, "'%s': out of memory", path);
	}
	for (;;) {
		int r = buf_grow(b, JAVA_BLOCK);
		if (r < 0)
			return walk_fail(w, r, "'%s': out of memory", path);
		la_ssize_t n = archive_read_data(a, b->data + b->len, JAVA_BLOCK);
		if (n == 0)
			return 0;
		if (n < 0) {
			char why[256];
			return walk_fail(w, -EBADMSG, "cannot read '%s': %s", path,
					 java_zip_error(a, why, sizeof(why)));
		}
		if ((uint64_t)n > w->budget) {
			w->stopped = 1;
			return walk_fail(w, -EFBIG, "'%s' inflates past the limit of %llu bytes for one "
					 "archive, the rest is not read", path,
					 (unsigned long long)w->limits->archive_max_bytes);
		}
		w->budget -= (uint64_t)n;
		buf_setlen(b, b->len + (size_t)n);
		if (b->len > limit && stated)
			return walk_fail(w, -EBADMSG, "'%s' inflates past its stated size of %llu bytes, "
					 "not read", path, (unsigned long long)limit);
		if (b->len > limit)
			return walk_fail(w, -EFBIG, "'%s' is over the limit of %llu bytes, not read", path,
					 (unsigned long long)cap);
	}
}

static int mf_collect(void *ctx, unsigned section, const char *key, const char *value)
{
	struct mf_main *m = ctx;
	if (section != 0)
		return 0;
	if (!strncasecmp(key, "Plugin-License-Name", 19) && *value) {
		if (!m->plugin && !(m->plugin = json_array()))
			return -ENOMEM;
		if (json_array_append_new(m->plugin, record_string(value, strlen(value))) < 0)
			return -ENOMEM;
	}
	for (int i = 0; i < MF_N; i++) {
		if (strcasecmp(key, mf_keys[i]))
			continue;
		char *copy = strdup(value);
		if (!copy)
			return -ENOMEM;
		free(m->v[i]);
		m->v[i] = copy;
	}
	return 0;
}

static const char *mf_first(const struct mf_main *m, int from, int to)
{
	for (int i = from; i <= to; i++)
		if (m->v[i] && m->v[i][0])
			return m->v[i];
	return NULL;
}

/* The row for an archive none of whose own pom.properties describes it:
 * from the manifest, else from the file name. */
static int fallback_row(const struct mf_main *m, const struct level *lvl, json_t *out)
{
	const char *artifact = mf_first(m, MF_IMPL_TITLE, MF_BUNDLE_NAME);
	const char *version = mf_first(m, MF_IMPL_VERSION, MF_BUNDLE_VERSION);
	if (m->evidence && artifact && version) {
		char *group = NULL;
		if (m->v[MF_VENDOR_ID] && m->v[MF_VENDOR_ID][0]) {
			group = strdup(m->v[MF_VENDOR_ID]);
		} else if (m->v[MF_SYMBOLIC_NAME] && m->v[MF_SYMBOLIC_NAME][0]) {
			/* "org.foo.bar;singleton:=true" -> "org.foo" */
			group = strdup(m->v[MF_SYMBOLIC_NAME]);
			if (group) {
				group[strcspn(group, ";")] = '\0';
				size_t n = strlen(group);
				while (n && isspace((unsigned char)group[n - 1]))
					group[--n] = '\0';
				char *dot = strrchr(group, '.');
				if (dot && dot > group)
					*dot = '\0';
			}
		} else {
			const char *g = mf_first(m, MF_IMPL_VENDOR, MF_SPEC_VENDOR);
			group = strdup(g ? g : "");
		}
		if (!group)
			return -ENOMEM;
		int r = add_row(out, group, artifact, version, m->evidence, lvl->archive);
		free(group);
		return r;
	}
	size_t stem = lvl->name ? archive_stem(lvl->name) : 0;
	for (size_t i = 1; i + 1 < stem; i++) {
		if (lvl->name[i] != '-' || !isdigit((unsigned char)lvl->name[i + 1]))
			continue;
		char *fname = strndup(lvl->name, i), *fversion = strndup(lvl->name + i + 1, stem - i - 1);
		char *evidence = join(lvl->archive, "!/", "(file name)");
		int r = fname && fversion && evidence ?
			add_row(out, "", fname, fversion, evidence, lvl->archive) : -ENOMEM;
		free(fname);
		free(fversion);
		free(evidence);
		return r;
	}
	return 0;
}

/* --- licences --------------------------------------------------------------- */

/* A pom.xml <license>: the name when it names a licence, else the URL when
 * it does, else the name (or the URL) as text. */
static int pom_license(void *ctx, const char *name, const char *url)
{
	json_t *rec = ctx;
	struct buf b = BUF_INIT;
	int r = *name ? license_normalize(name, strlen(name), &b) : 0;
	if (r == 0 && *url) {
		buf_reset(&b);
		r = license_from_url(url, strlen(url), &b);
	}
	if (r == 1)
		r = license_add_raw(rec, b.data, b.len);
	else if (r == 0)
		r = license_add(rec, *name ? name : url, strlen(*name ? name : url));
	buf_release(&b);
	return r < 0 ? -ENOMEM : 0;
}

/* Bundle-License: "Apache-2.0;link=...", "https://.../LICENSE-2.0.txt",
 * several separated by commas; each item's part before ';'. */
static int bundle_licenses(json_t *rec, const char *v)
{
	int r = 0;
	while (*v && r == 0) {
		size_t n = strcspn(v, ",");
		size_t item = strcspn(v, ";,");
		r = license_add(rec, v, item);
		v += n + (v[n] == ',');
	}
	return r;
}

/* The directory of a path inside the walk ("a.jar!/META-INF/maven/g/x/"):
 * pom.xml and pom.properties of one artifact share it. */
static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	return strndup(path, slash ? (size_t)(slash - path + 1) : 0);
}

/* Gives the rows of this level (out[first..]) their licences: a row's own
 * pom.xml's, else, for the archive's own row (a single pom.properties, the
 * one its file name names, or the manifest's), the manifest's
 * Bundle-License (OSGi) and Plugin-License-Name* (Jenkins plugins). */
static int row_licenses(json_t *out, size_t first, const json_t *poms, const struct mf_main *mf, size_t own_at)
{
	for (size_t i = first; i < json_array_size(out); i++) {
		json_t *row = json_array_get(out, i);
		const char *ev = json_string_value(json_object_get(row, "evidence"));
		char *dir = ev ? dir_of(ev) : NULL;
		if (ev && !dir)
			return -ENOMEM;
		const json_t *l = dir ? json_object_get(poms, dir) : NULL;
		free(dir);
		if (json_array_size(l)) {
			if (json_object_set(row, "licenses", (json_t *)l) < 0)
				return -ENOMEM;
			continue;
		}
		const char *bl = mf->v[MF_BUNDLE_LICENSE];
		if (i != own_at)
			continue;
		if (bl && *bl && bundle_licenses(row, bl) < 0)
			return -ENOMEM;
		size_t k;
		json_t *v;
		json_array_foreach(mf->plugin, k, v)
			if (license_add(row, json_string_value(v), json_string_length(v)) < 0)
				return -ENOMEM;
	}
	return 0;
}

static int walk_archive(struct walk *w, struct archive *a, const struct level *lvl, json_t *out);

/* The current entry is an archive: read it into memory and walk it. */
static int walk_nested(struct walk *w, struct archive *a, struct archive_entry *e,
		       const struct level *lvl, const char *path, json_t *out)
{
	if (lvl->depth + 1 > w->max_depth) {
		walk_fail(w, -ELOOP, "'%s' is nested deeper than %u archives, not read", path,
			  w->max_depth);
		return 0;
	}
	if (++w->archives > JAVA_MAX_ARCHIVES) {
		w->stopped = 1;
		walk_fail(w, -E2BIG, "over %lu nested archives, the rest is not read", JAVA_MAX_ARCHIVES);
		return 0;
	}
	struct buf data = BUF_INIT;
	int r = read_entry(w, a, e, path, w->limits->max_file_size, &data);
	if (r < 0) {
		buf_release(&data);
		return r == -ENOMEM ? r : 0;
	}
	struct archive *inner = zip_new();
	if (!inner) {
		buf_release(&data);
		return walk_fail(w, -ENOMEM, "out of memory");
	}
	if (archive_read_open_memory(inner, data.data, data.len) != ARCHIVE_OK) {
		char why[256];
		walk_fail(w, -EBADMSG, "'%s' is not a zip archive: %s", path,
			  java_zip_error(inner, why, sizeof(why)));
	} else {
		struct level sub = { path, base_name(path), lvl->depth + 1 };
		r = walk_archive(w, inner, &sub, out);
	}
	archive_read_free(inner);
	buf_release(&data);
	return r == -ENOMEM ? r : 0;
}

/* Appends the rows of the archive a and of the archives nested in it to
 * out. Returns 0 or -ENOMEM; every other failure is noted in w. */
static int walk_archive(struct walk *w, struct archive *a, const struct level *lvl, json_t *out)
{
	json_t *nested = json_array();
	json_t *pom_lic = json_object(); /* directory -> licences of its pom.xml */
	struct mf_main mf;
	struct buf data = BUF_INIT;
	struct archive_entry *e;
	int own = 0, poms = 0, r = 0, ar = ARCHIVE_EOF;
	size_t first = json_array_size(out), own_at = (size_t)-1;
	memset(&mf, 0, sizeof(mf));
	if (!nested || !pom_lic) {
		json_decref(nested);
		json_decref(pom_lic);
		return walk_fail(w, -ENOMEM, "out of memory");
	}
	while (r == 0 && !w->stopped) {
		ar = archive_read_next_header(a, &e);
		if (ar != ARCHIVE_OK && ar != ARCHIVE_WARN)
			break;
		if (++w->entries > JAVA_MAX_ENTRIES) {
			w->stopped = 1;
			walk_fail(w, -E2BIG, "over %lu archive entries, the rest is not read",
				  JAVA_MAX_ENTRIES);
			break;
		}
		const char *name = archive_entry_pathname(e);
		if (!name)
			name = archive_entry_pathname_utf8(e);
		if (!name || archive_entry_filetype(e) != AE_IFREG)
			continue;
		int kind = classify(name);
		if (kind == K_OTHER)
			continue;
		char *path = join(lvl->archive, "!/", name);
		if (!path) {
			r = walk_fail(w, -ENOMEM, "out of memory");
			break;
		}
		if (kind == K_NESTED) {
			r = walk_nested(w, a, e, lvl, path, nested);
		} else if ((r = read_entry(w, a, e, path, JAVA_META_MAX, &data)) == 0) {
			if (kind == K_POM) {
				struct java_pom pom = { NULL, NULL, NULL };
				r = java_pom_properties_parse(data.data, data.len, &pom);
				if (r == 0 && pom.artifact_id && pom.artifact_id[0] && pom.version &&
				    pom.version[0]) {
					r = add_row(out, pom.group_id, pom.artifact_id, pom.version, path,
						    lvl->archive);
					if (r == 0 && is_own(lvl->name, pom.artifact_id, pom.version)) {
						own = 1;
						own_at = json_array_size(out) - 1;
					}
					poms++;
				}
				java_pom_release(&pom);
			} else if (kind == K_POMXML) {
				json_t *holder = json_object();
				char *dir = dir_of(path);
				r = holder && dir ? java_pom_licenses(data.data, data.len, pom_license, holder) : -ENOMEM;
				json_t *l = json_object_get(holder, "licenses");
				if (r == 0 && l && json_object_set(pom_lic, dir, l) < 0)
					r = -ENOMEM;
				free(dir);
				json_decref(holder);
			} else {
				r = java_manifest_parse(data.data, data.len, mf_collect, &mf);
				free(mf.evidence);
				mf.evidence = path;
				path = NULL;
			}
			if (r < 0)
				r = walk_fail(w, r, "'%s': out of memory", name);
		} else if (r != -ENOMEM) {
			r = 0; /* noted in w; go on with the next entry */
		}
		free(path);
	}
	if (r == 0 && !w->stopped && ar != ARCHIVE_EOF && ar != ARCHIVE_OK && ar != ARCHIVE_WARN) {
		char why[256];
		java_zip_error(a, why, sizeof(why));
		if (lvl->depth)
			walk_fail(w, -EBADMSG, "malformed archive '%s': %s", lvl->archive, why);
		else
			walk_fail(w, -EBADMSG, "malformed archive: %s", why);
	}
	/* A single pom.properties describes the archive whatever its file is
	 * called (app.jar, fat.jar); several are shaded dependencies, and then
	 * only the file name can say which one, if any, is the archive. */
	/* The archive's own row: the one its name names, the single
	 * pom.properties, or the one from the manifest or the file name. */
	if (r == 0 && !own && poms == 1)
		own_at = first;
	if (r == 0 && !own && poms != 1) {
		size_t before = json_array_size(out);
		r = fallback_row(&mf, lvl, out);
		if (json_array_size(out) > before)
			own_at = before;
	}
	if (r == 0 && own_at < json_array_size(out) &&
	    json_object_set_new(json_array_get(out, own_at), "own", json_true()) < 0)
		r = walk_fail(w, -ENOMEM, "out of memory");
	if (r == 0 && row_licenses(out, first, pom_lic, &mf, own_at) < 0)
		r = walk_fail(w, -ENOMEM, "out of memory");
	if (r == 0 && json_array_extend(out, nested) < 0)
		r = walk_fail(w, -ENOMEM, "out of memory");
	json_decref(nested);
	json_decref(pom_lic);
	mf_release(&mf);
	buf_release(&data);
	return r;
}

static void walk_init(struct walk *w, const struct analyzer_limits *limits, struct strata_error *err)
{
	memset(w, 0, sizeof(*w));
	w->limits = limits;
	w->max_depth = limits->archive_depth < JAVA_MAX_DEPTH ? limits->archive_depth : JAVA_MAX_DEPTH;
	w->budget = limits->archive_max_bytes;
	w->err = err;
}

int java_archive_parse(const void *data, size_t len, const char *name,
		       const struct analyzer_limits *limits, json_t *out,
		       struct strata_error *err)
{
	locale_t old = utf8_enter();
	struct archive *a = zip_new();
	int r;
	if (!a) {
		r = error_set(err, -ENOMEM, "out of memory");
	} else if (archive_read_open_memory(a, data, len) != ARCHIVE_OK) {
		char why[256];
		r = error_set(err, -EBADMSG, "not a zip archive: %s", java_zip_error(a, why, sizeof(why)));
	} else {
		struct walk w;
		walk_init(&w, limits, err);
		struct level top = { "", name ? base_name(name) : NULL, 0 };
		r = walk_archive(&w, a, &top, out);
		if (r == 0)
			r = w.rc;
	}
	if (a)
		archive_read_free(a);
	utf8_leave(old);
	return r;
}

static const char *const java_patterns[] = {
	"*.[jJ][aA][rR]",
	"*.[wW][aA][rR]",
	"*.[eE][aA][rR]",
	"*.[pP][aA][rR]",
	NULL,
};

static int java_scan(const struct analyzer_file *f, json_t *out, struct strata_error *err)
{
	locale_t old = utf8_enter();
	struct java_zip *z = java_zip_open_fd(f->fd, f->size, err);
	int r = err->code ? err->code : -EBADMSG;
	if (z) {
		struct walk w;
		walk_init(&w, f->limits, err);
		struct level top = { "", base_name(f->path), 0 };
		r = walk_archive(&w, z->a, &top, out);
		if (r == 0)
			r = w.rc;
		java_zip_free(z);
	}
	utf8_leave(old);
	return r;
}

const struct analyzer analyzer_java = {
	.name = "java",
	.version = 3,
	.patterns = java_patterns,
	.claims = NULL,
	.keyed_by_name = 1,
	.scan = java_scan,
};
