/* mount: the lifecycle of one FUSE mount — checks, session, serving
 * thread, the wait for the mount to be live, and an unmount that never
 * waits for a busy reader. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "catalog.h"
#include "log.h"
#include "ops.h"
#include "tree.h"
#include "util.h"

#define DEFAULT_CACHE (64u << 20)

static void fuse_log_sink(enum fuse_log_level level, const char *fmt, va_list ap)
{
	char line[1024];
	vsnprintf(line, sizeof(line), fmt, ap);
	size_t n = strlen(line);
	while (n && line[n - 1] == '\n')
		line[--n] = '\0';
	if (level <= FUSE_LOG_ERR)
		log_error("fuse: %s", line);
	else if (level <= FUSE_LOG_NOTICE)
		log_info("fuse: %s", line);
	else
		log_debug("fuse: %s", line);
}

/* "strata:<ref>" with the characters libfuse's option parser would split
 * on escaped. */
static int build_options(const struct mount_options *o, struct buf *out)
{
	int r = buf_adds(out, "ro,nosuid,nodev,default_permissions,subtype=strata,fsname=strata:");
	for (const char *p = o && o->ref ? o->ref : ""; r == 0 && *p; p++) {
		if (*p == ',' || *p == '\\')
			r = buf_addch(out, '\\');
		if (r == 0)
			r = buf_addch(out, *p);
	}
	if (r == 0 && o && o->allow_other)
		r = buf_adds(out, ",allow_other");
	return r;
}

/* 1 when path is the root of a mount. */
static int is_mount_root(const char *path, const struct stat *st)
{
#ifdef STATX_ATTR_MOUNT_ROOT
	struct statx sx;
	if (statx(AT_FDCWD, path, AT_NO_AUTOMOUNT, STATX_BASIC_STATS, &sx) == 0 &&
	    (sx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT))
		return !!(sx.stx_attributes & STATX_ATTR_MOUNT_ROOT);
#endif
	struct stat parent;
	char *up = path_join(path, "..");
	int r = up && stat(up, &parent) == 0 &&
		(parent.st_dev != st->st_dev || parent.st_ino == st->st_ino);
	free(up);
	return r;
}

static int check_mountpoint(const char *path, struct strata_error *err)
{
	struct stat st;
	if (stat(path, &st) < 0) {
		if (errno == ENOTCONN)
			return error_set(err, -EBUSY, "'%s' is already a mount point (of a process that is gone; "
				       "strata umount clears it)", path);
		return error_errno(err, -errno, "mount point '%s'", path);
	}
	if (!S_ISDIR(st.st_mode))
		return error_set(err, -ENOTDIR, "mount point '%s' is not a directory", path);
	if (is_mount_root(path, &st))
		return error_set(err, -EBUSY, "'%s' is already a mount point", path);
	return 0;
}

static void *loop_main(void *arg)
{
	struct mount *m = arg;
	/* Signals are the embedding program's business, not the workers'. */
	sigset_t all;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	struct fuse_loop_config *cfg = fuse_loop_cfg_create();
	if (!cfg) {
		m->loop_result = -ENOMEM;
	} else {
		fuse_loop_cfg_set_clone_fd(cfg, 1);
		fuse_loop_cfg_set_max_threads(cfg, m->threads);
		fuse_loop_cfg_set_idle_threads(cfg, m->threads);
		m->loop_result = fuse_session_loop_mt(m->se, cfg);
		fuse_loop_cfg_destroy(cfg);
	}
	atomic_store(&m->loop_done, 1);
	return NULL;
}

/* The kernel gives a fuse mount 128 KiB of readahead whatever init asks;
 * 4 MiB lets a sequential reader keep several 1 MiB reads in flight (first
 * read of a 250 MiB file: 295 -> 547 MB/s here). Best effort: needs root. */
static void set_readahead(dev_t dev)
{
	char path[64];
	snprintf(path, sizeof(path), "/sys/class/bdi/%u:%u/read_ahead_kb", major(dev), minor(dev));
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (write(fd, "4096", 4) != 4)
		log_debug("cannot set readahead of the mount: %s", strerror(errno));
	close(fd);
}

static int image_totals(struct mount *m, struct strata_error *err)
{
	for (unsigned i = 0; i < imageview_layers(m->v); i++) {
		struct layer_record rec;
		int r = catalog_get_layer(m->st->idx, imageview_layer_digest(m->v, i), &rec, err);
		if (r < 0)
			return r;
		m->image_bytes += rec.size;
		m->image_entries += rec.entries;
	}
	return 0;
}

