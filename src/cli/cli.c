/* cli: shared plumbing of the strata subcommands, and the front end of
 * each strata program. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "src/registry/auth.h"
#include "src/base/buf.h"
#include "cli.h"
#include "src/base/log.h"
#include "src/daemon/daemon.h"
#include "src/registry/ref.h"
#include "src/base/util.h"

#ifndef STRATA_BINDIR
#define STRATA_BINDIR "/usr/local/bin"
#endif
#ifndef STRATA_PKGLIBEXECDIR
#define STRATA_PKGLIBEXECDIR "/usr/local/libexec/strata"
#endif

/* Messages carry names from images: one line, nothing a terminal obeys. */
static void say(const char *prefix, const char *fmt, va_list ap)
{
	struct buf msg = BUF_INIT, vis = BUF_INIT;
	buf_vaddf(&msg, fmt, ap);
	buf_add_visible(&vis, msg.data);
	fprintf(stderr, "strata: %s%s\n", prefix, vis.data);
	buf_release(&msg);
	buf_release(&vis);
}

int cli_fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	say("", fmt, ap);
	va_end(ap);
	return 1;
}

void cli_warn(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	say("warning: ", fmt, ap);
	va_end(ap);
}

int cli_fail_err(const struct strata_error *err)
{
	return cli_fail("%s", err->msg[0] ? err->msg : strerror(err->code ? -err->code : EIO));
}

int cli_usage(const struct cli_command *cmd, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "strata %s: ", cmd->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nusage: strata %s %s\n", cmd->name, cmd->usage);
	return EXIT_USAGE;
}

/* 1 when a daemon answers on the socket; 0 when none does; a negative
 * errno with err set when one answers that it cannot serve us (busy). */
static int daemon_answers(struct cli *cli, struct client *c, struct strata_error *err)
{
	struct strata_error e = STRATA_ERROR_INIT;
	json_t *out = NULL;
	int status = 0;
	int r = client_call(c, "GET", "/v1/version", NULL, &status, &out, &e);
	const char *role = json_string_value(json_object_get(out, "role"));
	cli->memo_writer = role && strcmp(role, "user");
	json_decref(out);
	if (r == -EAGAIN) /* there, but full: starting another would be wrong */
		return error_set(err, r, "%s", e.msg);
	return r == 0 && status == 200;
}

/* Starts `strata serve` for the store in its own session, so that it
 * outlives this command. Returns its pid. */
static pid_t spawn_daemon(struct cli *cli, struct strata_error *err)
{
	char *exe = cli_helper_path("strata-serve", err);
	if (!exe)
		return err->code;
	int r = mkdir_p(cli->conf.store, 0700);
	if (r < 0) {
		free(exe);
		return error_errno(err, r, "cannot create store '%s'", cli->conf.store);
	}
	char *log = path_join(cli->conf.store, "daemon.log");
	pid_t pid = fork();
	if (pid < 0) {
		free(log);
		free(exe);
		return error_errno(err, -errno, "cannot start the strata daemon");
	}
	if (pid == 0) {
		setsid();
		int fd = open("/dev/null", O_RDONLY);
		int lfd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		if (fd >= 0)
			dup2(fd, 0);
		if (lfd >= 0) {
			dup2(lfd, 1);
			dup2(lfd, 2);
		}
		const char *v = cli->verbose > 1 ? "-vv" : "-v";
		if (cli->conf.config_explicit == 2 && cli->conf.config_path)
			execl(exe, exe, "--store", cli->conf.store, "--config", cli->conf.config_path, v, "serve",
			      (char *)NULL);
		else
			execl(exe, exe, "--store", cli->conf.store, v, "serve", (char *)NULL);
		_exit(127);
	}
	free(log);
	free(exe);
	return pid;
}

static void last_log_line(const char *store, char *out, size_t len)
{
	char *path = path_join(store, "daemon.log"), *text = NULL;
	size_t n = 0;
	out[0] = '\0';
	if (path && read_file(path, 1 << 20, &text, &n) == 0) {
		while (n && text[n - 1] == '\n')
			text[--n] = '\0';
		char *nl = strrchr(text, '\n'), *line = nl ? nl + 1 : text;
		/* Its own "strata: " would follow ours. */
		if (!strncmp(line, "strata: ", 8))
			line += 8;
		snprintf(out, len, "%s", line);
	}
	free(text);
	free(path);
}

