/* test-secrets: the secrets analyzer: every built-in rule on planted fake
 * credentials (rule, line, severity, masked match), decoys, binary skip,
 * block boundaries, the size limit, the findings cap, rules files, threads,
 * hostile runs, and the scan throughput (printed as a TAP comment). */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "analyzers/analyzer.h"
#include "analyzers/secrets.h"
#include "tap.h"
#include "vectors.h"

static const char *srcdir;
static char tmpdir[] = "/tmp/test-secrets.XXXXXX";

static char *data_path(const char *name)
{
	static char p[4096];
	snprintf(p, sizeof(p), "%s/data/secrets/%s", srcdir, name);
	return p;
}

/* The whole file; exits 99 when it cannot be read (a broken test setup). */
static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		perror(path);
		exit(99);
	}
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *s = malloc((size_t)n + 1);
	if (!s || fread(s, 1, (size_t)n, f) != (size_t)n)
		exit(99);
	s[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return s;
}

/* Findings as sorted "rule\tline\tseverity\tmatch" lines, one string. */
static char *canon(json_t *arr)
{
	size_t n = json_array_size(arr);
	char **rows = calloc(n + 1, sizeof(*rows));
	size_t total = 1;
	for (size_t i = 0; i < n; i++) {
		json_t *r = json_array_get(arr, i);
		char line[512];
		snprintf(line, sizeof(line), "%s\t%lld\t%s\t%s\n",
			 json_string_value(json_object_get(r, "rule")),
			 (long long)json_integer_value(json_object_get(r, "line")),
			 json_string_value(json_object_get(r, "severity")),
			 json_string_value(json_object_get(r, "match")));
		rows[i] = strdup(line);
		total += strlen(line);
	}
	for (size_t i = 0; i < n; i++) /* insertion sort: order is not contractual */
		for (size_t k = i; k > 0 && strcmp(rows[k - 1], rows[k]) > 0; k--) {
			char *t = rows[k];
			rows[k] = rows[k - 1];
			rows[k - 1] = t;
		}
	char *out = malloc(total);
	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		strcat(out, rows[i]);
		free(rows[i]);
	}
	free(rows);
	return out;
}

static json_t *scan_blocks(const char *data, size_t len, size_t block, int *rc, char *msg)
{
	struct strata_error err = STRATA_ERROR_INIT;
	json_t *out = json_array();
	*rc = secrets_scan_buffer_blocks(data, len, block, out, &err);
	if (msg)
		snprintf(msg, sizeof(err.msg), "%s", err.msg);
	return out;
}

static json_t *scan_str(const char *s, int *rc)
{
	return scan_blocks(s, strlen(s), 0, rc, NULL);
}

/* Number of findings of rule (any rule when NULL). */
static size_t count_rule(json_t *arr, const char *rule)
{
	size_t n = 0, i;
	json_t *r;
	json_array_foreach(arr, i, r)
		if (!rule || !strcmp(json_string_value(json_object_get(r, "rule")), rule))
			n++;
	return n;
}

static int write_file(const char *path, const char *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, data, len) != (ssize_t)len) {
		perror(path);
		exit(99);
	}
	close(fd);
	return 0;
}

/* Runs the analyzer itself on a file, as the walk does. */
static json_t *scan_file(const char *path, uint64_t limit, int *rc, char *msg)
{
	struct analyzer_limits lim;
	analyzer_limits_default(&lim);
	lim.secrets_max_size = limit;
	struct stat st;
	int fd = open(path, O_RDONLY);
	if (fd < 0 || fstat(fd, &st) < 0)
		exit(99);
	struct analyzer_file f = { fd, path, (uint64_t)st.st_size, &lim };
	struct strata_error err = STRATA_ERROR_INIT;
	json_t *out = json_array();
	*rc = analyzer_secrets.scan(&f, out, &err);
	snprintf(msg, sizeof(err.msg), "%s", err.msg);
	close(fd);
	return out;
}

