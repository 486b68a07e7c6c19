/*
 * spec.restore for the cluster pipeline (docs/controller.md "Restore"): resolve the source
 * (a URI, or a Neo4jBackup's target and the databases of its last successful run), hand
 * the planner what to seed and what is already done under the current key, then fold the
 * step and the observation into status.restore.
 *
 * A restore runs once per key (first 16 hex of the sha256 of the canonical spec.restore
 * JSON). The first resolution is recorded in status.restore (source URI and database list)
 * and frozen: a later backup run or a deleted Neo4jBackup does not change a restore that
 * has started.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "controller/internal.h"

#define MSG_MAX 1024 /* the CRD's bound of status.restore.databases[].message */

/* ---- the key ---------------------------------------------------------------------------- */

/* Object keys sorted at every level, so that the same spec.restore always prints the same. */
static void sort_keys(cJSON *o)
{
	if (!o)
		return;
	for (cJSON *c = o->child; c; c = c->next)
		sort_keys(c);
	if (!cJSON_IsObject(o))
		return;
	/* insertion sort of the child list by name */
	cJSON *sorted = NULL;
	cJSON *c = o->child;
	while (c) {
		cJSON *next = c->next;
		c->prev = c->next = NULL;
		if (!sorted || strcmp(c->string, sorted->string) < 0) {
			c->next = sorted;
			sorted = c;
		} else {
			cJSON *p = sorted;
			while (p->next && strcmp(p->next->string, c->string) <= 0)
				p = p->next;
			c->next = p->next;
			p->next = c;
		}
		c = next;
	}
	/* cJSON keeps prev links, the head's prev pointing at the tail */
	cJSON *tail = NULL;
	for (cJSON *p = sorted; p; p = p->next) {
		p->prev = tail;
		tail = p;
	}
	if (sorted)
		sorted->prev = tail;
	o->child = sorted;
}

int ctl_restore_key(const cJSON *restore, char out[CTL_RESTORE_KEY_LEN + 1])
{
	out[0] = '\0';
	cJSON *d = cJSON_Duplicate(restore, true);
	if (!d)
		return N4J_ENOMEM;
	sort_keys(d);
	char *s = cJSON_PrintUnformatted(d);
	cJSON_Delete(d);
	if (!s)
		return N4J_ENOMEM;
	char hex[N4J_SHA256_HEX_LEN + 1];
	n4j_sha256_hex(s, strlen(s), hex);
	free(s);
	memcpy(out, hex, CTL_RESTORE_KEY_LEN);
	out[CTL_RESTORE_KEY_LEN] = '\0';
	return 0;
}

/* ---- resolving the source ----------------------------------------------------------------- */

static bool streq(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

static void hold(struct ctl_restore *r, bool refused, const char *reason, const char *message)
{
	r->req.resolved = false;
	r->hold_refused = refused;
	r->hold_reason = reason;
	r->hold_message = message;
}

static int set_dbs(struct n4j_arena *a, struct ctl_restore *r, const char *const *names, size_t n,
		   const char *uri, const char *until)
{
	struct n4j_restore_db *d = n4j_arena_calloc(a, n + 1, sizeof(*d));
	if (!d)
		return N4J_ENOMEM;
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		bool dup = false;
		for (size_t j = 0; j < k; j++)
			dup = dup || streq(d[j].database, names[i]);
		if (!names[i] || dup)
			continue;
		d[k++] = (struct n4j_restore_db){
			.database = names[i], .uri = uri, .restore_until = until};
	}
	r->req.dbs = d;
	r->req.n = k;
	r->uri = uri;
	return 0;
}

