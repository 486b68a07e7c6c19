/*
 * The whole reconcile against in-memory fakes: the apiserver requests (a store of objects
 * that counts writes), the informer caches (views of the same store) and the neo4j layer
 * (a plan the test sets). The point is the contract of DESIGN §3: a converged cluster makes
 * ZERO writes; an invalid spec makes one status write and one Event; an operator upgrade
 * does not touch the StatefulSet until the user asks.
 */
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "controller/internal.h"

/* ---- the fake apiserver --------------------------------------------------------- */

const struct n4j_kube_resource N4J_RES_CONFIGMAPS = {"", "v1", "configmaps", "ConfigMap", true},
			       N4J_RES_SECRETS = {"", "v1", "secrets", "Secret", true},
			       N4J_RES_SERVICES = {"", "v1", "services", "Service", true},
			       N4J_RES_SERVICEACCOUNTS = {"", "v1", "serviceaccounts",
							  "ServiceAccount", true},
			       N4J_RES_PODS = {"", "v1", "pods", "Pod", true},
			       N4J_RES_PVCS = {"", "v1", "persistentvolumeclaims",
					       "PersistentVolumeClaim", true},
			       N4J_RES_STATEFULSETS = {"apps", "v1", "statefulsets", "StatefulSet",
						       true},
			       N4J_RES_PDBS = {"policy", "v1", "poddisruptionbudgets",
					       "PodDisruptionBudget", true},
			       N4J_RES_NETWORKPOLICIES = {"networking.k8s.io", "v1",
							  "networkpolicies", "NetworkPolicy", true},
			       N4J_RES_NEO4JCLUSTERS = {"neo4j.graphops.io", "v1alpha1",
							"neo4jclusters", "Neo4jCluster", true},
			       N4J_RES_NEO4JBACKUPS = {"neo4j.graphops.io", "v1alpha1",
						       "neo4jbackups", "Neo4jBackup", true},
			       N4J_RES_JOBS = {"batch", "v1", "jobs", "Job", true},
			       N4J_RES_CRONJOBS = {"batch", "v1", "cronjobs", "CronJob", true};

static cJSON *store; /* {plural: [objects]} */
static int writes, gate_patches, applies_sts, events_warning, events_total;
static char last_event_reason[128];
static char last_apply_kinds[512];

static cJSON *list_of(const char *plural)
{
	cJSON *l = cJSON_GetObjectItemCaseSensitive(store, plural);
	if (!l)
		l = cJSON_AddArrayToObject(store, plural);
	return l;
}

static const char *mstr(const cJSON *o, const char *k)
{
	return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(o, "metadata"), k));
}

static cJSON *find(const char *plural, const char *ns, const char *name, int *index)
{
	cJSON *o;
	int i = 0;
	cJSON_ArrayForEach(o, list_of(plural))
	{
		if (check_streq(mstr(o, "namespace"), ns) && check_streq(mstr(o, "name"), name)) {
			if (index)
				*index = i;
			return o;
		}
		i++;
	}
	return NULL;
}

static int fail(struct n4j_kube_error *e, enum n4j_kube_reason r, int http, const char *what)
{
	e->reason = r;
	e->http_status = http;
	return n4j_err(&e->base, r == N4J_KUBE_NOT_FOUND ? N4J_ENOTFOUND : N4J_EINVAL, "%s", what);
}

static const char *get_fails; /* a name whose GET answers 500 */

int n4j_kube_get(struct n4j_kube_client *c, const struct n4j_kube_resource *r, const char *ns,
		 const char *name, cJSON **out, struct n4j_kube_error *e)
{
	if (get_fails && strcmp(name, get_fails) == 0)
		return fail(e, N4J_KUBE_SERVER_ERROR, 500, "etcdserver: request timed out");
	cJSON *o = find(r->plural, ns, name, NULL);
	if (!o)
		return fail(e, N4J_KUBE_NOT_FOUND, 404, "not found");
	*out = cJSON_Duplicate(o, true);
	return 0;
}

static void merge(cJSON *target, const cJSON *patch)
{
	const cJSON *p;
	cJSON_ArrayForEach(p, patch)
	{
		cJSON *t = cJSON_GetObjectItemCaseSensitive(target, p->string);
		if (cJSON_IsNull(p)) {
			cJSON_DeleteItemFromObjectCaseSensitive(target, p->string);
		} else if (cJSON_IsObject(p) && cJSON_IsObject(t)) {
			merge(t, p);
		} else {
			cJSON_DeleteItemFromObjectCaseSensitive(target, p->string);
			cJSON_AddItemToObject(target, p->string, cJSON_Duplicate(p, true));
		}
	}
}

int n4j_kube_create(struct n4j_kube_client *c, const struct n4j_kube_resource *r, const char *ns,
		    const cJSON *obj, cJSON **out, struct n4j_kube_error *e)
{
	writes++;
	if (find(r->plural, ns, mstr(obj, "name"), NULL))
		return fail(e, N4J_KUBE_ALREADY_EXISTS, 409, "exists");
	cJSON_AddItemToArray(list_of(r->plural), cJSON_Duplicate(obj, true));
	*out = cJSON_Duplicate(obj, true);
	return 0;
}

int n4j_kube_apply(struct n4j_kube_client *c, const struct n4j_kube_resource *r, const char *ns,
		   const char *name, const cJSON *obj, bool force, cJSON **out,
		   struct n4j_kube_error *e)
{
	writes++;
	int idx = -1;
	cJSON *old = find(r->plural, ns, name, &idx);
	double gen = old ? cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(
				   cJSON_GetObjectItemCaseSensitive(old, "metadata"), "generation"))
			 : 0;
	cJSON *n = cJSON_Duplicate(obj, true);
	cJSON *nm = cJSON_GetObjectItemCaseSensitive(n, "metadata");
	const char *ouid = old ? mstr(old, "uid") : NULL;
	char uid[160];
	snprintf(uid, sizeof(uid), "uid-%s-%s", r->plural, name);
	cJSON_AddStringToObject(nm, "uid", ouid ? ouid : uid);
	if (r == &N4J_RES_STATEFULSETS) {
		/* The StatefulSet controller, at once: a generation and an observed status. */
		applies_sts++;
		cJSON *m = cJSON_GetObjectItemCaseSensitive(n, "metadata");
		cJSON_AddNumberToObject(m, "generation", (gen != gen ? 0 : gen) + 1);
		cJSON *st = cJSON_AddObjectToObject(n, "status");
		cJSON_AddNumberToObject(st, "observedGeneration", (gen != gen ? 0 : gen) + 1);
		cJSON_AddNumberToObject(
			st, "replicas",
			cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(
				cJSON_GetObjectItemCaseSensitive(n, "spec"), "replicas")));
		cJSON_AddStringToObject(st, "updateRevision", "rev1");
	}
	size_t len = strlen(last_apply_kinds);
	snprintf(last_apply_kinds + len, sizeof(last_apply_kinds) - len, "%s,", r->kind);
	if (old)
		cJSON_ReplaceItemInArray(list_of(r->plural), idx, n);
	else
		cJSON_AddItemToArray(list_of(r->plural), n);
	*out = cJSON_Duplicate(n, true);
	return 0;
}

int n4j_kube_merge_patch(struct n4j_kube_client *c, const struct n4j_kube_resource *r,
			 const char *ns, const char *name, const char *subresource,
			 const cJSON *patch, cJSON **out, struct n4j_kube_error *e)
{
	writes++;
	cJSON *o = find(r->plural, ns, name, NULL);
	if (!o)
		return fail(e, N4J_KUBE_NOT_FOUND, 404, "not found");
	if (subresource && strcmp(subresource, "status") == 0) {
		cJSON *st = cJSON_GetObjectItemCaseSensitive(o, "status");
		if (!st)
			st = cJSON_AddObjectToObject(o, "status");
		merge(st, cJSON_GetObjectItemCaseSensitive(patch, "status"));
	} else {
		merge(o, patch);
	}
	*out = cJSON_Duplicate(o, true);
	return 0;
}

int n4j_kube_delete(struct n4j_kube_client *c, const struct n4j_kube_resource *r, const char *ns,
		    const char *name, const struct n4j_kube_delete_opts *o,
		    struct n4j_kube_error *e)
{
	writes++;
	int idx;
	if (find(r->plural, ns, name, &idx))
		cJSON_DeleteItemFromArray(list_of(r->plural), idx);
	return 0;
}

int n4j_kube_path(const struct n4j_kube_resource *r, const char *ns, const char *name,
		  const char *subresource, struct n4j_buf *out)
{
	n4j_buf_printf(out, "/api/v1/namespaces/%s/%s/%s%s%s", ns, r->plural, name,
		       subresource ? "/" : "", subresource ? subresource : "");
	return out->oom ? N4J_ENOMEM : 0;
}

/* Only the gate patch uses a raw request: a strategic merge of one pod condition. */
int n4j_kube_request(struct n4j_kube_client *c, const char *method, const char *path,
		     const char *content_type, const char *body, size_t body_len, cJSON **out,
		     struct n4j_kube_error *e)
{
	writes++;
	gate_patches++;
	CHECK_STR(method, "PATCH");
	CHECK_STR(content_type, "application/strategic-merge-patch+json");
	char name[64] = "";
	const char *p = strstr(path, "/pods/");
	if (p)
		sscanf(p + 6, "%63[^/]", name);
	cJSON *pod = find("pods", "db", name, NULL);
	cJSON *patch = cJSON_Parse(body);
	cJSON *nc = cJSON_GetArrayItem(
		cJSON_GetObjectItem(cJSON_GetObjectItem(patch, "status"), "conditions"), 0);
	cJSON *conds = cJSON_GetObjectItem(cJSON_GetObjectItem(pod, "status"), "conditions");
	CHECK(pod && nc && conds);
	int i = 0, found = -1;
	cJSON *x;
	cJSON_ArrayForEach(x, conds)
	{
		if (check_streq(cJSON_GetStringValue(cJSON_GetObjectItem(x, "type")),
				N4J_READINESS_GATE))
			found = i;
		i++;
	}
	if (conds && nc) {
		if (found >= 0)
			cJSON_ReplaceItemInArray(conds, found, cJSON_Duplicate(nc, true));
		else
			cJSON_AddItemToArray(conds, cJSON_Duplicate(nc, true));
	}
	cJSON_Delete(patch);
	*out = NULL;
	return 0;
}

/* ---- the fake caches: views of the store -------------------------------------------- */

