/* test-gem: the gemspec reader against the peer vectors (tests/vectors/gem),
 * the literal forms RubyGems writes, what it must not guess, hostile input,
 * and the analyzer's claims. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "analyzers/gem.h"
#include "tap.h"
#include "vectors.h"

static void test_vectors(void)
{
	struct vec_list vecs = VEC_LIST_INIT;
	struct strata_error err = STRATA_ERROR_INIT;
	vec_find_vectors(&vecs, "gem");
	is_int(vecs.n, 8, "all gem vectors found");
	for (size_t i = 0; i < vecs.n; i++) {
		const char *rel = vecs.path[i];
		int rc;
		json_t *out = vec_parse_vector(rel, gem_spec_parse, &rc, &err);
		vec_check_vector(out, rel);
		if (vec_ends_with(rel, "/malformed00.gemspec")) {
			is_int(rc, -EBADMSG, "%s: an error", rel);
			is_str(err.msg, "malformed gemspec: no name assigned on 'spec'", "%s: message", rel);
		} else if (vec_ends_with(rel, "/malformed01.gemspec")) {
			is_int(rc, -EBADMSG, "%s: an error", rel);
			is_str(err.msg, "malformed gemspec: no version assigned on 's'", "%s: message", rel);
		} else {
			is_int(rc, 0, "%s: no error (%s)", rel, err.msg);
		}
		json_decref(out);
	}
	vec_list_release(&vecs);
}

static void test_licenses(void)
{
	static const struct {
		const char *file, *license;
	} want[] = {
		{ "gem/gemspec/license.gemspec", "MIT" },
		{ "gem/gemspec/multiple_licenses.gemspec", "Ruby OR BSDL OR PSFL" },
		{ "gem/gemspec/normal00.gemspec", "MIT" },
		{ "gem/gemspec/normal01.gemspec", "MIT" },
		{ "gem/specifications/bundler.gemspec", "MIT" },
		{ "gem/specifications/formatador.gemspec", "MIT" },
	};
	struct strata_error err = STRATA_ERROR_INIT;
	for (size_t i = 0; i < sizeof(want) / sizeof(*want); i++) {
		int rc;
		json_t *out = vec_parse_vector(want[i].file, gem_spec_parse, &rc, &err);
		is_str(vec_rec_str(out, 0, "license"), want[i].license, "%s: license", want[i].file);
		is_str(vec_rec_str(out, 0, "type"), "gem", "%s: type gem", want[i].file);
		json_decref(out);
	}
}

/* name and version of a gemspec text, "name version" or the error. */
static const char *nv(const char *text)
{
	static char buf[1200];
	struct strata_error err = STRATA_ERROR_INIT;
	int rc;
	json_t *out = vec_parse_text(gem_spec_parse, text, &rc, &err);
	if (rc < 0)
		snprintf(buf, sizeof(buf), "error: %s", err.msg);
	else
		snprintf(buf, sizeof(buf), "%s %s|%s", vec_rec_str(out, 0, "name"), vec_rec_str(out, 0, "version"),
			 vec_rec_str(out, 0, "license") ? vec_rec_str(out, 0, "license") : "-");
	json_decref(out);
	return buf;
}

