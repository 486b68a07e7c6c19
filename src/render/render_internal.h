/*
 * Private to src/render: a small builder over cJSON and the pieces every
 * renderer shares (metadata, labels, security contexts).
 *
 * cJSON_Create* can fail at any call. Rather than test each of the hundreds of
 * calls a StatefulSet needs, every helper takes a `struct rx` whose `oom` flag
 * sticks at the first failure (and tolerates a NULL parent afterwards); each
 * object is checked once, in rx_finish(), before it is handed out.
 */
#ifndef N4J_RENDER_INTERNAL_H
#define N4J_RENDER_INTERNAL_H

#include "render/render.h"

#define N4J_ANN_GENERATED_PASSWORD N4J_GROUP "/generated-password"
#define N4J_LABEL_BACKUP           N4J_GROUP "/backup"
#define N4J_COMPONENT_SERVER       "server"
#define N4J_COMPONENT_BACKUP       "backup"
#define N4J_OFFLINE_UID            "00000000-0000-0000-0000-000000000000"
#define N4J_RENDER_MAX_ANN         4 /* operator-owned annotations on one object */

struct rx {
	bool oom;
};

/* ---- builder (render_json.c) ------------------------------------------------ */

/*
 * With key == NULL the new value is appended to `parent` as an array element,
 * otherwise added to the object `parent` under `key`. A NULL parent (an earlier
 * failure) makes them no-ops that return NULL.
 */
void rx_add(struct rx *x, cJSON *parent, const char *key, cJSON *item);
cJSON *rx_obj(struct rx *x, cJSON *parent, const char *key);
cJSON *rx_arr(struct rx *x, cJSON *parent, const char *key);
void rx_str(struct rx *x, cJSON *parent, const char *key, const char *val);
void rx_strf(struct rx *x, cJSON *parent, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void rx_int(struct rx *x, cJSON *parent, const char *key, int64_t v);
void rx_bool(struct rx *x, cJSON *parent, const char *key, bool v);
/* An object of strings from a sorted map (always added, possibly empty). */
cJSON *rx_map(struct rx *x, cJSON *parent, const char *key, const struct n4j_str_map *m);
/* A malloc'd formatted string; NULL (and x->oom) on failure. */
char *rx_printf(struct rx *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- metadata (render_meta.c) ----------------------------------------------- */

struct rx_meta {
	const char *name, *ns;
	const char *instance;                       /* the cluster name */
	const char *component;                      /* N4J_COMPONENT_* */
	const char *version;                        /* the Neo4j version string */
	const char *backup;                         /* value of N4J_LABEL_BACKUP, or NULL */
	const struct n4j_str_map *user_annotations; /* or NULL */
	size_t n_ann;                               /* operator annotations besides the spec hash */
	const char *ann_keys[N4J_RENDER_MAX_ANN];
	const char *ann_vals[N4J_RENDER_MAX_ANN];
	const char *owner_kind; /* NULL: no ownerReference (PVCs) */
	const char *owner_name, *owner_uid;
};

/* {"apiVersion": ..., "kind": ..., "metadata": {...}}; NULL on allocation failure. */
cJSON *rx_object(struct rx *x, const char *api_version, const char *kind, const struct rx_meta *m);
/* The five standard labels, plus N4J_LABEL_BACKUP when m->backup is set. */
void rx_labels(struct rx *x, cJSON *labels, const struct rx_meta *m);
/* Selector labels of the server pods: name, instance, component=server. */
void rx_server_selector(struct rx *x, cJSON *match_labels, const char *instance);
/* {"matchLabels": {...}} of the server pods. */
cJSON *rx_server_label_selector(struct rx *x, cJSON *parent, const char *key, const char *instance);
/* A LabelSelector from the API (matchLabels, matchExpressions). */
void rx_label_selector(struct rx *x, cJSON *parent, const char *key, const struct n4j_selector *s);

/*
 * Checks the builder, stamps the spec hash into metadata.annotations and
 * appends `obj` to `out`. Takes ownership of obj in every case.
 */
int rx_finish(struct rx *x, cJSON *obj, cJSON *out, const char *what, struct n4j_error *err);

/* ---- the render context (render_context.c) ----------------------------------- */

struct rx_cluster {
	const struct n4j_cluster *c;
	const struct n4j_cluster_spec *s;
	const char *name, *ns, *domain, *operator_ns;
	bool ee, tls, prometheus;
	char *headless;   /* <name>-headless */
	char *config;     /* <name>-config */
	char *pod_domain; /* <name>-headless.<ns>.svc.<domain> */
	/* Seed storage (spec.seedStorage, else the facts' backupRef values); NULL: none. */
	const char *seed_secret, *seed_endpoint, *seed_region;
	char *conf; /* the neo4j.conf text */
	char conf_hash[N4J_SHA256_HEX_LEN + 1];
};

/* Everything but conf/conf_hash, which only the cluster renderer needs (render_cluster.c). */
int rx_cluster_init(struct rx_cluster *k, const struct n4j_cluster *c,
		    const struct n4j_render_facts *f, struct n4j_error *err);
void rx_cluster_free(struct rx_cluster *k);
/* Metadata of a cluster-owned object (component server). */
void rx_cluster_meta(const struct rx_cluster *k, struct rx_meta *m, const char *name);
/* The facts to use when the caller passed NULL. */
const struct n4j_render_facts *rx_facts(const struct n4j_render_facts *f,
					struct n4j_render_facts *storage);

/* ---- pod pieces shared by servers and backups (render_pod.c) ------------------ */

void rx_pod_security(struct rx *x, cJSON *pod_spec);
/* Neo4j containers need a writable root (DESIGN §8.1); the operator's do not. */
void rx_container_security(struct rx *x, cJSON *container, bool read_only_root);
void rx_resources(struct rx *x, cJSON *container, const struct n4j_str_map *requests,
		  const struct n4j_str_map *limits);
void rx_mount(struct rx *x, cJSON *mounts, const char *name, const char *path, bool ro);
void rx_env(struct rx *x, cJSON *env, const char *name, const char *value);
void rx_pull_secrets(struct rx *x, cJSON *pod_spec, const struct n4j_cluster_spec *s);
/* The TLS projection for the given scopes (bolt, https, cluster, backup). */
void rx_ssl_volume(struct rx *x, cJSON *volumes, const char *secret, const char *const *scopes,
		   size_t n_scopes);

/* ---- ports (render_services.c) ----------------------------------------------- */

struct rx_port {
	const char *name;
	int port;
};
#define RX_MAX_PORTS 7
/* Bolt and HTTP(S); with `all`, also the enterprise cluster ports and metrics. */
size_t rx_server_ports(const struct rx_cluster *k, bool all, struct rx_port p[RX_MAX_PORTS]);

/* ---- per-concern renderers ------------------------------------------------------ */

int rx_render_services(const struct rx_cluster *k, cJSON *out, struct n4j_error *err);
int rx_render_statefulset(const struct rx_cluster *k, cJSON *out, struct n4j_error *err);
int rx_render_pdb(const struct rx_cluster *k, cJSON *out, struct n4j_error *err);
int rx_render_network_policy(const struct rx_cluster *k, cJSON *out, struct n4j_error *err);

#endif
