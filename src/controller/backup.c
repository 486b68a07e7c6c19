/*
 * The Neo4jBackup reconcile (contract §F, docs/controller.md "Neo4jBackup"): read the CR →
 * validate → find the cluster (missing or Community: refused, nothing created) → expand
 * the databases from the cluster's status → render → apply what changed → read the
 * CronJob and the backup's Jobs and pods from the caches → status (history merged with
 * the live one, lastFailure, BackupHealthy with the overdue rule, nextScheduleTime from
 * the schedule in its zone) written only when it changed → an Event per finished run →
 * requeue at the next fire or overdue time. Level-triggered: nothing is remembered
 * between reconciles; what a run did outlives its Job in status.history.
 */
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/internal.h"

struct brec {
	struct n4j_controller *c;
	struct n4j_arena *a;
	const char *key;
	cJSON *cr;
	const cJSON *live_status;
	struct n4j_backup_status prev;
	struct n4j_cluster_status prev_conds; /* prev's conditions, for ctl_conds */
	int64_t generation;
	char now[40];
	int64_t now_s;
	struct n4j_backup b;
	const char *ns, *name;
};

static void bevent(struct brec *r, const char *type, const char *reason, const char *msg)
{
	if (r->c->cfg.recorder)
		n4j_recorder_event(r->c->cfg.recorder, r->cr, type, reason, "%s", msg ? msg : "");
}

static bool bcond_was(const struct brec *r, const char *type, enum n4j_cond_status st,
		      const char *reason, const char *message)
{
	const struct n4j_condition *o =
		ctl_cond_find(r->prev.conditions, r->prev.n_conditions, type);
	return o && o->status == st && o->reason && reason && strcmp(o->reason, reason) == 0 &&
	       strcmp(o->message ? o->message : "", message ? message : "") == 0;
}

static const char *fmt_time(struct n4j_arena *a, int64_t s)
{
	if (s < 0)
		return NULL;
	char buf[40];
	n4j_format_time(s * 1000000000LL, false, buf, sizeof(buf));
	return n4j_arena_strdup(a, buf);
}

static int write_status(struct brec *r, const struct n4j_backup_status *st)
{
	struct n4j_error err = {0};
	cJSON *patch = NULL;
	bool changed = false;
	int rc = ctl_backup_status_patch(r->live_status, st, &patch, &changed, &err);
	if (rc) {
		n4j_log_error(CTL, "backup status", N4J_STR("key", r->key),
			      N4J_STR("error", err.msg));
		return rc;
	}
	if (!changed)
		return 0;
	struct n4j_kube_error e = {0};
	cJSON *resp = NULL;
	rc = n4j_kube_merge_patch(r->c->cfg.kube, &N4J_RES_NEO4JBACKUPS, r->ns, r->name, "status",
				  patch, &resp, &e);
	cJSON_Delete(patch);
	cJSON_Delete(resp);
	r->c->status_writes++;
	if (rc)
		n4j_log_warn(CTL, "backup status write failed", N4J_STR("key", r->key),
			     N4J_STR("error", e.base.msg));
	return rc;
}

/*
 * Refused (invalid spec, missing or Community cluster, unknown zone): the reason on
 * Scheduled and Stalled, BackupHealthy Unknown, one Warning Event per new refusal, and
 * nothing created. The rest of the status (history, times) stays as it was.
 */
