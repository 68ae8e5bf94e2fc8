/* test-memoval: the shared tier's value codec — round trips (small, large,
 * compressed, signed), and every way a value read back can be refused:
 * each byte changed, cut short, grown, under another key or kind, unsigned
 * where a key is required, signed under another key or with no key here. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "src/store/memoval.h"
#include "tap.h"

static const char *const KEY = "dpkg@1/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

static int decode(const struct memoval_key *k, enum memoval_kind kind, const char *key, const struct buf *v,
		  struct buf *out)
{
	buf_reset(out);
	return memoval_decode(k, kind, key, strlen(key), v->data, v->len, MEMOVAL_MAX, out);
}

static void test_round_trips(void)
{
	struct buf v = BUF_INIT, out = BUF_INIT;
	const char *small = "{\"records\":[]}";
	is_int(memoval_encode(NULL, MEMOVAL_RESULT, KEY, strlen(KEY), small, strlen(small), &v), 0, "encode a small result");
	is_int(v.len, MEMOVAL_HEADER + strlen(small), "a small value is stored as it is, after the header");
	ok(!memcmp(v.data, "STMV\1A", 6), "magic, version and kind lead");
	is_int(decode(NULL, MEMOVAL_RESULT, KEY, &v, &out), MEMOVAL_OK, "it decodes");
	is_str(out.data, small, "to the same payload");

	/* A report: megabytes of repetitive JSON. */
	struct buf big = BUF_INIT;
	buf_adds(&big, "{\"files\": [");
	for (int i = 0; i < 40000; i++)
		buf_addf(&big, "%s{\"path\": \"/usr/share/doc/pkg%d/copyright\", \"size\": %d}", i ? ", " : "", i, i * 7);
	buf_adds(&big, "]}\n");
	buf_reset(&v);
	is_int(memoval_encode(NULL, MEMOVAL_REPORT, "sha256:ab/files", 15, big.data, big.len, &v), 0, "encode a report");
	ok(v.len < big.len / 4, "it is compressed (%zu -> %zu bytes)", big.len, v.len);
	is_int(decode(NULL, MEMOVAL_REPORT, "sha256:ab/files", &v, &out), MEMOVAL_OK, "and decodes");
	ok(out.len == big.len && !memcmp(out.data, big.data, big.len), "to the same bytes");
	buf_reset(&out);
	is_int(memoval_decode(NULL, MEMOVAL_REPORT, "sha256:ab/files", 15, v.data, v.len, big.len - 1, &out),
	       MEMOVAL_MALFORMED, "a payload over the reader's limit is refused before decompressing");
	is_int(out.len, 0, "leaving the output as it was");

	/* Random bytes do not compress: stored raw. */
	buf_reset(&big);
	unsigned x = 12345;
	for (int i = 0; i < 4096; i++) {
		x = x * 1103515245 + 12345;
		buf_addch(&big, (char)(x >> 16));
	}
	buf_reset(&v);
	memoval_encode(NULL, MEMOVAL_RESULT, KEY, strlen(KEY), big.data, big.len, &v);
	ok(v.len == MEMOVAL_HEADER + big.len && !(v.data[6] & 1), "what does not compress is stored raw");
	is_int(decode(NULL, MEMOVAL_RESULT, KEY, &v, &out), MEMOVAL_OK, "and decodes");
	ok(out.len == big.len && !memcmp(out.data, big.data, big.len), "to the same bytes");
	buf_release(&big);
	buf_reset(&v);
	is_int(memoval_encode(NULL, MEMOVAL_RESULT, KEY, strlen(KEY), "", 0, &v), 0, "an empty payload encodes");
	is_int(decode(NULL, MEMOVAL_RESULT, KEY, &v, &out), MEMOVAL_OK, "and decodes");
	is_int(out.len, 0, "to nothing");
	buf_release(&v);
	buf_release(&out);
}

