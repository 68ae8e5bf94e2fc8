/* verify: proves the store again — every chunk is present and hashes to
 * its id, every reference of every complete layer names a chunk that has a
 * record — and names the layers and images a bad chunk breaks. With repair
 * it evicts those layers (so that the next pull fetches them again) and
 * drops the bad chunks, holding the cache exclusively; without, it holds the
 * cache shared, beside ingests. Runs and findings are counted in the
 * cache's statistics. */
#ifndef STRATA_VERIFY_H
#define STRATA_VERIFY_H

#include <jansson.h>

#include "src/base/error.h"
#include "store.h"

/* {"chunks_checked", "corrupt": [id], "missing": [id], "layers": [diff_id],
 *  "images": [name], "repaired": bool, "clean": bool} */
int verify_run(struct store *st, int repair, json_t **report, struct strata_error *err);

#endif
