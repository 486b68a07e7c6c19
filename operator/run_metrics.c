/*
 * /metrics and /healthz of `run`. The collect function runs on the server's thread at
 * scrape time and only reads snapshots: counters (controller, workqueue, kube client),
 * the Lease state, and the informer caches' Neo4jCluster and Neo4jBackup objects, whose
 * status the leader writes, so that followers export the per-CR gauges too.
 *
 * Label values are bounded: controller and result names, HTTP codes and verbs, step and
 * error class names, condition types and states from a fixed vocabulary, namespace/name
 * of the CRs, names of the TLS Secrets a spec lists. Nothing read from a Secret, no error
 * text, no pod name or address.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "operator/run_metrics.h"
#include "render/render.h"

#ifndef N4J_OPERATOR_VERSION
#define N4J_OPERATOR_VERSION "0.0.0-dev"
#endif

/* ---- reading CR status ---------------------------------------------------------- */

struct cr {
	char ns[64];
	char name[254];
	cJSON *obj;
};

struct crs {
	struct cr *v;
	size_t n, cap;
};

static void cr_add(void *ud, struct n4j_cached *o)
{
	struct crs *l = ud;
	const char *slash = strchr(o->key, '/');
	if (!slash || (size_t)(slash - o->key) >= sizeof(l->v->ns) ||
	    strlen(slash + 1) >= sizeof(l->v->name))
		return;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		struct cr *v = realloc(l->v, cap * sizeof(*v));
		if (!v)
			return;
		l->v = v;
		l->cap = cap;
	}
	cJSON *j = n4j_cached_parse(o);
	if (!j)
		return;
	struct cr *c = &l->v[l->n++];
	snprintf(c->ns, sizeof(c->ns), "%.*s", (int)(slash - o->key), o->key);
	snprintf(c->name, sizeof(c->name), "%s", slash + 1);
	c->obj = j;
}

static int cr_cmp(const void *a, const void *b)
{
	const struct cr *x = a, *y = b;
	int c = strcmp(x->ns, y->ns);
	return c ? c : strcmp(x->name, y->name);
}

/* Every cached object of these informers, parsed, sorted by namespace and name. */
static void crs_read(struct crs *l, struct n4j_informer *const *infs, size_t n)
{
	memset(l, 0, sizeof(*l));
	for (size_t i = 0; infs && i < n; i++)
		if (infs[i])
			n4j_informer_each(infs[i], cr_add, l);
	if (l->n > 1)
		qsort(l->v, l->n, sizeof(*l->v), cr_cmp);
}

/* The same from objects (tests): namespace and name from their metadata. */
static void crs_from_json(struct crs *l, cJSON *const *objs, size_t n)
{
	memset(l, 0, sizeof(*l));
	l->v = n ? calloc(n, sizeof(*l->v)) : NULL;
	for (size_t i = 0; l->v && i < n; i++) {
		const cJSON *md = cJSON_GetObjectItemCaseSensitive(objs[i], "metadata");
		const char *ns =
			cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(md, "namespace"));
		const char *name =
			cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(md, "name"));
		cJSON *copy = cJSON_Duplicate(objs[i], true);
		if (!ns || !name || !copy) {
			cJSON_Delete(copy);
			continue;
		}
		struct cr *c = &l->v[l->n++];
		snprintf(c->ns, sizeof(c->ns), "%s", ns);
		snprintf(c->name, sizeof(c->name), "%s", name);
		c->obj = copy;
	}
	if (l->n > 1)
		qsort(l->v, l->n, sizeof(*l->v), cr_cmp);
}

static void crs_free(struct crs *l)
{
	for (size_t i = 0; i < l->n; i++)
		cJSON_Delete(l->v[i].obj);
	free(l->v);
}

static const cJSON *field(const cJSON *o, const char *a, const char *b)
{
	const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, a);
	return b ? cJSON_GetObjectItemCaseSensitive(x, b) : x;
}

/* The status of condition type (NULL if absent). */
static const char *condition(const cJSON *obj, const char *type)
{
	const cJSON *c;
	cJSON_ArrayForEach(c, field(obj, "status", "conditions"))
	{
		const char *t = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "type"));
		if (t && strcmp(t, type) == 0)
			return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "status"));
	}
	return NULL;
}

static bool is_true(const char *s)
{
	return s && strcmp(s, "True") == 0;
}

