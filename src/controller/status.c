/*
 * status from the plan and the observation, and the write that happens only when it
 * changed: the new status is compared with the live one (cJSON_Compare ignores key order)
 * and sent as a JSON merge patch of the difference, in which fields gone from the new
 * status are null (so a finished operation disappears).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "controller/internal.h"

static const char *const op_names[] = {
	[N4J_OP_NONE] = NULL,          [N4J_OP_ROLL] = "Roll",
	[N4J_OP_SCALE_IN] = "ScaleIn", [N4J_OP_SCALE_OUT] = "ScaleOut",
	[N4J_OP_FORM] = "Form",
};

const char *ctl_op_kind_name(enum n4j_op_kind k)
{
	return (unsigned)k < sizeof(op_names) / sizeof(op_names[0]) ? op_names[k] : NULL;
}

enum n4j_op_kind ctl_op_kind_parse(const char *s)
{
	for (size_t i = 1; s && i < sizeof(op_names) / sizeof(op_names[0]); i++)
		if (strcmp(op_names[i], s) == 0)
			return (enum n4j_op_kind)i;
	return N4J_OP_NONE;
}

int64_t ctl_parse_time_ms(const char *s)
{
	struct tm tm = {0};
	int n = 0;
	if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
			 &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6)
		return -1;
	const char *p = s + n;
	int64_t ms = 0;
	if (*p == '.') {
		int64_t scale = 100;
		for (p++; *p >= '0' && *p <= '9'; p++) {
			ms += (*p - '0') * scale;
			scale /= 10;
		}
	}
	if (strcmp(p, "Z") != 0)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	time_t t = timegm(&tm);
	if (t == (time_t)-1)
		return -1;
	return (int64_t)t * 1000 + ms;
}

const char *ctl_pod_of(struct n4j_arena *a, const char *address)
{
	if (!address)
		return NULL;
	size_t n = strcspn(address, ".:");
	return n ? n4j_arena_strndup(a, address, n) : NULL;
}

/* The CRD's bound of status.servers[] and status.databases[]. */
#define STATUS_LIST_MAX 128

static bool pod_taken(const struct n4j_cluster_status *out, const char *pod)
{
	for (size_t i = 0; i < out->n_servers; i++)
		if (out->servers[i].pod && strcmp(out->servers[i].pod, pod) == 0)
			return true;
	return false;
}

static int servers_of(struct n4j_arena *a, const struct n4j_observed *o,
		      struct n4j_cluster_status *out)
{
	out->servers = n4j_arena_calloc(a, o->n_servers + 1, sizeof(*out->servers));
	if (!out->servers)
		return N4J_ENOMEM;
	for (size_t i = 0; i < o->n_servers && out->n_servers < STATUS_LIST_MAX; i++) {
		const struct n4j_obs_server *s = &o->servers[i];
		/*
		 * A dropped server is history (its id can never come back): listing it would
		 * grow status with every scale-in and take the pod name from the next server
		 * of that ordinal.
		 */
		if (s->state == N4J_SERVER_DROPPED)
			continue;
		const char *pod = s->pod ? s->pod : ctl_pod_of(a, s->address);
		/*
		 * pod is the list's map key and must be unique: a server that lost its volume
		 * comes back under a new id at the same address while the old id lingers, so
		 * the second one is listed under its id.
		 */
		if (!pod || pod_taken(out, pod))
			pod = s->id;
		if (!pod || pod_taken(out, pod))
			continue;
		struct n4j_server_status *d = &out->servers[out->n_servers++];
		d->pod = pod;
		d->server_id = s->id;
		d->state = n4j_server_state_name(s->state);
		d->health = n4j_server_health_name(s->health);
		d->n_hosting = s->n_hosting;
		d->hosting = s->hosting;
	}
	return 0;
}

/* Ordinal order ("graph-2" before "graph-10"), then by name: the same list on every
 * observation whatever order Neo4j answers in, so the status does not churn. */
static int pod_order(const char *a, const char *b)
{
	const char *ta = strrchr(a, '-'), *tb = strrchr(b, '-');
	if (ta && tb && ta - a == tb - b && strncmp(a, b, (size_t)(ta - a)) == 0) {
		long na = strtol(ta + 1, NULL, 10), nb = strtol(tb + 1, NULL, 10);
		if (na != nb)
			return na < nb ? -1 : 1;
	}
	return strcmp(a, b);
}

static int by_pod(const void *x, const void *y)
{
	return pod_order(((const struct n4j_server_status *)x)->pod,
			 ((const struct n4j_server_status *)y)->pod);
}

