/*
 * The HTTP request head (src/server/request.c) on arbitrary bytes, as the server reads a
 * connection: the first byte picks the head limit, the chunk size and the listener's
 * paths. Properties beyond "no crash, no leak, no read past the buffer":
 * - chunking changes nothing: fed whole or in chunks, the same status comes out;
 * - the head never holds more than its limit;
 * - routing answers only 200, 400, 404 or 405, and 200 only for the three paths this
 *   listener serves, by GET or HEAD.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Feeds d in chunks of `chunk` until the head is done; its status, and routes it. */
static int feed(const char *d, size_t size, size_t max, size_t chunk, int serves,
		enum srv_target *target)
{
	struct srv_head h = {.max = max};
	int status = 0;
	size_t off = 0;
	do {
		size_t n = size - off < chunk ? size - off : chunk;
		status = srv_head_feed(&h, d + off, n);
		off += n;
		if (h.buf && h.len > max)
			abort();
	} while (status == 0 && off < size);
	*target = SRV_NONE;
	if (status == 200) {
		bool head_only;
		status = srv_route(h.buf, serves, target, &head_only);
		if (status != 200 && status != 400 && status != 404 && status != 405)
			abort();
		if (status == 200 && (*target == SRV_NONE ||
				      (*target == SRV_METRICS && !(serves & SRV_SERVE_METRICS)) ||
				      (*target != SRV_METRICS && !(serves & SRV_SERVE_HEALTH))))
			abort();
		if (status == 200 && strncmp(d, "GET ", 4) != 0 && strncmp(d, "HEAD ", 5) != 0)
			abort();
	}
	srv_head_free(&h);
	return status;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint8_t ctl = data[0];
	const char *d = (const char *)data + 1;
	size--;
	size_t max = 16 + (size_t)(ctl & 0x0f) * 64;
	size_t chunk = 1 + ((ctl >> 4) & 0x07) * 3;
	int serves = (ctl & 0x80) ? SRV_SERVE_METRICS | SRV_SERVE_HEALTH : SRV_SERVE_HEALTH;
	enum srv_target t1, t2;
	int whole = feed(d, size, max, size ? size : 1, serves, &t1);
	int parts = feed(d, size, max, chunk, serves, &t2);
	/* Whole, the head can only be cut at the limit; in parts the same. */
	if (whole != parts || t1 != t2)
		abort();
	return 0;
}
