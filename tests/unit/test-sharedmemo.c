/* test-sharedmemo: the memo's shared tier against a real redis-server that
 * this test starts on loopback: writes through the queue, batched reads
 * (several MGETs in one call), reports, the TTL, values refused (garbage,
 * damaged, unsigned where a key is required), the HMAC key file's checks,
 * and faults: a server stopped (no answer: one timeout, then no call but a
 * probe a second), resumed (reconnected), killed, and a server that does
 * not speak Redis. Skips when redis-server is not installed. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "src/base/util.h"
#include "src/store/sharedmemo.h"
#include "tap.h"

static pid_t server;
static int port;
static char dir[] = "/tmp/test-sharedmemo.XXXXXX";

static int free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || getsockname(fd, (struct sockaddr *)&a, &len) < 0)
		exit(99);
	close(fd);
	return ntohs(a.sin_port);
}

static redisContext *direct(void)
{
	for (int i = 0; i < 100; i++) {
		redisContext *c = redisConnect("127.0.0.1", port);
		if (c && !c->err)
			return c;
		redisFree(c);
		usleep(50000);
	}
	return NULL;
}

static void start_server(void)
{
	char p[16];
	snprintf(p, sizeof(p), "%d", port);
	server = fork();
	if (server == 0) {
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 1);
		dup2(null, 2);
		execlp("redis-server", "redis-server", "--port", p, "--bind", "127.0.0.1", "--save", "",
		       "--appendonly", "no", "--dir", dir, (char *)NULL);
		_exit(127);
	}
	redisContext *c = direct();
	if (!c) {
		printf("Bail out! redis-server did not start\n");
		exit(99);
	}
	redisFree(c);
}

static void stop_server(void)
{
	if (server > 0) {
		kill(server, SIGCONT);
		kill(server, SIGKILL);
		waitpid(server, NULL, 0);
	}
	server = 0;
}

static struct strata_conf conf_for(const char *url, const char *key_file)
{
	struct strata_conf c = { 0 };
	c.memo_redis = (char *)url;
	c.memo_redis_prefix = (char *)"t:";
	c.memo_redis_ttl_ms = 3600000;
	c.memo_redis_connect_timeout_ms = 200;
	c.memo_redis_timeout_ms = 300;
	c.memo_redis_hmac_key_file = (char *)key_file;
	return c;
}

static void wait_written(struct sharedmemo *sm, uint64_t n)
{
	struct sharedmemo_stats st;
	for (int i = 0; i < 500; i++) {
		sharedmemo_get_stats(sm, &st);
		if (st.written + st.write_errors >= n && !st.queue_items)
			return;
		usleep(10000);
	}
}

struct hits {
	size_t n;
	size_t idx[2048];
	char first[256];
};

static int on_found(void *ctx, size_t i, const char *json, size_t len)
{
	struct hits *h = ctx;
	if (!h->n)
		snprintf(h->first, sizeof(h->first), "%.*s", (int)len, json);
	if (h->n < 2048)
		h->idx[h->n] = i;
	h->n++;
	return 0;
}

/* How many of one key's values are found: 0 or 1. */
static size_t lookup_one(struct sharedmemo *sm, const char *key)
{
	struct hits h = { 0 };
	size_t len = strlen(key);
	sharedmemo_get_results(sm, 1, &key, &len, on_found, &h);
	return h.n;
}

static double seconds_since(uint64_t t0)
{
	return (double)(now_ns() - t0) / 1e9;
}

