/* strata-serve: the store daemon's program (`strata serve` execs it; see
 * cli.h). It links RocksDB, libcurl, FUSE and the ingest, which no
 * other command loads. */
#include "config.h"

#include "cli.h"

static const struct cli_command *const commands[] = { &cmd_serve, NULL };

int main(int argc, char **argv)
{
	return cli_main(argc, argv, commands);
}
