/* test-rpm: the rpm analyzer against the peers' vectors (all three database
 * formats), hostile headers and containers, and, where rpm is installed, a
 * database that rpm itself wrote. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "analyzers/analyzer.h"
#include "src/base/buf.h"
#include "analyzers/rpm.h"
#include "analyzers/rpmdb.h"
#include "tap.h"

static const char *srcdir;

static void die(const char *what)
{
	perror(what);
	exit(99);
}

static void read_file(const char *path, struct buf *b)
{
	FILE *f = fopen(path, "rb");
	char chunk[65536];
	size_t n;
	if (!f)
		die(path);
	buf_reset(b);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (buf_add(b, chunk, n) < 0)
			die("buf_add");
	fclose(f);
}

static const char *str_of(json_t *rec, const char *key)
{
	const char *s = json_string_value(json_object_get(rec, key));
	return s ? s : "";
}

/* The vectors' row: name, EPOCHNUM:VERSION-RELEASE (epoch 0 when absent),
 * arch, sourcerpm. */
static char *row_of(json_t *rec)
{
	json_t *e = json_object_get(rec, "epoch");
	char *row;
	if (asprintf(&row, "%s\t%lld:%s-%s\t%s\t%s", str_of(rec, "name"),
		     e ? (long long)json_integer_value(e) : 0LL, str_of(rec, "rpm_version"),
		     str_of(rec, "release"), str_of(rec, "arch"), str_of(rec, "sourcerpm")) < 0)
		die("asprintf");
	return row;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Compares two lists of rows as multisets; frees both. */
static void same_rows(char **got, size_t ngot, char **want, size_t nwant, const char *what)
{
	qsort(got, ngot, sizeof(*got), cmp_str);
	qsort(want, nwant, sizeof(*want), cmp_str);
	is_int(ngot, nwant, "%s: row count", what);
	size_t i = 0;
	while (i < ngot && i < nwant && !strcmp(got[i], want[i]))
		i++;
	if (!ok(i == ngot && i == nwant, "%s: rows as a set", what))
		printf("#   first difference: got '%s', want '%s'\n", i < ngot ? got[i] : "(none)",
		       i < nwant ? want[i] : "(none)");
	for (i = 0; i < ngot; i++)
		free(got[i]);
	for (i = 0; i < nwant; i++)
		free(want[i]);
	free(got);
	free(want);
}

/* Splits text into lines (the first skipped when skip_header). */
static char **lines_of(const char *text, int skip_header, size_t *n)
{
	char **v = NULL;
	size_t cap = 0;
	const char *p = text;
	*n = 0;
	if (skip_header) {
		p = strchr(p, '\n');
		p = p ? p + 1 : "";
	}
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		if (*n == cap) {
			cap = cap ? cap * 2 : 64;
			v = realloc(v, cap * sizeof(*v));
			if (!v)
				die("realloc");
		}
		v[(*n)++] = strndup(p, len);
		p = nl ? nl + 1 : p + len;
	}
	return v;
}

static char **rows_of(json_t *arr, size_t *n)
{
	char **v = calloc(json_array_size(arr) + 1, sizeof(*v));
	if (!v)
		die("calloc");
	*n = json_array_size(arr);
	for (size_t i = 0; i < *n; i++)
		v[i] = row_of(json_array_get(arr, i));
	return v;
}

/* Every record: type rpm, a name, and "version" consistent with its parts. */
static int records_well_formed(json_t *arr)
{
	size_t i;
	json_t *rec;
	json_array_foreach(arr, i, rec) {
		char want[4096];
		json_t *e = json_object_get(rec, "epoch");
		if (e)
			snprintf(want, sizeof(want), "%lld:%s-%s", (long long)json_integer_value(e),
				 str_of(rec, "rpm_version"), str_of(rec, "release"));
		else
			snprintf(want, sizeof(want), "%s-%s", str_of(rec, "rpm_version"),
				 str_of(rec, "release"));
		if (strcmp(str_of(rec, "type"), "rpm") || !*str_of(rec, "name") ||
		    strcmp(str_of(rec, "version"), want) || !strcmp(str_of(rec, "name"), "gpg-pubkey")) {
			printf("#   bad record %zu: %s\n", i, str_of(rec, "name"));
			return 0;
		}
	}
	return 1;
}

/* --- the vectors ------------------------------------------------------------ */

static char *vectors[64];
static size_t nvectors;

static int find_vector(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	size_t len = strlen(path), sl = strlen(".expected.tsv");
	if (type == FTW_F && len > sl && !strcmp(path + len - sl, ".expected.tsv") &&
	    nvectors < sizeof(vectors) / sizeof(vectors[0]))
		vectors[nvectors++] = strndup(path, len - sl);
	return 0;
}

