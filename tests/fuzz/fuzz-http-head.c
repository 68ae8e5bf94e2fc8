/* fuzz-target: http_head 8192 */
/* libFuzzer target: httpd's request parser (request line, headers, body
 * framing, chunk sizes) and the query/path decoders handlers use.
 * Build: clang -fsanitize=fuzzer,address -Isrc -I. $(pkg-config --cflags jansson)
 *        tests/fuzz/fuzz-http-head.c src/daemon/httpd-parse.c -o fuzz-http-head */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "src/daemon/httpd-impl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* httpd hands the parser a NUL-free head that ends in an empty line. */
	if (size > 65536 || memchr(data, 0, size))
		return 0;
	char *head = malloc(size + 5);
	if (!head)
		return 0;
	memcpy(head, data, size);
	memcpy(head + size, "\r\n\r\n", 5);
	struct http_head hd;
	struct http_request req = { 0 };
	struct http_perr e = { 0, NULL };
	if (httpd_parse_head(head, &hd, &req, &e) == 0) {
		int chunked;
		uint64_t len, chunk;
		char out[64];
		httpd_parse_framing(&hd, &req, &chunked, &len, &e);
		httpd_has_token(http_header(&req, "Connection"), "close");
		http_query_param(&req, "path", out, sizeof(out));
		http_path_segment(req.path + 1, out, sizeof(out));
		httpd_parse_chunk_size(req.query, &chunk);
	}
	free(head);
	return 0;
}
