/* caller: see caller.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/openat2.h>

#include "src/base/buf.h"
#include "caller.h"

#define MAX_LINKS 40

void caller_of(const struct http_request *req, gid_t admin_gid, struct caller *out)
{
	memset(out, 0, sizeof(*out));
	out->uid = req->peer_uid;
	out->gid = req->peer_gid;
	out->pid = req->peer_pid;
	out->groups = req->peer_groups;
	out->n_groups = req->n_peer_groups;
	out->role = CALLER_USER;
	if (out->uid == 0 || out->uid == geteuid()) {
		out->role = CALLER_OWNER;
		return;
	}
	if (admin_gid == (gid_t)-1)
		return;
	if (out->gid == admin_gid)
		out->role = CALLER_ADMIN;
	for (size_t i = 0; i < out->n_groups; i++)
		if (out->groups[i] == admin_gid)
			out->role = CALLER_ADMIN;
}

const char *caller_role_name(enum caller_role role)
{
	return role == CALLER_OWNER ? "owner" : role == CALLER_ADMIN ? "admin" : "user";
}

/* --- acting as the caller ---------------------------------------------------- */

/* The raw system calls: glibc's setgroups changes every thread of the
 * process; the kernel's changes only the calling one, which is the point. */
int caller_fs_enter(const struct caller *c, struct caller_fs *s)
{
	s->switched = 0;
	if (geteuid() != 0 || c->uid == 0)
		return 0;
	s->fsuid = (uid_t)syscall(SYS_setfsuid, -1);
	s->fsgid = (gid_t)syscall(SYS_setfsgid, -1);
	long n = syscall(SYS_getgroups, (int)(sizeof(s->groups) / sizeof(s->groups[0])), s->groups);
	if (n < 0)
		return -errno;
	s->n_groups = (int)n;
	if (syscall(SYS_setgroups, c->n_groups, c->groups) < 0)
		return -errno;
	syscall(SYS_setfsgid, c->gid);
	syscall(SYS_setfsuid, c->uid);
	s->switched = 1;
	/* setfsuid says nothing when it fails: ask again. */
	if ((uid_t)syscall(SYS_setfsuid, -1) != c->uid || (gid_t)syscall(SYS_setfsgid, -1) != c->gid) {
		caller_fs_leave(s);
		return -EPERM;
	}
	return 0;
}

void caller_fs_leave(struct caller_fs *s)
{
	if (!s->switched)
		return;
	/* The uid first: it brings the capabilities back that setgroups needs. */
	syscall(SYS_setfsuid, s->fsuid);
	syscall(SYS_setfsgid, s->fsgid);
	syscall(SYS_setgroups, s->n_groups, s->groups);
	s->switched = 0;
}

/* --- resolving paths ---------------------------------------------------------- */

/* 1 when fd is the root of a mount. Asks the file system for nothing (a
 * statx for no field), so it works on a FUSE mount that refuses us. */
static int is_mount_root(int fd)
{
	struct statx sx;
	return statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, 0, &sx) == 0 &&
	       (sx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) && (sx.stx_attributes & STATX_ATTR_MOUNT_ROOT);
}

/* Drops the last component of a canonical path ("/" stays "/"). */
static void canon_pop(struct buf *canon)
{
	char *slash = strrchr(canon->data, '/');
	buf_setlen(canon, slash && slash != canon->data ? (size_t)(slash - canon->data) : 1);
}

static int canon_push(struct buf *canon, const char *name)
{
	if (canon->len > 1 && buf_addch(canon, '/') < 0)
		return -ENOMEM;
	return buf_adds(canon, name);
}

/* The next component of *rest (slashes skipped) into name; 0 when none. */
static int next_component(const char **rest, char *name, size_t len)
{
	const char *p = *rest;
	while (*p == '/')
		p++;
	size_t n = strcspn(p, "/");
	if (!n)
		return 0;
	if (n >= len)
		return -ENAMETOOLONG;
	memcpy(name, p, n);
	name[n] = '\0';
	*rest = p + n;
	return 1;
}

