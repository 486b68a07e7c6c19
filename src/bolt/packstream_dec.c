/*
 * PackStream decoding: pure. Every length is checked against the bytes left before
 * anything is allocated, so a hostile 4-GiB length costs nothing; containers are bounded
 * by the bytes left (every value takes at least one byte) and by lim->max_items.
 */
#include "bolt/internal.h"

#include <string.h>

const struct n4j_ps_limits n4j_ps_default_limits = {
	.max_depth = 64,
	.max_items = 4u << 20,
	.max_bytes = N4J_MESSAGE_MAX,
};

struct dec {
	struct n4j_arena *a;
	const uint8_t *p;
	size_t len;
	size_t pos;
	uint32_t items;
	const struct n4j_ps_limits *lim;
	struct n4j_error *err;
};

static int trunc_err(struct dec *d)
{
	return n4j_err(d->err, N4J_EBOLT_PROTOCOL, "packstream: truncated value at byte %zu",
		       d->pos);
}

static int get_be(struct dec *d, int n, uint64_t *v)
{
	*v = 0;
	if (d->len - d->pos < (size_t)n)
		return trunc_err(d);
	uint64_t x = 0;
	for (int i = 0; i < n; i++)
		x = (x << 8) | d->p[d->pos + (size_t)i];
	d->pos += (size_t)n;
	*v = x;
	return 0;
}

static int decode(struct dec *d, struct n4j_bolt_value *out, uint32_t depth);

static int check_struct(struct dec *d, const struct n4j_bolt_value *v);

static int get_count(struct dec *d, int nbytes, uint64_t *n)
{
	int rc = get_be(d, nbytes, n);
	if (rc)
		return rc;
	if (*n > INT32_MAX)
		return n4j_err(d->err, N4J_EBOLT_PROTOCOL, "packstream: length %llu above 2^31-1",
			       (unsigned long long)*n);
	return 0;
}

static int decode_string(struct dec *d, uint64_t n, struct n4j_bolt_value *out, bool bytes)
{
	if (d->len - d->pos < n)
		return trunc_err(d);
	char *s = n4j_arena_alloc(d->a, (size_t)n + 1);
	if (!s)
		return n4j_err(d->err, N4J_ENOMEM, "packstream: out of memory");
	memcpy(s, d->p + d->pos, (size_t)n);
	s[n] = '\0';
	d->pos += (size_t)n;
	out->type = bytes ? N4J_BOLT_BYTES : N4J_BOLT_STRING;
	out->u.s.data = s;
	out->u.s.len = (uint32_t)n;
	return 0;
}

static int count_items(struct dec *d, uint64_t n, uint64_t per)
{
	/* each item needs >= per bytes: refuse counts the input cannot hold */
	if (n > (d->len - d->pos) / per)
		return trunc_err(d);
	if (n > d->lim->max_items - d->items)
		return n4j_err(d->err, N4J_ELIMIT, "packstream: more than %u values",
			       d->lim->max_items);
	d->items += (uint32_t)n;
	return 0;
}

static int decode_list(struct dec *d, uint64_t n, struct n4j_bolt_value *out, uint32_t depth)
{
	int rc = count_items(d, n, 1);
	if (rc)
		return rc;
	out->type = N4J_BOLT_LIST;
	out->u.list.len = (uint32_t)n;
	out->u.list.items = NULL;
	if (n == 0)
		return 0;
	out->u.list.items = n4j_arena_calloc(d->a, (size_t)n, sizeof(struct n4j_bolt_value));
	if (!out->u.list.items)
		return n4j_err(d->err, N4J_ENOMEM, "packstream: out of memory");
	for (uint64_t i = 0; i < n; i++) {
		rc = decode(d, &out->u.list.items[i], depth + 1);
		if (rc)
			return rc;
	}
	return 0;
}

static int decode_map(struct dec *d, uint64_t n, struct n4j_bolt_value *out, uint32_t depth)
{
	int rc = count_items(d, n, 2);
	if (rc)
		return rc;
	out->type = N4J_BOLT_MAP;
	out->u.map.len = (uint32_t)n;
	out->u.map.pairs = NULL;
	if (n == 0)
		return 0;
	out->u.map.pairs = n4j_arena_calloc(d->a, (size_t)n, sizeof(struct n4j_bolt_pair));
	if (!out->u.map.pairs)
		return n4j_err(d->err, N4J_ENOMEM, "packstream: out of memory");
	for (uint64_t i = 0; i < n; i++) {
		struct n4j_bolt_pair *p = &out->u.map.pairs[i];
		size_t at = d->pos;
		rc = decode(d, &p->key, depth + 1);
		if (rc)
			return rc;
		if (p->key.type != N4J_BOLT_STRING)
			return n4j_err(d->err, N4J_EBOLT_PROTOCOL,
				       "packstream: map key at byte %zu is not a string", at);
		rc = decode(d, &p->value, depth + 1);
		if (rc)
			return rc;
	}
	return 0;
}