int mount_start(struct store *st, const char *digest, const char *mountpoint,
		const struct mount_options *o, struct mount **out, struct strata_error *err)
{
	struct buf opts = BUF_INIT;
	char *argv[] = { "strata", "-o", NULL, NULL };
	struct fuse_args args = FUSE_ARGS_INIT(3, argv);
	int r, mounted = 0;
	struct mount *m = calloc(1, sizeof(*m));
	if (!m)
		return error_set(err, -ENOMEM, "out of memory");
	m->st = st;
	pthread_mutex_init(&m->tree_lock, NULL);

	if ((r = check_mountpoint(mountpoint, err)) < 0)
		goto fail;
	if (!(m->mountpoint = realpath(mountpoint, NULL))) {
		r = error_errno(err, -errno, "mount point '%s'", mountpoint);
		goto fail;
	}
	int fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		r = error_errno(err, -errno, "cannot open /dev/fuse");
		goto fail;
	}
	close(fd);

	if ((r = imageview_open(st, digest, &m->v, err)) < 0 || (r = image_totals(m, err)) < 0 ||
	    (r = inode_table_new(m->v, &m->itab, err)) < 0)
		goto fail;
	if (!(m->cache = chunkcache_new(st->cs, o && o->cache_bytes ? o->cache_bytes : DEFAULT_CACHE))) {
		r = error_set(err, -ENOMEM, "out of memory");
		goto fail;
	}
	chunkcache_set_verify(m->cache, !(o && o->no_verify));
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	m->threads = o && o->threads ? o->threads : (unsigned)(2 * (ncpu > 0 ? ncpu : 1));

	if (build_options(o, &opts) < 0) {
		r = error_set(err, -ENOMEM, "out of memory");
		goto fail;
	}
	argv[2] = opts.data;
	fuse_set_log_func(fuse_log_sink);
	m->se = fuse_session_new(&args, &ops_lowlevel, sizeof(ops_lowlevel), m);
	if (!m->se) {
		r = error_set(err, -EINVAL, "cannot set up a fuse session for '%s'", m->mountpoint);
		goto fail;
	}
	if (fuse_session_mount(m->se, m->mountpoint) != 0) {
		r = error_set(err, -EIO, "cannot mount '%s' (see the log for why)", m->mountpoint);
		goto fail;
	}
	mounted = 1;
	if ((r = -pthread_create(&m->loop_thread, NULL, loop_main, m)) < 0) {
		error_errno(err, r, "cannot start the fuse thread");
		goto fail;
	}
	m->loop_started = 1;

	/* The kernel answers this only once INIT went through: then it is live. */
	struct stat root;
	if (stat(m->mountpoint, &root) < 0) {
		r = error_errno(err, -errno, "mount of '%s' did not come up", m->mountpoint);
		goto fail;
	}
	if (!S_ISDIR(root.st_mode) || root.st_ino != 1) {
		r = error_set(err, -EIO, "mount of '%s' did not come up: its root is another file system",
			      m->mountpoint);
		goto fail;
	}
	m->dev = root.st_dev;
	set_readahead(m->dev);
	buf_release(&opts);
	fuse_opt_free_args(&args);
	log_debug("mounted %s at '%s'", digest, m->mountpoint);
	*out = m;
	return 0;
fail:
	if (mounted && !m->loop_started) {
		umount2(m->mountpoint, MNT_DETACH);
		fuse_session_unmount(m->se);
	}
	buf_release(&opts);
	fuse_opt_free_args(&args);
	mount_stop(m);
	return r;
}

void mount_stop(struct mount *m)
{
	if (!m)
		return;
	if (m->loop_started) {
		if (!atomic_load(&m->loop_done)) {
			fuse_session_exit(m->se);
			/* MNT_FORCE aborts the connection first (fuse's umount_begin):
			 * busy readers get ENOTCONN instead of holding us up, and the
			 * workers' reads of /dev/fuse end. If it is still busy, detach. */
			if (umount2(m->mountpoint, MNT_FORCE) < 0 && errno != EINVAL)
				umount2(m->mountpoint, MNT_DETACH);
		}
		pthread_join(m->loop_thread, NULL);
		fuse_session_unmount(m->se); /* the connection is gone: only closes */
	}
	if (m->se)
		fuse_session_destroy(m->se);
	chunkcache_free(m->cache);
	if (m->itab)
		tree_cursor_free(m);
	inode_table_free(m->itab);
	imageview_free(m->v);
	pthread_mutex_destroy(&m->tree_lock);
	free(m->mountpoint);
	free(m);
	/* A walked million-entry tree leaves hundreds of megabytes free in
	 * the FUSE threads' arenas: hand them back to the system. */
	malloc_trim(0);
}

