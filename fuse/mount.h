/* mount: one stored image served read-only over FUSE (libfuse's low-level
 * API) from background threads — the mount's lifecycle and its counters. */
#ifndef STRATA_FUSE_MOUNT_H
#define STRATA_FUSE_MOUNT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "src/base/error.h"
#include "src/store/store.h"
#include "mountop.h"

struct mount_options {
	const char *ref;          /* for fsname: "strata:<ref>" (commas and backslashes escaped) */
	int allow_other;          /* only when configured */
	size_t cache_bytes;       /* decompressed-chunk cache budget; 0 = 64 MiB */
	unsigned threads;         /* max FUSE worker threads; 0 = 2 * nproc */
	int no_verify;            /* do not re-hash chunks as they are loaded */
	struct refetcher *refetch; /* rebuilds chunks that are not stored (refetch.h); NULL: none */
};

struct mount;

/* Where a mount goes and whom it is for; checked by the caller (who may be
 * serving somebody else). */
struct mount_target {
	int dirfd;                /* O_PATH descriptor of the mount point directory */
	const char *path;         /* its canonical path (no symlink, no "." or "..") */
	uid_t uid;                /* who may use the mount (FUSE user_id/group_id); */
	gid_t gid;                /* only a privileged process can choose them */
};

/* Mounts the stored image `digest` (a manifest digest) read-only, nosuid,
 * nodev on t's directory and serves it from background threads; returns
 * only once the kernel's INIT was answered and the mount is on the tree.
 * With privilege it mounts through the descriptor (kmount.h), else through
 * fusermount3. Errors (err set): the mount point is not a directory or is
 * already a mount point ("'…' is already a mount point"), the mount failed
 * (with the kernel's or fusermount3's reason), the image is not stored. st
 * must stay open until mount_stop. Free with mount_stop. */
int mount_start(struct store *st, const char *digest, const struct mount_target *t,
		const struct mount_options *o, struct mount **out, struct strata_error *err);
/* Takes the mount off the tree (lazily: a process inside it sees ENOTCONN
 * once the connection closes), stops serving and frees; never waits for a
 * busy reader. NULL is fine. A walked million-entry tree leaves hundreds of
 * megabytes free in the FUSE threads' arenas: the caller hands them back
 * with malloc_trim(3), off the path of a reply (a trim of a large heap is
 * hundreds of madvise calls). */
void mount_stop(struct mount *m);

/* Whether the mount is still served: 0 once it was unmounted from outside
 * (umount, fusermount3 -u) or its connection was aborted. */
int mount_alive(struct mount *m);
const char *mount_point(const struct mount *m);

/* FUSE requests by kind (mountop.h), for the daemon's metrics. */
extern const char *const mount_op_names[MOP_COUNT];

struct mount_stats {
	uint64_t ops[MOP_COUNT];     /* requests */
	uint64_t op_errors[MOP_COUNT]; /* answered with an error other than "not there" */
	uint64_t reads, bytes_read, lookups, readdirs, getattrs, errors, chunk_hits, chunk_misses;
};
void mount_get_stats(struct mount *m, struct mount_stats *out);

/* Identity of a live mount: the kernel's mount id and the device. */
void mount_identity(const struct mount *m, uint64_t *mnt_id, dev_t *dev);
/* The identity of the mount a descriptor is on (from /proc, without asking
 * the file system anything): 0 or -errno. */
int mount_identity_of(int fd, uint64_t *mnt_id, dev_t *dev);

/* Unmounts the strata mount (fstype fuse.strata) whose root fd is on, left
 * by a process that is gone; path is its canonical path. owner is the only
 * uid whose mounts may be removed ((uid_t)-1: anybody's). Errors: "'…' is
 * not a strata mount point", -EACCES "'…' is another user's mount". */
int mount_force_unmount(int fd, const char *path, uid_t owner, struct strata_error *err);

#endif
