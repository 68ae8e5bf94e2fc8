/* metricsd: see metricsd.h. One connection at a time: a scrape is a few
 * kilobytes every several seconds, and a slow client is cut off after a
 * short timeout, so nothing more is needed. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "src/base/log.h"
#include "metricsd.h"

#define IO_TIMEOUT_MS 5000

struct metricsd {
	int lfd;
	int wake[2];
	pthread_t tid;
	metricsd_fn fn;
	void *ctx;
};

static int parse_address(const char *address, char *host, size_t hn, char *port, size_t pn)
{
	const char *colon;
	if (address[0] == '[') {
		const char *end = strchr(address, ']');
		if (!end || end[1] != ':' || (size_t)(end - address - 1) >= hn)
			return -EINVAL;
		snprintf(host, hn, "%.*s", (int)(end - address - 1), address + 1);
		colon = end + 1;
	} else if ((colon = strrchr(address, ':'))) {
		if ((size_t)(colon - address) >= hn)
			return -EINVAL;
		snprintf(host, hn, "%.*s", (int)(colon - address), address);
	} else {
		host[0] = 0;
		colon = address - 1;
	}
	if (!host[0])
		snprintf(host, hn, "127.0.0.1"); /* loopback unless a host is named */
	snprintf(port, pn, "%s", colon + 1);
	if (!port[0] || strspn(port, "0123456789") != strlen(port) || atoi(port) < 1 || atoi(port) > 65535)
		return -EINVAL;
	return 0;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		struct pollfd pf = { fd, POLLOUT, 0 };
		if (poll(&pf, 1, IO_TIMEOUT_MS) <= 0)
			return -ETIMEDOUT;
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -EIO;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static void serve_one(struct metricsd *m, int fd)
{
	char req[4096];
	size_t got = 0;
	/* The request line and headers, up to the blank line. */
	while (got < sizeof(req) - 1 && !memmem(req, got, "\r\n\r\n", 4)) {
		struct pollfd pf = { fd, POLLIN, 0 };
		if (poll(&pf, 1, IO_TIMEOUT_MS) <= 0)
			return;
		ssize_t n = recv(fd, req + got, sizeof(req) - 1 - got, 0);
		if (n <= 0)
			return;
		got += (size_t)n;
	}
	req[got] = 0;
	struct buf body = BUF_INIT, head = BUF_INIT;
	int ok = !strncmp(req, "GET /metrics ", 13) || !strncmp(req, "GET /metrics?", 13);
	if (ok)
		m->fn(m->ctx, &body);
	else
		buf_adds(&body, "only GET /metrics is served here\n");
	buf_addf(&head, "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
		 ok ? "200 OK" : "404 Not Found", ok ? "text/plain; version=0.0.4" : "text/plain", body.len);
	if (write_all(fd, head.data, head.len) == 0)
		write_all(fd, body.data, body.len);
	buf_release(&head);
	buf_release(&body);
}

static void *accept_loop(void *arg)
{
	struct metricsd *m = arg;
	for (;;) {
		struct pollfd pf[2] = { { m->lfd, POLLIN, 0 }, { m->wake[0], POLLIN, 0 } };
		if (poll(pf, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pf[1].revents)
			break;
		int fd = accept4(m->lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		serve_one(m, fd);
		close(fd);
	}
	return NULL;
}

int metricsd_start(const char *address, metricsd_fn fn, void *ctx, struct metricsd **out,
		   struct strata_error *err)
{
	char host[256], port[16];
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV }, *ai = NULL;
	*out = NULL;
	if (parse_address(address, host, sizeof(host), port, sizeof(port)) < 0)
		return error_set(err, -EINVAL, "daemon.metrics_address '%s': not [HOST:]PORT", address);
	int r = getaddrinfo(host, port, &hints, &ai);
	if (r != 0)
		return error_set(err, -EINVAL, "daemon.metrics_address '%s': %s", address, gai_strerror(r));
	struct metricsd *m = calloc(1, sizeof(*m));
	if (!m) {
		freeaddrinfo(ai);
		return error_set(err, -ENOMEM, "out of memory");
	}
	m->fn = fn;
	m->ctx = ctx;
	m->lfd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	if (m->lfd < 0 || setsockopt(m->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(m->lfd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(m->lfd, 16) < 0) {
		r = error_errno(err, -errno, "cannot listen on '%s' for metrics", address);
		goto fail;
	}
	if (pipe2(m->wake, O_CLOEXEC) < 0) {
		r = error_errno(err, -errno, "cannot create a pipe");
		goto fail;
	}
	if (pthread_create(&m->tid, NULL, accept_loop, m) != 0) {
		r = error_set(err, -EAGAIN, "cannot start the metrics listener");
		close(m->wake[0]);
		close(m->wake[1]);
		goto fail;
	}
	freeaddrinfo(ai);
	log_info("serving /metrics on %s:%s", host, port);
	*out = m;
	return 0;
fail:
	if (m->lfd >= 0)
		close(m->lfd);
	free(m);
	freeaddrinfo(ai);
	return r;
}

void metricsd_stop(struct metricsd *m)
{
	if (!m)
		return;
	if (write(m->wake[1], "x", 1) < 0)
		log_warn("metrics listener: cannot wake it: %s", strerror(errno));
	pthread_join(m->tid, NULL);
	close(m->wake[0]);
	close(m->wake[1]);
	close(m->lfd);
	free(m);
}
