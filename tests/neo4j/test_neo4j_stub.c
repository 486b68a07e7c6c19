/*
 * n4j_step_run's DRYRUN check against a scripted server: a DRYRUN row without a
 * destination (toServerId NULL or empty) stops DEALLOCATE and REALLOCATE with N4J_EINVAL
 * naming the copy, and the real statement is never sent (the script ends after the
 * DRYRUNs, so anything more is a mismatch and the stub exits non-zero); and n4j_observe
 * over odd rows (missing columns, NULLs, wrong types, unknown words).
 */
#include "check.h"
#include "neo4j/neo4j.h"
#include "stubrun.h"

static int resolve(void *ctx, const char *advertised, char *out, size_t outlen)
{
	if (strcmp(advertised, "leader.stub.test:7687") != 0)
		return N4J_ENOTFOUND;
	snprintf(out, outlen, "%s", (const char *)ctx);
	return 0;
}

static pid_t stub_start(const char *stub, const char *script, char *addr, size_t addrlen)
{
	static int seq;
	char path[512];
	snprintf(addr, addrlen, "127.0.0.57:%d", 29700 + (int)(getpid() % 100) * 2 + seq++);
	snprintf(path, sizeof path, "%s/tests/neo4j/scripts/%s", N4J_SOURCE_DIR, script);
	char *args[] = {(char *)stub, "--timeout", "30", addr, path, NULL};
	pid_t pid = child_start(args);
	CHECK_MSG(pid > 0, "stub %s did not start", script);
	return pid;
}

static struct n4j_neo4j *open_on(const char *addr)
{
	static const char *seeds[] = {"leader.stub.test:7687", NULL};
	struct n4j_neo4j_opts o = {.enterprise = true,
				   .seeds = seeds,
				   .resolve = resolve,
				   .resolve_ctx = (void *)addr,
				   .user = "neo4j",
				   .password = "stub-pw",
				   .timeout_ms = 3000};
	struct n4j_neo4j *h = NULL;
	struct n4j_error err = {0};
	CHECK_MSG(n4j_neo4j_open(&o, &h, &err) == 0, "%s", err.msg);
	return h;
}

static void test_dryrun_without_destination(const char *stub)
{
	char addr[64];
	pid_t pid = stub_start(stub, "dryrun_null.script", addr, sizeof addr);
	if (pid <= 0)
		return;
	long t0 = mono_ms();
	struct n4j_neo4j *h = open_on(addr);
	struct n4j_arena *a = n4j_arena_new();
	struct n4j_error err = {0};
	if (h) {
		struct n4j_step s = {.kind = N4J_STEP_DEALLOCATE,
				     .server_id = "0751b736-0000-4000-8000-00000000000a"};
		CHECK_INT(n4j_step_run(h, a, &s, &err), N4J_EINVAL);
		fprintf(stderr, "  deallocate: %s\n", err.msg);
		CHECK(check_has(err.msg, "no destination for 1 copy"));
		CHECK(check_has(err.msg, "bar (secondary)"));
		CHECK(!check_has(err.msg, "foo"));
		s = (struct n4j_step){.kind = N4J_STEP_REALLOCATE};
		CHECK_INT(n4j_step_run(h, a, &s, &err), N4J_EINVAL);
		fprintf(stderr, "  reallocate: %s\n", err.msg);
		CHECK(check_has(err.msg, "REALLOCATE") && check_has(err.msg, "foo (primary)"));
		n4j_neo4j_close(h);
	}
	n4j_arena_free(a);
	CHECK(mono_ms() - t0 < 10000);
	/* the script ran to its end and nothing else was sent */
	CHECK_INT(child_wait(pid, 5000), 0);
}

static const struct n4j_obs_server *srv(const struct n4j_observed *o, char last)
{
	for (size_t i = 0; i < o->n_servers; i++) {
		size_t l = strlen(o->servers[i].id);
		if (o->servers[i].id[l - 1] == last)
			return &o->servers[i];
	}
	return NULL;
}

