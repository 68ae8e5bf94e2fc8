/* rpmdb: finds the package header blobs in the three container formats of
 * the rpm database (see rpmdb.h). Every offset read from the image is
 * checked against its length before use, and every walk is bounded by the
 * image size (overflow pages and NDB blocks may each be used once), so a
 * hostile database costs time linear in its size at most. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sqlite3.h>

#include "src/base/buf.h"
#include "rpmdb.h"

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

#define BDB_HASH_MAGIC 0x061561u
#define NDB_MAGIC 0x506d7052u /* "RpmP" little-endian */

enum rpmdb_format rpmdb_detect(const void *data, size_t len)
{
	const uint8_t *p = data;
	/* The 16 bytes include the terminating NUL of the SQLite signature. */
	if (len >= 16 && !memcmp(p, "SQLite format 3", 16))
		return RPMDB_SQLITE;
	if (len >= 4 && le32(p) == NDB_MAGIC)
		return RPMDB_NDB;
	if (len >= 16 && (le32(p + 12) == BDB_HASH_MAGIC || be32(p + 12) == BDB_HASH_MAGIC))
		return RPMDB_BDB;
	return RPMDB_UNKNOWN;
}

const char *rpmdb_format_name(enum rpmdb_format format)
{
	switch (format) {
	case RPMDB_SQLITE:
		return "sqlite";
	case RPMDB_BDB:
		return "berkeley db";
	case RPMDB_NDB:
		return "ndb";
	default:
		return "unknown";
	}
}

/* --- SQLite (rpmdb.sqlite): table Packages(hnum, blob) --------------------- */

/* Progress-handler budget: aborts a query that runs far longer than a scan
 * of a database this size can (a crafted schema is the only way there). */
static int sql_progress(void *arg)
{
	uint64_t *ticks = arg;
	if (!*ticks)
		return 1;
	(*ticks)--;
	return 0;
}

static int sql_fail(struct strata_error *err, sqlite3 *db, const char *what)
{
	return error_set(err, -EBADMSG, "rpm sqlite database: %s: %s", what,
			 db ? sqlite3_errmsg(db) : "out of memory");
}

/* Refuses a Packages that is not a plain table with a stored column blob:
 * views, virtual tables, generated columns and defaults could make SQLite
 * compute rows the file does not hold. */
static int sql_check_schema(sqlite3 *db, struct strata_error *err)
{
	sqlite3_stmt *st = NULL;
	int r, tables = 0, blob_ok = 0;

	r = sqlite3_prepare_v2(db, "SELECT type, sql FROM sqlite_master "
			       "WHERE name = 'Packages' COLLATE NOCASE", -1, &st, NULL);
	if (r != SQLITE_OK)
		return sql_fail(err, db, "cannot read the schema");
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		const char *type = (const char *)sqlite3_column_text(st, 0);
		const char *sql = (const char *)sqlite3_column_text(st, 1);
		if (!type || strcmp(type, "table") || !sql || !strncasecmp(sql, "CREATE VIRTUAL", 14)) {
			sqlite3_finalize(st);
			return error_set(err, -EBADMSG, "rpm sqlite database: 'Packages' is not a plain table");
		}
		tables++;
	}
	sqlite3_finalize(st);
	if (r != SQLITE_DONE)
		return sql_fail(err, db, "cannot read the schema");
	if (!tables)
		return error_set(err, -EBADMSG, "rpm sqlite database: no 'Packages' table");

	r = sqlite3_prepare_v2(db, "PRAGMA table_xinfo('Packages')", -1, &st, NULL);
	if (r != SQLITE_OK)
		return sql_fail(err, db, "cannot read the columns of 'Packages'");
	/* Columns: cid, name, type, notnull, dflt_value, pk, hidden. */
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 1);
		if (name && !strcasecmp(name, "blob"))
			blob_ok = sqlite3_column_type(st, 4) == SQLITE_NULL &&
				  sqlite3_column_int(st, 6) == 0;
	}
	sqlite3_finalize(st);
	if (r != SQLITE_DONE)
		return sql_fail(err, db, "cannot read the columns of 'Packages'");
	if (!blob_ok)
		return error_set(err, -EBADMSG, "rpm sqlite database: 'Packages' has no stored column 'blob'");
	return 0;
}

