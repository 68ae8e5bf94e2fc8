/* memoval: see memoval.h. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <zstd.h>

#include "src/base/digest.h"
#include "memoval.h"

#define MAGIC "STMV"
#define FORMAT_VERSION 1
#define FLAG_ZSTD 1
#define FLAG_SIGNED 2
#define COMPRESS_MIN 1024
#define COMPRESS_LEVEL 1
#define HMAC_BLOCK 64

static void put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

int memoval_key_init(struct memoval_key *k, const void *bytes, size_t len)
{
	memset(k, 0, sizeof(*k));
	if (len < MEMOVAL_KEY_MIN)
		return -EINVAL;
	if (!(k->bytes = malloc(len)))
		return -ENOMEM;
	memcpy(k->bytes, bytes, len);
	k->len = len;
	struct sha256_ctx *c = sha256_new();
	uint8_t id[SHA256_LEN];
	if (!c) {
		memoval_key_release(k);
		return -ENOMEM;
	}
	sha256_update(c, "strata-memo-key", 16);
	sha256_update(c, bytes, len);
	sha256_final(c, id);
	sha256_free(c);
	memcpy(k->id, id, sizeof(k->id));
	return 0;
}

void memoval_key_release(struct memoval_key *k)
{
	if (!k)
		return;
	if (k->bytes)
		OPENSSL_cleanse(k->bytes, k->len);
	free(k->bytes);
	memset(k, 0, sizeof(*k));
}

/* The check of a value: sha256, or HMAC-SHA256 (RFC 2104) under k, of its
 * first 24 bytes, the key and the body. */
static int check_of(const struct memoval_key *k, const uint8_t *head, const char *key, size_t klen,
		    const void *body, size_t blen, uint8_t out[SHA256_LEN])
{
	uint8_t pad[HMAC_BLOCK], kh[SHA256_LEN], inner[SHA256_LEN], kl[4];
	struct sha256_ctx *c = sha256_new();
	if (!c)
		return -ENOMEM;
	for (int i = 0; i < 4; i++)
		kl[i] = (uint8_t)(klen >> (8 * i));
	if (k && k->len) {
		/* A key longer than a block is hashed first. */
		const uint8_t *kb = k->bytes;
		size_t kn = k->len;
		if (kn > HMAC_BLOCK) {
			sha256_once(kb, kn, kh);
			kb = kh;
			kn = SHA256_LEN;
		}
		memset(pad, 0x36, sizeof(pad));
		for (size_t i = 0; i < kn; i++)
			pad[i] ^= kb[i];
		sha256_update(c, pad, sizeof(pad));
	}
	sha256_update(c, head, 24);
	sha256_update(c, kl, sizeof(kl));
	sha256_update(c, key, klen);
	sha256_update(c, body, blen);
	sha256_final(c, inner);
	if (k && k->len) {
		for (size_t i = 0; i < sizeof(pad); i++)
			pad[i] ^= 0x36 ^ 0x5c;
		sha256_reset(c);
		sha256_update(c, pad, sizeof(pad));
		sha256_update(c, inner, sizeof(inner));
		sha256_final(c, out);
		OPENSSL_cleanse(pad, sizeof(pad));
		OPENSSL_cleanse(kh, sizeof(kh));
	} else {
		memcpy(out, inner, SHA256_LEN);
	}
	sha256_free(c);
	return 0;
}

