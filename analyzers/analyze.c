/* analyze: walk, dispatch, memo, pool, report — see analyze.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "analyze.h"
#include "cpe.h"
#include "src/base/buf.h"
#include "src/base/digest.h"
#include "src/store/memokey.h"
#include "distro.h"
#include "purl.h"
#include "relate.h"
#include "rootfs.h"
#include "walk.h"

#define MEMO_BATCH_KEYS 2000
#define MEMO_BATCH_BYTES (512u << 10)

/* One (file, analyzer) pair to answer. */
struct job {
	size_t entry;                /* index in the walk */
	const struct analyzer *a;
	char *key;                   /* memo key, NULL when the digest is unknown */
	json_t *result;              /* {"records": [...], "error"?: "..."} */
	int hit;                     /* the result came from the memo */
	struct job *same;            /* an earlier job with the same key: copy its result */
};

struct counters {
	unsigned long claimed, hits, opened;
};

struct engine {
	int rootfd;
	const struct analyze_opts *o;
	struct walk_result walk;
	struct job *jobs;
	size_t njobs;
	size_t *hash_todo;           /* entries whose digests must be computed (not a strata mount) */
	size_t nhash;
	struct counters count[ANALYZE_MAX];
	double phase[4];             /* seconds: walk, memo lookup, scans, memo store */
	struct relate_owners owners; /* which packages own which entry */
	pthread_mutex_t lock;        /* protects count[].opened */
	size_t next;                 /* the pool's cursor; protected by lock */
};

static int enabled_index(const struct analyze_opts *o, const struct analyzer *a)
{
	for (int i = 0; o->enabled[i]; i++)
		if (o->enabled[i] == a)
			return i;
	return -1;
}

void analyze_opts_init(struct analyze_opts *o)
{
	memset(o, 0, sizeof(*o));
	size_t n = 0;
	for (size_t i = 0; analyzers[i] && n < ANALYZE_MAX; i++)
		o->enabled[n++] = analyzers[i];
	o->files = 1;
	analyzer_limits_default(&o->limits);
}

static int is_package_analyzer(const struct analyzer *a)
{
	return strcmp(a->name, "secrets") != 0;
}

