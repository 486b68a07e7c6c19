/*
 * The objects of one Neo4jCluster, in apply order, and the small ones that
 * need no file of their own: ConfigMap, admin Secret, ServiceAccount,
 * Certificate and ServiceMonitor.
 */
#include <stdlib.h>
#include <string.h>

#include "render/render_internal.h"

/* neo4j.conf and its hash, which the ConfigMap and the pod template share. */
static int cluster_conf(struct rx_cluster *k, const struct n4j_render_facts *f,
			struct n4j_error *err)
{
	struct n4j_buf b;
	n4j_buf_init(&b);
	int rc = n4j_render_neo4j_conf(k->c, f, &b, err);
	if (rc) {
		n4j_buf_free(&b);
		return rc;
	}
	size_t len = 0;
	k->conf = n4j_buf_detach(&b, &len);
	if (!k->conf)
		return n4j_err(err, N4J_ENOMEM, "render: out of memory");
	n4j_sha256_hex(k->conf, len, k->conf_hash);
	return 0;
}

static int config_map(const struct rx_cluster *k, cJSON *out, struct n4j_error *err)
{
	struct rx x = {0};
	struct rx_meta m;
	rx_cluster_meta(k, &m, k->config);
	cJSON *o = rx_object(&x, "v1", "ConfigMap", &m);
	rx_str(&x, rx_obj(&x, o, "data"), "neo4j.conf", k->conf);
	return rx_finish(&x, o, out, "ConfigMap", err);
}

/*
 * No data: the password is random, and render is deterministic. The
 * controller fills it in once, when it finds the annotation and no data.
 */
static int admin_secret(const struct rx_cluster *k, cJSON *out, struct n4j_error *err)
{
	struct rx x = {0};
	struct rx_meta m;
	rx_cluster_meta(k, &m, k->s->admin_secret);
	m.n_ann = 1;
	m.ann_keys[0] = N4J_ANN_GENERATED_PASSWORD;
	m.ann_vals[0] = "true";
	cJSON *o = rx_object(&x, "v1", "Secret", &m);
	rx_str(&x, o, "type", "Opaque");
	return rx_finish(&x, o, out, "Secret", err);
}

static int service_account(const struct rx_cluster *k, cJSON *out, struct n4j_error *err)
{
	struct rx x = {0};
	struct rx_meta m;
	rx_cluster_meta(k, &m, k->name);
	cJSON *o = rx_object(&x, "v1", "ServiceAccount", &m);
	/* Discovery uses DNS (LIST resolver): Neo4j pods need no API access at all. */
	rx_bool(&x, o, "automountServiceAccountToken", false);
	return rx_finish(&x, o, out, "ServiceAccount", err);
}

static int certificate(const struct rx_cluster *k, cJSON *out, struct n4j_error *err)
{
	struct rx x = {0};
	struct rx_meta m;
	char *name = rx_printf(&x, "%s-tls", k->name);
	rx_cluster_meta(k, &m, name);
	cJSON *o = rx_object(&x, "cert-manager.io/v1", "Certificate", &m);
	free(name);
	cJSON *spec = rx_obj(&x, o, "spec");
	rx_str(&x, spec, "secretName", k->s->tls.secret_name);
	cJSON *issuer = rx_obj(&x, spec, "issuerRef");
	rx_str(&x, issuer, "name", k->s->tls.issuer_name);
	rx_str(&x, issuer, "kind", k->s->tls.issuer_kind ? k->s->tls.issuer_kind : "Issuer");
	rx_str(&x, issuer, "group",
	       k->s->tls.issuer_group ? k->s->tls.issuer_group : "cert-manager.io");
	/*
	 * 2025.x verifies host names on cluster traffic: every pod's DNS name is a
	 * SAN, plus the Service names clients use.
	 */
	cJSON *dns = rx_arr(&x, spec, "dnsNames");
	rx_str(&x, dns, NULL, k->name);
	rx_strf(&x, dns, NULL, "%s.%s.svc", k->name, k->ns);
	rx_strf(&x, dns, NULL, "%s.%s.svc.%s", k->name, k->ns, k->domain);
	for (int i = 0; i < k->s->servers; i++)
		rx_strf(&x, dns, NULL, "%s-%d.%s", k->name, i, k->pod_domain);
	rx_strf(&x, dns, NULL, "*.%s", k->pod_domain);
	cJSON *usages = rx_arr(&x, spec, "usages");
	rx_str(&x, usages, NULL, "server auth");
	rx_str(&x, usages, NULL, "client auth");
	cJSON *pk = rx_obj(&x, spec, "privateKey");
	rx_str(&x, pk, "algorithm", "RSA");
	rx_int(&x, pk, "size", 2048);
	rx_str(&x, pk, "encoding", "PKCS8");
	rx_str(&x, pk, "rotationPolicy", "Always");
	return rx_finish(&x, o, out, "Certificate", err);
}

static int service_monitor(const struct rx_cluster *k, cJSON *out, struct n4j_error *err)
{
	struct rx x = {0};
	struct rx_meta m;
	rx_cluster_meta(k, &m, k->name);
	cJSON *o = rx_object(&x, "monitoring.coreos.com/v1", "ServiceMonitor", &m);
	cJSON *spec = rx_obj(&x, o, "spec");
	/* Both Services match; only the headless one has a `metrics` port to scrape. */
	rx_server_label_selector(&x, spec, "selector", k->name);
	cJSON *ep = rx_obj(&x, rx_arr(&x, spec, "endpoints"), NULL);
	rx_str(&x, ep, "port", "metrics");
	rx_str(&x, ep, "path", "/metrics");
	return rx_finish(&x, o, out, "ServiceMonitor", err);
}

int n4j_render_cluster(const struct n4j_cluster *c, const struct n4j_render_facts *f, cJSON *out,
		       struct n4j_error *err)
{
	if (!cJSON_IsArray(out))
		return n4j_err(err, N4J_EINVAL, "render: the output must be a JSON array");
	struct n4j_render_facts storage;
	f = rx_facts(f, &storage);
	struct rx_cluster k;
	int rc = rx_cluster_init(&k, c, f, err);
	if (rc)
		return rc;
	rc = cluster_conf(&k, f, err);
	if (rc) {
		rx_cluster_free(&k);
		return rc;
	}
	const struct n4j_cluster_spec *s = &c->spec;

	rc = config_map(&k, out, err);
	if (!rc && s->admin_secret_generated)
		rc = admin_secret(&k, out, err);
	if (!rc)
		rc = service_account(&k, out, err);
	if (!rc)
		rc = rx_render_services(&k, out, err);
	if (!rc && s->tls.enabled && s->tls.issuer_name && f->has_cert_manager)
		rc = certificate(&k, out, err);
	if (!rc)
		rc = rx_render_statefulset(&k, out, err);
	if (!rc && s->servers > 1)
		rc = rx_render_pdb(&k, out, err);
	if (!rc && s->network_policy.enabled)
		rc = rx_render_network_policy(&k, out, err);
	if (!rc && k.prometheus && s->monitoring.service_monitor && f->has_service_monitor)
		rc = service_monitor(&k, out, err);
	rx_cluster_free(&k);
	return rc;
}
