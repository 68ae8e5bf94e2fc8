/* fuse-driver: mounts one stored image with fuse/mount.h, for tests.
 *
 *   fuse-driver [--cache BYTES] [--threads N] [--no-verify] STORE REF|DIGEST MOUNTPOINT
 *   fuse-driver --force-unmount MOUNTPOINT
 *
 * Opens STORE read-write, mounts, prints "ready" on stdout, and unmounts on
 * SIGTERM or SIGINT or when stdin reaches its end; then prints the mount's
 * counters on stderr. Exit status 0, or 1 with one line on stderr. */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "catalog.h"
#include "conf.h"
#include "mount.h"
#include "store.h"
#include "util.h"

static int die(const char *what, const struct strata_error *err)
{
	fprintf(stderr, "fuse-driver: %s: %s\n", what, err->msg);
	return 1;
}

int main(int argc, char **argv)
{
	struct mount_options o = { 0 };
	struct strata_error err = STRATA_ERROR_INIT;
	int i = 1;
	for (; i < argc && !strncmp(argv[i], "--", 2); i++) {
		if (!strcmp(argv[i], "--cache") && i + 1 < argc)
			o.cache_bytes = strtoull(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
			o.threads = (unsigned)strtoul(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--no-verify"))
			o.no_verify = 1;
		else if (!strcmp(argv[i], "--force-unmount") && i + 1 < argc) {
			if (mount_force_unmount(argv[i + 1], &err) < 0)
				return die("force-unmount", &err);
			return 0;
		} else
			break;
	}
	if (argc - i != 3) {
		fprintf(stderr, "usage: fuse-driver [--cache BYTES] [--threads N] [--no-verify] STORE REF|DIGEST MOUNTPOINT\n"
				"       fuse-driver --force-unmount MOUNTPOINT\n");
		return 2;
	}
	const char *ref = argv[i + 1], *mnt = argv[i + 2];

	/* Blocked before any thread starts (RocksDB's included), so that only
	 * the signalfd sees them. */
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	int sfd = signalfd(-1, &sigs, SFD_CLOEXEC);

	struct strata_conf conf;
	if (conf_load(&conf, &err) < 0)
		return die("config", &err);
	free(conf.store);
	conf.store = strdup(argv[i]);
	struct store *st = NULL;
	if (store_open(&conf, STORE_WRITE, &st, &err) < 0)
		return die("store", &err);

	char digest[DIGEST_STR_MAX];
	if (digest_valid(ref))
		snprintf(digest, sizeof(digest), "%s", ref);
	else if (catalog_resolve_name(st->idx, ref, digest) < 0) {
		fprintf(stderr, "fuse-driver: image '%s' is not stored\n", ref);
		store_close(st);
		return 1;
	}

	o.ref = ref;
	struct mount *m = NULL;
	uint64_t t0 = now_ns();
	if (mount_start(st, digest, mnt, &o, &m, &err) < 0) {
		store_close(st);
		return die("mount", &err);
	}
	fprintf(stderr, "fuse-driver: mount_start took %.2f ms\n", (double)(now_ns() - t0) / 1e6);
	printf("ready\n");
	fflush(stdout);

	struct pollfd p[2] = { { .fd = sfd, .events = POLLIN }, { .fd = 0, .events = POLLIN } };
	for (;;) {
		int n = poll(p, 2, 1000);
		if (n < 0 && errno != EINTR)
			break;
		if (p[0].revents)
			break;
		if (p[1].revents) {
			char b[256];
			if (read(0, b, sizeof(b)) <= 0)
				break;
		}
		if (!mount_alive(m))
			break;
	}
	struct mount_stats s;
	mount_get_stats(m, &s);
	mount_stop(m);
	fprintf(stderr, "fuse-driver: reads=%llu bytes_read=%llu lookups=%llu readdirs=%llu getattrs=%llu "
		"errors=%llu chunk_hits=%llu chunk_misses=%llu\n",
		(unsigned long long)s.reads, (unsigned long long)s.bytes_read, (unsigned long long)s.lookups,
		(unsigned long long)s.readdirs, (unsigned long long)s.getattrs, (unsigned long long)s.errors,
		(unsigned long long)s.chunk_hits, (unsigned long long)s.chunk_misses);
	close(sfd);
	store_close(st);
	conf_release(&conf);
	return 0;
}
