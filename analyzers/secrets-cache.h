/* secrets-cache: keeps the compiled Hyperscan databases of secret rule sets
 * on disk, so that a run loads its rules in about a millisecond instead of
 * compiling them (tens of milliseconds for the built-in set).
 *
 * Where: $XDG_CACHE_HOME/strata/, else $HOME/.cache/strata/ (the directory
 * made 0700; it is used only when it is a real directory owned by the user,
 * not writable by others), one file per rule set, secrets-<key>.hsdb, 0600.
 * The key is the sha256 of everything the compilation depends on: the
 * expressions, their flags and ids, the mode, Hyperscan's version string and
 * the host's platform (CPU features, tuning). A file holds a header (magic,
 * format version, payload length, the key, the payload's sha256) and the
 * serialized database; a file that fails any check is ignored, and replaced
 * by the next compilation. Files are written to a temporary name and renamed
 * into place, never through a symlink; nothing is fsynced (a file that a
 * crash cut short fails its checks). Entries not used for 30 days are
 * removed when a new one is written.
 *
 * The cache is best effort: when it cannot be used (no HOME, a read-only or
 * full disk, a foreign directory) the rules are compiled as without it. It
 * is off when STRATA_NO_HSDB_CACHE is set to anything but "" or "0". With
 * debug logging (-vv), each lookup says whether it hit. */
#ifndef STRATA_SECRETS_CACHE_H
#define STRATA_SECRETS_CACHE_H

#include <hs.h>

/* hs_compile_multi() with platform NULL (the host), through the cache: a
 * database stored under the same key is loaded, otherwise the expressions
 * are compiled and the result stored. Same arguments and results as
 * hs_compile_multi(); *db is freed with hs_free_database(), *error with
 * hs_free_compile_error(). */
hs_error_t secrets_cache_compile(const char *const *exprs, const unsigned *flags, const unsigned *ids,
				 unsigned n, unsigned mode, hs_database_t **db,
				 hs_compile_error_t **error);

#endif
