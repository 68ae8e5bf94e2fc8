/* ingest: the streaming pass from a layer blob to committed index records.
 *
 * Two threads per layer: the fetcher streams the blob from the source into
 * a bounded pipe (and checks the blob digest as it goes); this thread
 * decompresses, hashes the uncompressed stream (diff_id), reads tar entries
 * with libarchive, chunks file bytes and stores the chunks. Memory is bounded
 * by the pipe, one chunk, one index batch and the path set (8 bytes an entry). */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <archive.h>
#include <archive_entry.h>

#include "chunker.h"
#include "chunkqueue.h"
#include "ckpt.h"
#include "decompress.h"
#include "estargz.h"
#include "span.h"
#include "src/store/entry.h"
#include "src/base/hashset.h"
#include "ingest.h"
#include "src/base/log.h"
#include "pipebuf.h"
#include "src/base/util.h"

#define READ_BUF (256u << 10)
#define PIPE_BUF_BYTES (2u << 20)
/* Batches are committed (not synced) at this size: each thread holds one,
 * and a RocksDB write batch grows by doubling, so this bounds memory. */
#define BATCH_FLUSH (512u << 10)
#define DRAIN_MAX (256ull << 20) /* read on after a failure, to check the digest */
#define PREFETCH_MAX (64ull << 20) /* an eStargz prefetch section fetched at once */

struct ingest {
	struct store *st;
	const struct strata_limits *lim;
	struct strata_error *err;
	uint32_t lid;

	/* the uncompressed stream */
	ssize_t (*read)(void *ctx, void *buf, size_t len);
	void *rctx;
	struct decompressor *dec;
	uint8_t *rbuf;
	struct sha256_ctx *diff;
	uint64_t usize;

	/* per file */
	struct chunker chunker;
	struct buf chunk;
	struct buf chunklist;
	struct filehash *fh;
	uint32_t nchunks;
	uint64_t data_off;            /* the file's bytes in the uncompressed stream; */
	int located;                  /* 0 when not one run there (a sparse file) */
	uint64_t fpos;                /* bytes of the file fed so far */
	uint64_t chunk_off;           /* where the chunk being cut starts in the file */

	struct ckpt_table ckpt;       /* checkpoints taken so far */
	const struct estargz_entry *toc_entry; /* building from a TOC: the entry */
	uint64_t toc_fetched;         /* bytes of footer and TOC fetched */
	int toc_header;               /* the TOC file's chunk follows its tar header */
	struct buf wbuf;              /* a packed window */

	struct chunkqueue *queue;     /* compresses and stores chunks in its own thread */
	uint64_t chunk_bytes;         /* every chunk occurrence, for shared_bytes */
	struct index_batch *batch;
	struct buf key, val, path, xattrs;
	struct hashset paths;     /* every path of the layer: hardlink targets, parents */
	struct hashset dirs;      /* directories present (listed or implicit) */
	struct hashset chunks;    /* chunk ids stored by this layer */
	struct buf hardlinks;     /* NUL-separated targets, for link counts */
	struct layer_record rec;
	uint64_t ordinal;
	const struct ingest_observer *obs; /* with obs_layer, its state; else NULL */
	void *obs_layer;
};

static int flush_batch(struct ingest *in, int force)
{
	if (!force && index_batch_bytes(in->batch) < BATCH_FLUSH)
		return 0;
	return storedir_commit(in->st->sd, in->batch, 0, in->err);
}

static la_ssize_t tar_read(struct archive *a, void *ctx, const void **out)
{
	struct ingest *in = ctx;
	ssize_t n = decompress_read(in->dec, in->rbuf, READ_BUF, in->err);
	if (n < 0) {
		archive_set_error(a, EIO, "%s", in->err->msg);
		return -1;
	}
	sha256_update(in->diff, in->rbuf, (size_t)n);
	in->usize += (uint64_t)n;
	if (in->usize > in->lim->max_layer_size) {
		char lim[32];
		format_size(in->lim->max_layer_size, lim, sizeof(lim));
		error_set(in->err, -EFBIG, "layer exceeds the uncompressed size limit (%s)", lim);
		archive_set_error(a, EFBIG, "size limit");
		return -1;
	}
	*out = in->rbuf;
	return n;
}

int ingest_normalize_path(const char *in, const struct strata_limits *lim, struct buf *out,
			  struct strata_error *err)
{
	buf_reset(out);
	uint64_t depth = 0;
	const char *p = in;
	while (*p) {
		while (*p == '/')
			p++;
		const char *start = p;
		while (*p && *p != '/')
			p++;
		size_t len = (size_t)(p - start);
		if (len == 0 || (len == 1 && start[0] == '.'))
			continue;
		if (len == 2 && start[0] == '.' && start[1] == '.') {
			if (depth == 0)
				return error_set(err, -EINVAL, "entry '%s': path escapes the image root", in);
			char *slash = memrchr(out->data, '/', out->len);
			buf_setlen(out, slash ? (size_t)(slash - out->data) : 0);
			depth--;
			continue;
		}
		if (len > lim->max_name)
			return error_set(err, -ENAMETOOLONG, "entry '%.200s…': name too long (%zu bytes, limit %llu)",
					 in, len, (unsigned long long)lim->max_name);
		if (++depth > lim->max_depth)
			return error_set(err, -ENAMETOOLONG, "entry '%.200s…': path too deep (limit %llu)",
					 in, (unsigned long long)lim->max_depth);
		if (out->len && buf_addch(out, '/') < 0)
			return error_set(err, -ENOMEM, "out of memory");
		if (buf_add(out, start, len) < 0)
			return error_set(err, -ENOMEM, "out of memory");
		if (out->len > lim->max_path)
			return error_set(err, -ENAMETOOLONG, "entry '%.200s…': path name too long (limit %llu)",
					 in, (unsigned long long)lim->max_path);
	}
	return 0;
}

