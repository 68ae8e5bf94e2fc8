/* strata inspect: one stored image — its digests, its layers with what
 * they cost the store, and (--files) its merged file tree. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "src/base/util.h"

static void print_text(json_t *out)
{
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(out, "names"), i, v) {
		char *name = str_visible(json_string_value(v));
		printf("name:      %s\n", name ? name : "?");
		free(name);
	}
	printf("digest:    %s\n", json_string_value(json_object_get(out, "digest")));
	printf("config:    %s\n", json_string_value(json_object_get(out, "config_digest")));
	printf("platform:  %s\n", json_string_value(json_object_get(out, "platform")));
	printf("pulled:    %s\n", json_string_value(json_object_get(out, "pulled")));
	printf("layers:\n  %-3s %-12s %10s %12s %8s %7s %10s %10s\n", "#", "DIGEST", "COMPRESSED",
	       "UNCOMPRESSED", "ENTRIES", "CHUNKS", "NEW", "SHARED");
	json_array_foreach(json_object_get(out, "layers"), i, v) {
		char sd[20], cs[16], us[16], ns[16], ss[16];
		digest_short(json_string_value(json_object_get(v, "digest")), sd);
		format_size((uint64_t)json_integer_value(json_object_get(v, "compressed_size")), cs, sizeof(cs));
		format_size((uint64_t)json_integer_value(json_object_get(v, "size")), us, sizeof(us));
		format_size((uint64_t)json_integer_value(json_object_get(v, "stored_bytes")), ns, sizeof(ns));
		format_size((uint64_t)json_integer_value(json_object_get(v, "shared_bytes")), ss, sizeof(ss));
		printf("  %-3zu %-12s %10s %12s %8lld %7lld %10s %10s\n", i + 1, sd, cs, us,
		       json_integer_value(json_object_get(v, "entries")),
		       json_integer_value(json_object_get(v, "chunks")), ns, ss);
	}
}

static int run_inspect(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "files", no_argument, NULL, 'f' },
		{ 0 }
	};
	int json = 0, files = 0, c;
	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = 1; break;
		case 'f': files = 1; break;
		default: return cli_usage(&cmd_inspect, "unknown option");
		}
	}
	if (optind != argc - 1)
		return cli_usage(&cmd_inspect, optind >= argc ? "no image given" : "one image at a time");
	struct strata_error err = STRATA_ERROR_INIT;
	struct client *client = NULL;
	char *path = cli_image_path(argv[optind], files ? "?files=1" : NULL);
	int status, rc = 0;
	if (!path)
		return cli_fail("out of memory");
	if (cli_connect(cli, &client, &err) < 0) {
		free(path);
		return cli_fail_err(&err);
	}
	if (files) {
		struct buf text = BUF_INIT;
		if (client_call_text(client, "GET", path, &status, &text, &err) < 0)
			rc = cli_fail_err(&err);
		else
			fwrite(text.data, 1, text.len, stdout);
		buf_release(&text);
	} else {
		json_t *out = NULL;
		if (client_call(client, "GET", path, NULL, &status, &out, &err) < 0)
			rc = cli_fail_err(&err);
		else if (json)
			cli_print_json(out);
		else
			print_text(out);
		json_decref(out);
	}
	free(path);
	client_free(client);
	return rc;
}

const struct cli_command cmd_inspect = {
	"inspect", run_inspect, "[--json] [--files] REF", "show a stored image, its layers or its files",
};
