/* cli: shared plumbing of the strata subcommands. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "cli.h"
#include "ref.h"
#include "util.h"

int cli_fail(const char *fmt, ...)
{
	va_list ap;
	fputs("strata: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

int cli_fail_err(const struct strata_error *err)
{
	return cli_fail("%s", err->msg[0] ? err->msg : strerror(err->code ? -err->code : EIO));
}

int cli_usage(const struct cli_command *cmd, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "strata %s: ", cmd->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nusage: strata %s %s\n", cmd->name, cmd->usage);
	return EXIT_USAGE;
}

int cli_open_store(struct cli *cli, enum store_mode mode, struct store **out, struct strata_error *err)
{
	*out = NULL;
	int r = store_open(&cli->conf, mode, out, err);
	if (r == -ENOENT && mode == STORE_READ && !err->msg[0])
		return 0;
	return r;
}

/* A unique digest prefix among stored images. */
struct prefix_search {
	const char *hex;
	size_t len;
	char found[DIGEST_STR_MAX];
	int matches;
};

static int match_prefix(json_t *img, void *ctx)
{
	struct prefix_search *ps = ctx;
	const char *d = json_string_value(json_object_get(img, "digest"));
	if (d && !strncmp(d + 7, ps->hex, ps->len)) {
		snprintf(ps->found, sizeof(ps->found), "%s", d);
		ps->matches++;
	}
	return 0;
}

static int is_hex(const char *s)
{
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return 0;
	return 1;
}

int cli_resolve_image(struct store *st, const char *refstr, char digest[DIGEST_STR_MAX],
		      struct strata_error *err)
{
	if (!st)
		return error_set(err, -ENOENT, "image '%s' is not stored", refstr);
	const char *hex = !strncmp(refstr, "sha256:", 7) ? refstr + 7 : refstr;
	size_t hl = strlen(hex);
	if (hl >= 4 && hl <= 64 && is_hex(hex)) {
		struct prefix_search ps = { hex, hl, "", 0 };
		catalog_each_image(st->idx, match_prefix, &ps);
		if (ps.matches == 1) {
			snprintf(digest, DIGEST_STR_MAX, "%s", ps.found);
			return 0;
		}
		if (ps.matches > 1)
			return error_set(err, -EINVAL, "'%s' matches %d images: give more digits", refstr, ps.matches);
		if (hex != refstr)
			return error_set(err, -ENOENT, "image '%s' is not stored", refstr);
	}
	struct image_ref ref;
	int r = ref_parse(refstr, &ref, err);
	if (r < 0)
		return r;
	if (catalog_resolve_name(st->idx, ref.name, digest) == 0) {
		r = 0;
	} else if (ref.digest) {
		json_t *img = NULL;
		r = catalog_get_image(st->idx, ref.digest, &img, NULL);
		json_decref(img);
		if (r == 0)
			snprintf(digest, DIGEST_STR_MAX, "%s", ref.digest);
	} else {
		r = -ENOENT;
	}
	if (r == -ENOENT)
		error_set(err, r, "image '%s' is not stored", refstr);
	ref_release(&ref);
	return r;
}

void cli_print_json(json_t *v)
{
	json_dumpf(v, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	fputc('\n', stdout);
}

json_t *cli_json_time(int64_t t)
{
	char s[40];
	format_rfc3339(t, s, sizeof(s));
	return json_string(s);
}
