/* Unit tests: an image's merged tree (imageview, imageinfo_files) over
 * layers ingested from tar streams into a store in a temp directory —
 * whiteouts, opaque directories, a file over a directory, implicit
 * parents, hardlinks — read once from the index and once from the layer
 * listings kept in memory. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "src/base/digest.h"
#include "src/view/imageinfo.h"
#include "src/view/imageview.h"
#include "storefix.h"
#include "tap.h"

/* The bottom layer. */
static void layer1(struct buf *out)
{
	struct tarw *t = tarw_new();
	tarw_dir(t, "etc", 0755);
	tarw_text(t, "etc/passwd", "root");
	tarw_hardlink(t, "etc/passwd2", "etc/passwd");
	tarw_text(t, "etc/hosts", "h1");
	tarw_dir(t, "opt", 0755);
	tarw_text(t, "opt/a", "a");
	tarw_dir(t, "opt/sub", 0755);
	tarw_text(t, "opt/sub/b", "b");
	tarw_dir(t, "usr", 0750);
	tarw_dir(t, "data", 0755);
	tarw_text(t, "data/x", "x");
	tarw_symlink(t, "link", "etc/passwd");
	tarw_finish(t, out);
}

/* Hides, replaces and adds over layer 1. */
static void layer2(struct buf *out)
{
	struct tarw *t = tarw_new();
	tarw_text(t, "etc/.wh.hosts", "");          /* hides etc/hosts */
	tarw_text(t, "etc/passwd", "root2");        /* replaces it */
	tarw_text(t, "opt/.wh..wh..opq", "");       /* hides every lower child of opt */
	tarw_text(t, "opt/c", "c");
	tarw_text(t, "data", "now a file");         /* a file over a directory */
	tarw_text(t, "usr/new", "n");               /* usr is implicit here */
	tarw_finish(t, out);
}

/* Brings a hidden name back. */
static void layer3(struct buf *out)
{
	struct tarw *t = tarw_new();
	tarw_text(t, "etc/hosts", "h3");
	tarw_finish(t, out);
}

/* The children of dir as "name:type,...", sorted by name. */
struct names {
	char *v[32];
	size_t n;
};

static int collect(void *ctx, const char *name, struct iv_node *child)
{
	struct names *ns = ctx;
	char s[300];
	snprintf(s, sizeof(s), "%s:%s", name, entry_type_name(child->type));
	if (ns->n < 32)
		ns->v[ns->n++] = strdup(s);
	return 0;
}

static int by_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *list_dir(struct imageview *v, const char *path)
{
	struct strata_error err = STRATA_ERROR_INIT;
	struct iv_node root, dir, *d = &root;
	struct names ns = { .n = 0 };
	static char out[1024];
	out[0] = 0;
	if (imageview_root(v, &root, &err) < 0)
		return "(no root)";
	iv_node_init(&dir);
	if (*path) {
		if (imageview_lookup(v, &root, "", path, &dir, &err) < 0) {
			iv_node_release(&root);
			return "(no dir)";
		}
		d = &dir;
	}
	if (imageview_readdir(v, d, path, collect, &ns, &err) < 0)
		snprintf(out, sizeof(out), "(readdir: %s)", err.msg);
	qsort(ns.v, ns.n, sizeof(*ns.v), by_str);
	for (size_t i = 0; i < ns.n; i++) {
		snprintf(out + strlen(out), sizeof(out) - strlen(out), "%s%s", i ? "," : "", ns.v[i]);
		free(ns.v[i]);
	}
	iv_node_release(&dir);
	iv_node_release(&root);
	return out;
}

/* Looks path ("a/b") up from the root: 0 with *out, or the error. */
static int lookup(struct imageview *v, const char *path, struct iv_node *out)
{
	struct strata_error err = STRATA_ERROR_INIT;
	struct iv_node cur;
	char dir[256] = "", name[256];
	int r = imageview_root(v, &cur, &err);
	const char *p = path;
	while (r == 0) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);
		snprintf(name, sizeof(name), "%.*s", (int)len, p);
		iv_node_init(out);
		r = imageview_lookup(v, &cur, dir, name, out, &err);
		iv_node_release(&cur);
		if (r < 0 || !slash)
			return r;
		cur = *out;
		snprintf(dir + strlen(dir), sizeof(dir) - strlen(dir), "%s%s", dir[0] ? "/" : "", name);
		p = slash + 1;
	}
	return r;
}

