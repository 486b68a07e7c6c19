/*
 * Status to and from JSON. Keys come out in a fixed order so that "write
 * status only when its JSON changes" compares like with like.
 */
#include <string.h>

#include "api/internal.h"

static const char *cond_status_name(enum n4j_cond_status s)
{
	return s == N4J_COND_TRUE ? "True" : s == N4J_COND_FALSE ? "False" : "Unknown";
}

/*
 * cJSON signals allocation failure only by returning NULL (or false), and an item that
 * could not be attached is not freed. Every add goes through here: the first failure is
 * remembered, the orphan is freed, and later adds to a missing parent become no-ops, so
 * the builder either returns the whole status or ENOMEM, never a status missing parts.
 */
struct sj {
	bool oom;
};

static cJSON *add(struct sj *b, cJSON *parent, const char *key, cJSON *item)
{
	if (!item || !parent || b->oom) {
		cJSON_Delete(item);
		b->oom = true;
		return NULL;
	}
	if (!(key ? cJSON_AddItemToObject(parent, key, item)
		  : cJSON_AddItemToArray(parent, item))) {
		cJSON_Delete(item);
		b->oom = true;
		return NULL;
	}
	return item;
}

static void add_str(struct sj *b, cJSON *o, const char *k, const char *v)
{
	if (v && *v)
		add(b, o, k, cJSON_CreateString(v));
}

static void add_num(struct sj *b, cJSON *o, const char *k, double v)
{
	add(b, o, k, cJSON_CreateNumber(v));
}

static void add_str_array(struct sj *b, cJSON *o, const char *k, const char *const *items, size_t n)
{
	cJSON *a = add(b, o, k, cJSON_CreateArray());
	for (size_t i = 0; a && i < n; i++)
		add(b, a, NULL, cJSON_CreateString(items[i]));
}

static void add_conditions(struct sj *b, cJSON *o, const struct n4j_condition *c, size_t n)
{
	cJSON *arr = add(b, o, "conditions", cJSON_CreateArray());
	for (size_t i = 0; arr && i < n; i++) {
		cJSON *e = add(b, arr, NULL, cJSON_CreateObject());
		add_str(b, e, "type", c[i].type);
		add_str(b, e, "status", cond_status_name(c[i].status));
		add_num(b, e, "observedGeneration", (double)c[i].observed_generation);
		add_str(b, e, "lastTransitionTime", c[i].last_transition_time);
		add_str(b, e, "reason", c[i].reason);
		add_str(b, e, "message", c[i].message);
	}
}

static int finish(struct sj *b, cJSON *o, cJSON **out, const char *what, struct n4j_error *err)
{
	if (b->oom || !o) {
		cJSON_Delete(o);
		return n4j_err(err, N4J_ENOMEM, "%s status: out of memory", what);
	}
	*out = o;
	return 0;
}

