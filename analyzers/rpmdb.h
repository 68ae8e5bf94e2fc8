/* rpmdb: the containers of the rpm package database. An installed-package
 * database is one of three formats, told apart by content alone: SQLite
 * (rpmdb.sqlite, rpm >= 4.16), Berkeley DB hash (Packages, older rpm) and
 * NDB (Packages.db, SUSE). Each holds one rpm header blob per package; this
 * module finds the blobs, rpm.c reads them. Pure: bytes in, blobs out; no
 * file is opened or created. */
#ifndef STRATA_RPMDB_H
#define STRATA_RPMDB_H

#include <stddef.h>

#include "src/base/error.h"

enum rpmdb_format {
	RPMDB_UNKNOWN = 0,
	RPMDB_SQLITE,
	RPMDB_BDB,
	RPMDB_NDB,
};

/* The format of the database image data[0..len), by its magic numbers. */
enum rpmdb_format rpmdb_detect(const void *data, size_t len);
/* "sqlite", "berkeley db", "ndb" or "unknown"; a static string. */
const char *rpmdb_format_name(enum rpmdb_format format);

/* Called once per package header blob; blob is valid only during the call.
 * Returns 0 to go on, or a negative errno to stop the walk (which then
 * returns that value; the callback sets err itself). */
typedef int (*rpmdb_blob_fn)(const void *blob, size_t len, void *arg);

/* Hands every package header blob of the database image data[0..len) to fn,
 * in the database's own order. A blob that cannot be read (bad checksum,
 * broken overflow chain) is skipped and the walk goes on; the first such
 * problem is then returned (negative errno, err set) after the walk, so the
 * blobs before and after it still reach fn. Returns 0 when every blob was
 * read; -EBADMSG when data is not an rpm database or is damaged; -ENOMEM. */
int rpmdb_foreach(const void *data, size_t len, rpmdb_blob_fn fn, void *arg,
		  struct strata_error *err);

#endif
