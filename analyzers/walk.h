/* walk: one parallel walk of an image root. Every entry below the root is
 * listed once with its lstat data, symlink target and, on a strata mount,
 * the digests and layer the mount publishes as user.strata.* xattrs. Nothing
 * is followed: directories are opened beneath the root with no symlink in
 * the path, and the walk stays on the root's file system. A strata mount
 * gives all of that for its whole tree in pages of user.strata.tree.<start>
 * (fuse/tree.h): then there is nothing to walk. user.strata.* attributes
 * are believed on a FUSE mount only: on a disk anyone can set them. */
#ifndef STRATA_WALK_H
#define STRATA_WALK_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "src/base/error.h"

/* Small, since an image may hold a million entries: digests in binary, the
 * layer as an index into the result's table of layer names. */
struct walk_entry {
	char *path;          /* absolute inside the image: "/etc/passwd" */
	char *link;          /* symlink target, else NULL */
	uint64_t size;
	uint32_t mode;       /* st_mode */
	uint32_t uid, gid;
	uint16_t layer;      /* 1 + index in walk_result.layers; 0: not known */
	uint8_t digests;     /* sha256, sha1 and md5 are known (a strata mount, or hashed) */
	uint8_t sha256[32];
	uint8_t sha1[20];
	uint8_t md5[16];
};

struct walk_result {
	struct walk_entry *v;  /* sorted by path */
	size_t n;
	char **layers;         /* "sha256:..." of the layers entries were introduced by */
	size_t nlayers;
};

/* The layer that introduced e ("sha256:..."), or NULL when not known. */
const char *walk_layer(const struct walk_result *r, const struct walk_entry *e);

/* Walks rootfd with threads workers. Stops early with -EINTR when *stop
 * becomes non-zero. Entries that vanish or cannot be read are skipped and
 * counted in *unreadable (may be NULL). Release out with walk_result_release. */
int walk_tree(int rootfd, unsigned threads, volatile sig_atomic_t *stop, struct walk_result *out,
	      size_t *unreadable, struct strata_error *err);
void walk_result_release(struct walk_result *r);

#endif
