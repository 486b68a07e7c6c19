/*
 * Private to src/controller: the pieces of the Neo4jCluster pipeline (cluster.c), each in
 * its own file, and the pure parts the unit tests call directly (tests/controller/).
 */
#ifndef N4J_CONTROLLER_INTERNAL_H
#define N4J_CONTROLLER_INTERNAL_H

#include <pthread.h>

#include "controller/controller.h"
#include "neo4j/neo4j.h"

#define CTL "controller" /* log component */

/* Condition types (kstatus + ours) and the annotations the controller reads. */
#define CT_READY             "Ready"
#define CT_AVAILABLE         "Available"
#define CT_PROGRESSING       "Progressing"
#define CT_RECONCILING       "Reconciling"
#define CT_DEGRADED          "Degraded"
#define CT_STALLED           "Stalled"
#define CT_UPDATE_PENDING    "UpdatePending"
#define CT_RESTORED          "Restored"
#define N4J_ANN_GENERATED_PW N4J_GROUP "/generated-password"
#define N4J_LABEL_REVISION   "controller-revision-hash"

/* ---- cJSON helpers (json.c) ------------------------------------------------------- */

/* Ties j's lifetime to the arena (j is deleted at once if that fails: N4J_ENOMEM). */
int ctl_arena_json(struct n4j_arena *a, cJSON *j);
/* o[path[0]][path[1]]…, or NULL. */
const cJSON *ctl_jget(const cJSON *o, const char *const *path, size_t n);
#define CTL_JGET(o, ...)                                                                           \
	ctl_jget((o), (const char *const[]){__VA_ARGS__},                                          \
		 sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *))

/* ---- the controller and its per-cluster state (controller.c) --------------------- */

/* Maps an advertised host to the pod IP: refreshed from the pod cache every reconcile. */
struct ctl_resolver {
	size_t n;
	char **pods; /* pod names */
	char **ips;
};

/* What one cluster keeps between reconciles: the Bolt handle only (and what it borrows). */
struct ctl_entry {
	char *uid, *key;
	struct n4j_neo4j *neo;
	struct ctl_resolver resolver; /* the handle's resolve_ctx: lives as long as the entry */
	char *ca_file;                /* private copy of the TLS CA for the handle, or NULL */
	char *ca_sha;                 /* its content hash, to notice a rotated CA */
	struct ctl_entry *next;
};

struct n4j_controller {
	struct n4j_controller_config cfg;
	pthread_mutex_t mu; /* guards entries */
	struct ctl_entry *entries;
	_Atomic uint64_t reconciles, errors, steps, refusals, status_writes, applies;
	/* /metrics (n4j_controller_stats): per kind, then per step kind and Bolt error class. */
	struct ctl_kind_stats {
		_Atomic uint64_t success, error, requeue_after, terminal_errors, active_workers;
		struct n4j_histogram reconcile_time;
	} kind[N4J_CTL_KINDS];
	_Atomic uint64_t step_counts[N4J_CTL_MAX_STEP_KINDS]; /* by enum n4j_step_kind */
	_Atomic uint64_t rolling_pod_deletions;
	_Atomic uint64_t bolt_errors[N4J_BOLT_CLASSES];
};

/* A refusal that sets Stalled (no retry fixes it): refusals and terminal errors of kind. */
void ctl_count_refusal(struct n4j_controller *c, enum n4j_ctl_kind kind);
/* A step that ran: steps, steps by kind, and a DeletePod as a rolling deletion. */
void ctl_count_step(struct n4j_controller *c, enum n4j_step_kind kind);
/* After a failed observe or step on n: its Bolt error by class (nothing if not Bolt's). */
void ctl_count_bolt_error(struct n4j_controller *c, const struct n4j_neo4j *n);
/* The Bolt error class of a neo4j-layer error kind and FAILURE code; false: not Bolt's. */
bool ctl_bolt_error_class(enum n4j_neo4j_error_kind kind, const char *code,
			  enum n4j_bolt_error_class *out);

/* The entry of uid (created when absent; an entry of key with another uid is dropped). */
struct ctl_entry *ctl_entry_get(struct n4j_controller *c, const char *key, const char *uid);
/* Drops (closes) every entry of key: the CR is gone. */
void ctl_entry_drop(struct n4j_controller *c, const char *key);

