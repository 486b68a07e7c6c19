/*
 * Against the real Neo4j 5.26 Community test server: negotiation, auth, `RETURN $p`
 * round trips of every PackStream type and size boundary, graph structs from a rolled-back
 * CREATE, transactions, FAILURE + RESET, SHOW DATABASES, SHOW SERVERS on Community, ROUTE,
 * and TLS against a second server started here (generated CA, wrong name, untrusted CA).
 */
#include "check.h"
#include "envutil.h"

#include <math.h>
#include <sys/wait.h>
#include <unistd.h>

static struct env E;

static struct n4j_bolt_config base_cfg(void)
{
	struct n4j_bolt_config c = {
		.address = E.address,
		.tls = N4J_BOLT_TLS_NONE, /* the test server's Bolt port is plaintext */
		.user = E.user,
		.password = E.password,
		.connect_timeout_ms = 5000,
		.io_timeout_ms = 30000,
	};
	return c;
}

static struct n4j_bolt_conn *open_or_null(const struct n4j_bolt_config *cfg)
{
	struct n4j_bolt_conn *c = NULL;
	struct n4j_error err = {0};
	int rc = n4j_bolt_open(cfg, &c, &err);
	CHECK_MSG(rc == 0, "open: %s", err.msg);
	return c;
}

static void test_versions(void)
{
	static const struct {
		uint16_t max, want;
	} vec[] = {
		{0, N4J_BOLT_V(5, 8)},
		{N4J_BOLT_V(5, 6), N4J_BOLT_V(5, 6)},
		{N4J_BOLT_V(5, 4), N4J_BOLT_V(5, 4)},
		{N4J_BOLT_V(5, 0), N4J_BOLT_V(5, 0)}, /* auth inside HELLO */
		{N4J_BOLT_V(4, 4), N4J_BOLT_V(4, 4)},
	};
	for (size_t i = 0; i < sizeof vec / sizeof vec[0]; i++) {
		struct n4j_bolt_config cfg = base_cfg();
		cfg.max_version = vec[i].max;
		struct n4j_bolt_conn *c = open_or_null(&cfg);
		if (!c)
			continue;
		CHECK_MSG(n4j_bolt_version(c) == vec[i].want, "max %04x: got %04x", vec[i].max,
			  n4j_bolt_version(c));
		CHECK(strncmp(n4j_bolt_server_agent(c), "Neo4j/5.26", 10) == 0);
		struct n4j_arena *a = n4j_arena_new();
		struct n4j_bolt_result r;
		struct n4j_error err;
		struct n4j_bolt_query q = {.text = "RETURN 1 AS x"};
		CHECK(n4j_bolt_query(c, a, &q, &r, &err) == 0 && r.nrows == 1 &&
		      r.rows[0].u.list.items[0].u.i == 1);
		n4j_arena_free(a);
		n4j_bolt_close(c);
	}
}

static void test_auth(void)
{
	struct n4j_bolt_config cfg = base_cfg();
	cfg.password = "definitely-wrong-password-x9";
	struct n4j_bolt_conn *c = NULL;
	struct n4j_error err = {0};
	int rc = n4j_bolt_open(&cfg, &c, &err);
	CHECK_INT(rc, N4J_EBOLT_FAILURE);
	CHECK(c == NULL);
	CHECK_MSG(strstr(err.msg, "Security.Unauthorized") != NULL, "%s", err.msg);
	CHECK_MSG(strstr(err.msg, "definitely-wrong") == NULL, "password leaked: %s", err.msg);
	/* LOGOFF then LOGON again on a live connection */
	cfg = base_cfg();
	c = open_or_null(&cfg);
	if (!c)
		return;
	CHECK(n4j_bolt_logoff(c, &err) == 0);
	CHECK_INT(n4j_bolt_state(c), N4J_BOLT_AUTHENTICATION);
	CHECK(n4j_bolt_logon(c, E.user, E.password, &err) == 0);
	CHECK_INT(n4j_bolt_state(c), N4J_BOLT_READY);
	n4j_bolt_close(c);
}