static int decode(struct dec *d, struct n4j_bolt_value *out, uint32_t depth)
{
	if (depth > d->lim->max_depth)
		return n4j_err(d->err, N4J_ELIMIT, "packstream: nested deeper than %u",
			       d->lim->max_depth);
	if (d->pos >= d->len)
		return trunc_err(d);
	size_t at = d->pos;
	uint8_t m = d->p[d->pos++];
	uint64_t n = 0;
	int rc;
	memset(out, 0, sizeof *out);
	if (m <= 0x7F || m >= 0xF0) {
		out->type = N4J_BOLT_INT;
		out->u.i = (int8_t)m;
		return 0;
	}
	switch (m >> 4) {
	case 0x8:
		return decode_string(d, m & 0x0F, out, false);
	case 0x9:
		return decode_list(d, m & 0x0F, out, depth);
	case 0xA:
		return decode_map(d, m & 0x0F, out, depth);
	case 0xB:
		n = m & 0x0F;
		if (d->pos >= d->len)
			return trunc_err(d);
		out->type = N4J_BOLT_STRUCT;
		out->u.st.tag = d->p[d->pos++];
		out->u.st.len = (uint8_t)n;
		if (out->u.st.tag > 0x7F)
			return n4j_err(d->err, N4J_EBOLT_PROTOCOL,
				       "packstream: struct tag 0x%02X above 0x7F at byte %zu",
				       out->u.st.tag, at);
		if ((rc = count_items(d, n, 1)))
			return rc;
		if (n) {
			out->u.st.fields = n4j_arena_calloc(d->a, (size_t)n, sizeof *out);
			if (!out->u.st.fields)
				return n4j_err(d->err, N4J_ENOMEM, "packstream: out of memory");
		}
		for (uint64_t i = 0; i < n; i++)
			if ((rc = decode(d, &out->u.st.fields[i], depth + 1)))
				return rc;
		return check_struct(d, out);
	default:
		break;
	}
	switch (m) {
	case 0xC0:
		out->type = N4J_BOLT_NULL;
		return 0;
	case 0xC1:
		if ((rc = get_be(d, 8, &n)))
			return rc;
		out->type = N4J_BOLT_FLOAT;
		memcpy(&out->u.f, &n, sizeof n);
		return 0;
	case 0xC2:
	case 0xC3:
		out->type = N4J_BOLT_BOOL;
		out->u.b = m == 0xC3;
		return 0;
	case 0xC8:
	case 0xC9:
	case 0xCA:
	case 0xCB: {
		int w = 1 << (m - 0xC8);
		if ((rc = get_be(d, w, &n)))
			return rc;
		out->type = N4J_BOLT_INT;
		/* sign-extend from w bytes without shifting into the sign bit (UB) */
		if (w < 8 && (n >> (8 * w - 1)) & 1)
			n |= ~(uint64_t)0 << (8 * w);
		memcpy(&out->u.i, &n, sizeof n);
		return 0;
	}
	case 0xCC:
	case 0xCD:
	case 0xCE:
		if ((rc = get_count(d, 1 << (m - 0xCC), &n)))
			return rc;
		return decode_string(d, n, out, true);
	case 0xD0:
	case 0xD1:
	case 0xD2:
		if ((rc = get_count(d, 1 << (m - 0xD0), &n)))
			return rc;
		return decode_string(d, n, out, false);
	case 0xD4:
	case 0xD5:
	case 0xD6:
		if ((rc = get_count(d, 1 << (m - 0xD4), &n)))
			return rc;
		return decode_list(d, n, out, depth);
	case 0xD8:
	case 0xD9:
	case 0xDA:
		if ((rc = get_count(d, 1 << (m - 0xD8), &n)))
			return rc;
		return decode_map(d, n, out, depth);
	default:
		return n4j_err(d->err, N4J_EBOLT_PROTOCOL,
			       "packstream: reserved marker 0x%02X at byte %zu", m, at);
	}
}

/* Field type signatures of known structs: i int, f float, s string, l list, m map,
 * L list of strings, N list of nodes, U list of unbound relationships, I list of ints,
 * ? any. Both the 5.x and the 4.4 shapes are listed. */
struct shape {
	uint8_t tag;
	const char *sig;
};
static const struct shape shapes[] = {
	{N4J_TAG_NODE, "iLms"},
	{N4J_TAG_NODE, "iLm"},
	{N4J_TAG_REL, "iiismsss"},
	{N4J_TAG_REL, "iiism"},
	{N4J_TAG_UNBOUND_REL, "isms"},
	{N4J_TAG_UNBOUND_REL, "ism"},
	{N4J_TAG_PATH, "NUI"},
	{N4J_TAG_DATE, "i"},
	{N4J_TAG_TIME, "ii"},
	{N4J_TAG_LOCAL_TIME, "i"},
	{N4J_TAG_DATETIME, "iii"},
	{N4J_TAG_DATETIME_ZONEID, "iis"},
	{N4J_TAG_LEGACY_DATETIME, "iii"},
	{N4J_TAG_LEGACY_DATETIME_ZONEID, "iis"},
	{N4J_TAG_LOCAL_DATETIME, "ii"},
	{N4J_TAG_DURATION, "iiii"},
	{N4J_TAG_POINT2D, "iff"},
	{N4J_TAG_POINT3D, "ifff"},
};