/* ---- conditions (conditions.c, pure) ---------------------------------------------- */

struct ctl_conds {
	struct n4j_arena *a;
	const struct n4j_cluster_status *prev; /* the live status (may have no conditions) */
	int64_t generation;
	const char *now; /* RFC 3339, for transitions */
	size_t n;
	struct n4j_condition items[12];
};

void ctl_conds_init(struct ctl_conds *cs, struct n4j_arena *a,
		    const struct n4j_cluster_status *prev, int64_t generation, const char *now);
/*
 * Sets a condition: lastTransitionTime is kept from the previous condition of that type
 * unless its status flips (or it had none); observedGeneration is the generation read at
 * the start of the reconcile.
 */
void ctl_cond_set(struct ctl_conds *cs, const char *type, enum n4j_cond_status st,
		  const char *reason, const char *message);
/* The previous condition of type, or NULL. */
const struct n4j_condition *ctl_cond_find(const struct n4j_condition *c, size_t n,
					  const char *type);

/* ---- status (status.c) ------------------------------------------------------------ */

/* A merge patch turning old into new (NULL when equal); keys gone from new become null. */
cJSON *ctl_merge_diff(const cJSON *old_obj, const cJSON *new_obj, bool *oom);
/* The body {"status": diff} to send, or NULL (and *changed false) when nothing changed. */
/* The merge patch {"status": diff} that turns live_status into want (which it frees);
 * *changed false and *patch NULL when they are equal. Both kinds' status writes use it. */
/* The work-function shell of both kinds: counters, one arena per reconcile, errors. */
long ctl_reconcile_with_arena(void *ud, enum n4j_ctl_kind kind, const char *key,
			      long (*fn)(struct n4j_controller *c, const char *key,
					 struct n4j_arena *a));

int ctl_status_patch_json(const cJSON *live_status, cJSON *want, cJSON **patch, bool *changed,
			  struct n4j_error *err);
int ctl_status_patch(const cJSON *live_status, const struct n4j_cluster_status *st, cJSON **patch,
		     bool *changed, struct n4j_error *err);

/* What status.c needs besides the plan. */
struct ctl_status_in {
	const struct n4j_cluster *cluster;
	const struct n4j_cluster_status *prev;
	const struct n4j_observed *neo;
	const struct n4j_plan *plan;
	int sts_ready_replicas; /* live StatefulSet status.replicas */
};
int ctl_status_build(struct n4j_arena *a, const struct ctl_status_in *in,
		     struct n4j_cluster_status *out);
/* First DNS label of an advertised "host:port" (the pod name), in the arena. */
const char *ctl_pod_of(struct n4j_arena *a, const char *address);
/* Operation kind <-> status.operation.kind. */
const char *ctl_op_kind_name(enum n4j_op_kind k);
enum n4j_op_kind ctl_op_kind_parse(const char *s);
/* "2006-01-02T15:04:05Z" (or with fractional seconds) to ms since the epoch; -1 if bad. */
int64_t ctl_parse_time_ms(const char *s);

/* ---- the UpdatePending rule (rollout.c, pure) ------------------------------------- */

struct ctl_sts_marks { /* annotations of the live StatefulSet (NULL: absent) */
	const char *render_version, *generation, *rollout, *spec_hash;
};
/*
 * True when applying our StatefulSet would roll pods only because the operator changed:
 * the live object carries another render version but the CR generation and rollout value
 * it was rendered from are the current ones, and our object differs. Then the roll waits
 * (UpdatePending) until the user changes the spec or the rollout annotation.
 */
bool ctl_update_pending(const struct ctl_sts_marks *live, const char *our_render_version,
			int64_t cr_generation, const char *cr_rollout, const char *our_hash);

/* ---- the admin password (secrets.c) ----------------------------------------------- */

#define CTL_PASSWORD_LEN 24
/* CTL_PASSWORD_LEN random characters from [A-Za-z0-9_-] (no '/', no newline) and a NUL. */
int ctl_password_generate(char out[CTL_PASSWORD_LEN + 1]);

