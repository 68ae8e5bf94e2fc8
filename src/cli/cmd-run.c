/* strata run: mount an image for the length of one command, so that any
 * tool (a scanner, find, du, dpkg-query --admindir) can look inside it
 * without extracting it. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "tempmount.h"

static volatile sig_atomic_t child_pid;

/* The command is in charge while it runs: termination requests go to it,
 * and strata unmounts once it is gone. */
static void forward(int sig)
{
	if (child_pid > 0)
		kill((pid_t)child_pid, sig);
}

static int run_run(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "platform", required_argument, NULL, 'p' },
		{ "no-pull", no_argument, NULL, 'n' },
		{ 0 }
	};
	struct tempmount_opts mo = { 0 };
	int c;
	optind = 0;
	/* '+': options stop at the image, so the command's own options pass. */
	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (c) {
		case 'p': mo.platform = optarg; break;
		case 'n': mo.no_pull = 1; break;
		default: return cli_usage(&cmd_run, "unknown option");
		}
	}
	if (optind >= argc)
		return cli_usage(&cmd_run, "an image is needed");
	const char *ref = argv[optind++];
	if (optind < argc && !strcmp(argv[optind], "--"))
		optind++;
	if (optind >= argc)
		return cli_usage(&cmd_run, "a command is needed after '--'");

	struct strata_error err = STRATA_ERROR_INIT;
	struct client *client = NULL;
	struct tempmount tm = { 0 };
	if (cli_connect(cli, &client, &err) < 0 || tempmount_open(cli, client, ref, &mo, &tm, &err) < 0) {
		client_free(client);
		return cli_fail("run '%s': %s", ref, err.msg);
	}
	int n = argc - optind;
	char **args = calloc((size_t)n + 1, sizeof(*args));
	for (int i = 0; args && i < n; i++)
		args[i] = !strcmp(argv[optind + i], "{}") ? tm.dir : argv[optind + i];

	struct sigaction sa = { .sa_handler = forward }, old_int, old_term, old_hup, old_quit;
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	sigaction(SIGHUP, &sa, &old_hup);
	sigaction(SIGQUIT, &sa, &old_quit);
	int rc = 1;
	pid_t pid = args ? fork() : -1;
	if (pid == 0) {
		sigaction(SIGINT, &old_int, NULL);
		sigaction(SIGTERM, &old_term, NULL);
		sigaction(SIGHUP, &old_hup, NULL);
		sigaction(SIGQUIT, &old_quit, NULL);
		setenv("STRATA_ROOT", tm.dir, 1);
		execvp(args[0], args);
		fprintf(stderr, "strata: run: cannot run '%s': %s\n", args[0], strerror(errno));
		_exit(errno == ENOENT ? 127 : 126);
	}
	if (pid < 0) {
		cli_fail("run: cannot start '%s': %s", argv[optind], strerror(errno));
	} else {
		child_pid = pid;
		int status;
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		child_pid = 0;
		rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	}
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	sigaction(SIGHUP, &old_hup, NULL);
	sigaction(SIGQUIT, &old_quit, NULL);
	free(args);
	error_clear(&err);
	/* A mount left behind is a failure even when the command succeeded. */
	if (tempmount_close(client, &tm, &err) < 0) {
		cli_fail("run: cannot unmount the image: %s", err.msg);
		if (rc == 0)
			rc = 1;
	}
	client_free(client);
	return rc;
}

const struct cli_command cmd_run = {
	"run", run_run, "[--platform OS/ARCH] [--no-pull] REF -- COMMAND [ARG...]",
	"run a command on an image mounted for it ({} is the mount point)",
};
