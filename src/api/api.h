/*
 * api: the Neo4jCluster and Neo4jBackup custom resources.
 *
 * Loading a CR is three steps, all pure (no I/O, no globals):
 *   1. structural check and defaulting against the CRD's own openAPIV3Schema,
 *      embedded at build time from crds/ (one source of truth: the defaults
 *      here are the apiserver's defaults by construction);
 *   2. every CEL rule of the CRD re-implemented in C, plus the rules only the
 *      operator can judge (docs/api.md lists them with their exact messages);
 *   3. the typed view below, with derived values (effective topology, memory).
 *
 * Every problem is reported as a `field.path: message` pair; loading never
 * stops at the first one. All memory belongs to the arena passed in.
 */
#ifndef N4J_API_H
#define N4J_API_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/util.h"

#define N4J_GROUP            "neo4j.graphops.io"
#define N4J_VERSION_V1ALPHA1 "v1alpha1"
#define N4J_API_VERSION      N4J_GROUP "/" N4J_VERSION_V1ALPHA1
#define N4J_KIND_CLUSTER     "Neo4jCluster"
#define N4J_KIND_BACKUP      "Neo4jBackup"

/* ---- problems ------------------------------------------------------------ */

struct n4j_problem {
	const char *path;    /* e.g. "spec.databases[1].name" */
	const char *message; /* the exact message of docs/api.md */
};

struct n4j_problems {
	struct n4j_arena *arena;
	size_t n, cap;
	struct n4j_problem *items;
};