enum ctl_secret_result { CTL_SECRET_OK = 0, CTL_SECRET_MISSING, CTL_SECRET_NO_KEY };
/*
 * The admin password (malloc'd; n4j_wipe_free it) in *password. Creates the generated
 * Secret from `rendered` (the Secret render emits, without data) when absent; fills its
 * key when a generated Secret has none. *res says why a user Secret gives none.
 */
int ctl_admin_password(struct n4j_controller *c, const struct n4j_cluster *cl,
		       const cJSON *rendered, char **password, enum ctl_secret_result *res,
		       struct n4j_kube_error *e);
/* The decoded value of data[key] of a Secret (malloc'd; wipe it), or NULL. */
char *ctl_secret_value(const cJSON *secret, const char *key);

/* ---- status.tls (certs.c) ------------------------------------------------------------ */

#define CTL_CERT_PEM_MAX    (1 << 20)    /* a Secret holds at most 1 MiB */
#define CTL_CERT_EXPIRING_S (14 * 86400) /* the CertificateExpiring Event's window */

/* The public fields of a certificate that status.tls shows. */
struct ctl_cert {
	int64_t not_before_s, not_after_s; /* epoch seconds */
	size_t n_dns_names;                /* at most N4J_TLS_DNS_MAX, printable ASCII */
	const char **dns_names;            /* in the arena */
};
/* Pure: the first certificate of PEM text (the leaf of a chain). N4J_EINVAL when there is
 * none or it cannot be read (garbage, a key alone, bad dates). */
int ctl_cert_parse(struct n4j_arena *a, const char *pem, size_t len, struct ctl_cert *out,
		   struct n4j_error *err);
/* notAfter is less than CTL_CERT_EXPIRING_S away (or past). */
bool ctl_cert_expiring(int64_t not_after_s, int64_t now_s);
/* Pure: the status.tls entry of cl's TLS Secret holding cert. */
int ctl_tls_entry(struct n4j_arena *a, const struct n4j_cluster *cl, const struct ctl_cert *cert,
		  int64_t now_s, struct n4j_tls_status *out);
/* st->tls from the TLS Secret (already read; NULL: absent or unreadable): empty when TLS is
 * off or the Secret holds no valid tls.crt. < 0 only on ENOMEM. */
int ctl_tls_status(struct n4j_arena *a, const struct n4j_cluster *cl, const cJSON *secret,
		   int64_t now_s, struct n4j_cluster_status *st);

/* ---- apply (apply.c) -------------------------------------------------------------- */

struct ctl_apply_out {
	bool update_pending;
	int applied;                /* write requests made */
	cJSON *sts_live;            /* the cached StatefulSet (parsed; arena-owned) or NULL */
	const char *update_message; /* for the UpdatePending condition */
};
/*
 * Applies the rendered objects (but the Secret) that are absent, whose spec hash differs,
 * or that drifted; the StatefulSet keeps its live replicas and is held back when
 * ctl_update_pending says so. paused: nothing is applied.
 */
int ctl_apply(struct n4j_controller *c, struct n4j_arena *a, const struct n4j_cluster *cl,
	      cJSON *rendered, struct ctl_apply_out *out, struct n4j_kube_error *e);
/* The live object from the cache, else from the apiserver; NULL (and 0) when absent. */
int ctl_live_object(struct n4j_controller *c, struct n4j_arena *a,
		    const struct n4j_kube_resource *r, const char *ns, const char *name,
		    cJSON **out, struct n4j_kube_error *e);
/* Whether live is absent or its spec hash differs from the rendered obj's. */
bool ctl_spec_differs(const cJSON *obj, const cJSON *live);
/* The descriptor of a rendered object's kind, or NULL. */
const struct n4j_kube_resource *ctl_resource_of(const cJSON *obj);
/* metadata.annotations[key] of obj, or NULL. */
const char *ctl_annotation(const cJSON *obj, const char *key);
/* Sets the render version (test hook) on a rendered StatefulSet and re-stamps its hash. */
int ctl_restamp_render_version(cJSON *sts, const char *version);

/* ---- pods and claims (pods.c) ------------------------------------------------------ */

struct ctl_pods {
	size_t n_pods;
	struct n4j_obs_pod *pods;
	size_t n_claims;
	struct n4j_obs_claim *claims;
};
/* The cluster's server pods and data claims from the caches, ordered by ordinal. */
int ctl_observe_pods(struct n4j_controller *c, struct n4j_arena *a, const struct n4j_cluster *cl,
		     const cJSON *sts_live, struct ctl_pods *out);
