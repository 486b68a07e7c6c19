/*
 * The StatefulSet of the Neo4j servers. Everything per pod (advertised
 * addresses, system database mode) is derived at start from the pod's own
 * name, so one pod template serves every ordinal (DESIGN §8.13).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "render/render_internal.h"

#define AUTH_DIR  "/var/run/neo4j-auth"
#define AUTH_FILE "password"
#define SEED_DIR  "/var/run/neo4j/seed"

/*
 * The container's start script. A fixed string: spec values reach it only as
 * environment variables, never as shell code (cf. other operators' injection
 * bugs). The password file is read with $(...), which drops the trailing
 * newline an edited Secret often carries (helm-charts #178).
 */
#define SCRIPT_AUTH                                                                                \
	"set -eu\n"                                                                                \
	"pw=\"$(cat " AUTH_DIR "/" AUTH_FILE ")\"\n"                                               \
	"export NEO4J_AUTH=\"neo4j/${pw}\"\n"                                                      \
	"unset pw\n"
#define SCRIPT_EXEC "exec /startup/docker-entrypoint.sh neo4j\n"

/* Enterprise: servers past the system primaries host `system` as secondaries. */
static const char start_script_ee[] =
	SCRIPT_AUTH "if [ -n \"${N4J_SYSTEM_PRIMARIES:-}\" ]; then\n"
		    "  ordinal=\"${POD_NAME##*-}\"\n"
		    "  if [ \"${ordinal}\" -ge \"${N4J_SYSTEM_PRIMARIES}\" ]; then\n"
		    "    export NEO4J_server_cluster_system__database__mode=SECONDARY\n"
		    "  fi\n"
		    "fi\n" SCRIPT_EXEC;

/*
 * Community has no server.cluster.* settings: its script names none, so every
 * setting a Community pod can pass is one Community knows (tests/conf_keys.py).
 */
static const char start_script_ce[] = SCRIPT_AUTH SCRIPT_EXEC;

static bool any_license(const struct n4j_cluster_spec *s)
{
	for (size_t i = 0; i < s->n_plugins; i++)
		if (s->plugins[i].license_secret)
			return true;
	return false;
}

static void env(struct rx *x, cJSON *c, const struct rx_cluster *k)
{
	const struct n4j_cluster_spec *s = k->s;
	cJSON *env = rx_arr(x, c, "env");
	cJSON *e = rx_obj(x, env, NULL);
	rx_str(x, e, "name", "POD_NAME");
	rx_str(x, rx_obj(x, rx_obj(x, e, "valueFrom"), "fieldRef"), "fieldPath", "metadata.name");
	if (k->ee) {
		char n[16];
		snprintf(n, sizeof(n), "%d", s->system_primaries);
		rx_env(x, env, "N4J_SYSTEM_PRIMARIES", n);
	}
	/* Peers cannot resolve a bare pod name: advertise the headless FQDN. */
	char *v = rx_printf(x, "$(POD_NAME).%s", k->pod_domain);
	rx_env(x, env, "NEO4J_server_default__advertised__address", v);
	free(v);
	if (k->ee) {
		static const struct {
			const char *name;
			int port;
		} adv[] = {
			{"NEO4J_server_cluster_advertised__address", N4J_PORT_CLUSTER},
			{"NEO4J_server_cluster_raft_advertised__address", N4J_PORT_RAFT},
			{"NEO4J_server_routing_advertised__address", N4J_PORT_ROUTING},
		};
		for (size_t i = 0; i < sizeof(adv) / sizeof(adv[0]); i++) {
			v = rx_printf(x, "$(POD_NAME).%s:%d", k->pod_domain, adv[i].port);
			rx_env(x, env, adv[i].name, v);
			free(v);
		}
	}
	rx_env(x, env, "NEO4J_ACCEPT_LICENSE_AGREEMENT", s->license);
	if (s->n_plugins) {
		/* A JSON array built by cJSON, so any name is quoted correctly. */
		cJSON *names = cJSON_CreateArray();
		for (size_t i = 0; names && i < s->n_plugins; i++)
			rx_str(x, names, NULL, s->plugins[i].name);
		char *json = names ? cJSON_PrintUnformatted(names) : NULL;
		cJSON_Delete(names);
		if (!json)
			x->oom = true;
		rx_env(x, env, "NEO4J_PLUGINS", json);
		cJSON_free(json);
	}
	/*
	 * Seed storage: paths and endpoints only, never a secret value (reference §9.21).
	 * One endpoint serves both S3 and GCS clients.
	 */
	if (k->seed_secret) {
		rx_env(x, env, "AWS_SHARED_CREDENTIALS_FILE", SEED_DIR "/credentials");
		rx_env(x, env, "GOOGLE_APPLICATION_CREDENTIALS", SEED_DIR "/credentials.json");
	}
	if (k->seed_endpoint) {
		rx_env(x, env, "AWS_ENDPOINT_URL_S3", k->seed_endpoint);
		rx_env(x, env, "STORAGE_EMULATOR_HOST", k->seed_endpoint);
	}
	if (k->seed_region)
		rx_env(x, env, "AWS_REGION", k->seed_region);
}

