/* secrets: the secrets analyzer (see secrets.h). The active rule set is one
 * Hyperscan streaming database plus one PCRE2 program per rule; a scan feeds
 * the file to Hyperscan in blocks and confirms each hit with PCRE2 on a
 * window kept around it, which gives the match's start, its secret group and
 * exact lookaround semantics that Hyperscan alone cannot. The built-in rules
 * are in secrets-rules.c. */
#include "config.h"

#define PCRE2_CODE_UNIT_WIDTH 8

#include <errno.h>
#include <hs.h>
#include <pcre2.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "secrets-cache.h"
#include "secrets.h"

#define KEEP SECRETS_MAX_MATCH      /* bytes kept before and read after the scanned part */
#define BLOCK_DEFAULT (256u << 10)  /* bytes handed to Hyperscan at once */
#define BLOCK_MIN 4096u
#define SLACK 64u                   /* context a confirmation may read past a hit */
#define RULES_FILE_MAX (1u << 20)
#define RULES_MAX 1000u
#define RULE_ID_MAX 64u
#define OVECTOR_PAIRS 64u
#define MATCH_LIMIT 200000u         /* PCRE2 backtracking bound per confirmation */
#define FOUND_MAX (4 * SECRETS_MAX_FINDINGS) /* findings held, the cap's ties included */
#define PREFIX_MAX 48u              /* bytes of a record's text before the secret */

static const char *const severity_names[] = { "LOW", "MEDIUM", "HIGH", "CRITICAL" };

struct rule {
	char *id, *title, *regex;
	enum secrets_severity severity;
	unsigned flags;
	pcre2_code *code;
	int group; /* capture number of (?<secret>...), 0 = whole match */
};

/* Immutable once built; shared by scans through a reference count. */
struct ruleset {
	unsigned refs; /* rs_lock */
	size_t n;
	struct rule *rules;
	hs_database_t *db;
	hs_scratch_t *proto; /* cloned for each scan: one scratch per thread */
	pcre2_match_context *mctx;
	char id[17];
};

static int use_jit = 1;            /* set before the first rule set is built */
static pthread_mutex_t rs_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ruleset *rs_active; /* rs_lock; the active set, holding one reference */
static char rs_id[17];            /* rs_lock; the active set's id */

/* A rule before compilation; strings are borrowed. */
struct spec {
	const char *id, *title, *regex;
	enum secrets_severity severity;
	unsigned flags;
	const char *path; /* rules file, NULL for a built-in rule */
	unsigned line;
};

static void ruleset_free(struct ruleset *rs)
{
	if (!rs)
		return;
	for (size_t i = 0; i < rs->n; i++) {
		free(rs->rules[i].id);
		free(rs->rules[i].title);
		free(rs->rules[i].regex);
		pcre2_code_free(rs->rules[i].code);
	}
	free(rs->rules);
	hs_free_scratch(rs->proto);
	hs_free_database(rs->db);
	pcre2_match_context_free(rs->mctx);
	free(rs);
}

static void ruleset_put(struct ruleset *rs)
{
	if (!rs)
		return;
	pthread_mutex_lock(&rs_lock);
	unsigned left = --rs->refs;
	pthread_mutex_unlock(&rs_lock);
	if (!left)
		ruleset_free(rs);
}

static int where(char *buf, size_t len, const struct spec *sp)
{
	if (sp->path)
		return snprintf(buf, len, "'%s':%u: rule '%s'", sp->path, sp->line, sp->id);
	return snprintf(buf, len, "built-in rule '%s'", sp->id);
}

/* Library messages end with a full stop; ours do not. */
static const char *trim_stop(char *msg)
{
	size_t n = strlen(msg);
	if (n && msg[n - 1] == '.')
		msg[n - 1] = '\0';
	return msg;
}

/* Checks one rule with both engines and fills r; *hs_flags gets the flags
 * Hyperscan needs for it. */
static int rule_compile(const struct spec *sp, struct rule *r, unsigned *hs_flags,
			struct strata_error *err)
{
	char at[600], msg[256];
	where(at, sizeof(at), sp);
	hs_expr_info_t *info = NULL;
	hs_compile_error_t *cerr = NULL;
	*hs_flags = HS_FLAG_MULTILINE;
	if (hs_expression_info(sp->regex, *hs_flags, &info, &cerr) != HS_SUCCESS) {
		snprintf(msg, sizeof(msg), "%s", cerr->message);
		hs_free_compile_error(cerr);
		cerr = NULL;
		/* Lookarounds, backreferences: Hyperscan finds a superset, PCRE2 decides. */
		*hs_flags |= HS_FLAG_PREFILTER;
		if (hs_expression_info(sp->regex, *hs_flags, &info, &cerr) != HS_SUCCESS) {
			hs_free_compile_error(cerr);
			return error_set(err, -EINVAL, "%s: bad regex: %s", at, trim_stop(msg));
		}
	}
	unsigned min_width = info->min_width;
	free(info);
	if (min_width == 0)
		return error_set(err, -EINVAL, "%s: bad regex: it matches the empty string", at);

