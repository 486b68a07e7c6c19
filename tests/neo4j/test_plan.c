/*
 * The planner, driven through worlds built in a few lines: a healthy cluster of n servers
 * (tw_new), then the differences a case needs. Sequences apply each planned step to the
 * world with a tiny model of Neo4j and the StatefulSet (apply), so a case reads as the
 * steps an operator would take, one reconcile at a time, including the states a kill -9
 * leaves between a step and the write of status.operation.
 */
#include <stdarg.h>
#include <string.h>

#include "check.h"
#include "neo4j/neo4j.h"

#define MAXS 16
#define MAXD 8
#define MAXC 128
#define NOW  1000000000LL
#define DL   600000LL

static struct tw {
	struct n4j_arena *a;
	struct n4j_cluster c;
	struct n4j_observed o;
	struct n4j_world w;
	struct n4j_obs_server srv[MAXS];
	bool manual[MAXS]; /* hosting set by the case, not derived from the copies */
	const char *host[MAXS][MAXD], *req[MAXS][MAXD];
	struct n4j_obs_pod pods[MAXS];
	struct n4j_obs_claim claims[MAXS];
	struct n4j_obs_database dbs[MAXD];
	struct n4j_obs_copy copies[MAXC];
	struct n4j_obs_alias aliases[MAXD];
	struct n4j_database sdbs[MAXD];
	struct n4j_restore_db rdbs[MAXD];
	struct n4j_alias saliases[MAXD];
	int sysp;   /* system primaries: ordinals below */
	int leader; /* ordinal of the system leader, -1: none */
	struct n4j_plan p;
} T;

