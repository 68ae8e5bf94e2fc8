/* sharedmemo: see sharedmemo.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <jansson.h>

#include "src/base/log.h"
#include "src/base/util.h"
#include "sharedmemo.h"

/* Keys per MGET; one call sends as many MGETs as it needs, pipelined. */
#define MGET_KEYS 500
/* What one call may receive: a report at its largest, and some. */
#define REPLY_MAX ((size_t)MEMOVAL_MAX + (16u << 20))
/* Idle connections kept for the next calls. */
#define IDLE_MAX 8
/* During an outage, one call a second probes the server. */
#define RETRY_NS 1000000000ull
/* The write queue, and one pipelined batch of it. */
#define QUEUE_MAX_ITEMS 100000
#define QUEUE_MAX_BYTES (256u << 20)
#define BATCH_ITEMS 256
#define BATCH_BYTES (8u << 20)
/* At the end, the writer goes on this long with what is queued. */
#define STOP_DRAIN_NS 1000000000ull

const double sharedmemo_buckets[SHAREDMEMO_BUCKETS] = { 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
							0.05,   0.1,   0.25,   0.5,   1 };

struct conn {
	redisContext *ctx;
	struct conn *next;
};

/* A value waiting to be written. */
struct item {
	struct item *next;
	char *key;               /* the Redis key, prefix included */
	size_t klen;
	char *payload;
	size_t plen;
	enum memoval_kind kind;
};

struct sharedmemo {
	struct conf_redis_url url;
	char *shown;             /* memo.redis without its password, for messages */
	char *prefix;
	size_t prefix_len;
	uint64_t ttl_ms, connect_ms, timeout_ms;
	struct memoval_key key;

	pthread_mutex_t lock;    /* protects everything below */
	pthread_cond_t wake;     /* the writer: something queued, or stopping */
	struct conn *idle;
	unsigned n_idle;
	int down;                /* from a failed call to a call that succeeds */
	uint64_t down_since, retry_at;   /* now_ns() */
	int write_failing;       /* the server refuses writes (full, read-only) */
	int queue_full;          /* dropping values; warned */
	struct item *head, *tail;
	int stopping;
	uint64_t stop_at;
	struct sharedmemo_stats st;
	pthread_t writer;
	int writer_running;
};

/* --- opening ----------------------------------------------------------- */

static int load_key(struct sharedmemo *sm, const char *path, struct strata_error *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	struct stat st;
	if (fd < 0)
		return error_errno(err, -errno, "memo.redis_hmac_key_file '%s'", path);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return error_set(err, -EINVAL, "memo.redis_hmac_key_file '%s': not a regular file", path);
	}
	close(fd);
	/* A key others can read is a key anyone on the node can sign with. */
	if (st.st_mode & (S_IROTH | S_IWOTH))
		return error_set(err, -EACCES, "memo.redis_hmac_key_file '%s': readable or writable by others "
				 "(chmod o-rw it)", path);
	char *text = NULL;
	size_t len = 0;
	int r = read_file(path, 4096, &text, &len);
	if (r < 0)
		return error_set(err, r, "memo.redis_hmac_key_file '%s': %s", path,
				 r == -EFBIG ? "larger than 4096 bytes" : strerror(-r));
	/* A key made with `openssl rand -hex 32 > FILE` ends with a newline. */
	while (len && (text[len - 1] == '\n' || text[len - 1] == '\r'))
		len--;
	r = memoval_key_init(&sm->key, text, len);
	memset(text, 0, len);
	free(text);
	if (r == -EINVAL)
		return error_set(err, r, "memo.redis_hmac_key_file '%s': a key of %zu bytes; at least %d are "
				 "needed (openssl rand -hex 32)", path, len, MEMOVAL_KEY_MIN);
	return r < 0 ? error_set(err, r, "out of memory") : 0;
}

static void *writer_main(void *arg);

