/*
 * `neo4j-operator run`: the operator process. Flags and env → kube client → discovery facts →
 * informers (Neo4jClusters, Neo4jBackups and the owned kinds, never Secrets: DESIGN §8.16) →
 * one workqueue fed by key-only handlers ("ns/name" for a cluster, "Neo4jBackup:ns/name" for
 * a backup) → workers running the reconcilers, only while this process holds the Lease → a
 * graceful, logged shutdown on SIGTERM/SIGINT.
 *
 * Threads: the main thread handles signals (sigwait-style, every other thread has them
 * blocked) and orchestrates start-up and shutdown; everything else runs in the threads of
 * the kube layer (informers, leader election, recorder, workers). Public headers only.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "controller/controller.h"
#include "kube/kube.h"
#include "operator/cli.h"
#include "operator/run_metrics.h"
#include "server/server.h"
#include "util/util.h"

#ifndef N4J_OPERATOR_VERSION
#define N4J_OPERATOR_VERSION "0.0.0-dev"
#endif

#define MAX_NAMESPACES    64
#define SYNC_TIMEOUT_MS   120000 /* controller-runtime's CacheSyncTimeout */
#define DRAIN_BUDGET_MS   30000  /* controller-runtime's GracefulShutdownTimeout */
#define EVENT_FLUSH_MS    5000
#define DEFAULT_RESYNC_MS (10L * 60 * 1000)
#define MANAGED_BY_LABEL  "app.kubernetes.io/managed-by=neo4j-operator"
/* The StatefulSet's volumeClaimTemplates carry the server selector labels but not
 * managed-by (adding it would change an immutable field of existing StatefulSets), so
 * claims are selected by what every claim the operator makes has: name=neo4j and an
 * instance. */
#define CLAIM_SELECTOR "app.kubernetes.io/name=neo4j,app.kubernetes.io/instance"
/* Workqueue keys of Neo4jBackups (a namespace name cannot contain ':'). */
#define BACKUP_KEY_PREFIX "Neo4jBackup:"
#define LABEL_BACKUP      "neo4j.graphops.io/backup"

/* ---- options ----------------------------------------------------------------- */

struct run_opts {
	const char *kubeconfig;
	const char *context;
	char *namespaces[MAX_NAMESPACES]; /* none: all namespaces */
	size_t n_namespaces;
	int workers;
	bool leader_elect;
	const char *le_namespace;
	const char *le_id;
	const char *metrics_addr;
	const char *health_addr;
	enum n4j_log_level log_level;
	enum n4j_log_format log_format;
	const char *cluster_domain;
	long resync_ms;
	const char *operator_namespace;
	const char *backup_image; /* the retention container's image; NULL: the default */
};

static void run_usage(FILE *out)
{
	fputs("Usage: neo4j-operator run [flags]\n"
	      "\n"
	      "Runs the operator: watches Neo4jCluster resources and the objects it owns, and\n"
	      "reconciles them. Flags win over environment variables.\n"
	      "\n"
	      "Flags (--flag VALUE or --flag=VALUE):\n"
	      "  --kubeconfig PATH        kubeconfig file(s), colon-separated. Env KUBECONFIG.\n"
	      "                           Without it: in-cluster config when\n"
	      "                           KUBERNETES_SERVICE_HOST is set, else ~/.kube/config.\n"
	      "  --context NAME           kubeconfig context (default: current-context).\n"
	      "  --namespaces A,B         namespaces to watch, one watch per kind per namespace.\n"
	      "                           Env WATCH_NAMESPACES. Empty, absent or '*': all\n"
	      "                           namespaces (one cluster-wide watch per kind).\n"
	      "  --workers N              concurrent reconciles, 1..256 (default 4).\n"
	      "  --leader-elect[=BOOL]    take a Lease before reconciling (default true).\n"
	      "  --leader-election-namespace NS\n"
	      "                           namespace of the Lease. Env POD_NAMESPACE, default\n"
	      "                           neo4j-system.\n"
	      "  --leader-election-id NAME\n"
	      "                           name of the Lease (default neo4j-operator).\n"
	      "  --metrics-bind-address ADDR\n"
	      "                           [host]:port of /metrics (Prometheus text format),\n"
	      "                           host an IP address or empty for every address;\n"
	      "                           port 0 picks a free one; '0' disables (default\n"
	      "                           :8080).\n"
	      "  --health-probe-bind-address ADDR\n"
	      "                           [host]:port of /healthz and /readyz, as above\n"
	      "                           (default :8081). The same address as the metrics'\n"
	      "                           serves all three paths on one port.\n"
	      "  --log-level LEVEL        debug|info|warn|error. Env LOG_LEVEL, default info.\n"
	      "  --log-format FORMAT      json|text. Env LOG_FORMAT, default json.\n"
	      "  --cluster-domain DOMAIN  the cluster's DNS domain (default cluster.local).\n"
	      "  --resync DURATION        re-deliver every cached Neo4jCluster and Neo4jBackup\n"
	      "                           this often, e.g. 30s, 10m, 1h; 0 disables (default\n"
	      "                           10m).\n"
	      "  --backup-image IMAGE     image of the backup Jobs' retention container (this\n"
	      "                           operator's image). Env N4J_BACKUP_IMAGE, default\n"
	      "                           ghcr.io/graphops/neo4j-operator:<version>.\n"
	      "  -h, --help               print this help.\n"
	      "\n"
	      "Also read: POD_NAME (the leader identity, with a random suffix; default the host\n"
	      "name) and POD_NAMESPACE (the operator's namespace, for NetworkPolicies).\n"
	      "Exit: 0 after SIGTERM/SIGINT, 1 on a fatal error or a lost Lease, 2 on bad flags.\n",
	      out);
}

