/* store: the store's parts, built and freed in one place. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>

#include "cache.h"
#include "layerlist.h"
#include "store.h"

int store_open(const struct strata_conf *conf, const struct store_options *o, struct store **out,
	       struct strata_error *err)
{
	struct store *st = calloc(1, sizeof(*st));
	int r;
	if (!st)
		return error_set(err, -ENOMEM, "out of memory");
	if ((r = storedir_open(conf, &st->sd, err)) < 0)
		goto fail;
	st->conf = st->sd->conf;
	st->dir = st->sd->dir;
	st->idx = st->sd->idx;
	st->cs = st->sd->cs;
	if ((r = cache_new(st->sd, &st->cache, err)) < 0)
		goto fail;
	if (o && o->layer_lists && !(st->lists = layerlist_cache_new(o->layer_lists))) {
		r = error_set(err, -ENOMEM, "out of memory");
		goto fail;
	}
	st->observer = o ? o->observer : NULL;
	st->shared = o ? o->shared : NULL;
	*out = st;
	return 0;
fail:
	store_close(st);
	return r;
}

void store_close(struct store *st)
{
	if (!st)
		return;
	/* Every view is gone by now: nothing holds a listing. */
	layerlist_cache_free(st->lists);
	cache_free(st->cache);
	storedir_close(st->sd);
	free(st);
}