int memoval_encode(const struct memoval_key *k, enum memoval_kind kind, const char *key, size_t klen,
		   const void *payload, size_t plen, struct buf *out)
{
	if (plen > MEMOVAL_MAX)
		return -EFBIG;
	size_t start = out->len;
	void *z = NULL;
	const void *body = payload;
	size_t blen = plen;
	uint8_t head[MEMOVAL_HEADER] = { 0 };
	memcpy(head, MAGIC, 4);
	head[4] = FORMAT_VERSION;
	head[5] = (uint8_t)kind;
	if (plen >= COMPRESS_MIN) {
		size_t cap = ZSTD_compressBound(plen);
		size_t n = (z = malloc(cap)) ? ZSTD_compress(z, cap, payload, plen, COMPRESS_LEVEL) : 0;
		if (!z)
			return -ENOMEM;
		if (!ZSTD_isError(n) && n < plen) {
			body = z;
			blen = n;
			head[6] |= FLAG_ZSTD;
		}
	}
	if (k && k->len) {
		head[6] |= FLAG_SIGNED;
		memcpy(head + 16, k->id, 8);
	}
	put_le64(head + 8, plen);
	int r = check_of(k, head, key, klen, body, blen, head + 24);
	if (r == 0 && (buf_add(out, head, sizeof(head)) < 0 || buf_add(out, body, blen) < 0))
		r = -ENOMEM;
	if (r < 0)
		buf_setlen(out, start);
	free(z);
	return r;
}

int memoval_decode(const struct memoval_key *k, enum memoval_kind kind, const char *key, size_t klen,
		   const void *val, size_t vlen, size_t max, struct buf *out)
{
	const uint8_t *v = val;
	uint8_t want[SHA256_LEN];
	if (max > MEMOVAL_MAX)
		max = MEMOVAL_MAX;
	if (vlen < MEMOVAL_HEADER || memcmp(v, MAGIC, 4) || v[4] != FORMAT_VERSION || v[5] != (uint8_t)kind ||
	    (v[6] & ~(FLAG_ZSTD | FLAG_SIGNED)) || v[7])
		return MEMOVAL_MALFORMED;
	uint64_t plen = get_le64(v + 8);
	const uint8_t *body = v + MEMOVAL_HEADER;
	size_t blen = vlen - MEMOVAL_HEADER;
	int zstd = v[6] & FLAG_ZSTD, is_signed = v[6] & FLAG_SIGNED;
	static const uint8_t zero[8];
	/* The header says what it is; the check says whether it can be believed. */
	if (plen > max || (!zstd && plen != blen) || (!is_signed && memcmp(v + 16, zero, 8)))
		return MEMOVAL_MALFORMED;
	if (k && k->len && !is_signed)
		return MEMOVAL_UNSIGNED;
	if (is_signed && !(k && k->len))
		return MEMOVAL_UNVERIFIABLE;
	if (is_signed && CRYPTO_memcmp(v + 16, k->id, 8))
		return MEMOVAL_SIGNATURE;
	if (check_of(is_signed ? k : NULL, v, key, klen, body, blen, want) < 0)
		return -ENOMEM;
	if (CRYPTO_memcmp(want, v + 24, SHA256_LEN))
		return is_signed ? MEMOVAL_SIGNATURE : MEMOVAL_CHECKSUM;
	size_t start = out->len;
	if (!zstd)
		return buf_add(out, body, blen) < 0 ? -ENOMEM : MEMOVAL_OK;
	/* One frame that says its size, and decompresses to exactly it. */
	unsigned long long fsize = ZSTD_getFrameContentSize(body, blen);
	if (fsize != plen || ZSTD_findFrameCompressedSize(body, blen) != blen)
		return MEMOVAL_MALFORMED;
	if (buf_grow(out, (size_t)plen) < 0)
		return -ENOMEM;
	size_t n = ZSTD_decompress(out->data + start, (size_t)plen, body, blen);
	if (ZSTD_isError(n) || n != plen) {
		out->data[start] = '\0';
		return MEMOVAL_MALFORMED;
	}
	buf_setlen(out, start + n);
	return MEMOVAL_OK;
}

const char *memoval_reject_name(enum memoval_reject why)
{
	static const char *const names[MEMOVAL_REJECTS] = { "ok", "malformed", "checksum", "unsigned",
							      "signature", "unverifiable" };
	return (unsigned)why < MEMOVAL_REJECTS ? names[why] : "unknown";
}