__attribute__((format(printf, 2, 3))) static int bad_flag(FILE *diag, const char *fmt, ...)
{
	fputs("neo4j-operator run: ", diag);
	va_list ap;
	va_start(ap, fmt);
	vfprintf(diag, fmt, ap);
	va_end(ap);
	fputs(" (see neo4j-operator run --help)\n", diag);
	return N4J_EXIT_INVALID;
}

/* "90s", "10m", "1h", "500ms", "0": a duration in ms; false when malformed. */
static bool parse_duration(const char *s, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (end == s || errno || v < 0)
		return false;
	long mul;
	if (strcmp(end, "ms") == 0)
		mul = 1;
	else if (strcmp(end, "s") == 0)
		mul = 1000;
	else if (strcmp(end, "m") == 0)
		mul = 60000;
	else if (strcmp(end, "h") == 0)
		mul = 3600000;
	else if (*end == '\0' && v == 0)
		mul = 1;
	else
		return false;
	if (v > LONG_MAX / mul)
		return false;
	*out = v * mul;
	return true;
}

/* An RFC 1123 label, as namespace names are. */
static bool dns_label(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return false;
	return true;
}

static void free_namespaces(struct run_opts *o)
{
	for (size_t i = 0; i < o->n_namespaces; i++)
		free(o->namespaces[i]);
	o->n_namespaces = 0;
}

static int parse_namespaces(struct run_opts *o, const char *list, const char *src, FILE *diag)
{
	free_namespaces(o);
	const char *p = list;
	bool star = false;
	while (*p) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		while (n && (*p == ' ' || *p == '\t'))
			p++, n--;
		while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		char name[64];
		if (n >= sizeof(name))
			return bad_flag(diag, "--namespaces: '%.*s' is not a namespace name",
					(int)n, p);
		memcpy(name, p, n);
		name[n] = '\0';
		if (strcmp(name, "*") == 0) {
			star = true;
		} else if (n) {
			if (!dns_label(name))
				return bad_flag(diag, "%s: '%s' is not a namespace name", src,
						name);
			bool dup = false;
			for (size_t i = 0; i < o->n_namespaces; i++)
				dup |= strcmp(o->namespaces[i], name) == 0;
			if (!dup) {
				if (o->n_namespaces == MAX_NAMESPACES)
					return bad_flag(diag,
							"--namespaces: more than %d namespaces",
							MAX_NAMESPACES);
				o->namespaces[o->n_namespaces] = strdup(name);
				if (!o->namespaces[o->n_namespaces])
					return N4J_EXIT_INTERNAL;
				o->n_namespaces++;
			}
		}
		p += n;
		while (*p && *p != ',')
			p++;
		if (*p == ',')
			p++;
	}
	if (star && o->n_namespaces)
		return bad_flag(diag, "%s: '*' (all namespaces) cannot be combined with names",
				src);
	return 0;
}

static const char *env_or(const char *name, const char *dflt)
{
	const char *v = getenv(name);
	return v && *v ? v : dflt;
}

