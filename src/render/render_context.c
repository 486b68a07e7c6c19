/*
 * The render context: the facts (defaults for offline render) and the per-cluster values
 * every renderer shares. It depends only on the builder (render_json.c), so that the
 * renderers (cluster, conf, services, statefulset, policy, backup) all sit above it and
 * none of them depends on another through it.
 */
#include <stdlib.h>
#include <string.h>

#include "render/render_internal.h"

#define DEFAULT_CLUSTER_DOMAIN     "cluster.local"
#define DEFAULT_OPERATOR_NAMESPACE "neo4j-system"

/* The release, from CMake's PROJECT_VERSION (CMakeLists.txt): no silent fallback, an image
 * tag that is not the release's would run another retention tool than the operator's. */
#ifndef N4J_OPERATOR_VERSION
#error "N4J_OPERATOR_VERSION must be defined for src/render (CMakeLists.txt)"
#endif
#define DEFAULT_OPERATOR_IMAGE "ghcr.io/graphops/neo4j-operator:" N4J_OPERATOR_VERSION

/*
 * Offline `render` assumes the optional CRDs are served (its --no-* flags say
 * otherwise); the controller overwrites both from API discovery.
 */
void n4j_render_facts_default(struct n4j_render_facts *f)
{
	f->cluster_domain = DEFAULT_CLUSTER_DOMAIN;
	f->operator_namespace = DEFAULT_OPERATOR_NAMESPACE;
	f->has_cert_manager = true;
	f->has_service_monitor = true;
	f->operator_image = DEFAULT_OPERATOR_IMAGE;
	f->backup_databases = NULL;
	f->n_backup_databases = 0;
	f->seed_endpoint = NULL;
	f->seed_region = NULL;
}

const struct n4j_render_facts *rx_facts(const struct n4j_render_facts *f,
					struct n4j_render_facts *storage)
{
	n4j_render_facts_default(storage);
	if (f) {
		*storage = *f;
		if (!storage->cluster_domain || !*storage->cluster_domain)
			storage->cluster_domain = DEFAULT_CLUSTER_DOMAIN;
		if (!storage->operator_namespace || !*storage->operator_namespace)
			storage->operator_namespace = DEFAULT_OPERATOR_NAMESPACE;
		if (!storage->operator_image || !*storage->operator_image)
			storage->operator_image = DEFAULT_OPERATOR_IMAGE;
	}
	return storage;
}

void rx_cluster_free(struct rx_cluster *k)
{
	free(k->headless);
	free(k->config);
	free(k->pod_domain);
	free(k->conf);
	memset(k, 0, sizeof(*k));
}

int rx_cluster_init(struct rx_cluster *k, const struct n4j_cluster *c,
		    const struct n4j_render_facts *f, struct n4j_error *err)
{
	memset(k, 0, sizeof(*k));
	if (!c || !c->meta.name || !c->meta.namespace_)
		return n4j_err(err, N4J_EINVAL, "render: cluster without name or namespace");
	struct n4j_render_facts storage;
	f = rx_facts(f, &storage);
	struct rx x = {0};
	k->c = c;
	k->s = &c->spec;
	k->name = c->meta.name;
	k->ns = c->meta.namespace_;
	/* Literals or the caller's strings: valid after `storage` is gone. */
	k->domain = f->cluster_domain;
	k->operator_ns = f->operator_namespace;
	k->ee = c->spec.edition == N4J_ENTERPRISE;
	k->tls = c->spec.tls.enabled;
	k->prometheus = k->ee && c->spec.monitoring.prometheus;
	/*
	 * The servers read seed URIs with these (reference §9.21). A backupRef restore
	 * borrows the backup target's endpoint and region (the controller's facts) for
	 * what spec.seedStorage leaves unset.
	 */
	const struct n4j_cluster_spec *s = &c->spec;
	bool from_backup = s->restore.present && s->restore.backup_ref;
	k->seed_secret = s->seed_storage.credentials_secret;
	k->seed_endpoint = s->seed_storage.endpoint && *s->seed_storage.endpoint
				   ? s->seed_storage.endpoint
			   : from_backup && f->seed_endpoint && *f->seed_endpoint ? f->seed_endpoint
										  : NULL;
	k->seed_region = s->seed_storage.region && *s->seed_storage.region  ? s->seed_storage.region
			 : from_backup && f->seed_region && *f->seed_region ? f->seed_region
									    : NULL;
	k->headless = rx_printf(&x, "%s-headless", k->name);
	k->config = rx_printf(&x, "%s-config", k->name);
	k->pod_domain = rx_printf(&x, "%s-headless.%s.svc.%s", k->name, k->ns, f->cluster_domain);
	if (x.oom) {
		rx_cluster_free(k);
		return n4j_err(err, N4J_ENOMEM, "render: out of memory");
	}
	return 0;
}

void rx_cluster_meta(const struct rx_cluster *k, struct rx_meta *m, const char *name)
{
	memset(m, 0, sizeof(*m));
	m->name = name;
	m->ns = k->ns;
	m->instance = k->name;
	m->component = N4J_COMPONENT_SERVER;
	m->version = k->s->version_string;
	m->owner_kind = N4J_KIND_CLUSTER;
	m->owner_name = k->name;
	m->owner_uid = k->c->meta.uid;
}
