/* gc: removes from a store what nothing references — the leftovers of
 * ingests that failed or were interrupted (layers.h), chunks no complete
 * layer references, chunk files without a record and temporary files
 * (chunkstore.h), and analysis results about content no layer holds any
 * more (memo.h). A crash at any moment leaves only such garbage, so gc is
 * what makes every interrupted write whole again. Runs with the cache held
 * exclusively: no ingest runs meanwhile. */
#ifndef STRATA_GC_H
#define STRATA_GC_H

#include <jansson.h>

#include "src/base/error.h"
#include "store.h"

/* {"chunks_removed", "files_removed", "temp_files_removed", "leftover_layers",
 *  "memo_results_removed", "bytes_freed", "store_size"} */
int gc_run(struct store *st, json_t **report, struct strata_error *err);

#endif