	int code;
	PCRE2_SIZE off;
	r->code = pcre2_compile((PCRE2_SPTR)sp->regex, PCRE2_ZERO_TERMINATED, PCRE2_MULTILINE, &code,
				&off, NULL);
	if (!r->code) {
		PCRE2_UCHAR text[200];
		pcre2_get_error_message(code, text, sizeof(text));
		return error_set(err, -EINVAL, "%s: bad regex: %s at offset %zu", at, (char *)text,
				 (size_t)off);
	}
	if (use_jit)
		pcre2_jit_compile(r->code, PCRE2_JIT_COMPLETE); /* the interpreter is the fallback */
	uint32_t captures = 0;
	pcre2_pattern_info(r->code, PCRE2_INFO_CAPTURECOUNT, &captures);
	if (captures >= OVECTOR_PAIRS)
		return error_set(err, -EINVAL, "%s: bad regex: more than %u groups", at,
				 OVECTOR_PAIRS - 1);
	int g = pcre2_substring_number_from_name(r->code, (PCRE2_SPTR) "secret");
	r->group = g > 0 ? g : 0;
	r->id = strdup(sp->id);
	r->title = strdup(sp->title);
	r->regex = strdup(sp->regex);
	if (!r->id || !r->title || !r->regex)
		return error_set(err, -ENOMEM, "%s: out of memory", at);
	r->severity = sp->severity;
	r->flags = sp->flags;
	return 0;
}

/* The set's identity in memo keys: a hash of what defines each rule, known
 * without compiling anything. */
static void specs_hash(const struct spec *specs, size_t n, char id[17])
{
	uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
	for (size_t i = 0; i < n; i++) {
		const struct spec *sp = &specs[i];
		char num[32];
		snprintf(num, sizeof(num), "%d\t%u", (int)sp->severity, sp->flags);
		const char *parts[] = { sp->id, sp->title, sp->regex, num };
		for (size_t k = 0; k < 4; k++)
			for (const char *p = parts[k];; p++) {
				h = (h ^ (unsigned char)*p) * 0x100000001b3ull;
				if (!*p)
					break;
			}
	}
	snprintf(id, 17, "%016llx", (unsigned long long)h);
}

/* Compiles specs into a new set (one reference, the caller's; free with
 * ruleset_put). */
static int ruleset_build(const struct spec *specs, size_t n, struct ruleset **out,
			 struct strata_error *err)
{
	if (hs_valid_platform() != HS_SUCCESS)
		return error_set(err, -ENOTSUP, "secrets: Hyperscan does not run on this CPU (it needs SSSE3)");
	int r = -ENOMEM;
	struct ruleset *rs = calloc(1, sizeof(*rs));
	const char **exprs = calloc(n ? n : 1, sizeof(*exprs));
	unsigned *flags = calloc(n ? n : 1, sizeof(*flags));
	unsigned *ids = calloc(n ? n : 1, sizeof(*ids));
	if (!rs || !exprs || !flags || !ids ||
	    !(rs->rules = calloc(n ? n : 1, sizeof(*rs->rules)))) {
		error_set(err, r, "secrets: out of memory");
		goto fail;
	}
	rs->refs = 1;
	for (size_t i = 0; i < n; i++) {
		rs->n = i + 1;
		r = rule_compile(&specs[i], &rs->rules[i], &flags[i], err);
		if (r < 0)
			goto fail;
		exprs[i] = rs->rules[i].regex;
		ids[i] = (unsigned)i;
	}
	if (n == 0) {
		r = error_set(err, -EINVAL, "secrets: no rules");
		goto fail;
	}
	hs_compile_error_t *cerr = NULL;
	if (secrets_cache_compile(exprs, flags, ids, (unsigned)n, HS_MODE_STREAM, &rs->db, &cerr) !=
	    HS_SUCCESS) {
		char at[600], msg[256];
		if (cerr->expression >= 0 && (size_t)cerr->expression < n)
			where(at, sizeof(at), &specs[cerr->expression]);
		else
			snprintf(at, sizeof(at), "secrets");
		snprintf(msg, sizeof(msg), "%s", cerr->message);
		hs_free_compile_error(cerr);
		r = error_set(err, -EINVAL, "%s: cannot compile: %s", at, trim_stop(msg));
		goto fail;
	}
	rs->mctx = pcre2_match_context_create(NULL);
	if (hs_alloc_scratch(rs->db, &rs->proto) != HS_SUCCESS || !rs->mctx) {
		r = error_set(err, -ENOMEM, "secrets: cannot allocate scratch space");
		goto fail;
	}
	pcre2_set_match_limit(rs->mctx, MATCH_LIMIT);
	specs_hash(specs, n, rs->id);
	free(exprs);
	free(flags);
	free(ids);
	*out = rs;
	return 0;
fail:
	free(exprs);
	free(flags);
	free(ids);
	ruleset_free(rs);
	return r;
}