/* Parses argv (argv[0] is "run"); returns -1 to go on, else the exit code. */
static int parse_opts(int argc, char **argv, struct run_opts *o, FILE *out, FILE *diag)
{
	*o = (struct run_opts){
		.workers = 4,
		.leader_elect = true,
		.le_id = "neo4j-operator",
		.metrics_addr = ":8080",
		.health_addr = ":8081",
		.log_format = N4J_LOG_JSON,
		.log_level = N4J_LOG_INFO,
		.cluster_domain = "cluster.local",
		.resync_ms = DEFAULT_RESYNC_MS,
	};
	o->operator_namespace = env_or("POD_NAMESPACE", "neo4j-system");
	o->le_namespace = o->operator_namespace;
	o->backup_image = env_or("N4J_BACKUP_IMAGE", NULL);
	const char *namespaces = getenv("WATCH_NAMESPACES");
	const char *level = getenv("LOG_LEVEL");
	const char *format = getenv("LOG_FORMAT");
	const char *level_src = "LOG_LEVEL", *format_src = "LOG_FORMAT";
	const char *ns_src = "WATCH_NAMESPACES";

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			run_usage(out);
			return N4J_EXIT_OK;
		}
		if (strncmp(a, "--", 2) != 0)
			return bad_flag(diag, "unexpected argument '%s'", a);
		char flag[64];
		const char *eq = strchr(a, '=');
		size_t fl = eq ? (size_t)(eq - a) : strlen(a);
		if (fl >= sizeof(flag))
			return bad_flag(diag, "unknown flag '%s'", a);
		memcpy(flag, a, fl);
		flag[fl] = '\0';
		const char *val = eq ? eq + 1 : NULL;

		if (strcmp(flag, "--leader-elect") == 0) {
			if (!val || strcmp(val, "true") == 0)
				o->leader_elect = true;
			else if (strcmp(val, "false") == 0)
				o->leader_elect = false;
			else
				return bad_flag(diag, "--leader-elect: '%s' is not true or false",
						val);
			continue;
		}
		static const char *const valued[] = {
			"--kubeconfig",
			"--context",
			"--namespaces",
			"--workers",
			"--leader-election-namespace",
			"--leader-election-id",
			"--metrics-bind-address",
			"--health-probe-bind-address",
			"--log-level",
			"--log-format",
			"--cluster-domain",
			"--resync",
			"--backup-image",
		};
		bool known = false;
		for (size_t k = 0; k < sizeof(valued) / sizeof(valued[0]); k++)
			known |= strcmp(flag, valued[k]) == 0;
		if (!known)
			return bad_flag(diag, "unknown flag '%s'", flag);
		if (!val) {
			if (i + 1 >= argc)
				return bad_flag(diag, "flag %s needs a value", flag);
			val = argv[++i];
		}
		if (strcmp(flag, "--kubeconfig") == 0) {
			o->kubeconfig = val;
		} else if (strcmp(flag, "--context") == 0) {
			o->context = val;
		} else if (strcmp(flag, "--namespaces") == 0) {
			namespaces = val;
			ns_src = "--namespaces";
		} else if (strcmp(flag, "--workers") == 0) {
			char *end;
			errno = 0;
			long n = strtol(val, &end, 10);
			if (end == val || *end || errno || n < 1 || n > 256)
				return bad_flag(
					diag, "--workers: '%s' is not a number from 1 to 256", val);
			o->workers = (int)n;
		} else if (strcmp(flag, "--leader-election-namespace") == 0) {
			if (!dns_label(val))
				return bad_flag(diag,
						"--leader-election-namespace: '%s' is not a "
						"namespace name",
						val);
			o->le_namespace = val;
		} else if (strcmp(flag, "--leader-election-id") == 0) {
			if (!*val || strlen(val) > 253)
				return bad_flag(diag,
						"--leader-election-id: '%s' is not a Lease name",
						val);
			o->le_id = val;
		} else if (strcmp(flag, "--metrics-bind-address") == 0) {
			o->metrics_addr = val;
		} else if (strcmp(flag, "--health-probe-bind-address") == 0) {
			o->health_addr = val;
		} else if (strcmp(flag, "--log-level") == 0) {
			level = val;
			level_src = "--log-level";
		} else if (strcmp(flag, "--log-format") == 0) {
			format = val;
			format_src = "--log-format";
		} else if (strcmp(flag, "--cluster-domain") == 0) {
			if (!*val)
				return bad_flag(diag, "--cluster-domain: empty");
			o->cluster_domain = val;
		} else if (strcmp(flag, "--backup-image") == 0) {
			if (!*val || strchr(val, ' '))
				return bad_flag(diag, "--backup-image: '%s' is not an image", val);
			o->backup_image = val;
		} else if (strcmp(flag, "--resync") == 0) {
			if (!parse_duration(val, &o->resync_ms))
				return bad_flag(diag,
						"--resync: '%s' is not a duration (like 30s, 10m, "
						"1h, or 0)",
						val);
		}
	}
	if (level && *level && n4j_log_parse_level(level, &o->log_level))
		return bad_flag(diag, "%s: '%s' is not debug, info, warn or error", level_src,
				level);
	if (format && *format && n4j_log_parse_format(format, &o->log_format))
		return bad_flag(diag, "%s: '%s' is not json or text", format_src, format);
	if (namespaces) {
		int rc = parse_namespaces(o, namespaces, ns_src, diag);
		if (rc)
			return rc;
	}
	return -1;
}

/* ---- informers and caches ------------------------------------------------------ */

/* Index 0 and 1 are the primary kinds; the rest are owned (selected by label). Never
 * Secrets. */
static const struct n4j_kube_resource *const KINDS[] = {
	&N4J_RES_NEO4JCLUSTERS, &N4J_RES_NEO4JBACKUPS,
	&N4J_RES_STATEFULSETS,  &N4J_RES_SERVICES,
	&N4J_RES_CONFIGMAPS,    &N4J_RES_SERVICEACCOUNTS,
	&N4J_RES_PDBS,          &N4J_RES_NETWORKPOLICIES,
	&N4J_RES_PODS,          &N4J_RES_PVCS,
	&N4J_RES_JOBS,          &N4J_RES_CRONJOBS,
};
#define N_KINDS (sizeof(KINDS) / sizeof(KINDS[0]))

struct run {
	struct run_opts o;
	struct n4j_kube_config *kcfg;
	struct n4j_kube_client *kube;
	struct n4j_schemas *schemas;
	struct n4j_render_facts facts;
	struct n4j_workqueue *queue;
	struct n4j_recorder *recorder;
	struct n4j_leader *leader;
	struct n4j_controller *controller;
	struct n4j_workers *workers;
	/* informers[k * n_scopes + s]: kind k in scope s (a namespace, or all). */
	struct n4j_informer **informers;
	size_t n_scopes;
	char identity[128];
	char user_agent[192];
	atomic_bool stopping;
	atomic_bool leading;
	atomic_bool workers_done; /* workers stopped: losing the Lease no longer matters */
	struct run_metrics metrics;
	struct n4j_server *server;
};

static int kind_index(const struct n4j_kube_resource *r)
{
	for (size_t k = 0; k < N_KINDS; k++)
		if (r == KINDS[k] || (strcmp(r->plural, KINDS[k]->plural) == 0 &&
				      strcmp(r->group, KINDS[k]->group) == 0))
			return (int)k;
	return -1;
}

/* The informer of kind k that covers namespace ns (length nslen), or NULL. */
static struct n4j_informer *informer_for(struct run *run, int k, const char *ns, size_t nslen)
{
	if (k < 0)
		return NULL;
	if (run->o.n_namespaces == 0)
		return run->informers[(size_t)k * run->n_scopes];
	for (size_t s = 0; s < run->n_scopes; s++) {
		const char *n = run->o.namespaces[s];
		if (strlen(n) == nslen && memcmp(n, ns, nslen) == 0)
			return run->informers[(size_t)k * run->n_scopes + s];
	}
	return NULL;
}

static struct n4j_cached *caches_get(void *ud, const struct n4j_kube_resource *r, const char *key)
{
	struct run *run = ud;
	const char *slash = key ? strchr(key, '/') : NULL;
	if (!slash)
		return NULL;
	struct n4j_informer *inf = informer_for(run, kind_index(r), key, (size_t)(slash - key));
	return inf ? n4j_informer_get(inf, key) : NULL;
}