int analyze_select(struct analyze_opts *o, const char *list, struct strata_error *err)
{
	char *copy = strdup(list), *save = NULL;
	if (!copy)
		return error_set(err, -ENOMEM, "out of memory");
	size_t n = 0;
	o->files = 0;
	memset(o->enabled, 0, sizeof(o->enabled));
	for (char *name = strtok_r(copy, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
		while (*name == ' ')
			name++;
		if (!strcmp(name, "files")) {
			o->files = 1;
			continue;
		}
		int group = !strcmp(name, "packages");
		const struct analyzer *one = group ? NULL : analyzer_find(name);
		if (!group && !one) {
			struct buf known = BUF_INIT;
			for (size_t i = 0; analyzers[i]; i++)
				buf_addf(&known, ", %s", analyzers[i]->name);
			int r = error_set(err, -EINVAL, "unknown analyzer '%s' (known: files, packages%s)", name,
					  known.data);
			buf_release(&known);
			free(copy);
			return r;
		}
		for (size_t i = 0; analyzers[i]; i++) {
			const struct analyzer *a = analyzers[i];
			int pick = group ? is_package_analyzer(a)
					 : a == one || (a->family && !strcmp(a->family, one->name));
			if (pick && enabled_index(o, a) < 0 && n < ANALYZE_MAX)
				o->enabled[n++] = a;
		}
	}
	free(copy);
	if (!n && !o->files)
		return error_set(err, -EINVAL, "no analyzer selected");
	return 0;
}

/* "dpkg@1" or "secrets@1+<rules>" */
static void version_of(const struct analyzer *a, struct buf *out)
{
	buf_addf(out, "%s@%u", a->name, a->version);
	if (a->config_id)
		buf_addf(out, "+%s", a->config_id());
}

char *analyze_config_id(const struct analyze_opts *o)
{
	struct buf b = BUF_INIT;
	buf_adds(&b, o->files ? "files" : "nofiles");
	for (int i = 0; o->enabled[i]; i++) {
		buf_addch(&b, ',');
		version_of(o->enabled[i], &b);
	}
	buf_addf(&b, ",limits=%llu/%llu/%u/%llu", (unsigned long long)o->limits.max_file_size,
		 (unsigned long long)o->limits.secrets_max_size, o->limits.archive_depth,
		 (unsigned long long)o->limits.archive_max_bytes);
	return buf_detach(&b, NULL);
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

static int is_wild(char c)
{
	return c == '*' || c == '?' || c == '[' || c == ']' || c == '\\';
}

/* Whether path (len bytes) can match pattern at all: it must begin with
 * the text before the pattern's first wildcard and end with the text after
 * its last one. Most paths differ from these in their first or last bytes,
 * which is much less work than fnmatch's. */
static int may_match(const char *pattern, const char *path, size_t len)
{
	size_t i = 0;
	for (; pattern[i] && !is_wild(pattern[i]); i++)
		if (pattern[i] != path[i])
			return 0;
	if (!pattern[i])
		return path[i] == '\0';
	const char *p = pattern + strlen(pattern), *q = path + len;
	for (; !is_wild(p[-1]); p--, q--)
		if (q == path || p[-1] != q[-1])
			return 0;
	return 1;
}

int analyze_claims(const struct analyzer *a, const char *path, uint64_t size, const struct analyzer_limits *l)
{
	if (a->patterns) {
		int hit = 0;
		size_t len = strlen(path);
		for (size_t i = 0; a->patterns[i] && !hit; i++)
			hit = may_match(a->patterns[i], path, len) && fnmatch(a->patterns[i], path, 0) == 0;
		if (!hit)
			return 0;
	}
	return !a->claims || a->claims(path, size, l);
}

/* --- the distribution, read inside the root as a chroot would ---------- */

static json_t *read_distro(int rootfd, json_t *warnings)
{
	static const char *const where[] = { "/etc/os-release", "/usr/lib/os-release" };
	for (size_t i = 0; i < 2; i++) {
		int fd = rootfs_open_resolved(rootfd, where[i], O_RDONLY | O_NONBLOCK);
		if (fd < 0)
			continue;
		struct stat st;
		struct buf b = BUF_INIT;
		struct strata_error err = STRATA_ERROR_INIT;
		json_t *d = NULL;
		if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
			struct analyzer_file f = { fd, where[i], (uint64_t)st.st_size, NULL };
			if (analyzer_read_all(&f, 64 << 10, &b, &err) < 0 ||
			    os_release_parse(b.data, b.len, &d, &err) < 0) {
				json_array_append_new(warnings, json_sprintf("distro '%s': %s", where[i], err.msg));
				json_decref(d);
				d = NULL;
			}
		}
		buf_release(&b);
		close(fd);
		if (d && json_object_size(d))
			return d;
		json_decref(d);
	}
	return json_null();
}

/* --- the pool ----------------------------------------------------------- */

static void hash_file(struct engine *g, struct walk_entry *e)
{
	int fd = rootfs_open(g->rootfd, e->path, O_RDONLY | O_NONBLOCK);
	if (fd < 0)
		return;
	struct filehash *h = filehash_new();
	char *block = malloc(1 << 16);
	ssize_t n = 0;
	while (h && block && (n = read(fd, block, 1 << 16)) > 0)
		filehash_update(h, block, (size_t)n);
	if (h && block && n == 0) {
		filehash_final(h, e->sha256, e->sha1, e->md5);
		e->digests = 1;
	}
	free(block);
	filehash_free(h);
	close(fd);
}

static json_t *run_job(struct engine *g, struct job *j)
{
	const struct walk_entry *e = &g->walk.v[j->entry];
	json_t *records = json_array();
	struct strata_error err = STRATA_ERROR_INIT;
	int fd = rootfs_open(g->rootfd, e->path, O_RDONLY | O_NONBLOCK);
	int transient = 1;
	struct stat st;
	if (fd < 0) {
		error_set(&err, fd, "cannot open: %s", strerror(-fd));
	} else if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		error_set(&err, -EINVAL, "no longer a regular file");
	} else {
		transient = 0;
		struct analyzer_file f = { fd, e->path, (uint64_t)st.st_size, &g->o->limits };
		int i = enabled_index(g->o, j->a);
		pthread_mutex_lock(&g->lock);
		g->count[i].opened++;
		pthread_mutex_unlock(&g->lock);
		j->a->scan(&f, records, &err);
	}
	if (fd >= 0)
		close(fd);
	json_t *res = json_pack("{s:o}", "records", records);
	if (err.code)
		json_object_set_new(res, "error", json_string(err.msg[0] ? err.msg : strerror(-err.code)));
	/* An I/O failure (EIO from the mount, say) is not the content's fault. */
	if (transient || err.code == -EIO)
		json_object_set_new(res, "transient", json_true());
	return res;
}

