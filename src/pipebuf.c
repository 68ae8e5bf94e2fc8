/* pipebuf: a bounded byte ring between one writer and one reader thread. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "pipebuf.h"

struct pipebuf {
	pthread_mutex_t lock;
	pthread_cond_t can_read, can_write;
	/* all below protected by lock */
	unsigned char *ring;
	size_t cap, head, len;   /* bytes at [head, head+len) modulo cap */
	int write_closed, write_status, read_closed;
};

struct pipebuf *pipebuf_new(size_t capacity)
{
	struct pipebuf *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->ring = malloc(capacity);
	if (!p->ring) {
		free(p);
		return NULL;
	}
	p->cap = capacity;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->can_read, NULL);
	pthread_cond_init(&p->can_write, NULL);
	return p;
}

void pipebuf_free(struct pipebuf *p)
{
	if (!p)
		return;
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->can_read);
	pthread_cond_destroy(&p->can_write);
	free(p->ring);
	free(p);
}

int pipebuf_write(struct pipebuf *p, const void *data, size_t len)
{
	const unsigned char *src = data;
	pthread_mutex_lock(&p->lock);
	while (len) {
		while (p->len == p->cap && !p->read_closed)
			pthread_cond_wait(&p->can_write, &p->lock);
		if (p->read_closed) {
			pthread_mutex_unlock(&p->lock);
			return -ECANCELED;
		}
		size_t tail = (p->head + p->len) % p->cap;
		size_t room = p->cap - p->len;
		size_t n = len < room ? len : room;
		if (n > p->cap - tail)
			n = p->cap - tail;
		memcpy(p->ring + tail, src, n);
		p->len += n;
		src += n;
		len -= n;
		pthread_cond_signal(&p->can_read);
	}
	pthread_mutex_unlock(&p->lock);
	return 0;
}

void pipebuf_close_write(struct pipebuf *p, int status)
{
	pthread_mutex_lock(&p->lock);
	p->write_closed = 1;
	p->write_status = status;
	pthread_cond_broadcast(&p->can_read);
	pthread_mutex_unlock(&p->lock);
}

ssize_t pipebuf_read(struct pipebuf *p, void *buf, size_t len)
{
	pthread_mutex_lock(&p->lock);
	while (p->len == 0 && !p->write_closed)
		pthread_cond_wait(&p->can_read, &p->lock);
	ssize_t r;
	if (p->len == 0) {
		r = p->write_status;
	} else {
		size_t n = len < p->len ? len : p->len;
		if (n > p->cap - p->head)
			n = p->cap - p->head;
		memcpy(buf, p->ring + p->head, n);
		p->head = (p->head + n) % p->cap;
		p->len -= n;
		r = (ssize_t)n;
		pthread_cond_signal(&p->can_write);
	}
	pthread_mutex_unlock(&p->lock);
	return r;
}

void pipebuf_close_read(struct pipebuf *p)
{
	pthread_mutex_lock(&p->lock);
	p->read_closed = 1;
	pthread_cond_broadcast(&p->can_write);
	pthread_mutex_unlock(&p->lock);
}