/* The ordinal k of "<prefix>-<k>" (prefix = cluster name, or "data-<cluster>"), or -1. */
int ctl_ordinal(const char *name, const char *prefix);
/* Sets each pod's readiness gate that differs from the plan; returns the writes made. */
int ctl_set_gates(struct n4j_controller *c, struct n4j_arena *a, const struct n4j_cluster *cl,
		  const struct ctl_pods *p, const struct n4j_plan *plan, int *writes,
		  struct n4j_kube_error *e);
/* The strategic merge patch body of one gate condition (pure; arena string). */
char *ctl_gate_patch(struct n4j_arena *a, bool ready, const char *now);

/* ---- Neo4j (neo.c) --------------------------------------------------------------- */

/* Opens (or reuses) the entry's handle and observes; out->reachable false with out->error
 * when Neo4j cannot be asked (no pods, no password, no CA, no answer). tls_secret: the TLS
 * Secret the reconcile read (NULL: unreadable; unused without spec.tls). < 0 only on ENOMEM. */
int ctl_neo_observe(struct n4j_controller *c, struct n4j_arena *a, struct ctl_entry *en,
		    const struct n4j_cluster *cl, const struct ctl_pods *p, const char *password,
		    const cJSON *tls_secret, struct n4j_observed *out);

/* ---- spec.restore (restore.c) --------------------------------------------------------- */

#define CTL_RESTORE_KEY_LEN 16

/* spec.restore resolved for one reconcile. */
struct ctl_restore {
	struct n4j_restore_req req; /* the planner's part (world.restore) */
	const char *key;            /* first 16 hex of sha256(canonical spec.restore) */
	const char *uri, *source;   /* the seed URI (status.restore.source) */
	/* !req.resolved: why. refused: BackupNotFound, BackupInvalid, RestoreSourceUnsupported,
	 * RestoreRefused (Stalled); else waiting: NoBackupYet. */
	bool hold_refused;
	const char *hold_reason, *hold_message;
	const char *endpoint, *region; /* the Neo4jBackup target's, for the seed storage */
};

/* The key of a spec.restore object: canonical JSON (keys sorted), sha256, 16 hex. */
int ctl_restore_key(const cJSON *restore, char out[CTL_RESTORE_KEY_LEN + 1]);
/* Resolves spec.restore (reads the Neo4jBackup from the cache, else the apiserver), with
 * `done` from prev (status.restore under the same key). 0, or < 0 to retry. */
int ctl_restore_resolve(struct n4j_controller *c, struct n4j_arena *a, const struct n4j_cluster *cl,
			const struct n4j_restore_status *prev, struct ctl_restore *r);
/* Pure: backupRef against the Neo4jBackup object (NULL: not found). */
int ctl_restore_from_backup(struct n4j_arena *a, const struct n4j_schemas *schemas,
			    const struct n4j_cluster *cl, const cJSON *backup,
			    struct ctl_restore *r);

struct ctl_restore_status_in {
	const struct ctl_restore *rs;
	const struct n4j_restore_status *prev;
	const struct n4j_plan *plan;
	const struct n4j_observed *neo;
	bool ran;               /* the plan's step ran */
	bool step_failed;       /* Neo4j refused the plan's step (a FAILURE answer) */
	const char *step_error; /* its words */
	const char *now;        /* RFC 3339 */
};
/* status.restore (phase NULL when spec.restore is absent). Pure. */
int ctl_restore_status(struct n4j_arena *a, const struct ctl_restore_status_in *in,
		       struct n4j_restore_status *out);
/* The Restored condition (and Stalled for a source the controller refuses). */
void ctl_restore_condition(const struct ctl_restore *r, const struct n4j_restore_status *st,
			   const struct n4j_plan *plan, struct ctl_conds *cs);

/* ---- Kubernetes steps (steps.c) ----------------------------------------------------- */

int ctl_kube_step(struct n4j_controller *c, const struct n4j_cluster *cl, const struct n4j_step *s,
		  const struct ctl_pods *p, struct n4j_kube_error *e);

