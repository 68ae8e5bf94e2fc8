/* mount: one stored image served read-only over FUSE (libfuse's low-level
 * API) from background threads — the mount's lifecycle and its counters. */
#ifndef STRATA_FUSE_MOUNT_H
#define STRATA_FUSE_MOUNT_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "store.h"

struct mount_options {
	const char *ref;          /* for fsname: "strata:<ref>" (commas and backslashes escaped) */
	int allow_other;          /* only when configured */
	size_t cache_bytes;       /* decompressed-chunk cache budget; 0 = 64 MiB */
	unsigned threads;         /* max FUSE worker threads; 0 = 2 * nproc */
	int no_verify;            /* do not re-hash chunks as they are loaded */
};

struct mount;

/* Mounts the stored image `digest` (a manifest digest) read-only, nosuid,
 * nodev at mountpoint and serves it from background threads; returns only
 * when the mount is live (a stat of the mount point shows the image root).
 * Errors (err set): the mount point is missing / not a directory / already
 * a mount point ("'…' is already a mount point"), /dev/fuse is missing
 * ("cannot open /dev/fuse: …"), the image is not stored. st must stay open
 * until mount_stop. Free with mount_stop. */
int mount_start(struct store *st, const char *digest, const char *mountpoint,
		const struct mount_options *o, struct mount **out, struct strata_error *err);
/* Unmounts (detached when busy: requests still pending on the mount fail
 * with ENOTCONN rather than holding this up), stops the threads, frees.
 * NULL is fine. */
void mount_stop(struct mount *m);

/* Whether the mount is still served: 0 once it was unmounted from outside
 * (umount, fusermount3 -u) or its connection was aborted. */
int mount_alive(struct mount *m);
const char *mount_point(const struct mount *m);

/* FUSE requests by kind, for the daemon's metrics. */
enum mount_op {
	MOP_LOOKUP, MOP_GETATTR, MOP_READLINK, MOP_OPEN, MOP_READ, MOP_OPENDIR, MOP_READDIR,
	MOP_STATFS, MOP_GETXATTR, MOP_LISTXATTR, MOP_COUNT
};
extern const char *const mount_op_names[MOP_COUNT];

struct mount_stats {
	uint64_t ops[MOP_COUNT];     /* requests */
	uint64_t op_errors[MOP_COUNT]; /* answered with an error other than "not there" */
	uint64_t reads, bytes_read, lookups, readdirs, getattrs, errors, chunk_hits, chunk_misses;
};
void mount_get_stats(struct mount *m, struct mount_stats *out);

/* Unmounts a mount point left by a dead process (umount2 MNT_DETACH, or
 * fusermount3 -u -z when not privileged). */
int mount_force_unmount(const char *mountpoint, struct strata_error *err);

#endif