static void *pool_main(void *arg)
{
	struct engine *g = arg;
	for (;;) {
		if (g->o->stop && *g->o->stop)
			return NULL;
		pthread_mutex_lock(&g->lock);
		size_t i = g->next++;
		pthread_mutex_unlock(&g->lock);
		if (i < g->nhash) {
			hash_file(g, &g->walk.v[g->hash_todo[i]]);
			continue;
		}
		i -= g->nhash;
		if (i >= g->njobs)
			return NULL;
		struct job *j = &g->jobs[i];
		if (!j->hit && !j->same)
			j->result = run_job(g, j);
	}
}

static int run_pool(struct engine *g, unsigned threads)
{
	pthread_t *t = calloc(threads, sizeof(*t));
	unsigned started = 0;
	if (!t)
		return -ENOMEM;
	g->next = 0;
	for (; started < threads; started++)
		if (pthread_create(&t[started], NULL, pool_main, g) != 0)
			break;
	if (!started)
		pool_main(g);
	for (unsigned i = 0; i < started; i++)
		pthread_join(t[i], NULL);
	free(t);
	return g->o->stop && *g->o->stop ? -EINTR : 0;
}

/* --- memo --------------------------------------------------------------- */

char *analyze_memo_key(const struct analyzer *a, const uint8_t sha256[SHA256_LEN], const char *path)
{
	struct buf v = BUF_INIT;
	version_of(a, &v);
	char *key = memokey_content(v.data, sha256, a->keyed_by_name ? base_name(path) : NULL);
	buf_release(&v);
	return key;
}

char *analyze_layer_summary_key(const struct analyzer *a, const char *layer)
{
	struct buf v = BUF_INIT;
	version_of(a, &v);
	char *key = memokey_layer(v.data, layer);
	buf_release(&v);
	return key;
}

static char *memo_key(const struct job *j, const struct walk_entry *e)
{
	return e->digests ? analyze_memo_key(j->a, e->sha256, e->path) : NULL;
}

static int by_key(const void *a, const void *b)
{
	const struct job *x = *(struct job *const *)a, *y = *(struct job *const *)b;
	return strcmp(x->key, y->key);
}

