/*
 * src/neo4j's I/O half against the simulator: n4j_observe's snapshot (servers, ordinals,
 * databases, copies, aliases, leader) and every Neo4j step of n4j_step_run, including the
 * DRYRUN refusal (nothing changed, per the control socket's dump), NotALeader re-routing,
 * a stopped server, no quorum, an unreachable cluster and a wrong password.
 */
#include "check.h"
#include "neo4j/neo4j.h"
#include "simctl.h"
#include "stubrun.h"

#define N 5
static char binds[N][64];
static char names[N][96];
static const char *seeds[N + 1];
static char ctl_path[108];
static struct sim_addr_map addrs;
static struct n4j_neo4j *H;
static struct n4j_cluster C = {.meta = {.name = "graph"}};

static const char *const PASSWORD = "sim-Secret-pw-7";

static int ctl(const char *cmd)
{
	char out[256];
	return sim_ctl(ctl_path, cmd, out, sizeof out);
}

static char *dump(void)
{
	static char buf[2][65536];
	static int k;
	k ^= 1;
	if (sim_ctl(ctl_path, "dump", buf[k], sizeof buf[k]))
		buf[k][0] = '\0';
	return buf[k];
}

static struct n4j_neo4j_opts opts(const char *password, struct sim_addr_map *m)
{
	struct n4j_neo4j_opts o = {
		.enterprise = true,
		.seeds = seeds,
		.resolve = sim_resolve,
		.resolve_ctx = m,
		.user = "neo4j",
		.password = password,
		.timeout_ms = 2000,
	};
	return o;
}

/* Counts the connections a handle dials (each new one resolves its seed first). */
struct counting_map {
	struct sim_addr_map *m;
	int dials;
};
static int counting_resolve(void *ctx, const char *advertised, char *out, size_t outlen)
{
	struct counting_map *c = ctx;
	c->dials++;
	return sim_resolve(c->m, advertised, out, outlen);
}

static const struct n4j_obs_server *by_ordinal(const struct n4j_observed *o, int k)
{
	for (size_t i = 0; i < o->n_servers; i++)
		if (o->servers[i].ordinal == k)
			return &o->servers[i];
	return NULL;
}

static const struct n4j_obs_database *db(const struct n4j_observed *o, const char *name)
{
	for (size_t i = 0; i < o->n_databases; i++)
		if (strcmp(o->databases[i].name, name) == 0)
			return &o->databases[i];
	return NULL;
}

static bool observe(struct n4j_arena *a, struct n4j_observed *o)
{
	struct n4j_error err = {0};
	int rc = n4j_observe(H, a, &C, o, &err);
	CHECK_MSG(rc == 0 && o->reachable, "rc %d %s / %s", rc, err.msg, o->error ? o->error : "");
	return rc == 0 && o->reachable;
}

static int step(struct n4j_arena *a, struct n4j_step s, struct n4j_error *err)
{
	memset(err, 0, sizeof *err);
	return n4j_step_run(H, a, &s, err);
}

/* Polls observe until every database is settled (copies moved, started). */
static bool wait_settled(int ms)
{
	long end = mono_ms() + ms;
	do {
		struct n4j_arena *a = n4j_arena_new();
		struct n4j_observed o;
		struct n4j_error err;
		bool ok = n4j_observe(H, a, &C, &o, &err) == 0 && o.reachable;
		for (size_t i = 0; ok && i < o.n_databases; i++)
			ok = o.databases[i].settled;
		n4j_arena_free(a);
		if (ok)
			return true;
		n4j_sleep_ms(50);
	} while (mono_ms() < end);
	return false;
}

static enum n4j_server_state state_of(int k)
{
	struct n4j_arena *a = n4j_arena_new();
	struct n4j_observed o;
	struct n4j_error err;
	enum n4j_server_state st = N4J_SERVER_UNKNOWN;
	if (n4j_observe(H, a, &C, &o, &err) == 0 && by_ordinal(&o, k))
		st = by_ordinal(&o, k)->state;
	n4j_arena_free(a);
	return st;
}

static char ids[N][40];

