/* error: what errno cannot say, carried in a caller-provided struct
 * (after libarchive's archive_set_error and curl's failf). */
#ifndef STRATA_ERROR_H
#define STRATA_ERROR_H

struct strata_error {
	int code;        /* negative errno of the first failure, 0 if none */
	char msg[1024];  /* one line, lowercase, no full stop */
};

#define STRATA_ERROR_INIT { 0, "" }

/* Records the first error only: later failures while unwinding do not
 * overwrite the cause. Returns code (a negative errno) for tail calls:
 *   return error_set(err, -EPROTO, "manifest '%s': not JSON", d); */
int error_set(struct strata_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Prefixes context to an existing message: "pull 'x': " + msg. */
int error_prefix(struct strata_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Sets a message from errno when none was set yet: "<what>: strerror". */
int error_errno(struct strata_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void error_clear(struct strata_error *err);

#endif