/* A condition type as a label value: a short CamelCase word, else not exported. */
static bool type_ok(const char *t)
{
	size_t n = t ? strlen(t) : 0;
	if (n == 0 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((t[i] >= 'a' && t[i] <= 'z') || (t[i] >= 'A' && t[i] <= 'Z') ||
		      (t[i] >= '0' && t[i] <= '9')))
			return false;
	return true;
}

/* ---- families ----------------------------------------------------------------- */

#define L(...) ((const char *[]){__VA_ARGS__, NULL})

static const char *const SERVER_STATES[] = {"Enabled", "Free", "Cordoned", "Deallocating",
					    "Deallocated"};
static const char *const SERVER_HEALTH[] = {"Available", "Unavailable", "Unknown"};
#define N_STATES (sizeof(SERVER_STATES) / sizeof(SERVER_STATES[0]))
#define N_HEALTH (sizeof(SERVER_HEALTH) / sizeof(SERVER_HEALTH[0]))

static int index_of(const char *const *v, size_t n, const char *s)
{
	for (size_t i = 0; s && i < n; i++)
		if (strcmp(v[i], s) == 0)
			return (int)i;
	return -1;
}

/* A 0/1 gauge per CR: whether its condition `type` is True. */
static void condition_gauge(struct n4j_metrics_writer *w, const struct crs *l, const char *name,
			    const char *help, const char *type)
{
	n4j_metrics_family(w, name, N4J_GAUGE, help);
	for (size_t i = 0; i < l->n; i++)
		n4j_metrics_sample(w, L("namespace", l->v[i].ns, "name", l->v[i].name),
				   is_true(condition(l->v[i].obj, type)) ? 1 : 0);
}

static void cluster_families(struct n4j_metrics_writer *w, const struct crs *cl)
{
	condition_gauge(w, cl, "neo4j_operator_cluster_ready",
			"1 when the Neo4jCluster's Ready condition is True, else 0.", "Ready");

	n4j_metrics_family(w, "neo4j_operator_cluster_condition", N4J_GAUGE,
			   "The Neo4jCluster's status conditions: 1 per condition present, with "
			   "its status (true, false, unknown).");
	for (size_t i = 0; i < cl->n; i++) {
		const cJSON *c;
		cJSON_ArrayForEach(c, field(cl->v[i].obj, "status", "conditions"))
		{
			const char *t =
				cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "type"));
			const char *s =
				cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "status"));
			if (!type_ok(t))
				continue;
			const char *st = is_true(s)                     ? "true"
					 : s && strcmp(s, "False") == 0 ? "false"
									: "unknown";
			n4j_metrics_sample(w,
					   L("namespace", cl->v[i].ns, "name", cl->v[i].name,
					     "condition", t, "status", st),
					   1);
		}
	}

	n4j_metrics_family(w, "neo4j_operator_cluster_servers", N4J_GAUGE,
			   "Servers in the Neo4jCluster's status by state and health.");
	for (size_t i = 0; i < cl->n; i++) {
		unsigned counts[N_STATES][N_HEALTH] = {{0}};
		const cJSON *s;
		cJSON_ArrayForEach(s, field(cl->v[i].obj, "status", "servers"))
		{
			int a = index_of(
				SERVER_STATES, N_STATES,
				cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(s, "state")));
			int b = index_of(SERVER_HEALTH, N_HEALTH,
					 cJSON_GetStringValue(
						 cJSON_GetObjectItemCaseSensitive(s, "health")));
			if (a >= 0)
				counts[a][b >= 0 ? b : 2]++; /* no health known: Unknown */
		}
		for (size_t a = 0; a < N_STATES; a++)
			for (size_t b = 0; b < N_HEALTH; b++)
				n4j_metrics_sample(w,
						   L("namespace", cl->v[i].ns, "name",
						     cl->v[i].name, "state", SERVER_STATES[a],
						     "health", SERVER_HEALTH[b]),
						   counts[a][b]);
	}

	n4j_metrics_family(w, "neo4j_operator_cluster_desired_servers", N4J_GAUGE,
			   "Servers the Neo4jCluster's spec asks for.");
	for (size_t i = 0; i < cl->n; i++) {
		const cJSON *n = field(cl->v[i].obj, "spec", "servers");
		if (cJSON_IsNumber(n))
			n4j_metrics_sample(w, L("namespace", cl->v[i].ns, "name", cl->v[i].name),
					   n->valuedouble);
	}

	condition_gauge(w, cl, "neo4j_operator_cluster_update_pending",
			"1 when the Neo4jCluster has an update waiting (UpdatePending True).",
			"UpdatePending");

	n4j_metrics_family(w, "neo4j_operator_certificate_expiry_timestamp_seconds", N4J_GAUGE,
			   "notAfter of each TLS certificate the Neo4jCluster uses (status.tls), "
			   "in seconds since the epoch.");
	for (size_t i = 0; i < cl->n; i++) {
		const cJSON *t;
		cJSON_ArrayForEach(t, field(cl->v[i].obj, "status", "tls"))
		{
			const char *secret = cJSON_GetStringValue(
				cJSON_GetObjectItemCaseSensitive(t, "secretName"));
			double when;
			if (!secret || !*secret || strlen(secret) > 253 ||
			    !n4j_parse_time(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
						    t, "notAfter")),
					    &when))
				continue;
			n4j_metrics_sample(w,
					   L("namespace", cl->v[i].ns, "name", cl->v[i].name,
					     "secret", secret),
					   when);
		}
	}
}

