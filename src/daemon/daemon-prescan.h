/* daemon-prescan: the secrets analyzer run on every small file of a layer
 * while the layer is ingested, its records memoized by content exactly as
 * `strata analyze` would memoize them. The bytes are in memory then
 * already; reading them back later through the mount costs a FUSE lookup
 * and read per file, which is most of a first analysis. So the first
 * analysis of a freshly pulled image finds every small file's secrets
 * result in the memo and opens only what the package analyzers claim.
 *
 * Only the built-in rules are run (the memo key names the rule set: an
 * analysis with a rules file of its own scans for itself), and only text
 * files of at most PRESCAN_MAX bytes are scanned (larger ones are left to
 * the analysis); a binary file, whatever its size, needs only its first
 * SECRETS_BINARY_PROBE bytes to be known to hold nothing. */
#ifndef STRATA_DAEMON_PRESCAN_H
#define STRATA_DAEMON_PRESCAN_H

#include "src/ingest/ingest.h"

#define PRESCAN_MAX (1u << 20)

/* An observer for store_open (store_options.observer) that memoizes into
 * the store that ingests; NULL when out of memory or when the secrets
 * analyzer cannot run here. Free with prescan_free after the store. */
struct ingest_observer *prescan_new(void);
void prescan_free(struct ingest_observer *o);

#endif