int sharedmemo_open(const struct strata_conf *conf, struct sharedmemo **out, struct strata_error *err)
{
	*out = NULL;
	if (!conf->memo_redis || !*conf->memo_redis)
		return 0;
	struct sharedmemo *sm = calloc(1, sizeof(*sm));
	if (!sm)
		return error_set(err, -ENOMEM, "out of memory");
	pthread_mutex_init(&sm->lock, NULL);
	pthread_cond_init(&sm->wake, NULL);
	int r = conf_parse_redis_url(conf->memo_redis, &sm->url);
	sm->shown = conf_redis_url_redacted(conf->memo_redis);
	sm->prefix = strdup(conf->memo_redis_prefix ? conf->memo_redis_prefix : "strata:");
	if (r == -EINVAL)
		r = error_set(err, r, "invalid memo.redis '%s'", sm->shown ? sm->shown : "");
	else if (r < 0 || !sm->shown || !sm->prefix)
		r = error_set(err, -ENOMEM, "out of memory");
	if (r == 0 && conf->memo_redis_hmac_key_file && *conf->memo_redis_hmac_key_file)
		r = load_key(sm, conf->memo_redis_hmac_key_file, err);
	if (r < 0) {
		sharedmemo_free(sm);
		return r;
	}
	sm->prefix_len = strlen(sm->prefix);
	sm->ttl_ms = conf->memo_redis_ttl_ms;
	sm->connect_ms = conf->memo_redis_connect_timeout_ms ? conf->memo_redis_connect_timeout_ms : 250;
	sm->timeout_ms = conf->memo_redis_timeout_ms ? conf->memo_redis_timeout_ms : 500;
	snprintf(sm->st.address, sizeof(sm->st.address), "%s", sm->shown);
	sm->st.up = 1;
	sm->st.signing = sm->key.len > 0;
	if (pthread_create(&sm->writer, NULL, writer_main, sm) != 0) {
		sharedmemo_free(sm);
		return error_set(err, -EAGAIN, "cannot start the shared memo's writer thread");
	}
	sm->writer_running = 1;
	*out = sm;
	return 0;
}

static void item_free(struct item *it)
{
	if (!it)
		return;
	free(it->key);
	free(it->payload);
	free(it);
}

void sharedmemo_free(struct sharedmemo *sm)
{
	if (!sm)
		return;
	if (sm->writer_running) {
		pthread_mutex_lock(&sm->lock);
		sm->stopping = 1;
		sm->stop_at = now_ns() + STOP_DRAIN_NS;
		pthread_cond_broadcast(&sm->wake);
		pthread_mutex_unlock(&sm->lock);
		pthread_join(sm->writer, NULL);
	}
	while (sm->head) {
		struct item *it = sm->head;
		sm->head = it->next;
		item_free(it);
	}
	while (sm->idle) {
		struct conn *c = sm->idle;
		sm->idle = c->next;
		redisFree(c->ctx);
		free(c);
	}
	memoval_key_release(&sm->key);
	conf_redis_url_release(&sm->url);
	free(sm->shown);
	free(sm->prefix);
	pthread_cond_destroy(&sm->wake);
	pthread_mutex_destroy(&sm->lock);
	free(sm);
}

/* --- one call: commands out, replies in, within a deadline ----------------- */

/* Waits until fd is ready for events or the deadline passes: 1, or 0. */
static int wait_fd(int fd, short events, uint64_t deadline)
{
	for (;;) {
		uint64_t now = now_ns();
		if (now >= deadline)
			return 0;
		struct pollfd p = { fd, events, 0 };
		uint64_t ms = (deadline - now + 999999) / 1000000;
		int n = poll(&p, 1, ms > 60000 ? 60000 : (int)ms);
		if (n > 0)
			return 1;
		if (n < 0 && errno != EINTR)
			return 0;
	}
}

static void free_replies(redisReply **rep, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (rep[i])
			freeReplyObject(rep[i]);
		rep[i] = NULL;
	}
}

/* Sends what was appended to c and reads n replies into rep. 0; -EPIPE
 * when the connection failed (closed, reset), -ETIMEDOUT, -EPROTO: with
 * why set and rep empty. */