static struct n4j_cached *cached_of(const cJSON *o)
{
	struct n4j_cached *c = calloc(1, sizeof(*c));
	char *j = cJSON_PrintUnformatted(o);
	c->json = j;
	c->json_len = strlen(j);
	c->key = "";
	c->resource_version = "";
	c->refs = 1;
	return c;
}

cJSON *n4j_cached_parse(const struct n4j_cached *o)
{
	return o ? cJSON_Parse(o->json) : NULL;
}

void n4j_cached_unref(struct n4j_cached *o)
{
	if (o && --o->refs == 0) {
		free((char *)o->json);
		free(o);
	}
}

static struct n4j_cached *cache_get(void *ud, const struct n4j_kube_resource *r, const char *key)
{
	char ns[64], name[128];
	if (sscanf(key, "%63[^/]/%127s", ns, name) != 2)
		return NULL;
	cJSON *o = find(r->plural, ns, name, NULL);
	return o ? cached_of(o) : NULL;
}

static void cache_each(void *ud, const struct n4j_kube_resource *r, const char *ns,
		       const char *instance, void (*fn)(void *fud, struct n4j_cached *o), void *fud)
{
	cJSON *o;
	cJSON_ArrayForEach(o, list_of(r->plural))
	{
		const char *inst = cJSON_GetStringValue(cJSON_GetObjectItem(
			cJSON_GetObjectItem(cJSON_GetObjectItem(o, "metadata"), "labels"),
			N4J_LABEL_INSTANCE));
		if (!check_streq(mstr(o, "namespace"), ns) || !check_streq(inst, instance))
			continue;
		struct n4j_cached *c = cached_of(o);
		fn(fud, c);
		n4j_cached_unref(c);
	}
}

