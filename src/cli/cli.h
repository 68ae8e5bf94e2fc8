/* cli: what every strata subcommand shares — global options, the store,
 * error reporting, resolution of a REF to a stored image, output helpers —
 * and the front end of each of strata's programs (cli_main).
 *
 * strata is three programs, so that a command loads only the libraries it
 * needs: `strata` itself (bindir) speaks to the daemon and links little
 * more than jansson; `strata-serve` (the daemon: RocksDB, libcurl, FUSE,
 * the ingest) and `strata-analyze` (the analyzers, Hyperscan, libarchive,
 * SQLite) live in the helper directory (PKGLIBEXECDIR, or beside the
 * strata binary in a build tree), as git's git-COMMAND programs do. strata
 * execs a helper with its own command line; each program parses the same
 * global options. */
#ifndef STRATA_CLI_H
#define STRATA_CLI_H

#include <stdio.h>

#include <jansson.h>

#include "src/base/conf.h"
#include "src/base/digest.h"
#include "src/base/error.h"
#include "client.h"
#include "src/store/store.h"

#define EXIT_USAGE 2

struct cli {
	struct strata_conf conf;
	int verbose;   /* -v count */
	int quiet;     /* -q */
	/* What the daemon takes this caller for, once connected: 1 when it
	 * may write the shared analysis memo (root, the daemon's user, the
	 * admin group), 0 when it may only read it. */
	int memo_writer;
	/* The command line as given (argv[0] is this program's name): what a
	 * helper program is run with. */
	int argc;
	char **argv;
};

struct cli_command {
	const char *name;
	int (*run)(struct cli *cli, int argc, char **argv);
	const char *usage;   /* after "strata NAME " */
	const char *summary;
};
/* A command with no run function is a helper program's: strata execs
 * strata-NAME with its command line, which the helper parses again. */

/* The main() of each strata program: global options, the configuration,
 * then the command of commands (NULL-terminated) that argv names; returns
 * the exit status. */
int cli_main(int argc, char **argv, const struct cli_command *const *commands);
/* The path of helper program name ("strata-serve"): beside this
 * executable (a build tree), else PKGLIBEXECDIR found from this
 * executable's directory as bindir is to it (an installation moved or
 * under DESTDIR), else PKGLIBEXECDIR. malloc'd; NULL with err set when
 * none is executable. */
char *cli_helper_path(const char *name, struct strata_error *err);

/* Prints "strata: <msg>" on stderr; returns 1 (the failure exit status). */
int cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int cli_fail_err(const struct strata_error *err);
/* Prints "strata: warning: <msg>" on stderr, made visible as cli_fail does. */
void cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints "strata <cmd>: <msg>" and the usage line; returns 2. */
int cli_usage(const struct cli_command *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Connects to the store's daemon, starting one (detached, logging to
 * STORE/daemon.log) when none answers. Free *out with client_free. */
int cli_connect(struct cli *cli, struct client **out, struct strata_error *err);
/* Adds the caller's registry credentials for ref (from Docker's config.json
 * or the configured credentials file) to a request body, so that the daemon
 * pulls with the rights of whoever asked. */
void cli_add_auth(struct cli *cli, const char *ref, json_t *body);
/* For a local source (oci:DIR, docker-archive:FILE): opens it with this
 * process's rights, attaches the descriptor to the client's next request
 * and names it in body ("source_fd"), so that the daemon reads what the
 * caller may read, not what the daemon may. Returns the descriptor (close
 * it after the call), -1 for a registry reference, or a negative errno
 * with err set ("oci layout '...': permission denied"). */
int cli_attach_source(struct client *c, const char *ref, json_t *body, struct strata_error *err);
/* path made absolute as it is spelt (joined to the working directory), its
 * symbolic links left for the daemon to resolve as the caller reaches them.
 * malloc'd. */
char *cli_absolute_path(const char *path);
/* The reference to hand the daemon: oci: and docker-archive: paths made
 * absolute here, where they were given (the daemon's directory is another).
 * malloc'd; a reference that does not parse is returned as it is. */
char *cli_canonical_ref(const char *ref);
/* "/v1/images/<escaped ref>[suffix]", malloc'd. */
char *cli_image_path(const char *ref, const char *suffix);

/* Prints a JSON value followed by a newline. */
void cli_print_json(json_t *v);

/* The commands of strata itself. */
extern const struct cli_command cmd_pull, cmd_images, cmd_inspect, cmd_rmi, cmd_mount, cmd_umount, cmd_mounts;
extern const struct cli_command cmd_config, cmd_cache, cmd_run;
/* Those of the helper programs strata-serve and strata-analyze. */
extern const struct cli_command cmd_serve, cmd_analyze;

#endif
