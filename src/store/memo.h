/* memo: analysis results kept in the store. An analyzer's records for one
 * file content live under 'A' + "<analyzer>@<version>[+config]/<sha256>[/name]",
 * its summary of a layer under 'A' + "<analyzer>@<version>[+config]/layer/<diff_id>"
 * (memokey.h spells them);
 * a whole image's report under 'Y' + manifest digest + '\0' + config id, so
 * that analysing an image again reads nothing and analysing a new image
 * that shares content with stored ones parses only what is new. Values are
 * JSON text. Results are small and content-addressed, so they are kept when
 * layers are evicted, until `cache gc` finds no stored layer holding their
 * content (memo_gc); an image's reports go with the image (rmi).
 *
 * With a shared tier (store.h's shared, sharedmemo.h), a lookup asks it for what
 * is not here, and keeps the results it gets; a report not here is asked
 * for there and not kept; what is stored here is queued for it too. */
#ifndef STRATA_MEMO_H
#define STRATA_MEMO_H

#include <jansson.h>

#include "src/base/buf.h"
#include "src/base/error.h"
#include "store.h"

#define MEMO_KEY_MAX 1024

/* Appends {"results": {key: value}} for those of the n keys (keys[i] of
 * lens[i] bytes) that are stored, as JSON text: values go out as they are
 * stored, unparsed. Read in batches (index_multi_get). -EINVAL with err set
 * for an empty, overlong or NUL-holding key. */
int memo_lookup(struct store *st, size_t n, const char *const *keys, const size_t *lens, struct buf *out,
		struct strata_error *err);
/* Stores every key -> value of results (values must be objects), and
 * queues them for the shared tier. */
int memo_store(struct store *st, json_t *results, struct strata_error *err);
/* A report is stored and returned as the JSON text the client sent: the
 * daemon never parses a report, which can be tens of megabytes. */
/* 0 with the text in *out, or -ENOENT. */
int memo_get_report(struct store *st, const char *digest, const char *config, struct buf *out,
		    struct strata_error *err);
int memo_put_report(struct store *st, const char *digest, const char *config, const char *text,
		    size_t len, struct strata_error *err);
/* Queues the deletion of every report of an image in batch b. */
struct index_batch;
void memo_forget_image(struct index_batch *b, const char *digest);
/* How many results and reports are stored, and their bytes. */
void memo_count(struct store *st, uint64_t *results, uint64_t *reports, uint64_t *bytes);

/* Drops the results of contents that no complete layer holds, and the
 * summaries of layers not stored; counts them in *removed. Keys of another
 * shape stay. Without it the memo grows with every pull (the secrets
 * prescan writes a result per new content) while layers come and go. */
int memo_gc(struct store *st, uint64_t *removed, struct strata_error *err);

#endif