void n4j_recorder_event(struct n4j_recorder *r, const cJSON *involved, const char *type,
			const char *reason, const char *fmt, ...)
{
	events_total++;
	events_warning += strcmp(type, "Warning") == 0;
	snprintf(last_event_reason, sizeof(last_event_reason), "%s", reason);
	char msg[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* The password never appears in an Event. */
	const cJSON *sec = find("secrets", "db", "graph-admin", NULL);
	char *pw = sec ? ctl_secret_value(sec, "password") : NULL;
	CHECK(!pw || !strstr(msg, pw));
	n4j_wipe_free(pw);
}

bool n4j_leader_fresh(const struct n4j_leader *l)
{
	return true;
}

/* ---- the fake neo4j layer --------------------------------------------------------- */

static struct n4j_world last_world;
static int steps_run;
static enum n4j_step_kind next_step = N4J_STEP_NONE;

const char *n4j_server_state_name(enum n4j_server_state s)
{
	return "Enabled";
}
const char *n4j_server_health_name(enum n4j_server_health h)
{
	return "Available";
}
const char *n4j_step_kind_name(enum n4j_step_kind k)
{
	return k == N4J_STEP_ENABLE_SERVER ? "EnableServer"
	       : k == N4J_STEP_DELETE_POD  ? "DeletePod"
					   : "Other";
}
bool n4j_step_is_kube(enum n4j_step_kind k)
{
	return k >= N4J_STEP_SET_REPLICAS && k <= N4J_STEP_DELETE_CLAIM;
}
const char *n4j_phase_name(enum n4j_phase p)
{
	return p == N4J_PHASE_READY ? "Ready" : "Forming";
}

/* The restore rules, mimicked (the real ones are unit.plan's): the first database not
 * done is seeded when absent, recreated when present with replace, else refused. */
static bool restore_mode;
static struct n4j_obs_database fake_dbs[4];
static struct n4j_obs_copy fake_copies[8];
static size_t n_fake_dbs, n_fake_copies;
static struct n4j_step last_step; /* its strings die with the reconcile: see last_uri */
static char last_uri[128];
static int fake_step_rc;
/* What the neo4j layer says ended the last observe or step (test_stats). */
static enum n4j_neo4j_error_kind fake_err_kind;
static const char *fake_err_code = "";
static bool fake_unreachable;
/* test_stats: the controller whose active workers the fake observe records. */
static struct n4j_controller *stats_ctl;
static uint64_t seen_active;

const struct n4j_obs_database *n4j_observed_database(const struct n4j_observed *o, const char *name)
{
	for (size_t i = 0; i < o->n_databases; i++)
		if (check_streq(o->databases[i].name, name))
			return &o->databases[i];
	return NULL;
}

bool n4j_step_refused(int rc)
{
	return rc == -23 || rc == N4J_EINVAL;
}

/* The world's restore outlives the reconcile's arena only as this copy. */
static struct {
	char db[64], uri[128];
	bool done;
} seen[8];

static void keep_restore(const struct n4j_world *w)
{
	memset(seen, 0, sizeof(seen));
	for (size_t i = 0; i < w->restore.n && i < 8; i++) {
		snprintf(seen[i].db, sizeof(seen[i].db), "%s", w->restore.dbs[i].database);
		snprintf(seen[i].uri, sizeof(seen[i].uri), "%s",
			 w->restore.dbs[i].uri ? w->restore.dbs[i].uri : "");
		seen[i].done = w->restore.dbs[i].done;
	}
}

static bool fake_restore_step(const struct n4j_world *w, struct n4j_plan *out)
{
	if (!restore_mode || !w->restore.present || !w->restore.resolved)
		return false;
	for (size_t i = 0; i < w->restore.n; i++) {
		const struct n4j_restore_db *t = &w->restore.dbs[i];
		bool exists = n4j_observed_database(w->neo, t->database) != NULL;
		if (t->done && exists)
			continue;
		struct n4j_step *s = &out->step;
		memset(s, 0, sizeof(*s));
		s->database = t->database;
		s->seed_uri = t->uri;
		s->restore = true;
		if (exists && !w->restore.replace) {
			s->kind = N4J_STEP_REFUSE;
			s->reason = "RestoreTargetExists";
			s->field = "spec.restore";
			s->message = "spec.restore: database neo4j already exists";
			s->database = NULL;
			out->progressing = false;
		} else {
			s->kind = exists ? N4J_STEP_RECREATE : N4J_STEP_SEED_CREATE;
			s->reason = "SeedingDatabase";
			s->primaries = 3;
		}
		out->ready = false;
		return true;
	}
	return false;
}

/* Ready when every pod exists; each pod's gate is true. */
int n4j_plan_next(const struct n4j_world *w, struct n4j_arena *a, struct n4j_plan *out,
		  struct n4j_error *err)
{
	last_world = *w;
	keep_restore(w);
	memset(out, 0, sizeof(*out));
	out->replicas = w->cluster->spec.servers;
	out->gates = n4j_arena_calloc(a, w->n_pods + 1, sizeof(*out->gates));
	for (size_t i = 0; i < w->n_pods; i++)
		out->gates[out->n_gates++] = (struct n4j_gate){w->pods[i].name, true};
	bool all = (int)w->n_pods == w->cluster->spec.servers;
	out->ready = out->available = all;
	out->phase = all ? N4J_PHASE_READY : N4J_PHASE_FORMING;
	out->progressing = !all;
	out->step.kind = all ? next_step : N4J_STEP_WAIT;
	out->step.reason = all ? NULL : "WaitingForPods";
	if (w->sts_replicas < w->cluster->spec.servers) {
		/* As the real planner: raise the replicas first, with op FORM from 0. */
		out->step.kind = N4J_STEP_SET_REPLICAS;
		out->step.reason = "Forming";
		out->step.replicas = w->cluster->spec.servers;
		out->op = (struct n4j_operation){N4J_OP_FORM, "3", w->now_ms};
		return 0;
	}
	if (all && fake_restore_step(w, out))
		return 0;
	if (next_step == N4J_STEP_REFUSE) {
		out->step.reason = "ScaleInRefused";
		out->step.field = "spec.servers";
		out->step.message = "spec.servers: database sales needs 3 primaries";
		out->progressing = false;
	}
	if (next_step == N4J_STEP_DELETE_POD) {
		out->step.pod = "graph-2";
		out->step.pod_uid = "pod-uid-2";
	}
	if (next_step == N4J_STEP_ENABLE_SERVER) {
		out->step.server_id = "id-2";
		out->op = (struct n4j_operation){N4J_OP_FORM, "3", 1796205600000LL};
	}
	return 0;
}

struct n4j_neo4j {
	int x;
};
static struct n4j_neo4j the_handle;
static char last_login[64];
int n4j_neo4j_open(const struct n4j_neo4j_opts *o, struct n4j_neo4j **out, struct n4j_error *err)
{
	CHECK(o->password && strlen(o->password) > 0);
	snprintf(last_login, sizeof(last_login), "%s", o->password ? o->password : "");
	CHECK(o->seeds && o->seeds[0] &&
	      strstr(o->seeds[0], "-headless.db.svc.cluster.local:7687"));
	char ip[64];
	CHECK(o->resolve && o->resolve(o->resolve_ctx, o->seeds[0], ip, sizeof(ip)) == 0 &&
	      strncmp(ip, "127.1.0.", 8) == 0 && strstr(ip, ":7687"));
	*out = &the_handle;
	return 0;
}
void n4j_neo4j_close(struct n4j_neo4j *n)
{
}
bool n4j_neo4j_matches(const struct n4j_neo4j *n, const struct n4j_neo4j_opts *o)
{
	return true;
}
int n4j_observe(struct n4j_neo4j *n, struct n4j_arena *a, const struct n4j_cluster *cluster,
		struct n4j_observed *out, struct n4j_error *err)
{
	memset(out, 0, sizeof(*out));
	if (stats_ctl) {
		struct n4j_controller_stats st;
		n4j_controller_stats(stats_ctl, &st);
		seen_active = st.kinds[N4J_CTL_CLUSTER].active_workers;
	}
	if (fake_unreachable) {
		out->error = "neo4j: cannot reach the servers";
		return 0;
	}
	out->reachable = true;
	out->enterprise = true;
	out->version = "5.26.12";
	out->system_leader = "graph-1.graph-headless.db.svc.cluster.local:7687";
	out->databases = fake_dbs;
	out->n_databases = n_fake_dbs;
	out->copies = fake_copies;
	out->n_copies = n_fake_copies;
	return 0;
}
int n4j_step_run(struct n4j_neo4j *n, struct n4j_arena *a, const struct n4j_step *s,
		 struct n4j_error *err)
{
	steps_run++;
	last_step = *s;
	snprintf(last_uri, sizeof(last_uri), "%s", s->seed_uri ? s->seed_uri : "");
	if (fake_step_rc)
		return n4j_err(err, fake_step_rc, "Neo.ClientError.Database.DatabaseNotFound");
	return 0;
}

enum n4j_neo4j_error_kind n4j_neo4j_last_error(const struct n4j_neo4j *n, const char **code)
{
	if (code)
		*code = fake_err_code;
	return fake_err_kind;
}

/* ---- the tests ---------------------------------------------------------------------- */

static void put_cr(const char *yaml)
{
	cJSON *docs = NULL;
	struct n4j_error err = {0};
	CHECK_INT(n4j_yaml_parse(yaml, strlen(yaml), &docs, &err), 0);
	cJSON *cr = cJSON_DetachItemFromArray(docs, 0);
	cJSON_Delete(docs);
	int idx;
	if (find("neo4jclusters", "db", mstr(cr, "name"), &idx))
		cJSON_DeleteItemFromArray(list_of("neo4jclusters"), idx);
	cJSON_AddItemToArray(list_of("neo4jclusters"), cr);
}

static void add_pod(int k, bool gate)
{
	char buf[1024];
	snprintf(buf, sizeof(buf),
		 "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"graph-%d\","
		 "\"namespace\":\"db\",\"uid\":\"pod-uid-%d\",\"labels\":{"
		 "\"app.kubernetes.io/instance\":\"graph\",\"app.kubernetes.io/component\":"
		 "\"server\",\"controller-revision-hash\":\"rev1\"}},\"status\":{\"podIP\":"
		 "\"127.1.0.%d\",\"conditions\":[{\"type\":\"ContainersReady\",\"status\":"
		 "\"True\"},{\"type\":\"" N4J_READINESS_GATE "\",\"status\":\"%s\"}]}}",
		 k, k, k + 10, gate ? "True" : "False");
	cJSON_AddItemToArray(list_of("pods"), cJSON_Parse(buf));
}

static const cJSON *cond(const char *name, const char *type)
{
	const cJSON *cr = find("neo4jclusters", "db", name, NULL);
	const cJSON *c;
	cJSON_ArrayForEach(
		c,
		cJSON_GetObjectItem(
			cJSON_GetObjectItem(cr, "status"),
			"condition"
			"s")) if (check_streq(cJSON_GetStringValue(cJSON_GetObjectItem(c, "type")),
					      type)) return c;
	return NULL;
}

static const char *cond_field(const char *name, const char *type, const char *field)
{
	return cJSON_GetStringValue(cJSON_GetObjectItem(cond(name, type), field));
}

/* Moves every lastTransitionTime of the stored status into the past, so that a reconcile
 * that stamps "now" on an unchanged condition shows up as a write. */
static void age_status(const char *name)
{
	const cJSON *cr = find("neo4jclusters", "db", name, NULL);
	cJSON *c;
	cJSON_ArrayForEach(c, cJSON_GetObjectItem(cJSON_GetObjectItem(cr, "status"), "conditions"))
	{
		cJSON_DeleteItemFromObject(c, "lastTransitionTime");
		cJSON_AddStringToObject(c, "lastTransitionTime", "2020-01-01T00:00:00Z");
	}
}

#define CR_HEAD                                                                                    \
	"apiVersion: neo4j.graphops.io/v1alpha1\nkind: Neo4jCluster\n"                             \
	"metadata: {name: graph, namespace: db, uid: cr-uid-1, generation: %d, "                   \
	"resourceVersion: \"7\", creationTimestamp: \"2026-12-01T10:00:00Z\"%s}\n"

static void put_graph(int generation, const char *annotations, const char *spec)
{
	char buf[2048];
	snprintf(buf, sizeof(buf), CR_HEAD "spec: %s\n", generation, annotations, spec);
	/* Keep the status the fake apiserver holds. */
	cJSON *old = find("neo4jclusters", "db", "graph", NULL);
	cJSON *st = old ? cJSON_Duplicate(cJSON_GetObjectItem(old, "status"), true) : NULL;
	put_cr(buf);
	if (st)
		cJSON_AddItemToObject(find("neo4jclusters", "db", "graph", NULL), "status", st);
}

#define SPEC3 "{version: 5.26.12, acceptLicenseAgreement: \"yes\", servers: 3}"

static struct n4j_schemas *schemas;
static int fake_client_handle;

static struct n4j_controller *new_controller(const char *render_version)
{
	struct n4j_controller_config cfg = {
		.kube = (struct n4j_kube_client *)&fake_client_handle,
		.recorder = (struct n4j_recorder *)&fake_client_handle,
		.schemas = schemas,
		.caches = {.get = cache_get, .each = cache_each},
		.render_version = render_version,
	};
	n4j_render_facts_default(&cfg.facts);
	cfg.facts.has_cert_manager = cfg.facts.has_service_monitor = false;
	struct n4j_controller *c = NULL;
	struct n4j_error err = {0};
	CHECK_INT(n4j_controller_new(&cfg, &c, &err), 0);
	return c;
}

/* Runs one reconcile; returns the writes it made. */
static int reconcile(struct n4j_controller *c, const char *key, long *ret)
{
	int before = writes;
	last_apply_kinds[0] = '\0';
	long r = n4j_reconcile_cluster(c, key);
	if (ret)
		*ret = r;
	return writes - before;
}

static void test_converge_then_zero_writes(void)
{
	struct n4j_controller *c = new_controller(NULL);
	put_graph(1, "", SPEC3);
	long ret = 0;
	int w = reconcile(c, "db/graph", &ret);
	/* Secret created, objects applied, status written. */
	const cJSON *sec = find("secrets", "db", "graph-admin", NULL);
	CHECK(sec != NULL);
	char *pw = sec ? ctl_secret_value(sec, "password") : NULL;
	CHECK_INT(pw ? strlen(pw) : 0, 24);
	CHECK_STR(ctl_annotation(sec, N4J_ANN_GENERATED_PW), "true");
	CHECK_HAS(last_apply_kinds, "StatefulSet");
	CHECK_HAS(last_apply_kinds, "ConfigMap");
	CHECK(!strstr(last_apply_kinds, "Secret"));
	CHECK(w >= 7);
	CHECK_INT(ret, 2000); /* waiting for pods: soon */
	CHECK_STR(cond_field("graph", CT_READY, "status"), "False");
	CHECK_STR(cond_field("graph", CT_RECONCILING, "status"), "True");
	/* A new StatefulSet starts at 0 replicas; the planner's step raises them (op FORM). */
	CHECK_INT(last_world.sts_replicas, 0);
	CHECK_INT(cJSON_GetNumberValue(cJSON_GetObjectItem(
			  cJSON_GetObjectItem(find("statefulsets", "db", "graph", NULL), "spec"),
			  "replicas")),
		  3);
	CHECK_STR(cond_field("graph", CT_RECONCILING, "reason"), "Forming");
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(
			  cJSON_GetObjectItem(
				  cJSON_GetObjectItem(find("neo4jclusters", "db", "graph", NULL),
						      "status"),
				  "operation"),
			  "kind")),
		  "Form");

	/* Pods come; their gates are set (3 patches) and status changes. */
	for (int k = 0; k < 3; k++)
		add_pod(k, false);
	gate_patches = 0;
	w = reconcile(c, "db/graph", &ret);
	CHECK_INT(gate_patches, 3);
	CHECK_INT(w, 4);
	CHECK_STR(cond_field("graph", CT_READY, "status"), "True");
	CHECK_INT(last_world.sts_replicas, 3);
	CHECK(last_world.sts_current);
	CHECK_INT(last_world.n_pods, 3);
	CHECK(last_world.roll_allowed);
	CHECK_INT(last_world.progress_deadline_ms, 600000);

	/* Converged: nothing at all is written, however often it runs. */
	age_status("graph");
	for (int i = 0; i < 3; i++) {
		w = reconcile(c, "db/graph", &ret);
		CHECK_MSG(w == 0, "converged reconcile %d made %d writes (applied: %s)", i, w,
			  last_apply_kinds);
		CHECK_INT(ret, 60000);
	}
	/* The password was not rewritten. */
	char *pw2 = ctl_secret_value(find("secrets", "db", "graph-admin", NULL), "password");
	CHECK_STR(pw2, pw);
	n4j_wipe_free(pw);
	n4j_wipe_free(pw2);
	const cJSON *st = cJSON_GetObjectItem(find("neo4jclusters", "db", "graph", NULL), "status");
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(st, "readyServers")), "3/3");
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(st, "systemLeader")), "graph-1");
	CHECK_STR(cJSON_GetStringValue(
			  cJSON_GetObjectItem(cJSON_GetObjectItem(st, "endpoints"), "bolt")),
		  "neo4j://graph.db.svc:7687");

	/* A step: run once, an Event, the operation persisted; then it is cleared. */
	next_step = N4J_STEP_ENABLE_SERVER;
	int ev = events_total;
	w = reconcile(c, "db/graph", &ret);
	CHECK_INT(steps_run, 1);
	CHECK(events_total > ev);
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(
			  cJSON_GetObjectItem(
				  cJSON_GetObjectItem(find("neo4jclusters", "db", "graph", NULL),
						      "status"),
				  "operation"),
			  "kind")),
		  "Form");
	CHECK_INT(ret, 2000);
	next_step = N4J_STEP_NONE;
	w = reconcile(c, "db/graph", &ret);
	CHECK(!cJSON_GetObjectItem(
		cJSON_GetObjectItem(find("neo4jclusters", "db", "graph", NULL), "status"),
		"operation"));
	CHECK_INT(reconcile(c, "db/graph", NULL), 0);

	/* A refusal: Stalled with the field path, one Warning, nothing else written. */
	next_step = N4J_STEP_REFUSE;
	int warn = events_warning;
	w = reconcile(c, "db/graph", &ret);
	CHECK_INT(w, 1);
	CHECK_STR(cond_field("graph", CT_STALLED, "status"), "True");
	CHECK_STR(cond_field("graph", CT_STALLED, "reason"), "ScaleInRefused");
	CHECK_STR(cond_field("graph", CT_STALLED, "message"),
		  "spec.servers: database sales needs 3 primaries");
	CHECK_STR(cond_field("graph", CT_READY, "status"), "True"); /* Ready keeps its truth */
	CHECK_INT(events_warning, warn + 1);
	CHECK_INT(reconcile(c, "db/graph", NULL), 0);
	CHECK_INT(events_warning, warn + 1); /* on transitions only */
	next_step = N4J_STEP_NONE;
	reconcile(c, "db/graph", NULL);
	CHECK_STR(cond_field("graph", CT_STALLED, "status"), "False");
	n4j_controller_free(c);
}

