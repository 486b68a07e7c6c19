/*
 * neo4j.conf. Neo4j's strict validation refuses a key declared twice and
 * (possibly) keys foreign to the version or edition, so the text is built as a
 * key set: operator keys first, then the user's, the first writer of a key
 * wins, and the lines come out sorted.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "render/render_internal.h"

#define MIB (INT64_C(1024) * 1024)

struct kv {
	const char *key; /* a literal, or borrowed from the spec */
	char *val;       /* owned */
};

struct kvl {
	struct kv *v;
	size_t n, cap;
	bool oom;
};

static void kvl_free(struct kvl *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].val);
	free(l->v);
}

static bool kvl_has(const struct kvl *l, const char *key)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i].key, key) == 0)
			return true;
	return false;
}

/* Takes ownership of val. A key already present keeps its first value. */
static void kvl_put(struct kvl *l, const char *key, char *val)
{
	if (!val)
		l->oom = true;
	if (l->oom || kvl_has(l, key)) {
		free(val);
		return;
	}
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		struct kv *v = realloc(l->v, cap * sizeof(*v));
		if (!v) {
			free(val);
			l->oom = true;
			return;
		}
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n].key = key;
	l->v[l->n++].val = val;
}

static void kvl_set(struct kvl *l, const char *key, const char *val)
{
	kvl_put(l, key, strdup(val));
}

static void kvl_setf(struct kvl *l, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void kvl_setf(struct kvl *l, const char *key, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	char *s = n < 0 ? NULL : malloc((size_t)n + 1);
	if (s) {
		va_start(ap, fmt);
		vsnprintf(s, (size_t)n + 1, fmt, ap);
		va_end(ap);
	}
	kvl_put(l, key, s);
}

/* Settings whose value is a comma list that both the operator and the user may extend. */
static bool is_list_setting(const char *key)
{
	return strcmp(key, "dbms.security.procedures.unrestricted") == 0 ||
	       strcmp(key, "dbms.security.http_auth_allowlist") == 0;
}

static bool list_contains(const char *list, const char *item, size_t len)
{
	for (const char *p = list; *p;) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		if (n == len && strncmp(p, item, len) == 0)
			return true;
		p += n + (comma != NULL);
	}
	return false;
}

/* Appends the user's items the operator's value lacks, so neither side silently loses one. */
static void kvl_merge_list(struct kvl *l, const char *key, const char *val)
{
	for (size_t i = 0; i < l->n; i++) {
		if (strcmp(l->v[i].key, key) != 0)
			continue;
		struct n4j_buf b;
		n4j_buf_init(&b);
		n4j_buf_puts(&b, l->v[i].val);
		for (const char *p = val; *p;) {
			const char *comma = strchr(p, ',');
			size_t n = comma ? (size_t)(comma - p) : strlen(p);
			if (n && !list_contains(b.data ? b.data : "", p, n)) {
				n4j_buf_putc(&b, ',');
				n4j_buf_append(&b, p, n);
			}
			p += n + (comma != NULL);
		}
		char *merged = n4j_buf_detach(&b, NULL);
		if (!merged) {
			l->oom = true;
			return;
		}
		free(l->v[i].val);
		l->v[i].val = merged;
		return;
	}
	kvl_set(l, key, val);
}

static int kv_cmp(const void *a, const void *b)
{
	return strcmp(((const struct kv *)a)->key, ((const struct kv *)b)->key);
}

static const struct {
	const char *plugin;
	const char *procedures;
} plugin_procedures[] = {
	{"apoc", "apoc.*"},   {"apoc-extended", "apoc.*"},     {"bloom", "bloom.*"},
	{"genai", "genai.*"}, {"graph-data-science", "gds.*"},
};

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* dbms.security.procedures.unrestricted: the plugins' namespaces, sorted, once each. */
static void unrestricted(struct kvl *l, const struct n4j_cluster_spec *s)
{
	const char *procs[sizeof(plugin_procedures) / sizeof(plugin_procedures[0])];
	size_t n = 0;
	for (size_t i = 0; i < s->n_plugins; i++) {
		for (size_t j = 0; j < sizeof(plugin_procedures) / sizeof(plugin_procedures[0]);
		     j++) {
			if (strcmp(s->plugins[i].name, plugin_procedures[j].plugin) != 0)
				continue;
			bool seen = false;
			for (size_t k = 0; k < n; k++)
				seen = seen ||
				       strcmp(procs[k], plugin_procedures[j].procedures) == 0;
			if (!seen)
				procs[n++] = plugin_procedures[j].procedures;
		}
	}
	if (!n)
		return;
	qsort(procs, n, sizeof(procs[0]), str_cmp);
	struct n4j_buf b;
	n4j_buf_init(&b);
	for (size_t i = 0; i < n; i++) {
		if (i)
			n4j_buf_putc(&b, ',');
		n4j_buf_puts(&b, procs[i]);
	}
	kvl_put(l, "dbms.security.procedures.unrestricted", n4j_buf_detach(&b, NULL));
}