static void test_damage(void)
{
	struct buf v = BUF_INIT, bad = BUF_INIT, out = BUF_INIT;
	struct buf payload = BUF_INIT;
	for (int i = 0; i < 200; i++)
		buf_addf(&payload, "{\"name\": \"libfoo%d\", \"version\": \"1.%d\"}", i, i);
	memoval_encode(NULL, MEMOVAL_RESULT, KEY, strlen(KEY), payload.data, payload.len, &v);
	ok(v.data[6] & 1, "the value under test is compressed");
	/* Every byte, changed: never accepted. */
	size_t accepted = 0, checksum = 0;
	for (size_t i = 0; i < v.len; i++) {
		buf_reset(&bad);
		buf_add(&bad, v.data, v.len);
		bad.data[i] ^= 0x20;
		int d = decode(NULL, MEMOVAL_RESULT, KEY, &bad, &out);
		accepted += d == MEMOVAL_OK;
		checksum += d == MEMOVAL_CHECKSUM;
	}
	is_int(accepted, 0, "no value with one byte changed is accepted (of %zu)", v.len);
	ok(checksum > v.len - MEMOVAL_HEADER, "past the header, the checksum catches it (%zu)", checksum);
	size_t cut_ok = 0;
	for (size_t n = 0; n < v.len; n++) {
		buf_reset(&bad);
		buf_add(&bad, v.data, n);
		cut_ok += decode(NULL, MEMOVAL_RESULT, KEY, &bad, &out) == MEMOVAL_OK;
	}
	is_int(cut_ok, 0, "no value cut short is accepted");
	buf_reset(&bad);
	buf_add(&bad, v.data, v.len);
	buf_adds(&bad, "x");
	is_int(decode(NULL, MEMOVAL_RESULT, KEY, &bad, &out), MEMOVAL_CHECKSUM, "nor one with a byte more");
	is_int(decode(NULL, MEMOVAL_RESULT, "dpkg@1/other", &v, &out), MEMOVAL_CHECKSUM,
	       "a value copied under another key is refused");
	is_int(decode(NULL, MEMOVAL_REPORT, KEY, &v, &out), MEMOVAL_MALFORMED, "a result read as a report is refused");
	buf_reset(&bad);
	buf_adds(&bad, "{\"records\":[]}");
	is_int(decode(NULL, MEMOVAL_RESULT, KEY, &bad, &out), MEMOVAL_MALFORMED, "bare JSON is not a value");
	buf_reset(&bad);
	buf_add(&bad, v.data, v.len);
	bad.data[4] = 2;
	is_int(decode(NULL, MEMOVAL_RESULT, KEY, &bad, &out), MEMOVAL_MALFORMED, "an unknown version is refused");
	buf_release(&payload);
	buf_release(&v);
	buf_release(&bad);
	buf_release(&out);
}

static void test_signed(void)
{
	struct memoval_key k1, k2, none = { 0 };
	struct buf v = BUF_INIT, u = BUF_INIT, out = BUF_INIT, bad = BUF_INIT;
	is_int(memoval_key_init(&k1, "short", 5), -EINVAL, "a key under 32 bytes is refused");
	memoval_key_init(&k1, "0123456789abcdef0123456789abcdef-fleet-one", 42);
	/* Longer than SHA-256's block: hashed first (RFC 2104). */
	memoval_key_init(&k2, "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210-fleet-two", 74);
	const char *p = "{\"records\":[{\"name\":\"openssl\"}]}";
	is_int(memoval_encode(&k1, MEMOVAL_RESULT, KEY, strlen(KEY), p, strlen(p), &v), 0, "encode signed");
	ok(v.data[6] & 2, "flagged signed");
	is_int(decode(&k1, MEMOVAL_RESULT, KEY, &v, &out), MEMOVAL_OK, "a signed value decodes under its key");
	is_str(out.data, p, "to its payload");
	is_int(decode(&k2, MEMOVAL_RESULT, KEY, &v, &out), MEMOVAL_SIGNATURE, "not under another key");
	is_int(decode(&none, MEMOVAL_RESULT, KEY, &v, &out), MEMOVAL_UNVERIFIABLE, "nor on a node without a key");
	memoval_encode(NULL, MEMOVAL_RESULT, KEY, strlen(KEY), p, strlen(p), &u);
	is_int(decode(&k1, MEMOVAL_RESULT, KEY, &u, &out), MEMOVAL_UNSIGNED, "an unsigned value is refused where a key is set");
	/* A forger who knows the format but not the key: right key id, own MAC. */
	buf_add(&bad, v.data, v.len);
	bad.data[MEMOVAL_HEADER] ^= 1;
	is_int(decode(&k1, MEMOVAL_RESULT, KEY, &bad, &out), MEMOVAL_SIGNATURE, "a changed signed value is refused");
	buf_reset(&bad);
	buf_add(&bad, u.data, u.len);
	bad.data[6] |= 2;
	memcpy(bad.data + 16, k1.id, 8);
	is_int(decode(&k1, MEMOVAL_RESULT, KEY, &bad, &out), MEMOVAL_SIGNATURE,
	       "an unsigned value flagged signed with the right key id is refused");
	is_int(decode(&k1, MEMOVAL_RESULT, "dpkg@1/other", &v, &out), MEMOVAL_SIGNATURE,
	       "a signed value copied under another key is refused");
	is_str(memoval_reject_name(MEMOVAL_SIGNATURE), "signature", "reasons have names");
	memoval_key_release(&k1);
	memoval_key_release(&k2);
	memoval_key_release(&none);
	buf_release(&v);
	buf_release(&u);
	buf_release(&bad);
	buf_release(&out);
}

int main(void)
{
	test_round_trips();
	test_damage();
	test_signed();
	return tap_done();
}
