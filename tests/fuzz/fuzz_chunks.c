/* libFuzzer: the dechunker, fed the input in pieces whose sizes come from the input, must
 * never overrun, must respect its cap, and must give the same messages as a one-shot feed. */
#include "bolt/bolt.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t run(const uint8_t *data, size_t size, size_t step, uint64_t *digest)
{
	struct n4j_dechunker d;
	n4j_dechunker_init(&d, 4096);
	size_t pos = 0, msgs = 0;
	*digest = 1469598103934665603ull;
	while (pos < size) {
		size_t n = size - pos < step ? size - pos : step;
		size_t used = 0;
		int r = n4j_dechunker_feed(&d, data + pos, n, &used, NULL);
		if (used > n)
			abort();
		pos += used;
		if (r < 0)
			break;
		if (r == 1) {
			if (d.msg.len == 0 || d.msg.len > 4096)
				abort();
			for (size_t i = 0; i < d.msg.len; i++)
				*digest = (*digest ^ (uint8_t)d.msg.data[i]) * 1099511628211ull;
			msgs++;
			n4j_dechunker_next(&d);
		}
	}
	n4j_dechunker_free(&d);
	return msgs;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t step = (size_t)data[0] % 7 + 1;
	uint64_t d1, d2;
	size_t a = run(data + 1, size - 1, size, &d1);
	size_t b = run(data + 1, size - 1, step, &d2);
	if (a != b || d1 != d2)
		abort();
	/* and chunking any payload reads back unchanged */
	struct n4j_buf out;
	n4j_buf_init(&out);
	n4j_chunk_write(&out, data, size);
	struct n4j_dechunker d;
	n4j_dechunker_init(&d, 0);
	size_t used = 0;
	int r = n4j_dechunker_feed(&d, out.data, out.len, &used, NULL);
	if (r != 1 || d.msg.len != size || memcmp(d.msg.data, data, size) != 0)
		abort();
	n4j_dechunker_free(&d);
	n4j_buf_free(&out);
	return 0;
}
