/* rpm: installed rpm packages, read from the rpm database (any of its three
 * formats, see rpmdb.h) under /var/lib/rpm, /usr/lib/sysimage/rpm or
 * /usr/share/rpm. Records:
 *   {"type": "rpm", "name": NAME, "version": "[EPOCH:]VERSION-RELEASE",
 *    "epoch": EPOCH (integer, only when the header has one),
 *    "rpm_version": VERSION, "release": RELEASE, "arch": ARCH,
 *    "sourcerpm": SOURCERPM, "license": LICENSE, "vendor": VENDOR,
 *    "licenses": (see license.h), "provides": [PROVIDENAME...],
 *    "requires": [REQUIRENAME..., rpmlib() features left out],
 *    "files": [the paths the package installs, %ghost ones left out],
 *    "file_digests": [hex FILEDIGESTS, "" for entries without and for
 *                     %config files],
 *    "file_digest_algo": 1 (md5) | 2 (sha1) | 8 (sha256) ...}
 * where all but name and version are present only when the header has
 * them. The gpg-pubkey pseudo-packages (imported signing keys) are not
 * reported. */
#ifndef STRATA_RPM_H
#define STRATA_RPM_H

#include <stddef.h>
#include <jansson.h>

#include "analyzer.h"

extern const struct analyzer analyzer_rpm;

/* Parses one rpm header blob as the database stores it (no lead, no magic:
 * index count, data length, 16-byte index entries, data store; all
 * big-endian) into a new package record in *rec (the caller json_decref()s
 * it). Returns 0, or -EBADMSG with err set and *rec NULL. */
int rpm_header_parse(const void *blob, size_t len, json_t **rec, struct strata_error *err);

/* Appends a record for every package of the rpm database image
 * data[0..len) to the array out, skipping gpg-pubkey. A damaged package is
 * skipped and the others still read; the first problem is then returned
 * (negative errno, err set). Returns 0 when all went well. */
int rpmdb_parse(const void *data, size_t len, json_t *out, struct strata_error *err);

#endif
