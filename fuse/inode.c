/* inode: the path-keyed inode table of a mount.
 *
 * One mutex (table->lock) protects the hash, every node's counts and the
 * publication of child lists. Everything slow (index reads through the image
 * view) runs outside it; the result is installed under it, and when two
 * threads race to resolve the same name the first one installed wins.
 *
 * A node lives while any of these hold it: kernel lookups (nlookup), open
 * handles (opens), or its parent's child list (cached). A child list lives
 * as long as its directory's node, so a directory the kernel still knows is
 * listed once; when the kernel forgets a directory its listing goes too,
 * which keeps memory proportional to what the kernel caches. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "inode.h"

struct inode_table {
	struct imageview *v;
	pthread_mutex_t lock;
	struct inode **buckets;     /* lock */
	size_t nbuckets, n;         /* lock */
	struct inode *root;         /* never freed before the table */
};

static uint64_t path_hash(const char *s, size_t len)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < len; i++)
		h = (h ^ (uint8_t)s[i]) * 1099511628211ull;
	return h;
}

/* --- the hash (under t->lock) -------------------------------------------- */

static struct inode *find_locked(struct inode_table *t, const char *path, uint64_t h)
{
	for (struct inode *n = t->buckets[h & (t->nbuckets - 1)]; n; n = n->hnext)
		if (n->hash == h && !strcmp(n->path, path))
			return n;
	return NULL;
}

static void insert_locked(struct inode_table *t, struct inode *n)
{
	if (t->n + 1 > t->nbuckets) {
		size_t nb = t->nbuckets * 2;
		struct inode **b = calloc(nb, sizeof(*b));
		if (b) {
			for (size_t i = 0; i < t->nbuckets; i++)
				for (struct inode *x = t->buckets[i], *next; x; x = next) {
					next = x->hnext;
					x->hnext = b[x->hash & (nb - 1)];
					b[x->hash & (nb - 1)] = x;
				}
			free(t->buckets);
			t->buckets = b;
			t->nbuckets = nb;
		}
	}
	struct inode **head = &t->buckets[n->hash & (t->nbuckets - 1)];
	n->hnext = *head;
	*head = n;
	t->n++;
}

static void remove_locked(struct inode_table *t, struct inode *n)
{
	struct inode **pp = &t->buckets[n->hash & (t->nbuckets - 1)];
	while (*pp && *pp != n)
		pp = &(*pp)->hnext;
	if (*pp) {
		*pp = n->hnext;
		t->n--;
	}
}

static void node_free(struct inode *n)
{
	iv_node_release(&n->iv);
	free(atomic_load(&n->chunk_offs));
	free(n->children);
	free(n->path);
	free(n);
}

static int unused(const struct inode_table *t, const struct inode *n)
{
	return n != t->root && n->nlookup == 0 && n->opens == 0 && !n->cached;
}

/* Frees n if nothing holds it, and then whatever only its child list held.
 * A worklist (through hnext, free once a node leaves the hash) instead of
 * recursion: directory depth comes from the image. */
static void release_locked(struct inode_table *t, struct inode *n)
{
	if (!unused(t, n))
		return;
	remove_locked(t, n);
	n->hnext = NULL;
	struct inode *work = n;
	while (work) {
		struct inode *x = work;
		work = x->hnext;
		for (size_t i = 0; i < x->nchildren; i++) {
			struct inode *c = x->children[i];
			c->cached = 0;
			if (unused(t, c)) {
				remove_locked(t, c);
				c->hnext = work;
				work = c;
			}
		}
		node_free(x);
	}
}

/* --- nodes --------------------------------------------------------------- */

static char *child_path(const struct inode *dir, const char *name)
{
	size_t dl = strlen(dir->path), nl = strlen(name);
	char *p = malloc(dl + nl + 2);
	if (!p)
		return NULL;
	if (dl) {
		memcpy(p, dir->path, dl);
		p[dl++] = '/';
	}
	memcpy(p + dl, name, nl + 1);
	return p;
}

/* A node for path (taken over), owning iv (moved in). */
static struct inode *node_new(char *path, struct iv_node *iv)
{
	struct inode *n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	n->path = path;
	const char *slash = strrchr(path, '/');
	n->name = slash ? slash + 1 : path;
	n->hash = path_hash(path, strlen(path));
	n->iv = *iv;
	iv_node_init(iv);
	/* (layer, ordinal) of the entry the attributes come from: unique, and
	 * for hardlinks the target's. Not iv.ino_seed: for a directory whose
	 * topmost entry is implicit, the view pairs that layer with a lower
	 * layer's ordinal, which can equal another entry's seed. */
	n->st_ino = path[0] ? ((uint64_t)n->iv.layer << 40 | n->iv.e.ordinal) + 1 : 1;
	return n;
}

