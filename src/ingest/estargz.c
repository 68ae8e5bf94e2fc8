/* estargz: the footer and the TOC of an eStargz layer (estargz.h). */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <zlib.h>

#include "estargz.h"
#include "src/store/entry.h"

#define TOC_NAME "stargz.index.json"
#define PREFETCH_LANDMARK ".prefetch.landmark"

static int parse_offset(const char *p, uint64_t *out)
{
	uint64_t v = 0;
	for (int i = 0; i < 16; i++) {
		char c = p[i];
		int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
		if (d < 0)
			return -EINVAL;
		v = v << 4 | (uint64_t)d;
	}
	if (memcmp(p + 16, "STARGZ", 6))
		return -EINVAL;
	*out = v;
	return 0;
}

int estargz_footer(const uint8_t *tail, size_t n, uint64_t *toc_off, struct strata_error *err)
{
	const uint8_t *p;

	/* eStargz: XLEN 26, subfield 'S' 'G' of 22 bytes. */
	if (n >= ESTARGZ_FOOTER) {
		p = tail + n - ESTARGZ_FOOTER;
		if (p[0] == 0x1f && p[1] == 0x8b && p[2] == 8 && (p[3] & 4) && p[10] == 26 &&
		    p[11] == 0 && p[12] == 'S' && p[13] == 'G' && p[14] == 22 && p[15] == 0 &&
		    parse_offset((const char *)p + 16, toc_off) == 0)
			return 0;
	}
	/* Legacy stargz: XLEN 22, the subfield bytes as the whole extra field. */
	if (n >= 47) {
		p = tail + n - 47;
		if (p[0] == 0x1f && p[1] == 0x8b && p[2] == 8 && (p[3] & 4) && p[10] == 22 &&
		    p[11] == 0 && parse_offset((const char *)p + 12, toc_off) == 0)
			return 0;
	}
	return error_set(err, -EINVAL, "not an eStargz layer: no stargz footer at the end of the blob");
}

/* Gunzips one member into out (at most ESTARGZ_TOC_MAX bytes). */
static int gunzip(const uint8_t *p, size_t n, struct buf *out)
{
	z_stream z;
	int ret;

	memset(&z, 0, sizeof(z));
	if (inflateInit2(&z, 15 + 16) != Z_OK)
		return -ENOMEM;
	z.next_in = (Bytef *)p;
	z.avail_in = (uInt)n;
	do {
		if (out->len + 65536 > ESTARGZ_TOC_MAX + 1024) {
			ret = Z_MEM_ERROR;
			break;
		}
		if (buf_grow(out, 65536) < 0) {
			ret = Z_MEM_ERROR;
			break;
		}
		z.next_out = (Bytef *)out->data + out->len;
		z.avail_out = 65536;
		ret = inflate(&z, Z_NO_FLUSH);
		buf_setlen(out, out->len + (65536 - z.avail_out));
	} while (ret == Z_OK);
	inflateEnd(&z);
	return ret == Z_STREAM_END ? 0 : -EBADMSG;
}

/* The JSON inside the TOC's tar: the first entry, named stargz.index.json. */
static int toc_json(const struct buf *tar, const char **json, size_t *len)
{
	const char *h = tar->data;
	char size[13];
	uint64_t sz;
	char *end;

	if (tar->len < 512 || strncmp(h, TOC_NAME, sizeof(TOC_NAME)))
		return -EBADMSG;
	memcpy(size, h + 124, 12);
	size[12] = '\0';
	sz = strtoull(size, &end, 8);
	if (end == size || sz > ESTARGZ_TOC_MAX || sz > tar->len - 512)
		return -EBADMSG;
	*json = h + 512;
	*len = (size_t)sz;
	return 0;
}

static int64_t parse_time(const char *s)
{
	struct tm tm;
	const char *rest;

	if (!s || !*s)
		return 0;
	memset(&tm, 0, sizeof(tm));
	rest = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!rest)
		return 0;
	int64_t t = (int64_t)timegm(&tm);
	while (*rest == '.' || (*rest >= '0' && *rest <= '9'))
		rest++;
	if ((*rest == '+' || *rest == '-') && strlen(rest) >= 6) {
		int sign = *rest == '-' ? -1 : 1;
		int hh = atoi(rest + 1), mm = atoi(rest + 4);
		t -= sign * (hh * 3600 + mm * 60);
	}
	return t;
}

static int parse_digest(json_t *v, uint8_t out[SHA256_LEN])
{
	const char *s = json_string_value(v);
	return s && digest_parse(s, out) == 0 ? 0 : -EBADMSG;
}

