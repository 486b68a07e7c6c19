/*
 * Apply only what changed (DESIGN §3, reference §5.5): every rendered object carries the
 * hash of its rendered JSON; an object is server-side applied when it is absent, when the
 * live object's hash differs, or when a watched live field drifted (the StatefulSet's
 * images). A converged cluster therefore costs no write at all. The admin Secret is not
 * applied here (secrets.c), and the StatefulSet's replicas belong to the planner.
 */
#include <stdio.h>
#include <string.h>

#include "controller/internal.h"

static const struct n4j_kube_resource RES_CERTIFICATES = {
	.group = "cert-manager.io",
	.version = "v1",
	.plural = "certificates",
	.kind = "Certificate",
	.namespaced = true,
};
static const struct n4j_kube_resource RES_SERVICEMONITORS = {
	.group = "monitoring.coreos.com",
	.version = "v1",
	.plural = "servicemonitors",
	.kind = "ServiceMonitor",
	.namespaced = true,
};

const struct n4j_kube_resource *ctl_resource_of(const cJSON *obj)
{
	static const struct n4j_kube_resource *const all[] = {
		&N4J_RES_CONFIGMAPS,
		&N4J_RES_SECRETS,
		&N4J_RES_SERVICEACCOUNTS,
		&N4J_RES_SERVICES,
		&N4J_RES_STATEFULSETS,
		&N4J_RES_PDBS,
		&N4J_RES_NETWORKPOLICIES,
		&RES_CERTIFICATES,
		&RES_SERVICEMONITORS,
		&N4J_RES_PVCS,
		&N4J_RES_JOBS,
		&N4J_RES_CRONJOBS,
	};
	const char *kind = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(obj, "kind"));
	for (size_t i = 0; kind && i < sizeof(all) / sizeof(all[0]); i++)
		if (strcmp(all[i]->kind, kind) == 0)
			return all[i];
	return NULL;
}

const char *ctl_annotation(const cJSON *obj, const char *key)
{
	const cJSON *meta = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
	const cJSON *ann = cJSON_GetObjectItemCaseSensitive(meta, "annotations");
	return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ann, key));
}

static const char *name_of(const cJSON *obj)
{
	const cJSON *meta = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
	return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(meta, "name"));
}

static int set_annotation(cJSON *parent_meta, const char *key, const char *val)
{
	cJSON *ann = cJSON_GetObjectItemCaseSensitive(parent_meta, "annotations");
	if (!cJSON_IsObject(ann))
		return N4J_EINVAL;
	cJSON *v = cJSON_CreateString(val);
	if (!v)
		return N4J_ENOMEM;
	if (cJSON_GetObjectItemCaseSensitive(ann, key))
		return cJSON_ReplaceItemInObjectCaseSensitive(ann, key, v) ? 0 : N4J_ENOMEM;
	if (!cJSON_AddItemToObject(ann, key, v)) {
		cJSON_Delete(v);
		return N4J_ENOMEM;
	}
	return 0;
}

int ctl_restamp_render_version(cJSON *sts, const char *version)
{
	cJSON *meta = cJSON_GetObjectItemCaseSensitive(sts, "metadata");
	cJSON *spec = cJSON_GetObjectItemCaseSensitive(sts, "spec");
	cJSON *tpl = cJSON_GetObjectItemCaseSensitive(spec, "template");
	cJSON *tmeta = cJSON_GetObjectItemCaseSensitive(tpl, "metadata");
	int rc = set_annotation(meta, N4J_ANN_RENDER_VERSION, version);
	if (!rc)
		rc = set_annotation(tmeta, N4J_ANN_RENDER_VERSION, version);
	char hex[N4J_SHA256_HEX_LEN + 1];
	if (!rc)
		rc = n4j_render_spec_hash(sts, hex);
	if (!rc)
		rc = set_annotation(meta, N4J_ANN_SPEC_HASH, hex);
	return rc;
}

