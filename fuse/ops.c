/* ops: FUSE low-level operations over the inode table and the chunk cache.
 *
 * The image never changes, so every reply carries a day of cache validity
 * and the kernel keeps pages, dentries, symlinks and listings. Every request
 * gets exactly one reply on every path. A FUSE inode number is the address
 * of its struct inode (FUSE_ROOT_ID stands for the root). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include "src/base/log.h"
#include "ops.h"
#include "src/ingest/refetch.h"
#include "tree.h"

#define DAY 86400.0
#define XATTR_NAME_MAX_ 256
#define STRATA_XATTR "user.strata."

#define OFFS_TABLE_MIN 16 /* chunks: a file with fewer is searched by summing */

static struct mount *mnt(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

static struct inode *node_of(struct mount *m, fuse_ino_t ino)
{
	return ino == FUSE_ROOT_ID ? inode_root(m->itab) : (struct inode *)(uintptr_t)ino;
}

static fuse_ino_t ino_of(struct mount *m, struct inode *n)
{
	return n == inode_root(m->itab) ? FUSE_ROOT_ID : (fuse_ino_t)(uintptr_t)n;
}

static void count(atomic_uint_fast64_t *c, uint64_t n)
{
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

/* The kind of request this thread is answering: every request is answered
 * on the thread that received it, so reply_err can count by kind. */
static __thread int current_op = -1;

static void begin(struct mount *m, enum mount_op op)
{
	current_op = op;
	count(&m->ops[op], 1);
}

/* Errors that are answers (a name that is not there) are not counted. */
static void reply_err(struct mount *m, fuse_req_t req, int e)
{
	if (e && e != ENOENT && e != ENODATA && e != ERANGE && current_op >= 0)
		count(&m->op_errors[current_op], 1);
	fuse_reply_err(req, e);
}

static void fill_entry(struct mount *m, struct inode *n, struct fuse_entry_param *e)
{
	memset(e, 0, sizeof(*e));
	e->ino = ino_of(m, n);
	e->generation = 1;
	inode_stat(n, &e->attr);
	e->attr_timeout = DAY;
	e->entry_timeout = DAY;
}

static void op_init(void *userdata, struct fuse_conn_info *conn)
{
	uint32_t want = FUSE_CAP_READDIRPLUS | FUSE_CAP_PARALLEL_DIROPS | FUSE_CAP_CACHE_SYMLINKS |
			FUSE_CAP_ASYNC_READ;
	conn->want |= want & conn->capable;
	/* Always plus: a walk stats everything it lists. */
	conn->want &= ~FUSE_CAP_READDIRPLUS_AUTO;
	/* Large requests: libfuse derives the kernel's max_pages from max_write. */
	conn->max_write = 1u << 20;
	conn->max_read = 0;
	if (conn->max_background < 64)
		conn->max_background = 64;
	if (conn->congestion_threshold < 48)
		conn->congestion_threshold = 48;
	conn->time_gran = 1;
	/* Without OPENDIR/RELEASEDIR round trips a warm listing costs no request
	 * at all; the kernel then keeps listings cached by itself. */
	struct mount *m = userdata;
	if (conn->capable & FUSE_CAP_NO_OPENDIR_SUPPORT)
		m->no_opendir = 1;
	/* Likewise for files: a read needs only the inode, so an open costs
	 * the reader two round trips (OPEN, RELEASE) for nothing. Scanners open
	 * every file once; this is a third of their requests. */
	if (conn->capable & FUSE_CAP_NO_OPEN_SUPPORT)
		m->no_open = 1;
	/* mount_start waits for this before it puts the mount on the tree. */
	pthread_mutex_lock(&m->init_lock);
	m->init_done = 1;
	pthread_cond_broadcast(&m->init_cond);
	pthread_mutex_unlock(&m->init_lock);
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct mount *m = mnt(req);
	struct strata_error err = STRATA_ERROR_INIT;
	struct inode *dir = node_of(m, parent), *n = NULL;
	struct fuse_entry_param e;
	begin(m, MOP_LOOKUP);
	if (dir->iv.type != ENTRY_DIR) {
		reply_err(m, req, ENOTDIR);
		return;
	}
	int r = inode_lookup(m->itab, dir, name, &n, &err);
	if (r == -ENOENT) {
		/* A negative entry: the kernel remembers the name is not there. */
		memset(&e, 0, sizeof(e));
		e.entry_timeout = DAY;
		fuse_reply_entry(req, &e);
		return;
	}
	if (r < 0) {
		log_error("lookup of '%s' in '/%s': %s", name, dir->path, err.msg);
		reply_err(m, req, r == -ENOMEM ? ENOMEM : EIO);
		return;
	}
	fill_entry(m, n, &e);
	if (fuse_reply_entry(req, &e) < 0)
		inode_forget(m->itab, n, 1); /* the kernel never saw it */
}

static void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	struct mount *m = mnt(req);
	if (ino != FUSE_ROOT_ID)
		inode_forget(m->itab, node_of(m, ino), nlookup);
	fuse_reply_none(req);
}

static void op_forget_multi(fuse_req_t req, size_t n, struct fuse_forget_data *f)
{
	struct mount *m = mnt(req);
	for (size_t i = 0; i < n; i++)
		if (f[i].ino != FUSE_ROOT_ID)
			inode_forget(m->itab, node_of(m, f[i].ino), f[i].nlookup);
	fuse_reply_none(req);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct mount *m = mnt(req);
	struct stat st;
	begin(m, MOP_GETATTR);
	inode_stat(node_of(m, ino), &st);
	fuse_reply_attr(req, &st, DAY);
}

static void op_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct mount *m = mnt(req);
	begin(m, MOP_READLINK);
	struct inode *n = node_of(m, ino);
	if (n->iv.type != ENTRY_SYMLINK) {
		reply_err(m, req, EINVAL);
		return;
	}
	char *target = strndup(n->iv.e.link ? n->iv.e.link : "", n->iv.e.link_len);
	if (!target) {
		reply_err(m, req, ENOMEM);
		return;
	}
	fuse_reply_readlink(req, target);
	free(target);
}