/* 1 when the regular file at path holds text. */
static int holds(struct imageview *v, const char *path, const char *text, unsigned *layer)
{
	struct iv_node n;
	uint8_t want[SHA256_LEN];
	if (lookup(v, path, &n) < 0)
		return 0;
	sha256_once(text, strlen(text), want);
	int same = n.type == ENTRY_REG && n.e.size == strlen(text) && !memcmp(n.e.sha256, want, SHA256_LEN);
	if (layer)
		*layer = n.layer;
	iv_node_release(&n);
	return same;
}

static void check_view(struct store *st, const char *digest2, const char *digest3, int lists)
{
	struct strata_error err = STRATA_ERROR_INIT;
	struct imageview *v = NULL;
	struct iv_node n;
	const char *how = lists ? "listings" : "index";
	unsigned layer = 99;

	is_int(imageview_open(st, digest2, &v, &err), 0, "%s: open the two-layer view", how);
	if (!v)
		return;
	if (lists)
		imageview_load_lists(v);
	is_int(imageview_layers(v), 2, "%s: two layers", how);
	is_str(list_dir(v, ""), "data:file,etc:dir,link:symlink,opt:dir,usr:dir",
	       "%s: the root merges both layers, whiteouts unseen", how);
	is_str(list_dir(v, "etc"), "passwd2:file,passwd:file", "%s: a whiteout hides etc/hosts", how);
	is_int(lookup(v, "etc/hosts", &n), -ENOENT, "%s: etc/hosts is not found", how);
	is_int(lookup(v, "etc/.wh.hosts", &n), -ENOENT, "%s: the whiteout itself is not a name", how);
	ok(holds(v, "etc/passwd", "root2", &layer), "%s: the upper etc/passwd wins", how);
	is_int(layer, 1, "%s: ... from layer 2", how);
	ok(holds(v, "etc/passwd2", "root", &layer), "%s: a hardlink reads its target in its own layer", how);
	is_int(layer, 0, "%s: ... layer 1", how);
	if (lookup(v, "etc/passwd2", &n) == 0) {
		is_int(n.e.nlink, 2, "%s: the hardlinked file has two names", how);
		iv_node_release(&n);
	}
	is_str(list_dir(v, "opt"), "c:file", "%s: an opaque directory hides every lower child", how);
	is_int(lookup(v, "opt/a", &n), -ENOENT, "%s: opt/a is hidden", how);
	is_int(lookup(v, "opt/sub/b", &n), -ENOENT, "%s: and opt/sub with what is below it", how);
	ok(holds(v, "data", "now a file", NULL), "%s: a file replaces the lower directory", how);
	if (lookup(v, "usr", &n) == 0) {
		is_int(n.e.mode, 0750, "%s: an implicit parent keeps the lower directory's mode", how);
		iv_node_release(&n);
	} else {
		ok(0, "%s: usr is there", how);
	}
	is_str(list_dir(v, "usr"), "new:file", "%s: the implicit directory lists the new file", how);
	if (lookup(v, "link", &n) == 0) {
		char target[64] = "";
		if (n.type == ENTRY_SYMLINK)
			snprintf(target, sizeof(target), "%.*s", (int)n.e.link_len, n.e.link);
		is_str(target, "etc/passwd", "%s: a symlink keeps its target", how);
		iv_node_release(&n);
	}
	imageview_free(v);

	v = NULL;
	is_int(imageview_open(st, digest3, &v, &err), 0, "%s: open the three-layer view", how);
	if (!v)
		return;
	if (lists)
		imageview_load_lists(v);
	ok(holds(v, "etc/hosts", "h3", &layer), "%s: a name hidden below comes back from above", how);
	is_int(layer, 2, "%s: ... from layer 3", how);
	is_str(list_dir(v, "etc"), "hosts:file,passwd2:file,passwd:file", "%s: etc lists it again", how);
	imageview_free(v);
}

