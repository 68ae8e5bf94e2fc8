/* digest-text: the text forms of digests declared in digest.h (hex,
 * "sha256:<hex>"), apart from the hashing so that a program that only names
 * digests (the strata command) does not load OpenSSL: libcrypto alone costs
 * it a few milliseconds of start-up. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "digest.h"

void hex_encode(const uint8_t *in, size_t len, char *out)
{
	/* Both digits of a byte at once: tree pages and reports encode three
	 * digests for every file. */
	static const char pairs[513] =
		"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
		"202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
		"404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f"
		"606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f"
		"808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"
		"a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
		"c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf"
		"e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";
	for (size_t i = 0; i < len; i++)
		memcpy(out + 2 * i, pairs + 2 * in[i], 2);
	out[2 * len] = '\0';
}

/* 0..15 for a lowercase hexadecimal digit, else -1: a table, since the
 * analysis decodes three digests for each of thousands of files. */
static const signed char hexval[256] = {
	['0'] = 1, ['1'] = 2, ['2'] = 3, ['3'] = 4, ['4'] = 5, ['5'] = 6, ['6'] = 7, ['7'] = 8, ['8'] = 9,
	['9'] = 10, ['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16,
}; /* value + 1: 0 is "not a digit" */

int hex_digit_value(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int hex_decode(const char *in, size_t hexlen, uint8_t *out)
{
	if (hexlen % 2)
		return -EINVAL;
	for (size_t i = 0; i < hexlen / 2; i++) {
		int hi = hexval[(unsigned char)in[2 * i]], lo = hexval[(unsigned char)in[2 * i + 1]];
		if (!hi || !lo)
			return -EINVAL;
		out[i] = (uint8_t)((hi - 1) << 4 | (lo - 1));
	}
	return 0;
}

int digest_parse(const char *s, uint8_t out[SHA256_LEN])
{
	if (strncmp(s, "sha256:", 7) || strlen(s + 7) != 2 * SHA256_LEN)
		return -EINVAL;
	return hex_decode(s + 7, 2 * SHA256_LEN, out);
}

int digest_valid(const char *s)
{
	uint8_t tmp[SHA256_LEN];
	return s && digest_parse(s, tmp) == 0;
}

void digest_format(const uint8_t id[SHA256_LEN], char out[DIGEST_STR_MAX])
{
	memcpy(out, "sha256:", 7);
	hex_encode(id, SHA256_LEN, out + 7);
}

void digest_short(const char *digest, char out[20])
{
	const char *hex = strchr(digest, ':');
	hex = hex ? hex + 1 : digest;
	snprintf(out, 20, "%.12s", hex);
}