int mount_alive(struct mount *m)
{
	return !atomic_load(&m->loop_done);
}

const char *mount_point(const struct mount *m)
{
	return m->mountpoint;
}

const char *const mount_op_names[MOP_COUNT] = {
	"lookup", "getattr", "readlink", "open", "read", "opendir", "readdir", "statfs", "getxattr", "listxattr",
};

void mount_get_stats(struct mount *m, struct mount_stats *out)
{
	struct chunkcache_stats cs;
	chunkcache_get_stats(m->cache, &cs);
	out->errors = 0;
	for (int i = 0; i < MOP_COUNT; i++) {
		out->ops[i] = atomic_load(&m->ops[i]);
		out->op_errors[i] = atomic_load(&m->op_errors[i]);
		out->errors += out->op_errors[i];
	}
	out->reads = out->ops[MOP_READ];
	out->lookups = out->ops[MOP_LOOKUP];
	out->readdirs = out->ops[MOP_READDIR];
	out->getattrs = out->ops[MOP_GETATTR];
	out->bytes_read = atomic_load(&m->bytes_read);
	out->chunk_hits = cs.hits;
	out->chunk_misses = cs.misses;
}

/* 1 when mountpoint is a strata mount (fstype fuse.strata), from mountinfo:
 * "id parent maj:min root mountpoint opts ... - fstype source superopts". */
static int is_strata_mount(const char *mountpoint)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char *line = NULL;
	size_t cap = 0;
	int found = 0;
	if (!f)
		return 0;
	while (!found && getline(&line, &cap, f) > 0) {
		char mp[4096], fstype[256];
		const char *sep = strstr(line, " - ");
		if (!sep || sscanf(line, "%*s %*s %*s %*s %4095s", mp) != 1 ||
		    sscanf(sep + 3, "%255s", fstype) != 1)
			continue;
		/* mountinfo escapes space, tab, newline and backslash as \ooo. */
		char un[4096];
		size_t j = 0;
		for (size_t i = 0; mp[i] && j + 1 < sizeof(un); i++) {
			if (mp[i] == '\\' && mp[i + 1] >= '0' && mp[i + 1] <= '3' && mp[i + 2] && mp[i + 3]) {
				un[j++] = (char)((mp[i + 1] - '0') * 64 + (mp[i + 2] - '0') * 8 + (mp[i + 3] - '0'));
				i += 3;
			} else {
				un[j++] = mp[i];
			}
		}
		un[j] = '\0';
		found = !strcmp(un, mountpoint) && !strcmp(fstype, "fuse.strata");
	}
	free(line);
	fclose(f);
	return found;
}

int mount_force_unmount(const char *mountpoint, struct strata_error *err)
{
	/* Never anything but a strata mount: the daemon runs as root. */
	if (!is_strata_mount(mountpoint))
		return error_set(err, -EINVAL, "'%s' is not a strata mount point", mountpoint);
	if (umount2(mountpoint, MNT_DETACH) == 0)
		return 0;
	if (errno == EINVAL)
		return error_set(err, -EINVAL, "'%s' is not a mount point", mountpoint);
	if (errno == ENOENT)
		return error_errno(err, -ENOENT, "cannot unmount '%s'", mountpoint);
	if (errno != EPERM)
		return error_errno(err, -errno, "cannot unmount '%s'", mountpoint);
	/* Not privileged: the setuid helper may unmount our own mounts. */
	pid_t pid = fork();
	if (pid < 0)
		return error_errno(err, -errno, "cannot unmount '%s'", mountpoint);
	if (pid == 0) {
		int nul = open("/dev/null", O_RDWR);
		if (nul >= 0) {
			dup2(nul, 0);
			dup2(nul, 1);
		}
		execlp("fusermount3", "fusermount3", "-u", "-z", "--", mountpoint, (char *)NULL);
		_exit(127);
	}
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return error_set(err, -EPERM, "cannot unmount '%s': fusermount3 -u -z failed", mountpoint);
	return 0;
}
