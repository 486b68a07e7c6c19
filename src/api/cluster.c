/* Neo4jCluster: the typed view with every derived value the renderers need. */
#include <string.h>

#include "api/internal.h"

#define MIB ((int64_t)1 << 20)
#define GIB ((int64_t)1 << 30)
/* Beyond ~31 GiB the JVM loses compressed object pointers: more heap is less memory. */
#define HEAP_MAX (31 * GIB)

const char *n4j_edition_name(enum n4j_edition e)
{
	return e == N4J_COMMUNITY ? "community" : "enterprise";
}

static int64_t floor_mib(int64_t v)
{
	return v / MIB * MIB;
}

static int64_t min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

static int quantity_bytes_of(const cJSON *v, int64_t *out)
{
	if (cJSON_IsNumber(v)) {
		if (!(v->valuedouble >= 0 && v->valuedouble < 9.2e18))
			return N4J_ERANGE;
		*out = (int64_t)v->valuedouble;
		return 0;
	}
	return cJSON_IsString(v) ? n4j_quantity_bytes(v->valuestring, out) : N4J_EINVAL;
}

/* heap + page cache + 1 GiB for the JVM's other needs fill the memory limit (reference §1.2). */
static int derive_memory(const cJSON *spec, struct n4j_cluster_spec *cs)
{
	int64_t lim = 0, h = 0, c = 0;
	if (quantity_bytes_of(n4j_jget(spec, "resources.limits.memory"), &lim))
		return N4J_EINVAL;
	const cJSON *heap = n4j_jget(spec, "memory.heap");
	const cJSON *pc = n4j_jget(spec, "memory.pageCache");
	if (heap && quantity_bytes_of(heap, &h))
		return N4J_EINVAL;
	if (pc && quantity_bytes_of(pc, &c))
		return N4J_EINVAL;
	int64_t avail = lim - GIB;
	if (!heap && !pc) {
		h = min64(floor_mib(avail / 2), HEAP_MAX);
		c = floor_mib(avail - h);
	} else if (!pc) {
		c = floor_mib(avail - h);
	} else if (!heap) {
		h = min64(floor_mib(avail - c), HEAP_MAX);
	}
	cs->memory_limit_bytes = lim;
	cs->heap_bytes = h;
	cs->page_cache_bytes = c;
	return 0;
}

static int view_selector(struct n4j_arena *a, const cJSON *sel, struct n4j_selector *out)
{
	memset(out, 0, sizeof(*out));
	if (!cJSON_IsObject(sel))
		return 0;
	out->present = true;
	int rc = n4j_view_str_map(a, n4j_jget(sel, "matchLabels"), &out->match_labels);
	if (rc)
		return rc;
	const cJSON *exprs = n4j_jget(sel, "matchExpressions");
	size_t n = (size_t)cJSON_GetArraySize(exprs);
	if (!n)
		return 0;
	out->expr = n4j_arena_calloc(a, n, sizeof(*out->expr));
	if (!out->expr)
		return N4J_ENOMEM;
	const cJSON *e;
	cJSON_ArrayForEach(e, exprs)
	{
		struct n4j_selector_req *r = &out->expr[out->n_expr++];
		r->key = n4j_view_str(a, e, "key");
		r->op = n4j_view_str(a, e, "operator");
		if ((rc = n4j_view_str_list(a, n4j_jget(e, "values"), &r->n_values, &r->values)))
			return rc;
	}
	return 0;
}