static void test_observe_formed(void)
{
	struct n4j_arena *a = n4j_arena_new();
	struct n4j_observed o;
	if (!observe(a, &o)) {
		n4j_arena_free(a);
		return;
	}
	CHECK(o.enterprise);
	CHECK_STR(o.version, "5.26.0");
	CHECK(o.error == NULL);
	CHECK_STR(o.system_leader, names[0]);
	CHECK_INT(o.n_servers, N);
	int enabled = 0, free_ = 0;
	for (int k = 0; k < N; k++) {
		const struct n4j_obs_server *s = by_ordinal(&o, k);
		CHECK_MSG(s != NULL, "no server with ordinal %d", k);
		if (!s)
			continue;
		char pod[16];
		snprintf(pod, sizeof pod, "graph-%d", k);
		CHECK_STR(s->pod, pod);
		CHECK_STR(s->address, names[k]);
		CHECK_STR(s->name, s->id); /* never renamed */
		CHECK_INT(s->health, N4J_HEALTH_AVAILABLE);
		CHECK_STR(s->mode_constraint, "NONE");
		snprintf(ids[k], sizeof ids[k], "%s", s->id);
		enabled += s->state == N4J_SERVER_ENABLED;
		free_ += s->state == N4J_SERVER_FREE;
		/* every server hosts system; the first also neo4j */
		CHECK(s->n_hosting >= 1 && s->n_requested == s->n_hosting);
		CHECK(s->n_hosting >= 1 && strcmp(s->hosting[0], "system") == 0);
		if (k >= 3)
			CHECK_INT(s->state, N4J_SERVER_FREE);
	}
	CHECK_INT(enabled, 3);
	CHECK_INT(free_, 2);
	const struct n4j_obs_database *neo = db(&o, "neo4j"), *sys = db(&o, "system");
	CHECK(neo && sys);
	if (neo && sys) {
		CHECK(neo->is_default && !sys->is_default);
		CHECK_STR(neo->type, "standard");
		CHECK_STR(sys->type, "system");
		CHECK_INT(neo->requested_primaries, 1);
		CHECK_INT(neo->requested_secondaries, 0);
		CHECK_INT(neo->current_primaries, 1);
		CHECK_STR(neo->writer_address, names[0]);
		CHECK_STR(neo->requested_status, "online");
		CHECK(neo->settled && sys->settled);
		CHECK_INT(sys->requested_primaries, 3);
	}
	/* system on all 5, neo4j on 1 */
	CHECK_INT(o.n_copies, N + 1);
	size_t nsys = 0;
	for (size_t i = 0; i < o.n_copies; i++) {
		const struct n4j_obs_copy *c = &o.copies[i];
		nsys += strcmp(c->database, "system") == 0;
		CHECK(c->server_id && c->address && c->role);
		CHECK_STR(c->current_status, "online");
	}
	CHECK_INT(nsys, N);
	CHECK_INT(o.n_aliases, 0);
	n4j_arena_free(a);

	/* ordinals need the exact "<cluster>-<digits>": a prefix of the name is not it */
	struct n4j_cluster other = {.meta = {.name = "grap"}};
	a = n4j_arena_new();
	struct n4j_error err;
	CHECK(n4j_observe(H, a, &other, &o, &err) == 0 && o.reachable);
	for (size_t i = 0; i < o.n_servers; i++) {
		CHECK_INT(o.servers[i].ordinal, -1);
		CHECK(o.servers[i].pod != NULL);
	}
	CHECK(n4j_observe(H, a, NULL, &o, &err) == 0 && o.reachable && o.n_servers == N &&
	      o.servers[0].ordinal == -1);
	n4j_arena_free(a);
}

