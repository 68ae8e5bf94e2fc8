/* zipw.c: a minimal zip writer for the unit tests (see zipw.h). */
#include "config.h"

#include <string.h>

#include <zlib.h>

#include "zipw.h"

void zipw_put16(struct buf *b, unsigned v)
{
	unsigned char x[2] = { (unsigned char)v, (unsigned char)(v >> 8) };
	buf_add(b, x, 2);
}

void zipw_put32(struct buf *b, uint32_t v)
{
	zipw_put16(b, v & 0xFFFF);
	zipw_put16(b, v >> 16);
}

void zipw_add_raw(struct zipw *z, const char *name, int method, uint32_t crc, const void *raw,
		  size_t rawlen, uint64_t usize)
{
	size_t off = z->data.len, nlen = strlen(name);
	unsigned flags = 0;
	for (size_t i = 0; i < nlen; i++)
		if ((unsigned char)name[i] >= 0x80)
			flags = 0x800; /* the name is UTF-8, as zip tools mark it */
	zipw_put32(&z->data, 0x04034b50);
	zipw_put16(&z->data, 20);
	zipw_put16(&z->data, flags);
	zipw_put16(&z->data, (unsigned)method);
	zipw_put16(&z->data, 0);
	zipw_put16(&z->data, 0x21);
	zipw_put32(&z->data, crc);
	zipw_put32(&z->data, (uint32_t)rawlen);
	zipw_put32(&z->data, (uint32_t)usize);
	zipw_put16(&z->data, (unsigned)nlen);
	zipw_put16(&z->data, 0);
	buf_add(&z->data, name, nlen);
	buf_add(&z->data, raw, rawlen);
	zipw_put32(&z->cd, 0x02014b50);
	zipw_put16(&z->cd, 20);
	zipw_put16(&z->cd, 20);
	zipw_put16(&z->cd, flags);
	zipw_put16(&z->cd, (unsigned)method);
	zipw_put16(&z->cd, 0);
	zipw_put16(&z->cd, 0x21);
	zipw_put32(&z->cd, crc);
	zipw_put32(&z->cd, (uint32_t)rawlen);
	zipw_put32(&z->cd, (uint32_t)usize);
	zipw_put16(&z->cd, (unsigned)nlen);
	zipw_put16(&z->cd, 0);
	zipw_put16(&z->cd, 0);
	zipw_put16(&z->cd, 0);
	zipw_put16(&z->cd, 0);
	zipw_put32(&z->cd, 0);
	zipw_put32(&z->cd, (uint32_t)off);
	buf_add(&z->cd, name, nlen);
	z->n++;
}

void zipw_add(struct zipw *z, const char *name, const void *data, size_t len)
{
	uint32_t crc = (uint32_t)crc32(0, data, (uInt)len);
	zipw_add_raw(z, name, 0, crc, data, len, len);
}

void zipw_adds(struct zipw *z, const char *name, const char *text)
{
	zipw_add(z, name, text, strlen(text));
}

void zipw_finish(struct zipw *z, struct buf *out)
{
	size_t cdoff = z->data.len;
	buf_add(&z->data, z->cd.data, z->cd.len);
	zipw_put32(&z->data, 0x06054b50);
	zipw_put16(&z->data, 0);
	zipw_put16(&z->data, 0);
	zipw_put16(&z->data, z->n);
	zipw_put16(&z->data, z->n);
	zipw_put32(&z->data, (uint32_t)z->cd.len);
	zipw_put32(&z->data, (uint32_t)cdoff);
	zipw_put16(&z->data, 0);
	*out = z->data;
	buf_release(&z->cd);
	buf_init(&z->data, 0);
	z->n = 0;
}