struct each_filter {
	const char *ns, *instance;
	size_t nslen;
	void (*fn)(void *fud, struct n4j_cached *o);
	void *fud;
};

static void each_filter_fn(void *ud, struct n4j_cached *o)
{
	struct each_filter *f = ud;
	/* Cheap rejections first: parsing every object of a big namespace costs. */
	if (strncmp(o->key, f->ns, f->nslen) != 0 || o->key[f->nslen] != '/' ||
	    !strstr(o->json, f->instance))
		return;
	cJSON *j = n4j_cached_parse(o);
	const cJSON *labels = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(j, "metadata"), "labels");
	const cJSON *inst = cJSON_GetObjectItemCaseSensitive(labels, "app.kubernetes.io/instance");
	bool match = cJSON_IsString(inst) && strcmp(inst->valuestring, f->instance) == 0;
	cJSON_Delete(j);
	if (match)
		f->fn(f->fud, o);
}

static void caches_each(void *ud, const struct n4j_kube_resource *r, const char *ns,
			const char *instance, void (*fn)(void *fud, struct n4j_cached *o),
			void *fud)
{
	struct run *run = ud;
	if (!ns || !instance)
		return;
	struct each_filter f = {
		.ns = ns, .nslen = strlen(ns), .instance = instance, .fn = fn, .fud = fud};
	struct n4j_informer *inf = informer_for(run, kind_index(r), ns, f.nslen);
	if (inf)
		n4j_informer_each(inf, each_filter_fn, &f);
}

/* What the reconciler reads of a Neo4jCluster: metadata without managedFields (the
 * default transform), spec and status. */
static cJSON *transform_cluster(const cJSON *obj, void *ud)
{
	cJSON *out = n4j_transform_metadata(obj, NULL);
	if (!out)
		return NULL;
	static const char *const keep[] = {"spec", "status"};
	for (size_t i = 0; i < 2; i++) {
		const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, keep[i]);
		if (!it)
			continue;
		cJSON *d = cJSON_Duplicate(it, true);
		if (!d || !cJSON_AddItemToObject(out, keep[i], d)) {
			cJSON_Delete(d);
			cJSON_Delete(out);
			return NULL;
		}
	}
	return out;
}

/* Whether two metadata fields differ (both absent counts as equal). */
static bool field_changed(const cJSON *a, const cJSON *b, const char *name)
{
	const cJSON *x = cJSON_GetObjectItemCaseSensitive(a, name);
	const cJSON *y = cJSON_GetObjectItemCaseSensitive(b, name);
	if (!x && !y)
		return false;
	if (!x || !y)
		return true;
	return !cJSON_Compare(x, y, true);
}

/* A Neo4jCluster change worth a reconcile: anything but a status-only update (our own
 * status writes would otherwise requeue every cluster after each reconcile). A resync
 * re-delivers the same object (same resourceVersion): that one counts. */
static bool cluster_changed(const struct n4j_cached *old_obj, const struct n4j_cached *new_obj)
{
	if (!old_obj || !new_obj || old_obj == new_obj ||
	    strcmp(old_obj->resource_version, new_obj->resource_version) == 0)
		return true;
	cJSON *a = n4j_cached_parse(old_obj), *b = n4j_cached_parse(new_obj);
	bool changed = true; /* when in doubt (out of memory), reconcile */
	if (a && b) {
		const cJSON *ma = cJSON_GetObjectItemCaseSensitive(a, "metadata");
		const cJSON *mb = cJSON_GetObjectItemCaseSensitive(b, "metadata");
		static const char *const fields[] = {"generation", "labels", "annotations",
						     "finalizers", "deletionTimestamp"};
		changed = false;
		for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
			changed |= field_changed(ma, mb, fields[i]);
	}
	cJSON_Delete(a);
	cJSON_Delete(b);
	return changed;
}

/* Debug only: which event enqueued which key (tests read it; costs nothing at info). */
static void log_enqueue(const char *kind, const struct n4j_cached *o, const char *key)
{
	n4j_log_debug("run", "enqueue", N4J_STR("key", key), N4J_STR("kind", kind),
		      N4J_STR("object", o->key), N4J_STR("resource_version", o->resource_version));
}

static void enqueue_backup(struct run *run, const char *kind, const struct n4j_cached *o,
			   const char *ns, size_t nslen, const char *name)
{
	char key[600];
	int n = snprintf(key, sizeof(key), BACKUP_KEY_PREFIX "%.*s/%s", (int)nslen, ns, name);
	if (n <= 0 || (size_t)n >= sizeof(key))
		return;
	log_enqueue(kind, o, key);
	n4j_workqueue_add(run->queue, key);
}

/* The names in status.databases[] (NULL: none), as one comparable string. */
static char *database_names(const struct n4j_cached *o)
{
	cJSON *j = o ? n4j_cached_parse(o) : NULL;
	const cJSON *dbs = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(j, "status"), "databases");
	cJSON *names = cJSON_CreateArray();
	const cJSON *d;
	cJSON_ArrayForEach(d, dbs)
	{
		cJSON *n = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(d, "name"), false);
		if (!n || !cJSON_AddItemToArray(names, n))
			cJSON_Delete(n);
	}
	char *out = names ? cJSON_PrintUnformatted(names) : NULL;
	cJSON_Delete(names);
	cJSON_Delete(j);
	return out;
}

struct backups_of {
	struct run *run;
	const struct n4j_cached *cluster;
	const char *ns, *name;
	size_t nslen;
};