static void test_refused_inputs(void)
{
	struct n4j_arena *a = n4j_arena_new();
	struct n4j_error err;
	const char *before = dump();
	CHECK_INT(step(a,
		       (struct n4j_step){.kind = N4J_STEP_ENABLE_SERVER, .server_id = "x' OR 1=1"},
		       &err),
		  N4J_EINVAL);
	CHECK(check_has(err.msg, "not a UUID"));
	CHECK_INT(step(a,
		       (struct n4j_step){
			       .kind = N4J_STEP_ENABLE_SERVER, .server_id = ids[3], .mode = "ALL"},
		       &err),
		  N4J_EINVAL);
	CHECK_INT(step(a, (struct n4j_step){.kind = N4J_STEP_SET_REPLICAS, .replicas = 3}, &err),
		  N4J_EINVAL);
	CHECK_INT(step(a, (struct n4j_step){.kind = N4J_STEP_DELETE_POD, .pod = "graph-1"}, &err),
		  N4J_EINVAL);
	CHECK_INT(step(a, (struct n4j_step){.kind = N4J_STEP_WAIT}, &err), N4J_EINVAL);
	CHECK_INT(step(a,
		       (struct n4j_step){.kind = N4J_STEP_CREATE_DATABASE,
					 .database = "big",
					 .primaries = 12},
		       &err),
		  N4J_EINVAL);
	CHECK_INT(step(a,
		       (struct n4j_step){.kind = N4J_STEP_ALTER_TOPOLOGY,
					 .database = "neo4j",
					 .primaries = 0},
		       &err),
		  N4J_EINVAL);
	CHECK_INT(step(a,
		       (struct n4j_step){.kind = N4J_STEP_CREATE_DATABASE,
					 .database = "big",
					 .primaries = 1,
					 .secondaries = -1},
		       &err),
		  N4J_EINVAL);
	CHECK_INT(step(a, (struct n4j_step){.kind = N4J_STEP_CREATE_ALIAS, .alias = "x"}, &err),
		  N4J_EINVAL);
	CHECK_INT(step(a, (struct n4j_step){.kind = N4J_STEP_DROP_SERVER}, &err), N4J_EINVAL);
	/* a name Neo4j refuses travels as a parameter and comes back as Neo4j's refusal */
	CHECK_INT(step(a,
		       (struct n4j_step){.kind = N4J_STEP_CREATE_DATABASE,
					 .database = "x` TOPOLOGY 1 PRIMARY",
					 .primaries = 1},
		       &err),
		  N4J_EBOLT_FAILURE);
	CHECK_MSG(check_has(err.msg, "CREATE DATABASE"), "%s", err.msg);
	CHECK_MSG(strcmp(dump(), before) == 0, "the dump changed");
	n4j_arena_free(a);
}

