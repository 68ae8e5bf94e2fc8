/* source-archive: images from a `docker save` tar (docker-archive:FILE),
 * read with libarchive (any compression it detects). The archive has no
 * registry manifest, so one is synthesized: an OCI image manifest whose
 * layers are the tar's layer files, named by their digests. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <archive.h>
#include <archive_entry.h>
#include <jansson.h>

#include "src/base/digest.h"
#include "src/base/log.h"
#include "source-impl.h"

#define CHUNK (1u << 20)
#define MAX_ENTRIES 100000 /* a docker save holds a few files per layer */
#define MAX_LINKS 16
#define MT_LAYER_TAR "application/vnd.oci.image.layer.v1.tar"

struct tar_entry {
	char *name;     /* normalised: no leading "./" or "/" */
	char *link;     /* symlink target or hard link name, else NULL */
	int symlink;
	int64_t size;
	size_t ordinal; /* position in the archive */
};

struct archive_layer {
	char *digest;
	size_t ordinal; /* of the entry holding the bytes */
	int64_t size;
};

struct archive_source {
	struct source base;
	struct tar_entry *entries;
	size_t n_entries;
	char *config;           /* the config's bytes */
	size_t config_len;
	char config_digest[DIGEST_STR_MAX];
	struct archive_layer *layers;
	size_t n_layers;
	char *manifest;         /* the synthesized manifest */
	size_t manifest_len;
	char manifest_digest[DIGEST_STR_MAX];
};

static void entries_free(struct archive_source *s)
{
	for (size_t i = 0; i < s->n_entries; i++) {
		free(s->entries[i].name);
		free(s->entries[i].link);
	}
	free(s->entries);
	s->entries = NULL;
	s->n_entries = 0;
}

static const char *skip_dot_slash(const char *p)
{
	for (;;) {
		if (p[0] == '.' && p[1] == '/')
			p += 2;
		else if (p[0] == '/')
			p++;
		else
			return p;
	}
}

/* Each pass reads the file anew, with an offset of its own: the file the
 * caller opened and handed over is opened again through /proc (it proved
 * it may read it), else the path. Only a regular file: a FIFO would hold
 * the daemon. */
static int ar_open(struct archive_source *s, struct archive **out, struct strata_error *err)
{
	const char *file = s->base.ref.file;
	char self[64];
	const char *path = file;
	struct stat st;
	*out = NULL;
	if (s->base.conf->source_fd >= 0) {
		snprintf(self, sizeof(self), "/proc/self/fd/%d", s->base.conf->source_fd);
		path = self;
	}
	if (stat(path, &st) < 0)
		return error_errno(err, -errno, "docker-archive '%s'", file);
	if (!S_ISREG(st.st_mode))
		return error_set(err, -EINVAL, "docker-archive '%s' is not a regular file", file);
	struct archive *a = archive_read_new();
	if (!a)
		return error_set(err, -ENOMEM, "out of memory");
	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	if (archive_read_open_filename(a, path, CHUNK) != ARCHIVE_OK) {
		int e = archive_errno(a), r;
		const char *msg = archive_error_string(a);
		/* libarchive reads the first block on open: format errors show here */
		if (e == ENOENT || e == EACCES || e == EISDIR || e == ENOTDIR || e == EPERM || e == EIO)
			r = error_errno(err, -e, "docker-archive '%s'", file);
		else
			r = error_set(err, -EBADMSG, "docker-archive '%s': not a readable tar archive: %s",
				      file, msg ? msg : "unknown error");
		archive_read_free(a);
		return r;
	}
	*out = a;
	return 0;
}

static int ar_fail(struct archive_source *s, struct archive *a, struct strata_error *err)
{
	const char *msg = archive_error_string(a);
	return error_set(err, -EBADMSG, "docker-archive '%s': not a readable tar archive: %s",
			 s->base.ref.file, msg ? msg : "unknown error");
}

/* Pass 1: the table of entries, and manifest.json's bytes. */
static int scan_entries(struct archive_source *s, struct buf *manifest_json,
			struct strata_error *err)
{
	struct archive *a;
	struct archive_entry *e;
	size_t alloc = 0;
	int r, ar;