static void test_forms(void)
{
	is_str(nv("Gem::Specification.new do |s|\n  s.name = 'single'\n  s.version = '1.0'\nend\n"),
	       "single 1.0|-", "single quotes");
	is_str(nv("Gem::Specification.new do |g|\ng.name = %q{old}\ng.version = %q<0.8.7>\n"
		  "g.licenses = [%q(MIT), \"Apache-2.0\".freeze]\nend\n"),
	       "old 0.8.7|MIT OR Apache-2.0", "%%q forms, as RubyGems 1.x wrote them");
	is_str(nv("Gem::Specification.new do |s|\ns.name = \"v\"\ns.version = Gem::Version.new(\"2.0.1\")\nend\n"),
	       "v 2.0.1|-", "Gem::Version.new(...)");
	is_str(nv("Gem::Specification.new do |s|\ns.name = \"v\"\ns.version = Gem::Version.new \"3\"\nend\n"),
	       "v 3|-", "Gem::Version.new without parentheses");
	is_str(nv("Gem::Specification.new { |spec|\n\tspec.name=\"brace\"\n\tspec.version=\"1\".freeze\n}\n"),
	       "brace 1|-", "a brace block, no spaces around '='");
	is_str(nv("Gem::Specification.new do |s|\ns.name = \"esc\\\"aped\\u00e9\\u{41 42}\\x43\\101\"\n"
		  "s.version = \"1\"\nend\n"),
	       "esc\"aped\xc3\xa9" "ABCA 1|-", "double-quoted escapes");
	is_str(nv("Gem::Specification.new do |s|\ns.name = 'it\\'s\\\\'\ns.version = '1'\nend\n"),
	       "it's\\ 1|-", "single-quoted escapes");
	is_str(nv("Gem::Specification.new do |s|\ns.name = \"x-#{VERSION}\"\ns.version = \"1\"\nend\n"),
	       "error: malformed gemspec: no name assigned on 's'", "interpolation is not guessed");
	is_str(nv("Gem::Specification.new do |s|\ns.name = Foo::NAME\ns.version = \"1\"\nend\n"),
	       "error: malformed gemspec: no name assigned on 's'", "a constant is not guessed");
	is_str(nv("Gem::Specification.new do |s|\ns.name == \"cmp\"\ns.name = \"real\"\ns.version = \"1\"\nend\n"),
	       "real 1|-", "a comparison is not an assignment");
	is_str(nv("Gem::Specification.new do |s|\ns.name = \"first\"\ns.name = \"second\"\ns.version = \"1\"\nend\n"),
	       "first 1|-", "the first assignment counts");
	is_str(nv("Gem::Specification.new do |s|\ns.names = \"no\"\ns.name = \"yes\"\ns.version = \"1\"\nend\n"),
	       "yes 1|-", "s.names is another attribute");
	is_str(nv("Gem::Specification.new do |s|\n# s.name = \"comment\"\ns.name = \"x\"\ns.version = \"1\"\nend\n"),
	       "x 1|-", "a commented-out assignment");
	is_str(nv("Gem::Specification.new do |s|\ns.name = \"unterminated\ns.version = \"1\"\nend\n"),
	       "error: malformed gemspec: no name assigned on 's'", "a string not closed on its line");
	is_str(nv("Gem::Specification.new do |s|\ns.name = \"a\"\ns.version = \"\"\nend\n"),
	       "error: malformed gemspec: no version assigned on 's'", "an empty version is none");
	is_str(nv("s.name = \"a\"\ns.version = \"1\"\n"),
	       "error: malformed gemspec: no Gem::Specification.new block", "no block");
	is_str(nv("Gem::Specification.newer do |s|\nGem::Specification.new done |s|\n"
		  "Gem::Specification.new do |t|\nt.name = \"late\"\nt.version = \"1\"\n"),
	       "late 1|-", "false starts before the block");
	is_str(nv("Gem::Specification.new do |s|\r\n  s.name = \"crlf\"\r\n  s.version = \"1\"\r\nend\r\n"),
	       "crlf 1|-", "CRLF lines");
	is_str(nv("Gem::Specification.new do |s|\ns.name = \"nonl\"\ns.version = \"1\""), "nonl 1|-",
	       "no trailing newline");
	is_str(nv("Gem::Specification.new do |s|\ns.name = \"l\"\ns.version = \"1\"\ns.licenses = []\nend\n"),
	       "l 1|-", "an empty licence list");
	is_str(nv("Gem::Specification.new do |s|\ns.name = \"l\"\ns.version = \"1\"\ns.licenses = [\"A\", B]\n"
		  "s.license = \"C\"\nend\n"),
	       "l 1|C", "an unreadable list does not count; a later license does");

	struct strata_error err = STRATA_ERROR_INIT;
	int rc;
	static const char nul[] = "Gem::Specification.new do |s|\ns.name = \"a\0b\xff\"\ns.version = \"1\"\n";
	json_t *out = json_array();
	rc = gem_spec_parse(nul, sizeof(nul) - 1, out, &err);
	is_int(rc, 0, "NUL and invalid UTF-8 inside a string");
	char *dump = json_dumps(out, 0);
	ok(dump != NULL, "serialises: %s", dump ? dump : "(null)");
	free(dump);
	json_decref(out);
}