/* The live object from the cache; on a miss, from the apiserver (kinds the caches may not
 * watch, and a cache that has not seen our own create yet). NULL when absent. */
static int live_object(struct n4j_controller *c, struct n4j_arena *a,
		       const struct n4j_kube_resource *r, const char *ns, const char *name,
		       cJSON **out, struct n4j_kube_error *e)
{
	*out = NULL;
	char *key = n4j_arena_printf(a, "%s/%s", ns, name);
	if (!key)
		return n4j_err(&e->base, N4J_ENOMEM, "out of memory");
	struct n4j_cached *o =
		c->cfg.caches.get ? c->cfg.caches.get(c->cfg.caches.ud, r, key) : NULL;
	cJSON *j = NULL;
	if (o) {
		j = n4j_cached_parse(o);
		n4j_cached_unref(o);
		if (!j)
			return n4j_err(&e->base, N4J_ENOMEM, "out of memory");
	} else {
		int rc = n4j_kube_get(c->cfg.kube, r, ns, name, &j, e);
		if (rc)
			return e->reason == N4J_KUBE_NOT_FOUND ? 0 : rc;
	}
	if (ctl_arena_json(a, j))
		return n4j_err(&e->base, N4J_ENOMEM, "out of memory");
	*out = j;
	return 0;
}

/* Containers' images of a pod spec differ (by name) between rendered and live. */
static bool images_drifted(const cJSON *want_spec, const cJSON *live_spec)
{
	const cJSON *wc = cJSON_GetObjectItemCaseSensitive(want_spec, "containers");
	const cJSON *lc = cJSON_GetObjectItemCaseSensitive(live_spec, "containers");
	if (!cJSON_IsArray(lc))
		return false; /* the cache did not keep them: nothing to judge */
	const cJSON *w;
	cJSON_ArrayForEach(w, wc)
	{
		const char *n = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(w, "name"));
		const char *img =
			cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(w, "image"));
		bool found = false;
		const cJSON *l;
		cJSON_ArrayForEach(l, lc)
		{
			const char *ln =
				cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(l, "name"));
			if (!n || !ln || strcmp(n, ln) != 0)
				continue;
			found = true;
			const char *li =
				cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(l, "image"));
			if (!img || !li || strcmp(img, li) != 0)
				return true;
		}
		if (!found)
			return true;
	}
	return false;
}

static const cJSON *template_spec(const cJSON *sts)
{
	const cJSON *spec = cJSON_GetObjectItemCaseSensitive(sts, "spec");
	const cJSON *tpl = cJSON_GetObjectItemCaseSensitive(spec, "template");
	return cJSON_GetObjectItemCaseSensitive(tpl, "spec");
}

/*
 * The StatefulSet keeps the live replicas: scaling is the planner's (SET_REPLICAS). A new
 * one starts at 0, so that the planner's first step raises it with the FORM operation
 * recorded (formation is then judged as formation, not as a lost cluster).
 */
static int keep_replicas(cJSON *sts, const cJSON *live)
{
	const cJSON *ls = cJSON_GetObjectItemCaseSensitive(live, "spec");
	const cJSON *lr = cJSON_GetObjectItemCaseSensitive(ls, "replicas");
	if (live && !cJSON_IsNumber(lr))
		return 0;
	cJSON *spec = cJSON_GetObjectItemCaseSensitive(sts, "spec");
	cJSON *v = cJSON_CreateNumber(live ? lr->valuedouble : 0);
	if (!v || !cJSON_ReplaceItemInObjectCaseSensitive(spec, "replicas", v)) {
		cJSON_Delete(v);
		return N4J_ENOMEM;
	}
	return 0;
}

static const char *cr_annotation(const struct n4j_cluster *cl, const char *key)
{
	const struct n4j_str_map *m = &cl->meta.annotations;
	for (size_t i = 0; i < m->n; i++)
		if (strcmp(m->keys[i], key) == 0)
			return m->values[i];
	return NULL;
}