/* RETURN $p must give back exactly p. */
static bool echo(struct n4j_bolt_conn *c, const struct n4j_bolt_value *p, const char *what)
{
	struct n4j_arena *a = n4j_arena_new();
	struct n4j_bolt_value *params = n4j_bolt_map_new(a, 1);
	n4j_bolt_map_set(params, 0, "p", *p);
	struct n4j_bolt_query q = {.text = "RETURN $p AS p", .params = params};
	struct n4j_bolt_result r;
	struct n4j_error err = {0};
	int rc = n4j_bolt_query(c, a, &q, &r, &err);
	bool ok = rc == 0 && r.nrows == 1 && r.rows[0].u.list.len == 1 &&
		  n4j_bolt_value_eq(&r.rows[0].u.list.items[0], p);
	if (!ok) {
		fprintf(stderr, "  echo %s failed: rc %d %s\n", what, rc, err.msg);
		if (rc == 0 && r.nrows == 1 && p->type != N4J_BOLT_STRING) {
			struct n4j_buf b;
			n4j_buf_init(&b);
			n4j_bolt_value_print(&b, &r.rows[0].u.list.items[0]);
			fprintf(stderr, "  got %.300s\n", n4j_buf_cstr(&b));
			n4j_buf_free(&b);
		}
		if (rc)
			n4j_bolt_reset(c, NULL);
	}
	n4j_arena_free(a);
	return ok;
}