static int run(redisContext *c, uint64_t deadline, size_t n, redisReply **rep, char *why, size_t wlen)
{
	int done = 0, r = 0;
	size_t got = 0;
	for (size_t i = 0; i < n; i++)
		rep[i] = NULL;
	while (!done && r == 0) {
		if (redisBufferWrite(c, &done) != REDIS_OK)
			r = -EPIPE;
		else if (!done && !wait_fd(c->fd, POLLOUT, deadline))
			r = -ETIMEDOUT;
	}
	while (got < n && r == 0) {
		void *reply = NULL;
		if (redisGetReplyFromReader(c, &reply) != REDIS_OK) {
			r = -EPROTO;
		} else if (reply) {
			rep[got++] = reply;
		} else if (c->reader->len > REPLY_MAX) {
			snprintf(c->errstr, sizeof(c->errstr), "a reply larger than %zu MiB", REPLY_MAX >> 20);
			r = -EPROTO;
		} else if (!wait_fd(c->fd, POLLIN, deadline)) {
			r = -ETIMEDOUT;
		} else if (redisBufferRead(c) != REDIS_OK) {
			r = -EPIPE;
		}
	}
	if (r == -ETIMEDOUT)
		snprintf(why, wlen, "no answer within the timeout (memo.redis_timeout)");
	else if (r == -EPROTO)
		snprintf(why, wlen, "protocol error (not a Redis server?): %s",
			 !strncmp(c->errstr, "Protocol error, ", 16) ? c->errstr + 16 : c->errstr);
	else if (r < 0)
		snprintf(why, wlen, "%s", c->errstr[0] ? c->errstr : "connection lost");
	if (r < 0)
		free_replies(rep, got);
	return r;
}

/* An error reply's text, made safe for one line. */
static void reply_error(const redisReply *rep, char *why, size_t wlen, const char *what)
{
	size_t n = rep->len < 200 ? rep->len : 200, o = 0;
	char text[256];
	for (size_t i = 0; i < n; i++)
		text[o++] = rep->str[i] >= 0x20 && rep->str[i] < 0x7f ? rep->str[i] : '?';
	text[o] = '\0';
	snprintf(why, wlen, "%s: %s", what, text);
}

