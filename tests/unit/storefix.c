/* storefix.c: see storefix.h. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <jansson.h>

#include "src/base/util.h"
#include "src/ingest/ingest.h"
#include "src/store/catalog.h"
#include "storefix.h"

int storefix_init(struct storefix *f)
{
	struct strata_error err = STRATA_ERROR_INIT;
	memset(f, 0, sizeof(*f));
	const char *tmp = getenv("TMPDIR");
	snprintf(f->dir, sizeof(f->dir), "%.40s/strata-unit.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(f->dir))
		return -errno;
	/* An empty file: the defaults, whatever the machine's configuration. */
	char *path = path_join(f->dir, "strata.conf");
	FILE *empty = path ? fopen(path, "w") : NULL;
	int r = empty ? 0 : -errno;
	if (empty)
		fclose(empty);
	if (r == 0 && (r = conf_load_from(&f->conf, path, &err)) < 0)
		fprintf(stderr, "# conf: %s\n", err.msg);
	free(path);
	if (r < 0)
		return r;
	free(f->conf.store);
	f->conf.store = path_join(f->dir, "store");
	return f->conf.store ? 0 : -ENOMEM;
}

int storefix_open(struct storefix *f, const struct store_options *o)
{
	struct strata_error err = STRATA_ERROR_INIT;
	int r = store_open(&f->conf, o, &f->st, &err);
	if (r < 0)
		fprintf(stderr, "# store_open: %s\n", err.msg);
	return r;
}

void storefix_release(struct storefix *f)
{
	char cmd[128];
	store_close(f->st);
	f->st = NULL;
	conf_release(&f->conf);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (f->dir[0] && system(cmd) != 0)
		fprintf(stderr, "# cannot remove %s\n", f->dir);
}

struct tarw {
	struct archive *a;
	struct buf out;
};

static la_ssize_t tar_write(struct archive *a, void *ctx, const void *data, size_t len)
{
	(void)a;
	return buf_add(&((struct tarw *)ctx)->out, data, len) < 0 ? -1 : (la_ssize_t)len;
}

struct tarw *tarw_new(void)
{
	struct tarw *t = calloc(1, sizeof(*t));
	if (!t || !(t->a = archive_write_new()))
		abort();
	buf_init(&t->out, 0);
	archive_write_set_format_pax_restricted(t->a);
	archive_write_set_bytes_in_last_block(t->a, 1);
	if (archive_write_open(t->a, t, NULL, tar_write, NULL) != ARCHIVE_OK)
		abort();
	return t;
}

static void add(struct tarw *t, const char *path, unsigned type, unsigned mode, const void *data, size_t len,
		const char *symlink, const char *hardlink)
{
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_pathname(e, path);
	archive_entry_set_filetype(e, type);
	archive_entry_set_perm(e, mode);
	archive_entry_set_size(e, (la_int64_t)len);
	if (hardlink)
		archive_entry_set_hardlink(e, hardlink);
	if (symlink)
		archive_entry_set_symlink(e, symlink);
	archive_entry_set_mtime(e, 1700000000, 0);
	if (archive_write_header(t->a, e) != ARCHIVE_OK ||
	    (len && archive_write_data(t->a, data, len) != (la_ssize_t)len))
		abort();
	archive_entry_free(e);
}

void tarw_dir(struct tarw *t, const char *path, unsigned mode)
{
	add(t, path, AE_IFDIR, mode, NULL, 0, NULL, NULL);
}

void tarw_file(struct tarw *t, const char *path, const void *data, size_t len, unsigned mode)
{
	add(t, path, AE_IFREG, mode, data, len, NULL, NULL);
}

void tarw_text(struct tarw *t, const char *path, const char *text)
{
	tarw_file(t, path, text, strlen(text), 0644);
}

void tarw_symlink(struct tarw *t, const char *path, const char *target)
{
	add(t, path, AE_IFLNK, 0777, NULL, 0, target, NULL);
}

void tarw_hardlink(struct tarw *t, const char *path, const char *target)
{
	add(t, path, AE_IFREG, 0644, NULL, 0, NULL, target);
}

void tarw_finish(struct tarw *t, struct buf *out)
{
	if (archive_write_close(t->a) != ARCHIVE_OK)
		abort();
	archive_write_free(t->a);
	buf_add(out, t->out.data, t->out.len);
	buf_release(&t->out);
	free(t);
}

struct reader {
	const struct buf *b;
	size_t off;
};

static ssize_t read_mem(void *ctx, void *buf, size_t len)
{
	struct reader *r = ctx;
	size_t n = r->b->len - r->off < len ? r->b->len - r->off : len;
	memcpy(buf, r->b->data + r->off, n);
	r->off += n;
	return (ssize_t)n;
}

int storefix_ingest(struct storefix *f, const struct buf *tar, struct layer_record *rec, struct strata_error *err)
{
	struct reader r = { tar, 0 };
	return ingest_stream(f->st, read_mem, &r, NULL, NULL, NULL, NULL, rec, err);
}

void storefix_noise(uint8_t *p, size_t n, uint64_t seed)
{
	uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = (uint8_t)x;
	}
}

void storefix_digest(unsigned i, char out[DIGEST_STR_MAX])
{
	snprintf(out, DIGEST_STR_MAX, "sha256:%064x", i);
}

int storefix_put_image(struct storefix *f, const char *digest, const char *name,
		       const struct layer_record *layers, size_t n)
{
	struct strata_error err = STRATA_ERROR_INIT;
	json_t *ls = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(ls, json_pack("{s:s, s:s, s:I, s:s}", "digest", layers[i].diff_id, "diff_id",
						    layers[i].diff_id, "size", (json_int_t)layers[i].size,
						    "media_type", "application/vnd.oci.image.layer.v1.tar"));
	json_t *img = json_pack("{s:s, s:s, s:s, s:s, s:[s], s:o, s:I, s:I}", "digest", digest, "media_type",
				"application/vnd.oci.image.manifest.v1+json", "config_digest", digest, "platform",
				"linux/amd64", "names", name, "layers", ls, "pulled", (json_int_t)1700000000,
				"last_used", (json_int_t)1700000000);
	struct index_batch *b = index_batch_new();
	int r = img && b ? catalog_put_image(b, img) : -ENOMEM;
	if (r == 0) {
		catalog_put_name(b, name, digest);
		r = storedir_commit(f->st->sd, b, 1, &err);
	}
	index_batch_free(b);
	json_decref(img);
	return r;
}
