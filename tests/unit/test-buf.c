/* Unit tests: buf, error, digest and size/duration parsing helpers. */
#include "config.h"

#include <errno.h>

#include "src/base/buf.h"
#include "src/base/conf.h"
#include "src/base/digest.h"
#include "src/base/error.h"
#include "tap.h"

int main(void)
{
	struct buf b = BUF_INIT;
	is_int(b.len, 0, "a new buf is empty");
	is_str(b.data, "", "and NUL-terminated");
	buf_adds(&b, "hello");
	buf_addf(&b, " %d", 42);
	is_str(b.data, "hello 42", "adds and addf append");
	buf_setlen(&b, 5);
	is_str(b.data, "hello", "setlen truncates");
	buf_release(&b);
	is_int(b.len, 0, "release empties");

	struct buf capped;
	buf_init(&capped, 8);
	is_int(buf_adds(&capped, "12345678"), 0, "a capped buf takes up to its cap");
	is_int(buf_addch(&capped, '9'), -EFBIG, "and refuses one byte more");
	is_str(capped.data, "12345678", "leaving its contents intact");
	buf_release(&capped);

	struct strata_error err = STRATA_ERROR_INIT;
	error_set(&err, -EIO, "first %s", "cause");
	error_set(&err, -EINVAL, "second");
	is_str(err.msg, "first cause", "the first error wins");
	is_int(err.code, -EIO, "with its code");
	error_prefix(&err, "pull '%s': ", "x");
	is_str(err.msg, "pull 'x': first cause", "prefix adds context");

	uint8_t id[SHA256_LEN];
	char s[DIGEST_STR_MAX];
	sha256_once("abc", 3, id);
	digest_format(id, s);
	is_str(s, "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "sha256 of abc");
	ok(digest_valid(s), "a formatted digest parses");
	ok(!digest_valid("sha256:BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD"),
	   "uppercase hex is rejected");
	ok(!digest_valid("sha512:abcd"), "other algorithms are rejected");
	ok(!digest_valid("sha256:abc"), "short digests are rejected");

	uint64_t v;
	is_int(conf_parse_size("512M", &v), 0, "512M parses");
	is_int(v, 512ull << 20, "512M is 512 MiB");
	conf_parse_size("4GiB", &v);
	is_int(v, 4ull << 30, "4GiB");
	conf_parse_size("1.5T", &v);
	is_int(v, 3ull << 39, "1.5T");
	conf_parse_size("123", &v);
	is_int(v, 123, "plain bytes");
	is_int(conf_parse_size("12Q", &v), -EINVAL, "unknown unit is rejected");
	is_int(conf_parse_size("-1G", &v), -EINVAL, "negative sizes are rejected");
	conf_parse_duration("7d", &v);
	is_int(v, 7 * 86400, "7d");
	conf_parse_duration("90s", &v);
	is_int(v, 90, "90s");
	conf_parse_duration("12h", &v);
	is_int(v, 12 * 3600, "12h");
	is_int(conf_parse_duration("3 fortnights", &v), -EINVAL, "nonsense durations are rejected");
	return tap_done();
}
