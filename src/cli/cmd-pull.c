/* strata pull: fetch images into the store (through the daemon). */
#include "config.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "progress.h"
#include "src/ingest/pull.h"
#include "src/base/util.h"

/* Replays the daemon's NDJSON progress events into the local display. */
static int on_event(void *ctx, json_t *ev)
{
	const struct pull_observer *obs = ctx;
	const char *kind = json_string_value(json_object_get(ev, "event"));
	if (!obs || !kind)
		return 0;
	if (!strcmp(kind, "start") && obs->start) {
		obs->start(obs->ctx, json_string_value(json_object_get(ev, "ref")),
			   (size_t)json_integer_value(json_object_get(ev, "layers")));
	} else if (!strcmp(kind, "layer") && obs->layer) {
		struct pull_layer_status st = {
			.digest = json_string_value(json_object_get(ev, "digest")),
			.size = (uint64_t)json_integer_value(json_object_get(ev, "size")),
			.done = (uint64_t)json_integer_value(json_object_get(ev, "done")),
			.state = (enum pull_layer_state)json_integer_value(json_object_get(ev, "state")),
		};
		if (st.digest)
			obs->layer(obs->ctx, (size_t)json_integer_value(json_object_get(ev, "index")), &st);
	}
	return 0;
}

static int pull_one(struct cli *cli, struct client *c, const char *ref, const char *platform,
		    int lazy, struct progress *prog, int quiet)
{
	struct strata_error err = STRATA_ERROR_INIT;
	char *canon = cli_canonical_ref(ref);
	json_t *body = json_pack("{s:s}", "ref", canon ? canon : ref), *last = NULL;
	free(canon);
	if (platform)
		json_object_set_new(body, "platform", json_string(platform));
	if (lazy)
		json_object_set_new(body, "lazy", json_true());
	cli_add_auth(cli, ref, body);
	int fd = cli_attach_source(c, ref, body, &err);
	int r = fd < -1 ? fd
			: client_stream(c, "POST", "/v1/pull", body, on_event,
					prog ? (void *)progress_observer(prog) : NULL, &last, &err);
	if (fd >= 0)
		close(fd);
	json_decref(body);
	if (prog)
		progress_finish(prog);
	const char *kind = json_string_value(json_object_get(last, "event"));
	int rc = 0;
	if (r < 0) {
		rc = cli_fail_err(&err);
	} else if (!kind || strcmp(kind, "done")) {
		const char *msg = json_string_value(json_object_get(last, "error"));
		rc = cli_fail("%s", msg ? msg : "pull: the daemon ended the request without a result");
	} else if (!quiet) {
		json_t *res = json_object_get(last, "result");
		char fetched[16], stored[16];
		format_size((uint64_t)json_integer_value(json_object_get(res, "bytes_fetched")), fetched, sizeof(fetched));
		format_size((uint64_t)json_integer_value(json_object_get(res, "bytes_stored")), stored, sizeof(stored));
		const char *digest = json_string_value(json_object_get(res, "digest"));
		char *name = str_visible(json_string_value(json_object_get(res, "name")));
		if (json_is_true(json_object_get(res, "up_to_date")))
			printf("%s %s: up to date\n", digest, name ? name : "?");
		else
			printf("%s %s: %lld layers, %lld fetched (%s), %s newly stored\n", digest, name ? name : "?",
			       json_integer_value(json_object_get(res, "layers")),
			       json_integer_value(json_object_get(res, "layers_fetched")), fetched, stored);
		free(name);
	}
	json_decref(last);
	return rc;
}

static int run_pull(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "platform", required_argument, NULL, 'p' },
		{ "lazy", no_argument, NULL, 'l' },
		{ "quiet", no_argument, NULL, 'q' },
		{ 0 }
	};
	const char *platform = NULL;
	int quiet = cli->quiet, lazy = 0, c;
	optind = 0;
	while ((c = getopt_long(argc, argv, "q", opts, NULL)) != -1) {
		switch (c) {
		case 'p': platform = optarg; break;
		case 'l': lazy = 1; break;
		case 'q': quiet = 1; break;
		default: return cli_usage(&cmd_pull, "unknown option");
		}
	}
	if (optind >= argc)
		return cli_usage(&cmd_pull, "no image given");

	struct strata_error err = STRATA_ERROR_INIT;
	struct client *client = NULL;
	if (cli_connect(cli, &client, &err) < 0)
		return cli_fail_err(&err);
	struct progress *prog = progress_new(stderr, !quiet);
	int rc = 0;
	for (int i = optind; i < argc; i++)
		if (pull_one(cli, client, argv[i], platform, lazy, prog, quiet))
			rc = 1;
	progress_free(prog);
	client_free(client);
	return rc;
}

const struct cli_command cmd_pull = {
	"pull", run_pull, "[--platform OS/ARCH[/VARIANT]] [--lazy] [-q] REF...", "fetch images into the store",
};
