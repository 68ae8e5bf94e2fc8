/* source-oci: images from an OCI image layout directory (oci:DIR[:TAG]).
 * Every file is opened beneath DIR (openat2 RESOLVE_BENEATH where the kernel
 * has it) and blob names come from validated digests, so nothing outside the
 * layout is ever read. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <jansson.h>
#include <linux/openat2.h>

#include "src/base/digest.h"
#include "src/base/log.h"
#include "source-impl.h"

#define OCI_REF_NAME "org.opencontainers.image.ref.name"
#define CHUNK (1u << 20)

struct oci_source {
	struct source base;
	int dirfd;
};

static int open_raw(int dirfd, const char *rel, int flags)
{
#ifdef SYS_openat2
	struct open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC),
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
	};
	int fd = (int)syscall(SYS_openat2, dirfd, rel, &how, sizeof(how));
	if (fd >= 0)
		return fd;
	if (errno != ENOSYS && errno != EPERM)
		return -errno;
#endif
	/* Older kernels: the names we build hold no "..", and symlinks in a
	 * layout are not expected; refuse them rather than follow. */
	int fd2 = openat(dirfd, rel, flags | O_CLOEXEC | O_NOFOLLOW);
	return fd2 >= 0 ? fd2 : -errno;
}

/* A regular file beneath the layout, opened with the rights of whoever
 * asked for the pull (conf->source_open_beneath) or ours. Non-blocking
 * open: a FIFO planted in a layout must not hold the pull for ever. */
static int open_beneath(struct oci_source *s, const char *rel)
{
	const struct strata_conf *c = s->base.conf;
	int flags = O_RDONLY | O_NONBLOCK;
	int fd = c->source_open_beneath ? c->source_open_beneath(c->source_open_ctx, s->dirfd, rel, flags)
					: open_raw(s->dirfd, rel, flags);
	if (fd < 0)
		return fd;
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -EBADFD;
	}
	int fl = fcntl(fd, F_GETFL);
	if (fl >= 0)
		fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	return fd;
}

static int read_fd(int fd, size_t max, struct buf *out)
{
	char tmp[65536];
	for (;;) {
		ssize_t k = read(fd, tmp, sizeof(tmp));
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (k == 0)
			return 0;
		if (out->len + (size_t)k > max)
			return -EFBIG;
		int r = buf_add(out, tmp, (size_t)k);
		if (r < 0)
			return r;
	}
}

/* Reads a small file of the layout (oci-layout, index.json). */
static int read_small(struct oci_source *s, const char *rel, struct buf *out,
		      struct strata_error *err)
{
	const char *dir = s->base.ref.file;
	int fd = open_beneath(s, rel);
	if (fd < 0) {
		if (fd == -ENOENT)
			return error_set(err, fd, "oci layout '%s': missing %s file", dir, rel);
		if (fd == -EBADFD)
			return error_set(err, -EINVAL, "oci layout '%s': %s is not a regular file", dir, rel);
		if (fd == -EXDEV || fd == -ELOOP)
			return error_set(err, -EPERM, "oci layout '%s': %s leads outside the layout", dir, rel);
		return error_errno(err, fd, "oci layout '%s': cannot open %s", dir, rel);
	}
	buf_reset(out);
	int r = read_fd(fd, s->base.conf->limits.max_manifest, out);
	close(fd);
	if (r == -EFBIG)
		return error_set(err, r, "oci layout '%s': %s is larger than %llu bytes", dir, rel,
				 (unsigned long long)s->base.conf->limits.max_manifest);
	if (r < 0)
		return error_errno(err, r, "oci layout '%s': cannot read %s", dir, rel);
	return 0;
}

static int blob_open(struct oci_source *s, const char *digest, struct strata_error *err)
{
	char rel[128];
	if (!digest_valid(digest))
		return error_set(err, -EINVAL, "blob '%.80s': invalid digest", digest);
	snprintf(rel, sizeof(rel), "blobs/sha256/%s", digest + 7);
	int fd = open_beneath(s, rel);
	if (fd == -ENOENT)
		return error_set(err, fd, "blob '%s' is missing from layout '%s'", digest, s->base.ref.file);
	if (fd == -EBADFD)
		return error_set(err, -EINVAL, "blob '%s' in layout '%s' is not a regular file", digest,
				 s->base.ref.file);
	if (fd == -EXDEV || fd == -ELOOP)
		return error_set(err, -EPERM, "blob '%s' in layout '%s' leads outside the layout", digest,
				 s->base.ref.file);
	if (fd < 0)
		return error_errno(err, fd, "blob '%s' in layout '%s'", digest, s->base.ref.file);
	return fd;
}

static int check_digest(const char *want, const uint8_t got[SHA256_LEN], struct strata_error *err)
{
	char hex[DIGEST_STR_MAX];
	digest_format(got, hex);
	if (strcmp(hex, want))
		return error_set(err, -EBADMSG, "blob '%s': digest mismatch (got %s)", want, hex);
	return 0;
}