static void test_update_pending(void)
{
	/* The next operator release renders another version: the StatefulSet waits. */
	struct n4j_controller *next = new_controller("2-test");
	/* As if the old operator had rendered another neo4j.conf: held back as well. */
	cJSON *cm = find("configmaps", "db", "graph-config", NULL);
	cJSON *cm_ann = cJSON_GetObjectItem(cJSON_GetObjectItem(cm, "metadata"), "annotations");
	cJSON_DeleteItemFromObject(cm_ann, N4J_ANN_SPEC_HASH);
	cJSON_AddStringToObject(cm_ann, N4J_ANN_SPEC_HASH, "old");
	applies_sts = 0;
	long ret;
	int w = reconcile(next, "db/graph", &ret);
	CHECK_STR(last_apply_kinds, "");
	CHECK_INT(applies_sts, 0);
	CHECK_INT(w, 1); /* the status */
	CHECK_STR(cond_field("graph", CT_UPDATE_PENDING, "status"), "True");
	CHECK_STR(cond_field("graph", CT_UPDATE_PENDING, "reason"), "RenderVersionChanged");
	CHECK_HAS(cond_field("graph", CT_UPDATE_PENDING, "message"), N4J_ANN_ROLLOUT);
	CHECK(!last_world.roll_allowed);
	age_status("graph");
	CHECK_INT(reconcile(next, "db/graph", NULL), 0);

	/* The user asks for the roll: the StatefulSet is applied with the new version. */
	put_graph(1, ", annotations: {neo4j.graphops.io/rollout: \"1\"}", SPEC3);
	w = reconcile(next, "db/graph", &ret);
	CHECK_INT(applies_sts, 1);
	CHECK_HAS(last_apply_kinds, "ConfigMap");
	const cJSON *sts = find("statefulsets", "db", "graph", NULL);
	CHECK_STR(ctl_annotation(sts, N4J_ANN_RENDER_VERSION), "2-test");
	CHECK_STR(ctl_annotation(sts, N4J_ANN_ROLLOUT), "1");
	CHECK_STR(cond_field("graph", CT_UPDATE_PENDING, "status"), "False");
	CHECK(last_world.roll_allowed);
	/* Its live replicas were kept. */
	CHECK_INT(cJSON_GetNumberValue(
			  cJSON_GetObjectItem(cJSON_GetObjectItem(sts, "spec"), "replicas")),
		  3);
	CHECK_INT(reconcile(next, "db/graph", NULL), 0);

	/* A spec change also rolls: new generation, applied by the old operator too. */
	struct n4j_controller *c = new_controller(NULL);
	put_graph(2, ", annotations: {neo4j.graphops.io/rollout: \"1\"}",
		  "{version: 5.26.12, acceptLicenseAgreement: \"yes\", servers: 3, "
		  "config: {db.transaction.timeout: 30s}}");
	applies_sts = 0;
	reconcile(c, "db/graph", NULL);
	CHECK_INT(applies_sts, 1);
	CHECK_STR(ctl_annotation(find("statefulsets", "db", "graph", NULL), N4J_ANN_GENERATION),
		  "2");
	CHECK_INT(reconcile(c, "db/graph", NULL), 0);

	/* A NetworkPolicy no longer asked for is deleted (it would keep filtering). */
	CHECK(find("networkpolicies", "db", "graph", NULL) != NULL);
	put_graph(3, ", annotations: {neo4j.graphops.io/rollout: \"1\"}",
		  "{version: 5.26.12, acceptLicenseAgreement: \"yes\", servers: 3, "
		  "config: {db.transaction.timeout: 30s}, networkPolicy: {enabled: false}}");
	reconcile(c, "db/graph", NULL);
	CHECK(find("networkpolicies", "db", "graph", NULL) == NULL);
	CHECK(find("poddisruptionbudgets", "db", "graph", NULL) != NULL);
	CHECK_INT(reconcile(c, "db/graph", NULL), 0);
	n4j_controller_free(next);
	n4j_controller_free(c);
}

static void test_invalid_spec(void)
{
	struct n4j_controller *c = new_controller(NULL);
	put_graph(4, "", "{version: 5.26.12, acceptLicenseAgreement: \"yes\", servers: 0}");
	int warn = events_warning;
	applies_sts = 0;
	long ret = -5;
	int w = reconcile(c, "db/graph", &ret);
	CHECK_INT(w, 1); /* the status, nothing else */
	CHECK_INT(ret, 0);
	CHECK_INT(applies_sts, 0);
	CHECK_STR(cond_field("graph", CT_STALLED, "status"), "True");
	CHECK_STR(cond_field("graph", CT_STALLED, "reason"), "InvalidSpec");
	CHECK_HAS(cond_field("graph", CT_STALLED, "message"), "spec.servers: must be at least 1");
	CHECK_STR(cond_field("graph", CT_READY, "status"), "False");
	CHECK_STR(cond_field("graph", CT_RECONCILING, "status"), "False");
	CHECK_INT(cJSON_GetNumberValue(
			  cJSON_GetObjectItem(cond("graph", CT_STALLED), "observedGeneration")),
		  4);
	CHECK_INT(events_warning, warn + 1);
	CHECK_STR(last_event_reason, "InvalidSpec");
	CHECK_INT(reconcile(c, "db/graph", NULL), 0);
	CHECK_INT(events_warning, warn + 1);

	/* Gone: nothing to do, nothing written. */
	int idx;
	find("neo4jclusters", "db", "graph", &idx);
	cJSON_DeleteItemFromArray(list_of("neo4jclusters"), idx);
	CHECK_INT(reconcile(c, "db/graph", &ret), 0);
	CHECK_INT(ret, 0);
	n4j_controller_free(c);
}

static void test_user_secret_missing(void)
{
	struct n4j_controller *c = new_controller(NULL);
	put_cr("apiVersion: neo4j.graphops.io/v1alpha1\nkind: Neo4jCluster\n"
	       "metadata: {name: other, namespace: db, uid: cr-uid-2, generation: 1}\n"
	       "spec: {version: 5.26.12, acceptLicenseAgreement: \"yes\", "
	       "auth: {adminSecretRef: {name: mine}}}\n");
	applies_sts = 0;
	long ret;
	int w = reconcile(c, "db/other", &ret);
	CHECK_INT(w, 1);
	CHECK(ret > 0);
	CHECK_INT(applies_sts, 0);
	CHECK(find("secrets", "db", "mine", NULL) == NULL); /* a user Secret is never made */
	CHECK_STR(cond_field("other", CT_STALLED, "reason"), "AdminSecretMissing");
	CHECK_HAS(cond_field("other", CT_STALLED, "message"), "spec.auth.adminSecretRef");
	CHECK_INT(reconcile(c, "db/other", NULL), 0);

	/* The user creates it, with the trailing newline an edited Secret often has: the
	 * pod drops it ($(cat …)), so the login does too. */
	cJSON_AddItemToArray(list_of("secrets"),
			     cJSON_Parse("{\"metadata\":{\"name\":\"mine\",\"namespace\":\"db\"},"
					 "\"data\":{\"password\":\"czNjcjN0Cg==\"}}"));
	add_pod(0, true);
	cJSON *pod = cJSON_GetArrayItem(list_of("pods"), cJSON_GetArraySize(list_of("pods")) - 1);
	cJSON *pm = cJSON_GetObjectItem(pod, "metadata");
	cJSON_ReplaceItemInObject(pm, "name", cJSON_CreateString("other-0"));
	cJSON_ReplaceItemInObject(cJSON_GetObjectItem(pm, "labels"), N4J_LABEL_INSTANCE,
				  cJSON_CreateString("other"));
	reconcile(c, "db/other", &ret);
	CHECK_STR(cond_field("other", CT_STALLED, "status"), "False");
	CHECK_STR(last_login, "s3cr3t");
	n4j_controller_free(c);
}

/* ---- Neo4jBackup ------------------------------------------------------------------------ */

static void put_doc(const char *plural, const char *yaml)
{
	cJSON *docs = NULL;
	struct n4j_error err = {0};
	CHECK_INT(n4j_yaml_parse(yaml, strlen(yaml), &docs, &err), 0);
	cJSON *o = cJSON_DetachItemFromArray(docs, 0);
	cJSON_Delete(docs);
	int idx;
	if (find(plural, mstr(o, "namespace"), mstr(o, "name"), &idx))
		cJSON_DeleteItemFromArray(list_of(plural), idx);
	cJSON_AddItemToArray(list_of(plural), o);
}

static void drop(const char *plural, const char *name)
{
	int idx;
	if (find(plural, "db", name, &idx))
		cJSON_DeleteItemFromArray(list_of(plural), idx);
}

static const cJSON *bstatus(const char *name)
{
	return cJSON_GetObjectItem(find("neo4jbackups", "db", name, NULL), "status");
}

static const char *bcond(const char *name, const char *type, const char *field)
{
	const cJSON *c;
	cJSON_ArrayForEach(c, cJSON_GetObjectItem(bstatus(name), "conditions"))
	{
		if (check_streq(cJSON_GetStringValue(cJSON_GetObjectItem(c, "type")), type))
			return cJSON_GetStringValue(cJSON_GetObjectItem(c, field));
	}
	return NULL;
}

/* now - s, RFC 3339: the controller judges runs by the wall clock. */
static const char *ago(int64_t s)
{
	static char buf[8][40];
	static int k;
	char *b = buf[k++ % 8];
	n4j_format_time(n4j_wall_ns() - s * 1000000000LL, false, b, 40);
	return b;
}

static void set_created(const char *name, const char *when)
{
	cJSON *m = cJSON_GetObjectItem(find("neo4jbackups", "db", name, NULL), "metadata");
	cJSON_ReplaceItemInObject(m, "creationTimestamp", cJSON_CreateString(when));
}

static int breconcile(struct n4j_controller *c, const char *key, long *ret)
{
	int before = writes;
	long r = n4j_reconcile_backup(c, key);
	if (ret)
		*ret = r;
	return writes - before;
}

#define BACKUP_YAML(name, cluster, extra)                                                          \
	"apiVersion: neo4j.graphops.io/v1alpha1\nkind: Neo4jBackup\n"                              \
	"metadata: {name: " name ", namespace: db, uid: b-uid-" name ", generation: 1, "           \
	"creationTimestamp: \"2026-12-01T00:00:00Z\"}\n"                                           \
	"spec: {clusterRef: {name: " cluster "}, target: {pvc: {size: 1Gi}}" extra "}\n"

static const char *BK_CLUSTER =
	"apiVersion: neo4j.graphops.io/v1alpha1\nkind: Neo4jCluster\n"
	"metadata: {name: bk, namespace: db, uid: cr-uid-bk, generation: 1}\n"
	"spec: {version: 5.26.12, acceptLicenseAgreement: \"yes\", servers: 3}\n"
	"status: {databases: [{name: system}, {name: neo4j}, {name: sales}, {name: salt}]}\n";