int cli_connect(struct cli *cli, struct client **out, struct strata_error *err)
{
	char *sock = daemon_socket_path(cli->conf.store);
	struct client *c = NULL;
	int r = sock ? client_open(sock, &c, err) : error_set(err, -ENOMEM, "out of memory");
	if (r < 0)
		goto fail;
	if ((r = daemon_answers(cli, c, err)) != 0)
		goto answered;
	pid_t pid = spawn_daemon(cli, err);
	if (pid < 0) {
		r = (int)pid;
		goto fail;
	}
	/* Until it answers, or exits (a second daemon won the race: then the
	 * winner answers), or 30 s pass. */
	for (int i = 0, exited = 0; i < 600; i++) {
		if ((r = daemon_answers(cli, c, err)) != 0)
			goto answered;
		if (!exited && waitpid(pid, NULL, WNOHANG) == pid)
			exited = 1;
		else if (exited && i > 50)
			break;
		usleep(exited ? 20000 : 50000);
	}
	char why[512];
	last_log_line(cli->conf.store, why, sizeof(why));
	r = error_set(err, -ECONNREFUSED, "cannot start the strata daemon for store '%s'%s%s",
		      cli->conf.store, why[0] ? ": " : "", why);
	goto fail;
answered:
	if (r < 0)
		goto fail;
	free(sock);
	*out = c;
	return 0;
fail:
	client_free(c);
	free(sock);
	return r;
}

void cli_add_auth(struct cli *cli, const char *refstr, json_t *body)
{
	struct image_ref ref;
	struct strata_error err = STRATA_ERROR_INIT;
	char *user = NULL, *password = NULL;
	if (ref_parse(refstr, &ref, &err) < 0)
		return;
	if (ref.transport == REF_DOCKER &&
	    auth_lookup_credentials(cli->conf.credentials, ref.domain, &user, &password, &err) == 0)
		json_object_set_new(body, "auth", json_pack("{s:s, s:s, s:s}", "host", ref.domain,
							    "username", user, "password", password));
	if (password)
		explicit_bzero(password, strlen(password));
	free(user);
	free(password);
	ref_release(&ref);
}

int cli_attach_source(struct client *c, const char *refstr, json_t *body, struct strata_error *err)
{
	struct image_ref ref;
	struct stat st;
	if (ref_parse(refstr, &ref, err) < 0) {
		error_clear(err);
		return -1; /* the daemon says what is wrong with it */
	}
	int fd = -1, oci = ref.transport == REF_OCI;
	if (ref.transport != REF_DOCKER) {
		/* Non-blocking: a FIFO named as an archive must not hold us. */
		fd = open(ref.file, O_RDONLY | O_CLOEXEC | O_NONBLOCK | (oci ? O_DIRECTORY : 0));
		if (fd < 0)
			fd = error_errno(err, -errno, "%s '%s'", oci ? "oci layout" : "docker-archive", ref.file);
		else if (!oci && (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))) {
			close(fd);
			fd = error_set(err, -EINVAL, "docker-archive '%s' is not a regular file", ref.file);
		} else if (client_attach_fds(c, &fd, 1) < 0 ||
			   json_object_set_new(body, "source_fd", json_integer(0)) < 0) {
			close(fd);
			fd = error_set(err, -ENOMEM, "out of memory");
		}
	}
	ref_release(&ref);
	return fd;
}

char *cli_absolute_path(const char *path)
{
	char cwd[PATH_MAX];
	if (path[0] == '/' || !getcwd(cwd, sizeof(cwd)))
		return strdup(path);
	return path_join(cwd, path);
}

char *cli_canonical_ref(const char *refstr)
{
	struct image_ref ref;
	struct strata_error err = STRATA_ERROR_INIT;
	if (ref_parse(refstr, &ref, &err) < 0)
		return strdup(refstr);
	char *out = strdup(ref.transport == REF_DOCKER ? refstr : ref.name);
	ref_release(&ref);
	return out;
}

char *cli_image_path(const char *ref, const char *suffix)
{
	char *canon = cli_canonical_ref(ref);
	char *esc = canon ? client_escape(canon) : NULL;
	free(canon);
	char *p = esc ? str_printf("/v1/images/%s%s", esc, suffix ? suffix : "") : NULL;
	free(esc);
	return p;
}