static void backup_of_cluster_fn(void *ud, struct n4j_cached *o)
{
	struct backups_of *b = ud;
	if (strncmp(o->key, b->ns, b->nslen) != 0 || o->key[b->nslen] != '/' ||
	    !strstr(o->json, b->name))
		return;
	cJSON *j = n4j_cached_parse(o);
	const cJSON *ref = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(j, "spec"), "clusterRef");
	const char *c = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ref, "name"));
	if (c && strcmp(c, b->name) == 0)
		enqueue_backup(b->run, N4J_KIND_CLUSTER, b->cluster, b->ns, b->nslen,
			       o->key + b->nslen + 1);
	cJSON_Delete(j);
}

/* The Neo4jBackups of a cluster: they refuse a missing or Community cluster and expand
 * their databases from its status, so its arrival, spec and database list matter. */
static void enqueue_backups_of(struct run *run, const struct n4j_cached *cluster)
{
	const char *slash = strchr(cluster->key, '/');
	if (!slash)
		return;
	struct backups_of b = {
		.run = run,
		.cluster = cluster,
		.ns = cluster->key,
		.nslen = (size_t)(slash - cluster->key),
		.name = slash + 1,
	};
	struct n4j_informer *inf = informer_for(run, 1, b.ns, b.nslen);
	if (inf)
		n4j_informer_each(inf, backup_of_cluster_fn, &b);
}

static void on_cluster_event(void *ud, const struct n4j_cached *old_obj,
			     const struct n4j_cached *new_obj)
{
	struct run *run = ud;
	const struct n4j_cached *o = new_obj ? new_obj : old_obj;
	if (!o)
		return;
	bool changed = cluster_changed(old_obj, new_obj);
	bool dbs = changed;
	if (!dbs) {
		char *a = database_names(old_obj), *b = database_names(new_obj);
		dbs = !a || !b || strcmp(a, b) != 0;
		free(a);
		free(b);
	}
	if (dbs)
		enqueue_backups_of(run, o);
	if (!changed)
		return;
	log_enqueue(N4J_KIND_CLUSTER, o, o->key);
	n4j_workqueue_add(run->queue, o->key);
}

/* A Neo4jBackup change worth a reconcile: as for clusters, not our own status writes. */
static void on_backup_event(void *ud, const struct n4j_cached *old_obj,
			    const struct n4j_cached *new_obj)
{
	struct run *run = ud;
	const struct n4j_cached *o = new_obj ? new_obj : old_obj;
	const char *slash = o ? strchr(o->key, '/') : NULL;
	if (!slash || !cluster_changed(old_obj, new_obj))
		return;
	enqueue_backup(run, N4J_KIND_BACKUP, o, o->key, (size_t)(slash - o->key), slash + 1);
}

static void on_owned_event(void *ud, const struct n4j_cached *old_obj,
			   const struct n4j_cached *new_obj)
{
	struct run *run = ud;
	const struct n4j_cached *o = new_obj ? new_obj : old_obj;
	if (!o)
		return;
	cJSON *j = n4j_cached_parse(o);
	const cJSON *k = cJSON_GetObjectItemCaseSensitive(j, "kind");
	const char *kind = cJSON_IsString(k) ? k->valuestring : "?";
	/* A backup's CronJob, Jobs and their pods (labelled with it) wake the backup only. */
	const char *backup = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "metadata"),
						 "labels"),
		LABEL_BACKUP));
	const char *slash = strchr(o->key, '/');
	if (backup && slash) {
		enqueue_backup(run, kind, o, o->key, (size_t)(slash - o->key), backup);
		cJSON_Delete(j);
		return;
	}
	char key[512];
	/* Controller ownerReference to a Neo4jCluster, else the instance label (Pods are
	 * owned by their StatefulSet, claims by nobody). */
	int rc = j ? n4j_owner_key(j, N4J_KIND_CLUSTER, key, sizeof(key)) : N4J_ENOMEM;
	if (rc == 0 && key[0]) {
		log_enqueue(kind, o, key);
		n4j_workqueue_add(run->queue, key);
	}
	cJSON_Delete(j);
}

static int start_informers(struct run *run, struct n4j_error *err)
{
	run->n_scopes = run->o.n_namespaces ? run->o.n_namespaces : 1;
	run->informers = calloc(N_KINDS * run->n_scopes, sizeof(*run->informers));
	if (!run->informers)
		return n4j_err(err, N4J_ENOMEM, "out of memory");
	for (size_t k = 0; k < N_KINDS; k++) {
		for (size_t s = 0; s < run->n_scopes; s++) {
			struct n4j_informer_opts io = {
				.resource = KINDS[k],
				.namespace_ = run->o.n_namespaces ? run->o.namespaces[s] : NULL,
			};
			struct n4j_informer_handlers h = {.ud = run};
			if (k == 0 || k == 1) {
				io.transform = transform_cluster;
				io.resync_ms = run->o.resync_ms;
				h.on_event = k == 0 ? on_cluster_event : on_backup_event;
			} else {
				io.label_selector = KINDS[k] == &N4J_RES_PVCS ? CLAIM_SELECTOR
									      : MANAGED_BY_LABEL;
				io.transform = n4j_transform_status;
				h.on_event = on_owned_event;
			}
			struct n4j_informer **slot = &run->informers[k * run->n_scopes + s];
			int rc = n4j_informer_new(run->kube, &io, &h, slot, err);
			if (rc == 0)
				rc = n4j_informer_start(*slot, err);
			if (rc)
				return rc;
		}
	}
	return 0;
}

static bool informers_synced(struct run *run)
{
	for (size_t i = 0; i < N_KINDS * run->n_scopes; i++)
		if (!n4j_informer_has_synced(run->informers[i]))
			return false;
	return true;
}

