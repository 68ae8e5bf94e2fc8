/* strata-analyze: the program of `strata analyze`, which execs it (cli.h).
 * It links the analyzers (Hyperscan, PCRE2, libarchive, SQLite), which no
 * other command loads, and none of the daemon's libraries. */
#include "config.h"

#include "cli.h"

static const struct cli_command *const commands[] = { &cmd_analyze, NULL };

int main(int argc, char **argv)
{
	return cli_main(argc, argv, commands);
}
