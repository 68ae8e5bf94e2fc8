/* strata images: list stored images. */
#include "config.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "src/base/util.h"

static int run_images(struct cli *cli, int argc, char **argv)
{
	int json, rc = cli_json_only(cmd_images.name, cmd_images.usage, argc, argv, &json);
	if (rc)
		return rc;

	json_t *all = NULL;
	rc = cli_get(cli, "/v1/images", &all);
	if (rc)
		return rc;
	if (json) {
		cli_print_json(all);
	} else {
		size_t i;
		json_t *img;
		printf("%-60s %-12s %6s %10s  %s\n", "NAME", "DIGEST", "LAYERS", "SIZE", "PULLED");
		json_array_foreach(all, i, img) {
			char sd[20], size[16];
			digest_short(json_string_value(json_object_get(img, "digest")), sd);
			format_size((uint64_t)json_integer_value(json_object_get(img, "size")), size, sizeof(size));
			json_t *names = json_object_get(img, "names");
			size_t n = json_array_size(names);
			for (size_t k = 0; k < (n ? n : 1); k++) {
				/* A name from an OCI layout's annotation can hold anything. */
				char *name = n ? str_visible(json_string_value(json_array_get(names, k))) : NULL;
				printf("%-60s %-12s %6lld %10s  %s\n", name ? name : "<none>", sd,
				       json_integer_value(json_object_get(img, "layers")), size,
				       json_string_value(json_object_get(img, "pulled")));
				free(name);
			}
		}
	}
	json_decref(all);
	return 0;
}

const struct cli_command cmd_images = {
	"images", run_images, "[--json]", "list stored images",
};