/* Marks later jobs of the same key as copies of the first one. */
static int link_duplicates(struct engine *g)
{
	size_t n = 0;
	struct job **v = malloc((g->njobs + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < g->njobs; i++)
		if (g->jobs[i].key)
			v[n++] = &g->jobs[i];
	if (n > 1)
		qsort(v, n, sizeof(*v), by_key);
	for (size_t i = 1; i < n; i++)
		if (!strcmp(v[i]->key, v[i - 1]->key))
			v[i]->same = v[i - 1]->same ? v[i - 1]->same : v[i - 1];
	/* A copy needs no key of its own (many copies: many megabytes). */
	for (size_t i = 0; i < n; i++)
		if (v[i]->same) {
			free(v[i]->key);
			v[i]->key = NULL;
		}
	free(v);
	return 0;
}

/* Answers the jobs whose file's layer has a summary for their analyzer
 * (analyze_layer_summary_key): a few keys instead of one per file. */
static int summary_lookup(struct engine *g, struct strata_error *err)
{
	const struct memo_ops *m = g->o->memo;
	size_t nl = g->walk.nlayers, na = 0;
	while (g->o->enabled[na])
		na++;
	if (!nl || !na)
		return 0;
	json_t *keys = json_array(), *found = NULL, *none = json_pack("{s:[]}", "records");
	char **names = calloc(na * nl, sizeof(*names));
	int r = keys && none && names ? 0 : error_set(err, -ENOMEM, "out of memory");
	for (size_t i = 0; r == 0 && i < na * nl; i++) {
		names[i] = analyze_layer_summary_key(g->o->enabled[i / nl], g->walk.layers[i % nl]);
		if (!names[i] || json_array_append_new(keys, json_string(names[i])) < 0)
			r = error_set(err, -ENOMEM, "out of memory");
	}
	if (r == 0)
		r = m->lookup(m->ctx, keys, &found, err);
	for (size_t k = 0; r == 0 && json_object_size(found) && k < g->njobs; k++) {
		struct job *j = &g->jobs[k];
		const struct walk_entry *e = &g->walk.v[j->entry];
		if (!j->key || j->same || !e->layer || e->layer > nl)
			continue;
		size_t slot = (size_t)enabled_index(g->o, j->a) * nl + (e->layer - 1u);
		json_t *sum = json_object_get(found, names[slot]);
		char hex[2 * SHA256_LEN + 1];
		hex_encode(e->sha256, SHA256_LEN, hex);
		if (!json_is_object(sum) || json_object_get(json_object_get(sum, "unscanned"), hex))
			continue;
		/* Most of a layer's files have no records: they share one
		 * result (results are not changed once made). */
		json_t *rec = json_object_get(json_object_get(sum, "found"), hex);
		j->result = json_is_array(rec) ? json_pack("{s:O}", "records", rec) : json_incref(none);
		j->hit = j->result != NULL;
	}
	for (size_t i = 0; names && i < na * nl; i++)
		free(names[i]);
	free(names);
	json_decref(found);
	json_decref(keys);
	json_decref(none);
	return r;
}

static int analyze_memo_lookup(struct engine *g, struct strata_error *err)
{
	const struct memo_ops *m = g->o->memo;
	int r = summary_lookup(g, err);
	if (r < 0)
		return r;
	size_t i = 0;
	while (i < g->njobs) {
		json_t *keys = json_array(), *found = NULL;
		size_t first = i;
		for (; i < g->njobs && json_array_size(keys) < MEMO_BATCH_KEYS; i++)
			if (g->jobs[i].key && !g->jobs[i].same && !g->jobs[i].hit)
				json_array_append_new(keys, json_string(g->jobs[i].key));
		r = json_array_size(keys) ? m->lookup(m->ctx, keys, &found, err) : 0;
		json_decref(keys);
		if (r < 0)
			return r;
		for (size_t k = first; found && k < i; k++) {
			struct job *j = &g->jobs[k];
			json_t *v = j->key && !j->same && !j->hit ? json_object_get(found, j->key) : NULL;
			if (json_is_object(v)) {
				j->result = json_incref(v);
				j->hit = 1;
			}
		}
		json_decref(found);
	}
	return 0;
}

static int analyze_memo_store(struct engine *g, struct strata_error *err)
{
	const struct memo_ops *m = g->o->memo;
	json_t *batch = json_object();
	size_t bytes = 0;
	int r = 0;
	for (size_t i = 0; i <= g->njobs && r == 0; i++) {
		struct job *j = i < g->njobs ? &g->jobs[i] : NULL;
		if (j && (!j->key || j->hit || j->same || !j->result))
			continue;
		/* A result that says the file could not be read is not memoized:
		 * the next run may read it. */
		if (j && json_object_get(j->result, "transient"))
			continue;
		if (j) {
			json_object_set(batch, j->key, j->result);
			bytes += strlen(j->key) + 64 + json_array_size(json_object_get(j->result, "records")) * 256;
		}
		if (json_object_size(batch) && (!j || bytes > MEMO_BATCH_BYTES)) {
			r = m->store(m->ctx, batch, err);
			json_object_clear(batch);
			bytes = 0;
		}
	}
	json_decref(batch);
	return r;
}

/* --- the report ----------------------------------------------------------- */

static const char *type_name(uint32_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG: return "file";
	case S_IFDIR: return "dir";
	case S_IFLNK: return "symlink";
	case S_IFCHR: return "char";
	case S_IFBLK: return "block";
	case S_IFIFO: return "fifo";
	case S_IFSOCK: return "socket";
	default: return "unknown";
	}
}

