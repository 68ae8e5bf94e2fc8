/* mount: the lifecycle of one FUSE mount — checks, session, serving
 * thread, the wait for the mount to be live, and an unmount that never
 * waits for a busy reader. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <linux/openat2.h>

#include "src/store/layers.h"
#include "src/base/log.h"
#include "mount.h"
#include "ops.h"
#include "tree.h"
#include "src/base/util.h"

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

/* 1 when the directory fd is the root of a mount; -errno when it cannot
 * be told (ENOTCONN: the root of a FUSE mount whose server is gone). */
static int is_mount_root(int fd)
{
	struct statx sx;
	if (statx(fd, "", AT_EMPTY_PATH | AT_NO_AUTOMOUNT, STATX_TYPE, &sx) < 0)
		return -errno;
	if (sx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT)
		return !!(sx.stx_attributes & STATX_ATTR_MOUNT_ROOT);
	return 0;
}

static int check_mountpoint(const struct mount_target *t, struct strata_error *err)
{
	struct stat st;
	if (fstat(t->dirfd, &st) < 0)
		return error_errno(err, -errno, "mount point '%s'", t->path);
	if (!S_ISDIR(st.st_mode))
		return error_set(err, -ENOTDIR, "mount point '%s' is not a directory", t->path);
	int r = is_mount_root(t->dirfd);
	if (r == -ENOTCONN)
		return error_set(err, -EBUSY, "'%s' is already a mount point (of a process that is gone; "
			       "strata umount clears it)", t->path);
	if (r < 0)
		return error_errno(err, r, "mount point '%s'", t->path);
	if (r)
		return error_set(err, -EBUSY, "'%s' is already a mount point", t->path);
	return 0;
}

/* The signal that wakes the session loop's own thread out of its wait, so
 * that it ends the workers and returns even while the mount is busy (a
 * detached mount that somebody still uses never ends the loop by itself). */
static int wake_signal(void)
{
	return SIGRTMIN + 3;
}

static void on_wake(int sig)
{
	(void)sig;
}

static pthread_once_t wake_once = PTHREAD_ONCE_INIT;

static void wake_install(void)
{
	struct sigaction sa = { .sa_handler = on_wake };
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0; /* no SA_RESTART: the wait must return */
	sigaction(wake_signal(), &sa, NULL);
}

static void *loop_main(void *arg)
{
	struct mount *m = arg;
	/* Signals are the embedding program's business, not the workers';
	 * only the wake signal reaches this thread. */
	sigset_t mask;
	sigfillset(&mask);
	sigdelset(&mask, wake_signal());
	pthread_sigmask(SIG_SETMASK, &mask, NULL);
	struct fuse_loop_config *cfg = fuse_loop_cfg_create();
	if (!cfg) {
		m->loop_result = -ENOMEM;
	} else {
		/* A worker of its own descriptor each needs /dev/fuse opened
		 * again, which an unprivileged process may not. */
		fuse_loop_cfg_set_clone_fd(cfg, access("/dev/fuse", R_OK | W_OK) == 0);
		fuse_loop_cfg_set_max_threads(cfg, m->threads);
		fuse_loop_cfg_set_idle_threads(cfg, m->threads);
		m->loop_result = fuse_session_loop_mt(m->se, cfg);
		fuse_loop_cfg_destroy(cfg);
	}
	atomic_store(&m->loop_done, 1);
	pthread_mutex_lock(&m->init_lock);
	pthread_cond_broadcast(&m->init_cond);
	pthread_mutex_unlock(&m->init_lock);
	return NULL;
}

/* Waits until INIT was answered (1), the loop ended (0) or 10 s passed. */
static int wait_for_init(struct mount *m)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 10;
	pthread_mutex_lock(&m->init_lock);
	while (!m->init_done && !atomic_load(&m->loop_done))
		if (pthread_cond_timedwait(&m->init_cond, &m->init_lock, &until) == ETIMEDOUT)
			break;
	int done = m->init_done;
	pthread_mutex_unlock(&m->init_lock);
	return done;
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
		int r = layers_get(m->st->idx, imageview_layer_digest(m->v, i), &rec, err);
		if (r < 0)
			return r;
		m->image_bytes += rec.size;
		m->image_entries += rec.entries;
	}
	return 0;
}