static void backup_time(struct n4j_metrics_writer *w, const struct crs *bk, const char *key)
{
	for (size_t i = 0; i < bk->n; i++) {
		double t;
		if (n4j_parse_time(cJSON_GetStringValue(field(bk->v[i].obj, "status", key)), &t))
			n4j_metrics_sample(w, L("namespace", bk->v[i].ns, "name", bk->v[i].name),
					   t);
	}
}

static void backup_families(struct n4j_metrics_writer *w, const struct crs *bk)
{
	n4j_metrics_family(w, "neo4j_operator_backup_last_success_timestamp_seconds", N4J_GAUGE,
			   "When the Neo4jBackup last succeeded (status.lastSuccessfulTime), in "
			   "seconds since the epoch; absent until a success.");
	backup_time(w, bk, "lastSuccessfulTime");
	n4j_metrics_family(w, "neo4j_operator_backup_next_schedule_timestamp_seconds", N4J_GAUGE,
			   "When the Neo4jBackup runs next (status.nextScheduleTime), in seconds "
			   "since the epoch; absent when none is scheduled.");
	backup_time(w, bk, "nextScheduleTime");
	condition_gauge(w, bk, "neo4j_operator_backup_healthy",
			"1 when the Neo4jBackup's BackupHealthy condition is True, else 0.",
			"BackupHealthy");
}

static const char *ctl_name(const struct n4j_controller_stats *cs, int k)
{
	const char *n = cs->kinds[k].name;
	return n && *n ? n : k == N4J_CTL_CLUSTER ? "neo4jcluster" : "neo4jbackup";
}

static void controller_families(struct n4j_metrics_writer *w, const struct run_metrics *m,
				const struct n4j_controller_stats *cs)
{
	n4j_metrics_family(w, "controller_runtime_reconcile_total", N4J_COUNTER,
			   "Total number of reconciliations per controller.");
	for (int k = 0; k < N4J_CTL_KINDS; k++) {
		const char *c = ctl_name(cs, k);
		n4j_metrics_sample(w, L("controller", c, "result", "error"),
				   (double)cs->kinds[k].error);
		n4j_metrics_sample(w, L("controller", c, "result", "requeue"),
				   (double)cs->kinds[k].requeue);
		n4j_metrics_sample(w, L("controller", c, "result", "requeue_after"),
				   (double)cs->kinds[k].requeue_after);
		n4j_metrics_sample(w, L("controller", c, "result", "success"),
				   (double)cs->kinds[k].success);
	}
	n4j_metrics_family(w, "controller_runtime_reconcile_errors_total", N4J_COUNTER,
			   "Total number of reconciliation errors per controller.");
	for (int k = 0; k < N4J_CTL_KINDS; k++)
		n4j_metrics_sample(w, L("controller", ctl_name(cs, k)), (double)cs->kinds[k].error);
	n4j_metrics_family(w, "controller_runtime_terminal_reconcile_errors_total", N4J_COUNTER,
			   "Total number of terminal reconciliation errors (no retry fixes them) "
			   "per controller.");
	for (int k = 0; k < N4J_CTL_KINDS; k++)
		n4j_metrics_sample(w, L("controller", ctl_name(cs, k)),
				   (double)cs->kinds[k].terminal_errors);
	n4j_metrics_family(w, "controller_runtime_reconcile_time_seconds", N4J_HISTOGRAM,
			   "Length of time per reconciliation per controller.");
	for (int k = 0; k < N4J_CTL_KINDS; k++)
		n4j_metrics_histogram(w, L("controller", ctl_name(cs, k)),
				      &cs->kinds[k].reconcile_time);
	n4j_metrics_family(w, "controller_runtime_max_concurrent_reconciles", N4J_GAUGE,
			   "Maximum number of concurrent reconciles per controller (the workers "
			   "are shared by both).");
	for (int k = 0; k < N4J_CTL_KINDS; k++)
		n4j_metrics_sample(w, L("controller", ctl_name(cs, k)), m->workers);
	n4j_metrics_family(w, "controller_runtime_active_workers", N4J_GAUGE,
			   "Number of currently used workers per controller.");
	for (int k = 0; k < N4J_CTL_KINDS; k++)
		n4j_metrics_sample(w, L("controller", ctl_name(cs, k)),
				   (double)cs->kinds[k].active_workers);
}