int n4j_cluster_status_json(const struct n4j_cluster_status *s, cJSON **out, struct n4j_error *err)
{
	struct sj b = {0};
	*out = NULL;
	cJSON *o = cJSON_CreateObject();
	b.oom = !o;
	add_num(&b, o, "observedGeneration", (double)s->observed_generation);
	add_str(&b, o, "phase", s->phase);
	if (s->n_conditions)
		add_conditions(&b, o, s->conditions, s->n_conditions);
	add_num(&b, o, "replicas", s->replicas);
	add_str(&b, o, "selector", s->selector);
	add_str(&b, o, "readyServers", s->ready_servers);
	add_str(&b, o, "version", s->version);
	add_str(&b, o, "systemLeader", s->system_leader);
	if (s->n_servers) {
		cJSON *arr = add(&b, o, "servers", cJSON_CreateArray());
		for (size_t i = 0; arr && i < s->n_servers; i++) {
			const struct n4j_server_status *sv = &s->servers[i];
			cJSON *e = add(&b, arr, NULL, cJSON_CreateObject());
			add_str(&b, e, "pod", sv->pod);
			add_str(&b, e, "serverId", sv->server_id);
			add_str(&b, e, "state", sv->state);
			add_str(&b, e, "health", sv->health);
			add_str_array(&b, e, "hosting", sv->hosting, sv->n_hosting);
		}
	}
	if (s->n_databases) {
		cJSON *arr = add(&b, o, "databases", cJSON_CreateArray());
		for (size_t i = 0; arr && i < s->n_databases; i++) {
			const struct n4j_database_status *d = &s->databases[i];
			cJSON *e = add(&b, arr, NULL, cJSON_CreateObject());
			add_str(&b, e, "name", d->name);
			add_str(&b, e, "status", d->status);
			add_num(&b, e, "primaries", d->primaries);
			add_num(&b, e, "secondaries", d->secondaries);
			add_str(&b, e, "writer", d->writer);
		}
	}
	if (s->operation.kind) {
		cJSON *op = add(&b, o, "operation", cJSON_CreateObject());
		add_str(&b, op, "kind", s->operation.kind);
		add_str(&b, op, "target", s->operation.target);
		add_str(&b, op, "startedAt", s->operation.started_at);
	}
	if (s->restore.phase) {
		const struct n4j_restore_status *r = &s->restore;
		cJSON *ro = add(&b, o, "restore", cJSON_CreateObject());
		add_str(&b, ro, "key", r->key);
		add_str(&b, ro, "source", r->source);
		add_str(&b, ro, "phase", r->phase);
		add_str(&b, ro, "startedAt", r->started_at);
		add_str(&b, ro, "completedAt", r->completed_at);
		if (r->n_databases) {
			cJSON *arr = add(&b, ro, "databases", cJSON_CreateArray());
			for (size_t i = 0; arr && i < r->n_databases; i++) {
				cJSON *e = add(&b, arr, NULL, cJSON_CreateObject());
				add_str(&b, e, "name", r->databases[i].name);
				add_str(&b, e, "phase", r->databases[i].phase);
				add_str(&b, e, "message", r->databases[i].message);
			}
		}
	}
	if (s->n_tls) {
		cJSON *arr = add(&b, o, "tls", cJSON_CreateArray());
		for (size_t i = 0; arr && i < s->n_tls; i++) {
			const struct n4j_tls_status *t = &s->tls[i];
			cJSON *e = add(&b, arr, NULL, cJSON_CreateObject());
			add_str(&b, e, "secretName", t->secret_name);
			if (t->n_usages)
				add_str_array(&b, e, "usages", t->usages, t->n_usages);
			add_str(&b, e, "notBefore", t->not_before);
			add_str(&b, e, "notAfter", t->not_after);
			if (t->expiring_soon)
				add(&b, e, "expiringSoon", cJSON_CreateTrue());
			if (t->n_dns_names)
				add_str_array(&b, e, "dnsNames", t->dns_names, t->n_dns_names);
		}
	}
	if (s->bolt_endpoint || s->http_endpoint) {
		cJSON *ep = add(&b, o, "endpoints", cJSON_CreateObject());
		add_str(&b, ep, "bolt", s->bolt_endpoint);
		add_str(&b, ep, "http", s->http_endpoint);
	}
	return finish(&b, o, out, "cluster", err);
}

