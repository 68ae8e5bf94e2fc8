/* digest: hashing helpers over OpenSSL EVP. The text forms (hex,
 * "sha256:<hex>") are in digest-text.c, which needs no OpenSSL. */
#include "config.h"

#include <stdlib.h>

#include <openssl/evp.h>

#include "digest.h"

struct sha256_ctx {
	EVP_MD_CTX *md;
};

struct sha256_ctx *sha256_new(void)
{
	struct sha256_ctx *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->md = EVP_MD_CTX_new();
	if (!c->md) {
		free(c);
		return NULL;
	}
	sha256_reset(c);
	return c;
}

void sha256_free(struct sha256_ctx *c)
{
	if (!c)
		return;
	EVP_MD_CTX_free(c->md);
	free(c);
}

void sha256_reset(struct sha256_ctx *c)
{
	EVP_DigestInit_ex(c->md, EVP_sha256(), NULL);
}

void sha256_update(struct sha256_ctx *c, const void *data, size_t len)
{
	EVP_DigestUpdate(c->md, data, len);
}

void sha256_final(struct sha256_ctx *c, uint8_t out[SHA256_LEN])
{
	unsigned int n = 0;
	EVP_DigestFinal_ex(c->md, out, &n);
}

void sha256_once(const void *data, size_t len, uint8_t out[SHA256_LEN])
{
	unsigned int n = 0;
	EVP_Digest(data, len, out, &n, EVP_sha256(), NULL);
}

struct filehash {
	EVP_MD_CTX *sha256, *sha1, *md5;
};

struct filehash *filehash_new(void)
{
	struct filehash *h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->sha256 = EVP_MD_CTX_new();
	h->sha1 = EVP_MD_CTX_new();
	h->md5 = EVP_MD_CTX_new();
	if (!h->sha256 || !h->sha1 || !h->md5) {
		filehash_free(h);
		return NULL;
	}
	filehash_reset(h);
	return h;
}

void filehash_free(struct filehash *h)
{
	if (!h)
		return;
	EVP_MD_CTX_free(h->sha256);
	EVP_MD_CTX_free(h->sha1);
	EVP_MD_CTX_free(h->md5);
	free(h);
}

void filehash_reset(struct filehash *h)
{
	EVP_DigestInit_ex(h->sha256, EVP_sha256(), NULL);
	EVP_DigestInit_ex(h->sha1, EVP_sha1(), NULL);
	EVP_DigestInit_ex(h->md5, EVP_md5(), NULL);
}

void filehash_update(struct filehash *h, const void *data, size_t len)
{
	EVP_DigestUpdate(h->sha256, data, len);
	EVP_DigestUpdate(h->sha1, data, len);
	EVP_DigestUpdate(h->md5, data, len);
}

void filehash_final(struct filehash *h, uint8_t sha256[SHA256_LEN], uint8_t sha1[SHA1_LEN],
		    uint8_t md5[MD5_LEN])
{
	unsigned int n;
	EVP_DigestFinal_ex(h->sha256, sha256, &n);
	EVP_DigestFinal_ex(h->sha1, sha1, &n);
	EVP_DigestFinal_ex(h->md5, md5, &n);
}