static void test_planted(void)
{
	size_t len, elen;
	char *text = slurp(data_path("planted.txt"), &len);
	char *want = slurp(data_path("planted.expected.tsv"), &elen);
	char *body = strchr(want, '\n') + 1; /* past the header */

	/* Every built-in rule has a planted credential. */
	for (size_t i = 0; i < secrets_builtin_count; i++) {
		char key[128];
		snprintf(key, sizeof(key), "\n%s\t", secrets_builtin_rules[i].id);
		ok(strstr(want, key) != NULL, "rule %s has a planted credential", secrets_builtin_rules[i].id);
	}

	/* Same rows as expected (sorted both sides). */
	json_t *exp = json_array();
	for (char *line = body, *next; *line; line = next) {
		next = strchr(line, '\n');
		*next++ = '\0';
		char *f[4] = { line };
		for (int k = 1; k < 4; k++) {
			f[k] = strchr(f[k - 1], '\t');
			*f[k]++ = '\0';
		}
		json_array_append_new(exp, json_pack("{s:s, s:I, s:s, s:s}", "rule", f[0], "line",
						     (json_int_t)atoll(f[1]), "severity", f[2], "match", f[3]));
	}
	int rc;
	json_t *got = scan_blocks(text, len, 0, &rc, NULL);
	is_int(rc, 0, "planted: scan succeeds");
	char *g = canon(got), *w = canon(exp);
	is_str(g, w, "planted: every credential found with its rule, line, severity and mask");
	is_int(json_array_size(got), json_array_size(exp), "planted: %zu findings",
	       json_array_size(exp));

	/* Titles are set, and no unmasked secret leaks into a record. */
	size_t i;
	json_t *r;
	int titled = 1;
	json_array_foreach(got, i, r)
		titled &= json_string_length(json_object_get(r, "title")) > 0;
	ok(titled, "planted: every record has a title");
	char *dump = json_dumps(got, 0);
	ok(dump && !strstr(dump, "Tr0ub4dor"), "planted: a password is masked");
	free(dump);

	/* Block boundaries anywhere: the same findings whatever the block size. */
	static const size_t blocks[] = { 1, 7, 64, 1000, 4093 };
	for (size_t b = 0; b < sizeof(blocks) / sizeof(blocks[0]); b++) {
		json_t *again = scan_blocks(text, len, blocks[b], &rc, NULL);
		char *a = canon(again);
		is_str(a, w, "planted: same findings with %zu-byte blocks", blocks[b]);
		free(a);
		json_decref(again);
	}

	/* Two copies, 7-byte blocks: the window slides; lines shift by copy.
	 * (Two: 3 copies would pass SECRETS_MAX_FINDINGS.) */
	char *two = malloc(2 * len);
	for (int k = 0; k < 2; k++)
		memcpy(two + k * len, text, len);
	size_t nlines = 0;
	for (size_t k = 0; k < len; k++)
		nlines += text[k] == '\n';
	json_t *exp2 = json_array();
	for (int k = 0; k < 2; k++)
		json_array_foreach(exp, i, r) {
			json_t *c2 = json_deep_copy(r);
			json_object_set_new(c2, "line",
					    json_integer(json_integer_value(json_object_get(r, "line")) +
							 (json_int_t)(k * nlines)));
			json_array_append_new(exp2, c2);
		}
	json_t *got2 = scan_blocks(two, 2 * len, 7, &rc, NULL);
	char *g2 = canon(got2), *w2 = canon(exp2);
	is_int(rc, 0, "planted x2, 7-byte blocks: scan succeeds");
	is_str(g2, w2, "planted x2, 7-byte blocks: both copies found at their lines");
	free(g2);
	free(w2);
	json_decref(got2);
	json_decref(exp2);
	free(two);

	/* CRLF line ends: same lines. */
	char *crlf = malloc(2 * len + 1);
	size_t n = 0;
	for (size_t k = 0; k < len; k++) {
		if (text[k] == '\n')
			crlf[n++] = '\r';
		crlf[n++] = text[k];
	}
	json_t *c = scan_blocks(crlf, n, 0, &rc, NULL);
	is_int(json_array_size(c), json_array_size(exp), "planted with CRLF: same number of findings");
	json_decref(c);
	free(crlf);
	free(g);
	free(w);
	json_decref(got);
	json_decref(exp);
	free(text);
	free(want);
}