static const char *S(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static const char *S(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	const char *s = n4j_arena_vprintf(T.a, fmt, ap);
	va_end(ap);
	if (!s)
		abort();
	return s;
}

static const char *addr(int k)
{
	return S("graph-%d.graph-headless.default.svc.cluster.local:7687", k);
}

/* ---- servers, pods, claims ------------------------------------------------------------- */

static struct n4j_obs_server *srv_add(int k, const char *id, enum n4j_server_state st,
				      enum n4j_server_health h)
{
	struct n4j_obs_server *s = &T.srv[T.o.n_servers];
	T.manual[T.o.n_servers] = false;
	T.o.n_servers++;
	memset(s, 0, sizeof(*s));
	s->id = id;
	s->name = id;
	s->address = addr(k);
	s->pod = S("graph-%d", k);
	s->ordinal = k;
	s->state = st;
	s->health = h;
	s->mode_constraint = "NONE";
	return s;
}

static struct n4j_obs_server *srv(const char *id)
{
	for (size_t i = 0; i < T.o.n_servers; i++)
		if (strcmp(T.srv[i].id, id) == 0)
			return &T.srv[i];
	fprintf(stderr, "no server %s\n", id);
	abort();
}

static void srv_remove(const char *id)
{
	struct n4j_obs_server *s = srv(id);
	size_t i = (size_t)(s - T.srv);
	memmove(&T.srv[i], &T.srv[i + 1], (T.o.n_servers - i - 1) * sizeof(T.srv[0]));
	memmove(&T.manual[i], &T.manual[i + 1], (T.o.n_servers - i - 1) * sizeof(T.manual[0]));
	T.o.n_servers--;
}

static struct n4j_obs_pod *pod(int k)
{
	for (size_t i = 0; i < T.w.n_pods; i++)
		if (T.pods[i].ordinal == k)
			return &T.pods[i];
	return NULL;
}

static struct n4j_obs_pod *pod_add(int k)
{
	struct n4j_obs_pod *p = pod(k);
	if (!p)
		p = &T.pods[T.w.n_pods++];
	memset(p, 0, sizeof(*p));
	p->ordinal = k;
	p->name = S("graph-%d", k);
	p->uid = S("uid-%d", k);
	p->ip = S("127.1.0.%d", k + 10);
	p->containers_ready = true;
	p->gate = true;
	return p;
}

static void pod_remove(int k)
{
	struct n4j_obs_pod *p = pod(k);
	if (!p)
		return;
	size_t i = (size_t)(p - T.pods);
	memmove(&T.pods[i], &T.pods[i + 1], (T.w.n_pods - i - 1) * sizeof(T.pods[0]));
	T.w.n_pods--;
}

static void claim_add(int k)
{
	for (size_t i = 0; i < T.w.n_claims; i++)
		if (T.claims[i].ordinal == k)
			return;
	T.claims[T.w.n_claims++] = (struct n4j_obs_claim){k, S("data-graph-%d", k), false};
}

static bool has_claim(int k)
{
	for (size_t i = 0; i < T.w.n_claims; i++)
		if (T.claims[i].ordinal == k)
			return true;
	return false;
}

static void claim_remove(const char *name)
{
	for (size_t i = 0; i < T.w.n_claims; i++)
		if (strcmp(T.claims[i].name, name) == 0) {
			memmove(&T.claims[i], &T.claims[i + 1],
				(T.w.n_claims - i - 1) * sizeof(T.claims[0]));
			T.w.n_claims--;
			return;
		}
}

/* ---- databases and their copies --------------------------------------------------------- */

static struct n4j_obs_database *db(const char *name)
{
	for (size_t i = 0; i < T.o.n_databases; i++)
		if (strcmp(T.dbs[i].name, name) == 0)
			return &T.dbs[i];
	return NULL;
}

static void copies_remove(const char *dbname, const char *server_id)
{
	size_t j = 0;
	for (size_t i = 0; i < T.o.n_copies; i++) {
		const struct n4j_obs_copy *c = &T.copies[i];
		bool match = (!dbname || strcmp(c->database, dbname) == 0) &&
			     (!server_id || strcmp(c->server_id, server_id) == 0);
		if (!match)
			T.copies[j++] = *c;
	}
	T.o.n_copies = j;
}

static struct n4j_obs_copy *place(const char *dbname, const struct n4j_obs_server *s,
				  const char *role, bool writer)
{
	struct n4j_obs_copy *c = &T.copies[T.o.n_copies++];
	*c = (struct n4j_obs_copy){dbname, s->address, s->id, role, writer, "online", "online", ""};
	return c;
}

static struct n4j_obs_copy *copy(const char *dbname, const char *server_id)
{
	for (size_t i = 0; i < T.o.n_copies; i++)
		if (strcmp(T.copies[i].database, dbname) == 0 &&
		    strcmp(T.copies[i].server_id, server_id) == 0)
			return &T.copies[i];
	return NULL;
}

/* Neo4j's allocation, simplified: the Enabled servers by ordinal, primaries first. */
static void allocate(const char *name, int p, int s)
{
	struct n4j_obs_database *d = db(name);
	if (!d) {
		d = &T.dbs[T.o.n_databases++];
		memset(d, 0, sizeof(*d));
		d->name = name;
		d->type = "standard";
		d->requested_status = "online";
	}
	d->requested_primaries = p;
	d->requested_secondaries = s;
	copies_remove(name, NULL);
	int placed = 0;
	for (int k = 0; k < MAXS && placed < p + s; k++)
		for (size_t i = 0; i < T.o.n_servers; i++) {
			const struct n4j_obs_server *v = &T.srv[i];
			if (v->ordinal != k || v->state != N4J_SERVER_ENABLED)
				continue;
			place(name, v, placed < p ? "primary" : "secondary", placed == 0);
			placed++;
			break;
		}
}

static void system_copy(const struct n4j_obs_server *s)
{
	place("system", s, s->ordinal < T.sysp ? "primary" : "secondary", s->ordinal == T.leader);
}

/* Derives what observe would read: hosting, settled, writers, the system leader. */
static void sync(void)
{
	for (size_t i = 0; i < T.o.n_servers; i++) {
		if (T.manual[i])
			continue;
		struct n4j_obs_server *s = &T.srv[i];
		size_t n = 0;
		for (size_t j = 0; j < T.o.n_copies && n < MAXD; j++) {
			const struct n4j_obs_copy *c = &T.copies[j];
			if (strcmp(c->server_id, s->id) != 0)
				continue;
			bool dup = false;
			for (size_t q = 0; q < n; q++)
				dup = dup || strcmp(T.host[i][q], c->database) == 0;
			if (!dup) {
				T.host[i][n] = c->database;
				T.req[i][n] = c->database;
				n++;
			}
		}
		s->hosting = T.host[i];
		s->requested_hosting = T.req[i];
		s->n_hosting = s->n_requested = n;
	}
	for (size_t i = 0; i < T.o.n_databases; i++) {
		struct n4j_obs_database *d = &T.dbs[i];
		d->settled = true;
		d->writer_address = NULL;
		d->current_primaries = d->current_secondaries = 0;
		for (size_t j = 0; j < T.o.n_copies; j++) {
			const struct n4j_obs_copy *c = &T.copies[j];
			if (strcmp(c->database, d->name) != 0)
				continue;
			d->settled =
				d->settled && strcmp(c->current_status, c->requested_status) == 0;
			if (c->writer)
				d->writer_address = c->address;
			if (strcmp(c->role, "primary") == 0)
				d->current_primaries++;
			else
				d->current_secondaries++;
		}
	}
	T.o.system_leader = NULL;
	for (size_t i = 0; i < T.o.n_servers; i++)
		if (T.srv[i].ordinal == T.leader && T.srv[i].state != N4J_SERVER_DROPPED &&
		    T.srv[i].health == N4J_HEALTH_AVAILABLE)
			T.o.system_leader = T.srv[i].address;
	T.o.servers = T.srv;
	T.o.databases = T.dbs;
	T.o.copies = T.copies;
	T.o.aliases = T.aliases;
	T.w.pods = T.pods;
	T.w.claims = T.claims;
	T.c.spec.databases = T.sdbs;
	T.c.spec.aliases = T.saliases;
	T.w.restore.dbs = T.rdbs;
}

/* ---- worlds ----------------------------------------------------------------------------- */

/*
 * A healthy, converged Enterprise cluster of n servers (graph-0 … graph-n-1), system
 * primaries on the first min(n, 3), the system leader graph-0, `neo4j` at the default
 * topology min(n, 3) primaries. live = 0 gives an empty world (nothing created yet).
 */
static void tw_new(int n, int live)
{
	if (T.a)
		n4j_arena_free(T.a);
	memset(&T, 0, sizeof(T));
	T.a = n4j_arena_new();
	if (!T.a)
		abort();
	T.c.meta.name = "graph";
	T.c.meta.namespace_ = "default";
	T.c.spec.edition = N4J_ENTERPRISE;
	T.c.spec.servers = n;
	T.sysp = n < 3 ? n : 3;
	T.c.spec.system_primaries = T.sysp;
	T.c.spec.topology = (struct n4j_topology){n < 3 ? n : 3, 0};
	T.leader = live > 0 ? 0 : -1;
	T.w.cluster = &T.c;
	T.w.neo = &T.o;
	T.w.now_ms = NOW;
	T.w.progress_deadline_ms = DL;
	T.w.sts_replicas = live > 0 ? live : -1;
	T.w.sts_current = true;
	T.w.roll_allowed = true;
	T.o.reachable = live > 0;
	T.o.enterprise = true;
	T.o.version = "5.26.12";
	if (live > 0) {
		struct n4j_obs_database *sys = &T.dbs[T.o.n_databases++];
		*sys = (struct n4j_obs_database){
			.name = "system", .type = "system", .requested_status = "online"};
	}
	for (int k = 0; k < live; k++) {
		system_copy(srv_add(k, S("id-%d", k), N4J_SERVER_ENABLED, N4J_HEALTH_AVAILABLE));
		pod_add(k);
		claim_add(k);
	}
	if (live > 0) {
		allocate("neo4j", T.c.spec.topology.primaries, T.c.spec.topology.secondaries);
		db("neo4j")->is_default = true;
	}
}

static void tw_community(void)
{
	tw_new(1, 0);
	T.c.spec.edition = N4J_COMMUNITY;
	T.c.spec.system_primaries = 1;
	T.c.spec.topology = (struct n4j_topology){1, 0};
	T.o.enterprise = false;
}

static void spec_db(const char *name, int p, int s)
{
	T.sdbs[T.c.spec.n_databases++] = (struct n4j_database){.name = name, .topology = {p, s}};
}

static void spec_alias(const char *name, const char *database)
{
	T.saliases[T.c.spec.n_aliases++] = (struct n4j_alias){name, database};
}

static void outdated_all(void)
{
	for (size_t i = 0; i < T.w.n_pods; i++)
		T.pods[i].outdated = true;
}

/* ---- running the planner ---------------------------------------------------------------- */

static const struct n4j_plan *run(void)
{
	struct n4j_error err = {0};
	sync();
	memset(&T.p, 0, sizeof(T.p));
	int rc = n4j_plan_next(&T.w, T.a, &T.p, &err);
	CHECK_MSG(rc == 0, "n4j_plan_next: %d %s", rc, err.msg);
	return &T.p;
}

/* The step's effect on the world, as Neo4j and the StatefulSet controller would make it,
 * and the operation persisted in status. */
static void apply(void)
{
	const struct n4j_step *s = &T.p.step;
	T.w.op = T.p.op;
	/* the controller sets the planned gates in the same reconcile as the step */
	for (size_t g = 0; g < T.p.n_gates; g++)
		for (size_t i = 0; i < T.w.n_pods; i++)
			if (strcmp(T.pods[i].name, T.p.gates[g].pod) == 0)
				T.pods[i].gate = T.p.gates[g].ready;
	switch (s->kind) {
	case N4J_STEP_SET_REPLICAS:
		T.w.sts_replicas = s->replicas;
		for (int k = 0; k < s->replicas; k++) {
			if (!pod(k))
				pod_add(k);
			claim_add(k);
		}
		for (int k = s->replicas; k < MAXS; k++)
			pod_remove(k);
		break;
	case N4J_STEP_DELETE_POD:
		for (size_t i = 0; i < T.w.n_pods; i++)
			if (strcmp(T.pods[i].name, s->pod) == 0) {
				pod_remove(T.pods[i].ordinal);
				break;
			}
		break;
	case N4J_STEP_DELETE_CLAIM:
		claim_remove(s->claim);
		break;
	case N4J_STEP_ENABLE_SERVER:
		srv(s->server_id)->state = N4J_SERVER_ENABLED;
		break;
	case N4J_STEP_CORDON_SERVER:
		srv(s->server_id)->state = N4J_SERVER_CORDONED;
		break;
	case N4J_STEP_DEALLOCATE: {
		srv(s->server_id)->state = N4J_SERVER_DEALLOCATING;
		/* its copies move to the Enabled servers that remain */
		for (size_t i = 0; i < T.o.n_databases; i++)
			if (strcmp(T.dbs[i].name, "system") != 0)
				allocate(T.dbs[i].name, T.dbs[i].requested_primaries,
					 T.dbs[i].requested_secondaries);
		break;
	}
	case N4J_STEP_DROP_SERVER:
		srv(s->server_id)->state = N4J_SERVER_DROPPED;
		copies_remove(NULL, s->server_id);
		break;
	case N4J_STEP_CREATE_DATABASE:
	case N4J_STEP_ALTER_TOPOLOGY:
	case N4J_STEP_SEED_CREATE:
		allocate(s->database, s->primaries, s->secondaries);
		break;
	case N4J_STEP_CREATE_ALIAS:
		T.aliases[T.o.n_aliases++] = (struct n4j_obs_alias){s->alias, s->database};
		break;
	case N4J_STEP_ALTER_ALIAS:
		for (size_t i = 0; i < T.o.n_aliases; i++)
			if (strcmp(T.aliases[i].name, s->alias) == 0)
				T.aliases[i].database = s->database;
		break;
	default:
		break;
	}
}

/* One expected step: its kind and the field that names what it acts on. */
#define EXPECT(kind_, key_, want_)                                                                 \
	do {                                                                                       \
		const struct n4j_plan *p_ = run();                                                 \
		CHECK_MSG(p_->step.kind == (kind_), "step %s, want %s (%s: %s)",                   \
			  n4j_step_kind_name(p_->step.kind), n4j_step_kind_name(kind_),            \
			  p_->step.reason ? p_->step.reason : "",                                  \
			  p_->step.message ? p_->step.message : "");                               \
		CHECK_STR(p_->step.key_, (want_));                                                 \
	} while (0)

static bool gate(const char *podname)
{
	for (size_t i = 0; i < T.p.n_gates; i++)
		if (strcmp(T.p.gates[i].pod, podname) == 0)
			return T.p.gates[i].ready;
	return false;
}

/* ---- formation ---------------------------------------------------------------------------- */

static void test_formation(void)
{
	tw_new(3, 0);
	spec_db("sales", 3, 0);
	spec_alias("crm", "sales");
	const struct n4j_plan *p = run();
	CHECK_INT(p->step.kind, N4J_STEP_SET_REPLICAS);
	CHECK_INT(p->step.replicas, 3);
	CHECK_INT(p->replicas, 3);
	CHECK_INT(p->op.kind, N4J_OP_FORM);
	CHECK_INT(p->op.started_ms, NOW);
	CHECK_INT(p->phase, N4J_PHASE_PENDING);
	CHECK(!p->ready && !p->available && p->progressing && !p->degraded);
	apply();

	/* Pods start, Neo4j does not answer yet: wait, Forming, not Degraded. */
	T.o.error = "connection refused";
	p = run();
	CHECK_INT(p->step.kind, N4J_STEP_WAIT);
	CHECK_STR(p->step.reason, "WaitingForNeo4j");
	CHECK_HAS(p->step.message, "connection refused");
	CHECK_INT(p->phase, N4J_PHASE_FORMING);
	CHECK(!p->degraded);
	CHECK_INT(p->op.kind, N4J_OP_FORM);

	/* Three Free servers: enabled one per step, lowest ordinal first. */
	T.o.reachable = true;
	T.o.error = NULL;
	T.leader = 0;
	T.dbs[T.o.n_databases++] = (struct n4j_obs_database){
		.name = "system", .type = "system", .requested_status = "online"};
	for (int k = 0; k < 3; k++)
		system_copy(srv_add(k, S("id-%d", k), N4J_SERVER_FREE, N4J_HEALTH_AVAILABLE));
	for (int k = 0; k < 3; k++) {
		p = run();
		CHECK_INT(p->step.kind, N4J_STEP_ENABLE_SERVER);
		CHECK_STR(p->step.server_id, S("id-%d", k));
		CHECK_STR(p->step.mode, "NONE");
		CHECK_INT(p->phase, N4J_PHASE_FORMING);
		CHECK(!gate(S("graph-%d", k)));
		apply();
		CHECK_INT(srv(S("id-%d", k))->state, N4J_SERVER_ENABLED);
	}
	/* neo4j was created best effort with 1 primary: ALTER it to the spec. */
	T.dbs[T.o.n_databases] = (struct n4j_obs_database){.name = "neo4j",
							   .type = "standard",
							   .requested_status = "online",
							   .is_default = true};
	T.o.n_databases++;
	allocate("neo4j", 1, 0);
	p = run();
	CHECK(gate("graph-0") && gate("graph-1") && gate("graph-2"));
	CHECK_INT(p->step.kind, N4J_STEP_ALTER_TOPOLOGY);
	CHECK_STR(p->step.database, "neo4j");
	CHECK_INT(p->step.primaries, 3);
	CHECK_INT(p->step.secondaries, 0);
	CHECK(!p->ready);
	apply();
	EXPECT(N4J_STEP_CREATE_DATABASE, database, "sales");
	CHECK_INT(T.p.step.primaries, 3);
	apply();
	EXPECT(N4J_STEP_CREATE_ALIAS, alias, "crm");
	CHECK_STR(T.p.step.database, "sales");
	apply();
	p = run();
	CHECK_INT(p->step.kind, N4J_STEP_NONE);
	CHECK(p->ready && p->available && !p->progressing && !p->degraded);
	CHECK_INT(p->phase, N4J_PHASE_READY);
	CHECK_INT(p->op.kind, N4J_OP_NONE); /* FORM ends when the cluster first converges */

	/* An alias pointing elsewhere is altered, never dropped. */
	T.aliases[0].database = "neo4j";
	EXPECT(N4J_STEP_ALTER_ALIAS, alias, "crm");
	CHECK_STR(T.p.step.database, "sales");

	/* Same world, same plan. */
	T.aliases[0].database = "sales";
	struct n4j_plan first = *run();
	const struct n4j_plan *again = run();
	CHECK(first.step.kind == again->step.kind && first.ready == again->ready &&
	      first.phase == again->phase && first.replicas == again->replicas);
}

static void test_waiting_servers(void)
{
	/* A server that stays Free and Unavailable is not enabled: wait for it. */
	tw_new(3, 3);
	srv("id-2")->state = N4J_SERVER_FREE;
	srv("id-2")->health = N4J_HEALTH_UNAVAILABLE;
	copies_remove("neo4j", NULL);
	allocate("neo4j", 2, 0);
	T.c.spec.topology.primaries = 2;
	const struct n4j_plan *p = run();
	CHECK_INT(p->step.kind, N4J_STEP_WAIT);
	CHECK_STR(p->step.reason, "WaitingForServer");
	CHECK_HAS(p->step.message, "Free and Unavailable");
	CHECK(!gate("graph-2") && gate("graph-0"));

	/* A pod that has not joined yet (not in SHOW SERVERS). */
	srv_remove("id-2");
	p = run();
	CHECK_INT(p->step.kind, N4J_STEP_WAIT);
	CHECK_STR(p->step.reason, "WaitingForServer");
	CHECK_HAS(p->step.message, "not in SHOW SERVERS");
	CHECK(!p->ready);
	/* …and the databases wait for every server: no ALTER with one missing. */
	T.c.spec.topology.primaries = 3;
	p = run();
	CHECK_INT(p->step.kind, N4J_STEP_WAIT);

	/* A pod not ready yet. */
	tw_new(3, 3);
	pod(1)->containers_ready = false;
	p = run();
	CHECK_INT(p->step.kind, N4J_STEP_WAIT);
	CHECK_STR(p->step.reason, "WaitingForPod");
	CHECK(!gate("graph-1") && gate("graph-0"));
}

/* ---- scaling -------------------------------------------------------------------------------- */

static void test_scale_out(void)
{
	tw_new(3, 3);
	T.c.spec.servers = 5;
	const struct n4j_plan *p = run();
	CHECK_INT(p->step.kind, N4J_STEP_SET_REPLICAS);
	CHECK_INT(p->step.replicas, 5);
	CHECK_INT(p->op.kind, N4J_OP_SCALE_OUT);
	CHECK_STR(p->op.target, "5");
	apply();
	p = run();
	CHECK_INT(p->step.kind, N4J_STEP_WAIT); /* the new pods have not joined yet */
	CHECK_INT(p->phase, N4J_PHASE_SCALING);
	for (int k = 3; k < 5; k++)
		system_copy(srv_add(k, S("id-%d", k), N4J_SERVER_FREE, N4J_HEALTH_AVAILABLE));
	EXPECT(N4J_STEP_ENABLE_SERVER, server_id, "id-3");
	CHECK_INT(T.p.phase, N4J_PHASE_SCALING);
	apply();
	EXPECT(N4J_STEP_ENABLE_SERVER, server_id, "id-4");
	apply();
	p = run();
	CHECK_INT(p->step.kind, N4J_STEP_NONE);
	CHECK(p->ready);
	CHECK_INT(p->op.kind, N4J_OP_NONE);
	CHECK_INT(p->phase, N4J_PHASE_READY);
}

static void test_scale_in(void)
{
	tw_new(5, 5);
	T.c.spec.servers = 3;
	const struct n4j_plan *p;
	for (int k = 4; k >= 3; k--) {
		const char *id = S("id-%d", k);
		EXPECT(N4J_STEP_CORDON_SERVER, server_id, id);
		CHECK_INT(T.p.replicas, k + 1);
		CHECK_INT(T.p.op.kind, N4J_OP_SCALE_IN);
		CHECK_STR(T.p.op.target, id);
		CHECK_INT(T.p.phase, N4J_PHASE_SCALING);
		int64_t started = T.p.op.started_ms;
		apply();
		T.w.now_ms += 1000;
		EXPECT(N4J_STEP_DEALLOCATE, server_id, id);
		CHECK_INT(T.p.op.started_ms, started); /* same operation, same deadline */
		apply();
		EXPECT(N4J_STEP_WAIT, reason, "Deallocating");
		srv(id)->state = N4J_SERVER_DEALLOCATED;
		EXPECT(N4J_STEP_DROP_SERVER, server_id, id);
		apply();
		p = run();
		CHECK_INT(p->step.kind, N4J_STEP_SET_REPLICAS);
		CHECK_INT(p->step.replicas, k);
		CHECK_INT(p->replicas, k);
		apply();
		EXPECT(N4J_STEP_DELETE_CLAIM, claim, S("data-graph-%d", k));
		apply();
		CHECK(!has_claim(k));
	}
	p = run();
	CHECK_INT(p->step.kind, N4J_STEP_NONE);
	CHECK(p->ready);
	CHECK_INT(p->op.kind, N4J_OP_NONE);
	CHECK_INT(p->replicas, 3);
	CHECK_INT(p->phase, N4J_PHASE_READY);
}

/* The states a kill -9 leaves between a step and the next reconcile. */
static void test_scale_in_half_done(void)
{
	/* Cordoned, status.operation never written: carry on, and record the operation. */
	tw_new(4, 4);
	T.c.spec.servers = 3;
	srv("id-3")->state = N4J_SERVER_CORDONED;
	EXPECT(N4J_STEP_DEALLOCATE, server_id, "id-3");
	CHECK_INT(T.p.op.kind, N4J_OP_SCALE_IN);

	/* Deallocated but not dropped. */
	tw_new(4, 4);
	T.c.spec.servers = 3;
	srv("id-3")->state = N4J_SERVER_DEALLOCATED;
	copies_remove("neo4j", "id-3");
	EXPECT(N4J_STEP_DROP_SERVER, server_id, "id-3");
	CHECK_INT(T.p.replicas, 4); /* never lower replicas before the drop */

	/* Dropped, replicas not lowered. */
	srv("id-3")->state = N4J_SERVER_DROPPED;
	copies_remove(NULL, "id-3");
	EXPECT(N4J_STEP_SET_REPLICAS, reason, "ScalingIn");
	CHECK_INT(T.p.step.replicas, 3);
	CHECK(has_claim(3));

	/* Replicas lowered, the pod still terminating: the claim waits for it. */
	T.w.sts_replicas = 3;
	pod(3)->deleting = true;
	EXPECT(N4J_STEP_WAIT, reason, "WaitingForPodTermination");
	/* Replicas lowered, pod gone, claim not yet deleted. */
	pod_remove(3);
	EXPECT(N4J_STEP_DELETE_CLAIM, claim, "data-graph-3");
	claim_remove("data-graph-3");
	/* The dropped server is still listed until its process stops: it counts for nothing. */
	EXPECT(N4J_STEP_NONE, reason, "Ready");
	CHECK(T.p.ready);

	/* A claim already deleting is not deleted again. */
	tw_new(4, 4);
	T.c.spec.servers = 3;
	srv("id-3")->state = N4J_SERVER_DROPPED;
	copies_remove(NULL, "id-3");
	T.w.sts_replicas = 3;
	pod_remove(3);
	T.claims[3].deleting = true;
	EXPECT(N4J_STEP_NONE, reason, "Ready");

	/* A Free server above N was never enabled: no Neo4j step, lower replicas, delete its claim. */
	tw_new(3, 3);
	system_copy(srv_add(3, "id-3", N4J_SERVER_FREE, N4J_HEALTH_AVAILABLE));
	pod_add(3);
	claim_add(3);
	T.w.sts_replicas = 4;
	const struct n4j_plan *p = run();
	CHECK_INT(p->step.kind, N4J_STEP_SET_REPLICAS);
	CHECK_INT(p->step.replicas, 3);
	CHECK(!p->ready);
	apply();
	EXPECT(N4J_STEP_DELETE_CLAIM, claim, "data-graph-3");

	/* Someone lowered replicas below a server still being removed: restore the pod. */
	tw_new(5, 5);
	T.c.spec.servers = 3;
	srv("id-4")->state = N4J_SERVER_CORDONED;
	T.w.sts_replicas = 4;
	EXPECT(N4J_STEP_SET_REPLICAS, reason, "RestoringReplicas");
	CHECK_INT(T.p.step.replicas, 5);

	/* A scale-in undone before the deallocation: uncordon. */
	tw_new(4, 4);
	srv("id-3")->state = N4J_SERVER_CORDONED;
	EXPECT(N4J_STEP_ENABLE_SERVER, server_id, "id-3");
	CHECK_STR(T.p.step.reason, "UncordoningServer");

	/* Scale-in waits for a healthy cluster. */
	tw_new(4, 4);
	T.c.spec.servers = 3;
	copy("neo4j", "id-1")->current_status = "store copying";
	EXPECT(N4J_STEP_WAIT, reason, "WaitingForHealthyCluster");
	CHECK_HAS(T.p.step.message, "neo4j");
}

static void test_refusals(void)
{
	/* Quorum: 3 system primaries, scaling to 2. */
	tw_new(3, 3);
	T.c.spec.servers = 2;
	T.c.spec.system_primaries = 2; /* the effective value follows spec.servers */
	T.c.spec.topology.primaries = 2;
	allocate("neo4j", 2, 0);
	const struct n4j_plan *p = run();
	CHECK_INT(p->step.kind, N4J_STEP_REFUSE);
	CHECK_STR(p->step.reason, "ScaleInRefused");
	CHECK_STR(p->step.field, "spec.servers");
	CHECK_HAS(p->step.message, "quorum of the system database (3 primaries)");
	CHECK_INT(p->op.kind, N4J_OP_NONE);
	CHECK_INT(p->replicas, 3);
	CHECK(!p->progressing);

	/* Refused means nothing else is done: neo4j is not shrunk to the new spec.topology. */
	tw_new(3, 3);
	T.c.spec.servers = 2;
	T.c.spec.system_primaries = 2;
	T.c.spec.topology.primaries = 2;
	p = run();
	CHECK_INT(p->step.kind, N4J_STEP_REFUSE);
	CHECK_STR(p->step.field, "spec.servers");
	/* A declared topology lowered with the servers is altered first, then removal goes on. */
	tw_new(5, 5);
	allocate("sales", 5, 0);
	T.c.spec.servers = 3;
	spec_db("sales", 3, 0);
	EXPECT(N4J_STEP_ALTER_TOPOLOGY, database, "sales");
	CHECK_INT(T.p.step.primaries, 3);
	apply();
	EXPECT(N4J_STEP_CORDON_SERVER, server_id, "id-4");
	/* An undeclared database that would not fit: refused. */
	tw_new(5, 5);
	allocate("sales", 5, 0);
	T.c.spec.servers = 3;
	EXPECT(N4J_STEP_REFUSE, field, "spec.servers");
	CHECK_HAS(T.p.step.message, "database sales (5 primaries");

	/* To 1 with a 3-primary database (one system primary, so only the database counts). */
	tw_new(3, 3);
	T.sysp = 1;
	copies_remove("system", NULL);
	for (size_t i = 0; i < T.o.n_servers; i++)
		system_copy(&T.srv[i]);
	T.c.spec.servers = 1;
	T.c.spec.system_primaries = 1;
	T.c.spec.topology.primaries = 1;
	allocate("neo4j", 1, 0);
	allocate("sales", 3, 0);
	p = run();
	CHECK_INT(p->step.kind, N4J_STEP_REFUSE);
	CHECK_STR(p->step.field, "spec.servers");
	CHECK_HAS(p->step.message, "scaling to 1 server would leave database sales (3 primaries, 0 "
				   "secondaries) without room: it needs 3 servers");
	CHECK_INT(p->replicas, 3);

	/* The only primary of a 1-primary database lives on the server to remove. */
	tw_new(4, 4);
	T.c.spec.servers = 3;
	struct n4j_obs_database *solo = &T.dbs[T.o.n_databases++];
	*solo = (struct n4j_obs_database){.name = "solo",
					  .type = "standard",
					  .requested_status = "online",
					  .requested_primaries = 1};
	place("solo", srv("id-3"), "primary", true);
	p = run();
	CHECK_INT(p->step.kind, N4J_STEP_REFUSE);
	CHECK_STR(p->step.field, "spec.servers");
	CHECK_HAS(p->step.message, "only primary of database solo");
	CHECK_INT(p->op.kind, N4J_OP_NONE);
	/* The fix the refusal asks for goes through: raising solo's primaries (declared). */
	spec_db("solo", 3, 0);
	p = run();
	CHECK_INT(p->step.kind, N4J_STEP_ALTER_TOPOLOGY);
	CHECK_STR(p->step.database, "solo");
	CHECK_INT(p->step.primaries, 3);
	/* ... but not a change that takes copies away while the scale-in is refused. */
	db("neo4j")->requested_secondaries = 1;
	p = run();
	CHECK_INT(p->step.kind, N4J_STEP_REFUSE);
	CHECK_HAS(p->step.message, "only primary of database solo");
	db("neo4j")->requested_secondaries = 0;
	T.c.spec.n_databases = 0;
	/* Anywhere else it is no obstacle. */
	copies_remove("solo", NULL);
	place("solo", srv("id-1"), "primary", true);
	EXPECT(N4J_STEP_CORDON_SERVER, server_id, "id-3");

	/* A declared topology that can never fit spec.servers. */
	tw_new(3, 3);
	spec_db("big", 3, 1);
	p = run();
	CHECK_INT(p->step.kind, N4J_STEP_REFUSE);
	CHECK_STR(p->step.field, "spec.databases[0].topology");
	CHECK_HAS(p->step.message, "needs 4 servers");
	/* Shrinking a 3-primary database to 1 primary. */
	tw_new(3, 3);
	allocate("sales", 3, 0);
	spec_db("other", 1, 0);
	spec_db("sales", 1, 0);
	allocate("other", 1, 0);
	p = run();
	CHECK_INT(p->step.kind, N4J_STEP_REFUSE);
	CHECK_STR(p->step.field, "spec.databases[1].topology.primaries");
	/* The default database's topology is spec.topology. */
	tw_new(3, 3);
	T.c.spec.topology.primaries = 1;
	p = run();
	CHECK_INT(p->step.kind, N4J_STEP_REFUSE);
	CHECK_STR(p->step.field, "spec.topology.primaries");
	/* Growing is fine. */
	tw_new(3, 3);
	allocate("sales", 1, 0);
	spec_db("sales", 2, 1);
	EXPECT(N4J_STEP_ALTER_TOPOLOGY, database, "sales");
	CHECK_INT(T.p.step.primaries, 2);
	CHECK_INT(T.p.step.secondaries, 1);
}

/* ---- rolling change ------------------------------------------------------------------------- */

/*
 * Five servers: system primaries 0–2 with the leader on graph-1; neo4j primaries on 0, 2
 * (its writer) and 3, a secondary on 4. Expected order: graph-4 (secondary copies only),
 * graph-3 then graph-0 (primaries leading nothing, highest ordinal first), graph-2 (a user
 * database's writer), graph-1 (the system leader) last.
 */
static void roll_world(void)
{
	tw_new(5, 5);
	T.leader = 1;
	copies_remove(NULL, NULL);
	for (size_t i = 0; i < T.o.n_servers; i++)
		system_copy(&T.srv[i]);
	db("neo4j")->requested_primaries = 3;
	db("neo4j")->requested_secondaries = 1;
	T.c.spec.topology = (struct n4j_topology){3, 1};
	place("neo4j", srv("id-0"), "primary", false);
	place("neo4j", srv("id-2"), "primary", true);
	place("neo4j", srv("id-3"), "primary", false);
	place("neo4j", srv("id-4"), "secondary", false);
	outdated_all();
}

static void test_roll(void)
{
	roll_world();
	const struct n4j_plan *p = run();
	CHECK_INT(p->phase, N4J_PHASE_UPGRADING);
	CHECK(!p->ready);
	const int order[] = {4, 3, 0, 2, 1};
	for (int i = 0; i < 5; i++) {
		int k = order[i];
		EXPECT(N4J_STEP_DELETE_POD, pod, S("graph-%d", k));
		CHECK_STR(T.p.step.pod_uid, S("uid-%d", k));
		CHECK_INT(T.p.op.kind, N4J_OP_ROLL);
		CHECK_STR(T.p.op.target, S("graph-%d", k));
		CHECK_INT(T.p.op.started_ms, T.w.now_ms);
		apply();
		T.w.now_ms += 1000;
		/* Deleted, not yet recreated: wait for it, delete nothing else. */
		EXPECT(N4J_STEP_WAIT, reason, "WaitingForRestartedPod");
		CHECK_INT(T.p.phase, N4J_PHASE_UPGRADING);
		/* Recreated, not ready, its server Unavailable meanwhile: still waiting, and
		 * this restart does not count as a lost server. */
		pod_add(k)->containers_ready = false;
		pod(k)->gate = false;
		srv(S("id-%d", k))->health = N4J_HEALTH_UNAVAILABLE;
		EXPECT(N4J_STEP_WAIT, reason, "WaitingForRestartedPod");
		CHECK(!T.p.degraded);
		CHECK(!gate(S("graph-%d", k)));
		pod(k)->containers_ready = true;
		srv(S("id-%d", k))->health = N4J_HEALTH_AVAILABLE;
		if (i == 0) {
			/* Back but its copies not settled: not done yet. */
			copy("neo4j", "id-4")->current_status = "store copying";
			EXPECT(N4J_STEP_WAIT, reason, "WaitingForRestartedPod");
			copy("neo4j", "id-4")->current_status = "online";
		}
		if (i < 4) {
			/* Back, but its gate is not set yet: it does not serve, so the next pod
			 * waits (two pods out of the Services otherwise). */
			EXPECT(N4J_STEP_WAIT, reason, "WaitingForHealthyCluster");
			CHECK_HAS(T.p.step.message, "readiness gate unset");
			CHECK(gate(S("graph-%d", k)));
			apply(); /* the controller sets it */
		}
		T.w.now_ms += 1000;
	}
	/* The last one back: the operation ends, nothing left to roll. */
	p = run();
	CHECK_INT(p->step.kind, N4J_STEP_NONE);
	CHECK_INT(p->op.kind, N4J_OP_NONE);
	CHECK(p->ready);
	CHECK_INT(p->phase, N4J_PHASE_READY);
}

static void test_roll_gates_and_deadline(void)
{
	/* Health gate: an unsettled database blocks the roll; waiting is not degraded. */
	roll_world();
	copy("neo4j", "id-3")->current_status = "starting";
	const struct n4j_plan *p = run();
	CHECK_INT(p->step.kind, N4J_STEP_WAIT);
	CHECK_STR(p->step.reason, "WaitingForHealthyCluster");
	CHECK(!p->degraded);
	/* A server Unavailable: no pod is deleted (and the lost server degrades the cluster). */
	roll_world();
	srv("id-3")->health = N4J_HEALTH_UNAVAILABLE;
	EXPECT(N4J_STEP_WAIT, reason, "WaitingForHealthyCluster");
	CHECK(T.p.degraded);
	CHECK_STR(T.p.degraded_reason, "ServerUnavailable");
	/* A scale-in in flight goes first; then the roll resumes, and a pod that is not
	 * ready stops it again. */
	roll_world();
	T.c.spec.servers = 4;
	T.c.spec.topology = (struct n4j_topology){3, 0};
	srv("id-4")->state = N4J_SERVER_DEALLOCATING;
	srv("id-4")->health = N4J_HEALTH_UNAVAILABLE;
	copies_remove(NULL, "id-4");
	allocate("neo4j", 3, 0);
	db("neo4j")->requested_secondaries = 0;
	EXPECT(N4J_STEP_WAIT, reason, "Deallocating");
	srv("id-4")->state = N4J_SERVER_DROPPED;
	T.w.sts_replicas = 4;
	pod_remove(4);
	claim_remove("data-graph-4");
	EXPECT(N4J_STEP_DELETE_POD, pod, "graph-3");
	pod(3)->containers_ready = false;
	EXPECT(N4J_STEP_WAIT, reason, "WaitingForHealthyCluster");
	/* Another pod not ready: no pod is deleted. */
	roll_world();
	pod(2)->containers_ready = false;
	EXPECT(N4J_STEP_WAIT, reason, "WaitingForHealthyCluster");
	/* hosting != requestedHosting on one server: no pod is deleted. */
	roll_world();
	sync();
	T.manual[1] = true;
	T.req[1][T.srv[1].n_requested] = "sales";
	T.srv[1].n_requested++;
	p = run();
	CHECK_INT(p->step.kind, N4J_STEP_WAIT);
	CHECK(!gate("graph-1") && gate("graph-0"));
	/* The StatefulSet has not seen the new template: wait. */
	roll_world();
	T.w.sts_current = false;
	EXPECT(N4J_STEP_WAIT, reason, "WaitingForStatefulSet");

	/* Deadline: the restarted pod never comes back healthy → Degraded, HALT. */
	roll_world();
	pod(4)->outdated = false;
	pod(4)->containers_ready = false;
	srv("id-4")->health = N4J_HEALTH_UNAVAILABLE;
	T.w.op = (struct n4j_operation){N4J_OP_ROLL, "graph-4", NOW - DL + 1};
	EXPECT(N4J_STEP_WAIT, reason, "WaitingForRestartedPod");
	CHECK(!T.p.degraded);
	T.w.op.started_ms = NOW - DL - 1;
	p = run();
	CHECK_INT(p->step.kind, N4J_STEP_HALT);
	CHECK_STR(p->step.reason, "ProgressDeadlineExceeded");
	CHECK(p->degraded);
	CHECK_STR(p->degraded_reason, "ProgressDeadlineExceeded");
	CHECK_INT(p->phase, N4J_PHASE_DEGRADED);
	CHECK(!p->progressing);
	CHECK_INT(p->op.kind, N4J_OP_ROLL); /* kept: the next process judges the same deadline */
	CHECK_INT(p->op.started_ms, NOW - DL - 1);
	/* Recovery: the pod comes back → the degradation clears and the roll resumes. */
	pod(4)->containers_ready = true;
	srv("id-4")->health = N4J_HEALTH_AVAILABLE;
	p = run();
	CHECK(!p->degraded);
	CHECK_INT(p->step.kind, N4J_STEP_DELETE_POD);
	CHECK_STR(p->step.pod, "graph-3");

	/* The pod deleted, status.operation never written: the gate sees the missing pod. */
	roll_world();
	pod_remove(4);
	EXPECT(N4J_STEP_WAIT, reason, "WaitingForHealthyCluster");
	CHECK_HAS(T.p.step.message, "graph-4");

	/* roll_allowed false (UpdatePending): outdated pods stay, the cluster is Ready. */
	roll_world();
	T.w.roll_allowed = false;
	p = run();
	CHECK_INT(p->step.kind, N4J_STEP_NONE);
	CHECK(p->ready);
	CHECK_INT(p->phase, N4J_PHASE_READY);
}

/* ---- paused, lost volumes, gates --------------------------------------------------------- */

static void test_paused(void)
{
	tw_new(5, 5);
	T.c.spec.servers = 3;
	T.c.spec.paused = true;
	outdated_all();
	const struct n4j_plan *p = run();
	CHECK_INT(p->step.kind, N4J_STEP_HALT);
	CHECK_STR(p->step.reason, "Paused");
	CHECK_INT(p->phase, N4J_PHASE_PAUSED);
	CHECK_INT(p->replicas, 5);
	CHECK_INT(p->n_gates, 5);
	CHECK(gate("graph-0") && gate("graph-4"));
	CHECK(!p->progressing);

	tw_new(3, 0);
	T.c.spec.paused = true;
	p = run();
	CHECK_INT(p->step.kind, N4J_STEP_HALT);
	CHECK_INT(p->replicas, 3);
}

static void test_lost_volume(void)
{
	tw_new(3, 3);
	srv("id-1")->health = N4J_HEALTH_UNAVAILABLE;
	struct n4j_obs_server *nw = srv_add(1, "id-1b", N4J_SERVER_FREE, N4J_HEALTH_AVAILABLE);
	system_copy(nw);
	const struct n4j_plan *p = run();
	CHECK(p->degraded);
	CHECK_INT(p->phase, N4J_PHASE_DEGRADED);
	CHECK_INT(p->step.kind, N4J_STEP_CORDON_SERVER);
	CHECK_STR(p->step.server_id, "id-1");
	CHECK_STR(p->step.reason, "ReplacingLostServer");
	apply();
	EXPECT(N4J_STEP_ENABLE_SERVER, server_id, "id-1b");
	CHECK_STR(T.p.step.mode, "NONE");
	apply();
	EXPECT(N4J_STEP_DEALLOCATE, server_id, "id-1");
	apply();
	EXPECT(N4J_STEP_WAIT, reason, "Deallocating");
	srv("id-1")->state = N4J_SERVER_DEALLOCATED;
	EXPECT(N4J_STEP_DROP_SERVER, server_id, "id-1");
	apply();
	p = run();
	CHECK_INT(p->step.kind, N4J_STEP_NONE);
	CHECK(p->ready && !p->degraded);
	CHECK(gate("graph-1"));

	/* ENABLE of the new identity done, the old one still Enabled (the cordon was lost). */
	tw_new(3, 3);
	srv("id-1")->health = N4J_HEALTH_UNAVAILABLE;
	system_copy(srv_add(1, "id-1b", N4J_SERVER_ENABLED, N4J_HEALTH_AVAILABLE));
	EXPECT(N4J_STEP_CORDON_SERVER, server_id, "id-1");

	/* A scale-in undone after the drop: the ordinal runs a dead identity. */
	tw_new(4, 4);
	srv("id-3")->state = N4J_SERVER_DROPPED;
	copies_remove(NULL, "id-3");
	EXPECT(N4J_STEP_DELETE_CLAIM, claim, "data-graph-3");
	T.claims[3].deleting = true;
	EXPECT(N4J_STEP_DELETE_POD, pod, "graph-3");
	/* Its process stopped: the pod (maybe on a fresh claim already) is left alone. */
	T.claims[3].deleting = false;
	srv("id-3")->health = N4J_HEALTH_UNAVAILABLE;
	EXPECT(N4J_STEP_WAIT, reason, "WaitingForServer");
}

/* ENABLE ran, the process died before status.operation was written (or after): the
 * next reconcile goes on from what Neo4j shows. */
static void test_formation_half_done(void)
{
	tw_new(3, 3);
	allocate("neo4j", 1, 0);
	T.w.op = (struct n4j_operation){N4J_OP_FORM, "3", NOW - 5000};
	const struct n4j_plan *p = run();
	CHECK_INT(p->step.kind, N4J_STEP_ALTER_TOPOLOGY);
	CHECK_INT(p->op.kind, N4J_OP_FORM);
	CHECK_INT(p->op.started_ms, NOW - 5000);
	CHECK_INT(p->phase, N4J_PHASE_FORMING);
	apply();
	p = run();
	CHECK_INT(p->step.kind, N4J_STEP_NONE);
	CHECK_INT(p->op.kind, N4J_OP_NONE);

	/* Unreachable in the middle of a scale-in: not degraded within its deadline. */
	tw_new(4, 4);
	T.c.spec.servers = 3;
	T.o.reachable = false;
	T.w.op = (struct n4j_operation){N4J_OP_SCALE_IN, "id-3", NOW - 1000};
	p = run();
	CHECK_INT(p->step.kind, N4J_STEP_WAIT);
	CHECK(!p->degraded);
	CHECK_INT(p->replicas, 4);
	CHECK_INT(p->phase, N4J_PHASE_SCALING);
	T.w.op.started_ms = NOW - DL - 1;
	p = run();
	CHECK(p->degraded);
	CHECK_STR(p->degraded_reason, "Neo4jUnreachable");
}

static void test_gates(void)
{
	tw_new(3, 3);
	run();
	CHECK(gate("graph-0") && gate("graph-1") && gate("graph-2"));
	copy("neo4j", "id-2")->current_status = "store copying";
	pod(0)->deleting = true;
	run();
	CHECK(!gate("graph-2"));
	CHECK(!gate("graph-0"));
	CHECK(gate("graph-1"));
	CHECK(!T.p.ready);

	/* A Cordoned server is not gated. */
	tw_new(3, 3);
	srv("id-1")->state = N4J_SERVER_CORDONED;
	srv("id-1")->health = N4J_HEALTH_UNAVAILABLE;
	run();
	CHECK(!gate("graph-1"));

	/* Unreachable after formation with nothing in flight: Degraded. */
	tw_new(3, 3);
	T.o.reachable = false;
	T.o.error = "no route";
	T.w.sts_replicas = 5; /* and nothing is lowered without the snapshot */
	const struct n4j_plan *p = run();
	CHECK_INT(p->step.kind, N4J_STEP_WAIT);
	CHECK_STR(p->step.reason, "WaitingForNeo4j");
	CHECK(p->degraded && !p->available);
	CHECK_INT(p->replicas, 5);
	pod(0)->gate = pod(1)->gate = false;
	p = run();
	CHECK(!gate("graph-0") && !gate("graph-1")); /* never gated before */
	pod(0)->gate = true;
	p = run();
	CHECK(gate("graph-0")); /* no snapshot: the gate stays as it was */
	pod(0)->containers_ready = false;
	p = run();
	CHECK(!gate("graph-0"));

	/* No system leader after formation: Degraded, not available. */
	tw_new(3, 3);
	T.leader = -1;
	p = run();
	CHECK(p->degraded && !p->available);
	CHECK_STR(p->degraded_reason, "NoSystemLeader");

	CHECK(n4j_plan_next(NULL, T.a, &T.p, NULL) == N4J_EINVAL);
}

/* ---- Community ------------------------------------------------------------------------------- */

static void test_community(void)
{
	tw_community();
	const struct n4j_plan *p = run();
	CHECK_INT(p->step.kind, N4J_STEP_SET_REPLICAS);
	CHECK_INT(p->step.replicas, 1);
	apply();
	p = run();
	CHECK_INT(p->step.kind, N4J_STEP_WAIT);
	CHECK_STR(p->step.reason, "WaitingForNeo4j");
	CHECK(!p->degraded);
	CHECK(!gate("graph-0")); /* containers ready, Bolt not answering */
	T.o.reachable = true;
	p = run();
	CHECK_INT(p->step.kind, N4J_STEP_NONE);
	CHECK(p->ready && p->available && gate("graph-0"));
	CHECK_INT(p->op.kind, N4J_OP_NONE);
	CHECK_INT(p->phase, N4J_PHASE_READY);

	/* No cluster steps ever, even with a spec database. */
	spec_db("sales", 1, 0);
	EXPECT(N4J_STEP_NONE, reason, "Ready");

	/* Roll: the one pod is deleted without a health gate (downtime is accepted). */
	pod(0)->outdated = true;
	p = run();
	CHECK_INT(p->step.kind, N4J_STEP_DELETE_POD);
	CHECK_STR(p->step.pod, "graph-0");
	CHECK_INT(p->op.kind, N4J_OP_ROLL);
	apply();
	T.o.reachable = false;
	EXPECT(N4J_STEP_WAIT, reason, "WaitingForRestartedPod");
	CHECK(!T.p.degraded);
	pod_add(0)->containers_ready = false;
	T.w.now_ms += DL + 1;
	p = run();
	CHECK_INT(p->step.kind, N4J_STEP_HALT);
	CHECK(p->degraded);
	pod(0)->containers_ready = true;
	T.o.reachable = true;
	p = run();
	CHECK_INT(p->step.kind, N4J_STEP_NONE);
	CHECK(!p->degraded && p->ready);
	CHECK_INT(p->op.kind, N4J_OP_NONE);
	apply();

	/* roll_allowed false: the outdated pod stays. */
	pod(0)->outdated = true;
	T.w.roll_allowed = false;
	EXPECT(N4J_STEP_NONE, reason, "Ready");
	/* Too many replicas: back to one. */
	T.w.sts_replicas = 2;
	EXPECT(N4J_STEP_SET_REPLICAS, reason, "ScalingIn");
	CHECK_INT(T.p.step.replicas, 1);
}

/* ---- restore and seeding ------------------------------------------------------------------ */

/* spec.restore as the controller resolved it: one database more per call. */
static struct n4j_restore_db *restore_db(const char *name, const char *uri)
{
	T.w.restore.present = true;
	T.w.restore.resolved = true;
	struct n4j_restore_db *r = &T.rdbs[T.w.restore.n++];
	*r = (struct n4j_restore_db){.database = name, .uri = uri};
	return r;
}

static struct n4j_restore_db *rdb(const char *name)
{
	for (size_t i = 0; i < T.w.restore.n; i++)
		if (strcmp(T.rdbs[i].database, name) == 0)
			return &T.rdbs[i];
	abort();
}

static void calver(int year, int month)
{
	T.c.spec.version = (struct n4j_version){.calver = true, .major = year, .minor = month};
	T.c.spec.version_string = S("%d.%02d.0", year, month);
}

static void test_restore_new_cluster(void)
{
	/* A new cluster: formed (every server Enabled), still op FORM; neo4j is the empty
	 * database Neo4j made at bootstrap, sales does not exist yet and is declared. */
	tw_new(3, 3);
	T.w.op = (struct n4j_operation){N4J_OP_FORM, "3", NOW - 1000};
	T.c.spec.version_string = "5.26.12";
	spec_db("sales", 3, 0);
	allocate("neo4j", 1, 0); /* best effort at bootstrap: ALTER would be due */
	restore_db("neo4j", "s3://b/p/");
	restore_db("sales", "s3://b/p/");

	/* Seeding waits for formation: a Free server is enabled first. */
	srv("id-2")->state = N4J_SERVER_FREE;
	EXPECT(N4J_STEP_ENABLE_SERVER, server_id, "id-2");
	apply();

	/* The bootstrap neo4j is replaced without spec.restore.replace (it is empty), before
	 * its ALTER and before anything is created; 5.26 knows the procedure's old name. */
	const struct n4j_plan *p = run();
	CHECK_INT(p->step.kind, N4J_STEP_RECREATE);
	CHECK_STR(p->step.database, "neo4j");
	CHECK_STR(p->step.seed_uri, "s3://b/p/");
	CHECK_STR(p->step.procedure, "dbms.cluster.recreateDatabase");
	CHECK(p->step.restore);
	CHECK(!p->ready && p->progressing);
	CHECK_INT(p->op.kind, N4J_OP_FORM);
	rdb("neo4j")->done = true; /* the controller marks it in status.restore */

	/* sales is created seeded, never empty: its declared topology, the seed options. */
	p = run();
	CHECK_INT(p->step.kind, N4J_STEP_SEED_CREATE);
	CHECK_STR(p->step.database, "sales");
	CHECK_STR(p->step.reason, "SeedingDatabase");
	CHECK_INT(p->step.primaries, 3);
	CHECK_INT(p->step.secondaries, 0);
	CHECK_STR(p->step.seed_uri, "s3://b/p/");
	CHECK(p->step.seed_until == NULL && p->step.restore);
	CHECK(!p->ready);
	apply();
	/* Not marked done yet (status not written): created again, IF NOT EXISTS. The
	 * restore keeps the cluster from being ready until it is marked. */
	p = run();
	CHECK(!p->ready);
	rdb("sales")->done = true;

	/* Then the usual rules: neo4j's ALTER to the default topology, and Ready. */
	EXPECT(N4J_STEP_ALTER_TOPOLOGY, database, "neo4j");
	apply();
	p = run();
	CHECK_INT(p->step.kind, N4J_STEP_NONE);
	CHECK(p->ready);
	CHECK_INT(p->op.kind, N4J_OP_NONE);

	/* A seeded copy that cannot start (offline, "Unable to start database"): not settled,
	 * so not ready; the planner waits. */
	copy("sales", "id-1")->current_status = "offline";
	copy("sales", "id-1")->status_message = "Unable to start database `sales`";
	p = run();
	CHECK(!p->ready);
	CHECK_INT(p->step.kind, N4J_STEP_WAIT);
	/* Only one copy failed: that server's gate stays unset. */
	CHECK(!p->gates[1].ready && p->gates[0].ready && p->gates[2].ready);
	/* Failed on every copy (the seed cannot be read anywhere): not ready, but no server's
	 * gate holds for it: neo4j and system are still served. */
	for (int i = 0; i < 3; i++) {
		char id[8];
		snprintf(id, sizeof(id), "id-%d", i);
		copy("sales", id)->current_status = "offline";
		copy("sales", id)->status_message = "Unable to start database `sales`";
	}
	p = run();
	CHECK(!p->ready);
	CHECK(p->gates[0].ready && p->gates[1].ready && p->gates[2].ready);
}

static void test_restore_existing(void)
{
	/* A running cluster (no FORM): neo4j exists, sales does not. */
	tw_new(3, 3);
	spec_db("sales", 3, 0);
	restore_db("neo4j", "gs://b/p");
	restore_db("sales", "gs://b/p");
	const struct n4j_plan *p = run();
	CHECK_INT(p->step.kind, N4J_STEP_REFUSE);
	CHECK_STR(p->step.reason, "RestoreTargetExists");
	CHECK_STR(p->step.field, "spec.restore");
	CHECK_HAS(p->step.message, "spec.restore: database neo4j already exists");
	CHECK_HAS(p->step.message, "replace: true");
	CHECK(!p->ready && !p->progressing);
	/* All or nothing: sales is neither seeded nor created empty. */
	CHECK(db("sales") == NULL);

	/* The default database is "bootstrap" only while forming: a SCALE_OUT is not. */
	T.w.op = (struct n4j_operation){N4J_OP_SCALE_OUT, "3", NOW};
	EXPECT(N4J_STEP_REFUSE, reason, "RestoreTargetExists");

	/* replace: recreate once; once marked done under this key, never again. */
	T.w.op = (struct n4j_operation){0};
	T.w.restore.replace = true;
	calver(2025, 4);
	/* Adding spec.seedStorage rolls the servers (their pods get the credentials): the
	 * roll goes first, the recreate after it. */
	T.w.roll_allowed = true;
	outdated_all();
	p = run();
	CHECK_INT(p->step.kind, N4J_STEP_DELETE_POD);
	for (int i = 0; i < 3; i++)
		T.pods[i].outdated = false;
	p = run();
	CHECK_INT(p->step.kind, N4J_STEP_RECREATE);
	CHECK_STR(p->step.database, "neo4j");
	CHECK_STR(p->step.procedure, "dbms.recreateDatabase"); /* the 2025.04 name */
	CHECK_HAS(p->step.message, "spec.restore.replace");
	rdb("neo4j")->done = true;
	EXPECT(N4J_STEP_SEED_CREATE, database, "sales");
	apply();
	rdb("sales")->done = true;
	p = run();
	CHECK_INT(p->step.kind, N4J_STEP_NONE);
	CHECK(p->ready);
	/* A database the restore seeded and someone dropped is seeded again, not made
	 * empty by its declaration. */
	copies_remove("sales", NULL);
	T.o.n_databases--;
	EXPECT(N4J_STEP_SEED_CREATE, database, "sales");

	/* Two existing databases, one message naming both. */
	tw_new(3, 3);
	allocate("sales", 1, 0);
	restore_db("neo4j", "gs://b/p");
	restore_db("sales", "gs://b/p");
	EXPECT(N4J_STEP_REFUSE, field, "spec.restore");
	CHECK_HAS(T.p.step.message, "databases neo4j and sales already exist");

	/* A restore not resolved yet (no successful backup, a missing Neo4jBackup) holds
	 * every declared database when its list is not known, and the cluster is not ready. */
	tw_new(3, 3);
	spec_db("sales", 3, 0);
	allocate("neo4j", 1, 0); /* not altered either: it may be seeded */
	T.w.restore.present = true;
	p = run();
	CHECK(db("sales") == NULL);
	CHECK_INT(p->step.kind, N4J_STEP_WAIT);
	CHECK_STR(p->step.reason, "WaitingForRestore");
	CHECK(!p->ready);
	/* Its list known: only those are held. */
	spec_db("other", 1, 0);
	T.w.restore.n = 1;
	T.rdbs[0] = (struct n4j_restore_db){.database = "sales"};
	EXPECT(N4J_STEP_ALTER_TOPOLOGY, database, "neo4j");
	apply();
	EXPECT(N4J_STEP_CREATE_DATABASE, database, "other");

	/* Only the restore is left: not ready until it is marked done. */
	tw_new(3, 3);
	restore_db("neo4j", "s3://b/p")->done = false;
	T.w.restore.replace = true;
	p = run();
	CHECK_INT(p->step.kind, N4J_STEP_RECREATE);
	CHECK(!p->ready);
	rdb("neo4j")->done = true;
	CHECK(run()->ready);
}

static void test_restore_refusals(void)
{
	/* seedRestoreUntil on 5.26: refused, field spec.restore.restoreUntil. */
	tw_new(3, 3);
	T.c.spec.version_string = "5.26.12";
	restore_db("sales", "s3://b/p")->restore_until = "2026-11-30 12:00:00";
	const struct n4j_plan *p = run();
	CHECK_INT(p->step.kind, N4J_STEP_REFUSE);
	CHECK_STR(p->step.reason, "RestoreUntilUnsupported");
	CHECK_STR(p->step.field, "spec.restore.restoreUntil");
	CHECK_HAS(p->step.message, "2025.01");
	CHECK_HAS(p->step.message, "5.26.12");
	CHECK(db("sales") == NULL);
	/* On 2025.01: the seed up to that point. */
	calver(2025, 1);
	EXPECT(N4J_STEP_SEED_CREATE, seed_until, "2026-11-30 12:00:00");
	/* The recreate procedure takes no point in time: refused for an existing one. */
	allocate("sales", 3, 0);
	T.w.restore.replace = true;
	EXPECT(N4J_STEP_REFUSE, field, "spec.restore.restoreUntil");
	CHECK_HAS(T.p.step.message, "recreate procedure");
	/* The system database is never seeded. */
	tw_new(3, 3);
	restore_db("system", "s3://b/p");
	EXPECT(N4J_STEP_REFUSE, field, "spec.restore.databases");
	CHECK_STR(T.p.step.reason, "RestoreRefused");
	/* A restore that does not fit the servers is refused like a declared database. */
	tw_new(3, 3);
	T.c.spec.topology = (struct n4j_topology){3, 1};
	restore_db("big", "s3://b/p");
	EXPECT(N4J_STEP_REFUSE, field, "spec.restore");
	CHECK_STR(T.p.step.reason, "TopologyRefused");
}

static void test_declared_seed(void)
{
	/* spec.databases[].seedURI: created from the seed when it does not exist. */
	tw_new(3, 3);
	spec_db("sales", 3, 0);
	T.sdbs[0].seed_uri = "azb://acct/cont/p";
	const struct n4j_plan *p = run();
	CHECK_INT(p->step.kind, N4J_STEP_SEED_CREATE);
	CHECK_STR(p->step.database, "sales");
	CHECK_STR(p->step.seed_uri, "azb://acct/cont/p");
	CHECK(!p->step.restore);
	CHECK_INT(p->step.primaries, 3);
	apply();
	/* Present: left alone (seedURI applies at creation only), ALTERed like any other. */
	CHECK_INT(run()->step.kind, N4J_STEP_NONE);
	T.sdbs[0].topology = (struct n4j_topology){3, 1};
	tw_new(4, 4);
	spec_db("sales", 3, 1);
	T.sdbs[0].seed_uri = "azb://acct/cont/p";
	allocate("sales", 3, 0);
	EXPECT(N4J_STEP_ALTER_TOPOLOGY, database, "sales");
	/* seedRestoreUntil on 5.26: refused with the field path. */
	tw_new(3, 3);
	spec_db("a", 1, 0);
	spec_db("sales", 3, 0);
	T.sdbs[0].seed_uri = T.sdbs[1].seed_uri = "s3://b/p";
	T.sdbs[1].seed_restore_until = "12345";
	allocate("a", 1, 0);
	p = run();
	CHECK_INT(p->step.kind, N4J_STEP_REFUSE);
	CHECK_STR(p->step.field, "spec.databases[1].seedRestoreUntil");
	CHECK_STR(p->step.reason, "RestoreUntilUnsupported");
	calver(2026, 1);
	EXPECT(N4J_STEP_SEED_CREATE, seed_until, "12345");
}

int main(void)
{
	test_formation();
	test_waiting_servers();
	test_scale_out();
	test_scale_in();
	test_scale_in_half_done();
	test_refusals();
	test_roll();
	test_roll_gates_and_deadline();
	test_paused();
	test_lost_volume();
	test_formation_half_done();
	test_gates();
	test_community();
	test_restore_new_cluster();
	test_restore_existing();
	test_restore_refusals();
	test_declared_seed();
	n4j_arena_free(T.a);
	CHECK_DONE();
}
