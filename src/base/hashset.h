/* hashset: a set of 64-bit hashes (of paths, of chunk ids, of contents),
 * open addressing, growing by doubling. A hash stands for its value: two
 * values with one hash are one member (at 64 bits and millions of members,
 * a chance of about one in ten million). */
#ifndef STRATA_HASHSET_H
#define STRATA_HASHSET_H

#include <stddef.h>
#include <stdint.h>

struct hashset {
	uint64_t *slots;
	size_t cap, n;
};

/* A 64-bit hash of short data (paths, names): FNV-1a and a final mix. */
uint64_t hashset_hash(const void *data, size_t len);
/* 1 when h was added, 0 when it was there, -ENOMEM. */
int hashset_add(struct hashset *s, uint64_t h);
int hashset_has(const struct hashset *s, uint64_t h);
void hashset_release(struct hashset *s);

#endif