/* A finished Job of backup `backup` and its pod (job-name label, termination messages). */
static void put_job(const char *backup, const char *job, bool ok, const char *done,
		    const char *message)
{
	char buf[4096];
	snprintf(buf, sizeof(buf),
		 "{\"apiVersion\":\"batch/v1\",\"kind\":\"Job\",\"metadata\":{\"name\":\"%s\","
		 "\"namespace\":\"db\",\"labels\":{\"app.kubernetes.io/instance\":\"bk\","
		 "\"" CTL_LABEL_BACKUP "\":\"%s\"}},\"status\":{\"startTime\":\"%s\",%s"
		 "\"conditions\":[{\"type\":\"%s\",\"status\":\"True\",\"lastTransitionTime\":"
		 "\"%s\"}]}}",
		 job, backup, done, ok ? "" : "\"failed\":2,", ok ? "Complete" : "Failed", done);
	cJSON *j = cJSON_Parse(buf);
	CHECK(j != NULL);
	if (ok)
		cJSON_AddStringToObject(cJSON_GetObjectItem(j, "status"), "completionTime", done);
	cJSON_AddItemToArray(list_of("jobs"), j);
	snprintf(buf, sizeof(buf),
		 "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"%s-x\","
		 "\"namespace\":\"db\",\"creationTimestamp\":\"%s\",\"labels\":{"
		 "\"app.kubernetes.io/instance\":\"bk\",\"" CTL_LABEL_BACKUP "\":\"%s\","
		 "\"batch.kubernetes.io/job-name\":\"%s\"}},\"status\":{\"phase\":\"%s\","
		 "\"initContainerStatuses\":[{\"name\":\"backup\",\"state\":{\"terminated\":{"
		 "\"exitCode\":%d}}}],\"containerStatuses\":[{\"name\":\"retention\",\"state\":{"
		 "\"terminated\":{\"exitCode\":0}}}]}}",
		 job, done, backup, job, ok ? "Succeeded" : "Failed", ok ? 0 : 1);
	cJSON *p = cJSON_Parse(buf);
	CHECK(p != NULL);
	const char *list = ok ? "containerStatuses" : "initContainerStatuses";
	cJSON *term = cJSON_GetObjectItem(
		cJSON_GetObjectItem(
			cJSON_GetArrayItem(
				cJSON_GetObjectItem(cJSON_GetObjectItem(p, "status"), list), 0),
			"state"),
		"terminated");
	cJSON_AddStringToObject(term, "message", message);
	cJSON_AddItemToArray(list_of("pods"), p);
}

static const char *REPORT = "{\"v\":1,\"databases\":[\"neo4j\",\"sales\",\"salt\",\"system\"],"
			    "\"artifacts\":[{\"name\":\"neo4j-2026-12-02T01-00-05.backup\","
			    "\"database\":\"neo4j\",\"sizeBytes\":1234,\"full\":true}],"
			    "\"bytes\":1234,\"kept\":7,\"prunedCount\":3}\n";

static void test_backup_refused(void)
{
	struct n4j_controller *c = new_controller(NULL);
	/* No such cluster: refused, one Warning, nothing created. */
	put_doc("neo4jbackups", BACKUP_YAML("lost", "nope", ", schedule: \"0 2 * * *\""));
	int warn = events_warning;
	long ret;
	int w = breconcile(c, "db/lost", &ret);
	CHECK_INT(w, 1); /* the status */
	CHECK(ret > 0);
	CHECK_STR(bcond("lost", CT_SCHEDULED, "status"), "False");
	CHECK_STR(bcond("lost", CT_SCHEDULED, "reason"), "ClusterNotFound");
	CHECK_HAS(bcond("lost", CT_SCHEDULED, "message"), "spec.clusterRef.name");
	CHECK_STR(bcond("lost", CT_BACKUP_HEALTHY, "status"), "Unknown");
	CHECK_STR(bcond("lost", CT_STALLED, "status"), "True");
	CHECK_INT(events_warning, warn + 1);
	CHECK_STR(last_event_reason, "ClusterNotFound");
	CHECK_INT(cJSON_GetArraySize(list_of("cronjobs")), 0);
	CHECK_INT(cJSON_GetArraySize(list_of("persistentvolumeclaims")), 0);
	CHECK_INT(breconcile(c, "db/lost", NULL), 0); /* the same refusal: no write, no Event */
	CHECK_INT(events_warning, warn + 1);

	/* A Community cluster. */
	put_cr("apiVersion: neo4j.graphops.io/v1alpha1\nkind: Neo4jCluster\n"
	       "metadata: {name: comm, namespace: db, uid: cr-uid-comm, generation: 1}\n"
	       "spec: {version: 5.26.12, edition: community}\n");
	put_doc("neo4jbackups", BACKUP_YAML("ce", "comm", ""));
	CHECK_INT(breconcile(c, "db/ce", NULL), 1);
	CHECK_STR(bcond("ce", CT_SCHEDULED, "reason"), "CommunityEdition");
	CHECK_STR(bcond("ce", CT_STALLED, "reason"), "CommunityEdition");
	CHECK_INT(events_warning, warn + 2);
	CHECK_STR(last_event_reason, "CommunityEdition");
	CHECK_INT(cJSON_GetArraySize(list_of("jobs")), 0);
	CHECK_INT(cJSON_GetArraySize(list_of("persistentvolumeclaims")), 0);
	/* A one-shot backup: one Job, run once; deleted after it ran, it is not made again. */
	put_cr(BK_CLUSTER);
	put_doc("neo4jbackups", BACKUP_YAML("once", "bk", ", databases: [neo4j]"));
	breconcile(c, "db/once", NULL);
	CHECK(find("jobs", "db", "once-backup", NULL) != NULL);
	CHECK_STR(bcond("once", CT_SCHEDULED, "reason"), "OneShot");
	drop("jobs", "once-backup");
	put_job("once", "once-backup", true, ago(60), REPORT);
	breconcile(c, "db/once", NULL);
	CHECK_STR(bcond("once", CT_BACKUP_HEALTHY, "status"), "True");
	drop("jobs", "once-backup");
	CHECK_INT(breconcile(c, "db/once", NULL), 0);
	CHECK(find("jobs", "db", "once-backup", NULL) == NULL);
	/* Gone: nothing. */
	drop("neo4jbackups", "ce");
	CHECK_INT(breconcile(c, "db/ce", &ret), 0);
	CHECK_INT(ret, 0);
	n4j_controller_free(c);
}

static void test_backup_scheduled(void)
{
	struct n4j_controller *c = new_controller(NULL);
	put_cr(BK_CLUSTER);
	put_doc("neo4jbackups",
		BACKUP_YAML("nightly", "bk",
			    ", databases: [\"*\", \"sal?\"], schedule: \"0 2 * * *\", "
			    "timeZone: Europe/Berlin"));
	set_created("nightly", ago(7200));
	long ret;
	int w = breconcile(c, "db/nightly", &ret);
	CHECK_INT(w, 3); /* PVC, CronJob, status */
	const cJSON *cj = find("cronjobs", "db", "nightly-backup", NULL);
	CHECK(cj != NULL);
	CHECK(find("persistentvolumeclaims", "db", "nightly-backup", NULL) != NULL);
	/* The concrete names reach the Job: "*" expanded from the cluster's status. */
	char *txt = cJSON_PrintUnformatted(cj);
	CHECK_HAS(txt, "\"neo4j-backup\",\"neo4j\",\"sales\",\"salt\",\"system\"");
	CHECK(!strstr(txt, "\"*\""));
	free(txt);
	const cJSON *st = bstatus("nightly");
	char *dbs = cJSON_PrintUnformatted(cJSON_GetObjectItem(st, "databases"));
	CHECK_STR(dbs, "[\"neo4j\",\"sales\",\"salt\",\"system\"]");
	free(dbs);
	const char *next = cJSON_GetStringValue(cJSON_GetObjectItem(st, "nextScheduleTime"));
	CHECK(next && strlen(next) == 20 &&
	      (strstr(next, "T01:00:00Z") || strstr(next, "T00:00:00Z")));
	CHECK_STR(bcond("nightly", CT_SCHEDULED, "status"), "True");
	CHECK_STR(bcond("nightly", CT_STALLED, "status"), "False");
	CHECK_STR(bcond("nightly", CT_BACKUP_HEALTHY, "reason"), "NoBackupYet");
	CHECK(ret > 0 && ret <= 60000);
	/* Converged: nothing written. */
	CHECK_INT(breconcile(c, "db/nightly", NULL), 0);

	/* A finished run: history from the Job, the retention report, one Event. */
	int ev = events_total;
	const char *t1 = ago(3600), *t2 = ago(1800);
	put_job("nightly", "nightly-backup-1001", true, t1, REPORT);
	w = breconcile(c, "db/nightly", NULL);
	CHECK_INT(w, 1);
	CHECK_INT(events_total, ev + 1);
	CHECK_STR(last_event_reason, "BackupSucceeded");
	st = bstatus("nightly");
	const cJSON *h0 = cJSON_GetArrayItem(cJSON_GetObjectItem(st, "history"), 0);
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(h0, "name")), "nightly-backup-1001");
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(h0, "result")), "Succeeded");
	CHECK_INT(cJSON_GetNumberValue(cJSON_GetObjectItem(h0, "sizeBytes")), 1234);
	CHECK_INT(cJSON_GetArraySize(cJSON_GetObjectItem(h0, "artifacts")), 1);
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(st, "lastSuccessfulTime")), t1);
	CHECK_STR(bcond("nightly", CT_BACKUP_HEALTHY, "status"), "True");
	CHECK_INT(breconcile(c, "db/nightly", NULL), 0);
	CHECK_INT(events_total, ev + 1); /* once per run */

	/* A failed run after it: BackupHealthy False, lastFailure, a Warning. */
	int warn = events_warning;
	put_job("nightly", "nightly-backup-1002", false, t2,
		"ERROR: Unable to connect to graph-0:6362\n");
	CHECK_INT(breconcile(c, "db/nightly", NULL), 1);
	CHECK_INT(events_warning, warn + 1);
	CHECK_STR(last_event_reason, "BackupFailed");
	CHECK_STR(bcond("nightly", CT_BACKUP_HEALTHY, "status"), "False");
	CHECK_STR(bcond("nightly", CT_BACKUP_HEALTHY, "reason"), "BackupFailed");
	st = bstatus("nightly");
	const cJSON *lf = cJSON_GetObjectItem(st, "lastFailure");
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(lf, "reason")), "BackupFailed");
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(lf, "message")),
		  "ERROR: Unable to connect to graph-0:6362");
	CHECK_INT(cJSON_GetArraySize(cJSON_GetObjectItem(st, "history")), 2);
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(
			  cJSON_GetArrayItem(cJSON_GetObjectItem(st, "history"), 0), "name")),
		  "nightly-backup-1002");
	CHECK_INT(breconcile(c, "db/nightly", NULL), 0);
	CHECK_INT(events_warning, warn + 1);

	/* The CronJob's history limit deletes the Jobs: the runs stay in status. */
	drop("jobs", "nightly-backup-1001");
	drop("jobs", "nightly-backup-1002");
	CHECK_INT(breconcile(c, "db/nightly", NULL), 0);
	CHECK_INT(cJSON_GetArraySize(cJSON_GetObjectItem(bstatus("nightly"), "history")), 2);
	CHECK_STR(bcond("nightly", CT_BACKUP_HEALTHY, "reason"), "BackupFailed");

	/* A new database in the cluster's status: the CronJob follows. */
	cJSON *cl = find("neo4jclusters", "db", "bk", NULL);
	cJSON_AddItemToArray(cJSON_GetObjectItem(cJSON_GetObjectItem(cl, "status"), "databases"),
			     cJSON_Parse("{\"name\":\"orders\"}"));
	last_apply_kinds[0] = '\0';
	CHECK_INT(breconcile(c, "db/nightly", NULL), 2); /* the CronJob, status.databases */
	CHECK_STR(last_apply_kinds, "CronJob,");
	n4j_controller_free(c);
}

