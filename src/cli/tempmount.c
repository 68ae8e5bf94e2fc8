/* tempmount: see tempmount.h. */
#include "config.h"

#include <errno.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tempmount.h"
#include "src/base/util.h"

int tempmount_open(struct cli *cli, struct client *client, const char *ref, const struct tempmount_opts *o,
		   struct tempmount *tm, struct strata_error *err)
{
	const char *tmp = getenv("TMPDIR");
	char *dir = str_printf("%s/strata-mnt.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	memset(tm, 0, sizeof(*tm));
	if (!dir)
		return error_set(err, -ENOMEM, "out of memory");
	if (!mkdtemp(dir)) {
		int r = error_errno(err, -errno, "cannot create a mount point in '%s'", tmp && *tmp ? tmp : "/tmp");
		free(dir);
		return r;
	}
	char *canon = cli_canonical_ref(ref);
	json_t *body = json_pack("{s:s, s:s, s:b, s:b}", "ref", canon ? canon : ref, "mountpoint", dir, "no_pull",
				 o->no_pull, "temporary", 1);
	free(canon);
	if (o->platform)
		json_object_set_new(body, "platform", json_string(o->platform));
	cli_add_auth(cli, ref, body);
	json_t *out = NULL;
	int status;
	client_set_timeout(client, 0); /* a mount may pull first */
	int fd = cli_attach_source(client, ref, body, err);
	int r = fd < -1 ? fd : client_call(client, "POST", "/v1/mounts", body, &status, &out, err);
	if (fd >= 0)
		close(fd);
	json_decref(body);
	if (r < 0) {
		rmdir(dir);
		free(dir);
		return r;
	}
	snprintf(tm->digest, sizeof(tm->digest), "%s", json_string_value(json_object_get(out, "digest")) ?: "");
	json_decref(out);
	tm->dir = dir;
	return 0;
}

extern char **environ;

/* The daemon that mounted dir died (or cannot be reached): its FUSE mount
 * answers ENOTCONN to everything and nobody else will take it down before
 * the store's next daemon starts. Only such a dead mount is detached —
 * never a live one, which is still its daemon's — lazily, by root
 * directly and by a user through fusermount3 (which checks that the mount
 * is the user's). Best effort: the caller's error stands either way. */
static void detach_dead_mount(const char *dir)
{
	struct stat st;
	if (lstat(dir, &st) == 0 || errno != ENOTCONN)
		return;
	if (umount2(dir, MNT_DETACH | UMOUNT_NOFOLLOW) < 0 && errno == EPERM) {
		char *argv[] = { "fusermount3", "-u", "-z", "-q", (char *)dir, NULL };
		pid_t pid;
		int status;
		if (posix_spawnp(&pid, "fusermount3", NULL, NULL, argv, environ) == 0)
			waitpid(pid, &status, 0);
	}
}

int tempmount_close(struct client *client, struct tempmount *tm, struct strata_error *err)
{
	if (!tm->dir)
		return 0;
	char *esc = client_escape(tm->dir);
	char *path = esc ? str_printf("/v1/mounts?path=%s", esc) : NULL;
	int r = path ? client_call(client, "DELETE", path, NULL, NULL, NULL, err)
		     : error_set(err, -ENOMEM, "out of memory");
	free(path);
	free(esc);
	if (r < 0)
		detach_dead_mount(tm->dir);
	rmdir(tm->dir); /* fails harmlessly while a live mount is on it */
	free(tm->dir);
	tm->dir = NULL;
	return r;
}
