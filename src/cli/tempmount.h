/* tempmount: an image mounted for the length of one command (strata
 * analyze, strata run) on a private directory, and unmounted after. */
#ifndef STRATA_TEMPMOUNT_H
#define STRATA_TEMPMOUNT_H

#include "cli.h"

struct tempmount {
	char *dir;                  /* the mount point, NULL when not mounted */
	char digest[DIGEST_STR_MAX];
};

struct tempmount_opts {
	const char *platform;       /* NULL: the configured default */
	int no_pull;                /* fail rather than pull an image not stored */
};

/* Creates a directory under $TMPDIR (or /tmp) and has the daemon mount ref
 * there, pulling it first if needed. */
int tempmount_open(struct cli *cli, struct client *client, const char *ref, const struct tempmount_opts *o,
		   struct tempmount *tm, struct strata_error *err);
/* Unmounts and removes the directory; a no-op when nothing is mounted. */
int tempmount_close(struct client *client, struct tempmount *tm, struct strata_error *err);

#endif
