/* libFuzzer: the PackStream decoder (values and whole messages) must reject any malformed
 * input with an error, and whatever it accepts must re-encode and decode to an equal tree. */
#include "bolt/bolt.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct n4j_arena *a = n4j_arena_new();
	if (!a)
		return 0;
	struct n4j_ps_limits lim = {.max_depth = 64, .max_items = 1u << 16, .max_bytes = 1u << 20};
	struct n4j_bolt_value v;
	size_t used = 0;
	struct n4j_error err;
	if (n4j_ps_decode(a, data, size, &lim, &v, &used, &err) == 0) {
		if (used > size)
			abort();
		struct n4j_buf b;
		n4j_buf_init(&b);
		if (n4j_ps_put_value(&b, &v, &err) == 0) {
			struct n4j_bolt_value w;
			size_t used2 = 0;
			if (n4j_ps_decode(a, b.data, b.len, NULL, &w, &used2, &err) != 0 ||
			    used2 != b.len || !n4j_bolt_value_eq(&v, &w))
				abort();
		}
		n4j_buf_reset(&b);
		n4j_bolt_value_print(&b, &v);
		n4j_buf_free(&b);
	}
	struct n4j_bolt_value m;
	if (n4j_ps_decode_message(a, data, size, &m, &err) == 0) {
		struct n4j_bolt_failure f;
		if (m.u.st.len >= 1)
			n4j_bolt_failure_parse(&m.u.st.fields[0], &f);
	}
	n4j_arena_free(a);
	return 0;
}