static void log_unsynced(struct run *run)
{
	for (size_t k = 0; k < N_KINDS; k++)
		for (size_t s = 0; s < run->n_scopes; s++)
			if (!n4j_informer_has_synced(run->informers[k * run->n_scopes + s]))
				n4j_log_error("run", "cache not synced",
					      N4J_STR("resource", KINDS[k]->plural),
					      N4J_STR("namespace", run->o.n_namespaces
									   ? run->o.namespaces[s]
									   : "(all)"));
}

static void *stop_informer_main(void *arg)
{
	n4j_informer_stop(arg);
	return NULL;
}

/* Stops every informer at once: each ends its watch within about a second, and one
 * after the other that would add up to seconds per kind and namespace. */
static void stop_informers(struct run *run)
{
	size_t n = N_KINDS * run->n_scopes;
	pthread_t *t = calloc(n, sizeof(*t));
	bool *started = calloc(n, sizeof(*started));
	for (size_t i = 0; i < n; i++)
		if (run->informers[i] && t && started)
			started[i] = pthread_create(&t[i], NULL, stop_informer_main,
						    run->informers[i]) == 0;
	for (size_t i = 0; i < n; i++) {
		if (started && started[i])
			pthread_join(t[i], NULL);
		else
			n4j_informer_stop(run->informers[i]); /* no thread: one at a time */
	}
	free(t);
	free(started);
}

/* One workqueue, two reconcilers: the key says which. */
static long work(void *ud, const char *key)
{
	size_t n = strlen(BACKUP_KEY_PREFIX);
	if (strncmp(key, BACKUP_KEY_PREFIX, n) == 0)
		return n4j_reconcile_backup(ud, key + n);
	return n4j_reconcile_cluster(ud, key);
}

/* ---- discovery ------------------------------------------------------------------ */

/* Whether the API group version is served: 200 yes, 404 no; anything else is retried a
 * few times, then an error (rendering without an API that exists would drop objects). */
static int api_served(struct n4j_kube_client *c, const char *path, bool *out)
{
	for (int attempt = 0;; attempt++) {
		struct n4j_kube_error e;
		memset(&e, 0, sizeof(e));
		cJSON *body = NULL;
		int rc = n4j_kube_request(c, "GET", path, NULL, NULL, 0, &body, &e);
		cJSON_Delete(body);
		if (rc == 0 || e.reason == N4J_KUBE_NOT_FOUND) {
			*out = rc == 0;
			return 0;
		}
		if (attempt == 4) {
			n4j_log_error("run", "discovery failed", N4J_STR("path", path),
				      N4J_STR("reason", n4j_kube_reason_name(e.reason)),
				      N4J_STR("error", e.base.msg));
			return rc;
		}
		n4j_log_warn("run", "discovery failed, retrying", N4J_STR("path", path),
			     N4J_STR("error", e.base.msg));
		n4j_sleep_ms(500L << attempt);
	}
}

/* ---- leader election -------------------------------------------------------------- */

static void on_started_leading(void *ud)
{
	struct run *run = ud;
	n4j_log_info("run", "became leader", N4J_STR("lease", run->o.le_id),
		     N4J_STR("identity", run->identity));
	atomic_store(&run->leading, true);
}

/* Renewal failed: another process may already lead. Stop at once, without a graceful
 * shutdown (controller-runtime does the same): a worker that went on would act without
 * the Lease. The restart makes this process a follower. */
static void on_stopped_leading(void *ud)
{
	struct run *run = ud;
	atomic_store(&run->leading, false);
	if (atomic_load(&run->workers_done)) {
		n4j_log_warn("run", "leader election lost after the workers stopped",
			     N4J_STR("lease", run->o.le_id));
		return;
	}
	n4j_log_error("run", "leader election lost; exiting", N4J_STR("lease", run->o.le_id),
		      N4J_STR("identity", run->identity));
	_exit(N4J_EXIT_INTERNAL);
}

static void make_identity(struct run *run)
{
	char host[64] = "";
	const char *who = getenv("POD_NAME");
	if (!who || !*who) {
		if (gethostname(host, sizeof(host)) != 0)
			snprintf(host, sizeof(host), "neo4j-operator");
		host[sizeof(host) - 1] = '\0';
		who = host;
	}
	uint64_t r = 0;
	if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
		struct n4j_rng rng;
		n4j_rng_seed(&rng, (uint64_t)n4j_wall_ns() ^ ((uint64_t)getpid() << 32));
		r = n4j_rng_next(&rng);
	}
	snprintf(run->identity, sizeof(run->identity), "%.100s_%08x", who, (unsigned)r);
}

/* ---- metrics and health ------------------------------------------------------------ */

/* Serves /metrics, /healthz and /readyz (operator/run_metrics.c) once the informers run;
 * a bind failure is fatal, as in controller-runtime: a pod without its probe port would
 * only be killed later, less clearly. */
static int http_start(struct run *run, struct n4j_error *err)
{
	struct run_metrics *m = &run->metrics;
	m->lease_name = run->o.le_id;
	m->leader = run->leader;
	m->kube = run->kube;
	m->queue = run->queue;
	m->controller = run->controller;
	m->clusters = run->informers;
	m->backups = run->informers + run->n_scopes;
	m->n_scopes = run->n_scopes;
	m->workers = run->o.workers;
	m->stopping = &run->stopping;
	atomic_store(&m->heartbeat_ms, n4j_now_ms());
	struct n4j_server_opts so = {
		.metrics_addr = run->o.metrics_addr,
		.health_addr = run->o.health_addr,
		.collect = run_metrics_collect,
		.collect_ud = m,
		.healthy = run_metrics_healthy,
		.health_ud = m,
	};
	int rc = n4j_server_start(&so, &run->server, err);
	if (rc)
		return rc;
	n4j_log_info("run", "serving metrics and health",
		     N4J_STR("metrics_bind_address", run->o.metrics_addr),
		     N4J_INT("metrics_port", n4j_server_port(run->server, 0)),
		     N4J_STR("health_probe_bind_address", run->o.health_addr),
		     N4J_INT("health_port", n4j_server_port(run->server, 1)));
	return 0;
}

