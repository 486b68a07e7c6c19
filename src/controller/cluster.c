/*
 * The Neo4jCluster reconcile (DESIGN §3, docs/controller.md): read the CR from the cache →
 * validate → admin Secret → render → apply what changed → observe pods, claims and Neo4j →
 * plan → at most one step → readiness gates → status when it changed → Events on
 * transitions. Level-triggered: nothing here remembers the previous reconcile except the
 * Bolt handle; the step in flight is in status.operation.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/internal.h"

/* One reconcile's context. */
struct rec {
	struct n4j_controller *c;
	struct n4j_arena *a;
	const char *key;
	cJSON *cr;                /* the cached CR (parsed) */
	const cJSON *live_status; /* its status, or NULL */
	struct n4j_cluster_status prev;
	int64_t generation;
	char now[40];
	struct n4j_cluster cl;
	int writes;
};

static bool reason_ok(const char *r)
{
	if (!r || !((*r >= 'A' && *r <= 'Z') || (*r >= 'a' && *r <= 'z')))
		return false;
	size_t n = strlen(r);
	if (n > 1024 || r[n - 1] == ',' || r[n - 1] == ':')
		return false;
	for (const char *p = r; *p; p++)
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		      (*p >= '0' && *p <= '9') || *p == '_' || *p == ',' || *p == ':'))
			return false;
	return true;
}

static const char *reason_or(const char *r, const char *dflt)
{
	return reason_ok(r) ? r : dflt;
}

static void event(struct rec *r, const char *type, const char *reason, const char *msg)
{
	if (r->c->cfg.recorder)
		n4j_recorder_event(r->c->cfg.recorder, r->cr, type, reason, "%s", msg ? msg : "");
}

/* Whether the condition of type in the live status already says exactly this. */
static bool cond_was(const struct rec *r, const char *type, enum n4j_cond_status st,
		     const char *reason, const char *message)
{
	const struct n4j_condition *o =
		ctl_cond_find(r->prev.conditions, r->prev.n_conditions, type);
	return o && o->status == st && o->reason && reason && strcmp(o->reason, reason) == 0 &&
	       strcmp(o->message ? o->message : "", message ? message : "") == 0;
}

/* Writes the status when it differs from the live one. */
static int write_status(struct rec *r, const struct n4j_cluster_status *st)
{
	struct n4j_error err = {0};
	cJSON *patch = NULL;
	bool changed = false;
	int rc = ctl_status_patch(r->live_status, st, &patch, &changed, &err);
	if (rc) {
		n4j_log_error(CTL, "status", N4J_STR("key", r->key), N4J_STR("error", err.msg));
		return rc;
	}
	if (!changed)
		return 0;
	struct n4j_kube_error e = {0};
	cJSON *resp = NULL;
	rc = n4j_kube_merge_patch(r->c->cfg.kube, &N4J_RES_NEO4JCLUSTERS, r->cl.meta.namespace_,
				  r->cl.meta.name, "status", patch, &resp, &e);
	cJSON_Delete(patch);
	cJSON_Delete(resp);
	r->writes++;
	r->c->status_writes++;
	if (rc)
		n4j_log_warn(CTL, "status write failed", N4J_STR("key", r->key),
			     N4J_STR("error", e.base.msg));
	return rc;
}

/* Only the conditions (and observedGeneration) change; the rest of the status stays. */
static int write_conditions(struct rec *r, struct ctl_conds *cs)
{
	struct n4j_cluster_status st = r->prev;
	st.observed_generation = r->generation;
	st.n_conditions = cs->n;
	st.conditions = cs->items;
	if (!st.phase)
		st.phase = n4j_phase_name(N4J_PHASE_PENDING);
	return write_status(r, &st);
}