static void test_odd_rows(const char *stub)
{
	char addr[64];
	pid_t pid = stub_start(stub, "odd_rows.script", addr, sizeof addr);
	if (pid <= 0)
		return;
	struct n4j_neo4j *h = open_on(addr);
	struct n4j_arena *a = n4j_arena_new();
	struct n4j_error err = {0};
	struct n4j_cluster c = {.meta = {.name = "graph"}};
	struct n4j_observed o;
	if (h) {
		CHECK_INT(n4j_observe(h, a, &c, &o, &err), 0);
		CHECK_MSG(o.reachable, "%s", o.error ? o.error : "");
		/* the kernel's row, not a plugin's; a version that is no string is absent */
		CHECK(o.enterprise);
		CHECK(o.version == NULL);
		/* the row without serverId is left out */
		CHECK_INT(o.n_servers, 9);
		const struct n4j_obs_server *s;
		CHECK((s = srv(&o, '1')) && s->state == N4J_SERVER_UNKNOWN &&
		      s->health == N4J_HEALTH_UNKNOWN && s->ordinal == 1 &&
		      check_streq(s->pod, "graph-1") && check_streq(s->name, s->id) &&
		      s->n_hosting == 2 && check_streq(s->hosting[1], "foo") &&
		      s->n_requested == 0 && s->mode_constraint == NULL);
		CHECK((s = srv(&o, '3')) && s->address == NULL && s->pod == NULL &&
		      s->ordinal == -1 && s->state == N4J_SERVER_ENABLED && s->n_hosting == 0);
		CHECK((s = srv(&o, '4')) && s->pod == NULL && s->ordinal == -1 &&
		      s->state == N4J_SERVER_FREE && s->health == N4J_HEALTH_UNAVAILABLE);
		CHECK((s = srv(&o, '5')) && check_streq(s->pod, "graph-07") && s->ordinal == -1 &&
		      s->state == N4J_SERVER_CORDONED && s->health == N4J_HEALTH_AVAILABLE);
		CHECK((s = srv(&o, '6')) && check_streq(s->pod, "graph-3") && s->ordinal == 3 &&
		      s->state == N4J_SERVER_DEALLOCATING);
		CHECK((s = srv(&o, '7')) && s->ordinal == -1 && s->state == N4J_SERVER_DROPPED);
		CHECK((s = srv(&o, '8')) && s->ordinal == -1 && s->state == N4J_SERVER_DEALLOCATED);
		CHECK((s = srv(&o, '9')) && s->pod == NULL && s->ordinal == -1);
		CHECK((s = srv(&o, 'a')) && s->pod == NULL && s->ordinal == -1);
		/* databases: the nameless row is left out; wrong types read as not said */
		CHECK_INT(o.n_copies, 4);
		CHECK_INT(o.n_databases, 3);
		const struct n4j_obs_database *foo = NULL, *bar = NULL, *sys = NULL;
		for (size_t i = 0; i < o.n_databases; i++) {
			const char *n = o.databases[i].name;
			if (strcmp(n, "foo") == 0)
				foo = &o.databases[i];
			if (strcmp(n, "bar") == 0)
				bar = &o.databases[i];
			if (strcmp(n, "system") == 0)
				sys = &o.databases[i];
		}
		CHECK(foo && !foo->settled && !foo->is_default &&
		      check_streq(foo->writer_address, "graph-3:7687") &&
		      foo->current_primaries == 2 && foo->requested_primaries == 2);
		CHECK(bar && !bar->settled && bar->writer_address == NULL && bar->type == NULL &&
		      bar->requested_status == NULL && bar->current_primaries == 0);
		CHECK(sys && sys->settled && sys->requested_primaries == 1);
		CHECK_STR(o.system_leader, "graph-3:7687");
		CHECK_INT(o.n_aliases, 1);
		CHECK(o.n_aliases == 1 && check_streq(o.aliases[0].name, "a1") &&
		      o.aliases[0].database == NULL);
		n4j_neo4j_close(h);
	}
	n4j_arena_free(a);
	CHECK_INT(child_wait(pid, 5000), 0);
}

/* The seed steps' statements and parameters, exactly (the script checks them), and the
 * inputs refused before a byte is sent. */