void cli_print_json(json_t *v)
{
	json_dumpf(v, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	fputc('\n', stdout);
}

/* --- the programs ------------------------------------------------------------ */

/* to relative to from, both absolute directories: "../libexec/strata" for
 * "/usr/bin" and "/usr/libexec/strata". malloc'd. */
static char *relative_dir(const char *from, const char *to)
{
	struct buf b = BUF_INIT;
	/* Skip the components both share, whole ones only. */
	for (;;) {
		while (*from == '/')
			from++;
		while (*to == '/')
			to++;
		size_t fl = strcspn(from, "/"), tl = strcspn(to, "/");
		if (!fl || fl != tl || strncmp(from, to, fl))
			break;
		from += fl;
		to += tl;
	}
	while (*from) {
		size_t fl = strcspn(from, "/");
		if (fl)
			buf_adds(&b, "../");
		from += fl;
		while (*from == '/')
			from++;
	}
	buf_adds(&b, *to ? to : ".");
	return buf_detach(&b, NULL);
}

char *cli_helper_path(const char *name, struct strata_error *err)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash = n > 0 ? memrchr(exe, '/', (size_t)n) : NULL;
	char *rel = relative_dir(STRATA_BINDIR, STRATA_PKGLIBEXECDIR);
	char *cand[3] = { NULL, NULL, path_join(STRATA_PKGLIBEXECDIR, name) };
	if (slash) {
		*slash = '\0';
		cand[0] = path_join(exe, name);
		cand[1] = rel ? str_printf("%s/%s/%s", exe, rel, name) : NULL;
	}
	char *found = NULL;
	for (size_t i = 0; i < 3; i++) {
		if (!found && cand[i] && access(cand[i], X_OK) == 0)
			found = cand[i];
		else
			free(cand[i]);
	}
	free(rel);
	if (!found)
		error_set(err, -ENOENT, "cannot run %s: no executable '%s/%s'", name, STRATA_PKGLIBEXECDIR, name);
	return found;
}

/* Runs cmd's helper program, strata-NAME, with this command line; returns
 * only on failure. */
static int exec_helper(struct cli *cli, const struct cli_command *cmd)
{
	struct strata_error err = STRATA_ERROR_INIT;
	char name[64];
	snprintf(name, sizeof(name), "strata-%s", cmd->name);
	char *path = cli_helper_path(name, &err);
	if (!path)
		return cli_fail_err(&err);
	cli->argv[0] = path;
	execv(path, cli->argv);
	cli_fail("cannot run %s: '%s': %s", name, path, strerror(errno));
	free(path);
	return 1;
}

static void usage(FILE *f, const struct cli_command *const *commands)
{
	fprintf(f, "usage: strata [--store DIR] [--config FILE] [-v|-q] COMMAND [ARGS...]\n\ncommands:\n");
	for (const struct cli_command *const *c = commands; *c; c++)
		fprintf(f, "  %-8s %s\n", (*c)->name, (*c)->summary);
	fprintf(f, "\nSee strata(1) and strata-COMMAND(1).\n");
}

int cli_main(int argc, char **argv, const struct cli_command *const *commands)
{
	static const struct option opts[] = {
		{ "store", required_argument, NULL, 's' },
		{ "config", required_argument, NULL, 'c' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 }
	};
	struct cli cli = { .argc = argc, .argv = argv };
	/* With TZ unset glibc stats /etc/localtime on every mktime(), which
	 * libarchive calls per zip entry: 20 times slower on a big jar. */
	if (!getenv("TZ"))
		setenv("TZ", ":/etc/localtime", 0);
	struct strata_error err = STRATA_ERROR_INIT;
	const char *store = NULL, *config = NULL;
	int c;

	/* Global options end at the command name. */
	while ((c = getopt_long(argc, argv, "+vqh", opts, NULL)) != -1) {
		switch (c) {
		case 's': store = optarg; break;
		case 'c': config = optarg; break;
		case 'v': cli.verbose++; break;
		case 'q': cli.quiet = 1; break;
		case 'h': usage(stdout, commands); return 0;
		case 'V': printf("strata %s\n", PACKAGE_VERSION); return 0;
		default: usage(stderr, commands); return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr, commands);
		return EXIT_USAGE;
	}
	const char *name = argv[optind];
	const struct cli_command *cmd = NULL;
	for (const struct cli_command *const *p = commands; *p; p++)
		if (!strcmp((*p)->name, name))
			cmd = *p;
	if (!cmd) {
		fprintf(stderr, "strata: '%s' is not a strata command; see 'strata --help'\n", name);
		return EXIT_USAGE;
	}
	/* The helper reads the configuration itself. */
	if (!cmd->run)
		return exec_helper(&cli, cmd);
	/* Flags win over the environment, which wins over the file. */
	const char *level = cli.quiet ? "error" : cli.verbose >= 2 ? "debug" : cli.verbose ? "info" : NULL;
	if (conf_load_from(&cli.conf, config, &err) < 0)
		return cli_fail_err(&err);
	if ((store && conf_set(&cli.conf, "store.path", store, "flag --store", &err) < 0) ||
	    (level && conf_set(&cli.conf, "log.level", level, cli.quiet ? "flag -q" : "flag -v", &err) < 0)) {
		conf_release(&cli.conf);
		return cli_fail_err(&err);
	}
	log_set_level((enum log_level)cli.conf.log_level);
	int rc = cmd->run(&cli, argc - optind, argv + optind);
	conf_release(&cli.conf);
	return rc;
}
