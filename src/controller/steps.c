/*
 * The planner's Kubernetes steps: the StatefulSet's replicas, one pod of a rolling change,
 * the claim of a dropped server. Each names exactly what it touches; nothing else is ever
 * deleted (a claim is deleted only when it is the one the step names and matches the
 * cluster's data-<cluster>-<k> form).
 */
#include <string.h>

#include "controller/internal.h"

static int set_replicas(struct n4j_controller *c, const struct n4j_cluster *cl, int replicas,
			struct n4j_kube_error *e)
{
	cJSON *patch = cJSON_CreateObject();
	cJSON *spec = patch ? cJSON_AddObjectToObject(patch, "spec") : NULL;
	if (!spec || !cJSON_AddNumberToObject(spec, "replicas", replicas)) {
		cJSON_Delete(patch);
		return n4j_err(&e->base, N4J_ENOMEM, "out of memory");
	}
	cJSON *resp = NULL;
	int rc = n4j_kube_merge_patch(c->cfg.kube, &N4J_RES_STATEFULSETS, cl->meta.namespace_,
				      cl->meta.name, NULL, patch, &resp, e);
	cJSON_Delete(patch);
	cJSON_Delete(resp);
	return rc;
}

int ctl_kube_step(struct n4j_controller *c, const struct n4j_cluster *cl, const struct n4j_step *s,
		  const struct ctl_pods *p, struct n4j_kube_error *e)
{
	const char *ns = cl->meta.namespace_;
	switch (s->kind) {
	case N4J_STEP_SET_REPLICAS:
		if (s->replicas < 0)
			return n4j_err(&e->base, N4J_EINVAL, "SetReplicas: negative replicas");
		return set_replicas(c, cl, s->replicas, e);
	case N4J_STEP_DELETE_POD: {
		if (!s->pod || ctl_ordinal(s->pod, cl->meta.name) < 0)
			return n4j_err(&e->base, N4J_EINVAL, "DeletePod: not a pod of the cluster");
		/* The UID precondition: never the pod's successor of the same name. */
		struct n4j_kube_delete_opts o = {.uid = s->pod_uid};
		return n4j_kube_delete(c->cfg.kube, &N4J_RES_PODS, ns, s->pod, &o, e);
	}
	case N4J_STEP_DELETE_CLAIM: {
		bool known = false;
		for (size_t i = 0; s->claim && i < p->n_claims; i++)
			known |= strcmp(p->claims[i].name, s->claim) == 0;
		if (!known)
			return n4j_err(&e->base, N4J_EINVAL,
				       "DeleteClaim: not a data claim of the cluster");
		return n4j_kube_delete(c->cfg.kube, &N4J_RES_PVCS, ns, s->claim, NULL, e);
	}
	default:
		return n4j_err(&e->base, N4J_EINVAL, "not a Kubernetes step");
	}
}