static void test_vector(const char *input)
{
	struct buf data = BUF_INIT, expected = BUF_INIT;
	struct strata_error err = STRATA_ERROR_INIT;
	char exp_path[4096];
	json_t *out = json_array();
	const char *name = input + strlen(srcdir) + 1;
	size_t ngot, nwant;

	snprintf(exp_path, sizeof(exp_path), "%s.expected.tsv", input);
	read_file(input, &data);
	read_file(exp_path, &expected);
	is_int(rpmdb_parse(data.data, data.len, out, &err), 0, "%s: parses (%s)", name, err.msg);
	ok(records_well_formed(out), "%s: records well formed", name);
	char **got = rows_of(out, &ngot);
	char **want = lines_of(expected.data, 1, &nwant);
	ok(nwant > 0, "%s: expects %zu packages", name, nwant);
	same_rows(got, ngot, want, nwant, name);

	/* The same through the analyzer, reading the file by its fd. */
	struct analyzer_limits limits;
	analyzer_limits_default(&limits);
	int fd = open(input, O_RDONLY);
	if (fd < 0)
		die(input);
	struct analyzer_file f = { .fd = fd, .path = "/var/lib/rpm/Packages",
				   .size = data.len, .limits = &limits };
	json_t *out2 = json_array();
	struct strata_error err2 = STRATA_ERROR_INIT;
	is_int(analyzer_rpm.scan(&f, out2, &err2), 0, "%s: scan (%s)", name, err2.msg);
	ok(json_equal(out, out2), "%s: scan gives the same records", name);
	limits.max_file_size = data.len - 1;
	json_array_clear(out2);
	error_clear(&err2);
	is_int(analyzer_rpm.scan(&f, out2, &err2), -EFBIG, "%s: scan honours max_file_size", name);
	close(fd);
	json_decref(out2);
	json_decref(out);
	buf_release(&data);
	buf_release(&expected);
}

static void test_vectors(void)
{
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s/vectors/rpm", srcdir);
	if (nftw(dir, find_vector, 8, FTW_PHYS) < 0)
		die(dir);
	ok(nvectors >= 3, "found %zu rpm vectors in %s", nvectors, dir);
	for (size_t i = 0; i < nvectors; i++)
		test_vector(vectors[i]);
}

static void test_analyzer(void)
{
	static const char *const claimed[] = {
		"/var/lib/rpm/Packages", "/var/lib/rpm/rpmdb.sqlite",
		"/usr/lib/sysimage/rpm/rpmdb.sqlite", "/usr/lib/sysimage/rpm/Packages.db",
		"/usr/share/rpm/Packages", NULL,
	};
	static const char *const unclaimed[] = {
		"/var/lib/rpm/Name", "/var/lib/rpm/rpmdb.sqlite-wal", "/var/lib/rpm/__db.001",
		"/home/x/var/lib/rpm/Packages", "/var/lib/dpkg/status", NULL,
	};
	is_str(analyzer_rpm.name, "rpm", "analyzer name");
	is_int(analyzer_rpm.version, 4, "analyzer version");
	ok(!analyzer_rpm.keyed_by_name, "records depend on content only");
	for (size_t i = 0; claimed[i]; i++) {
		int hit = 0;
		for (size_t j = 0; analyzer_rpm.patterns[j]; j++)
			hit |= !fnmatch(analyzer_rpm.patterns[j], claimed[i], 0);
		ok(hit, "claims %s", claimed[i]);
	}
	for (size_t i = 0; unclaimed[i]; i++) {
		int hit = 0;
		for (size_t j = 0; analyzer_rpm.patterns[j]; j++)
			hit |= !fnmatch(analyzer_rpm.patterns[j], unclaimed[i], 0);
		ok(!hit, "does not claim %s", unclaimed[i]);
	}
}

/* --- headers ---------------------------------------------------------------- */

struct blobs {
	struct buf b[64];
	size_t n;
};

static int keep_blob(const void *blob, size_t len, void *arg)
{
	struct blobs *bl = arg;
	if (bl->n < 64) {
		buf_init(&bl->b[bl->n], 0);
		if (buf_add(&bl->b[bl->n++], blob, len) < 0)
			die("buf_add");
	}
	return 0;
}

static void blobs_release(struct blobs *bl)
{
	for (size_t i = 0; i < bl->n; i++)
		buf_release(&bl->b[i]);
	bl->n = 0;
}

/* Header entry for make_header; offset UINT32_MAX = where the data lands. */
struct hent {
	uint32_t tag, type, count, offset;
	const char *data;
	size_t len;
};

static void put_be32(struct buf *b, uint32_t v)
{
	uint8_t x[4] = { v >> 24, v >> 16, v >> 8, v };
	buf_add(b, x, 4);
}

static void make_header(struct buf *out, const struct hent *e, size_t n)
{
	struct buf store = BUF_INIT;
	buf_reset(out);
	put_be32(out, (uint32_t)n);
	uint32_t offs[16];
	for (size_t i = 0; i < n; i++) {
		offs[i] = e[i].offset != UINT32_MAX ? e[i].offset : (uint32_t)store.len;
		buf_add(&store, e[i].data, e[i].len);
	}
	put_be32(out, (uint32_t)store.len);
	for (size_t i = 0; i < n; i++) {
		put_be32(out, e[i].tag);
		put_be32(out, e[i].type);
		put_be32(out, offs[i]);
		put_be32(out, e[i].count);
	}
	buf_add(out, store.data, store.len);
	buf_release(&store);
}

