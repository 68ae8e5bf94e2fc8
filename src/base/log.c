/* log: level-filtered logging to a replaceable sink. */
#include "config.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>
#include <string.h>

#include "buf.h"
#include "log.h"

enum log_level log_threshold = LOG_LVL_WARN;

static void stderr_sink(enum log_level level, const char *line, void *ctx)
{
	static const char *const names[] = { "error", "warning", "info", "debug" };
	fprintf(stderr, "strata: %s: %s\n", names[level], line);
}

static log_sink_fn sink = stderr_sink;
static void *sink_ctx;

static void syslog_sink(enum log_level level, const char *line, void *ctx)
{
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	syslog(prio[level], "%s", line);
}

void log_use_syslog(void)
{
	/* LOG_PID: journald and syslog then name the daemon's process. */
	openlog("strata", LOG_PID | LOG_NDELAY, LOG_DAEMON);
	log_set_sink(syslog_sink, NULL);
}

void log_set_level(enum log_level level)
{
	log_threshold = level;
}

void log_set_sink(log_sink_fn fn, void *ctx)
{
	sink = fn ? fn : stderr_sink;
	sink_ctx = ctx;
}

int log_parse_level(const char *s, enum log_level *out)
{
	static const char *const names[] = { "error", "warn", "info", "debug" };
	for (int i = 0; i < 4; i++)
		if (!strcmp(s, names[i])) {
			*out = (enum log_level)i;
			return 0;
		}
	return -1;
}

void log_write(enum log_level level, const char *fmt, ...)
{
	char line[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* Lines carry names from images: one line each, nothing a terminal or
	 * a log reader would take for a control sequence or a second entry. */
	struct buf vis = BUF_INIT;
	if (buf_add_visible(&vis, line) == 0)
		sink(level, vis.data, sink_ctx);
	else
		sink(level, line, sink_ctx);
	buf_release(&vis);
}
