/* The controller's pure pieces: conditions, status diff, UpdatePending, password, names. */
#include <string.h>

#include "check.h"
#include "controller/internal.h"

static void test_conditions(void)
{
	struct n4j_arena *a = n4j_arena_new();
	struct n4j_condition old[] = {
		{.type = "Ready",
		 .status = N4J_COND_TRUE,
		 .reason = "ServersReady",
		 .last_transition_time = "2026-01-01T00:00:00Z",
		 .observed_generation = 1},
		{.type = "Degraded",
		 .status = N4J_COND_FALSE,
		 .reason = "AsExpected",
		 .last_transition_time = "2026-01-01T00:00:00Z",
		 .observed_generation = 1},
	};
	struct n4j_cluster_status prev = {.n_conditions = 2, .conditions = old};
	struct ctl_conds cs;
	ctl_conds_init(&cs, a, &prev, 7, "2026-06-06T06:06:06Z");
	/* Same status, another reason: the transition time stays, the generation moves. */
	ctl_cond_set(&cs, "Ready", N4J_COND_TRUE, "StillReady", "3/3");
	/* A flip: a new transition time. */
	ctl_cond_set(&cs, "Degraded", N4J_COND_TRUE, "ServerLost", "graph-2");
	/* New: now. */
	ctl_cond_set(&cs, "Stalled", N4J_COND_FALSE, "AsExpected", "");
	CHECK_INT(cs.n, 3);
	CHECK_STR(cs.items[0].last_transition_time, "2026-01-01T00:00:00Z");
	CHECK_INT(cs.items[0].observed_generation, 7);
	CHECK_STR(cs.items[0].reason, "StillReady");
	CHECK_STR(cs.items[1].last_transition_time, "2026-06-06T06:06:06Z");
	CHECK_STR(cs.items[2].last_transition_time, "2026-06-06T06:06:06Z");
	CHECK(cs.items[2].message == NULL); /* an empty message is omitted */
	/* Setting a type twice keeps one entry. */
	ctl_cond_set(&cs, "Ready", N4J_COND_FALSE, "ServersNotReady", "2/3");
	CHECK_INT(cs.n, 3);
	CHECK_STR(cs.items[0].last_transition_time, "2026-06-06T06:06:06Z");
	/* Without a previous status: every condition is new. */
	ctl_conds_init(&cs, a, NULL, 1, "T");
	ctl_cond_set(&cs, "Ready", N4J_COND_TRUE, "R", NULL);
	CHECK_STR(cs.items[0].last_transition_time, "T");
	n4j_arena_free(a);
}

static struct n4j_cluster_status status_fixture(struct n4j_condition *c)
{
	return (struct n4j_cluster_status){
		.observed_generation = 3,
		.phase = "Ready",
		.n_conditions = 1,
		.conditions = c,
		.replicas = 3,
		.ready_servers = "3/3",
		.bolt_endpoint = "neo4j://g.db.svc:7687",
		.operation = {"Roll", "g-1", "2026-01-01T00:00:00Z"},
	};
}