static void test_enable_and_databases(void)
{
	struct n4j_arena *a = n4j_arena_new();
	struct n4j_error err;
	CHECK_MSG(step(a,
		       (struct n4j_step){
			       .kind = N4J_STEP_ENABLE_SERVER, .server_id = ids[3], .mode = "NONE"},
		       &err) == 0,
		  "%s", err.msg);
	CHECK_MSG(step(a,
		       (struct n4j_step){.kind = N4J_STEP_ENABLE_SERVER,
					 .server_id = ids[4],
					 .mode = "SECONDARY"},
		       &err) == 0,
		  "%s", err.msg);
	/* again: a no-op, not an error */
	CHECK_MSG(step(a,
		       (struct n4j_step){
			       .kind = N4J_STEP_ENABLE_SERVER, .server_id = ids[3], .mode = "NONE"},
		       &err) == 0,
		  "%s", err.msg);
	struct n4j_observed o;
	if (observe(a, &o)) {
		for (int k = 0; k < N; k++)
			CHECK(by_ordinal(&o, k) && by_ordinal(&o, k)->state == N4J_SERVER_ENABLED);
		CHECK(by_ordinal(&o, 4) &&
		      check_streq(by_ordinal(&o, 4)->mode_constraint, "SECONDARY"));
	}
	/* a new database with its topology; IF NOT EXISTS makes the repeat a no-op */
	struct n4j_step cd = {.kind = N4J_STEP_CREATE_DATABASE,
			      .database = "foo",
			      .primaries = 2,
			      .secondaries = 1};
	CHECK_MSG(step(a, cd, &err) == 0, "%s", err.msg);
	CHECK_MSG(step(a, cd, &err) == 0, "%s", err.msg);
	/* neo4j grows from 1 to 3 primaries */
	CHECK_MSG(step(a,
		       (struct n4j_step){.kind = N4J_STEP_ALTER_TOPOLOGY,
					 .database = "neo4j",
					 .primaries = 3,
					 .secondaries = 0},
		       &err) == 0,
		  "%s", err.msg);
	CHECK(wait_settled(5000));
	if (observe(a, &o)) {
		const struct n4j_obs_database *foo = db(&o, "foo"), *neo = db(&o, "neo4j");
		CHECK(foo && foo->requested_primaries == 2 && foo->requested_secondaries == 1 &&
		      foo->current_primaries == 2 && foo->current_secondaries == 1 &&
		      foo->settled && !foo->is_default && foo->writer_address != NULL);
		CHECK(neo && neo->requested_primaries == 3 && neo->current_primaries == 3);
		size_t nfoo = 0;
		for (size_t i = 0; i < o.n_copies; i++)
			nfoo += strcmp(o.copies[i].database, "foo") == 0;
		CHECK_INT(nfoo, 3);
		/* requestedHosting / hosting name foo on its three servers */
		size_t hosts = 0;
		for (size_t i = 0; i < o.n_servers; i++)
			for (size_t j = 0; j < o.servers[i].n_hosting; j++)
				hosts += strcmp(o.servers[i].hosting[j], "foo") == 0;
		CHECK_INT(hosts, 3);
	}
	/* aliases */
	struct n4j_step ca = {
		.kind = N4J_STEP_CREATE_ALIAS, .alias = "fooalias", .database = "foo"};
	CHECK_MSG(step(a, ca, &err) == 0, "%s", err.msg);
	CHECK_MSG(step(a, ca, &err) == 0, "%s", err.msg);
	if (observe(a, &o)) {
		CHECK_INT(o.n_aliases, 1);
		CHECK(o.n_aliases == 1 && check_streq(o.aliases[0].name, "fooalias") &&
		      check_streq(o.aliases[0].database, "foo"));
	}
	CHECK_MSG(step(a,
		       (struct n4j_step){.kind = N4J_STEP_ALTER_ALIAS,
					 .alias = "fooalias",
					 .database = "neo4j"},
		       &err) == 0,
		  "%s", err.msg);
	if (observe(a, &o))
		CHECK(o.n_aliases == 1 && check_streq(o.aliases[0].database, "neo4j"));
	n4j_arena_free(a);
}

/* The ordinal of the server that hosts db (the first one), or -1. */
static int host_of(const char *dbname)
{
	struct n4j_arena *a = n4j_arena_new();
	struct n4j_observed o;
	struct n4j_error err;
	int k = -1;
	if (n4j_observe(H, a, &C, &o, &err) == 0)
		for (size_t i = 0; i < o.n_copies && k < 0; i++)
			if (strcmp(o.copies[i].database, dbname) == 0)
				for (size_t j = 0; j < o.n_servers; j++)
					if (check_streq(o.servers[j].id, o.copies[i].server_id))
						k = o.servers[j].ordinal;
	n4j_arena_free(a);
	return k;
}

