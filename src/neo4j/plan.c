/*
 * The planner: the world (spec, StatefulSet, pods, claims, the Neo4j snapshot, the
 * operation in flight) → the one next step, the replicas, the pod gates, the phase and
 * the verdicts. Pure: no I/O, no clock (now is w->now_ms), no globals, no randomness; the
 * same world gives the same plan. docs/neo4j.md "Planner" states every rule below.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "neo4j/neo4j.h"

struct pl {
	const struct n4j_world *w;
	const struct n4j_cluster_spec *sp;
	const struct n4j_observed *o;
	struct n4j_arena *a;
	struct n4j_plan *p;
	const char *name; /* the cluster's (= the StatefulSet's) name */
	int n;            /* spec.servers */
	bool oom;
	/* the ROLL in flight, judged once */
	bool roll_inflight, roll_done, roll_expired;
};

static const char *fmt(struct pl *x, const char *f, ...) __attribute__((format(printf, 2, 3)));
static const char *fmt(struct pl *x, const char *f, ...)
{
	va_list ap;
	va_start(ap, f);
	char *s = n4j_arena_vprintf(x->a, f, ap);
	va_end(ap);
	if (!s) {
		x->oom = true;
		return "";
	}
	return s;
}

static bool streq(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

/* Neo4j prints statuses in lower case; compare without caring. */
static bool status_eq(const char *a, const char *b)
{
	return a && b && strcasecmp(a, b) == 0;
}

/* ---- lookups ------------------------------------------------------------------ */

static const struct n4j_obs_pod *pod_at(const struct pl *x, int k)
{
	for (size_t i = 0; i < x->w->n_pods; i++)
		if (x->w->pods[i].ordinal == k)
			return &x->w->pods[i];
	return NULL;
}

static const struct n4j_obs_pod *pod_named(const struct pl *x, const char *name)
{
	for (size_t i = 0; i < x->w->n_pods; i++)
		if (streq(x->w->pods[i].name, name))
			return &x->w->pods[i];
	return NULL;
}

static const char *pod_name(struct pl *x, int k)
{
	const struct n4j_obs_pod *pod = pod_at(x, k);
	return pod && pod->name ? pod->name : fmt(x, "%s-%d", x->name, k);
}

static bool dropped(const struct n4j_obs_server *s)
{
	return s->state == N4J_SERVER_DROPPED;
}

static bool avail(const struct n4j_obs_server *s)
{
	return s->health == N4J_HEALTH_AVAILABLE;
}

/*
 * The server a pod of ordinal k runs now. After a lost volume two identities share the
 * address: the one that answers (Available) is the pod's; among equals an Enabled one.
 */
static const struct n4j_obs_server *live_at(const struct pl *x, int k)
{
	const struct n4j_obs_server *best = NULL;
	int best_score = -1;
	for (size_t i = 0; i < x->o->n_servers; i++) {
		const struct n4j_obs_server *s = &x->o->servers[i];
		if (s->ordinal != k || dropped(s))
			continue;
		int score = (avail(s) ? 2 : 0) + (s->state == N4J_SERVER_ENABLED ? 1 : 0);
		if (score > best_score) {
			best = s;
			best_score = score;
		}
	}
	return best;
}

/* A server whose pod came back with a new identity: another server answers at its
 * address while it does not (reference §4 (e)). */
static const struct n4j_obs_server *replacement_of(const struct pl *x,
						   const struct n4j_obs_server *s)
{
	if (avail(s) || !s->address)
		return NULL;
	for (size_t i = 0; i < x->o->n_servers; i++) {
		const struct n4j_obs_server *t = &x->o->servers[i];
		if (t != s && !dropped(t) && avail(t) && streq(t->address, s->address) &&
		    !streq(t->id, s->id))
			return t;
	}
	return NULL;
}

static bool copy_of(const struct n4j_obs_copy *c, const struct n4j_obs_server *s)
{
	if (c->server_id && s->id)
		return strcmp(c->server_id, s->id) == 0;
	return streq(c->address, s->address);
}

static bool in_list(const char *v, const char **l, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (streq(l[i], v))
			return true;
	return false;
}

/* hosting == requestedHosting, as sets. */
static bool hosting_matches(const struct n4j_obs_server *s)
{
	for (size_t i = 0; i < s->n_hosting; i++)
		if (!in_list(s->hosting[i], s->requested_hosting, s->n_requested))
			return false;
	for (size_t i = 0; i < s->n_requested; i++)
		if (!in_list(s->requested_hosting[i], s->hosting, s->n_hosting))
			return false;
	return true;
}

/*
 * A database that failed to start on every copy (offline with Neo4j's reason, none
 * online, e.g. a seed that could not be read): no server is the better for restarting,
 * and taking every server out of the Services for it would stop the databases that do
 * serve. It is the restore's failure to report (status.restore), not a server's.
 */
static bool failed_everywhere(const struct pl *x, const char *db)
{
	bool any = false;
	for (size_t i = 0; i < x->o->n_copies; i++) {
		const struct n4j_obs_copy *c = &x->o->copies[i];
		if (!streq(c->database, db))
			continue;
		if (!status_eq(c->current_status, "offline") || !c->status_message ||
		    !*c->status_message)
			return false;
		any = true;
	}
	return any;
}

static bool server_settled(const struct pl *x, const struct n4j_obs_server *s)
{
	for (size_t i = 0; i < x->o->n_copies; i++) {
		const struct n4j_obs_copy *c = &x->o->copies[i];
		if (copy_of(c, s) && !status_eq(c->current_status, c->requested_status) &&
		    !failed_everywhere(x, c->database))
			return false;
	}
	return true;
}

/* What a pod's gate and a roll step wait for: the server serves everything it should. */
static bool server_healthy(const struct pl *x, const struct n4j_obs_server *s)
{
	return s && s->state == N4J_SERVER_ENABLED && avail(s) && hosting_matches(s) &&
	       server_settled(x, s);
}

static const struct n4j_obs_database *unsettled_db(const struct pl *x)
{
	for (size_t i = 0; i < x->o->n_databases; i++)
		if (!x->o->databases[i].settled)
			return &x->o->databases[i];
	return NULL;
}

static bool is_system(const struct n4j_obs_database *d)
{
	return streq(d->name, "system") || streq(d->type, "system");
}

static const struct n4j_obs_database *default_db(const struct pl *x)
{
	for (size_t i = 0; i < x->o->n_databases; i++)
		if (x->o->databases[i].is_default)
			return &x->o->databases[i];
	return n4j_observed_database(x->o, "neo4j");
}

static const struct n4j_obs_alias *alias_named(const struct pl *x, const char *name)
{
	for (size_t i = 0; i < x->o->n_aliases; i++)
		if (streq(x->o->aliases[i].name, name))
			return &x->o->aliases[i];
	return NULL;
}

/* ---- the plan's step ------------------------------------------------------------- */

static struct n4j_step *step(struct pl *x, enum n4j_step_kind k, const char *reason)
{
	struct n4j_step *s = &x->p->step;
	memset(s, 0, sizeof(*s));
	s->kind = k;
	s->reason = reason;
	return s;
}

static void wait_(struct pl *x, const char *reason, const char *message)
{
	step(x, N4J_STEP_WAIT, reason)->message = message;
}

static void refuse(struct pl *x, const char *field, const char *message)
{
	struct n4j_step *s = step(x, N4J_STEP_REFUSE, "ScaleInRefused");
	s->field = field;
	s->message = message;
}

/* Keeps the start of an operation that is already in flight: its deadline must not move
 * when a later step of the same operation is planned. */
static void set_op(struct pl *x, enum n4j_op_kind k, const char *target)
{
	const struct n4j_operation *cur = &x->w->op;
	x->p->op.kind = k;
	x->p->op.target = target;
	x->p->op.started_ms =
		cur->kind == k && streq(cur->target, target) ? cur->started_ms : x->w->now_ms;
}

static void clear_op(struct pl *x)
{
	memset(&x->p->op, 0, sizeof(x->p->op));
}

static const char *srv_label(struct pl *x, const struct n4j_obs_server *s)
{
	if (s->ordinal >= 0)
		return fmt(x, "%s (%s)", s->id ? s->id : "?", pod_name(x, s->ordinal));
	return fmt(x, "%s (%s)", s->id ? s->id : "?", s->address ? s->address : "no address");
}

/* ---- replicas ------------------------------------------------------------------- */

/*
 * The StatefulSet keeps every ordinal whose server still holds, or may hold, data: all
 * but Dropped ones and Free ones (a Free server was never enabled, so it holds nothing).
 */
static int wanted_replicas(const struct pl *x)
{
	int r = x->n;
	for (size_t i = 0; i < x->o->n_servers; i++) {
		const struct n4j_obs_server *s = &x->o->servers[i];
		if (s->ordinal >= x->n && !dropped(s) && s->state != N4J_SERVER_FREE &&
		    s->ordinal + 1 > r)
			r = s->ordinal + 1;
	}
	return r;
}

/* ---- gates and verdicts ----------------------------------------------------------- */

static bool community(const struct pl *x)
{
	return x->sp->edition == N4J_COMMUNITY;
}

static bool pod_gate(struct pl *x, const struct n4j_obs_pod *pod)
{
	if (!pod->containers_ready || pod->deleting)
		return false;
	if (community(x))
		return x->o->reachable; /* the one server itself does not answer */
	/* Without a snapshot, keep the gate as it is: the operator losing its Bolt path must
	 * not take every pod out of the Services. */
	if (!x->o->reachable)
		return pod->gate;
	return server_healthy(x, live_at(x, pod->ordinal));
}

static int compute_gates(struct pl *x)
{
	struct n4j_plan *p = x->p;
	p->n_gates = x->w->n_pods;
	p->gates = NULL;
	if (!p->n_gates)
		return 0;
	p->gates = n4j_arena_calloc(x->a, p->n_gates, sizeof(*p->gates));
	if (!p->gates)
		return N4J_ENOMEM;
	for (size_t i = 0; i < x->w->n_pods; i++) {
		p->gates[i].pod = x->w->pods[i].name;
		p->gates[i].ready = pod_gate(x, &x->w->pods[i]);
	}
	return 0;
}

static bool gated(const struct pl *x, int k)
{
	for (size_t i = 0; i < x->p->n_gates; i++)
		if (x->w->pods[i].ordinal == k && x->p->gates[i].ready)
			return true;
	return false;
}

static bool outdated_pods(const struct pl *x)
{
	for (size_t i = 0; i < x->w->n_pods; i++)
		if (x->w->pods[i].outdated && x->w->pods[i].ordinal < x->n)
			return true;
	return false;
}

static bool servers_beyond(const struct pl *x)
{
	for (size_t i = 0; i < x->o->n_servers; i++)
		if (x->o->servers[i].ordinal >= x->n && !dropped(&x->o->servers[i]))
			return true;
	return false;
}

static bool topology_is(const struct n4j_obs_database *d, const struct n4j_topology *t)
{
	return d && d->requested_primaries == t->primaries &&
	       d->requested_secondaries == t->secondaries;
}

static bool declared(const struct pl *x, const char *name)
{
	for (size_t i = 0; i < x->sp->n_databases; i++)
		if (streq(x->sp->databases[i].name, name))
			return true;
	return false;
}

static bool restore_settled(const struct pl *x);

static bool databases_ready(const struct pl *x)
{
	if (community(x))
		return true;
	if (!restore_settled(x))
		return false;
	const struct n4j_obs_database *d = default_db(x);
	if (d && !declared(x, d->name) && !topology_is(d, &x->sp->topology))
		return false;
	for (size_t i = 0; i < x->sp->n_databases; i++) {
		const struct n4j_obs_database *o =
			n4j_observed_database(x->o, x->sp->databases[i].name);
		if (!topology_is(o, &x->sp->databases[i].topology) || !o->settled)
			return false;
	}
	for (size_t i = 0; i < x->sp->n_aliases; i++) {
		const struct n4j_obs_alias *al = alias_named(x, x->sp->aliases[i].name);
		if (!al || !streq(al->database, x->sp->aliases[i].database))
			return false;
	}
	return unsettled_db(x) == NULL;
}

static bool available(const struct pl *x)
{
	return x->o->reachable && (community(x) || x->o->system_leader);
}

static bool compute_ready(struct pl *x)
{
	int n = community(x) ? 1 : x->n;
	for (int k = 0; k < n; k++)
		if (!gated(x, k))
			return false;
	if (x->w->sts_replicas != n || !available(x))
		return false;
	if (!community(x) && servers_beyond(x))
		return false;
	if (x->w->roll_allowed && outdated_pods(x))
		return false;
	return databases_ready(x);
}

static void degrade(struct pl *x, const char *reason, const char *message)
{
	if (x->p->degraded)
		return; /* the first cause found is the one reported */
	x->p->degraded = true;
	x->p->degraded_reason = reason;
	x->p->degraded_message = message;
}

static bool ever_formed(const struct pl *x)
{
	for (size_t i = 0; i < x->o->n_servers; i++) {
		enum n4j_server_state st = x->o->servers[i].state;
		if (st != N4J_SERVER_FREE && st != N4J_SERVER_UNKNOWN)
			return true;
	}
	return false;
}

/* A server of the cluster (ordinal < N) that is Enabled but does not answer is lost,
 * unless it is the pod a roll restarted within its deadline. */
static void degraded_servers(struct pl *x)
{
	if (community(x) || !x->o->reachable)
		return;
	for (size_t i = 0; i < x->o->n_servers; i++) {
		const struct n4j_obs_server *s = &x->o->servers[i];
		if (s->ordinal < 0 || s->ordinal >= x->n || s->state != N4J_SERVER_ENABLED ||
		    s->health != N4J_HEALTH_UNAVAILABLE)
			continue;
		if (x->roll_inflight && !x->roll_expired &&
		    streq(x->w->op.target, pod_name(x, s->ordinal)))
			continue;
		degrade(x, "ServerUnavailable",
			fmt(x, "server %s is Enabled but Unavailable", srv_label(x, s)));
	}
	/* Restarting the system leader costs an election: expected while its roll runs. */
	bool electing = x->roll_inflight && !x->roll_expired;
	if (!x->o->system_leader && x->w->op.kind != N4J_OP_FORM && ever_formed(x) && !electing)
		degrade(x, "NoSystemLeader",
			"the system database has no leader: admin commands cannot run");
}

/* ---- the ROLL in flight ------------------------------------------------------------ */

static void judge_roll(struct pl *x)
{
	const struct n4j_operation *op = &x->w->op;
	if (op->kind != N4J_OP_ROLL)
		return;
	x->roll_inflight = true;
	const struct n4j_obs_pod *pod = pod_named(x, op->target);
	bool back = pod && !pod->deleting && !pod->outdated && pod->containers_ready;
	if (back)
		back = community(x) ? x->o->reachable : server_healthy(x, live_at(x, pod->ordinal));
	if (back) {
		x->roll_done = true;
		x->roll_inflight = false;
		clear_op(x);
		return;
	}
	if (x->w->now_ms - op->started_ms > x->w->progress_deadline_ms) {
		x->roll_expired = true;
		degrade(x, "ProgressDeadlineExceeded",
			fmt(x, "pod %s was not healthy again within %lld s of its restart",
			    op->target ? op->target : "?",
			    (long long)(x->w->progress_deadline_ms / 1000)));
	}
}

/* The step while a roll is in flight: nothing else disruptive until the pod is back. */
static bool roll_wait(struct pl *x)
{
	if (!x->roll_inflight)
		return false;
	const char *target = x->w->op.target ? x->w->op.target : "?";
	if (x->roll_expired) {
		step(x, N4J_STEP_HALT, "ProgressDeadlineExceeded")->message =
			fmt(x,
			    "the rolling change stopped: pod %s was not healthy within %lld s; "
			    "no other pod is restarted until it recovers",
			    target, (long long)(x->w->progress_deadline_ms / 1000));
		return true;
	}
	wait_(x, "WaitingForRestartedPod",
	      fmt(x, "waiting for pod %s and its server to be healthy after the restart", target));
	return true;
}

/* ---- rule 4: membership --------------------------------------------------------------- */

static bool membership(struct pl *x)
{
	/* Free and Available: enable it, one per step, lowest ordinal first. */
	for (int k = 0; k < x->n; k++) {
		for (size_t i = 0; i < x->o->n_servers; i++) {
			const struct n4j_obs_server *s = &x->o->servers[i];
			if (s->ordinal != k || s->state != N4J_SERVER_FREE || !avail(s))
				continue;
			const struct n4j_obs_server *old = NULL;
			for (size_t j = 0; j < x->o->n_servers; j++) {
				const struct n4j_obs_server *t = &x->o->servers[j];
				if (t != s && streq(t->address, s->address) &&
				    !streq(t->id, s->id) &&
				    (t->state == N4J_SERVER_ENABLED ||
				     t->state == N4J_SERVER_CORDONED) &&
				    !avail(t))
					old = t;
			}
			if (old && old->state == N4J_SERVER_ENABLED) {
				struct n4j_step *st =
					step(x, N4J_STEP_CORDON_SERVER, "ReplacingLostServer");
				st->server_id = old->id;
				st->message =
					fmt(x,
					    "pod %s came back as a new server %s (its volume was "
					    "lost): cordoning the old identity %s first",
					    pod_name(x, k), s->id, old->id);
				return true;
			}
			struct n4j_step *st = step(x, N4J_STEP_ENABLE_SERVER,
						   old ? "ReplacingLostServer" : "EnablingServer");
			st->server_id = s->id;
			st->mode = "NONE";
			st->message = old ? fmt(x, "enabling server %s in place of the lost %s",
						srv_label(x, s), old->id)
					  : fmt(x, "enabling server %s", srv_label(x, s));
			return true;
		}
	}
	/* The old identity of a replaced server: cordon, deallocate, wait, drop. */
	for (size_t i = 0; i < x->o->n_servers; i++) {
		const struct n4j_obs_server *s = &x->o->servers[i];
		if (s->ordinal < 0 || s->ordinal >= x->n || dropped(s))
			continue;
		const struct n4j_obs_server *nw = replacement_of(x, s);
		if (!nw || nw->state != N4J_SERVER_ENABLED)
			continue;
		const char *why = fmt(x, "server %s of pod %s was replaced by %s", s->id,
				      pod_name(x, s->ordinal), nw->id);
		struct n4j_step *st = NULL;
		switch (s->state) {
		case N4J_SERVER_ENABLED:
			st = step(x, N4J_STEP_CORDON_SERVER, "ReplacingLostServer");
			st->message = fmt(x, "%s: cordoning it", why);
			break;
		case N4J_SERVER_CORDONED:
			st = step(x, N4J_STEP_DEALLOCATE, "ReplacingLostServer");
			st->message = fmt(x, "%s: moving its databases away", why);
			break;
		case N4J_SERVER_DEALLOCATING:
			wait_(x, "Deallocating",
			      fmt(x, "%s: waiting until it is Deallocated", why));
			return true;
		case N4J_SERVER_DEALLOCATED:
			st = step(x, N4J_STEP_DROP_SERVER, "ReplacingLostServer");
			st->message = fmt(x, "%s: dropping it", why);
			break;
		default:
			continue;
		}
		st->server_id = s->id;
		return true;
	}
	/* Cordoned but healthy and still wanted (a scale-in undone): uncordon it. */
	for (int k = 0; k < x->n; k++) {
		const struct n4j_obs_server *s = live_at(x, k);
		if (s && s->state == N4J_SERVER_CORDONED && avail(s)) {
			struct n4j_step *st = step(x, N4J_STEP_ENABLE_SERVER, "UncordoningServer");
			st->server_id = s->id;
			st->mode = "NONE";
			st->message =
				fmt(x, "server %s is Cordoned but %s is wanted again: enabling it",
				    srv_label(x, s), pod_name(x, k));
			return true;
		}
	}
	return false;
}

/* ---- rule 5: databases and aliases ---------------------------------------------------- */

static int enabled_servers(const struct pl *x)
{
	int e = 0;
	for (int k = 0; k < x->n; k++) {
		const struct n4j_obs_server *s = live_at(x, k);
		if (s && s->state == N4J_SERVER_ENABLED && avail(s))
			e++;
	}
	return e;
}

/* CREATE (cur NULL) or ALTER one database to t, if it is safe and fits. */
static void topology_step(struct pl *x, const char *path, const char *db,
			  const struct n4j_obs_database *cur, const struct n4j_topology *t)
{
	int need = t->primaries + t->secondaries;
	if (cur && cur->requested_primaries > 1 && t->primaries == 1) {
		struct n4j_step *s = step(x, N4J_STEP_REFUSE, "TopologyRefused");
		s->field = fmt(x, "%s.primaries", path);
		s->message = fmt(
			x,
			"%s.primaries: database %s has %d primaries and Neo4j cannot "
			"shrink a database to 1 primary (back it up, drop it and seed it again)",
			path, db, cur->requested_primaries);
		return;
	}
	if (need > x->n) {
		struct n4j_step *s = step(x, N4J_STEP_REFUSE, "TopologyRefused");
		s->field = path;
		s->message = fmt(x,
				 "%s: database %s needs %d servers (%d primaries + %d secondaries, "
				 "one copy per server) but spec.servers is %d",
				 path, db, need, t->primaries, t->secondaries, x->n);
		return;
	}
	int e = enabled_servers(x);
	if (need > e) {
		wait_(x, "WaitingForServers",
		      fmt(x, "database %s needs %d enabled servers, %d are enabled so far", db,
			  need, e));
		return;
	}
	struct n4j_step *s = step(x, cur ? N4J_STEP_ALTER_TOPOLOGY : N4J_STEP_CREATE_DATABASE,
				  cur ? "AlteringTopology" : "CreatingDatabase");
	s->database = db;
	s->primaries = t->primaries;
	s->secondaries = t->secondaries;
	s->message =
		cur ? fmt(x, "altering database %s from %d+%d to %d primaries + %d secondaries", db,
			  cur->requested_primaries, cur->requested_secondaries, t->primaries,
			  t->secondaries)
		    : fmt(x, "creating database %s with %d primaries + %d secondaries", db,
			  t->primaries, t->secondaries);
}

/* ---- rule 5a: restore and seeding ------------------------------------------------------ */

static const struct n4j_restore_db *restore_target(const struct pl *x, const char *name)
{
	const struct n4j_restore_req *r = &x->w->restore;
	for (size_t i = 0; r->present && i < r->n; i++)
		if (streq(r->dbs[i].database, name))
			return &r->dbs[i];
	return NULL;
}

/*
 * A database the restore may still seed is never created empty, nor altered: while the
 * restore is not resolved (no backup yet, a missing Neo4jBackup) and its database list
 * is not known either, that is every declared database.
 */
static bool held_for_restore(const struct pl *x, const char *name)
{
	const struct n4j_restore_req *r = &x->w->restore;
	if (!r->present)
		return false;
	if (!r->resolved && r->n == 0)
		return true;
	const struct n4j_restore_db *t = restore_target(x, name);
	return t && !t->done;
}

/* Every restore database seeded under the current key and present. */
static bool restore_settled(const struct pl *x)
{
	const struct n4j_restore_req *r = &x->w->restore;
	if (!r->present)
		return true;
	if (!r->resolved)
		return false;
	for (size_t i = 0; i < r->n; i++)
		if (!r->dbs[i].done || !n4j_observed_database(x->o, r->dbs[i].database))
			return false;
	return true;
}

/* seedRestoreUntil exists from 2025.01 (CalVer) on. */
static bool point_in_time_supported(const struct pl *x)
{
	return x->sp->version.calver;
}

static const struct n4j_topology *declared_topology(const struct pl *x, const char *name)
{
	for (size_t i = 0; i < x->sp->n_databases; i++)
		if (streq(x->sp->databases[i].name, name))
			return &x->sp->databases[i].topology;
	return &x->sp->topology;
}

/*
 * The default database Neo4j made at bootstrap, while the cluster is still forming (op
 * FORM lasts until it is first ready, and a pending restore keeps it from being ready):
 * it is empty, so seeding it through the recreate procedure overwrites nothing.
 */
static bool bootstrap_default(const struct pl *x, const struct n4j_obs_database *d)
{
	return x->w->op.kind == N4J_OP_FORM && d && d == default_db(x);
}

static void refuse_as(struct pl *x, const char *reason, const char *field, const char *message)
{
	struct n4j_step *s = step(x, N4J_STEP_REFUSE, reason);
	s->field = field;
	s->message = message;
}

/* CREATE DATABASE … OPTIONS {existingData:'use', seedURI…}: the topology checks of a
 * plain creation, then the seed. */
static void seed_step(struct pl *x, const char *path, const char *db, const char *uri,
		      const char *until, bool restore)
{
	const struct n4j_topology *t = declared_topology(x, db);
	topology_step(x, path, db, NULL, t);
	struct n4j_step *s = &x->p->step;
	if (s->kind != N4J_STEP_CREATE_DATABASE)
		return; /* refused or waiting for servers */
	s->kind = N4J_STEP_SEED_CREATE;
	s->reason = "SeedingDatabase";
	s->seed_uri = uri;
	s->seed_until = until;
	s->restore = restore;
	s->message = fmt(
		x, "creating database %s (%d primaries + %d secondaries) from the seed %s%s%s", db,
		t->primaries, t->secondaries, uri, until ? " until " : "", until ? until : "");
}

/* A list of names for a message: "a, b and c". */
static const char *names_of(struct pl *x, const char **names, size_t n)
{
	const char *out = "";
	for (size_t i = 0; i < n; i++)
		out = fmt(x, "%s%s%s", out, i == 0 ? "" : i + 1 == n ? " and " : ", ", names[i]);
	return out;
}

/*
 * spec.restore, after formation and before any declared database: refusals first (the
 * restore is all or nothing), then one database per step in the order given: absent →
 * SEED_CREATE, present and replaceable → RECREATE (once per restore key: `done`).
 */
static bool restore(struct pl *x)
{
	const struct n4j_restore_req *r = &x->w->restore;
	if (!r->present || !r->resolved || r->n == 0)
		return false;
	const char **exist = n4j_arena_calloc(x->a, r->n, sizeof(*exist));
	if (!exist) {
		x->oom = true;
		return false;
	}
	size_t n_exist = 0;
	for (size_t i = 0; i < r->n; i++) {
		const struct n4j_restore_db *t = &r->dbs[i];
		const struct n4j_obs_database *d = n4j_observed_database(x->o, t->database);
		if (streq(t->database, "system") || (d && is_system(d))) {
			refuse_as(x, "RestoreRefused", "spec.restore.databases",
				  "spec.restore.databases: the system database cannot be seeded "
				  "(users and roles come with the cluster); list user databases "
				  "only");
			return true;
		}
		if (t->restore_until && !point_in_time_supported(x)) {
			refuse_as(x, "RestoreUntilUnsupported", "spec.restore.restoreUntil",
				  fmt(x,
				      "spec.restore.restoreUntil: seeding up to a point in time "
				      "(seedRestoreUntil) needs Neo4j 2025.01 or later; this "
				      "cluster runs %s",
				      x->sp->version_string ? x->sp->version_string : "5.x"));
			return true;
		}
		if (!d || t->done)
			continue;
		if (!r->replace && !bootstrap_default(x, d))
			exist[n_exist++] = t->database;
		if (t->restore_until) {
			refuse_as(x, "RestoreUntilUnsupported", "spec.restore.restoreUntil",
				  fmt(x,
				      "spec.restore.restoreUntil: database %s exists and Neo4j's "
				      "recreate procedure takes no point in time; restore it into "
				      "a database that does not exist",
				      t->database));
			return true;
		}
	}
	if (n_exist) {
		refuse_as(x, "RestoreTargetExists", "spec.restore",
			  fmt(x,
			      "spec.restore: database%s %s already exist%s and would be "
			      "overwritten; set spec.restore.replace: true to replace %s with the "
			      "seed (Neo4j's recreate procedure), or remove %s from the restore; "
			      "nothing was changed",
			      n_exist == 1 ? "" : "s", names_of(x, exist, n_exist),
			      n_exist == 1 ? "s" : "", n_exist == 1 ? "it" : "them",
			      n_exist == 1 ? "it" : "them"));
		return true;
	}
	/* Every hosting server reads the seed with the credentials spec.seedStorage mounts:
	 * servers still on an older pod template have not got them. The roll goes first
	 * (rule 8); what the restore may seed stays held meanwhile. */
	if (x->w->roll_allowed && outdated_pods(x))
		return false;
	for (size_t i = 0; i < r->n; i++) {
		const struct n4j_restore_db *t = &r->dbs[i];
		const struct n4j_obs_database *d = n4j_observed_database(x->o, t->database);
		if (!d) {
			seed_step(x, "spec.restore", t->database, t->uri, t->restore_until, true);
			return true;
		}
		if (t->done)
			continue;
		struct n4j_step *s = step(x, N4J_STEP_RECREATE, "RecreatingDatabase");
		s->database = t->database;
		s->seed_uri = t->uri;
		s->restore = true;
		/* 2025.04 renamed the procedure; the old name is all 5.26 knows. */
		bool renamed = x->sp->version.calver &&
			       (x->sp->version.major > 2025 ||
				(x->sp->version.major == 2025 && x->sp->version.minor >= 4));
		s->procedure = renamed ? "dbms.recreateDatabase" : "dbms.cluster.recreateDatabase";
		s->message =
			fmt(x, "replacing database %s with the seed %s (%s)", t->database, t->uri,
			    bootstrap_default(x, d) ? "the empty default database of a new cluster"
						    : "spec.restore.replace");
		return true;
	}
	return false;
}

static bool databases(struct pl *x)
{
	for (int k = 0; k < x->n; k++) {
		const struct n4j_obs_server *s = live_at(x, k);
		if (!s || s->state != N4J_SERVER_ENABLED || !avail(s))
			return false;
	}
	if (!x->o->system_leader)
		return false;
	if (restore(x))
		return true;
	const struct n4j_obs_database *d = default_db(x);
	if (d && !declared(x, d->name) && !topology_is(d, &x->sp->topology) &&
	    !held_for_restore(x, d->name)) {
		topology_step(x, "spec.topology", d->name, d, &x->sp->topology);
		return true;
	}
	for (size_t i = 0; i < x->sp->n_databases; i++) {
		const struct n4j_database *want = &x->sp->databases[i];
		const struct n4j_obs_database *o = n4j_observed_database(x->o, want->name);
		if ((o && topology_is(o, &want->topology)) || held_for_restore(x, want->name))
			continue;
		/* seedURI applies at creation only: an existing database is left as it is. */
		if (!o && want->seed_uri && x->w->roll_allowed && outdated_pods(x))
			continue; /* as for spec.restore: the credentials come with the roll */
		if (!o && want->seed_uri) {
			if (want->seed_restore_until && !point_in_time_supported(x)) {
				const char *f = fmt(x, "spec.databases[%zu].seedRestoreUntil", i);
				refuse_as(
					x, "RestoreUntilUnsupported", f,
					fmt(x,
					    "%s: seeding up to a point in time needs Neo4j "
					    "2025.01 or later; this cluster runs %s",
					    f,
					    x->sp->version_string ? x->sp->version_string : "5.x"));
				return true;
			}
			seed_step(x, fmt(x, "spec.databases[%zu].topology", i), want->name,
				  want->seed_uri, want->seed_restore_until, false);
			return true;
		}
		topology_step(x, fmt(x, "spec.databases[%zu].topology", i), want->name, o,
			      &want->topology);
		return true;
	}
	for (size_t i = 0; i < x->sp->n_aliases; i++) {
		const struct n4j_alias *want = &x->sp->aliases[i];
		const struct n4j_obs_alias *al = alias_named(x, want->name);
		if (al && streq(al->database, want->database))
			continue;
		struct n4j_step *s = step(x, al ? N4J_STEP_ALTER_ALIAS : N4J_STEP_CREATE_ALIAS,
					  al ? "AlteringAlias" : "CreatingAlias");
		s->alias = want->name;
		s->database = want->database;
		s->message = al ? fmt(x, "pointing alias %s at database %s (was %s)", want->name,
				      want->database, al->database ? al->database : "?")
				: fmt(x, "creating alias %s for database %s", want->name,
				      want->database);
		return true;
	}
	return false;
}

/* ---- rule 6: scale-in ------------------------------------------------------------------- */

/* Servers holding `system` as primary: the quorum a scale-in must keep. */
static int system_primaries(const struct pl *x)
{
	int n = 0;
	for (size_t i = 0; i < x->o->n_copies; i++) {
		const struct n4j_obs_copy *c = &x->o->copies[i];
		if (streq(c->database, "system") && c->role && strcasecmp(c->role, "primary") == 0)
			n++;
	}
	const struct n4j_obs_database *sys = n4j_observed_database(x->o, "system");
	if (sys && sys->requested_primaries > n)
		n = sys->requested_primaries;
	if (x->sp->system_primaries > n)
		n = x->sp->system_primaries;
	return n;
}

static bool scale_in_refused(struct pl *x, const struct n4j_obs_server *target)
{
	int sysp = system_primaries(x);
	if (x->n < sysp) {
		refuse(x, "spec.servers",
		       fmt(x,
			   "spec.servers: scaling to %d server%s would break the quorum of the "
			   "system "
			   "database (%d primaries): it needs at least %d servers",
			   x->n, x->n == 1 ? "" : "s", sysp, sysp));
		return true;
	}
	/* A database the spec declares (or the default one) is altered to its spec first
	 * (reference §4 (c): lower topologies before deallocating), so its spec counts are
	 * what must fit; any other database keeps what Neo4j has. */
	const struct n4j_obs_database *dflt = default_db(x);
	for (size_t i = 0; i < x->o->n_databases; i++) {
		const struct n4j_obs_database *d = &x->o->databases[i];
		struct n4j_topology t = {d->requested_primaries, d->requested_secondaries};
		for (size_t j = 0; j < x->sp->n_databases; j++)
			if (streq(x->sp->databases[j].name, d->name))
				t = x->sp->databases[j].topology;
		if (d == dflt && !declared(x, d->name))
			t = x->sp->topology;
		int need = t.primaries + t.secondaries;
		if (is_system(d) || need <= x->n)
			continue;
		refuse(x, "spec.servers",
		       fmt(x,
			   "spec.servers: scaling to %d server%s would leave database %s (%d "
			   "primaries, %d secondaries) without room: it needs %d servers",
			   x->n, x->n == 1 ? "" : "s", d->name, t.primaries, t.secondaries, need));
		return true;
	}
	/* Neo4j refuses to deallocate a 1-primary database's primary: it has no other
	 * primary to move its writes to. */
	for (size_t i = 0; i < x->o->n_copies; i++) {
		const struct n4j_obs_copy *c = &x->o->copies[i];
		const struct n4j_obs_database *d = n4j_observed_database(x->o, c->database);
		if (!copy_of(c, target) || !d || is_system(d) || d->requested_primaries != 1 ||
		    !c->role || strcasecmp(c->role, "primary") != 0)
			continue;
		refuse(x, "spec.servers",
		       fmt(x,
			   "spec.servers: server %s holds the only primary of database %s (1 "
			   "primary); Neo4j cannot move it: raise its primaries first, or back it "
			   "up and seed it again",
			   srv_label(x, target), d->name));
		return true;
	}
	return false;
}

/* A database step that takes no copy away: a new database or alias, a retargeted alias,
 * or a topology that does not shrink. */
static bool only_adds(const struct pl *x, const struct n4j_step *s)
{
	switch (s->kind) {
	case N4J_STEP_CREATE_DATABASE:
	case N4J_STEP_SEED_CREATE:
	case N4J_STEP_CREATE_ALIAS:
	case N4J_STEP_ALTER_ALIAS:
		return true;
	case N4J_STEP_ALTER_TOPOLOGY: {
		const struct n4j_obs_database *d = n4j_observed_database(x->o, s->database);
		return d && s->primaries >= d->requested_primaries &&
		       s->secondaries >= d->requested_secondaries;
	}
	default:
		return false;
	}
}

/* The health gate of reference §4: before any step that takes something away. */
static const char *health_gate(struct pl *x, bool hosting)
{
	for (int k = 0; k < x->n; k++) {
		const struct n4j_obs_server *s = live_at(x, k);
		if (!s)
			return fmt(x, "pod %s has no server in SHOW SERVERS", pod_name(x, k));
		if (s->state != N4J_SERVER_ENABLED || !avail(s))
			return fmt(x, "server %s is %s and %s", srv_label(x, s),
				   n4j_server_state_name(s->state),
				   n4j_server_health_name(s->health));
		if (hosting && !hosting_matches(s))
			return fmt(x, "server %s does not host what it should yet",
				   srv_label(x, s));
	}
	const struct n4j_obs_database *d = unsettled_db(x);
	if (d)
		return fmt(x, "database %s is not settled (requested %s)", d->name,
			   d->requested_status ? d->requested_status : "?");
	if (!x->o->system_leader)
		return "the system database has no leader";
	if (x->roll_inflight)
		return fmt(x, "the restart of pod %s is not finished",
			   x->w->op.target ? x->w->op.target : "?");
	return NULL;
}

/* The server to remove: highest ordinal first, one at a time. */
static const struct n4j_obs_server *scale_in_target(const struct pl *x)
{
	const struct n4j_obs_server *t = NULL;
	for (size_t i = 0; i < x->o->n_servers; i++) {
		const struct n4j_obs_server *s = &x->o->servers[i];
		if (s->ordinal < x->n || dropped(s) || s->state == N4J_SERVER_FREE)
			continue;
		if (!t || s->ordinal > t->ordinal)
			t = s;
	}
	return t;
}

/*
 * Refusals come before anything else of a scale-in, databases included: a refused
 * spec.servers changes nothing. Once Deallocating, the removal cannot be undone, so
 * there is nothing left to refuse.
 */
static bool scale_in_refusal(struct pl *x)
{
	const struct n4j_obs_server *t = scale_in_target(x);
	if (!t || (t->state != N4J_SERVER_ENABLED && t->state != N4J_SERVER_CORDONED))
		return false;
	return scale_in_refused(x, t);
}

static bool scale_in(struct pl *x)
{
	int want = x->p->replicas;
	int live = x->w->sts_replicas;
	if (live < want) {
		struct n4j_step *s = step(x, N4J_STEP_SET_REPLICAS, "RestoringReplicas");
		s->replicas = want;
		s->message =
			fmt(x, "raising replicas to %d: pod %s still runs a server being removed",
			    want, pod_name(x, want - 1));
		return true;
	}
	if (live > want) {
		struct n4j_step *s = step(x, N4J_STEP_SET_REPLICAS, "ScalingIn");
		s->replicas = want;
		s->message = fmt(x,
				 "lowering replicas from %d to %d: the servers above are dropped "
				 "or were never enabled",
				 live, want);
		return true;
	}
	/* Claims of removed ordinals, highest first, once their pod is gone: a dropped
	 * identity must never start again. */
	bool pod_pending = false;
	const struct n4j_obs_claim *claim = NULL;
	for (size_t i = 0; i < x->w->n_claims; i++) {
		const struct n4j_obs_claim *c = &x->w->claims[i];
		if (c->ordinal < want || c->deleting)
			continue;
		if (pod_at(x, c->ordinal)) {
			pod_pending = true;
			continue;
		}
		if (!claim || c->ordinal > claim->ordinal)
			claim = c;
	}
	if (claim) {
		struct n4j_step *s = step(x, N4J_STEP_DELETE_CLAIM, "ScalingIn");
		s->claim = claim->name;
		s->message = fmt(x, "deleting claim %s: its server was dropped or never enabled",
				 claim->name);
		return true;
	}
	const struct n4j_obs_server *t = scale_in_target(x);
	if (!t) {
		if (pod_pending) {
			wait_(x, "WaitingForPodTermination",
			      "waiting for the pods of removed servers to terminate before "
			      "deleting "
			      "their claims");
			return true;
		}
		if (x->w->op.kind == N4J_OP_SCALE_IN)
			clear_op(x);
		return false;
	}
	const char *blocked = health_gate(x, false);
	if (t->state == N4J_SERVER_DEALLOCATING) {
		wait_(x, "Deallocating",
		      fmt(x, "server %s is moving its databases away", srv_label(x, t)));
		set_op(x, N4J_OP_SCALE_IN, t->id);
		return true;
	}
	if (blocked) {
		wait_(x, "WaitingForHealthyCluster",
		      fmt(x, "removing server %s waits: %s", srv_label(x, t), blocked));
		return true;
	}
	struct n4j_step *s;
	switch (t->state) {
	case N4J_SERVER_ENABLED:
		s = step(x, N4J_STEP_CORDON_SERVER, "ScalingIn");
		s->message = fmt(x, "cordoning server %s to remove it", srv_label(x, t));
		break;
	case N4J_SERVER_CORDONED:
		s = step(x, N4J_STEP_DEALLOCATE, "ScalingIn");
		s->message = fmt(x, "moving the databases of server %s away", srv_label(x, t));
		break;
	case N4J_SERVER_DEALLOCATED:
		s = step(x, N4J_STEP_DROP_SERVER, "ScalingIn");
		s->message = fmt(x, "dropping server %s: it is Deallocated", srv_label(x, t));
		break;
	default:
		wait_(x, "WaitingForServer",
		      fmt(x, "server %s is %s: waiting for a state the scale-in knows",
			  srv_label(x, t), n4j_server_state_name(t->state)));
		return true;
	}
	s->server_id = t->id;
	set_op(x, N4J_OP_SCALE_IN, t->id);
	return true;
}

/* ---- a server dropped while still wanted ------------------------------------------------ */

/*
 * An ordinal < N whose pod runs an identity that is Dropped (a scale-in undone after the
 * drop): that identity can never rejoin. Its claim goes first (it is released when the
 * pod is gone), then the pod; the StatefulSet recreates both and a new Free server joins.
 */
static bool dropped_identity(struct pl *x)
{
	for (int k = 0; k < x->n; k++) {
		if (live_at(x, k))
			continue;
		/* Only while the dropped identity still answers: once its process stops, the
		 * pod may already run on a fresh claim, which must not be deleted again. */
		bool was_dropped = false;
		for (size_t i = 0; i < x->o->n_servers; i++) {
			const struct n4j_obs_server *s = &x->o->servers[i];
			was_dropped = was_dropped || (s->ordinal == k && dropped(s) && avail(s));
		}
		const struct n4j_obs_pod *pod = pod_at(x, k);
		if (!was_dropped || !pod)
			continue;
		for (size_t i = 0; i < x->w->n_claims; i++) {
			const struct n4j_obs_claim *c = &x->w->claims[i];
			if (c->ordinal == k && !c->deleting) {
				struct n4j_step *s =
					step(x, N4J_STEP_DELETE_CLAIM, "ReplacingDroppedServer");
				s->claim = c->name;
				s->message =
					fmt(x, "pod %s runs a dropped server: wiping its claim %s",
					    pod->name, c->name);
				return true;
			}
		}
		if (!pod->deleting) {
			struct n4j_step *s = step(x, N4J_STEP_DELETE_POD, "ReplacingDroppedServer");
			s->pod = pod->name;
			s->pod_uid = pod->uid;
			s->message =
				fmt(x, "pod %s runs a dropped server: restarting it on a new claim",
				    pod->name);
			return true;
		}
	}
	return false;
}

/* ---- rule 7: rolling change ---------------------------------------------------------- */

static int roll_rank(const struct pl *x, const struct n4j_obs_server *s)
{
	if (s->address && streq(s->address, x->o->system_leader))
		return 3;
	int rank = 0;
	for (size_t i = 0; i < x->o->n_copies; i++) {
		const struct n4j_obs_copy *c = &x->o->copies[i];
		if (!copy_of(c, s))
			continue;
		if (c->writer && !streq(c->database, "system"))
			rank = rank > 2 ? rank : 2;
		else if (c->role && strcasecmp(c->role, "primary") == 0)
			rank = rank > 1 ? rank : 1;
	}
	return rank;
}

static const char *const rank_words[] = {"secondary copies only", "a primary that leads nothing",
					 "a leader of user databases", "the system leader"};

static bool roll(struct pl *x)
{
	if (!x->w->roll_allowed || !outdated_pods(x))
		return false;
	if (!x->w->sts_current) {
		wait_(x, "WaitingForStatefulSet",
		      "the StatefulSet controller has not seen the new template yet");
		return true;
	}
	/* Never a second pod down: every pod there and ready, every server Available (those
	 * being removed too), on top of the health gate. */
	const char *blocked = community(x) ? NULL : health_gate(x, true);
	for (int k = 0; !community(x) && !blocked && k < x->n; k++)
		if (!pod_at(x, k))
			blocked = fmt(x, "pod %s does not exist", pod_name(x, k));
	for (size_t i = 0; !community(x) && !blocked && i < x->w->n_pods; i++) {
		const struct n4j_obs_pod *pod = &x->w->pods[i];
		/* The gate too: the pod restarted last counts as back only once it serves
		 * again (Ready), else the next deletion leaves two pods out of the Services. */
		if (!pod->containers_ready || pod->deleting)
			blocked = fmt(x, "pod %s is not ready", pod->name);
		else if (!pod->gate)
			blocked = fmt(x, "pod %s does not serve yet (readiness gate unset)",
				      pod->name);
	}
	for (size_t i = 0; !community(x) && !blocked && i < x->o->n_servers; i++) {
		const struct n4j_obs_server *s = &x->o->servers[i];
		if (!dropped(s) && s->ordinal >= 0 && !avail(s))
			blocked = fmt(x, "server %s is Unavailable", srv_label(x, s));
	}
	if (blocked) {
		wait_(x, "WaitingForHealthyCluster",
		      fmt(x, "the rolling change waits: %s", blocked));
		return true;
	}
	const struct n4j_obs_pod *best = NULL;
	int best_rank = 99, outdated = 0;
	for (size_t i = 0; i < x->w->n_pods; i++) {
		const struct n4j_obs_pod *pod = &x->w->pods[i];
		if (!pod->outdated || pod->ordinal >= x->n || pod->ordinal < 0 || pod->deleting)
			continue;
		outdated++;
		int rank = 0;
		if (!community(x)) {
			const struct n4j_obs_server *s = live_at(x, pod->ordinal);
			rank = s ? roll_rank(x, s) : 0;
		}
		/* Within a rank, the highest ordinal first: the same order as a scale-in. */
		if (rank < best_rank || (rank == best_rank && pod->ordinal > best->ordinal)) {
			best = pod;
			best_rank = rank;
		}
	}
	if (!best) {
		wait_(x, "WaitingForPodTermination", "an outdated pod is still terminating");
		return true;
	}
	struct n4j_step *s = step(x, N4J_STEP_DELETE_POD, "RollingUpdate");
	s->pod = best->name;
	s->pod_uid = best->uid;
	s->message = community(x)
			     ? fmt(x,
				   "restarting pod %s for the new revision (one server: downtime "
				   "until it is back)",
				   best->name)
			     : fmt(x, "restarting pod %s (%s) for the new revision, %d outdated",
				   best->name, rank_words[best_rank], outdated);
	set_op(x, N4J_OP_ROLL, best->name);
	return true;
}

/* ---- rule 8: what is still missing ---------------------------------------------------- */

static bool still_missing(struct pl *x)
{
	int n = community(x) ? 1 : x->n;
	for (int k = 0; k < n; k++) {
		const struct n4j_obs_pod *pod = pod_at(x, k);
		if (!pod) {
			wait_(x, "WaitingForPod",
			      fmt(x, "pod %s does not exist yet", pod_name(x, k)));
			return true;
		}
		if (pod->deleting) {
			wait_(x, "WaitingForPod", fmt(x, "pod %s is terminating", pod->name));
			return true;
		}
		if (!pod->containers_ready) {
			wait_(x, "WaitingForPod", fmt(x, "pod %s is not ready yet", pod->name));
			return true;
		}
		if (community(x))
			continue;
		const struct n4j_obs_server *s = live_at(x, k);
		if (!s) {
			wait_(x, "WaitingForServer",
			      fmt(x, "pod %s has not joined the cluster yet (not in SHOW SERVERS)",
				  pod->name));
			return true;
		}
		if (!server_healthy(x, s)) {
			wait_(x, "WaitingForServer",
			      fmt(x, "server %s is %s and %s%s", srv_label(x, s),
				  n4j_server_state_name(s->state),
				  n4j_server_health_name(s->health),
				  avail(s) && s->state == N4J_SERVER_ENABLED
					  ? ", its databases are not settled yet"
					  : ""));
			return true;
		}
	}
	if (!community(x)) {
		if (!x->o->system_leader) {
			wait_(x, "WaitingForSystemLeader", "the system database has no leader");
			return true;
		}
		const struct n4j_obs_database *d = unsettled_db(x);
		if (d) {
			wait_(x, "WaitingForDatabases",
			      fmt(x, "database %s is not settled yet", d->name));
			return true;
		}
	}
	return false;
}

/* ---- phase -------------------------------------------------------------------------------- */

static enum n4j_phase phase_of(const struct pl *x)
{
	const struct n4j_plan *p = x->p;
	const struct n4j_world *w = x->w;
	int n = community(x) ? 1 : x->n;
	if (x->sp->paused)
		return N4J_PHASE_PAUSED;
	if (p->degraded)
		return N4J_PHASE_DEGRADED;
	if (w->n_pods == 0 && w->sts_replicas <= 0)
		return N4J_PHASE_PENDING;
	if (p->ready)
		return N4J_PHASE_READY;
	if (w->op.kind == N4J_OP_FORM || (x->o->reachable && !community(x) && !ever_formed(x)))
		return N4J_PHASE_FORMING;
	if (w->sts_replicas != n || (!community(x) && servers_beyond(x)) ||
	    w->op.kind == N4J_OP_SCALE_IN || w->op.kind == N4J_OP_SCALE_OUT)
		return N4J_PHASE_SCALING;
	if (x->roll_inflight || p->op.kind == N4J_OP_ROLL || (w->roll_allowed && outdated_pods(x)))
		return N4J_PHASE_UPGRADING;
	if (w->n_pods == 0)
		return N4J_PHASE_PENDING;
	/* Formed, neither scaling nor rolling, and not ready: converging to the declared
	 * servers and databases. */
	return N4J_PHASE_FORMING;
}

/* ---- the planner ------------------------------------------------------------------------ */

static void plan_enterprise(struct pl *x)
{
	const struct n4j_world *w = x->w;
	struct n4j_plan *p = x->p;
	if (!x->o->reachable) {
		/* Without the snapshot nothing may be lowered: keep what runs. */
		p->replicas = w->sts_replicas > x->n ? w->sts_replicas : x->n;
	} else {
		p->replicas = wanted_replicas(x);
	}
	if (x->sp->paused) {
		p->replicas = w->sts_replicas >= 0 ? w->sts_replicas : x->n;
		step(x, N4J_STEP_HALT, "Paused")->message =
			"spec.paused is true: the operator changes nothing in Neo4j or the pods";
		return;
	}
	if (w->sts_replicas < x->n) {
		struct n4j_step *s = step(x, N4J_STEP_SET_REPLICAS,
					  w->sts_replicas > 0 ? "ScalingOut" : "Forming");
		s->replicas = x->n > p->replicas ? x->n : p->replicas;
		p->replicas = s->replicas;
		s->message = w->sts_replicas > 0 ? fmt(x, "raising replicas from %d to %d",
						       w->sts_replicas, x->n)
						 : fmt(x, "starting %d servers", x->n);
		set_op(x, w->sts_replicas > 0 ? N4J_OP_SCALE_OUT : N4J_OP_FORM,
		       fmt(x, "%d", s->replicas));
		return;
	}
	if (!x->o->reachable) {
		if (x->roll_inflight && !x->roll_expired) {
			roll_wait(x);
			return;
		}
		wait_(x, "WaitingForNeo4j",
		      fmt(x, "Neo4j is not reachable: %s",
			  x->o->error ? x->o->error : "no answer"));
		bool forming = w->op.kind == N4J_OP_FORM || w->n_pods == 0;
		bool op_running = w->op.kind != N4J_OP_NONE && w->op.kind != N4J_OP_FORM &&
				  w->now_ms - w->op.started_ms <= w->progress_deadline_ms;
		if (!forming && !op_running)
			degrade(x, "Neo4jUnreachable",
				fmt(x, "no server of the cluster answers: %s",
				    x->o->error ? x->o->error : "no answer"));
		return;
	}
	if (membership(x))
		return;
	if (x->roll_expired) {
		roll_wait(x);
		return;
	}
	if (scale_in_refusal(x)) {
		/*
		 * A refused scale-in changes nothing it would need, but the fix the refusal
		 * asks for (raise a 1-primary database's primaries, declare a database) must
		 * still go through: a database step that only adds is taken instead.
		 */
		struct n4j_step refused = x->p->step;
		if (databases(x) && only_adds(x, &x->p->step))
			return;
		x->p->step = refused;
		return;
	}
	if (databases(x))
		return;
	if (scale_in(x))
		return;
	if (dropped_identity(x))
		return;
	if (roll_wait(x))
		return;
	if (roll(x))
		return;
	if (still_missing(x))
		return;
	if (x->w->restore.present && !x->w->restore.resolved) {
		wait_(x, "WaitingForRestore",
		      "spec.restore: its source is not known yet (see the Restored condition); "
		      "the databases it may seed are not created");
		return;
	}
	step(x, N4J_STEP_NONE, "Ready")->message = "the cluster matches its spec";
}

static void plan_community(struct pl *x)
{
	const struct n4j_world *w = x->w;
	struct n4j_plan *p = x->p;
	p->replicas = 1;
	if (x->sp->paused) {
		p->replicas = w->sts_replicas >= 0 ? w->sts_replicas : 1;
		step(x, N4J_STEP_HALT, "Paused")->message =
			"spec.paused is true: the operator changes nothing in Neo4j or the pods";
		return;
	}
	if (w->sts_replicas != 1) {
		struct n4j_step *s = step(x, N4J_STEP_SET_REPLICAS,
					  w->sts_replicas > 1 ? "ScalingIn" : "Forming");
		s->replicas = 1;
		s->message = "a Community cluster runs exactly one server";
		if (w->sts_replicas <= 0)
			set_op(x, N4J_OP_FORM, "1");
		return;
	}
	if (roll_wait(x))
		return;
	if (roll(x))
		return;
	if (!x->o->reachable) {
		wait_(x, "WaitingForNeo4j",
		      fmt(x, "Neo4j is not reachable: %s",
			  x->o->error ? x->o->error : "no answer"));
		const struct n4j_obs_pod *pod = pod_at(x, 0);
		if (w->op.kind != N4J_OP_FORM && pod && pod->containers_ready)
			degrade(x, "Neo4jUnreachable",
				fmt(x, "pod %s is ready but Neo4j does not answer: %s", pod->name,
				    x->o->error ? x->o->error : "no answer"));
		return;
	}
	if (still_missing(x))
		return;
	step(x, N4J_STEP_NONE, "Ready")->message = "the server matches its spec";
}

int n4j_plan_next(const struct n4j_world *w, struct n4j_arena *a, struct n4j_plan *out,
		  struct n4j_error *err)
{
	if (!w || !a || !out || !w->cluster || !w->neo)
		return n4j_err(err, N4J_EINVAL,
			       "plan: world, cluster, snapshot and arena are required");
	memset(out, 0, sizeof(*out));
	struct pl x = {
		.w = w,
		.sp = &w->cluster->spec,
		.o = w->neo,
		.a = a,
		.p = out,
		.name = w->cluster->meta.name ? w->cluster->meta.name : "",
		.n = w->cluster->spec.servers,
	};
	out->op = w->op;
	if (compute_gates(&x) < 0)
		return n4j_err(err, N4J_ENOMEM, "plan: out of memory");
	judge_roll(&x);
	degraded_servers(&x);
	if (community(&x))
		plan_community(&x);
	else
		plan_enterprise(&x);
	out->ready = compute_ready(&x);
	out->available = available(&x);
	/* FORM and SCALE_OUT end when the cluster first converges. */
	if (out->ready && (out->op.kind == N4J_OP_FORM || out->op.kind == N4J_OP_SCALE_OUT))
		clear_op(&x);
	enum n4j_step_kind k = out->step.kind;
	out->progressing = !out->ready && k != N4J_STEP_HALT && k != N4J_STEP_REFUSE;
	out->phase = phase_of(&x);
	if (x.oom)
		return n4j_err(err, N4J_ENOMEM, "plan: out of memory");
	return 0;
}