static void test_hostile(void)
{
	struct strata_error err = STRATA_ERROR_INIT;
	int rc;
	size_t big = 16u << 20;
	char *s = malloc(big + 256);

	/* A 16 MB unterminated string, then a 16 MB name. */
	strcpy(s, "Gem::Specification.new do |s|\ns.name = \"");
	size_t o = strlen(s);
	memset(s + o, 'x', big);
	strcpy(s + o + big, "\ns.version = \"1\"\n");
	double t = vec_seconds();
	json_t *out = vec_parse_text(gem_spec_parse, s, &rc, &err);
	is_int(rc, -EBADMSG, "a 16 MB unterminated string");
	printf("# " "in linear time (%.3f s)" " (timed: a figure, not a pass condition)\n", vec_seconds() - t);
	json_decref(out);

	/* 1 M lines that look almost like assignments. */
	strcpy(s, "Gem::Specification.new do |s|\n");
	o = strlen(s);
	for (size_t i = 0; i < (1u << 20); i++) {
		memcpy(s + o, "s.name\n", 7);
		o += 7;
	}
	strcpy(s + o, "s.name = \"n\"\ns.version = \"1\"\n");
	t = vec_seconds();
	out = vec_parse_text(gem_spec_parse, s, &rc, &err);
	is_int(rc, 0, "1 M near-assignments");
	printf("# " "in linear time (%.3f s)" " (timed: a figure, not a pass condition)\n", vec_seconds() - t);
	json_decref(out);

	/* 1 M false starts of the block marker. */
	o = 0;
	for (size_t i = 0; i < (1u << 19); i++) {
		memcpy(s + o, "Gem::Specification.new do |\n", 28);
		o += 28;
	}
	s[o] = '\0';
	t = vec_seconds();
	out = vec_parse_text(gem_spec_parse, s, &rc, &err);
	is_int(rc, -EBADMSG, "512 Ki false block starts");
	printf("# " "in linear time (%.3f s)" " (timed: a figure, not a pass condition)\n", vec_seconds() - t);
	json_decref(out);

	/* Deep %q nesting on one line: a counter, not recursion. */
	strcpy(s, "Gem::Specification.new do |s|\ns.version = '1'\ns.name = %q");
	o = strlen(s);
	for (size_t i = 0; i < (1u << 20); i++)
		s[o++] = '(';
	for (size_t i = 0; i < (1u << 20); i++)
		s[o++] = ')';
	s[o] = '\0';
	out = vec_parse_text(gem_spec_parse, s, &rc, &err);
	is_int(rc, 0, "1 M nested %%q parentheses");
	is_int(strlen(vec_rec_str(out, 0, "name")), (2u << 20) - 2, "all kept but the outer pair");
	json_decref(out);

	static const char alphabet[] = "Gem::Specification.new do |s|\ns.name = \"'%q{}()[]\\#u";
	ok(vec_random_inputs(gem_spec_parse, alphabet, sizeof(alphabet) - 1, 4, 300, 30),
	   "random inputs give 0 or -EBADMSG");
	free(s);
}

static void test_analyzer(void)
{
	is_str(analyzer_gem.name, "gem", "name");
	ok(vec_claimed(&analyzer_gem, "/usr/local/bundle/specifications/rake-13.0.3.gemspec"), "claims a spec");
	ok(vec_claimed(&analyzer_gem, "/usr/lib/ruby/gems/3.1.0/specifications/default/bundler-2.3.7.gemspec"),
	   "claims a default gem's spec");
	ok(!vec_claimed(&analyzer_gem, "/app/rake.gemspec"), "not a gemspec outside specifications/");
	ok(!vec_claimed(&analyzer_gem, "/x/specifications/rake.gemspec.bak"), "not another suffix");

	struct strata_error err = STRATA_ERROR_INIT;
	int rc;
	static const char text[] = "Gem::Specification.new do |s|\n s.name = \"rake\"\n s.version = \"13.0.3\"\nend\n";
	json_t *out = vec_scan_text(&analyzer_gem, "/x/specifications/rake-13.0.3.gemspec", text, sizeof(text) - 1, &rc,
				&err);
	is_int(rc, 0, "scan through a file descriptor");
	is_str(vec_rec_str(out, 0, "version"), "13.0.3", "scan: version");
	json_decref(out);
}

static json_t *gem_records(const char *rel, int *rc, struct strata_error *err)
{
	return vec_parse_vector(rel, gem_spec_parse, rc, err);
}

static void test_peer_licenses(void)
{
	vec_check_licenses("gem", gem_records);
}

int main(void)
{
	test_vectors();
	test_licenses();
	test_forms();
	test_hostile();
	test_analyzer();
	test_peer_licenses();
	return tap_done();
}