static bool rendered_kind(const cJSON *rendered, const struct n4j_kube_resource *r)
{
	const cJSON *o;
	cJSON_ArrayForEach(o, rendered)
	{
		if (ctl_resource_of(o) == r)
			return true;
	}
	return false;
}

/* Whether obj's controller ownerReference is this CR (never touch another's object). */
static bool owned_by(const cJSON *obj, const char *uid)
{
	const cJSON *ref;
	cJSON_ArrayForEach(ref, CTL_JGET(obj, "metadata", "ownerReferences"))
	{
		const char *u = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ref, "uid"));
		if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ref, "controller")) && u && uid &&
		    strcmp(u, uid) == 0)
			return true;
	}
	return false;
}

/*
 * Objects the spec no longer asks for: a PodDisruptionBudget once servers is 1 (one that
 * allows no eviction would block every drain), a NetworkPolicy once disabled (it would
 * keep filtering). Only from the cache (a miss costs no request), only ours, only with
 * the UID as precondition.
 */
static int prune(struct n4j_controller *c, struct n4j_arena *a, const struct n4j_cluster *cl,
		 const cJSON *rendered, int *writes, struct n4j_kube_error *e)
{
	static const struct n4j_kube_resource *const kinds[] = {&N4J_RES_PDBS,
								&N4J_RES_NETWORKPOLICIES};
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		if (rendered_kind(rendered, kinds[i]))
			continue;
		char *key = n4j_arena_printf(a, "%s/%s", cl->meta.namespace_, cl->meta.name);
		struct n4j_cached *o =
			key ? c->cfg.caches.get(c->cfg.caches.ud, kinds[i], key) : NULL;
		cJSON *live = o ? n4j_cached_parse(o) : NULL;
		n4j_cached_unref(o);
		if (!live)
			continue;
		const char *uid = cJSON_GetStringValue(CTL_JGET(live, "metadata", "uid"));
		int rc = 0;
		if (owned_by(live, cl->meta.uid) && uid) {
			struct n4j_kube_delete_opts d = {.uid = uid};
			rc = n4j_kube_delete(c->cfg.kube, kinds[i], cl->meta.namespace_,
					     cl->meta.name, &d, e);
			(*writes)++;
			if (!rc)
				n4j_log_info(CTL, "deleted",
					     N4J_STR("namespace", cl->meta.namespace_),
					     N4J_STR("kind", kinds[i]->kind),
					     N4J_STR("name", cl->meta.name));
		}
		cJSON_Delete(live);
		if (rc)
			return rc;
	}
	return 0;
}

/* Whether the live object differs from the rendered one (hash, or drifted images). */
static bool differs(const cJSON *obj, const cJSON *live, bool sts)
{
	const char *want = ctl_annotation(obj, N4J_ANN_SPEC_HASH);
	const char *have = live ? ctl_annotation(live, N4J_ANN_SPEC_HASH) : NULL;
	if (!live || !have || !want || strcmp(have, want) != 0)
		return true;
	return sts && images_drifted(template_spec(obj), template_spec(live));
}

