/* fuzz-target: memoval 262144 */
/* libFuzzer target: memoval_decode, the shared memo tier's decoder, on
 * values as they come back from Redis (anyone who can write to the server
 * can put any bytes there). The first input byte picks the kind, the key
 * this node holds (none, or one) and the largest payload accepted; the
 * rest is the value. A value that decodes is encoded again and must
 * decode to the same payload. */
#include "config.h"

#include <stdlib.h>

#include "src/store/memoval.h"
#include "fuzz.h"

static const char KEY[] = "result:dpkg@1/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
static const char HMAC[] = "fuzzing-key-fuzzing-key-fuzzing-key-0123";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint8_t sel = data[0];
	enum memoval_kind kind = sel & 1 ? MEMOVAL_REPORT : MEMOVAL_RESULT;
	struct memoval_key k = { 0 };
	if ((sel & 2) && memoval_key_init(&k, HMAC, sizeof(HMAC) - 1) < 0)
		abort();
	size_t max = sel & 4 ? 1024 : MEMOVAL_MAX;
	/* An exact-size heap copy so that ASan sees any overread. */
	uint8_t *val = malloc(size - 1 ? size - 1 : 1);
	if (!val)
		abort();
	memcpy(val, data + 1, size - 1);
	struct buf out = BUF_INIT, again = BUF_INIT, back = BUF_INIT;
	int d = memoval_decode(&k, kind, KEY, sizeof(KEY) - 1, val, size - 1, max, &out);
	if (d < 0 || d >= MEMOVAL_REJECTS)
		abort();
	if (d != MEMOVAL_OK && out.len)
		abort();
	if (d == MEMOVAL_OK) {
		if (out.len > max)
			abort();
		if (memoval_encode(&k, kind, KEY, sizeof(KEY) - 1, out.data, out.len, &again) < 0 ||
		    memoval_decode(&k, kind, KEY, sizeof(KEY) - 1, again.data, again.len, max, &back) != MEMOVAL_OK ||
		    back.len != out.len || memcmp(back.data, out.data, out.len))
			abort();
	}
	buf_release(&out);
	buf_release(&again);
	buf_release(&back);
	memoval_key_release(&k);
	free(val);
	return 0;
}
