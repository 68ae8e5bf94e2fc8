/* daemon-mounts: the mounts the daemon serves.
 *
 *   GET    /v1/mounts               [{mountpoint, ref, digest, since, uid}]: a user sees its own
 *   POST   /v1/mounts               {ref, mountpoint, no_pull?, platform?, auth?, source_fd?,
 *                                    temporary?} -> {mountpoint, ...}
 *   DELETE /v1/mounts?path=MP       {mountpoint}
 *
 * A mount point is resolved once, as the caller reaches it (caller.h), and
 * mounted through that descriptor; the record keeps its canonical path and
 * the kernel's identity of the mount (mount id, device). An unmount request
 * is matched by that identity, not by how the path is spelt, and the mount
 * is taken off through its own descriptor (fuse/mount.h), so a path swapped
 * for a symbolic link in between leads nowhere it should not.
 *
 * STORE/mounts lists the live mounts, one per line
 * ("<mnt_id> <major>:<minor> <uid> <temporary> <path, \-escaped>"): a daemon
 * that starts after one that died unmounts what that one left. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/openat2.h>

#include "src/store/cache.h"
#include "src/store/catalog.h"
#include "daemon-impl.h"
#include "src/view/imageinfo.h"
#include "src/base/log.h"
#include "fuse/mount.h"
#include "src/base/util.h"

#define MOUNTS_FILE "mounts"

struct served_mount {
	char *mountpoint;            /* canonical */
	char *ref;
	char digest[DIGEST_STR_MAX];
	int64_t since;
	uid_t uid;                   /* who asked for it */
	int temporary;               /* a directory of its own, made for one command */
	uint64_t mnt_id;
	dev_t dev;
	struct mount *m;
	struct served_mount *next;
};

/* --- records -------------------------------------------------------------- */

static json_t *mount_json(const struct served_mount *m)
{
	return json_pack("{s:s, s:s, s:s, s:o, s:I}", "mountpoint", m->mountpoint, "ref", m->ref, "digest",
			 m->digest, "since", imageinfo_time(m->since), "uid", (json_int_t)m->uid);
}

/* A path with space, newline and backslash escaped, for one line. */
static int add_escaped(struct buf *b, const char *s)
{
	int r = 0;
	for (; *s && r == 0; s++)
		r = (*s == ' ' || *s == '\n' || *s == '\\') ? buf_addf(b, "\\%03o", (unsigned char)*s)
							     : buf_addch(b, *s);
	return r;
}

static void unescape(char *s)
{
	char *o = s;
	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' && s[3] >= '0' &&
		    s[3] <= '7') {
			*o++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
}

/* Rewrites STORE/mounts from the list. Called with d->lock held. */
static void save_locked(struct daemon *d)
{
	struct buf b = BUF_INIT;
	int r = 0;
	for (struct served_mount *m = d->mounts; m && r == 0; m = m->next) {
		r = buf_addf(&b, "%llu %u:%u %u %d ", (unsigned long long)m->mnt_id, major(m->dev), minor(m->dev),
			     (unsigned)m->uid, m->temporary);
		r = r ?: add_escaped(&b, m->mountpoint);
		r = r ?: buf_addch(&b, '\n');
	}
	char *path = path_join(d->st->dir, MOUNTS_FILE);
	if (r == 0 && path)
		r = write_file_atomic_at(AT_FDCWD, path, b.data, b.len, 0600, 0);
	if (r < 0)
		log_warn("cannot record the mounts in '%s': %s", path ? path : MOUNTS_FILE, strerror(-r));
	free(path);
	buf_release(&b);
}

int daemon_mounted_digest(struct daemon *d, const char *digest, char *mountpoint, size_t len)
{
	int found = 0;
	pthread_mutex_lock(&d->lock);
	for (struct served_mount *m = d->mounts; m && !found; m = m->next)
		if (!strcmp(m->digest, digest) && mount_alive(m->m)) {
			snprintf(mountpoint, len, "%s", m->mountpoint);
			found = 1;
		}
	pthread_mutex_unlock(&d->lock);
	return found;
}