static long refuse(struct brec *r, const char *reason, const char *msg)
{
	struct ctl_conds cs;
	ctl_conds_init(&cs, r->a, &r->prev_conds, r->generation, r->now);
	bool again = bcond_was(r, CT_SCHEDULED, N4J_COND_FALSE, reason, msg);
	ctl_cond_set(&cs, CT_SCHEDULED, N4J_COND_FALSE, reason, msg);
	ctl_cond_set(&cs, CT_BACKUP_HEALTHY, N4J_COND_UNKNOWN, reason, msg);
	ctl_cond_set(&cs, CT_RECONCILING, N4J_COND_FALSE, reason, NULL);
	ctl_cond_set(&cs, CT_STALLED, N4J_COND_TRUE, reason, msg);
	if (!again) {
		bevent(r, "Warning", reason, msg);
		ctl_count_refusal(r->c, N4J_CTL_BACKUP);
	}
	n4j_log_warn(CTL, "backup refused", N4J_STR("key", r->key), N4J_STR("reason", reason),
		     N4J_STR("message", msg));
	struct n4j_backup_status st = r->prev;
	st.observed_generation = r->generation;
	st.conditions = cs.items;
	st.n_conditions = cs.n;
	st.next_schedule_time = NULL;
	/* The cluster's creation or change enqueues this backup; the resync is the net. */
	return write_status(r, &st) ? -1 : r->c->cfg.resync_ms;
}

/* ---- databases ------------------------------------------------------------------------ */

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static bool is_glob(const char *p)
{
	return strpbrk(p, "*?[") != NULL;
}

/*
 * The concrete names: literal names as given, patterns ("*" = all, system included)
 * against the databases the cluster's status lists. Sorted and unique, so the rendered
 * Job (and its hash) changes only when the set does.
 */
static int expand_databases(struct brec *r, const struct n4j_cluster_status *cst, const char ***out,
			    size_t *n_out)
{
	static const char *const all[] = {"*"};
	const char *const *pats = r->b.spec.n_databases ? r->b.spec.databases : all;
	size_t n_pats = r->b.spec.n_databases ? r->b.spec.n_databases : 1;
	const char **names = n4j_arena_calloc(r->a, n_pats + cst->n_databases + 1, sizeof(*names));
	if (!names)
		return N4J_ENOMEM;
	size_t n = 0;
	for (size_t i = 0; i < n_pats; i++) {
		if (!is_glob(pats[i])) {
			names[n++] = pats[i];
			continue;
		}
		for (size_t k = 0; k < cst->n_databases; k++) {
			const char *db = cst->databases[k].name;
			if (db && fnmatch(pats[i], db, 0) == 0)
				names[n++] = db;
		}
	}
	qsort(names, n, sizeof(*names), name_cmp);
	size_t u = 0;
	for (size_t i = 0; i < n; i++)
		if (!u || strcmp(names[u - 1], names[i]) != 0)
			names[u++] = names[i];
	*out = names;
	*n_out = u;
	return 0;
}

static bool in_history(const struct n4j_backup_status *st, const char *job)
{
	for (size_t i = 0; i < st->n_history; i++)
		if (st->history[i].name && strcmp(st->history[i].name, job) == 0)
			return true;
	return false;
}

/* ---- apply ---------------------------------------------------------------------------- */

/*
 * A CronJob (or the backup PVC's absence) is applied when its hash differs. A one-shot
 * Job and the PVC only when absent: a Job's template is immutable and a one-shot backup
 * runs once; the PVC holds the backups and is never rewritten.
 */
static int apply(struct brec *r, cJSON *objs, cJSON **cronjob, struct n4j_kube_error *e)
{
	*cronjob = NULL;
	cJSON *obj;
	cJSON_ArrayForEach(obj, objs)
	{
		const struct n4j_kube_resource *res = ctl_resource_of(obj);
		const char *name = cJSON_GetStringValue(CTL_JGET(obj, "metadata", "name"));
		if (!res || !name)
			return n4j_err(&e->base, N4J_EINVAL, "rendered an object of unknown kind");
		cJSON *live = NULL;
		int rc = ctl_live_object(r->c, r->a, res, r->ns, name, &live, e);
		if (rc)
			return rc;
		bool cj = res == &N4J_RES_CRONJOBS;
		if (cj)
			*cronjob = live;
		if (live && (!cj || !ctl_spec_differs(obj, live)))
			continue;
		/* A one-shot Job that ran and was deleted since (by hand, or a TTL) is not run
		 * again: its run is in the history. */
		if (res == &N4J_RES_JOBS && in_history(&r->prev, name))
			continue;
		cJSON *resp = NULL;
		rc = n4j_kube_apply(r->c->cfg.kube, res, r->ns, name, obj, true, &resp, e);
		r->c->applies++;
		if (rc) {
			cJSON_Delete(resp);
			return rc;
		}
		n4j_log_info(CTL, "applied", N4J_STR("namespace", r->ns),
			     N4J_STR("kind", res->kind), N4J_STR("name", name));
		if (cj && resp && !ctl_arena_json(r->a, resp))
			*cronjob = resp;
		else
			cJSON_Delete(resp);
	}
	return 0;
}