int n4j_backup_status_json(const struct n4j_backup_status *s, cJSON **out, struct n4j_error *err)
{
	struct sj b = {0};
	*out = NULL;
	cJSON *o = cJSON_CreateObject();
	b.oom = !o;
	add_num(&b, o, "observedGeneration", (double)s->observed_generation);
	if (s->n_conditions)
		add_conditions(&b, o, s->conditions, s->n_conditions);
	add_str(&b, o, "lastScheduleTime", s->last_schedule_time);
	add_str(&b, o, "lastSuccessfulTime", s->last_successful_time);
	add_str(&b, o, "nextScheduleTime", s->next_schedule_time);
	if (s->last_failure.time) {
		cJSON *f = add(&b, o, "lastFailure", cJSON_CreateObject());
		add_str(&b, f, "time", s->last_failure.time);
		add_str(&b, f, "reason", s->last_failure.reason);
		add_str(&b, f, "message", s->last_failure.message);
	}
	if (s->n_databases)
		add_str_array(&b, o, "databases", s->databases, s->n_databases);
	size_t n = s->n_history < N4J_BACKUP_HISTORY_MAX ? s->n_history : N4J_BACKUP_HISTORY_MAX;
	if (n) {
		cJSON *arr = add(&b, o, "history", cJSON_CreateArray());
		for (size_t i = 0; arr && i < n; i++) {
			const struct n4j_backup_run *r = &s->history[i];
			cJSON *e = add(&b, arr, NULL, cJSON_CreateObject());
			add_str(&b, e, "name", r->name);
			add_str(&b, e, "startTime", r->start_time);
			add_str(&b, e, "completionTime", r->completion_time);
			add_str(&b, e, "result", r->result);
			if (r->size_bytes >= 0)
				add_num(&b, e, "sizeBytes", (double)r->size_bytes);
			add_str_array(&b, e, "databases", r->databases, r->n_databases);
			if (r->n_artifacts) {
				cJSON *aa = add(&b, e, "artifacts", cJSON_CreateArray());
				for (size_t k = 0; aa && k < r->n_artifacts; k++) {
					const struct n4j_backup_artifact *x = &r->artifacts[k];
					cJSON *ae = add(&b, aa, NULL, cJSON_CreateObject());
					add_str(&b, ae, "name", x->name);
					add_str(&b, ae, "database", x->database);
					add_num(&b, ae, "sizeBytes", (double)x->size_bytes);
					add(&b, ae, "full", cJSON_CreateBool(x->full));
				}
			}
			if (r->pruned >= 0)
				add_num(&b, e, "prunedCount", (double)r->pruned);
			add_str(&b, e, "message", r->message);
		}
	}
	return finish(&b, o, out, "backup", err);
}

static enum n4j_cond_status parse_cond_status(const char *s)
{
	if (s && strcmp(s, "True") == 0)
		return N4J_COND_TRUE;
	if (s && strcmp(s, "False") == 0)
		return N4J_COND_FALSE;
	return N4J_COND_UNKNOWN;
}

static void parse_conditions(struct n4j_arena *a, const cJSON *conds, struct n4j_condition *out,
			     size_t *n)
{
	const cJSON *e;
	cJSON_ArrayForEach(e, conds)
	{
		struct n4j_condition *c = &out[(*n)++];
		c->type = n4j_view_str(a, e, "type");
		c->status = parse_cond_status(n4j_jstr(e, "status"));
		c->reason = n4j_view_str(a, e, "reason");
		c->message = n4j_view_str(a, e, "message");
		c->last_transition_time = n4j_view_str(a, e, "lastTransitionTime");
		c->observed_generation = n4j_jint(e, "observedGeneration", 0);
	}
}

int n4j_cluster_status_parse(struct n4j_arena *a, const cJSON *j, struct n4j_cluster_status *s,
			     struct n4j_error *err)
{
	memset(s, 0, sizeof(*s));
	if (!cJSON_IsObject(j))
		return n4j_err(err, N4J_EINVAL, "status is not an object");
	s->observed_generation = n4j_jint(j, "observedGeneration", 0);
	s->phase = n4j_view_str(a, j, "phase");
	s->replicas = (int)n4j_jint(j, "replicas", 0);
	s->selector = n4j_view_str(a, j, "selector");
	s->ready_servers = n4j_view_str(a, j, "readyServers");
	s->version = n4j_view_str(a, j, "version");
	s->system_leader = n4j_view_str(a, j, "systemLeader");
	s->bolt_endpoint = n4j_view_str(a, j, "endpoints.bolt");
	s->http_endpoint = n4j_view_str(a, j, "endpoints.http");
	s->operation.kind = n4j_view_str(a, j, "operation.kind");
	s->operation.target = n4j_view_str(a, j, "operation.target");
	s->operation.started_at = n4j_view_str(a, j, "operation.startedAt");

