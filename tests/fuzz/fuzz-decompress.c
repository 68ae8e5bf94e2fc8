/* fuzz-target: decompress 65536 */
/* libFuzzer target: decompress with COMP_AUTO, the input fed as a stream in
 * pieces whose sizes come from the input's first byte (so that headers and
 * frames split across reads are exercised), read out in small pieces too. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/types.h>

#include "src/ingest/decompress.h"
#include "fuzz.h"

struct src {
	const uint8_t *p;
	size_t len, off, step;
};

static ssize_t src_read(void *ctx, void *buf, size_t len)
{
	struct src *s = ctx;
	size_t n = s->len - s->off;
	if (n > len)
		n = len;
	if (n > s->step)
		n = s->step;
	memcpy(buf, s->p + s->off, n);
	s->off += n;
	return (ssize_t)n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	static const size_t steps[] = { 1, 3, 17, 512, 4096, 65536, 1 << 20, 7 };
	struct src s = { data + 1, size - 1, 0, steps[data[0] & 7] };
	size_t outstep = (data[0] >> 3) % 4 == 0 ? 1 : 65536;
	struct decompressor *d = NULL;
	if (decompress_new(COMP_AUTO, src_read, &s, &d) != 0)
		abort();
	static uint8_t out[65536];
	struct strata_error err = STRATA_ERROR_INIT;
	uint64_t total = 0;
	ssize_t n;
	/* Bounded output: 64 MiB is far beyond any input this target gets
	 * (max_len) times any sane ratio, and stops zip bombs from timing out. */
	while ((n = decompress_read(d, out, outstep, &err)) > 0 && total < (64u << 20))
		total += (uint64_t)n;
	if (n < 0 && !err.msg[0])
		abort();
	if (decompress_consumed(d) > s.len)
		abort();
	decompress_kind(d);
	decompress_free(d);
	return 0;
}