static int sqlite_foreach(const uint8_t *data, size_t len, rpmdb_blob_fn fn, void *arg,
			  struct strata_error *err)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	unsigned char *image;
	uint64_t ticks, total = 0;
	int r;

	if (len < 512 || (uint64_t)len > (uint64_t)INT64_MAX)
		return error_set(err, -EBADMSG, "rpm sqlite database: truncated (%zu bytes)", len);
	/* rpm keeps its database in WAL mode (header bytes 18 and 19 are 2),
	 * which an in-memory database cannot open; the copy says "rollback
	 * journal" instead. The copy is SQLite's to free (FREEONCLOSE). */
	image = sqlite3_malloc64(len);
	if (!image)
		return error_set(err, -ENOMEM, "rpm sqlite database: out of memory");
	memcpy(image, data, len);
	if (image[18] == 2)
		image[18] = 1;
	if (image[19] == 2)
		image[19] = 1;

	/* ":memory:" never touches the file system; nor does the temp store. */
	r = sqlite3_open_v2(":memory:", &db, SQLITE_OPEN_READWRITE, NULL);
	if (r != SQLITE_OK) {
		sqlite3_free(image);
		r = sql_fail(err, db, "cannot open an in-memory database");
		goto out;
	}
	sqlite3_limit(db, SQLITE_LIMIT_LENGTH, len < INT_MAX / 2 ? (int)len + 65536 : INT_MAX);
	sqlite3_limit(db, SQLITE_LIMIT_ATTACHED, 0);
#ifdef SQLITE_DBCONFIG_DEFENSIVE
	sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, (int *)NULL);
#endif
#ifdef SQLITE_DBCONFIG_TRUSTED_SCHEMA
	sqlite3_db_config(db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, (int *)NULL);
#endif
#ifdef SQLITE_DBCONFIG_ENABLE_VIEW
	sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_VIEW, 0, (int *)NULL);
#endif
	sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_TRIGGER, 0, (int *)NULL);
	sqlite3_exec(db, "PRAGMA temp_store = MEMORY", NULL, NULL, NULL);
	/* A table scan takes a few VM steps per row and a row takes at least a
	 * few bytes of file: about 60 steps per byte (the handler runs every
	 * 1000 steps) plus ten million is far more than any real scan needs. */
	ticks = (uint64_t)len / 16 + 10000;
	sqlite3_progress_handler(db, 1000, sql_progress, &ticks);

	r = sqlite3_deserialize(db, "main", image, (sqlite3_int64)len, (sqlite3_int64)len,
				SQLITE_DESERIALIZE_READONLY | SQLITE_DESERIALIZE_FREEONCLOSE);
	if (r != SQLITE_OK) {
		r = sql_fail(err, db, "cannot load the database");
		goto out;
	}
	r = sql_check_schema(db, err);
	if (r < 0)
		goto out;
	r = sqlite3_prepare_v2(db, "SELECT \"blob\" FROM \"Packages\"", -1, &st, NULL);
	if (r != SQLITE_OK) {
		r = sql_fail(err, db, "cannot read 'Packages'");
		goto out;
	}
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		const void *blob = sqlite3_column_blob(st, 0);
		int n = sqlite3_column_bytes(st, 0);
		/* Stored blobs cannot add up to more than the file. */
		total += (uint64_t)(n > 0 ? n : 0);
		if (total > len) {
			r = error_set(err, -EBADMSG, "rpm sqlite database: blobs larger than the file");
			goto out;
		}
		r = fn(blob ? blob : (const void *)"", n > 0 ? (size_t)n : 0, arg);
		if (r < 0)
			goto out;
	}
	if (r != SQLITE_DONE) {
		r = sql_fail(err, db, "cannot read 'Packages'");
		goto out;
	}
	r = 0;
out:
	sqlite3_finalize(st);
	sqlite3_close(db);
	return r;
}

/* --- Berkeley DB hash (Packages) ------------------------------------------- */

/* Page header: lsn 0-7, pgno 8-11, prev_pgno 12-15, next_pgno 16-19,
 * entries 20-21, hf_offset 22-23, level 24, type 25. The metadata page
 * (page 0) has magic at 12, pagesize at 20, encrypt_alg at 24, type at 25,
 * metaflags at 26 and last_pgno at 32. */
#define BDB_PAGE_HDR 26
#define BDB_P_HASH_UNSORTED 2
#define BDB_P_OVERFLOW 7
#define BDB_P_HASHMETA 8
#define BDB_P_HASH 13
#define BDB_H_KEYDATA 1
#define BDB_H_OFFPAGE 3 /* type 1, unused 3, pgno 4, tlen 4 */
#define BDB_METAFLAG_CHKSUM 0x01

