/* kmount: see kmount.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/openat2.h>

#include "src/base/buf.h"
#include "kmount.h"
#include "src/base/log.h"
#include "src/base/util.h"

/* fusermount3 answers within a second; a mount point on a hung network
 * file system should not hold a request for ever. */
#define FUSERMOUNT_TIMEOUT_MS 30000

extern char **environ;

/* --- fusermount3 ---------------------------------------------------------- */

struct helper {
	pid_t pid;
	int err_fd;     /* the helper's stderr */
};

/* The fusermount3 to run: libfuse's own place first, then PATH. */
static int find_fusermount(char *out, size_t len)
{
	static const char *const fixed[] = { "/usr/bin/fusermount3", "/bin/fusermount3" };
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		if (access(fixed[i], X_OK) == 0) {
			snprintf(out, len, "%s", fixed[i]);
			return 0;
		}
	const char *path = getenv("PATH");
	while (path && *path) {
		const char *end = strchrnul(path, ':');
		snprintf(out, len, "%.*s/fusermount3", (int)(end - path), path);
		if (end > path && access(out, X_OK) == 0)
			return 0;
		path = *end ? end + 1 : end;
	}
	return -ENOENT;
}

/* Starts fusermount3 with argv (argv[0] is replaced by its path), its
 * stderr to a pipe, and comm_fd (if >= 0) as _FUSE_COMMFD. Only
 * async-signal-safe calls between fork and exec: the daemon has threads. */
static int helper_start(char **argv, int comm_fd, struct helper *h, struct strata_error *err)
{
	char exe[4096], commenv[32];
	int pipefd[2];
	if (find_fusermount(exe, sizeof(exe)) < 0)
		return error_set(err, -ENOENT, "fusermount3 is not installed (Debian package fuse3)");
	size_t n = 0;
	while (environ[n])
		n++;
	char **envp = calloc(n + 2, sizeof(char *));
	if (!envp)
		return error_set(err, -ENOMEM, "out of memory");
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "_FUSE_", 6))
			envp[k++] = environ[i];
	if (comm_fd >= 0) {
		snprintf(commenv, sizeof(commenv), "_FUSE_COMMFD=%d", comm_fd);
		envp[k++] = commenv;
	}
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		free(envp);
		return error_errno(err, -errno, "cannot run fusermount3");
	}
	argv[0] = exe;
	pid_t pid = fork();
	if (pid < 0) {
		int r = error_errno(err, -errno, "cannot run fusermount3");
		close(pipefd[0]);
		close(pipefd[1]);
		free(envp);
		return r;
	}
	if (pid == 0) {
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (nul >= 0) {
			dup2(nul, 0);
			dup2(nul, 1);
		}
		dup2(pipefd[1], 2);
		if (comm_fd >= 0)
			fcntl(comm_fd, F_SETFD, 0);
		execve(exe, argv, envp);
		_exit(127);
	}
	close(pipefd[1]);
	free(envp);
	h->pid = pid;
	h->err_fd = pipefd[0];
	return 0;
}

/* Waits for the helper; 0 when it succeeded, else -EIO with its first
 * line of complaint (without the "fusermount3: " it starts with). */
static int helper_finish(struct helper *h, const char *what, const char *path, struct strata_error *err)
{
	char text[1024];
	size_t got = 0;
	ssize_t n;
	while (got + 1 < sizeof(text) && (n = read(h->err_fd, text + got, sizeof(text) - 1 - got)) > 0)
		got += (size_t)n;
	text[got] = '\0';
	close(h->err_fd);
	int status = 0;
	while (waitpid(h->pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	char *line = text, *nl = strchr(text, '\n');
	if (nl)
		*nl = '\0';
	if (!strncmp(line, "fusermount3: ", 13))
		line += 13;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127 && !*line)
		line = "cannot execute fusermount3";
	return error_set(err, -EIO, "cannot %s '%s': %s", what, path, *line ? line : "fusermount3 failed");
}

/* Receives the /dev/fuse descriptor fusermount3 sends over sock. */
static int receive_fd(int sock)
{
	char byte;
	struct iovec iov = { &byte, 1 };
	union {
		struct cmsghdr h;
		char space[CMSG_SPACE(sizeof(int))];
	} u;
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.space,
			      .msg_controllen = sizeof(u.space) };
	struct pollfd p = { sock, POLLIN, 0 };
	if (poll(&p, 1, FUSERMOUNT_TIMEOUT_MS) <= 0)
		return -ETIMEDOUT;
	ssize_t n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	if (n <= 0)
		return n < 0 ? -errno : -EPIPE;
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	if (!c || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
	    c->cmsg_len != CMSG_LEN(sizeof(int)))
		return -EPROTO;
	int fd;
	memcpy(&fd, CMSG_DATA(c), sizeof(fd));
	return fd;
}

/* "ro,...,fsname=<name>" with the characters fusermount3 would split on
 * escaped. */