static int view_lists(struct n4j_arena *a, const cJSON *spec, struct n4j_cluster_spec *cs)
{
	const cJSON *e;
	const cJSON *plugins = n4j_jget(spec, "plugins");
	if ((cs->plugins = n4j_arena_calloc(a, (size_t)cJSON_GetArraySize(plugins) + 1,
					    sizeof(*cs->plugins))) == NULL)
		return N4J_ENOMEM;
	cJSON_ArrayForEach(e, plugins)
	{
		struct n4j_plugin *pl = &cs->plugins[cs->n_plugins++];
		pl->name = n4j_view_str(a, e, "name");
		pl->license_secret = n4j_view_str(a, e, "licenseSecretRef.name");
	}

	const cJSON *tols = n4j_jget(spec, "scheduling.tolerations");
	cs->scheduling.tolerations = n4j_arena_calloc(a, (size_t)cJSON_GetArraySize(tols) + 1,
						      sizeof(struct n4j_toleration));
	if (!cs->scheduling.tolerations)
		return N4J_ENOMEM;
	cJSON_ArrayForEach(e, tols)
	{
		struct n4j_toleration *t =
			&cs->scheduling.tolerations[cs->scheduling.n_tolerations++];
		t->key = n4j_view_str(a, e, "key");
		t->op = n4j_view_str(a, e, "operator");
		t->value = n4j_view_str(a, e, "value");
		t->effect = n4j_view_str(a, e, "effect");
		t->has_seconds = n4j_jhas(e, "tolerationSeconds");
		t->seconds = n4j_jint(e, "tolerationSeconds", 0);
	}

	const cJSON *clients = n4j_jget(spec, "networkPolicy.clients");
	cs->network_policy.clients = n4j_arena_calloc(a, (size_t)cJSON_GetArraySize(clients) + 1,
						      sizeof(struct n4j_client_peer));
	if (!cs->network_policy.clients)
		return N4J_ENOMEM;
	cJSON_ArrayForEach(e, clients)
	{
		struct n4j_client_peer *c =
			&cs->network_policy.clients[cs->network_policy.n_clients++];
		int rc = view_selector(a, n4j_jget(e, "namespaceSelector"), &c->namespace_selector);
		if (!rc)
			rc = view_selector(a, n4j_jget(e, "podSelector"), &c->pod_selector);
		if (rc)
			return rc;
	}

	const cJSON *dbs = n4j_jget(spec, "databases");
	if ((cs->databases = n4j_arena_calloc(a, (size_t)cJSON_GetArraySize(dbs) + 1,
					      sizeof(*cs->databases))) == NULL)
		return N4J_ENOMEM;
	cJSON_ArrayForEach(e, dbs)
	{
		struct n4j_database *d = &cs->databases[cs->n_databases++];
		d->name = n4j_view_str(a, e, "name");
		d->topology = cs->topology;
		d->seed_uri = n4j_view_str(a, e, "seedURI");
		d->seed_restore_until = n4j_view_str(a, e, "seedRestoreUntil");
		if (n4j_jhas(e, "topology")) {
			d->topology.primaries = (int)n4j_jint(e, "topology.primaries", 1);
			d->topology.secondaries = (int)n4j_jint(e, "topology.secondaries", 0);
		}
	}

	const cJSON *aliases = n4j_jget(spec, "aliases");
	if ((cs->aliases = n4j_arena_calloc(a, (size_t)cJSON_GetArraySize(aliases) + 1,
					    sizeof(*cs->aliases))) == NULL)
		return N4J_ENOMEM;
	cJSON_ArrayForEach(e, aliases)
	{
		struct n4j_alias *al = &cs->aliases[cs->n_aliases++];
		al->name = n4j_view_str(a, e, "name");
		al->database = n4j_view_str(a, e, "database");
	}
	return 0;
}

static int view_spec(struct n4j_arena *a, const struct n4j_meta *m, const cJSON *spec,
		     struct n4j_cluster_spec *cs)
{
	int rc;
	cs->edition = strcmp(n4j_jstr(spec, "edition"), "community") == 0 ? N4J_COMMUNITY
									  : N4J_ENTERPRISE;
	bool ce = cs->edition == N4J_COMMUNITY;
	cs->version_string = n4j_view_str(a, spec, "version");
	n4j_version_parse(cs->version_string, &cs->version);
	cs->image = n4j_view_str(a, spec, "image");
	if (!cs->image)
		cs->image = n4j_arena_printf(a, "neo4j:%s-%s", cs->version_string,
					     n4j_edition_name(cs->edition));
	cs->image_pull_policy = n4j_view_str(a, spec, "imagePullPolicy");
	const cJSON *ps = n4j_jget(spec, "imagePullSecrets");
	cs->pull_secrets = n4j_arena_calloc(a, (size_t)cJSON_GetArraySize(ps) + 1, sizeof(char *));
	if (!cs->pull_secrets)
		return N4J_ENOMEM;
	const cJSON *e;
	cJSON_ArrayForEach(e, ps) cs->pull_secrets[cs->n_pull_secrets++] =
		n4j_view_str(a, e, "name");
	cs->license = n4j_view_str(a, spec, "acceptLicenseAgreement");

	cs->servers = (int)n4j_jint(spec, "servers", 1);
	int dflt = cs->servers < 3 ? cs->servers : 3;
	cs->system_primaries = ce ? 1 : (int)n4j_jint(spec, "systemPrimaries", dflt);
	cs->topology.primaries = dflt;
	cs->topology.secondaries = 0;
	if (n4j_jhas(spec, "topology")) {
		cs->topology.primaries = (int)n4j_jint(spec, "topology.primaries", 1);
		cs->topology.secondaries = (int)n4j_jint(spec, "topology.secondaries", 0);
	}

	if ((rc = n4j_view_resources(a, n4j_jget(spec, "resources"), &cs->requests, &cs->limits)))
		return rc;
	if (derive_memory(spec, cs))
		return N4J_EINVAL;