static void test_backup_overdue(void)
{
	struct n4j_controller *c = new_controller(NULL);
	put_cr(BK_CLUSTER);
	/* Every minute since 1 December and no success since: overdue. */
	put_doc("neo4jbackups", BACKUP_YAML("stale", "bk", ", schedule: \"* * * * *\""));
	int warn = events_warning;
	breconcile(c, "db/stale", NULL);
	CHECK_STR(bcond("stale", CT_BACKUP_HEALTHY, "status"), "False");
	CHECK_STR(bcond("stale", CT_BACKUP_HEALTHY, "reason"), "Overdue");
	CHECK_HAS(bcond("stale", CT_BACKUP_HEALTHY, "message"), "due at 2026-12-01T00:01:00Z");
	CHECK_INT(events_warning, warn + 1);
	CHECK_STR(last_event_reason, "BackupOverdue");
	/* A fresh success (now) ends it. */
	char now[40];
	n4j_format_time(n4j_wall_ns(), false, now, sizeof(now));
	put_job("stale", "stale-backup-1", true, now, REPORT);
	breconcile(c, "db/stale", NULL);
	CHECK_STR(bcond("stale", CT_BACKUP_HEALTHY, "status"), "True");
	/* Suspended: Scheduled False, no next run, and still judged: backups stopped. */
	put_doc("neo4jbackups",
		BACKUP_YAML("paused", "bk", ", schedule: \"* * * * *\", suspend: true"));
	breconcile(c, "db/paused", NULL);
	CHECK_STR(bcond("paused", CT_SCHEDULED, "reason"), "Suspended");
	CHECK_STR(bcond("paused", CT_BACKUP_HEALTHY, "reason"), "Overdue");
	CHECK_HAS(bcond("paused", CT_BACKUP_HEALTHY, "message"), "spec.suspend is true");
	/* Suspended a moment ago, after a success: not overdue yet. */
	put_doc("neo4jbackups",
		BACKUP_YAML("rest", "bk", ", schedule: \"0 2 * * *\", suspend: true"));
	set_created("rest", ago(60));
	breconcile(c, "db/rest", NULL);
	CHECK_STR(bcond("rest", CT_BACKUP_HEALTHY, "reason"), "NoBackupYet");
	CHECK(!cJSON_GetObjectItem(bstatus("paused"), "nextScheduleTime"));
	/* An unknown zone: refused (the apiserver would refuse the CronJob). */
	put_doc("neo4jbackups",
		BACKUP_YAML("mars", "bk", ", schedule: \"0 2 * * *\", timeZone: Mars/Base"));
	breconcile(c, "db/mars", NULL);
	CHECK_STR(bcond("mars", CT_SCHEDULED, "reason"), "UnknownTimeZone");
	CHECK(find("cronjobs", "db", "mars-backup", NULL) == NULL);
	n4j_controller_free(c);
}

/* ---- restore ------------------------------------------------------------------------------ */

static const cJSON *restore_status(const char *name)
{
	return cJSON_GetObjectItem(
		cJSON_GetObjectItem(find("neo4jclusters", "db", name, NULL), "status"), "restore");
}

static const char *restore_field(const char *field)
{
	return cJSON_GetStringValue(cJSON_GetObjectItem(restore_status("graph"), field));
}

/* status.restore.databases[name].field */
static const char *restore_db_field(const char *db, const char *field)
{
	const cJSON *d;
	cJSON_ArrayForEach(d, cJSON_GetObjectItem(restore_status("graph"), "databases"))
	{
		if (check_streq(cJSON_GetStringValue(cJSON_GetObjectItem(d, "name")), db))
			return cJSON_GetStringValue(cJSON_GetObjectItem(d, field));
	}
	return NULL;
}

static void fake_db(const char *name, const char *current, const char *message)
{
	fake_dbs[n_fake_dbs++] = (struct n4j_obs_database){
		.name = name, .requested_status = "online", .requested_primaries = 1};
	fake_copies[n_fake_copies++] = (struct n4j_obs_copy){.database = name,
							     .requested_status = "online",
							     .current_status = current,
							     .status_message = message};
}

static void put_backup(const char *yaml)
{
	cJSON *docs = NULL;
	struct n4j_error err = {0};
	CHECK_INT(n4j_yaml_parse(yaml, strlen(yaml), &docs, &err), 0);
	cJSON *b = cJSON_DetachItemFromArray(docs, 0);
	cJSON_Delete(docs);
	int idx;
	if (find("neo4jbackups", "db", mstr(b, "name"), &idx))
		cJSON_DeleteItemFromArray(list_of("neo4jbackups"), idx);
	cJSON_AddItemToArray(list_of("neo4jbackups"), b);
}

#define RESTORE_URI                                                                                \
	"{version: 5.26.12, acceptLicenseAgreement: \"yes\", servers: 3, "                         \
	"restore: {seedURI: \"s3://bucket/backups/\", databases: [sales]}}"

static void test_restore_from_uri(void)
{
	/* A new cluster with spec.restore from a URI: pods first, then the seeded CREATE. */
	cJSON *store_before = store;
	store = cJSON_CreateObject();
	restore_mode = true;
	n_fake_dbs = n_fake_copies = 0;
	fake_step_rc = 0;
	struct n4j_controller *c = new_controller(NULL);
	put_graph(1, "", RESTORE_URI);
	reconcile(c, "db/graph", NULL);
	CHECK(last_world.restore.present && last_world.restore.resolved);
	CHECK_INT(last_world.restore.n, 1);
	CHECK_STR(seen[0].db, "sales");
	CHECK_STR(seen[0].uri, "s3://bucket/backups/");
	CHECK(!seen[0].done);
	CHECK_STR(restore_field("phase"), "Pending");
	CHECK_STR(restore_field("source"), "s3://bucket/backups/");
	const char *key = restore_field("key");
	CHECK_INT(key ? strlen(key) : 0, 16);
	char key1[17];
	snprintf(key1, sizeof(key1), "%s", key ? key : "");
	CHECK_STR(cond_field("graph", CT_RESTORED, "status"), "False");
	CHECK_STR(cond_field("graph", CT_RESTORED, "reason"), "Pending");

	for (int k = 0; k < 3; k++)
		add_pod(k, true);
	int steps = steps_run;
	reconcile(c, "db/graph", NULL);
	CHECK_INT(steps_run, steps + 1);
	CHECK_INT(last_step.kind, N4J_STEP_SEED_CREATE);
	CHECK_STR(last_uri, "s3://bucket/backups/");
	CHECK_STR(restore_db_field("sales", "phase"), "Seeding");
	CHECK_STR(restore_field("phase"), "Seeding");
	CHECK(restore_field("startedAt") != NULL);
	CHECK_STR(cond_field("graph", CT_RESTORED, "reason"), "Seeding");

	/* Neo4j shows the copy starting: done under this key, nothing sent again. */
	fake_db("sales", "starting", "");
	reconcile(c, "db/graph", NULL);
	CHECK(seen[0].done);
	CHECK_INT(steps_run, steps + 1);
	CHECK_STR(restore_db_field("sales", "phase"), "Seeding");
	CHECK_STR(restore_field("key"), key1);
	/* Online on every host: Succeeded, Restored=True, one Normal Event. */
	fake_copies[0].current_status = "online";
	int ev = events_total;
	reconcile(c, "db/graph", NULL);
	CHECK_STR(restore_field("phase"), "Succeeded");
	CHECK(restore_field("completedAt") != NULL);
	CHECK_STR(cond_field("graph", CT_RESTORED, "status"), "True");
	CHECK_INT(events_total, ev + 1);
	CHECK_STR(last_event_reason, "Restored");
	age_status("graph");
	CHECK_INT(reconcile(c, "db/graph", NULL), 0); /* converged: no write, no Event */
	CHECK_INT(events_total, ev + 1);

	/* Another spec.restore is another key: the existing database is refused, nothing
	 * is sent, a Warning once. */
	put_graph(2, "",
		  "{version: 5.26.12, acceptLicenseAgreement: \"yes\", servers: 3, "
		  "restore: {seedURI: \"s3://bucket/other/\", databases: [sales]}}");
	int warn = events_warning;
	reconcile(c, "db/graph", NULL);
	CHECK(!check_streq(restore_field("key"), key1));
	CHECK_INT(steps_run, steps + 1);
	CHECK_STR(restore_field("phase"), "Refused");
	CHECK_STR(restore_db_field("sales", "phase"), "Refused");
	CHECK_STR(cond_field("graph", CT_RESTORED, "reason"), "RestoreTargetExists");
	CHECK_STR(cond_field("graph", CT_STALLED, "status"), "True");
	CHECK(events_warning >= warn + 1);
	CHECK_STR(last_event_reason, "RestoreRefused");
	warn = events_warning;
	reconcile(c, "db/graph", NULL);
	CHECK_INT(events_warning, warn);
	CHECK_INT(steps_run, steps + 1);

	/* replace: the recreate is sent once; the next reconcile sends nothing. */
	put_graph(3, "",
		  "{version: 5.26.12, acceptLicenseAgreement: \"yes\", servers: 3, "
		  "restore: {seedURI: \"s3://bucket/other/\", databases: [sales], replace: true}}");
	reconcile(c, "db/graph", NULL);
	CHECK_INT(steps_run, steps + 2);
	CHECK_INT(last_step.kind, N4J_STEP_RECREATE);
	CHECK_STR(restore_db_field("sales", "phase"), "Seeding");
	fake_copies[0].current_status = "starting";
	reconcile(c, "db/graph", NULL);
	reconcile(c, "db/graph", NULL);
	CHECK_INT(steps_run, steps + 2);
	CHECK_STR(restore_db_field("sales", "phase"), "Seeding");
	/* The recreated copy cannot start: Failed with Neo4j's words, RestoreFailed. */
	fake_copies[0].current_status = "offline";
	fake_copies[0].status_message = "Unable to start database `sales`: no seed";
	reconcile(c, "db/graph", NULL);
	CHECK_STR(restore_field("phase"), "Failed");
	CHECK_HAS(restore_db_field("sales", "message"), "Unable to start database");
	CHECK_STR(cond_field("graph", CT_RESTORED, "reason"), "Failed");
	CHECK_STR(last_event_reason, "RestoreFailed");
	CHECK_INT(steps_run, steps + 2);

	/* A step Neo4j refuses: Failed at once, not retried under this key. */
	n_fake_dbs = n_fake_copies = 0;
	fake_step_rc = -23;
	put_graph(4, "",
		  "{version: 5.26.12, acceptLicenseAgreement: \"yes\", servers: 3, "
		  "restore: {seedURI: \"s3://bucket/third/\", databases: [sales]}}");
	reconcile(c, "db/graph", NULL);
	CHECK_INT(steps_run, steps + 3);
	CHECK_STR(restore_db_field("sales", "phase"), "Failed");
	CHECK_HAS(restore_db_field("sales", "message"), "DatabaseNotFound");
	fake_step_rc = 0;
	/* spec.restore removed: the record and its condition stay, nothing is sent. */
	put_graph(5, "", SPEC3);
	reconcile(c, "db/graph", NULL);
	CHECK_STR(restore_field("phase"), "Failed");
	CHECK_STR(cond_field("graph", CT_RESTORED, "reason"), "Failed");
	CHECK(!last_world.restore.present);
	CHECK_INT(steps_run, steps + 3);
	n4j_controller_free(c);
	cJSON_Delete(store);
	store = store_before;
	restore_mode = false;
}