struct bdb {
	const uint8_t *data;
	int swapped;           /* big-endian file */
	uint32_t pagesize;
	uint32_t npages;       /* pages present, metadata page included */
	uint8_t *used;         /* bitmap: overflow pages already read */
	struct buf value;
};

static uint32_t bdb_u32(const struct bdb *b, const uint8_t *p)
{
	return b->swapped ? be32(p) : le32(p);
}

static uint32_t bdb_u16(const struct bdb *b, const uint8_t *p)
{
	return b->swapped ? (uint32_t)p[0] << 8 | p[1] : (uint32_t)p[1] << 8 | p[0];
}

/* Reads the overflow chain starting at pgno (tlen bytes) into b->value.
 * Each overflow page belongs to one item, so a page met twice is a loop or
 * a crafted share: both end the chain with an error. */
static int bdb_overflow(struct bdb *b, uint32_t pgno, uint32_t tlen, struct strata_error *err)
{
	uint32_t first = pgno;

	buf_reset(&b->value);
	while (pgno) {
		if (pgno >= b->npages)
			return error_set(err, -EBADMSG, "rpm berkeley db: overflow page %u is past the end",
					 pgno);
		if (b->used[pgno / 8] & (1u << (pgno % 8)))
			return error_set(err, -EBADMSG,
					 "rpm berkeley db: overflow chain at page %u meets page %u twice",
					 first, pgno);
		b->used[pgno / 8] |= (uint8_t)(1u << (pgno % 8));
		const uint8_t *pg = b->data + (size_t)pgno * b->pagesize;
		if (pg[25] != BDB_P_OVERFLOW)
			return error_set(err, -EBADMSG, "rpm berkeley db: page %u is not an overflow page",
					 pgno);
		uint32_t n = bdb_u16(b, pg + 22);
		if (n > b->pagesize - BDB_PAGE_HDR || n > tlen - b->value.len)
			return error_set(err, -EBADMSG,
					 "rpm berkeley db: overflow page %u holds more than its item", pgno);
		int r = buf_add(&b->value, pg + BDB_PAGE_HDR, n);
		if (r < 0)
			return error_set(err, r, "rpm berkeley db: out of memory");
		pgno = bdb_u32(b, pg + 16);
	}
	if (b->value.len != tlen)
		return error_set(err, -EBADMSG,
				 "rpm berkeley db: overflow chain at page %u holds %zu bytes, not %u", first,
				 b->value.len, tlen);
	return 0;
}

/* Hands each value of one hash page to fn. A damaged item is skipped, its
 * error noted in *first; returns < 0 only to stop the walk (fn said so, or
 * out of memory). */
static int bdb_page(struct bdb *b, uint32_t pgno, rpmdb_blob_fn fn, void *arg, int *first,
		    struct strata_error *err)
{
	const uint8_t *pg = b->data + (size_t)pgno * b->pagesize;
	uint32_t n = bdb_u16(b, pg + 20), bad = 0;
	int r;

	if (BDB_PAGE_HDR + 2 * n > b->pagesize || n % 2) {
		r = error_set(err, -EBADMSG, "rpm berkeley db: hash page %u has a bad entry count %u",
			      pgno, n);
		if (!*first)
			*first = r;
		return 0;
	}
	/* Entries come in pairs, key then value; items are laid out from the
	 * end of the page down, so a value ends where its key starts. */
	for (uint32_t i = 0; i < n; i += 2) {
		uint32_t end = bdb_u16(b, pg + BDB_PAGE_HDR + 2 * i);
		uint32_t off = bdb_u16(b, pg + BDB_PAGE_HDR + 2 * (i + 1));
		if (off < BDB_PAGE_HDR + 2 * n || off >= b->pagesize) {
			bad = i + 1;
			continue;
		}
		if (pg[off] == BDB_H_OFFPAGE) {
			if (off + 12 > b->pagesize) {
				bad = i + 1;
				continue;
			}
			r = bdb_overflow(b, bdb_u32(b, pg + off + 4), bdb_u32(b, pg + off + 8), err);
			if (r == -ENOMEM)
				return r;
			if (r < 0) {
				if (!*first)
					*first = r;
				continue;
			}
			r = fn(b->value.data, b->value.len, arg);
		} else if (pg[off] == BDB_H_KEYDATA) {
			if (end > b->pagesize || end <= off) {
				bad = i + 1;
				continue;
			}
			/* rpm keeps a 4-byte counter under key 0; a header
			 * is never shorter than its 8-byte intro. */
			if (end - off - 1 < 8)
				continue;
			r = fn(pg + off + 1, end - off - 1, arg);
		} else {
			continue; /* duplicate sets: rpm's Packages has none */
		}
		if (r < 0)
			return r;
	}
	if (bad) {
		r = error_set(err, -EBADMSG, "rpm berkeley db: hash page %u entry %u is out of bounds",
			      pgno, bad);
		if (!*first)
			*first = r;
	}
	return 0;
}

