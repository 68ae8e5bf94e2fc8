/* pipebuf: a bounded single-producer single-consumer byte pipe between
 * the thread that downloads a blob and the thread that ingests it. */
#ifndef STRATA_PIPEBUF_H
#define STRATA_PIPEBUF_H

#include <stddef.h>
#include <sys/types.h>

struct pipebuf;

/* capacity bytes of buffer. Free with pipebuf_free. */
struct pipebuf *pipebuf_new(size_t capacity);
void pipebuf_free(struct pipebuf *p);
/* Blocks until all of data is in the pipe. Returns 0, or -ECANCELED once the
 * reader has closed its end. */
int pipebuf_write(struct pipebuf *p, const void *data, size_t len);
/* The writer's end: status 0 is a clean end of data, negative an error the
 * reader will get after the buffered bytes. */
void pipebuf_close_write(struct pipebuf *p, int status);
/* Blocks for at least one byte; returns the count, 0 at a clean end, or the
 * writer's negative status. */
ssize_t pipebuf_read(struct pipebuf *p, void *buf, size_t len);
/* The reader gives up: blocked and later writes return -ECANCELED. */
void pipebuf_close_read(struct pipebuf *p);

#endif