static void ports(struct rx *x, cJSON *c, const struct rx_cluster *k)
{
	struct rx_port p[RX_MAX_PORTS];
	size_t n = rx_server_ports(k, true, p);
	cJSON *arr = rx_arr(x, c, "ports");
	for (size_t i = 0; i < n; i++) {
		cJSON *o = rx_obj(x, arr, NULL);
		rx_str(x, o, "name", p[i].name);
		rx_int(x, o, "containerPort", p[i].port);
	}
}

static void probes(struct rx *x, cJSON *c, const struct rx_cluster *k)
{
	/* Bolt opens early; the budget covers recovery and store copies (≈ 83 min). */
	cJSON *p = rx_obj(x, c, "startupProbe");
	rx_int(x, rx_obj(x, p, "tcpSocket"), "port", N4J_PORT_BOLT);
	rx_int(x, p, "periodSeconds", 5);
	rx_int(x, p, "failureThreshold", 1000);

	/*
	 * Never tied to cluster state: elections must not cause restart storms. An
	 * HTTP answer, not a TCP connect: the kernel completes the handshake of a
	 * wedged (stopped, deadlocked) JVM, so tcpSocket would never restart it.
	 * "/" is the discovery document, served without credentials (the conf keeps
	 * it in dbms.security.http_auth_allowlist).
	 */
	p = rx_obj(x, c, "livenessProbe");
	cJSON *get = rx_obj(x, p, "httpGet");
	rx_str(x, get, "path", "/");
	rx_int(x, get, "port", k->tls ? N4J_PORT_HTTPS : N4J_PORT_HTTP);
	if (k->tls)
		rx_str(x, get, "scheme", "HTTPS");
	rx_int(x, p, "periodSeconds", 5);
	rx_int(x, p, "failureThreshold", 40);
	rx_int(x, p, "timeoutSeconds", 5);

	/* Honest readiness: the PDB counts Ready pods. The readiness gate adds Bolt. */
	p = rx_obj(x, c, "readinessProbe");
	get = rx_obj(x, p, "httpGet");
	rx_str(x, get, "path", k->ee ? "/db/system/cluster/available" : "/");
	rx_int(x, get, "port", k->tls ? N4J_PORT_HTTPS : N4J_PORT_HTTP);
	if (k->tls)
		rx_str(x, get, "scheme", "HTTPS");
	rx_int(x, p, "periodSeconds", 5);
	rx_int(x, p, "failureThreshold", 3);
	rx_int(x, p, "timeoutSeconds", 5);
}

static void mounts(struct rx *x, cJSON *c, const struct rx_cluster *k)
{
	cJSON *m = rx_arr(x, c, "volumeMounts");
	rx_mount(x, m, "data", "/data", false);
	rx_mount(x, m, "conf", "/conf", true);
	rx_mount(x, m, "auth", AUTH_DIR, true);
	rx_mount(x, m, "logs", "/logs", false);
	if (k->s->n_plugins)
		rx_mount(x, m, "plugins", "/plugins", false);
	if (any_license(k->s))
		rx_mount(x, m, "licenses", "/licenses", true);
	if (k->tls)
		rx_mount(x, m, "ssl", "/ssl", true);
	if (k->seed_secret)
		rx_mount(x, m, "seed", SEED_DIR, true);
}