static void test_sharing(const char *url)
{
	struct strata_conf c = conf_for(url, NULL);
	struct strata_error err = STRATA_ERROR_INIT;
	struct sharedmemo *sm = NULL, *off = NULL;
	struct strata_conf none = { 0 };
	is_int(sharedmemo_open(&none, &off, &err), 0, "no memo.redis: no tier");
	ok(off == NULL, "and no object");
	is_int(sharedmemo_open(&c, &sm, &err), 0, "open (%s)", err.msg);

	sharedmemo_put_result(sm, "k/1", 3, "{\"records\":[1]}", 15);
	sharedmemo_put_result(sm, "k/2", 3, "{\"records\":[2]}", 15);
	sharedmemo_put_result(sm, "k/3", 3, "{\"records\":[3]}", 15);
	sharedmemo_put_report(sm, "sha256:ab", "files,dpkg@1", "{\n  \"schema\": 1\n}\n", 18);
	wait_written(sm, 4);
	struct sharedmemo_stats st;
	sharedmemo_get_stats(sm, &st);
	is_int(st.written, 4, "four values written");
	is_int(st.queue_items, 0, "the queue is empty");

	const char *keys[] = { "k/1", "k/none", "k/2", "k/3" };
	size_t lens[] = { 3, 6, 3, 3 };
	struct hits h = { 0 };
	is_int(sharedmemo_get_results(sm, 4, keys, lens, on_found, &h), 0, "look up four keys");
	ok(h.n == 3 && h.idx[0] == 0 && h.idx[1] == 2 && h.idx[2] == 3, "three found, by their index (%zu)", h.n);
	is_str(h.first, "{\"records\":[1]}", "with their values");
	struct buf rep = BUF_INIT;
	is_int(sharedmemo_get_report(sm, "sha256:ab", "files,dpkg@1", &rep), 0, "the report is found");
	is_str(rep.data, "{\n  \"schema\": 1\n}\n", "as it was written");
	buf_reset(&rep);
	is_int(sharedmemo_get_report(sm, "sha256:ab", "files", &rep), -ENOENT, "not under another configuration");
	sharedmemo_get_stats(sm, &st);
	ok(st.hits[SHAREDMEMO_RESULT] == 3 && st.misses[SHAREDMEMO_RESULT] == 1 && st.hits[SHAREDMEMO_REPORT] == 1 &&
	   st.misses[SHAREDMEMO_REPORT] == 1, "hits and misses counted");

	redisContext *d = direct();
	redisReply *r = redisCommand(d, "PTTL t:result:k/1");
	ok(r && r->type == REDIS_REPLY_INTEGER && r->integer > 3500000 && r->integer <= 3600000,
	   "written with the TTL (%lld ms)", r ? r->integer : -1);
	freeReplyObject(r);

	/* 1,200 keys: three MGETs in one call. */
	static char names[1200][16];
	const char *many[1200];
	size_t ml[1200];
	for (int i = 0; i < 1200; i++) {
		ml[i] = (size_t)snprintf(names[i], sizeof(names[i]), "m/%d", i);
		many[i] = names[i];
		if (i % 3 == 0)
			sharedmemo_put_result(sm, many[i], ml[i], "{\"records\":[]}", 14);
	}
	wait_written(sm, 4 + 400);
	memset(&h, 0, sizeof(h));
	sharedmemo_get_results(sm, 1200, many, ml, on_found, &h);
	int right = h.n == 400;
	for (size_t i = 0; right && i < h.n; i++)
		right = h.idx[i] == i * 3;
	ok(right, "1,200 keys in one call: the 400 written are found (%zu)", h.n);

	/* Garbage under strata's keys, a damaged value, a value of the wrong type. */
	freeReplyObject(redisCommand(d, "SET t:result:k/1 garbage"));
	r = redisCommand(d, "GET t:result:k/2");
	if (r && r->type == REDIS_REPLY_STRING) {
		r->str[r->len - 2] ^= 1;
		freeReplyObject(redisCommand(d, "SET t:result:k/2 %b", r->str, r->len));
	}
	freeReplyObject(r);
	freeReplyObject(redisCommand(d, "DEL t:result:k/3"));
	freeReplyObject(redisCommand(d, "LPUSH t:result:k/3 x"));
	freeReplyObject(redisCommand(d, "SET t:report:sha256:ab/files,dpkg@1 %s", "STMV"));
	memset(&h, 0, sizeof(h));
	sharedmemo_get_results(sm, 4, keys, lens, on_found, &h);
	is_int(h.n, 0, "garbage, a damaged value and a list are not found");
	buf_reset(&rep);
	is_int(sharedmemo_get_report(sm, "sha256:ab", "files,dpkg@1", &rep), -ENOENT, "nor a garbage report");
	sharedmemo_get_stats(sm, &st);
	ok(st.rejected[MEMOVAL_MALFORMED] == 2 && st.rejected[MEMOVAL_CHECKSUM] == 1,
	   "refused and counted: 2 malformed, 1 damaged (%llu, %llu)",
	   (unsigned long long)st.rejected[MEMOVAL_MALFORMED], (unsigned long long)st.rejected[MEMOVAL_CHECKSUM]);
	ok(st.up && st.errors[SHAREDMEMO_READ] == 0, "and no call failed");

	/* JSON that is not an object, correctly encoded by a writer: refused. */
	struct buf v = BUF_INIT;
	memoval_encode(NULL, MEMOVAL_RESULT, "result:k/1", 10, "[1,2]", 5, &v);
	freeReplyObject(redisCommand(d, "SET t:result:k/1 %b", v.data, v.len));
	memset(&h, 0, sizeof(h));
	sharedmemo_get_results(sm, 1, keys, lens, on_found, &h);
	is_int(h.n, 0, "a sound value that is not a JSON object is refused");
	buf_release(&v);
	redisFree(d);
	buf_release(&rep);
	sharedmemo_free(sm);
}

