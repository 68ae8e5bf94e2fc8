/* tree: a directory's whole subtree in pages, the value of the extended
 * attribute user.strata.tree.<start> — so that a tool listing every entry
 * of an image (strata analyze) needs a few dozen requests instead of one
 * or more per directory. Pages come from a cursor kept between requests,
 * so reading them in order costs one pass over the tree. Private to fuse/.
 *
 * A value is "<next> <more>\0" and then one record per entry, in depth-
 * first order (a directory before its children, children in listing
 * order): "<path>\0<mode> <uid> <gid> <size>[ <extra>]\0", path relative to
 * the directory asked, mode the octal st_mode (type included), extra the
 * value of user.strata.digests for a regular file and the target for a
 * symbolic link. next is the start of the following page; more is 0 on the
 * last one. A value stays under 60,000 bytes (the kernel passes 64 KiB). */
#ifndef STRATA_FUSE_TREE_H
#define STRATA_FUSE_TREE_H

#include <pthread.h>
#include <stdint.h>

#include "src/base/buf.h"
#include "src/view/imageview.h"
#include "inode.h"

struct tree_cursor;

/* One mount's pages: where the last one ended. */
struct tree {
	struct inode_table *itab;   /* borrowed, as v: set by tree_init */
	struct imageview *v;
	pthread_mutex_t lock;       /* protects cursor */
	struct tree_cursor *cursor;
};

/* Once the mount's inode table exists; tree_release before it goes. */
void tree_init(struct tree *t, struct inode_table *itab, struct imageview *v);
void tree_release(struct tree *t);

/* Appends the page of dir's subtree that starts at entry start to out:
 * 0, -ENODATA when dir is not a directory or start is past the end, -EIO
 * when a directory cannot be listed (logged), -ENOMEM. Thread-safe. */
int tree_page(struct tree *t, struct inode *dir, uint64_t start, struct buf *out);

#endif
