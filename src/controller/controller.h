/*
 * controller: the Neo4jCluster and Neo4jBackup reconcilers.
 *
 * One reconcile, level-triggered (DESIGN §3): read the CR from the cache → validate (api/)
 * → render (render/) → server-side apply only the objects whose spec hash differs or that
 * drifted → observe pods (cache) and Neo4j (neo4j/) → plan (pure) → run at most one
 * disruptive step → set readiness gates → write status only when it changed → Events on
 * transitions and refusals. Nothing lives only in memory: a kill -9 at any instant loses
 * nothing (the step in flight is in status.operation).
 *
 * The reconcile function has the shape of a workqueue work function (kube.h n4j_work_fn):
 * it returns 0 (done), > 0 (requeue after that many ms) or < 0 (error: rate-limited retry).
 * Safe to call from several workers at once for different keys.
 */
#ifndef N4J_CONTROLLER_H
#define N4J_CONTROLLER_H

#include <stdatomic.h>
#include <stdbool.h>

#include "api/api.h"
#include "kube/kube.h"
#include "render/render.h"
#include "util/util.h"

/* Reads the informer caches without knowing how many there are (one per watched
 * namespace per kind). Both return new references / hold them for the call. */
struct n4j_caches {
	/* The cached object "ns/name" of kind r, or NULL. */
	struct n4j_cached *(*get)(void *ud, const struct n4j_kube_resource *r, const char *key);
	/* Every cached object of kind r in ns labelled app.kubernetes.io/instance=instance. */
	void (*each)(void *ud, const struct n4j_kube_resource *r, const char *ns,
		     const char *instance, void (*fn)(void *fud, struct n4j_cached *o), void *fud);
	void *ud;
};

struct n4j_controller_config {
	struct n4j_kube_client *kube;
	struct n4j_recorder *recorder; /* may be NULL in tests: no Events */
	const struct n4j_schemas *schemas;
	struct n4j_render_facts facts;
	struct n4j_caches caches;
	/* NULL without leader election; else disruptive steps need n4j_leader_fresh(). */
	struct n4j_leader *leader;
	/* Set on SIGTERM: finish the step in flight, start no new one. */
	const atomic_bool *stopping;
	long resync_ms;      /* requeue of a converged cluster; default 60000 */
	long progress_ms;    /* requeue while something progresses; default 2000 */
	int bolt_timeout_ms; /* default 5000 */
	/* Test hook: the render version this build claims (default N4J_RENDER_VERSION). */
	const char *render_version;
};

struct n4j_controller;
int n4j_controller_new(const struct n4j_controller_config *cfg, struct n4j_controller **out,
		       struct n4j_error *err);
void n4j_controller_free(struct n4j_controller *c);

/* The work function for Neo4jCluster keys "ns/name" (ud = struct n4j_controller *). */
long n4j_reconcile_cluster(void *ud, const char *key);

/*
 * The work function for Neo4jBackup keys "ns/name" (ud = struct n4j_controller *): the
 * CronJob (or one-shot Job) and the backup PVC, and the status read from the Jobs
 * (docs/controller.md, "The Neo4jBackup controller"). Returns as n4j_reconcile_cluster.
 */
long n4j_reconcile_backup(void *ud, const char *key);

/* Counters for /metrics and tests (monotonic). */
enum n4j_ctl_kind { N4J_CTL_CLUSTER = 0, N4J_CTL_BACKUP = 1, N4J_CTL_KINDS };
/* Bolt errors by class: Neo4j's classification from the FAILURE code
 * (Neo.<Class>.<Category>.<Title>), or where no FAILURE came back, the transport. */
enum n4j_bolt_error_class {
	N4J_BOLT_CLIENT_ERROR = 0, /* Neo.ClientError.* (incl. Security) */
	N4J_BOLT_TRANSIENT_ERROR,  /* Neo.TransientError.* */
	N4J_BOLT_DATABASE_ERROR,   /* Neo.DatabaseError.* */
	N4J_BOLT_NETWORK,          /* connect, TLS, read/write, timeout */
	N4J_BOLT_PROTOCOL,         /* malformed message, unexpected reply */
	N4J_BOLT_CLASSES
};
const char *n4j_bolt_error_class_name(enum n4j_bolt_error_class c); /* "ClientError"… */
#define N4J_CTL_MAX_STEP_KINDS 32
struct n4j_controller_stats {
	uint64_t reconciles, errors, steps, refusals, status_writes, applies;
	struct {
		const char *name; /* controller label: "neo4jcluster", "neo4jbackup" */
		/* controller_runtime_reconcile_total{result}: 0 → success, > 0 → requeue_after,
		 * < 0 → error (errors also count in errors_total); requeue (immediate) is 0 here. */
		uint64_t success, error, requeue, requeue_after;
		uint64_t terminal_errors; /* refusals that no retry fixes (Stalled) */
		uint64_t active_workers;  /* reconciles of this kind running now */
		struct n4j_histogram_snapshot reconcile_time;
	} kinds[N4J_CTL_KINDS];
	/* neo4j_operator_steps_total{step}: step kind name → count, kinds never run omitted. */
	struct {
		const char *name; /* n4j_step_kind_name() */
		uint64_t count;
	} step_counts[N4J_CTL_MAX_STEP_KINDS];
	size_t n_step_counts;
	uint64_t rolling_pod_deletions; /* DeletePod steps of a rolling change */
	uint64_t bolt_errors[N4J_BOLT_CLASSES];
};
void n4j_controller_stats(const struct n4j_controller *c, struct n4j_controller_stats *out);

#endif