	cs->data_size = n4j_view_str(a, spec, "storage.data.size");
	cs->storage_class = n4j_view_str(a, spec, "storage.data.storageClassName");
	cs->retain_on_delete = n4j_jbool(spec, "storage.retainOnDelete", true);

	cs->admin_secret = n4j_view_str(a, spec, "auth.adminSecretRef.name");
	cs->admin_secret_key = n4j_view_str(a, spec, "auth.adminSecretRef.key");
	if (!cs->admin_secret) {
		cs->admin_secret = n4j_arena_printf(a, "%s-admin", m->name);
		cs->admin_secret_generated = true;
	}
	if (!cs->admin_secret_key)
		cs->admin_secret_key = "password";

	cs->tls.enabled = n4j_jhas(spec, "tls");
	cs->tls.issuer_name = n4j_view_str(a, spec, "tls.issuerRef.name");
	cs->tls.issuer_kind = n4j_view_str(a, spec, "tls.issuerRef.kind");
	cs->tls.issuer_group = n4j_view_str(a, spec, "tls.issuerRef.group");
	cs->tls.secret_name = n4j_view_str(a, spec, "tls.secretName");
	if (cs->tls.enabled && !cs->tls.secret_name)
		cs->tls.secret_name = n4j_arena_printf(a, "%s-tls", m->name);

	if ((rc = n4j_view_str_map(a, n4j_jget(spec, "config"), &cs->config)))
		return rc;

	const char *aa = n4j_jstr(spec, "scheduling.antiAffinity");
	cs->scheduling.anti_affinity = !aa || strcmp(aa, "preferred") == 0 ? N4J_AFFINITY_PREFERRED
				       : strcmp(aa, "required") == 0       ? N4J_AFFINITY_REQUIRED
									   : N4J_AFFINITY_NONE;
	const char *spread = n4j_jstr(spec, "scheduling.topologySpread");
	cs->scheduling.zone_spread = !spread || strcmp(spread, "zone") == 0;
	if ((rc = n4j_view_str_map(a, n4j_jget(spec, "scheduling.nodeSelector"),
				   &cs->scheduling.node_selector)))
		return rc;
	cs->scheduling.priority_class = n4j_view_str(a, spec, "scheduling.priorityClassName");

	cs->network_policy.enabled = n4j_jbool(spec, "networkPolicy.enabled", true);
	cs->service.type = n4j_view_str(a, spec, "service.type");
	if (!cs->service.type)
		cs->service.type = "ClusterIP";
	if ((rc = n4j_view_str_map(a, n4j_jget(spec, "service.annotations"),
				   &cs->service.annotations)))
		return rc;
	cs->monitoring.prometheus = n4j_jbool(spec, "monitoring.prometheus", false);
	cs->monitoring.service_monitor = n4j_jbool(spec, "monitoring.serviceMonitor", false);

	cs->restore.present = n4j_jhas(spec, "restore");
	cs->restore.backup_ref = n4j_view_str(a, spec, "restore.backupRef.name");
	cs->restore.seed_uri = n4j_view_str(a, spec, "restore.seedURI");
	cs->restore.restore_until = n4j_view_str(a, spec, "restore.restoreUntil");
	cs->restore.replace = n4j_jbool(spec, "restore.replace", false);
	cs->seed_storage.credentials_secret =
		n4j_view_str(a, spec, "seedStorage.credentialsSecretRef.name");
	cs->seed_storage.endpoint = n4j_view_str(a, spec, "seedStorage.endpoint");
	cs->seed_storage.region = n4j_view_str(a, spec, "seedStorage.region");
	if ((rc = n4j_view_str_list(a, n4j_jget(spec, "restore.databases"),
				    &cs->restore.n_databases, &cs->restore.databases)))
		return rc;
	cs->paused = n4j_jbool(spec, "paused", false);
	cs->progress_deadline_s = (int)n4j_jint(spec, "progressDeadlineSeconds", 600);
	return view_lists(a, spec, cs);
}

int n4j_cluster_load(struct n4j_arena *a, const struct n4j_schemas *s, const cJSON *doc,
		     struct n4j_cluster *out, struct n4j_problems *problems, struct n4j_error *err)
{
	memset(out, 0, sizeof(*out));
	if (n4j_kind_of(doc) != N4J_CLUSTER)
		return n4j_err(err, N4J_EINVAL, "not a %s", N4J_KIND_CLUSTER);
	cJSON *d;
	int rc = n4j_load_common(a, s, N4J_CLUSTER, doc, &d, problems, err);
	if (rc)
		return rc;
	out->json = d;
	if ((rc = n4j_view_meta(a, d, &out->meta)) ||
	    (rc = view_spec(a, &out->meta, n4j_jget(d, "spec"), &out->spec)))
		return n4j_err(err, rc, "building the cluster view failed: %s", n4j_strerror(rc));
	return 0;
}