#define STR(tag, s) { tag, 6, 1, UINT32_MAX, s, sizeof(s) }
#define EPOCH(v) { 1003, 4, 1, UINT32_MAX, (const char[]){ 0, 0, 0, v }, 4 }

static int parse_fails(const void *blob, size_t len, const char *what)
{
	struct strata_error err = STRATA_ERROR_INIT;
	json_t *rec = (json_t *)1;
	int r = rpm_header_parse(blob, len, &rec, &err);
	int pass = r < 0 && rec == NULL && err.msg[0];
	ok(pass, "%s: refused (%s)", what, err.msg);
	return pass;
}

static void test_headers(void)
{
	struct buf h = BUF_INIT, data = BUF_INIT;
	struct strata_error err = STRATA_ERROR_INIT;
	struct blobs bl = { .n = 0 };
	json_t *rec;
	char path[4096], what[128];

	/* A made-up header with an epoch and every field. */
	{
		struct hent e[] = {
			STR(1000, "foo"), STR(1001, "1.0"), STR(1002, "2.fc40"), EPOCH(3),
			STR(1011, "Vendor"), STR(1014, "MIT"), STR(1022, "x86_64"),
			STR(1044, "foo-1.0-2.fc40.src.rpm"), STR(1004, "a summary"),
		};
		make_header(&h, e, sizeof(e) / sizeof(e[0]));
		is_int(rpm_header_parse(h.data, h.len, &rec, &err), 0, "made-up header parses (%s)",
		       err.msg);
		is_str(str_of(rec, "version"), "3:1.0-2.fc40", "version carries the epoch");
		is_int(json_integer_value(json_object_get(rec, "epoch")), 3, "epoch is an integer");
		is_str(str_of(rec, "rpm_version"), "1.0", "rpm_version");
		is_str(str_of(rec, "release"), "2.fc40", "release");
		is_str(str_of(rec, "arch"), "x86_64", "arch");
		is_str(str_of(rec, "sourcerpm"), "foo-1.0-2.fc40.src.rpm", "sourcerpm");
		is_str(str_of(rec, "license"), "MIT", "license");
		is_str(str_of(rec, "vendor"), "Vendor", "vendor");
		is_str(str_of(rec, "type"), "rpm", "type");
		json_decref(rec);

		for (size_t cut = 0; cut < h.len; cut += cut < 24 ? 1 : 7) {
			snprintf(what, sizeof(what), "made-up header cut to %zu bytes", cut);
			parse_fails(h.data, cut, what);
		}
	}
	/* No epoch: no "epoch" key and no "0:" in the version. */
	{
		struct hent e[] = { STR(1000, "bar"), STR(1001, "2"), STR(1002, "1") };
		make_header(&h, e, 3);
		is_int(rpm_header_parse(h.data, h.len, &rec, &err), 0, "header without epoch parses");
		is_str(str_of(rec, "version"), "2-1", "version without epoch");
		ok(!json_object_get(rec, "epoch"), "no epoch key");
		ok(!json_object_get(rec, "vendor"), "no vendor key when the header has none");
		json_decref(rec);
	}
	/* Invalid UTF-8 in a string: the record stays valid JSON. */
	{
		struct hent e[] = { STR(1000, "na\xffme"), STR(1001, "1"), STR(1002, "1"),
				    STR(1011, "\xc3\x28 vendor") };
		make_header(&h, e, 4);
		is_int(rpm_header_parse(h.data, h.len, &rec, &err), 0, "invalid UTF-8 parses");
		char *dump = json_dumps(rec, 0);
		json_t *again = dump ? json_loads(dump, 0, NULL) : NULL;
		ok(again && json_equal(again, rec), "record dumps to valid JSON and back");
		json_decref(again);
		ok(strlen(str_of(rec, "name")) == 5, "name kept, bad byte replaced ('%s')",
		   str_of(rec, "name"));
		free(dump);
		json_decref(rec);
	}
	/* Hostile headers. */
	{
		static const uint8_t huge[][8] = {
			{ 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff },
			{ 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10 }, /* il*16 wraps 32 bits */
			{ 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00 }, /* 65536 tags */
			{ 0x00, 0x00, 0x00, 0x01, 0x0f, 0xff, 0xff, 0xff }, /* data past the end */
			{ 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00 }, /* no tags */
		};
		uint8_t big[256];
		for (size_t i = 0; i < sizeof(huge) / sizeof(huge[0]); i++) {
			memset(big, 0, sizeof(big));
			memcpy(big, huge[i], 8);
			snprintf(what, sizeof(what), "index count/data length case %zu", i);
			parse_fails(big, sizeof(big), what);
		}
		struct hent past[] = { STR(1000, "foo"), { 1001, 6, 1, 9999, "1", 2 } };
		make_header(&h, past, 2);
		parse_fails(h.data, h.len, "offset past the data store");
		struct hent past2[] = { STR(1000, "foo"), { 1234, 6, 1, 9999, "1", 2 } };
		make_header(&h, past2, 2);
		parse_fails(h.data, h.len, "offset past the end in an unused tag");
		struct hent nonul[] = { STR(1001, "1"), { 1000, 6, 1, UINT32_MAX, "foo", 3 } };
		make_header(&h, nonul, 2);
		parse_fails(h.data, h.len, "name without a terminating NUL");
		struct hent ep[] = { STR(1000, "foo"), { 1003, 4, 1, UINT32_MAX, "\0\0", 2 } };
		make_header(&h, ep, 2);
		parse_fails(h.data, h.len, "epoch running past the end");
		struct hent ept[] = { STR(1000, "foo"), { 1003, 6, 1, UINT32_MAX, "3", 2 } };
		make_header(&h, ept, 2);
		parse_fails(h.data, h.len, "epoch of string type");
		struct hent nt[] = { { 1000, 4, 1, UINT32_MAX, "\0\0\0\1", 4 } };
		make_header(&h, nt, 1);
		parse_fails(h.data, h.len, "name of integer type");
		struct hent noname[] = { STR(1001, "1"), STR(1002, "2") };
		make_header(&h, noname, 2);
		parse_fails(h.data, h.len, "no name");
		struct hent badtype[] = { STR(1000, "foo"), { 1005, 77, 1, 0, "", 0 } };
		make_header(&h, badtype, 2);
		parse_fails(h.data, h.len, "unknown entry type");
	}
	/* Real headers (from the NDB vector) cut short. */
	snprintf(path, sizeof(path), "%s/vectors/rpm/sle15-bci/Packages.db", srcdir);
	read_file(path, &data);
	is_int(rpmdb_foreach(data.data, data.len, keep_blob, &bl, &err), 0, "blobs of the ndb vector");
	ok(bl.n == 35, "35 blobs, got %zu", bl.n);
	for (size_t i = 0; i < bl.n && i < 4; i++) {
		struct buf *b = &bl.b[i];
		is_int(rpm_header_parse(b->data, b->len, &rec, &err), 0, "real header %zu parses", i);
		json_decref(rec);
		size_t cuts[] = { 0, 4, 8, 16, 17, b->len / 3, b->len / 2, b->len - 1 };
		for (size_t c = 0; c < sizeof(cuts) / sizeof(cuts[0]); c++) {
			snprintf(what, sizeof(what), "real header %zu cut to %zu of %zu bytes", i,
				 cuts[c], b->len);
			parse_fails(b->data, cuts[c], what);
		}
	}
	blobs_release(&bl);
	buf_release(&data);
	buf_release(&h);
}

