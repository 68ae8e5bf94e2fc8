/* progress: a redraw thread over per-layer counters set by pull's threads. */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "src/base/digest.h"
#include "progress.h"
#include "src/base/util.h"

struct layer_line {
	char digest[20];
	uint64_t size, done;
	enum pull_layer_state state;
	uint64_t started_ns, ended_ns;
};

struct progress {
	FILE *f;
	int tty;
	struct pull_observer obs;
	pthread_mutex_t lock;        /* protects everything below */
	pthread_cond_t wake;
	struct layer_line *lines;
	size_t n;
	size_t drawn;                /* lines on screen from the last draw */
	char ref[256];
	int running, stop;
	pthread_t tid;
};

static const char *state_name(enum pull_layer_state s)
{
	switch (s) {
	case PULL_LAYER_WAITING: return "waiting";
	case PULL_LAYER_FETCHING: return "fetching";
	case PULL_LAYER_STORED: return "stored";
	case PULL_LAYER_EXISTS: return "already stored";
	case PULL_LAYER_FAILED: return "failed";
	}
	return "";
}

static void draw_locked(struct progress *p)
{
	if (p->drawn)
		fprintf(p->f, "\033[%zuA", p->drawn);
	uint64_t now = now_ns();
	for (size_t i = 0; i < p->n; i++) {
		struct layer_line *l = &p->lines[i];
		char done[16], size[16], rate[24] = "";
		format_size(l->done, done, sizeof(done));
		format_size(l->size, size, sizeof(size));
		uint64_t end = l->ended_ns ? l->ended_ns : now;
		if (l->started_ns && end > l->started_ns && l->done) {
			char r[16];
			format_size((uint64_t)((double)l->done * 1e9 / (double)(end - l->started_ns)), r, sizeof(r));
			snprintf(rate, sizeof(rate), "%s/s", r);
		}
		if (l->state == PULL_LAYER_EXISTS || l->state == PULL_LAYER_WAITING)
			fprintf(p->f, "\033[2K%s  %-15s %s\n", l->digest, state_name(l->state), size);
		else
			fprintf(p->f, "\033[2K%s  %-15s %s / %s  %s\n", l->digest, state_name(l->state), done,
				size, rate);
	}
	p->drawn = p->n;
	fflush(p->f);
}

static void *draw_main(void *arg)
{
	struct progress *p = arg;
	pthread_mutex_lock(&p->lock);
	while (!p->stop) {
		if (p->n)
			draw_locked(p);
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 150 * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&p->wake, &p->lock, &ts);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

static void on_start(void *ctx, const char *ref, size_t n)
{
	struct progress *p = ctx;
	pthread_mutex_lock(&p->lock);
	free(p->lines);
	p->lines = calloc(n ? n : 1, sizeof(*p->lines));
	p->n = p->lines ? n : 0;
	p->drawn = 0;
	snprintf(p->ref, sizeof(p->ref), "%s", ref);
	if (p->tty)
		fprintf(p->f, "%s\n", ref);
	pthread_mutex_unlock(&p->lock);
}

static void on_layer(void *ctx, size_t i, const struct pull_layer_status *st)
{
	struct progress *p = ctx;
	pthread_mutex_lock(&p->lock);
	if (i < p->n) {
		struct layer_line *l = &p->lines[i];
		if (!l->digest[0])
			digest_short(st->digest, l->digest);
		if (st->state == PULL_LAYER_FETCHING && !l->started_ns)
			l->started_ns = now_ns();
		if ((st->state == PULL_LAYER_STORED || st->state == PULL_LAYER_FAILED) && !l->ended_ns)
			l->ended_ns = now_ns();
		l->size = st->size;
		l->done = st->done;
		l->state = st->state;
	}
	pthread_mutex_unlock(&p->lock);
}

struct progress *progress_new(FILE *f, int enabled)
{
	struct progress *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->f = f;
	p->tty = enabled && isatty(fileno(f));
	p->obs.start = on_start;
	p->obs.layer = on_layer;
	p->obs.ctx = p;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->wake, NULL);
	if (p->tty && pthread_create(&p->tid, NULL, draw_main, p) == 0)
		p->running = 1;
	return p;
}

const struct pull_observer *progress_observer(struct progress *p)
{
	return &p->obs;
}

void progress_finish(struct progress *p)
{
	pthread_mutex_lock(&p->lock);
	if (p->tty && p->n)
		draw_locked(p);
	p->n = 0;
	p->drawn = 0;
	pthread_mutex_unlock(&p->lock);
}

void progress_free(struct progress *p)
{
	if (!p)
		return;
	if (p->running) {
		pthread_mutex_lock(&p->lock);
		p->stop = 1;
		pthread_cond_signal(&p->wake);
		pthread_mutex_unlock(&p->lock);
		pthread_join(p->tid, NULL);
	}
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->wake);
	free(p->lines);
	free(p);
}
