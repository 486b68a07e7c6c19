/* Unit tests of the pure parts: PackStream, framing, handshake, failures, retry delays. */
#include "bolt/bolt.h"
#include "check.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : c - 'a' + 10;
}

/* "C8 EF" -> bytes; returns length */
static size_t unhex(const char *h, uint8_t *out)
{
	size_t n = 0;
	while (*h) {
		if (*h == ' ') {
			h++;
			continue;
		}
		out[n++] = (uint8_t)(hexval(h[0]) << 4 | hexval(h[1]));
		h += 2;
	}
	return n;
}

static bool enc_is(const struct n4j_bolt_value *v, const char *hex)
{
	uint8_t want[256];
	size_t n = unhex(hex, want);
	struct n4j_buf b;
	n4j_buf_init(&b);
	int rc = n4j_ps_put_value(&b, v, NULL);
	bool ok = rc == 0 && b.len == n && memcmp(b.data, want, n) == 0;
	if (!ok) {
		fprintf(stderr, "  encoded:");
		for (size_t i = 0; i < b.len; i++)
			fprintf(stderr, " %02X", (uint8_t)b.data[i]);
		fprintf(stderr, " want %s\n", hex);
	}
	n4j_buf_free(&b);
	return ok;
}

/* encode -> decode -> equal */
static bool roundtrip(struct n4j_arena *a, const struct n4j_bolt_value *v)
{
	struct n4j_buf b;
	n4j_buf_init(&b);
	struct n4j_error err = {0};
	bool ok = n4j_ps_put_value(&b, v, &err) == 0;
	struct n4j_bolt_value out;
	size_t used = 0;
	ok = ok && n4j_ps_decode(a, b.data, b.len, NULL, &out, &used, &err) == 0 && used == b.len &&
	     n4j_bolt_value_eq(v, &out);
	if (!ok)
		fprintf(stderr, "  roundtrip failed: %s\n", err.msg);
	n4j_buf_free(&b);
	return ok;
}

static int dec_hex(struct n4j_arena *a, const char *hex, struct n4j_bolt_value *out)
{
	uint8_t buf[256];
	size_t n = unhex(hex, buf), used = 0;
	struct n4j_error err;
	int rc = n4j_ps_decode(a, buf, n, NULL, out, &used, &err);
	if (rc == 0 && used != n)
		return -100;
	return rc;
}

static void test_ints(struct n4j_arena *a)
{
	struct n4j_bolt_value v;
	static const struct {
		int64_t i;
		const char *hex;
	} vec[] = {
		{0, "00"},
		{127, "7F"},
		{-1, "FF"},
		{-16, "F0"},
		{-17, "C8 EF"},
		{-128, "C8 80"},
		{128, "C9 00 80"},
		{-129, "C9 FF 7F"},
		{32767, "C9 7F FF"},
		{-32768, "C9 80 00"},
		{32768, "CA 00 00 80 00"},
		{-32769, "CA FF FF 7F FF"},
		{INT32_MAX, "CA 7F FF FF FF"},
		{INT32_MIN, "CA 80 00 00 00"},
		{2147483648LL, "CB 00 00 00 00 80 00 00 00"},
		{INT64_MAX, "CB 7F FF FF FF FF FF FF FF"},
		{INT64_MIN, "CB 80 00 00 00 00 00 00 00"},
	};
	for (size_t i = 0; i < sizeof vec / sizeof vec[0]; i++) {
		v = n4j_bolt_int(vec[i].i);
		CHECK_MSG(enc_is(&v, vec[i].hex), "int %lld", (long long)vec[i].i);
		struct n4j_bolt_value d;
		CHECK(dec_hex(a, vec[i].hex, &d) == 0 && d.type == N4J_BOLT_INT &&
		      d.u.i == vec[i].i);
	}
	/* non-minimal widths decode (pitfall 14) */
	struct n4j_bolt_value d;
	CHECK(dec_hex(a, "CB 00 00 00 00 00 00 00 01", &d) == 0 && d.u.i == 1);
	CHECK(dec_hex(a, "C9 FF FF", &d) == 0 && d.u.i == -1);
}