/* --- containers ------------------------------------------------------------- */

static uint32_t le32_at(const char *p)
{
	const uint8_t *u = (const uint8_t *)p;
	return u[0] | u[1] << 8 | u[2] << 16 | (uint32_t)u[3] << 24;
}

static void set_le32(char *p, uint32_t v)
{
	uint8_t *u = (uint8_t *)p;
	u[0] = v;
	u[1] = v >> 8;
	u[2] = v >> 16;
	u[3] = v >> 24;
}

/* Runs rpmdb_parse on data; returns its result, the count in *n. */
static int parse_db(const void *data, size_t len, size_t *n, char *msg, size_t msglen)
{
	struct strata_error err = STRATA_ERROR_INIT;
	json_t *out = json_array();
	int r = rpmdb_parse(data, len, out, &err);
	*n = json_array_size(out);
	if (r < 0 && !err.msg[0])
		r = -9999; /* an error must say why */
	if (!records_well_formed(out))
		r = -9998;
	snprintf(msg, msglen, "%s", err.msg);
	json_decref(out);
	return r;
}

static void swap16(char *p)
{
	char t = p[0];
	p[0] = p[1];
	p[1] = t;
}

static void swap32(char *p)
{
	swap16(p);
	swap16(p + 2);
	char t[2] = { p[0], p[1] };
	p[0] = p[2];
	p[1] = p[3];
	p[2] = t[0];
	p[3] = t[1];
}

/* Rewrites a little-endian hash database of page size ps as a big-endian
 * machine would have written it: every number the reader uses, swapped. */
static void to_big_endian(char *db, size_t len, uint32_t ps)
{
	for (size_t o = 8; o < 52; o += 4)
		if (o != 24)
			swap32(db + o);
	for (size_t pg = 1; pg < len / ps; pg++) {
		char *p = db + pg * ps;
		uint32_t entries = (uint8_t)p[20] | (uint8_t)p[21] << 8;
		swap32(p + 8);
		swap32(p + 12);
		swap32(p + 16);
		swap16(p + 20);
		swap16(p + 22);
		if ((uint8_t)p[25] != 13 && (uint8_t)p[25] != 2)
			continue;
		for (uint32_t i = 0; i < entries; i++) {
			uint32_t off = (uint8_t)p[26 + 2 * i] | (uint8_t)p[27 + 2 * i] << 8;
			swap16(p + 26 + 2 * i);
			if (i % 2 && p[off] == 3) {
				swap32(p + off + 4);
				swap32(p + off + 8);
			}
		}
	}
}