/* Walks every hash page in file order, as go-rpmdb does, rather than the
 * buckets: free pages are typed P_INVALID, so no stale page is read. */
static int bdb_foreach(const uint8_t *data, size_t len, rpmdb_blob_fn fn, void *arg,
		       struct strata_error *err)
{
	struct bdb b = { .data = data, .value = BUF_INIT };
	uint64_t want, have;
	int r = 0, first = 0;

	if (len < 512)
		return error_set(err, -EBADMSG, "rpm berkeley db: truncated metadata page");
	b.swapped = le32(data + 12) != BDB_HASH_MAGIC;
	b.pagesize = bdb_u32(&b, data + 20);
	if (b.pagesize < 512 || b.pagesize > 65536 || (b.pagesize & (b.pagesize - 1)))
		return error_set(err, -EBADMSG, "rpm berkeley db: bad page size %u", b.pagesize);
	if (data[25] != BDB_P_HASHMETA)
		return error_set(err, -EBADMSG, "rpm berkeley db: not a hash database (page type %u)",
				 data[25]);
	if (data[24])
		return error_set(err, -EBADMSG, "rpm berkeley db: encrypted databases are not supported");
	if (data[26] & BDB_METAFLAG_CHKSUM)
		return error_set(err, -EBADMSG, "rpm berkeley db: checksummed pages are not supported");
	want = (uint64_t)bdb_u32(&b, data + 32) + 1; /* last_pgno + 1 */
	have = len / b.pagesize;
	if (want > have)
		first = error_set(err, -EBADMSG, "rpm berkeley db: truncated: %llu of %llu pages",
				  (unsigned long long)have, (unsigned long long)want);
	else
		have = want;
	b.npages = have > UINT32_MAX ? UINT32_MAX : (uint32_t)have;
	b.used = calloc(b.npages / 8 + 1, 1);
	if (!b.used)
		return error_set(err, -ENOMEM, "rpm berkeley db: out of memory");
	buf_init(&b.value, len);

	for (uint32_t pgno = 1; pgno < b.npages; pgno++) {
		uint8_t type = data[(size_t)pgno * b.pagesize + 25];
		if (type != BDB_P_HASH && type != BDB_P_HASH_UNSORTED)
			continue;
		r = bdb_page(&b, pgno, fn, arg, &first, err);
		if (r < 0)
			break;
	}
	buf_release(&b.value);
	free(b.used);
	return r < 0 ? r : first;
}

/* --- NDB (Packages.db) ------------------------------------------------------ */

/* Little-endian throughout. File header (32 bytes): magic "RpmP", version 0,
 * generation, number of slot pages, next package index. The slot pages
 * (4096 bytes) hold 16-byte slots: magic "Slot", package index, offset and
 * count of 16-byte blocks; the first two slots are the file header. A blob
 * is: head (magic "BlbS", package index, generation, length), the header
 * blob, zero padding to a whole block minus 12, tail (Adler-32 of
 * everything from the head to the tail, length, magic "BlbE"). */
#define NDB_PAGE 4096u
#define NDB_SLOT 16u
#define NDB_BLK 16u
#define NDB_HDR 32u
#define NDB_BLOB_HEAD 16u
#define NDB_BLOB_TAIL 12u
#define NDB_SLOT_MAGIC 0x746f6c53u /* "Slot" */
#define NDB_HEAD_MAGIC 0x53626c42u /* "BlbS" */
#define NDB_TAIL_MAGIC 0x45626c42u /* "BlbE" */

static uint32_t adler32(const uint8_t *p, size_t n)
{
	uint32_t a = 1, b = 0;
	while (n) {
		/* 5552: the most bytes before b can overflow 32 bits. */
		size_t k = n < 5552 ? n : 5552;
		n -= k;
		while (k--) {
			a += *p++;
			b += a;
		}
		a %= 65521;
		b %= 65521;
	}
	return b << 16 | a;
}

