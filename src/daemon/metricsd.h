/* metricsd: a TCP listener that answers GET /metrics and nothing else, so
 * that Prometheus can scrape the daemon without the API socket (which can
 * pull, mount and remove images) being reachable over the network. */
#ifndef STRATA_METRICSD_H
#define STRATA_METRICSD_H

#include "src/base/buf.h"
#include "src/base/error.h"

struct metricsd;

/* Produces the exposition text into out (empty on entry). */
typedef void (*metricsd_fn)(void *ctx, struct buf *out);

/* address: "PORT", ":PORT" (both loopback, 127.0.0.1), "HOST:PORT" or
 * "[V6]:PORT". Listens and serves from a thread of its own. */
int metricsd_start(const char *address, metricsd_fn fn, void *ctx, struct metricsd **out,
		   struct strata_error *err);
/* Stops the thread and closes the socket; NULL is a no-op. */
void metricsd_stop(struct metricsd *m);

#endif
