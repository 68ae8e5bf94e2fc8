/* test-cpe: CPE generation against syft's own expectations
 * (tests/vectors/cpe/generate.tsv: its generate_test.go cases, as strata's
 * records), the NVD dictionary, the formatted string's quoting and the
 * order (most specific first). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "analyzers/cpe.h"
#include "tap.h"
#include "vectors.h"

/* "a; b" sorted, for comparing as sets. */
static char *sorted(const char *list)
{
	char *v[256], *copy = strdup(list), *save = NULL;
	size_t n = 0;
	for (char *t = strtok_r(copy, ";", &save); t && n < 256; t = strtok_r(NULL, ";", &save)) {
		while (*t == ' ')
			t++;
		v[n++] = t;
	}
	qsort(v, n, sizeof(*v), vec_cmp_str);
	size_t len = strlen(list) + 4;
	char *out = calloc(1, len);
	for (size_t i = 0; i < n; i++) {
		strcat(out, i ? "; " : "");
		strcat(out, v[i]);
	}
	free(copy);
	return out;
}

static char *joined(const json_t *cpes)
{
	struct buf b = BUF_INIT;
	size_t i;
	const json_t *c;
	json_array_foreach(cpes, i, c)
		buf_addf(&b, "%s%s", i ? "; " : "", json_string_value(c));
	return buf_detach(&b, NULL);
}

static void test_vectors(void)
{
	char path[4096], *tsv;
	size_t len;
	snprintf(path, sizeof(path), "%s/vectors/cpe/generate.tsv", vec_srcdir());
	vec_slurp(path, &tsv, &len);
	char *save = NULL;
	int rows = 0;
	for (char *line = strtok_r(tsv, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (!rows++)
			continue;
		char *cells[4] = { NULL };
		char *p = line;
		for (int c = 0; c < 4 && p; c++) {
			cells[c] = p;
			p = strchr(p, '\t');
			if (p)
				*p++ = '\0';
		}
		json_t *rec = json_loads(cells[1], 0, NULL);
		json_t *cpes = cpe_generate(rec);
		char *got = joined(cpes), *gs = sorted(got), *ws = sorted(cells[2]);
		if (!ok(!strcmp(gs, ws), "%s: %zu CPEs as syft makes them", cells[0], json_array_size(cpes))) {
			printf("#   got  %s\n#   want %s\n", gs, ws);
		}
		if (cells[3] && *cells[3])
			printf("#   %s\n", cells[3]);
		free(got);
		free(gs);
		free(ws);
		json_decref(cpes);
		json_decref(rec);
	}
	ok(rows > 10, "%d cases", rows - 1);
	free(tsv);
}

static void test_forms(void)
{
	json_t *rec = json_pack("{s:s, s:s, s:s}", "type", "npm", "name", "express", "version", "4.21.2");
	json_t *cpes = cpe_generate(rec);
	char *s = joined(cpes);
	is_str(s, "cpe:2.3:a:openjsf:express:4.21.2:*:*:*:*:node.js:*:*", "npm express: the dictionary's CPE with the version");
	free(s);
	json_decref(cpes);
	json_decref(rec);
	rec = json_pack("{s:s, s:s, s:s}", "type", "deb", "name", "libstdc++6", "version", "12.2.0-14+deb12u1");
	cpes = cpe_generate(rec);
	s = joined(cpes);
	is_str(s, "cpe:2.3:a:libstdc\\+\\+6:libstdc\\+\\+6:12.2.0-14\\+deb12u1:*:*:*:*:*:*:*",
	       "deb: '+' quoted, '-' and '.' as they are");
	free(s);
	json_decref(cpes);
	json_decref(rec);
	rec = json_pack("{s:s, s:s, s:s, s:s}", "type", "maven", "name", "commons-lang3", "version", "3.12.0", "group",
			"org.apache.commons");
	cpes = cpe_generate(rec);
	s = joined(cpes);
	is_str(s, "cpe:2.3:a:apache:commons-lang3:3.12.0:*:*:*:*:*:*:*; cpe:2.3:a:apache:commons_lang3:3.12.0:*:*:*:*:*:*:*; "
		  "cpe:2.3:a:apache:commons:3.12.0:*:*:*:*:*:*:*",
	       "maven: apache wins; longest first, then by the string");
	free(s);
	json_decref(cpes);
	json_decref(rec);
	rec = json_pack("{s:s, s:s}", "type", "deb", "name", "caf\xc3\xa9");
	cpes = cpe_generate(rec);
	is_int(json_array_size(cpes), 0, "a name no CPE field can hold gives none");
	json_decref(cpes);
	json_decref(rec);
	rec = json_pack("{s:s}", "type", "deb");
	cpes = cpe_generate(rec);
	is_int(json_array_size(cpes), 0, "no name, no CPE");
	json_decref(cpes);
	json_decref(rec);
	const char *t[4];
	is_int(cpe_dictionary("gem", "openssl", t, 4), 2, "the dictionary: openssl, a gem, twice");
	is_int(cpe_dictionary("gem", "no-such-gem-here", t, 4), 0, "and nothing for an unknown gem");
}

int main(void)
{
	test_vectors();
	test_forms();
	return tap_done();
}