static void test_scalars(struct n4j_arena *a)
{
	struct n4j_bolt_value v = n4j_bolt_float(1.23);
	CHECK(enc_is(&v, "C1 3F F3 AE 14 7A E1 47 AE"));
	v = n4j_bolt_null();
	CHECK(enc_is(&v, "C0"));
	v = n4j_bolt_bool(true);
	CHECK(enc_is(&v, "C3"));
	v = n4j_bolt_bool(false);
	CHECK(enc_is(&v, "C2"));
	v = n4j_bolt_str("");
	CHECK(enc_is(&v, "80"));
	v = n4j_bolt_str("A");
	CHECK(enc_is(&v, "81 41"));
	v = n4j_bolt_bytes("", 0);
	CHECK(enc_is(&v, "CC 00"));
	/* {"a": 1, "b": [true, null]} */
	struct n4j_bolt_value *m = n4j_bolt_map_new(a, 2), *l = n4j_bolt_list_new(a, 2);
	l->u.list.items[0] = n4j_bolt_bool(true);
	n4j_bolt_map_set(m, 0, "a", n4j_bolt_int(1));
	n4j_bolt_map_set(m, 1, "b", *l);
	CHECK(enc_is(m, "A2 81 61 01 81 62 92 C3 C0"));
	CHECK(roundtrip(a, m));
	double specials[] = {0.0, -0.0, INFINITY, -INFINITY, 1e308, 5e-324};
	for (size_t i = 0; i < 6; i++) {
		v = n4j_bolt_float(specials[i]);
		CHECK(roundtrip(a, &v));
	}
	struct n4j_bolt_value d;
	CHECK(dec_hex(a, "C1 7F F8 00 00 00 00 00 00", &d) == 0 && isnan(d.u.f));
}

static void test_sizes(struct n4j_arena *a)
{
	static const uint32_t sizes[] = {0, 15, 16, 255, 256, 65535, 65536, 1 << 20};
	static const uint8_t str_hdr[] = {0x80, 0x8F, 0xD0, 0xD0, 0xD1, 0xD1, 0xD2, 0xD2};
	char *s = malloc(1 << 20);
	memset(s, 'x', 1 << 20);
	for (size_t i = 0; i < 8; i++) {
		struct n4j_bolt_value v = n4j_bolt_strn(s, sizes[i]);
		CHECK(roundtrip(a, &v));
		struct n4j_buf b;
		n4j_buf_init(&b);
		n4j_ps_put_value(&b, &v, NULL);
		CHECK_INT((uint8_t)b.data[0], str_hdr[i]);
		n4j_buf_free(&b);
		v = n4j_bolt_bytes(s, sizes[i]);
		CHECK(roundtrip(a, &v));
		if (sizes[i] <= 65536) {
			struct n4j_bolt_value *l = n4j_bolt_list_new(a, sizes[i]);
			CHECK(roundtrip(a, l));
			struct n4j_bolt_value *m =
				n4j_bolt_map_new(a, sizes[i] > 300 ? 300 : sizes[i]);
			for (uint32_t k = 0; k < m->u.map.len; k++)
				n4j_bolt_map_set(m, k, n4j_arena_printf(a, "k%u", k),
						 n4j_bolt_int(k));
			CHECK(roundtrip(a, m));
		}
	}
	free(s);
	/* a 300-byte string starts D1 01 2C; a 20-item list D4 14 */
	char s300[300];
	memset(s300, 'y', sizeof s300);
	struct n4j_buf b;
	n4j_buf_init(&b);
	n4j_ps_put_string(&b, s300, 300);
	CHECK((uint8_t)b.data[0] == 0xD1 && b.data[1] == 0x01 && (uint8_t)b.data[2] == 0x2C);
	n4j_buf_reset(&b);
	n4j_ps_put_list_header(&b, 20);
	CHECK((uint8_t)b.data[0] == 0xD4 && b.data[1] == 0x14);
	n4j_buf_free(&b);
}

