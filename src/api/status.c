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

static void add_str(cJSON *o, const char *k, const char *v)
{
	if (v && *v)
		cJSON_AddStringToObject(o, k, v);
}

static cJSON *str_array(const char **items, size_t n)
{
	cJSON *a = cJSON_CreateArray();
	for (size_t i = 0; a && i < n; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(items[i]));
	return a;
}

static cJSON *conditions_json(const struct n4j_condition *c, size_t n)
{
	cJSON *arr = cJSON_CreateArray();
	for (size_t i = 0; arr && i < n; i++) {
		cJSON *o = cJSON_CreateObject();
		if (!o)
			break;
		add_str(o, "type", c[i].type);
		cJSON_AddStringToObject(o, "status", cond_status_name(c[i].status));
		cJSON_AddNumberToObject(o, "observedGeneration", (double)c[i].observed_generation);
		add_str(o, "lastTransitionTime", c[i].last_transition_time);
		add_str(o, "reason", c[i].reason);
		add_str(o, "message", c[i].message);
		cJSON_AddItemToArray(arr, o);
	}
	return arr;
}

/* cJSON reports allocation failure only through NULLs deep inside: one final check. */
static cJSON *checked(cJSON *o)
{
	char *probe = o ? cJSON_PrintUnformatted(o) : NULL;
	if (!probe) {
		cJSON_Delete(o);
		return NULL;
	}
	cJSON_free(probe);
	return o;
}

cJSON *n4j_cluster_status_json(const struct n4j_cluster_status *s)
{
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return NULL;
	cJSON_AddNumberToObject(o, "observedGeneration", (double)s->observed_generation);
	add_str(o, "phase", s->phase);
	if (s->n_conditions)
		cJSON_AddItemToObject(o, "conditions",
				      conditions_json(s->conditions, s->n_conditions));
	cJSON_AddNumberToObject(o, "replicas", s->replicas);
	add_str(o, "selector", s->selector);
	add_str(o, "readyServers", s->ready_servers);
	add_str(o, "version", s->version);
	add_str(o, "systemLeader", s->system_leader);
	if (s->n_servers) {
		cJSON *arr = cJSON_AddArrayToObject(o, "servers");
		for (size_t i = 0; arr && i < s->n_servers; i++) {
			const struct n4j_server_status *sv = &s->servers[i];
			cJSON *e = cJSON_CreateObject();
			add_str(e, "pod", sv->pod);
			add_str(e, "serverId", sv->server_id);
			add_str(e, "state", sv->state);
			add_str(e, "health", sv->health);
			cJSON_AddItemToObject(e, "hosting", str_array(sv->hosting, sv->n_hosting));
			cJSON_AddItemToArray(arr, e);
		}
	}
	if (s->n_databases) {
		cJSON *arr = cJSON_AddArrayToObject(o, "databases");
		for (size_t i = 0; arr && i < s->n_databases; i++) {
			const struct n4j_database_status *d = &s->databases[i];
			cJSON *e = cJSON_CreateObject();
			add_str(e, "name", d->name);
			add_str(e, "status", d->status);
			cJSON_AddNumberToObject(e, "primaries", d->primaries);
			cJSON_AddNumberToObject(e, "secondaries", d->secondaries);
			add_str(e, "writer", d->writer);
			cJSON_AddItemToArray(arr, e);
		}
	}
	if (s->bolt_endpoint || s->http_endpoint) {
		cJSON *ep = cJSON_AddObjectToObject(o, "endpoints");
		add_str(ep, "bolt", s->bolt_endpoint);
		add_str(ep, "http", s->http_endpoint);
	}
	return checked(o);
}

cJSON *n4j_backup_status_json(const struct n4j_backup_status *s)
{
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return NULL;
	cJSON_AddNumberToObject(o, "observedGeneration", (double)s->observed_generation);
	if (s->n_conditions)
		cJSON_AddItemToObject(o, "conditions",
				      conditions_json(s->conditions, s->n_conditions));
	add_str(o, "lastScheduleTime", s->last_schedule_time);
	add_str(o, "lastSuccessfulTime", s->last_successful_time);
	add_str(o, "nextScheduleTime", s->next_schedule_time);
	if (s->last_failure.time) {
		cJSON *f = cJSON_AddObjectToObject(o, "lastFailure");
		add_str(f, "time", s->last_failure.time);
		add_str(f, "reason", s->last_failure.reason);
		add_str(f, "message", s->last_failure.message);
	}
	size_t n = s->n_history < N4J_BACKUP_HISTORY_MAX ? s->n_history : N4J_BACKUP_HISTORY_MAX;
	if (n) {
		cJSON *arr = cJSON_AddArrayToObject(o, "history");
		for (size_t i = 0; arr && i < n; i++) {
			const struct n4j_backup_run *r = &s->history[i];
			cJSON *e = cJSON_CreateObject();
			add_str(e, "name", r->name);
			add_str(e, "startTime", r->start_time);
			add_str(e, "completionTime", r->completion_time);
			add_str(e, "result", r->result);
			cJSON_AddNumberToObject(e, "sizeBytes", (double)r->size_bytes);
			cJSON_AddItemToObject(e, "databases",
					      str_array(r->databases, r->n_databases));
			cJSON_AddItemToArray(arr, e);
		}
	}
	return checked(o);
}

static enum n4j_cond_status parse_cond_status(const char *s)
{
	if (s && strcmp(s, "True") == 0)
		return N4J_COND_TRUE;
	if (s && strcmp(s, "False") == 0)
		return N4J_COND_FALSE;
	return N4J_COND_UNKNOWN;
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
	cJSON_ArrayForEach(e, conds)
	{
		struct n4j_condition *c = &s->conditions[s->n_conditions++];
		c->type = n4j_view_str(a, e, "type");
		c->status = parse_cond_status(n4j_jstr(e, "status"));
		c->reason = n4j_view_str(a, e, "reason");
		c->message = n4j_view_str(a, e, "message");
		c->last_transition_time = n4j_view_str(a, e, "lastTransitionTime");
		c->observed_generation = n4j_jint(e, "observedGeneration", 0);
	}
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
	return 0;
}
