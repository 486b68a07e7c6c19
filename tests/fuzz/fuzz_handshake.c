/* libFuzzer: the incremental handshake parser on arbitrary server bytes, fed one byte at a
 * time and all at once: same outcome, a version only from the offered set, a sane reply. */
#include "bolt/bolt.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run(const uint8_t *data, size_t size, size_t step, uint16_t *v, size_t *rl)
{
	struct n4j_hs h;
	n4j_hs_init(&h, 0);
	uint8_t reply[5];
	int rc = 0;
	size_t pos = 0;
	*v = 0;
	*rl = 0;
	while (pos < size && rc == 0) {
		size_t n = size - pos < step ? size - pos : step, used = 0;
		rc = n4j_hs_feed(&h, data + pos, n, &used, v, reply, rl, NULL);
		if (used > n)
			abort();
		pos += used;
		if (used == 0 && rc == 0)
			abort(); /* no progress */
	}
	if (rc == 1) {
		uint8_t major = (uint8_t)(*v >> 8), minor = (uint8_t)*v;
		if (!((major == 5 && minor <= 8 && minor != 5) || (major == 4 && minor == 4)))
			abort();
		if (*rl && (*rl != 5 || reply[2] != minor || reply[3] != major))
			abort();
	}
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint16_t v1, v2;
	size_t r1, r2;
	int a = run(data, size, size ? size : 1, &v1, &r1);
	int b = run(data, size, 1, &v2, &r2);
	if (a != b || (a == 1 && (v1 != v2 || r1 != r2)))
		abort();
	return 0;
}
