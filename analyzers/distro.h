/* distro: which distribution an image root holds, from its os-release(5)
 * file (/etc/os-release, else /usr/lib/os-release). Not an analyzer in the
 * table: the walk reads that one file and hands the bytes here, and the
 * report's "distro" object (and every deb/rpm/apk purl) comes from it. */
#ifndef STRATA_DISTRO_H
#define STRATA_DISTRO_H

#include <stddef.h>
#include <jansson.h>

#include "src/base/error.h"

/* Parses os-release text: KEY=value lines, values unquoted or in shell
 * quoting ("..." with the escapes \" \\ \$ \` and backslash-newline, '...'
 * taken literally, segments concatenated), # comments, blank lines. Lines
 * that are no assignment are skipped, as systemd does; the last assignment
 * of a key wins, as in a shell. On success *out is a new object (free it
 * with json_decref) holding those of "id", "version_id", "name",
 * "pretty_name", "version_codename" (from ID, VERSION_ID, NAME, PRETTY_NAME,
 * VERSION_CODENAME) that the file gives non-empty; it may be empty. Returns
 * 0, or -ENOMEM with *out NULL. */
int os_release_parse(const char *data, size_t len, json_t **out, struct strata_error *err);

#endif