static void empty_dir(struct rx *x, cJSON *volumes, const char *name)
{
	cJSON *v = rx_obj(x, volumes, NULL);
	rx_str(x, v, "name", name);
	rx_obj(x, v, "emptyDir");
}

static void volumes(struct rx *x, cJSON *pod, const struct rx_cluster *k)
{
	const struct n4j_cluster_spec *s = k->s;
	cJSON *vols = rx_arr(x, pod, "volumes");

	cJSON *v = rx_obj(x, vols, NULL);
	rx_str(x, v, "name", "conf");
	rx_str(x, rx_obj(x, v, "configMap"), "name", k->config);

	/*
	 * Only the password key, under a fixed file name the fixed script reads.
	 * A Secret still without the key (generated, not yet filled) keeps the
	 * pod in ContainerCreating instead of crash-looping.
	 */
	v = rx_obj(x, vols, NULL);
	rx_str(x, v, "name", "auth");
	cJSON *sec = rx_obj(x, v, "secret");
	rx_str(x, sec, "secretName", s->admin_secret);
	rx_int(x, sec, "defaultMode", 0440);
	cJSON *it = rx_obj(x, rx_arr(x, sec, "items"), NULL);
	rx_str(x, it, "key", s->admin_secret_key ? s->admin_secret_key : "password");
	rx_str(x, it, "path", AUTH_FILE);

	empty_dir(x, vols, "logs");
	if (s->n_plugins)
		empty_dir(x, vols, "plugins");

	if (any_license(s)) {
		v = rx_obj(x, vols, NULL);
		rx_str(x, v, "name", "licenses");
		cJSON *proj = rx_obj(x, v, "projected");
		rx_int(x, proj, "defaultMode", 0440);
		cJSON *srcs = rx_arr(x, proj, "sources");
		for (size_t i = 0; i < s->n_plugins; i++) {
			if (!s->plugins[i].license_secret)
				continue;
			cJSON *ls = rx_obj(x, rx_obj(x, srcs, NULL), "secret");
			rx_str(x, ls, "name", s->plugins[i].license_secret);
			cJSON *li = rx_obj(x, rx_arr(x, ls, "items"), NULL);
			rx_str(x, li, "key", "license");
			rx_strf(x, li, "path", "%s/license", s->plugins[i].name);
		}
	}

	if (k->tls) {
		static const char *const scopes[] = {"bolt", "https", "cluster", "backup"};
		rx_ssl_volume(x, vols, s->tls.secret_name, scopes, k->ee ? 4 : 2);
	}

	/*
	 * The seed credentials as files (an AWS shared-credentials INI, a GCS key), both
	 * optional: a Secret for one store need not hold the other's key. 0440 for the
	 * fsGroup, as the other Secrets.
	 */
	if (k->seed_secret) {
		v = rx_obj(x, vols, NULL);
		rx_str(x, v, "name", "seed");
		sec = rx_obj(x, v, "secret");
		rx_str(x, sec, "secretName", k->seed_secret);
		rx_int(x, sec, "defaultMode", 0440);
		rx_bool(x, sec, "optional", true);
		cJSON *items = rx_arr(x, sec, "items");
		static const char *const keys[] = {"credentials", "credentials.json"};
		for (size_t i = 0; i < 2; i++) {
			it = rx_obj(x, items, NULL);
			rx_str(x, it, "key", keys[i]);
			rx_str(x, it, "path", keys[i]);
		}
	}
}

