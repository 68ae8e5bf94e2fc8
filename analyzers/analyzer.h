/* analyzer: the interface every analyzer implements, and the one table that
 * lists them (analyzers.c). The walk (walk.c) visits every entry of an image
 * root once; for each regular file it asks each analyzer whether it claims
 * the path and, if so, hands it the open file. An analyzer turns the file's
 * bytes into records (JSON objects) that depend on the content alone (and on
 * the base name where keyed_by_name says so), so that the walk can memoize
 * them by (analyzer, version, sha256) and never read that content again. The
 * engine (analyze.c) adds path, layer and purl to each record afterwards. */
#ifndef STRATA_ANALYZER_H
#define STRATA_ANALYZER_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "src/base/buf.h"
#include "src/base/error.h"

/* Limits for hostile content; defaults in analyzer_limits_default(). */
struct analyzer_limits {
	uint64_t max_file_size;     /* a parser reads at most this much of one file whole */
	uint64_t secrets_max_size;  /* larger files are not scanned for secrets */
	unsigned archive_depth;     /* java: archives nested deeper are not opened */
	uint64_t archive_max_bytes; /* java: decompressed bytes read from one top-level archive */
};

/* One file handed to an analyzer. */
struct analyzer_file {
	int fd;                 /* open O_RDONLY at offset 0; the scan must not close it */
	const char *path;       /* absolute inside the image: "/var/lib/dpkg/status" */
	uint64_t size;
	const struct analyzer_limits *limits;
};

/* Record types. A record with a "fact" member is not a package but a fact
 * about packages that the report joins to them (a copyright file's
 * licences, a package's file list); see each analyzer's header. Packages
 * are JSON objects with at least
 *   "type": "deb" | "rpm" | "apk" | "npm" | "python" | "gem" | "maven" | "nuget"
 *   "name", "version" (strings, "" when the input gives none)
 * plus the type's own fields (see each analyzer's header comment). Secrets are
 * objects with "rule" (id), "line" (integer, 1-based), "match" (masked). */

struct analyzer {
	const char *name;    /* "dpkg": used by --analyzers and in the memo key */
	/* NULL, or the analyzer whose name selects this one too: dpkg-copyright
	 * reads facts about the packages dpkg finds ("family": "dpkg"). */
	const char *family;
	unsigned version;    /* bump whenever the records for the same bytes change */
	/* fnmatch(3) patterns, flags 0 (so '*' also matches '/'), tried against the
	 * image-absolute path; NULL-terminated. NULL = every regular file. */
	const char *const *patterns;
	/* Optional finer test after a pattern matched (1 = claim); NULL = claim. */
	int (*claims)(const char *path, uint64_t size, const struct analyzer_limits *limits);
	/* 1 when records depend on the file's base name as well as its bytes. */
	int keyed_by_name;
	/* Appends records to the JSON array out. Returns 0, or a negative errno
	 * with err set ("malformed ..."): records appended before the failure are
	 * kept and the message becomes a warning in the report. */
	int (*scan)(const struct analyzer_file *f, json_t *out, struct strata_error *err);
	/* Optional: a short id of configuration that changes the records (a
	 * rule set); it joins the version in the memo key. */
	const char *(*config_id)(void);
};

/* Every analyzer, in report order; NULL-terminated. */
extern const struct analyzer *const analyzers[];
const struct analyzer *analyzer_find(const char *name);
void analyzer_limits_default(struct analyzer_limits *l);

/* Reads the whole file into out (reset first); -EFBIG with err set when it is
 * larger than max bytes. */
int analyzer_read_all(const struct analyzer_file *f, uint64_t max, struct buf *out,
		      struct strata_error *err);

/* Reads the whole file (up to f->limits->max_file_size) and hands it to
 * parse: the scan of every analyzer whose parser takes a buffer. */
int analyzer_parse_whole(const struct analyzer_file *f,
			 int (*parse)(const char *data, size_t len, json_t *out, struct strata_error *err),
			 json_t *out, struct strata_error *err);

/* A new JSON string of s[0..len): as it is when it is UTF-8, else with every
 * byte from 0x80 up as '?'. NULL when out of memory. */
json_t *record_string(const char *s, size_t len);
/* Helpers for building records: set key to a copy of s (or of the first len
 * bytes of s), skipping NULL. */
void record_set_str(json_t *rec, const char *key, const char *s);
void record_set_strn(json_t *rec, const char *key, const char *s, size_t len);
/* A new package record {"type": type, "name": "", "version": ""}. */
json_t *record_package(const char *type);

#endif