/* An invalid spec: Stalled, one Event, no other write (reference §3.3). */
static long invalid_spec(struct rec *r, const struct n4j_problems *p)
{
	struct n4j_buf b;
	n4j_buf_init(&b);
	for (size_t i = 0; i < p->n && b.len < 4000; i++)
		n4j_buf_printf(&b, "%s%s: %s", i ? "; " : "", p->items[i].path,
			       p->items[i].message);
	const char *msg = n4j_arena_strdup(r->a, n4j_buf_cstr(&b) ? n4j_buf_cstr(&b) : "invalid");
	n4j_buf_free(&b);
	if (!msg)
		return -1;
	struct ctl_conds cs;
	ctl_conds_init(&cs, r->a, &r->prev, r->generation, r->now);
	ctl_cond_set(&cs, CT_READY, N4J_COND_FALSE, "InvalidSpec", "the spec is invalid");
	ctl_cond_set(&cs, CT_RECONCILING, N4J_COND_FALSE, "InvalidSpec", NULL);
	ctl_cond_set(&cs, CT_STALLED, N4J_COND_TRUE, "InvalidSpec", msg);
	bool again = cond_was(r, CT_STALLED, N4J_COND_TRUE, "InvalidSpec", msg);
	/* Keep the other conditions the live status has (Available, UpdatePending, …). */
	for (size_t i = 0; i < r->prev.n_conditions; i++) {
		const struct n4j_condition *o = &r->prev.conditions[i];
		if (o->type && !ctl_cond_find(cs.items, cs.n, o->type) &&
		    cs.n < sizeof(cs.items) / sizeof(cs.items[0]))
			cs.items[cs.n++] = *o;
	}
	if (!again)
		event(r, "Warning", "InvalidSpec", msg);
	n4j_log_warn(CTL, "invalid spec", N4J_STR("key", r->key), N4J_STR("problems", msg));
	return write_conditions(r, &cs) ? -1 : 0;
}

/* The admin Secret the spec names cannot give a password: Stalled until it does. */
static long secret_missing(struct rec *r, enum ctl_secret_result res)
{
	const char *msg = n4j_arena_printf(
		r->a, "spec.auth.adminSecretRef: Secret %s %s", r->cl.spec.admin_secret,
		res == CTL_SECRET_MISSING
			? "not found"
			: n4j_arena_printf(r->a, "has no key %s", r->cl.spec.admin_secret_key));
	if (!msg)
		return -1;
	struct ctl_conds cs;
	ctl_conds_init(&cs, r->a, &r->prev, r->generation, r->now);
	bool again = cond_was(r, CT_STALLED, N4J_COND_TRUE, "AdminSecretMissing", msg);
	for (size_t i = 0; i < r->prev.n_conditions; i++)
		if (r->prev.conditions[i].type && cs.n < sizeof(cs.items) / sizeof(cs.items[0]))
			cs.items[cs.n++] = r->prev.conditions[i];
	ctl_cond_set(&cs, CT_STALLED, N4J_COND_TRUE, "AdminSecretMissing", msg);
	ctl_cond_set(&cs, CT_RECONCILING, N4J_COND_FALSE, "AdminSecretMissing", NULL);
	if (!ctl_cond_find(cs.items, cs.n, CT_READY))
		ctl_cond_set(&cs, CT_READY, N4J_COND_FALSE, "AdminSecretMissing", msg);
	if (!again)
		event(r, "Warning", "AdminSecretMissing", msg);
	/* Secrets are not watched: look again soon. */
	return write_conditions(r, &cs) ? -1 : r->c->cfg.progress_ms;
}

static const cJSON *rendered_of_kind(const cJSON *objs, const char *kind)
{
	const cJSON *o;
	cJSON_ArrayForEach(o, objs)
	{
		const char *k = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "kind"));
		if (k && strcmp(k, kind) == 0)
			return o;
	}
	return NULL;
}

static int json_int(const cJSON *o, int dflt)
{
	return cJSON_IsNumber(o) ? (int)o->valuedouble : dflt;
}

static const char *step_message(struct rec *r, const struct n4j_step *s)
{
	if (s->message && *s->message)
		return s->message;
	return n4j_arena_printf(r->a, "%s%s%s%s%s%s%s", n4j_step_kind_name(s->kind),
				s->server_id ? " server " : "", s->server_id ? s->server_id : "",
				s->pod ? " pod " : "", s->pod ? s->pod : "",
				s->database ? " database " : "", s->database ? s->database : "");
}