static void test_scale_in(void)
{
	struct n4j_arena *a = n4j_arena_new();
	struct n4j_error err;
	/* a 1-primary database pins its server: the DRYRUN refuses, nothing changes */
	CHECK_MSG(step(a,
		       (struct n4j_step){.kind = N4J_STEP_CREATE_DATABASE,
					 .database = "solo",
					 .primaries = 1},
		       &err) == 0,
		  "%s", err.msg);
	CHECK(wait_settled(5000));
	int pinned = host_of("solo");
	CHECK(pinned >= 0);
	if (pinned >= 0) {
		char before[65536];
		snprintf(before, sizeof before, "%s", dump());
		CHECK_INT(step(a,
			       (struct n4j_step){.kind = N4J_STEP_DEALLOCATE,
						 .server_id = ids[pinned]},
			       &err),
			  N4J_EINVAL);
		CHECK_MSG(check_has(err.msg, "DRYRUN") && check_has(err.msg, "nothing changed"),
			  "%s", err.msg);
		fprintf(stderr, "  refused: %s\n", err.msg);
		CHECK_MSG(strcmp(dump(), before) == 0, "the dump changed");
		CHECK_INT(state_of(pinned), N4J_SERVER_ENABLED);
	}
	/* the scale-in target: the highest ordinal that holds no 1-primary database */
	int t = N - 1;
	while (t == pinned || t == 0)
		t--;
	struct n4j_step s = {.kind = N4J_STEP_CORDON_SERVER, .server_id = ids[t]};
	CHECK_MSG(step(a, s, &err) == 0, "%s", err.msg);
	CHECK_INT(state_of(t), N4J_SERVER_CORDONED);
	CHECK_MSG(step(a, s, &err) == 0, "cordon twice: %s", err.msg);
	/* DROP before Deallocated: Neo4j refuses */
	s.kind = N4J_STEP_DROP_SERVER;
	CHECK_INT(step(a, s, &err), N4J_EBOLT_FAILURE);
	CHECK_MSG(check_has(err.msg, "DROP SERVER"), "%s", err.msg);
	s.kind = N4J_STEP_DEALLOCATE;
	CHECK_MSG(step(a, s, &err) == 0, "%s", err.msg);
	enum n4j_server_state st = state_of(t);
	CHECK_MSG(st == N4J_SERVER_DEALLOCATING || st == N4J_SERVER_DEALLOCATED, "state %d",
		  (int)st);
	long end = mono_ms() + 5000;
	while (state_of(t) != N4J_SERVER_DEALLOCATED && mono_ms() < end)
		n4j_sleep_ms(50);
	CHECK_INT(state_of(t), N4J_SERVER_DEALLOCATED);
	s.kind = N4J_STEP_DROP_SERVER;
	CHECK_MSG(step(a, s, &err) == 0, "%s", err.msg);
	struct n4j_observed o;
	if (observe(a, &o)) {
		const struct n4j_obs_server *d = by_ordinal(&o, t);
		CHECK(d && d->state == N4J_SERVER_DROPPED);
		/* what it hosted lives elsewhere */
		CHECK(d && d->n_hosting == 0);
	}
	CHECK(wait_settled(5000));
	/* a balanced cluster: REALLOCATE's DRYRUN finds nothing, the step is a no-op */
	CHECK_MSG(step(a, (struct n4j_step){.kind = N4J_STEP_REALLOCATE}, &err) == 0, "%s",
		  err.msg);
	n4j_arena_free(a);
}

static void test_not_a_leader(void)
{
	struct n4j_arena *a = n4j_arena_new();
	struct n4j_error err;
	/* the handle has the leader (graph-0) cached; it moves between two steps */
	CHECK_MSG(step(a,
		       (struct n4j_step){.kind = N4J_STEP_CREATE_DATABASE,
					 .database = "before",
					 .primaries = 1},
		       &err) == 0,
		  "%s", err.msg);
	CHECK(check_has(dump(), "\"leader\": \"s0\""));
	CHECK(ctl("leader s1") == 0);
	CHECK_MSG(step(a,
		       (struct n4j_step){.kind = N4J_STEP_CREATE_DATABASE,
					 .database = "after",
					 .primaries = 1},
		       &err) == 0,
		  "%s", err.msg);
	struct n4j_observed o;
	if (observe(a, &o)) {
		CHECK_STR(o.system_leader, names[1]);
		CHECK(db(&o, "after") != NULL);
	}
	n4j_arena_free(a);
}