/* The UpdatePending rule on the rendered StatefulSet (restamped with our version first). */
static int judge_statefulset(struct n4j_controller *c, struct n4j_arena *a,
			     const struct n4j_cluster *cl, cJSON *rendered, const char *our_rv,
			     struct ctl_apply_out *out, struct n4j_kube_error *e)
{
	cJSON *obj;
	cJSON_ArrayForEach(obj, rendered)
	{
		if (ctl_resource_of(obj) != &N4J_RES_STATEFULSETS)
			continue;
		if (strcmp(our_rv, N4J_RENDER_VERSION) != 0) {
			int rc = ctl_restamp_render_version(obj, our_rv);
			if (rc)
				return n4j_err(&e->base, rc, "StatefulSet: cannot set the version");
		}
		cJSON *live = NULL;
		int rc = live_object(c, a, &N4J_RES_STATEFULSETS, cl->meta.namespace_, name_of(obj),
				     &live, e);
		if (rc)
			return rc;
		out->sts_live = live;
		if (!live || !differs(obj, live, true))
			return 0;
		struct ctl_sts_marks marks = {
			.render_version = ctl_annotation(live, N4J_ANN_RENDER_VERSION),
			.generation = ctl_annotation(live, N4J_ANN_GENERATION),
			.rollout = ctl_annotation(live, N4J_ANN_ROLLOUT),
			.spec_hash = ctl_annotation(live, N4J_ANN_SPEC_HASH),
		};
		if (ctl_update_pending(&marks, our_rv, cl->meta.generation,
				       cr_annotation(cl, N4J_ANN_ROLLOUT),
				       ctl_annotation(obj, N4J_ANN_SPEC_HASH))) {
			out->update_pending = true;
			out->update_message = n4j_arena_printf(
				a,
				"operator render version %s would restart the pods rendered by "
				"version %s; to roll them, change the spec or annotate the "
				"cluster " N4J_ANN_ROLLOUT "=<new value>",
				our_rv, marks.render_version ? marks.render_version : "?");
		}
		return 0;
	}
	return 0;
}

int ctl_apply(struct n4j_controller *c, struct n4j_arena *a, const struct n4j_cluster *cl,
	      cJSON *rendered, struct ctl_apply_out *out, struct n4j_kube_error *e)
{
	memset(out, 0, sizeof(*out));
	const char *ns = cl->meta.namespace_;
	const char *our_rv = c->cfg.render_version ? c->cfg.render_version : N4J_RENDER_VERSION;
	int rc = judge_statefulset(c, a, cl, rendered, our_rv, out, e);
	if (rc || cl->spec.paused)
		return rc; /* paused: maintenance, the operator changes nothing */
	cJSON *obj;
	cJSON_ArrayForEach(obj, rendered)
	{
		const struct n4j_kube_resource *r = ctl_resource_of(obj);
		const char *name = name_of(obj);
		if (!r || !name)
			return n4j_err(&e->base, N4J_EINVAL, "rendered an object of unknown kind");
		if (r == &N4J_RES_SECRETS)
			continue;
		bool sts = r == &N4J_RES_STATEFULSETS;
		/*
		 * Held back with the StatefulSet: the ConfigMap, whose neo4j.conf a pod that
		 * restarts for any reason would read (its hash is in the held template).
		 */
		if (out->update_pending && (sts || r == &N4J_RES_CONFIGMAPS))
			continue;
		cJSON *live = out->sts_live;
		if (!sts && (rc = live_object(c, a, r, ns, name, &live, e)))
			return rc;
		if (!differs(obj, live, sts))
			continue;
		if (sts && (rc = keep_replicas(obj, live)))
			return n4j_err(&e->base, rc, "out of memory");
		cJSON *resp = NULL;
		rc = n4j_kube_apply(c->cfg.kube, r, ns, name, obj, true, &resp, e);
		out->applied++;
		c->applies++;
		if (rc) {
			cJSON_Delete(resp);
			return rc;
		}
		n4j_log_info(CTL, "applied", N4J_STR("namespace", ns), N4J_STR("kind", r->kind),
			     N4J_STR("name", name));
		if (sts && resp) {
			if (ctl_arena_json(a, resp))
				return n4j_err(&e->base, N4J_ENOMEM, "out of memory");
			out->sts_live = resp; /* fresher than the cache */
		} else {
			cJSON_Delete(resp);
		}
	}
	return prune(c, a, cl, rendered, &out->applied, e);
}

/* The same rules for the backup controller's objects (backup.c). */
int ctl_live_object(struct n4j_controller *c, struct n4j_arena *a,
		    const struct n4j_kube_resource *r, const char *ns, const char *name,
		    cJSON **out, struct n4j_kube_error *e)
{
	return live_object(c, a, r, ns, name, out, e);
}

bool ctl_spec_differs(const cJSON *obj, const cJSON *live)
{
	return differs(obj, live, false);
}