/* Runs the plan's one step; 0, or < 0 with an Event for a failed step. */
static int run_step(struct rec *r, struct ctl_entry *en, const struct n4j_plan *plan,
		    const struct ctl_pods *pods, bool *ran, char *errmsg)
{
	const struct n4j_step *s = &plan->step;
	struct n4j_controller *c = r->c;
	*ran = false;
	errmsg[0] = '\0';
	switch (s->kind) {
	case N4J_STEP_NONE:
	case N4J_STEP_WAIT:
	case N4J_STEP_REFUSE:
	case N4J_STEP_HALT:
		return 0;
	default:
		break;
	}
	/* A Lease is not fencing: a leader whose renewal is stale starts nothing. */
	if (c->cfg.leader && !n4j_leader_fresh(c->cfg.leader))
		return 0;
	if (c->cfg.stopping && atomic_load(c->cfg.stopping))
		return 0;
	const char *kind = n4j_step_kind_name(s->kind);
	int rc;
	char msg[N4J_ERROR_MAX];
	if (n4j_step_is_kube(s->kind)) {
		struct n4j_kube_error e = {0};
		rc = ctl_kube_step(c, &r->cl, s, pods, &e);
		r->writes++;
		snprintf(msg, sizeof(msg), "%s", e.base.msg);
	} else {
		struct n4j_error err = {0};
		rc = en && en->neo ? n4j_step_run(en->neo, r->a, s, &err)
				   : n4j_err(&err, N4J_EINVAL, "Neo4j is not reachable");
		if (rc && en && en->neo)
			ctl_count_bolt_error(c, en->neo);
		snprintf(msg, sizeof(msg), "%s", err.msg);
	}
	const char *what = step_message(r, s);
	if (rc) {
		n4j_log_warn(CTL, "step failed", N4J_STR("key", r->key), N4J_STR("step", kind),
			     N4J_STR("error", msg));
		event(r, "Warning", "StepFailed",
		      n4j_arena_printf(r->a, "%s: %s", what ? what : kind, msg));
		snprintf(errmsg, N4J_ERROR_MAX, "%s", msg);
		return rc;
	}
	*ran = true;
	ctl_count_step(c, s->kind);
	n4j_log_info(CTL, "step", N4J_STR("key", r->key), N4J_STR("step", kind),
		     N4J_STR("message", what));
	event(r, "Normal", reason_or(kind, "Step"), what);
	return 0;
}

