/* util: small helpers shared by the core — strings, paths, files, time. */
#ifndef STRATA_UTIL_H
#define STRATA_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Returned strings are malloc'd: free() them. NULL on allocation failure. */
char *str_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *path_join(const char *a, const char *b);
/* s as buf_add_visible shows it (buf.h): safe for a terminal and one line.
 * NULL s gives "". */
char *str_visible(const char *s);

/* mkdir -p; 0 or negative errno. */
int mkdir_p(const char *path, unsigned mode);
/* Writes data to name in the directory dirfd (AT_FDCWD: name is a path)
 * through "<name>.<random>.tmp" (O_EXCL, never through a symlink), fsync
 * when sync is set, then rename: a reader sees the old file, the new one or
 * none, never half of one. 0 or negative errno (the temporary is removed). */
int write_file_atomic_at(int dirfd, const char *name, const void *data, size_t len, unsigned mode, int sync);
/* Reads a whole regular file, at most max bytes (-EFBIG past it; -EBADFD
 * when it is not a regular file). *out is malloc'd, NUL-terminated; free()
 * it. */
int read_file(const char *path, size_t max, char **out, size_t *len);
int fsync_dir(const char *path);
/* Removes a directory tree (no symlinks followed). */
int rm_rf(const char *path);

uint64_t now_ns(void);            /* CLOCK_MONOTONIC */
int64_t now_unix(void);           /* CLOCK_REALTIME, seconds */
/* "2026-11-22T15:08:27Z" into out (at least 32 bytes). */
void format_rfc3339(int64_t unix_seconds, char *out, size_t outlen);
/* "12.3 MiB" into out (at least 16 bytes). */
void format_size(uint64_t bytes, char *out, size_t outlen);

#endif
