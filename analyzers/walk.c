/* walk: a work queue of directories shared by a few threads. Each thread
 * lists one directory at a time, appends its entries to a private vector
 * and queues the subdirectories; the vectors are merged and sorted at the
 * end, so the result does not depend on scheduling. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "src/base/digest.h"
#include "rootfs.h"
#include "walk.h"

#define FUSE_SUPER_MAGIC 0x65735546

struct dirq {
	char **v;
	size_t n, alloc;
};

struct walk {
	int rootfd;
	dev_t dev;
	int strata_xattrs;     /* the root is a FUSE mount: its user.strata.* are strata's */
	volatile sig_atomic_t *stop;
	pthread_mutex_t lock;  /* protects queue, busy, failed, layers */
	pthread_cond_t cond;
	struct dirq queue;     /* directories still to list */
	unsigned busy;         /* workers listing a directory now */
	int failed;            /* negative errno that stops the walk */
	size_t unreadable;     /* protected by lock */
	char **layers;         /* layer names seen, interned (walk_result.layers) */
	size_t nlayers;
};

struct vec {
	struct walk_entry *v;
	size_t n, alloc;
};

static int vec_push(struct vec *w, struct walk_entry *e)
{
	if (w->n == w->alloc) {
		size_t na = w->alloc ? w->alloc * 2 : 256;
		struct walk_entry *nv = realloc(w->v, na * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		w->v = nv;
		w->alloc = na;
	}
	w->v[w->n++] = *e;
	return 0;
}

static void entry_release(struct walk_entry *e)
{
	free(e->path);
	free(e->link);
}

/* 1 + the index of layer name in w's table, added if new; 0 when it
 * cannot be added. An image has a few dozen layers: a linear search. */
static uint16_t layer_id(struct walk *w, const char *name)
{
	uint16_t id = 0;
	pthread_mutex_lock(&w->lock);
	for (size_t i = w->nlayers; i-- > 0 && !id;)
		if (!strcmp(w->layers[i], name))
			id = (uint16_t)(i + 1);
	if (!id && w->nlayers < UINT16_MAX) {
		char **nv = realloc(w->layers, (w->nlayers + 1) * sizeof(*nv));
		char *copy = strdup(name);
		if (nv)
			w->layers = nv;
		if (nv && copy) {
			w->layers[w->nlayers++] = copy;
			id = (uint16_t)w->nlayers;
		} else {
			free(copy);
		}
	}
	pthread_mutex_unlock(&w->lock);
	return id;
}

/* The hex digests and layer a strata mount gives: all of them, or none. */
static void digests_set(struct walk *w, const char *sha256, const char *sha1, const char *md5, const char *layer,
			struct walk_entry *e)
{
	e->digests = strlen(sha256) == 64 && strlen(sha1) == 40 && strlen(md5) == 32 &&
		     hex_decode(sha256, 64, e->sha256) == 0 && hex_decode(sha1, 40, e->sha1) == 0 &&
		     hex_decode(md5, 32, e->md5) == 0;
	e->layer = e->digests && *layer ? layer_id(w, layer) : 0;
}

static void digests_parse(struct walk *w, const char *v, struct walk_entry *e)
{
	char sha256[65], sha1[41], md5[33], layer[80];
	/* As a strata mount writes it, one space apart: no sscanf, which was
	 * a tenth of a re-analysis (a tree page holds hundreds of these). */
	size_t ll = strlen(v) >= 139 ? strcspn(v + 139, " ") : 0;
	if (ll && ll < sizeof(layer) && v[64] == ' ' && v[105] == ' ' && v[138] == ' ' && !v[139 + ll]) {
		memcpy(sha256, v, 64);
		sha256[64] = 0;
		memcpy(sha1, v + 65, 40);
		sha1[40] = 0;
		memcpy(md5, v + 106, 32);
		md5[32] = 0;
		memcpy(layer, v + 139, ll);
		layer[ll] = 0;
		digests_set(w, sha256, sha1, md5, layer, e);
	} else if (sscanf(v, "%64s %40s %32s %79s", sha256, sha1, md5, layer) == 4) {
		digests_set(w, sha256, sha1, md5, layer, e);
	}
}

/* A strata mount answers user.strata.digests with "sha256 sha1 md5 layer"
 * in one request; the single attributes are the fallback. */
static void read_digests(struct walk *w, int dfd, const char *name, struct walk_entry *e)
{
	char p[64 + 256 + 16], v[300];
	if (snprintf(p, sizeof(p), "/proc/self/fd/%d/%s", dfd, name) >= (int)sizeof(p))
		return;
	ssize_t n = lgetxattr(p, "user.strata.digests", v, sizeof(v) - 1);
	if (n > 0) {
		v[n] = 0;
		digests_parse(w, v, e);
		return;
	}
	static const char *const names[] = { "user.strata.sha256", "user.strata.sha1", "user.strata.md5",
					     "user.strata.layer" };
	char got[4][80];
	for (size_t i = 0; i < 4; i++) {
		n = lgetxattr(p, names[i], got[i], sizeof(got[i]) - 1);
		got[i][n > 0 ? n : 0] = 0;
		if (n <= 0 && i == 0)
			return; /* not a strata mount */
	}
	digests_set(w, got[0], got[1], got[2], got[3], e);
}

static int queue_push(struct dirq *q, char *dir)
{
	if (q->n == q->alloc) {
		size_t na = q->alloc ? q->alloc * 2 : 64;
		char **nv = realloc(q->v, na * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		q->v = nv;
		q->alloc = na;
	}
	q->v[q->n++] = dir;
	return 0;
}

static char *join(const char *dir, const char *name)
{
	size_t dl = strlen(dir), nl = strlen(name);
	char *p = malloc(dl + nl + 2);
	if (!p)
		return NULL;
	memcpy(p, dir, dl);
	size_t o = dl;
	if (!dl || dir[dl - 1] != '/')
		p[o++] = '/';
	memcpy(p + o, name, nl + 1);
	return p;
}

/* Lists one directory: its entries go to out, its subdirectories to the queue. */
static int list_dir(struct walk *w, const char *dir, struct vec *out)
{
	int dfd = rootfs_open(w->rootfd, dir, O_RDONLY | O_DIRECTORY);
	if (dfd < 0)
		return dfd;
	DIR *d = fdopendir(dfd);
	if (!d) {
		int r = -errno;
		close(dfd);
		return r;
	}
	int r = 0;
	struct dirent *de;
	while (!r && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (*w->stop) {
			r = -EINTR;
			break;
		}
		struct stat st;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			pthread_mutex_lock(&w->lock);
			w->unreadable++;
			pthread_mutex_unlock(&w->lock);
			continue;
		}
		struct walk_entry e = { 0 };
		e.path = join(dir, de->d_name);
		if (!e.path) {
			r = -ENOMEM;
			break;
		}
		e.mode = st.st_mode;
		e.uid = st.st_uid;
		e.gid = st.st_gid;
		e.size = (uint64_t)st.st_size;
		if (S_ISLNK(st.st_mode)) {
			char t[4097];
			ssize_t n = readlinkat(dirfd(d), de->d_name, t, sizeof(t) - 1);
			if (n >= 0) {
				t[n] = 0;
				e.link = strdup(t);
			}
		} else if (S_ISREG(st.st_mode) && w->strata_xattrs) {
			read_digests(w, dirfd(d), de->d_name, &e);
		}
		if (S_ISDIR(st.st_mode) && st.st_dev == w->dev) {
			char *sub = strdup(e.path);
			pthread_mutex_lock(&w->lock);
			r = sub ? queue_push(&w->queue, sub) : -ENOMEM;
			pthread_cond_signal(&w->cond);
			pthread_mutex_unlock(&w->lock);
			if (r < 0)
				free(sub);
		}
		if (!r && (r = vec_push(out, &e)) < 0)
			entry_release(&e);
		else if (r < 0)
			entry_release(&e);
	}
	closedir(d);
	return r;
}

struct worker {
	struct walk *w;
	struct vec out;
	pthread_t tid;
};

static void *worker_main(void *arg)
{
	struct worker *me = arg;
	struct walk *w = me->w;
	pthread_mutex_lock(&w->lock);
	for (;;) {
		while (!w->queue.n && w->busy && !w->failed)
			pthread_cond_wait(&w->cond, &w->lock);
		if (w->failed || (!w->queue.n && !w->busy))
			break;
		char *dir = w->queue.v[--w->queue.n];
		w->busy++;
		pthread_mutex_unlock(&w->lock);
		int r = list_dir(w, dir, &me->out);
		free(dir);
		pthread_mutex_lock(&w->lock);
		w->busy--;
		if (r == -EINTR || r == -ENOMEM) {
			if (!w->failed)
				w->failed = r;
		} else if (r < 0) {
			w->unreadable++; /* a directory that vanished or is unreadable */
		}
		pthread_cond_broadcast(&w->cond);
	}
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

static void layers_free(struct walk *w)
{
	for (size_t i = 0; i < w->nlayers; i++)
		free(w->layers[i]);
	free(w->layers);
	w->layers = NULL;
	w->nlayers = 0;
}

static int by_path(const void *a, const void *b)
{
	return strcmp(((const struct walk_entry *)a)->path, ((const struct walk_entry *)b)->path);
}

/* The number in base at *p, which moves past it and the one space after
 * it (when sep): 0, or -EINVAL when there is no digit or it overflows. */
static int number(const char **p, unsigned base, int sep, unsigned long long max, unsigned long long *out)
{
	const char *s = *p;
	unsigned long long v = 0;
	for (; *s >= '0' && *s < (char)('0' + base); s++) {
		if (v > (max - (unsigned)(*s - '0')) / base)
			return -EINVAL;
		v = v * base + (unsigned)(*s - '0');
	}
	if (s == *p || (sep && *s++ != ' '))
		return -EINVAL;
	*p = s;
	*out = v;
	return 0;
}

/* One record of user.strata.tree (fuse/tree.h) as an entry: 0, or -EINVAL. */
static int tree_record(struct walk *w, const char *path, const char *meta, struct walk_entry *e)
{
	unsigned long long mode, uid, gid, size;
	const char *p = meta;
	if (number(&p, 8, 1, UINT32_MAX, &mode) < 0 || number(&p, 10, 1, UINT32_MAX, &uid) < 0 ||
	    number(&p, 10, 1, UINT32_MAX, &gid) < 0 || number(&p, 10, 0, UINT64_MAX, &size) < 0)
		return -EINVAL;
	const char *extra = *p == ' ' ? p + 1 : NULL;
	*e = (struct walk_entry){ .mode = (uint32_t)mode, .uid = (uint32_t)uid, .gid = (uint32_t)gid, .size = size };
	if (S_ISREG(mode) && extra)
		digests_parse(w, extra, e);
	if (S_ISLNK(mode) && !(e->link = strdup(extra ? extra : "")))
		return -ENOMEM;
	if (!(e->path = malloc(strlen(path) + 2))) {
		free(e->link);
		return -ENOMEM;
	}
	e->path[0] = '/';
	strcpy(e->path + 1, path);
	return 0;
}

/* A strata mount lists its whole tree in a few dozen requests (the
 * user.strata.tree.<start> pages): 1 with out filled, 0 when the root does
 * not answer (not a strata mount, or it failed: the walk then lists it). */
static int tree_listing(struct walk *w, struct vec *out)
{
	enum { PAGE = 65536 };
	char *page = malloc(PAGE);
	unsigned long long start = 0, next;
	int more = 1, r = page ? 0 : -ENOMEM;
	while (r == 0 && more && !*w->stop) {
		char name[64];
		snprintf(name, sizeof(name), "user.strata.tree.%llu", start);
		ssize_t n = fgetxattr(w->rootfd, name, page, PAGE);
		size_t hl = n > 0 ? strnlen(page, (size_t)n) : 0;
		if (n <= 0 || hl == (size_t)n || sscanf(page, "%llu %d", &next, &more) != 2 || next < start) {
			r = -EINVAL;
			break;
		}
		const char *p = page + hl + 1, *end = page + n;
		while (r == 0 && p < end) {
			size_t pl = strnlen(p, (size_t)(end - p));
			const char *meta = p + pl + 1;
			size_t ml = meta < end ? strnlen(meta, (size_t)(end - meta)) : 0;
			struct walk_entry e;
			if (meta >= end || meta + ml >= end)
				r = -EINVAL;
			else if ((r = tree_record(w, p, meta, &e)) == 0 && (r = vec_push(out, &e)) < 0)
				entry_release(&e);
			p = meta + ml + 1;
		}
		start = next;
	}
	free(page);
	if (r == 0 && !more)
		return 1;
	for (size_t i = 0; i < out->n; i++)
		entry_release(&out->v[i]);
	free(out->v);
	*out = (struct vec){ 0 };
	return 0;
}

int walk_tree(int rootfd, unsigned threads, volatile sig_atomic_t *stop, struct walk_result *out,
	      size_t *unreadable, struct strata_error *err)
{
	static volatile sig_atomic_t never;
	struct walk w = { .rootfd = rootfd, .stop = stop ? stop : &never };
	struct stat st;
	*out = (struct walk_result){ 0 };
	if (fstat(rootfd, &st) < 0)
		return error_errno(err, -errno, "cannot stat the image root");
	w.dev = st.st_dev;
	/* Anyone who can write a directory can give its files user.* xattrs
	 * (a tar extracted with --xattrs does): only a FUSE mount's are taken
	 * for strata's, and a directory on disk is hashed for real. */
	struct statfs sfs;
	w.strata_xattrs = fstatfs(rootfd, &sfs) == 0 && sfs.f_type == FUSE_SUPER_MAGIC;
	struct vec listed = { 0 };
	pthread_mutex_init(&w.lock, NULL);
	pthread_cond_init(&w.cond, NULL);
	if (w.strata_xattrs && tree_listing(&w, &listed) == 1) {
		out->v = listed.v;
		out->n = listed.n;
		if (unreadable)
			*unreadable = 0;
		goto done;
	}
	if (*w.stop) {
		layers_free(&w);
		pthread_mutex_destroy(&w.lock);
		pthread_cond_destroy(&w.cond);
		return error_set(err, -EINTR, "interrupted");
	}
	if (threads < 1)
		threads = 1;
	char *top = strdup("/");
	int r = top ? queue_push(&w.queue, top) : -ENOMEM;
	struct worker *ws = calloc(threads, sizeof(*ws));
	unsigned started = 0;
	if (!r && !ws)
		r = -ENOMEM;
	for (; !r && started < threads; started++) {
		ws[started].w = &w;
		if (pthread_create(&ws[started].tid, NULL, worker_main, &ws[started]) != 0)
			break;
	}
	if (!r && !started)
		r = -EAGAIN;
	for (unsigned i = 0; i < started; i++)
		pthread_join(ws[i].tid, NULL);
	if (!r)
		r = w.failed;
	/* Merge the private vectors. */
	size_t total = 0;
	for (unsigned i = 0; ws && i < threads; i++)
		total += ws[i].out.n;
	if (!r && total) {
		out->v = malloc(total * sizeof(*out->v));
		if (!out->v)
			r = -ENOMEM;
	}
	for (unsigned i = 0; ws && i < threads; i++) {
		for (size_t j = 0; j < ws[i].out.n; j++) {
			if (!r)
				out->v[out->n++] = ws[i].out.v[j];
			else
				entry_release(&ws[i].out.v[j]);
		}
		free(ws[i].out.v);
	}
	free(ws);
	for (size_t i = 0; i < w.queue.n; i++)
		free(w.queue.v[i]);
	free(w.queue.v);
	if (unreadable)
		*unreadable = w.unreadable;
	if (r < 0) {
		walk_result_release(out);
		layers_free(&w);
		pthread_mutex_destroy(&w.lock);
		pthread_cond_destroy(&w.cond);
		return r == -EINTR ? error_set(err, r, "interrupted") : error_set(err, r, "walking the image: %s", strerror(-r));
	}
done:
	pthread_mutex_destroy(&w.lock);
	pthread_cond_destroy(&w.cond);
	out->layers = w.layers;
	out->nlayers = w.nlayers;
	if (out->n > 1) /* an empty list may be NULL, which qsort may not take */
		qsort(out->v, out->n, sizeof(*out->v), by_path);
	return 0;
}

const char *walk_layer(const struct walk_result *r, const struct walk_entry *e)
{
	return e->layer && e->layer <= r->nlayers ? r->layers[e->layer - 1] : NULL;
}

void walk_result_release(struct walk_result *r)
{
	for (size_t i = 0; i < r->n; i++)
		entry_release(&r->v[i]);
	free(r->v);
	for (size_t i = 0; i < r->nlayers; i++)
		free(r->layers[i]);
	free(r->layers);
	*r = (struct walk_result){ 0 };
}