/* Record i of the files section, made from the walk entry and its owners. */
static json_t *file_record(const void *ctx, size_t i)
{
	const struct analyze_files *af = ctx;
	const struct walk_result *w = &af->walk;
	const struct relate_owners *o = &af->owners;
	const struct walk_entry *e = &w->v[i];
	const char *layer = walk_layer(w, e);
	json_t *f = json_object();
	if (!f)
		return NULL;
	record_set_str(f, "path", e->path);
	json_object_set_new(f, "type", json_string(type_name(e->mode)));
	json_object_set_new(f, "mode", json_integer(e->mode & 07777));
	json_object_set_new(f, "uid", json_integer(e->uid));
	json_object_set_new(f, "gid", json_integer(e->gid));
	json_object_set_new(f, "size", json_integer((json_int_t)e->size));
	if (e->link)
		record_set_str(f, "link", e->link);
	json_object_set_new(f, "setuid", json_boolean(e->mode & S_ISUID));
	json_object_set_new(f, "setgid", json_boolean(e->mode & S_ISGID));
	if (S_ISREG(e->mode) && e->digests) {
		char hex[2 * SHA256_LEN + 1];
		hex_encode(e->sha256, SHA256_LEN, hex);
		json_object_set_new(f, "sha256", json_string(hex));
		hex_encode(e->sha1, SHA1_LEN, hex);
		json_object_set_new(f, "sha1", json_string(hex));
		hex_encode(e->md5, MD5_LEN, hex);
		json_object_set_new(f, "md5", json_string(hex));
	}
	if (layer)
		json_object_set_new(f, "layer", json_string(layer));
	if (o->off && i < o->n && o->off[i + 1] > o->off[i]) {
		json_t *owners = json_array();
		for (uint32_t k = o->off[i]; k < o->off[i + 1]; k++)
			json_array_append_new(owners, json_integer(o->pkg[k]));
		json_object_set_new(f, "packages", owners);
		if (o->modified[i])
			json_object_set_new(f, "modified", json_true());
	}
	return f;
}

/* Record i written as json_dumpf writes file_record(ctx, i), member for
 * member (test-analyze holds the two to the same bytes): the files section
 * is most of a report, and most of the time spent writing it went to
 * making and dumping its objects. */
