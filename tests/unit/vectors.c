/* vectors.c: the helpers the analyzer unit tests share (see vectors.h). */
#include "config.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "analyzers/analyze.h"
#include "analyzers/license.h"
#include "vectors.h"

const char *vec_srcdir(void)
{
	const char *s = getenv("TEST_SRCDIR");
	return s && *s ? s : "tests";
}

void vec_slurp(const char *path, char **data, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		printf("Bail out! cannot open %s\n", path);
		exit(99);
	}
	size_t alloc = 4096, n = 0;
	char *p = malloc(alloc);
	for (;;) {
		if (!p)
			exit(99);
		n += fread(p + n, 1, alloc - n - 1, f);
		if (n < alloc - 1)
			break;
		alloc *= 2;
		p = realloc(p, alloc);
	}
	fclose(f);
	p[n] = '\0';
	*data = p;
	*len = n;
}

int vec_cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int vec_ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && !strcmp(s + n - m, suffix);
}

double vec_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

const char *vec_rec_str(json_t *out, size_t i, const char *key)
{
	return json_string_value(json_object_get(json_array_get(out, i), key));
}

char *vec_record_row(json_t *rec, const char *cols)
{
	char out[8192] = "", key[128];
	size_t o = 0;
	for (const char *c = cols; *c;) {
		size_t k = strcspn(c, "\t\n");
		snprintf(key, sizeof(key), "%.*s", (int)k, c);
		json_t *v = json_object_get(rec, key);
		if (c != cols) /* not "if (o)": the first column may be empty */
			o += snprintf(out + o, sizeof(out) - o, "\t");
		if (json_is_string(v))
			o += snprintf(out + o, sizeof(out) - o, "%s", json_string_value(v));
		else if (json_is_integer(v))
			o += snprintf(out + o, sizeof(out) - o, "%lld", (long long)json_integer_value(v));
		if (o >= sizeof(out))
			o = sizeof(out) - 1;
		c += k;
		if (*c != '\t')
			break;
		c++;
	}
	return strdup(out);
}

int vec_rows_compare(json_t *got, const char *tsv_path, struct vec_rows *r)
{
	char *tsv;
	size_t len;
	vec_slurp(tsv_path, &tsv, &len);
	char *cols = tsv, *body = strchr(tsv, '\n');
	if (!body) {
		printf("Bail out! %s has no header line\n", tsv_path);
		exit(99);
	}
	*body++ = '\0';
	r->nwant = 0;
	r->nhave = json_array_size(got);
	r->want = calloc(len + 1, sizeof(*r->want));
	r->have = calloc(r->nhave + 1, sizeof(*r->have));
	if (!r->want || !r->have)
		exit(99);
	for (char *l = body; *l;) {
		char *nl = strchr(l, '\n');
		if (nl)
			*nl = '\0';
		r->want[r->nwant++] = strdup(l);
		if (!nl)
			break;
		l = nl + 1;
	}
	for (size_t i = 0; i < r->nhave; i++)
		r->have[i] = vec_record_row(json_array_get(got, i), cols);
	free(tsv);
	qsort(r->want, r->nwant, sizeof(*r->want), vec_cmp_str);
	qsort(r->have, r->nhave, sizeof(*r->have), vec_cmp_str);
	int same = r->nwant == r->nhave;
	for (size_t i = 0; same && i < r->nwant; i++)
		same = !strcmp(r->want[i], r->have[i]);
	return same;
}

void vec_rows_print(const struct vec_rows *r)
{
	for (size_t i = 0; i < r->nwant; i++)
		printf("#   want: %s\n", r->want[i]);
	for (size_t i = 0; i < r->nhave; i++)
		printf("#   got:  %s\n", r->have[i]);
}

void vec_rows_release(struct vec_rows *r)
{
	for (size_t i = 0; r->want && i < r->nwant; i++)
		free(r->want[i]);
	for (size_t i = 0; r->have && i < r->nhave; i++)
		free(r->have[i]);
	free(r->want);
	free(r->have);
	r->want = r->have = NULL;
	r->nwant = r->nhave = 0;
}

json_t *vec_parse_vector(const char *rel, vec_parse_fn fn, int *rc, struct strata_error *err)
{
	char path[4096];
	char *data;
	size_t len;
	snprintf(path, sizeof(path), "%s/vectors/%s", vec_srcdir(), rel);
	vec_slurp(path, &data, &len);
	json_t *out = json_array();
	error_clear(err);
	*rc = fn(data, len, out, err);
	free(data);
	return out;
}

json_t *vec_parse_text(vec_parse_fn fn, const char *text, int *rc, struct strata_error *err)
{
	json_t *out = json_array();
	error_clear(err);
	*rc = fn(text, strlen(text), out, err);
	return out;
}

/* nftw() has no context argument: the walk in progress. */
static struct vec_list *find_list;
static size_t find_alloc, find_baselen;

static int find_cb(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	static const char suffix[] = ".expected.tsv";
	size_t n = strlen(path), s = sizeof(suffix) - 1;
	if (type != FTW_F || n <= s || strcmp(path + n - s, suffix) != 0)
		return 0;
	if (find_list->n == find_alloc) {
		find_alloc = find_alloc ? 2 * find_alloc : 64;
		find_list->path = realloc(find_list->path, find_alloc * sizeof(*find_list->path));
		if (!find_list->path)
			exit(99);
	}
	find_list->path[find_list->n++] = strndup(path + find_baselen + 1, n - s - find_baselen - 1);
	return 0;
}