/* Reads a whole blob (<= max bytes), verified against digest and, when
 * size >= 0, against the size. */
static int read_blob(struct oci_source *s, const char *digest, int64_t size, size_t max,
		     struct buf *body, struct strata_error *err)
{
	uint8_t got[SHA256_LEN];
	int fd, r;

	if (size > 0 && (uint64_t)size > max)
		return error_set(err, -EFBIG, "blob '%s' is too large (%lld bytes, limit %zu)", digest,
				 (long long)size, max);
	fd = blob_open(s, digest, err);
	if (fd < 0)
		return fd;
	buf_reset(body);
	r = read_fd(fd, max, body);
	close(fd);
	if (r == -EFBIG)
		return error_set(err, r, "blob '%s' is larger than %zu bytes", digest, max);
	if (r < 0)
		return error_errno(err, r, "blob '%s': read", digest);
	if (size >= 0 && body->len != (size_t)size)
		return error_set(err, -EBADMSG, "blob '%s': size mismatch (got %zu bytes, want %lld)",
				 digest, body->len, (long long)size);
	sha256_once(body->data, body->len, got);
	return check_digest(digest, got, err);
}

static void add_tag_list(struct buf *b, json_t *manifests)
{
	size_t i;
	json_t *m;
	json_array_foreach(manifests, i, m) {
		const char *name = json_string_value(json_object_get(json_object_get(m, "annotations"),
								     OCI_REF_NAME));
		if (!name)
			continue;
		buf_adds(b, b->len ? ", " : "");
		buf_adds(b, name);
	}
}

/* Picks the index.json entry for tag (NULL: the only one) or digest. */
static int select_entry(struct oci_source *s, json_t *manifests, const char *tag,
			const char *digest, json_t **out, struct strata_error *err)
{
	const char *dir = s->base.ref.file;
	size_t i, n = json_array_size(manifests);
	json_t *m;
	int r;

	*out = NULL;
	json_array_foreach(manifests, i, m) {
		if (digest) {
			const char *d = json_string_value(json_object_get(m, "digest"));
			if (d && !strcmp(d, digest)) {
				*out = m;
				return 0;
			}
			continue;
		}
		const char *name = json_string_value(json_object_get(json_object_get(m, "annotations"),
								     OCI_REF_NAME));
		if (tag && name && !strcmp(name, tag)) {
			*out = m;
			return 0;
		}
	}
	if (digest)
		return 0; /* not listed: it may be a child of a nested index */
	if (!tag && n == 1) {
		*out = json_array_get(manifests, 0);
		return 0;
	}
	if (n == 0)
		return error_set(err, -ENOENT, "oci layout '%s': holds no images", dir);

	struct buf tags = BUF_INIT;
	add_tag_list(&tags, manifests);
	if (tag)
		r = error_set(err, -ENOENT, "oci layout '%s': no image tagged '%s' (tags: %s)", dir, tag,
			      tags.len ? tags.data : "none");
	else
		r = error_set(err, -ENOENT, "oci layout '%s': holds %zu images, name one with oci:DIR:TAG (tags: %s)",
			      dir, n, tags.len ? tags.data : "none");
	buf_release(&tags);
	return r;
}

static int oci_fetch_manifest(struct source *src, const char *reference, struct buf *body,
			      char **media_type, struct strata_error *err)
{
	struct oci_source *s = (struct oci_source *)src;
	const char *dir = src->ref.file;
	struct buf index = BUF_INIT;
	json_t *doc = NULL, *manifests, *entry = NULL;
	json_error_t jerr;
	const char *digest = NULL, *mt = NULL;
	int64_t size = -1;
	int r;

	*media_type = NULL;
	if (!reference)
		reference = ref_reference(&src->ref);
	int is_digest = reference && strchr(reference, ':');
	if (is_digest && !digest_valid(reference))
		return error_set(err, -EINVAL, "oci layout '%s': invalid digest '%s'", dir, reference);

	r = read_small(s, "index.json", &index, err);
	if (r < 0)
		goto out;
	doc = json_loadb(index.data, index.len, 0, &jerr);
	if (!doc) {
		r = error_set(err, -EBADMSG, "oci layout '%s': index.json is not JSON: %s", dir, jerr.text);
		goto out;
	}
	manifests = json_object_get(doc, "manifests");
	if (!json_is_array(manifests)) {
		r = error_set(err, -EBADMSG, "oci layout '%s': index.json has no 'manifests' array", dir);
		goto out;
	}
	r = select_entry(s, manifests, is_digest ? NULL : reference, is_digest ? reference : NULL,
			 &entry, err);
	if (r < 0)
		goto out;

	if (entry) {
		json_t *sz = json_object_get(entry, "size");
		digest = json_string_value(json_object_get(entry, "digest"));
		mt = json_string_value(json_object_get(entry, "mediaType"));
		if (!digest || !digest_valid(digest)) {
			r = error_set(err, -EBADMSG, "oci layout '%s': index.json entry has an invalid digest", dir);
			goto out;
		}
		if (!json_is_integer(sz) || json_integer_value(sz) < 0) {
			r = error_set(err, -EBADMSG, "oci layout '%s': index.json entry '%s' has an invalid size",
				      dir, digest);
			goto out;
		}
		size = (int64_t)json_integer_value(sz);
	} else {
		digest = reference;
	}
	r = read_blob(s, digest, size, src->conf->limits.max_manifest, body, err);
	if (r < 0) {
		error_prefix(err, "manifest: ");
		goto out;
	}
	if (mt) {
		*media_type = strdup(mt);
		if (!*media_type)
			r = error_set(err, -ENOMEM, "out of memory");
	}
out:
	json_decref(doc);
	buf_release(&index);
	return r;
}