static void test_status_patch(void)
{
	struct n4j_error err = {0};
	struct n4j_condition c = {.type = "Ready",
				  .status = N4J_COND_TRUE,
				  .reason = "R",
				  .last_transition_time = "2026-01-01T00:00:00Z",
				  .observed_generation = 3};
	struct n4j_cluster_status st = status_fixture(&c);
	cJSON *live = NULL;
	CHECK_INT(n4j_cluster_status_json(&st, &live, &err), 0);
	/* The apiserver hands keys back in its own order: equal all the same. */
	cJSON *reordered = cJSON_CreateObject();
	for (int i = cJSON_GetArraySize(live) - 1; i >= 0; i--) {
		cJSON *it = cJSON_GetArrayItem(live, i);
		cJSON_AddItemToObject(reordered, it->string, cJSON_Duplicate(it, true));
	}
	cJSON *patch = NULL;
	bool changed = true;
	CHECK_INT(ctl_status_patch(reordered, &st, &patch, &changed, &err), 0);
	CHECK(!changed && patch == NULL);

	/* A changed field: only it is sent. */
	struct n4j_cluster_status st2 = st;
	st2.ready_servers = "2/3";
	CHECK_INT(ctl_status_patch(live, &st2, &patch, &changed, &err), 0);
	CHECK(changed && patch);
	char *txt = patch ? cJSON_PrintUnformatted(patch) : NULL;
	CHECK_STR(txt, "{\"status\":{\"readyServers\":\"2/3\"}}");
	cJSON_free(txt);
	cJSON_Delete(patch);

	/* A finished operation: the merge patch removes it (null), not just omits it. */
	struct n4j_cluster_status st3 = st;
	memset(&st3.operation, 0, sizeof(st3.operation));
	CHECK_INT(ctl_status_patch(live, &st3, &patch, &changed, &err), 0);
	txt = patch ? cJSON_PrintUnformatted(patch) : NULL;
	CHECK_STR(txt, "{\"status\":{\"operation\":null}}");
	cJSON_free(txt);
	cJSON_Delete(patch);

	/* A nested change: only the nested field. */
	struct n4j_cluster_status st4 = st;
	st4.operation.target = "g-2";
	CHECK_INT(ctl_status_patch(live, &st4, &patch, &changed, &err), 0);
	txt = patch ? cJSON_PrintUnformatted(patch) : NULL;
	CHECK_STR(txt, "{\"status\":{\"operation\":{\"target\":\"g-2\"}}}");
	cJSON_free(txt);
	cJSON_Delete(patch);

	/* No live status at all: everything is sent. */
	CHECK_INT(ctl_status_patch(NULL, &st, &patch, &changed, &err), 0);
	CHECK(changed && cJSON_GetObjectItem(cJSON_GetObjectItem(patch, "status"), "phase"));
	cJSON_Delete(patch);
	cJSON_Delete(reordered);
	cJSON_Delete(live);
}

static void test_update_pending(void)
{
	struct ctl_sts_marks live = {
		.render_version = "1", .generation = "4", .rollout = NULL, .spec_hash = "aaa"};
	/* An upgrade alone: held back. */
	CHECK(ctl_update_pending(&live, "2", 4, NULL, "bbb"));
	/* Same renderer: never held back (the change is the user's). */
	CHECK(!ctl_update_pending(&live, "1", 4, NULL, "bbb"));
	/* The spec changed since (new generation): roll. */
	CHECK(!ctl_update_pending(&live, "2", 5, NULL, "bbb"));
	/* The user asked with the rollout annotation: roll. */
	CHECK(!ctl_update_pending(&live, "2", 4, "now", "bbb"));
	live.rollout = "now";
	CHECK(ctl_update_pending(&live, "2", 4, "now", "bbb")); /* same value as rendered from */
	/* Nothing would change: nothing pending. */
	CHECK(!ctl_update_pending(&live, "2", 4, "now", "aaa"));
	/* A live object from before the generation mark: not held (it cannot be judged). */
	live.generation = NULL;
	CHECK(!ctl_update_pending(&live, "2", 4, "now", "bbb"));
	CHECK(!ctl_update_pending(NULL, "2", 4, NULL, "bbb"));
}

static void test_password(void)
{
	char pw[CTL_PASSWORD_LEN + 1], pw2[CTL_PASSWORD_LEN + 1];
	bool seen[256] = {false};
	for (int i = 0; i < 200; i++) {
		CHECK_INT(ctl_password_generate(pw), 0);
		CHECK_INT(strlen(pw), 24);
		for (const char *p = pw; *p; p++) {
			seen[(unsigned char)*p] = true;
			CHECK_MSG(*p != '/' && *p != '\n' && *p != '\\' && *p != '"' && *p > ' ' &&
					  *p < 127,
				  "bad character %c", *p);
		}
	}
	int distinct = 0;
	for (int i = 0; i < 256; i++)
		distinct += seen[i];
	CHECK_MSG(distinct > 50, "only %d distinct characters", distinct); /* really random */
	CHECK_INT(ctl_password_generate(pw2), 0);
	CHECK(strcmp(pw, pw2) != 0);

	/* The Secret's data round-trips through base64 (with and without padding). */
	const char *cases[][2] = {{"cGFzcw==", "pass"}, {"cGFzc3c=", "passw"}, {"YWJj", "abc"}};
	for (size_t i = 0; i < 3; i++) {
		cJSON *sec = cJSON_Parse("{\"data\":{}}");
		cJSON_AddStringToObject(cJSON_GetObjectItem(sec, "data"), "password", cases[i][0]);
		char *v = ctl_secret_value(sec, "password");
		CHECK_STR(v, cases[i][1]);
		n4j_wipe_free(v);
		CHECK(ctl_secret_value(sec, "other") == NULL);
		cJSON_Delete(sec);
	}
}