static int write_key(const char *name, const char *text, mode_t mode)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	fputs(text, f);
	fclose(f);
	return chmod(path, mode);
}

static void test_hmac(const char *url)
{
	char k1[256], k2[256], loose[256], shortk[256];
	struct strata_error err = STRATA_ERROR_INIT;
	struct sharedmemo *a = NULL, *b = NULL, *plain = NULL, *x = NULL;
	snprintf(k1, sizeof(k1), "%s/k1", dir);
	snprintf(k2, sizeof(k2), "%s/k2", dir);
	snprintf(loose, sizeof(loose), "%s/loose", dir);
	snprintf(shortk, sizeof(shortk), "%s/short", dir);
	write_key("k1", "9f2c1a7e5b3d4c6e8f0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8091a2b3c4\n", 0600);
	write_key("k2", "0000000000000000000000000000000000000000000000000000000000000000\n", 0640);
	write_key("loose", "9f2c1a7e5b3d4c6e8f0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8091a2b3c4\n", 0644);
	write_key("short", "tooshort\n", 0600);
	struct strata_conf c = conf_for(url, loose);
	ok(sharedmemo_open(&c, &x, &err) == -EACCES && strstr(err.msg, "readable or writable by others"),
	   "a key file others can read is refused (%s)", err.msg);
	error_clear(&err);
	c = conf_for(url, shortk);
	ok(sharedmemo_open(&c, &x, &err) == -EINVAL && strstr(err.msg, "at least 32"), "a short key is refused (%s)",
	   err.msg);
	error_clear(&err);
	c = conf_for(url, "/nonexistent/key");
	ok(sharedmemo_open(&c, &x, &err) == -ENOENT && strstr(err.msg, "/nonexistent/key"), "a missing one too (%s)",
	   err.msg);
	c = conf_for(url, k1);
	is_int(sharedmemo_open(&c, &a, &err), 0, "open with key 1");
	c = conf_for(url, k2);
	is_int(sharedmemo_open(&c, &b, &err), 0, "open with key 2");
	c = conf_for(url, NULL);
	is_int(sharedmemo_open(&c, &plain, &err), 0, "open without a key");

	sharedmemo_put_result(plain, "h/plain", 7, "{\"records\":[]}", 14);
	sharedmemo_put_result(a, "h/one", 5, "{\"records\":[1]}", 15);
	sharedmemo_put_result(b, "h/two", 5, "{\"records\":[2]}", 15);
	wait_written(plain, 1);
	wait_written(a, 1);
	wait_written(b, 1);
	const char *keys[] = { "h/plain", "h/one", "h/two" };
	size_t lens[] = { 7, 5, 5 };
	struct hits h = { 0 };
	struct sharedmemo_stats st;
	sharedmemo_get_results(a, 3, keys, lens, on_found, &h);
	ok(h.n == 1 && h.idx[0] == 1, "key 1 believes only what key 1 signed");
	sharedmemo_get_stats(a, &st);
	ok(st.signing && st.rejected[MEMOVAL_UNSIGNED] == 1 && st.rejected[MEMOVAL_SIGNATURE] == 1,
	   "the unsigned value and key 2's are counted as refused");
	memset(&h, 0, sizeof(h));
	sharedmemo_get_results(plain, 3, keys, lens, on_found, &h);
	ok(h.n == 1 && h.idx[0] == 0, "without a key, signed values cannot be checked: refused");
	sharedmemo_get_stats(plain, &st);
	is_int(st.rejected[MEMOVAL_UNVERIFIABLE], 2, "as unverifiable");
	sharedmemo_free(a);
	sharedmemo_free(b);
	sharedmemo_free(plain);
}