	r = ar_open(s, &a, err);
	if (r < 0)
		return r;
	while ((ar = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		const char *name = archive_entry_pathname(e);
		if (!name)
			continue;
		name = skip_dot_slash(name);
		if (s->n_entries == MAX_ENTRIES) {
			r = error_set(err, -EFBIG, "docker-archive '%s': more than %d entries",
				      s->base.ref.file, MAX_ENTRIES);
			goto out;
		}
		if (s->n_entries == alloc) {
			size_t na = alloc ? alloc * 2 : 64;
			struct tar_entry *ne = realloc(s->entries, na * sizeof(*ne));
			if (!ne) {
				r = error_set(err, -ENOMEM, "out of memory");
				goto out;
			}
			s->entries = ne;
			alloc = na;
		}
		struct tar_entry *t = &s->entries[s->n_entries];
		memset(t, 0, sizeof(*t));
		t->ordinal = s->n_entries;
		t->size = archive_entry_size(e);
		t->name = strdup(name);
		const char *hl = archive_entry_hardlink(e);
		if (hl) {
			t->link = strdup(skip_dot_slash(hl));
		} else if (archive_entry_filetype(e) == AE_IFLNK) {
			t->symlink = 1;
			t->link = strdup(archive_entry_symlink(e) ? archive_entry_symlink(e) : "");
		}
		s->n_entries++;
		if (!t->name || ((hl || t->symlink) && !t->link)) {
			r = error_set(err, -ENOMEM, "out of memory");
			goto out;
		}
		if (!strcmp(name, "manifest.json")) {
			uint64_t max = s->base.conf->limits.max_manifest;
			if (t->size < 0 || (uint64_t)t->size > max) {
				r = error_set(err, -EFBIG, "docker-archive '%s': manifest.json is larger than %llu bytes",
					      s->base.ref.file, (unsigned long long)max);
				goto out;
			}
			buf_reset(manifest_json);
			char tmp[16384];
			la_ssize_t k;
			while ((k = archive_read_data(a, tmp, sizeof(tmp))) > 0) {
				if (manifest_json->len + (size_t)k > max) {
					r = error_set(err, -EFBIG, "docker-archive '%s': manifest.json is too large",
						      s->base.ref.file);
					goto out;
				}
				if ((r = buf_add(manifest_json, tmp, (size_t)k)) < 0) {
					error_set(err, r, "out of memory");
					goto out;
				}
			}
			if (k < 0) {
				r = ar_fail(s, a, err);
				goto out;
			}
		}
	}
	if (ar != ARCHIVE_EOF) {
		r = ar_fail(s, a, err);
		goto out;
	}
	r = 0;
out:
	archive_read_free(a);
	return r;
}

/* Joins a link target to its directory and removes "." and ".." without
 * ever climbing above the archive's root. */
static char *resolve_path(const char *base_dir, size_t base_len, const char *target)
{
	size_t cap = base_len + strlen(target) + 2, n = 0;
	char *out = malloc(cap), *comb = malloc(cap);
	if (!out || !comb) {
		free(out);
		free(comb);
		return NULL;
	}
	if (target[0] == '/')
		snprintf(comb, cap, "%s", target);
	else
		snprintf(comb, cap, "%.*s/%s", (int)base_len, base_dir, target);
	out[0] = '\0';
	for (char *save = NULL, *c = strtok_r(comb, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		if (!strcmp(c, "."))
			continue;
		if (!strcmp(c, "..")) {
			char *slash = strrchr(out, '/');
			n = slash ? (size_t)(slash - out) : 0;
			out[n] = '\0';
			continue;
		}
		n += (size_t)snprintf(out + n, cap - n, "%s%s", n ? "/" : "", c);
	}
	free(comb);
	return out;
}

/* The entry that holds path's bytes, through symlinks and hard links
 * inside the archive. The last entry of a name wins, as with tar. */
static int find_entry(struct archive_source *s, const char *path, const struct tar_entry **out,
		      struct strata_error *err)
{
	char *cur = resolve_path("", 0, path);
	*out = NULL;
	for (int hops = 0; cur && hops <= MAX_LINKS; hops++) {
		const struct tar_entry *t = NULL;
		for (size_t i = s->n_entries; i-- > 0;) {
			if (!strcmp(s->entries[i].name, cur)) {
				t = &s->entries[i];
				break;
			}
		}
		if (!t) {
			int r = error_set(err, -ENOENT, "docker-archive '%s': no entry '%s'",
					  s->base.ref.file, cur);
			free(cur);
			return r;
		}
		if (!t->link) {
			free(cur);
			*out = t;
			return 0;
		}
		const char *slash = strrchr(cur, '/');
		char *next = t->symlink ? resolve_path(cur, slash ? (size_t)(slash - cur) : 0, t->link)
					: resolve_path("", 0, t->link);
		free(cur);
		cur = next;
	}
	if (!cur)
		return error_set(err, -ENOMEM, "out of memory");
	free(cur);
	return error_set(err, -ELOOP, "docker-archive '%s': too many links at '%s'", s->base.ref.file, path);
}

/* Scans to the entry with the given ordinal; *a is left positioned on its data. */
static int seek_entry(struct archive_source *s, size_t ordinal, struct archive **out,
		      struct strata_error *err)
{
	struct archive *a;
	struct archive_entry *e;
	size_t i = 0;
	int r, ar;

	r = ar_open(s, &a, err);
	if (r < 0)
		return r;
	while ((ar = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		if (!archive_entry_pathname(e))
			continue;
		if (i++ == ordinal) {
			*out = a;
			return 0;
		}
	}
	r = ar == ARCHIVE_EOF ? error_set(err, -EIO, "docker-archive '%s': changed while reading",
					  s->base.ref.file)
			      : ar_fail(s, a, err);
	archive_read_free(a);
	return r;
}

/* "blobs/sha256/<hex>" -> "sha256:<hex>" (newer docker save), else 0. */
static int blob_path_digest(const char *path, char out[DIGEST_STR_MAX])
{
	path = skip_dot_slash(path);
	if (strncmp(path, "blobs/sha256/", 13))
		return 0;
	snprintf(out, DIGEST_STR_MAX, "sha256:%.70s", path + 13);
	return digest_valid(out);
}

static int read_config(struct archive_source *s, const char *path, struct strata_error *err)
{
	uint64_t max = s->base.conf->limits.max_manifest;
	const struct tar_entry *t;
	struct archive *a = NULL;
	struct buf b = BUF_INIT;
	char tmp[16384], want[DIGEST_STR_MAX];
	uint8_t id[SHA256_LEN];
	la_ssize_t k;
	int r;

	r = find_entry(s, path, &t, err);
	if (r < 0)
		return r;
	if (t->size < 0 || (uint64_t)t->size > max)
		return error_set(err, -EFBIG, "docker-archive '%s': config '%s' is larger than %llu bytes",
				 s->base.ref.file, path, (unsigned long long)max);
	r = seek_entry(s, t->ordinal, &a, err);
	if (r < 0)
		return r;
	while ((k = archive_read_data(a, tmp, sizeof(tmp))) > 0) {
		if (b.len + (size_t)k > max) {
			r = error_set(err, -EFBIG, "docker-archive '%s': config '%s' is too large",
				      s->base.ref.file, path);
			goto out;
		}
		if ((r = buf_add(&b, tmp, (size_t)k)) < 0) {
			error_set(err, r, "out of memory");
			goto out;
		}
	}
	if (k < 0) {
		r = ar_fail(s, a, err);
		goto out;
	}
	sha256_once(b.data, b.len, id);
	digest_format(id, s->config_digest);
	if (blob_path_digest(path, want) && strcmp(want, s->config_digest)) {
		r = error_set(err, -EBADMSG, "blob '%s': digest mismatch (got %s)", want, s->config_digest);
		goto out;
	}
	s->config = buf_detach(&b, &s->config_len);
	r = s->config ? 0 : error_set(err, -ENOMEM, "out of memory");
out:
	buf_release(&b);
	archive_read_free(a);
	return r;
}

/* Newer docker save keeps layers as they were stored, possibly compressed:
 * the first bytes tell. */
static int sniff_layer(struct archive_source *s, size_t ordinal, const char **media_type,
		       struct strata_error *err)
{
	struct archive *a;
	unsigned char m[4] = { 0 };
	int r = seek_entry(s, ordinal, &a, err);
	if (r < 0)
		return r;
	la_ssize_t k = archive_read_data(a, m, sizeof(m));
	if (k < 0)
		r = ar_fail(s, a, err);
	else if (k >= 2 && m[0] == 0x1f && m[1] == 0x8b)
		*media_type = "application/vnd.oci.image.layer.v1.tar+gzip";
	else if (k == 4 && m[0] == 0x28 && m[1] == 0xb5 && m[2] == 0x2f && m[3] == 0xfd)
		*media_type = "application/vnd.oci.image.layer.v1.tar+zstd";
	else
		*media_type = MT_LAYER_TAR;
	archive_read_free(a);
	return r;
}

static int synthesize(struct archive_source *s, json_t *image, struct strata_error *err)
{
	const char *file = s->base.ref.file;
	json_t *layers_in = json_object_get(image, "Layers");
	const char *config_path = json_string_value(json_object_get(image, "Config"));
	struct image_config cfg = { 0 };
	json_t *doc = NULL, *layers_out;
	int r;

	if (!config_path || !json_is_array(layers_in))
		return error_set(err, -EBADMSG, "docker-archive '%s': manifest.json lacks Config or Layers",
				 file);
	r = read_config(s, config_path, err);
	if (r < 0)
		return r;
	r = image_config_parse(s->config, s->config_len, &cfg, err);
	if (r < 0) {
		error_prefix(err, "docker-archive '%s': ", file);
		return r;
	}
	s->n_layers = json_array_size(layers_in);
	if (s->n_layers != cfg.n_diff_ids) {
		r = error_set(err, -EBADMSG, "docker-archive '%s': manifest.json lists %zu layers but the config has %zu diff_ids",
			      file, s->n_layers, cfg.n_diff_ids);
		goto out;
	}
	s->layers = calloc(s->n_layers + 1, sizeof(*s->layers));
	doc = json_pack("{s:i, s:s, s:{s:s, s:s, s:I}, s:[]}", "schemaVersion", 2, "mediaType",
			MT_OCI_MANIFEST, "config", "mediaType", MT_OCI_CONFIG, "digest", s->config_digest,
			"size", (json_int_t)s->config_len, "layers");
	layers_out = json_object_get(doc, "layers");
	if (!s->layers || !doc) {
		r = error_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < s->n_layers; i++) {
		const char *path = json_string_value(json_array_get(layers_in, i));
		const char *mt = MT_LAYER_TAR;
		char digest[DIGEST_STR_MAX];
		if (!path) {
			r = error_set(err, -EBADMSG, "docker-archive '%s': manifest.json Layers[%zu] is not a string",
				      file, i);
			goto out;
		}
		const struct tar_entry *t;
		r = find_entry(s, path, &t, err);
		if (r < 0)
			goto out;
		if (blob_path_digest(path, digest)) {
			r = sniff_layer(s, t->ordinal, &mt, err);
			if (r < 0)
				goto out;
		} else {
			/* legacy layout: layer.tar is the uncompressed layer, so its
			 * digest is the diff_id */
			snprintf(digest, sizeof(digest), "%s", cfg.diff_ids[i]);
		}
		s->layers[i].digest = strdup(digest);
		s->layers[i].ordinal = t->ordinal;
		s->layers[i].size = t->size;
		if (!s->layers[i].digest ||
		    json_array_append_new(layers_out, json_pack("{s:s, s:s, s:I}", "mediaType", mt,
								"digest", digest, "size",
								(json_int_t)t->size)) < 0) {
			r = error_set(err, -ENOMEM, "out of memory");
			goto out;
		}
	}
	s->manifest = json_dumps(doc, JSON_COMPACT);
	if (!s->manifest) {
		r = error_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	s->manifest_len = strlen(s->manifest);
	uint8_t id[SHA256_LEN];
	sha256_once(s->manifest, s->manifest_len, id);
	digest_format(id, s->manifest_digest);
	r = 0;
out:
	json_decref(doc);
	image_config_release(&cfg);
	return r;
}

static int archive_fetch_manifest(struct source *src, const char *reference, struct buf *body,
				  char **media_type, struct strata_error *err)
{
	struct archive_source *s = (struct archive_source *)src;
	int r;

	*media_type = NULL;
	if (reference && strchr(reference, ':') && strcmp(reference, s->manifest_digest))
		return error_set(err, -ENOENT, "docker-archive '%s': no manifest '%s'", src->ref.file,
				 reference);
	buf_reset(body);
	r = buf_add(body, s->manifest, s->manifest_len);
	if (r < 0)
		return error_set(err, r, "docker-archive '%s': manifest does not fit", src->ref.file);
	*media_type = strdup(MT_OCI_MANIFEST);
	return *media_type ? 0 : error_set(err, -ENOMEM, "out of memory");
}

static const struct archive_layer *find_layer(struct archive_source *s, const char *digest)
{
	for (size_t i = 0; i < s->n_layers; i++)
		if (!strcmp(s->layers[i].digest, digest))
			return &s->layers[i];
	return NULL;
}

static int archive_stream_blob(struct source *src, const struct descriptor *d, blob_write_fn write,
			       void *ctx, struct strata_error *err)
{
	struct archive_source *s = (struct archive_source *)src;
	struct archive *a = NULL;
	struct blob_check bc;
	char *chunk = NULL;
	int r;

	if (!strcmp(d->digest, s->config_digest)) {
		if (d->size != (int64_t)s->config_len)
			return error_set(err, -EBADMSG, "blob '%s': size mismatch (got %zu bytes, want %lld)",
					 d->digest, s->config_len, (long long)d->size);
		r = write(ctx, s->config, s->config_len);
		return r < 0 ? error_set(err, r, "blob '%s': write failed", d->digest) : 0;
	}
	const struct archive_layer *l = find_layer(s, d->digest);
	if (!l)
		return error_set(err, -ENOENT, "blob '%s' is missing from docker-archive '%s'", d->digest,
				 src->ref.file);
	r = seek_entry(s, l->ordinal, &a, err);
	if (r < 0)
		return r;
	r = blob_check_init(&bc, d, write, ctx, err);
	chunk = malloc(CHUNK);
	if (r == 0 && !chunk)
		r = error_set(err, -ENOMEM, "out of memory");
	while (r == 0) {
		la_ssize_t k = archive_read_data(a, chunk, CHUNK);
		if (k < 0)
			r = ar_fail(s, a, err);
		else if (k == 0)
			break;
		else
			r = blob_check_feed(&bc, chunk, (size_t)k, err);
	}
	if (r == 0)
		r = blob_check_finish(&bc, err);
	free(chunk);
	blob_check_release(&bc);
	archive_read_free(a);
	return r;
}

static int append_buf(void *ctx, const void *data, size_t len)
{
	return buf_add(ctx, data, len);
}

static int archive_fetch_blob(struct source *src, const struct descriptor *d, size_t max,
			      struct buf *body, struct strata_error *err)
{
	if (d->size < 0 || (uint64_t)d->size > max)
		return error_set(err, -EFBIG, "blob '%s' is too large (%lld bytes, limit %zu)", d->digest,
				 (long long)d->size, max);
	buf_reset(body);
	return archive_stream_blob(src, d, append_buf, body, err);
}

static void darchive_free(struct source *src)
{
	struct archive_source *s = (struct archive_source *)src;
	entries_free(s);
	if (s->layers)
		for (size_t i = 0; i < s->n_layers; i++)
			free(s->layers[i].digest);
	free(s->layers);
	free(s->config);
	free(s->manifest);
	ref_release(&src->ref);
	free(s);
}

static const struct source_ops archive_ops = {
	.name = "docker-archive",
	.fetch_manifest = archive_fetch_manifest,
	.fetch_blob = archive_fetch_blob,
	.stream_blob = archive_stream_blob,
	.free = darchive_free,
};

int source_archive_open(struct source **out, const struct image_ref *ref,
			const struct strata_conf *conf, struct strata_error *err)
{
	struct archive_source *s;
	struct buf mj = BUF_INIT;
	json_t *doc = NULL, *image;
	json_error_t jerr;
	int r;

	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return error_set(err, -ENOMEM, "out of memory");
	s->base.ops = &archive_ops;
	s->base.conf = conf;
	r = ref_copy(&s->base.ref, ref);
	if (r < 0) {
		error_set(err, r, "out of memory");
		goto fail;
	}
	r = scan_entries(s, &mj, err);
	if (r < 0)
		goto fail;
	if (!mj.len) {
		r = error_set(err, -EBADMSG, "docker-archive '%s': no manifest.json (not a docker save archive)",
			      ref->file);
		goto fail;
	}
	doc = json_loadb(mj.data, mj.len, 0, &jerr);
	if (!doc) {
		r = error_set(err, -EBADMSG, "docker-archive '%s': manifest.json is not JSON: %s", ref->file,
			      jerr.text);
		goto fail;
	}
	if (!json_is_array(doc) || json_array_size(doc) == 0) {
		r = error_set(err, -EBADMSG, "docker-archive '%s': manifest.json holds no images", ref->file);
		goto fail;
	}
	image = json_array_get(doc, 0);
	if (json_array_size(doc) > 1)
		log_info("docker-archive '%s' holds %zu images; using the first", ref->file,
			 json_array_size(doc));
	r = synthesize(s, image, err);
	if (r < 0)
		goto fail;
	json_decref(doc);
	buf_release(&mj);
	*out = &s->base;
	return 0;
fail:
	json_decref(doc);
	buf_release(&mj);
	darchive_free(&s->base);
	return r;
}