static int file_json(const void *ctx, size_t i, FILE *out)
{
	const struct analyze_files *af = ctx;
	const struct walk_result *w = &af->walk;
	const struct relate_owners *o = &af->owners;
	const struct walk_entry *e = &w->v[i];
	const char *layer = walk_layer(w, e);
	fputs("{\"path\": ", out);
	report_json_string(out, e->path, strlen(e->path));
	fprintf(out, ", \"type\": \"%s\", \"mode\": %u, \"uid\": %u, \"gid\": %u, \"size\": %lld",
		type_name(e->mode), (unsigned)(e->mode & 07777), (unsigned)e->uid, (unsigned)e->gid,
		(long long)(json_int_t)e->size);
	if (e->link) {
		fputs(", \"link\": ", out);
		report_json_string(out, e->link, strlen(e->link));
	}
	fprintf(out, ", \"setuid\": %s, \"setgid\": %s", e->mode & S_ISUID ? "true" : "false",
		e->mode & S_ISGID ? "true" : "false");
	if (S_ISREG(e->mode) && e->digests) {
		char hex[2 * SHA256_LEN + 1];
		hex_encode(e->sha256, SHA256_LEN, hex);
		fprintf(out, ", \"sha256\": \"%s\"", hex);
		hex_encode(e->sha1, SHA1_LEN, hex);
		fprintf(out, ", \"sha1\": \"%s\"", hex);
		hex_encode(e->md5, MD5_LEN, hex);
		fprintf(out, ", \"md5\": \"%s\"", hex);
	}
	/* json_string() refuses a name that is not UTF-8: no member then. */
	if (layer && report_utf8_valid(layer, strlen(layer))) {
		fputs(", \"layer\": ", out);
		report_json_string(out, layer, strlen(layer));
	}
	if (o->off && i < o->n && o->off[i + 1] > o->off[i]) {
		/* Written by hand: printf is most of a record's cost. */
		char num[16];
		fputs(", \"packages\": [", out);
		for (uint32_t k = o->off[i]; k < o->off[i + 1]; k++) {
			size_t n = sizeof(num);
			uint32_t v = o->pkg[k];
			do
				num[--n] = (char)('0' + v % 10);
			while ((v /= 10) && n > 2);
			if (k > o->off[i]) {
				num[--n] = ' ';
				num[--n] = ',';
			}
			fwrite(num + n, 1, sizeof(num) - n, out);
		}
		fputs(o->modified[i] ? "], \"modified\": true" : "]", out);
	}
	fputc('}', out);
	return ferror(out) ? -EIO : 0;
}

void analyze_files_iter(const struct analyze_files *files, struct report_files *out)
{
	out->present = files->present;
	out->n = files->present ? files->walk.n : 0;
	out->record = file_record;
	out->ctx = files;
	out->write_json = file_json;
}

void analyze_files_release(struct analyze_files *files)
{
	walk_result_release(&files->walk);
	relate_owners_release(&files->owners);
	files->present = 0;
}

/* Adds where a record was found: path (with the archive nesting for
 * maven), layer, and the purl and CPEs of a package. */
static json_t *place(json_t *rec, const struct walk_result *w, const struct walk_entry *e, const json_t *distro,
		     int package)
{
	const char *layer = walk_layer(w, e);
	json_t *out = json_deep_copy(rec);
	const char *archive = json_string_value(json_object_get(rec, "archive"));
	if (archive && *archive) {
		char *p = NULL;
		if (asprintf(&p, "%s!/%s", e->path, archive) >= 0) {
			record_set_str(out, "path", p);
			free(p);
		}
	} else {
		record_set_str(out, "path", e->path);
	}
	if (layer)
		json_object_set_new(out, "layer", json_string(layer));
	if (package) {
		char *purl = purl_build(out, distro);
		if (purl)
			json_object_set_new(out, "purl", json_string(purl));
		free(purl);
		json_t *cpes = cpe_generate(out);
		if (json_array_size(cpes))
			json_object_set_new(out, "cpes", cpes);
		else
			json_decref(cpes);
	}
	return out;
}

static int cmp_str(json_t *a, json_t *b, const char *k)
{
	const char *x = json_string_value(json_object_get(a, k)), *y = json_string_value(json_object_get(b, k));
	return strcmp(x ? x : "", y ? y : "");
}

static int by_package(const void *pa, const void *pb)
{
	json_t *a = *(json_t *const *)pa, *b = *(json_t *const *)pb;
	int c;
	if ((c = cmp_str(a, b, "type")) || (c = cmp_str(a, b, "name")) || (c = cmp_str(a, b, "version")))
		return c;
	return cmp_str(a, b, "path");
}

static int by_secret(const void *pa, const void *pb)
{
	json_t *a = *(json_t *const *)pa, *b = *(json_t *const *)pb;
	int c = cmp_str(a, b, "path");
	if (c)
		return c;
	json_int_t x = json_integer_value(json_object_get(a, "line")), y = json_integer_value(json_object_get(b, "line"));
	return x < y ? -1 : x > y ? 1 : cmp_str(a, b, "rule");
}