static void test_roundtrips(struct n4j_bolt_conn *c)
{
	struct n4j_arena *a = n4j_arena_new();
	struct n4j_bolt_value v = n4j_bolt_null();
	CHECK(echo(c, &v, "null"));
	v = n4j_bolt_bool(true);
	CHECK(echo(c, &v, "true"));
	v = n4j_bolt_bool(false);
	CHECK(echo(c, &v, "false"));
	static const int64_t ints[] = {0,
				       1,
				       -1,
				       -16,
				       -17,
				       127,
				       128,
				       -128,
				       -129,
				       32767,
				       32768,
				       -32768,
				       -32769,
				       INT32_MAX,
				       (int64_t)INT32_MAX + 1,
				       INT32_MIN,
				       (int64_t)INT32_MIN - 1,
				       INT64_MAX,
				       INT64_MIN};
	for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
		v = n4j_bolt_int(ints[i]);
		CHECK_MSG(echo(c, &v, "int"), "%lld", (long long)ints[i]);
	}
	static const double fl[] = {0.0, 1.5, -2.25, 1e300, -1e-300, INFINITY, -INFINITY};
	for (size_t i = 0; i < sizeof fl / sizeof fl[0]; i++) {
		v = n4j_bolt_float(fl[i]);
		CHECK_MSG(echo(c, &v, "float"), "%g", fl[i]);
	}
	static const uint32_t sizes[] = {0, 15, 16, 255, 256, 65535, 65536, 1 << 20};
	char *s = malloc(1 << 20);
	for (uint32_t i = 0; i < (1u << 20); i++)
		s[i] = (char)('a' + i % 26);
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		v = n4j_bolt_strn(s, sizes[i]);
		CHECK_MSG(echo(c, &v, "string"), "string of %u bytes", sizes[i]);
		v = n4j_bolt_bytes(s, sizes[i]);
		CHECK_MSG(echo(c, &v, "bytes"), "bytes of %u", sizes[i]);
		if (sizes[i] <= 65536) {
			struct n4j_bolt_value *l = n4j_bolt_list_new(a, sizes[i]);
			for (uint32_t k = 0; k < sizes[i]; k++)
				l->u.list.items[k] = n4j_bolt_int(k);
			CHECK_MSG(echo(c, l, "list"), "list of %u", sizes[i]);
		}
		if (sizes[i] <= 65536) {
			struct n4j_bolt_value *m = n4j_bolt_map_new(a, sizes[i]);
			for (uint32_t k = 0; k < sizes[i]; k++)
				n4j_bolt_map_set(m, k, n4j_arena_printf(a, "k%u", k),
						 n4j_bolt_int(k));
			CHECK_MSG(echo(c, m, "map"), "map of %u", sizes[i]);
		}
	}
	free(s);
	/* UTF-8 */
	v = n4j_bolt_str("h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80");
	CHECK(echo(c, &v, "utf8"));
	/* nested lists and maps */
	struct n4j_bolt_value *inner = n4j_bolt_map_new(a, 2), *lst = n4j_bolt_list_new(a, 3);
	n4j_bolt_map_set(inner, 0, "x", n4j_bolt_float(0.5));
	n4j_bolt_map_set(inner, 1, "y", n4j_bolt_str("z"));
	lst->u.list.items[0] = *inner;
	lst->u.list.items[1] = n4j_bolt_null();
	struct n4j_bolt_value *deep = n4j_bolt_list_new(a, 1);
	deep->u.list.items[0] = *n4j_bolt_list_new(a, 0);
	for (int d = 0; d < 30; d++) {
		struct n4j_bolt_value *outer = n4j_bolt_list_new(a, 1);
		outer->u.list.items[0] = *deep;
		deep = outer;
	}
	lst->u.list.items[2] = *deep;
	struct n4j_bolt_value *top = n4j_bolt_map_new(a, 1);
	n4j_bolt_map_set(top, 0, "nested", *lst);
	CHECK(echo(c, top, "nested"));
	/* temporal and spatial values */
	struct {
		uint8_t tag;
		uint8_t n;
		int64_t f[4];
		const char *zone;
	} tv[] = {
		{N4J_TAG_DATE, 1, {19000}, NULL},
		{N4J_TAG_DATE, 1, {-719162}, NULL}, /* 0001-01-01 */
		{N4J_TAG_TIME, 2, {3723000000042, 3600}, NULL},
		{N4J_TAG_LOCAL_TIME, 1, {86399999999999}, NULL},
		{N4J_TAG_DATETIME, 3, {4500, 42, 3600}, NULL},
		{N4J_TAG_DATETIME, 3, {1700000000, 999999999, -18000}, NULL},
		{N4J_TAG_LOCAL_DATETIME, 2, {1700000000, 123}, NULL},
		{N4J_TAG_DURATION, 4, {14, 3, 3600, 5}, NULL},
		{N4J_TAG_DATETIME_ZONEID, 3, {1700000000, 7, 0}, "Europe/Paris"},
	};
	for (size_t i = 0; i < sizeof tv / sizeof tv[0]; i++) {
		struct n4j_bolt_value *st = n4j_bolt_struct_new(a, tv[i].tag, tv[i].n);
		for (uint8_t k = 0; k < tv[i].n; k++)
			st->u.st.fields[k] = n4j_bolt_int(tv[i].f[k]);
		if (tv[i].zone)
			st->u.st.fields[2] = n4j_bolt_str(tv[i].zone);
		CHECK_MSG(echo(c, st, "temporal"), "temporal tag 0x%02X #%zu", tv[i].tag, i);
	}
	struct n4j_bolt_value *p2 = n4j_bolt_struct_new(a, N4J_TAG_POINT2D, 3);
	p2->u.st.fields[0] = n4j_bolt_int(7203);
	p2->u.st.fields[1] = n4j_bolt_float(1.5);
	p2->u.st.fields[2] = n4j_bolt_float(-2.5);
	CHECK(echo(c, p2, "point2d"));
	p2->u.st.fields[0] = n4j_bolt_int(4326);
	CHECK(echo(c, p2, "wgs84"));
	struct n4j_bolt_value *p3 = n4j_bolt_struct_new(a, N4J_TAG_POINT3D, 4);
	p3->u.st.fields[0] = n4j_bolt_int(9157);
	p3->u.st.fields[1] = n4j_bolt_float(1);
	p3->u.st.fields[2] = n4j_bolt_float(2);
	p3->u.st.fields[3] = n4j_bolt_float(3);
	CHECK(echo(c, p3, "point3d"));
	n4j_arena_free(a);
}