static void test_decoys(void)
{
	size_t len;
	char *text = slurp(data_path("decoys.txt"), &len);
	int rc;
	json_t *got = scan_blocks(text, len, 0, &rc, NULL);
	is_int(rc, 0, "decoys: scan succeeds");
	char *g = canon(got);
	is_str(g, "", "decoys: no finding");
	free(g);
	json_decref(got);
	free(text);
}

static void test_binary(void)
{
	size_t len;
	char *bin = slurp(data_path("binary.bin"), &len);
	int rc;
	char msg[1024];
	json_t *got = scan_blocks(bin, len, 0, &rc, msg);
	is_int(rc, 0, "binary: not an error");
	is_int(json_array_size(got), 0, "binary: not scanned");
	json_decref(got);
	/* The same bytes without the NUL bytes would be a finding. */
	for (size_t i = 0; i < len; i++)
		if (!bin[i])
			bin[i] = ' ';
	got = scan_blocks(bin, len, 0, &rc, msg);
	is_int(count_rule(got, "aws-access-key-id"), 1, "binary without NULs: the key is found");
	json_decref(got);
	/* A NUL after the first 8 KiB does not make a file binary. */
	char *late = calloc(1, 9000 + 64);
	memset(late, 'a', 9000);
	late[8999] = '\n';
	late[8500] = '\0';
	strcpy(late + 9000, "AKIA2E0A8F3B244C9986\n");
	got = scan_blocks(late, 9000 + 21, 0, &rc, msg);
	is_int(count_rule(got, "aws-access-key-id"), 1, "a NUL past 8 KiB: still scanned");
	json_decref(got);
	free(late);
	free(bin);
}

/* A key straddling the analyzer's 256 KiB block boundary in a real file,
 * with the line number counted across blocks. */
static void test_file_boundary(void)
{
	const size_t boundary = 256u << 10;
	const char *key = "AKIA2E0A8F3B244C9986";
	size_t len = boundary + 100000;
	char *d = malloc(len);
	size_t lines = 0, o = 0;
	while (o < boundary - 10) {
		size_t l = 40 < boundary - 10 - o ? 40 : boundary - 10 - o;
		memset(d + o, 'w', l);
		o += l;
		d[o - 1] = '\n';
		lines++;
	}
	memcpy(d + o, key, 20);
	o += 20;
	memset(d + o, '\n', len - o);
	char path[4200];
	snprintf(path, sizeof(path), "%s/boundary.txt", tmpdir);
	write_file(path, d, len);
	int rc;
	char msg[1024];
	json_t *got = scan_file(path, 1ull << 30, &rc, msg);
	is_int(rc, 0, "file across blocks: scan succeeds (%s)", msg);
	is_int(json_array_size(got), 1, "file across blocks: the split key is found");
	json_t *r = json_array_get(got, 0);
	is_int(json_integer_value(json_object_get(r, "line")), lines + 1, "file across blocks: its line");
	is_str(json_string_value(json_object_get(r, "match")), "AKIA************9986",
	       "file across blocks: masked like the contract's example");
	json_decref(got);
	free(d);
}

static void test_size_limit(void)
{
	char path[4200], msg[1024];
	snprintf(path, sizeof(path), "%s/big.env", tmpdir);
	char text[2000];
	memset(text, '#', sizeof(text));
	text[sizeof(text) - 1] = '\n';
	memcpy(text, "AKIA2E0A8F3B244C9986\n", 21);
	write_file(path, text, sizeof(text));
	int rc;
	json_t *got = scan_file(path, 1000, &rc, msg);
	is_int(rc, -EFBIG, "over the limit: an error");
	char want[4400];
	snprintf(want, sizeof(want), "'%s' is 2000 bytes, over the secrets scan limit of 1000: not scanned",
		 path);
	is_str(msg, want, "over the limit: the message names path, size and limit");
	is_int(json_array_size(got), 0, "over the limit: no finding");
	json_decref(got);

	got = scan_file(path, 2000, &rc, msg);
	is_int(rc, 0, "at the limit: scanned");
	is_int(json_array_size(got), 1, "at the limit: the key is found");
	json_decref(got);

	text[10] = '\0'; /* binary: skipped silently, limit or not */
	write_file(path, text, sizeof(text));
	got = scan_file(path, 1000, &rc, msg);
	is_int(rc, 0, "binary over the limit: no warning");
	json_decref(got);
}

