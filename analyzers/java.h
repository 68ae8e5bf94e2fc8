/* java: Maven artifacts in Java archives (*.jar, *.war, *.ear, *.par, any
 * case), nested archives included (Spring Boot's BOOT-INF/lib/x.jar, a
 * war's WEB-INF/lib/y.jar, ...). The archive is read with libarchive from
 * the fd, never extracted; nested archives are read into memory, bounded
 * by limits->max_file_size each, limits->archive_max_bytes decompressed
 * bytes for the whole top-level file, and limits->archive_depth levels.
 *
 * Rows, per archive (tests/vectors/README.md, "java, archives"):
 *  - every entry named pom.properties (anywhere) with a non-empty
 *    artifactId and version gives a row;
 *  - when none of the archive's own pom.properties rows is the archive
 *    itself (its file name is not "<artifactId>-<version>.<ext>"), the
 *    main section of META-INF/MANIFEST.MF gives one row when it names both
 *    an artifactId and a version (trivy's offline rules: groupId from
 *    Implementation-Vendor-Id, else Bundle-SymbolicName up to its last dot,
 *    else Implementation-Vendor, else Specification-Vendor; artifactId from
 *    Implementation-Title, else Specification-Title, else Bundle-Name;
 *    version from Implementation-Version, else Specification-Version, else
 *    Bundle-Version);
 *  - failing that too, a file name "<name>-<version>.<ext>" (split at the
 *    first '-' followed by a digit) gives a row with an empty groupId and
 *    evidence "(file name)", as syft derives names from file names.
 * Rows of nested archives follow those of the archive holding them.
 *
 * Records: {"type": "maven", "group" ("" when unknown), "name" (the
 * artifactId), "version", "evidence" (the path of the pom.properties or
 * MANIFEST.MF inside the scanned file, or "(file name)", with "!/" between
 * nesting levels: "BOOT-INF/lib/x.jar!/META-INF/maven/g/x/pom.properties"),
 * "archive" ("" for the scanned file itself, else the nested archive's path
 * inside it, "!/"-joined: "BOOT-INF/lib/x.jar"), "own": true on the row
 * that is the archive itself (the one its file name names, its single
 * pom.properties, or the manifest's or file name's row): the report says
 * it CONTAINS the archive's other rows and those of the archives nested
 * in it; "licenses" (license.h)}. The records depend on the scanned
 * file's base name (keyed_by_name). */
#ifndef STRATA_JAVA_H
#define STRATA_JAVA_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "analyzer.h"
#include "src/base/error.h"

struct archive;

extern const struct analyzer analyzer_java;

/* Walks the zip archive data[0..len) as the analyzer walks a file named
 * name (its base name decides the archive's own artifact; NULL for none)
 * and appends the records to out. Returns 0, or a negative errno with err
 * set to the first problem (a malformed archive, an entry over a limit, an
 * archive nested too deep, the byte budget used up): the records found
 * before and, where the walk could go on, after it are kept. */
int java_archive_parse(const void *data, size_t len, const char *name,
		       const struct analyzer_limits *limits, json_t *out,
		       struct strata_error *err);

/* A libarchive zip reader over an open fd, reading with pread(2) (the fd's
 * offset is left alone) and seeking, so that only the central directory and
 * the entries asked for are read. Shared with the nuget analyzer. */
struct java_zip;

/* Returns a reader (free it with java_zip_free), or NULL with err set when
 * the file is not a zip archive or memory runs out. */
struct java_zip *java_zip_open_fd(int fd, uint64_t size, struct strata_error *err);
/* The libarchive handle, owned by z. */
struct archive *java_zip_archive(struct java_zip *z);
/* Accepts NULL. */
void java_zip_free(struct java_zip *z);
/* libarchive's last message for a, in buf (size bytes), first letter
 * lowercased as strata's messages are; returns buf. */
const char *java_zip_error(struct archive *a, char *buf, size_t size);

#endif
