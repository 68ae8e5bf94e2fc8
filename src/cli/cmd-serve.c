/* strata serve: the store daemon, in the foreground. */
#include "config.h"

#include <getopt.h>

#include "cli.h"
#include "src/daemon/daemon.h"
#include "src/base/log.h"

static int run_serve(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = { { "max-size", required_argument, NULL, 'm' }, { 0 } };
	int c;
	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'm')
			return cli_usage(&cmd_serve, "unknown option");
		/* The budget for this run, over the file and the environment. */
		if (conf_parse_size(optarg, &cli->conf.cache_max_size) < 0)
			return cli_usage(&cmd_serve, "--max-size: invalid size '%s'", optarg);
	}
	if (optind < argc)
		return cli_usage(&cmd_serve, "unexpected argument '%s'", argv[optind]);
	struct strata_error err = STRATA_ERROR_INIT;
	if (cli->conf.log_syslog)
		log_use_syslog();
	if (daemon_run(&cli->conf, &err) < 0) {
		/* Said once where the operator looks (the journal) and once to the caller. */
		if (cli->conf.log_syslog)
			log_error("%s", err.msg);
		return cli_fail_err(&err);
	}
	return 0;
}

const struct cli_command cmd_serve = {
	"serve", run_serve, "[--max-size SIZE]", "run the store daemon in the foreground",
};