int inode_table_new(struct imageview *v, struct inode_table **out, struct strata_error *err)
{
	struct inode_table *t = calloc(1, sizeof(*t));
	struct iv_node root;
	char *rpath = strdup("");
	int r;
	if (!t || !rpath) {
		r = error_set(err, -ENOMEM, "out of memory");
		goto fail;
	}
	t->v = v;
	pthread_mutex_init(&t->lock, NULL);
	t->nbuckets = 1024;
	t->buckets = calloc(t->nbuckets, sizeof(*t->buckets));
	if (!t->buckets) {
		r = error_set(err, -ENOMEM, "out of memory");
		goto fail;
	}
	if ((r = imageview_root(v, &root, err)) < 0)
		goto fail;
	t->root = node_new(rpath, &root);
	if (!t->root) {
		iv_node_release(&root);
		r = error_set(err, -ENOMEM, "out of memory");
		goto fail;
	}
	rpath = NULL;
	t->root->parent_st_ino = 1;
	insert_locked(t, t->root);
	*out = t;
	return 0;
fail:
	free(rpath);
	inode_table_free(t);
	return r;
}

void inode_table_free(struct inode_table *t)
{
	if (!t)
		return;
	for (size_t i = 0; t->buckets && i < t->nbuckets; i++)
		for (struct inode *n = t->buckets[i], *next; n; n = next) {
			next = n->hnext;
			node_free(n);
		}
	free(t->buckets);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

struct inode *inode_root(struct inode_table *t)
{
	return t->root;
}

size_t inode_table_size(struct inode_table *t)
{
	pthread_mutex_lock(&t->lock);
	size_t n = t->n;
	pthread_mutex_unlock(&t->lock);
	return n;
}

int inode_lookup(struct inode_table *t, struct inode *dir, const char *name, struct inode **out,
		 struct strata_error *err)
{
	char *path = child_path(dir, name);
	if (!path)
		return error_set(err, -ENOMEM, "out of memory");
	uint64_t h = path_hash(path, strlen(path));

	pthread_mutex_lock(&t->lock);
	struct inode *n = find_locked(t, path, h);
	int listed = dir->children != NULL;
	if (n)
		n->nlookup++;
	pthread_mutex_unlock(&t->lock);
	if (n || listed) {
		/* A listed directory's children are all in the table. */
		free(path);
		*out = n;
		return n ? 0 : -ENOENT;
	}

	struct iv_node iv;
	int r = imageview_lookup(t->v, &dir->iv, dir->path, name, &iv, err);
	if (r < 0) {
		free(path);
		return r;
	}
	pthread_mutex_lock(&t->lock);
	n = find_locked(t, path, h);
	if (n) {
		free(path);
		iv_node_release(&iv);
	} else if ((n = node_new(path, &iv)) != NULL) {
		n->parent_st_ino = dir->st_ino;
		insert_locked(t, n);
	}
	if (n)
		n->nlookup++;
	pthread_mutex_unlock(&t->lock);
	if (!n) {
		free(path);
		iv_node_release(&iv);
		return error_set(err, -ENOMEM, "out of memory");
	}
	*out = n;
	return 0;
}

void inode_forget(struct inode_table *t, struct inode *n, uint64_t nlookup)
{
	pthread_mutex_lock(&t->lock);
	n->nlookup = nlookup > n->nlookup ? 0 : n->nlookup - nlookup;
	release_locked(t, n);
	pthread_mutex_unlock(&t->lock);
}

struct listing {
	struct strata_error *err;
	struct { char *name; struct iv_node iv; } *v;
	size_t n, cap;
};

static int collect(void *ctx, const char *name, struct iv_node *child)
{
	struct listing *l = ctx;
	if (l->n == l->cap) {
		size_t nc = l->cap ? l->cap * 2 : 32;
		void *nv = realloc(l->v, nc * sizeof(*l->v));
		if (!nv)
			return error_set(l->err, -ENOMEM, "out of memory");
		l->v = nv;
		l->cap = nc;
	}
	if (!(l->v[l->n].name = strdup(name)))
		return error_set(l->err, -ENOMEM, "out of memory");
	/* Taken over: the records' buffers (and the entry's pointers into
	 * them) move with the struct. */
	l->v[l->n++].iv = *child;
	iv_node_init(child);
	return 0;
}

int inode_list(struct inode_table *t, struct inode *dir, struct strata_error *err)
{
	pthread_mutex_lock(&t->lock);
	int listed = dir->children != NULL;
	pthread_mutex_unlock(&t->lock);
	if (listed)
		return 0;

	struct listing l = { .err = err };
	struct inode **children = NULL;
	int r = imageview_readdir(t->v, &dir->iv, dir->path, collect, &l, err);
	if (r == 0 && !(children = malloc((l.n ? l.n : 1) * sizeof(*children))))
		r = error_set(err, -ENOMEM, "out of memory");

	size_t i = 0;
	pthread_mutex_lock(&t->lock);
	if (r == 0 && !dir->children) {
		for (i = 0; i < l.n; i++) {
			char *path = child_path(dir, l.v[i].name);
			struct inode *n = path ? find_locked(t, path, path_hash(path, strlen(path))) : NULL;
			if (n) {
				free(path);
			} else if (!path || !(n = node_new(path, &l.v[i].iv))) {
				free(path);
				r = error_set(err, -ENOMEM, "out of memory");
				break;
			} else {
				n->parent_st_ino = dir->st_ino;
				insert_locked(t, n);
			}
			n->cached = 1;
			children[i] = n;
		}
		if (r == 0) {
			dir->children = children;
			dir->nchildren = l.n;
			children = NULL;
		} else {
			/* Let go of what this listing alone held. */
			for (size_t j = 0; j < i; j++) {
				children[j]->cached = 0;
				release_locked(t, children[j]);
			}
		}
	}
	pthread_mutex_unlock(&t->lock);

	for (size_t j = 0; j < l.n; j++) {
		iv_node_release(&l.v[j].iv); /* moved-from copies are empty */
		free(l.v[j].name);
	}
	free(l.v);
	free(children);
	return r;
}

void inode_add_lookups(struct inode_table *t, struct inode *const *nodes, size_t n)
{
	pthread_mutex_lock(&t->lock);
	for (size_t i = 0; i < n; i++)
		nodes[i]->nlookup++;
	pthread_mutex_unlock(&t->lock);
}

void inode_open(struct inode_table *t, struct inode *n)
{
	pthread_mutex_lock(&t->lock);
	n->opens++;
	pthread_mutex_unlock(&t->lock);
}

void inode_close(struct inode_table *t, struct inode *n)
{
	pthread_mutex_lock(&t->lock);
	n->opens--;
	release_locked(t, n);
	pthread_mutex_unlock(&t->lock);
}

/* Attributes as a local file system would show them:
 * - directories have st_nlink 1, as btrfs does: counting subdirectories
 *   would mean listing every directory on its first stat, and 1 is the
 *   established "not counted" value that find(1) and fts honour;
 * - st_blocks counts whole 4 KiB blocks (512-byte units), like ext4 without
 *   inline data: a 1-byte file takes 8, an empty file 0; symlinks and
 *   special files take none (fast symlinks); directories one block;
 * - a symlink's mode is 0777 whatever the tar said, as on Linux;
 * - atime and ctime are the mtime: the image has no others. */
void inode_stat(const struct inode *n, struct stat *st)
{
	const struct entry *e = &n->iv.e;
	memset(st, 0, sizeof(*st));
	st->st_ino = n->st_ino;
	mode_t type;
	switch (n->iv.type) {
	case ENTRY_REG: type = S_IFREG; break;
	case ENTRY_DIR: type = S_IFDIR; break;
	case ENTRY_SYMLINK: type = S_IFLNK; break;
	case ENTRY_CHR: type = S_IFCHR; break;
	case ENTRY_BLK: type = S_IFBLK; break;
	case ENTRY_FIFO: type = S_IFIFO; break;
	case ENTRY_SOCK: type = S_IFSOCK; break;
	default: type = S_IFREG; break;
	}
	st->st_mode = type | (type == S_IFLNK ? 0777 : (e->mode & 07777));
	st->st_uid = e->uid;
	st->st_gid = e->gid;
	st->st_nlink = type == S_IFDIR ? 1 : (e->nlink ? e->nlink : 1);
	if (type == S_IFREG)
		st->st_size = (off_t)e->size;
	else if (type == S_IFLNK)
		st->st_size = (off_t)e->link_len;
	else if (type == S_IFDIR)
		st->st_size = 4096;
	if (type == S_IFCHR || type == S_IFBLK)
		st->st_rdev = makedev(e->rdev_major, e->rdev_minor);
	st->st_blksize = 4096;
	if (type == S_IFREG || type == S_IFDIR)
		st->st_blocks = (blkcnt_t)((st->st_size + 4095) / 4096 * 8);
	st->st_mtim.tv_sec = e->mtime;
	st->st_mtim.tv_nsec = e->mtime_nsec;
	st->st_atim = st->st_mtim;
	st->st_ctim = st->st_mtim;
}

size_t inode_digests_text(const struct inode *n, const char *layer, char *out, size_t len)
{
	const struct entry *e = &n->iv.e;
	size_t ll = strlen(layer), need = 2 * (SHA256_LEN + SHA1_LEN + MD5_LEN) + 3 + ll + 1;
	/* Written in place: the tree pages give it for every file. */
	if (len < need) { /* not with INODE_DIGESTS_TEXT_MAX bytes */
		if (len)
			out[0] = 0;
		return 0;
	}
	char *p = out;
	hex_encode(e->sha256, SHA256_LEN, p);
	p += 2 * SHA256_LEN;
	*p++ = ' ';
	hex_encode(e->sha1, SHA1_LEN, p);
	p += 2 * SHA1_LEN;
	*p++ = ' ';
	hex_encode(e->md5, MD5_LEN, p);
	p += 2 * MD5_LEN;
	*p++ = ' ';
	memcpy(p, layer, ll + 1);
	return (size_t)(p - out) + ll;
}
