/* log: one logger with a pluggable sink (stderr in the foreground, syslog
 * when daemonized) and a level check before any formatting. */
#ifndef STRATA_LOG_H
#define STRATA_LOG_H

enum log_level { LOG_LVL_ERROR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

typedef void (*log_sink_fn)(enum log_level level, const char *line, void *ctx);

extern enum log_level log_threshold;

void log_set_level(enum log_level level);
void log_set_sink(log_sink_fn sink, void *ctx);
/* Sends every line to syslog(3) (the journal under systemd), facility daemon. */
void log_use_syslog(void);
int log_parse_level(const char *s, enum log_level *out);
void log_write(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_at(lvl, ...) do { if ((lvl) <= log_threshold) log_write((lvl), __VA_ARGS__); } while (0)
#define log_error(...) log_at(LOG_LVL_ERROR, __VA_ARGS__)
#define log_warn(...)  log_at(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...)  log_at(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...) log_at(LOG_LVL_DEBUG, __VA_ARGS__)

#endif