static void test_graph(struct n4j_bolt_conn *c)
{
	struct n4j_arena *a = n4j_arena_new();
	struct n4j_error err = {0};
	CHECK(n4j_bolt_begin(c, NULL, &err) == 0);
	struct n4j_bolt_query q = {
		.text = "CREATE p = (n:BoltTest {name: 'a', n: 1})-[r:KNOWS {since: 2020}]->"
			"(m:BoltTest:Other {name: 'b'}) RETURN n, r, p"};
	struct n4j_bolt_result r;
	int rc = n4j_bolt_query(c, a, &q, &r, &err);
	CHECK_MSG(rc == 0 && r.nrows == 1, "%s", err.msg);
	if (rc == 0 && r.nrows == 1) {
		const struct n4j_bolt_value *n = &r.rows[0].u.list.items[0];
		const struct n4j_bolt_value *rel = &r.rows[0].u.list.items[1];
		const struct n4j_bolt_value *p = &r.rows[0].u.list.items[2];
		CHECK(n->type == N4J_BOLT_STRUCT && n->u.st.tag == N4J_TAG_NODE &&
		      n->u.st.len == 4);
		CHECK(n->u.st.fields[1].u.list.len == 1);
		CHECK_STR(n4j_bolt_as_str(n4j_bolt_map_get(&n->u.st.fields[2], "name")), "a");
		CHECK(n4j_bolt_as_str(&n->u.st.fields[3]) != NULL); /* element_id */
		CHECK(rel->u.st.tag == N4J_TAG_REL && rel->u.st.len == 8);
		CHECK_STR(n4j_bolt_as_str(&rel->u.st.fields[3]), "KNOWS");
		CHECK(rel->u.st.fields[1].u.i == n->u.st.fields[0].u.i);
		CHECK(p->u.st.tag == N4J_TAG_PATH && p->u.st.len == 3);
		CHECK(p->u.st.fields[0].u.list.len == 2 && p->u.st.fields[1].u.list.len == 1);
		CHECK(p->u.st.fields[1].u.list.items[0].u.st.tag == N4J_TAG_UNBOUND_REL);
		CHECK(p->u.st.fields[2].u.list.len == 2 &&
		      p->u.st.fields[2].u.list.items[0].u.i == 1 &&
		      p->u.st.fields[2].u.list.items[1].u.i == 1);
	}
	CHECK(n4j_bolt_rollback(c, &err) == 0);
	struct n4j_bolt_query cnt = {.text = "MATCH (n:BoltTest) RETURN count(n)"};
	CHECK(n4j_bolt_query(c, a, &cnt, &r, &err) == 0 && r.rows[0].u.list.items[0].u.i == 0);
	n4j_arena_free(a);
}