static void workqueue_families(struct n4j_metrics_writer *w, const struct n4j_workqueue_stats *q)
{
	const char *const *l = L("name", RUN_QUEUE_NAME, "controller", RUN_QUEUE_NAME);
	n4j_metrics_family(w, "workqueue_depth", N4J_GAUGE, "Current depth of workqueue.");
	n4j_metrics_sample(w, l, (double)q->depth);
	n4j_metrics_family(w, "workqueue_adds_total", N4J_COUNTER,
			   "Total number of adds handled by workqueue.");
	n4j_metrics_sample(w, l, (double)q->adds);
	n4j_metrics_family(w, "workqueue_retries_total", N4J_COUNTER,
			   "Total number of retries handled by workqueue.");
	n4j_metrics_sample(w, l, (double)q->retries);
	n4j_metrics_family(w, "workqueue_queue_duration_seconds", N4J_HISTOGRAM,
			   "How long in seconds an item stays in workqueue before being "
			   "requested.");
	n4j_metrics_histogram(w, l, &q->queue_duration);
	n4j_metrics_family(w, "workqueue_work_duration_seconds", N4J_HISTOGRAM,
			   "How long in seconds processing an item from workqueue takes.");
	n4j_metrics_histogram(w, l, &q->work_duration);
	n4j_metrics_family(w, "workqueue_unfinished_work_seconds", N4J_GAUGE,
			   "How many seconds of work has been done that is in progress and "
			   "hasn't been observed by work_duration.");
	n4j_metrics_sample(w, l, q->unfinished_work_seconds);
	n4j_metrics_family(w, "workqueue_longest_running_processor_seconds", N4J_GAUGE,
			   "How many seconds has the longest running processor for workqueue "
			   "been running.");
	n4j_metrics_sample(w, l, q->longest_running_seconds);
}

static void rest_families(struct n4j_metrics_writer *w, const struct n4j_kube_client_stats *k)
{
	const char *host = k->host && *k->host ? k->host : "unknown";
	n4j_metrics_family(w, "rest_client_requests_total", N4J_COUNTER,
			   "Number of HTTP requests to the API server, partitioned by status "
			   "code, method, and host.");
	size_t n =
		k->n_by_code < N4J_KUBE_STATS_MAX_CODES ? k->n_by_code : N4J_KUBE_STATS_MAX_CODES;
	for (size_t i = 0; i < n; i++) {
		char method[sizeof(k->by_code[i].method) + 1], code[sizeof(k->by_code[i].code) + 1];
		snprintf(method, sizeof(method), "%.*s", (int)sizeof(k->by_code[i].method),
			 k->by_code[i].method);
		snprintf(code, sizeof(code), "%.*s", (int)sizeof(k->by_code[i].code),
			 k->by_code[i].code);
		n4j_metrics_sample(w, L("code", code, "method", method, "host", host),
				   (double)k->by_code[i].count);
	}
	n4j_metrics_family(w, "rest_client_request_duration_seconds", N4J_HISTOGRAM,
			   "Request latency in seconds, by verb and host.");
	for (size_t i = 0; i < N4J_KUBE_STATS_VERBS; i++)
		if (k->verbs[i] && *k->verbs[i])
			n4j_metrics_histogram(w, L("verb", k->verbs[i], "host", host),
					      &k->durations[i]);
}