/* Sorts a JSON array in place. */
static void sort_array(json_t *arr, int (*cmp)(const void *, const void *))
{
	size_t n = json_array_size(arr);
	json_t **v = malloc((n + 1) * sizeof(*v));
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		v[i] = json_incref(json_array_get(arr, i));
	if (n > 1)
		qsort(v, n, sizeof(*v), cmp);
	json_array_clear(arr);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, v[i]);
	free(v);
}

static int assemble(struct engine *g, json_t *report, json_t *distro, json_t *warnings)
{
	json_t *packages = json_array(), *secrets = json_array(), *list = json_array();
	/* Facts (see analyzer.h) by the path of their file: records are kept
	 * as they came, not copied (a file list is thousands of paths). */
	json_t *facts = json_object();
	for (int i = 0; g->o->enabled[i]; i++) {
		const struct analyzer *a = g->o->enabled[i];
		json_array_append_new(list, json_pack("{s:s, s:i, s:s*}", "name", a->name, "version", (int)a->version,
						      "config", a->config_id ? a->config_id() : NULL));
	}
	for (size_t i = 0; i < g->njobs; i++) {
		struct job *j = &g->jobs[i];
		const json_t *res = j->same ? j->same->result : j->result;
		const struct walk_entry *e = &g->walk.v[j->entry];
		if (!res)
			continue;
		int secret = !strcmp(j->a->name, "secrets");
		size_t k;
		json_t *rec;
		json_array_foreach(json_object_get(res, "records"), k, rec) {
			if (json_object_get(rec, "fact"))
				json_object_set(facts, e->path, rec);
			else
				json_array_append_new(secret ? secrets : packages, place(rec, &g->walk, e, distro, !secret));
		}
		const char *msg = json_string_value(json_object_get(res, "error"));
		if (msg)
			json_array_append_new(warnings, json_sprintf("%s '%s': %s", j->a->name, e->path, msg));
	}
	sort_array(packages, by_package);
	sort_array(secrets, by_secret);
	int r = relate_packages(packages, facts, &g->walk, &g->owners);
	json_decref(facts);
	json_object_set_new(report, "distro", json_incref(distro));
	json_object_set_new(report, "analyzers", list);
	if (g->o->files)
		json_object_set_new(report, "files", json_array());
	json_object_set_new(report, "packages", packages);
	json_object_set_new(report, "secrets", secrets);
	json_object_set_new(report, "warnings", json_incref(warnings));
	return r;
}

static json_t *stats_of(struct engine *g, double seconds)
{
	json_t *per = json_object();
	for (int i = 0; g->o->enabled[i]; i++)
		json_object_set_new(per, g->o->enabled[i]->name,
				    json_pack("{s:I, s:I, s:I}", "claimed", (json_int_t)g->count[i].claimed,
					      "memo_hits", (json_int_t)g->count[i].hits, "opened",
					      (json_int_t)g->count[i].opened));
	return json_pack("{s:I, s:f, s:b, s:o, s:{s:f, s:f, s:f, s:f}}", "entries", (json_int_t)g->walk.n,
			 "seconds", seconds, "report_cached", 0, "analyzers", per, "phases", "walk", g->phase[0],
			 "memo_lookup", g->phase[1], "scan", g->phase[2], "memo_store", g->phase[3]);
}