/* Pins (or unpins) every layer of an image: a live mount's content stays. */
static void pin_image(struct daemon *d, const char *digest, int pin)
{
	json_t *img = NULL, *l;
	size_t i;
	if (catalog_get_image(d->st->idx, digest, &img, NULL) < 0)
		return;
	json_array_foreach(json_object_get(img, "layers"), i, l) {
		const char *id = json_string_value(json_object_get(l, "diff_id"));
		if (id && pin)
			cache_pin(d->st->cache, id);
		else if (id)
			cache_unpin(d->st->cache, id);
	}
	json_decref(img);
}

static void free_served(struct daemon *d, struct served_mount *m)
{
	struct mount_stats ms;
	mount_get_stats(m->m, &ms);
	mount_stop(m->m);
	metrics_retire_mount(d->metrics, ms.ops, ms.op_errors, MOP_COUNT, ms.bytes_read);
	pin_image(d, m->digest, 0);
	cache_touch_image(d->st->cache, m->digest);
	free(m->mountpoint);
	free(m->ref);
	free(m);
}

void daemon_mounts_reap(struct daemon *d)
{
	struct served_mount *dead = NULL;
	pthread_mutex_lock(&d->lock);
	for (struct served_mount **p = &d->mounts; *p;) {
		struct served_mount *m = *p;
		if (mount_alive(m->m)) {
			p = &m->next;
			continue;
		}
		*p = m->next;
		m->next = dead;
		dead = m;
	}
	if (dead)
		save_locked(d);
	pthread_mutex_unlock(&d->lock);
	int trim = dead != NULL;
	while (dead) {
		struct served_mount *m = dead;
		dead = m->next;
		log_info("%s was unmounted from outside", m->mountpoint);
		free_served(d, m);
	}
	if (trim)
		malloc_trim(0);
}

/* --- handlers --------------------------------------------------------------- */

void daemon_mounts_list(void *ctx, const struct http_request *req, json_t *body, struct http_conn *c)
{
	struct daemon *d = ctx;
	struct caller who;
	(void)body;
	daemon_caller(d, req, &who);
	daemon_mounts_reap(d);
	json_t *out = json_array();
	pthread_mutex_lock(&d->lock);
	for (struct served_mount *m = d->mounts; m; m = m->next)
		if (who.role >= CALLER_ADMIN || m->uid == who.uid)
			json_array_append_new(out, mount_json(m));
	pthread_mutex_unlock(&d->lock);
	http_reply_json(c, 200, out);
	json_decref(out);
}

void daemon_mount(void *ctx, const struct http_request *req, json_t *body, struct http_conn *c)
{
	struct daemon *d = ctx;
	const char *ref = json_string_value(json_object_get(body, "ref"));
	const char *mp = json_string_value(json_object_get(body, "mountpoint"));
	struct strata_error err = STRATA_ERROR_INIT;
	char digest[DIGEST_STR_MAX];
	struct caller who;
	struct mount_target t = { .dirfd = -1 };
	char *canon = NULL;
	struct served_mount *sm = NULL;
	int r;

	if (!ref || !mp || mp[0] != '/') {
		http_reply_error(c, 400, "mount: 'ref' and an absolute 'mountpoint' are needed");
		return;
	}
	daemon_caller(d, req, &who);
	daemon_mounts_reap(d);
	/* Where first: a mount point the caller may not use costs no pull. */
	r = caller_open_mountpoint(&who, mp, &t.dirfd, &canon, &t.uid, &t.gid, &err);
	if (r == -EACCES) {
		daemon_refuse(d, &who, c, "mount", err.msg);
		return;
	}
	if (r < 0) {
		http_reply_error(c, http_status_of(r), err.msg);
		return;
	}
	t.path = canon;
	r = daemon_image_for_mount(d, req, body, digest, &err);
	if (r == -EACCES) {
		daemon_refuse(d, &who, c, "mount", err.msg);
		goto out;
	}
	if (r < 0) {
		http_reply_error(c, http_status_of(r), err.msg);
		goto out;
	}
	if (!(sm = calloc(1, sizeof(*sm))) || !(sm->ref = strdup(ref))) {
		http_reply_error(c, 500, "out of memory");
		goto out;
	}
	snprintf(sm->digest, sizeof(sm->digest), "%s", digest);
	sm->uid = who.uid;
	sm->temporary = json_is_true(json_object_get(body, "temporary"));
	struct mount_options mo = { .ref = ref, .allow_other = d->conf->allow_other, .cache_bytes = 64u << 20,
				    .refetch = d->refetch };
	pin_image(d, digest, 1);
	cache_touch_image(d->st->cache, digest);
	if ((r = mount_start(d->st, digest, &t, &mo, &sm->m, &err)) < 0) {
		pin_image(d, digest, 0);
		http_reply_error(c, http_status_of(r), err.msg);
		goto out;
	}
	sm->mountpoint = canon;
	canon = NULL;
	sm->since = now_unix();
	mount_identity(sm->m, &sm->mnt_id, &sm->dev);
	pthread_mutex_lock(&d->lock);
	sm->next = d->mounts;
	d->mounts = sm;
	d->mounts_total++;
	save_locked(d);
	pthread_mutex_unlock(&d->lock);
	log_info("mounted %s (%s) at %s for uid %u", ref, digest, sm->mountpoint, (unsigned)who.uid);
	json_t *out = mount_json(sm);
	http_reply_json(c, 200, out);
	json_decref(out);
	sm = NULL;
out:
	if (sm) {
		free(sm->ref);
		free(sm);
	}
	if (t.dirfd >= 0)
		close(t.dirfd);
	free(canon);
}

