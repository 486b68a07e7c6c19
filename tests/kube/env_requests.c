/* Requests against the real apiserver: CRUD, pagination, SSA, status, delete propagation,
 * HTTP/2, RBAC refusal, in-cluster token rotation. */
#include <pthread.h>
#include <sys/stat.h>

#include "envutil.h"

static char ns[64];

static void test_http2_and_version(struct n4j_kube_client *c)
{
	struct n4j_kube_client_stats s0, s1;
	n4j_kube_client_stats(c, &s0);
	cJSON *v = NULL;
	struct n4j_kube_error e;
	CHECK_INT(n4j_kube_request(c, "GET", "/version", NULL, NULL, 0, &v, &e), 0);
	CHECK_HAS(env_str(v, "gitVersion", NULL), "v1.");
	cJSON_Delete(v);
	n4j_kube_client_stats(c, &s1);
	CHECK_INT(s1.requests - s0.requests, 1);
	CHECK_INT(s1.http2_requests - s0.http2_requests, 1); /* ALPN h2 against the apiserver */
	CHECK(e.audit_id[0] != '\0');
}

static void test_crud(struct n4j_kube_client *c)
{
	struct n4j_kube_error e;
	cJSON *cm = env_cm("crud", "k", "v1"), *out = NULL;
	CHECK_INT(n4j_kube_create(c, &N4J_RES_CONFIGMAPS, ns, cm, &out, &e), 0);
	CHECK_INT(e.http_status, 201);
	const char *rv1 = env_str(out, "metadata", "resourceVersion");
	char rv[32];
	snprintf(rv, sizeof(rv), "%s", rv1 ? rv1 : "");
	cJSON_Delete(out);
	out = NULL;
	CHECK(n4j_kube_create(c, &N4J_RES_CONFIGMAPS, ns, cm, &out, &e) != 0);
	CHECK_INT(e.reason, N4J_KUBE_ALREADY_EXISTS);
	CHECK_INT(e.http_status, 409);
	CHECK(e.audit_id[0] != '\0');
	CHECK_INT(n4j_kube_get(c, &N4J_RES_CONFIGMAPS, ns, "crud", &out, &e), 0);
	CHECK_STR(env_str(out, "data", "k"), "v1");
	cJSON_Delete(out);
	out = NULL;

	cJSON *patch = cJSON_Parse("{\"data\":{\"k\":\"v2\",\"k2\":\"x\"}}");
	CHECK_INT(n4j_kube_merge_patch(c, &N4J_RES_CONFIGMAPS, ns, "crud", NULL, patch, &out, &e),
		  0);
	CHECK_STR(env_str(out, "data", "k"), "v2");
	CHECK_STR(env_str(out, "data", "k2"), "x");
	cJSON_Delete(out);
	out = NULL;
	cJSON_Delete(patch);

	/* PUT with the stale RV: 409 Conflict. */
	cJSON_AddItemToObject(cJSON_GetObjectItem(cm, "metadata"), "resourceVersion",
			      cJSON_CreateString(rv));
	CHECK(n4j_kube_update(c, &N4J_RES_CONFIGMAPS, ns, "crud", NULL, cm, &out, &e) != 0);
	CHECK_INT(e.reason, N4J_KUBE_CONFLICT);
	CHECK(!n4j_kube_retryable(&e));
	CHECK_INT(n4j_kube_get(c, &N4J_RES_CONFIGMAPS, ns, "crud", &out, &e), 0);
	cJSON_ReplaceItemInObject(cJSON_GetObjectItem(cm, "metadata"), "resourceVersion",
				  cJSON_CreateString(env_str(out, "metadata", "resourceVersion")));
	cJSON_Delete(out);
	out = NULL;
	CHECK_INT(n4j_kube_update(c, &N4J_RES_CONFIGMAPS, ns, "crud", NULL, cm, &out, &e), 0);
	CHECK_STR(env_str(out, "data", "k"), "v1");
	CHECK(env_str(out, "data", "k2") == NULL);
	cJSON_Delete(out);
	out = NULL;
	cJSON_Delete(cm);

	/* 422 with causes. */
	cJSON *bad = env_cm("Not_A_Name", NULL, NULL);
	CHECK(n4j_kube_create(c, &N4J_RES_CONFIGMAPS, ns, bad, &out, &e) != 0);
	CHECK_INT(e.reason, N4J_KUBE_INVALID);
	CHECK_INT(e.base.code, N4J_EINVAL);
	CHECK(e.n_causes >= 1);
	CHECK_STR(e.causes[0].field, "metadata.name");
	cJSON_Delete(bad);

	CHECK_INT(n4j_kube_delete(c, &N4J_RES_CONFIGMAPS, ns, "crud", NULL, &e), 0);
	CHECK(n4j_kube_get(c, &N4J_RES_CONFIGMAPS, ns, "crud", &out, &e) != 0);
	CHECK_INT(e.reason, N4J_KUBE_NOT_FOUND);
	CHECK_INT(e.base.code, N4J_ENOTFOUND);
	CHECK_INT(n4j_kube_delete(c, &N4J_RES_CONFIGMAPS, ns, "crud", NULL, &e), 0);
	CHECK_INT(e.http_status, 404); /* already gone counts as success */
}