/* Which mount this is, by the kernel's mount id: through the mount's own
 * descriptor, or (fusermount3 mounted it) through the path, which must then
 * lead to a strata mount. */
static int learn_identity(struct mount *m, const struct mount_target *t, struct strata_error *err)
{
	char type[64];
	uid_t owner;
	int fd = m->km.mnt_fd, r;
	if (fd < 0) {
		struct open_how how = { .flags = O_PATH | O_CLOEXEC | O_NOFOLLOW,
					.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS };
		fd = (int)syscall(SYS_openat2, AT_FDCWD, t->path, &how, sizeof(how));
		if (fd < 0)
			return error_errno(err, -errno, "mount of '%s' did not come up", t->path);
	}
	r = kmount_mnt_id(fd, &m->mnt_id);
	if (r == 0)
		r = kmount_lookup(m->mnt_id, &m->dev, type, sizeof(type), &owner);
	if (fd != m->km.mnt_fd)
		close(fd);
	if (r < 0)
		return error_errno(err, r, "mount of '%s' did not come up", t->path);
	if (strcmp(type, "fuse.strata"))
		return error_set(err, -EIO, "mount of '%s' did not come up: its root is another file system (%s)",
				 t->path, type);
	m->km.dev = m->dev;
	return 0;
}

int mount_start(struct store *st, const char *digest, const struct mount_target *t,
		const struct mount_options *o, struct mount **out, struct strata_error *err)
{
	struct buf fsname = BUF_INIT;
	char *argv[] = { "strata", NULL };
	struct fuse_args args = FUSE_ARGS_INIT(1, argv);
	char devfd[32];
	int r;
	struct mount *m = calloc(1, sizeof(*m));
	if (!m)
		return error_set(err, -ENOMEM, "out of memory");
	m->st = st;
	m->km.fuse_fd = m->km.mnt_fd = -1;
	pthread_mutex_init(&m->init_lock, NULL);
	pthread_cond_init(&m->init_cond, NULL);
	pthread_once(&wake_once, wake_install);

	if ((r = check_mountpoint(t, err)) < 0)
		goto fail;
	if ((r = imageview_open(st, digest, &m->v, err)) < 0 || (r = image_totals(m, err)) < 0 ||
	    (r = inode_table_new(m->v, &m->itab, err)) < 0)
		goto fail;
	tree_init(&m->tree, m->itab, m->v);
	if (!(m->cache = chunkcache_new(st->cs, o && o->cache_bytes ? o->cache_bytes : DEFAULT_CACHE))) {
		r = error_set(err, -ENOMEM, "out of memory");
		goto fail;
	}
	/* Every chunk is hashed when it first comes off the disk, and again
	 * only if its file changed since (see CHUNKSTORE_VERIFY_ONCE): the
	 * hash cost more than the rest of a first read together. */
	chunkcache_set_verify(m->cache, o && o->no_verify ? CHUNKSTORE_VERIFY_NONE : CHUNKSTORE_VERIFY_ONCE);
	m->refetch = o ? o->refetch : NULL;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	m->threads = o && o->threads ? o->threads : (unsigned)(2 * (ncpu > 0 ? ncpu : 1));

	fuse_set_log_func(fuse_log_sink);
	m->se = fuse_session_new(&args, &ops_lowlevel, sizeof(ops_lowlevel), m);
	if (!m->se) {
		r = error_set(err, -EINVAL, "cannot set up a fuse session for '%s'", t->path);
		goto fail;
	}
	if (buf_addf(&fsname, "strata:%s", o && o->ref ? o->ref : digest) < 0) {
		r = error_set(err, -ENOMEM, "out of memory");
		goto fail;
	}
	const struct kmount_opts ko = { .dirfd = t->dirfd, .path = t->path, .fsname = fsname.data,
					.uid = t->uid, .gid = t->gid, .allow_other = o && o->allow_other };
	if ((r = kmount_open(&ko, &m->km, err)) < 0)
		goto fail;
	/* libfuse serves a connection it is handed as /dev/fd/N, and closes it. */
	snprintf(devfd, sizeof(devfd), "/dev/fd/%d", m->km.fuse_fd);
	if (fuse_session_mount(m->se, devfd) != 0) {
		r = error_set(err, -EIO, "cannot serve the mount of '%s'", t->path);
		goto fail;
	}
	m->km.fuse_fd = -1;
	if ((r = -pthread_create(&m->loop_thread, NULL, loop_main, m)) < 0) {
		error_errno(err, r, "cannot start the fuse thread");
		goto fail;
	}
	m->loop_started = 1;
	if (!wait_for_init(m)) {
		r = error_set(err, -EIO, "mount of '%s' did not come up: the kernel's INIT never arrived", t->path);
		goto fail;
	}
	if ((r = kmount_attach(&m->km, &ko, err)) < 0 || (r = learn_identity(m, t, err)) < 0)
		goto fail;
	set_readahead(m->dev);
	buf_release(&fsname);
	fuse_opt_free_args(&args);
	log_debug("mounted %s at '%s'", digest, t->path);
	*out = m;
	return 0;
fail:
	buf_release(&fsname);
	fuse_opt_free_args(&args);
	mount_stop(m);
	return r;
}

