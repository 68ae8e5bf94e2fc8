/* daemon-impl: what every handler of the daemon shares (daemon-impl.h) —
 * who the caller is, and how a refusal is answered. */
#include "config.h"

#include <errno.h>
#include <stdio.h>

#include "daemon-impl.h"
#include "src/base/log.h"

void daemon_caller(const struct daemon *d, const struct http_request *req, struct caller *out)
{
	caller_of(req, d->admin_gid, out);
}

int daemon_refuse(struct daemon *d, const struct caller *who, struct http_conn *c, const char *what,
		  const char *why)
{
	char msg[1200];
	snprintf(msg, sizeof(msg), "%s is not allowed to uid %u: %s", what, (unsigned)who->uid, why);
	log_warn("refused: %s (pid %d)", msg, (int)who->pid);
	metrics_refused(d->metrics, METRICS_REFUSED_FORBIDDEN);
	http_reply_error(c, 403, msg);
	return -EACCES;
}
