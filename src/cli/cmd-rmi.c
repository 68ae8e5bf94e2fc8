/* strata rmi: remove images, and the layers and chunks nothing else uses. */
#include "config.h"

#include <getopt.h>
#include <stdlib.h>

#include "cli.h"
#include "src/base/util.h"

static char *image_path(const char *ref)
{
	return cli_image_path(ref, NULL);
}

static void removed(struct cli *cli, const char *ref, json_t *answer)
{
	char f[16];
	if (cli->quiet)
		return;
	if (json_is_true(json_object_get(answer, "untagged"))) {
		printf("untagged %s\n", ref);
		return;
	}
	format_size((uint64_t)json_integer_value(json_object_get(answer, "freed")), f, sizeof(f));
	printf("removed %s (%s freed)\n", ref, f);
}

static int run_rmi(struct cli *cli, int argc, char **argv)
{
	int c;
	optind = 0;
	while ((c = getopt(argc, argv, "")) != -1)
		return cli_usage(&cmd_rmi, "unknown option");
	if (optind >= argc)
		return cli_usage(&cmd_rmi, "no image given");
	return cli_delete_each(cli, "rmi", argv + optind, argc - optind, image_path, removed);
}

const struct cli_command cmd_rmi = {
	"rmi", run_rmi, "REF...", "remove images from the store",
};