static void test_stopped_server(void)
{
	struct n4j_arena *a = n4j_arena_new();
	CHECK(wait_settled(5000));
	CHECK(ctl("stop s2") == 0);
	struct n4j_observed o;
	if (observe(a, &o)) {
		const struct n4j_obs_server *s2 = by_ordinal(&o, 2);
		CHECK(s2 && s2->health == N4J_HEALTH_UNAVAILABLE);
		CHECK(by_ordinal(&o, 1) && by_ordinal(&o, 1)->health == N4J_HEALTH_AVAILABLE);
		size_t unknown = 0;
		for (size_t i = 0; s2 && i < o.n_copies; i++) {
			const struct n4j_obs_copy *c = &o.copies[i];
			if (!check_streq(c->server_id, s2->id))
				continue;
			unknown++;
			CHECK(c->address == NULL && !c->writer);
			CHECK_STR(c->current_status, "unknown");
			CHECK_STR(c->role, "unknown");
			CHECK(check_has(c->status_message, "unavailable"));
			const struct n4j_obs_database *d = db(&o, c->database);
			CHECK(d && !d->settled);
		}
		CHECK(unknown >= 2); /* system and neo4j at least */
		CHECK_STR(o.system_leader, names[1]);
	}
	/* no quorum: two of the three system primaries down. Reads still answer from any
	 * server; the snapshot says there is no leader */
	CHECK(ctl("stop s1") == 0);
	struct n4j_error err;
	int rc = n4j_observe(H, a, &C, &o, &err);
	CHECK_INT(rc, 0);
	CHECK_MSG(o.reachable, "%s", o.error ? o.error : "");
	CHECK(o.system_leader == NULL);
	CHECK_INT(o.n_servers, N);
	CHECK(ctl("start s1") == 0);
	CHECK(ctl("start s2") == 0);
	CHECK(wait_settled(5000));
	n4j_arena_free(a);
}

/* Every copy of dbname in this state (and, when msg, a statusMessage containing it). */
static bool wait_copies(const char *dbname, const char *state, const char *msg, int ms)
{
	long end = mono_ms() + ms;
	do {
		struct n4j_arena *a = n4j_arena_new();
		struct n4j_observed o;
		struct n4j_error err;
		size_t n = 0, ok = 0;
		if (n4j_observe(H, a, &C, &o, &err) == 0 && o.reachable)
			for (size_t i = 0; i < o.n_copies; i++) {
				const struct n4j_obs_copy *c = &o.copies[i];
				if (strcmp(c->database, dbname) != 0)
					continue;
				n++;
				ok += check_streq(c->current_status, state) &&
				      (!msg || check_has(c->status_message, msg));
			}
		n4j_arena_free(a);
		if (n && ok == n)
			return true;
		n4j_sleep_ms(50);
	} while (mono_ms() < end);
	return false;
}

/* SEED_CREATE and RECREATE as the simulator (5.26) takes them: the hosting members run the
 * seed tool; a seed that is not there leaves the copies offline, "Unable to start". */
static void test_seed_steps(void)
{
	struct n4j_arena *a = n4j_arena_new();
	struct n4j_error err;
	struct n4j_step sc = {.kind = N4J_STEP_SEED_CREATE,
			      .database = "seeded",
			      .primaries = 2,
			      .secondaries = 0,
			      .seed_uri = "s3://b/good/"};
	CHECK_MSG(step(a, sc, &err) == 0, "%s", err.msg);
	CHECK(wait_copies("seeded", "online", NULL, 5000));
	struct n4j_observed o;
	if (observe(a, &o)) {
		const struct n4j_obs_database *d = db(&o, "seeded");
		CHECK(d && d->requested_primaries == 2 && d->current_primaries == 2 && d->settled);
	}
	/* IF NOT EXISTS: the repeat changes nothing, not even a running seed */
	CHECK_MSG(step(a, sc, &err) == 0, "%s", err.msg);
	/* the seed is not there: offline with Neo4j's words */
	struct n4j_step bad = sc;
	bad.database = "broken";
	bad.primaries = 1;
	bad.seed_uri = "s3://b/none/";
	CHECK_MSG(step(a, bad, &err) == 0, "%s", err.msg);
	CHECK(wait_copies("broken", "offline", "Unable to start database", 5000));
	/* 5.26 has no seedRestoreUntil: Neo4j's refusal, a definite one */
	struct n4j_step pit = sc;
	pit.database = "pit";
	pit.seed_until = "12345";
	int rc = step(a, pit, &err);
	CHECK_INT(rc, N4J_EBOLT_FAILURE);
	CHECK(n4j_step_refused(rc));
	fprintf(stderr, "  seedRestoreUntil on 5.26: %s\n", err.msg);
	/* recreate with the 5.26 name: the store is replaced by the (missing) seed; the
	 * 2025.04 name is unknown to 5.26 */
	struct n4j_step rc1 = {.kind = N4J_STEP_RECREATE,
			       .database = "seeded",
			       .seed_uri = "s3://b/none/",
			       .procedure = "dbms.recreateDatabase"};
	CHECK_INT(step(a, rc1, &err), N4J_EBOLT_FAILURE);
	rc1.procedure = "dbms.cluster.recreateDatabase";
	CHECK_MSG(step(a, rc1, &err) == 0, "%s", err.msg);
	CHECK(wait_copies("seeded", "offline", "Unable to start database", 5000));
	n4j_arena_free(a);
}