static bool list_of(const struct n4j_bolt_value *v, enum n4j_bolt_type t, int tag)
{
	if (v->type != N4J_BOLT_LIST)
		return false;
	for (uint32_t i = 0; i < v->u.list.len; i++) {
		const struct n4j_bolt_value *x = &v->u.list.items[i];
		if (x->type != t || (tag >= 0 && x->u.st.tag != tag))
			return false;
	}
	return true;
}

static bool field_ok(char c, const struct n4j_bolt_value *v)
{
	switch (c) {
	case 'i':
		return v->type == N4J_BOLT_INT;
	case 'f':
		return v->type == N4J_BOLT_FLOAT;
	case 's':
		return v->type == N4J_BOLT_STRING;
	case 'm':
		return v->type == N4J_BOLT_MAP;
	case 'L':
		return list_of(v, N4J_BOLT_STRING, -1);
	case 'I':
		return list_of(v, N4J_BOLT_INT, -1);
	case 'N':
		return list_of(v, N4J_BOLT_STRUCT, N4J_TAG_NODE);
	case 'U':
		return list_of(v, N4J_BOLT_STRUCT, N4J_TAG_UNBOUND_REL);
	default:
		return true;
	}
}

static int check_struct(struct dec *d, const struct n4j_bolt_value *v)
{
	bool known = false;
	for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
		if (shapes[k].tag != v->u.st.tag)
			continue;
		known = true;
		if (strlen(shapes[k].sig) != v->u.st.len)
			continue;
		bool ok = true;
		for (uint8_t i = 0; ok && i < v->u.st.len; i++)
			ok = field_ok(shapes[k].sig[i], &v->u.st.fields[i]);
		if (ok)
			return 0;
	}
	/* Unknown tags are kept (bolt.md pitfall 14): only known shapes are enforced.
	 * Message structs (SUCCESS etc.) share the namespace, so the tags of top-level
	 * messages that collide with value tags are never checked here (see decode_message). */
	if (!known)
		return 0;
	return n4j_err(d->err, N4J_EBOLT_PROTOCOL,
		       "packstream: struct 0x%02X has %u fields of unexpected types", v->u.st.tag,
		       v->u.st.len);
}

int n4j_ps_decode(struct n4j_arena *a, const void *data, size_t len,
		  const struct n4j_ps_limits *lim, struct n4j_bolt_value *out, size_t *used,
		  struct n4j_error *err)
{
	if (!lim)
		lim = &n4j_ps_default_limits;
	if (len > lim->max_bytes)
		return n4j_err(err, N4J_ELIMIT, "packstream: input of %zu bytes above %zu", len,
			       lim->max_bytes);
	struct dec d = {.a = a, .p = data, .len = len, .lim = lim, .err = err};
	int rc = decode(&d, out, 0);
	if (rc)
		return rc;
	if (used)
		*used = d.pos;
	return 0;
}

int n4j_ps_decode_message(struct n4j_arena *a, const void *data, size_t len,
			  struct n4j_bolt_value *out, struct n4j_error *err)
{
	const uint8_t *p = data;
	/* A message is a struct whose signature may equal a value tag (TELEMETRY 0x54 = Time;
	 * RECORD...): decode the header here, only the fields as values. */
	if (len < 2 || (p[0] & 0xF0) != 0xB0)
		return n4j_err(err, N4J_EBOLT_PROTOCOL, "bolt: message is not a struct");
	uint8_t n = p[0] & 0x0F;
	struct dec d = {
		.a = a, .p = data, .len = len, .pos = 2, .lim = &n4j_ps_default_limits, .err = err};
	memset(out, 0, sizeof *out);
	out->type = N4J_BOLT_STRUCT;
	out->u.st.tag = p[1];
	out->u.st.len = n;
	if (n) {
		out->u.st.fields = n4j_arena_calloc(a, n, sizeof *out);
		if (!out->u.st.fields)
			return n4j_err(err, N4J_ENOMEM, "packstream: out of memory");
	}
	for (uint8_t i = 0; i < n; i++) {
		int rc = decode(&d, &out->u.st.fields[i], 1);
		if (rc)
			return rc;
	}
	if (d.pos != len)
		return n4j_err(err, N4J_EBOLT_PROTOCOL, "bolt: %zu trailing bytes after a message",
			       len - d.pos);
	return 0;
}
