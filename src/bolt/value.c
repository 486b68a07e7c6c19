/* Value constructors, lookups, equality and debug printing. */
#include "bolt/internal.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

struct n4j_bolt_value n4j_bolt_null(void)
{
	struct n4j_bolt_value v = {.type = N4J_BOLT_NULL};
	return v;
}

struct n4j_bolt_value n4j_bolt_bool(bool b)
{
	struct n4j_bolt_value v = {.type = N4J_BOLT_BOOL, .u.b = b};
	return v;
}

struct n4j_bolt_value n4j_bolt_int(int64_t i)
{
	struct n4j_bolt_value v = {.type = N4J_BOLT_INT, .u.i = i};
	return v;
}

struct n4j_bolt_value n4j_bolt_float(double f)
{
	struct n4j_bolt_value v = {.type = N4J_BOLT_FLOAT, .u.f = f};
	return v;
}

struct n4j_bolt_value n4j_bolt_strn(const char *s, uint32_t len)
{
	struct n4j_bolt_value v = {.type = N4J_BOLT_STRING, .u.s = {s, len}};
	return v;
}

struct n4j_bolt_value n4j_bolt_str(const char *s)
{
	return n4j_bolt_strn(s, (uint32_t)strlen(s));
}

struct n4j_bolt_value n4j_bolt_bytes(const void *p, uint32_t len)
{
	struct n4j_bolt_value v = {.type = N4J_BOLT_BYTES, .u.s = {p, len}};
	return v;
}

struct n4j_bolt_value *n4j_bolt_list_new(struct n4j_arena *a, uint32_t n)
{
	struct n4j_bolt_value *v = n4j_arena_calloc(a, 1, sizeof *v);
	if (!v)
		return NULL;
	v->type = N4J_BOLT_LIST;
	v->u.list.len = n;
	if (n && !(v->u.list.items = n4j_arena_calloc(a, n, sizeof *v)))
		return NULL;
	return v;
}

struct n4j_bolt_value *n4j_bolt_map_new(struct n4j_arena *a, uint32_t n)
{
	struct n4j_bolt_value *v = n4j_arena_calloc(a, 1, sizeof *v);
	if (!v)
		return NULL;
	v->type = N4J_BOLT_MAP;
	v->u.map.len = n;
	if (n && !(v->u.map.pairs = n4j_arena_calloc(a, n, sizeof(struct n4j_bolt_pair))))
		return NULL;
	for (uint32_t i = 0; i < n; i++)
		v->u.map.pairs[i].key = n4j_bolt_strn("", 0);
	return v;
}

struct n4j_bolt_value *n4j_bolt_struct_new(struct n4j_arena *a, uint8_t tag, uint8_t n)
{
	struct n4j_bolt_value *v = n4j_arena_calloc(a, 1, sizeof *v);
	if (!v || n > 15)
		return NULL;
	v->type = N4J_BOLT_STRUCT;
	v->u.st.tag = tag;
	v->u.st.len = n;
	if (n && !(v->u.st.fields = n4j_arena_calloc(a, n, sizeof *v)))
		return NULL;
	return v;
}

void n4j_bolt_map_set(struct n4j_bolt_value *map, uint32_t i, const char *key,
		      struct n4j_bolt_value v)
{
	if (map->type != N4J_BOLT_MAP || i >= map->u.map.len)
		return;
	map->u.map.pairs[i].key = n4j_bolt_str(key);
	map->u.map.pairs[i].value = v;
}

const struct n4j_bolt_value *n4j_bolt_map_get(const struct n4j_bolt_value *map, const char *key)
{
	if (!map || map->type != N4J_BOLT_MAP)
		return NULL;
	size_t kl = strlen(key);
	const struct n4j_bolt_value *found = NULL;
	for (uint32_t i = 0; i < map->u.map.len; i++) {
		const struct n4j_bolt_pair *p = &map->u.map.pairs[i];
		if (p->key.u.s.len == kl && memcmp(p->key.u.s.data, key, kl) == 0)
			found = &p->value; /* the last duplicate wins */
	}
	return found;
}

const char *n4j_bolt_as_str(const struct n4j_bolt_value *v)
{
	return v && v->type == N4J_BOLT_STRING ? v->u.s.data : NULL;
}

static int pair_cmp(const void *x, const void *y)
{
	const struct n4j_bolt_pair *p = *(const struct n4j_bolt_pair *const *)x;
	const struct n4j_bolt_pair *q = *(const struct n4j_bolt_pair *const *)y;
	uint32_t n = p->key.u.s.len < q->key.u.s.len ? p->key.u.s.len : q->key.u.s.len;
	int c = n ? memcmp(p->key.u.s.data, q->key.u.s.data, n) : 0;
	if (c)
		return c;
	if (p->key.u.s.len != q->key.u.s.len)
		return p->key.u.s.len < q->key.u.s.len ? -1 : 1;
	/* duplicate keys keep their wire order, so equal maps sort alike */
	return (p > q) - (p < q);
}

/* Large maps: sort both by key (O(n log n)) instead of the quadratic scan. */
static bool map_eq_sorted(const struct n4j_bolt_value *a, const struct n4j_bolt_value *b)
{
	uint32_t n = a->u.map.len;
	const struct n4j_bolt_pair **pa = malloc(2 * (size_t)n * sizeof *pa);
	if (!pa)
		return false;
	const struct n4j_bolt_pair **pb = pa + n;
	for (uint32_t i = 0; i < n; i++) {
		pa[i] = &a->u.map.pairs[i];
		pb[i] = &b->u.map.pairs[i];
	}
	qsort(pa, n, sizeof *pa, pair_cmp);
	qsort(pb, n, sizeof *pb, pair_cmp);
	bool eq = true;
	for (uint32_t i = 0; i < n && eq; i++)
		eq = n4j_bolt_value_eq(&pa[i]->key, &pb[i]->key) &&
		     n4j_bolt_value_eq(&pa[i]->value, &pb[i]->value);
	free(pa);
	return eq;
}

