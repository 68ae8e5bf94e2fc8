/* strata mount, umount, mounts: images as read-only file systems, served
 * by the store daemon. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "src/base/util.h"

static int run_mount(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "no-pull", no_argument, NULL, 'n' },
		{ "platform", required_argument, NULL, 'p' },
		{ 0 }
	};
	int no_pull = 0, c;
	const char *platform = NULL;
	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'n': no_pull = 1; break;
		case 'p': platform = optarg; break;
		default: return cli_usage(&cmd_mount, "unknown option");
		}
	}
	if (argc - optind != 2)
		return cli_usage(&cmd_mount, "an image and a mount point are needed");
	const char *ref = argv[optind], *mp = argv[optind + 1];
	struct stat st;
	if (stat(mp, &st) < 0)
		return cli_fail("mount point '%s': %s", mp, errno == ENOENT ? "no such directory" : strerror(errno));
	char *abs = cli_absolute_path(mp);
	if (!abs)
		return cli_fail("out of memory");

	struct strata_error err = STRATA_ERROR_INIT;
	struct client *client = NULL;
	char *canon = cli_canonical_ref(ref);
	json_t *body = json_pack("{s:s, s:s, s:b}", "ref", canon ? canon : ref, "mountpoint", abs,
				 "no_pull", no_pull);
	free(canon);
	json_t *out = NULL;
	int status, rc = 0;
	if (platform)
		json_object_set_new(body, "platform", json_string(platform));
	cli_add_auth(cli, ref, body);
	int fd = -1;
	if (cli_connect(cli, &client, &err) == 0) {
		client_set_timeout(client, 0); /* a mount may pull first */
		fd = cli_attach_source(client, ref, body, &err);
	}
	if (!client || fd < -1 || client_call(client, "POST", "/v1/mounts", body, &status, &out, &err) < 0)
		rc = cli_fail_err(&err);
	else if (cli->verbose)
		printf("%s mounted at %s\n", json_string_value(json_object_get(out, "digest")), abs);
	if (fd >= 0)
		close(fd);
	free(abs);
	json_decref(body);
	json_decref(out);
	client_free(client);
	return rc;
}

static char *mount_path(const char *mountpoint)
{
	/* A mount whose daemon died cannot be resolved: then the path made
	 * absolute as it is spelt; the daemon resolves it again. */
	char *mp = cli_absolute_path(mountpoint);
	char *esc = mp ? client_escape(mp) : NULL;
	char *path = esc ? str_printf("/v1/mounts?path=%s", esc) : NULL;
	free(esc);
	free(mp);
	return path;
}

static int run_umount(struct cli *cli, int argc, char **argv)
{
	int c;
	optind = 0;
	while ((c = getopt(argc, argv, "")) != -1)
		return cli_usage(&cmd_umount, "unknown option");
	if (optind >= argc)
		return cli_usage(&cmd_umount, "no mount point given");
	return cli_delete_each(cli, "umount", argv + optind, argc - optind, mount_path, NULL);
}

static int run_mounts(struct cli *cli, int argc, char **argv)
{
	int json, rc = cli_json_only(cmd_mounts.name, cmd_mounts.usage, argc, argv, &json);
	if (rc)
		return rc;
	json_t *all = NULL;
	rc = cli_get(cli, "/v1/mounts", &all);
	if (rc)
		return rc;
	if (json) {
		cli_print_json(all);
	} else {
		size_t i;
		json_t *m;
		printf("%-40s %-12s %-22s %s\n", "MOUNTPOINT", "DIGEST", "SINCE", "IMAGE");
		json_array_foreach(all, i, m) {
			char sd[20];
			digest_short(json_string_value(json_object_get(m, "digest")), sd);
			char *mp = str_visible(json_string_value(json_object_get(m, "mountpoint")));
			char *ref = str_visible(json_string_value(json_object_get(m, "ref")));
			printf("%-40s %-12s %-22s %s\n", mp ? mp : "?", sd, json_string_value(json_object_get(m, "since")),
			       ref ? ref : "?");
			free(mp);
			free(ref);
		}
	}
	json_decref(all);
	return 0;
}

const struct cli_command cmd_mount = {
	"mount", run_mount, "[--no-pull] [--platform OS/ARCH] REF MOUNTPOINT",
	"mount an image read-only (pulling it first if needed)",
};
const struct cli_command cmd_umount = {
	"umount", run_umount, "MOUNTPOINT...", "unmount images",
};
const struct cli_command cmd_mounts = {
	"mounts", run_mounts, "[--json]", "list mounted images",
};
