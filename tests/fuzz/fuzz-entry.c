/* fuzz-target: entry_decode 4096 */
/* libFuzzer target: entry_decode and the xattr list iterator, on records as
 * they are read back from the index (a corrupt or hostile index must give
 * -EBADMSG, never a read out of bounds). A record that decodes is encoded
 * again and must decode to the same fields. */
#include "config.h"

#include <stdlib.h>

#include "src/store/entry.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* An exact-size heap copy so that ASan sees any overread. */
	uint8_t *rec = malloc(size ? size : 1);
	if (!rec)
		abort();
	memcpy(rec, data, size);
	struct entry e;
	if (entry_decode(rec, size, &e) == 0) {
		if (e.link_len && !e.link)
			abort();
		volatile uint8_t sink = 0;
		for (size_t i = 0; i < e.link_len; i++)
			sink ^= (uint8_t)e.link[i];
		for (uint32_t i = 0; i < e.nchunks; i++)
			sink ^= (uint8_t)entry_chunk_len(&e, i) ^ entry_chunk_id(&e, i)[0];
		size_t pos = 0, vlen;
		const uint8_t *val;
		char name[256];
		int r;
		while ((r = entry_xattr_next(e.xattrs, e.xattrs_len, &pos, name, sizeof(name), &val,
					     &vlen)) == 1)
			for (size_t i = 0; i < vlen; i++)
				sink ^= val[i];
		(void)sink;
		entry_type_name(e.type);

		struct buf b;
		buf_init(&b, 0);
		struct entry again;
		if (entry_encode(&e, &b) == 0) {
			if (entry_decode(b.data, b.len, &again) != 0 || again.type != e.type ||
			    again.size != e.size || again.nchunks != e.nchunks ||
			    again.link_len != e.link_len || again.xattrs_len != e.xattrs_len)
				abort();
		}
		buf_release(&b);
	}
	free(rec);
	return 0;
}