static void test_names(void)
{
	CHECK_INT(ctl_ordinal("graph-0", "graph"), 0);
	CHECK_INT(ctl_ordinal("graph-12", "graph"), 12);
	CHECK_INT(ctl_ordinal("graph-backup-1", "graph"), -1);
	CHECK_INT(ctl_ordinal("graph-01", "graph"), -1);
	CHECK_INT(ctl_ordinal("graph2-1", "graph"), -1);
	CHECK_INT(ctl_ordinal("graph-", "graph"), -1);
	CHECK_INT(ctl_ordinal("data-graph-3", "data-graph"), 3);
	struct n4j_arena *a = n4j_arena_new();
	CHECK_STR(ctl_pod_of(a, "graph-1.graph-headless.db.svc.cluster.local:7687"), "graph-1");
	CHECK_STR(ctl_pod_of(a, "graph-1:7687"), "graph-1");
	CHECK(ctl_pod_of(a, NULL) == NULL);
	char *g = ctl_gate_patch(a, true, "2026-01-01T00:00:00Z");
	CHECK_STR(g, "{\"status\":{\"conditions\":[{\"type\":\"neo4j.graphops.io/server-ready\","
		     "\"status\":\"True\",\"lastTransitionTime\":\"2026-01-01T00:00:00Z\","
		     "\"reason\":\"ServerReady\"}]}}");
	n4j_arena_free(a);
	CHECK_INT(ctl_parse_time_ms("1970-01-01T00:00:01Z"), 1000);
	CHECK_INT(ctl_parse_time_ms("2026-12-02T10:00:00.250Z"), 1796205600250LL);
	CHECK_INT(ctl_parse_time_ms("2026-12-02 10:00:00"), -1);
	CHECK_INT(ctl_op_kind_parse("ScaleIn"), N4J_OP_SCALE_IN);
	CHECK_STR(ctl_op_kind_name(N4J_OP_FORM), "Form");
	CHECK(ctl_op_kind_name(N4J_OP_NONE) == NULL);
	CHECK_INT(ctl_op_kind_parse("Bogus"), N4J_OP_NONE);
}