static void test_bdb(void)
{
	struct buf orig = BUF_INIT, d = BUF_INIT;
	char path[4096], msg[1100], what[128];
	size_t n;
	const uint32_t ps = 4096;

	snprintf(path, sizeof(path), "%s/vectors/rpm/libuuid/Packages", srcdir);
	read_file(path, &orig);
	/* Find the one off-page item and its overflow chain. */
	uint32_t hashpg = 0, valoff = 0, chain[64], nchain = 0;
	for (uint32_t pg = 1; pg < orig.len / ps && !hashpg; pg++) {
		const char *p = orig.data + (size_t)pg * ps;
		uint32_t entries = (uint8_t)p[20] | (uint8_t)p[21] << 8;
		if ((uint8_t)p[25] != 13)
			continue;
		for (uint32_t i = 1; i < entries; i += 2) {
			uint32_t off = (uint8_t)p[26 + 2 * i] | (uint8_t)p[27 + 2 * i] << 8;
			if (p[off] == 3) {
				hashpg = pg;
				valoff = off;
			}
		}
	}
	ok(hashpg > 0, "found the off-page item on hash page %u", hashpg);
	if (!hashpg)
		return;
	for (uint32_t pg = le32_at(orig.data + (size_t)hashpg * ps + valoff + 4); pg && nchain < 64;
	     pg = le32_at(orig.data + (size_t)pg * ps + 16))
		chain[nchain++] = pg;
	ok(nchain >= 2, "its overflow chain has %u pages", nchain);

	buf_reset(&d);
	buf_add(&d, orig.data, orig.len);
	set_le32(d.data + (size_t)chain[nchain - 1] * ps + 16, chain[0]);
	ok(parse_db(d.data, d.len, &n, msg, sizeof(msg)) < 0 && n == 0,
	   "overflow chain looping back to its start: error (%s)", msg);

	buf_reset(&d);
	buf_add(&d, orig.data, orig.len);
	set_le32(d.data + (size_t)chain[0] * ps + 16, chain[0]);
	ok(parse_db(d.data, d.len, &n, msg, sizeof(msg)) < 0 && n == 0,
	   "overflow page pointing at itself: error (%s)", msg);

	buf_reset(&d);
	buf_add(&d, orig.data, orig.len);
	set_le32(d.data + (size_t)chain[1] * ps + 16, 0x7fffffff);
	ok(parse_db(d.data, d.len, &n, msg, sizeof(msg)) < 0 && n == 0,
	   "overflow page past the end: error (%s)", msg);

	buf_reset(&d);
	buf_add(&d, orig.data, orig.len);
	set_le32(d.data + (size_t)hashpg * ps + valoff + 8, 0xffffffff);
	ok(parse_db(d.data, d.len, &n, msg, sizeof(msg)) < 0 && n == 0,
	   "item length larger than its chain: error (%s)", msg);

	buf_reset(&d);
	buf_add(&d, orig.data, orig.len);
	d.data[(size_t)chain[1] * ps + 25] = 13;
	ok(parse_db(d.data, d.len, &n, msg, sizeof(msg)) < 0 && n == 0,
	   "chain through a non-overflow page: error (%s)", msg);

	buf_reset(&d);
	buf_add(&d, orig.data, orig.len);
	d.data[(size_t)hashpg * ps + 20] = (char)0xff;
	d.data[(size_t)hashpg * ps + 21] = (char)0x7f;
	ok(parse_db(d.data, d.len, &n, msg, sizeof(msg)) < 0 && n == 0,
	   "hash page with a huge entry count: error (%s)", msg);

	buf_reset(&d);
	buf_add(&d, orig.data, orig.len);
	set_le32(d.data + 20, 1000);
	ok(parse_db(d.data, d.len, &n, msg, sizeof(msg)) < 0, "bad page size: error (%s)", msg);

	buf_reset(&d);
	buf_add(&d, orig.data, orig.len);
	set_le32(d.data + 32, 0xffffffff);
	ok(parse_db(d.data, d.len, &n, msg, sizeof(msg)) < 0 && n == 1,
	   "last page number past the end: error, package still read (%s)", msg);

	/* The same database as a big-endian machine writes it. */
	buf_reset(&d);
	buf_add(&d, orig.data, orig.len);
	to_big_endian(d.data, d.len, ps);
	ok(rpmdb_detect(d.data, d.len) == RPMDB_BDB, "big-endian berkeley db detected");
	json_t *le = json_array(), *be = json_array();
	struct strata_error err = STRATA_ERROR_INIT;
	is_int(rpmdb_parse(orig.data, orig.len, le, &err), 0, "little-endian original parses");
	is_int(rpmdb_parse(d.data, d.len, be, &err), 0, "big-endian copy parses (%s)", err.msg);
	ok(json_array_size(be) == 1 && json_equal(le, be), "big-endian copy gives the same record");
	json_decref(le);
	json_decref(be);

	for (size_t cut = 0; cut < orig.len; cut += cut < 4096 ? 509 : 4096) {
		int r = parse_db(orig.data, cut, &n, msg, sizeof(msg));
		snprintf(what, sizeof(what), "berkeley db cut to %zu bytes", cut);
		ok(r < 0 && r > -9000 && n <= 1, "%s: error (%s)", what, msg);
	}
	buf_release(&d);
	buf_release(&orig);
}