static void conditions(struct rec *r, struct ctl_conds *cs, const struct n4j_plan *plan,
		       const struct n4j_observed *neo, const struct ctl_apply_out *ao,
		       const char *ready_servers)
{
	const struct n4j_step *s = &plan->step;
	const struct n4j_cluster_spec *sp = &r->cl.spec;
	ctl_cond_set(cs, CT_READY, plan->ready ? N4J_COND_TRUE : N4J_COND_FALSE,
		     plan->ready  ? "ServersReady"
		     : sp->paused ? "Paused"
				  : "ServersNotReady",
		     n4j_arena_printf(r->a, "%s servers ready", ready_servers));
	ctl_cond_set(cs, CT_AVAILABLE, plan->available ? N4J_COND_TRUE : N4J_COND_FALSE,
		     plan->available ? "SystemAvailable" : "SystemUnavailable",
		     plan->available  ? NULL
		     : neo->reachable ? "the system database has no leader"
				      : neo->error);
	bool progressing =
		plan->progressing || s->kind == N4J_STEP_WAIT || (s->kind > N4J_STEP_HALT);
	const char *preason =
		progressing  ? reason_or(s->reason, s->kind > N4J_STEP_HALT
							    ? reason_or(n4j_step_kind_name(s->kind),
									"Progressing")
							    : "Progressing")
		: sp->paused ? "Paused"
			     : "Converged";
	const char *pmsg = progressing ? s->message : NULL;
	ctl_cond_set(cs, CT_PROGRESSING, progressing ? N4J_COND_TRUE : N4J_COND_FALSE, preason,
		     pmsg);
	/* kstatus reads Reconciling: the same truth as Progressing. */
	ctl_cond_set(cs, CT_RECONCILING, progressing ? N4J_COND_TRUE : N4J_COND_FALSE, preason,
		     pmsg);
	ctl_cond_set(cs, CT_DEGRADED, plan->degraded ? N4J_COND_TRUE : N4J_COND_FALSE,
		     plan->degraded ? reason_or(plan->degraded_reason, "Degraded") : "AsExpected",
		     plan->degraded ? plan->degraded_message : NULL);
	if (s->kind == N4J_STEP_REFUSE) {
		/* The message names the field path first (the planner's usually does). */
		const char *m = s->message ? s->message : "refused";
		size_t fl = s->field ? strlen(s->field) : 0;
		const char *msg = !fl || (strncmp(m, s->field, fl) == 0 && m[fl] == ':')
					  ? m
					  : n4j_arena_printf(r->a, "%s: %s", s->field, m);
		ctl_cond_set(cs, CT_STALLED, N4J_COND_TRUE, reason_or(s->reason, "ChangeRefused"),
			     msg);
	} else {
		ctl_cond_set(cs, CT_STALLED, N4J_COND_FALSE, "AsExpected", NULL);
	}
	ctl_cond_set(cs, CT_UPDATE_PENDING, ao->update_pending ? N4J_COND_TRUE : N4J_COND_FALSE,
		     ao->update_pending ? "RenderVersionChanged" : "UpToDate",
		     ao->update_pending ? ao->update_message : NULL);
}

/* Events for the transitions this reconcile made visible. */
static void transition_events(struct rec *r, const struct ctl_conds *cs,
			      const struct n4j_cluster_status *st)
{
	static const struct {
		const char *type, *event_type;
	} watched[] = {
		{CT_STALLED, "Warning"},
		{CT_DEGRADED, "Warning"},
		{CT_UPDATE_PENDING, "Normal"},
	};
	for (size_t i = 0; i < sizeof(watched) / sizeof(watched[0]); i++) {
		const struct n4j_condition *n = ctl_cond_find(cs->items, cs->n, watched[i].type);
		if (!n || n->status != N4J_COND_TRUE ||
		    cond_was(r, n->type, n->status, n->reason, n->message))
			continue;
		event(r, watched[i].event_type, n->reason, n->message ? n->message : n->reason);
		if (strcmp(n->type, CT_STALLED) == 0)
			ctl_count_refusal(r->c, N4J_CTL_CLUSTER);
	}
	if (st->phase && (!r->prev.phase || strcmp(r->prev.phase, st->phase) != 0))
		event(r, "Normal", "PhaseChanged",
		      n4j_arena_printf(r->a, "phase %s -> %s",
				       r->prev.phase ? r->prev.phase : "(none)", st->phase));
}

/* Restore Events on the transitions of status.restore.phase (a new key starts afresh). */
static void restore_events(struct rec *r, const struct n4j_restore_status *st)
{
	const struct n4j_restore_status *old = &r->prev.restore;
	if (!st->phase)
		return;
	bool same = old->key && st->key && strcmp(old->key, st->key) == 0;
	if (same && old->phase && strcmp(old->phase, st->phase) == 0)
		return;
	const char *msg = NULL;
	for (size_t i = 0; i < st->n_databases && !msg; i++)
		if (st->databases[i].message)
			msg = n4j_arena_printf(r->a, "database %s: %s", st->databases[i].name,
					       st->databases[i].message);
	if (strcmp(st->phase, "Succeeded") == 0)
		event(r, "Normal", "Restored",
		      n4j_arena_printf(r->a, "restored %zu database%s from %s", st->n_databases,
				       st->n_databases == 1 ? "" : "s",
				       st->source ? st->source : "the seed"));
	else if (strcmp(st->phase, "Failed") == 0)
		event(r, "Warning", "RestoreFailed", msg ? msg : "the restore failed");
	else if (strcmp(st->phase, "Refused") == 0)
		event(r, "Warning", "RestoreRefused", msg ? msg : "the restore was refused");
}

