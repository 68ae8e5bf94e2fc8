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
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
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