static int put_entry(struct ingest *in, const char *path, size_t plen, const struct entry *e)
{
	int r = entry_key(&in->key, in->lid, path, plen);
	buf_reset(&in->val);
	if (r < 0 || (r = entry_encode(e, &in->val)) < 0)
		return error_set(in->err, r, "out of memory");
	index_batch_put(in->batch, in->key.data, in->key.len, in->val.data, in->val.len);
	return flush_batch(in, 0);
}

/* Parent directories the tar did not list are made, marked implicit so
 * that the image view prefers a lower layer's real directory. */
static int ensure_parents(struct ingest *in, const char *path, size_t len)
{
	const char *slash = memrchr(path, '/', len);
	if (!slash)
		return 0;
	size_t plen = (size_t)(slash - path);
	uint64_t h = hashset_hash(path, plen);
	if (hashset_has(&in->dirs, h))
		return 0;
	int r = ensure_parents(in, path, plen);
	if (r < 0)
		return r;
	struct entry e = { .type = ENTRY_DIR, .flags = ENTRY_F_IMPLICIT, .mode = 0755, .nlink = 1 };
	e.ordinal = ++in->ordinal;
	if ((r = put_entry(in, path, plen, &e)) < 0)
		return r;
	if (hashset_add(&in->dirs, h) < 0 || hashset_add(&in->paths, h) < 0)
		return error_set(in->err, -ENOMEM, "out of memory");
	return 0;
}

/* The layer's reference to a chunk, with its place when it is one run of
 * the uncompressed stream (not in a sparse file). */
static void add_refs(struct ingest *in, const uint8_t *id, uint32_t len)
{
	if (in->located)
		layers_add_ref_at(in->batch, in->lid, id, in->data_off + in->chunk_off, len);
	else
		layers_add_ref(in->batch, in->lid, id);
}

static int emit_chunk(struct ingest *in, const uint8_t *id)
{
	uint8_t own[SHA256_LEN];
	if (!id) {
		sha256_once(in->chunk.data, in->chunk.len, own);
		id = own;
	}
	uint64_t h;
	memcpy(&h, id, sizeof(h));
	int fresh = hashset_add(&in->chunks, h);
	if (fresh < 0)
		return error_set(in->err, -ENOMEM, "out of memory");
	if (fresh) {
		int r = chunkqueue_put(in->queue, id, in->chunk.data, in->chunk.len, in->err);
		if (r < 0)
			return r;
		add_refs(in, id, (uint32_t)in->chunk.len);
	}
	in->chunk_bytes += in->chunk.len;
	in->rec.chunks++;
	uint8_t len[4];
	be32_put(len, (uint32_t)in->chunk.len);
	if (buf_add(&in->chunklist, id, SHA256_LEN) < 0 || buf_add(&in->chunklist, len, 4) < 0)
		return error_set(in->err, -ENOMEM, "out of memory");
	in->nchunks++;
	buf_reset(&in->chunk);
	in->chunk_off = in->fpos;
	return 0;
}