void vec_find_vectors(struct vec_list *l, const char *dir)
{
	char base[4096], top[4096];
	snprintf(base, sizeof(base), "%s/vectors", vec_srcdir());
	snprintf(top, sizeof(top), "%s/%s", base, dir);
	vec_list_release(l);
	find_list = l;
	find_alloc = 0;
	find_baselen = strlen(base);
	if (nftw(top, find_cb, 16, FTW_PHYS) != 0) {
		printf("Bail out! cannot walk %s\n", top);
		exit(99);
	}
	find_list = NULL;
	qsort(l->path, l->n, sizeof(*l->path), vec_cmp_str);
}

void vec_list_release(struct vec_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->path[i]);
	free(l->path);
	l->path = NULL;
	l->n = 0;
}

int vec_claimed(const struct analyzer *a, const char *path)
{
	return analyze_claims(a, path, 100, NULL);
}

json_t *vec_scan_text(const struct analyzer *a, const char *path, const char *text, size_t len,
		      int *rc, struct strata_error *err)
{
	char tmp[] = "/tmp/test-analyzer.XXXXXX";
	int fd = mkstemp(tmp);
	if (fd < 0 || write(fd, text, len) != (ssize_t)len) {
		printf("Bail out! cannot write %s\n", tmp);
		exit(99);
	}
	unlink(tmp);
	struct analyzer_limits limits;
	analyzer_limits_default(&limits);
	struct analyzer_file f = { .fd = fd, .path = path, .size = len, .limits = &limits };
	json_t *out = json_array();
	error_clear(err);
	*rc = a->scan(&f, out, err);
	close(fd);
	return out;
}

int vec_random_inputs(vec_parse_fn fn, const char *alphabet, size_t alen, unsigned seed, int rounds,
		      size_t prefix)
{
	char *s = malloc(4096);
	int good = s != NULL;
	srand(seed);
	for (int round = 0; good && round < rounds; round++) {
		size_t n = (size_t)(rand() % 4096), pre = round % 2 ? 0 : prefix;
		memcpy(s, alphabet, pre);
		for (size_t i = pre; i < n; i++)
			s[i] = alphabet[(size_t)rand() % alen];
		json_t *out = json_array();
		struct strata_error err = STRATA_ERROR_INIT;
		int rc = fn(s, n > pre ? n : pre, out, &err);
		good = rc == 0 || rc == -EBADMSG;
		json_decref(out);
	}
	free(s);
	return good;
}

char *vec_licenses_text(const json_t *rec)
{
	struct buf b = BUF_INIT;
	size_t i;
	const json_t *v;
	json_array_foreach(json_object_get(rec, "licenses"), i, v)
		buf_addf(&b, "%s%s", i ? "; " : "", json_string_value(v));
	return buf_detach(&b, NULL);
}

char ***vec_tsv_rows(const char *rel, size_t *n)
{
	char path[4096], *tsv;
	size_t len;
	snprintf(path, sizeof(path), "%s/vectors/%s", vec_srcdir(), rel);
	vec_slurp(path, &tsv, &len);
	char ***rows = NULL;
	*n = 0;
	char *save = NULL;
	int header = 1;
	for (char *line = strtok_r(tsv, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (header) {
			header = 0;
			continue;
		}
		char **cells = calloc(7, sizeof(*cells));
		rows = realloc(rows, (*n + 1) * sizeof(*rows));
		if (!cells || !rows) {
			printf("Bail out! out of memory\n");
			exit(99);
		}
		char *p = line;
		for (int c = 0; c < 6; c++) {
			size_t k = strcspn(p, "\t");
			cells[c] = strndup(p, k);
			p += k + (p[k] == '\t');
		}
		rows[(*n)++] = cells;
	}
	free(tsv);
	return rows;
}

void vec_tsv_free(char ***rows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		for (int c = 0; rows[i][c]; c++)
			free(rows[i][c]);
		free(rows[i]);
	}
	free(rows);
}

/* The "; "-separated items of s, each read by license_normalize when
 * normalize is set, sorted, as one string. */
static char *license_set(const char *s, int normalize)
{
	char *items[256];
	size_t n = 0;
	char *copy = strdup(s), *save = NULL;
	for (char *t = strtok_r(copy, ";", &save); t && n < 256; t = strtok_r(NULL, ";", &save)) {
		while (*t == ' ')
			t++;
		struct buf b = BUF_INIT;
		if (normalize)
			license_normalize(t, strlen(t), &b);
		else
			buf_adds(&b, t);
		items[n++] = buf_detach(&b, NULL);
	}
	free(copy);
	qsort(items, n, sizeof(*items), vec_cmp_str);
	struct buf out = BUF_INIT;
	for (size_t i = 0; i < n; i++) {
		if (!i || strcmp(items[i], items[i - 1]))
			buf_addf(&out, "%s|", items[i]);
	}
	for (size_t i = 0; i < n; i++)
		free(items[i]);
	return buf_detach(&out, NULL);
}

int vec_same_licenses(const char *ours, const char *peer)
{
	char *a = license_set(ours, 0), *b = license_set(peer, 1);
	int same = !strcmp(a, b);
	if (!same)
		printf("#   ours %s, the peer's read as %s\n", a, b);
	free(a);
	free(b);
	return same;
}