bool n4j_bolt_value_eq(const struct n4j_bolt_value *a, const struct n4j_bolt_value *b)
{
	if (a->type != b->type)
		return false;
	switch (a->type) {
	case N4J_BOLT_NULL:
		return true;
	case N4J_BOLT_BOOL:
		return a->u.b == b->u.b;
	case N4J_BOLT_INT:
		return a->u.i == b->u.i;
	case N4J_BOLT_FLOAT:
		return memcmp(&a->u.f, &b->u.f, sizeof a->u.f) == 0 || a->u.f == b->u.f;
	case N4J_BOLT_STRING:
	case N4J_BOLT_BYTES:
		return a->u.s.len == b->u.s.len &&
		       (a->u.s.len == 0 || memcmp(a->u.s.data, b->u.s.data, a->u.s.len) == 0);
	case N4J_BOLT_LIST:
		if (a->u.list.len != b->u.list.len)
			return false;
		for (uint32_t i = 0; i < a->u.list.len; i++)
			if (!n4j_bolt_value_eq(&a->u.list.items[i], &b->u.list.items[i]))
				return false;
		return true;
	case N4J_BOLT_MAP:
		/* order-insensitive: every key of a has an equal value in b, same sizes */
		if (a->u.map.len != b->u.map.len)
			return false;
		if (a->u.map.len > 8)
			return map_eq_sorted(a, b);
		for (uint32_t i = 0; i < a->u.map.len; i++) {
			const struct n4j_bolt_pair *p = &a->u.map.pairs[i];
			bool hit = false;
			for (uint32_t j = 0; j < b->u.map.len && !hit; j++) {
				const struct n4j_bolt_pair *q = &b->u.map.pairs[j];
				hit = n4j_bolt_value_eq(&p->key, &q->key) &&
				      n4j_bolt_value_eq(&p->value, &q->value);
			}
			if (!hit)
				return false;
		}
		return true;
	case N4J_BOLT_STRUCT:
		if (a->u.st.tag != b->u.st.tag || a->u.st.len != b->u.st.len)
			return false;
		for (uint8_t i = 0; i < a->u.st.len; i++)
			if (!n4j_bolt_value_eq(&a->u.st.fields[i], &b->u.st.fields[i]))
				return false;
		return true;
	}
	return false;
}

static void print_str(struct n4j_buf *b, const char *s, uint32_t len)
{
	n4j_buf_putc(b, '"');
	for (uint32_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\')
			n4j_buf_printf(b, "\\%c", c);
		else if (c < 0x20)
			n4j_buf_printf(b, "\\u%04x", c);
		else
			n4j_buf_putc(b, (char)c);
	}
	n4j_buf_putc(b, '"');
}

static void print_value(struct n4j_buf *b, const struct n4j_bolt_value *v, int depth)
{
	if (depth > 70) {
		n4j_buf_puts(b, "...");
		return;
	}
	switch (v->type) {
	case N4J_BOLT_NULL:
		n4j_buf_puts(b, "null");
		break;
	case N4J_BOLT_BOOL:
		n4j_buf_puts(b, v->u.b ? "true" : "false");
		break;
	case N4J_BOLT_INT:
		n4j_buf_printf(b, "%" PRId64, v->u.i);
		break;
	case N4J_BOLT_FLOAT:
		if (isfinite(v->u.f))
			n4j_buf_printf(b, "%.17g", v->u.f);
		else
			n4j_buf_printf(b, "\"%s\"",
				       isnan(v->u.f) ? "NaN"
				       : v->u.f > 0  ? "Inf"
						     : "-Inf");
		break;
	case N4J_BOLT_STRING:
		print_str(b, v->u.s.data, v->u.s.len);
		break;
	case N4J_BOLT_BYTES:
		n4j_buf_puts(b, "{\"#\":\"");
		for (uint32_t i = 0; i < v->u.s.len; i++)
			n4j_buf_printf(b, "%s%02X", i ? " " : "", (unsigned char)v->u.s.data[i]);
		n4j_buf_puts(b, "\"}");
		break;
	case N4J_BOLT_LIST:
		n4j_buf_putc(b, '[');
		for (uint32_t i = 0; i < v->u.list.len; i++) {
			if (i)
				n4j_buf_puts(b, ", ");
			print_value(b, &v->u.list.items[i], depth + 1);
		}
		n4j_buf_putc(b, ']');
		break;
	case N4J_BOLT_MAP:
		n4j_buf_putc(b, '{');
		for (uint32_t i = 0; i < v->u.map.len; i++) {
			if (i)
				n4j_buf_puts(b, ", ");
			print_value(b, &v->u.map.pairs[i].key, depth + 1);
			n4j_buf_puts(b, ": ");
			print_value(b, &v->u.map.pairs[i].value, depth + 1);
		}
		n4j_buf_putc(b, '}');
		break;
	case N4J_BOLT_STRUCT:
		n4j_buf_printf(b, "{\"$%02X\":[", v->u.st.tag);
		for (uint8_t i = 0; i < v->u.st.len; i++) {
			if (i)
				n4j_buf_puts(b, ", ");
			print_value(b, &v->u.st.fields[i], depth + 1);
		}
		n4j_buf_puts(b, "]}");
		break;
	}
}

void n4j_bolt_value_print(struct n4j_buf *b, const struct n4j_bolt_value *v)
{
	print_value(b, v, 0);
}