/* The built-in rules as specs; free with free(). */
static struct spec *builtin_specs(void)
{
	struct spec *specs = calloc(secrets_builtin_count + 1, sizeof(*specs));
	for (size_t i = 0; specs && i < secrets_builtin_count; i++) {
		const struct secrets_rule *b = &secrets_builtin_rules[i];
		specs[i] = (struct spec){ b->id, b->title, b->regex, b->severity, b->flags, NULL, 0 };
	}
	return specs;
}

static int builtin_build(struct ruleset **out, struct strata_error *err)
{
	struct spec *specs = builtin_specs();
	if (!specs)
		return error_set(err, -ENOMEM, "secrets: out of memory");
	int r = ruleset_build(specs, secrets_builtin_count, out, err);
	free(specs);
	return r;
}

/* The active set, built on first use; NULL with err set when it cannot be.
 * Release with ruleset_put. */
static struct ruleset *ruleset_acquire(struct strata_error *err)
{
	pthread_mutex_lock(&rs_lock);
	if (!rs_active && builtin_build(&rs_active, err) == 0)
		memcpy(rs_id, rs_active->id, sizeof(rs_id));
	struct ruleset *rs = rs_active;
	if (rs)
		rs->refs++;
	pthread_mutex_unlock(&rs_lock);
	return rs;
}

static void ruleset_activate(struct ruleset *rs)
{
	pthread_mutex_lock(&rs_lock);
	struct ruleset *old = rs_active;
	rs_active = rs;
	memcpy(rs_id, rs->id, sizeof(rs_id));
	pthread_mutex_unlock(&rs_lock);
	ruleset_put(old);
}

void secrets_use_jit(int on)
{
	use_jit = on;
}

/* Compiling the built-in set takes a tenth of a second: a report found in
 * the memo needs only its id, so the id comes from the rules' text. */
const char *secrets_ruleset_id(void)
{
	pthread_mutex_lock(&rs_lock);
	struct spec *specs = rs_id[0] || hs_valid_platform() != HS_SUCCESS ? NULL : builtin_specs();
	if (specs)
		specs_hash(specs, secrets_builtin_count, rs_id);
	pthread_mutex_unlock(&rs_lock);
	free(specs);
	return rs_id[0] ? rs_id : "none";
}

/* --- rules files ----------------------------------------------------------- */

static int parse_severity(const char *s, enum secrets_severity *out)
{
	for (size_t i = 0; i < sizeof(severity_names) / sizeof(severity_names[0]); i++)
		if (!strcasecmp(s, severity_names[i])) {
			*out = (enum secrets_severity)i;
			return 0;
		}
	return -EINVAL;
}

static int valid_id(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > RULE_ID_MAX || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= '0' && s[0] <= '9')))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '.' ||
		      s[i] == '_' || s[i] == '-'))
			return 0;
	return 1;
}

/* Reads the file whole (it is small and trusted no more than any input) and
 * cuts it into specs that point into *text (free() both). */
static int rules_parse(const char *path, char **text, struct spec **out, size_t *nout,
		       struct strata_error *err)
{
	*text = NULL;
	*out = NULL;
	*nout = 0;
	FILE *fp = fopen(path, "re");
	if (!fp)
		return error_errno(err, -errno, "cannot open rules file '%s'", path);
	char *t = malloc(RULES_FILE_MAX + 1);
	size_t len = t ? fread(t, 1, RULES_FILE_MAX + 1, fp) : 0;
	int bad = ferror(fp);
	fclose(fp);
	if (!t)
		return error_set(err, -ENOMEM, "rules file '%s': out of memory", path);
	*text = t;
	if (bad)
		return error_set(err, -EIO, "cannot read rules file '%s'", path);
	if (len > RULES_FILE_MAX)
		return error_set(err, -EFBIG, "rules file '%s' is over %u bytes", path, RULES_FILE_MAX);
	if (memchr(t, '\0', len))
		return error_set(err, -EINVAL, "rules file '%s' holds a NUL byte", path);
	t[len] = '\0';