static int by_name(const void *x, const void *y)
{
	return strcmp(((const struct n4j_database_status *)x)->name,
		      ((const struct n4j_database_status *)y)->name);
}

/* A database's status: its requested status once every copy reached it, else the first
 * copy's current status that differs (starting, store copying, …). */
static const char *database_state(const struct n4j_observed *o, const struct n4j_obs_database *d)
{
	if (d->settled)
		return d->requested_status;
	for (size_t i = 0; i < o->n_copies; i++) {
		const struct n4j_obs_copy *c = &o->copies[i];
		if (c->database && strcmp(c->database, d->name) == 0 && c->current_status &&
		    (!c->requested_status || strcmp(c->current_status, c->requested_status) != 0))
			return c->current_status;
	}
	return d->requested_status;
}

static int databases_of(struct n4j_arena *a, const struct n4j_observed *o,
			struct n4j_cluster_status *out)
{
	out->databases = n4j_arena_calloc(a, o->n_databases + 1, sizeof(*out->databases));
	if (!out->databases)
		return N4J_ENOMEM;
	for (size_t i = 0; i < o->n_databases && out->n_databases < STATUS_LIST_MAX; i++) {
		const struct n4j_obs_database *d = &o->databases[i];
		bool dup = !d->name;
		for (size_t j = 0; !dup && j < out->n_databases; j++)
			dup = strcmp(out->databases[j].name, d->name) == 0;
		if (dup)
			continue; /* name is the list's map key */
		struct n4j_database_status *s = &out->databases[out->n_databases++];
		s->name = d->name;
		s->status = database_state(o, d);
		s->primaries = d->current_primaries;
		s->secondaries = d->current_secondaries;
		s->writer = ctl_pod_of(a, d->writer_address);
	}
	return 0;
}

/*
 * Community has no SHOW SERVERS and answers addresses as it binds them (an IP): the one
 * server is pod 0, listed like an Enterprise server (Enabled: it serves; hosting every
 * database), leading everything it hosts, so that status reads the same for both editions.
 */
static int standalone_of(struct n4j_arena *a, const struct n4j_cluster *cl,
			 struct n4j_cluster_status *out)
{
	const char *pod = n4j_arena_printf(a, "%s-0", cl->meta.name);
	struct n4j_server_status *sv = n4j_arena_calloc(a, 1, sizeof(*sv));
	const char **hosting = n4j_arena_calloc(a, out->n_databases + 1, sizeof(*hosting));
	if (!pod || !sv || !hosting)
		return N4J_ENOMEM;
	for (size_t i = 0; i < out->n_databases; i++) {
		hosting[i] = out->databases[i].name;
		out->databases[i].writer = pod;
	}
	sv->pod = pod;
	sv->state = n4j_server_state_name(N4J_SERVER_ENABLED);
	sv->health = n4j_server_health_name(N4J_HEALTH_AVAILABLE);
	sv->n_hosting = out->n_databases;
	sv->hosting = hosting;
	out->servers = sv;
	out->n_servers = 1;
	out->system_leader = pod;
	return 0;
}

int ctl_status_build(struct n4j_arena *a, const struct ctl_status_in *in,
		     struct n4j_cluster_status *out)
{
	const struct n4j_cluster *cl = in->cluster;
	const struct n4j_plan *plan = in->plan;
	const struct n4j_cluster_status *prev = in->prev;
	memset(out, 0, sizeof(*out));
	out->observed_generation = cl->meta.generation;
	out->phase = n4j_phase_name(plan->phase);
	out->replicas = in->sts_ready_replicas;
	out->selector = n4j_arena_printf(
		a, N4J_LABEL_NAME "=neo4j," N4J_LABEL_INSTANCE "=%s," N4J_LABEL_COMPONENT "=server",
		cl->meta.name);
	int ready = 0;
	for (size_t i = 0; i < plan->n_gates; i++)
		ready += plan->gates[i].ready;
	out->ready_servers = n4j_arena_printf(a, "%d/%d", ready, cl->spec.servers);
	if (in->neo && in->neo->reachable) {
		out->version = in->neo->version;
		out->system_leader = ctl_pod_of(a, in->neo->system_leader);
		if (servers_of(a, in->neo, out) || databases_of(a, in->neo, out))
			return N4J_ENOMEM;
		if (out->n_servers > 1)
			qsort(out->servers, out->n_servers, sizeof(*out->servers), by_pod);
		if (out->n_databases > 1)
			qsort(out->databases, out->n_databases, sizeof(*out->databases), by_name);
		if (cl->spec.edition == N4J_COMMUNITY && standalone_of(a, cl, out))
			return N4J_ENOMEM;
	} else if (prev) {
		/* Unreachable: the last observation stays; the conditions say it is stale. */
		out->version = prev->version;
		out->system_leader = prev->system_leader;
		out->n_servers = prev->n_servers;
		out->servers = prev->servers;
		out->n_databases = prev->n_databases;
		out->databases = prev->databases;
	}
	const char *host = n4j_arena_printf(a, "%s.%s.svc", cl->meta.name, cl->meta.namespace_);
	if (!host || !out->selector || !out->ready_servers)
		return N4J_ENOMEM;
	out->bolt_endpoint = n4j_arena_printf(a, "neo4j://%s:%d", host, N4J_PORT_BOLT);
	out->http_endpoint = cl->spec.tls.enabled
				     ? n4j_arena_printf(a, "https://%s:%d", host, N4J_PORT_HTTPS)
				     : n4j_arena_printf(a, "http://%s:%d", host, N4J_PORT_HTTP);
	if (!out->bolt_endpoint || !out->http_endpoint)
		return N4J_ENOMEM;
	out->operation.kind = ctl_op_kind_name(plan->op.kind);
	if (out->operation.kind) {
		char t[40];
		n4j_format_time(plan->op.started_ms * 1000000, false, t, sizeof(t));
		out->operation.target = plan->op.target;
		out->operation.started_at = n4j_arena_strdup(a, t);
		if (!out->operation.started_at)
			return N4J_ENOMEM;
	}
	return 0;
}