static void test_transactions(struct n4j_bolt_conn *c)
{
	struct n4j_arena *a = n4j_arena_new();
	struct n4j_error err = {0};
	struct n4j_bolt_result r;
	struct n4j_bolt_query del = {.text = "MATCH (n:BoltTx) DETACH DELETE n"};
	CHECK(n4j_bolt_query(c, a, &del, &r, &err) == 0);
	struct n4j_bolt_query begin = {.db = "neo4j", .tx_timeout_ms = 20000};
	CHECK(n4j_bolt_begin(c, &begin, &err) == 0);
	CHECK_INT(n4j_bolt_state(c), N4J_BOLT_TX_READY);
	/* two open streams with qid; PULL in batches of n */
	struct n4j_bolt_query q1 = {.text = "UNWIND range(1, 10) AS i CREATE (:BoltTx {i: i}) "
					    "RETURN i"};
	struct n4j_bolt_value meta;
	CHECK(n4j_bolt_run(c, a, &q1, &meta, &err) == 0);
	const struct n4j_bolt_value *qid1 = n4j_bolt_map_get(&meta, "qid");
	CHECK(qid1 && qid1->type == N4J_BOLT_INT);
	struct n4j_bolt_query q2 = {.text = "UNWIND range(1, 5) AS j RETURN j"};
	CHECK(n4j_bolt_run(c, a, &q2, &meta, &err) == 0);
	struct n4j_bolt_result rows = {0};
	bool more = false;
	CHECK(n4j_bolt_pull(c, a, 3, qid1 ? qid1->u.i : 0, &rows, &more, &err) == 0 && more &&
	      rows.nrows == 3);
	CHECK(n4j_bolt_discard(c, a, -1, qid1 ? qid1->u.i : 0, &more, &err) == 0 && !more);
	CHECK_INT(n4j_bolt_state(c), N4J_BOLT_TX_STREAMING);
	struct n4j_bolt_result rows2 = {0};
	CHECK(n4j_bolt_pull(c, a, -1, -1, &rows2, &more, &err) == 0 && !more && rows2.nrows == 5);
	CHECK_INT(n4j_bolt_state(c), N4J_BOLT_TX_READY);
	const char *bm = NULL;
	CHECK(n4j_bolt_commit(c, a, &bm, &err) == 0 && bm && *bm);
	const char *bms[] = {bm, NULL};
	struct n4j_bolt_query cnt = {.text = "MATCH (n:BoltTx) RETURN count(n) AS c",
				     .read = true,
				     .bookmarks = bms,
				     .db = "neo4j"};
	CHECK(n4j_bolt_query(c, a, &cnt, &r, &err) == 0 && r.nrows == 1 &&
	      r.rows[0].u.list.items[0].u.i == 10);
	CHECK_INT(n4j_bolt_field(&r, "c"), 0);
	/* auto-commit streaming with batches */
	struct n4j_bolt_query big = {.text = "UNWIND range(1, 2500) AS i RETURN i"};
	CHECK(n4j_bolt_run(c, a, &big, &meta, &err) == 0);
	struct n4j_bolt_result rows3 = {0};
	int batches = 0;
	do {
		if (n4j_bolt_pull(c, a, 1000, -1, &rows3, &more, &err))
			break;
		batches++;
	} while (more);
	CHECK_INT(rows3.nrows, 2500);
	CHECK_INT(batches, 3);
	CHECK_INT(n4j_bolt_state(c), N4J_BOLT_READY);
	/* a RETURN in the middle of a streamed 10,000-row PULL via n4j_bolt_query */
	struct n4j_bolt_query tenk = {.text = "UNWIND range(1, 10000) AS i RETURN i, 'row' + i"};
	CHECK(n4j_bolt_query(c, a, &tenk, &r, &err) == 0 && r.nrows == 10000 &&
	      r.rows[9999].u.list.items[0].u.i == 10000);
	CHECK(n4j_bolt_query(c, a, &del, &r, &err) == 0);
	n4j_arena_free(a);
}

static void test_failure_reset(struct n4j_bolt_conn *c)
{
	struct n4j_arena *a = n4j_arena_new();
	struct n4j_error err = {0};
	struct n4j_bolt_result r;
	struct n4j_bolt_query bad = {.text = "RETRUN 1"};
	int rc = n4j_bolt_query(c, a, &bad, &r, &err);
	CHECK_INT(rc, N4J_EBOLT_FAILURE);
	const struct n4j_bolt_failure *f = n4j_bolt_last_failure(c);
	CHECK_STR(f->code, "Neo.ClientError.Statement.SyntaxError");
	CHECK_INT(f->cls, N4J_BOLT_CLASS_CLIENT);
	CHECK_INT(n4j_bolt_state(c), N4J_BOLT_FAILED);
	struct n4j_bolt_query ok = {.text = "RETURN 2"};
	CHECK_INT(n4j_bolt_query(c, a, &ok, &r, &err), N4J_EBOLT_STATE);
	CHECK(n4j_bolt_reset(c, &err) == 0);
	CHECK(n4j_bolt_query(c, a, &ok, &r, &err) == 0 && r.rows[0].u.list.items[0].u.i == 2);
	/* failure inside a transaction; RESET rolls it back */
	CHECK(n4j_bolt_begin(c, NULL, &err) == 0);
	struct n4j_bolt_query div = {.text = "RETURN 1/0"};
	CHECK_INT(n4j_bolt_query(c, a, &div, &r, &err), N4J_EBOLT_FAILURE);
	CHECK_STR(n4j_bolt_last_failure(c)->code, "Neo.ClientError.Statement.ArithmeticError");
	CHECK(n4j_bolt_reset(c, &err) == 0);
	CHECK_INT(n4j_bolt_state(c), N4J_BOLT_READY);
	n4j_arena_free(a);
}