static int oci_fetch_blob(struct source *src, const struct descriptor *d, size_t max,
			  struct buf *body, struct strata_error *err)
{
	return read_blob((struct oci_source *)src, d->digest, d->size, max, body, err);
}

static int oci_stream_blob(struct source *src, const struct descriptor *d, blob_write_fn write,
			   void *ctx, struct strata_error *err)
{
	struct oci_source *s = (struct oci_source *)src;
	struct blob_check bc;
	char *chunk = NULL;
	int fd, r;

	fd = blob_open(s, d->digest, err);
	if (fd < 0)
		return fd;
	r = blob_check_init(&bc, d, write, ctx, err);
	chunk = malloc(CHUNK);
	if (r == 0 && !chunk)
		r = error_set(err, -ENOMEM, "blob '%s': out of memory", d->digest);
	while (r == 0) {
		/* Never hand write() more than the descriptor promises: read one
		 * byte past the end only to detect an oversized file. */
		uint64_t left = (uint64_t)d->size - bc.total;
		size_t want = left == 0 ? 1 : left < CHUNK ? (size_t)left : CHUNK;
		ssize_t k = read(fd, chunk, want);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			r = error_errno(err, -errno, "blob '%s': read", d->digest);
		else if (k == 0)
			break;
		else
			r = blob_check_feed(&bc, chunk, (size_t)k, err);
	}
	if (r == 0)
		r = blob_check_finish(&bc, err);
	free(chunk);
	blob_check_release(&bc);
	close(fd);
	return r;
}

static void oci_free(struct source *src)
{
	struct oci_source *s = (struct oci_source *)src;
	if (s->dirfd >= 0)
		close(s->dirfd);
	ref_release(&src->ref);
	free(s);
}

static const struct source_ops oci_ops = {
	.name = "oci",
	.fetch_manifest = oci_fetch_manifest,
	.fetch_blob = oci_fetch_blob,
	.stream_blob = oci_stream_blob,
	.free = oci_free,
};

int source_oci_open(struct source **out, const struct image_ref *ref,
		    const struct strata_conf *conf, struct strata_error *err)
{
	struct oci_source *s;
	struct buf layout = BUF_INIT;
	json_t *doc = NULL;
	json_error_t jerr;
	int r;

	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return error_set(err, -ENOMEM, "out of memory");
	s->dirfd = -1;
	s->base.ops = &oci_ops;
	s->base.conf = conf;
	r = ref_copy(&s->base.ref, ref);
	if (r < 0) {
		error_set(err, r, "out of memory");
		goto fail;
	}
	/* The directory the caller opened and handed over, or the path. */
	if (conf->source_fd >= 0)
		s->dirfd = fcntl(conf->source_fd, F_DUPFD_CLOEXEC, 3);
	else
		s->dirfd = open(ref->file, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (s->dirfd < 0) {
		r = error_errno(err, -errno, "oci layout '%s'", ref->file);
		goto fail;
	}
	r = read_small(s, "oci-layout", &layout, err);
	if (r < 0)
		goto fail;
	doc = json_loadb(layout.data, layout.len, 0, &jerr);
	const char *version = json_string_value(json_object_get(doc, "imageLayoutVersion"));
	if (!version) {
		r = error_set(err, -EBADMSG, "oci layout '%s': oci-layout has no imageLayoutVersion", ref->file);
		goto fail;
	}
	if (strncmp(version, "1.", 2)) {
		r = error_set(err, -EPROTONOSUPPORT, "oci layout '%s': unsupported imageLayoutVersion '%.40s'",
			      ref->file, version);
		goto fail;
	}
	json_decref(doc);
	buf_release(&layout);
	*out = &s->base;
	return 0;
fail:
	json_decref(doc);
	buf_release(&layout);
	oci_free(&s->base);
	return r;
}