int ctl_restore_from_backup(struct n4j_arena *a, const struct n4j_schemas *schemas,
			    const struct n4j_cluster *cl, const cJSON *backup,
			    struct ctl_restore *r)
{
	const struct n4j_cluster_spec *sp = &cl->spec;
	const char *name = sp->restore.backup_ref;
	if (!backup) {
		hold(r, true, "BackupNotFound",
		     n4j_arena_printf(
			     a, "spec.restore.backupRef: Neo4jBackup %s not found in namespace %s",
			     name, cl->meta.namespace_));
		return r->hold_message ? 0 : N4J_ENOMEM;
	}
	struct n4j_backup b;
	struct n4j_problems problems;
	struct n4j_error err = {0};
	n4j_problems_init(&problems, a);
	int rc = n4j_backup_load(a, schemas, backup, &b, &problems, &err);
	if (rc == N4J_ENOMEM)
		return rc;
	if (rc) {
		hold(r, true, "BackupInvalid",
		     n4j_arena_printf(a, "spec.restore.backupRef: Neo4jBackup %s is invalid: %s",
				      name,
				      problems.n ? problems.items[0].message
						 : (err.msg[0] ? err.msg : "?")));
		return r->hold_message ? 0 : N4J_ENOMEM;
	}
	if (b.spec.target.kind == N4J_TARGET_PVC || !b.spec.target.uri) {
		hold(r, true, "RestoreSourceUnsupported",
		     n4j_arena_printf(
			     a,
			     "spec.restore.backupRef: Neo4jBackup %s writes to a "
			     "PersistentVolumeClaim, which the servers cannot seed from; "
			     "copy the artifacts to an object store (s3://, gs://, azb://) "
			     "and restore with spec.restore.seedURI (docs/backup-restore.md)",
			     name));
		return r->hold_message ? 0 : N4J_ENOMEM;
	}
	r->endpoint = b.spec.target.endpoint;
	r->region = b.spec.target.region;
	/* The last successful run: status.history is newest first. */
	struct n4j_backup_status st = {0};
	const cJSON *sj = cJSON_GetObjectItemCaseSensitive(backup, "status");
	if (cJSON_IsObject(sj) && (rc = n4j_backup_status_parse(a, sj, &st, &err)))
		memset(&st, 0, sizeof(st));
	const struct n4j_backup_run *ok = NULL;
	for (size_t i = 0; i < st.n_history && !ok; i++)
		if (streq(st.history[i].result, "Succeeded"))
			ok = &st.history[i];
	if (!ok) {
		hold(r, false, "NoBackupYet",
		     n4j_arena_printf(a,
				      "spec.restore.backupRef: Neo4jBackup %s has no successful "
				      "backup yet; seeding starts after its first one",
				      name));
		/* the names are known when the spec lists them: only those are held */
		if (set_dbs(a, r, sp->restore.databases, sp->restore.n_databases, NULL, NULL))
			return N4J_ENOMEM;
		return r->hold_message ? 0 : N4J_ENOMEM;
	}
	const char *const *names = sp->restore.databases;
	size_t n = sp->restore.n_databases;
	if (!n) {
		/* every database of that run but system (it is never seeded) */
		const char **l = n4j_arena_calloc(a, ok->n_databases + 1, sizeof(*l));
		if (!l)
			return N4J_ENOMEM;
		for (size_t i = 0; i < ok->n_databases; i++)
			if (!streq(ok->databases[i], "system"))
				l[n++] = ok->databases[i];
		names = l;
	}
	if (!n) {
		hold(r, true, "RestoreRefused",
		     n4j_arena_printf(a,
				      "spec.restore.backupRef: the last successful backup of "
				      "Neo4jBackup %s holds no user database",
				      name));
		return r->hold_message ? 0 : N4J_ENOMEM;
	}
	r->req.resolved = true;
	return set_dbs(a, r, names, n, b.spec.target.uri, sp->restore.restore_until);
}

/* done under the current key: a step was sent for it (or it already ended). */
static bool phase_done(const char *phase)
{
	return streq(phase, "Seeding") || streq(phase, "Succeeded") || streq(phase, "Failed");
}

/* The Neo4jBackup of spec.restore.backupRef: the cache, else the apiserver; *out NULL when
 * it does not exist. < 0 on another apiserver error. */
static int read_backup(struct n4j_controller *c, struct n4j_arena *a, const struct n4j_cluster *cl,
		       cJSON **out)
{
	*out = NULL;
	const char *name = cl->spec.restore.backup_ref;
	char bkey[512];
	snprintf(bkey, sizeof(bkey), "%s/%s", cl->meta.namespace_, name);
	struct n4j_cached *co = c->cfg.caches.get(c->cfg.caches.ud, &N4J_RES_NEO4JBACKUPS, bkey);
	cJSON *bj = NULL;
	if (co) {
		bj = n4j_cached_parse(co);
		n4j_cached_unref(co);
		if (!bj || ctl_arena_json(a, bj))
			return N4J_ENOMEM;
	} else {
		/* No cache of Neo4jBackups (or not synced yet): ask the apiserver. */
		struct n4j_kube_error e = {0};
		int rc = n4j_kube_get(c->cfg.kube, &N4J_RES_NEO4JBACKUPS, cl->meta.namespace_, name,
				      &bj, &e);
		if (rc && e.reason != N4J_KUBE_NOT_FOUND)
			return rc;
		if (bj && ctl_arena_json(a, bj))
			return N4J_ENOMEM;
	}
	*out = bj;
	return 0;
}