/* ---- observe the Jobs ------------------------------------------------------------------ */

struct collect {
	struct n4j_arena *a;
	const char *label_key, *label_value; /* keep objects with this label value */
	size_t n, cap;
	cJSON **items;
	bool oom;
};

static void collect_fn(void *ud, struct n4j_cached *o)
{
	struct collect *k = ud;
	if (k->oom || !strstr(o->json, k->label_value))
		return;
	cJSON *j = n4j_cached_parse(o);
	if (!j) {
		k->oom = true;
		return;
	}
	const char *v = cJSON_GetStringValue(
		cJSON_GetObjectItemCaseSensitive(CTL_JGET(j, "metadata", "labels"), k->label_key));
	if (!v || strcmp(v, k->label_value) != 0) {
		cJSON_Delete(j);
		return;
	}
	if (ctl_arena_json(k->a, j)) {
		k->oom = true;
		return;
	}
	if (k->n == k->cap) {
		size_t cap = k->cap ? k->cap * 2 : 8;
		cJSON **items = n4j_arena_calloc(k->a, cap, sizeof(*items));
		if (!items) {
			k->oom = true;
			return;
		}
		if (k->n)
			memcpy(items, k->items, k->n * sizeof(*items));
		k->items = items;
		k->cap = cap;
	}
	k->items[k->n++] = j;
}

static const char *job_of_pod(const cJSON *pod)
{
	const cJSON *l = CTL_JGET(pod, "metadata", "labels");
	const char *j = cJSON_GetStringValue(
		cJSON_GetObjectItemCaseSensitive(l, "batch.kubernetes.io/job-name"));
	return j ? j : cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(l, "job-name"));
}

struct observed {
	size_t n_runs, n_active;
	struct ctl_run_obs *runs; /* every Job of this backup, finished or not */
};

static int observe_jobs(struct brec *r, const char *instance, struct observed *out)
{
	memset(out, 0, sizeof(*out));
	struct collect jobs = {.a = r->a, .label_key = CTL_LABEL_BACKUP, .label_value = r->name};
	r->c->cfg.caches.each(r->c->cfg.caches.ud, &N4J_RES_JOBS, r->ns, instance, collect_fn,
			      &jobs);
	struct collect pods = {.a = r->a, .label_key = CTL_LABEL_BACKUP, .label_value = r->name};
	r->c->cfg.caches.each(r->c->cfg.caches.ud, &N4J_RES_PODS, r->ns, instance, collect_fn,
			      &pods);
	if (jobs.oom || pods.oom)
		return N4J_ENOMEM;
	out->runs = n4j_arena_calloc(r->a, jobs.n + 1, sizeof(*out->runs));
	const cJSON **mine = n4j_arena_calloc(r->a, pods.n + 1, sizeof(*mine));
	if (!out->runs || !mine)
		return N4J_ENOMEM;
	for (size_t i = 0; i < jobs.n; i++) {
		const char *jn = cJSON_GetStringValue(CTL_JGET(jobs.items[i], "metadata", "name"));
		size_t m = 0;
		for (size_t p = 0; p < pods.n && jn; p++) {
			const char *pj = job_of_pod(pods.items[p]);
			if (pj && strcmp(pj, jn) == 0)
				mine[m++] = pods.items[p];
		}
		struct ctl_run_obs *o = &out->runs[out->n_runs];
		if (ctl_backup_run_of(r->a, jobs.items[i], mine, m, o))
			return N4J_ENOMEM;
		if (!o->run.name)
			continue;
		out->n_runs++;
		if (!o->finished)
			out->n_active++;
	}
	return 0;
}