/* The kernel refuses writes itself (the mount is read-only); checked here
 * too for a kernel that asks. Nothing is kept per open file: reads find
 * their chunks from the inode, which the kernel holds while it is open. */
static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct mount *m = mnt(req);
	begin(m, MOP_OPEN);
	struct inode *n = node_of(m, ino);
	if ((fi->flags & O_ACCMODE) != O_RDONLY) {
		reply_err(m, req, EROFS);
		return;
	}
	if (n->iv.type == ENTRY_DIR) {
		reply_err(m, req, EISDIR);
		return;
	}
	if (m->no_open) {
		/* Success, and the last OPEN this mount sees. */
		fuse_reply_err(req, ENOSYS);
		return;
	}
	fi->fh = 0;
	fi->keep_cache = 1;
	fi->noflush = 1;
	fuse_reply_open(req, fi);
}

/* Where each chunk of a many-chunk file starts, kept on its node; NULL when
 * out of memory. Two first reads may both build it: one table is kept. */
static const uint64_t *chunk_table(struct inode *n)
{
	uint64_t *offs = atomic_load_explicit(&n->chunk_offs, memory_order_acquire);
	if (offs)
		return offs;
	const struct entry *e = &n->iv.e;
	if (!(offs = malloc(((size_t)e->nchunks + 1) * sizeof(*offs))))
		return NULL;
	uint64_t off = 0;
	for (uint32_t i = 0; i < e->nchunks; i++) {
		offs[i] = off;
		off += entry_chunk_len(e, i);
	}
	offs[e->nchunks] = off;
	uint64_t *none = NULL;
	if (!atomic_compare_exchange_strong_explicit(&n->chunk_offs, &none, offs, memory_order_acq_rel,
						     memory_order_acquire)) {
		free(offs);
		offs = none;
	}
	return offs;
}

/* The chunk holding byte off (off < the size of the file): *idx and the
 * file offset *start where it begins. -EIO when the chunks do not add up
 * to the file's size (a damaged index), -ENOMEM. */
static int chunk_at(struct inode *n, uint64_t off, uint32_t *idx, uint64_t *start)
{
	const struct entry *e = &n->iv.e;
	uint32_t nc = e->nchunks;
	if (nc < OFFS_TABLE_MIN) {
		uint64_t sum = 0;
		*idx = nc;
		for (uint32_t i = 0; i < nc; i++) {
			uint32_t len = entry_chunk_len(e, i);
			if (*idx == nc && off < sum + len) {
				*idx = i;
				*start = sum;
			}
			sum += len;
		}
		return sum == e->size && *idx < nc ? 0 : -EIO;
	}
	const uint64_t *offs = chunk_table(n);
	if (!offs)
		return -ENOMEM;
	if (offs[nc] != e->size)
		return -EIO;
	/* The last chunk starting at or before off. */
	uint32_t lo = 0, hi = nc;
	while (hi - lo > 1) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (offs[mid] <= off)
			lo = mid;
		else
			hi = mid;
	}
	*idx = lo;
	*start = offs[lo];
	return 0;
}