void n4j_problems_init(struct n4j_problems *p, struct n4j_arena *a);
/* Records a problem; returns N4J_ENOMEM only if the arena is exhausted. */
int n4j_problem_add(struct n4j_problems *p, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* YAML / JSON input: n4j_yaml_parse in util/util.h. */

/* ---- shared pieces -------------------------------------------------------- */

struct n4j_str_map { /* sorted by key, so rendering is stable */
	size_t n;
	const char **keys;
	const char **values;
};

struct n4j_selector_req {
	const char *key;
	const char *op; /* In | NotIn | Exists | DoesNotExist */
	size_t n_values;
	const char **values;
};

struct n4j_selector {
	bool present;
	struct n4j_str_map match_labels;
	size_t n_expr;
	struct n4j_selector_req *expr;
};

struct n4j_meta {
	const char *name;
	const char *namespace_; /* "default" when absent */
	const char *uid;        /* NULL offline */
	int64_t generation;
	struct n4j_str_map labels;
	struct n4j_str_map annotations;
};

/* ---- Neo4jCluster ----------------------------------------------------------- */

enum n4j_edition { N4J_ENTERPRISE = 0, N4J_COMMUNITY = 1 };
enum n4j_anti_affinity { N4J_AFFINITY_PREFERRED = 0, N4J_AFFINITY_REQUIRED, N4J_AFFINITY_NONE };

struct n4j_version {
	bool calver; /* 2025.01.0 and later */
	int major;   /* 5, or the year */
	int minor;   /* 26, or the month */
	int patch;
};

struct n4j_topology {
	int primaries;
	int secondaries;
};

struct n4j_plugin {
	const char *name;
	const char *license_secret; /* NULL when absent */
};

struct n4j_toleration {
	const char *key, *op, *value, *effect;
	bool has_seconds;
	int64_t seconds;
};

struct n4j_client_peer {
	struct n4j_selector namespace_selector;
	struct n4j_selector pod_selector;
};

struct n4j_database {
	const char *name;
	struct n4j_topology topology;
	const char *seed_uri;           /* create from this seed when absent; NULL: empty */
	const char *seed_restore_until; /* seedRestoreUntil, NULL when absent */
};

struct n4j_alias {
	const char *name;
	const char *database;
};

struct n4j_cluster_spec {
	enum n4j_edition edition;
	const char *version_string;
	struct n4j_version version;
	const char *image; /* effective: spec.image or neo4j:<version>[-enterprise] */
	const char *image_pull_policy;
	size_t n_pull_secrets;
	const char **pull_secrets;
	const char *license; /* yes | eval | no */

	int servers;
	int system_primaries;         /* effective */
	struct n4j_topology topology; /* effective default topology */

	struct n4j_str_map requests; /* effective: limits fill missing requests */
	struct n4j_str_map limits;
	int64_t memory_limit_bytes;
	int64_t heap_bytes;       /* effective (given or derived) */
	int64_t page_cache_bytes; /* effective (given or derived) */

	const char *data_size;
	const char *storage_class; /* NULL when absent */
	bool retain_on_delete;

	const char *admin_secret; /* effective: given, or "<name>-admin" */
	const char *admin_secret_key;
	bool admin_secret_generated;

	struct {
		bool enabled;
		const char *issuer_name, *issuer_kind, *issuer_group; /* issuerRef */
		const char *secret_name; /* effective: given, or "<name>-tls" with an issuer */
	} tls;

	size_t n_plugins;
	struct n4j_plugin *plugins;
	struct n4j_str_map config;

	struct {
		enum n4j_anti_affinity anti_affinity;
		bool zone_spread;
		struct n4j_str_map node_selector;
		size_t n_tolerations;
		struct n4j_toleration *tolerations;
		const char *priority_class;
	} scheduling;

	struct {
		bool enabled;
		size_t n_clients;
		struct n4j_client_peer *clients;
	} network_policy;

	struct {
		const char *type;
		struct n4j_str_map annotations;
	} service;

	struct {
		bool prometheus;
		bool service_monitor;
	} monitoring;

	size_t n_databases;
	struct n4j_database *databases;
	size_t n_aliases;
	struct n4j_alias *aliases;

	struct {
		bool present;
		const char *backup_ref; /* NULL when seedURI is used */
		const char *seed_uri;
		size_t n_databases;
		const char **databases;
		const char *restore_until; /* tx id or "YYYY-MM-DD HH:MM:SS"; NULL when absent */
		bool replace;              /* recreate databases that exist */
	} restore;

	/* How the servers reach seed URIs: files mounted from the Secret, never env values. */
	struct {
		const char *credentials_secret; /* NULL: ambient credentials */
		const char *endpoint, *region;
	} seed_storage;

	bool paused;
	int progress_deadline_s; /* spec.progressDeadlineSeconds (default 600) */
};

struct n4j_cluster {
	struct n4j_meta meta;
	struct n4j_cluster_spec spec;
	const cJSON *json; /* the defaulted object (owned by the arena's cleanup list) */
};

/* ---- Neo4jBackup ------------------------------------------------------------ */

enum n4j_target_kind { N4J_TARGET_PVC = 0, N4J_TARGET_S3, N4J_TARGET_GCS, N4J_TARGET_AZURE };

struct n4j_backup_spec {
	const char *cluster;
	size_t n_databases;
	const char **databases;
	const char *schedule;  /* NULL => one Job now */
	const char *time_zone; /* NULL when absent */
	const char *type;      /* AUTO | FULL | DIFF */
	struct {
		enum n4j_target_kind kind;
		const char *size, *storage_class, *claim_name;            /* pvc */
		const char *uri, *credentials_secret, *endpoint, *region; /* cloud */
	} target;
	struct {
		int keep_last, daily, weekly, monthly;
		const char *max_age; /* "90d"; NULL when absent */
		long max_age_s;      /* 0 when absent */
	} retention;
	bool verify;
	bool suspend;
	int starting_deadline_s;     /* default 3600 */
	const char *service_account; /* NULL: the namespace default */
	struct n4j_str_map requests, limits;
};

struct n4j_backup {
	struct n4j_meta meta;
	struct n4j_backup_spec spec;
	const cJSON *json;
};

/* ---- loading ----------------------------------------------------------------- */

enum n4j_kind { N4J_KIND_UNKNOWN = 0, N4J_CLUSTER, N4J_BACKUP };

/*
 * The CRDs' openAPIV3Schemas, parsed once from the copies embedded at build
 * time and shared read-only by every load afterwards.
 */
struct n4j_schemas;
int n4j_schemas_load(struct n4j_schemas **out, struct n4j_error *err);
void n4j_schemas_free(struct n4j_schemas *s);
/* The schema of a kind (NULL if unknown); borrowed. */
const cJSON *n4j_schemas_get(const struct n4j_schemas *s, enum n4j_kind kind);

/* Which of our kinds a document is (by apiVersion and kind), or UNKNOWN. */
enum n4j_kind n4j_kind_of(const cJSON *doc);

/*
 * Validates `doc` against the CRD schema, applies the CRD's defaults to a copy
 * (returned in *defaulted, owned by the arena), and checks every rule. Returns
 * 0 when there are no problems, N4J_EINVAL when `problems` got at least one,
 * another negative code on internal failure (err says why).
 */
int n4j_cluster_load(struct n4j_arena *a, const struct n4j_schemas *s, const cJSON *doc,
		     struct n4j_cluster *out, struct n4j_problems *problems, struct n4j_error *err);
int n4j_backup_load(struct n4j_arena *a, const struct n4j_schemas *s, const cJSON *doc,
		    struct n4j_backup *out, struct n4j_problems *problems, struct n4j_error *err);

/*
 * The defaulted copy of `doc` alone, as the apiserver would store it (schema
 * defaults, pruning of unknown fields is NOT done: unknown fields are problems).
 * Used by tests that compare with the apiserver. Caller frees with cJSON_Delete.
 */
int n4j_apply_defaults(const struct n4j_schemas *s, const cJSON *doc, cJSON **defaulted,
		       struct n4j_problems *problems, struct n4j_error *err);

/* Cross-object rules, e.g. a backup of a community cluster (B12). */
int n4j_backup_check_cluster(const struct n4j_backup *b, const struct n4j_cluster *c,
			     struct n4j_problems *problems);

/* ---- status ---------------------------------------------------------------- */

enum n4j_cond_status { N4J_COND_UNKNOWN = 0, N4J_COND_TRUE, N4J_COND_FALSE };

struct n4j_condition {
	const char *type;
	enum n4j_cond_status status;
	const char *reason;
	const char *message;
	const char *last_transition_time; /* RFC 3339 */
	int64_t observed_generation;
};

struct n4j_server_status {
	const char *pod, *server_id, *state, *health;
	size_t n_hosting;
	const char **hosting;
};

struct n4j_database_status {
	const char *name, *status, *writer;
	int primaries, secondaries;
};

struct n4j_restore_db_status {
	const char *name, *phase, *message;
};

/* status.restore of a Neo4jCluster (phase NULL: no restore recorded). */
struct n4j_restore_status {
	const char *key, *source, *phase, *started_at, *completed_at;
	size_t n_databases;
	struct n4j_restore_db_status *databases;
};

/* One entry of status.tls: public fields of the leaf certificate in a TLS Secret. */
#define N4J_TLS_USAGES_MAX 4
#define N4J_TLS_DNS_MAX    64 /* the CRD's bound of status.tls[].dnsNames */
struct n4j_tls_status {
	const char *secret_name;
	size_t n_usages;
	const char *usages[N4J_TLS_USAGES_MAX]; /* bolt, https, cluster, backup */
	const char *not_before, *not_after;     /* RFC 3339, UTC */
	bool expiring_soon;
	size_t n_dns_names;
	const char **dns_names;
};

struct n4j_cluster_status {
	int64_t observed_generation;
	const char *phase;
	size_t n_conditions;
	struct n4j_condition *conditions;
	int replicas;
	const char *selector;
	const char *ready_servers;
	const char *version;
	const char *system_leader;
	size_t n_servers;
	struct n4j_server_status *servers;
	size_t n_databases;
	struct n4j_database_status *databases;
	const char *bolt_endpoint, *http_endpoint;
	struct {
		const char *kind; /* Roll | ScaleIn | ScaleOut | Form; NULL: none in flight */
		const char *target;
		const char *started_at; /* RFC 3339 */
	} operation;
	struct n4j_restore_status restore;
	size_t n_tls;
	struct n4j_tls_status *tls;
};

struct n4j_backup_artifact {
	const char *name, *database;
	int64_t size_bytes;
	bool full;
};

struct n4j_backup_run {
	const char *name, *start_time, *completion_time, *result;
	int64_t size_bytes; /* -1: unknown (omitted) */
	size_t n_databases;
	const char **databases;
	size_t n_artifacts;
	struct n4j_backup_artifact *artifacts;
	int64_t pruned; /* -1: unknown (omitted) */
	const char *message;
};

#define N4J_BACKUP_HISTORY_MAX 20

struct n4j_backup_status {
	int64_t observed_generation;
	size_t n_conditions;
	struct n4j_condition *conditions;
	const char *last_schedule_time, *last_successful_time, *next_schedule_time;
	struct {
		const char *time, *reason, *message;
	} last_failure;
	size_t n_databases; /* the concrete databases rendered */
	const char **databases;
	size_t n_history;
	struct n4j_backup_run *history;
};

/* Status as JSON, with a stable key order; fields that are NULL/empty are omitted.
 * *out is the whole status or NULL (N4J_ENOMEM): never one with parts missing. */
int n4j_cluster_status_json(const struct n4j_cluster_status *s, cJSON **out, struct n4j_error *err);
int n4j_backup_status_json(const struct n4j_backup_status *s, cJSON **out, struct n4j_error *err);
/* Parses a status back (round-trip); strings are copied into the arena. */
int n4j_cluster_status_parse(struct n4j_arena *a, const cJSON *j, struct n4j_cluster_status *s,
			     struct n4j_error *err);
int n4j_backup_status_parse(struct n4j_arena *a, const cJSON *j, struct n4j_backup_status *s,
			    struct n4j_error *err);

/* The name of the headless Service, the client Service, etc. share these helpers. */
const char *n4j_edition_name(enum n4j_edition e);

#endif
