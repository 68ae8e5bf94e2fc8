/* strata config: the settings in effect and where each came from. A local
 * command: it reads the configuration as the daemon would, without one. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <string.h>

#include "cli.h"

static json_t *item_json(const struct conf_item *it)
{
	json_t *v;
	switch (it->kind) {
	case CONF_LIST:
		v = json_array();
		for (char *const *p = it->list; p && *p; p++)
			json_array_append_new(v, json_string(*p));
		break;
	case CONF_INT:
	case CONF_SIZE:
		v = json_integer((json_int_t)it->number);
		break;
	case CONF_BOOL:
		v = json_boolean(it->number);
		break;
	default:
		v = it->text ? json_string(it->text) : json_null();
		break;
	}
	return json_pack("{s:s, s:o, s:s, s:s}", "key", it->key, "value", v, "source", it->origin,
			 "env", it->env);
}

static int show(struct cli *cli, int json)
{
	const struct strata_conf *c = &cli->conf;
	json_t *all = json ? json_array() : NULL;
	struct conf_item it;
	int r;

	if (!json) {
		if (c->config_path)
			printf("configuration file: %s\n\n", c->config_path);
		else
			printf("configuration file: %s (absent: defaults)\n\n", conf_default_path());
		printf("%-26s %-30s %s\n", "KEY", "VALUE", "SOURCE");
	}
	for (size_t i = 0; (r = conf_item(c, i, &it)) == 0; i++) {
		if (json)
			json_array_append_new(all, item_json(&it));
		else
			printf("%-26s %-30s %s\n", it.key, it.text && *it.text ? it.text : "-", it.origin);
		conf_item_release(&it);
	}
	if (r != -ENOENT) {
		json_decref(all);
		return cli_fail("config show: out of memory");
	}
	if (json) {
		json_t *doc = json_pack("{s:o, s:s, s:o}", "file",
					c->config_path ? json_string(c->config_path) : json_null(),
					"default_file", conf_default_path(), "keys", all);
		cli_print_json(doc);
		json_decref(doc);
	}
	return 0;
}

static int run_config(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = { { "json", no_argument, NULL, 'j' }, { 0 } };
	int json = 0, c;
	optind = 0;
	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		if (c != 'j')
			return cli_usage(&cmd_config, "unknown option");
		json = 1;
	}
	if (optind >= argc)
		return cli_usage(&cmd_config, "missing subcommand");
	if (strcmp(argv[optind], "show"))
		return cli_usage(&cmd_config, "unknown subcommand '%s'", argv[optind]);
	/* Options may also follow "show". */
	argc -= optind;
	argv += optind;
	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'j')
			return cli_usage(&cmd_config, "unknown option");
		json = 1;
	}
	if (optind < argc)
		return cli_usage(&cmd_config, "unexpected argument '%s'", argv[optind]);
	return show(cli, json);
}

const struct cli_command cmd_config = {
	"config", run_config, "show [--json]", "show the configuration and where each setting comes from",
};
