/* vectors.h: helpers the analyzer unit tests share: locating the peer
 * vectors under $TEST_SRCDIR/vectors, running a parser or an analyzer's
 * scan over bytes, and comparing records with an *.expected.tsv file as a
 * multiset of rows (see tests/vectors/README.md). Test code only: on
 * trouble with the test data itself the helpers print "Bail out!" and exit
 * 99, the automake code for a hard error. */
#ifndef STRATA_TEST_VECTORS_H
#define STRATA_TEST_VECTORS_H

#include <stddef.h>

#include <jansson.h>

#include "analyzers/analyzer.h"
#include "src/base/error.h"

/* A buffer-level parse function, as the analyzers export them. */
typedef int (*vec_parse_fn)(const char *data, size_t len, json_t *out, struct strata_error *err);

/* The tests directory: $TEST_SRCDIR, or "tests" when unset or empty. The
 * string is the environment's; do not free it. */
const char *vec_srcdir(void);

/* Reads the whole file at path into *data (NUL-terminated, the caller
 * free()s it) and its length into *len. Exits 99 when it cannot. */
void vec_slurp(const char *path, char **data, size_t *len);

/* qsort() comparator for an array of char *. */
int vec_cmp_str(const void *a, const void *b);

/* Whether s ends with suffix. */
int vec_ends_with(const char *s, const char *suffix);

/* Monotonic wall-clock seconds, for the linear-time checks. */
double vec_seconds(void);

/* The string value of key in the i-th record of out, or NULL; owned by
 * out. */
const char *vec_rec_str(json_t *out, size_t i, const char *key);

/* One TSV row of a record, columns named by the header line cols (tab-
 * separated, ends at NUL or newline): strings as they are, integers in
 * decimal, absent keys as "". The caller free()s it. */
char *vec_record_row(json_t *rec, const char *cols);

/* The rows of records and of an .expected.tsv file, each sorted. */
struct vec_rows {
	char **want, **have;
	size_t nwant, nhave;
};

/* Fills r from the records in got and the .expected.tsv file at tsv_path
 * and returns whether they are the same multiset of rows (a duplicate row
 * must be duplicated). Release r with vec_rows_release(). */
int vec_rows_compare(json_t *got, const char *tsv_path, struct vec_rows *r);

/* Prints both row sets as TAP diagnostics ("#   want:", "#   got:"). */
void vec_rows_print(const struct vec_rows *r);

/* Frees what r holds; r may be zeroed. */
void vec_rows_release(struct vec_rows *r);

/* Runs fn over a vector input (path relative to tests/vectors/) and
 * returns the records (the caller json_decref()s them); *rc gets fn's
 * result, err its message. */
json_t *vec_parse_vector(const char *rel, vec_parse_fn fn, int *rc, struct strata_error *err);

/* Runs fn over a NUL-terminated text; returns the records (the caller
 * json_decref()s them), *rc gets fn's result. */
json_t *vec_parse_text(vec_parse_fn fn, const char *text, int *rc, struct strata_error *err);

/* Feeds fn rounds random inputs of up to 4 KiB drawn from the alen bytes
 * of alphabet (NULs allowed), seeded with seed; every other round starts
 * with the first prefix bytes of alphabet, so that parsers see a valid
 * opening. 1 when every round returned 0 or -EBADMSG (and did not crash). */
int vec_random_inputs(vec_parse_fn fn, const char *alphabet, size_t alen, unsigned seed, int rounds,
		      size_t prefix);

/* The inputs of the vectors below one directory of tests/vectors/. */
struct vec_list {
	char **path; /* relative to tests/vectors/, ".expected.tsv" removed, sorted */
	size_t n;
};
#define VEC_LIST_INIT { NULL, 0 }

/* Fills l with every *.expected.tsv under tests/vectors/<dir>, first
 * freeing what l held (l must be VEC_LIST_INIT or filled before). Exits 99
 * when the directory cannot be walked. */
void vec_find_vectors(struct vec_list *l, const char *dir);

/* Frees what l holds and empties it. */
void vec_list_release(struct vec_list *l);