static void test_cap_and_masks(void)
{
	/* 150 keys: 100 reported, and an error says the rest was not. */
	char *many = malloc(150 * 32 + 1);
	size_t o = 0;
	for (int i = 0; i < 150; i++)
		o += (size_t)sprintf(many + o, "k%03d AKIA2E0A8F3B2%07d\n", i, i);
	int rc;
	char msg[1024];
	json_t *got = scan_blocks(many, o, 0, &rc, msg);
	is_int(json_array_size(got), SECRETS_MAX_FINDINGS, "cap: %d findings kept", SECRETS_MAX_FINDINGS);
	is_int(rc, -E2BIG, "cap: an error says so");
	ok(strstr(msg, "100 secrets found") != NULL, "cap: message '%s'", msg);
	json_decref(got);
	free(many);

	/* The 100th finding's secret is also a generic rule's: whichever order
	 * Hyperscan reports the two in, the specific one is kept. */
	many = malloc(100 * 32 + 128);
	o = 0;
	for (int i = 0; i < 99; i++)
		o += (size_t)sprintf(many + o, "k%03d AKIA2E0A8F3B2%07d\n", i, i);
	o += (size_t)sprintf(many + o, "api_key = 'AIzaSyA1a2B3c4D5e6F7g8H9i0J1k2L3m4N5o6P'\n");
	for (size_t block = 0; block <= 64; block += 32) {
		got = scan_blocks(many, o, block, &rc, msg);
		json_t *last = json_array_get(got, json_array_size(got) - 1);
		ok(rc == 0 && json_array_size(got) == 100 &&
		   !strcmp(json_string_value(json_object_get(last, "rule")), "google-api-key"),
		   "cap tie, block %zu: 100 findings, the last one specific (rc %d)", block, rc);
		json_decref(got);
	}
	free(many);

	/* A short secret keeps only 2 characters. */
	got = scan_str("password = \"abcdefgh\"\n", &rc);
	is_str(json_string_value(json_object_get(json_array_get(got, 0), "match")),
	       "password = \"ab******", "short secret: 2 characters kept");
	json_decref(got);
	/* A specific rule wins over a generic one on the same bytes. */
	got = scan_str("GITHUB_TOKEN=ghp_1a2B3c2D5e6F7g8H9i0J1k2L3m4N5o6P7q8R\n", &rc);
	is_int(json_array_size(got), 1, "generic shadowed: one finding");
	is_str(json_string_value(json_object_get(json_array_get(got, 0), "rule")), "github-pat",
	       "generic shadowed: the specific rule is kept");
	json_decref(got);
	/* Invalid UTF-8 in a match still gives valid JSON. */
	got = scan_str("password = \"\xff\xfe\xfd\xfc\xfbzz9\"\n", &rc);
	char *dump = json_dumps(got, 0);
	ok(dump && json_array_size(got) == 1, "invalid UTF-8: a finding, JSON dumps (%s)",
	   dump ? dump : "null");
	free(dump);
	json_decref(got);
	/* Two matches of one rule on one line are two findings. */
	got = scan_str("AKIA2E0A8F3B244C9986 AKIA2E0A8F3B244C9987\n", &rc);
	is_int(json_array_size(got), 2, "two keys on one line: two findings");
	json_decref(got);
	/* A key at the very end, no newline. */
	got = scan_str("x=AKIA2E0A8F3B244C9986", &rc);
	is_int(json_array_size(got), 1, "key at end of data: found");
	json_decref(got);
	got = scan_str("", &rc);
	ok(rc == 0 && json_array_size(got) == 0, "empty input: nothing");
	json_decref(got);
}