static int resolve(const struct caller *c, const char *path, int *out_fd, char **out_canon,
		   struct strata_error *err)
{
	struct buf canon = BUF_INIT, todo = BUF_INIT;
	char name[NAME_MAX + 1], target[PATH_MAX];
	int cur = -1, r, links = 0;
	if (path[0] != '/')
		return error_set(err, -EINVAL, "'%s' is not an absolute path", path);
	if ((r = buf_adds(&todo, path)) < 0 || (r = buf_adds(&canon, "/")) < 0)
		goto oom;
	if ((cur = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0) {
		r = error_errno(err, -errno, "cannot open '/'");
		goto out;
	}
	const char *rest = todo.data;
	for (;;) {
		r = next_component(&rest, name, sizeof(name));
		if (r == 0)
			break;
		if (r < 0) {
			r = error_set(err, r, "'%s': a name in it is too long", path);
			goto out;
		}
		if (!strcmp(name, "."))
			continue;
		int fd = openat(cur, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			r = error_errno(err, -errno, "'%s%s%s'", canon.data, canon.len > 1 ? "/" : "", name);
			goto out;
		}
		struct stat st;
		if (fstatat(fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0) {
			/* The root of a FUSE mount that answers no one but its user
			 * (or whose server is gone): a directory nobody else can look
			 * into, but it can be named (and unmounted). */
			if ((errno == EACCES || errno == ENOTCONN) && is_mount_root(fd)) {
				memset(&st, 0, sizeof(st));
				st.st_mode = S_IFDIR;
				st.st_uid = (uid_t)-1;
			} else {
				r = error_errno(err, -errno, "'%s'", path);
				close(fd);
				goto out;
			}
		}
		if (S_ISLNK(st.st_mode)) {
			if (st.st_uid != 0 && st.st_uid != c->uid) {
				r = error_set(err, -EACCES, "'%s%s%s' is a symbolic link owned by another user (uid %u)",
					      canon.data, canon.len > 1 ? "/" : "", name, (unsigned)st.st_uid);
				close(fd);
				goto out;
			}
			ssize_t n = ++links > MAX_LINKS ? -1 : readlinkat(fd, "", target, sizeof(target) - 1);
			close(fd);
			if (n <= 0) {
				r = error_set(err, -ELOOP, "'%s': too many or unreadable symbolic links", path);
				goto out;
			}
			target[n] = '\0';
			/* The link's text replaces its name in what is left to walk. */
			struct buf next = BUF_INIT;
			if (buf_adds(&next, target) < 0 || buf_addch(&next, '/') < 0 || buf_adds(&next, rest) < 0) {
				buf_release(&next);
				goto oom;
			}
			buf_release(&todo);
			todo = next;
			rest = todo.data;
			if (target[0] == '/') {
				close(cur);
				buf_setlen(&canon, 1);
				if ((cur = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0) {
					r = error_errno(err, -errno, "cannot open '/'");
					goto out;
				}
			}
			continue;
		}
		if (!strcmp(name, ".."))
			canon_pop(&canon);
		else if (canon_push(&canon, name) < 0) {
			close(fd);
			goto oom;
		}
		close(cur);
		cur = fd;
		if (!S_ISDIR(st.st_mode) && strspn(rest, "/") != strlen(rest)) {
			r = error_set(err, -ENOTDIR, "'%s' is not a directory", canon.data);
			goto out;
		}
	}
	*out_fd = cur;
	cur = -1;
	*out_canon = buf_detach(&canon, NULL);
	r = 0;
	goto out;
oom:
	r = error_set(err, -ENOMEM, "out of memory");
out:
	if (cur >= 0)
		close(cur);
	buf_release(&canon);
	buf_release(&todo);
	return r;
}

int caller_resolve(const struct caller *c, const char *path, int *fd, char **canon, struct strata_error *err)
{
	struct caller_fs fs;
	int r = caller_fs_enter(c, &fs);
	if (r < 0)
		return error_errno(err, r, "cannot act as uid %u", (unsigned)c->uid);
	r = resolve(c, path, fd, canon, err);
	caller_fs_leave(&fs);
	return r;
}

int caller_open_mountpoint(const struct caller *c, const char *path, int *fd, char **canon, uid_t *uid,
			   gid_t *gid, struct strata_error *err)
{
	struct stat st;
	int r = caller_resolve(c, path, fd, canon, err);
	if (r < 0)
		return r;
	if (fstat(*fd, &st) < 0) {
		if (is_mount_root(*fd))
			r = error_set(err, -EBUSY, "'%s' is already a mount point", *canon);
		else
			r = error_errno(err, -errno, "mount point '%s'", *canon);
		goto fail;
	}
	if (!S_ISDIR(st.st_mode)) {
		r = error_set(err, -ENOTDIR, "mount point '%s' is not a directory", *canon);
		goto fail;
	}
	*uid = c->role == CALLER_OWNER ? geteuid() : c->uid;
	*gid = c->role == CALLER_OWNER ? getegid() : c->gid;
	if (c->role == CALLER_OWNER)
		return 0;
	/* The owner's permission bits are the owner's, ACL or not. */
	if (st.st_uid != c->uid || !(st.st_mode & S_IWUSR)) {
		r = error_set(err, -EACCES, "mount point '%s' is not a directory of yours that you may write "
			      "(owner uid %u, mode %04o)", *canon, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
		goto fail;
	}
	return 0;
fail:
	close(*fd);
	*fd = -1;
	free(*canon);
	*canon = NULL;
	return r;
}

int caller_open_beneath(const struct caller *c, int dirfd, const char *rel, int flags)
{
	struct caller_fs fs = { 0 };
	if (c) {
		int r = caller_fs_enter(c, &fs);
		if (r < 0)
			return r;
	}
	struct open_how how = { .flags = (uint64_t)(flags | O_CLOEXEC | O_NOFOLLOW),
				.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS };
	int fd = (int)syscall(SYS_openat2, dirfd, rel, &how, sizeof(how));
	int r = fd < 0 ? -errno : fd;
	if (c)
		caller_fs_leave(&fs);
	return r;
}