/* ---- backups: the schedule (cron.c, pure but for ctl_zone_load) ------------------------ */

/* A 5-field schedule as robfig/cron's ParseStandard reads it (what the CronJob controller
 * runs): bit v of a field set when value v matches; bit 63 marks a "*" (day-of-month and
 * day-of-week combine with AND when either has it, else OR). */
struct ctl_cron {
	uint64_t minute, hour, dom, month, dow;
};
int ctl_cron_parse(const char *spec, struct ctl_cron *out, struct n4j_error *err);

/* A time zone from a TZif file (v1-v3, with its footer rule). */
struct ctl_zone;
/* name NULL, "" or "UTC": UTC. Else $ZONEINFO/<name> or /usr/share/zoneinfo/<name>;
 * N4J_ENOTFOUND for an unknown zone. */
int ctl_zone_load(const char *name, struct ctl_zone **out, struct n4j_error *err);
int ctl_zone_parse(const unsigned char *data, size_t len, struct ctl_zone **out,
		   struct n4j_error *err);
void ctl_zone_free(struct ctl_zone *z);
/* The UTC offset (s) at instant t and the period [*start, *end) it holds (either may be
 * NULL). */
int32_t ctl_zone_offset(const struct ctl_zone *z, int64_t t, int64_t *start, int64_t *end);
/* The first fire time > t (epoch seconds), as robfig/cron v3's SpecSchedule.Next in zone
 * z: a nonexistent local time (spring forward) is skipped, a repeated one (fall back)
 * fires twice. -1 when none within five years. */
int64_t ctl_cron_next(const struct ctl_cron *c, const struct ctl_zone *z, int64_t t);

/* ---- backups: status from the Jobs (backup_status.c, pure) ---------------------------- */

#define CTL_LABEL_BACKUP    N4J_GROUP "/backup"
#define CTL_FAILURE_MSG_MAX 512
#define CT_BACKUP_HEALTHY   "BackupHealthy"
#define CT_SCHEDULED        "Scheduled"

/* The retention container's termination message (contract §C). */
struct ctl_backup_report {
	size_t n_databases;
	const char **databases;
	size_t n_artifacts;
	struct n4j_backup_artifact *artifacts;
	int64_t bytes;
	int kept, pruned_count;
	size_t n_pruned;
	const char **pruned;
};
int ctl_backup_report_parse(struct n4j_arena *a, const char *msg, size_t len,
			    struct ctl_backup_report *out, struct n4j_error *err);

/* One Job as a run: finished (Succeeded | Failed, with the failure's reason and message)
 * or still active. pods: the Job's pods (parsed), any order. */
struct ctl_run_obs {
	bool finished, succeeded;
	struct n4j_backup_run run;
	const char *reason; /* failed: BackupFailed | VerifyFailed | RetentionFailed |
			       DeadlineExceeded */
	int64_t finished_s; /* completion (or failure) time, epoch seconds; -1 unknown */
};
int ctl_backup_run_of(struct n4j_arena *a, const cJSON *job, const cJSON *const *pods,
		      size_t n_pods, struct ctl_run_obs *out);
/* prev (the live history) and seen (runs of Jobs that exist) merged by Job name, seen
 * winning; newest first (completion, then start time, then name); at most
 * N4J_BACKUP_HISTORY_MAX. */
int ctl_backup_history_merge(struct n4j_arena *a, const struct n4j_backup_run *prev, size_t n_prev,
			     const struct n4j_backup_run *seen, size_t n_seen,
			     struct n4j_backup_run **out, size_t *n_out);
/* Overdue: the first fire after `since` (the last success, or creation) plus one period
 * (up to the fire after it) is before now. *due_s: that first fire; *deadline_s: when it
 * becomes (or became) overdue. False when the schedule never fires. */
bool ctl_backup_overdue(const struct ctl_cron *c, const struct ctl_zone *z, int64_t since_s,
			int64_t now_s, int64_t *due_s, int64_t *deadline_s);
/* The body {"status": diff} to send, or NULL (and *changed false) when nothing changed. */
int ctl_backup_status_patch(const cJSON *live_status, const struct n4j_backup_status *st,
			    cJSON **patch, bool *changed, struct n4j_error *err);

#endif
