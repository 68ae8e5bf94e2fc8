/* strata serve: the store daemon, in the foreground. */
#include "config.h"

#include <getopt.h>

#include "cli.h"
#include "daemon.h"
#include "log.h"

static int run_serve(struct cli *cli, int argc, char **argv)
{
	int c;
	optind = 0;
	while ((c = getopt(argc, argv, "")) != -1)
		return cli_usage(&cmd_serve, "unknown option");
	if (optind < argc)
		return cli_usage(&cmd_serve, "unexpected argument '%s'", argv[optind]);
	struct strata_error err = STRATA_ERROR_INIT;
	if (daemon_run(&cli->conf, &err) < 0)
		return cli_fail_err(&err);
	return 0;
}

const struct cli_command cmd_serve = {
	"serve", run_serve, "", "run the store daemon in the foreground",
};
