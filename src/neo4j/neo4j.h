/*
 * neo4j: driving Neo4j servers for the operator.
 *
 *   observe   SHOW SERVERS / SHOW DATABASES / SHOW ALIASES / dbms.components() on the
 *             `system` leader (Enterprise) or the one server (Community), parsed into one
 *             typed snapshot, struct n4j_observed
 *   plan      pure: n4j_plan_next(world) → the one next step, the StatefulSet replicas and
 *             the readiness gate each pod should carry, and the verdicts the controller
 *             turns into conditions. No I/O, no clock (now comes in the world), no globals.
 *   step      n4j_step_run executes exactly one Neo4j step (ENABLE, CORDON, DEALLOCATE
 *             with its DRYRUN first, DROP, CREATE/ALTER DATABASE, aliases, REALLOCATE)
 *             through the Bolt cluster handle. Kubernetes steps (replicas, delete a pod,
 *             delete a claim) are the controller's.
 *
 * The Bolt handle stays behind this header (forward-declared): the controller never
 * includes bolt.h. Everything a function returns lives in the arena passed in.
 * Functions return 0 or a negative N4J_E* / N4J_EBOLT_* code and fill struct n4j_error;
 * the admin password is never copied into an error, a log line or a step message.
 */
#ifndef N4J_NEO4J_H
#define N4J_NEO4J_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api/api.h"
#include "util/util.h"

/* ---- the observed Neo4j state ------------------------------------------------- */

enum n4j_server_state {
	N4J_SERVER_UNKNOWN = 0,
	N4J_SERVER_FREE,
	N4J_SERVER_ENABLED,
	N4J_SERVER_CORDONED,
	N4J_SERVER_DEALLOCATING,
	N4J_SERVER_DEALLOCATED,
	N4J_SERVER_DROPPED,
};
enum n4j_server_health {
	N4J_HEALTH_UNKNOWN = 0,
	N4J_HEALTH_AVAILABLE,
	N4J_HEALTH_UNAVAILABLE,
};

const char *n4j_server_state_name(enum n4j_server_state s); /* "Enabled"… as Neo4j prints */
const char *n4j_server_health_name(enum n4j_server_health h);

struct n4j_obs_server {
	const char *id;      /* serverId (UUID) */
	const char *name;    /* = id until renamed */
	const char *address; /* advertised Bolt "host:port" */
	const char *pod;     /* first DNS label of address ("graph-2"), or NULL */
	int ordinal;         /* from pod when it is "<cluster>-<k>", else -1 */
	enum n4j_server_state state;
	enum n4j_server_health health;
	const char *mode_constraint; /* NONE | PRIMARY | SECONDARY */
	size_t n_hosting, n_requested;
	const char **hosting;           /* database names */
	const char **requested_hosting; /* database names */
};

/* One row of SHOW DATABASES: one copy of a database on one server. */
struct n4j_obs_copy {
	const char *database;
	const char *address;   /* NULL when the server is unavailable */
	const char *server_id; /* serverID */
	const char *role;      /* primary | secondary | unknown */
	bool writer;
	const char *requested_status; /* online | offline */
	const char *current_status;   /* online, starting, store copying, … */
	const char *status_message;
};

struct n4j_obs_database {
	const char *name;
	const char *type; /* standard | system | composite */
	const char *requested_status;
	int requested_primaries, requested_secondaries; /* from the YIELD * columns */
	int current_primaries, current_secondaries;
	const char *writer_address; /* NULL without a writer */
	bool settled;               /* every copy: current_status == requested_status */
	bool is_default;
};

struct n4j_obs_alias {
	const char *name;
	const char *database;
};

struct n4j_observed {
	bool reachable;            /* Bolt answered (the leader, or the Community server) */
	bool enterprise;           /* dbms.components() edition */
	const char *version;       /* dbms.components() versions[0] */
	const char *system_leader; /* advertised address of the system writer; NULL = no quorum */
	size_t n_servers;
	struct n4j_obs_server *servers;
	size_t n_databases;
	struct n4j_obs_database *databases;
	size_t n_copies;
	struct n4j_obs_copy *copies;
	size_t n_aliases;
	struct n4j_obs_alias *aliases;
	const char *error; /* why reachable is false (no secrets), or NULL */
};

/* Lookups on a snapshot (NULL when absent). */
const struct n4j_obs_server *n4j_observed_server_by_id(const struct n4j_observed *o,
						       const char *id);
const struct n4j_obs_database *n4j_observed_database(const struct n4j_observed *o,
						     const char *name);

/* ---- the Kubernetes side, as the controller reads it from its caches ---------------- */

struct n4j_obs_pod {
	int ordinal;
	const char *name;
	const char *uid;
	const char *ip;        /* status.podIP, NULL before it has one */
	bool deleting;         /* metadata.deletionTimestamp set */
	bool containers_ready; /* condition ContainersReady=True */
	bool gate;             /* condition neo4j.graphops.io/server-ready=True */
	bool outdated;         /* controller-revision-hash != the StatefulSet's updateRevision */
};