static void test_structs(struct n4j_arena *a)
{
	struct n4j_bolt_value d;
	/* 5.x node: B4 4E id labels props element_id */
	CHECK(dec_hex(a, "B4 4E 01 91 81 4C A1 81 6B 02 82 34 3A", &d) == 0);
	CHECK(d.type == N4J_BOLT_STRUCT && d.u.st.tag == N4J_TAG_NODE && d.u.st.len == 4);
	/* 4.4 node: 3 fields */
	CHECK(dec_hex(a, "B3 4E 01 90 A0", &d) == 0);
	/* node with a non-list label field is malformed */
	CHECK(dec_hex(a, "B4 4E 01 01 A0 80", &d) == N4J_EBOLT_PROTOCOL);
	/* Date, LocalTime, Duration, Point2D */
	CHECK(dec_hex(a, "B1 44 C9 4E 20", &d) == 0 && d.u.st.fields[0].u.i == 20000);
	CHECK(dec_hex(a, "B4 45 01 02 03 04", &d) == 0);
	CHECK(dec_hex(a, "B3 58 C9 10 E6 C1 3F F0 00 00 00 00 00 00 C1 40 00 00 00 00 00 00 00",
		      &d) == 0);
	CHECK(dec_hex(a, "B3 58 C9 10 E6 01 02", &d) == N4J_EBOLT_PROTOCOL);
	/* DateTime {4500, 42, 3600} */
	CHECK(dec_hex(a, "B3 49 C9 11 94 2A C9 0E 10", &d) == 0 && d.u.st.fields[0].u.i == 4500);
	/* unknown struct tags are kept */
	CHECK(dec_hex(a, "B2 12 01 02", &d) == 0 && d.u.st.tag == 0x12);
	/* every temporal/spatial constructor round-trips */
	struct n4j_bolt_value *st = n4j_bolt_struct_new(a, N4J_TAG_DATETIME_ZONEID, 3);
	st->u.st.fields[0] = n4j_bolt_int(1700000000);
	st->u.st.fields[1] = n4j_bolt_int(5);
	st->u.st.fields[2] = n4j_bolt_str("Europe/Paris");
	CHECK(roundtrip(a, st));
	struct n4j_bolt_value *p3 = n4j_bolt_struct_new(a, N4J_TAG_POINT3D, 4);
	p3->u.st.fields[0] = n4j_bolt_int(9157);
	for (int i = 1; i < 4; i++)
		p3->u.st.fields[i] = n4j_bolt_float(i * 1.5);
	CHECK(roundtrip(a, p3));
	struct n4j_bolt_value *big = n4j_bolt_struct_new(a, 0x10, 16);
	CHECK(big == NULL);
}

