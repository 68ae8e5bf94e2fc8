/* rootfs: path resolution confined to an image root. openat2(2) does the
 * work where the kernel has it (RESOLVE_IN_ROOT is exactly chroot semantics);
 * otherwise each component is opened by hand with O_NOFOLLOW. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifdef __has_include
#if __has_include(<linux/openat2.h>)
#include <linux/openat2.h>
#define HAVE_OPENAT2_H 1
#endif
#endif

#include "rootfs.h"

#if defined(HAVE_OPENAT2_H) && defined(SYS_openat2)
static int openat2_in(int rootfd, const char *path, int flags, unsigned long long resolve)
{
	struct open_how how = { .flags = (unsigned long long)flags | O_CLOEXEC, .resolve = resolve };
	while (*path == '/')
		path++;
	int fd = (int)syscall(SYS_openat2, rootfd, *path ? path : ".", &how, sizeof(how));
	return fd < 0 ? -errno : fd;
}
#define HAVE_OPENAT2 1
#endif

/* The fallback: one component at a time, none of them a symlink. */
static int open_by_components(int rootfd, const char *path, int flags)
{
	char copy[PATH_MAX];
	if (strlen(path) >= sizeof(copy))
		return -ENAMETOOLONG;
	strcpy(copy, path);
	int dfd = dup(rootfd);
	if (dfd < 0)
		return -errno;
	char *save = NULL;
	char *comp = strtok_r(copy, "/", &save);
	if (!comp) {
		int fd = openat(dfd, ".", flags | O_CLOEXEC);
		int e = errno;
		close(dfd);
		return fd < 0 ? -e : fd;
	}
	for (;;) {
		char *next = strtok_r(NULL, "/", &save);
		if (!strcmp(comp, "..") || !strcmp(comp, ".")) {
			close(dfd);
			return -EXDEV; /* the walk never produces these */
		}
		int fd = openat(dfd, comp, (next ? O_RDONLY | O_DIRECTORY : flags) | O_NOFOLLOW | O_CLOEXEC);
		int e = errno;
		close(dfd);
		if (fd < 0)
			return -e;
		if (!next)
			return fd;
		dfd = fd;
		comp = next;
	}
}

int rootfs_no_openat2;

int rootfs_open(int rootfd, const char *path, int flags)
{
#ifdef HAVE_OPENAT2
	if (!rootfs_no_openat2) {
		int fd = openat2_in(rootfd, path, flags | O_NOFOLLOW,
				    RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV);
		if (fd != -ENOSYS)
			return fd;
	}
#endif
	return open_by_components(rootfd, path, flags | O_NOFOLLOW);
}

/* Without openat2: resolve by hand, keeping the resolved path as a stack of
 * components under the root and restarting on each symlink. */
static int resolve_by_hand(int rootfd, const char *path, int flags)
{
	char todo[PATH_MAX * 2], done[PATH_MAX] = "";
	int links = 0;
	if (snprintf(todo, sizeof(todo), "%s", path) >= (int)sizeof(todo))
		return -ENAMETOOLONG;
	for (;;) {
		char *p = todo;
		while (*p == '/')
			p++;
		if (!*p)
			return rootfs_open(rootfd, *done ? done : "/", flags);
		char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);
		char comp[NAME_MAX + 1];
		if (n > NAME_MAX)
			return -ENAMETOOLONG;
		memcpy(comp, p, n);
		comp[n] = 0;
		memmove(todo, p + n, strlen(p + n) + 1);
		if (!strcmp(comp, "."))
			continue;
		if (!strcmp(comp, "..")) {
			char *last = strrchr(done, '/');
			*(last ? last : done) = 0;
			continue;
		}
		size_t dl = strlen(done);
		if (dl + 1 + n >= sizeof(done))
			return -ENAMETOOLONG;
		char cand[PATH_MAX];
		snprintf(cand, sizeof(cand), "%s/%s", done, comp);
		int dfd = rootfs_open(rootfd, *done ? done : "/", O_RDONLY | O_DIRECTORY);
		if (dfd < 0)
			return dfd;
		char target[PATH_MAX];
		ssize_t tl = readlinkat(dfd, comp, target, sizeof(target) - 1);
		close(dfd);
		if (tl < 0) {
			memcpy(done, cand, strlen(cand) + 1);
			continue;
		}
		if (++links > 40)
			return -ELOOP;
		target[tl] = 0;
		if (target[0] == '/')
			done[0] = 0;
		char rest[PATH_MAX * 2];
		if (snprintf(rest, sizeof(rest), "%s/%s", target, todo) >= (int)sizeof(rest))
			return -ENAMETOOLONG;
		memcpy(todo, rest, strlen(rest) + 1);
	}
}

int rootfs_open_resolved(int rootfd, const char *path, int flags)
{
#ifdef HAVE_OPENAT2
	if (!rootfs_no_openat2) {
		int fd = openat2_in(rootfd, path, flags,
				    RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV);
		if (fd != -ENOSYS)
			return fd;
	}
#endif
	return resolve_by_hand(rootfd, path, flags);
}