static void test_status_build(void)
{
	struct n4j_arena *a = n4j_arena_new();
	struct n4j_cluster cl = {0};
	cl.meta.name = "graph";
	cl.meta.namespace_ = "db";
	cl.meta.generation = 5;
	cl.spec.servers = 3;
	/* A server that lost its volume: a new id at the same address, the old one lingers. */
	struct n4j_obs_server sv[] = {
		{.id = "b", .pod = "graph-10", .address = "graph-10.x:7687"},
		{.id = "old", .address = "graph-2.graph-headless.db.svc.cluster.local:7687"},
		{.id = "new", .address = "graph-2.graph-headless.db.svc.cluster.local:7687"},
		{.id = "a", .pod = "graph-0", .address = "graph-0.x:7687"},
		/* dropped at a scale-in: history, not listed (it would take graph-3's name) */
		{.id = "gone",
		 .pod = "graph-3",
		 .address = "graph-3.x:7687",
		 .state = N4J_SERVER_DROPPED},
	};
	struct n4j_obs_database dbs[] = {
		{.name = "neo4j",
		 .requested_status = "online",
		 .settled = true,
		 .current_primaries = 3,
		 .writer_address = "graph-1.x:7687"},
		{.name = "neo4j", .requested_status = "online", .settled = true},
	};
	struct n4j_observed neo = {.reachable = true,
				   .version = "5.26.12",
				   .system_leader = "graph-1.graph-headless.db.svc:7687",
				   .n_servers = 5,
				   .servers = sv,
				   .n_databases = 2,
				   .databases = dbs};
	struct n4j_gate gates[] = {{"graph-0", true}, {"graph-1", true}, {"graph-2", false}};
	struct n4j_plan plan = {.n_gates = 3,
				.gates = gates,
				.phase = N4J_PHASE_SCALING,
				.op = {N4J_OP_SCALE_IN, "graph-2", 1000}};
	struct ctl_status_in in = {
		.cluster = &cl, .neo = &neo, .plan = &plan, .sts_ready_replicas = 3};
	struct n4j_cluster_status st;
	CHECK_INT(ctl_status_build(a, &in, &st), 0);
	CHECK_INT(st.observed_generation, 5);
	CHECK_STR(st.ready_servers, "2/3");
	CHECK_STR(st.system_leader, "graph-1");
	CHECK_INT(st.n_servers, 4);
	/* Sorted by ordinal whatever order Neo4j answered in; map keys stay unique. */
	CHECK_STR(st.servers[0].pod, "graph-0");
	CHECK_STR(st.servers[1].pod, "graph-2");
	CHECK_STR(st.servers[2].pod, "graph-10");
	CHECK_STR(st.servers[3].pod, "new");
	CHECK_INT(st.n_databases, 1);
	CHECK_STR(st.databases[0].writer, "graph-1");
	CHECK_STR(st.bolt_endpoint, "neo4j://graph.db.svc:7687");
	CHECK_STR(st.http_endpoint, "http://graph.db.svc:7474");
	CHECK_STR(st.operation.kind, "ScaleIn");
	CHECK_STR(st.operation.started_at, "1970-01-01T00:00:01Z");
	CHECK_INT(ctl_parse_time_ms(st.operation.started_at), 1000); /* round-trips */

	/* Community: no SHOW SERVERS, addresses are IPs; the one server is pod 0. */
	struct n4j_cluster ce = cl;
	ce.spec.edition = N4J_COMMUNITY;
	ce.spec.servers = 1;
	struct n4j_obs_database ce_dbs[] = {
		{.name = "system",
		 .requested_status = "online",
		 .settled = true,
		 .writer_address = "127.1.128.7:7687"},
		{.name = "neo4j",
		 .requested_status = "online",
		 .settled = true,
		 .writer_address = "127.1.128.7:7687"},
	};
	struct n4j_observed ce_neo = {.reachable = true,
				      .version = "5.26.12",
				      .system_leader = "127.1.128.7:7687",
				      .n_databases = 2,
				      .databases = ce_dbs};
	struct n4j_gate ce_gate[] = {{"graph-0", true}};
	struct n4j_plan ce_plan = {.n_gates = 1, .gates = ce_gate, .phase = N4J_PHASE_READY};
	struct ctl_status_in ce_in = {.cluster = &ce, .neo = &ce_neo, .plan = &ce_plan};
	CHECK_INT(ctl_status_build(a, &ce_in, &st), 0);
	CHECK_STR(st.ready_servers, "1/1");
	CHECK_STR(st.system_leader, "graph-0");
	CHECK_INT(st.n_servers, 1);
	CHECK_STR(st.servers[0].pod, "graph-0");
	CHECK_STR(st.servers[0].state, "Enabled");
	CHECK_STR(st.servers[0].health, "Available");
	CHECK_INT(st.servers[0].n_hosting, 2);
	CHECK_STR(st.servers[0].hosting[0], "neo4j");
	CHECK_STR(st.databases[0].writer, "graph-0");

	/* Unreachable: the last observation stays. */
	struct n4j_server_status prev_sv[] = {{.pod = "graph-0", .server_id = "a"}};
	struct n4j_cluster_status prev = {.version = "5.26.11", .n_servers = 1, .servers = prev_sv};
	struct n4j_observed down = {.reachable = false, .error = "refused"};
	in.neo = &down;
	in.prev = &prev;
	CHECK_INT(ctl_status_build(a, &in, &st), 0);
	CHECK_STR(st.version, "5.26.11");
	CHECK_INT(st.n_servers, 1);
	n4j_arena_free(a);
}