static int add_xattrs(json_t *obj, struct buf *out)
{
	const char *name;
	json_t *v;
	json_object_foreach(obj, name, v) {
		const char *b64 = json_string_value(v);
		size_t bl;
		if (!b64)
			return -EBADMSG;
		bl = strlen(b64);
		unsigned char *raw = malloc(bl / 4 * 3 + 3);
		if (!raw)
			return -ENOMEM;
		int n = bl ? EVP_DecodeBlock(raw, (const unsigned char *)b64, (int)bl) : 0;
		if (n < 0 || bl % 4) {
			free(raw);
			return -EBADMSG;
		}
		if (bl >= 1 && b64[bl - 1] == '=')
			n--;
		if (bl >= 2 && b64[bl - 2] == '=')
			n--;
		int r = entry_xattr_add(out, name, raw, (size_t)n);
		free(raw);
		if (r < 0)
			return -ENOMEM;
	}
	return 0;
}

static const struct { const char *name; enum estargz_type type; } types[] = {
	{ "dir", ESTARGZ_DIR }, { "reg", ESTARGZ_REG }, { "symlink", ESTARGZ_SYMLINK },
	{ "hardlink", ESTARGZ_HARDLINK }, { "char", ESTARGZ_CHAR }, { "block", ESTARGZ_BLOCK },
	{ "fifo", ESTARGZ_FIFO },
};

static uint64_t num(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	return json_is_integer(v) && json_integer_value(v) > 0 ? (uint64_t)json_integer_value(v) : 0;
}

/* Adds a chunk (from a "reg" or "chunk" entry) to the file e. */
static int add_chunk(struct estargz_entry *e, json_t *o)
{
	struct estargz_chunk c = { .blob_off = num(o, "offset"), .file_off = num(o, "chunkOffset") };
	struct estargz_chunk *nc;
	if (parse_digest(json_object_get(o, "chunkDigest"), c.digest) < 0)
		return -ENOKEY;
	if (c.file_off != (e->nchunks ? e->chunks[e->nchunks - 1].file_off + e->chunks[e->nchunks - 1].size : 0))
		return -EBADMSG;
	c.size = num(o, "chunkSize");
	if (c.size == 0 || c.file_off + c.size > e->size)
		c.size = e->size - c.file_off; /* zero: to the end of the file */
	if (c.size == 0 || c.blob_off == 0)
		return -EBADMSG;
	nc = realloc(e->chunks, (e->nchunks + 1) * sizeof(*nc));
	if (!nc)
		return -ENOMEM;
	e->chunks = nc;
	e->chunks[e->nchunks++] = c;
	return 0;
}