#define BACKUP_HEAD                                                                                \
	"apiVersion: neo4j.graphops.io/v1alpha1\nkind: Neo4jBackup\n"                              \
	"metadata: {name: nightly, namespace: db, uid: b-uid-1, generation: 1}\n"

static void test_restore_from_backup(void)
{
	cJSON *store_before = store;
	store = cJSON_CreateObject();
	restore_mode = true;
	n_fake_dbs = n_fake_copies = 0;
	struct n4j_controller *c = new_controller(NULL);
	put_graph(1, "",
		  "{version: 5.26.12, acceptLicenseAgreement: \"yes\", servers: 3, "
		  "restore: {backupRef: {name: nightly}}}");
	for (int k = 0; k < 3; k++)
		add_pod(k, true);
	/* Missing: refused (Stalled), nothing sent, a Warning. */
	int steps = steps_run;
	reconcile(c, "db/graph", NULL);
	reconcile(c, "db/graph", NULL);
	CHECK_STR(restore_field("phase"), "Refused");
	CHECK_STR(cond_field("graph", CT_RESTORED, "reason"), "BackupNotFound");
	CHECK_STR(cond_field("graph", CT_STALLED, "reason"), "BackupNotFound");
	CHECK(last_world.restore.present && !last_world.restore.resolved);
	CHECK_INT(steps_run, steps);
	/* A PVC target: the servers cannot seed from it. */
	put_backup(BACKUP_HEAD
		   "spec: {clusterRef: {name: graph}, databases: [\"*\"], target: {pvc: "
		   "{size: 10Gi}}}\n");
	reconcile(c, "db/graph", NULL);
	CHECK_STR(cond_field("graph", CT_RESTORED, "reason"), "RestoreSourceUnsupported");
	CHECK_HAS(cond_field("graph", CT_RESTORED, "message"), "docs/backup-restore.md");
	CHECK_INT(steps_run, steps);
	/* S3 without a successful run: waiting, not refused. */
	put_backup(BACKUP_HEAD
		   "spec: {clusterRef: {name: graph}, databases: [\"*\"], target: {s3: {uri: "
		   "\"s3://bkt/graph\", credentialsSecretRef: {name: s3}}}}\n"
		   "status: {history: [{name: j1, result: Failed, databases: [neo4j]}]}\n");
	reconcile(c, "db/graph", NULL);
	CHECK_STR(restore_field("phase"), "Pending");
	CHECK_STR(cond_field("graph", CT_RESTORED, "reason"), "NoBackupYet");
	CHECK_STR(cond_field("graph", CT_STALLED, "status"), "False");
	CHECK_INT(steps_run, steps);
	/* A successful run: its databases but system, from the target URI. */
	put_backup(BACKUP_HEAD
		   "spec: {clusterRef: {name: graph}, databases: [\"*\"], target: {s3: {uri: "
		   "\"s3://bkt/graph\", credentialsSecretRef: {name: s3}, endpoint: "
		   "\"http://127.0.0.1:9000\", region: eu-west-3}}}\n"
		   "status: {history: [{name: j2, result: Succeeded, databases: [neo4j, system, "
		   "sales]}, {name: j1, result: Failed, databases: [neo4j]}]}\n");
	reconcile(c, "db/graph", NULL);
	CHECK(last_world.restore.resolved);
	CHECK_INT(last_world.restore.n, 2);
	CHECK_STR(seen[0].db, "neo4j");
	CHECK_STR(seen[1].db, "sales");
	CHECK_STR(seen[1].uri, "s3://bkt/graph");
	CHECK_INT(steps_run, steps + 1);
	CHECK_STR(restore_field("source"), "s3://bkt/graph");
	/* The servers reach the store at the backup target's endpoint and region. */
	char *sts = cJSON_PrintUnformatted(find("statefulsets", "db", "graph", NULL));
	CHECK_HAS(sts, "AWS_ENDPOINT_URL_S3");
	CHECK_HAS(sts, "http://127.0.0.1:9000");
	CHECK_HAS(sts, "eu-west-3");
	free(sts);
	/* Frozen once started: the Neo4jBackup gone changes nothing. */
	int idx;
	find("neo4jbackups", "db", "nightly", &idx);
	cJSON_DeleteItemFromArray(list_of("neo4jbackups"), idx);
	reconcile(c, "db/graph", NULL);
	CHECK(last_world.restore.resolved);
	CHECK_INT(last_world.restore.n, 2);
	CHECK(seen[0].done);
	CHECK_STR(restore_field("phase"), "Seeding");
	n4j_controller_free(c);
	cJSON_Delete(store);
	store = store_before;
	restore_mode = false;
}

static uint64_t step_count(const struct n4j_controller_stats *s, const char *name)
{
	for (size_t i = 0; i < s->n_step_counts; i++)
		if (check_streq(s->step_counts[i].name, name))
			return s->step_counts[i].count;
	return 0;
}

/*
 * /metrics counters of the controller: controller-runtime's results (requeue_after for a
 * resync, success for a gone key, error for a failed step), active workers only during a
 * reconcile, the reconcile time, steps by name (failed ones not), DeletePod as a rolling
 * deletion, Bolt errors by class from the neo4j layer, refusals as terminal errors once
 * per refusal, and each kind apart.
 */
static void test_stats(void)
{
	struct n4j_controller *c = new_controller(NULL);
	struct n4j_controller_stats s;
	n4j_controller_stats(c, &s);
	CHECK_STR(s.kinds[N4J_CTL_CLUSTER].name, "neo4jcluster");
	CHECK_STR(s.kinds[N4J_CTL_BACKUP].name, "neo4jbackup");
	CHECK_INT(s.kinds[N4J_CTL_CLUSTER].reconcile_time.n, N4J_HIST_RECONCILE_N);
	CHECK_INT(s.n_step_counts, 0);
	const struct n4j_controller_stats *k = &s; /* short names below */
#define CL k->kinds[N4J_CTL_CLUSTER]
#define BK k->kinds[N4J_CTL_BACKUP]

	/* Converged: the resync is a requeue_after; one worker active during it, none after. */
	stats_ctl = c;
	seen_active = 0;
	long ret = 0;
	reconcile(c, "db/graph", &ret);
	stats_ctl = NULL;
	CHECK_INT(ret, 60000);
	CHECK_INT(seen_active, 1);
	n4j_controller_stats(c, &s);
	CHECK_INT(CL.requeue_after, 1);
	CHECK_INT(CL.success + CL.error + CL.requeue, 0);
	CHECK_INT(CL.active_workers, 0);
	CHECK_INT(CL.reconcile_time.count, 1);
	CHECK_INT(s.reconciles, 1);

	/* Gone: success. */
	reconcile(c, "db/none", &ret);
	CHECK_INT(ret, 0);
	n4j_controller_stats(c, &s);
	CHECK_INT(CL.success, 1);

	/* A step that ran, by name; then a DeletePod of a roll. */
	next_step = N4J_STEP_ENABLE_SERVER;
	reconcile(c, "db/graph", NULL);
	next_step = N4J_STEP_DELETE_POD;
	reconcile(c, "db/graph", NULL);
	CHECK(find("pods", "db", "graph-2", NULL) == NULL);
	next_step = N4J_STEP_NONE;
	add_pod(2, true);
	reconcile(c, "db/graph", NULL);
	n4j_controller_stats(c, &s);
	CHECK_INT(step_count(&s, "EnableServer"), 1);
	CHECK_INT(step_count(&s, "DeletePod"), 1);
	CHECK_INT(s.n_step_counts, 2);
	CHECK_INT(s.steps, 2);
	CHECK_INT(s.rolling_pod_deletions, 1);

	/* A step Neo4j answers with a FAILURE: an error result, its class from the code. */
	next_step = N4J_STEP_ENABLE_SERVER;
	fake_step_rc = -23;
	fake_err_kind = N4J_NEO4J_ERR_FAILURE;
	fake_err_code = "Neo.TransientError.General.DatabaseUnavailable";
	reconcile(c, "db/graph", &ret);
	CHECK(ret < 0);
	fake_step_rc = 0;
	next_step = N4J_STEP_NONE;
	fake_err_kind = N4J_NEO4J_ERR_NONE;
	reconcile(c, "db/graph", NULL);
	n4j_controller_stats(c, &s);
	CHECK_INT(CL.error, 1);
	CHECK_INT(s.errors, 1);
	CHECK_INT(s.bolt_errors[N4J_BOLT_TRANSIENT_ERROR], 1);
	CHECK_INT(step_count(&s, "EnableServer"), 1); /* a failed step is not counted */

	/* Neo4j unreachable: the observation's error by class; a non-Bolt one not at all. */
	fake_unreachable = true;
	fake_err_kind = N4J_NEO4J_ERR_NETWORK;
	reconcile(c, "db/graph", NULL);
	fake_err_kind = N4J_NEO4J_ERR_NONE;
	reconcile(c, "db/graph", NULL);
	fake_unreachable = false;
	reconcile(c, "db/graph", NULL);
	n4j_controller_stats(c, &s);
	CHECK_INT(s.bolt_errors[N4J_BOLT_NETWORK], 1);
	uint64_t bolt = 0;
	for (int i = 0; i < N4J_BOLT_CLASSES; i++)
		bolt += s.bolt_errors[i];
	CHECK_INT(bolt, 2);

	/* A refusal: one terminal error, however often it is reconciled. */
	next_step = N4J_STEP_REFUSE;
	reconcile(c, "db/graph", NULL);
	reconcile(c, "db/graph", NULL);
	next_step = N4J_STEP_NONE;
	reconcile(c, "db/graph", NULL);
	n4j_controller_stats(c, &s);
	CHECK_INT(CL.terminal_errors, 1);
	CHECK_INT(s.refusals, 1);
	CHECK_INT(BK.terminal_errors, 0);

	/* The backup kind counts apart. */
	put_doc("neo4jbackups", BACKUP_YAML("stats", "nope", ""));
	breconcile(c, "db/stats", &ret);
	CHECK(ret > 0);
	drop("neo4jbackups", "stats");
	n4j_controller_stats(c, &s);
	CHECK_INT(BK.terminal_errors, 1);
	CHECK_INT(BK.requeue_after, 1);
	CHECK_INT(BK.reconcile_time.count, 1);
	CHECK_INT(CL.terminal_errors, 1);
	CHECK_INT(s.refusals, 2);
	CHECK_INT(CL.reconcile_time.count, CL.success + CL.error + CL.requeue_after);
	CHECK_INT(s.reconciles, CL.reconcile_time.count + BK.reconcile_time.count);
	CHECK_INT(CL.active_workers + BK.active_workers, 0);
#undef CL
#undef BK
	n4j_controller_free(c);
}

