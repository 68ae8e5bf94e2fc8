/* hashset: see hashset.h. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>

#include "hashset.h"

uint64_t hashset_hash(const void *data, size_t len)
{
	/* FNV-1a then a final mix: paths are short, this is not on the data path. */
	const uint8_t *p = data;
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 1099511628211ull;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	return h;
}

int hashset_add(struct hashset *s, uint64_t h)
{
	if (!h)
		h = 1;
	if ((s->n + 1) * 2 > s->cap) {
		size_t ncap = s->cap ? s->cap * 2 : 1024;
		uint64_t *ns = calloc(ncap, sizeof(*ns));
		if (!ns)
			return -ENOMEM;
		for (size_t i = 0; i < s->cap; i++) {
			if (!s->slots[i])
				continue;
			size_t j = s->slots[i] & (ncap - 1);
			while (ns[j])
				j = (j + 1) & (ncap - 1);
			ns[j] = s->slots[i];
		}
		free(s->slots);
		s->slots = ns;
		s->cap = ncap;
	}
	size_t j = h & (s->cap - 1);
	while (s->slots[j]) {
		if (s->slots[j] == h)
			return 0;
		j = (j + 1) & (s->cap - 1);
	}
	s->slots[j] = h;
	s->n++;
	return 1;
}

int hashset_has(const struct hashset *s, uint64_t h)
{
	if (!h)
		h = 1;
	if (!s->cap)
		return 0;
	size_t j = h & (s->cap - 1);
	while (s->slots[j]) {
		if (s->slots[j] == h)
			return 1;
		j = (j + 1) & (s->cap - 1);
	}
	return 0;
}

void hashset_release(struct hashset *s)
{
	free(s->slots);
	*s = (struct hashset){ 0 };
}