cJSON *ctl_merge_diff(const cJSON *old_obj, const cJSON *new_obj, bool *oom)
{
	cJSON *patch = NULL;
	const cJSON *n;
#define ENSURE()                                                                                   \
	do {                                                                                       \
		if (!patch && !(patch = cJSON_CreateObject())) {                                   \
			*oom = true;                                                               \
			return NULL;                                                               \
		}                                                                                  \
	} while (0)
	cJSON_ArrayForEach(n, new_obj)
	{
		const cJSON *o = cJSON_GetObjectItemCaseSensitive(old_obj, n->string);
		cJSON *item = NULL;
		if (cJSON_IsObject(n) && cJSON_IsObject(o)) {
			item = ctl_merge_diff(o, n, oom);
			if (*oom)
				goto fail;
		} else if (!o || !cJSON_Compare(o, n, true)) {
			if (!(item = cJSON_Duplicate(n, true)))
				goto fail_oom;
		}
		if (!item)
			continue;
		if (!patch && !(patch = cJSON_CreateObject())) {
			cJSON_Delete(item);
			goto fail_oom;
		}
		if (!cJSON_AddItemToObject(patch, n->string, item)) {
			cJSON_Delete(item);
			goto fail_oom;
		}
	}
	cJSON_ArrayForEach(n, old_obj)
	{
		if (cJSON_GetObjectItemCaseSensitive(new_obj, n->string))
			continue;
		ENSURE();
		if (!cJSON_AddNullToObject(patch, n->string))
			goto fail_oom;
	}
#undef ENSURE
	return patch;
fail_oom:
	*oom = true;
fail:
	cJSON_Delete(patch);
	return NULL;
}

int ctl_status_patch_json(const cJSON *live_status, cJSON *want, cJSON **patch, bool *changed,
			  struct n4j_error *err)
{
	*patch = NULL;
	*changed = false;
	cJSON *empty = NULL;
	if (!cJSON_IsObject(live_status))
		live_status = empty = cJSON_CreateObject();
	bool oom = !live_status;
	cJSON *diff = oom ? NULL : ctl_merge_diff(live_status, want, &oom);
	cJSON_Delete(want);
	cJSON_Delete(empty);
	if (oom)
		return n4j_err(err, N4J_ENOMEM, "status: out of memory");
	if (!diff)
		return 0;
	cJSON *body = cJSON_CreateObject();
	if (!body || !cJSON_AddItemToObject(body, "status", diff)) {
		cJSON_Delete(body);
		cJSON_Delete(diff);
		return n4j_err(err, N4J_ENOMEM, "status: out of memory");
	}
	*patch = body;
	*changed = true;
	return 0;
}

int ctl_status_patch(const cJSON *live_status, const struct n4j_cluster_status *st, cJSON **patch,
		     bool *changed, struct n4j_error *err)
{
	*patch = NULL;
	*changed = false;
	cJSON *want = NULL;
	int rc = n4j_cluster_status_json(st, &want, err);
	return rc ? rc : ctl_status_patch_json(live_status, want, patch, changed, err);
}