/* Checks the blob of one slot; on success *blob, *bloblen is the header. */
static int ndb_blob(const uint8_t *p, uint64_t size, uint32_t pkgidx, const uint8_t **blob,
		    uint32_t *bloblen, struct strata_error *err)
{
	if (size < NDB_BLOB_HEAD + NDB_BLOB_TAIL || le32(p) != NDB_HEAD_MAGIC || le32(p + 4) != pkgidx)
		return error_set(err, -EBADMSG, "rpm ndb database: package %u: bad blob head", pkgidx);
	uint32_t n = le32(p + 12);
	uint64_t want = ((uint64_t)NDB_BLOB_HEAD + n + NDB_BLOB_TAIL + NDB_BLK - 1) / NDB_BLK * NDB_BLK;
	if (want != size)
		return error_set(err, -EBADMSG,
				 "rpm ndb database: package %u: blob of %u bytes in %llu blocks", pkgidx, n,
				 (unsigned long long)(size / NDB_BLK));
	const uint8_t *tail = p + size - NDB_BLOB_TAIL;
	if (le32(tail + 4) != n || le32(tail + 8) != NDB_TAIL_MAGIC)
		return error_set(err, -EBADMSG, "rpm ndb database: package %u: bad blob tail", pkgidx);
	if (adler32(p, size - NDB_BLOB_TAIL) != le32(tail))
		return error_set(err, -EBADMSG, "rpm ndb database: package %u: checksum mismatch", pkgidx);
	*blob = p + NDB_BLOB_HEAD;
	*bloblen = n;
	return 0;
}

static int ndb_foreach(const uint8_t *data, size_t len, rpmdb_blob_fn fn, void *arg,
		       struct strata_error *err)
{
	uint64_t npages, slotend, minblk, fileblks = len / NDB_BLK, usedblks = 0;
	int r, first = 0;

	if (len < NDB_HDR)
		return error_set(err, -EBADMSG, "rpm ndb database: truncated header");
	if (le32(data + 4) != 0)
		return error_set(err, -EBADMSG, "rpm ndb database: unsupported version %u",
				 le32(data + 4));
	npages = le32(data + 12);
	slotend = npages * NDB_PAGE;
	if (!npages || slotend > len)
		return error_set(err, -EBADMSG, "rpm ndb database: %llu slot pages in %zu bytes",
				 (unsigned long long)npages, len);
	minblk = slotend / NDB_BLK;
	for (uint64_t o = NDB_HDR; o < slotend; o += NDB_SLOT) {
		const uint8_t *s = data + o;
		if (le32(s) != NDB_SLOT_MAGIC) {
			r = error_set(err, -EBADMSG, "rpm ndb database: bad slot at offset %llu",
				      (unsigned long long)o);
			return first ? first : r;
		}
		uint32_t pkgidx = le32(s + 4), blkoff = le32(s + 8), blkcnt = le32(s + 12);
		if (!blkoff)
			continue; /* free slot */
		if (!pkgidx || !blkcnt || blkoff < minblk || (uint64_t)blkoff + blkcnt > fileblks) {
			r = error_set(err, -EBADMSG,
				      "rpm ndb database: slot of package %u points outside the file", pkgidx);
			if (!first)
				first = r;
			continue;
		}
		/* Blobs do not overlap: more blocks than the file has is a
		 * crafted file making us checksum the same bytes again. */
		usedblks += blkcnt;
		if (usedblks > fileblks) {
			r = error_set(err, -EBADMSG, "rpm ndb database: blobs overlap");
			return first ? first : r;
		}
		const uint8_t *blob = NULL;
		uint32_t bloblen = 0;
		r = ndb_blob(data + (size_t)blkoff * NDB_BLK, (uint64_t)blkcnt * NDB_BLK, pkgidx, &blob,
			     &bloblen, err);
		if (r < 0) {
			if (!first)
				first = r;
			continue;
		}
		r = fn(blob, bloblen, arg);
		if (r < 0)
			return r;
	}
	return first;
}

int rpmdb_foreach(const void *data, size_t len, rpmdb_blob_fn fn, void *arg,
		  struct strata_error *err)
{
	switch (rpmdb_detect(data, len)) {
	case RPMDB_SQLITE:
		return sqlite_foreach(data, len, fn, arg, err);
	case RPMDB_BDB:
		return bdb_foreach(data, len, fn, arg, err);
	case RPMDB_NDB:
		return ndb_foreach(data, len, fn, arg, err);
	default:
		return error_set(err, -EBADMSG,
				 "not an rpm database (no sqlite, berkeley db hash or ndb signature)");
	}
}
