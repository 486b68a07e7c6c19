/*
 * The Kubernetes half of the world, from the informer caches: the cluster's server pods
 * and data claims. Also the one pod write that is not a step: the readiness gate
 * (DESIGN §8.6), set by a strategic merge patch of pods/status so that the kubelet's own
 * conditions stay (a JSON merge patch would replace the whole list).
 */
#include <stdlib.h>
#include <string.h>

#include "controller/internal.h"

int ctl_ordinal(const char *name, const char *prefix)
{
	size_t n = strlen(prefix);
	if (!name || strncmp(name, prefix, n) != 0 || name[n] != '-' || !name[n + 1])
		return -1;
	const char *d = name + n + 1;
	if (d[0] == '0' && d[1])
		return -1; /* StatefulSets never write leading zeros */
	long v = 0;
	for (; *d; d++) {
		if (*d < '0' || *d > '9' || v > 100000)
			return -1;
		v = v * 10 + (*d - '0');
	}
	return (int)v;
}

struct collect {
	struct n4j_arena *a;
	const char *cluster;
	const char *claim_prefix; /* "data-<cluster>" */
	const char *update_revision;
	struct ctl_pods *out;
	size_t cap_pods, cap_claims;
	bool oom;
};

static const char *meta_str(struct n4j_arena *a, const cJSON *o, const char *key)
{
	const char *v = cJSON_GetStringValue(CTL_JGET(o, "metadata", key));
	return v ? n4j_arena_strdup(a, v) : NULL;
}

static bool grow(struct n4j_arena *a, void **arr, size_t n, size_t *cap, size_t size)
{
	if (n < *cap)
		return true;
	size_t nc = *cap ? *cap * 2 : 8;
	void *na = n4j_arena_calloc(a, nc, size);
	if (!na)
		return false;
	if (n)
		memcpy(na, *arr, n * size);
	*arr = na;
	*cap = nc;
	return true;
}

static bool condition_true(const cJSON *pod, const char *type)
{
	const cJSON *c;
	cJSON_ArrayForEach(c, CTL_JGET(pod, "status", "conditions"))
	{
		const char *t = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "type"));
		const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "status"));
		if (t && s && strcmp(t, type) == 0)
			return strcmp(s, "True") == 0;
	}
	return false;
}

static void on_pod(void *ud, struct n4j_cached *o)
{
	struct collect *k = ud;
	if (k->oom)
		return;
	cJSON *j = n4j_cached_parse(o);
	if (!j) {
		k->oom = true;
		return;
	}
	const char *name = cJSON_GetStringValue(CTL_JGET(j, "metadata", "name"));
	const char *comp =
		cJSON_GetStringValue(CTL_JGET(j, "metadata", "labels", N4J_LABEL_COMPONENT));
	int ord = ctl_ordinal(name, k->cluster);
	/* Backup pods share the instance label: only the servers count. */
	if (ord < 0 || !comp || strcmp(comp, "server") != 0) {
		cJSON_Delete(j);
		return;
	}
	struct ctl_pods *p = k->out;
	if (!grow(k->a, (void **)&p->pods, p->n_pods, &k->cap_pods, sizeof(*p->pods))) {
		k->oom = true;
		cJSON_Delete(j);
		return;
	}
	struct n4j_obs_pod *x = &p->pods[p->n_pods++];
	x->ordinal = ord;
	x->name = meta_str(k->a, j, "name");
	x->uid = meta_str(k->a, j, "uid");
	const char *ip = cJSON_GetStringValue(CTL_JGET(j, "status", "podIP"));
	x->ip = ip && *ip ? n4j_arena_strdup(k->a, ip) : NULL;
	x->deleting = CTL_JGET(j, "metadata", "deletionTimestamp") != NULL;
	x->containers_ready = condition_true(j, "ContainersReady");
	x->gate = condition_true(j, N4J_READINESS_GATE);
	const char *rev =
		cJSON_GetStringValue(CTL_JGET(j, "metadata", "labels", N4J_LABEL_REVISION));
	x->outdated = k->update_revision && rev && strcmp(rev, k->update_revision) != 0;
	if (!x->name || !x->uid || (ip && *ip && !x->ip))
		k->oom = true;
	cJSON_Delete(j);
}

static void on_claim(void *ud, struct n4j_cached *o)
{
	struct collect *k = ud;
	if (k->oom)
		return;
	cJSON *j = n4j_cached_parse(o);
	if (!j) {
		k->oom = true;
		return;
	}
	const char *name = cJSON_GetStringValue(CTL_JGET(j, "metadata", "name"));
	int ord = ctl_ordinal(name, k->claim_prefix);
	if (ord < 0) {
		cJSON_Delete(j);
		return;
	}
	struct ctl_pods *p = k->out;
	if (!grow(k->a, (void **)&p->claims, p->n_claims, &k->cap_claims, sizeof(*p->claims))) {
		k->oom = true;
		cJSON_Delete(j);
		return;
	}
	struct n4j_obs_claim *x = &p->claims[p->n_claims++];
	x->ordinal = ord;
	x->name = meta_str(k->a, j, "name");
	x->deleting = CTL_JGET(j, "metadata", "deletionTimestamp") != NULL;
	if (!x->name)
		k->oom = true;
	cJSON_Delete(j);
}