static void operator_families(struct n4j_metrics_writer *w, const struct n4j_controller_stats *cs)
{
	n4j_metrics_family(w, "neo4j_operator_steps_total", N4J_COUNTER,
			   "Steps the operator ran on Neo4j clusters, by kind.");
	size_t n = cs->n_step_counts < N4J_CTL_MAX_STEP_KINDS ? cs->n_step_counts
							      : N4J_CTL_MAX_STEP_KINDS;
	for (size_t i = 0; i < n; i++)
		if (cs->step_counts[i].name)
			n4j_metrics_sample(w, L("step", cs->step_counts[i].name),
					   (double)cs->step_counts[i].count);
	n4j_metrics_family(w, "neo4j_operator_rolling_pod_deletions_total", N4J_COUNTER,
			   "Pods deleted by rolling changes.");
	n4j_metrics_sample(w, NULL, (double)cs->rolling_pod_deletions);
	n4j_metrics_family(
		w, "neo4j_operator_bolt_errors_total", N4J_COUNTER,
		"Bolt errors by class (Neo4j's error classification, or the transport).");
	for (int c = 0; c < N4J_BOLT_CLASSES; c++)
		n4j_metrics_sample(w, L("class", n4j_bolt_error_class_name(c)),
				   (double)cs->bolt_errors[c]);
}

void run_metrics_collect(void *ud, struct n4j_metrics_writer *w)
{
	struct run_metrics *m = ud;

	n4j_metrics_family(w, "neo4j_operator_build_info", N4J_GAUGE,
			   "The operator's version and the render version of the objects it "
			   "writes; always 1.");
	n4j_metrics_sample(
		w, L("version", N4J_OPERATOR_VERSION, "render_version", N4J_RENDER_VERSION), 1);

	n4j_metrics_family(w, "leader_election_master_status", N4J_GAUGE,
			   "1 while this process holds the Lease (leads), else 0; 1 without "
			   "leader election.");
	n4j_metrics_sample(w, L("name", m->lease_name ? m->lease_name : ""),
			   !m->leader || n4j_leader_is_leader(m->leader) ? 1 : 0);

	/* Big structs (histograms): on the heap, not the server thread's stack. */
	struct n4j_controller_stats *cs = calloc(1, sizeof(*cs));
	struct n4j_workqueue_stats *qs = calloc(1, sizeof(*qs));
	struct n4j_kube_client_stats *ks = calloc(1, sizeof(*ks));
	if (cs && qs && ks) {
		n4j_controller_stats(m->controller, cs);
		n4j_workqueue_stats(m->queue, qs);
		n4j_kube_client_stats(m->kube, ks);
		controller_families(w, m, cs);
		workqueue_families(w, qs);
		rest_families(w, ks);
		operator_families(w, cs);
	}
	free(cs);
	free(qs);
	free(ks);

	struct crs cl, bk;
	crs_read(&cl, m->clusters, m->n_scopes);
	cluster_families(w, &cl);
	crs_free(&cl);
	crs_read(&bk, m->backups, m->n_scopes);
	backup_families(w, &bk);
	crs_free(&bk);
}

void run_metrics_cr_families(struct n4j_metrics_writer *w, cJSON *const *clusters, size_t nc,
			     cJSON *const *backups, size_t nb)
{
	struct crs cl, bk;
	crs_from_json(&cl, clusters, nc);
	cluster_families(w, &cl);
	crs_free(&cl);
	crs_from_json(&bk, backups, nb);
	backup_families(w, &bk);
	crs_free(&bk);
}

bool run_metrics_healthy(void *ud, char *why, size_t len)
{
	struct run_metrics *m = ud;
	/* Shutting down: the main thread drains instead of ticking, within its own budget
	 * (it exits when that runs out), so liveness has nothing to add. */
	if (m->stopping && atomic_load(m->stopping))
		return true;
	int64_t age = n4j_now_ms() - atomic_load(&m->heartbeat_ms);
	if (age > RUN_HEARTBEAT_MAX_MS) {
		snprintf(why, len, "main loop last ticked %lld ms ago", (long long)age);
		return false;
	}
	struct n4j_workqueue_stats *qs = calloc(1, sizeof(*qs));
	if (!qs)
		return true;
	n4j_workqueue_stats(m->queue, qs);
	double longest = qs->longest_running_seconds;
	free(qs);
	if (longest > RUN_RECONCILE_MAX_S) {
		snprintf(why, len, "a reconcile has run for %.0f s", longest);
		return false;
	}
	return true;
}
