/* fuzz-target: auth_lookup_credentials 8192 */
/* libFuzzer target: auth_lookup_credentials on the input as a Docker
 * config.json. The input goes to a memfd, read back through /proc/self/fd:
 * the lookup takes a path. The host looked up is docker.io and a local one in
 * turn, so that the index.docker.io special case is exercised. */
#include "config.h"

#include <stdio.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "src/registry/auth.h"
#include "fuzz.h"

static int fd = -1;
static char path[64];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const hosts[] = { "docker.io", "127.0.0.1:5000", "registry.example",
					     "ghcr.io" };
	static unsigned n;
	if (fd < 0) {
		fd = memfd_create("config.json", 0);
		if (fd < 0)
			abort();
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	if (ftruncate(fd, 0) < 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
		abort();

	char *user = NULL, *password = NULL;
	struct strata_error err = STRATA_ERROR_INIT;
	int r = auth_lookup_credentials(path, hosts[n++ % 4], &user, &password, &err);
	if (r == 0 && (!user || !password))
		abort();
	if (r == -EBADMSG && !err.msg[0])
		abort();
	free(user);
	free(password);
	return 0;
}