/* Whether the walk would hand path to a: a pattern matches (fnmatch flags
 * 0, as the walk does) and the finer claims() test, if any, agrees. */
int vec_claimed(const struct analyzer *a, const char *path);

/* Runs a's scan over len bytes of text through a real (unlinked temporary)
 * file descriptor, as the walk does, with the default limits. Returns the
 * records (the caller json_decref()s them); *rc gets the scan's result. */
json_t *vec_scan_text(const struct analyzer *a, const char *path, const char *text, size_t len,
		      int *rc, struct strata_error *err);

/* The records of one vector input (path relative to tests/vectors/), for
 * vec_check_licenses; the caller json_decref()s them. */
typedef json_t *(*vec_records_fn)(const char *rel, int *rc, struct strata_error *err);

/* "a; b" for a record's "licenses" (malloc'd; "" when it has none). */
char *vec_licenses_text(const json_t *rec);

/* The rows after the header of a six-column TSV under tests/vectors/
 * (licenses.tsv: input, name, licenses, peer, peer_licenses, note;
 * relationships.tsv: input, name, dependencies, peer, peer_dependencies,
 * note), each a NULL-terminated array of 6 malloc'd cells; vec_tsv_free
 * frees them. */
char ***vec_tsv_rows(const char *rel, size_t *n);
void vec_tsv_free(char ***rows, size_t n);

/* Whether the peer's licences, each read by license_normalize, are the
 * same set as ours ("a; b" lists). */
int vec_same_licenses(const char *ours, const char *peer);

/* The TAP check comparing got with the .expected.tsv at tsv_path, printing
 * both row sets when they differ; returns whether they are the same. It is
 * an inline function, not in vectors.c, because tap.h keeps its counter in
 * each test program's own file: include tap.h before this header. */
#ifdef STRATA_TAP_H
static inline int vec_rows_match(json_t *got, const char *tsv_path, const char *what)
{
	struct vec_rows r;
	int same = vec_rows_compare(got, tsv_path, &r);
	if (!ok(same, "%s: %zu rows as expected", what, r.nwant))
		vec_rows_print(&r);
	vec_rows_release(&r);
	return same;
}

/* vec_rows_match() against tests/vectors/<rel>.expected.tsv, named rel. */
static inline int vec_check_vector(json_t *got, const char *rel)
{
	char tsv[4096];
	snprintf(tsv, sizeof(tsv), "%s/vectors/%s.expected.tsv", vec_srcdir(), rel);
	return vec_rows_match(got, tsv, rel);
}

/* Checks every row of tests/vectors/<eco>/licenses.tsv: the record the
 * row names (or the first) has exactly the row's licences, and where the
 * row has no note the peer's expectation reads as the same set; a note
 * is a known, documented divergence, printed. */
static inline void vec_check_licenses(const char *eco, vec_records_fn fn)
{
	size_t n, i;
	char rel[256];
	snprintf(rel, sizeof(rel), "%s/licenses.tsv", eco);
	char ***rows = vec_tsv_rows(rel, &n);
	ok(n > 0, "%s/licenses.tsv: %zu rows", eco, n);
	for (i = 0; i < n; i++) {
		char **c = rows[i];
		int rc;
		struct strata_error err = STRATA_ERROR_INIT;
		json_t *out = fn(c[0], &rc, &err), *rec = NULL, *r;
		size_t k;
		json_array_foreach(out, k, r) {
			const char *name = json_string_value(json_object_get(r, "name"));
			if (!rec && (!c[1][0] || (name && !strcmp(name, c[1]))))
				rec = r;
		}
		char *got = vec_licenses_text(rec);
		if (!ok(!strcmp(got, c[2]), "%s %s: licenses '%s'", c[0], c[1], got))
			printf("#   want '%s'\n", c[2]);
		if (!c[5][0])
			ok(vec_same_licenses(c[2], c[4]), "  the same as %s's '%s'", c[3], c[4]);
		else
			printf("#   %s expects '%s': %s\n", c[3], c[4], c[5]);
		free(got);
		json_decref(out);
	}
	vec_tsv_free(rows, n);
}
#endif

#endif