/* The restore key: canonical (key order does not matter), 16 hex, any change is another. */
static void test_restore_key(void)
{
	const char *docs[] = {
		"{\"seedURI\":\"s3://b/p\",\"databases\":[\"a\",\"b\"],\"replace\":false}",
		"{\"replace\":false,\"databases\":[\"a\",\"b\"],\"seedURI\":\"s3://b/p\"}",
		"{\"replace\":true,\"databases\":[\"a\",\"b\"],\"seedURI\":\"s3://b/p\"}",
		"{\"replace\":false,\"databases\":[\"b\",\"a\"],\"seedURI\":\"s3://b/p\"}",
		"{\"backupRef\":{\"name\":\"x\",\"a\":1},\"replace\":false}",
		"{\"replace\":false,\"backupRef\":{\"a\":1,\"name\":\"x\"}}",
	};
	char k[6][CTL_RESTORE_KEY_LEN + 1];
	for (int i = 0; i < 6; i++) {
		cJSON *j = cJSON_Parse(docs[i]);
		CHECK_INT(ctl_restore_key(j, k[i]), 0);
		cJSON_Delete(j);
		CHECK_INT(strlen(k[i]), 16);
		CHECK_INT(strspn(k[i], "0123456789abcdef"), 16);
	}
	CHECK_STR(k[0], k[1]);
	CHECK(strcmp(k[1], k[2]) != 0);
	CHECK(strcmp(k[1], k[3]) != 0); /* databases are in order: another restore */
	CHECK_STR(k[4], k[5]);          /* nested objects too */
}

/* The Bolt error classes of /metrics: Neo4j's class from the FAILURE code's prefix (the
 * category after it does not matter: Security is a ClientError), else the transport;
 * errors that are not Bolt's are not counted. */
static void test_bolt_error_class(void)
{
	static const struct {
		enum n4j_neo4j_error_kind kind;
		const char *code;
		bool counted;
		enum n4j_bolt_error_class want;
	} cases[] = {
		{N4J_NEO4J_ERR_FAILURE, "Neo.ClientError.Statement.SyntaxError", true,
		 N4J_BOLT_CLIENT_ERROR},
		{N4J_NEO4J_ERR_FAILURE, "Neo.ClientError.Security.Unauthorized", true,
		 N4J_BOLT_CLIENT_ERROR},
		{N4J_NEO4J_ERR_FAILURE, "Neo.TransientError.General.DatabaseUnavailable", true,
		 N4J_BOLT_TRANSIENT_ERROR},
		{N4J_NEO4J_ERR_FAILURE, "Neo.DatabaseError.General.UnknownError", true,
		 N4J_BOLT_DATABASE_ERROR},
		/* not Neo4j's shape: a reply we do not understand */
		{N4J_NEO4J_ERR_FAILURE, "Neo.ClientErrorX", true, N4J_BOLT_PROTOCOL},
		{N4J_NEO4J_ERR_FAILURE, "", true, N4J_BOLT_PROTOCOL},
		{N4J_NEO4J_ERR_FAILURE, NULL, true, N4J_BOLT_PROTOCOL},
		/* no FAILURE: the code is ignored */
		{N4J_NEO4J_ERR_NETWORK, "Neo.ClientError.Statement.SyntaxError", true,
		 N4J_BOLT_NETWORK},
		{N4J_NEO4J_ERR_PROTOCOL, "", true, N4J_BOLT_PROTOCOL},
		{N4J_NEO4J_ERR_NONE, "Neo.ClientError.Statement.SyntaxError", false,
		 N4J_BOLT_CLASSES},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum n4j_bolt_error_class got = N4J_BOLT_CLASSES;
		bool counted = ctl_bolt_error_class(cases[i].kind, cases[i].code, &got);
		CHECK_MSG(counted == cases[i].counted && got == cases[i].want,
			  "case %zu (%s): counted %d class %d", i,
			  cases[i].code ? cases[i].code : "NULL", counted, (int)got);
	}
	CHECK_STR(n4j_bolt_error_class_name(N4J_BOLT_CLIENT_ERROR), "ClientError");
	CHECK_STR(n4j_bolt_error_class_name(N4J_BOLT_TRANSIENT_ERROR), "TransientError");
	CHECK_STR(n4j_bolt_error_class_name(N4J_BOLT_DATABASE_ERROR), "DatabaseError");
	CHECK_STR(n4j_bolt_error_class_name(N4J_BOLT_NETWORK), "Network");
	CHECK_STR(n4j_bolt_error_class_name(N4J_BOLT_PROTOCOL), "Protocol");
}

int main(void)
{
	test_bolt_error_class();
	test_conditions();
	test_status_patch();
	test_update_pending();
	test_password();
	test_names();
	test_status_build();
	test_restore_key();
	return check_summary();
}