/* One read buffer per worker thread, kept between requests: a fresh 1 MiB
 * malloc is an mmap and a page fault per 4 KiB on every read. */
static pthread_key_t readbuf_key;
static pthread_once_t readbuf_once = PTHREAD_ONCE_INIT;
struct readbuf {
	void *p;
	size_t cap;
};

static void readbuf_free(void *p)
{
	struct readbuf *b = p;
	free(b->p);
	free(b);
}

static void readbuf_init(void)
{
	pthread_key_create(&readbuf_key, readbuf_free);
}

static void *readbuf_get(size_t n)
{
	pthread_once(&readbuf_once, readbuf_init);
	struct readbuf *b = pthread_getspecific(readbuf_key);
	if (!b) {
		if (!(b = calloc(1, sizeof(*b))))
			return NULL;
		pthread_setspecific(readbuf_key, b);
	}
	if (b->cap < n) {
		void *p = malloc(n);
		if (!p)
			return NULL;
		free(b->p);
		b->p = p;
		b->cap = n;
	}
	return b->p;
}

/* A chunk that is not stored (its layer was evicted, or built from an
 * eStargz TOC) comes back from the registry, verified, into dst. */
static int refetched(struct mount *m, const uint8_t *id, uint32_t clen, uint64_t in, uint8_t *dst,
		     size_t k, struct strata_error *err)
{
	/* Not kept per thread: FUSE's idle worker threads exit, and a buffer
	 * of theirs would leak (LeakSanitizer saw it); a fetch costs far more
	 * than this allocation. */
	struct buf chunk = BUF_INIT;
	error_clear(err);
	int r = refetch_chunk(m->refetch, id, clen, &chunk, err);
	if (r < 0)
		r = r == -ENOMEM ? r : -EIO;
	else if (chunk.len != clen)
		r = error_set(err, -EIO, "refetched chunk has %zu bytes, not %u", chunk.len, clen);
	else
		memcpy(dst, chunk.data + in, k);
	buf_release(&chunk);
	return r;
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
	(void)fi;
	struct mount *m = mnt(req);
	struct inode *n = node_of(m, ino);
	const struct entry *e = &n->iv.e;
	begin(m, MOP_READ);
	if (n->iv.type != ENTRY_REG || off < 0 || (uint64_t)off >= e->size || size == 0) {
		fuse_reply_buf(req, NULL, 0);
		return;
	}
	size_t want = e->size - (uint64_t)off < size ? (size_t)(e->size - (uint64_t)off) : size;
	uint8_t *buf = readbuf_get(want);
	uint32_t i;
	uint64_t start = 0;
	int r = buf ? chunk_at(n, (uint64_t)off, &i, &start) : -ENOMEM;
	if (r == -EIO && !atomic_exchange(&n->eio_logged, 1))
		log_error("read of '/%s': its chunks do not add up to its size, %llu bytes", n->path,
			  (unsigned long long)e->size);
	if (r < 0) {
		reply_err(m, req, -r);
		return;
	}
	/* The chunk files after the first are read from the disk at once,
	 * not one after the other as the loop below reaches them. */
	uint64_t end = (uint64_t)off + want, cs = start + entry_chunk_len(e, i);
	for (uint32_t j = i + 1; j < e->nchunks && cs < end; cs += entry_chunk_len(e, j), j++)
		chunkcache_prefetch(m->cache, entry_chunk_id(e, j));
	size_t done = 0;
	for (; done < want && i < e->nchunks; i++) {
		uint64_t pos = (uint64_t)off + done, in = pos - start;
		uint32_t clen = entry_chunk_len(e, i);
		size_t k = clen - in < want - done ? (size_t)(clen - in) : want - done;
		struct strata_error err = STRATA_ERROR_INIT;
		r = chunkcache_read(m->cache, entry_chunk_id(e, i), clen, in, buf + done, k, &err);
		if (r == -ENOENT && m->refetch)
			r = refetched(m, entry_chunk_id(e, i), clen, in, buf + done, k, &err);
		if (r < 0) {
			if (!atomic_exchange(&n->eio_logged, 1))
				log_error("read of '/%s' at %llu: %s", n->path, (unsigned long long)pos, err.msg);
			reply_err(m, req, r == -ENOMEM ? ENOMEM : EIO);
			return;
		}
		done += k;
		start += clen;
	}
	count(&m->bytes_read, done);
	fuse_reply_buf(req, (const char *)buf, done);
}