static void test_pagination(struct n4j_kube_client *c)
{
	char pns[80];
	snprintf(pns, sizeof(pns), "%s-page", ns);
	if (env_ns_create(c, pns)) {
		CHECK(0);
		return;
	}
	long t0 = env_now_ms();
	int created = 0;
	for (int i = 0; i < 1000; i++) {
		char name[32];
		snprintf(name, sizeof(name), "cm-%04d", i);
		cJSON *cm = env_cm(name, "i", name);
		struct n4j_kube_error e;
		if (n4j_kube_create(c, &N4J_RES_CONFIGMAPS, pns, cm, NULL, &e) == 0 ||
		    e.reason == N4J_KUBE_ALREADY_EXISTS)
			created++;
		else
			fprintf(stderr, "create %s: %s\n", name, e.base.msg);
		cJSON_Delete(cm);
	}
	CHECK_INT(created, 1000);
	fprintf(stderr, "created 1000 ConfigMaps in %ld ms\n", env_now_ms() - t0);
	struct n4j_kube_client_stats s0, s1;
	n4j_kube_client_stats(c, &s0);
	struct n4j_kube_list_opts lo = {.page_size = 128};
	cJSON *items = NULL;
	char *rv = NULL;
	struct n4j_kube_error e;
	CHECK_INT(n4j_kube_list(c, &N4J_RES_CONFIGMAPS, pns, &lo, &items, &rv, &e), 0);
	n4j_kube_client_stats(c, &s1);
	int n = 0, typed = 0, named = 0;
	const cJSON *it;
	char seen[1000] = {0};
	cJSON_ArrayForEach(it, items)
	{
		n++;
		const char *k = env_str(it, "kind", NULL), *av = env_str(it, "apiVersion", NULL);
		typed += k && av && !strcmp(k, "ConfigMap") && !strcmp(av, "v1");
		const char *name = env_str(it, "metadata", "name");
		int idx;
		if (name && sscanf(name, "cm-%d", &idx) == 1 && idx >= 0 && idx < 1000 &&
		    !seen[idx]) {
			seen[idx] = 1;
			named++;
		}
	}
	/* kube-root-ca.crt is created in every namespace by the controller-manager. */
	CHECK(n == 1000 || n == 1001);
	CHECK_INT(typed, n);
	CHECK_INT(named, 1000);
	CHECK(rv && rv[0]);
	CHECK_INT(s1.requests - s0.requests, 8); /* ceil(1001 / 128) pages */
	cJSON_Delete(items);
	free(rv);
	/* A label selector is sent and honoured. */
	lo.label_selector = "nope in (a,b)";
	items = NULL;
	CHECK_INT(n4j_kube_list(c, &N4J_RES_CONFIGMAPS, pns, &lo, &items, NULL, &e), 0);
	CHECK_INT(cJSON_GetArraySize(items), 0);
	cJSON_Delete(items);
	lo.field_selector = "metadata.name=cm-0007";
	lo.label_selector = NULL;
	items = NULL;
	CHECK_INT(n4j_kube_list(c, &N4J_RES_CONFIGMAPS, pns, &lo, &items, NULL, &e), 0);
	CHECK_INT(cJSON_GetArraySize(items), 1);
	cJSON_Delete(items);
	env_ns_delete(c, pns);
}