/* 1 when path is among the mounts recovered at start (and forgets it). */
static int take_recovered(struct daemon *d, const char *path)
{
	int found = 0;
	pthread_mutex_lock(&d->lock);
	for (size_t i = 0; i < d->n_recovered && !found; i++)
		if (!strcmp(d->recovered[i], path)) {
			free(d->recovered[i]);
			d->recovered[i] = d->recovered[--d->n_recovered];
			found = 1;
		}
	pthread_mutex_unlock(&d->lock);
	return found;
}

void daemon_umount(void *ctx, const struct http_request *req, json_t *body, struct http_conn *c)
{
	struct daemon *d = ctx;
	char mp[PATH_MAX], *canon = NULL;
	struct strata_error err = STRATA_ERROR_INIT;
	struct caller who;
	uint64_t id = 0;
	dev_t dev = 0;
	int fd = -1;
	(void)body;
	if (http_need_param(req, c, "umount", "path", mp, sizeof(mp)) < 0)
		return;
	daemon_caller(d, req, &who);
	daemon_mounts_reap(d);
	int r = caller_resolve(&who, mp, &fd, &canon, &err);
	if (r == -EACCES) {
		daemon_refuse(d, &who, c, "umount", err.msg);
		return;
	}
	if (r < 0) {
		http_reply_error(c, http_status_of(r), err.msg);
		return;
	}
	/* Ours is the mount the path leads to now, by the kernel's id. */
	struct served_mount *found = NULL;
	int other = 0;
	if (mount_identity_of(fd, &id, &dev) == 0) {
		pthread_mutex_lock(&d->lock);
		for (struct served_mount **p = &d->mounts; *p; p = &(*p)->next) {
			if ((*p)->mnt_id != id || (*p)->dev != dev)
				continue;
			if (who.role < CALLER_ADMIN && (*p)->uid != who.uid) {
				other = 1;
				break;
			}
			found = *p;
			*p = found->next;
			save_locked(d);
			break;
		}
		pthread_mutex_unlock(&d->lock);
	}
	if (other) {
		daemon_refuse(d, &who, c, "umount", "it is another user's mount");
		goto out;
	}
	if (found) {
		log_info("unmounting %s (uid %u)", found->mountpoint, (unsigned)who.uid);
		free_served(d, found);
	} else if (take_recovered(d, canon)) {
		log_info("%s was unmounted when this daemon started (uid %u)", canon, (unsigned)who.uid);
	} else if ((r = mount_force_unmount(fd, canon, who.role >= CALLER_ADMIN ? (uid_t)-1 : who.uid, &err)) < 0) {
		/* Not ours: perhaps left by a daemon that died. */
		if (r == -EACCES)
			daemon_refuse(d, &who, c, "umount", err.msg);
		else
			http_reply_error(c, http_status_of(r), err.msg);
		goto out;
	} else {
		log_info("unmounted %s, left by a process that is gone (uid %u)", canon, (unsigned)who.uid);
	}
	json_t *out = json_pack("{s:s}", "mountpoint", canon);
	http_reply_json(c, 200, out);
	json_decref(out);
	/* What the mount's tree took, back to the system once the caller has
	 * its answer (mount.h). */
	if (found)
		malloc_trim(0);
out:
	close(fd);
	free(canon);
}