/* ---- the reconcile --------------------------------------------------------------------- */

/* Per finished run not yet in the live history: one Event (the history is the memory). */
static void run_events(struct brec *r, const struct observed *ob)
{
	for (size_t i = 0; i < ob->n_runs; i++) {
		const struct ctl_run_obs *o = &ob->runs[i];
		if (!o->finished || in_history(&r->prev, o->run.name))
			continue;
		if (o->succeeded)
			bevent(r, "Normal", "BackupSucceeded",
			       n4j_arena_printf(r->a, "%s: %s", o->run.name,
						o->run.message ? o->run.message : "succeeded"));
		else
			bevent(r, "Warning", "BackupFailed",
			       n4j_arena_printf(r->a, "%s: %s: %s", o->run.name, o->reason,
						o->run.message ? o->run.message : ""));
	}
}

static int64_t time_s(const char *t)
{
	int64_t ms = ctl_parse_time_ms(t);
	return ms < 0 ? -1 : ms / 1000;
}

/* The status fields that come from the runs: times, lastFailure, history. */
static int runs_status(struct brec *r, const struct observed *ob, struct n4j_backup_status *st,
		       const char **failed_reason)
{
	struct n4j_backup_run *seen = n4j_arena_calloc(r->a, ob->n_runs + 1, sizeof(*seen));
	if (!seen)
		return N4J_ENOMEM;
	size_t n_seen = 0;
	int64_t last_ok = time_s(st->last_successful_time);
	int64_t last_fail = time_s(st->last_failure.time);
	for (size_t i = 0; i < ob->n_runs; i++) {
		const struct ctl_run_obs *o = &ob->runs[i];
		if (!o->finished)
			continue;
		seen[n_seen++] = o->run;
		if (o->succeeded && o->finished_s > last_ok) {
			last_ok = o->finished_s;
			st->last_successful_time = o->run.completion_time;
		}
		if (!o->succeeded && o->finished_s > last_fail) {
			last_fail = o->finished_s;
			st->last_failure.time = o->run.completion_time;
			st->last_failure.reason = o->reason;
			st->last_failure.message = o->run.message;
		}
	}
	int rc = ctl_backup_history_merge(r->a, r->prev.history, r->prev.n_history, seen, n_seen,
					  &st->history, &st->n_history);
	if (rc)
		return rc;
	/* The newest run decides BackupHealthy: its failure reason, if it failed. */
	*failed_reason = NULL;
	if (st->n_history && st->history[0].result &&
	    strcmp(st->history[0].result, "Succeeded") != 0)
		*failed_reason = st->last_failure.reason ? st->last_failure.reason : "BackupFailed";
	return 0;
}