static int parse_entries(json_t *root, struct estargz_toc *t, const char **why)
{
	json_t *ents = json_object_get(root, "entries"), *o;
	size_t i;

	if (!json_is_integer(json_object_get(root, "version")) || !json_is_array(ents)) {
		*why = "no version or entries";
		return -EBADMSG;
	}
	t->e = calloc(json_array_size(ents) + 1, sizeof(*t->e));
	if (!t->e)
		return -ENOMEM;
	json_array_foreach(ents, i, o) {
		const char *name = json_string_value(json_object_get(o, "name"));
		const char *type = json_string_value(json_object_get(o, "type"));
		struct estargz_entry *e;
		size_t k;
		int r;

		if (!name || !type) {
			*why = "an entry without a name or type";
			return -EBADMSG;
		}
		if (!strcmp(type, "chunk")) {
			e = t->n ? &t->e[t->n - 1] : NULL;
			if (!e || e->type != ESTARGZ_REG || strcmp(e->name, name)) {
				*why = "a chunk that follows no file of its name";
				return -EBADMSG;
			}
			if ((r = add_chunk(e, o)) < 0) {
				*why = r == -ENOKEY ? "a chunk without chunkDigest (stargz, not eStargz)"
						    : "a chunk out of place";
				return r == -ENOMEM ? r : -EBADMSG;
			}
			continue;
		}
		for (k = 0; k < sizeof(types) / sizeof(types[0]) && strcmp(types[k].name, type); k++)
			;
		if (k == sizeof(types) / sizeof(types[0])) {
			*why = "an entry of an unknown type";
			return -EBADMSG;
		}
		e = &t->e[t->n++];
		buf_init(&e->xattrs, 0);
		e->type = types[k].type;
		if (!(e->name = strdup(name)))
			return -ENOMEM;
		e->size = num(o, "size");
		e->mtime = parse_time(json_string_value(json_object_get(o, "modtime")));
		e->mode = (uint32_t)(num(o, "mode") & 07777);
		e->uid = (uint32_t)num(o, "uid");
		e->gid = (uint32_t)num(o, "gid");
		e->dev_major = (uint32_t)num(o, "devMajor");
		e->dev_minor = (uint32_t)num(o, "devMinor");
		const char *link = json_string_value(json_object_get(o, "linkName"));
		if (link && !(e->link = strdup(link)))
			return -ENOMEM;
		if ((e->type == ESTARGZ_SYMLINK || e->type == ESTARGZ_HARDLINK) && !e->link) {
			*why = "a link without a target";
			return -EBADMSG;
		}
		if ((r = add_xattrs(json_object_get(o, "xattrs"), &e->xattrs)) < 0) {
			*why = "bad xattrs";
			return r;
		}
		if (e->type != ESTARGZ_REG)
			continue;
		if (!strcmp(name, PREFETCH_LANDMARK) || !strcmp(name, "./" PREFETCH_LANDMARK))
			t->prefetch_end = t->n;
		e->has_digest = parse_digest(json_object_get(o, "digest"), e->digest) == 0;
		if (e->size && (r = add_chunk(e, o)) < 0) {
			*why = r == -ENOKEY ? "a chunk without chunkDigest (stargz, not eStargz)"
					    : "a chunk out of place";
			return r == -ENOMEM ? r : -EBADMSG;
		}
	}
	/* Every file's chunks cover it whole. */
	for (i = 0; i < t->n; i++) {
		struct estargz_entry *e = &t->e[i];
		uint64_t covered = e->nchunks ? e->chunks[e->nchunks - 1].file_off +
						e->chunks[e->nchunks - 1].size : 0;
		if (e->type == ESTARGZ_REG && covered != e->size) {
			*why = "a file whose chunks do not cover it";
			return -EBADMSG;
		}
		for (size_t c = 0; c < e->nchunks; c++) {
			if (e->chunks[c].blob_off >= t->toc_off) {
				*why = "a chunk past the TOC";
				return -EBADMSG;
			}
			t->chunk_bytes += e->chunks[c].size;
		}
	}
	return 0;
}

int estargz_parse_toc(const uint8_t *member, size_t n, const char *want_digest,
		      struct estargz_toc *out, struct strata_error *err)
{
	struct buf tar = BUF_INIT;
	const char *json, *why = "malformed";
	size_t jlen;
	json_t *root = NULL;
	json_error_t jerr;
	uint8_t want[SHA256_LEN];
	uint64_t toc_off = out->toc_off;
	int r;

	memset(out, 0, sizeof(*out));
	out->toc_off = toc_off;
	if ((r = gunzip(member, n, &tar)) < 0) {
		why = "its gzip member does not decompress";
		goto bad;
	}
	if ((r = toc_json(&tar, &json, &jlen)) < 0) {
		why = "no " TOC_NAME " in its tar";
		goto bad;
	}
	sha256_once(json, jlen, out->digest);
	out->json_len = jlen;
	if (want_digest) {
		if (digest_parse(want_digest, want) < 0 || memcmp(want, out->digest, SHA256_LEN)) {
			char got[DIGEST_STR_MAX];
			digest_format(out->digest, got);
			buf_release(&tar);
			return error_set(err, -EBADMSG, "eStargz TOC digest mismatch: the manifest says %s, the TOC is %s",
					 want_digest, got);
		}
	}
	root = json_loadb(json, jlen, 0, &jerr);
	if (!root) {
		why = "its JSON does not parse";
		r = -EBADMSG;
		goto bad;
	}
	r = parse_entries(root, out, &why);
	json_decref(root);
	buf_release(&tar);
	if (r < 0)
		estargz_toc_release(out);
	if (r == -ENOMEM)
		return error_set(err, r, "out of memory");
	if (r < 0)
		return error_set(err, -EBADMSG, "eStargz TOC: %s", why);
	return 0;
bad:
	buf_release(&tar);
	estargz_toc_release(out);
	return error_set(err, -EBADMSG, "eStargz TOC: %s", why);
}

void estargz_toc_release(struct estargz_toc *t)
{
	for (size_t i = 0; i < t->n; i++) {
		free(t->e[i].name);
		free(t->e[i].link);
		free(t->e[i].chunks);
		buf_release(&t->e[i].xattrs);
	}
	free(t->e);
	t->e = NULL;
	t->n = 0;
}