static void test_unreachable_and_auth(void)
{
	struct n4j_arena *a = n4j_arena_new();
	struct n4j_error err = {0};
	/* nobody listens at these addresses */
	struct sim_addr_map dead = {.n = N};
	static char dead_binds[N][64];
	for (int i = 0; i < N; i++) {
		snprintf(dead_binds[i], sizeof dead_binds[i], "127.0.0.%d:9", 81 + i);
		dead.adv[i] = names[i];
		dead.bind[i] = dead_binds[i];
	}
	struct n4j_neo4j_opts od = opts(PASSWORD, &dead);
	struct n4j_neo4j *h;
	CHECK(n4j_neo4j_open(&od, &h, &err) == 0);
	struct n4j_observed o;
	long t0 = mono_ms();
	CHECK_INT(n4j_observe(h, a, &C, &o, &err), 0);
	CHECK(mono_ms() - t0 < 5000);
	CHECK(!o.reachable && o.error != NULL && o.n_servers == 0);
	fprintf(stderr, "  unreachable: %s\n", o.error ? o.error : "");
	struct n4j_step s = {.kind = N4J_STEP_CORDON_SERVER, .server_id = ids[1]};
	CHECK(n4j_step_run(h, a, &s, &err) < 0);
	n4j_neo4j_close(h);

	/* a wrong password: not reachable, and the reason never holds the password */
	const char *wrong = "Wrong-Pw-Zx81q";
	struct n4j_neo4j_opts ow = opts(wrong, &addrs);
	struct counting_map cm = {.m = &addrs};
	ow.resolve = counting_resolve;
	ow.resolve_ctx = &cm;
	CHECK(n4j_neo4j_open(&ow, &h, &err) == 0);
	memset(&err, 0, sizeof err);
	CHECK_INT(n4j_observe(h, a, &C, &o, &err), 0);
	CHECK(!o.reachable && o.error != NULL);
	/* one failed login per observe, not one per seed: Neo4j locks the user after a few */
	CHECK_MSG(cm.dials == 1, "%d logins tried with a refused password", cm.dials);
	CHECK_MSG(check_has(o.error, "Unauthorized"), "%s", o.error ? o.error : "");
	CHECK(o.error && !strstr(o.error, wrong) && !strstr(o.error, PASSWORD));
	CHECK(!strstr(err.msg, wrong));
	fprintf(stderr, "  wrong password: %s\n", o.error ? o.error : "");
	CHECK(n4j_step_run(h, a, &s, &err) < 0);
	CHECK(!strstr(err.msg, wrong));
	n4j_neo4j_close(h);

	/* matches: same options yes; another password, seed list or TLS no */
	struct n4j_neo4j_opts o1 = opts(PASSWORD, &addrs);
	CHECK(n4j_neo4j_matches(H, &o1));
	o1.password = "sim-Secret-pw-8";
	CHECK(!n4j_neo4j_matches(H, &o1));
	o1 = opts(PASSWORD, &addrs);
	const char *fewer[] = {names[0], names[1], NULL};
	o1.seeds = fewer;
	CHECK(!n4j_neo4j_matches(H, &o1));
	o1 = opts(PASSWORD, &addrs);
	o1.tls = true;
	o1.ca_file = "/nonexistent/ca.crt";
	CHECK(!n4j_neo4j_matches(H, &o1));
	/* TLS verifies: the simulator speaks plaintext, so nothing is read over a handle
	 * with TLS (never a silent fallback to plaintext) */
	CHECK_INT(n4j_neo4j_open(&o1, &h, &err), 0); /* a CA file is read at connect time */
	if (h) {
		CHECK_INT(n4j_observe(h, a, &C, &o, &err), 0);
		CHECK(!o.reachable && o.error != NULL);
		n4j_neo4j_close(h);
	}
	/* open refuses what cannot work */
	o1 = opts(NULL, &addrs);
	CHECK_INT(n4j_neo4j_open(&o1, &h, &err), N4J_EINVAL);
	o1 = opts(PASSWORD, &addrs);
	const char *none[] = {NULL};
	o1.seeds = none;
	CHECK_INT(n4j_neo4j_open(&o1, &h, &err), N4J_EINVAL);
	n4j_arena_free(a);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: test_neo4j_sim PATH-TO-n4j-clustersim\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	(void)sim_cluster_new; /* simctl.h's helper for raw Bolt tests; this one uses the handle */
	int base = 29200 + (getpid() % 40) * 10;
	char *args[32];
	int n = 0;
	args[n++] = argv[1];
	args[n++] = "--move-ms";
	args[n++] = "200";
	args[n++] = "--control";
	snprintf(ctl_path, sizeof ctl_path, "/tmp/n4j-neo4j-sim-%d.sock", (int)getpid());
	args[n++] = ctl_path;
	char pwfile[64];
	snprintf(pwfile, sizeof pwfile, "/tmp/n4j-neo4j-sim-%d.pw", (int)getpid());
	FILE *pf = fopen(pwfile, "w");
	if (!pf)
		return 1;
	fprintf(pf, "%s\n", PASSWORD);
	fclose(pf);
	args[n++] = "--password-file";
	args[n++] = pwfile;
	char specs[N][512];
	for (int i = 0; i < N; i++) {
		snprintf(names[i], sizeof names[i],
			 "graph-%d.graph-headless.ns.svc.cluster.local:7687", i);
		snprintf(binds[i], sizeof binds[i], "127.0.0.%d:%d", 71 + i, base + i);
		snprintf(specs[i], sizeof specs[i], "s%d=%s@%s", i, names[i], binds[i]);
		addrs.adv[i] = names[i];
		addrs.bind[i] = binds[i];
		seeds[i] = names[i];
		args[n++] = "--server";
		args[n++] = specs[i];
	}
	args[n] = NULL;
	addrs.n = N;
	/* the members run this seed tool: "good" URIs hold a seed, others do not */
	char tool[96], toollog[96];
	snprintf(tool, sizeof tool, "/tmp/n4j-neo4j-sim-%d.seed", (int)getpid());
	snprintf(toollog, sizeof toollog, "/tmp/n4j-neo4j-sim-%d.seedlog", (int)getpid());
	CHECK(write_seed_tool(tool, toollog) == 0);
	setenv("N4J_SIM_SEED_CMD", tool, 1);
	pid_t pid = child_start(args);
	unlink(pwfile);
	CHECK_MSG(pid > 0, "simulator did not start");
	if (pid <= 0)
		T_DONE();
	struct n4j_error err = {0};
	struct n4j_neo4j_opts o = opts(PASSWORD, &addrs);
	CHECK_MSG(n4j_neo4j_open(&o, &H, &err) == 0, "%s", err.msg);
	if (H) {
		test_observe_formed();
		test_refused_inputs();
		test_enable_and_databases();
		test_scale_in();
		test_not_a_leader();
		test_stopped_server();
		test_seed_steps();
		test_unreachable_and_auth();
		n4j_neo4j_close(H);
	}
	kill(pid, SIGTERM);
	child_wait(pid, 2000);
	unlink(ctl_path);
	unlink(tool);
	unlink(toollog);
	T_DONE();
}