/* A new connection, authenticated and on its database; NULL with why set. */
static redisContext *connect_new(struct sharedmemo *sm, uint64_t deadline, char *why, size_t wlen)
{
	struct timeval tv = { (time_t)(sm->connect_ms / 1000), (suseconds_t)(sm->connect_ms % 1000 * 1000) };
	redisContext *c = redisConnectWithTimeout(sm->url.host, sm->url.port, tv);
	if (!c) {
		snprintf(why, wlen, "out of memory");
		return NULL;
	}
	if (c->err) {
		snprintf(why, wlen, "cannot connect: %c%s", c->errstr[0] >= 'A' && c->errstr[0] <= 'Z' &&
			 c->errstr[1] >= 'a' ? c->errstr[0] - 'A' + 'a' : c->errstr[0], c->errstr[0] ? c->errstr + 1 : "");
		redisFree(c);
		return NULL;
	}
	/* Every call from here on waits in poll, within its own deadline. */
	int fl = fcntl(c->fd, F_GETFL);
	if (fl < 0 || fcntl(c->fd, F_SETFL, fl | O_NONBLOCK) < 0) {
		snprintf(why, wlen, "cannot connect: %s", strerror(errno));
		redisFree(c);
		return NULL;
	}
	c->flags &= ~REDIS_BLOCK;
	redisEnableKeepAlive(c);
	size_t n = 0;
	if (sm->url.password && sm->url.user)
		n += redisAppendCommand(c, "AUTH %s %s", sm->url.user, sm->url.password) == REDIS_OK;
	else if (sm->url.password)
		n += redisAppendCommand(c, "AUTH %s", sm->url.password) == REDIS_OK;
	if (sm->url.db)
		n += redisAppendCommand(c, "SELECT %d", sm->url.db) == REDIS_OK;
	redisReply *rep[2];
	if (n && run(c, deadline, n, rep, why, wlen) < 0) {
		redisFree(c);
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		if (rep[i]->type == REDIS_REPLY_ERROR) {
			reply_error(rep[i], why, wlen, sm->url.password && i == 0 ? "AUTH" : "SELECT");
			free_replies(rep, n);
			redisFree(c);
			return NULL;
		}
	free_replies(rep, n);
	return c;
}

/* May a call be made now? During an outage, one a second: the probe. */
static int gate(struct sharedmemo *sm, enum sharedmemo_op op)
{
	pthread_mutex_lock(&sm->lock);
	uint64_t now = now_ns();
	int go = !sm->down || now >= sm->retry_at;
	if (sm->down && go)
		sm->retry_at = now + RETRY_NS;
	if (!go)
		sm->st.skipped[op]++;
	pthread_mutex_unlock(&sm->lock);
	return go;
}

static void observe(struct sharedmemo *sm, enum sharedmemo_op op, uint64_t t0)
{
	double s = (double)(now_ns() - t0) / 1e9;
	size_t b = 0;
	while (b < SHAREDMEMO_BUCKETS && s > sharedmemo_buckets[b])
		b++;
	sm->st.hist[op][b]++;
	sm->st.seconds[op] += s;
	sm->st.calls[op]++;
}

static void succeeded(struct sharedmemo *sm, enum sharedmemo_op op, uint64_t t0, redisContext *c)
{
	uint64_t was_down = 0;
	pthread_mutex_lock(&sm->lock);
	observe(sm, op, t0);
	if (sm->down) {
		was_down = now_ns() - sm->down_since;
		sm->down = 0;
		sm->st.up = 1;
	}
	struct conn *keep = sm->n_idle < IDLE_MAX ? malloc(sizeof(*keep)) : NULL;
	if (keep) {
		keep->ctx = c;
		keep->next = sm->idle;
		sm->idle = keep;
		sm->n_idle++;
	}
	pthread_mutex_unlock(&sm->lock);
	if (!keep)
		redisFree(c);
	if (was_down)
		log_info("shared memo %s: reachable again after %.1f s", sm->shown, (double)was_down / 1e9);
}

static void failed(struct sharedmemo *sm, enum sharedmemo_op op, uint64_t t0, char *why)
{
	int first = 0;
	/* hiredis says "Connection refused": strata's messages are lowercase. */
	if (why[0] >= 'A' && why[0] <= 'Z' && why[1] >= 'a' && why[1] <= 'z')
		why[0] = (char)(why[0] - 'A' + 'a');
	pthread_mutex_lock(&sm->lock);
	observe(sm, op, t0);
	sm->st.errors[op]++;
	uint64_t now = now_ns();
	if (!sm->down) {
		first = 1;
		sm->down = 1;
		sm->down_since = now;
		sm->st.up = 0;
		sm->st.outages++;
	}
	sm->retry_at = now + RETRY_NS;
	/* The idle connections are likely as dead as this one. */
	struct conn *idle = sm->idle;
	sm->idle = NULL;
	sm->n_idle = 0;
	pthread_mutex_unlock(&sm->lock);
	while (idle) {
		struct conn *next = idle->next;
		redisFree(idle->ctx);
		free(idle);
		idle = next;
	}
	if (first)
		log_warn("shared memo %s: %s; analyses go on with this node's memo alone, and it is tried again "
			 "every second", sm->shown, why);
}

/* Appends a call's commands to c. */
typedef int (*append_fn)(redisContext *c, void *ctx);

/* One call: the commands append makes, n replies into rep. 0, or -1 when
 * it was not made or failed (counted; the first failure of an outage
 * logged). A pooled connection that the server closed since (a restart, its
 * idle timeout) is no outage: the call is made once more on a new one. */
static int call(struct sharedmemo *sm, enum sharedmemo_op op, append_fn append, void *actx, size_t n,
		redisReply **rep)
{
	char why[256] = "out of memory";
	if (!gate(sm, op))
		return -1;
	uint64_t t0 = now_ns(), deadline = t0 + sm->timeout_ms * 1000000ull;
	for (int attempt = 0; attempt < 2; attempt++) {
		redisContext *c = NULL;
		int reused = 0;
		pthread_mutex_lock(&sm->lock);
		struct conn *pc = sm->idle;
		if (pc) {
			sm->idle = pc->next;
			sm->n_idle--;
			c = pc->ctx;
			reused = 1;
		}
		pthread_mutex_unlock(&sm->lock);
		free(pc);
		if (!c && !(c = connect_new(sm, deadline, why, sizeof(why))))
			break;
		int r = append(c, actx) < 0 ? -ENOMEM : run(c, deadline, n, rep, why, sizeof(why));
		if (r == 0) {
			succeeded(sm, op, t0, c);
			return 0;
		}
		redisFree(c);
		if (r != -EPIPE || !reused)
			break;
	}
	failed(sm, op, t0, why);
	return -1;
}

/* --- reads -------------------------------------------------------------- */

struct mget {
	size_t n;
	const char **argv;       /* "MGET" and the keys, per command */
	size_t *argvlen;
};

static int append_mget(redisContext *c, void *ctx)
{
	struct mget *m = ctx;
	for (size_t first = 0; first < m->n; first += MGET_KEYS) {
		size_t k = m->n - first < MGET_KEYS ? m->n - first : MGET_KEYS;
		/* argv[first + cmd] is "MGET": keys sit after it. */
		size_t at = first + first / MGET_KEYS;
		if (redisAppendCommandArgv(c, (int)k + 1, m->argv + at, m->argvlen + at) != REDIS_OK)
			return -ENOMEM;
	}
	return 0;
}

/* Is text a JSON object? Results come back as the client's memo values. */
static int json_object_text(const char *text, size_t len)
{
	json_t *v = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
	int ok = json_is_object(v);
	json_decref(v);
	return ok;
}

static void count_reject(struct sharedmemo *sm, int why)
{
	pthread_mutex_lock(&sm->lock);
	sm->st.rejected[why > 0 && why < MEMOVAL_REJECTS ? why : MEMOVAL_MALFORMED]++;
	pthread_mutex_unlock(&sm->lock);
}

int sharedmemo_get_results(struct sharedmemo *sm, size_t n, const char *const *keys, const size_t *lens,
			   int (*found)(void *ctx, size_t i, const char *json, size_t len), void *ctx)
{
	if (!sm || !n)
		return 0;
	size_t ncmd = (n + MGET_KEYS - 1) / MGET_KEYS, nargs = n + ncmd;
	struct mget m = { n, malloc(nargs * sizeof(char *)), malloc(nargs * sizeof(size_t)) };
	struct buf names = BUF_INIT, payload = BUF_INIT;
	redisReply **rep = calloc(ncmd, sizeof(*rep));
	size_t *off = malloc(n * sizeof(*off));
	int r = 0;
	if (!m.argv || !m.argvlen || !rep || !off)
		goto out;
	/* The Redis keys end to end first: pointers once the buffer stops moving. */
	for (size_t i = 0; i < n; i++) {
		off[i] = names.len;
		if (buf_add(&names, sm->prefix, sm->prefix_len) < 0 || buf_adds(&names, "result:") < 0 ||
		    buf_add(&names, keys[i], lens[i]) < 0)
			goto out;
	}
	for (size_t i = 0, a = 0; i < n; i++) {
		if (i % MGET_KEYS == 0) {
			m.argv[a] = "MGET";
			m.argvlen[a++] = 4;
		}
		m.argv[a] = names.data + off[i];
		m.argvlen[a++] = (i + 1 < n ? off[i + 1] : names.len) - off[i];
	}
	if (call(sm, SHAREDMEMO_READ, append_mget, &m, ncmd, rep) < 0)
		goto out;
	uint64_t hits = 0, misses = 0;
	for (size_t i = 0; i < n && r == 0; i++) {
		const redisReply *arr = rep[i / MGET_KEYS];
		size_t want = i / MGET_KEYS + 1 < ncmd ? MGET_KEYS : n - (ncmd - 1) * MGET_KEYS;
		if (arr->type != REDIS_REPLY_ARRAY || arr->elements != want) {
			/* Not what MGET answers: none of this batch is believed. */
			i += want - i % MGET_KEYS - 1;
			count_reject(sm, MEMOVAL_MALFORMED);
			continue;
		}
		const redisReply *v = arr->element[i % MGET_KEYS];
		if (v->type == REDIS_REPLY_NIL) {
			misses++;
			continue;
		}
		buf_reset(&payload);
		const char *mkey = names.data + off[i] + sm->prefix_len;
		size_t mlen = (i + 1 < n ? off[i + 1] : names.len) - off[i] - sm->prefix_len;
		int d = v->type != REDIS_REPLY_STRING ? MEMOVAL_MALFORMED :
			memoval_decode(&sm->key, MEMOVAL_RESULT, mkey, mlen, v->str, v->len, MEMOVAL_MAX, &payload);
		if (d == MEMOVAL_OK && !json_object_text(payload.data, payload.len))
			d = MEMOVAL_MALFORMED;
		if (d < 0)
			break;
		if (d != MEMOVAL_OK) {
			count_reject(sm, d);
			continue;
		}
		hits++;
		r = found(ctx, i, payload.data, payload.len);
	}
	pthread_mutex_lock(&sm->lock);
	sm->st.hits[SHAREDMEMO_RESULT] += hits;
	sm->st.misses[SHAREDMEMO_RESULT] += misses;
	pthread_mutex_unlock(&sm->lock);
out:
	if (rep)
		free_replies(rep, ncmd);
	free(rep);
	free(off);
	free(m.argv);
	free(m.argvlen);
	buf_release(&names);
	buf_release(&payload);
	return r;
}

static int append_get(redisContext *c, void *ctx)
{
	const struct buf *key = ctx;
	return redisAppendCommand(c, "GET %b", key->data, key->len) == REDIS_OK ? 0 : -ENOMEM;
}

static int report_key(struct sharedmemo *sm, const char *digest, const char *config, struct buf *k)
{
	return buf_add(k, sm->prefix, sm->prefix_len) < 0 || buf_adds(k, "report:") < 0 || buf_adds(k, digest) < 0 ||
	       buf_addch(k, '/') < 0 || buf_adds(k, config) < 0 ? -ENOMEM : 0;
}

/* A report as strata analyze sends it: the text of one JSON object (the
 * client parses it, and takes a bad one for a miss). */
static int report_text(const char *s, size_t n)
{
	while (n && (s[n - 1] == '\n' || s[n - 1] == ' '))
		n--;
	return n >= 2 && s[0] == '{' && s[n - 1] == '}';
}

int sharedmemo_get_report(struct sharedmemo *sm, const char *digest, const char *config, struct buf *out)
{
	struct buf k = BUF_INIT;
	redisReply *rep = NULL;
	int r = -ENOENT;
	if (!sm || report_key(sm, digest, config, &k) < 0 || call(sm, SHAREDMEMO_READ, append_get, &k, 1, &rep) < 0)
		goto out;
	int d = MEMOVAL_MALFORMED;
	size_t start = out->len;
	if (rep->type == REDIS_REPLY_NIL) {
		d = -ENOENT;
	} else if (rep->type == REDIS_REPLY_STRING) {
		d = memoval_decode(&sm->key, MEMOVAL_REPORT, k.data + sm->prefix_len, k.len - sm->prefix_len, rep->str,
				   rep->len, MEMOVAL_MAX, out);
		if (d == MEMOVAL_OK && !report_text(out->data + start, out->len - start)) {
			buf_setlen(out, start);
			d = MEMOVAL_MALFORMED;
		}
	}
	pthread_mutex_lock(&sm->lock);
	if (d == MEMOVAL_OK)
		sm->st.hits[SHAREDMEMO_REPORT]++;
	else if (d == -ENOENT)
		sm->st.misses[SHAREDMEMO_REPORT]++;
	else if (d > 0)
		sm->st.rejected[d < MEMOVAL_REJECTS ? d : MEMOVAL_MALFORMED]++;
	pthread_mutex_unlock(&sm->lock);
	r = d == MEMOVAL_OK ? 0 : -ENOENT;
out:
	if (rep)
		freeReplyObject(rep);
	buf_release(&k);
	return r;
}

/* --- writes ------------------------------------------------------------- */

static void enqueue(struct sharedmemo *sm, enum memoval_kind kind, struct buf *key, const char *payload,
		    size_t len)
{
	struct item *it = len <= MEMOVAL_MAX ? calloc(1, sizeof(*it)) : NULL;
	int warn = 0;
	if (it && (it->payload = malloc(len ? len : 1))) {
		memcpy(it->payload, payload, len);
		it->plen = len;
		it->kind = kind;
		it->key = buf_detach(key, &it->klen);
	}
	pthread_mutex_lock(&sm->lock);
	if (!it || !it->key || !it->payload || sm->st.queue_items >= QUEUE_MAX_ITEMS ||
	    sm->st.queue_bytes + len > QUEUE_MAX_BYTES) {
		sm->st.dropped++;
		warn = !sm->queue_full;
		sm->queue_full = 1;
		pthread_mutex_unlock(&sm->lock);
		item_free(it);
		if (warn)
			log_warn("shared memo %s: the write queue is full (%d values or %u MiB): new values are "
				 "dropped until it drains", sm->shown, QUEUE_MAX_ITEMS, QUEUE_MAX_BYTES >> 20);
		return;
	}
	if (sm->tail)
		sm->tail->next = it;
	else
		sm->head = it;
	sm->tail = it;
	sm->st.queue_items++;
	sm->st.queue_bytes += len;
	pthread_cond_signal(&sm->wake);
	pthread_mutex_unlock(&sm->lock);
}

void sharedmemo_put_result(struct sharedmemo *sm, const char *key, size_t klen, const char *json, size_t len)
{
	struct buf k = BUF_INIT;
	if (!sm)
		return;
	if (buf_add(&k, sm->prefix, sm->prefix_len) == 0 && buf_adds(&k, "result:") == 0 && buf_add(&k, key, klen) == 0)
		enqueue(sm, MEMOVAL_RESULT, &k, json, len);
	buf_release(&k);
}

void sharedmemo_put_report(struct sharedmemo *sm, const char *digest, const char *config, const char *text,
			   size_t len)
{
	struct buf k = BUF_INIT;
	if (sm && report_key(sm, digest, config, &k) == 0)
		enqueue(sm, MEMOVAL_REPORT, &k, text, len);
	buf_release(&k);
}

/* One batch of SETs, its values encoded. */
struct sets {
	struct item **items;
	struct buf *vals;
	size_t n;
	char ttl[24];
};

static int append_sets(redisContext *c, void *ctx)
{
	struct sets *s = ctx;
	for (size_t i = 0; i < s->n; i++) {
		const char *argv[5] = { "SET", s->items[i]->key, s->vals[i].data, "PX", s->ttl };
		size_t len[5] = { 3, s->items[i]->klen, s->vals[i].len, 2, strlen(s->ttl) };
		if (redisAppendCommandArgv(c, s->ttl[0] ? 5 : 3, argv, len) != REDIS_OK)
			return -ENOMEM;
	}
	return 0;
}

/* Takes up to a batch off the queue's head; the caller holds the lock.
 * The items stay counted in the queue until they are written. */
static size_t take_batch(struct sharedmemo *sm, struct item **batch)
{
	size_t n = 0, bytes = 0;
	while (sm->head && n < BATCH_ITEMS && (n == 0 || bytes + sm->head->plen <= BATCH_BYTES)) {
		struct item *it = sm->head;
		sm->head = it->next;
		if (!sm->head)
			sm->tail = NULL;
		it->next = NULL;
		bytes += it->plen;
		batch[n++] = it;
	}
	return n;
}

/* Writes one batch; what a failed call left unwritten goes back to the
 * queue's head (and waits for the next probe). */
static void write_batch(struct sharedmemo *sm, struct item **batch, size_t n)
{
	struct sets s = { batch, calloc(n, sizeof(struct buf)), n, "" };
	redisReply **rep = calloc(n, sizeof(*rep));
	char why[256] = "";
	uint64_t written = 0, refused = 0, bytes = 0;
	int put_back = 1, first_refusal = 0, recovered = 0;
	if (sm->ttl_ms)
		snprintf(s.ttl, sizeof(s.ttl), "%llu", (unsigned long long)sm->ttl_ms);
	for (size_t i = 0; s.vals && i < n; i++) {
		bytes += batch[i]->plen;
		s.vals[i] = (struct buf)BUF_INIT;
	}
	int ok = s.vals && rep;
	for (size_t i = 0; ok && i < n; i++)
		ok = memoval_encode(&sm->key, batch[i]->kind, batch[i]->key + sm->prefix_len,
				    batch[i]->klen - sm->prefix_len, batch[i]->payload, batch[i]->plen, &s.vals[i]) == 0;
	if (ok && call(sm, SHAREDMEMO_WRITE, append_sets, &s, n, rep) == 0) {
		put_back = 0;
		for (size_t i = 0; i < n; i++) {
			if (rep[i]->type == REDIS_REPLY_ERROR) {
				if (!refused++)
					reply_error(rep[i], why, sizeof(why), "SET");
			} else {
				written++;
			}
		}
	} else if (!ok) {
		put_back = 0; /* out of memory: these are lost, counted as refused */
		refused = n;
		snprintf(why, sizeof(why), "out of memory");
	}
	pthread_mutex_lock(&sm->lock);
	if (put_back && !sm->stopping) {
		sm->tail = sm->head ? sm->tail : batch[n - 1];
		for (size_t i = n; i-- > 0;) {
			batch[i]->next = sm->head;
			sm->head = batch[i];
		}
		n = 0;
	} else {
		sm->st.queue_items -= n;
		sm->st.queue_bytes -= bytes;
		if (put_back)
			sm->st.dropped += n; /* stopping during an outage */
		sm->st.written += written;
		sm->st.write_errors += refused;
		if (refused && !sm->write_failing)
			first_refusal = sm->write_failing = 1;
		else if (written && sm->write_failing)
			recovered = !(sm->write_failing = 0);
		if (sm->queue_full && sm->st.queue_items < QUEUE_MAX_ITEMS / 2 && sm->st.queue_bytes < QUEUE_MAX_BYTES / 2)
			sm->queue_full = 0;
	}
	pthread_mutex_unlock(&sm->lock);
	if (first_refusal)
		log_warn("shared memo %s: values are not written: %s", sm->shown, why);
	if (recovered)
		log_info("shared memo %s: values are written again", sm->shown);
	for (size_t i = 0; i < n; i++)
		item_free(batch[i]);
	if (rep)
		free_replies(rep, s.n);
	free(rep);
	for (size_t i = 0; s.vals && i < s.n; i++)
		buf_release(&s.vals[i]);
	free(s.vals);
}

static void *writer_main(void *arg)
{
	struct sharedmemo *sm = arg;
	struct item *batch[BATCH_ITEMS];
	pthread_mutex_lock(&sm->lock);
	for (;;) {
		uint64_t now = now_ns();
		if (sm->stopping && (!sm->head || now >= sm->stop_at || sm->down))
			break;
		if (!sm->head) {
			pthread_cond_wait(&sm->wake, &sm->lock);
			continue;
		}
		/* An outage: wait for the next probe rather than spin. */
		if (sm->down && now < sm->retry_at) {
			struct timespec until;
			clock_gettime(CLOCK_REALTIME, &until);
			uint64_t ns = (uint64_t)until.tv_nsec + (sm->retry_at - now);
			until.tv_sec += (time_t)(ns / 1000000000ull);
			until.tv_nsec = (long)(ns % 1000000000ull);
			pthread_cond_timedwait(&sm->wake, &sm->lock, &until);
			continue;
		}
		size_t n = take_batch(sm, batch);
		pthread_mutex_unlock(&sm->lock);
		write_batch(sm, batch, n);
		pthread_mutex_lock(&sm->lock);
	}
	pthread_mutex_unlock(&sm->lock);
	return NULL;
}

void sharedmemo_get_stats(struct sharedmemo *sm, struct sharedmemo_stats *out)
{
	pthread_mutex_lock(&sm->lock);
	*out = sm->st;
	pthread_mutex_unlock(&sm->lock);
}

json_t *sharedmemo_stats_json(const struct sharedmemo_stats *st)
{
	json_t *rej = json_object();
	for (int w = 1; w < MEMOVAL_REJECTS; w++)
		json_object_set_new(rej, memoval_reject_name(w), json_integer((json_int_t)st->rejected[w]));
	double mean = st->calls[SHAREDMEMO_READ] ? st->seconds[SHAREDMEMO_READ] / (double)st->calls[SHAREDMEMO_READ] : 0;
	return json_pack("{s:s, s:s, s:b, s:{s:I, s:I}, s:{s:I, s:I}, s:o, s:{s:I, s:I}, s:{s:I, s:I}, s:I, s:I, s:I, "
			 "s:I, s:I, s:I, s:f}",
			 "address", st->address, "state", st->up ? "up" : "down", "signed", st->signing,
			 "hits", "result", (json_int_t)st->hits[SHAREDMEMO_RESULT], "report",
			 (json_int_t)st->hits[SHAREDMEMO_REPORT],
			 "misses", "result", (json_int_t)st->misses[SHAREDMEMO_RESULT], "report",
			 (json_int_t)st->misses[SHAREDMEMO_REPORT],
			 "rejected", rej,
			 "errors", "read", (json_int_t)st->errors[SHAREDMEMO_READ], "write",
			 (json_int_t)st->errors[SHAREDMEMO_WRITE],
			 "skipped", "read", (json_int_t)st->skipped[SHAREDMEMO_READ], "write",
			 (json_int_t)st->skipped[SHAREDMEMO_WRITE],
			 "outages", (json_int_t)st->outages, "written", (json_int_t)st->written,
			 "write_refused", (json_int_t)st->write_errors, "dropped", (json_int_t)st->dropped,
			 "queue_items", (json_int_t)st->queue_items, "queue_bytes", (json_int_t)st->queue_bytes,
			 "read_seconds_mean", mean);
}