static const struct n4j_plugin *plugin(const struct n4j_cluster_spec *s, const char *name)
{
	for (size_t i = 0; i < s->n_plugins; i++)
		if (strcmp(s->plugins[i].name, name) == 0)
			return &s->plugins[i];
	return NULL;
}

/* The Neo4j keys are spelled out (not built) so that a grep finds each one. */
static void ssl_policy(struct kvl *l, const char *scope, bool ee_internal)
{
	static const struct {
		const char *scope, *enabled, *base, *key, *cert, *client_auth, *verify;
	} p[] = {
		{"bolt", "dbms.ssl.policy.bolt.enabled", "dbms.ssl.policy.bolt.base_directory",
		 "dbms.ssl.policy.bolt.private_key", "dbms.ssl.policy.bolt.public_certificate",
		 "dbms.ssl.policy.bolt.client_auth", NULL},
		{"https", "dbms.ssl.policy.https.enabled", "dbms.ssl.policy.https.base_directory",
		 "dbms.ssl.policy.https.private_key", "dbms.ssl.policy.https.public_certificate",
		 "dbms.ssl.policy.https.client_auth", NULL},
		{"cluster", "dbms.ssl.policy.cluster.enabled",
		 "dbms.ssl.policy.cluster.base_directory", "dbms.ssl.policy.cluster.private_key",
		 "dbms.ssl.policy.cluster.public_certificate",
		 "dbms.ssl.policy.cluster.client_auth", "dbms.ssl.policy.cluster.verify_hostname"},
		{"backup", "dbms.ssl.policy.backup.enabled",
		 "dbms.ssl.policy.backup.base_directory", "dbms.ssl.policy.backup.private_key",
		 "dbms.ssl.policy.backup.public_certificate", "dbms.ssl.policy.backup.client_auth",
		 NULL},
	};
	for (size_t i = 0; i < sizeof(p) / sizeof(p[0]); i++) {
		if (strcmp(p[i].scope, scope) != 0)
			continue;
		kvl_set(l, p[i].enabled, "true");
		kvl_setf(l, p[i].base, "/ssl/%s", scope);
		kvl_set(l, p[i].key, "private.key");
		kvl_set(l, p[i].cert, "public.crt");
		/* Members and backup clients prove who they are; Bolt/HTTPS clients need not. */
		kvl_set(l, p[i].client_auth, ee_internal ? "REQUIRE" : "NONE");
		if (p[i].verify)
			kvl_set(l, p[i].verify, "true");
	}
}

/* Discovery endpoints: the system primaries (ordinals < P), never every server. */
static char *endpoints(const struct n4j_cluster *c, const char *domain)
{
	struct n4j_buf b;
	n4j_buf_init(&b);
	for (int i = 0; i < c->spec.system_primaries; i++)
		n4j_buf_printf(&b, "%s%s-%d.%s-headless.%s.svc.%s:%d", i ? "," : "", c->meta.name,
			       i, c->meta.name, c->meta.namespace_, domain, N4J_PORT_CLUSTER);
	return n4j_buf_detach(&b, NULL);
}

static void enterprise(struct kvl *l, const struct n4j_cluster *c, const char *domain)
{
	const struct n4j_cluster_spec *s = &c->spec;
	kvl_set(l, "dbms.cluster.discovery.resolver_type", "LIST");
	/*
	 * A single server is a standalone: an empty endpoint list (the default), so
	 * it bootstraps `system` alone instead of waiting for peers.
	 */
	bool standalone = s->servers <= 1;
	if (s->version.calver) {
		/* 2025.01 removed dbms.cluster.discovery.version and .v2.endpoints. */
		if (!standalone)
			kvl_put(l, "dbms.cluster.endpoints", endpoints(c, domain));
	} else {
		/* 2025.x only accepts V2_ONLY clusters: start 5.26 there. */
		kvl_set(l, "dbms.cluster.discovery.version", "V2_ONLY");
		if (!standalone)
			kvl_put(l, "dbms.cluster.discovery.v2.endpoints", endpoints(c, domain));
	}
	kvl_setf(l, "dbms.cluster.minimum_initial_system_primaries_count", "%d",
		 s->system_primaries);
	kvl_setf(l, "initial.dbms.default_primaries_count", "%d", s->topology.primaries);
	kvl_setf(l, "initial.dbms.default_secondaries_count", "%d", s->topology.secondaries);
	kvl_setf(l, "server.cluster.listen_address", "0.0.0.0:%d", N4J_PORT_CLUSTER);
	kvl_setf(l, "server.cluster.raft.listen_address", "0.0.0.0:%d", N4J_PORT_RAFT);
	kvl_setf(l, "server.routing.listen_address", "0.0.0.0:%d", N4J_PORT_ROUTING);
	kvl_set(l, "server.backup.enabled", "true");
	kvl_setf(l, "server.backup.listen_address", "0.0.0.0:%d", N4J_PORT_BACKUP);
	/* The readiness probe's /db/system/cluster/available carries no credentials. */
	kvl_set(l, "dbms.security.cluster_status_auth_enabled", "false");
	if (s->monitoring.prometheus) {
		kvl_set(l, "server.metrics.prometheus.enabled", "true");
		kvl_setf(l, "server.metrics.prometheus.endpoint", "0.0.0.0:%d", N4J_PORT_METRICS);
	}
}

