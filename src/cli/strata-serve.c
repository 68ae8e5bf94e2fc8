/* strata-serve: the store daemon's program (`strata serve` execs it; see
 * cli.h). It links RocksDB, libcurl, FUSE and the ingest, which no
 * other command loads. */
#include "config.h"

#include <malloc.h>

#include "cli.h"

static const struct cli_command *const commands[] = { &cmd_serve, NULL };

int main(int argc, char **argv)
{
	/* Peak memory of an ingest (its five threads: fetch, inflate, tar,
	 * chunk writer, RocksDB). glibc gives each allocating thread an arena
	 * of its own, up to 8 a core, each keeping megabytes of freed batches;
	 * and it raises its mmap threshold as big blocks are freed, so that
	 * later big blocks stay in those arenas. Two arenas and a fixed 512 KiB
	 * threshold (chunks, at most 256 KiB, stay in the heap) held the pull
	 * of a 465 MiB layer about 15 MiB lower, at no cost in time. */
	mallopt(M_ARENA_MAX, 2);
	mallopt(M_MMAP_THRESHOLD, 512 << 10);
	return cli_main(argc, argv, commands);
}