static void test_ssa(struct n4j_kube_client *c)
{
	struct n4j_kube_error e;
	cJSON *cm = env_cm("ssa", "owned", "mine"), *out = NULL;
	cJSON_DeleteItemFromObject(cm, "kind"); /* apply adds apiVersion/kind if missing */
	CHECK_INT(n4j_kube_apply(c, &N4J_RES_CONFIGMAPS, ns, "ssa", cm, true, &out, &e), 0);
	CHECK_INT(e.http_status, 201);
	char rv1[32];
	snprintf(rv1, sizeof(rv1), "%s", env_str(out, "metadata", "resourceVersion"));
	cJSON_Delete(out);
	out = NULL;
	CHECK_INT(n4j_kube_apply(c, &N4J_RES_CONFIGMAPS, ns, "ssa", cm, true, &out, &e), 0);
	CHECK_INT(e.http_status, 200);
	CHECK_STR(env_str(out, "metadata", "resourceVersion"), rv1); /* no-op: not stored */
	const cJSON *mf =
		cJSON_GetObjectItem(cJSON_GetObjectItem(out, "metadata"), "managedFields");
	CHECK_STR(env_str(cJSON_GetArrayItem(mf, 0), "manager", NULL), "neo4j-operator");
	cJSON_Delete(out);
	out = NULL;

	/* A rival manager wants the same field. */
	struct n4j_kube_client_opts ro = {.field_manager = "rival"};
	struct n4j_kube_client *rival = env_client("TESTENV_ADMIN_KUBECONFIG", &ro);
	cJSON *theirs = env_cm("ssa", "owned", "theirs");
	CHECK(n4j_kube_apply(rival, &N4J_RES_CONFIGMAPS, ns, "ssa", theirs, false, &out, &e) != 0);
	CHECK_INT(e.reason, N4J_KUBE_CONFLICT);
	CHECK_INT(e.http_status, 409);
	CHECK(e.n_causes >= 1);
	CHECK_HAS(e.causes[0].message, "neo4j-operator");
	CHECK_INT(n4j_kube_apply(rival, &N4J_RES_CONFIGMAPS, ns, "ssa", theirs, true, &out, &e), 0);
	CHECK_STR(env_str(out, "data", "owned"), "theirs");
	cJSON_Delete(out);
	out = NULL;
	cJSON_Delete(theirs);
	n4j_kube_client_free(rival);
	cJSON_Delete(cm);
}

static void test_status(struct n4j_kube_client *c)
{
	struct n4j_kube_error e;
	cJSON *cl = cJSON_Parse("{\"apiVersion\":\"neo4j.graphops.io/v1alpha1\",\"kind\":"
				"\"Neo4jCluster\",\"metadata\":{\"name\":\"graph\"},\"spec\":{"
				"\"edition\":\"community\",\"version\":\"5.26.12\",\"servers\":1,"
				"\"storage\":{\"data\":{\"size\":\"1Gi\"}}}}");
	cJSON *out = NULL;
	int rc = n4j_kube_apply(c, &N4J_RES_NEO4JCLUSTERS, ns, "graph", cl, true, &out, &e);
	CHECK_INT(rc, 0);
	if (rc) {
		fprintf(stderr, "apply Neo4jCluster: %s\n", e.base.msg);
		cJSON_Delete(cl);
		return;
	}
	cJSON_Delete(out);
	out = NULL;
	cJSON *st = cJSON_Parse("{\"status\":{\"observedGeneration\":1,\"phase\":\"Pending\"}}");
	CHECK_INT(n4j_kube_merge_patch(c, &N4J_RES_NEO4JCLUSTERS, ns, "graph", "status", st, &out,
				       &e),
		  0);
	CHECK_STR(env_str(out, "status", "phase"), "Pending");
	cJSON_Delete(out);
	out = NULL;
	/* The main resource ignores status. */
	cJSON *st2 = cJSON_Parse("{\"status\":{\"phase\":\"Ready\"}}");
	CHECK_INT(n4j_kube_merge_patch(c, &N4J_RES_NEO4JCLUSTERS, ns, "graph", NULL, st2, &out, &e),
		  0);
	CHECK_STR(env_str(out, "status", "phase"), "Pending");
	cJSON_Delete(out);
	out = NULL;
	/* A schema violation in status is 422 with causes. */
	cJSON *st3 = cJSON_Parse("{\"status\":{\"phase\":\"Bogus\"}}");
	CHECK(n4j_kube_merge_patch(c, &N4J_RES_NEO4JCLUSTERS, ns, "graph", "status", st3, &out,
				   &e) != 0);
	CHECK_INT(e.reason, N4J_KUBE_INVALID);
	CHECK(e.n_causes >= 1);
	CHECK_HAS(e.causes[0].field, "status.phase");
	/* PUT of the status subresource. */
	CHECK_INT(n4j_kube_get(c, &N4J_RES_NEO4JCLUSTERS, ns, "graph", &out, &e), 0);
	cJSON_ReplaceItemInObject(cJSON_GetObjectItem(out, "status"), "phase",
				  cJSON_CreateString("Forming"));
	cJSON *out2 = NULL;
	CHECK_INT(n4j_kube_update(c, &N4J_RES_NEO4JCLUSTERS, ns, "graph", "status", out, &out2, &e),
		  0);
	CHECK_STR(env_str(out2, "status", "phase"), "Forming");
	cJSON_Delete(out);
	cJSON_Delete(out2);
	cJSON_Delete(st);
	cJSON_Delete(st2);
	cJSON_Delete(st3);
	cJSON_Delete(cl);
}