static void scheduling(struct rx *x, cJSON *pod, const struct rx_cluster *k)
{
	const struct n4j_cluster_spec *s = k->s;
	if (s->scheduling.node_selector.n)
		rx_map(x, pod, "nodeSelector", &s->scheduling.node_selector);
	if (s->scheduling.n_tolerations) {
		cJSON *arr = rx_arr(x, pod, "tolerations");
		for (size_t i = 0; i < s->scheduling.n_tolerations; i++) {
			const struct n4j_toleration *t = &s->scheduling.tolerations[i];
			cJSON *o = rx_obj(x, arr, NULL);
			if (t->key)
				rx_str(x, o, "key", t->key);
			if (t->op)
				rx_str(x, o, "operator", t->op);
			if (t->value)
				rx_str(x, o, "value", t->value);
			if (t->effect)
				rx_str(x, o, "effect", t->effect);
			if (t->has_seconds)
				rx_int(x, o, "tolerationSeconds", t->seconds);
		}
	}
	if (s->scheduling.priority_class)
		rx_str(x, pod, "priorityClassName", s->scheduling.priority_class);

	if (s->scheduling.anti_affinity != N4J_AFFINITY_NONE) {
		cJSON *aa = rx_obj(x, rx_obj(x, pod, "affinity"), "podAntiAffinity");
		cJSON *term;
		if (s->scheduling.anti_affinity == N4J_AFFINITY_REQUIRED) {
			term = rx_obj(
				x, rx_arr(x, aa, "requiredDuringSchedulingIgnoredDuringExecution"),
				NULL);
		} else {
			cJSON *w = rx_obj(
				x, rx_arr(x, aa, "preferredDuringSchedulingIgnoredDuringExecution"),
				NULL);
			rx_int(x, w, "weight", 100);
			term = rx_obj(x, w, "podAffinityTerm");
		}
		rx_server_label_selector(x, term, "labelSelector", k->name);
		rx_str(x, term, "topologyKey", "kubernetes.io/hostname");
	}
	if (s->scheduling.zone_spread) {
		cJSON *c = rx_obj(x, rx_arr(x, pod, "topologySpreadConstraints"), NULL);
		rx_int(x, c, "maxSkew", 1);
		rx_str(x, c, "topologyKey", "topology.kubernetes.io/zone");
		/* Best effort: a cluster without zones must still schedule. */
		rx_str(x, c, "whenUnsatisfiable", "ScheduleAnyway");
		rx_server_label_selector(x, c, "labelSelector", k->name);
	}
}

static void container(struct rx *x, cJSON *pod, const struct rx_cluster *k)
{
	const struct n4j_cluster_spec *s = k->s;
	cJSON *c = rx_obj(x, rx_arr(x, pod, "containers"), NULL);
	rx_str(x, c, "name", "neo4j");
	rx_str(x, c, "image", s->image);
	rx_str(x, c, "imagePullPolicy",
	       s->image_pull_policy ? s->image_pull_policy : "IfNotPresent");
	cJSON *cmd = rx_arr(x, c, "command");
	static const char *const argv[] = {"tini", "-g", "--", "/bin/bash", "-c"};
	for (size_t i = 0; i < sizeof(argv) / sizeof(argv[0]); i++)
		rx_str(x, cmd, NULL, argv[i]);
	rx_str(x, cmd, NULL, k->ee ? start_script_ee : start_script_ce);
	rx_str(x, cmd, NULL, "neo4j-operator-start"); /* $0 of the script */
	env(x, c, k);
	ports(x, c, k);
	rx_resources(x, c, &s->requests, &s->limits);
	rx_container_security(x, c, false);
	probes(x, c, k);
	mounts(x, c, k);
}

