/* kmount: attaching a FUSE connection to the directory tree and taking it
 * off again — the kernel side of a mount, without libfuse's path lookups.
 * Private to fuse/.
 *
 * Two ways in, chosen by what the process may do:
 *   privileged    (CAP_SYS_ADMIN): the new mount API. fsopen/fsconfig/fsmount
 *                 make the file system with the options we choose (user_id and
 *                 group_id of the caller the mount is for), and move_mount
 *                 attaches it to a directory given as a descriptor, so no path
 *                 is looked up between the checks and the mount. The mount's
 *                 own descriptor is kept: the unmount goes through it, never
 *                 through a path that may lead elsewhere by then.
 *   unprivileged  fusermount3 (setuid), libfuse's protocol: it mounts the path
 *                 for the calling user and hands back /dev/fuse over a socket.
 *                 The unmount is `fusermount3 -u -z`, which checks for itself
 *                 that the mount at that path is a FUSE mount of this user.
 *
 * The connection itself (the /dev/fuse descriptor) is libfuse's to serve
 * and to close; closing its last descriptor aborts it, which is what finally
 * frees a mount that is still busy after it was detached. */
#ifndef STRATA_FUSE_KMOUNT_H
#define STRATA_FUSE_KMOUNT_H

#include <stdint.h>
#include <sys/types.h>

#include "src/base/error.h"

struct kmount_opts {
	int dirfd;               /* O_PATH descriptor of the mount point (privileged way) */
	const char *path;        /* its canonical path: for fusermount3 and messages */
	const char *fsname;      /* the "source" mountinfo shows */
	uid_t uid;               /* who may use the mount (the FUSE user_id) */
	gid_t gid;
	int allow_other;
};

struct kmount {
	int fuse_fd;             /* the connection; libfuse takes it (set to -1 then) */
	int mnt_fd;              /* privileged: the detached or attached mount, else -1 */
	int privileged;
	int attached;
	char *path;              /* canonical mount point (malloc'd) */
	dev_t dev;               /* the mount's device once known: an unprivileged
				  * detach checks the path still leads to it */
};

/* Opens a FUSE connection and makes the file system. Privileged: the
 * superblock exists, detached, and the kernel has queued INIT; attach with
 * kmount_attach once INIT was answered. Unprivileged: fusermount3 has
 * mounted it already. Errors: "cannot mount '<path>': ...". Release with
 * kmount_release (which detaches an attached mount). */
int kmount_open(const struct kmount_opts *o, struct kmount *km, struct strata_error *err);
/* Privileged: puts the mount on the directory of o->dirfd. A no-op for the
 * unprivileged way. */
int kmount_attach(struct kmount *km, const struct kmount_opts *o, struct strata_error *err);
/* Takes the mount off the tree at once (lazily: users still inside keep it
 * until they leave or the connection is closed). Never waits for a busy
 * mount, never follows a path to someone else's. 0 or a negative errno. */
int kmount_detach(struct kmount *km);
/* Detaches if attached, closes what is left. NULL-safe on a zeroed km. */
void kmount_release(struct kmount *km);

/* The mount id of the mount a descriptor is on (/proc/self/fdinfo), without
 * asking the file system anything: 0 or -errno. */
int kmount_mnt_id(int fd, uint64_t *id);
/* Looks mount id up in /proc/self/mountinfo: its device, file system type
 * (into fstype, at most len bytes) and the user_id= of a FUSE mount (or
 * (uid_t)-1). 0, or -ENOENT when no such mount is there. */
int kmount_lookup(uint64_t id, dev_t *dev, char *fstype, size_t len, uid_t *owner);

#endif
