/*
 * The Neo4jCluster rules: every CEL rule of crds/neo4jclusters.yaml again in C
 * (ids C1.. of docs/api.md, same messages), plus the rules only the operator
 * can judge (O1..). They run on the defaulted object, as CEL does.
 */
#include <stdio.h>
#include <string.h>

#include "api/internal.h"

#define GIB ((int64_t)1 << 30)
#define MIB ((int64_t)1 << 20)

static bool str_is(const char *s, const char *want)
{
	return s && strcmp(s, want) == 0;
}

static bool has_space(const char *s)
{
	for (; *s; s++)
		if (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r' || *s == '\v' || *s == '\f')
			return true;
	return false;
}

int n4j_meta_check(const cJSON *doc, int max_name, struct n4j_problems *p)
{
	const cJSON *meta = n4j_jget(doc, "metadata");
	if (!cJSON_IsObject(meta)) {
		N4J_PROBLEM("metadata.name", "is required");
		return 0;
	}
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(meta, "name");
	if (!name)
		N4J_PROBLEM("metadata.name", "is required");
	else if (!cJSON_IsString(name) || !n4j_dns_label_ok(name->valuestring, (size_t)max_name))
		N4J_PROBLEM("metadata.name",
			    "must be a lowercase DNS-1123 label of at most %d characters",
			    max_name);
	const cJSON *ns = cJSON_GetObjectItemCaseSensitive(meta, "namespace");
	if (ns && (!cJSON_IsString(ns) || !n4j_dns_label_ok(ns->valuestring, 63)))
		N4J_PROBLEM("metadata.namespace",
			    "must be a lowercase DNS-1123 label of at most 63 characters");
	static const char *const maps[] = {"labels", "annotations"};
	for (int i = 0; i < 2; i++) {
		const cJSON *m = cJSON_GetObjectItemCaseSensitive(meta, maps[i]);
		if (!m)
			continue;
		char path[64];
		snprintf(path, sizeof(path), "metadata.%s", maps[i]);
		if (!cJSON_IsObject(m)) {
			N4J_PROBLEM(path, "must be of type object");
			continue;
		}
		const cJSON *e;
		cJSON_ArrayForEach(e, m)
		{
			if (!cJSON_IsString(e))
				N4J_PROBLEM(path, "%.253s: must be of type string", e->string);
		}
	}
	return 0;
}

/* CEL: the schemes Neo4j's seed providers accept (reference §5). */
static bool seed_uri_ok(const char *uri)
{
	static const char *const ok[] = {"s3://", "gs://", "azb://", "https://", "file://", NULL};
	for (const char *const *q = ok; *q; q++)
		if (strncmp(uri, *q, strlen(*q)) == 0)
			return true;
	return false;
}

static int check_quantity(const char *path, const cJSON *v, struct n4j_problems *p, int64_t *milli)
{
	int64_t m = 0;
	if (cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble < 9e15) {
		m = (int64_t)v->valuedouble * 1000;
	} else if (!cJSON_IsString(v) || n4j_quantity_parse(v->valuestring, &m) != 0) {
		N4J_PROBLEM(path, "not a valid quantity");
		return 1;
	}
	if (milli)
		*milli = m;
	return 0;
}

static int memory_rules(const cJSON *spec, struct n4j_problems *p)
{
	/* O2: every resource quantity parses (the schema pattern cannot see overflow). */
	static const char *const groups[] = {"requests", "limits"};
	for (int g = 0; g < 2; g++) {
		const cJSON *m = n4j_jobj(spec, g ? "resources.limits" : "resources.requests");
		const cJSON *e;
		cJSON_ArrayForEach(e, m)
		{
			char path[320];
			snprintf(path, sizeof(path), "spec.resources.%s.%.253s", groups[g],
				 e->string);
			int rc = check_quantity(path, e, p, NULL);
			if (rc < 0)
				return rc;
		}
	}
	const cJSON *limit = n4j_jget(spec, "resources.limits.memory");
	const cJSON *heap = n4j_jget(spec, "memory.heap");
	const cJSON *pc = n4j_jget(spec, "memory.pageCache");
	int64_t lim = 0, h = 0, c = 0;
	int bad = 0, rc = 0;
	if (limit && (rc = check_quantity("spec.resources.limits.memory", limit, p, &lim)))
		bad = 1;
	if (rc < 0)
		return rc;
	if (heap && (rc = check_quantity("spec.memory.heap", heap, p, &h)))
		bad = 1;
	if (rc < 0)
		return rc;
	if (pc && (rc = check_quantity("spec.memory.pageCache", pc, p, &c)))
		bad = 1;
	if (rc < 0)
		return rc;
	if (bad || !limit)
		return 0;
	lim /= 1000, h /= 1000, c /= 1000;
	if (heap && h < 256 * MIB)
		N4J_PROBLEM("spec.memory.heap", "heap must be at least 256Mi");
	/* O1: whichever part is derived still needs its minimum (256Mi heap, 64Mi page cache). */
	int64_t need = (heap ? h : 256 * MIB) + (pc ? c : 64 * MIB) + GIB;
	if (need > lim)
		N4J_PROBLEM("spec.memory",
			    "heap + pageCache + 1Gi must fit in resources.limits.memory");
	return 0;
}

static int config_rules(const cJSON *spec, struct n4j_problems *p)
{
	const cJSON *cfg = n4j_jobj(spec, "config");
	const cJSON *e;
	bool lines = false, shape = false, big = false;
	/* The message names the refused keys, in document order, so a user with 64 settings
	 * sees which to move. The CRD's messageExpression names one (the first CEL meets):
	 * joining all of them exceeds the apiserver's CEL cost budget. */
	struct n4j_buf owned;
	n4j_buf_init(&owned);
	cJSON_ArrayForEach(e, cfg)
	{
		if (n4j_config_key_owned(e->string))
			n4j_buf_printf(&owned, "%s%.253s", owned.len ? ", " : "", e->string);
		shape |= !n4j_config_key_shape_ok(e->string);
		if (cJSON_IsString(e)) {
			lines |= strchr(e->valuestring, '\n') || strchr(e->valuestring, '\r');
			big |= strlen(e->valuestring) > 4096;
		}
	}
	if (owned.len || owned.oom) {
		const char *keys = n4j_buf_cstr(&owned);
		int rc = keys ? n4j_problem_add(p, "spec.config",
						"config keys owned by the operator are not "
						"allowed: %s; use the dedicated spec fields",
						keys)
			      : N4J_ENOMEM;
		n4j_buf_free(&owned);
		if (rc)
			return rc;
	}
	if (lines)
		N4J_PROBLEM("spec.config", "config values must not contain line breaks");
	if (shape)
		N4J_PROBLEM("spec.config",
			    "config keys must look like neo4j settings (lowercase, dot-separated)");
	if (big)
		N4J_PROBLEM("spec.config", "config value exceeds 4096 bytes");
	return 0;
}

static int plugin_rules(const cJSON *spec, bool community, struct n4j_problems *p)
{
	const cJSON *e;
	bool bloom_nolic = false, ce_bad = false;
	cJSON_ArrayForEach(e, n4j_jarr(spec, "plugins"))
	{
		const char *name = n4j_jstr(e, "name");
		if (str_is(name, "bloom") && !n4j_jhas(e, "licenseSecretRef"))
			bloom_nolic = true;
		if (community && name && !str_is(name, "apoc") && !str_is(name, "apoc-extended") &&
		    !str_is(name, "genai"))
			ce_bad = true;
	}
	if (bloom_nolic)
		N4J_PROBLEM("spec.plugins", "bloom requires licenseSecretRef");
	if (ce_bad)
		N4J_PROBLEM(
			"spec.plugins",
			"community edition supports only apoc, apoc-extended and genai plugins");
	return 0;
}

static int database_rules(const cJSON *spec, bool community, int64_t servers,
			  struct n4j_problems *p)
{
	const cJSON *dbs = n4j_jarr(spec, "databases");
	if (community && cJSON_GetArraySize(dbs) > 0)
		N4J_PROBLEM("spec.databases", "community edition cannot declare databases");
	const cJSON *e;
	int i = 0;
	bool too_big = false;
	cJSON_ArrayForEach(e, dbs)
	{
		const char *name = n4j_jstr(e, "name");
		if (name && !n4j_database_name_ok(name)) {
			char path[64];
			snprintf(path, sizeof(path), "spec.databases[%d].name", i);
			N4J_PROBLEM(
				path,
				"database name must be 3-63 characters: lowercase letters, digits, "
				"dots and dashes, starting with a letter; not system");
		}
		const char *seed = n4j_jstr(e, "seedURI");
		if (seed && !seed_uri_ok(seed)) {
			char path[64];
			snprintf(path, sizeof(path), "spec.databases[%d].seedURI", i);
			N4J_PROBLEM(path,
				    "seedURI must use s3://, gs://, azb://, https:// or file://");
		}
		if (n4j_jhas(e, "topology") &&
		    n4j_jint(e, "topology.primaries", 1) + n4j_jint(e, "topology.secondaries", 0) >
			    servers)
			too_big = true;
		i++;
	}
	if (too_big)
		N4J_PROBLEM("spec.databases", "a database topology must not exceed servers");

	const cJSON *aliases = n4j_jarr(spec, "aliases");
	if (community && cJSON_GetArraySize(aliases) > 0)
		N4J_PROBLEM("spec.aliases", "community edition cannot declare aliases");
	bool clash = false;
	i = 0;
	cJSON_ArrayForEach(e, aliases)
	{
		const char *name = n4j_jstr(e, "name");
		const char *target = n4j_jstr(e, "database");
		bool target_ok = str_is(target, "neo4j");
		const cJSON *d;
		cJSON_ArrayForEach(d, dbs)
		{
			const char *dn = n4j_jstr(d, "name");
			if (name && str_is(dn, name))
				clash = true;
			if (target && str_is(dn, target))
				target_ok = true;
		}
		if (target && !target_ok) {
			char path[64];
			snprintf(path, sizeof(path), "spec.aliases[%d].database", i);
			N4J_PROBLEM(path, "alias target must be a declared database or neo4j");
		}
		i++;
	}
	if (clash)
		N4J_PROBLEM("spec.aliases",
			    "an alias must not have the name of a declared database");
	return 0;
}

static int restore_rules(const cJSON *spec, bool community, struct n4j_problems *p)
{
	if (!n4j_jhas(spec, "restore"))
		return 0;
	if (n4j_jhas(spec, "restore.backupRef") == n4j_jhas(spec, "restore.seedURI"))
		N4J_PROBLEM("spec.restore", "restore needs exactly one of backupRef or seedURI");
	if (community)
		N4J_PROBLEM("spec.restore",
			    "community edition cannot restore online; use neo4j-admin load");
	const char *uri = n4j_jstr(spec, "restore.seedURI");
	if (uri) {
		if (!seed_uri_ok(uri))
			N4J_PROBLEM("spec.restore.seedURI",
				    "seedURI must use s3://, gs://, azb://, https:// or file://");
		if (!n4j_jhas(spec, "restore.databases"))
			N4J_PROBLEM("spec.restore.databases",
				    "restore.seedURI needs restore.databases");
	}
	return 0;
}

int n4j_cluster_rules(const cJSON *doc, struct n4j_problems *p)
{
	const cJSON *spec = n4j_jget(doc, "spec");
	if (!cJSON_IsObject(spec))
		return 0;
	const char *edition = n4j_jstr(spec, "edition");
	bool community = str_is(edition, "community");
	bool enterprise = str_is(edition, "enterprise");
	int64_t servers = n4j_jint(spec, "servers", 1);
	int rc;

	if (community && servers != 1)
		N4J_PROBLEM("spec.servers", "community edition runs exactly one server");
	const char *lic = n4j_jstr(spec, "acceptLicenseAgreement");
	if (enterprise && !str_is(lic, "yes") && !str_is(lic, "eval"))
		N4J_PROBLEM("spec.acceptLicenseAgreement",
			    "enterprise edition requires acceptLicenseAgreement: yes or eval");
	const char *version = n4j_jstr(spec, "version");
	if (version && !n4j_version_parse(version, NULL))
		N4J_PROBLEM("spec.version",
			    "version must be 5.26.x or a calendar version YYYY.MM.x");
	const char *image = n4j_jstr(spec, "image");
	if (image && has_space(image))
		N4J_PROBLEM("spec.image", "image must not contain whitespace");

	if (n4j_jhas(spec, "topology")) {
		int64_t pr = n4j_jint(spec, "topology.primaries", 1);
		int64_t se = n4j_jint(spec, "topology.secondaries", 0);
		if (pr > servers)
			N4J_PROBLEM("spec.topology.primaries",
				    "topology.primaries must not exceed servers");
		if (pr + se > servers)
			N4J_PROBLEM("spec.topology", "topology.primaries + topology.secondaries "
						     "must not exceed servers");
	}
	if (n4j_jhas(spec, "systemPrimaries")) {
		int64_t sp = n4j_jint(spec, "systemPrimaries", 0);
		if (sp > servers)
			N4J_PROBLEM("spec.systemPrimaries",
				    "systemPrimaries must not exceed servers");
		if (sp != 1 && sp != 2 && sp != 3 && sp != 5 && sp != 7)
			N4J_PROBLEM("spec.systemPrimaries",
				    "systemPrimaries must be 1, 2, 3, 5 or 7");
	}
	if (n4j_jhas(spec, "tls") &&
	    n4j_jhas(spec, "tls.issuerRef") == n4j_jhas(spec, "tls.secretName"))
		N4J_PROBLEM("spec.tls", "tls needs exactly one of issuerRef or secretName");
	if ((rc = config_rules(spec, p)) || (rc = plugin_rules(spec, community, p)))
		return rc;
	if (n4j_jbool(spec, "monitoring.serviceMonitor", false) &&
	    !n4j_jbool(spec, "monitoring.prometheus", false))
		N4J_PROBLEM("spec.monitoring", "serviceMonitor requires prometheus: true");
	if (community && n4j_jbool(spec, "monitoring.prometheus", false))
		N4J_PROBLEM("spec.monitoring.prometheus",
			    "prometheus metrics require enterprise edition");
	if ((rc = database_rules(spec, community, servers, p)) ||
	    (rc = restore_rules(spec, community, p)))
		return rc;
	if (n4j_jhas(spec, "resources") && !n4j_jhas(spec, "resources.limits.memory"))
		N4J_PROBLEM("spec.resources", "resources.limits.memory is required");
	return memory_rules(spec, p);
}
