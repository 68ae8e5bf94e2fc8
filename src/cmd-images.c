/* strata images: list stored images. */
#include "config.h"

#include <getopt.h>
#include <string.h>

#include "catalog.h"
#include "cli.h"
#include "util.h"

static uint64_t image_size(json_t *img)
{
	uint64_t total = 0;
	size_t i;
	json_t *l;
	json_array_foreach(json_object_get(img, "layers"), i, l)
		total += (uint64_t)json_integer_value(json_object_get(l, "size"));
	return total;
}

static int collect(json_t *img, void *ctx)
{
	json_array_append(ctx, img);
	return 0;
}

static int run_images(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = { { "json", no_argument, NULL, 'j' }, { 0 } };
	int json = 0, c;
	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'j')
			return cli_usage(&cmd_images, "unknown option");
		json = 1;
	}
	if (optind < argc)
		return cli_usage(&cmd_images, "unexpected argument '%s'", argv[optind]);

	struct strata_error err = STRATA_ERROR_INIT;
	struct store *st = NULL;
	if (cli_open_store(cli, STORE_READ, &st, &err) < 0)
		return cli_fail_err(&err);
	json_t *all = json_array();
	if (st)
		catalog_each_image(st->idx, collect, all);

	size_t i;
	json_t *img;
	if (json) {
		json_t *out = json_array();
		json_array_foreach(all, i, img) {
			json_array_append_new(out, json_pack("{s:O, s:O, s:O, s:O, s:I, s:I, s:o}",
				"names", json_object_get(img, "names"),
				"digest", json_object_get(img, "digest"),
				"config_digest", json_object_get(img, "config_digest"),
				"platform", json_object_get(img, "platform"),
				"layers", (json_int_t)json_array_size(json_object_get(img, "layers")),
				"size", (json_int_t)image_size(img),
				"pulled", cli_json_time(json_integer_value(json_object_get(img, "pulled")))));
		}
		cli_print_json(out);
		json_decref(out);
	} else {
		printf("%-60s %-12s %6s %10s  %s\n", "NAME", "DIGEST", "LAYERS", "SIZE", "PULLED");
		json_array_foreach(all, i, img) {
			char sd[20], size[16], when[40];
			digest_short(json_string_value(json_object_get(img, "digest")), sd);
			format_size(image_size(img), size, sizeof(size));
			format_rfc3339(json_integer_value(json_object_get(img, "pulled")), when, sizeof(when));
			json_t *names = json_object_get(img, "names");
			size_t n = json_array_size(names), k;
			for (k = 0; k < (n ? n : 1); k++)
				printf("%-60s %-12s %6zu %10s  %s\n",
				       n ? json_string_value(json_array_get(names, k)) : "<none>", sd,
				       json_array_size(json_object_get(img, "layers")), size, when);
		}
	}
	json_decref(all);
	store_close(st);
	return 0;
}

const struct cli_command cmd_images = {
	"images", run_images, "[--json]", "list stored images",
};