int main(void)
{
	struct storefix f;
	struct strata_error err = STRATA_ERROR_INIT;
	struct layer_record l[3];
	struct buf tar[3] = { BUF_INIT, BUF_INIT, BUF_INIT };
	char d2[DIGEST_STR_MAX], d3[DIGEST_STR_MAX];
	int r;

	if (storefix_init(&f) < 0 || storefix_open(&f, NULL) < 0) {
		printf("Bail out! cannot make a store\n");
		return 99;
	}
	layer1(&tar[0]);
	layer2(&tar[1]);
	layer3(&tar[2]);
	for (int i = 0; i < 3; i++) {
		r = storefix_ingest(&f, &tar[i], &l[i], &err);
		is_int(r, 0, "layer %d ingests%s%s", i + 1, r ? ": " : "", r ? err.msg : "");
	}
	storefix_digest(2, d2);
	storefix_digest(3, d3);
	is_int(storefix_put_image(&f, d2, "test/two:1", l, 2), 0, "the two-layer image is recorded");
	is_int(storefix_put_image(&f, d3, "test/three:1", l, 3), 0, "the three-layer image is recorded");

	check_view(f.st, d2, d3, 0);

	/* The whole merged tree, as `strata inspect --files` shows it. */
	struct buf files = BUF_INIT;
	is_int(imageinfo_files(f.st, d2, &files, &err), 0, "imageinfo_files");
	char h_root2[65], h_root[65], h_c[65], h_n[65], h_file[65];
	uint8_t id[SHA256_LEN];
	sha256_once("root2", 5, id), hex_encode(id, SHA256_LEN, h_root2);
	sha256_once("root", 4, id), hex_encode(id, SHA256_LEN, h_root);
	sha256_once("c", 1, id), hex_encode(id, SHA256_LEN, h_c);
	sha256_once("n", 1, id), hex_encode(id, SHA256_LEN, h_n);
	sha256_once("now a file", 10, id), hex_encode(id, SHA256_LEN, h_file);
	char want[2048];
	snprintf(want, sizeof(want),
		 "data\tf\t644\t0\t0\t10\t-\t%s\n"
		 "etc\td\t755\t0\t0\t-\t-\t-\n"
		 "etc/passwd\tf\t644\t0\t0\t5\t-\t%s\n"
		 "etc/passwd2\tf\t644\t0\t0\t4\t-\t%s\n"
		 "link\tl\t777\t0\t0\t10\tetc/passwd\t-\n"
		 "opt\td\t755\t0\t0\t-\t-\t-\n"
		 "opt/c\tf\t644\t0\t0\t1\t-\t%s\n"
		 "usr\td\t750\t0\t0\t-\t-\t-\n"
		 "usr/new\tf\t644\t0\t0\t1\t-\t%s\n",
		 h_file, h_root2, h_root, h_c, h_n);
	is_str(files.data, want, "the merged listing of the two-layer image");
	buf_release(&files);
	storefix_release(&f);

	/* Again with the layers' listings in memory, as the daemon keeps them. */
	struct store_options o = { .layer_lists = 1u << 20 };
	if (storefix_init(&f) < 0 || storefix_open(&f, &o) < 0) {
		printf("Bail out! cannot make a store\n");
		return 99;
	}
	for (int i = 0; i < 3; i++)
		is_int(storefix_ingest(&f, &tar[i], &l[i], &err), 0, "layer %d ingests again", i + 1);
	storefix_put_image(&f, d2, "test/two:1", l, 2);
	storefix_put_image(&f, d3, "test/three:1", l, 3);
	ok(f.st->lists != NULL, "the store keeps layer listings");
	check_view(f.st, d2, d3, 1);
	storefix_release(&f);
	for (int i = 0; i < 3; i++)
		buf_release(&tar[i]);
	return tap_done();
}