static void pod_template(struct rx *x, cJSON *spec, const struct rx_cluster *k,
			 const struct rx_meta *m)
{
	cJSON *tpl = rx_obj(x, spec, "template");
	cJSON *meta = rx_obj(x, tpl, "metadata");
	rx_labels(x, rx_obj(x, meta, "labels"), m);
	/*
	 * A conf change is a new revision, which the operator then rolls (OnDelete). So is a
	 * new render version: the controller holds such a template back (UpdatePending)
	 * until the user asks for the roll (docs/controller.md).
	 */
	cJSON *ann = rx_obj(x, meta, "annotations");
	rx_str(x, ann, N4J_ANN_CONFIG_HASH, k->conf_hash);
	rx_str(x, ann, N4J_ANN_RENDER_VERSION, N4J_RENDER_VERSION);

	cJSON *pod = rx_obj(x, tpl, "spec");
	rx_str(x, pod, "serviceAccountName", k->name);
	rx_bool(x, pod, "automountServiceAccountToken", false);
	rx_bool(x, pod, "enableServiceLinks", false);
	/* A killed shutdown means a recovery at the next start. */
	rx_int(x, pod, "terminationGracePeriodSeconds", 3600);
	rx_pod_security(x, pod);
	rx_str(x, rx_obj(x, rx_arr(x, pod, "readinessGates"), NULL), "conditionType",
	       N4J_READINESS_GATE);
	rx_pull_secrets(x, pod, k->s);
	scheduling(x, pod, k);
	container(x, pod, k);
	volumes(x, pod, k);
}

static void claim_templates(struct rx *x, cJSON *spec, const struct rx_cluster *k)
{
	cJSON *pvc = rx_obj(x, rx_arr(x, spec, "volumeClaimTemplates"), NULL);
	cJSON *meta = rx_obj(x, pvc, "metadata");
	rx_str(x, meta, "name", "data");
	rx_server_selector(x, rx_obj(x, meta, "labels"), k->name);
	cJSON *ps = rx_obj(x, pvc, "spec");
	rx_str(x, rx_arr(x, ps, "accessModes"), NULL, "ReadWriteOnce");
	if (k->s->storage_class)
		rx_str(x, ps, "storageClassName", k->s->storage_class);
	rx_str(x, rx_obj(x, rx_obj(x, ps, "resources"), "requests"), "storage", k->s->data_size);
}

int rx_render_statefulset(const struct rx_cluster *k, cJSON *out, struct n4j_error *err)
{
	struct rx x = {0};
	struct rx_meta m;
	rx_cluster_meta(k, &m, k->name);
	/*
	 * What the controller's UpdatePending rule reads back from the live object: the
	 * render version, the CR generation and the CR's rollout annotation it was rendered
	 * from (a template change that comes with neither a new generation nor a new rollout
	 * value comes from an operator upgrade).
	 */
	char gen[24];
	snprintf(gen, sizeof(gen), "%lld", (long long)k->c->meta.generation);
	m.n_ann = 0;
	m.ann_keys[m.n_ann] = N4J_ANN_RENDER_VERSION;
	m.ann_vals[m.n_ann++] = N4J_RENDER_VERSION;
	m.ann_keys[m.n_ann] = N4J_ANN_GENERATION;
	m.ann_vals[m.n_ann++] = gen;
	const struct n4j_str_map *ca = &k->c->meta.annotations;
	for (size_t i = 0; i < ca->n; i++) {
		if (strcmp(ca->keys[i], N4J_ANN_ROLLOUT) == 0) {
			m.ann_keys[m.n_ann] = N4J_ANN_ROLLOUT;
			m.ann_vals[m.n_ann++] = ca->values[i];
		}
	}
	cJSON *o = rx_object(&x, "apps/v1", "StatefulSet", &m);
	cJSON *spec = rx_obj(&x, o, "spec");
	rx_str(&x, spec, "serviceName", k->headless);
	rx_int(&x, spec, "replicas", k->s->servers);
	rx_str(&x, spec, "podManagementPolicy", "Parallel");
	/* The operator deletes pods itself, in role order, one at a time. */
	rx_str(&x, rx_obj(&x, spec, "updateStrategy"), "type", "OnDelete");
	cJSON *ret = rx_obj(&x, spec, "persistentVolumeClaimRetentionPolicy");
	rx_str(&x, ret, "whenDeleted", k->s->retain_on_delete ? "Retain" : "Delete");
	/* Scale-in wipes a dropped server's claim itself (DESIGN §8.4). */
	rx_str(&x, ret, "whenScaled", "Retain");
	rx_int(&x, spec, "revisionHistoryLimit", 10);
	rx_server_label_selector(&x, spec, "selector", k->name);
	pod_template(&x, spec, k, &m);
	claim_templates(&x, spec, k);
	return rx_finish(&x, o, out, "StatefulSet", err);
}