static void tls(struct kvl *l, bool ee)
{
	ssl_policy(l, "bolt", false);
	kvl_set(l, "server.bolt.tls_level", "OPTIONAL");
	ssl_policy(l, "https", false);
	kvl_set(l, "server.https.enabled", "true");
	kvl_set(l, "server.http.enabled", "false");
	if (ee) {
		ssl_policy(l, "cluster", true);
		ssl_policy(l, "backup", true);
	}
}

static void plugins(struct kvl *l, const struct n4j_cluster_spec *s)
{
	unrestricted(l, s);
	const struct n4j_plugin *gds = plugin(s, "graph-data-science");
	if (gds && gds->license_secret)
		kvl_set(l, "gds.enterprise.license_file", "/licenses/graph-data-science/license");
	const struct n4j_plugin *bloom = plugin(s, "bloom");
	if (bloom) {
		if (bloom->license_secret)
			kvl_set(l, "dbms.bloom.license_file", "/licenses/bloom/license");
		kvl_set(l, "server.unmanaged_extension_classes", "com.neo4j.bloom.server=/bloom");
		kvl_set(l, "dbms.security.http_auth_allowlist", "/,/browser.*,/bloom.*");
	}
}

int n4j_render_neo4j_conf(const struct n4j_cluster *c, const struct n4j_render_facts *f,
			  struct n4j_buf *out, struct n4j_error *err)
{
	struct n4j_render_facts storage;
	f = rx_facts(f, &storage);
	const struct n4j_cluster_spec *s = &c->spec;
	bool ee = s->edition == N4J_ENTERPRISE;
	struct kvl l = {0};

	kvl_set(&l, "server.default_listen_address", "0.0.0.0");
	/* Whole MiB, rounded down, so heap + page cache never outgrow the budget. */
	kvl_setf(&l, "server.memory.heap.initial_size", "%" PRId64 "m", s->heap_bytes / MIB);
	kvl_setf(&l, "server.memory.heap.max_size", "%" PRId64 "m", s->heap_bytes / MIB);
	kvl_setf(&l, "server.memory.pagecache.size", "%" PRId64 "m", s->page_cache_bytes / MIB);
	plugins(&l, s);
	if (ee)
		enterprise(&l, c, f->cluster_domain);
	if (s->tls.enabled)
		tls(&l, ee);
	/*
	 * The probes GET "/" without credentials. A user's allowlist replaces Neo4j's
	 * default ("/,/browser.*"): seeded with "/", it extends it instead, so a custom
	 * list cannot turn every probe into a 401 and the liveness probe into restarts.
	 */
	for (size_t i = 0; i < s->config.n; i++)
		if (strcmp(s->config.keys[i], "dbms.security.http_auth_allowlist") == 0)
			kvl_set(&l, "dbms.security.http_auth_allowlist", "/");
	/* Validation refuses operator keys here; should one slip through, ours wins. */
	for (size_t i = 0; i < s->config.n; i++) {
		if (is_list_setting(s->config.keys[i]))
			kvl_merge_list(&l, s->config.keys[i], s->config.values[i]);
		else
			kvl_set(&l, s->config.keys[i], s->config.values[i]);
	}

	if (l.oom) {
		kvl_free(&l);
		return n4j_err(err, N4J_ENOMEM, "render neo4j.conf: out of memory");
	}
	qsort(l.v, l.n, sizeof(l.v[0]), kv_cmp);
	for (size_t i = 0; i < l.n; i++)
		n4j_buf_printf(out, "%s=%s\n", l.v[i].key, l.v[i].val);
	kvl_free(&l);
	if (out->oom)
		return n4j_err(err, N4J_ENOMEM, "render neo4j.conf: out of memory");
	return 0;
}
