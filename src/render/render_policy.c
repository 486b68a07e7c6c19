/* PodDisruptionBudget and NetworkPolicy of the server pods. */
#include "render/render_internal.h"

int rx_render_pdb(const struct rx_cluster *k, cJSON *out, struct n4j_error *err)
{
	struct rx x = {0};
	struct rx_meta m;
	rx_cluster_meta(k, &m, k->name);
	cJSON *o = rx_object(&x, "policy/v1", "PodDisruptionBudget", &m);
	cJSON *spec = rx_obj(&x, o, "spec");
	/* One server down at a time keeps every Raft group of 3+ primaries in quorum. */
	rx_int(&x, spec, "maxUnavailable", 1);
	rx_server_label_selector(&x, spec, "selector", k->name);
	/* A crash-looping member must never block a node drain. */
	rx_str(&x, spec, "unhealthyPodEvictionPolicy", "AlwaysAllow");
	return rx_finish(&x, o, out, "PodDisruptionBudget", err);
}

static void ports(struct rx *x, cJSON *rule, const int *p, size_t n)
{
	cJSON *arr = rx_arr(x, rule, "ports");
	for (size_t i = 0; i < n; i++) {
		rx_int(x, rx_obj(x, arr, NULL), "port", p[i]);
	}
}

static void match_labels2(struct rx *x, cJSON *peer, const char *key, const char *k1,
			  const char *v1)
{
	rx_str(x, rx_obj(x, rx_obj(x, peer, key), "matchLabels"), k1, v1);
}

static void members(struct rx *x, cJSON *ingress, const struct rx_cluster *k)
{
	/* Discovery v2 and catch-up, Raft, server-side routing. */
	static const int p[] = {N4J_PORT_CLUSTER, N4J_PORT_RAFT, N4J_PORT_ROUTING};
	cJSON *rule = rx_obj(x, ingress, NULL);
	rx_server_label_selector(x, rx_obj(x, rx_arr(x, rule, "from"), NULL), "podSelector",
				 k->name);
	ports(x, rule, p, sizeof(p) / sizeof(p[0]));
}

static void clients(struct rx *x, cJSON *ingress, const struct rx_cluster *k)
{
	const int p[] = {N4J_PORT_BOLT, k->tls ? N4J_PORT_HTTPS : N4J_PORT_HTTP};
	cJSON *rule = rx_obj(x, ingress, NULL);
	cJSON *from = rx_arr(x, rule, "from");
	const struct n4j_cluster_spec *s = k->s;
	for (size_t i = 0; i < s->network_policy.n_clients; i++) {
		const struct n4j_client_peer *c = &s->network_policy.clients[i];
		cJSON *peer = rx_obj(x, from, NULL);
		if (c->namespace_selector.present)
			rx_label_selector(x, peer, "namespaceSelector", &c->namespace_selector);
		/* A peer with neither selector is invalid: narrow it to this namespace. */
		if (c->pod_selector.present || !c->namespace_selector.present)
			rx_label_selector(x, peer, "podSelector", &c->pod_selector);
	}
	/* No clients listed: every pod of the cluster's own namespace. */
	if (!s->network_policy.n_clients)
		rx_obj(x, rx_obj(x, from, NULL), "podSelector");
	ports(x, rule, p, sizeof(p) / sizeof(p[0]));
}

static void operator_rule(struct rx *x, cJSON *ingress, const struct rx_cluster *k)
{
	static const int p[] = {N4J_PORT_BOLT, N4J_PORT_HTTP, N4J_PORT_HTTPS};
	cJSON *rule = rx_obj(x, ingress, NULL);
	cJSON *peer = rx_obj(x, rx_arr(x, rule, "from"), NULL);
	match_labels2(x, peer, "namespaceSelector", "kubernetes.io/metadata.name", k->operator_ns);
	match_labels2(x, peer, "podSelector", N4J_LABEL_NAME, N4J_MANAGER);
	ports(x, rule, p, sizeof(p) / sizeof(p[0]));
}

static void backup_jobs(struct rx *x, cJSON *ingress, const struct rx_cluster *k)
{
	static const int p[] = {N4J_PORT_BACKUP};
	cJSON *rule = rx_obj(x, ingress, NULL);
	cJSON *ml = rx_obj(x, rx_obj(x, rx_obj(x, rx_arr(x, rule, "from"), NULL), "podSelector"),
			   "matchLabels");
	rx_str(x, ml, N4J_LABEL_NAME, "neo4j");
	rx_str(x, ml, N4J_LABEL_INSTANCE, k->name);
	rx_str(x, ml, N4J_LABEL_COMPONENT, N4J_COMPONENT_BACKUP);
	ports(x, rule, p, 1);
}

static void prometheus(struct rx *x, cJSON *ingress)
{
	static const int p[] = {N4J_PORT_METRICS};
	cJSON *rule = rx_obj(x, ingress, NULL);
	cJSON *peer = rx_obj(x, rx_arr(x, rule, "from"), NULL);
	rx_obj(x, peer, "namespaceSelector"); /* {}: Prometheus runs in any namespace */
	match_labels2(x, peer, "podSelector", N4J_LABEL_NAME, "prometheus");
	ports(x, rule, p, 1);
}

int rx_render_network_policy(const struct rx_cluster *k, cJSON *out, struct n4j_error *err)
{
	struct rx x = {0};
	struct rx_meta m;
	rx_cluster_meta(k, &m, k->name);
	cJSON *o = rx_object(&x, "networking.k8s.io/v1", "NetworkPolicy", &m);
	cJSON *spec = rx_obj(&x, o, "spec");
	rx_server_label_selector(&x, spec, "podSelector", k->name);
	rx_str(&x, rx_arr(&x, spec, "policyTypes"), NULL, "Ingress");
	cJSON *ingress = rx_arr(&x, spec, "ingress");
	if (k->ee)
		members(&x, ingress, k);
	clients(&x, ingress, k);
	operator_rule(&x, ingress, k);
	if (k->ee)
		backup_jobs(&x, ingress, k);
	if (k->prometheus)
		prometheus(&x, ingress);
	return rx_finish(&x, o, out, "NetworkPolicy", err);
}