static void test_admin(struct n4j_bolt_conn *c)
{
	struct n4j_arena *a = n4j_arena_new();
	struct n4j_error err = {0};
	struct n4j_bolt_result r;
	struct n4j_bolt_query q = {.db = "system",
				   .text = "SHOW DATABASES YIELD name, address, role, writer, "
					   "requestedStatus, currentStatus, statusMessage"};
	CHECK_MSG(n4j_bolt_query(c, a, &q, &r, &err) == 0, "%s", err.msg);
	CHECK_INT(r.nfields, 7);
	int name = n4j_bolt_field(&r, "name"), cur = n4j_bolt_field(&r, "currentStatus");
	int writer = n4j_bolt_field(&r, "writer");
	bool neo4j = false, system = false;
	for (size_t i = 0; i < r.nrows && name >= 0 && cur >= 0; i++) {
		const char *n = n4j_bolt_as_str(&r.rows[i].u.list.items[name]);
		const char *s = n4j_bolt_as_str(&r.rows[i].u.list.items[cur]);
		neo4j |= n && strcmp(n, "neo4j") == 0 && s && strcmp(s, "online") == 0;
		system |= n && strcmp(n, "system") == 0;
		CHECK(r.rows[i].u.list.items[writer].type == N4J_BOLT_BOOL);
	}
	CHECK(neo4j && system);
	CHECK(r.bookmark != NULL);
	/* SHOW SERVERS on Community: a classified, permanent error */
	struct n4j_bolt_query ss = {.db = "system", .text = "SHOW SERVERS YIELD serverId, state"};
	int rc = n4j_bolt_query(c, a, &ss, &r, &err);
	CHECK_INT(rc, N4J_EBOLT_FAILURE);
	const struct n4j_bolt_failure *f = n4j_bolt_last_failure(c);
	fprintf(stderr, "  SHOW SERVERS on Community: %s (gql %s, class %s)\n", f->code, f->gql,
		n4j_bolt_class_name(f->cls));
	/* 5.26 Community says NotSystemDatabaseError (gql 50N42) although db was system */
	CHECK(strcmp(f->code, "Neo.ClientError.Statement.NotSystemDatabaseError") == 0 ||
	      strcmp(f->code, "Neo.ClientError.Statement.UnsupportedAdministrationCommand") == 0);
	CHECK_INT(f->cls, N4J_BOLT_CLASS_UNSUPPORTED);
	CHECK(n4j_bolt_reset(c, &err) == 0);
	struct n4j_bolt_query cd = {.db = "system", .text = "CREATE DATABASE foo"};
	CHECK_INT(n4j_bolt_query(c, a, &cd, &r, &err), N4J_EBOLT_FAILURE);
	CHECK_INT(n4j_bolt_last_failure(c)->cls, N4J_BOLT_CLASS_UNSUPPORTED);
	CHECK(n4j_bolt_reset(c, &err) == 0);
	/* unknown database */
	struct n4j_bolt_query nodb = {.db = "nosuchdb", .text = "RETURN 1"};
	CHECK_INT(n4j_bolt_query(c, a, &nodb, &r, &err), N4J_EBOLT_FAILURE);
	CHECK_STR(n4j_bolt_last_failure(c)->code, "Neo.ClientError.Database.DatabaseNotFound");
	CHECK(n4j_bolt_reset(c, &err) == 0);
	n4j_arena_free(a);
}