static bool wait_gone(struct n4j_kube_client *c, const char *name, long timeout_ms)
{
	long t0 = env_now_ms();
	while (env_now_ms() - t0 < timeout_ms) {
		cJSON *o = NULL;
		struct n4j_kube_error e;
		int rc = n4j_kube_get(c, &N4J_RES_CONFIGMAPS, ns, name, &o, &e);
		cJSON_Delete(o);
		if (rc && e.reason == N4J_KUBE_NOT_FOUND)
			return true;
		n4j_sleep_ms(250);
	}
	return false;
}

static void make_pair(struct n4j_kube_client *c, const char *parent, const char *child)
{
	struct n4j_kube_error e;
	cJSON *p = env_cm(parent, NULL, NULL), *out = NULL;
	n4j_kube_create(c, &N4J_RES_CONFIGMAPS, ns, p, &out, &e);
	cJSON *ch = env_cm(child, NULL, NULL);
	cJSON *refs =
		cJSON_AddArrayToObject(cJSON_GetObjectItem(ch, "metadata"), "ownerReferences");
	cJSON *r = cJSON_CreateObject();
	cJSON_AddStringToObject(r, "apiVersion", "v1");
	cJSON_AddStringToObject(r, "kind", "ConfigMap");
	cJSON_AddStringToObject(r, "name", parent);
	cJSON_AddStringToObject(r, "uid", env_str(out, "metadata", "uid"));
	cJSON_AddItemToArray(refs, r);
	CHECK_INT(n4j_kube_create(c, &N4J_RES_CONFIGMAPS, ns, ch, NULL, &e), 0);
	cJSON_Delete(out);
	cJSON_Delete(p);
	cJSON_Delete(ch);
}

