/* storedir: opening, locking, committing and numbering. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "storedir.h"
#include "src/base/util.h"

#define STORE_FORMAT "1"
#define LID_BLOCK 256u

static int lock_store(struct storedir *s, struct strata_error *err)
{
	char *path = path_join(s->dir, "lock");
	if (!path)
		return error_set(err, -ENOMEM, "out of memory");
	s->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	int r = 0;
	if (s->lock_fd < 0) {
		r = error_errno(err, -errno, "cannot open '%s'", path);
	} else if (flock(s->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno != EWOULDBLOCK)
			r = error_errno(err, -errno, "cannot lock '%s'", path);
		else
			r = error_set(err, -EBUSY, "store '%s' is already served by another strata daemon", s->dir);
	}
	free(path);
	return r;
}

static int check_format(struct storedir *s, struct strata_error *err)
{
	struct buf v = BUF_INIT;
	static const char key[] = "Mformat";
	int r = index_get(s->idx, key, sizeof(key) - 1, &v, err);
	if (r == -ENOENT)
		r = index_put(s->idx, key, sizeof(key) - 1, STORE_FORMAT, 1, 1, err);
	else if (r == 0 && strcmp(v.data, STORE_FORMAT))
		r = error_set(err, -EPROTO, "store '%s' has format %s; this strata reads format %s",
			      s->dir, v.data, STORE_FORMAT);
	buf_release(&v);
	return r;
}

int storedir_open(const struct strata_conf *conf, struct storedir **out, struct strata_error *err)
{
	struct storedir *s = calloc(1, sizeof(*s));
	char *idxpath = NULL, *chunkpath = NULL;
	int r;
	if (!s)
		return error_set(err, -ENOMEM, "out of memory");
	s->conf = conf;
	s->lock_fd = -1;
	pthread_mutex_init(&s->lid_lock, NULL);
	pthread_rwlock_init(&s->commit_lock, NULL);
	s->dir = strdup(conf->store);
	idxpath = path_join(conf->store, "index");
	chunkpath = path_join(conf->store, "chunks");
	if (!s->dir || !idxpath || !chunkpath) {
		r = error_set(err, -ENOMEM, "out of memory");
		goto fail;
	}
	if ((r = mkdir_p(s->dir, 0700)) < 0) {
		error_errno(err, r, "cannot create store '%s'", s->dir);
		goto fail;
	}
	if ((r = lock_store(s, err)) < 0)
		goto fail;
	if ((r = index_open(idxpath, &s->idx, err)) < 0) {
		error_prefix(err, "store '%s': ", s->dir);
		goto fail;
	}
	if ((r = check_format(s, err)) < 0)
		goto fail;
	if ((r = chunkstore_open(s->idx, chunkpath, conf->compression_level, &s->cs, err)) < 0)
		goto fail;
	free(idxpath);
	free(chunkpath);
	*out = s;
	return 0;
fail:
	free(idxpath);
	free(chunkpath);
	storedir_close(s);
	return r;
}

void storedir_close(struct storedir *s)
{
	if (!s)
		return;
	chunkstore_free(s->cs);
	index_close(s->idx);
	if (s->lock_fd >= 0)
		close(s->lock_fd);
	free(s->dir);
	pthread_mutex_destroy(&s->lid_lock);
	pthread_rwlock_destroy(&s->commit_lock);
	free(s);
}

int storedir_replaced(const struct storedir *s)
{
	struct stat held, now;
	char *path = path_join(s->dir, "lock");
	int r = 0;
	if (path && s->lock_fd >= 0 && fstat(s->lock_fd, &held) == 0) {
		if (stat(path, &now) < 0)
			r = errno == ENOENT || errno == ENOTDIR;
		else
			r = now.st_dev != held.st_dev || now.st_ino != held.st_ino;
	}
	free(path);
	return r;
}

int storedir_commit(struct storedir *s, struct index_batch *batch, int durable, struct strata_error *err)
{
	int r;
	if (!durable) {
		pthread_rwlock_rdlock(&s->commit_lock);
		r = index_batch_commit(s->idx, batch, 0, err);
		pthread_rwlock_unlock(&s->commit_lock);
		return r;
	}
	pthread_rwlock_wrlock(&s->commit_lock);
	r = chunkstore_sync(s->cs, err);
	if (r == 0)
		r = index_batch_commit(s->idx, batch, 1, err);
	pthread_rwlock_unlock(&s->commit_lock);
	return r;
}

int storedir_alloc_lid(struct storedir *s, uint32_t *lid, struct strata_error *err)
{
	static const char key[] = "Mnext_lid";
	int r = 0;
	pthread_mutex_lock(&s->lid_lock);
	if (s->lid_next == s->lid_limit) {
		/* Reserve a block durably, hand it out from memory: a lid handed
		 * out twice would mix a crashed ingest's entries into a later
		 * layer's, and one sync per block beats one per layer. */
		struct buf v = BUF_INIT;
		uint32_t next = 1;
		r = index_get(s->idx, key, sizeof(key) - 1, &v, err);
		if (r == 0 && v.len == 4)
			next = be32_get((const uint8_t *)v.data);
		buf_release(&v);
		if (r < 0 && r != -ENOENT)
			goto out;
		uint8_t enc[4];
		be32_put(enc, next + LID_BLOCK);
		struct index_batch *b = index_batch_new();
		if (!b) {
			r = error_set(err, -ENOMEM, "out of memory");
			goto out;
		}
		index_batch_put(b, key, sizeof(key) - 1, enc, 4);
		r = storedir_commit(s, b, 1, err);
		index_batch_free(b);
		if (r < 0)
			goto out;
		s->lid_next = next;
		s->lid_limit = next + LID_BLOCK;
	}
	*lid = s->lid_next++;
	r = 0;
out:
	pthread_mutex_unlock(&s->lid_lock);
	return r;
}