	const cJSON *conds = n4j_jarr(j, "conditions"), *e;
	s->conditions =
		n4j_arena_calloc(a, (size_t)cJSON_GetArraySize(conds) + 1, sizeof(*s->conditions));
	const cJSON *servers = n4j_jarr(j, "servers");
	s->servers =
		n4j_arena_calloc(a, (size_t)cJSON_GetArraySize(servers) + 1, sizeof(*s->servers));
	const cJSON *dbs = n4j_jarr(j, "databases");
	s->databases =
		n4j_arena_calloc(a, (size_t)cJSON_GetArraySize(dbs) + 1, sizeof(*s->databases));
	if (!s->conditions || !s->servers || !s->databases)
		return n4j_err(err, N4J_ENOMEM, "out of memory");
	parse_conditions(a, conds, s->conditions, &s->n_conditions);
	cJSON_ArrayForEach(e, servers)
	{
		struct n4j_server_status *sv = &s->servers[s->n_servers++];
		sv->pod = n4j_view_str(a, e, "pod");
		sv->server_id = n4j_view_str(a, e, "serverId");
		sv->state = n4j_view_str(a, e, "state");
		sv->health = n4j_view_str(a, e, "health");
		if (n4j_view_str_list(a, n4j_jarr(e, "hosting"), &sv->n_hosting, &sv->hosting))
			return n4j_err(err, N4J_ENOMEM, "out of memory");
	}
	cJSON_ArrayForEach(e, dbs)
	{
		struct n4j_database_status *d = &s->databases[s->n_databases++];
		d->name = n4j_view_str(a, e, "name");
		d->status = n4j_view_str(a, e, "status");
		d->writer = n4j_view_str(a, e, "writer");
		d->primaries = (int)n4j_jint(e, "primaries", 0);
		d->secondaries = (int)n4j_jint(e, "secondaries", 0);
	}
	const cJSON *tls = n4j_jarr(j, "tls");
	s->tls = n4j_arena_calloc(a, (size_t)cJSON_GetArraySize(tls) + 1, sizeof(*s->tls));
	if (!s->tls)
		return n4j_err(err, N4J_ENOMEM, "out of memory");
	cJSON_ArrayForEach(e, tls)
	{
		struct n4j_tls_status *t = &s->tls[s->n_tls++];
		t->secret_name = n4j_view_str(a, e, "secretName");
		t->not_before = n4j_view_str(a, e, "notBefore");
		t->not_after = n4j_view_str(a, e, "notAfter");
		t->expiring_soon = n4j_jbool(e, "expiringSoon", false);
		const cJSON *u;
		cJSON_ArrayForEach(u, n4j_jarr(e, "usages"))
		{
			if (cJSON_IsString(u) && t->n_usages < N4J_TLS_USAGES_MAX &&
			    !(t->usages[t->n_usages++] = n4j_arena_strdup(a, u->valuestring)))
				return n4j_err(err, N4J_ENOMEM, "out of memory");
		}
		if (n4j_view_str_list(a, n4j_jarr(e, "dnsNames"), &t->n_dns_names, &t->dns_names))
			return n4j_err(err, N4J_ENOMEM, "out of memory");
		/* The CRD's bound: a status edited by hand cannot make our next write invalid. */
		if (t->n_dns_names > N4J_TLS_DNS_MAX)
			t->n_dns_names = N4J_TLS_DNS_MAX;
	}
	struct n4j_restore_status *r = &s->restore;
	r->phase = n4j_view_str(a, j, "restore.phase");
	r->key = n4j_view_str(a, j, "restore.key");
	r->source = n4j_view_str(a, j, "restore.source");
	r->started_at = n4j_view_str(a, j, "restore.startedAt");
	r->completed_at = n4j_view_str(a, j, "restore.completedAt");
	const cJSON *rdbs = n4j_jarr(j, "restore.databases");
	r->databases =
		n4j_arena_calloc(a, (size_t)cJSON_GetArraySize(rdbs) + 1, sizeof(*r->databases));
	if (!r->databases)
		return n4j_err(err, N4J_ENOMEM, "out of memory");
	cJSON_ArrayForEach(e, rdbs)
	{
		struct n4j_restore_db_status *d = &r->databases[r->n_databases++];
		d->name = n4j_view_str(a, e, "name");
		d->phase = n4j_view_str(a, e, "phase");
		d->message = n4j_view_str(a, e, "message");
	}
	return 0;
}