static int fusermount_options(const struct kmount_opts *o, struct buf *out)
{
	int r = buf_adds(out, "ro,nosuid,nodev,default_permissions,subtype=strata,fsname=");
	for (const char *p = o->fsname; r == 0 && *p; p++) {
		if (*p == ',' || *p == '\\')
			r = buf_addch(out, '\\');
		if (r == 0)
			r = buf_addch(out, *p);
	}
	if (r == 0 && o->allow_other)
		r = buf_adds(out, ",allow_other");
	return r;
}

static int open_unprivileged(const struct kmount_opts *o, struct kmount *km, struct strata_error *err)
{
	struct buf opts = BUF_INIT;
	struct helper h;
	int sv[2], r;
	if (fusermount_options(o, &opts) < 0)
		return error_set(err, -ENOMEM, "out of memory");
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		buf_release(&opts);
		return error_errno(err, -errno, "cannot mount '%s'", o->path);
	}
	char *argv[] = { "fusermount3", "-o", opts.data, "--", (char *)o->path, NULL };
	r = helper_start(argv, sv[1], &h, err);
	close(sv[1]);
	if (r < 0)
		goto out;
	int fd = receive_fd(sv[0]);
	close(sv[0]);
	sv[0] = -1;
	r = helper_finish(&h, "mount", o->path, err);
	if (r < 0) {
		if (fd >= 0)
			close(fd);
		/* fusermount3 opens the device with the user's rights: a device
		 * only root may open means FUSE is root's alone on this machine. */
		struct stat st;
		if (access("/dev/fuse", R_OK | W_OK) < 0 && stat("/dev/fuse", &st) == 0) {
			error_clear(err);
			error_set(err, r, "cannot mount '%s': /dev/fuse (mode %04o, owner uid %u) may not be opened by "
				  "uid %u, so FUSE is root's only here; make it 0666 (as Debian's udev rule does) or "
				  "run strata as root", o->path, (unsigned)(st.st_mode & 07777), (unsigned)st.st_uid,
				  (unsigned)getuid());
		}
		goto out;
	}
	if (fd < 0) {
		r = error_errno(err, fd, "cannot mount '%s': fusermount3 sent no connection", o->path);
		goto out;
	}
	km->fuse_fd = fd;
	km->attached = 1;
out:
	if (sv[0] >= 0)
		close(sv[0]);
	buf_release(&opts);
	return r;
}

static int detach_unprivileged(struct kmount *km)
{
	struct strata_error err = STRATA_ERROR_INIT;
	struct helper h;
	char *argv[] = { "fusermount3", "-u", "-z", "--", km->path, NULL };
	int r = helper_start(argv, -1, &h, &err);
	if (r == 0)
		r = helper_finish(&h, "unmount", km->path, &err);
	if (r < 0)
		log_warn("%s", err.msg);
	return r;
}

/* --- the new mount API ------------------------------------------------------ */

/* The kernel's own words on why fsconfig failed, when it left any. */
static void fs_log(int fsfd, char *out, size_t len)
{
	char line[512];
	ssize_t n;
	out[0] = '\0';
	while ((n = read(fsfd, line, sizeof(line) - 1)) > 0) {
		line[n] = '\0';
		if (line[n - 1] == '\n')
			line[n - 1] = '\0';
		/* "e fuse: ..." is an error, "w"/"i" are less. */
		if (line[0] == 'e' && line[1] == ' ')
			snprintf(out, len, ": %s", line + 2);
	}
}

static int set_string(int fsfd, const char *key, const char *value)
{
	return fsconfig(fsfd, FSCONFIG_SET_STRING, key, value, 0) < 0 ? -errno : 0;
}

static int set_flag(int fsfd, const char *key)
{
	return fsconfig(fsfd, FSCONFIG_SET_FLAG, key, NULL, 0) < 0 ? -errno : 0;
}

