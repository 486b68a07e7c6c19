/*
 * render: pure functions from a loaded CR (plus a few facts about the
 * Kubernetes cluster) to the Kubernetes objects the operator owns.
 *
 * No I/O, no globals, no clocks, no randomness: the same input always gives
 * byte-identical output, so the spec-hash annotations only change when the
 * intent changes. Objects are cJSON trees built in a fixed key order.
 */
#ifndef N4J_RENDER_H
#define N4J_RENDER_H

#include <cjson/cJSON.h>
#include <stdbool.h>

#include "api/api.h"
#include "util/util.h"

/*
 * Bumped when a new operator would render a different pod template (see DESIGN.md §3).
 * It is itself a pod-template annotation, so a build with another render version changes
 * the template by construction. Overridable (-DN4J_RENDER_VERSION=...) so that a test build
 * can play "the next operator release".
 */
#ifndef N4J_RENDER_VERSION
#define N4J_RENDER_VERSION "1"
#endif

#define N4J_LABEL_NAME         "app.kubernetes.io/name"
#define N4J_LABEL_INSTANCE     "app.kubernetes.io/instance"
#define N4J_LABEL_COMPONENT    "app.kubernetes.io/component"
#define N4J_LABEL_MANAGED_BY   "app.kubernetes.io/managed-by"
#define N4J_LABEL_VERSION      "app.kubernetes.io/version"
#define N4J_MANAGER            "neo4j-operator"
#define N4J_ANN_SPEC_HASH      N4J_GROUP "/spec-hash"
#define N4J_ANN_CONFIG_HASH    N4J_GROUP "/config-hash"
#define N4J_ANN_RENDER_VERSION N4J_GROUP "/render-version"
#define N4J_READINESS_GATE     N4J_GROUP "/server-ready"

/* On the StatefulSet: the CR generation it was rendered from, and the CR's rollout value. */
#define N4J_ANN_GENERATION N4J_GROUP "/generation"
#define N4J_ANN_ROLLOUT    N4J_GROUP "/rollout"

#define N4J_PORT_BOLT    7687
#define N4J_PORT_HTTP    7474
#define N4J_PORT_HTTPS   7473
#define N4J_PORT_CLUSTER 6000
#define N4J_PORT_RAFT    7000
#define N4J_PORT_ROUTING 7688
#define N4J_PORT_BACKUP  6362
#define N4J_PORT_METRICS 2004
#define N4J_UID          7474

/* What the renderer needs to know about the world beyond the CR. */
struct n4j_render_facts {
	const char *cluster_domain;     /* "cluster.local" */
	const char *operator_namespace; /* where the operator runs, for NetworkPolicy */
	bool has_cert_manager;          /* cert-manager.io/v1 Certificate served */
	bool has_service_monitor;       /* monitoring.coreos.com/v1 ServiceMonitor served */

	/*
	 * The image of the backup Job's `retention` container (`neo4j-operator
	 * backup-retention`). Default "ghcr.io/graphops/neo4j-operator:<release>"
	 * (render_context.c, the release from CMake's PROJECT_VERSION); the controller passes
	 * its own image so that the retention tool matches the operator that rendered it.
	 */
	const char *operator_image;

	/*
	 * The concrete databases a Neo4jBackup covers, expanded by the controller from
	 * the cluster's status.databases (`*` and globs; `system` included for "*").
	 * Backup, verification and retention then name exactly these. NULL (offline
	 * render): the spec's names and globs are passed as written; retention then
	 * touches only artifacts whose database matches one of them (docs/rendering.md).
	 */
	const char *const *backup_databases;
	size_t n_backup_databases;

	/*
	 * Seed storage of a cluster restored from a Neo4jBackup (spec.restore.backupRef):
	 * the backup target's endpoint and region, looked up by the controller. Used only
	 * with spec.restore.backupRef, and only for what spec.seedStorage leaves unset
	 * (an explicit seedStorage.endpoint/region wins). NULL: none.
	 */
	const char *seed_endpoint;
	const char *seed_region;
};

void n4j_render_facts_default(struct n4j_render_facts *f);

/*
 * Appends every object of a Neo4jCluster to `out` (a cJSON array), in apply
 * order: ConfigMap, Secret (when generated), ServiceAccount, Services,
 * Certificate, StatefulSet, PodDisruptionBudget, NetworkPolicy, ServiceMonitor.
 */
int n4j_render_cluster(const struct n4j_cluster *c, const struct n4j_render_facts *f, cJSON *out,
		       struct n4j_error *err);

/*
 * Appends the objects of a Neo4jBackup (a PVC for a pvc target, then a CronJob,
 * or a Job when there is no schedule). `cluster` is the referenced cluster.
 */
int n4j_render_backup(const struct n4j_backup *b, const struct n4j_cluster *cluster,
		      const struct n4j_render_facts *f, cJSON *out, struct n4j_error *err);

/* The neo4j.conf text for the cluster, one `key=value` per line. malloc'd. */
int n4j_render_neo4j_conf(const struct n4j_cluster *c, const struct n4j_render_facts *f,
			  struct n4j_buf *out, struct n4j_error *err);

/* The spec hash of an object: sha256 of its compact JSON without the annotation. */
int n4j_render_spec_hash(const cJSON *obj, char out[N4J_SHA256_HEX_LEN + 1]);

/* ---- output ------------------------------------------------------------------ */

/* Multi-document YAML ("---" between objects), stable and round-trippable. */
int n4j_emit_yaml(const cJSON *list, struct n4j_buf *out);
/* A v1 List: {"apiVersion":"v1","kind":"List","items":[...]}, indented. */
int n4j_emit_json_list(const cJSON *list, struct n4j_buf *out);

#endif
