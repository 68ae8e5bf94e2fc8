/* digest: OCI content digests ("sha256:<64 hex>") and the hashes of
 * strata's index (sha256, sha1, md5), on OpenSSL's EVP. */
#ifndef STRATA_DIGEST_H
#define STRATA_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_LEN 32
#define SHA1_LEN 20
#define MD5_LEN 16
#define DIGEST_STR_MAX 80 /* "sha512:" + 128 hex would not fit: only sha256 is accepted */

/* Incremental sha256 (one EVP context; cheap to reuse via digest_reset). */
struct sha256_ctx;
struct sha256_ctx *sha256_new(void);   /* free with sha256_free */
void sha256_free(struct sha256_ctx *c);
void sha256_reset(struct sha256_ctx *c);
void sha256_update(struct sha256_ctx *c, const void *data, size_t len);
void sha256_final(struct sha256_ctx *c, uint8_t out[SHA256_LEN]);
void sha256_once(const void *data, size_t len, uint8_t out[SHA256_LEN]);

/* sha256 + sha1 + md5 of one file's bytes, updated together. */
struct filehash;
struct filehash *filehash_new(void);   /* free with filehash_free */
void filehash_free(struct filehash *h);
void filehash_reset(struct filehash *h);
void filehash_update(struct filehash *h, const void *data, size_t len);
void filehash_final(struct filehash *h, uint8_t sha256[SHA256_LEN], uint8_t sha1[SHA1_LEN],
		    uint8_t md5[MD5_LEN]);

void hex_encode(const uint8_t *in, size_t len, char *out /* 2*len+1 */);
int hex_decode(const char *in, size_t hexlen, uint8_t *out);
/* 0..15 for a hexadecimal digit of either case, else -1. */
int hex_digit_value(int c);

/* "sha256:<hex>" <-> raw bytes. digest_parse rejects anything but a
 * well-formed lowercase sha256 digest (returns -EINVAL). */
int digest_parse(const char *s, uint8_t out[SHA256_LEN]);
void digest_format(const uint8_t id[SHA256_LEN], char out[DIGEST_STR_MAX]);
int digest_valid(const char *s);
/* "sha256:abcdef012345" — short form for messages and tables. */
void digest_short(const char *digest, char out[20]);

#endif