static double since(const struct timespec *t0)
{
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

static int add_job(struct engine *g, size_t *alloc, size_t entry, const struct analyzer *a)
{
	if (g->njobs == *alloc) {
		size_t na = *alloc ? *alloc * 2 : 1024;
		struct job *nv = realloc(g->jobs, na * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		g->jobs = nv;
		*alloc = na;
	}
	struct job *j = &g->jobs[g->njobs++];
	memset(j, 0, sizeof(*j));
	j->entry = entry;
	j->a = a;
	return 0;
}

int analyze_root(int rootfd, const struct analyze_opts *o, json_t *report, struct analyze_files *files,
		 struct strata_error *err)
{
	struct engine g = { .rootfd = rootfd, .o = o };
	struct timespec t0;
	unsigned threads = o->threads ? o->threads : (unsigned)sysconf(_SC_NPROCESSORS_ONLN);
	size_t unreadable = 0, alloc = 0;
	json_t *warnings = json_array(), *distro = NULL;
	int r;

	memset(files, 0, sizeof(*files));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pthread_mutex_init(&g.lock, NULL);
	if (threads < 1)
		threads = 1;
	if ((r = walk_tree(rootfd, threads, o->stop, &g.walk, &unreadable, err)) < 0)
		goto out;
	g.phase[0] = since(&t0);
	if (unreadable)
		json_array_append_new(warnings, json_sprintf("%zu entries could not be read", unreadable));
	distro = read_distro(rootfd, warnings);

	/* Who wants which file; digests to compute where the mount gave none. */
	g.hash_todo = malloc((g.walk.n + 1) * sizeof(*g.hash_todo));
	if (!g.hash_todo) {
		r = error_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < g.walk.n; i++) {
		const struct walk_entry *e = &g.walk.v[i];
		if (!S_ISREG(e->mode))
			continue;
		if (o->files && !e->digests)
			g.hash_todo[g.nhash++] = i;
		for (int k = 0; o->enabled[k]; k++) {
			if (!analyze_claims(o->enabled[k], e->path, e->size, &o->limits))
				continue;
			if ((r = add_job(&g, &alloc, i, o->enabled[k])) < 0) {
				error_set(err, r, "out of memory");
				goto out;
			}
			g.count[k].claimed++;
		}
	}
	/* Digests first (a DIR has none), so that keys can be made. */
	if (g.nhash) {
		size_t njobs = g.njobs;
		g.njobs = 0;
		r = run_pool(&g, threads);
		g.njobs = njobs;
		if (r < 0) {
			error_set(err, r, "interrupted");
			goto out;
		}
	}
	g.nhash = 0;
	for (size_t i = 0; i < g.njobs; i++)
		g.jobs[i].key = o->memo ? memo_key(&g.jobs[i], &g.walk.v[g.jobs[i].entry]) : NULL;
	if ((r = link_duplicates(&g)) < 0) {
		error_set(err, r, "out of memory");
		goto out;
	}
	double mark = since(&t0);
	if (o->memo && (r = analyze_memo_lookup(&g, err)) < 0)
		goto out;
	g.phase[1] = since(&t0) - mark;
	mark = since(&t0);
	for (size_t i = 0; i < g.njobs; i++)
		if (g.jobs[i].hit || g.jobs[i].same)
			g.count[enabled_index(o, g.jobs[i].a)].hits++;
	if ((r = run_pool(&g, threads)) < 0) {
		error_set(err, r, "interrupted");
		goto out;
	}
	g.phase[2] = since(&t0) - mark;
	mark = since(&t0);
	if (o->memo && o->memo->store && (r = analyze_memo_store(&g, err)) < 0)
		goto out;
	g.phase[3] = since(&t0) - mark;
	if ((r = assemble(&g, report, distro, warnings)) < 0) {
		error_set(err, r, "out of memory");
		goto out;
	}
	json_object_set_new(report, "stats", stats_of(&g, since(&t0)));
	/* The entries are the files section: handed over, not copied. */
	if (o->files) {
		files->walk = g.walk;
		files->owners = g.owners;
		files->present = 1;
		memset(&g.walk, 0, sizeof(g.walk));
		memset(&g.owners, 0, sizeof(g.owners));
	}
out:
	for (size_t i = 0; i < g.njobs; i++) {
		free(g.jobs[i].key);
		json_decref(g.jobs[i].result);
	}
	free(g.jobs);
	free(g.hash_todo);
	walk_result_release(&g.walk);
	relate_owners_release(&g.owners);
	json_decref(distro);
	json_decref(warnings);
	pthread_mutex_destroy(&g.lock);
	return r;
}