int ctl_restore_resolve(struct n4j_controller *c, struct n4j_arena *a, const struct n4j_cluster *cl,
			const struct n4j_restore_status *prev, struct ctl_restore *r)
{
	memset(r, 0, sizeof(*r));
	const struct n4j_cluster_spec *sp = &cl->spec;
	if (!sp->restore.present)
		return 0;
	r->req.present = true;
	r->req.replace = sp->restore.replace;
	const cJSON *rj = CTL_JGET(cl->json, "spec", "restore");
	char key[CTL_RESTORE_KEY_LEN + 1];
	if (!rj || ctl_restore_key(rj, key))
		return N4J_ENOMEM;
	if (!(r->key = n4j_arena_strdup(a, key)))
		return N4J_ENOMEM;
	bool same = prev && streq(prev->key, r->key);
	/* Recorded under this key with its source: frozen, the backup is not read again. */
	if (same && prev->source && prev->n_databases) {
		const char **names = n4j_arena_calloc(a, prev->n_databases + 1, sizeof(*names));
		if (!names)
			return N4J_ENOMEM;
		for (size_t i = 0; i < prev->n_databases; i++)
			names[i] = prev->databases[i].name;
		r->req.resolved = true;
		if (set_dbs(a, r, names, prev->n_databases, prev->source,
			    sp->restore.restore_until))
			return N4J_ENOMEM;
		/* the servers keep the backup target's endpoint and region while it exists */
		cJSON *bj = NULL;
		if (sp->restore.backup_ref && read_backup(c, a, cl, &bj) == 0 && bj) {
			struct ctl_restore t = {0};
			if (ctl_restore_from_backup(a, c->cfg.schemas, cl, bj, &t) == 0) {
				r->endpoint = t.endpoint;
				r->region = t.region;
			}
		}
	} else if (sp->restore.seed_uri) {
		r->req.resolved = true;
		if (set_dbs(a, r, sp->restore.databases, sp->restore.n_databases,
			    sp->restore.seed_uri, sp->restore.restore_until))
			return N4J_ENOMEM;
	} else {
		cJSON *bj = NULL;
		int rc = read_backup(c, a, cl, &bj);
		if (!rc)
			rc = ctl_restore_from_backup(a, c->cfg.schemas, cl, bj, r);
		if (rc)
			return rc;
	}
	r->source = r->uri;
	for (size_t i = 0; same && i < r->req.n; i++)
		for (size_t j = 0; j < prev->n_databases; j++)
			if (streq(prev->databases[j].name, r->req.dbs[i].database))
				((struct n4j_restore_db *)r->req.dbs)[i].done =
					phase_done(prev->databases[j].phase);
	return 0;
}

/* ---- status.restore ------------------------------------------------------------------------ */

static const char *clip(struct n4j_arena *a, const char *m)
{
	if (!m || strlen(m) <= MSG_MAX)
		return m;
	return n4j_arena_strndup(a, m, MSG_MAX);
}

static bool restore_refusal(const struct n4j_step *s)
{
	return s->kind == N4J_STEP_REFUSE && s->field && strncmp(s->field, "spec.restore", 12) == 0;
}

/* One database's progress from SHOW DATABASES: every copy online → Succeeded; a copy that
 * could not start (offline, "Unable to start database") → Failed with Neo4j's words. */
static const char *observed_phase(const struct n4j_observed *o, const char *db, const char **msg)
{
	*msg = NULL;
	const struct n4j_obs_database *d = n4j_observed_database(o, db);
	if (!o->reachable || !d)
		return "Seeding";
	size_t online = 0, copies = 0;
	for (size_t i = 0; i < o->n_copies; i++) {
		const struct n4j_obs_copy *c = &o->copies[i];
		if (!streq(c->database, db))
			continue;
		copies++;
		bool want_online =
			!c->requested_status || strcasecmp(c->requested_status, "online") == 0;
		if (c->status_message && strstr(c->status_message, "Unable to start")) {
			*msg = c->status_message;
			return "Failed";
		}
		if (want_online && c->current_status &&
		    strcasecmp(c->current_status, "offline") == 0 && c->status_message &&
		    *c->status_message) {
			*msg = c->status_message;
			return "Failed";
		}
		online += c->current_status && strcasecmp(c->current_status, "online") == 0;
	}
	int want = d->requested_primaries + d->requested_secondaries;
	if (copies && online == copies && (int)online >= want)
		return "Succeeded";
	return "Seeding";
}

