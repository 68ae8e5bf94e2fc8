/* pipebuf: a bounded single-producer single-consumer byte ring between the
 * downloading thread and the ingesting one. The lock guards the indices
 * only: each side copies outside it, since the writer alone touches the
 * free part of the ring and the reader alone the filled part. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pipebuf.h"

struct pipebuf {
	pthread_mutex_t lock;
	pthread_cond_t readable; /* bytes arrived, or the writer closed */
	pthread_cond_t writable; /* space freed, or the reader closed */
	uint8_t *buf;
	size_t cap;
	/* protected by lock: */
	size_t head;             /* index of the oldest byte */
	size_t len;              /* bytes in the ring */
	int wclosed, wstatus, rclosed;
	int rwaiting, wwaiting;  /* a side is asleep on its condvar */
};

struct pipebuf *pipebuf_new(size_t capacity)
{
	struct pipebuf *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->cap = capacity ? capacity : 1;
	p->buf = malloc(p->cap);
	if (!p->buf)
		goto fail_buf;
	if (pthread_mutex_init(&p->lock, NULL))
		goto fail_lock;
	if (pthread_cond_init(&p->readable, NULL))
		goto fail_readable;
	if (pthread_cond_init(&p->writable, NULL))
		goto fail_writable;
	return p;
fail_writable:
	pthread_cond_destroy(&p->readable);
fail_readable:
	pthread_mutex_destroy(&p->lock);
fail_lock:
	free(p->buf);
fail_buf:
	free(p);
	return NULL;
}

void pipebuf_free(struct pipebuf *p)
{
	if (!p)
		return;
	pthread_cond_destroy(&p->writable);
	pthread_cond_destroy(&p->readable);
	pthread_mutex_destroy(&p->lock);
	free(p->buf);
	free(p);
}

int pipebuf_write(struct pipebuf *p, const void *data, size_t len)
{
	const uint8_t *src = data;
	int r = 0;

	pthread_mutex_lock(&p->lock);
	while (len) {
		if (p->rclosed) {
			r = -ECANCELED;
			break;
		}
		if (p->wclosed) {
			r = -EPIPE;
			break;
		}
		if (p->len == p->cap) {
			p->wwaiting = 1;
			pthread_cond_wait(&p->writable, &p->lock);
			p->wwaiting = 0;
			continue;
		}
		/* the free part starts at tail and may wrap once */
		size_t tail = (p->head + p->len) % p->cap;
		size_t n = p->cap - p->len;
		if (n > len)
			n = len;
		size_t first = p->cap - tail < n ? p->cap - tail : n;
		pthread_mutex_unlock(&p->lock);
		memcpy(p->buf + tail, src, first);
		memcpy(p->buf, src + first, n - first);
		pthread_mutex_lock(&p->lock);
		p->len += n;
		src += n;
		len -= n;
		if (p->rwaiting)
			pthread_cond_signal(&p->readable);
	}
	pthread_mutex_unlock(&p->lock);
	return r;
}

void pipebuf_close_write(struct pipebuf *p, int status)
{
	pthread_mutex_lock(&p->lock);
	if (!p->wclosed) {
		p->wclosed = 1;
		p->wstatus = status > 0 ? -EINVAL : status;
	}
	pthread_cond_broadcast(&p->readable);
	pthread_mutex_unlock(&p->lock);
}

ssize_t pipebuf_read(struct pipebuf *p, void *buf, size_t len)
{
	ssize_t r;

	if (!len)
		return 0;
	pthread_mutex_lock(&p->lock);
	for (;;) {
		if (p->rclosed) {
			r = -ECANCELED;
			goto out;
		}
		if (p->len)
			break;
		if (p->wclosed) {
			r = p->wstatus;
			goto out;
		}
		p->rwaiting = 1;
		pthread_cond_wait(&p->readable, &p->lock);
		p->rwaiting = 0;
	}
	size_t head = p->head;
	size_t n = p->len < len ? p->len : len;
	size_t first = p->cap - head < n ? p->cap - head : n;
	pthread_mutex_unlock(&p->lock);
	memcpy(buf, p->buf + head, first);
	memcpy((uint8_t *)buf + first, p->buf, n - first);
	pthread_mutex_lock(&p->lock);
	p->head = (head + n) % p->cap;
	p->len -= n;
	if (p->wwaiting)
		pthread_cond_signal(&p->writable);
	r = n;
out:
	pthread_mutex_unlock(&p->lock);
	return r;
}

void pipebuf_close_read(struct pipebuf *p)
{
	pthread_mutex_lock(&p->lock);
	p->rclosed = 1;
	pthread_cond_broadcast(&p->writable);
	pthread_mutex_unlock(&p->lock);
}