struct n4j_obs_claim {
	int ordinal; /* data-<cluster>-<k> */
	const char *name;
	bool deleting;
};

/* The disruptive operation in flight, persisted in status.operation so that a new
 * operator process (after kill -9) judges the same deadline. */
enum n4j_op_kind {
	N4J_OP_NONE = 0,
	N4J_OP_ROLL,      /* target: the pod deleted for a rolling change */
	N4J_OP_SCALE_IN,  /* target: the server being removed */
	N4J_OP_SCALE_OUT, /* target: the replicas reached */
	N4J_OP_FORM,
};

struct n4j_operation {
	enum n4j_op_kind kind;
	const char *target;
	int64_t started_ms; /* wall clock, ms since the epoch */
};

/*
 * spec.restore as the controller resolved it (backupRef → the backup's target URI and the
 * databases of its last successful run). The planner reads spec.databases[].seedURI
 * itself; only the restore needs the controller (a Neo4jBackup and status.restore).
 */
struct n4j_restore_db {
	const char *database;
	const char *uri;           /* seedURI */
	const char *restore_until; /* seedRestoreUntil, or NULL: the latest */
	bool done; /* seeded or recreated under the current restore key (status.restore) */
};

struct n4j_restore_req {
	bool present;  /* spec.restore is set */
	bool resolved; /* source and databases known; false: held (the controller says why) */
	bool replace;  /* spec.restore.replace */
	size_t n;      /* when !resolved: the names known so far (spec.restore.databases) */
	const struct n4j_restore_db *dbs;
};

struct n4j_world {
	const struct n4j_cluster *cluster; /* validated, defaulted spec */
	int64_t now_ms;
	int64_t progress_deadline_ms; /* per step; from spec.progressDeadlineSeconds */
	int sts_replicas;             /* live StatefulSet spec.replicas; -1 when absent */
	bool sts_current;             /* its status.observedGeneration == metadata.generation */
	size_t n_pods;
	struct n4j_obs_pod *pods; /* every pod of the cluster, any ordinal */
	size_t n_claims;
	struct n4j_obs_claim *claims;
	const struct n4j_observed *neo; /* never NULL; neo->reachable false when not reached */
	struct n4j_operation op;
	bool roll_allowed; /* false while UpdatePending: outdated pods are not rolled */
	struct n4j_restore_req restore;
};

/* ---- the plan ------------------------------------------------------------------ */

enum n4j_step_kind {
	N4J_STEP_NONE = 0, /* converged: nothing to do */
	N4J_STEP_WAIT,     /* something is in progress (reason says what); requeue soon */
	N4J_STEP_REFUSE,   /* the spec asks for an unsafe change: nothing is done */
	N4J_STEP_HALT,     /* degraded or paused: no disruptive step until it changes */
	/* Kubernetes steps, run by the controller */
	N4J_STEP_SET_REPLICAS, /* replicas */
	N4J_STEP_DELETE_POD,   /* pod, pod_uid: one pod of a rolling change */
	N4J_STEP_DELETE_CLAIM, /* claim: the dropped ordinal's PVC */
	/* Neo4j steps, run by n4j_step_run */
	N4J_STEP_ENABLE_SERVER,   /* server_id, mode */
	N4J_STEP_CORDON_SERVER,   /* server_id */
	N4J_STEP_DEALLOCATE,      /* server_id: DRYRUN first, every row must have a target */
	N4J_STEP_DROP_SERVER,     /* server_id: only Deallocated */
	N4J_STEP_CREATE_DATABASE, /* database, primaries, secondaries */
	N4J_STEP_ALTER_TOPOLOGY,  /* database, primaries, secondaries */
	N4J_STEP_CREATE_ALIAS,    /* alias, database */
	N4J_STEP_ALTER_ALIAS,     /* alias, database */
	N4J_STEP_REALLOCATE,      /* DRYRUN first */
	N4J_STEP_SEED_CREATE,     /* database, primaries, secondaries, seed_uri[, seed_until] */
	N4J_STEP_RECREATE,        /* database, seed_uri, procedure: replace a database's store */
};

const char *n4j_step_kind_name(enum n4j_step_kind k); /* "EnableServer"… */
bool n4j_step_is_kube(enum n4j_step_kind k);
/* Disruptive: may take a copy or a server away (pod delete, deallocate, drop, claim). */
bool n4j_step_is_disruptive(enum n4j_step_kind k);

struct n4j_step {
	enum n4j_step_kind kind;
	const char *server_id;
	const char *pod, *pod_uid;
	const char *claim;
	const char *database;
	const char *alias;
	const char *mode; /* modeConstraint for ENABLE: NONE | PRIMARY | SECONDARY */
	int primaries, secondaries;
	int replicas;
	const char *reason;     /* CamelCase: the Event / condition reason */
	const char *message;    /* for humans; names the field path of a refusal */
	const char *field;      /* REFUSE: the spec field path, e.g. "spec.servers" */
	const char *seed_uri;   /* SEED_CREATE, RECREATE */
	const char *seed_until; /* SEED_CREATE: seedRestoreUntil (2025.01+), or NULL */
	/* RECREATE: "dbms.recreateDatabase" (2025.04+) or "dbms.cluster.recreateDatabase"
	 * (5.26 to 2025.03); the step refuses any other name. */
	const char *procedure;
	bool restore; /* SEED_CREATE/RECREATE of a spec.restore database (not a declared seedURI) */
};