int ctl_restore_status(struct n4j_arena *a, const struct ctl_restore_status_in *in,
		       struct n4j_restore_status *out)
{
	const struct ctl_restore *r = in->rs;
	const struct n4j_restore_status *prev = in->prev;
	memset(out, 0, sizeof(*out));
	if (!r->req.present) {
		/* spec.restore removed: the record of the last restore stays as it was */
		if (prev && prev->phase)
			*out = *prev;
		return 0;
	}
	bool same = prev && streq(prev->key, r->key);
	out->key = r->key;
	out->source = r->source;
	out->started_at = same ? prev->started_at : NULL;
	out->completed_at = same ? prev->completed_at : NULL;
	out->databases = n4j_arena_calloc(a, r->req.n + 1, sizeof(*out->databases));
	if (!out->databases)
		return N4J_ENOMEM;
	const struct n4j_step *s = &in->plan->step;
	bool refused = r->hold_refused || restore_refusal(s);
	const char *refusal = r->hold_refused ? r->hold_message : s->message;
	size_t n_final = 0, n_ok = 0, n_started = 0;
	for (size_t i = 0; i < r->req.n; i++) {
		const struct n4j_restore_db *t = &r->req.dbs[i];
		struct n4j_restore_db_status *d = &out->databases[out->n_databases++];
		d->name = t->database;
		d->phase = "Pending";
		for (size_t j = 0; same && j < prev->n_databases; j++)
			if (streq(prev->databases[j].name, t->database)) {
				d->phase = prev->databases[j].phase ? prev->databases[j].phase
								    : "Pending";
				d->message = prev->databases[j].message;
			}
		bool this_step = s->restore && streq(s->database, t->database) &&
				 (s->kind == N4J_STEP_SEED_CREATE || s->kind == N4J_STEP_RECREATE);
		if (this_step && in->ran) {
			d->phase = "Seeding";
			d->message = NULL;
		} else if (this_step && in->step_failed) {
			/* Neo4j refused the statement: this key's attempt is over (a new spec
			 * starts another); anything else is retried. */
			d->phase = "Failed";
			d->message = clip(a, in->step_error);
		} else if (streq(d->phase, "Seeding")) {
			d->phase = observed_phase(in->neo, t->database, &d->message);
			d->message = clip(a, d->message);
		} else if (streq(d->phase, "Succeeded")) {
			/* A recreate may still show the old copies online for a moment: a copy
			 * that then cannot start turns the result into Failed. */
			const char *m;
			if (streq(observed_phase(in->neo, t->database, &m), "Failed")) {
				d->phase = "Failed";
				d->message = clip(a, m);
			}
		} else if (!phase_done(d->phase)) {
			d->phase = refused ? "Refused" : "Pending";
			d->message = refused           ? clip(a, refusal)
				     : r->req.resolved ? NULL
						       : clip(a, r->hold_message);
		}
		n_final += streq(d->phase, "Succeeded") || streq(d->phase, "Failed");
		n_ok += streq(d->phase, "Succeeded");
		n_started += phase_done(d->phase);
	}
	if (refused)
		out->phase = "Refused";
	else if (r->req.n && n_ok == r->req.n)
		out->phase = "Succeeded";
	else if (r->req.n && n_final == r->req.n)
		out->phase = "Failed";
	else if (n_started)
		out->phase = "Seeding";
	else
		out->phase = "Pending";
	if (n_started && !out->started_at)
		out->started_at = in->now;
	bool final = streq(out->phase, "Succeeded") || streq(out->phase, "Failed");
	if (!final)
		out->completed_at = NULL;
	else if (!out->completed_at)
		out->completed_at = in->now;
	if (!r->req.resolved && !r->req.n) {
		out->databases = NULL;
		out->n_databases = 0;
	}
	return 0;
}

void ctl_restore_condition(const struct ctl_restore *r, const struct n4j_restore_status *st,
			   const struct n4j_plan *plan, struct ctl_conds *cs)
{
	if (!r->req.present) {
		/* the condition of the last restore stays with its record */
		const struct n4j_condition *o =
			cs->prev ? ctl_cond_find(cs->prev->conditions, cs->prev->n_conditions,
						 CT_RESTORED)
				 : NULL;
		if (o && st->phase)
			ctl_cond_set(cs, CT_RESTORED, o->status, o->reason, o->message);
		return;
	}
	if (!st->phase)
		return;
	const char *phase = st->phase;
	const char *msg = NULL;
	for (size_t i = 0; i < st->n_databases && !msg; i++)
		if (st->databases[i].message)
			msg = st->databases[i].message;
	if (streq(phase, "Succeeded")) {
		ctl_cond_set(cs, CT_RESTORED, N4J_COND_TRUE, "Succeeded",
			     "every restored database is online on all its servers");
	} else if (streq(phase, "Refused")) {
		const char *reason = r->hold_refused ? r->hold_reason : plan->step.reason;
		ctl_cond_set(cs, CT_RESTORED, N4J_COND_FALSE, reason ? reason : "Refused",
			     r->hold_refused ? r->hold_message : plan->step.message);
	} else if (streq(phase, "Pending")) {
		ctl_cond_set(cs, CT_RESTORED, N4J_COND_FALSE,
			     r->hold_reason ? r->hold_reason : "Pending",
			     r->hold_message ? r->hold_message
					     : "waiting for the cluster to form before seeding");
	} else {
		ctl_cond_set(cs, CT_RESTORED, N4J_COND_FALSE, phase, msg);
	}
	if (r->hold_refused)
		ctl_cond_set(cs, CT_STALLED, N4J_COND_TRUE, r->hold_reason, r->hold_message);
}