static void test_route(void)
{
	struct n4j_bolt_config cfg = base_cfg();
	cfg.routing_address = E.address;
	struct n4j_bolt_conn *c = open_or_null(&cfg);
	if (!c)
		return;
	struct n4j_bolt_route_table rt;
	struct n4j_error err = {0};
	CHECK_MSG(n4j_bolt_route(c, "system", NULL, &rt, &err) == 0, "%s", err.msg);
	CHECK(rt.nwriters == 1 && rt.ttl > 0);
	CHECK_STR(rt.db, "system");
	n4j_bolt_close(c);
	/* the cluster handle: leader via ROUTE, admin query with bookmarks, pool reuse */
	const char *seeds[] = {E.address, NULL};
	struct n4j_bolt_cluster_config cc = {.base = base_cfg(), .seeds = seeds};
	struct n4j_bolt_cluster *cl;
	CHECK(n4j_bolt_cluster_new(&cc, &cl, &err) == 0);
	char leader[256];
	CHECK(n4j_bolt_cluster_leader(cl, leader, sizeof leader, &err) == 0);
	struct n4j_arena *a = n4j_arena_new();
	struct n4j_bolt_result r;
	struct n4j_bolt_query q = {.text = "SHOW DATABASES YIELD name"};
	for (int i = 0; i < 3; i++)
		CHECK_MSG(n4j_bolt_cluster_query(cl, a, &q, &r, &err) == 0 && r.nrows >= 2, "%s",
			  err.msg);
	struct n4j_bolt_query ss = {.text = "SHOW SERVERS"};
	CHECK_INT(n4j_bolt_cluster_query(cl, a, &ss, &r, &err), N4J_EBOLT_FAILURE);
	n4j_arena_free(a);
	n4j_bolt_cluster_free(cl);
}

/* ---- TLS: a second server on 127.0.0.x with a generated CA ------------------------ */