static void test_ndb(void)
{
	struct buf orig = BUF_INIT, d = BUF_INIT;
	char path[4096], msg[1100], what[128];
	size_t n;

	snprintf(path, sizeof(path), "%s/vectors/rpm/sle15-bci/Packages.db", srcdir);
	read_file(path, &orig);
	/* Slot 2 (the first after the file header) and its blob. */
	uint32_t blkoff = le32_at(orig.data + 32 + 8), blkcnt = le32_at(orig.data + 32 + 12);
	ok(blkoff && blkcnt, "first slot: block %u, %u blocks", blkoff, blkcnt);

	buf_reset(&d);
	buf_add(&d, orig.data, orig.len);
	d.data[(size_t)blkoff * 16 + 40] ^= 1;
	ok(parse_db(d.data, d.len, &n, msg, sizeof(msg)) < 0 && n == 34 && strstr(msg, "checksum"),
	   "one flipped bit: that package refused, 34 read (%s)", msg);

	buf_reset(&d);
	buf_add(&d, orig.data, orig.len);
	set_le32(d.data + 32 + 12, 0xfffffff0);
	ok(parse_db(d.data, d.len, &n, msg, sizeof(msg)) < 0 && n == 34,
	   "slot running past the end: refused, 34 read (%s)", msg);

	buf_reset(&d);
	buf_add(&d, orig.data, orig.len);
	set_le32(d.data + 32 + 8, 1);
	ok(parse_db(d.data, d.len, &n, msg, sizeof(msg)) < 0 && n == 34,
	   "slot pointing into the slot pages: refused, 34 read (%s)", msg);

	buf_reset(&d);
	buf_add(&d, orig.data, orig.len);
	set_le32(d.data + (size_t)blkoff * 16 + 12, 5);
	ok(parse_db(d.data, d.len, &n, msg, sizeof(msg)) < 0 && n == 34,
	   "blob length not matching its blocks: refused (%s)", msg);

	buf_reset(&d);
	buf_add(&d, orig.data, orig.len);
	d.data[48] = 'X';
	ok(parse_db(d.data, d.len, &n, msg, sizeof(msg)) < 0, "bad slot magic: error (%s)", msg);

	buf_reset(&d);
	buf_add(&d, orig.data, orig.len);
	set_le32(d.data + 12, 0x00100000);
	ok(parse_db(d.data, d.len, &n, msg, sizeof(msg)) < 0 && n == 0,
	   "slot pages past the end: error (%s)", msg);

	/* Every slot pointing at the same (largest) blob: refused as overlap
	 * once the blocks add up to more than the file, not checksummed 4000
	 * times. */
	buf_reset(&d);
	buf_add(&d, orig.data, orig.len);
	uint32_t big = 0, bigoff = 0;
	for (size_t o = 32; o < 4096; o += 16)
		if (le32_at(d.data + o + 8) && le32_at(d.data + o + 12) > big) {
			big = le32_at(d.data + o + 12);
			bigoff = le32_at(d.data + o + 8);
		}
	for (size_t o = 32; o < 4096; o += 16) {
		set_le32(d.data + o + 4, le32_at(d.data + (size_t)bigoff * 16 + 4));
		set_le32(d.data + o + 8, bigoff);
		set_le32(d.data + o + 12, big);
	}
	int r = parse_db(d.data, d.len, &n, msg, sizeof(msg));
	ok(r < 0 && strstr(msg, "overlap"), "slots sharing one blob: error after %zu (%s)", n, msg);

	for (size_t cut = 0; cut < orig.len; cut = cut * 2 + 13) {
		r = parse_db(orig.data, cut, &n, msg, sizeof(msg));
		snprintf(what, sizeof(what), "ndb cut to %zu bytes", cut);
		ok(r < 0 && r > -9000 && n < 35, "%s: error, %zu read (%s)", what, n, msg);
	}
	buf_release(&d);
	buf_release(&orig);
}

/* Serializes a database built by the SQL in sql (NULL-separated). */
static void make_sqlite(struct buf *out, const char *const *sql, const struct buf *blob)
{
	sqlite3 *db;
	sqlite3_int64 size;
	if (sqlite3_open(":memory:", &db) != SQLITE_OK)
		die("sqlite3_open");
	for (size_t i = 0; sql[i]; i++) {
		sqlite3_stmt *st;
		if (sqlite3_prepare_v2(db, sql[i], -1, &st, NULL) != SQLITE_OK) {
			fprintf(stderr, "%s: %s\n", sql[i], sqlite3_errmsg(db));
			exit(99);
		}
		if (blob && sqlite3_bind_parameter_count(st))
			sqlite3_bind_blob(st, 1, blob->data, (int)blob->len, SQLITE_TRANSIENT);
		if (sqlite3_step(st) != SQLITE_DONE) {
			fprintf(stderr, "%s: %s\n", sql[i], sqlite3_errmsg(db));
			exit(99);
		}
		sqlite3_finalize(st);
	}
	unsigned char *img = sqlite3_serialize(db, "main", &size, 0);
	if (!img)
		die("sqlite3_serialize");
	buf_reset(out);
	buf_add(out, img, (size_t)size);
	sqlite3_free(img);
	sqlite3_close(db);
}

