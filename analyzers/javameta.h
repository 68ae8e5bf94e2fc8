/* javameta: readers for the two metadata files a Java archive carries,
 * META-INF/MANIFEST.MF and Maven's pom.properties. Pure buffer functions:
 * bytes in, attributes out; no I/O. Both are lenient, as a scanner must
 * be: what cannot be read is skipped, never refused, and time and memory
 * stay linear in the input. */
#ifndef STRATA_JAVAMETA_H
#define STRATA_JAVAMETA_H

#include <stddef.h>

/* Called once per manifest attribute, in file order. section is 0 for the
 * main section and 1, 2, ... for each later section (a blank line ends a
 * section; runs of blank lines and lines that give no attribute do not
 * open empty ones). key and value are NUL-terminated, trimmed, and valid
 * only during the call. A negative return stops the parse and is passed
 * back. */
typedef int (*java_manifest_fn)(void *ctx, unsigned section, const char *key,
				const char *value);

/* Reads a JAR manifest the way syft does, which is more lenient than
 * java.util.jar.Manifest: lines end at LF, CRLF or CR; a line that is
 * empty or all white space ends the section; a line starting with a space
 * continues the previous attribute's value (its leading white space
 * removed; a continuation after a section break is ignored); any other
 * line is "key: value" split at its first ':' and both sides trimmed, and
 * is skipped when it has no ':' or an empty key (a continuation after such
 * a skipped line still extends the attribute before it). Returns 0,
 * -ENOMEM, or fn's negative return. */
int java_manifest_parse(const char *data, size_t len, java_manifest_fn fn, void *ctx);

/* Called once per property, in file order (a later duplicate key comes
 * again; java.util.Properties keeps the last). key and value are
 * NUL-terminated, escapes resolved, valid only during the call. */
typedef int (*java_properties_fn)(void *ctx, const char *key, const char *value);

/* Reads a .properties file with java.util.Properties.load's rules: lines
 * end at LF, CRLF or CR; leading white space (space, tab, form feed) is
 * skipped; '#' or '!' first makes a comment; a line ending in an odd
 * number of backslashes continues on the next (whose leading white space
 * is skipped); the key ends at the first unescaped '=', ':' or white
 * space, and white space and one '='/':' after it are skipped; escapes
 * \t \n \r \f \uXXXX (as UTF-8) and \<c> (= c) are resolved. Unlike the
 * JDK (ISO-8859-1), bytes >= 0x80 are passed through as they are, so a
 * UTF-8 file reads as UTF-8; a malformed \u escape is kept literally
 * instead of failing. An escaped or raw NUL ends the string it is in.
 * Returns 0, -ENOMEM, or fn's negative return. */
int java_properties_parse(const char *data, size_t len, java_properties_fn fn, void *ctx);

/* Maven coordinates from a pom.properties; NULL where the file gives none.
 * The strings are malloc'd and owned by the struct: java_pom_release frees
 * them (and accepts a zeroed or already released struct). */
struct java_pom {
	char *group_id;
	char *artifact_id;
	char *version;
};

/* Fills out (which the caller zeroes first) with the last groupId,
 * artifactId and version keys of the file. Returns 0 or -ENOMEM. */
int java_pom_properties_parse(const char *data, size_t len, struct java_pom *out);
void java_pom_release(struct java_pom *p);

/* Called for each <license> of a pom.xml's <licenses>, with its <name> and
 * <url> texts ("" when absent; never both). */
typedef int (*java_license_fn)(void *ctx, const char *name, const char *url);

/* Reads the <licenses> of a pom.xml: the first such element outside
 * comments, its <license> children in order; entities and CDATA resolved,
 * white space trimmed. No DTD, no namespaces: a pom is read as text, in one
 * pass. Returns 0, -ENOMEM or fn's negative return. */
int java_pom_licenses(const char *data, size_t len, java_license_fn fn, void *ctx);

#endif