/* The gate each pod should carry. */
struct n4j_gate {
	const char *pod;
	bool ready;
};

enum n4j_phase {
	N4J_PHASE_PENDING = 0,
	N4J_PHASE_FORMING,
	N4J_PHASE_READY,
	N4J_PHASE_UPGRADING,
	N4J_PHASE_SCALING,
	N4J_PHASE_DEGRADED,
	N4J_PHASE_PAUSED,
};
const char *n4j_phase_name(enum n4j_phase p);

struct n4j_plan {
	struct n4j_step step;
	int replicas; /* what the StatefulSet should have now (servers + those still draining) */
	size_t n_gates;
	struct n4j_gate *gates;
	enum n4j_phase phase;
	bool ready;     /* every server Enabled/Available, gated, every database settled */
	bool available; /* the system database has a leader and clients can connect */
	bool progressing;
	bool degraded; /* a step missed its deadline, or a server is lost */
	const char *degraded_reason, *degraded_message;
	struct n4j_operation op; /* the operation to persist (kind NONE: clear it) */
};

/*
 * The one next step for the world w. Pure: the same world gives the same plan. Safe by
 * construction: never drops a server that hosts a database, never deallocates the last
 * copy of one, never deletes a pod while another server is unhealthy, never plans
 * `automatically_enable_free_servers`-like shortcuts.
 */
int n4j_plan_next(const struct n4j_world *w, struct n4j_arena *a, struct n4j_plan *out,
		  struct n4j_error *err);

/* ---- talking to Neo4j ---------------------------------------------------------- */

/* Maps an advertised "host:port" to the "ip:port" to dial (DESIGN 8.14); 0 or an error. */
typedef int (*n4j_neo4j_resolver)(void *ctx, const char *advertised, char *out, size_t outlen);

struct n4j_neo4j_opts {
	bool enterprise;
	const char *const *seeds; /* advertised "host:7687" of the pods that exist, NULL-ended */
	n4j_neo4j_resolver resolve;
	void *resolve_ctx;
	const char *user;     /* "neo4j" */
	const char *password; /* borrowed; copied into the handle, never logged */
	bool tls;             /* bolt+s with ca_file, verifying the advertised name */
	const char *ca_file;
	int timeout_ms; /* connect and per request; default 5000 */
};

struct n4j_neo4j; /* one per cluster: the Bolt cluster handle and its pool */
int n4j_neo4j_open(const struct n4j_neo4j_opts *o, struct n4j_neo4j **out, struct n4j_error *err);
void n4j_neo4j_close(struct n4j_neo4j *n);
/* True when the handle was opened with these options (seeds, password, tls); else reopen. */
bool n4j_neo4j_matches(const struct n4j_neo4j *n, const struct n4j_neo4j_opts *o);

/*
 * Reads the snapshot. A server that cannot be reached is not an error: out->reachable
 * false and out->error say why (the planner then waits). cluster names the pods
 * ("<name>-<k>") so that every server gets its ordinal.
 */
int n4j_observe(struct n4j_neo4j *n, struct n4j_arena *a, const struct n4j_cluster *cluster,
		struct n4j_observed *out, struct n4j_error *err);

/*
 * Runs one Neo4j step (n4j_step_is_kube(kind) false) on the system leader, re-routing on
 * NotALeader. DEALLOCATE and REALLOCATE run their DRYRUN first and stop (N4J_EINVAL, with
 * the DRYRUN's words in err) when a row has no destination. Idempotent where Neo4j allows:
 * ENABLE of an Enabled server, CREATE DATABASE … IF NOT EXISTS.
 */
int n4j_step_run(struct n4j_neo4j *n, struct n4j_arena *a, const struct n4j_step *s,
		 struct n4j_error *err);
/* True when n4j_step_run's rc means the step will not work as it is (Neo4j answered a
 * FAILURE, or the step was refused before sending); false for a lost connection, whose
 * outcome the next observation tells. */
bool n4j_step_refused(int rc);

/*
 * What ended the last n4j_observe (not reachable) or failed n4j_step_run on n, for the
 * Bolt error metrics: NONE after a success or an error that is not Bolt's (input, memory).
 * For FAILURE, *code (if code is not NULL) is Neo4j's code, "Neo.ClientError.…", owned by
 * n until its next call; "" otherwise.
 */
enum n4j_neo4j_error_kind {
	N4J_NEO4J_ERR_NONE = 0,
	N4J_NEO4J_ERR_FAILURE,  /* the server answered FAILURE */
	N4J_NEO4J_ERR_NETWORK,  /* connect, name resolution, TLS, timeout, connection lost */
	N4J_NEO4J_ERR_PROTOCOL, /* malformed or unexpected messages, no common version */
};
enum n4j_neo4j_error_kind n4j_neo4j_last_error(const struct n4j_neo4j *n, const char **code);

#endif