static int sh(const char *cmd)
{
	int rc = system(cmd);
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static void test_tls(void)
{
	const char *run = getenv("TESTENV_NEO4J_RUN");
	if (!run) {
		CHECK_MSG(0, "TESTENV_NEO4J_RUN unset");
		return;
	}
	char dir[] = "/tmp/n4j-bolt-tls-XXXXXX";
	if (!mkdtemp(dir)) {
		CHECK(0);
		return;
	}
	char cmd[4096];
	/* a CA, a server cert for neo4j-tls.test.local (DNS SAN only), and a second CA */
	snprintf(cmd, sizeof cmd,
		 "set -e; cd %s; mkdir -p tls;"
		 "openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2 "
		 "-subj /CN=n4j-test-ca 2>/dev/null;"
		 "openssl req -x509 -newkey rsa:2048 -nodes -keyout other.key -out other.crt -days "
		 "2 "
		 "-subj /CN=other-ca 2>/dev/null;"
		 "openssl req -newkey rsa:2048 -nodes -keyout tls/private.key -out srv.csr "
		 "-subj /CN=neo4j-tls.test.local 2>/dev/null;"
		 "printf 'subjectAltName=DNS:neo4j-tls.test.local\\n' > ext.cnf;"
		 "openssl x509 -req -in srv.csr -CA ca.crt -CAkey ca.key -CAcreateserial "
		 "-out tls/public.crt -days 2 -extfile ext.cnf 2>/dev/null;"
		 "printf '%%s' \"$(cat %s)\" > pw",
		 dir, getenv("NEO4J_TEST_PASSWORD_FILE"));
	CHECK(sh(cmd) == 0);
	const char *addr = "127.0.0.23:27791";
	snprintf(cmd, sizeof cmd,
		 "%s start bolt-tls-test --bolt %s --password-file %s/pw --tls-dir %s/tls "
		 "--home %s/home >/dev/null",
		 run, addr, dir, dir, dir);
	int started = sh(cmd) == 0;
	CHECK_MSG(started, "TLS test server did not start");
	if (started) {
		char ca[256], other[256];
		snprintf(ca, sizeof ca, "%s/ca.crt", dir);
		snprintf(other, sizeof other, "%s/other.crt", dir);
		struct n4j_bolt_config cfg = base_cfg();
		cfg.address = addr;
		cfg.tls = N4J_BOLT_TLS_VERIFY_FULL;
		cfg.ca_file = ca;
		cfg.tls_host = "neo4j-tls.test.local"; /* dial the IP, verify the DNS name */
		struct n4j_bolt_conn *c = NULL;
		struct n4j_error err = {0};
		int rc = n4j_bolt_open(&cfg, &c, &err);
		CHECK_MSG(rc == 0, "generated CA: %s", err.msg);
		if (c) {
			struct n4j_arena *a = n4j_arena_new();
			struct n4j_bolt_result r;
			struct n4j_bolt_query q = {.text = "RETURN 'tls' AS x"};
			CHECK(n4j_bolt_query(c, a, &q, &r, &err) == 0 && r.nrows == 1);
			n4j_arena_free(a);
			n4j_bolt_close(c);
		}
		cfg.tls_host = "wrong.test.local";
		rc = n4j_bolt_open(&cfg, &c, &err);
		CHECK_MSG(rc == N4J_EBOLT_TLS, "wrong host name: rc %d %s", rc, err.msg);
		fprintf(stderr, "  wrong name: %s\n", err.msg);
		cfg.tls_host = NULL; /* the IP itself is not in the certificate either */
		rc = n4j_bolt_open(&cfg, &c, &err);
		CHECK_MSG(rc == N4J_EBOLT_TLS, "IP not in SAN: rc %d %s", rc, err.msg);
		cfg.tls_host = "neo4j-tls.test.local";
		cfg.ca_file = other;
		rc = n4j_bolt_open(&cfg, &c, &err);
		CHECK_MSG(rc == N4J_EBOLT_TLS, "untrusted CA: rc %d %s", rc, err.msg);
		fprintf(stderr, "  untrusted CA: %s\n", err.msg);
		cfg.tls = N4J_BOLT_TLS_SELF_SIGNED;
		cfg.ca_file = NULL;
		cfg.tls_host = "anything.invalid";
		rc = n4j_bolt_open(&cfg, &c, &err);
		CHECK_MSG(rc == 0, "+ssc: %s", err.msg);
		n4j_bolt_close(c);
		/* plain Bolt to a TLS-only port fails clearly and quickly */
		cfg.tls = N4J_BOLT_TLS_NONE;
		cfg.connect_timeout_ms = 3000;
		rc = n4j_bolt_open(&cfg, &c, &err);
		CHECK_MSG(rc < 0 && c == NULL, "plain to TLS port: rc %d", rc);
		fprintf(stderr, "  plain to TLS port: %s\n", err.msg);
		snprintf(cmd, sizeof cmd, "%s stop bolt-tls-test", run);
		CHECK(sh(cmd) == 0);
	}
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	sh(cmd);
}

static void test_deadlines(void)
{
	/* nothing listens there: refused at once */
	struct n4j_bolt_config cfg = base_cfg();
	cfg.address = "127.0.0.23:1";
	struct n4j_bolt_conn *c = NULL;
	struct n4j_error err;
	CHECK_INT(n4j_bolt_open(&cfg, &c, &err), N4J_EBOLT_CONNECT);
	cfg.address = "no-such-host.invalid:7687";
	CHECK_INT(n4j_bolt_open(&cfg, &c, &err), N4J_EBOLT_CONNECT);
}

int main(void)
{
	int rc = env_load(&E);
	if (rc)
		return rc;
	test_versions();
	test_auth();
	struct n4j_bolt_config cfg = base_cfg();
	struct n4j_bolt_conn *c = open_or_null(&cfg);
	if (c) {
		test_roundtrips(c);
		test_graph(c);
		test_transactions(c);
		test_failure_reset(c);
		test_admin(c);
		n4j_bolt_close(c);
	}
	test_route();
	test_deadlines();
	if (!getenv("BOLT_SKIP_TLS"))
		test_tls();
	else if (env_required())
		CHECK_MSG(0,
			  "BOLT_SKIP_TLS skips the TLS tests, and TESTENV_REQUIRED=1 forbids it");
	else
		printf("SKIP: TLS tests (BOLT_SKIP_TLS)\n");
	T_DONE();
}