	struct spec *specs = NULL;
	size_t n = 0;
	unsigned lineno = 0;
	for (char *line = t, *next; line < t + len; line = next) {
		char *nl = strchr(line, '\n');
		next = nl ? nl + 1 : t + len;
		if (nl)
			*nl = '\0';
		lineno++;
		size_t ll = strlen(line);
		if (ll && line[ll - 1] == '\r')
			line[--ll] = '\0';
		const char *p = line;
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p || *p == '#')
			continue;
		char *f[4] = { line, NULL, NULL, NULL };
		for (int k = 1; k < 4; k++) {
			char *tab = strchr(f[k - 1], '\t');
			if (!tab) {
				free(specs);
				return error_set(err, -EINVAL,
						 "'%s':%u: expected id<TAB>severity<TAB>title<TAB>regex",
						 path, lineno);
			}
			*tab = '\0';
			f[k] = tab + 1;
		}
		struct spec sp = { f[0], f[2], f[3], SECRETS_LOW, 0, path, lineno };
		const char *why = NULL;
		if (!valid_id(f[0]))
			why = "bad rule id (want [a-z0-9][a-z0-9._-]*, at most 64 bytes)";
		else if (parse_severity(f[1], &sp.severity) < 0)
			why = "bad severity (want CRITICAL, HIGH, MEDIUM or LOW)";
		else if (!*f[2])
			why = "empty title";
		else if (!*f[3])
			why = "empty regex";
		else if (n >= RULES_MAX)
			why = "too many rules";
		if (why) {
			free(specs);
			return error_set(err, -EINVAL, "'%s':%u: %s", path, lineno, why);
		}
		for (size_t i = 0; i < n; i++)
			if (!strcmp(specs[i].id, sp.id)) {
				unsigned first = specs[i].line;
				free(specs);
				return error_set(err, -EINVAL, "'%s':%u: rule '%s' is already defined on line %u",
						 path, lineno, sp.id, first);
			}
		struct spec *grown = realloc(specs, (n + 1) * sizeof(*specs));
		if (!grown) {
			free(specs);
			return error_set(err, -ENOMEM, "rules file '%s': out of memory", path);
		}
		specs = grown;
		specs[n++] = sp;
	}
	*out = specs;
	*nout = n;
	return 0;
}

int secrets_load_rules(const char *path, int replace, struct strata_error *err)
{
	struct ruleset *rs = NULL;
	if (!path) {
		int r = builtin_build(&rs, err);
		if (r == 0)
			ruleset_activate(rs);
		return r;
	}
	char *text = NULL;
	struct spec *file = NULL, *all = NULL;
	char *used = NULL;
	size_t nfile = 0, nall = 0;
	struct ruleset *cur = NULL;
	int r = rules_parse(path, &text, &file, &nfile, err);
	if (r < 0)
		goto out;
	if (!replace) {
		cur = ruleset_acquire(err);
		if (!cur) {
			r = err->code ? err->code : -EINVAL;
			goto out;
		}
	}
	size_t ncur = cur ? cur->n : 0;
	all = calloc(ncur + nfile + 1, sizeof(*all));
	used = calloc(nfile + 1, 1);
	if (!all || !used) {
		r = error_set(err, -ENOMEM, "rules file '%s': out of memory", path);
		goto out;
	}
	/* A file rule replaces the active rule of the same id, in its place. */
	for (size_t i = 0; i < ncur; i++) {
		const struct rule *c = &cur->rules[i];
		all[nall++] = (struct spec){ c->id, c->title, c->regex, c->severity, c->flags, NULL, 0 };
		for (size_t k = 0; k < nfile; k++)
			if (!strcmp(file[k].id, c->id)) {
				all[nall - 1] = file[k];
				used[k] = 1;
			}
	}
	for (size_t k = 0; k < nfile; k++)
		if (!used[k])
			all[nall++] = file[k];
	if (nall == 0) {
		r = error_set(err, -EINVAL, "rules file '%s' defines no rule", path);
		goto out;
	}
	r = ruleset_build(all, nall, &rs, err);
	if (r == 0)
		ruleset_activate(rs);
out:
	ruleset_put(cur);
	free(used);
	free(all);
	free(file);
	free(text);
	return r;
}

/* --- allowlist and masking ------------------------------------------------- */

static int lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

static int icontains(const char *s, size_t n, const char *needle)
{
	size_t m = strlen(needle);
	for (size_t i = 0; i + m <= n; i++) {
		size_t k = 0;
		while (k < m && lower((unsigned char)s[i + k]) == lower((unsigned char)needle[k]))
			k++;
		if (k == m)
			return 1;
	}
	return 0;
}

static int iequals(const char *s, size_t n, const char *word)
{
	return strlen(word) == n && icontains(s, n, word);
}

