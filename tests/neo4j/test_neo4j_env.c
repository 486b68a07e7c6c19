/*
 * src/neo4j's I/O half against the real Neo4j 5.26 Community test server: the snapshot of
 * a Community server (no SHOW SERVERS, no aliases, and no error for it), the same through
 * a handle opened as Enterprise, Neo4j steps refused with a clear error, and a wrong
 * password reported without the password.
 */
#include "check.h"
#include "envutil.h"
#include "neo4j/neo4j.h"

static struct env E;
static const char *seeds[2];

static struct n4j_neo4j_opts opts(bool enterprise, const char *password)
{
	struct n4j_neo4j_opts o = {
		.enterprise = enterprise,
		.seeds = seeds,
		.user = E.user,
		.password = password,
		.timeout_ms = 10000,
	};
	return o;
}

static bool has_db(const struct n4j_observed *o, const char *name)
{
	for (size_t i = 0; i < o->n_databases; i++)
		if (strcmp(o->databases[i].name, name) == 0)
			return true;
	return false;
}

static void check_community_snapshot(const struct n4j_observed *o)
{
	CHECK(o->reachable);
	CHECK(!o->enterprise);
	CHECK(o->error == NULL);
	CHECK_MSG(o->version && strncmp(o->version, "5.26.", 5) == 0, "version %s",
		  o->version ? o->version : "(null)");
	CHECK_INT(o->n_servers, 0);
	CHECK(has_db(o, "neo4j") && has_db(o, "system"));
	CHECK(o->system_leader != NULL);
	for (size_t i = 0; i < o->n_databases; i++) {
		const struct n4j_obs_database *d = &o->databases[i];
		CHECK_MSG(d->settled, "%s not settled", d->name);
		CHECK_INT(d->current_primaries, 1);
		CHECK_INT(d->requested_primaries, 1);
		CHECK_STR(d->requested_status, "online");
		CHECK(d->is_default == (strcmp(d->name, "neo4j") == 0));
		if (strcmp(d->name, "neo4j") == 0)
			CHECK(d->writer_address != NULL);
	}
	CHECK_INT(o->n_copies, o->n_databases);
	for (size_t i = 0; i < o->n_copies; i++)
		CHECK_STR(o->copies[i].current_status, "online");
}

