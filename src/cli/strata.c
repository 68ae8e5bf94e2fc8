/* strata: the command — the commands it runs itself, and those it hands to
 * a helper program (cli.h), so that `strata mounts` does not load what an
 * analysis or the daemon needs. */
#include "config.h"

#include "cli.h"

/* Commands of the helper programs strata-analyze and strata-serve: what
 * `strata --help` says of them. */
static const struct cli_command cmd_analyze_helper = {
	"analyze", NULL, NULL, "report files, packages and secrets of an image or a root directory",
};
static const struct cli_command cmd_serve_helper = {
	"serve", NULL, NULL, "run the store daemon in the foreground",
};

static const struct cli_command *const commands[] = {
	&cmd_pull, &cmd_images, &cmd_inspect, &cmd_rmi, &cmd_mount, &cmd_umount, &cmd_mounts,
	&cmd_analyze_helper, &cmd_run, &cmd_cache, &cmd_config, &cmd_serve_helper, NULL,
};

int main(int argc, char **argv)
{
	return cli_main(argc, argv, commands);
}