/* CertificateExpiring when a certificate enters the window (or a renewal is still in it):
 * once per transition, as status.tls[].expiringSoon records it. */
static void tls_events(struct rec *r, const struct n4j_cluster_status *st)
{
	for (size_t k = 0; k < r->prev.n_tls; k++) {
		const char *name = r->prev.tls[k].secret_name;
		bool kept = false;
		for (size_t i = 0; i < st->n_tls && !kept; i++)
			kept = name && strcmp(st->tls[i].secret_name, name) == 0;
		if (name && !kept)
			n4j_log_warn(CTL, "TLS Secret missing or without a valid certificate",
				     N4J_STR("key", r->key), N4J_STR("tls", name));
	}
	for (size_t i = 0; i < st->n_tls; i++) {
		const struct n4j_tls_status *t = &st->tls[i];
		if (!t->expiring_soon)
			continue;
		const struct n4j_tls_status *o = NULL;
		for (size_t k = 0; k < r->prev.n_tls && !o; k++)
			if (r->prev.tls[k].secret_name &&
			    strcmp(r->prev.tls[k].secret_name, t->secret_name) == 0)
				o = &r->prev.tls[k];
		if (o && o->expiring_soon && o->not_after &&
		    strcmp(o->not_after, t->not_after) == 0)
			continue;
		event(r, "Warning", "CertificateExpiring",
		      n4j_arena_printf(r->a,
				       "the certificate in Secret %s expires at %s: renew it "
				       "(cert-manager renews before this unless it fails)",
				       t->secret_name, t->not_after));
		n4j_log_warn(CTL, "certificate expiring", N4J_STR("key", r->key),
			     N4J_STR("tls", t->secret_name), N4J_STR("notAfter", t->not_after));
	}
}

