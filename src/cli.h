/* cli: what every strata subcommand shares — global options, the store,
 * error reporting, resolution of a REF to a stored image, output helpers. */
#ifndef STRATA_CLI_H
#define STRATA_CLI_H

#include <stdio.h>

#include <jansson.h>

#include "conf.h"
#include "digest.h"
#include "error.h"
#include "store.h"

#define EXIT_USAGE 2

struct cli {
	struct strata_conf conf;
	int verbose;   /* -v count */
	int quiet;     /* -q */
};

struct cli_command {
	const char *name;
	int (*run)(struct cli *cli, int argc, char **argv);
	const char *usage;   /* after "strata NAME " */
	const char *summary;
};

/* Prints "strata: <msg>" on stderr; returns 1 (the failure exit status). */
int cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int cli_fail_err(const struct strata_error *err);
/* Prints "strata <cmd>: <msg>" and the usage line; returns 2. */
int cli_usage(const struct cli_command *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Opens the store; STORE_READ of a store that does not exist yet gives
 * *out = NULL and 0 (an empty store). */
int cli_open_store(struct cli *cli, enum store_mode mode, struct store **out, struct strata_error *err);

/* Finds a stored image by reference, canonical name, digest or a unique
 * prefix of at least 4 hex digits of its digest. 0 with digest, -ENOENT
 * "image 'x' is not stored", -EINVAL for a bad reference. */
int cli_resolve_image(struct store *st, const char *ref, char digest[DIGEST_STR_MAX],
		      struct strata_error *err);

/* Prints a JSON value followed by a newline. */
void cli_print_json(json_t *v);
/* "2026-11-22T15:08:27Z" from a record field holding unix seconds. */
json_t *cli_json_time(int64_t t);

extern const struct cli_command cmd_pull, cmd_images, cmd_inspect, cmd_rmi;

#endif