static int is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* 1 when the secret part s is a documentation value or a placeholder. */
static int allowlisted(const char *s, size_t n, unsigned flags)
{
	static const char *const any[] = {
		"example", "xxxx", "your_", "your-", "placeholder", "changeme", "redacted",
		"${", "{{", "%(", "%{",
		"SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c", /* jwt.io's sample token */
		"2YotnFZFEjr1zCsicMWpAA", "tGzv3JOkF0XG5Qx2TlKWIA", /* RFC 6749's tokens */
	};
	for (size_t i = 0; i < sizeof(any) / sizeof(any[0]); i++)
		if (icontains(s, n, any[i]))
			return 1;
	if (n >= 2 && s[0] == '$' && (is_alpha(s[1]) || s[1] == '_' || s[1] == '{' || s[1] == '('))
		return 1;
	if (n && s[0] == '<' && memchr(s, '>', n))
		return 1;
	if (!(flags & SECRETS_GENERIC))
		return 0;

	/* Values that repeat the key's own words ("client-secret",
	 * "notasecret", "my_token") are test and documentation values. */
	static const char *const generic_has[] = { "dummy", "sample", "****", "password", "passwd",
						   "secret", "token" };
	static const char *const generic_is[] = { "none", "null", "undefined", "true", "false" };
	for (size_t i = 0; i < sizeof(generic_has) / sizeof(generic_has[0]); i++)
		if (icontains(s, n, generic_has[i]))
			return 1;
	for (size_t i = 0; i < sizeof(generic_is) / sizeof(generic_is[0]); i++)
		if (iequals(s, n, generic_is[i]))
			return 1;
	size_t same = 1, upper = 0, underscore = 0;
	while (same < n && s[same] == s[0])
		same++;
	if (same == n)
		return 1;
	if (s[0] == '/' || !strncmp(s, "./", 2) || !strncmp(s, "~/", 2)) /* a file that holds it */
		return 1;
	for (size_t i = 0; i < n; i++) {
		if ((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9'))
			upper++;
		else if (s[i] == '_')
			underscore++;
	}
	/* DB_PASSWORD: the name of the variable that holds the secret. */
	if (s[0] >= 'A' && s[0] <= 'Z' && underscore && upper + underscore == n)
		return 1;
	return 0;
}

/* Writes the record's "match": the text before the secret (leading blanks
 * dropped), then the masked secret; cut at the first line break and at
 * SECRETS_SHOW_MAX bytes; other control characters become '?'. */
static void show(char *out, const char *pre, size_t npre, const char *sec, size_t n)
{
	size_t o = 0;
	while (npre && (*pre == ' ' || *pre == '\t')) {
		pre++;
		npre--;
	}
	/* A long prefix (a service account's other fields) is cut short. */
	size_t keep = npre > PREFIX_MAX ? PREFIX_MAX - 3 : npre;
	for (size_t i = 0; i < keep; i++)
		out[o++] = pre[i];
	if (keep < npre)
		for (int i = 0; i < 3; i++)
			out[o++] = '.';
	size_t head, stars, tail;
	if (n >= 20) {
		head = tail = 4;
		stars = n - 8 > 32 ? 32 : n - 8;
	} else {
		head = n > 2 ? 2 : 0;
		stars = n - head;
		tail = 0;
	}
	for (size_t i = 0; i < head && o < SECRETS_SHOW_MAX; i++)
		out[o++] = sec[i];
	for (size_t i = 0; i < stars && o < SECRETS_SHOW_MAX; i++)
		out[o++] = '*';
	for (size_t i = n - tail; i < n && o < SECRETS_SHOW_MAX; i++)
		out[o++] = sec[i];
	out[o] = '\0';
	for (size_t i = 0; i < o; i++) {
		unsigned char c = (unsigned char)out[i];
		if (c == '\n' || c == '\r') {
			out[i] = '\0';
			break;
		}
		if (c < 0x20 || c == 0x7f)
			out[i] = '?';
	}
}

/* --- the scan ---------------------------------------------------------------- */

struct finding {
	unsigned rule;
	uint64_t line;
	uint64_t start, end; /* the secret part, file offsets */
	char shown[SECRETS_SHOW_MAX + 1];
};

/* Where the bytes come from: an fd (pread) or memory. */
struct source {
	int fd; /* -1: mem */
	const char *mem;
	uint64_t mem_len;
	uint64_t off;
	uint64_t limit; /* 0 = none; more bytes than this fail with -EFBIG */
};

struct scan {
	const struct ruleset *rs;
	const char *win;     /* file bytes [base, base + len): buf, or the memory scanned */
	char *buf;           /* for an fd */
	size_t cap, len;
	uint64_t base;
	uint64_t scanned;    /* bytes handed to Hyperscan */
	int eof;             /* win ends at the end of the file */
	uint64_t cursor;     /* offset inside win whose line number is known */
	uint64_t cursor_line;
	uint64_t *covered;   /* per rule: no new match of it ends at or before this */
	pcre2_match_data *md;
	struct finding *found;
	size_t nfound, nalloc;
	uint64_t hit;        /* end of the hit being confirmed */
	int capped;          /* SECRETS_MAX_FINDINGS reached at the hit ending at cap_to */
	uint64_t cap_to;
	int full;            /* stop: past cap_to, or out of room */
};

/* Eight bytes at a time (the scan counts every byte it sees): a byte of x
 * is zero exactly when its top bit ends up set in ~t. */
static uint64_t count_newlines(const char *p, size_t n)
{
	const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
	uint64_t c = 0;
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		uint64_t x;
		memcpy(&x, p + i, 8);
		x ^= ones * '\n';
		uint64_t t = ((x & ~high) + ~high) | x;
		c += (((~t & high) >> 7) * ones) >> 56;
	}
	for (; i < n; i++)
		c += p[i] == '\n';
	return c;
}

/* Line number of off, which must be inside the window. */
static uint64_t line_at(struct scan *s, uint64_t off)
{
	if (off >= s->cursor)
		s->cursor_line += count_newlines(s->win + (s->cursor - s->base), off - s->cursor);
	else
		s->cursor_line -= count_newlines(s->win + (off - s->base), s->cursor - off);
	s->cursor = off;
	return s->cursor_line;
}

/* Records the match [ms, me) with secret part [ss, se), window offsets. */
static void record_match(struct scan *s, unsigned id, size_t ms, size_t ss, size_t se)
{
	const struct rule *r = &s->rs->rules[id];
	if (allowlisted(s->win + ss, se - ss, r->flags))
		return;
	if (s->nfound == s->nalloc) {
		/* Past the cap, the other hits ending at the same offset are still
		 * confirmed: Hyperscan reports them in no fixed order, and the
		 * report must not depend on it. */
		size_t more = s->nalloc * 2;
		struct finding *grown = more <= FOUND_MAX ? realloc(s->found, more * sizeof(*grown)) : NULL;
		if (!grown) {
			s->full = 1;
			return;
		}
		s->found = grown;
		s->nalloc = more;
	}
	struct finding *f = &s->found[s->nfound++];
	f->rule = id;
	f->line = line_at(s, s->base + ms);
	f->start = s->base + ss;
	f->end = s->base + se;
	show(f->shown, s->win + ms, ss - ms, s->win + ss, se - ss);
	if (s->nfound >= SECRETS_MAX_FINDINGS && !s->capped) {
		s->capped = 1;
		s->cap_to = s->hit;
	}
}

/* Hyperscan says rule id matches somewhere ending at to: find the match(es)
 * up to there with PCRE2 in the window. */
static void confirm(struct scan *s, unsigned id, uint64_t to)
{
	const struct rule *r = &s->rs->rules[id];
	/* The subject: SECRETS_MAX_MATCH bytes either side of the hit, which
	 * the window always holds (less at the file's ends). Bounds depend on
	 * the hit alone, not on block boundaries, so results do not either. */
	uint64_t lo = to > SECRETS_MAX_MATCH ? to - SECRETS_MAX_MATCH : 0;
	uint64_t end = s->base + s->len;
	int at_eof = s->eof;
	if (end > to + SECRETS_MAX_MATCH) {
		end = to + SECRETS_MAX_MATCH;
		at_eof = 0;
	}
	if (lo < s->base)
		lo = s->base;
	if (lo < s->covered[id])
		lo = s->covered[id];
	/* The subject's edges are not the file's unless they are. */
	uint32_t opts = (s->base ? PCRE2_NOTBOL : 0) | (at_eof ? 0 : PCRE2_NOTEOL);
	while (s->covered[id] < to && !s->full && lo <= end) {
		int rc = pcre2_match(r->code, (PCRE2_SPTR)s->win, (PCRE2_SIZE)(end - s->base),
				     (PCRE2_SIZE)(lo - s->base), opts, s->md, s->rs->mctx);
		if (rc <= 0) {
			/* No match starts in [lo, end): none can end by end - SLACK
			 * (a longer one would not fit SECRETS_MAX_MATCH). */
			uint64_t done = at_eof ? end : end - SLACK;
			if (done < to)
				done = to;
			if (s->covered[id] < done)
				s->covered[id] = done;
			return;
		}
		PCRE2_SIZE *ov = pcre2_get_ovector_pointer(s->md);
		size_t ms = ov[0], me = ov[1], ss = ms, se = me;
		if (me <= ms) { /* empty, or \K games */
			lo = s->base + (me > ms ? me : ms) + 1;
			if (lo > end && s->covered[id] < to)
				s->covered[id] = to;
			continue;
		}
		if (r->group && rc > r->group && ov[2 * r->group] != PCRE2_UNSET &&
		    ov[2 * r->group] >= ms && ov[2 * r->group + 1] <= me &&
		    ov[2 * r->group] < ov[2 * r->group + 1]) {
			ss = ov[2 * r->group];
			se = ov[2 * r->group + 1];
		}
		record_match(s, id, ms, ss, se);
		s->covered[id] = s->base + me;
		lo = s->base + me;
	}
}

static int on_hit(unsigned int id, unsigned long long from, unsigned long long to, unsigned int flags,
		  void *ctx)
{
	struct scan *s = ctx;
	if (s->capped && to > s->cap_to)
		s->full = 1;
	else if (to > s->covered[id]) {
		s->hit = to;
		confirm(s, id, to);
	}
	return s->full; /* non-zero stops the scan */
}

/* Reads up to n bytes at the source's offset; 0 at the end; -EFBIG past
 * the limit; -errno on failure. */
static ssize_t source_read(struct source *src, char *buf, size_t n)
{
	if (src->limit) {
		/* Read one byte past the limit: that is how a file over it shows. */
		if (src->off > src->limit)
			return -EFBIG;
		if (n > src->limit + 1 - src->off)
			n = (size_t)(src->limit + 1 - src->off);
	}
	ssize_t got;
	do
		got = pread(src->fd, buf, n, (off_t)src->off);
	while (got < 0 && errno == EINTR);
	if (got < 0)
		return -errno;
	src->off += (uint64_t)got;
	if (src->limit && src->off > src->limit)
		return -EFBIG;
	return got;
}

/* Reads until the window holds want bytes or the file ends. */
static int fill(struct scan *s, struct source *src, size_t want)
{
	if (want > s->cap)
		want = s->cap;
	if (src->fd < 0) { /* memory: the window is a view, nothing to copy */
		uint64_t left = src->mem_len - s->base;
		if (s->len < want)
			s->len = left < want ? (size_t)left : want;
		s->eof = s->base + s->len == src->mem_len;
		return 0;
	}
	while (!s->eof && s->len < want) {
		ssize_t n = source_read(src, s->buf + s->len, want - s->len);
		if (n < 0)
			return (int)n;
		if (n == 0)
			s->eof = 1;
		s->len += (size_t)n;
	}
	return 0;
}

static int by_offset(const void *a, const void *b)
{
	const struct finding *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start ? 1 : (int)x->rule - (int)y->rule;
}

/* Appends the findings, minus generic ones that a specific rule also found. */
static int emit(struct scan *s, json_t *out, struct strata_error *err)
{
	if (s->nfound > 1)
		qsort(s->found, s->nfound, sizeof(*s->found), by_offset);
	size_t emitted = 0;
	for (size_t i = 0; i < s->nfound; i++) {
		const struct finding *f = &s->found[i];
		const struct rule *r = &s->rs->rules[f->rule];
		int shadowed = 0;
		for (size_t k = 0; k < s->nfound && (r->flags & SECRETS_GENERIC) && !shadowed; k++) {
			const struct finding *g = &s->found[k];
			shadowed = !(s->rs->rules[g->rule].flags & SECRETS_GENERIC) &&
				   g->start < f->end && f->start < g->end;
		}
		if (shadowed)
			continue;
		if (emitted++ == SECRETS_MAX_FINDINGS) {
			s->full = 1;
			break;
		}
		json_t *rec = json_object();
		if (!rec)
			return error_set(err, -ENOMEM, "secrets: out of memory");
		record_set_str(rec, "rule", r->id);
		record_set_str(rec, "title", r->title);
		record_set_str(rec, "severity", severity_names[r->severity]);
		json_object_set_new(rec, "line", json_integer((json_int_t)f->line));
		record_set_str(rec, "match", f->shown);
		if (json_array_append_new(out, rec) < 0)
			return error_set(err, -ENOMEM, "secrets: out of memory");
	}
	return 0;
}

/* Scans the source, name for messages; size is what the file claims to
 * hold (for the limit check before reading it). */
static int scan_source(struct source *src, const char *name, uint64_t size, size_t block,
		       json_t *out, struct strata_error *err)
{
	struct scan s = { 0 };
	hs_scratch_t *scratch = NULL;
	hs_stream_t *stream = NULL;
	int r = 0;
	struct ruleset *rs = ruleset_acquire(err);
	if (!rs)
		return err->code ? err->code : -EINVAL;
	s.rs = rs;
	s.cursor_line = 1;
	s.cap = 2 * KEEP + block;
	s.buf = src->fd >= 0 ? malloc(s.cap) : NULL;
	s.win = src->fd >= 0 ? s.buf : src->mem;
	s.covered = calloc(rs->n, sizeof(*s.covered));
	s.nalloc = SECRETS_MAX_FINDINGS;
	s.found = malloc(s.nalloc * sizeof(*s.found));
	s.md = pcre2_match_data_create(OVECTOR_PAIRS, NULL);
	if ((src->fd >= 0 && !s.buf) || !s.covered || !s.found || !s.md) {
		r = error_set(err, -ENOMEM, "secrets: out of memory");
		goto out;
	}

	uint64_t limit = src->limit;
	src->limit = 0; /* the probe reads whatever the size */
	r = fill(&s, src, SECRETS_BINARY_PROBE);
	src->limit = limit;
	if (r < 0)
		goto read_failed;
	if (s.len && memchr(s.win, '\0', s.len < SECRETS_BINARY_PROBE ? s.len : SECRETS_BINARY_PROBE))
		goto out; /* binary: nothing to report */
	if (limit && (size > limit || s.len > limit)) {
		r = error_set(err, -EFBIG, "'%s' is %llu bytes, over the secrets scan limit of %llu: not scanned",
			      name, (unsigned long long)(size > s.len ? size : s.len),
			      (unsigned long long)limit);
		goto out;
	}

	if (hs_clone_scratch(rs->proto, &scratch) != HS_SUCCESS ||
	    hs_open_stream(rs->db, 0, &stream) != HS_SUCCESS) {
		r = error_set(err, -ENOMEM, "secrets: cannot allocate a Hyperscan stream");
		goto out;
	}
	for (;;) {
		r = fill(&s, src, s.cap);
		if (r < 0)
			goto read_failed;
		uint64_t end = s.base + s.len;
		/* Keep KEEP bytes read ahead so that confirmations see the context. */
		uint64_t scan_end = s.eof ? end : end - KEEP;
		while (s.scanned < scan_end && !s.full) {
			uint64_t stop = scan_end - s.scanned > block ? s.scanned + block : scan_end;
			hs_error_t e = hs_scan_stream(stream, s.win + (s.scanned - s.base),
						      (unsigned)(stop - s.scanned), 0, scratch, on_hit, &s);
			if (e != HS_SUCCESS && !(e == HS_SCAN_TERMINATED && s.full)) {
				r = error_set(err, -EIO, "'%s': hyperscan error %d", name, (int)e);
				goto out;
			}
			s.scanned = stop;
		}
		if (s.eof || s.full)
			break;
		uint64_t keep = s.scanned > KEEP ? s.scanned - KEEP : 0;
		if (keep > s.base) {
			if (s.cursor < keep)
				line_at(&s, keep);
			if (s.buf)
				memmove(s.buf, s.buf + (keep - s.base), (size_t)(end - keep));
			else
				s.win += keep - s.base;
			s.len = (size_t)(end - keep);
			s.base = keep;
		}
	}
	/* End of data: matches that needed to see it ($, boundaries). */
	hs_close_stream(stream, scratch, s.full ? NULL : on_hit, &s);
	stream = NULL;
	r = emit(&s, out, err);
	if (r == 0 && s.full)
		r = error_set(err, -E2BIG, "'%s': %d secrets found, the rest of the file not scanned",
			      name, SECRETS_MAX_FINDINGS);
	goto out;

read_failed:
	if (r == -EFBIG)
		r = error_set(err, r, "'%s' grew over the secrets scan limit of %llu: not scanned", name,
			      (unsigned long long)limit);
	else
		r = error_errno(err, r, "cannot read '%s'", name);
out:
	if (stream)
		hs_close_stream(stream, scratch, NULL, NULL);
	hs_free_scratch(scratch);
	pcre2_match_data_free(s.md);
	free(s.found);
	free(s.covered);
	free(s.buf);
	ruleset_put(rs);
	return r;
}

static size_t pick_block(uint64_t size, size_t block)
{
	if (block > (64u << 20))
		block = 64u << 20;
	if (block == 0) {
		block = BLOCK_DEFAULT;
		/* A small file needs no big window. */
		if (size + 1 < block)
			block = size + 1 < BLOCK_MIN ? BLOCK_MIN : (size_t)size + 1;
	}
	return block;
}

int secrets_scan_buffer_blocks(const char *data, size_t len, size_t block, json_t *out,
			       struct strata_error *err)
{
	struct source src = { -1, data, len, 0, 0 };
	return scan_source(&src, "<buffer>", len, pick_block(len, block), out, err);
}

int secrets_scan_buffer(const char *data, size_t len, json_t *out, struct strata_error *err)
{
	return secrets_scan_buffer_blocks(data, len, 0, out, err);
}

static int secrets_scan(const struct analyzer_file *f, json_t *out, struct strata_error *err)
{
	struct source src = { f->fd, NULL, 0, 0, f->limits ? f->limits->secrets_max_size : 0 };
	return scan_source(&src, f->path, f->size, pick_block(f->size, 0), out, err);
}

/* Every file with content: those over the limit too, so that the skip is
 * reported. An empty file has nothing to find (a million of them would be
 * a million memo keys). */
static int secrets_claims(const char *path, uint64_t size, const struct analyzer_limits *limits)
{
	(void)path;
	(void)limits;
	return size > 0;
}

const struct analyzer analyzer_secrets = {
	.name = "secrets",
	.version = 1,
	.patterns = NULL,
	.claims = secrets_claims,
	.keyed_by_name = 0,
	.scan = secrets_scan,
	.config_id = secrets_ruleset_id, /* the rule set joins the memo key */
};