static void op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct mount *m = mnt(req);
	begin(m, MOP_OPENDIR);
	struct inode *n = node_of(m, ino);
	struct strata_error err = STRATA_ERROR_INIT;
	if (n->iv.type != ENTRY_DIR) {
		reply_err(m, req, ENOTDIR);
		return;
	}
	int r = inode_list(m->itab, n, &err);
	if (r < 0) {
		log_error("listing of '/%s': %s", n->path, err.msg);
		reply_err(m, req, r == -ENOMEM ? ENOMEM : EIO);
		return;
	}
	if (m->no_opendir) {
		/* Listed above, so errors still show at open; ENOSYS turns opendir off. */
		fuse_reply_err(req, ENOSYS);
		return;
	}
	inode_open(m->itab, n);
	fi->fh = 0;
	fi->keep_cache = 1;
	fi->cache_readdir = 1;
	if (fuse_reply_open(req, fi) < 0)
		inode_close(m->itab, n);
}

static void op_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct mount *m = mnt(req);
	if (!m->no_opendir)
		inode_close(m->itab, node_of(m, ino));
	fuse_reply_err(req, 0);
}

/* Offsets: 0 ".", 1 "..", 2 + i the i-th child; an entry's offset field is
 * the offset of the next one. */
static void do_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, int plus)
{
	struct mount *m = mnt(req);
	struct inode *dir = node_of(m, ino);
	begin(m, MOP_READDIR);
	char *buf = malloc(size ? size : 1);
	struct inode **added = NULL;
	size_t nadded = 0, pos = 0;
	if (!buf || (plus && !(added = malloc((size / 24 + 1) * sizeof(*added))))) {
		free(buf);
		reply_err(m, req, ENOMEM);
		return;
	}
	/* The child list is immutable once set; the kernel keeps dir alive while open. */
	struct strata_error err = STRATA_ERROR_INIT;
	int r = inode_list(m->itab, dir, &err);
	if (r < 0) {
		log_error("listing of '/%s': %s", dir->path, err.msg);
		free(buf);
		free(added);
		reply_err(m, req, r == -ENOMEM ? ENOMEM : EIO);
		return;
	}
	size_t total = 2 + dir->nchildren;
	for (size_t i = off < 0 ? 0 : (size_t)off; i < total; i++) {
		struct fuse_entry_param e;
		struct inode *c = NULL;
		const char *name;
		memset(&e, 0, sizeof(e));
		if (i < 2) {
			name = i == 0 ? "." : "..";
			e.attr.st_ino = i == 0 ? dir->st_ino : dir->parent_st_ino;
			e.attr.st_mode = S_IFDIR;
		} else {
			c = dir->children[i - 2];
			name = c->name;
			if (plus)
				fill_entry(m, c, &e);
			else
				inode_stat(c, &e.attr);
		}
		size_t need = plus ? fuse_add_direntry_plus(req, buf + pos, size - pos, name, &e, (off_t)(i + 1))
				   : fuse_add_direntry(req, buf + pos, size - pos, name, &e.attr, (off_t)(i + 1));
		if (need > size - pos)
			break;
		pos += need;
		if (plus && c)
			added[nadded++] = c;
	}
	if (nadded)
		inode_add_lookups(m->itab, added, nadded);
	if (fuse_reply_buf(req, buf, pos) < 0)
		for (size_t i = 0; i < nadded; i++)
			inode_forget(m->itab, added[i], 1);
	free(added);
	free(buf);
}

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, 0);
}

static void op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			   struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, 1);
}

static void op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct mount *m = mnt(req);
	begin(m, MOP_STATFS);
	struct statvfs s;
	memset(&s, 0, sizeof(s));
	s.f_bsize = 4096;
	s.f_frsize = 4096;
	s.f_blocks = m->image_bytes / 4096;
	s.f_files = m->image_entries;
	s.f_namemax = 255;
	fuse_reply_statfs(req, &s);
}

/* The value of xattr name on n: 0 with *val and *vlen (val may point into tmp),
 * or -ENODATA. */