static int feed(struct ingest *in, const uint8_t *data, size_t len)
{
	filehash_update(in->fh, data, len);
	if (in->obs)
		in->obs->file_data(in->obs_layer, data, len);
	while (len) {
		int cut = 0;
		size_t n = chunker_scan(&in->chunker, data, len, &cut);
		if (buf_add(&in->chunk, data, n) < 0)
			return error_set(in->err, -ENOMEM, "out of memory");
		data += n;
		len -= n;
		in->fpos += n;
		if (cut) {
			int r = emit_chunk(in, NULL);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

static int read_file_data(struct archive *a, struct archive_entry *ae, struct ingest *in,
			  struct entry *e, const char *name)
{
	static const uint8_t zeros[4096];
	const void *blk;
	size_t size;
	la_int64_t offset;
	uint64_t pos = 0;
	int r;

	filehash_reset(in->fh);
	chunker_reset(&in->chunker);
	buf_reset(&in->chunk);
	buf_reset(&in->chunklist);
	in->nchunks = 0;
	in->fpos = in->chunk_off = 0;
	/* The tar reader has consumed the headers: the data starts here, one
	 * run unless the entry is sparse. */
	in->data_off = (uint64_t)archive_filter_bytes(a, 0);
	in->located = archive_entry_sparse_count(ae) == 0;
	if (in->obs)
		in->obs->file_begin(in->obs_layer, e->size);
	for (;;) {
		r = archive_read_data_block(a, &blk, &size, &offset);
		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN)
			return error_set(in->err, -EBADMSG, "invalid tar stream at '%s': %s", name,
					 archive_error_string(a));
		/* Sparse files: holes read as zeros. */
		while (pos < (uint64_t)offset) {
			size_t n = (uint64_t)offset - pos > sizeof(zeros) ? sizeof(zeros) : (size_t)((uint64_t)offset - pos);
			if ((r = feed(in, zeros, n)) < 0)
				return r;
			pos += n;
		}
		if ((r = feed(in, blk, size)) < 0)
			return r;
		pos += size;
	}
	while (pos < e->size) {
		size_t n = e->size - pos > sizeof(zeros) ? sizeof(zeros) : (size_t)(e->size - pos);
		if ((r = feed(in, zeros, n)) < 0)
			return r;
		pos += n;
	}
	filehash_final(in->fh, e->sha256, e->sha1, e->md5);
	if (in->obs)
		in->obs->file_end(in->obs_layer, e->sha256);
	if (in->chunk.len) {
		/* A file that is one chunk: its sha256 is the chunk id already. */
		if ((r = emit_chunk(in, in->nchunks == 0 ? e->sha256 : NULL)) < 0)
			return r;
	}
	e->size = pos;
	e->nchunks = in->nchunks;
	e->chunks = (const uint8_t *)in->chunklist.data;
	return 0;
}

static int read_xattrs(struct archive_entry *ae, struct ingest *in)
{
	const char *name;
	const void *value;
	size_t vlen;
	buf_reset(&in->xattrs);
	archive_entry_xattr_reset(ae);
	while (archive_entry_xattr_next(ae, &name, &value, &vlen) == ARCHIVE_OK) {
		if (entry_xattr_add(&in->xattrs, name, value, vlen) < 0)
			return error_set(in->err, -ENOMEM, "out of memory");
		if (in->xattrs.len > in->lim->max_xattr)
			return error_set(in->err, -EFBIG, "entry '%s': extended attributes too large",
					 archive_entry_pathname(ae));
	}
	return 0;
}

static int toc_file_data(struct ingest *in, struct entry *e);

static int ingest_entry(struct archive *a, struct archive_entry *ae, struct ingest *in)
{
	const char *raw = archive_entry_pathname(ae);
	if (!raw)
		return error_set(in->err, -EBADMSG, "invalid tar stream: entry without a name");
	if (++in->rec.entries > in->lim->max_entries)
		return error_set(in->err, -EFBIG, "too many entries (limit %llu)",
				 (unsigned long long)in->lim->max_entries);
	int r = ingest_normalize_path(raw, in->lim, &in->path, in->err);
	if (r < 0)
		return r;
	const char *path = in->path.data;
	size_t plen = in->path.len;
	const char *base = memrchr(path, '/', plen);
	base = base ? base + 1 : path;

	struct entry e = { 0 };
	e.mode = archive_entry_perm(ae) & 07777;
	e.uid = (uint32_t)archive_entry_uid(ae);
	e.gid = (uint32_t)archive_entry_gid(ae);
	e.mtime = archive_entry_mtime(ae);
	e.mtime_nsec = (uint32_t)archive_entry_mtime_nsec(ae);
	e.nlink = 1;
	e.ordinal = ++in->ordinal;
	struct buf target = BUF_INIT;
	const char *hl = archive_entry_hardlink(ae);
	mode_t ft = archive_entry_filetype(ae);

	if (!strcmp(base, ".wh..wh..opq")) {
		e.type = ENTRY_OPAQUE;
	} else if (!strncmp(base, ".wh.", 4)) {
		e.type = ENTRY_WHITEOUT;
	} else if (hl) {
		e.type = ENTRY_HARDLINK;
		if ((r = ingest_normalize_path(hl, in->lim, &target, in->err)) < 0)
			goto out;
		if (!hashset_has(&in->paths, hashset_hash(target.data, target.len)) ||
		    hashset_has(&in->dirs, hashset_hash(target.data, target.len))) {
			r = error_set(in->err, -EBADMSG, "entry '%s': hardlink to missing target '%s'", raw, hl);
			goto out;
		}
		e.link = target.data;
		e.link_len = target.len;
		if (buf_add(&in->hardlinks, target.data, target.len + 1) < 0) {
			r = error_set(in->err, -ENOMEM, "out of memory");
			goto out;
		}
	} else {
		switch (ft) {
		case AE_IFREG: e.type = ENTRY_REG; break;
		case AE_IFDIR: e.type = ENTRY_DIR; break;
		case AE_IFLNK: e.type = ENTRY_SYMLINK; break;
		case AE_IFCHR: e.type = ENTRY_CHR; break;
		case AE_IFBLK: e.type = ENTRY_BLK; break;
		case AE_IFIFO: e.type = ENTRY_FIFO; break;
		case AE_IFSOCK: e.type = ENTRY_SOCK; break;
		default:
			r = error_set(in->err, -EBADMSG, "entry '%s': unknown file type", raw);
			goto out;
		}
	}
	if (e.type == ENTRY_SYMLINK) {
		const char *t = archive_entry_symlink(ae);
		e.link = t ? t : "";
		e.link_len = strlen(e.link);
		if (e.link_len > in->lim->max_path) {
			r = error_set(in->err, -ENAMETOOLONG, "entry '%s': symlink target too long", raw);
			goto out;
		}
	}
	if (e.type == ENTRY_CHR || e.type == ENTRY_BLK) {
		e.rdev_major = (uint32_t)archive_entry_rdevmajor(ae);
		e.rdev_minor = (uint32_t)archive_entry_rdevminor(ae);
	}
	if ((r = read_xattrs(ae, in)) < 0)
		goto out;
	e.xattrs = (const uint8_t *)in->xattrs.data;
	e.xattrs_len = in->xattrs.len;
	if (plen == 0 && e.type != ENTRY_DIR) {
		r = error_set(in->err, -EBADMSG, "entry '%s': the image root must be a directory", raw);
		goto out;
	}
	if (e.type == ENTRY_WHITEOUT || e.type == ENTRY_OPAQUE) {
		/* A whiteout below a name this layer made a non-directory (umoci
		 * writes these when a directory becomes a file) has nothing left to
		 * hide: the file already hides the lower directory. */
		const char *slash = memrchr(path, '/', plen);
		size_t dl = slash ? (size_t)(slash - path) : 0;
		uint64_t dh = hashset_hash(path, dl);
		if (slash && hashset_has(&in->paths, dh) && !hashset_has(&in->dirs, dh))
			goto out;
	}
	if ((r = ensure_parents(in, path, plen)) < 0)
		goto out;
	if (e.type == ENTRY_REG) {
		e.size = (uint64_t)archive_entry_size(ae);
		r = in->toc_entry ? toc_file_data(in, &e) : read_file_data(a, ae, in, &e, raw);
		if (r < 0)
			goto out;
	}
	if ((r = put_entry(in, path, plen, &e)) < 0)
		goto out;
	uint64_t h = hashset_hash(path, plen);
	if (hashset_add(&in->paths, h) < 0 ||
	    (e.type == ENTRY_DIR && hashset_add(&in->dirs, h) < 0))
		r = error_set(in->err, -ENOMEM, "out of memory");
out:
	buf_release(&target);
	return r;
}

/* Each hardlink adds a name to its target: nlink = 1 + links to it. */
static int count_links(struct ingest *in)
{
	if (!in->hardlinks.len)
		return 0;
	int r = flush_batch(in, 1);
	if (r < 0)
		return r;
	struct buf rec = BUF_INIT, enc = BUF_INIT;
	for (size_t off = 0; off < in->hardlinks.len;) {
		const char *t = in->hardlinks.data + off;
		size_t tl = strlen(t);
		off += tl + 1;
		struct entry e;
		if ((r = entry_key(&in->key, in->lid, t, tl)) < 0 ||
		    (r = index_get(in->st->idx, in->key.data, in->key.len, &rec, in->err)) < 0)
			break;
		if (entry_decode(rec.data, rec.len, &e) < 0) {
			r = error_set(in->err, -EBADMSG, "corrupt entry record for '%s'", t);
			break;
		}
		e.nlink++;
		buf_reset(&enc);
		if ((r = entry_encode(&e, &enc)) < 0 ||
		    (r = index_put(in->st->idx, in->key.data, in->key.len, enc.data, enc.len, 0, in->err)) < 0)
			break;
	}
	buf_release(&rec);
	buf_release(&enc);
	return r;
}

static int run_tar(struct ingest *in)
{
	struct archive *a = archive_read_new();
	struct archive_entry *ae;
	int r = 0;
	if (!a)
		return error_set(in->err, -ENOMEM, "out of memory");
	archive_read_support_format_tar(a);
	archive_read_support_format_gnutar(a);
	if (archive_read_open(a, in, NULL, tar_read, NULL) != ARCHIVE_OK) {
		r = error_set(in->err, -EBADMSG, "invalid tar stream: %s", archive_error_string(a));
		goto out;
	}
	for (;;) {
		int k = archive_read_next_header(a, &ae);
		if (k == ARCHIVE_EOF)
			break;
		if (k < ARCHIVE_WARN) {
			r = error_set(in->err, -EBADMSG, "invalid tar stream: %s", archive_error_string(a));
			goto out;
		}
		if ((r = ingest_entry(a, ae, in)) < 0)
			goto out;
	}
	/* The diff_id covers the whole stream, padding after the end marker included. */
	for (;;) {
		ssize_t n = decompress_read(in->dec, in->rbuf, READ_BUF, in->err);
		if (n < 0) {
			r = (int)n;
			goto out;
		}
		if (n == 0)
			break;
		sha256_update(in->diff, in->rbuf, (size_t)n);
		in->usize += (uint64_t)n;
	}
out:
	archive_read_free(a);
	return r;
}

/* A checkpoint: its window goes to the index at once (layers.h), the
 * table entry waits for the layer's end. */
static int keep_checkpoint(void *ctx, const struct decompress_checkpoint *cp)
{
	struct ingest *in = ctx;
	struct ckpt_entry e = { .uoff = cp->uoff, .cbit = cp->cbit, .member = (uint8_t)!!cp->member,
				.wlen = (uint32_t)cp->wlen };
	if (cp->wlen) {
		buf_reset(&in->wbuf);
		if (ckpt_window_pack(cp->window, cp->wlen, &in->wbuf) < 0)
			return -ENOMEM;
		layers_put_window(in->batch, in->lid, (uint32_t)in->ckpt.n, in->wbuf.data, in->wbuf.len);
	}
	return ckpt_table_add(&in->ckpt, &e);
}

/* The table, into the layer's last batch. */
static int put_checkpoints(struct ingest *in)
{
	in->ckpt.interval = in->st->conf->checkpoint_interval;
	in->ckpt.usize = in->usize;
	if (in->ckpt.kind == COMP_NONE)
		in->ckpt.n = 0; /* any offset is its own checkpoint */
	buf_reset(&in->wbuf);
	if (ckpt_table_encode(&in->ckpt, &in->wbuf) < 0)
		return error_set(in->err, -ENOMEM, "out of memory");
	layers_put_checkpoints(in->batch, in->lid, in->wbuf.data, in->wbuf.len);
	return 0;
}

/* Sets up what both kinds of ingest share; the lid is allocated. */
static int ingest_setup(struct ingest *in, struct store *st, struct strata_error *err)
{
	in->st = st;
	in->lim = &st->conf->limits;
	in->err = err;
	buf_init(&in->chunk, 0);
	buf_init(&in->chunklist, 0);
	buf_init(&in->key, 0);
	buf_init(&in->val, 0);
	buf_init(&in->path, 0);
	buf_init(&in->xattrs, 0);
	buf_init(&in->hardlinks, 0);
	buf_init(&in->wbuf, 0);
	chunker_init(&in->chunker, CHUNK_MIN, CHUNK_AVG, CHUNK_MAX);
	in->rbuf = malloc(READ_BUF);
	in->diff = sha256_new();
	in->fh = filehash_new();
	in->queue = chunkqueue_new(st->sd, 8, CHUNK_MAX);
	in->batch = index_batch_new();
	if (!in->rbuf || !in->diff || !in->fh || !in->queue || !in->batch)
		return error_set(err, -ENOMEM, "out of memory");
	return storedir_alloc_lid(st->sd, &in->lid, err);
}

/* Links, checkpoints and the layer record, in the layer's last, durable
 * commit; on failure, drops what the layer wrote. */
static int ingest_finish(struct ingest *in, int r, const struct descriptor *blob,
			 const char *diff_id, const char *state)
{
	if (r == 0)
		r = count_links(in);
	if (r == 0)
		r = put_checkpoints(in);
	if (r == 0)
		r = flush_batch(in, 1);
	if (r == 0) {
		snprintf(in->rec.diff_id, sizeof(in->rec.diff_id), "%s", diff_id);
		if (blob) {
			snprintf(in->rec.blob_digest, sizeof(in->rec.blob_digest), "%s", blob->digest);
			snprintf(in->rec.media_type, sizeof(in->rec.media_type), "%s",
				 blob->media_type ? blob->media_type : "");
			in->rec.compressed_size = (uint64_t)blob->size;
		}
		in->rec.lid = in->lid;
		in->rec.size = in->usize;
		in->rec.created = in->rec.last_used = now_unix();
		snprintf(in->rec.state, sizeof(in->rec.state), "%s", state);
		if ((r = layers_put(in->batch, &in->rec)) < 0)
			error_set(in->err, r, "out of memory");
		else
			r = storedir_commit(in->st->sd, in->batch, 1, in->err);
	}
	if (r < 0 && in->lid) {
		struct strata_error ignored = STRATA_ERROR_INIT;
		layers_drop(in->st->sd, in->lid, 0, NULL, &ignored);
	}
	return r;
}

static void ingest_release(struct ingest *in)
{
	decompress_free(in->dec);
	free(in->rbuf);
	sha256_free(in->diff);
	filehash_free(in->fh);
	chunkqueue_free(in->queue);
	index_batch_free(in->batch);
	buf_release(&in->chunk);
	buf_release(&in->chunklist);
	buf_release(&in->key);
	buf_release(&in->val);
	buf_release(&in->path);
	buf_release(&in->xattrs);
	buf_release(&in->hardlinks);
	buf_release(&in->wbuf);
	ckpt_table_release(&in->ckpt);
	hashset_release(&in->paths);
	hashset_release(&in->dirs);
	hashset_release(&in->chunks);
}

int ingest_stream(struct store *st, ssize_t (*read)(void *ctx, void *buf, size_t len), void *rctx,
		  const struct descriptor *blob, const char *diff_id, ingest_progress_fn progress,
		  void *pctx, struct layer_record *out, struct strata_error *err)
{
	struct ingest in = { 0 };
	uint8_t got[SHA256_LEN];
	char got_str[DIGEST_STR_MAX];
	int r;

	in.read = read;
	in.rctx = rctx;
	if ((r = ingest_setup(&in, st, err)) < 0)
		goto done;
	if ((r = decompress_new(COMP_AUTO, read, rctx, &in.dec)) < 0) {
		error_set(err, r, "cannot start decompression");
		goto done;
	}
	decompress_set_checkpoints(in.dec, st->conf->checkpoint_interval, keep_checkpoint, &in);
	if (st->observer && (in.obs_layer = st->observer->layer_begin(st->observer->ctx, st)))
		in.obs = st->observer;

	r = run_tar(&in);
	if (r == 0) {
		sha256_final(in.diff, got);
		digest_format(got, got_str);
		if (diff_id && strcmp(diff_id, got_str))
			r = error_set(err, -EBADMSG, "diff_id mismatch: the image config says %s, the content is %s",
				      diff_id, got_str);
	}
	if (r == 0) {
		struct chunkqueue_stats qs;
		r = chunkqueue_finish(in.queue, &qs, err);
		in.rec.new_chunks = qs.new_chunks;
		in.rec.stored_bytes = qs.stored_bytes;
		in.rec.shared_bytes = in.chunk_bytes - qs.new_bytes;
		in.rec.content_bytes = in.chunk_bytes;
	}
	if (r == 0) {
		in.ckpt.kind = decompress_kind(in.dec);
		in.ckpt.csize = decompress_consumed(in.dec);
	}
	r = ingest_finish(&in, r, blob, r == 0 ? got_str : "", "complete");
	if (r == 0 && out)
		*out = in.rec;
	(void)progress;
	(void)pctx;
done:
	if (in.obs)
		in.obs->layer_end(in.obs_layer, r == 0 ? got_str : NULL);
	ingest_release(&in);
	return r;
}

/* --- eStargz: a layer built from its TOC ------------------------------------- */

/* The entry's chunks are the eStargz chunks, stored nowhere yet: each is
 * referenced at its place in the layer's virtual stream (its chunks end to
 * end), whose checkpoints are the chunks' gzip members. */
static int toc_file_data(struct ingest *in, struct entry *e)
{
	const struct estargz_entry *te = in->toc_entry;
	buf_reset(&in->chunklist);
	in->nchunks = 0;
	for (size_t i = 0; i < te->nchunks; i++) {
		const struct estargz_chunk *c = &te->chunks[i];
		/* The member starts with the chunk, or with the TOC's tar header. */
		struct ckpt_entry cp = { .uoff = in->usize - (in->toc_header ? 512 : 0),
					 .cbit = c->blob_off * 8, .member = 1 };
		uint64_t h;
		memcpy(&h, c->digest, sizeof(h));
		int fresh = hashset_add(&in->chunks, h);
		if (fresh < 0 || ckpt_table_add(&in->ckpt, &cp) < 0)
			return error_set(in->err, -ENOMEM, "out of memory");
		if (fresh) {
			in->located = 1;
			in->data_off = in->usize;
			in->chunk_off = 0;
			buf_reset(&in->chunk);
			add_refs(in, c->digest, (uint32_t)c->size);
		}
		uint8_t len[4];
		be32_put(len, (uint32_t)c->size);
		if (buf_add(&in->chunklist, c->digest, SHA256_LEN) < 0 || buf_add(&in->chunklist, len, 4) < 0)
			return error_set(in->err, -ENOMEM, "out of memory");
		in->nchunks++;
		in->rec.chunks++;
		in->chunk_bytes += c->size;
		in->usize += c->size;
	}
	if (te->has_digest)
		memcpy(e->sha256, te->digest, SHA256_LEN);
	e->size = te->size;
	e->nchunks = in->nchunks;
	e->chunks = (const uint8_t *)in->chunklist.data;
	return 0;
}

static const mode_t toc_filetypes[] = {
	[ESTARGZ_DIR] = AE_IFDIR, [ESTARGZ_REG] = AE_IFREG, [ESTARGZ_SYMLINK] = AE_IFLNK,
	[ESTARGZ_HARDLINK] = AE_IFREG, [ESTARGZ_CHAR] = AE_IFCHR, [ESTARGZ_BLOCK] = AE_IFBLK,
	[ESTARGZ_FIFO] = AE_IFIFO,
};

/* One TOC entry as the tar reader would have given it. */
static int toc_entry(struct ingest *in, const struct estargz_entry *te)
{
	struct archive_entry *ae = archive_entry_new();
	size_t pos = 0;
	char name[256];
	const uint8_t *value;
	size_t vlen;
	int r;

	if (!ae)
		return error_set(in->err, -ENOMEM, "out of memory");
	archive_entry_set_pathname(ae, te->name);
	archive_entry_set_filetype(ae, toc_filetypes[te->type]);
	archive_entry_set_perm(ae, te->mode);
	archive_entry_set_uid(ae, te->uid);
	archive_entry_set_gid(ae, te->gid);
	archive_entry_set_mtime(ae, te->mtime, 0);
	archive_entry_set_size(ae, (la_int64_t)te->size);
	if (te->type == ESTARGZ_SYMLINK)
		archive_entry_set_symlink(ae, te->link);
	if (te->type == ESTARGZ_HARDLINK)
		archive_entry_set_hardlink(ae, te->link);
	if (te->type == ESTARGZ_CHAR || te->type == ESTARGZ_BLOCK) {
		archive_entry_set_rdevmajor(ae, te->dev_major);
		archive_entry_set_rdevminor(ae, te->dev_minor);
	}
	while ((r = entry_xattr_next((const uint8_t *)te->xattrs.data, te->xattrs.len, &pos, name,
				     sizeof(name), &value, &vlen)) == 1)
		archive_entry_xattr_add_entry(ae, name, value, vlen);
	in->toc_entry = te;
	r = ingest_entry(NULL, ae, in);
	in->toc_entry = NULL;
	archive_entry_free(ae);
	return r;
}

/* The files before the prefetch landmark (what the image's maker marked
 * as read first) are fetched at once, in one Range request, each chunk
 * verified against its chunkDigest before it is stored. */
static int prefetch_landmarked(struct ingest *in, struct source *src, const struct descriptor *blob,
			       const struct estargz_toc *toc)
{
	const struct estargz_entry *mark = &toc->e[toc->prefetch_end - 1];
	uint64_t from = UINT64_MAX, to = mark->nchunks ? mark->chunks[0].blob_off : 0;
	struct buf c = BUF_INIT, u = BUF_INIT;
	struct chunk_writer *w = NULL;
	int r = 0;

	for (size_t i = 0; i + 1 < toc->prefetch_end; i++)
		if (toc->e[i].nchunks && toc->e[i].chunks[0].blob_off < from)
			from = toc->e[i].chunks[0].blob_off;
	if (from == UINT64_MAX || to <= from)
		return 0;
	if (to - from > PREFETCH_MAX) {
		log_info("eStargz layer %s: prefetch section of %llu bytes left to reads", blob->digest,
			 (unsigned long long)(to - from));
		return 0;
	}
	if (!(w = chunk_writer_new(in->st->cs)))
		return error_set(in->err, -ENOMEM, "out of memory");
	if ((r = source_fetch_range(src, blob, from, to - from, &c, in->err)) < 0)
		goto out;
	in->toc_fetched += c.len;
	for (size_t i = 0; i + 1 < toc->prefetch_end && r == 0; i++) {
		for (size_t k = 0; k < toc->e[i].nchunks && r == 0; k++) {
			const struct estargz_chunk *ch = &toc->e[i].chunks[k];
			struct span_start sp = { .kind = COMP_GZIP, .member = 1, .cbit = ch->blob_off * 8 };
			uint8_t sum[SHA256_LEN];
			if (ch->blob_off < from || ch->blob_off >= to)
				continue;
			buf_reset(&u);
			if (buf_grow(&u, ch->size) < 0) {
				r = error_set(in->err, -ENOMEM, "out of memory");
				break;
			}
			r = span_decode(&sp, (const uint8_t *)c.data + (ch->blob_off - from),
					c.len - (ch->blob_off - from), 0, (uint8_t *)u.data, ch->size, in->err);
			if (r == 0) {
				sha256_once(u.data, ch->size, sum);
				if (memcmp(sum, ch->digest, SHA256_LEN))
					r = error_set(in->err, -EBADMSG, "eStargz chunk of '%s' does not match its chunkDigest",
						      toc->e[i].name);
			}
			/* Chunks of 4 MiB do not fit the queue's slots: stored here. */
			uint64_t stored = 0;
			if (r == 0)
				r = chunk_writer_put(w, in->batch, ch->digest, u.data, ch->size, &stored, in->err);
			if (r == 0 && stored) {
				in->rec.new_chunks++;
				in->rec.stored_bytes += stored;
			}
		}
	}
out:
	chunk_writer_free(w);
	buf_release(&c);
	buf_release(&u);
	return r;
}

int ingest_estargz(struct store *st, struct source *src, const struct descriptor *blob,
		   const char *diff_id, struct layer_record *out, struct strata_error *err)
{
	struct ingest in = { 0 };
	struct estargz_toc toc = { 0 };
	struct buf tail = BUF_INIT;
	uint64_t size = blob->size > 0 ? (uint64_t)blob->size : 0;
	int r;

	if (size < ESTARGZ_FOOTER + 20)
		return error_set(err, -EINVAL, "not an eStargz layer: blob '%s' is too small", blob->digest);
	if ((r = source_fetch_range(src, blob, size - ESTARGZ_FOOTER, ESTARGZ_FOOTER, &tail, err)) < 0 ||
	    (r = estargz_footer((const uint8_t *)tail.data, tail.len, &toc.toc_off, err)) < 0)
		goto out;
	if (toc.toc_off >= size - ESTARGZ_FOOTER || size - ESTARGZ_FOOTER - toc.toc_off > ESTARGZ_TOC_MAX) {
		r = error_set(err, -EBADMSG, "eStargz footer of blob '%s' points outside it", blob->digest);
		goto out;
	}
	if ((r = source_fetch_range(src, blob, toc.toc_off, size - ESTARGZ_FOOTER - toc.toc_off, &tail, err)) < 0 ||
	    (r = estargz_parse_toc((const uint8_t *)tail.data, tail.len, blob->toc_digest, &toc, err)) < 0)
		goto out;
	in.toc_fetched = tail.len + ESTARGZ_FOOTER;
	if ((r = ingest_setup(&in, st, err)) < 0)
		goto out;
	for (size_t i = 0; i < toc.n && r == 0; i++)
		r = toc_entry(&in, &toc.e[i]);
	if (r == 0 && toc.json_len) {
		/* The TOC is a file of the layer too, as a full ingest (or any
		 * tar reader) sees it: the one chunk of its own gzip member,
		 * after the tar header. */
		struct estargz_chunk c = { .blob_off = toc.toc_off, .size = toc.json_len };
		struct estargz_entry te = { .name = (char *)"stargz.index.json", .type = ESTARGZ_REG,
					    .size = toc.json_len, .has_digest = 1, .chunks = &c,
					    .nchunks = 1 };
		memcpy(c.digest, toc.digest, SHA256_LEN);
		memcpy(te.digest, toc.digest, SHA256_LEN);
		buf_init(&te.xattrs, 0);
		in.usize += 512;
		in.toc_header = 1;
		r = toc_entry(&in, &te);
	}
	if (r == 0 && toc.prefetch_end)
		r = prefetch_landmarked(&in, src, blob, &toc);
	if (r == 0) {
		in.rec.content_bytes = in.chunk_bytes;
		in.ckpt.kind = COMP_GZIP;
		in.ckpt.csize = size;
		if (in.ckpt.n == 0) {
			struct ckpt_entry cp = { .member = 1 };
			if (ckpt_table_add(&in.ckpt, &cp) < 0)
				r = error_set(err, -ENOMEM, "out of memory");
		}
	}
	/* Not verified until the whole layer is read: a full pull checks it. */
	r = ingest_finish(&in, r, blob, diff_id, "mapped");
	if (r == 0 && out)
		*out = in.rec;
	ingest_release(&in);
out:
	estargz_toc_release(&toc);
	buf_release(&tail);
	return r;
}

/* The fetcher thread: source -> pipe. */
struct fetch {
	struct source *src;
	const struct descriptor *blob;
	struct pipebuf *pipe;
	struct strata_error err;
	ingest_progress_fn progress;
	void *pctx;
	uint64_t bytes;
};

static int fetch_write(void *ctx, const void *data, size_t len)
{
	struct fetch *f = ctx;
	f->bytes += len;
	if (f->progress)
		f->progress(f->pctx, f->bytes);
	return pipebuf_write(f->pipe, data, len);
}

static void *fetch_main(void *arg)
{
	struct fetch *f = arg;
	int r = source_stream_blob(f->src, f->blob, fetch_write, f, &f->err);
	pipebuf_close_write(f->pipe, r);
	return NULL;
}

struct pipe_reader {
	struct pipebuf *pipe;
	struct fetch *fetch;
	struct strata_error *err;
};

static ssize_t pipe_read(void *ctx, void *buf, size_t len)
{
	struct pipe_reader *pr = ctx;
	ssize_t n = pipebuf_read(pr->pipe, buf, len);
	/* The fetcher's own message says why (digest mismatch, registry error). */
	if (n < 0 && n != -ECANCELED)
		error_set(pr->err, (int)n, "%s", pr->fetch->err.msg[0] ? pr->fetch->err.msg : strerror((int)-n));
	return n;
}

int ingest_layer(struct store *st, struct source *src, const struct descriptor *blob,
		 const char *diff_id, ingest_progress_fn progress, void *pctx,
		 struct layer_record *out, struct strata_error *err)
{
	struct fetch f = { .src = src, .blob = blob, .progress = progress, .pctx = pctx };
	struct pipe_reader pr = { .fetch = &f, .err = err };
	pthread_t tid;
	int r;

	f.pipe = pr.pipe = pipebuf_new(PIPE_BUF_BYTES);
	if (!f.pipe)
		return error_set(err, -ENOMEM, "out of memory");
	if ((r = pthread_create(&tid, NULL, fetch_main, &f)) != 0) {
		pipebuf_free(f.pipe);
		return error_set(err, -r, "cannot start a download thread");
	}
	r = ingest_stream(st, pipe_read, &pr, blob, diff_id, NULL, NULL, out, err);
	if (r < 0 && f.err.code == 0) {
		/* Let the fetch finish, so that a blob that is not what its digest
		 * says is reported as that rather than as what it broke downstream. */
		char *sink = malloc(64 << 10);
		uint64_t drained = 0;
		ssize_t n;
		while (sink && drained < DRAIN_MAX && (n = pipebuf_read(f.pipe, sink, 64 << 10)) > 0)
			drained += (uint64_t)n;
		free(sink);
	}
	pipebuf_close_read(f.pipe);
	pthread_join(tid, NULL);
	if (f.err.code == -EBADMSG && strstr(f.err.msg, "digest mismatch")) {
		error_clear(err);
		r = error_set(err, f.err.code, "%s", f.err.msg);
	} else if (r == 0 && f.err.code < 0) {
		r = error_set(err, f.err.code, "%s", f.err.msg);
	}
	pipebuf_free(f.pipe);
	return r;
}
