/* error: first-error-wins message carrier. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "error.h"

int error_set(struct strata_error *err, int code, const char *fmt, ...)
{
	if (!err || err->msg[0])
		return code;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	err->code = code;
	return code;
}

int error_prefix(struct strata_error *err, const char *fmt, ...)
{
	if (!err)
		return 0;
	char prefix[512], old[sizeof(err->msg)];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof(old));
	snprintf(err->msg, sizeof(err->msg), "%s%s", prefix, old);
	return err->code;
}

int error_errno(struct strata_error *err, int code, const char *fmt, ...)
{
	if (!err || err->msg[0])
		return code;
	char what[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	/* strerror's capital letter would break the one-line lowercase style. */
	char why[256];
	snprintf(why, sizeof(why), "%s", strerror(-code));
	if (why[0] >= 'A' && why[0] <= 'Z' && (why[1] < 'A' || why[1] > 'Z'))
		why[0] = (char)(why[0] - 'A' + 'a');
	return error_set(err, code, "%s: %s", what, why);
}

void error_clear(struct strata_error *err)
{
	err->code = 0;
	err->msg[0] = '\0';
}
