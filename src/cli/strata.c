/* strata: the command-line front end — global options and dispatch. */
#include "config.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "src/base/log.h"

static const struct cli_command *const commands[] = {
	&cmd_pull, &cmd_images, &cmd_inspect, &cmd_rmi, &cmd_mount, &cmd_umount, &cmd_mounts,
	&cmd_analyze, &cmd_run, &cmd_cache, &cmd_config, &cmd_serve, NULL,
};

static void usage(FILE *f)
{
	fprintf(f, "usage: strata [--store DIR] [--config FILE] [-v|-q] COMMAND [ARGS...]\n\ncommands:\n");
	for (const struct cli_command *const *c = commands; *c; c++)
		fprintf(f, "  %-8s %s\n", (*c)->name, (*c)->summary);
	fprintf(f, "\nSee strata(1) and strata-COMMAND(1).\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "store", required_argument, NULL, 's' },
		{ "config", required_argument, NULL, 'c' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 }
	};
	struct cli cli = { 0 };
	/* With TZ unset glibc stats /etc/localtime on every mktime(), which
	 * libarchive calls per zip entry: 20 times slower on a big jar. */
	if (!getenv("TZ"))
		setenv("TZ", ":/etc/localtime", 0);
	struct strata_error err = STRATA_ERROR_INIT;
	const char *store = NULL, *config = NULL;
	int c;

	/* Global options end at the command name. */
	while ((c = getopt_long(argc, argv, "+vqh", opts, NULL)) != -1) {
		switch (c) {
		case 's': store = optarg; break;
		case 'c': config = optarg; break;
		case 'v': cli.verbose++; break;
		case 'q': cli.quiet = 1; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("strata %s\n", PACKAGE_VERSION); return 0;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	const char *name = argv[optind];
	const struct cli_command *cmd = NULL;
	for (const struct cli_command *const *p = commands; *p; p++)
		if (!strcmp((*p)->name, name))
			cmd = *p;
	if (!cmd) {
		fprintf(stderr, "strata: '%s' is not a strata command; see 'strata --help'\n", name);
		return EXIT_USAGE;
	}
	/* Flags win over the environment, which wins over the file. */
	const char *level = cli.quiet ? "error" : cli.verbose >= 2 ? "debug" : cli.verbose ? "info" : NULL;
	if (conf_load_from(&cli.conf, config, &err) < 0)
		return cli_fail_err(&err);
	if ((store && conf_set(&cli.conf, "store.path", store, "flag --store", &err) < 0) ||
	    (level && conf_set(&cli.conf, "log.level", level, cli.quiet ? "flag -q" : "flag -v", &err) < 0)) {
		conf_release(&cli.conf);
		return cli_fail_err(&err);
	}
	log_set_level((enum log_level)cli.conf.log_level);
	int rc = cmd->run(&cli, argc - optind, argv + optind);
	conf_release(&cli.conf);
	return rc;
}