static void test_sqlite(void)
{
	struct buf orig = BUF_INIT, d = BUF_INIT, hdr = BUF_INIT;
	struct blobs bl = { .n = 0 };
	struct strata_error err = STRATA_ERROR_INIT;
	char path[4096], msg[1100], what[128];
	size_t n;

	snprintf(path, sizeof(path), "%s/vectors/rpm/sle15-bci/Packages.db", srcdir);
	read_file(path, &d);
	rpmdb_foreach(d.data, d.len, keep_blob, &bl, &err);
	buf_add(&hdr, bl.b[0].data, bl.b[0].len);
	blobs_release(&bl);

	static const char *const other[] = { "CREATE TABLE t(x)", "INSERT INTO t VALUES (1)", NULL };
	make_sqlite(&d, other, NULL);
	ok(parse_db(d.data, d.len, &n, msg, sizeof(msg)) < 0 && strstr(msg, "Packages"),
	   "sqlite file that is not an rpmdb: error (%s)", msg);

	static const char *const good[] = {
		"CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL)",
		"INSERT INTO Packages (blob) VALUES (?)", "INSERT INTO Packages (blob) VALUES (x'00')",
		"INSERT INTO Packages (blob) VALUES (?)", NULL,
	};
	make_sqlite(&d, good, &hdr);
	ok(parse_db(d.data, d.len, &n, msg, sizeof(msg)) < 0 && n == 2 && strstr(msg, "package 2"),
	   "one bad blob among good ones: error, both good read (%s)", msg);

	static const char *const view[] = {
		"CREATE TABLE real (blob BLOB)", "INSERT INTO real VALUES (?)",
		"CREATE VIEW Packages AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "
		"SELECT blob FROM real, c",
		NULL,
	};
	make_sqlite(&d, view, &hdr);
	ok(parse_db(d.data, d.len, &n, msg, sizeof(msg)) < 0 && n == 0,
	   "Packages as an endless view: error (%s)", msg);

	static const char *const gen[] = {
		"CREATE TABLE Packages (hnum INTEGER PRIMARY KEY, "
		"blob BLOB AS (zeroblob(100000000)))",
		"INSERT INTO Packages (hnum) VALUES (1)", NULL,
	};
	make_sqlite(&d, gen, NULL);
	ok(parse_db(d.data, d.len, &n, msg, sizeof(msg)) < 0 && n == 0,
	   "Packages with a generated blob column: error (%s)", msg);

	static const char *const nocol[] = { "CREATE TABLE Packages (hnum INTEGER, data BLOB)", NULL };
	make_sqlite(&d, nocol, NULL);
	ok(parse_db(d.data, d.len, &n, msg, sizeof(msg)) < 0, "Packages without blob: error (%s)",
	   msg);

	snprintf(path, sizeof(path), "%s/vectors/rpm/cbl-mariner-2.0/rpmdb.sqlite", srcdir);
	read_file(path, &orig);
	ok(orig.data[18] == 2, "the vector is in WAL mode, the case an in-memory open must handle");
	for (size_t cut = 0; cut < orig.len; cut = cut * 3 + 97) {
		int r = parse_db(orig.data, cut, &n, msg, sizeof(msg));
		snprintf(what, sizeof(what), "sqlite cut to %zu bytes", cut);
		ok(r < 0 && r > -9000 && n < 129, "%s: error, %zu read (%s)", what, n, msg);
	}
	buf_reset(&d);
	buf_add(&d, orig.data, orig.len);
	for (size_t o = 8192; o < d.len; o += 4096)
		memset(d.data + o + 100, 0x5a, 16);
	int r = parse_db(d.data, d.len, &n, msg, sizeof(msg));
	ok(r > -9000 && n <= 129, "scribbled-over sqlite: no crash, %zu read (%s)", n, msg);

	buf_release(&orig);
	buf_release(&d);
	buf_release(&hdr);
}

static void test_garbage(void)
{
	char msg[1100];
	size_t n;
	static const char junk[] = "this is not a database at all, just some text of some length";
	ok(parse_db("", 0, &n, msg, sizeof(msg)) < 0, "empty input: error (%s)", msg);
	ok(parse_db(junk, sizeof(junk), &n, msg, sizeof(msg)) < 0, "text: error (%s)", msg);
	ok(rpmdb_detect("SQLite format 3", 16) == RPMDB_SQLITE, "sqlite detected by content");
	ok(parse_db("SQLite format 3", 16, &n, msg, sizeof(msg)) < 0, "sqlite magic only: error (%s)",
	   msg);
	ok(parse_db("RpmP\0\0\0\0", 8, &n, msg, sizeof(msg)) < 0, "ndb magic only: error (%s)", msg);

	/* The empty file is no package and no warning for the analyzer. */
	char tmpl[] = "/tmp/test-rpm.XXXXXX";
	int fd = mkstemp(tmpl);
	if (fd < 0)
		die("mkstemp");
	unlink(tmpl);
	struct analyzer_limits limits;
	analyzer_limits_default(&limits);
	struct analyzer_file f = { .fd = fd, .path = "/var/lib/rpm/rpmdb.sqlite", .size = 0,
				   .limits = &limits };
	struct strata_error err = STRATA_ERROR_INIT;
	json_t *out = json_array();
	is_int(analyzer_rpm.scan(&f, out, &err), 0, "empty database file: no error");
	is_int(json_array_size(out), 0, "empty database file: no package");
	json_decref(out);
	close(fd);
}

