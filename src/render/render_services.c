/* The client Service and the headless Service that gives each pod its DNS name. */
#include "render/render_internal.h"

size_t rx_server_ports(const struct rx_cluster *k, bool all, struct rx_port p[RX_MAX_PORTS])
{
	size_t n = 0;
	p[n++] = (struct rx_port){"bolt", N4J_PORT_BOLT};
	/* With TLS the plain HTTP connector is off (server.http.enabled=false). */
	p[n++] = k->tls ? (struct rx_port){"https", N4J_PORT_HTTPS}
			: (struct rx_port){"http", N4J_PORT_HTTP};
	if (!all || !k->ee)
		return n;
	p[n++] = (struct rx_port){"tcp-cluster", N4J_PORT_CLUSTER};
	p[n++] = (struct rx_port){"tcp-raft", N4J_PORT_RAFT};
	p[n++] = (struct rx_port){"tcp-routing", N4J_PORT_ROUTING};
	p[n++] = (struct rx_port){"tcp-backup", N4J_PORT_BACKUP};
	if (k->prometheus)
		p[n++] = (struct rx_port){"metrics", N4J_PORT_METRICS};
	return n;
}

static void ports(struct rx *x, cJSON *spec, const struct rx_cluster *k, bool all)
{
	struct rx_port p[RX_MAX_PORTS];
	size_t n = rx_server_ports(k, all, p);
	cJSON *arr = rx_arr(x, spec, "ports");
	for (size_t i = 0; i < n; i++) {
		cJSON *o = rx_obj(x, arr, NULL);
		rx_str(x, o, "name", p[i].name);
		rx_int(x, o, "port", p[i].port);
		/* By name, so the Service follows the container's port list. */
		rx_str(x, o, "targetPort", p[i].name);
	}
}

static int client_service(const struct rx_cluster *k, cJSON *out, struct n4j_error *err)
{
	struct rx x = {0};
	struct rx_meta m;
	rx_cluster_meta(k, &m, k->name);
	m.user_annotations = &k->s->service.annotations;
	cJSON *o = rx_object(&x, "v1", "Service", &m);
	cJSON *spec = rx_obj(&x, o, "spec");
	rx_str(&x, spec, "type", k->s->service.type ? k->s->service.type : "ClusterIP");
	ports(&x, spec, k, false);
	rx_server_selector(&x, rx_obj(&x, spec, "selector"), k->name);
	return rx_finish(&x, o, out, "Service", err);
}

static int headless_service(const struct rx_cluster *k, cJSON *out, struct n4j_error *err)
{
	struct rx x = {0};
	struct rx_meta m;
	rx_cluster_meta(k, &m, k->headless);
	cJSON *o = rx_object(&x, "v1", "Service", &m);
	cJSON *spec = rx_obj(&x, o, "spec");
	rx_str(&x, spec, "clusterIP", "None");
	/* Peers must resolve each other before any of them is Ready (formation). */
	rx_bool(&x, spec, "publishNotReadyAddresses", true);
	ports(&x, spec, k, true);
	rx_server_selector(&x, rx_obj(&x, spec, "selector"), k->name);
	return rx_finish(&x, o, out, "headless Service", err);
}

int rx_render_services(const struct rx_cluster *k, cJSON *out, struct n4j_error *err)
{
	int rc = client_service(k, out, err);
	return rc ? rc : headless_service(k, out, err);
}
