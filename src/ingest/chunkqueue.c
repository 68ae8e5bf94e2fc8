/* chunkqueue: a single-worker queue in front of a chunk_writer. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "chunkqueue.h"
#include "src/store/chunkstore.h"

#define BATCH_FLUSH (512u << 10) /* the record batch held at most: bounds memory */

struct slot {
	uint8_t id[SHA256_LEN];
	uint8_t *data;
	size_t len;
};

struct chunkqueue {
	struct storedir *sd;
	struct chunk_writer *writer;
	struct index_batch *batch;
	pthread_t tid;
	int started;
	pthread_mutex_t lock;
	pthread_cond_t not_empty, not_full;
	/* protected by lock */
	struct slot *slots;
	size_t depth, head, count;
	int closing, failed, discard;
	struct strata_error err;
	struct chunkqueue_stats stats;
};

static int store_one(struct chunkqueue *q, struct slot *s, struct strata_error *err)
{
	uint64_t stored = 0;
	int r = chunk_writer_put(q->writer, q->batch, s->id, s->data, s->len, &stored, err);
	if (r < 0)
		return r;
	if (stored) {
		pthread_mutex_lock(&q->lock);
		q->stats.new_chunks++;
		q->stats.new_bytes += s->len;
		q->stats.stored_bytes += stored;
		pthread_mutex_unlock(&q->lock);
	}
	if (index_batch_bytes(q->batch) >= BATCH_FLUSH)
		return storedir_commit(q->sd, q->batch, 0, err);
	return 0;
}

static void *worker(void *arg)
{
	struct chunkqueue *q = arg;
	struct strata_error err = STRATA_ERROR_INIT;
	int r = 0;
	pthread_mutex_lock(&q->lock);
	for (;;) {
		while (!q->count && !q->closing)
			pthread_cond_wait(&q->not_empty, &q->lock);
		if (!q->count)
			break;
		struct slot *s = &q->slots[q->head];
		int discard = q->discard;
		pthread_mutex_unlock(&q->lock);
		/* The slot stays owned by the worker until head moves past it. */
		if (r == 0 && !discard)
			r = store_one(q, s, &err);
		pthread_mutex_lock(&q->lock);
		q->head = (q->head + 1) % q->depth;
		q->count--;
		if (r < 0 && !q->failed) {
			q->failed = 1;
			q->err = err;
		}
		pthread_cond_signal(&q->not_full);
	}
	int dropped = q->discard;
	pthread_mutex_unlock(&q->lock);
	if (r == 0 && !dropped && (r = storedir_commit(q->sd, q->batch, 0, &err)) < 0) {
		pthread_mutex_lock(&q->lock);
		q->failed = 1;
		q->err = err;
		pthread_mutex_unlock(&q->lock);
	}
	return NULL;
}

struct chunkqueue *chunkqueue_new(struct storedir *sd, size_t depth, size_t max_chunk)
{
	struct chunkqueue *q = calloc(1, sizeof(*q));
	if (!q)
		return NULL;
	q->sd = sd;
	q->depth = depth;
	q->slots = calloc(depth, sizeof(*q->slots));
	q->writer = chunk_writer_new(sd->cs);
	q->batch = index_batch_new();
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->not_empty, NULL);
	pthread_cond_init(&q->not_full, NULL);
	int ok = q->slots && q->writer && q->batch;
	for (size_t i = 0; ok && i < depth; i++)
		ok = (q->slots[i].data = malloc(max_chunk)) != NULL;
	if (ok && pthread_create(&q->tid, NULL, worker, q) == 0)
		q->started = 1;
	if (!q->started) {
		chunkqueue_free(q);
		return NULL;
	}
	return q;
}

int chunkqueue_put(struct chunkqueue *q, const uint8_t id[SHA256_LEN], const void *data, size_t len,
		   struct strata_error *err)
{
	pthread_mutex_lock(&q->lock);
	while (q->count == q->depth && !q->failed)
		pthread_cond_wait(&q->not_full, &q->lock);
	if (q->failed) {
		int r = error_set(err, q->err.code, "%s", q->err.msg);
		pthread_mutex_unlock(&q->lock);
		return r;
	}
	struct slot *s = &q->slots[(q->head + q->count) % q->depth];
	pthread_mutex_unlock(&q->lock);
	/* Only the producer writes into free slots: no lock needed to fill one. */
	memcpy(s->id, id, SHA256_LEN);
	memcpy(s->data, data, len);
	s->len = len;
	pthread_mutex_lock(&q->lock);
	q->count++;
	pthread_cond_signal(&q->not_empty);
	pthread_mutex_unlock(&q->lock);
	return 0;
}

static void stop(struct chunkqueue *q)
{
	if (!q->started)
		return;
	pthread_mutex_lock(&q->lock);
	q->closing = 1;
	pthread_cond_signal(&q->not_empty);
	pthread_mutex_unlock(&q->lock);
	pthread_join(q->tid, NULL);
	q->started = 0;
}

int chunkqueue_finish(struct chunkqueue *q, struct chunkqueue_stats *stats, struct strata_error *err)
{
	stop(q);
	if (q->failed)
		return error_set(err, q->err.code, "%s", q->err.msg);
	*stats = q->stats;
	return 0;
}

void chunkqueue_free(struct chunkqueue *q)
{
	if (!q)
		return;
	if (q->started) {
		/* Drop what is queued: the ingest failed. */
		pthread_mutex_lock(&q->lock);
		q->discard = 1;
		pthread_mutex_unlock(&q->lock);
		stop(q);
	}
	for (size_t i = 0; q->slots && i < q->depth; i++)
		free(q->slots[i].data);
	free(q->slots);
	chunk_writer_free(q->writer);
	index_batch_free(q->batch);
	pthread_mutex_destroy(&q->lock);
	pthread_cond_destroy(&q->not_empty);
	pthread_cond_destroy(&q->not_full);
	free(q);
}