static void test_delete(struct n4j_kube_client *c)
{
	struct n4j_kube_error e;
	make_pair(c, "p-orphan", "c-orphan");
	make_pair(c, "p-bg", "c-bg");
	/* Preconditions: a wrong uid is refused (409). */
	struct n4j_kube_delete_opts wrong = {.uid = "00000000-0000-0000-0000-000000000000"};
	CHECK(n4j_kube_delete(c, &N4J_RES_CONFIGMAPS, ns, "p-bg", &wrong, &e) != 0);
	CHECK_INT(e.reason, N4J_KUBE_CONFLICT);
	struct n4j_kube_delete_opts orphan = {.propagation = "Orphan"};
	CHECK_INT(n4j_kube_delete(c, &N4J_RES_CONFIGMAPS, ns, "p-orphan", &orphan, &e), 0);
	struct n4j_kube_delete_opts bg = {.propagation = "Background"};
	cJSON *o = NULL;
	CHECK_INT(n4j_kube_get(c, &N4J_RES_CONFIGMAPS, ns, "p-bg", &o, &e), 0);
	bg.uid = env_str(o, "metadata", "uid");
	CHECK_INT(n4j_kube_delete(c, &N4J_RES_CONFIGMAPS, ns, "p-bg", &bg, &e), 0);
	cJSON_Delete(o);
	o = NULL;
	/* The garbage collector deletes the Background child ... */
	CHECK(wait_gone(c, "c-bg", 90000));
	CHECK(wait_gone(c, "p-orphan", 30000));
	/* ... and only un-owns the orphan (its ownerReferences go away). */
	long t0 = env_now_ms();
	bool unowned = false;
	while (!unowned && env_now_ms() - t0 < 60000) {
		o = NULL;
		if (n4j_kube_get(c, &N4J_RES_CONFIGMAPS, ns, "c-orphan", &o, &e) != 0)
			break;
		unowned =
			!cJSON_GetObjectItem(cJSON_GetObjectItem(o, "metadata"), "ownerReferences");
		cJSON_Delete(o);
		if (!unowned)
			n4j_sleep_ms(250);
	}
	CHECK(unowned);
}

/* tls-server-name: the name verified (and sent as SNI) differs from the address dialled. */
static void test_tls_server_name_and_limits(void)
{
	const char *path = getenv("TESTENV_ADMIN_KUBECONFIG");
	const char *names[] = {"kubernetes.default.svc", "wrong.example.org"};
	for (int i = 0; i < 2; i++) {
		struct n4j_kube_config *cfg = NULL;
		struct n4j_kube_client *c = NULL;
		struct n4j_error err;
		CHECK_INT(n4j_kube_config_load(path, NULL, &cfg, &err), 0);
		if (!cfg)
			return;
		cfg->tls_server_name = strdup(names[i]);
		struct n4j_kube_client_opts o = {.max_retries = -1};
		CHECK_INT(n4j_kube_client_new(cfg, &o, &c, &err), 0);
		cJSON *v = NULL;
		struct n4j_kube_error e;
		int rc = c ? n4j_kube_request(c, "GET", "/version", NULL, NULL, 0, &v, &e) : -1;
		if (i == 0) {
			CHECK_INT(rc, 0);
		} else {
			CHECK(rc != 0);
			CHECK_INT(e.reason,
				  N4J_KUBE_TRANSPORT); /* the certificate does not match */
			CHECK(e.http_status == 0);
		}
		cJSON_Delete(v);
		n4j_kube_client_free(c);
		n4j_kube_config_free(cfg);
	}
	/* The response size limit. */
	struct n4j_kube_client_opts o = {.max_response_bytes = 1024};
	struct n4j_kube_client *c = env_client("TESTENV_ADMIN_KUBECONFIG", &o);
	cJSON *v = NULL;
	struct n4j_kube_error e;
	CHECK(n4j_kube_request(c, "GET", "/api/v1", NULL, NULL, 0, &v, &e) != 0);
	CHECK_INT(e.base.code, N4J_ELIMIT);
	CHECK(v == NULL);
	struct n4j_kube_client_stats s;
	n4j_kube_client_stats(c, &s);
	CHECK_INT(s.requests, 1); /* not retried */
	n4j_kube_client_free(c);
}

struct par {
	struct n4j_kube_client *c;
	int ok;
};

static void *par_run(void *arg)
{
	struct par *p = arg;
	for (int i = 0; i < 50; i++) {
		cJSON *o = NULL;
		struct n4j_kube_error e;
		if (n4j_kube_get(p->c, &N4J_RES_NAMESPACES, NULL, ns, &o, &e) == 0 &&
		    env_str(o, "metadata", "name"))
			p->ok++;
		cJSON_Delete(o);
	}
	return NULL;
}

/* One client, several threads: every request succeeds (handles are per request). */
static void test_threads(struct n4j_kube_client *c)
{
	struct n4j_kube_client_stats s0, s1;
	n4j_kube_client_stats(c, &s0);
	struct par p[6];
	pthread_t th[6];
	for (int i = 0; i < 6; i++) {
		p[i] = (struct par){.c = c};
		pthread_create(&th[i], NULL, par_run, &p[i]);
	}
	int ok = 0;
	for (int i = 0; i < 6; i++) {
		pthread_join(th[i], NULL);
		ok += p[i].ok;
	}
	n4j_kube_client_stats(c, &s1);
	CHECK_INT(ok, 300);
	CHECK_INT(s1.requests - s0.requests, 300);
	CHECK_INT(s1.http2_requests - s0.http2_requests, 300);
}