/* --- rpm itself ------------------------------------------------------------- */

static int have_tool(const char *name)
{
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", name);
	return system(cmd) == 0;
}

static const char spec_a[] =
	"Name: strata-epoch\nVersion: 1.2.3\nRelease: 4.el9\nEpoch: 7\nSummary: a\n"
	"License: MIT and ASL 2.0\nVendor: Strata Test Vendor\nBuildArch: noarch\n"
	"%description\na\n%files\n";
static const char spec_b[] =
	"Name: strata-plain\nVersion: 0.9~rc1\nRelease: 1\nSummary: b\nLicense: GPL-2.0-or-later\n"
	"BuildArch: noarch\n%description\nb\n%files\n";

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (!f || fputs(text, f) < 0 || fclose(f))
		die(path);
}

/* rpm builds two packages, installs them (--justdb) into a fresh database
 * and lists them; our reading of that database must agree, epoch, license
 * and vendor included. HOME points into the scratch directory so that
 * rpm's per-user database and macros (Debian: ~/.rpmdb) stay out of it. */
static void test_real_rpm(void)
{
	if (!have_tool("rpm") || !have_tool("rpmbuild") || !have_tool("rpmdb")) {
		ok(1, "# SKIP rpm, rpmbuild or rpmdb is not installed");
		return;
	}
	char dir[] = "/tmp/test-rpm.XXXXXX", cmd[8192], path[4096];
	if (!mkdtemp(dir))
		die("mkdtemp");
	snprintf(path, sizeof(path), "%s/a.spec", dir);
	write_text(path, spec_a);
	snprintf(path, sizeof(path), "%s/b.spec", dir);
	write_text(path, spec_b);
	snprintf(cmd, sizeof(cmd),
		 "cd %s && export HOME=$PWD && "
		 "for s in a b; do rpmbuild --quiet -bb --define \"_topdir %s/top\" "
		 "--define \"_dbpath $PWD/builddb\" --define '_build_id_links none' $s.spec "
		 "|| exit 1; done >log 2>&1 && "
		 "rpmdb --initdb --dbpath %s/db >>log 2>&1 && "
		 "rpm --dbpath %s/db --define '_db_backend sqlite' --justdb --nodeps --noscripts "
		 "-i top/RPMS/noarch/*.rpm >>log 2>&1 && "
		 "rpm --dbpath %s/db -qa --qf '%%{NAME}\\t%%{EPOCHNUM}:%%{VERSION}-%%{RELEASE}"
		 "\\t%%{ARCH}\\t%%{SOURCERPM}\\t%%{EPOCH}\\t%%{LICENSE}\\t%%{VENDOR}\\n' "
		 ">expected 2>>log",
		 dir, dir, dir, dir, dir);
	int rc = system(cmd);
	snprintf(path, sizeof(path), "%s/db/rpmdb.sqlite", dir);
	if (rc != 0 || access(path, R_OK) != 0) {
		ok(1, "# SKIP rpm could not build a database here (see %s/log)", dir);
		return;
	}
	struct buf data = BUF_INIT, expected = BUF_INIT;
	struct strata_error err = STRATA_ERROR_INIT;
	json_t *out = json_array();
	read_file(path, &data);
	snprintf(path, sizeof(path), "%s/expected", dir);
	read_file(path, &expected);
	is_int(rpmdb_parse(data.data, data.len, out, &err), 0, "database written by rpm parses (%s)",
	       err.msg);
	size_t ngot = json_array_size(out), nwant;
	char **got = calloc(ngot + 1, sizeof(*got));
	for (size_t i = 0; i < ngot; i++) {
		json_t *rec = json_array_get(out, i), *e = json_object_get(rec, "epoch");
		char *base = row_of(rec), epoch[32] = "(none)";
		if (e)
			snprintf(epoch, sizeof(epoch), "%lld", (long long)json_integer_value(e));
		if (asprintf(&got[i], "%s\t%s\t%s\t%s", base, epoch,
			     json_object_get(rec, "license") ? str_of(rec, "license") : "(none)",
			     json_object_get(rec, "vendor") ? str_of(rec, "vendor") : "(none)") < 0)
			die("asprintf");
		free(base);
	}
	char **want = lines_of(expected.data, 0, &nwant);
	is_int(nwant, 2, "rpm lists the two packages it installed");
	same_rows(got, ngot, want, nwant, "database written by rpm");
	ok(records_well_formed(out), "database written by rpm: records well formed");
	json_decref(out);
	buf_release(&data);
	buf_release(&expected);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", dir);
}

int main(void)
{
	srcdir = getenv("TEST_SRCDIR");
	if (!srcdir || !*srcdir)
		srcdir = "tests";
	test_vectors();
	test_analyzer();
	test_headers();
	test_bdb();
	test_ndb();
	test_sqlite();
	test_garbage();
	test_real_rpm();
	return tap_done();
}
