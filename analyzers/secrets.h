/* secrets: finds credentials (cloud keys, tokens, private keys, passwords in
 * assignments) in the text files of an image.
 *
 * Records: {"rule": "aws-access-key-id", "title": "AWS access key ID",
 *           "severity": "CRITICAL"|"HIGH"|"MEDIUM"|"LOW", "line": 3,
 *           "match": "AKIA************WXYZ"}
 * "line" is the 1-based line where the match starts; "match" is the matched
 * text cut at its first line break and at SECRETS_SHOW_MAX bytes (the text
 * before the secret part at 48 bytes, "..." marking a cut), with the
 * secret part masked: a secret of 20 bytes or more keeps its first and last
 * 4 bytes (at most 32 '*' between), a shorter one only its first 2. Text after
 * the secret part (a closing quote, a boundary character) is not shown.
 *
 * Engine: the whole rule set is one Hyperscan streaming database, fed the
 * file in blocks (files are never read whole). Every Hyperscan hit is
 * confirmed, and its start and secret group found, by PCRE2 on a window of
 * SECRETS_MAX_MATCH bytes either side of the hit, so a match is at most
 * SECRETS_MAX_MATCH bytes long and may span lines. Files with a NUL byte in
 * their first 8 KiB are binary and not scanned (no records, no error). A text
 * file over limits->secrets_max_size is not scanned either, and the scan
 * says so with an error (a warning in the report). A file stops being
 * scanned after SECRETS_MAX_FINDINGS findings, with an error saying so.
 *
 * Allowlist (not findings, whatever the rule): a secret part containing
 * "example" or "xxxx" (any case), "your_", "your-", "placeholder",
 * "changeme", "redacted", "${" or "{{"; one starting with '$' followed by a
 * letter, '_', '{' or '(' ($VAR, ${VAR}, $(cmd)), with '%(' or '%{', or
 * starting with '<' and containing '>' (<your-token>); the JWT of jwt.io's
 * documentation and the tokens of RFC 6749's examples. AWS's documentation
 * keys (AKIAIOSFODNN7EXAMPLE,
 * wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY) fall under "example".
 * Generic rules (SECRETS_GENERIC: password = "...", "api_key": "...",
 * SECRET_KEY=...) also skip values made of one repeated character
 * ("********"), values that name an environment variable (DB_PASSWORD),
 * the bare words none, null, undefined, true, false, values containing
 * "password", "passwd", "secret", "token", "dummy", "sample" or "****" (a
 * value repeating its key's words is a test value), values that start with
 * '/', "./" or "~/" (the file that holds the secret); and a generic
 * finding whose secret overlaps a specific rule's finding is dropped.
 * Values shorter than 8 bytes never match a generic rule.
 *
 * Rules file (secrets_load_rules): UTF-8 text, one rule per line,
 *     id<TAB>severity<TAB>title<TAB>regex
 * '#' starts a comment line; blank lines are skipped; a trailing CR is
 * ignored. id: [a-z0-9][a-z0-9._-]* (at most 64 bytes); severity: CRITICAL,
 * HIGH, MEDIUM or LOW (any case); title: free text; regex: everything after
 * the third tab, in PCRE syntax as Hyperscan accepts it, matched with '^' and
 * '$' at line boundaries, case-sensitive unless it says (?i). An optional
 * named group (?<secret>...) marks the part that is masked (default: the
 * whole match). Lookarounds and backreferences are allowed (Hyperscan then
 * compiles an approximation that PCRE2 confirms). A regex that can match the
 * empty string is refused. A rule whose id is already in the set replaces
 * that rule. */
#ifndef STRATA_SECRETS_H
#define STRATA_SECRETS_H

#include <stddef.h>
#include <jansson.h>

#include "analyzer.h"
#include "src/base/error.h"

#define SECRETS_MAX_FINDINGS 100 /* per file */
#define SECRETS_MAX_MATCH 4096   /* bytes; longer matches are not found */
#define SECRETS_SHOW_MAX 100     /* bytes of "match" in a record */
#define SECRETS_BINARY_PROBE 8192u /* a NUL in these first bytes: binary, not scanned */

enum secrets_severity { SECRETS_LOW, SECRETS_MEDIUM, SECRETS_HIGH, SECRETS_CRITICAL };

/* Rule flag: a loose "name = value" rule; stricter allowlist, and it yields
 * to a specific rule that found the same bytes. */
#define SECRETS_GENERIC 1u

struct secrets_rule {
	const char *id;
	const char *title;
	enum secrets_severity severity;
	const char *regex;
	unsigned flags;
};

/* The built-in rule table (secrets-rules.c). */
extern const struct secrets_rule secrets_builtin_rules[];
extern const size_t secrets_builtin_count;

extern const struct analyzer analyzer_secrets;

/* Reads rules from the file at path and makes them the active set: added to
 * the active rules (replace = 0; a rule with an existing id replaces it) or
 * instead of them (replace = 1). path NULL restores the built-in set. On
 * error (unreadable file, bad line, bad regex: "'FILE':LINE: ..."), the
 * active set is unchanged. Safe while scans run: a scan keeps the set it
 * started with. */
int secrets_load_rules(const char *path, int replace, struct strata_error *err);

/* Whether confirmations use PCRE2's JIT (the default; the interpreter is
 * the fallback). A process that must never map memory writable and
 * executable (the daemon, under systemd's MemoryDenyWriteExecute) turns it
 * off before its first scan. */
void secrets_use_jit(int on);

/* A short hash (16 hex digits) of the active rule set; it changes whenever
 * the rules do (analyzer_secrets.config_id, so it joins the memo key). The
 * string is static and valid until the next secrets_load_rules. Builds the
 * built-in set on first use. */
const char *secrets_ruleset_id(void);

/* Scans len bytes at data, appending records to the JSON array out, as the
 * analyzer does for a file (binary skip, finding cap; no size limit).
 * Returns 0 or a negative errno with err set. */
int secrets_scan_buffer(const char *data, size_t len, json_t *out, struct strata_error *err);
/* The same, handing the stream at most block bytes at a time (0: the
 * default), so that tests can put matches across block boundaries. */
int secrets_scan_buffer_blocks(const char *data, size_t len, size_t block, json_t *out,
			       struct strata_error *err);

#endif
