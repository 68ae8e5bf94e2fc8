/* strata rmi: remove images, and the layers and chunks nothing else uses. */
#include "config.h"

#include <getopt.h>
#include <stdlib.h>

#include "cli.h"
#include "src/base/util.h"

static int run_rmi(struct cli *cli, int argc, char **argv)
{
	int c;
	optind = 0;
	while ((c = getopt(argc, argv, "")) != -1)
		return cli_usage(&cmd_rmi, "unknown option");
	if (optind >= argc)
		return cli_usage(&cmd_rmi, "no image given");
	struct strata_error err = STRATA_ERROR_INIT;
	struct client *client = NULL;
	if (cli_connect(cli, &client, &err) < 0)
		return cli_fail_err(&err);
	int rc = 0;
	for (int i = optind; i < argc; i++) {
		char *path = cli_image_path(argv[i], NULL);
		json_t *out = NULL;
		int status;
		error_clear(&err);
		if (!path || client_call(client, "DELETE", path, NULL, &status, &out, &err) < 0) {
			rc = cli_fail("rmi '%s': %s", argv[i], err.msg);
		} else if (!cli->quiet && json_is_true(json_object_get(out, "untagged"))) {
			printf("untagged %s\n", argv[i]);
		} else if (!cli->quiet) {
			char f[16];
			format_size((uint64_t)json_integer_value(json_object_get(out, "freed")), f, sizeof(f));
			printf("removed %s (%s freed)\n", argv[i], f);
		}
		json_decref(out);
		free(path);
	}
	client_free(client);
	return rc;
}

const struct cli_command cmd_rmi = {
	"rmi", run_rmi, "REF...", "remove images from the store",
};