static void test_rules_files(void)
{
	struct strata_error err = STRATA_ERROR_INIT;
	const char *sample = "acme_0123456789abcdef svc-123456 xsvc-123456 svc-1234567\n"
			     "npm_1a2B3c2D5e6F7g8H9i0J1k2L3m4N5o6P7q8R\nAKIA2E0A8F3B244C9986\n";
	char builtin_id[32];
	snprintf(builtin_id, sizeof(builtin_id), "%s", secrets_ruleset_id());
	is_int(strlen(builtin_id), 16, "ruleset id: 16 hex digits (%s)", builtin_id);

	int r = secrets_load_rules(data_path("rules-add.tsv"), 0, &err);
	is_int(r, 0, "rules-add: loads (%s)", err.msg);
	ok(strcmp(secrets_ruleset_id(), builtin_id) != 0, "rules-add: ruleset id changes");
	int rc;
	json_t *got = scan_str(sample, &rc);
	is_int(count_rule(got, "acme-token"), 1, "rules-add: the new rule finds its token");
	is_int(count_rule(got, "aws-access-key-id"), 1, "rules-add: built-in rules stay");
	is_int(count_rule(got, NULL), 3, "rules-add: nothing else");
	size_t i;
	json_t *rec;
	json_array_foreach(got, i, rec) {
		const char *id = json_string_value(json_object_get(rec, "rule"));
		const char *m = json_string_value(json_object_get(rec, "match"));
		if (!strcmp(id, "acme-token"))
			is_str(m, "acme_01**************", "rules-add: secret group masked, prefix kept");
		if (!strcmp(id, "npm-token"))
			is_str(json_string_value(json_object_get(rec, "severity")), "LOW",
			       "rules-add: a rule with a built-in id replaces it");
	}
	json_decref(got);

	r = secrets_load_rules(data_path("rules-replace.tsv"), 1, &err);
	is_int(r, 0, "rules-replace: loads (%s)", err.msg);
	got = scan_str(sample, &rc);
	is_int(count_rule(got, "acme-token"), 1, "rules-replace: its rule finds its token");
	is_int(count_rule(got, "internal-id"), 1, "rules-replace: lookarounds confirmed exactly");
	is_int(count_rule(got, "aws-access-key-id"), 0, "rules-replace: built-in rules gone");
	json_decref(got);

	char id_before[32];
	snprintf(id_before, sizeof(id_before), "%s", secrets_ruleset_id());
	error_clear(&err);
	r = secrets_load_rules(data_path("rules-bad.tsv"), 0, &err);
	is_int(r, -EINVAL, "rules-bad: refused");
	char want[4400];
	snprintf(want, sizeof(want), "'%s':3: rule 'broken': bad regex: ", data_path("rules-bad.tsv"));
	ok(!strncmp(err.msg, want, strlen(want)) && !strchr(err.msg, '\n'),
	   "rules-bad: one line naming file:line: %s", err.msg);
	is_str(secrets_ruleset_id(), id_before, "rules-bad: the active set is unchanged");

	static const struct {
		const char *text, *why;
	} bad[] = {
		{ "a\tHIGH\tt\n", "expected id<TAB>severity" },
		{ "Bad\tHIGH\tt\tx+\n", "bad rule id" },
		{ "a\tURGENT\tt\tx+\n", "bad severity" },
		{ "a\tHIGH\t\tx+\n", "empty title" },
		{ "a\tHIGH\tt\tx*\n", "matches the empty string" },
		{ "a\tHIGH\tt\tx+\na\tLOW\tt\ty+\n", "already defined on line 1" },
		{ "# only a comment\n", "defines no rule" },
	};
	char path[4200];
	snprintf(path, sizeof(path), "%s/rules.tsv", tmpdir);
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		write_file(path, bad[k].text, strlen(bad[k].text));
		error_clear(&err);
		r = secrets_load_rules(path, 1, &err);
		ok(r < 0 && strstr(err.msg, bad[k].why), "bad rules file %zu: %s", k, err.msg);
	}
	error_clear(&err);
	r = secrets_load_rules("/nonexistent/rules.tsv", 0, &err);
	ok(r == -ENOENT && strstr(err.msg, "'/nonexistent/rules.tsv'"), "missing rules file: %s", err.msg);

	r = secrets_load_rules(NULL, 1, &err);
	is_int(r, 0, "built-in set restored");
	is_str(secrets_ruleset_id(), builtin_id, "built-in set: its id again");
}

