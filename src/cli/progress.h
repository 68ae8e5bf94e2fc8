/* progress: the live per-layer display of `strata pull` on a terminal
 * (bytes, rate, state), redrawn in place a few times a second. */
#ifndef STRATA_PROGRESS_H
#define STRATA_PROGRESS_H

#include <stdio.h>

#include "src/ingest/pull.h"

struct progress;

/* Draws on f when it is a terminal and enabled; otherwise only observes.
 * Free with progress_free, which draws the final state. */
struct progress *progress_new(FILE *f, int enabled);
void progress_free(struct progress *p);
/* The observer to hand to pull_image. */
const struct pull_observer *progress_observer(struct progress *p);
/* Call once pull_image returned, before the next image. */
void progress_finish(struct progress *p);

#endif
