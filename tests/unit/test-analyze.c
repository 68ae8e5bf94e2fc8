/* test-analyze: the files section's two spellings. A walk entry becomes a
 * jansson object (record) for the SBOM writers and is written directly
 * (write_json) by the JSON writer; the direct spelling must give exactly the
 * bytes json_dumpf gives for the object, whatever the path holds. */
#include "config.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "analyzers/analyze.h"
#include "analyzers/report.h"
#include "tap.h"

/* The bytes f writes, malloc'd and NUL-terminated; *len their count. */
struct mem {
	char *data;
	size_t len;
	FILE *f;
};

static FILE *mem_open(struct mem *m)
{
	m->data = NULL;
	m->len = 0;
	m->f = open_memstream(&m->data, &m->len);
	return m->f;
}

static char *mem_close(struct mem *m)
{
	fclose(m->f);
	return m->data;
}

static void show(const char *what, const char *s)
{
	printf("#   %s: ", what);
	for (; *s; s++)
		printf((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f ? "<%02x>" : "%c", (unsigned char)*s);
	printf("\n");
}

/* Record i both ways: 1 when the bytes agree. */
static int same_record(const struct report_files *rf, size_t i)
{
	struct mem a, b;
	json_t *rec = rf->record(rf->ctx, i);
	if (!rec || !mem_open(&a) || !mem_open(&b))
		return 0;
	int ra = json_dumpf(rec, a.f, JSON_ENCODE_ANY);
	int rb = rf->write_json(rf->ctx, i, b.f);
	char *want = mem_close(&a), *got = mem_close(&b);
	int same = ra == 0 && rb == 0 && !strcmp(want, got);
	if (!same) {
		show("want", want);
		show("got ", got);
	}
	json_decref(rec);
	free(want);
	free(got);
	return same;
}

static char *layers[] = {
	"sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef",
	"not utf-8 \xff",  /* json_string() refuses it: no "layer" member */
};

#define HEX32 "\x01\x23\x45\x67\x89\xab\xcd\xef\xfe\xdc\xba\x98\x76\x54\x32\x10"

static void test_entries(void)
{
	static const struct { const char *path, *link; uint32_t mode; } cases[] = {
		{ "/etc/passwd", NULL, S_IFREG | 0644 },
		{ "/a \"quoted\" \\back\\slash", NULL, S_IFREG | 0600 },
		{ "/ctl\x01\x02\x1f\x7f tab\there nl\nthere cr\r bs\b ff\f", NULL, S_IFREG | 0644 },
		{ "/utf8/caf\xc3\xa9/\xe6\x97\xa5\xe6\x9c\xac/\xf0\x9f\x98\x80", NULL, S_IFDIR | 0755 },
		{ "/bad/\xff\xfe latin1 caf\xe9 \x01", NULL, S_IFREG | 0644 },
		{ "/overlong/\xc0\xaf", NULL, S_IFREG | 0644 },
		{ "/surrogate/\xed\xa0\x80", NULL, S_IFREG | 0644 },
		{ "/cut/\xe6\x97", NULL, S_IFREG | 0644 },
		{ "/past/\xf4\x90\x80\x80", NULL, S_IFREG | 0644 },
		{ "/slash/a/b/", NULL, S_IFREG | 0644 },
		{ "/bin/sh", "/usr/bin/\"dash\"\t\xc3\xa9", S_IFLNK | 0777 },
		{ "/link/bad", "target \xc3\x28", S_IFLNK | 0777 },
		{ "/dev/null", NULL, S_IFCHR | 0666 },
		{ "/dev/sda", NULL, S_IFBLK | 0660 },
		{ "/run/fifo", NULL, S_IFIFO | 0600 },
		{ "/run/sock", NULL, S_IFSOCK | 0755 },
		{ "/usr/bin/su", NULL, S_IFREG | S_ISUID | 0755 },
		{ "/usr/bin/wall", NULL, S_IFREG | S_ISGID | 02755 },
		{ "/tmp", NULL, S_IFDIR | S_ISVTX | 01777 },
		{ "/both", NULL, S_IFREG | S_ISUID | S_ISGID | 06755 },
		{ "/weird", NULL, 0 },
		{ "", NULL, S_IFREG },
	};
	size_t n = sizeof(cases) / sizeof(cases[0]);
	struct walk_entry *v = calloc(n * 4, sizeof(*v));
	struct analyze_files files = { .present = 1, .walk = { v, n * 4, layers, 2 } };
	struct report_files rf;
	/* Each case four times: digests or not, layer none, good or refused. */
	for (size_t i = 0; i < n * 4; i++) {
		struct walk_entry *e = &v[i];
		e->path = (char *)cases[i % n].path;
		e->link = (char *)cases[i % n].link;
		e->mode = cases[i % n].mode;
		e->uid = i % 3 ? 0 : 4294967295u;
		e->gid = (uint32_t)i * 1000;
		e->size = i % 5 ? i * 12345 : UINT64_MAX;
		e->digests = i / n % 2;
		e->layer = (uint16_t)(i / n % 3);
		memcpy(e->sha256, HEX32 HEX32, 32);
		memcpy(e->sha1, HEX32 "\xaa\xbb\xcc\xdd", 20);
		memcpy(e->md5, HEX32, 16);
	}
	/* Owners: none, one, or two packages (one modified, one not). */
	files.owners.n = n * 4;
	files.owners.off = calloc(n * 4 + 1, sizeof(*files.owners.off));
	files.owners.pkg = calloc(n * 8, sizeof(*files.owners.pkg));
	files.owners.modified = calloc(n * 4, 1);
	for (size_t i = 0, m = 0; i < n * 4; i++) {
		for (size_t k = 0; k < i % 3; k++)
			files.owners.pkg[m++] = (uint32_t)(i * 7 + k * 4294967u);
		files.owners.off[i + 1] = (uint32_t)m;
		files.owners.modified[i] = i % 3 && i % 2;
	}
	analyze_files_iter(&files, &rf);
	ok(rf.write_json != NULL, "a fresh analysis writes its records directly");
	for (size_t i = 0; i < n * 4; i++)
		ok(same_record(&rf, i), "entry %zu (case %zu, digests %d, layer %d, owners %zu): json_dumpf's bytes", i,
		   i % n, v[i].digests, v[i].layer, i % 3);
	relate_owners_release(&files.owners);
	free(v);
}

/* Random byte strings, mostly ASCII with control bytes, UTF-8 sequences
 * (some broken) and stray high bytes: the escaper against jansson. */
static void test_random(void)
{
	static const char *const pieces[] = { "a", "/", "\"", "\\", "\n", "\t", "\x01", "\x1b", "\x7f", "\xc3\xa9",
					      "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\xc3", "\x80", "\xff", "\xed\xbf\xbf",
					      "\xef\xbf\xbf", "\xf4\x8f\xbf\xbf", "\xe0\x80\x80", " ", "~" };
	size_t npieces = sizeof(pieces) / sizeof(pieces[0]), n = 3000, bad = 0;
	struct walk_entry *v = calloc(n, sizeof(*v));
	struct analyze_files files = { .present = 1, .walk = { v, n, NULL, 0 } };
	struct report_files rf;
	unsigned seed = 12345;
	for (size_t i = 0; i < n; i++) {
		char s[200] = "/";
		size_t len = 1 + (seed = seed * 1103515245 + 12345) % 12;
		for (size_t k = 0; k < len; k++)
			strcat(s, pieces[((seed = seed * 1103515245 + 12345) >> 8) % npieces]);
		v[i].path = strdup(s);
		v[i].link = i % 2 ? strdup(s + 1) : NULL;
		v[i].mode = i % 2 ? S_IFLNK | 0777 : S_IFREG | 0644;
	}
	analyze_files_iter(&files, &rf);
	for (size_t i = 0; i < n; i++)
		if (!same_record(&rf, i) && bad++ < 5)
			ok(0, "random entry %zu: json_dumpf's bytes", i);
	ok(!bad, "%zu random paths and links written as json_dumpf writes them (%zu differ)", n, bad);
	for (size_t i = 0; i < n; i++) {
		free(v[i].path);
		free(v[i].link);
	}
	free(v);
}

/* The whole report is the same with records written directly or dumped,
 * and a write that fails is -EIO. */
static void test_report(void)
{
	struct walk_entry v[3] = {
		{ .path = "/", .mode = S_IFDIR | 0755 },
		{ .path = "/etc/h\xc3\xa9", .mode = S_IFREG | 0644, .size = 3, .digests = 1, .layer = 1 },
		{ .path = "/x", .link = "etc", .mode = S_IFLNK | 0777, .layer = 1 },
	};
	struct analyze_files files = { .present = 1, .walk = { v, 3, layers, 2 } };
	struct report_files direct, dumped;
	struct strata_error err = STRATA_ERROR_INIT;
	struct mem a, b;
	json_t *report = json_pack("{s:s, s:[], s:[{s:s}], s:{s:i}}", "schema", "strata-report/1", "files",
				   "packages", "name", "p", "stats", "entries", 3);
	analyze_files_iter(&files, &direct);
	dumped = direct;
	dumped.write_json = NULL;
	mem_open(&a);
	mem_open(&b);
	is_int(report_write_json(report, &dumped, a.f, &err), 0, "dumped records: written");
	is_int(report_write_json(report, &direct, b.f, &err), 0, "direct records: written");
	char *want = mem_close(&a), *got = mem_close(&b);
	ok(!strcmp(want, got), "the same report either way");
	if (strcmp(want, got)) {
		show("want", want);
		show("got ", got);
	}
	free(want);
	free(got);

	FILE *full = fopen("/dev/full", "w");
	if (full) {
		setvbuf(full, NULL, _IONBF, 0);
		is_int(report_write_json(report, &direct, full, &err), -EIO, "a full disk is -EIO (%s)", err.msg);
		fclose(full);
	}
	json_decref(report);
}

/* analyze_claims tries a pattern's literal head and tail before fnmatch:
 * it must agree with fnmatch alone. */
static void test_claims(void)
{
	static const char *const patterns[] = {
		"/var/lib/dpkg/info/*.list", "*/package.json", "*.[jJ][aA][rR]", "/lib/apk/db/installed",
		"a\\*b", "x[]]y", "*/site-packages/*.dist-info/METADATA", "??c*", "/d/[!a]*z", NULL,
	};
	static const char *const paths[] = {
		"/var/lib/dpkg/info/bash.list", "/var/lib/dpkg/info/.list", "/var/lib/dpkg/info/bash.lis",
		"/var/lib/dpkg/infobash.list", "/srv/app/node_modules/x/package.json", "/package.json", "package.json",
		"/a/b.JaR", "/a/b.jar.txt", ".jar", "/lib/apk/db/installed", "/lib/apk/db/installed2", "a*b", "axb",
		"x]y", "xy", "/usr/lib/python3/site-packages/idna-3.4.dist-info/METADATA", "abc", "abcdef", "ab", "/d/bz",
		"/d/az", "/d/z", "",
	};
	int agree = 1;
	for (size_t p = 0; patterns[p]; p++) {
		const char *one[] = { patterns[p], NULL };
		const struct analyzer a = { .name = "t", .patterns = one };
		for (size_t k = 0; k < sizeof(paths) / sizeof(paths[0]); k++) {
			int want = fnmatch(patterns[p], paths[k], 0) == 0, got = analyze_claims(&a, paths[k], 1, NULL);
			if (want != got) {
				printf("# '%s' against '%s': fnmatch %d, analyze_claims %d\n", patterns[p], paths[k], want, got);
				agree = 0;
			}
		}
	}
	ok(agree, "analyze_claims agrees with fnmatch on %zu paths and %zu patterns",
	   sizeof(paths) / sizeof(paths[0]), sizeof(patterns) / sizeof(patterns[0]) - 1);
}

int main(void)
{
	test_claims();
	test_entries();
	test_random();
	test_report();
	return tap_done();
}
