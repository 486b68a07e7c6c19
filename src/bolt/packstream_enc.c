/* PackStream encoding: pure, appends to an n4j_buf (which records OOM itself). */
#include "bolt/internal.h"

#include <string.h>

static void put_be(struct n4j_buf *b, uint8_t marker, uint64_t v, int nbytes)
{
	uint8_t tmp[9];
	tmp[0] = marker;
	for (int i = 0; i < nbytes; i++)
		tmp[1 + i] = (uint8_t)(v >> (8 * (nbytes - 1 - i)));
	n4j_buf_append(b, tmp, (size_t)nbytes + 1);
}

void n4j_ps_put_null(struct n4j_buf *b)
{
	n4j_buf_putc(b, (char)0xC0);
}

void n4j_ps_put_bool(struct n4j_buf *b, bool v)
{
	n4j_buf_putc(b, (char)(v ? 0xC3 : 0xC2));
}

void n4j_ps_put_int(struct n4j_buf *b, int64_t v)
{
	if (v >= -16 && v <= 127)
		n4j_buf_putc(b, (char)(uint8_t)(int8_t)v);
	else if (v >= INT8_MIN && v <= INT8_MAX)
		put_be(b, 0xC8, (uint64_t)v, 1);
	else if (v >= INT16_MIN && v <= INT16_MAX)
		put_be(b, 0xC9, (uint64_t)v, 2);
	else if (v >= INT32_MIN && v <= INT32_MAX)
		put_be(b, 0xCA, (uint64_t)v, 4);
	else
		put_be(b, 0xCB, (uint64_t)v, 8);
}

void n4j_ps_put_float(struct n4j_buf *b, double v)
{
	uint64_t bits;
	memcpy(&bits, &v, sizeof bits);
	put_be(b, 0xC1, bits, 8);
}

/* Sized header: tiny form (base | n) when n < 16 and a tiny form exists, else 8/16/32-bit. */
static void put_sized(struct n4j_buf *b, uint8_t tiny, uint8_t m8, uint64_t n)
{
	if (tiny && n < 16)
		n4j_buf_putc(b, (char)(tiny | n));
	else if (n <= 0xFF)
		put_be(b, m8, n, 1);
	else if (n <= 0xFFFF)
		put_be(b, (uint8_t)(m8 + 1), n, 2);
	else
		put_be(b, (uint8_t)(m8 + 2), n, 4);
}

void n4j_ps_put_string(struct n4j_buf *b, const char *s, size_t len)
{
	if (len > INT32_MAX) {
		b->oom = true; /* not representable: surfaces as an encoding failure */
		return;
	}
	put_sized(b, 0x80, 0xD0, len);
	n4j_buf_append(b, s, len);
}

void n4j_ps_put_bytes(struct n4j_buf *b, const void *p, size_t len)
{
	if (len > INT32_MAX) {
		b->oom = true;
		return;
	}
	put_sized(b, 0, 0xCC, len);
	n4j_buf_append(b, p, len);
}

void n4j_ps_put_list_header(struct n4j_buf *b, uint32_t n)
{
	put_sized(b, 0x90, 0xD4, n);
}

void n4j_ps_put_map_header(struct n4j_buf *b, uint32_t n)
{
	put_sized(b, 0xA0, 0xD8, n);
}

void n4j_ps_put_struct_header(struct n4j_buf *b, uint8_t tag, uint8_t nfields)
{
	uint8_t h[2] = {(uint8_t)(0xB0 | (nfields & 0x0F)), tag};
	n4j_buf_append(b, h, 2);
}

static int put_value(struct n4j_buf *b, const struct n4j_bolt_value *v, int depth,
		     struct n4j_error *err)
{
	if (depth > 64)
		return n4j_err(err, N4J_ELIMIT, "packstream: value nested deeper than 64");
	switch (v->type) {
	case N4J_BOLT_NULL:
		n4j_ps_put_null(b);
		return 0;
	case N4J_BOLT_BOOL:
		n4j_ps_put_bool(b, v->u.b);
		return 0;
	case N4J_BOLT_INT:
		n4j_ps_put_int(b, v->u.i);
		return 0;
	case N4J_BOLT_FLOAT:
		n4j_ps_put_float(b, v->u.f);
		return 0;
	case N4J_BOLT_STRING:
		n4j_ps_put_string(b, v->u.s.data, v->u.s.len);
		return 0;
	case N4J_BOLT_BYTES:
		n4j_ps_put_bytes(b, v->u.s.data, v->u.s.len);
		return 0;
	case N4J_BOLT_LIST:
		n4j_ps_put_list_header(b, v->u.list.len);
		for (uint32_t i = 0; i < v->u.list.len; i++) {
			int rc = put_value(b, &v->u.list.items[i], depth + 1, err);
			if (rc)
				return rc;
		}
		return 0;
	case N4J_BOLT_MAP:
		n4j_ps_put_map_header(b, v->u.map.len);
		for (uint32_t i = 0; i < v->u.map.len; i++) {
			const struct n4j_bolt_pair *p = &v->u.map.pairs[i];
			if (p->key.type != N4J_BOLT_STRING)
				return n4j_err(err, N4J_EINVAL,
					       "packstream: map key is not a string");
			n4j_ps_put_string(b, p->key.u.s.data, p->key.u.s.len);
			int rc = put_value(b, &p->value, depth + 1, err);
			if (rc)
				return rc;
		}
		return 0;
	case N4J_BOLT_STRUCT:
		if (v->u.st.len > 15)
			return n4j_err(err, N4J_ELIMIT,
				       "packstream: struct with more than 15 fields");
		if (v->u.st.tag > 0x7F)
			return n4j_err(err, N4J_EINVAL, "packstream: struct tag above 0x7F");
		n4j_ps_put_struct_header(b, v->u.st.tag, v->u.st.len);
		for (uint8_t i = 0; i < v->u.st.len; i++) {
			int rc = put_value(b, &v->u.st.fields[i], depth + 1, err);
			if (rc)
				return rc;
		}
		return 0;
	}
	return n4j_err(err, N4J_EINVAL, "packstream: unknown value type %d", (int)v->type);
}

int n4j_ps_put_value(struct n4j_buf *b, const struct n4j_bolt_value *v, struct n4j_error *err)
{
	int rc = put_value(b, v, 0, err);
	if (rc)
		return rc;
	if (b->oom)
		return n4j_err(err, N4J_ENOMEM, "packstream: out of memory or value too large");
	return 0;
}