struct worker {
	const char *text;
	size_t len;
	const char *want[2]; /* the findings under either set */
	int wrong;           /* scans that match neither */
};

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	int rc;
	for (int i = 0; i < 20; i++) {
		json_t *got = scan_blocks(w->text, w->len, i % 3 ? 0 : 97, &rc, NULL);
		char *c = canon(got);
		w->wrong += !c || (strcmp(c, w->want[0]) && strcmp(c, w->want[1]));
		free(c);
		json_decref(got);
	}
	return NULL;
}

/* A scan keeps the set it started with: each scan's findings are those of
 * the built-in set or of the added one, whenever the swaps fall (with the
 * rule database cache, a swap takes a few milliseconds, in mid-run). */
static void test_threads(void)
{
	size_t len;
	char *text = slurp(data_path("planted.txt"), &len);
	struct strata_error err = STRATA_ERROR_INIT;
	int rc;
	json_t *got = scan_blocks(text, len, 0, &rc, NULL);
	char *builtin = canon(got);
	json_decref(got);
	secrets_load_rules(data_path("rules-add.tsv"), 0, &err);
	got = scan_blocks(text, len, 0, &rc, NULL);
	char *added = canon(got);
	json_decref(got);
	secrets_load_rules(NULL, 1, &err);
	struct worker w[4];
	pthread_t t[4];
	for (int i = 0; i < 4; i++) {
		w[i] = (struct worker){ text, len, { builtin, added }, 0 };
		pthread_create(&t[i], NULL, worker_run, &w[i]);
	}
	/* Swapping the rule set while scans run must not disturb them. */
	secrets_load_rules(data_path("rules-add.tsv"), 0, &err);
	secrets_load_rules(NULL, 1, &err);
	int wrong = 0;
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		wrong += w[i].wrong;
	}
	ok(builtin && added && strcmp(builtin, added), "threads: the two sets find different things");
	is_int(wrong, 0, "threads: every concurrent scan has one set's findings");
	free(builtin);
	free(added);
	free(text);
}

/* Long runs that keep a rule matching at every byte, and many near misses:
 * the scan stays linear. */
static void test_hostile(void)
{
	size_t n = 4u << 20;
	char *d = malloc(n + 64);
	strcpy(d, "pypi-AgEIcHlwaS5vcmc");
	memset(d + 20, 'A', n - 20);
	int rc;
	double t0 = vec_seconds();
	json_t *got = scan_blocks(d, n, 0, &rc, NULL);
	double t1 = vec_seconds() - t0;
	is_int(json_array_size(got), 1, "4 MiB token run: one finding");
	ok(t1 < 20, "4 MiB token run: %.2f s", t1);
	json_decref(got);
	static const char near[] = "password = \"short\" AKIA12345678 ghp_abc eyJhbGciOi.eyJ.x "
				   "glpat-abc xoxb-1-a -----BEGIN RSA PRIVATE KEY-----\"\n";
	size_t nn = sizeof(near) - 1;
	for (size_t i = 0; i + nn <= n; i += nn)
		memcpy(d + i, near, nn);
	t0 = vec_seconds();
	got = scan_blocks(d, n, 0, &rc, NULL);
	t1 = vec_seconds() - t0;
	ok(rc == 0 && json_array_size(got) == 0, "4 MiB of near misses: nothing (%.2f s)", t1);
	json_decref(got);
	memset(d, '\n', n);
	got = scan_blocks(d, n, 0, &rc, NULL);
	ok(rc == 0 && json_array_size(got) == 0, "4 MiB of newlines: nothing");
	json_decref(got);
	free(d);
}