/* -EPERM (and -ENOSYS) mean: try the unprivileged way. */
static int open_privileged(const struct kmount_opts *o, struct kmount *km, struct strata_error *err)
{
	char num[32], why[512];
	int r;
	int fsfd = fsopen("fuse", FSOPEN_CLOEXEC);
	if (fsfd < 0 && (errno == EPERM || errno == ENOSYS))
		return -errno;
	if (fsfd < 0)
		return error_errno(err, -errno, "cannot mount '%s': fsopen", o->path);
	int fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		r = error_errno(err, -errno, "cannot mount '%s': cannot open /dev/fuse", o->path);
		close(fsfd);
		return r;
	}
	snprintf(num, sizeof(num), "%d", fd);
	r = set_string(fsfd, "source", o->fsname);
	r = r ?: set_string(fsfd, "subtype", "strata");
	r = r ?: set_string(fsfd, "fd", num);
	r = r ?: set_string(fsfd, "rootmode", "40000");
	snprintf(num, sizeof(num), "%u", (unsigned)o->uid);
	r = r ?: set_string(fsfd, "user_id", num);
	snprintf(num, sizeof(num), "%u", (unsigned)o->gid);
	r = r ?: set_string(fsfd, "group_id", num);
	r = r ?: set_flag(fsfd, "default_permissions");
	r = r ?: set_flag(fsfd, "ro");
	if (r == 0 && o->allow_other)
		r = set_flag(fsfd, "allow_other");
	if (r == 0 && fsconfig(fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		r = -errno;
	if (r < 0) {
		fs_log(fsfd, why, sizeof(why));
		r = error_errno(err, r, "cannot mount '%s'%s", o->path, why);
		goto fail;
	}
	/* INIT is queued now; the mount goes on the tree once it is answered. */
	int mfd = fsmount(fsfd, FSMOUNT_CLOEXEC, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
	if (mfd < 0) {
		r = error_errno(err, -errno, "cannot mount '%s': fsmount", o->path);
		goto fail;
	}
	close(fsfd);
	km->fuse_fd = fd;
	km->mnt_fd = mfd;
	km->privileged = 1;
	return 0;
fail:
	close(fd);
	close(fsfd);
	return r;
}

int kmount_open(const struct kmount_opts *o, struct kmount *km, struct strata_error *err)
{
	memset(km, 0, sizeof(*km));
	km->fuse_fd = km->mnt_fd = -1;
	if (!(km->path = strdup(o->path)))
		return error_set(err, -ENOMEM, "out of memory");
	int r = open_privileged(o, km, err);
	if (r == -EPERM || r == -ENOSYS) {
		log_debug("mounting '%s' through fusermount3 (%s)", o->path, strerror(-r));
		r = open_unprivileged(o, km, err);
	}
	if (r < 0)
		kmount_release(km);
	return r;
}

int kmount_attach(struct kmount *km, const struct kmount_opts *o, struct strata_error *err)
{
	if (!km->privileged || km->attached)
		return 0;
	if (move_mount(km->mnt_fd, "", o->dirfd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return error_errno(err, -errno, "cannot mount '%s'", o->path);
	km->attached = 1;
	return 0;
}

/* 1 when path still leads, without a symbolic link, to a mount whose
 * device is dev. */
static int path_is_ours(const char *path, dev_t dev)
{
	struct open_how how = { .flags = O_PATH | O_CLOEXEC | O_NOFOLLOW,
				.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS };
	int fd = (int)syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof(how));
	if (fd < 0)
		return 0;
	uint64_t id;
	dev_t got;
	char type[64];
	uid_t owner;
	int ours = kmount_mnt_id(fd, &id) == 0 && kmount_lookup(id, &got, type, sizeof(type), &owner) == 0 &&
		   got == dev;
	close(fd);
	return ours;
}

int kmount_detach(struct kmount *km)
{
	if (!km->attached)
		return 0;
	km->attached = 0;
	if (km->privileged) {
		/* Through the mount's own descriptor: wherever it is now. */
		char self[64];
		snprintf(self, sizeof(self), "/proc/self/fd/%d", km->mnt_fd);
		return umount2(self, MNT_DETACH) < 0 ? -errno : 0;
	}
	/* fusermount3 takes a path: it must still lead to this mount. If it
	 * does not, the mount is left where it went; closing the connection
	 * ends it there. */
	if (km->dev && !path_is_ours(km->path, km->dev)) {
		log_warn("'%s' no longer leads to this mount: not unmounting by that path", km->path);
		return -ESTALE;
	}
	return detach_unprivileged(km);
}

void kmount_release(struct kmount *km)
{
	if (km->attached)
		kmount_detach(km);
	if (km->mnt_fd >= 0)
		close(km->mnt_fd);
	if (km->fuse_fd >= 0)
		close(km->fuse_fd);
	free(km->path);
	memset(km, 0, sizeof(*km));
	km->fuse_fd = km->mnt_fd = -1;
}

/* --- /proc ------------------------------------------------------------------ */

int kmount_mnt_id(int fd, uint64_t *id)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	FILE *f = fopen(path, "re");
	if (!f)
		return -errno;
	char line[256];
	int r = -ENOENT;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "mnt_id: %" SCNu64, id) == 1) {
			r = 0;
			break;
		}
	fclose(f);
	return r;
}

int kmount_lookup(uint64_t id, dev_t *dev, char *fstype, size_t len, uid_t *owner)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char *line = NULL;
	size_t cap = 0;
	int r = -ENOENT;
	if (!f)
		return -errno;
	while (r == -ENOENT && getline(&line, &cap, f) > 0) {
		uint64_t mid;
		unsigned maj, min;
		if (sscanf(line, "%" SCNu64 " %*u %u:%u", &mid, &maj, &min) != 3 || mid != id)
			continue;
		const char *sep = strstr(line, " - ");
		char type[256] = "", source[4096], super[4096] = "";
		if (!sep || sscanf(sep + 3, "%255s %4095s %4095s", type, source, super) < 1)
			continue;
		*dev = makedev(maj, min);
		snprintf(fstype, len, "%s", type);
		*owner = (uid_t)-1;
		const char *u = strstr(super, "user_id=");
		if (u && (u == super || u[-1] == ','))
			*owner = (uid_t)strtoul(u + 8, NULL, 10);
		r = 0;
	}
	free(line);
	fclose(f);
	return r;
}
