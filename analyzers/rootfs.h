/* rootfs: opening paths inside an image root without ever leaving it. The
 * walk and the analyzers go through here, never through a host path, so a
 * symlink in an image ("etc/os-release -> /etc/os-release", "x -> /proc/...")
 * cannot make strata read the host. */
#ifndef STRATA_ROOTFS_H
#define STRATA_ROOTFS_H

/* Opens path (absolute inside the root, or relative to it) beneath rootfd
 * following no symlink at all, in any component. flags as for openat(2);
 * O_NOFOLLOW and O_CLOEXEC are added. Returns an fd or a negative errno
 * (-ELOOP when a component is a symlink). */
int rootfs_open(int rootfd, const char *path, int flags);

/* Opens path resolving symlinks as if rootfd were "/" (chroot semantics:
 * absolute targets and ".." stop at the root), at most 40 links deep, never
 * crossing into /proc-style magic links. Returns an fd or a negative errno. */
int rootfs_open_resolved(int rootfd, const char *path, int flags);

/* Tests set it to exercise the resolution used where openat2(2) is missing. */
extern int rootfs_no_openat2;

#endif