static long reconcile(struct rec *r)
{
	struct n4j_controller *c = r->c;
	struct n4j_arena *a = r->a;
	struct n4j_error err = {0};
	struct n4j_kube_error ke = {0};

	struct n4j_cached *co = c->cfg.caches.get(c->cfg.caches.ud, &N4J_RES_NEO4JCLUSTERS, r->key);
	if (!co) {
		ctl_entry_drop(c, r->key); /* gone: garbage collection removes what it owned */
		return 0;
	}
	r->cr = n4j_cached_parse(co);
	n4j_cached_unref(co);
	if (!r->cr || ctl_arena_json(a, r->cr))
		return -1;
	if (CTL_JGET(r->cr, "metadata", "deletionTimestamp")) {
		/* No finalizer: owned objects go with the CR, PVCs (no owner) stay. */
		ctl_entry_drop(c, r->key);
		return 0;
	}
	r->generation = (int64_t)json_int(CTL_JGET(r->cr, "metadata", "generation"), 0);
	n4j_format_time(n4j_wall_ns(), false, r->now, sizeof(r->now));
	r->live_status = cJSON_GetObjectItemCaseSensitive(r->cr, "status");
	if (cJSON_IsObject(r->live_status) &&
	    n4j_cluster_status_parse(a, r->live_status, &r->prev, &err))
		memset(&r->prev, 0, sizeof(r->prev));

	/* 1. validate */
	struct n4j_problems problems;
	n4j_problems_init(&problems, a);
	int rc = n4j_cluster_load(a, c->cfg.schemas, r->cr, &r->cl, &problems, &err);
	if (rc == N4J_EINVAL && problems.n) {
		/* The load still filled metadata when it could; the status write needs it. */
		r->cl.meta.namespace_ =
			cJSON_GetStringValue(CTL_JGET(r->cr, "metadata", "namespace"));
		r->cl.meta.name = cJSON_GetStringValue(CTL_JGET(r->cr, "metadata", "name"));
		if (!r->cl.meta.name || !r->cl.meta.namespace_)
			return 0;
		return invalid_spec(r, &problems);
	}
	if (rc) {
		n4j_log_error(CTL, "load failed", N4J_STR("key", r->key),
			      N4J_STR("error", err.msg));
		return -1;
	}
	struct n4j_cluster *cl = &r->cl;

	/* 1b. spec.restore: its source and what is done under its key */
	struct ctl_restore rs;
	if ((rc = ctl_restore_resolve(c, a, cl, &r->prev.restore, &rs))) {
		n4j_log_warn(CTL, "restore source", N4J_STR("key", r->key),
			     N4J_STR("error", rc == N4J_ENOMEM ? "out of memory"
							       : "reading the Neo4jBackup failed"));
		return -1;
	}
	/* With a backupRef, the backup target's endpoint and region reach the servers' seed
	 * storage where spec.seedStorage leaves them unset (the renderer decides). */
	struct n4j_render_facts facts = c->cfg.facts;
	if (rs.req.present && cl->spec.restore.backup_ref) {
		facts.seed_endpoint = rs.endpoint;
		facts.seed_region = rs.region;
	}

	/* 2. render */
	cJSON *objs = cJSON_CreateArray();
	if (!objs || ctl_arena_json(a, objs))
		return -1;
	if ((rc = n4j_render_cluster(cl, &facts, objs, &err))) {
		n4j_log_error(CTL, "render failed", N4J_STR("key", r->key),
			      N4J_STR("error", err.msg));
		return -1;
	}

	/* 3. the admin password */
	char *password = NULL;
	enum ctl_secret_result sres;
	rc = ctl_admin_password(c, cl, rendered_of_kind(objs, "Secret"), &password, &sres, &ke);
	if (rc) {
		n4j_log_warn(CTL, "admin Secret", N4J_STR("key", r->key),
			     N4J_STR("error", ke.base.msg));
		return -1;
	}
	if (sres != CTL_SECRET_OK)
		return secret_missing(r, sres);
	if (!password)
		return -1;
	long ret = -1;

	/* 3b. the TLS Secret, read once: its certificate for status.tls, its CA for Bolt */
	cJSON *tls_secret = NULL;
	bool tls_unknown = false;
	struct n4j_kube_error te = {0};
	if (cl->spec.tls.enabled && n4j_kube_get(c->cfg.kube, &N4J_RES_SECRETS, cl->meta.namespace_,
						 cl->spec.tls.secret_name, &tls_secret, &te)) {
		tls_secret = NULL;
		/* Not found: not listed. Another failure says nothing about the certificate:
		 * status.tls stays as it was rather than flapping. */
		tls_unknown = te.reason != N4J_KUBE_NOT_FOUND;
	}

	/* 4. apply what changed */
	struct ctl_apply_out ao;
	if ((rc = ctl_apply(c, a, cl, objs, &ao, &ke))) {
		n4j_log_warn(CTL, "apply failed", N4J_STR("key", r->key),
			     N4J_STR("error", ke.base.msg));
		goto out;
	}
	r->writes += ao.applied;

	/* 5. observe */
	struct ctl_pods pods;
	if (ctl_observe_pods(c, a, cl, ao.sts_live, &pods))
		goto out;
	struct ctl_entry *en = ctl_entry_get(c, r->key, cl->meta.uid);
	struct n4j_observed neo;
	if (!en || ctl_neo_observe(c, a, en, cl, &pods, password, tls_secret, &neo))
		goto out;

	/* 6. plan */
	const cJSON *sts = ao.sts_live;
	struct n4j_world w = {
		.cluster = cl,
		.now_ms = n4j_wall_ns() / 1000000,
		.progress_deadline_ms = (int64_t)cl->spec.progress_deadline_s * 1000,
		.sts_replicas = sts ? json_int(CTL_JGET(sts, "spec", "replicas"), -1) : -1,
		.sts_current = sts && json_int(CTL_JGET(sts, "status", "observedGeneration"), -1) ==
					      json_int(CTL_JGET(sts, "metadata", "generation"), -2),
		.n_pods = pods.n_pods,
		.pods = pods.pods,
		.n_claims = pods.n_claims,
		.claims = pods.claims,
		.neo = &neo,
		.op =
			{
				.kind = ctl_op_kind_parse(r->prev.operation.kind),
				.target = r->prev.operation.target,
				.started_ms = ctl_parse_time_ms(r->prev.operation.started_at),
			},
		.roll_allowed = !ao.update_pending,
		.restore = rs.req,
	};
	if (w.op.started_ms < 0)
		w.op.started_ms = w.now_ms;
	struct n4j_plan plan;
	if ((rc = n4j_plan_next(&w, a, &plan, &err))) {
		n4j_log_error(CTL, "plan failed", N4J_STR("key", r->key),
			      N4J_STR("error", err.msg));
		goto out;
	}

	/* 7. one step */
	bool ran = false;
	char step_err[N4J_ERROR_MAX];
	int step_rc = run_step(r, en, &plan, &pods, &ran, step_err);

	/* 8. readiness gates (not disruptive: all that differ) */
	if ((rc = ctl_set_gates(c, a, cl, &pods, &plan, &r->writes, &ke)))
		n4j_log_warn(CTL, "readiness gate", N4J_STR("key", r->key),
			     N4J_STR("error", ke.base.msg));
	int gate_rc = rc;

	/* 9. status, 10. events */
	struct n4j_cluster_status st;
	struct ctl_status_in in = {
		.cluster = cl,
		.prev = &r->prev,
		.neo = &neo,
		.plan = &plan,
		.sts_ready_replicas = json_int(CTL_JGET(sts, "status", "replicas"), 0),
	};
	if (ctl_status_build(a, &in, &st))
		goto out;
	/* Neo4j's FAILURE (or a step refused before sending) ends this key's attempt; a lost
	 * connection does not (the next observation tells). */
	struct ctl_restore_status_in rin = {
		.rs = &rs,
		.prev = &r->prev.restore,
		.plan = &plan,
		.neo = &neo,
		.ran = ran,
		.step_failed = step_rc && n4j_step_refused(step_rc),
		.step_error = step_err,
		.now = r->now,
	};
	if (ctl_restore_status(a, &rin, &st.restore))
		goto out;
	if (tls_unknown) {
		st.n_tls = r->prev.n_tls;
		st.tls = r->prev.tls;
	} else if (ctl_tls_status(a, cl, tls_secret, n4j_wall_ns() / 1000000000, &st)) {
		goto out;
	}
	struct ctl_conds cs;
	ctl_conds_init(&cs, a, &r->prev, r->generation, r->now);
	conditions(r, &cs, &plan, &neo, &ao, st.ready_servers);
	ctl_restore_condition(&rs, &st.restore, &plan, &cs);
	st.n_conditions = cs.n;
	st.conditions = cs.items;
	transition_events(r, &cs, &st);
	restore_events(r, &st.restore);
	tls_events(r, &st);
	if (write_status(r, &st))
		goto out;

	/* 11. when to look again */
	if (step_rc || gate_rc)
		goto out;
	enum n4j_step_kind k = plan.step.kind;
	if (ran || plan.progressing || k == N4J_STEP_WAIT || k > N4J_STEP_HALT)
		ret = c->cfg.progress_ms;
	else if (k == N4J_STEP_HALT && !cl->spec.paused)
		ret = c->cfg.progress_ms; /* degraded: watch for the recovery */
	else
		ret = c->cfg.resync_ms;
out:
	n4j_wipe_free(password);
	n4j_json_wipe_delete(tls_secret); /* it holds the private key */
	return ret;
}

static long reconcile_in(struct n4j_controller *c, const char *key, struct n4j_arena *a)
{
	struct rec r = {.c = c, .key = key, .a = a};
	return reconcile(&r);
}

long n4j_reconcile_cluster(void *ud, const char *key)
{
	return ctl_reconcile_with_arena(ud, N4J_CTL_CLUSTER, key, reconcile_in);
}
