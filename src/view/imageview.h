/* imageview: an image's merged root filesystem, resolved over its layer
 * stack by the OCI rules for applying layers — whiteouts hide lower names,
 * opaque directories hide all lower children, a non-directory hides a lower
 * directory of the same name. Nothing is precomputed: every lookup and
 * readdir reads the index directly, or a layer's listing in memory when the
 * store has one (st->lists, layerlist.h); callers (the FUSE layer) remember
 * what they need. */
#ifndef STRATA_IMAGEVIEW_H
#define STRATA_IMAGEVIEW_H

#include <stddef.h>
#include <stdint.h>

#include "src/base/buf.h"
#include "src/store/entry.h"
#include "src/base/error.h"
#include "src/store/store.h"

struct imageview;

/* A resolved name. e points into rec (and link into target_rec for
 * hardlinks, whose data fields are the target's). */
struct iv_node {
	struct entry e;
	enum entry_type type;  /* ENTRY_HARDLINK resolved to its target's type */
	unsigned layer;        /* index in the stack (0 = bottom) the entry comes from */
	unsigned floor;        /* directories: lowest layer whose children are visible */
	uint64_t ino_seed;     /* (layer, ordinal of the entry or hardlink target) */
	struct buf rec;        /* owns the entry's record */
	struct buf target_rec; /* hardlinks: the target's record */
};

void iv_node_init(struct iv_node *n);
void iv_node_release(struct iv_node *n);

/* Opens the view of a stored image (manifest digest). Every layer must be
 * stored (-ENOENT otherwise). Free with imageview_free. */
int imageview_open(struct store *st, const char *digest, struct imageview **out,
		   struct strata_error *err);
void imageview_free(struct imageview *v);
unsigned imageview_layers(const struct imageview *v);
/* Hints that the whole tree will be read: builds the in-memory listings of
 * the layers (layerlist.h) that the store's cache has room for, so that
 * lookups and listings stop reading the index. Best effort: a layer without
 * a listing is read from the index as before. Thread-safe. */
void imageview_load_lists(struct imageview *v);
/* diff_id of layer i. */
const char *imageview_layer_digest(const struct imageview *v, unsigned i);

/* The root directory. */
int imageview_root(struct imageview *v, struct iv_node *out, struct strata_error *err);
/* Looks up name in directory dir (a node this view returned; dir_path its
 * path, "" for the root). 0, -ENOENT, or -EIO with err set. */
int imageview_lookup(struct imageview *v, const struct iv_node *dir, const char *dir_path,
		     const char *name, struct iv_node *out, struct strata_error *err);
/* Calls fn for every visible child of dir, in no particular order; fn
 * returning non-zero stops the walk (that value is returned). fn may take
 * child over (moving the struct out, then iv_node_init on it): that saves
 * copying the records of every entry listed. */
typedef int (*iv_readdir_fn)(void *ctx, const char *name, struct iv_node *child);
int imageview_readdir(struct imageview *v, const struct iv_node *dir, const char *dir_path,
		      iv_readdir_fn fn, void *ctx, struct strata_error *err);

#endif