static void test_malformed(struct n4j_arena *a)
{
	struct n4j_bolt_value d;
	static const char *bad[] = {
		"",                  /* empty */
		"C4",                /* reserved */
		"DC 01",             /* old struct8 */
		"EF",                /* reserved */
		"D0 05 41",          /* truncated string */
		"D2 7F FF FF FF 41", /* huge string length */
		"D2 80 00 00 00",    /* above 2^31-1 */
		"DA 7F FF FF FF",    /* huge map */
		"D6 7F FF FF FF",    /* huge list */
		"A1 01 02",          /* int key */
		"C9 01",             /* truncated int */
		"C1 00 00",          /* truncated float */
		"B1",                /* struct without tag */
		"B1 F0 01",          /* tag above 0x7F */
		"91",                /* list missing item */
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		CHECK_MSG(dec_hex(a, bad[i], &d) < 0, "accepted %s", bad[i]);
	/* depth limit */
	uint8_t deep[200];
	memset(deep, 0x91, sizeof deep);
	deep[199] = 0x01;
	size_t used;
	struct n4j_error err;
	CHECK(n4j_ps_decode(a, deep, sizeof deep, NULL, &d, &used, &err) == N4J_ELIMIT);
	struct n4j_ps_limits lim = {.max_depth = 300, .max_items = 100, .max_bytes = 1000};
	CHECK(n4j_ps_decode(a, deep, sizeof deep, &lim, &d, &used, &err) == N4J_ELIMIT);
	lim.max_items = 1000;
	CHECK(n4j_ps_decode(a, deep, sizeof deep, &lim, &d, &used, &err) == 0);
	/* messages: exactly one struct, nothing trailing */
	uint8_t msg[] = {0xB1, 0x70, 0xA0, 0x00};
	CHECK(n4j_ps_decode_message(a, msg, 3, &d, &err) == 0 && d.u.st.tag == 0x70);
	CHECK(n4j_ps_decode_message(a, msg, 4, &d, &err) == N4J_EBOLT_PROTOCOL);
	CHECK(n4j_ps_decode_message(a, msg, 1, &d, &err) == N4J_EBOLT_PROTOCOL);
	/* TELEMETRY-like 0x54 message with 1 field is not a Time struct */
	uint8_t tel[] = {0xB1, 0x54, 0x01};
	CHECK(n4j_ps_decode_message(a, tel, 3, &d, &err) == 0);
}

static void test_chunks(void)
{
	struct n4j_buf out;
	n4j_buf_init(&out);
	static uint8_t msg[70000];
	for (size_t i = 0; i < sizeof msg; i++)
		msg[i] = (uint8_t)i;
	n4j_chunk_write(&out, msg, sizeof msg);
	/* FF FF <65535> 11 71 <4465> 00 00 */
	CHECK_INT(out.len, 70000 + 6);
	CHECK((uint8_t)out.data[0] == 0xFF && (uint8_t)out.data[1] == 0xFF);
	CHECK(out.data[65537] == 0x11 && out.data[65538] == 0x71);
	/* prepend a NOOP and append a second message; feed byte by byte */
	struct n4j_buf wire;
	n4j_buf_init(&wire);
	n4j_buf_append(&wire, "\0\0", 2);
	n4j_buf_append(&wire, out.data, out.len);
	n4j_buf_append(&wire, "\0\0", 2);
	n4j_chunk_write(&wire, "abc", 3);
	struct n4j_dechunker d;
	n4j_dechunker_init(&d, 0);
	int got = 0;
	size_t lens[2] = {0, 0};
	for (size_t i = 0; i < wire.len; i++) {
		size_t used;
		int r = n4j_dechunker_feed(&d, wire.data + i, 1, &used, NULL);
		if (r == 1) {
			if (got < 2)
				lens[got] = d.msg.len;
			if (got == 0)
				CHECK(memcmp(d.msg.data, msg, sizeof msg) == 0);
			got++;
			n4j_dechunker_next(&d);
		}
		CHECK(r >= 0);
	}
	CHECK_INT(got, 2);
	CHECK_INT(lens[0], 70000);
	CHECK_INT(lens[1], 3);
	n4j_dechunker_free(&d);
	/* cap */
	n4j_dechunker_init(&d, 100);
	size_t used;
	uint8_t big[] = {0x00, 0xC8, 1, 2};
	CHECK(n4j_dechunker_feed(&d, big, sizeof big, &used, NULL) == N4J_ELIMIT);
	n4j_dechunker_free(&d);
	n4j_buf_free(&wire);
	n4j_buf_free(&out);
}

static int hs(const char *server_hex, uint16_t *version, char reply_hex[32])
{
	uint8_t in[128];
	size_t n = unhex(server_hex, in);
	struct n4j_hs h;
	n4j_hs_init(&h, 0);
	uint8_t reply[5];
	size_t rl = 0;
	int rc = 0;
	/* byte by byte: fragments must work */
	for (size_t i = 0; i < n && rc == 0; i++) {
		size_t used;
		rc = n4j_hs_feed(&h, in + i, 1, &used, version, reply, &rl, NULL);
	}
	reply_hex[0] = '\0';
	for (size_t i = 0; i < rl; i++)
		snprintf(reply_hex + 3 * i, 4, "%02X ", reply[i]);
	return rc;
}

static void test_handshake(void)
{
	uint8_t req[20];
	n4j_hs_request(req, 0);
	uint8_t want[20];
	unhex("60 60 B0 17 00 00 01 FF 00 08 08 05 00 00 04 04 00 00 00 00", want);
	CHECK(memcmp(req, want, 20) == 0);
	n4j_hs_request(req, N4J_BOLT_V(4, 4));
	unhex("60 60 B0 17 00 00 04 04 00 00 00 00 00 00 00 00 00 00 00 00", want);
	CHECK(memcmp(req, want, 20) == 0);
	uint16_t v = 0;
	char r[32];
	CHECK(hs("00 00 04 05", &v, r) == 1 && v == N4J_BOLT_V(5, 4) && r[0] == 0);
	CHECK(hs("00 00 04 04", &v, r) == 1 && v == N4J_BOLT_V(4, 4));
	CHECK(hs("00 00 05 05", &v, r) == N4J_EBOLT_PROTOCOL);
	CHECK(hs("00 00 00 00", &v, r) == N4J_EBOLT_VERSION);
	CHECK(hs("48 54 54 50", &v, r) == N4J_EBOLT_PROTOCOL);
	/* bolt.md 2.3 vectors */
	CHECK(hs("00 00 01 FF 03 00 07 07 05 00 04 04 04 00 00 00 03 00", &v, r) == 1 &&
	      v == N4J_BOLT_V(5, 7));
	CHECK_STR(r, "00 00 07 05 00 ");
	CHECK(hs("00 00 01 FF 03 00 00 00 03 00 07 07 05 00 04 04 04 00", &v, r) == 1);
	CHECK_STR(r, "00 00 07 05 00 ");
	CHECK(hs("00 00 01 FF 02 00 07 07 F2 00 07 07 05 00", &v, r) == 1);
	CHECK_STR(r, "00 00 07 05 00 ");
	CHECK(hs("00 00 01 FF 02 00 00 04 04 00 FF FF 05 00", &v, r) == 1);
	CHECK_STR(r, "00 00 08 05 00 ");
	CHECK(hs("00 00 01 FF 02 00 02 08 05 00 04 04 05 00", &v, r) == 1 && v == N4J_BOLT_V(5, 8));
	/* capabilities as a multi-byte VarInt */
	CHECK(hs("00 00 01 FF 01 00 00 04 04 FF 82 71", &v, r) == 1 && v == N4J_BOLT_V(4, 4));
	/* nothing acceptable: refusal reply */
	CHECK(hs("00 00 01 FF 01 00 00 00 03 00", &v, r) == N4J_EBOLT_VERSION);
	CHECK_STR(r, "00 00 00 00 00 ");
	CHECK(hs("00 00 01 FF 41", &v, r) == N4J_EBOLT_PROTOCOL);
	CHECK(hs("00 00 01 FF 01 00 00 04 04 FF FF FF FF FF FF FF FF FF FF FF", &v, r) ==
	      N4J_EBOLT_PROTOCOL);
}

static void test_failures(struct n4j_arena *a)
{
	struct n4j_bolt_failure f;
	/* <= 5.6 shape */
	struct n4j_bolt_value *m = n4j_bolt_map_new(a, 2);
	n4j_bolt_map_set(m, 0, "code", n4j_bolt_str("Neo.ClientError.Cluster.NotALeader"));
	n4j_bolt_map_set(m, 1, "message", n4j_bolt_str("no"));
	n4j_bolt_failure_parse(m, &f);
	CHECK_STR(f.code, "Neo.ClientError.Cluster.NotALeader");
	CHECK_STR(f.gql, "50N42");
	CHECK_INT(f.cls, N4J_BOLT_CLASS_REROUTE);
	/* 5.7+ shape with a nested cause */
	struct n4j_bolt_value *cause = n4j_bolt_map_new(a, 1);
	n4j_bolt_map_set(cause, 0, "gql_status", n4j_bolt_str("42NFD"));
	m = n4j_bolt_map_new(a, 4);
	n4j_bolt_map_set(m, 0, "neo4j_code",
			 n4j_bolt_str("Neo.ClientError.Security.CredentialsExpired"));
	n4j_bolt_map_set(m, 1, "gql_status", n4j_bolt_str("42NFF"));
	n4j_bolt_map_set(m, 2, "message", n4j_bolt_str("expired"));
	n4j_bolt_map_set(m, 3, "cause", *cause);
	n4j_bolt_failure_parse(m, &f);
	CHECK_STR(f.gql, "42NFF");
	CHECK_STR(f.gql_cause, "42NFD");
	CHECK_INT(f.cls, N4J_BOLT_CLASS_AUTH);
	/* nothing at all */
	m = n4j_bolt_map_new(a, 0);
	n4j_bolt_failure_parse(m, &f);
	CHECK_STR(f.code, "Neo.DatabaseError.General.UnknownError");
	CHECK_INT(f.cls, N4J_BOLT_CLASS_DATABASE);
	static const struct {
		const char *code;
		enum n4j_bolt_class cls;
	} vec[] = {
		{"Neo.ClientError.General.ForbiddenOnReadOnlyDatabase", N4J_BOLT_CLASS_REROUTE},
		{"Neo.TransientError.General.DatabaseUnavailable", N4J_BOLT_CLASS_RETRYABLE},
		{"Neo.TransientError.Cluster.LeaderSwitch", N4J_BOLT_CLASS_RETRYABLE},
		{"Neo.TransientError.Transaction.Terminated", N4J_BOLT_CLASS_CLIENT},
		{"Neo.ClientError.Security.Unauthorized", N4J_BOLT_CLASS_AUTH},
		{"Neo.ClientError.Security.AuthenticationRateLimit", N4J_BOLT_CLASS_AUTH},
		{"Neo.ClientError.Security.Forbidden", N4J_BOLT_CLASS_CLIENT},
		{"Neo.ClientError.Statement.UnsupportedAdministrationCommand",
		 N4J_BOLT_CLASS_UNSUPPORTED},
		{"Neo.ClientError.Statement.SyntaxError", N4J_BOLT_CLASS_CLIENT},
		{"Neo.DatabaseError.General.UnknownError", N4J_BOLT_CLASS_DATABASE},
	};
	for (size_t i = 0; i < sizeof vec / sizeof vec[0]; i++)
		CHECK_MSG(n4j_bolt_classify_code(vec[i].code) == vec[i].cls, "%s", vec[i].code);
	CHECK_INT(n4j_bolt_classify(N4J_EBOLT_TIMEOUT, NULL), N4J_BOLT_CLASS_RETRYABLE);
	CHECK_INT(n4j_bolt_classify(N4J_EBOLT_CLOSED, NULL), N4J_BOLT_CLASS_RETRYABLE);
	CHECK_INT(n4j_bolt_classify(N4J_EBOLT_TLS, NULL), N4J_BOLT_CLASS_CLIENT);
}

static int calls;
static int flaky(void *ctx, enum n4j_bolt_class *cls, struct n4j_error *err)
{
	int *fail_until = ctx;
	if (++calls < *fail_until) {
		*cls = calls == 1 ? N4J_BOLT_CLASS_REROUTE : N4J_BOLT_CLASS_RETRYABLE;
		return n4j_err(err, N4J_EBOLT_FAILURE, "transient");
	}
	return 0;
}

static int fatal(void *ctx, enum n4j_bolt_class *cls, struct n4j_error *err)
{
	calls++;
	*cls = N4J_BOLT_CLASS_AUTH;
	return n4j_err(err, N4J_EBOLT_FAILURE, "auth");
}

static void test_retry(void)
{
	struct n4j_bolt_retry p = {.initial_ms = 500, .max_ms = 10000, .jitter = 0.2};
	CHECK_INT(n4j_bolt_retry_delay_ms(&p, 0, 0.5), 500);
	CHECK_INT(n4j_bolt_retry_delay_ms(&p, 1, 0.5), 1000);
	CHECK_INT(n4j_bolt_retry_delay_ms(&p, 3, 0.5), 4000);
	CHECK_INT(n4j_bolt_retry_delay_ms(&p, 10, 0.5), 10000);
	CHECK_INT(n4j_bolt_retry_delay_ms(&p, 1000, 0.5), 10000);
	CHECK_INT(n4j_bolt_retry_delay_ms(&p, 0, 0.0), 400);
	CHECK_INT(n4j_bolt_retry_delay_ms(&p, 0, 1.0), 600);
	struct n4j_bolt_retry fast = {.initial_ms = 5, .max_ms = 20, .deadline_ms = 2000};
	int until = 4;
	calls = 0;
	struct n4j_error err;
	CHECK(n4j_bolt_with_retry(&fast, flaky, &until, &err) == 0 && calls == 4);
	calls = 0;
	CHECK(n4j_bolt_with_retry(&fast, fatal, NULL, &err) == N4J_EBOLT_FAILURE && calls == 1);
	/* the overall deadline ends an endless transient error */
	struct n4j_bolt_retry shortp = {.initial_ms = 20, .max_ms = 40, .deadline_ms = 300};
	until = 1000000;
	calls = 0;
	CHECK(n4j_bolt_with_retry(&shortp, flaky, &until, &err) == N4J_EBOLT_FAILURE);
	CHECK(calls > 2 && calls < 30);
}

/*
 * A zero-initialised config must not mean plaintext: the caller chooses the TLS mode.
 * Port 1 on loopback refuses at once, so a config that got as far as dialling fails
 * with CONNECT instead of the INVAL this test wants, and nothing waits on a network.
 */
static void test_tls_must_be_chosen(void)
{
	struct n4j_error err = {0};
	struct n4j_bolt_conn *c = (struct n4j_bolt_conn *)&err;
	struct n4j_bolt_config zero = {.address = "127.0.0.1:1"};
	CHECK_INT(n4j_bolt_open(&zero, &c, &err), N4J_EINVAL);
	CHECK(c == NULL);
	CHECK_MSG(strstr(err.msg, "TLS") != NULL, "%s", err.msg);
	struct n4j_bolt_config bogus = {.address = "127.0.0.1:1", .tls = (enum n4j_bolt_tls)99};
	CHECK_INT(n4j_bolt_open(&bogus, &c, &err), N4J_EINVAL);
	/* a choice made gets past the check (and then fails to dial port 1) */
	struct n4j_bolt_config none = {.address = "127.0.0.1:1", .tls = N4J_BOLT_TLS_NONE};
	CHECK_INT(n4j_bolt_open(&none, &c, &err), N4J_EBOLT_CONNECT);

	const char *const seeds[] = {"127.0.0.1:1", NULL};
	struct n4j_bolt_cluster_config cc = {.seeds = seeds};
	struct n4j_bolt_cluster *cl = (struct n4j_bolt_cluster *)&err;
	CHECK_INT(n4j_bolt_cluster_new(&cc, &cl, &err), N4J_EINVAL);
	CHECK(cl == NULL);
	CHECK_MSG(strstr(err.msg, "TLS") != NULL, "%s", err.msg);
	cc.base.tls = N4J_BOLT_TLS_VERIFY_FULL;
	CHECK_INT(n4j_bolt_cluster_new(&cc, &cl, &err), 0);
	n4j_bolt_cluster_free(cl);
}

int main(void)
{
	struct n4j_arena *a = n4j_arena_new();
	test_tls_must_be_chosen();
	test_ints(a);
	test_scalars(a);
	test_sizes(a);
	test_structs(a);
	test_malformed(a);
	test_chunks();
	test_handshake();
	test_failures(a);
	test_retry();
	n4j_arena_free(a);
	T_DONE();
}