static void test_faults(const char *url)
{
	struct strata_conf c = conf_for(url, NULL);
	struct strata_error err = STRATA_ERROR_INIT;
	struct sharedmemo *sm = NULL;
	struct sharedmemo_stats st;
	sharedmemo_open(&c, &sm, &err);
	sharedmemo_put_result(sm, "f/1", 3, "{\"records\":[]}", 14);
	wait_written(sm, 1);
	is_int(lookup_one(sm, "f/1"), 1, "before the fault: found");

	/* Stopped: it accepts connections and answers nothing. */
	kill(server, SIGSTOP);
	uint64_t t0 = now_ns();
	size_t n = lookup_one(sm, "f/1");
	double s = seconds_since(t0);
	ok(n == 0 && s >= 0.25 && s < 0.6, "a server that does not answer costs one timeout (%.3f s of 0.3)", s);
	t0 = now_ns();
	for (int i = 0; i < 20; i++)
		lookup_one(sm, "f/1");
	s = seconds_since(t0);
	ok(s < 0.05, "during the outage, calls are not tried (20 in %.3f s)", s);
	sharedmemo_get_stats(sm, &st);
	ok(!st.up && st.errors[SHAREDMEMO_READ] == 1 && st.skipped[SHAREDMEMO_READ] == 20 && st.outages == 1,
	   "down, one error, 20 skipped, one outage (%llu, %llu)", (unsigned long long)st.errors[SHAREDMEMO_READ],
	   (unsigned long long)st.skipped[SHAREDMEMO_READ]);
	sharedmemo_put_result(sm, "f/2", 3, "{\"records\":[2]}", 15);
	kill(server, SIGCONT);
	usleep(1100000);
	n = lookup_one(sm, "f/1");
	sharedmemo_get_stats(sm, &st);
	ok(n == 1 && st.up, "resumed: the next probe reconnects and finds it");
	wait_written(sm, 2);
	sharedmemo_get_stats(sm, &st);
	is_int(st.written, 2, "what was queued during the outage is written after it");

	/* Killed: connections are refused at once. */
	stop_server();
	t0 = now_ns();
	struct buf rep = BUF_INIT;
	is_int(sharedmemo_get_report(sm, "sha256:ab", "c", &rep), -ENOENT, "no server: a miss");
	ok(seconds_since(t0) < 0.25, "at once (%.3f s)", seconds_since(t0));
	sharedmemo_get_stats(sm, &st);
	ok(!st.up && st.outages == 2, "a second outage");
	buf_release(&rep);
	sharedmemo_free(sm);
}

/* A server that answers anything with text that is not Redis's protocol. */
static void *babbler(void *arg)
{
	int lfd = *(int *)arg;
	for (;;) {
		int fd = accept(lfd, NULL, NULL);
		if (fd < 0)
			return NULL;
		char b[256];
		if (read(fd, b, sizeof(b)) > 0) {
			ssize_t w = write(fd, "HTTP/1.0 400 Bad Request\r\n\r\n", 28);
			(void)w;
		}
		close(fd);
	}
}

static void test_not_redis(void)
{
	int lfd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	pthread_t t;
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(lfd, 8) < 0 ||
	    getsockname(lfd, (struct sockaddr *)&a, &len) < 0 || pthread_create(&t, NULL, babbler, &lfd) != 0) {
		ok(0, "cannot set up a babbling server");
		return;
	}
	char url[64];
	snprintf(url, sizeof(url), "redis://127.0.0.1:%d", ntohs(a.sin_port));
	struct strata_conf c = conf_for(url, NULL);
	struct strata_error err = STRATA_ERROR_INIT;
	struct sharedmemo *sm = NULL;
	struct sharedmemo_stats st;
	sharedmemo_open(&c, &sm, &err);
	uint64_t t0 = now_ns();
	size_t n = lookup_one(sm, "f/1");
	sharedmemo_get_stats(sm, &st);
	ok(n == 0 && !st.up && st.errors[SHAREDMEMO_READ] == 1, "a server that does not speak Redis: a failed call");
	ok(seconds_since(t0) < 0.25, "at once (%.3f s)", seconds_since(t0));
	sharedmemo_free(sm);
	shutdown(lfd, SHUT_RDWR);
	close(lfd);
	pthread_join(t, NULL);
}

int main(void)
{
	if (system("command -v redis-server >/dev/null 2>&1") != 0) {
		printf("1..0 # SKIP redis-server is not installed\n");
		return 0;
	}
	signal(SIGPIPE, SIG_IGN);
	if (!mkdtemp(dir))
		return 99;
	port = free_port();
	start_server();
	char url[64];
	snprintf(url, sizeof(url), "redis://127.0.0.1:%d", port);
	test_sharing(url);
	test_hmac(url);
	test_faults(url);
	test_not_redis();
	stop_server();
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	int rc = system(cmd);
	(void)rc;
	return tap_done();
}
