/* strata rmi: remove images, and the layers and chunks nothing else uses. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <string.h>

#include "catalog.h"
#include "cli.h"
#include "ingest.h"
#include "util.h"

/* Is the layer diff_id used by an image other than skip? */
struct use_check {
	const char *diff_id, *skip;
	int used;
};

static int check_use(json_t *img, void *ctx)
{
	struct use_check *u = ctx;
	if (!strcmp(json_string_value(json_object_get(img, "digest")), u->skip))
		return 0;
	size_t i;
	json_t *l;
	json_array_foreach(json_object_get(img, "layers"), i, l) {
		const char *d = json_string_value(json_object_get(l, "diff_id"));
		if (d && !strcmp(d, u->diff_id))
			u->used = 1;
	}
	return u->used;
}

static int remove_image(struct store *st, const char *ref, uint64_t *freed, struct strata_error *err)
{
	char digest[DIGEST_STR_MAX];
	json_t *img = NULL;
	int r = cli_resolve_image(st, ref, digest, err);
	if (r < 0 || (r = catalog_get_image(st->idx, digest, &img, err)) < 0)
		return r;
	struct index_batch *b = index_batch_new();
	if (!b) {
		json_decref(img);
		return error_set(err, -ENOMEM, "out of memory");
	}
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(img, "names"), i, v)
		catalog_delete_name(b, json_string_value(v));
	catalog_delete_image(b, digest);
	r = index_batch_commit(st->idx, b, 1, err);

	/* Then every layer no other image uses; the image is gone either way. */
	json_array_foreach(json_object_get(img, "layers"), i, v) {
		const char *d = json_string_value(json_object_get(v, "diff_id"));
		struct use_check u = { d, digest, 0 };
		struct layer_record rec;
		uint64_t f = 0;
		if (r < 0 || !d || catalog_get_layer(st->idx, d, &rec, NULL) < 0)
			continue;
		catalog_each_image(st->idx, check_use, &u);
		if (u.used)
			continue;
		catalog_delete_layer(b, &rec);
		if ((r = index_batch_commit(st->idx, b, 1, err)) == 0 &&
		    (r = ingest_drop_lid(st, rec.lid, 1, &f, err)) == 0)
			*freed += f;
	}
	index_batch_free(b);
	json_decref(img);
	return r;
}

static int run_rmi(struct cli *cli, int argc, char **argv)
{
	int c;
	optind = 0;
	while ((c = getopt(argc, argv, "")) != -1)
		return cli_usage(&cmd_rmi, "unknown option");
	if (optind >= argc)
		return cli_usage(&cmd_rmi, "no image given");
	struct strata_error err = STRATA_ERROR_INIT;
	struct store *st = NULL;
	if (cli_open_store(cli, STORE_WRITE, &st, &err) < 0)
		return cli_fail_err(&err);
	int rc = 0;
	for (int i = optind; i < argc; i++) {
		uint64_t freed = 0;
		error_clear(&err);
		if (remove_image(st, argv[i], &freed, &err) < 0) {
			rc = cli_fail("rmi '%s': %s", argv[i], err.msg);
			continue;
		}
		if (!cli->quiet) {
			char f[16];
			format_size(freed, f, sizeof(f));
			printf("removed %s (%s freed)\n", argv[i], f);
		}
	}
	store_close(st);
	return rc;
}

const struct cli_command cmd_rmi = {
	"rmi", run_rmi, "REF...", "remove images from the store",
};
