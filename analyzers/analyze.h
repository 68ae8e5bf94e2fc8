/* analyze: the engine behind `strata analyze`. Walks an image root once,
 * dispatches each regular file to the analyzers that claim it, reuses the
 * records memoized for the same (analyzer, version, sha256), runs the rest
 * on a pool of threads, and assembles the report (strata-report/1, see
 * strata-analyze(1)). */
#ifndef STRATA_ANALYZE_H
#define STRATA_ANALYZE_H

#include <signal.h>

#include <jansson.h>

#include "analyzer.h"
#include "src/base/digest.h"
#include "src/base/error.h"
#include "relate.h"
#include "report.h"
#include "walk.h"

#define ANALYZE_MAX 32

/* Where memoized records live (the store daemon, for strata). Keys are
 * strings; values are JSON objects {"records": [...], "error"?: "..."}. */
struct memo_ops {
	void *ctx;
	/* *found: a new object holding the keys (of the array keys) that are stored. */
	int (*lookup)(void *ctx, json_t *keys, json_t **found, struct strata_error *err);
	/* NULL: results are looked up, not stored (a caller the daemon does
	 * not let write the shared memo). */
	int (*store)(void *ctx, json_t *results, struct strata_error *err);
};

struct analyze_opts {
	const struct analyzer *enabled[ANALYZE_MAX + 1]; /* NULL-terminated */
	int files;                      /* the files section (every entry, with digests) */
	unsigned threads;               /* 0: one per CPU */
	struct analyzer_limits limits;
	const struct memo_ops *memo;    /* NULL: nothing memoized */
	volatile sig_atomic_t *stop;    /* set by a signal handler: give up with -EINTR */
};

/* Every analyzer and the files section, default limits. */
void analyze_opts_init(struct analyze_opts *o);
/* Restricts o to a comma-separated list of names ("files", "packages" for
 * every package analyzer, or an analyzer's name). -EINVAL with err set on an
 * unknown name. */
int analyze_select(struct analyze_opts *o, const char *list, struct strata_error *err);
/* Whether analyzer a reads the file at path (image-absolute) of size bytes:
 * one of its patterns matches and its claims hook agrees (limits may be
 * NULL for the hook's defaults, as the hook allows). */
int analyze_claims(const struct analyzer *a, const char *path, uint64_t size, const struct analyzer_limits *l);
/* What the report depends on besides the image: analyzer names, versions and
 * configuration, "files,dpkg@1,...". malloc'd. */
char *analyze_config_id(const struct analyze_opts *o);
/* The memo key of a's records for a file of that content (and base name,
 * for an analyzer keyed by name): "secrets@1+<rules>/<sha256 hex>".
 * malloc'd, NULL when out of memory. */
char *analyze_memo_key(const struct analyzer *a, const uint8_t sha256[SHA256_LEN], const char *path);
/* The memo key of a's layer summary for layer (a diff_id): one entry that
 * stands for a's records of every file of the layer that a claims, so that
 * one lookup answers thousands of files. Its value is
 *   {"found": {"<sha256 hex>": [records], ...}, "unscanned": {"<sha256 hex>": 1, ...}}
 * a content in "found" has those records, one in "unscanned" has no result
 * here (look it up or scan it), any other content of the layer has none.
 * The daemon's secrets prescan writes them (daemon-prescan.h). malloc'd,
 * NULL when out of memory. */
char *analyze_layer_summary_key(const struct analyzer *a, const char *layer);

/* The files section of an analysis: the walk's entries, turned into JSON
 * one record at a time by the report writers (a million files as JSON
 * objects would take gigabytes). */
struct analyze_files {
	int present;            /* the files section was selected */
	struct walk_result walk;
	struct relate_owners owners; /* which packages own each entry */
};

/* The records of files for the report writers; valid while files is. */
void analyze_files_iter(const struct analyze_files *files, struct report_files *out);
void analyze_files_release(struct analyze_files *files);

/* Analyzes the tree under rootfd and sets "distro", "analyzers", "files"
 * (when selected: an empty array holding the place of the entries, which
 * go to *files), "packages", "secrets", "warnings" and "stats" in report.
 * Release *files with analyze_files_release, whatever the result. A file
 * an analyzer cannot read or parse is a warning, not a failure. */
int analyze_root(int rootfd, const struct analyze_opts *o, json_t *report, struct analyze_files *files,
		 struct strata_error *err);

#endif