int main(void)
{
	int rc = env_load(&E);
	if (rc)
		return rc;
	seeds[0] = E.address;
	struct n4j_error err = {0};
	struct n4j_arena *a = n4j_arena_new();
	struct n4j_observed o;

	/* Community: the one server, no ROUTE */
	struct n4j_neo4j_opts oc = opts(false, E.password);
	struct n4j_neo4j *h = NULL;
	CHECK_MSG(n4j_neo4j_open(&oc, &h, &err) == 0, "%s", err.msg);
	if (h) {
		CHECK_MSG(n4j_observe(h, a, NULL, &o, &err) == 0, "%s", err.msg);
		if (!o.reachable)
			fprintf(stderr, "  community: %s\n", o.error ? o.error : "");
		check_community_snapshot(&o);
		fprintf(stderr, "  community: version %s, %zu databases, leader %s\n",
			o.version ? o.version : "?", o.n_databases,
			o.system_leader ? o.system_leader : "?");
		struct n4j_step s = {
			.kind = N4J_STEP_CREATE_DATABASE, .database = "foo", .primaries = 1};
		CHECK_INT(n4j_step_run(h, a, &s, &err), N4J_EINVAL);
		CHECK_MSG(check_has(err.msg, "Community"), "%s", err.msg);
		n4j_neo4j_close(h);
	}

	/* A handle opened as Enterprise against Community (a wrong spec.edition): the
	 * snapshot says Community, and the cluster commands fail clearly, not as a crash */
	struct n4j_neo4j_opts oe = opts(true, E.password);
	h = NULL;
	CHECK_MSG(n4j_neo4j_open(&oe, &h, &err) == 0, "%s", err.msg);
	if (h) {
		CHECK_MSG(n4j_observe(h, a, NULL, &o, &err) == 0, "%s", err.msg);
		if (!o.reachable)
			fprintf(stderr, "  as enterprise: %s\n", o.error ? o.error : "");
		check_community_snapshot(&o);
		struct n4j_step s = {
			.kind = N4J_STEP_CREATE_DATABASE, .database = "foo", .primaries = 1};
		CHECK_INT(n4j_step_run(h, a, &s, &err), N4J_EBOLT_FAILURE);
		CHECK_MSG(check_has(err.msg, "CREATE DATABASE") && check_has(err.msg, "Community"),
			  "%s", err.msg);
		fprintf(stderr, "  step on Community: %s\n", err.msg);
		s = (struct n4j_step){.kind = N4J_STEP_ENABLE_SERVER,
				      .server_id = "0751b736-0000-4000-8000-000000000001",
				      .mode = "NONE"};
		CHECK_INT(n4j_step_run(h, a, &s, &err), N4J_EBOLT_FAILURE);
		CHECK_MSG(check_has(err.msg, "ENABLE SERVER"), "%s", err.msg);
		s = (struct n4j_step){.kind = N4J_STEP_DEALLOCATE,
				      .server_id = "0751b736-0000-4000-8000-000000000001"};
		CHECK(n4j_step_run(h, a, &s, &err) < 0);
		CHECK_MSG(check_has(err.msg, "DEALLOCATE"), "%s", err.msg);
		/* every statement a step sends parses on Neo4j 5.26: Community refuses each as
		 * an unsupported command (or an unknown procedure), never as a SyntaxError */
		static const char *const id = "0751b736-0000-4000-8000-000000000001";
		const struct n4j_step all[] = {
			{.kind = N4J_STEP_ENABLE_SERVER, .server_id = id, .mode = "PRIMARY"},
			{.kind = N4J_STEP_ENABLE_SERVER, .server_id = id},
			{.kind = N4J_STEP_CORDON_SERVER, .server_id = id},
			{.kind = N4J_STEP_DEALLOCATE, .server_id = id},
			{.kind = N4J_STEP_DROP_SERVER, .server_id = id},
			{.kind = N4J_STEP_CREATE_DATABASE,
			 .database = "foo",
			 .primaries = 3,
			 .secondaries = 2},
			{.kind = N4J_STEP_ALTER_TOPOLOGY,
			 .database = "neo4j",
			 .primaries = 3,
			 .secondaries = 0},
			{.kind = N4J_STEP_CREATE_ALIAS, .alias = "fooalias", .database = "neo4j"},
			{.kind = N4J_STEP_ALTER_ALIAS, .alias = "fooalias", .database = "neo4j"},
			{.kind = N4J_STEP_REALLOCATE},
			{.kind = N4J_STEP_SEED_CREATE,
			 .database = "foo",
			 .primaries = 3,
			 .secondaries = 1,
			 .seed_uri = "s3://bucket/backups/"},
			{.kind = N4J_STEP_SEED_CREATE,
			 .database = "foo",
			 .primaries = 1,
			 .seed_uri = "s3://bucket/backups/",
			 .seed_until = "2026-11-30 12:00:00"},
			{.kind = N4J_STEP_RECREATE,
			 .database = "foo",
			 .seed_uri = "s3://bucket/backups/",
			 .procedure = "dbms.cluster.recreateDatabase"},
		};
		for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
			memset(&err, 0, sizeof err);
			CHECK_INT(n4j_step_run(h, a, &all[i], &err), N4J_EBOLT_FAILURE);
			CHECK_MSG(!check_has(err.msg, "SyntaxError") &&
					  (check_has(err.msg, "UnsupportedAdministrationCommand") ||
					   check_has(err.msg, "ProcedureNotFound")),
				  "step %zu: %s", i, err.msg);
		}
		/* nothing was created */
		CHECK(n4j_observe(h, a, NULL, &o, &err) == 0 && o.reachable && !has_db(&o, "foo"));
		n4j_neo4j_close(h);
	}

	/* a wrong password, last (Neo4j rate-limits failed logins): not reachable, no error
	 * code, and the reason never holds the password */
	const char *wrong = "Wrong-Env-Pw-4431x";
	struct n4j_neo4j_opts ow = opts(false, wrong);
	h = NULL;
	CHECK(n4j_neo4j_open(&ow, &h, &err) == 0);
	if (h) {
		memset(&err, 0, sizeof err);
		CHECK_INT(n4j_observe(h, a, NULL, &o, &err), 0);
		CHECK(!o.reachable && o.error != NULL);
		CHECK_MSG(check_has(o.error, "Unauthorized"), "%s", o.error ? o.error : "");
		CHECK(o.error && !strstr(o.error, wrong) && !strstr(o.error, E.password));
		fprintf(stderr, "  wrong password: %s\n", o.error ? o.error : "");
		n4j_neo4j_close(h);
	}
	n4j_arena_free(a);
	CHECK_DONE();
}