static void test_seed_steps(const char *stub)
{
	char addr[64];
	pid_t pid = stub_start(stub, "seed.script", addr, sizeof addr);
	if (pid <= 0)
		return;
	struct n4j_neo4j *h = open_on(addr);
	struct n4j_arena *a = n4j_arena_new();
	struct n4j_error err = {0};
	if (h) {
		struct n4j_step s = {.kind = N4J_STEP_SEED_CREATE,
				     .database = "sales",
				     .primaries = 3,
				     .secondaries = 1,
				     .seed_uri = "s3://bucket/backups/"};
		CHECK_MSG(n4j_step_run(h, a, &s, &err) == 0, "%s", err.msg);
		s.secondaries = 0;
		s.seed_uri = "gs://bucket/p";
		s.seed_until = "12345";
		CHECK_MSG(n4j_step_run(h, a, &s, &err) == 0, "%s", err.msg);
		s.primaries = 1;
		s.seed_uri = "azb://acct/cont/p";
		s.seed_until = "2026-11-30 12:00:00";
		CHECK_MSG(n4j_step_run(h, a, &s, &err) == 0, "%s", err.msg);
		struct n4j_step r = {.kind = N4J_STEP_RECREATE,
				     .database = "neo4j",
				     .seed_uri = "s3://bucket/backups/",
				     .procedure = "dbms.cluster.recreateDatabase"};
		CHECK_MSG(n4j_step_run(h, a, &r, &err) == 0, "%s", err.msg);
		r.procedure = "dbms.recreateDatabase";
		CHECK_MSG(n4j_step_run(h, a, &r, &err) == 0, "%s", err.msg);
		/* refused before sending: the script has no more statements */
		r.procedure = "apoc.cypher.runSchema";
		CHECK_INT(n4j_step_run(h, a, &r, &err), N4J_EINVAL);
		CHECK_HAS(err.msg, "not a recreate procedure");
		r.procedure = NULL;
		CHECK_INT(n4j_step_run(h, a, &r, &err), N4J_EINVAL);
		r.procedure = "dbms.recreateDatabase";
		r.seed_uri = "bucket/backups";
		CHECK_INT(n4j_step_run(h, a, &r, &err), N4J_EINVAL);
		s.seed_uri = "s3://b/p\nDROP";
		CHECK_INT(n4j_step_run(h, a, &s, &err), N4J_EINVAL);
		CHECK_HAS(err.msg, "not a URI");
		s.seed_uri = NULL;
		CHECK_INT(n4j_step_run(h, a, &s, &err), N4J_EINVAL);
		s.seed_uri = "s3://b/p";
		s.primaries = 0;
		CHECK_INT(n4j_step_run(h, a, &s, &err), N4J_EINVAL);
		n4j_neo4j_close(h);
	}
	n4j_arena_free(a);
	CHECK_INT(child_wait(pid, 5000), 0);
}

/* What n4j_neo4j_last_error reports (the Bolt error metrics read it): a FAILURE with
 * Neo4j's code, a refused connection as a network error, NONE after a success and for an
 * error that is not Bolt's (a step refused before sending). */
static void test_last_error(const char *stub)
{
	char addr[64];
	pid_t pid = stub_start(stub, "failure.script", addr, sizeof addr);
	if (pid <= 0)
		return;
	struct n4j_neo4j *h = open_on(addr);
	struct n4j_arena *a = n4j_arena_new();
	struct n4j_error err = {0};
	const char *code = NULL;
	if (h) {
		CHECK_INT(n4j_neo4j_last_error(h, &code), N4J_NEO4J_ERR_NONE);
		CHECK_STR(code, "");
		struct n4j_step s = {.kind = N4J_STEP_DROP_SERVER,
				     .server_id = "0751b736-0000-4000-8000-00000000000a"};
		CHECK(n4j_step_run(h, a, &s, &err) != 0);
		CHECK_INT(n4j_neo4j_last_error(h, &code), N4J_NEO4J_ERR_FAILURE);
		CHECK_STR(code, "Neo.ClientError.Cluster.ServerNotFound");
		/* refused before sending: not Bolt's, and the FAILURE before is not its error */
		s.server_id = "not-a-uuid";
		CHECK_INT(n4j_step_run(h, a, &s, &err), N4J_EINVAL);
		CHECK_INT(n4j_neo4j_last_error(h, &code), N4J_NEO4J_ERR_NONE);
		CHECK_STR(code, "");
		s.server_id = "0751b736-0000-4000-8000-00000000000b";
		CHECK_MSG(n4j_step_run(h, a, &s, &err) == 0, "%s", err.msg);
		CHECK_INT(n4j_neo4j_last_error(h, &code), N4J_NEO4J_ERR_NONE);
		n4j_neo4j_close(h);
	}
	CHECK_INT(child_wait(pid, 5000), 0);

	/* Nothing listens any more: the observation fails as a network error. */
	h = open_on(addr);
	if (h) {
		struct n4j_cluster c = {.meta = {.name = "graph"}};
		struct n4j_observed o;
		CHECK_INT(n4j_observe(h, a, &c, &o, &err), 0);
		CHECK(!o.reachable);
		CHECK_INT(n4j_neo4j_last_error(h, &code), N4J_NEO4J_ERR_NETWORK);
		CHECK_STR(code, "");
		n4j_neo4j_close(h);
	}
	n4j_arena_free(a);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: test_neo4j_stub PATH-TO-n4j-bolt-stub\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	test_dryrun_without_destination(argv[1]);
	test_odd_rows(argv[1]);
	test_seed_steps(argv[1]);
	test_last_error(argv[1]);
	CHECK_DONE();
}