int n4j_backup_status_parse(struct n4j_arena *a, const cJSON *j, struct n4j_backup_status *s,
			    struct n4j_error *err)
{
	memset(s, 0, sizeof(*s));
	if (!cJSON_IsObject(j))
		return n4j_err(err, N4J_EINVAL, "status is not an object");
	s->observed_generation = n4j_jint(j, "observedGeneration", 0);
	s->last_schedule_time = n4j_view_str(a, j, "lastScheduleTime");
	s->last_successful_time = n4j_view_str(a, j, "lastSuccessfulTime");
	s->next_schedule_time = n4j_view_str(a, j, "nextScheduleTime");
	s->last_failure.time = n4j_view_str(a, j, "lastFailure.time");
	s->last_failure.reason = n4j_view_str(a, j, "lastFailure.reason");
	s->last_failure.message = n4j_view_str(a, j, "lastFailure.message");
	const cJSON *conds = n4j_jarr(j, "conditions"), *hist = n4j_jarr(j, "history"), *e;
	s->conditions =
		n4j_arena_calloc(a, (size_t)cJSON_GetArraySize(conds) + 1, sizeof(*s->conditions));
	s->history = n4j_arena_calloc(a, (size_t)cJSON_GetArraySize(hist) + 1, sizeof(*s->history));
	if (!s->conditions || !s->history ||
	    n4j_view_str_list(a, n4j_jarr(j, "databases"), &s->n_databases, &s->databases))
		return n4j_err(err, N4J_ENOMEM, "out of memory");
	parse_conditions(a, conds, s->conditions, &s->n_conditions);
	cJSON_ArrayForEach(e, hist)
	{
		if (s->n_history == N4J_BACKUP_HISTORY_MAX)
			break;
		struct n4j_backup_run *r = &s->history[s->n_history++];
		r->name = n4j_view_str(a, e, "name");
		r->start_time = n4j_view_str(a, e, "startTime");
		r->completion_time = n4j_view_str(a, e, "completionTime");
		r->result = n4j_view_str(a, e, "result");
		r->size_bytes = n4j_jint(e, "sizeBytes", -1);
		r->pruned = n4j_jint(e, "prunedCount", -1);
		r->message = n4j_view_str(a, e, "message");
		const cJSON *arts = n4j_jarr(e, "artifacts"), *x;
		r->artifacts = n4j_arena_calloc(a, (size_t)cJSON_GetArraySize(arts) + 1,
						sizeof(*r->artifacts));
		if (!r->artifacts ||
		    n4j_view_str_list(a, n4j_jarr(e, "databases"), &r->n_databases, &r->databases))
			return n4j_err(err, N4J_ENOMEM, "out of memory");
		cJSON_ArrayForEach(x, arts)
		{
			struct n4j_backup_artifact *ar = &r->artifacts[r->n_artifacts++];
			ar->name = n4j_view_str(a, x, "name");
			ar->database = n4j_view_str(a, x, "database");
			ar->size_bytes = n4j_jint(x, "sizeBytes", 0);
			ar->full = n4j_jbool(x, "full", false);
		}
	}
	return 0;
}