/* --- life ---------------------------------------------------------------------- */

void daemon_mounts_metrics(struct daemon *d, struct metrics_live *live)
{
	pthread_mutex_lock(&d->lock);
	for (struct served_mount *m = d->mounts; m; m = m->next) {
		struct mount_stats ms;
		if (!mount_alive(m->m))
			continue;
		mount_get_stats(m->m, &ms);
		for (int i = 0; i < MOP_COUNT; i++) {
			live->ops[i] += ms.ops[i];
			live->op_errors[i] += ms.op_errors[i];
		}
		live->bytes_read += ms.bytes_read;
		live->active_mounts++;
	}
	pthread_mutex_unlock(&d->lock);
}

void daemon_mounts_stop(struct daemon *d, int record)
{
	pthread_mutex_lock(&d->lock);
	struct served_mount *all = d->mounts;
	d->mounts = NULL;
	if (record)
		save_locked(d);
	pthread_mutex_unlock(&d->lock);
	while (all) {
		struct served_mount *m = all;
		all = m->next;
		free_served(d, m);
	}
	for (size_t i = 0; i < d->n_recovered; i++)
		free(d->recovered[i]);
	free(d->recovered);
	d->recovered = NULL;
	d->n_recovered = 0;
}

/* Removes a temporary mount directory: empty, its owner's, reached
 * without a symbolic link. */
static void remove_temporary(const char *path, uid_t uid)
{
	char *parent = strdup(path), *slash = parent ? strrchr(parent, '/') : NULL;
	if (!slash || slash == parent) {
		free(parent);
		return;
	}
	*slash = '\0';
	struct open_how how = { .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
				.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS };
	int pfd = (int)syscall(SYS_openat2, AT_FDCWD, parent, &how, sizeof(how));
	struct stat st;
	if (pfd >= 0 && fstatat(pfd, slash + 1, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode) &&
	    st.st_uid == uid && unlinkat(pfd, slash + 1, AT_REMOVEDIR) == 0)
		log_info("removed the temporary mount point %s", path);
	if (pfd >= 0)
		close(pfd);
	free(parent);
}

void daemon_mounts_recover(struct daemon *d)
{
	char *path = path_join(d->st->dir, MOUNTS_FILE), *text = NULL;
	size_t len;
	if (!path || read_file(path, 1 << 20, &text, &len) < 0) {
		free(path);
		return;
	}
	for (char *line = text, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		unsigned long long id;
		unsigned maj, min, uid;
		int temporary, off = 0;
		if (sscanf(line, "%llu %u:%u %u %d %n", &id, &maj, &min, &uid, &temporary, &off) != 5 || !off)
			continue;
		char *mp = line + off;
		unescape(mp);
		/* Still there, and still that mount: the path leads, without a
		 * symbolic link, to a strata mount with the recorded identity. */
		struct open_how how = { .flags = O_PATH | O_CLOEXEC | O_NOFOLLOW,
					.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS };
		int fd = (int)syscall(SYS_openat2, AT_FDCWD, mp, &how, sizeof(how));
		uint64_t now_id;
		dev_t now_dev;
		if (fd >= 0 && mount_identity_of(fd, &now_id, &now_dev) == 0 && now_id == id &&
		    now_dev == makedev(maj, min)) {
			struct strata_error err = STRATA_ERROR_INIT;
			if (mount_force_unmount(fd, mp, (uid_t)-1, &err) == 0) {
				log_warn("unmounted %s, left by a daemon of this store that died", mp);
				char **more = realloc(d->recovered, (d->n_recovered + 1) * sizeof(char *));
				if (more && (more[d->n_recovered] = strdup(mp)))
					d->n_recovered++;
				if (more)
					d->recovered = more;
			} else {
				log_warn("%s", err.msg);
			}
		}
		if (fd >= 0)
			close(fd);
		if (temporary)
			remove_temporary(mp, (uid_t)uid);
	}
	free(text);
	unlink(path);
	free(path);
}