static long reconcile(struct brec *r)
{
	struct n4j_controller *c = r->c;
	struct n4j_arena *a = r->a;
	struct n4j_error err = {0};
	struct n4j_kube_error ke = {0};

	struct n4j_cached *co = c->cfg.caches.get(c->cfg.caches.ud, &N4J_RES_NEO4JBACKUPS, r->key);
	if (!co)
		return 0; /* gone: the CronJob and Jobs go by garbage collection, the PVC stays */
	r->cr = n4j_cached_parse(co);
	n4j_cached_unref(co);
	if (!r->cr || ctl_arena_json(a, r->cr))
		return -1;
	if (CTL_JGET(r->cr, "metadata", "deletionTimestamp"))
		return 0;
	const cJSON *gen = CTL_JGET(r->cr, "metadata", "generation");
	r->generation = cJSON_IsNumber(gen) ? (int64_t)gen->valuedouble : 0;
	int64_t now_ns = n4j_wall_ns();
	r->now_s = now_ns / 1000000000LL;
	n4j_format_time(now_ns, false, r->now, sizeof(r->now));
	r->live_status = cJSON_GetObjectItemCaseSensitive(r->cr, "status");
	if (cJSON_IsObject(r->live_status) &&
	    n4j_backup_status_parse(a, r->live_status, &r->prev, &err))
		memset(&r->prev, 0, sizeof(r->prev));
	r->prev_conds.conditions = r->prev.conditions;
	r->prev_conds.n_conditions = r->prev.n_conditions;
	r->ns = cJSON_GetStringValue(CTL_JGET(r->cr, "metadata", "namespace"));
	r->name = cJSON_GetStringValue(CTL_JGET(r->cr, "metadata", "name"));
	if (!r->ns || !r->name)
		return 0;

	/* 1. validate */
	struct n4j_problems problems;
	n4j_problems_init(&problems, a);
	int rc = n4j_backup_load(a, c->cfg.schemas, r->cr, &r->b, &problems, &err);
	if (rc == N4J_EINVAL && problems.n) {
		struct n4j_buf b;
		n4j_buf_init(&b);
		for (size_t i = 0; i < problems.n && b.len < 4000; i++)
			n4j_buf_printf(&b, "%s%s: %s", i ? "; " : "", problems.items[i].path,
				       problems.items[i].message);
		const char *msg =
			n4j_arena_strdup(a, n4j_buf_cstr(&b) ? n4j_buf_cstr(&b) : "invalid");
		n4j_buf_free(&b);
		return msg ? refuse(r, "InvalidSpec", msg) : -1;
	}
	if (rc) {
		n4j_log_error(CTL, "backup load failed", N4J_STR("key", r->key),
			      N4J_STR("error", err.msg));
		return -1;
	}
	const struct n4j_backup_spec *sp = &r->b.spec;

	/* 2. the cluster: present, valid, Enterprise */
	char *ckey = n4j_arena_printf(a, "%s/%s", r->ns, sp->cluster ? sp->cluster : "");
	struct n4j_cached *cco =
		ckey ? c->cfg.caches.get(c->cfg.caches.ud, &N4J_RES_NEO4JCLUSTERS, ckey) : NULL;
	if (!cco)
		return refuse(r, "ClusterNotFound",
			      n4j_arena_printf(a,
					       "spec.clusterRef.name: Neo4jCluster %s not found "
					       "in namespace %s",
					       sp->cluster ? sp->cluster : "", r->ns));
	cJSON *ccr = n4j_cached_parse(cco);
	n4j_cached_unref(cco);
	if (!ccr || ctl_arena_json(a, ccr))
		return -1;
	struct n4j_cluster cl;
	struct n4j_problems cp;
	n4j_problems_init(&cp, a);
	rc = n4j_cluster_load(a, c->cfg.schemas, ccr, &cl, &cp, &err);
	if (rc == N4J_EINVAL && cp.n)
		return refuse(r, "ClusterInvalid",
			      n4j_arena_printf(a,
					       "spec.clusterRef.name: Neo4jCluster %s has an "
					       "invalid spec (%s: %s)",
					       sp->cluster, cp.items[0].path, cp.items[0].message));
	if (rc)
		return -1;
	struct n4j_problems bp;
	n4j_problems_init(&bp, a);
	if (n4j_backup_check_cluster(&r->b, &cl, &bp) || bp.n)
		return refuse(
			r, cl.spec.edition == N4J_COMMUNITY ? "CommunityEdition" : "ClusterRefused",
			bp.n ? n4j_arena_printf(a, "%s: %s", bp.items[0].path, bp.items[0].message)
			     : "refused");

	/* 3. the schedule and its zone (the apiserver refuses a CronJob in an unknown one) */
	struct ctl_cron cron;
	struct ctl_zone *zone = NULL;
	if (sp->schedule) {
		if (ctl_cron_parse(sp->schedule, &cron, &err))
			return refuse(r, "InvalidSchedule",
				      n4j_arena_printf(a, "spec.schedule: %s", err.msg));
		if (ctl_zone_load(sp->time_zone, &zone, &err)) {
			if (err.code == N4J_ENOMEM)
				return -1;
			return refuse(r, "UnknownTimeZone",
				      n4j_arena_printf(a, "spec.timeZone: %s", err.msg));
		}
		if (n4j_arena_on_free(a, (void (*)(void *))ctl_zone_free, zone)) {
			ctl_zone_free(zone);
			return -1;
		}
	}

	/* 4. the databases, from the cluster's status */
	struct n4j_cluster_status cst = {0};
	const cJSON *cstj = cJSON_GetObjectItemCaseSensitive(ccr, "status");
	if (cJSON_IsObject(cstj) && n4j_cluster_status_parse(a, cstj, &cst, &err))
		memset(&cst, 0, sizeof(cst));
	const char **dbs;
	size_t n_dbs;
	if (expand_databases(r, &cst, &dbs, &n_dbs))
		return -1;

	struct n4j_backup_status st = r->prev;
	st.observed_generation = r->generation;
	st.databases = dbs;
	st.n_databases = n_dbs;
	struct ctl_conds cs;
	ctl_conds_init(&cs, a, &r->prev_conds, r->generation, r->now);
	ctl_cond_set(&cs, CT_STALLED, N4J_COND_FALSE, "AsExpected", NULL);

	/* 5. render and apply (nothing while no database is known yet) */
	cJSON *cronjob = NULL;
	if (n_dbs) {
		struct n4j_render_facts f = c->cfg.facts;
		f.backup_databases = dbs;
		f.n_backup_databases = n_dbs;
		cJSON *objs = cJSON_CreateArray();
		if (!objs || ctl_arena_json(a, objs))
			return -1;
		if ((rc = n4j_render_backup(&r->b, &cl, &f, objs, &err))) {
			n4j_log_error(CTL, "backup render failed", N4J_STR("key", r->key),
				      N4J_STR("error", err.msg));
			return -1;
		}
		if ((rc = apply(r, objs, &cronjob, &ke))) {
			n4j_log_warn(CTL, "backup apply failed", N4J_STR("key", r->key),
				     N4J_STR("error", ke.base.msg));
			return -1;
		}
	}

	/* 6. the runs */
	struct observed ob;
	if (observe_jobs(r, cl.meta.name, &ob))
		return -1;
	const char *failed_reason = NULL;
	if (runs_status(r, &ob, &st, &failed_reason))
		return -1;
	const char *lst = cJSON_GetStringValue(CTL_JGET(cronjob, "status", "lastScheduleTime"));
	if (lst)
		st.last_schedule_time = n4j_arena_strdup(a, lst);
	else if (!sp->schedule && ob.n_runs && ob.runs[0].run.start_time)
		st.last_schedule_time = ob.runs[0].run.start_time;

	/* 7. the schedule: next fire, overdue */
	int64_t wake = -1; /* the next instant worth a look, epoch seconds */
	bool overdue = false;
	int64_t due = -1, deadline = -1;
	st.next_schedule_time = NULL;
	if (sp->schedule) {
		/*
		 * Suspended or not, a schedule is judged: backups that stopped (suspended and
		 * forgotten, or a CronJob controller that does not run them) are what
		 * BackupHealthy is for. A suspended one has no next run.
		 */
		if (!sp->suspend) {
			wake = ctl_cron_next(&cron, zone, r->now_s);
			st.next_schedule_time = fmt_time(a, wake);
		}
		int64_t since = time_s(st.last_successful_time);
		if (since < 0)
			since = time_s(cJSON_GetStringValue(
				CTL_JGET(r->cr, "metadata", "creationTimestamp")));
		if (since >= 0) {
			overdue = ctl_backup_overdue(&cron, zone, since, r->now_s, &due, &deadline);
			if (!overdue && deadline >= 0 && (wake < 0 || deadline < wake))
				wake = deadline;
		}
	}

	/* 8. conditions */
	if (!n_dbs)
		ctl_cond_set(&cs, CT_SCHEDULED, N4J_COND_FALSE, "WaitingForDatabases",
			     n4j_arena_printf(a, "the cluster's status lists no database that "
						 "spec.databases names yet"));
	else if (!sp->schedule)
		ctl_cond_set(&cs, CT_SCHEDULED, N4J_COND_TRUE, "OneShot",
			     "one backup Job, no schedule");
	else if (sp->suspend)
		ctl_cond_set(&cs, CT_SCHEDULED, N4J_COND_FALSE, "Suspended",
			     "spec.suspend is true");
	else
		ctl_cond_set(&cs, CT_SCHEDULED, N4J_COND_TRUE, "Scheduled",
			     n4j_arena_printf(a, "schedule \"%s\" in %s", sp->schedule,
					      sp->time_zone ? sp->time_zone : "UTC"));
	ctl_cond_set(&cs, CT_RECONCILING, ob.n_active ? N4J_COND_TRUE : N4J_COND_FALSE,
		     ob.n_active ? "BackupRunning" : "Idle", NULL);
	if (failed_reason)
		ctl_cond_set(&cs, CT_BACKUP_HEALTHY, N4J_COND_FALSE, failed_reason,
			     st.last_failure.message);
	else if (overdue)
		ctl_cond_set(&cs, CT_BACKUP_HEALTHY, N4J_COND_FALSE, "Overdue",
			     n4j_arena_printf(a,
					      "the backup due at %s has not succeeded (overdue "
					      "since %s)%s",
					      fmt_time(a, due), fmt_time(a, deadline),
					      sp->suspend ? "; spec.suspend is true" : ""));
	else if (st.n_history)
		ctl_cond_set(
			&cs, CT_BACKUP_HEALTHY, N4J_COND_TRUE, "BackupSucceeded",
			n4j_arena_printf(a, "last backup completed at %s",
					 st.last_successful_time ? st.last_successful_time : "?"));
	else
		ctl_cond_set(&cs, CT_BACKUP_HEALTHY, N4J_COND_UNKNOWN, "NoBackupYet", NULL);
	st.conditions = cs.items;
	st.n_conditions = cs.n;
	if (overdue && !bcond_was(r, CT_BACKUP_HEALTHY, N4J_COND_FALSE, "Overdue",
				  ctl_cond_find(cs.items, cs.n, CT_BACKUP_HEALTHY)->message))
		bevent(r, "Warning", "BackupOverdue",
		       ctl_cond_find(cs.items, cs.n, CT_BACKUP_HEALTHY)->message);

	/* 9. Events per finished run, then the status that records them */
	run_events(r, &ob);
	if (write_status(r, &st))
		return -1;

	/* 10. when to look again: the next fire or deadline (+1 s), at most the resync */
	long ret = c->cfg.resync_ms;
	if (wake >= 0) {
		int64_t ms = (wake - r->now_s + 1) * 1000;
		if (ms < ret)
			ret = ms < 1000 ? 1000 : (long)ms;
	}
	if (!n_dbs && c->cfg.progress_ms < ret)
		ret = c->cfg.progress_ms;
	return ret;
}

static long reconcile_in(struct n4j_controller *c, const char *key, struct n4j_arena *a)
{
	struct brec r = {.c = c, .key = key, .a = a};
	return reconcile(&r);
}

long n4j_reconcile_backup(void *ud, const char *key)
{
	return ctl_reconcile_with_arena(ud, N4J_CTL_BACKUP, key, reconcile_in);
}