/* ~200 MB of text resembling source and configuration, three keys planted
 * at known lines: they are found, and the throughput is printed. */
static void test_throughput(void)
{
	const char *env = getenv("SECRETS_BENCH_MB");
	size_t mb = env ? (size_t)atoi(env) : 200;
	size_t n = mb << 20;
	if (n < (1u << 20))
		n = 1u << 20;
	static const char *const lines[] = {
		"def connect(host, port=5432, user=None, password=None):\n",
		"    # the password is read from the environment, never stored here\n",
		"    token = request.headers.get('Authorization', '')\n",
		"export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n",
		"{\"name\": \"left-pad\", \"version\": \"1.3.0\", \"license\": \"WTFPL\"}\n",
		"Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod.\n",
		"  - key: AKIA_NOT_A_KEY, secret: see vault, api: https://api.example.com/v1\n",
		"static int parse_header(const char *buf, size_t len, struct header *h);\n",
	};
	char *d = malloc(n + 256);
	size_t o = 0, line = 1, nl = sizeof(lines) / sizeof(lines[0]);
	size_t planted_at[3] = { 0 }, planted = 0;
	for (size_t i = 0; o < n; i++) {
		if (planted < 3 && o >= (planted + 1) * (n / 4)) {
			o += (size_t)sprintf(d + o, "aws_access_key_id=AKIA2E0A8F3B244C99%02zu\n", planted);
			planted_at[planted++] = line++;
			continue;
		}
		size_t l = strlen(lines[i % nl]);
		memcpy(d + o, lines[i % nl], l);
		o += l;
		line++;
	}
	int rc;
	double t0 = vec_seconds();
	json_t *got = scan_blocks(d, o, 0, &rc, NULL);
	double secs = vec_seconds() - t0;
	printf("# throughput: %.0f MB scanned in %.3f s: %.0f MB/s\n", (double)o / 1e6, secs,
	       (double)o / 1e6 / secs);
	is_int(json_array_size(got), 3, "throughput: the 3 planted keys are found");
	int lines_ok = json_array_size(got) == 3;
	for (size_t i = 0; i < json_array_size(got) && lines_ok; i++)
		lines_ok = json_integer_value(json_object_get(json_array_get(got, i), "line")) ==
			   (json_int_t)planted_at[i];
	ok(lines_ok, "throughput: at lines %zu, %zu, %zu", planted_at[0], planted_at[1], planted_at[2]);
	json_decref(got);
	free(d);
}

/* The rule database cache (secrets-cache.c) that main points into tmpdir. */
struct cache_entry {
	char name[128];
	off_t size;
};
enum cache_op { CACHE_LIST, CACHE_CUT, CACHE_REMOVE };

static int entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct cache_entry *)a)->name, ((const struct cache_entry *)b)->name);
}

/* Lists the cache's entries into out (up to max, sorted by name: readdir's
 * order is the file system's), after cutting each to half its size or
 * removing it when op says so; returns how many there are. */
static size_t cache_entries(enum cache_op op, struct cache_entry *out, size_t max)
{
	char dir[64];
	snprintf(dir, sizeof(dir), "%s/cache/strata", tmpdir);
	DIR *d = opendir(dir);
	size_t n = 0;
	struct dirent *e;
	while (d && (e = readdir(d))) {
		size_t len = strlen(e->d_name);
		if (len < 5 || strcmp(e->d_name + len - 5, ".hsdb"))
			continue;
		char path[256];
		struct stat st;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (stat(path, &st) < 0)
			continue;
		if (op == CACHE_CUT && truncate(path, st.st_size / 2) < 0)
			printf("# cannot truncate %s\n", path);
		if (op == CACHE_REMOVE && unlink(path) < 0)
			printf("# cannot remove %s\n", path);
		if (out && n < max) {
			snprintf(out[n].name, sizeof(out[n].name), "%s", e->d_name);
			out[n].size = st.st_size;
		}
		n++;
	}
	if (d)
		closedir(d);
	if (out)
		qsort(out, n < max ? n : max, sizeof(*out), entry_cmp);
	return n;
}