/* ---- shutdown --------------------------------------------------------------------- */

struct drain {
	struct run *run;
	atomic_bool done;
};

static void *drain_main(void *arg)
{
	struct drain *d = arg;
	n4j_workqueue_shutdown(d->run->queue, true);
	n4j_workers_stop(d->run->workers);
	atomic_store(&d->done, true);
	return NULL;
}

/* Drains the queue (workers finish the keys in flight and those already queued; with
 * `stopping` set the reconciler starts no new disruptive step) and stops the workers within the budget; false when it ran
 * out (a step still runs: the caller must not release the Lease, and exits at once). */
static bool drain_workers(struct run *run)
{
	if (!run->workers) {
		n4j_workqueue_shutdown(run->queue, false);
		return true;
	}
	static struct drain d; /* outlives a timed-out drain: the process then _exits */
	d.run = run;
	atomic_init(&d.done, false);
	pthread_t t;
	if (pthread_create(&t, NULL, drain_main, &d) != 0) {
		drain_main(&d);
	} else {
		int64_t until = n4j_now_ms() + DRAIN_BUDGET_MS;
		while (!atomic_load(&d.done) && n4j_now_ms() < until)
			n4j_sleep_ms(20);
		if (!atomic_load(&d.done))
			return false;
		pthread_join(t, NULL);
	}
	run->workers = NULL;
	return true;
}

static void free_run(struct run *run)
{
	if (run->informers) {
		for (size_t i = 0; i < N_KINDS * run->n_scopes; i++)
			n4j_informer_free(run->informers[i]);
		free(run->informers);
	}
	if (run->controller)
		n4j_controller_free(run->controller);
	n4j_leader_free(run->leader);
	n4j_recorder_free(run->recorder);
	n4j_workqueue_free(run->queue);
	n4j_schemas_free(run->schemas);
	n4j_kube_client_free(run->kube);
	n4j_kube_config_free(run->kcfg);
	free_namespaces(&run->o);
}

/* ---- the command ------------------------------------------------------------------ */

static int fatal(const char *what, const struct n4j_error *err)
{
	n4j_log_error("run", what, N4J_STR("error", err->msg));
	return N4J_EXIT_INTERNAL;
}

static int start_up(struct run *run, struct n4j_error *err)
{
	const struct run_opts *o = &run->o;
	int rc = n4j_kube_config_auto(o->kubeconfig, o->context, &run->kcfg, err);
	if (rc)
		return rc;
	/* The identity in the user agent (as client-go adds platform details) ties every
	 * request in the apiserver's audit log to one process. */
	make_identity(run);
	snprintf(run->user_agent, sizeof(run->user_agent), "neo4j-operator/%s (%s)",
		 N4J_OPERATOR_VERSION, run->identity);
	struct n4j_kube_client_opts co = {
		.user_agent = run->user_agent,
		.field_manager = "neo4j-operator",
	};
	rc = n4j_kube_client_new(run->kcfg, &co, &run->kube, err);
	if (rc)
		return rc;
	n4j_log_info("run", "kube client ready", N4J_STR("server", run->kcfg->server),
		     N4J_STR("user_agent", run->user_agent),
		     N4J_STR("context", run->kcfg->context_name),
		     N4J_BOOL("in_cluster", run->kcfg->in_cluster));

	n4j_render_facts_default(&run->facts);
	run->facts.cluster_domain = o->cluster_domain;
	run->facts.operator_namespace = o->operator_namespace;
	if (o->backup_image)
		run->facts.operator_image = o->backup_image;
	if ((rc = api_served(run->kube, "/apis/cert-manager.io/v1",
			     &run->facts.has_cert_manager)) ||
	    (rc = api_served(run->kube, "/apis/monitoring.coreos.com/v1",
			     &run->facts.has_service_monitor)))
		return n4j_err(err, rc, "discovery of optional APIs failed");
	n4j_log_info("run", "discovered", N4J_BOOL("cert_manager", run->facts.has_cert_manager),
		     N4J_BOOL("service_monitor", run->facts.has_service_monitor),
		     N4J_STR("cluster_domain", run->facts.cluster_domain),
		     N4J_STR("operator_namespace", run->facts.operator_namespace),
		     N4J_STR("backup_image", run->facts.operator_image));

	if ((rc = n4j_schemas_load(&run->schemas, err)))
		return rc;
	if ((rc = n4j_workqueue_new(NULL, &run->queue)))
		return n4j_err(err, rc, "cannot create the workqueue");
	struct n4j_recorder_opts ro = {.component = "neo4j-operator"};
	if ((rc = n4j_recorder_new(run->kube, &ro, &run->recorder, err)))
		return rc;

	/* The election runs alongside the cache sync, as in controller-runtime; the callback
	 * only sets a flag, so it may fire before the controller exists. */
	if (o->leader_elect) {
		struct n4j_leader_opts lo = {
			.namespace_ = o->le_namespace,
			.name = o->le_id,
			.identity = run->identity,
			.on_started_leading = on_started_leading,
			.on_stopped_leading = on_stopped_leading,
			.ud = run,
		};
		n4j_log_info("run", "leader election", N4J_STR("namespace", o->le_namespace),
			     N4J_STR("lease", o->le_id), N4J_STR("identity", run->identity));
		if ((rc = n4j_leader_start(run->kube, &lo, &run->leader, err)))
			return rc;
	}

	struct n4j_controller_config cc = {
		.kube = run->kube,
		.recorder = run->recorder,
		.schemas = run->schemas,
		.facts = run->facts,
		.caches = {.get = caches_get, .each = caches_each, .ud = run},
		.leader = run->leader,
		.stopping = &run->stopping,
	};
	if ((rc = n4j_controller_new(&cc, &run->controller, err)))
		return rc;
	return start_informers(run, err);
}