/* ---- status.tls ------------------------------------------------------------------- */

static char certdir[256]; /* certgen.sh's output */

/* base64 of certdir/name, malloc'd. */
static char *b64_file(const char *name)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", certdir, name);
	FILE *f = fopen(path, "rb");
	CHECK_MSG(f != NULL, "open %s", path);
	if (!f)
		return strdup("");
	unsigned char raw[8192];
	size_t len = fread(raw, 1, sizeof(raw), f);
	fclose(f);
	char *out = calloc(1, (len + 2) / 3 * 4 + 1);
	EVP_EncodeBlock((unsigned char *)out, raw, (int)len);
	return out;
}

/* The user's kubernetes.io/tls Secret secure-tls with crt as tls.crt (replaced if any). */
static void put_tls_secret(const char *crt)
{
	int idx;
	if (find("secrets", "db", "secure-tls", &idx))
		cJSON_DeleteItemFromArray(list_of("secrets"), idx);
	cJSON *s = cJSON_Parse("{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"type\":"
			       "\"kubernetes.io/tls\",\"metadata\":{\"name\":\"secure-tls\","
			       "\"namespace\":\"db\"},\"data\":{}}");
	cJSON *data = cJSON_GetObjectItem(s, "data");
	const char *keys[] = {"tls.crt", "tls.key", "ca.crt"},
		   *files[] = {crt, "key.pem", "ca.pem"};
	for (int i = 0; i < 3; i++) {
		char *v = b64_file(files[i]);
		cJSON_AddStringToObject(data, keys[i], v);
		free(v);
	}
	cJSON_AddItemToArray(list_of("secrets"), s);
}

static const cJSON *tls_entry(void)
{
	const cJSON *st =
		cJSON_GetObjectItem(find("neo4jclusters", "db", "secure", NULL), "status");
	return cJSON_GetArrayItem(cJSON_GetObjectItem(st, "tls"), 0);
}

static const char *tls_field(const char *f)
{
	return cJSON_GetStringValue(cJSON_GetObjectItem(tls_entry(), f));
}

/* No word of the Secret's data in the CR: its status shows public fields only. */
static void check_no_secret_bytes(void)
{
	const cJSON *sec = find("secrets", "db", "secure-tls", NULL);
	char *cr = cJSON_PrintUnformatted(find("neo4jclusters", "db", "secure", NULL));
	const cJSON *v;
	cJSON_ArrayForEach(v, cJSON_GetObjectItem(sec, "data"))
	{
		char piece[25];
		snprintf(piece, sizeof(piece), "%s", v->valuestring + 64);
		CHECK_MSG(cr && !strstr(cr, piece), "status holds bytes of %s", v->string);
	}
	CHECK(cr && !strstr(cr, "BEGIN"));
	free(cr);
}

/* status.tls follows the TLS Secret's certificate, whatever Bolt says (no pods here: Neo4j
 * is unreachable); a renewal is written once; CertificateExpiring once per transition. */
static void test_tls_status(void)
{
	struct n4j_controller *c = new_controller(NULL);
	put_cr("apiVersion: neo4j.graphops.io/v1alpha1\nkind: Neo4jCluster\n"
	       "metadata: {name: secure, namespace: db, uid: cr-uid-3, generation: 1}\n"
	       "spec: {version: 5.26.12, acceptLicenseAgreement: \"yes\", servers: 3, "
	       "tls: {secretName: secure-tls}}\n");
	/* No Secret yet: nothing listed (and nothing else refused for it). */
	reconcile(c, "db/secure", NULL);
	CHECK(tls_entry() == NULL);
	CHECK_STR(cond_field("secure", CT_AVAILABLE, "status"), "False");

	put_tls_secret("leaf.pem");
	int warn = events_warning;
	int w = reconcile(c, "db/secure", NULL);
	CHECK_INT(w, 1); /* the status */
	CHECK_STR(tls_field("secretName"), "secure-tls");
	CHECK_STR(tls_field("notBefore"), "2025-01-01T00:00:00Z");
	CHECK_STR(tls_field("notAfter"), "2030-12-31T23:59:59Z");
	CHECK(!cJSON_GetObjectItem(tls_entry(), "expiringSoon"));
	CHECK_INT(cJSON_GetArraySize(cJSON_GetObjectItem(tls_entry(), "dnsNames")), 2);
	CHECK_INT(cJSON_GetArraySize(cJSON_GetObjectItem(tls_entry(), "usages")), 4);
	CHECK_INT(events_warning, warn);
	check_no_secret_bytes();
	/* Nothing changed: nothing written. */
	CHECK_INT(reconcile(c, "db/secure", NULL), 0);

	/* Renewed: the new dates and names, in one write. */
	put_tls_secret("renewed.pem");
	CHECK_INT(reconcile(c, "db/secure", NULL), 1);
	CHECK_STR(tls_field("notAfter"), "2050-06-01T12:00:00Z");
	CHECK_STR(cJSON_GetStringValue(
			  cJSON_GetArrayItem(cJSON_GetObjectItem(tls_entry(), "dnsNames"), 0)),
		  "graph-renewed.db.svc");
	CHECK_INT(reconcile(c, "db/secure", NULL), 0);

	/* Seven days left: one Warning, however often it reconciles. */
	put_tls_secret("soon.pem");
	CHECK_INT(reconcile(c, "db/secure", NULL), 1);
	CHECK(cJSON_IsTrue(cJSON_GetObjectItem(tls_entry(), "expiringSoon")));
	CHECK_INT(events_warning, warn + 1);
	CHECK_STR(last_event_reason, "CertificateExpiring");
	CHECK_INT(reconcile(c, "db/secure", NULL), 0);
	CHECK_INT(reconcile(c, "db/secure", NULL), 0);
	CHECK_INT(events_warning, warn + 1);
	check_no_secret_bytes();
	/* The same certificate entering the window as time passes (its entry written before
	 * it did): that is a transition too. */
	cJSON_DeleteItemFromObject((cJSON *)tls_entry(), "expiringSoon");
	CHECK_INT(reconcile(c, "db/secure", NULL), 1);
	CHECK_INT(events_warning, warn + 2);
	CHECK_INT(reconcile(c, "db/secure", NULL), 0);
	CHECK_INT(events_warning, warn + 2);

	/* A failed read (not a 404) says nothing about the certificate: the entry stays. */
	get_fails = "secure-tls";
	CHECK_INT(reconcile(c, "db/secure", NULL), 0);
	CHECK(cJSON_IsTrue(cJSON_GetObjectItem(tls_entry(), "expiringSoon")));
	get_fails = NULL;

	/* Not a certificate any more (a key in tls.crt): no longer listed. */
	put_tls_secret("key.pem");
	CHECK_INT(reconcile(c, "db/secure", NULL), 1);
	CHECK(tls_entry() == NULL);
	/* Renewed again from nothing: listed, no Warning. */
	put_tls_secret("leaf.pem");
	reconcile(c, "db/secure", NULL);
	CHECK_STR(tls_field("notAfter"), "2030-12-31T23:59:59Z");
	CHECK_INT(events_warning, warn + 2);
	n4j_controller_free(c);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s certgen.sh\n", argv[0]);
		return 2;
	}
	const char *tmp = getenv("TMPDIR");
	snprintf(certdir, sizeof(certdir), "%s/n4j-rec-certs-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	CHECK(mkdtemp(certdir) != NULL);
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "sh '%s' '%s'", argv[1], certdir);
	CHECK_INT(system(cmd), 0);
	store = cJSON_CreateObject();
	struct n4j_error err = {0};
	CHECK_INT(n4j_schemas_load(&schemas, &err), 0);
	test_converge_then_zero_writes();
	test_stats();
	test_update_pending();
	test_invalid_spec();
	test_user_secret_missing();
	test_backup_refused();
	test_backup_scheduled();
	test_backup_overdue();
	test_restore_from_uri();
	test_restore_from_backup();
	test_tls_status();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", certdir);
	CHECK_INT(system(cmd), 0);
	n4j_schemas_free(schemas);
	cJSON_Delete(store);
	return check_summary();
}