/* Ends the session loop: it was told to exit; the wake signal takes its
 * thread out of the wait (sent again until it returns, as it may have been
 * between its check and its wait). The workers are cancelled in their reads;
 * one inside a request finishes it first. */
static void end_loop(struct mount *m)
{
	fuse_session_exit(m->se);
	while (!atomic_load(&m->loop_done)) {
		pthread_kill(m->loop_thread, wake_signal());
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += 20 * 1000000;
		if (until.tv_nsec >= 1000000000) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000;
		}
		if (pthread_timedjoin_np(m->loop_thread, NULL, &until) == 0) {
			m->loop_started = 0;
			return;
		}
	}
	pthread_join(m->loop_thread, NULL);
	m->loop_started = 0;
}

void mount_stop(struct mount *m)
{
	if (!m)
		return;
	/* Off the tree first, so that nobody new walks in. */
	kmount_detach(&m->km);
	if (m->loop_started)
		end_loop(m);
	/* Closes the connection: the kernel aborts it, and whoever still uses
	 * the detached mount gets ENOTCONN. */
	if (m->se)
		fuse_session_destroy(m->se);
	kmount_release(&m->km);
	chunkcache_free(m->cache);
	if (m->itab)
		tree_release(&m->tree);
	inode_table_free(m->itab);
	imageview_free(m->v);
	pthread_mutex_destroy(&m->init_lock);
	pthread_cond_destroy(&m->init_cond);
	free(m);
}

int mount_alive(struct mount *m)
{
	return !atomic_load(&m->loop_done);
}

const char *mount_point(const struct mount *m)
{
	return m->km.path;
}

void mount_identity(const struct mount *m, uint64_t *mnt_id, dev_t *dev)
{
	*mnt_id = m->mnt_id;
	*dev = m->dev;
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

int mount_identity_of(int fd, uint64_t *mnt_id, dev_t *dev)
{
	char type[64];
	uid_t owner;
	int r = kmount_mnt_id(fd, mnt_id);
	return r < 0 ? r : kmount_lookup(*mnt_id, dev, type, sizeof(type), &owner);
}

int mount_force_unmount(int fd, const char *path, uid_t owner, struct strata_error *err)
{
	uint64_t id;
	dev_t dev;
	char type[64];
	uid_t mount_owner;
	/* The mount fd is on, found by id: no path is looked up again. */
	if (kmount_mnt_id(fd, &id) < 0 || kmount_lookup(id, &dev, type, sizeof(type), &mount_owner) < 0 ||
	    strcmp(type, "fuse.strata"))
		return error_set(err, -EINVAL, "'%s' is not a strata mount point", path);
	if (is_mount_root(fd) == 0)
		return error_set(err, -EINVAL, "'%s' is not a mount point", path);
	if (owner != (uid_t)-1 && mount_owner != owner)
		return error_set(err, -EACCES, "'%s' is another user's mount", path);
	char self[64];
	snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
	if (umount2(self, MNT_DETACH) == 0)
		return 0;
	if (errno != EPERM)
		return error_errno(err, -errno, "cannot unmount '%s'", path);
	/* Not privileged: fusermount3 unmounts a FUSE mount of this user. */
	struct kmount km = { .fuse_fd = -1, .mnt_fd = -1, .attached = 1, .dev = dev };
	if (!(km.path = strdup(path)))
		return error_set(err, -ENOMEM, "out of memory");
	int r = kmount_detach(&km);
	free(km.path);
	if (r < 0)
		return error_errno(err, r, "cannot unmount '%s'", path);
	return 0;
}