static int xattr_value(struct mount *m, struct inode *n, const char *name, char *tmp, size_t tmplen,
		       const void **val, size_t *vlen)
{
	const struct entry *e = &n->iv.e;
	if (n->iv.type == ENTRY_REG && !strncmp(name, STRATA_XATTR, strlen(STRATA_XATTR))) {
		const char *k = name + strlen(STRATA_XATTR);
		if (!strcmp(k, "sha256"))
			hex_encode(e->sha256, SHA256_LEN, tmp);
		else if (!strcmp(k, "sha1"))
			hex_encode(e->sha1, SHA1_LEN, tmp);
		else if (!strcmp(k, "md5"))
			hex_encode(e->md5, MD5_LEN, tmp);
		else if (!strcmp(k, "layer"))
			snprintf(tmp, tmplen, "%s", imageview_layer_digest(m->v, n->iv.layer));
		else if (!strcmp(k, "digests"))
			inode_digests_text(n, imageview_layer_digest(m->v, n->iv.layer), tmp,
					   tmplen); /* all four in one request */
		else
			goto real;
		*val = tmp;
		*vlen = strlen(tmp);
		return 0;
	}
real:;
	size_t pos = 0;
	char nm[XATTR_NAME_MAX_ + 1];
	const uint8_t *v;
	size_t vl;
	while (entry_xattr_next(e->xattrs, e->xattrs_len, &pos, nm, sizeof(nm), &v, &vl) == 1)
		if (!strcmp(nm, name)) {
			*val = v;
			*vlen = vl;
			return 0;
		}
	return -ENODATA;
}

static void reply_sized(struct mount *m, fuse_req_t req, const void *val, size_t vlen, size_t size)
{
	if (size == 0)
		fuse_reply_xattr(req, vlen);
	else if (size < vlen)
		reply_err(m, req, ERANGE);
	else
		fuse_reply_buf(req, val, vlen);
}

/* user.strata.tree.<start>: see tree.h. */
#define TREE_XATTR STRATA_XATTR "tree."

static int tree_value(struct mount *m, struct inode *dir, const char *start_s, struct buf *out)
{
	char *end;
	errno = 0;
	unsigned long long start = strtoull(start_s, &end, 10);
	if (!*start_s || *end || errno)
		return -ENODATA;
	return tree_page(&m->tree, dir, start, out);
}

static void op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	struct mount *m = mnt(req);
	begin(m, MOP_GETXATTR);
	char tmp[DIGEST_STR_MAX + (SHA256_LEN + SHA1_LEN + MD5_LEN) * 2 + 8];
	const void *val;
	size_t vlen;
	if (!strncmp(name, TREE_XATTR, strlen(TREE_XATTR))) {
		struct buf v = BUF_INIT;
		int r = tree_value(m, node_of(m, ino), name + strlen(TREE_XATTR), &v);
		if (r < 0)
			reply_err(m, req, -r);
		else
			reply_sized(m, req, v.data, v.len, size);
		buf_release(&v);
		return;
	}
	if (xattr_value(m, node_of(m, ino), name, tmp, sizeof(tmp), &val, &vlen) < 0) {
		reply_err(m, req, ENODATA);
		return;
	}
	reply_sized(m, req, val, vlen, size);
}

static void op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	struct mount *m = mnt(req);
	begin(m, MOP_LISTXATTR);
	const struct entry *e = &node_of(m, ino)->iv.e;
	struct buf list = BUF_INIT;
	size_t pos = 0;
	char nm[XATTR_NAME_MAX_ + 1];
	const uint8_t *v;
	size_t vl;
	int r = 0;
	/* The user.strata.* values are not listed: they are not the file's. */
	while (r == 0 && entry_xattr_next(e->xattrs, e->xattrs_len, &pos, nm, sizeof(nm), &v, &vl) == 1)
		r = buf_add(&list, nm, strlen(nm) + 1);
	if (r < 0)
		reply_err(m, req, ENOMEM);
	else
		reply_sized(m, req, list.data, list.len, size);
	buf_release(&list);
}

const struct fuse_lowlevel_ops ops_lowlevel = {
	.init = op_init,
	.lookup = op_lookup,
	.forget = op_forget,
	.forget_multi = op_forget_multi,
	.getattr = op_getattr,
	.readlink = op_readlink,
	.open = op_open,
	.read = op_read,
	.opendir = op_opendir,
	.readdir = op_readdir,
	.readdirplus = op_readdirplus,
	.releasedir = op_releasedir,
	.statfs = op_statfs,
	.getxattr = op_getxattr,
	.listxattr = op_listxattr,
};