static void test_forbidden(void)
{
	struct n4j_kube_client *op = env_client("TESTENV_OPERATOR_KUBECONFIG", NULL);
	cJSON *items = NULL;
	struct n4j_kube_error e;
	static const struct n4j_kube_resource nodes = {"", "v1", "nodes", "Node", false};
	CHECK(n4j_kube_list(op, &nodes, NULL, NULL, &items, NULL, &e) != 0);
	CHECK_INT(e.reason, N4J_KUBE_FORBIDDEN);
	CHECK_INT(e.http_status, 403);
	CHECK_HAS(e.base.msg, "nodes");
	CHECK(!n4j_kube_retryable(&e));
	CHECK(items == NULL);
	struct n4j_kube_client_stats s;
	n4j_kube_client_stats(op, &s);
	CHECK_INT(s.requests, 1); /* a 403 is not retried */
	n4j_kube_client_free(op);
}

/* In-cluster config against the real apiserver: the token file is re-read after a 401. */
static void test_in_cluster(void)
{
	const char *run = getenv("TESTENV_RUN"), *api = getenv("TESTENV_APISERVER");
	char root[256], path[320], good[256] = "";
	snprintf(root, sizeof(root), "/tmp/n4j-sa-XXXXXX");
	if (!run || !api || !mkdtemp(root)) {
		CHECK(0);
		return;
	}
	/* The operator's token from its kubeconfig. */
	struct n4j_kube_config *oc = NULL;
	struct n4j_error err;
	CHECK_INT(n4j_kube_config_load(getenv("TESTENV_OPERATOR_KUBECONFIG"), NULL, &oc, &err), 0);
	if (oc)
		snprintf(good, sizeof(good), "%s\n", oc->token);
	n4j_kube_config_free(oc);
	snprintf(path, sizeof(path), "%s/token", root);
	write_text(path, "not-a-valid-token\n");
	char cmd[1024];
	snprintf(cmd, sizeof(cmd),
		 "cp '%s/pki/ca.crt' '%s/ca.crt' && printf neo4j-system > '%s/namespace'", run,
		 root, root);
	CHECK_INT(system(cmd), 0);
	setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1", 1);
	setenv("KUBERNETES_SERVICE_PORT", strrchr(api, ':') + 1, 1);
	struct n4j_kube_config *cfg = NULL;
	struct n4j_kube_client *c = NULL;
	CHECK_INT(n4j_kube_config_in_cluster(root, &cfg, &err), 0);
	CHECK(cfg && n4j_kube_client_new(cfg, NULL, &c, &err) == 0);
	if (c) {
		struct n4j_kube_error e;
		cJSON *o = NULL;
		CHECK(n4j_kube_get(c, &N4J_RES_SERVICEACCOUNTS, "neo4j-system", "neo4j-operator",
				   &o, &e) != 0);
		CHECK_INT(e.reason, N4J_KUBE_UNAUTHORIZED);
		struct n4j_kube_client_stats s;
		n4j_kube_client_stats(c, &s);
		CHECK_INT(s.requests, 2); /* the 401 re-read the file and tried once more */
		write_text(path, good);   /* the kubelet rotated the token */
		CHECK_INT(n4j_kube_get(c, &N4J_RES_SERVICEACCOUNTS, "neo4j-system",
				       "neo4j-operator", &o, &e),
			  0);
		cJSON_Delete(o);
		n4j_kube_client_free(c);
	}
	n4j_kube_config_free(cfg);
	unsetenv("KUBERNETES_SERVICE_HOST");
	unsetenv("KUBERNETES_SERVICE_PORT");
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	CHECK_INT(system(cmd), 0);
}

/* The count of row (method, code) in s, 0 when absent. */
static uint64_t row_count(const struct n4j_kube_client_stats *s, const char *method,
			  const char *code)
{
	for (size_t i = 0; i < s->n_by_code; i++)
		if (strcmp(s->by_code[i].method, method) == 0 &&
		    strcmp(s->by_code[i].code, code) == 0)
			return s->by_code[i].count;
	return 0;
}