/* The sets built so far went through the cache: the built-in set again
 * comes from it, and a cut entry is replaced. The built-in set's own
 * entries are told from the rules files' ones by emptying the cache and
 * loading it alone; those same entries are then compared by name. */
static void test_cache(void)
{
	struct strata_error err = { 0 };
	int rc;
	ok(cache_entries(CACHE_LIST, NULL, 0) >= 2, "cache: the built-in set and the rules files' sets are stored");
	is_int(secrets_load_rules(NULL, 1, &err), 0, "cache: the built-in set again");
	json_t *got = scan_str("GITHUB_TOKEN=ghp_1a2B3c2D5e6F7g8H9i0J1k2L3m4N5o6P7q8R\n", &rc);
	is_int(json_array_size(got), 1, "cache: a set loaded from the cache finds");
	json_decref(got);

	struct cache_entry before[8], cut[8], after[8];
	cache_entries(CACHE_REMOVE, NULL, 0);
	is_int(secrets_load_rules(NULL, 1, &err), 0, "cache: the built-in set, the cache emptied");
	size_t n = cache_entries(CACHE_LIST, before, 8);
	ok(n >= 1 && n <= 8, "cache: the built-in set's entries are stored again (%zu)", n);
	cache_entries(CACHE_CUT, NULL, 0);
	size_t ncut = cache_entries(CACHE_LIST, cut, 8);
	int all_cut = ncut == n;
	for (size_t i = 0; i < n && i < ncut && all_cut; i++)
		all_cut = !strcmp(cut[i].name, before[i].name) && cut[i].size == before[i].size / 2;
	ok(all_cut, "cache: the entries are cut to half their size");
	is_int(secrets_load_rules(NULL, 1, &err), 0, "cache: the built-in set, its entries cut short");
	got = scan_str("GITHUB_TOKEN=ghp_1a2B3c2D5e6F7g8H9i0J1k2L3m4N5o6P7q8R\n", &rc);
	is_int(json_array_size(got), 1, "cache: a set compiled past a bad entry finds");
	json_decref(got);
	size_t nafter = cache_entries(CACHE_LIST, after, 8);
	int same = nafter == n && n >= 1;
	for (size_t i = 0; i < n && same; i++)
		same = !strcmp(after[i].name, before[i].name) && after[i].size == before[i].size;
	ok(same, "cache: the bad entry is replaced (%.20s...: %lld, cut %lld, now %lld bytes)",
	   n ? before[0].name : "none", n ? (long long)before[0].size : 0LL, ncut ? (long long)cut[0].size : 0LL,
	   nafter ? (long long)after[0].size : 0LL);
}

int main(void)
{
	srcdir = getenv("TEST_SRCDIR") ? getenv("TEST_SRCDIR") : "tests";
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 99;
	}
	/* The rule database cache goes with the rest, not into $HOME. */
	char cache[64];
	snprintf(cache, sizeof(cache), "%s/cache", tmpdir);
	setenv("XDG_CACHE_HOME", cache, 1);
	unsetenv("STRATA_NO_HSDB_CACHE");
	ok(analyzer_secrets.patterns == NULL && analyzer_secrets.version >= 1 &&
	   !strcmp(analyzer_secrets.name, "secrets"), "analyzer: secrets, every regular file");
	ok(analyzer_secrets.config_id && analyzer_secrets.config_id() == secrets_ruleset_id(),
	   "analyzer: the rule set id is its config id");
	test_planted();
	test_decoys();
	test_binary();
	test_file_boundary();
	test_size_limit();
	test_cap_and_masks();
	test_rules_files();
	test_threads();
	test_hostile();
	test_throughput();
	test_cache();
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", tmpdir);
	return tap_done();
}