static const char *signal_name(int sig)
{
	return sig == SIGTERM ? "SIGTERM" : sig == SIGINT ? "SIGINT" : "signal";
}

int n4j_cmd_run(int argc, char **argv, FILE *out, FILE *diag)
{
	struct run *run = calloc(1, sizeof(*run));
	if (!run)
		return N4J_EXIT_INTERNAL;
	int code = parse_opts(argc, argv, &run->o, out, diag);
	if (code >= 0) {
		free_namespaces(&run->o);
		free(run);
		return code;
	}
	struct n4j_log_config lc = {
		.level = run->o.log_level, .format = run->o.log_format, .fd = 2};
	n4j_log_configure(&lc);

	/* Before any thread exists: every thread inherits the mask, and only the main thread
	 * takes the signals (sigtimedwait below). A closed connection must not kill us. */
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	atomic_init(&run->stopping, false);
	atomic_init(&run->leading, false);
	atomic_init(&run->workers_done, false);
	char nsbuf[1024] = "";
	for (size_t i = 0; i < run->o.n_namespaces; i++) {
		size_t l = strlen(nsbuf);
		snprintf(nsbuf + l, sizeof(nsbuf) - l, "%s%s", i ? "," : "", run->o.namespaces[i]);
	}
	n4j_log_info("run", "starting", N4J_STR("version", N4J_OPERATOR_VERSION),
		     N4J_STR("namespaces", run->o.n_namespaces ? nsbuf : "(all)"),
		     N4J_INT("workers", run->o.workers),
		     N4J_BOOL("leader_elect", run->o.leader_elect),
		     N4J_INT("resync_ms", run->o.resync_ms));

	struct n4j_error err = {0};
	if (start_up(run, &err) || http_start(run, &err)) {
		code = fatal("start-up failed", &err);
		atomic_store(&run->stopping, true);
		atomic_store(&run->workers_done, true);
		if (run->queue)
			n4j_workqueue_shutdown(run->queue, false);
		if (run->informers)
			stop_informers(run);
		n4j_leader_stop(run->leader);
		n4j_server_stop(run->server);
		free_run(run);
		free(run);
		return code;
	}
	int64_t started = n4j_now_ms();
	bool synced = false;
	int sig = 0;
	code = N4J_EXIT_OK;
	for (;;) {
		struct timespec tick = {.tv_sec = 0, .tv_nsec = 200 * 1000 * 1000};
		int s = sigtimedwait(&sigs, NULL, &tick);
		atomic_store(&run->metrics.heartbeat_ms, n4j_now_ms());
		if (s == SIGTERM || s == SIGINT) {
			sig = s;
			break;
		}
		if (!synced) {
			if (informers_synced(run)) {
				synced = true;
				n4j_server_set_ready(run->server, true);
				n4j_log_info("run", "caches synced",
					     N4J_INT("informers", N_KINDS * run->n_scopes),
					     N4J_INT("ms", n4j_now_ms() - started));
			} else if (n4j_now_ms() - started > SYNC_TIMEOUT_MS) {
				log_unsynced(run);
				n4j_log_error("run", "caches did not sync in time; exiting",
					      N4J_INT("timeout_ms", SYNC_TIMEOUT_MS));
				code = N4J_EXIT_INTERNAL;
				break;
			}
		}
		if (synced && !run->workers &&
		    (!run->o.leader_elect || atomic_load(&run->leading))) {
			int rc = n4j_workers_start(run->queue, run->o.workers, work,
						   run->controller, &run->workers);
			if (rc) {
				n4j_log_error("run", "cannot start the workers",
					      N4J_STR("error", n4j_strerror(rc)));
				code = N4J_EXIT_INTERNAL;
				break;
			}
			n4j_log_info("run", "workers started", N4J_INT("workers", run->o.workers));
		}
	}

	/* Shutdown: each phase logged, in the order that keeps the Lease until no worker can
	 * write, and hands it over as soon as that holds. */
	if (sig)
		n4j_log_info("run", "shutting down", N4J_STR("signal", signal_name(sig)));
	atomic_store(&run->stopping, true);
	n4j_server_set_ready(run->server, false);
	if (!drain_workers(run)) {
		n4j_log_error("run",
			      "workers did not finish within the shutdown budget; exiting "
			      "without releasing the Lease",
			      N4J_INT("budget_ms", DRAIN_BUDGET_MS));
		_exit(N4J_EXIT_INTERNAL);
	}
	atomic_store(&run->workers_done, true);
	n4j_log_info("run", "workers stopped", N4J_INT("queue_len", n4j_workqueue_len(run->queue)));
	if (run->leader) {
		bool was_leader = n4j_leader_is_leader(run->leader);
		n4j_leader_stop(run->leader);
		n4j_log_info("run", was_leader ? "lease released" : "leader election stopped",
			     N4J_STR("lease", run->o.le_id));
	}
	n4j_recorder_flush(run->recorder, EVENT_FLUSH_MS);
	n4j_log_info("run", "events flushed");
	stop_informers(run);
	n4j_log_info("run", "informers stopped");
	/* Last: probes and scrapes are answered through the whole shutdown. */
	n4j_server_stop(run->server);
	run->server = NULL;
	free_run(run);
	free(run);
	n4j_log_info("run", "stopped", N4J_INT("exit_code", code));
	return code;
}