static int by_pod_ordinal(const void *a, const void *b)
{
	return ((const struct n4j_obs_pod *)a)->ordinal - ((const struct n4j_obs_pod *)b)->ordinal;
}

static int by_claim_ordinal(const void *a, const void *b)
{
	return ((const struct n4j_obs_claim *)a)->ordinal -
	       ((const struct n4j_obs_claim *)b)->ordinal;
}

int ctl_observe_pods(struct n4j_controller *c, struct n4j_arena *a, const struct n4j_cluster *cl,
		     const cJSON *sts_live, struct ctl_pods *out)
{
	memset(out, 0, sizeof(*out));
	struct collect k = {
		.a = a,
		.cluster = cl->meta.name,
		.claim_prefix = n4j_arena_printf(a, "data-%s", cl->meta.name),
		.update_revision =
			cJSON_GetStringValue(CTL_JGET(sts_live, "status", "updateRevision")),
		.out = out,
	};
	if (!k.claim_prefix)
		return N4J_ENOMEM;
	if (!c->cfg.caches.each)
		return 0;
	c->cfg.caches.each(c->cfg.caches.ud, &N4J_RES_PODS, cl->meta.namespace_, cl->meta.name,
			   on_pod, &k);
	c->cfg.caches.each(c->cfg.caches.ud, &N4J_RES_PVCS, cl->meta.namespace_, cl->meta.name,
			   on_claim, &k);
	if (k.oom)
		return N4J_ENOMEM;
	if (out->n_pods)
		qsort(out->pods, out->n_pods, sizeof(*out->pods), by_pod_ordinal);
	if (out->n_claims)
		qsort(out->claims, out->n_claims, sizeof(*out->claims), by_claim_ordinal);
	return 0;
}

char *ctl_gate_patch(struct n4j_arena *a, bool ready, const char *now)
{
	cJSON *root = cJSON_CreateObject();
	cJSON *st = root ? cJSON_AddObjectToObject(root, "status") : NULL;
	cJSON *conds = st ? cJSON_AddArrayToObject(st, "conditions") : NULL;
	cJSON *c = cJSON_CreateObject();
	bool ok = conds && c && cJSON_AddItemToArray(conds, c);
	if (!ok)
		cJSON_Delete(c);
	ok = ok && cJSON_AddStringToObject(c, "type", N4J_READINESS_GATE) &&
	     cJSON_AddStringToObject(c, "status", ready ? "True" : "False") &&
	     cJSON_AddStringToObject(c, "lastTransitionTime", now) &&
	     cJSON_AddStringToObject(c, "reason", ready ? "ServerReady" : "ServerNotReady");
	char *txt = ok ? cJSON_PrintUnformatted(root) : NULL;
	cJSON_Delete(root);
	char *out = txt ? n4j_arena_strdup(a, txt) : NULL;
	cJSON_free(txt);
	return out;
}

int ctl_set_gates(struct n4j_controller *c, struct n4j_arena *a, const struct n4j_cluster *cl,
		  const struct ctl_pods *p, const struct n4j_plan *plan, int *writes,
		  struct n4j_kube_error *e)
{
	char now[40];
	n4j_format_time(n4j_wall_ns(), false, now, sizeof(now));
	for (size_t i = 0; i < plan->n_gates; i++) {
		const struct n4j_gate *g = &plan->gates[i];
		const struct n4j_obs_pod *pod = NULL;
		for (size_t j = 0; g->pod && j < p->n_pods; j++)
			if (strcmp(p->pods[j].name, g->pod) == 0)
				pod = &p->pods[j];
		if (!pod || pod->deleting || pod->gate == g->ready)
			continue;
		char *body = ctl_gate_patch(a, g->ready, now);
		struct n4j_buf path;
		n4j_buf_init(&path);
		int rc = body ? n4j_kube_path(&N4J_RES_PODS, cl->meta.namespace_, pod->name,
					      "status", &path)
			      : N4J_ENOMEM;
		const char *ps = rc ? NULL : n4j_buf_cstr(&path);
		if (!rc && !ps)
			rc = N4J_ENOMEM;
		if (rc) {
			n4j_buf_free(&path);
			return n4j_err(&e->base, rc, "readiness gate: out of memory");
		}
		cJSON *resp = NULL;
		rc = n4j_kube_request(c->cfg.kube, "PATCH", ps,
				      "application/strategic-merge-patch+json", body, strlen(body),
				      &resp, e);
		n4j_buf_free(&path);
		cJSON_Delete(resp);
		(*writes)++;
		if (rc && e->reason != N4J_KUBE_NOT_FOUND)
			return rc;
		n4j_log_info(CTL, "readiness gate", N4J_STR("namespace", cl->meta.namespace_),
			     N4J_STR("pod", pod->name), N4J_BOOL("ready", g->ready));
	}
	return 0;
}
