/* caller: who asks the store daemon, and what they may do (private to the
 * daemon). Everything here comes from the socket's peer credentials
 * (SO_PEERCRED, SO_PEERGROUPS), never from the request.
 *
 * Roles:
 *   owner  root, or the daemon's own user: everything, including naming
 *          host paths for the daemon to read (oci:DIR, docker-archive:FILE)
 *   admin  a member of daemon.admin_group: what an owner may do to the
 *          store (rmi, cache prune/gc/verify --repair, any mount's unmount),
 *          but no more on the host than a user
 *   user   anybody else who can reach the socket: pull from registries,
 *          pull local sources it opened itself (passed as descriptors), mount
 *          on a directory it owns and may write, reached without symbolic
 *          links of other users, for itself (the mount's user_id); unmount,
 *          list and see its own mounts.
 *
 * When the daemon runs as root for somebody else, files are looked at with
 * that somebody's file-system identity (fsuid, fsgid and groups, switched
 * on the calling thread only), so the kernel's permission checks are theirs. */
#ifndef STRATA_CALLER_H
#define STRATA_CALLER_H

#include <stddef.h>
#include <sys/types.h>

#include "src/base/error.h"
#include "httpd.h"

enum caller_role { CALLER_USER, CALLER_ADMIN, CALLER_OWNER };

struct caller {
	uid_t uid;
	gid_t gid;
	pid_t pid;
	const gid_t *groups;      /* borrowed from the request */
	size_t n_groups;
	enum caller_role role;
};

/* The caller of req. admin_gid: daemon.admin_group's gid, (gid_t)-1 for none. */
void caller_of(const struct http_request *req, gid_t admin_gid, struct caller *out);
const char *caller_role_name(enum caller_role role);

/* This thread's file-system identity, saved while it acts as a caller. */
struct caller_fs {
	int switched;
	uid_t fsuid;
	gid_t fsgid;
	int n_groups;
	gid_t groups[256];
};
/* Acts as the caller for file-system checks on this thread until
 * caller_fs_leave: only a root daemon serving a non-root caller switches.
 * 0 or -errno. */
int caller_fs_enter(const struct caller *c, struct caller_fs *saved);
void caller_fs_leave(struct caller_fs *saved);

/* Resolves path (absolute) as the caller would reach it, one component at
 * a time without following a symbolic link unless root or the caller owns
 * it, into an O_PATH descriptor *fd and its canonical spelling *canon
 * (malloc'd: no symlink, no "." or "..", no double or trailing slash).
 * Errors: -EINVAL not absolute, -EACCES a link of another user ("'...' is a
 * symbolic link owned by another user"), -ELOOP, and what openat says. */
int caller_resolve(const struct caller *c, const char *path, int *fd, char **canon, struct strata_error *err);

/* caller_resolve, then: a directory, and for a user or an admin one it owns
 * and may write. Sets uid and gid to whom the mount is for. */
int caller_open_mountpoint(const struct caller *c, const char *path, int *fd, char **canon, uid_t *uid,
			   gid_t *gid, struct strata_error *err);

/* Opens rel beneath dirfd (never above it, no symlink out, no magic link)
 * with the caller's rights: flags as for openat. Returns the fd or -errno.
 * c may be NULL: with this process's rights. */
int caller_open_beneath(const struct caller *c, int dirfd, const char *rel, int flags);

#endif