struct stats_watch {
	struct n4j_kube_client *c;
	atomic_bool stop;
	int rc;
};

static void *stats_watch_run(void *arg)
{
	struct stats_watch *w = arg;
	struct n4j_kube_watch_opts o = {.timeout_seconds = 60, .allow_bookmarks = true};
	struct n4j_kube_error e;
	w->rc = n4j_kube_watch(w->c, &N4J_RES_CONFIGMAPS, ns, &o, NULL, NULL, &w->stop, NULL, &e);
	return NULL;
}

/*
 * rest_client_requests_total as client-go counts it, against the real apiserver: a GET of
 * a missing object is GET 404, a LIST is GET 200, a create POST 201, and a watch is a
 * GET 200 counted when its headers arrive (while it still streams); durations by verb.
 */
static void test_client_stats(void)
{
	struct n4j_kube_client *c = env_client("TESTENV_ADMIN_KUBECONFIG", NULL);
	struct n4j_kube_client_stats s;
	struct n4j_kube_error e;
	cJSON *items = NULL;
	CHECK(n4j_kube_get(c, &N4J_RES_CONFIGMAPS, ns, "no-such-cm", NULL, &e) != 0);
	CHECK_INT(e.http_status, 404);
	struct n4j_kube_list_opts lo = {0};
	CHECK_INT(n4j_kube_list(c, &N4J_RES_CONFIGMAPS, ns, &lo, &items, NULL, &e), 0);
	cJSON_Delete(items);
	cJSON *cm = env_cm("stats", "k", "v");
	CHECK_INT(n4j_kube_create(c, &N4J_RES_CONFIGMAPS, ns, cm, NULL, &e), 0);
	cJSON_Delete(cm);
	n4j_kube_client_stats(c, &s);
	CHECK_INT(row_count(&s, "GET", "404"), 1);
	CHECK_INT(row_count(&s, "GET", "200"), 1);
	CHECK_INT(row_count(&s, "POST", "201"), 1);
	CHECK_INT(s.n_by_code, 3);
	CHECK_INT(s.durations[0].count, 2); /* GET: the 404 and the LIST */
	CHECK_INT(s.durations[1].count, 1); /* POST */
	CHECK(s.host && strchr(s.host, ':') != NULL);

	/* The watch counts once its headers are in, before it ends. */
	struct stats_watch w = {.c = c};
	atomic_init(&w.stop, false);
	pthread_t t;
	CHECK_INT(pthread_create(&t, NULL, stats_watch_run, &w), 0);
	bool counted = false;
	for (int i = 0; i < 300 && !counted; i++) {
		n4j_kube_client_stats(c, &s);
		counted = row_count(&s, "GET", "200") == 2;
		if (!counted)
			n4j_sleep_ms(100);
	}
	CHECK_MSG(counted, "the watch's GET 200 is not counted while it streams");
	CHECK_INT(s.durations[5].count, 1); /* WATCH: time to headers */
	atomic_store(&w.stop, true);
	pthread_join(t, NULL);
	CHECK_INT(w.rc, 0);
	n4j_kube_client_stats(c, &s);
	CHECK_INT(row_count(&s, "GET", "200"), 2); /* not again when it ends */
	CHECK_INT(s.durations[5].count, 1);
	n4j_kube_client_free(c);
}

int main(void)
{
	struct n4j_kube_client_opts o = {.write_qps = 500, .write_burst = 500};
	struct n4j_kube_client *c = env_client("TESTENV_ADMIN_KUBECONFIG", &o);
	snprintf(ns, sizeof(ns), "kube-req-%d", (int)getpid());
	if (env_ns_create(c, ns))
		return 1;
	test_client_stats();
	test_http2_and_version(c);
	test_crud(c);
	test_ssa(c);
	test_status(c);
	test_delete(c);
	test_threads(c);
	test_tls_server_name_and_limits();
	test_forbidden();
	test_in_cluster();
	test_pagination(c);
	env_ns_delete(c, ns);
	n4j_kube_client_free(c);
	TDONE();
}
