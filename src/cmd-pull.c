/* strata pull: fetch images into the store. */
#include "config.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "progress.h"
#include "pull.h"
#include "util.h"

static int run_pull(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "platform", required_argument, NULL, 'p' },
		{ "quiet", no_argument, NULL, 'q' },
		{ 0 }
	};
	const char *platform = NULL;
	int quiet = cli->quiet, c;
	optind = 0;
	while ((c = getopt_long(argc, argv, "q", opts, NULL)) != -1) {
		switch (c) {
		case 'p': platform = optarg; break;
		case 'q': quiet = 1; break;
		default: return cli_usage(&cmd_pull, "unknown option");
		}
	}
	if (optind >= argc)
		return cli_usage(&cmd_pull, "no image given");

	struct strata_error err = STRATA_ERROR_INIT;
	struct store *st = NULL;
	if (cli_open_store(cli, STORE_WRITE, &st, &err) < 0)
		return cli_fail_err(&err);
	struct progress *prog = progress_new(stderr, !quiet);
	int rc = 0;
	for (int i = optind; i < argc; i++) {
		struct pull_result res;
		error_clear(&err);
		int r = pull_image(st, argv[i], platform, prog ? progress_observer(prog) : NULL, &res, &err);
		if (prog)
			progress_finish(prog);
		if (r < 0) {
			rc = cli_fail_err(&err);
			continue;
		}
		if (quiet)
			continue;
		char fetched[16], stored[16];
		format_size(res.bytes_fetched, fetched, sizeof(fetched));
		format_size(res.bytes_stored, stored, sizeof(stored));
		if (res.up_to_date)
			printf("%s %s: up to date\n", res.digest, res.name);
		else
			printf("%s %s: %zu layers, %zu fetched (%s), %s newly stored\n", res.digest, res.name,
			       res.layers, res.layers_fetched, fetched, stored);
	}
	progress_free(prog);
	store_close(st);
	return rc;
}

const struct cli_command cmd_pull = {
	"pull", run_pull, "[--platform OS/ARCH[/VARIANT]] [-q] REF...", "fetch images into the store",
};
