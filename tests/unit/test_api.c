/* src/api: CRD defaults, derived values, rules on edge values, status JSON round trip. */
#include <stdlib.h>

#include "api/api.h"
#include "check.h"

static struct n4j_schemas *schemas;

static cJSON *yaml1(const char *y)
{
	cJSON *docs = NULL;
	struct n4j_error err = {0};
	if (n4j_yaml_parse(y, strlen(y), &docs, &err)) {
		fprintf(stderr, "yaml: %s\n", err.msg);
		return NULL;
	}
	cJSON *d = cJSON_DetachItemFromArray(docs, 0);
	cJSON_Delete(docs);
	return d;
}

/* Loads a cluster; returns the number of problems (printed), -1 on internal error. */
static int load_cluster(struct n4j_arena *a, const char *y, struct n4j_cluster *c)
{
	cJSON *doc = yaml1(y);
	if (!doc)
		return -1;
	struct n4j_problems p;
	struct n4j_error err = {0};
	n4j_problems_init(&p, a);
	int rc = n4j_cluster_load(a, schemas, doc, c, &p, &err);
	cJSON_Delete(doc);
	for (size_t i = 0; i < p.n; i++)
		fprintf(stderr, "  problem: %s: %s\n", p.items[i].path, p.items[i].message);
	if (rc && !p.n)
		fprintf(stderr, "  error: %s\n", err.msg);
	return rc && !p.n ? -1 : (int)p.n;
}

#define HEAD "apiVersion: neo4j.graphops.io/v1alpha1\nkind: Neo4jCluster\nmetadata: {name: g}\n"

/* The CRD-defaulted form of a one-document YAML, NULL (a failed check) on any problem. */
static cJSON *defaulted(const char *y)
{
	cJSON *doc = yaml1(y), *got = NULL;
	struct n4j_arena *a = n4j_arena_new();
	struct n4j_problems p;
	struct n4j_error err = {0};
	n4j_problems_init(&p, a);
	CHECK_INT(n4j_apply_defaults(schemas, doc, &got, &p, &err), 0);
	for (size_t i = 0; i < p.n; i++)
		fprintf(stderr, "  problem: %s: %s\n", p.items[i].path, p.items[i].message);
	CHECK_INT(p.n, 0);
	if (p.n) {
		cJSON_Delete(got);
		got = NULL;
	}
	cJSON_Delete(doc);
	n4j_arena_free(a);
	return got;
}

static void test_defaults_minimal(void)
{
	/* The defaulted object equals what the CRD's defaults produce on the apiserver. */
	cJSON *got = defaulted(HEAD "spec: {version: 5.26.12, acceptLicenseAgreement: \"yes\"}\n");
	cJSON *want = yaml1(
		HEAD "spec:\n"
		     "  version: 5.26.12\n"
		     "  acceptLicenseAgreement: \"yes\"\n"
		     "  edition: enterprise\n"
		     "  imagePullPolicy: IfNotPresent\n"
		     "  servers: 1\n"
		     "  resources: {requests: {cpu: \"1\", memory: 2Gi}, limits: {memory: 2Gi}}\n"
		     "  storage: {data: {size: 10Gi}, retainOnDelete: true}\n"
		     "  scheduling: {antiAffinity: preferred, topologySpread: zone}\n"
		     "  networkPolicy: {enabled: true}\n"
		     "  service: {type: ClusterIP}\n"
		     "  monitoring: {prometheus: false, serviceMonitor: false}\n"
		     "  paused: false\n"
		     "  progressDeadlineSeconds: 600\n");
	bool same = got && want && cJSON_Compare(got, want, true);
	if (!same) {
		char *g = got ? cJSON_Print(got) : NULL;
		fprintf(stderr, "defaults differ; got:\n%s\n", g ? g : "(null)");
		free(g);
	}
	CHECK(same);
	cJSON_Delete(got);
	cJSON_Delete(want);
}

static void test_defaults_null_map_values(void)
{
	/* A key without a value is null; the apiserver drops non-nullable nulls in map values
	 * as in properties, then defaults: accepted, not refused (test_crds.py checks it live). */
	cJSON *got = defaulted(
		HEAD "spec:\n"
		     "  version: 5.26.12\n"
		     "  acceptLicenseAgreement: \"yes\"\n"
		     "  config: {db.transaction.timeout: }\n"
		     "  resources: {requests: {cpu: , memory: 4Gi}, limits: {memory: 4Gi}}\n");
	cJSON *want = yaml1("{config: {}, resources: {requests: {memory: 4Gi}, limits: {memory: "
			    "4Gi}}}");
	cJSON *spec = got ? cJSON_GetObjectItemCaseSensitive(got, "spec") : NULL;
	CHECK(spec && want &&
	      cJSON_Compare(cJSON_GetObjectItemCaseSensitive(spec, "config"),
			    cJSON_GetObjectItemCaseSensitive(want, "config"), true) &&
	      cJSON_Compare(cJSON_GetObjectItemCaseSensitive(spec, "resources"),
			    cJSON_GetObjectItemCaseSensitive(want, "resources"), true));
	cJSON_Delete(got);
	cJSON_Delete(want);
}

static void test_derived(void)
{
	struct n4j_arena *a = n4j_arena_new();
	struct n4j_cluster c;
	CHECK_INT(load_cluster(a,
			       HEAD
			       "spec: {version: 5.26.12, acceptLicenseAgreement: eval, servers: 5,"
			       " resources: {limits: {memory: 16Gi, cpu: 4}}}\n",
			       &c),
		  0);
	CHECK_INT(c.spec.system_primaries, 3);
	CHECK_INT(c.spec.topology.primaries, 3);
	CHECK_INT(c.spec.topology.secondaries, 0);
	CHECK_INT(c.spec.memory_limit_bytes, 16LL << 30);
	CHECK_INT(c.spec.heap_bytes + c.spec.page_cache_bytes + (1LL << 30), 16LL << 30);
	CHECK_INT(c.spec.heap_bytes, 15LL << 29);
	CHECK_STR(c.spec.image, "neo4j:5.26.12-enterprise");
	CHECK_INT(c.spec.progress_deadline_s, 600);
	CHECK_STR(c.spec.admin_secret, "g-admin");
	CHECK(c.spec.admin_secret_generated);
	CHECK_STR(c.meta.namespace_, "default");
	/* requests default to limits key by key, integers become text */
	CHECK_INT(c.spec.requests.n, 2);
	CHECK_STR(c.spec.requests.keys[0], "cpu");
	CHECK_STR(c.spec.requests.values[0], "4");
	CHECK_STR(c.spec.requests.values[1], "16Gi");
	CHECK(!c.spec.version.calver && c.spec.version.major == 5 && c.spec.version.patch == 12);

	CHECK_INT(load_cluster(a,
			       HEAD "spec: {version: 2025.10.1, edition: community,"
				    " memory: {heap: 1Gi}, resources: {limits: {memory: 4Gi}}}\n",
			       &c),
		  0);
	CHECK(c.spec.version.calver && c.spec.version.major == 2025 && c.spec.version.minor == 10);
	CHECK_INT(c.spec.system_primaries, 1);
	CHECK_INT(c.spec.heap_bytes, 1LL << 30);
	CHECK_INT(c.spec.page_cache_bytes, 2LL << 30);
	CHECK_STR(c.spec.image, "neo4j:2025.10.1-community");
	n4j_arena_free(a);
}

static void test_rules_edges(void)
{
	struct n4j_arena *a = n4j_arena_new();
	struct n4j_cluster c;
	/* exactly at the limit: 256Mi heap + 64Mi page cache + 1Gi */
	CHECK_INT(load_cluster(a,
			       HEAD "spec: {version: 5.26.0, edition: community,"
				    " memory: {heap: 256Mi, pageCache: 64Mi},"
				    " resources: {limits: {memory: 1344Mi}}}\n",
			       &c),
		  0);
	CHECK_INT(load_cluster(a,
			       HEAD "spec: {version: 5.26.0, edition: community,"
				    " memory: {heap: 256Mi, pageCache: 64Mi},"
				    " resources: {limits: {memory: 1343Mi}}}\n",
			       &c),
		  1);
	/* versions */
	const char *bad_versions[] = {"5.25.1", "2024.12.1", "2025.13.0",  "2025.1.0",
				      "5.26",   "v5.26.1",   "5.26.1-rc1", "2025.00.1"};
	for (size_t i = 0; i < sizeof(bad_versions) / sizeof(bad_versions[0]); i++) {
		char y[512];
		snprintf(y, sizeof(y), HEAD "spec: {version: \"%s\", edition: community}\n",
			 bad_versions[i]);
		CHECK_INT(load_cluster(a, y, &c), 1);
	}
	CHECK_INT(load_cluster(a, HEAD "spec: {version: \"2099.12.99\", edition: community}\n", &c),
		  0);
	n4j_arena_free(a);
}

/* One status with every field set, shared by the round trip and the allocation tests. */
static const char *fx_hosting[] = {"neo4j", "system"};
static struct n4j_condition fx_conds[] = {
	{"Ready", N4J_COND_TRUE, "Converged", "3/3 servers ready", "2026-12-01T01:02:03Z", 4},
	{"Stalled", N4J_COND_FALSE, "AsExpected", NULL, "2026-12-01T01:02:03Z", 4},
};
static struct n4j_server_status fx_servers[] = {
	{"g-0", "2e4a", "Enabled", "Available", 2, fx_hosting},
	{"g-1", "77b1", "Enabled", "Available", 1, fx_hosting}};
static struct n4j_database_status fx_dbs[] = {{"sales", "online", "g-2", 3, 1}};

static const char *fx_dns[] = {"g.db.svc", "*.g-headless.db.svc.cluster.local"};
static struct n4j_tls_status fx_tls[] = {{"g-tls",
					  4,
					  {"bolt", "https", "cluster", "backup"},
					  "2026-01-01T00:00:00Z",
					  "2027-01-01T00:00:00Z",
					  true,
					  2,
					  fx_dns}};

static struct n4j_cluster_status fixture_cluster_status(void)
{
	return (struct n4j_cluster_status){
		.observed_generation = 4,
		.phase = "Ready",
		.n_conditions = 2,
		.conditions = fx_conds,
		.replicas = 3,
		.selector = "app.kubernetes.io/instance=g",
		.ready_servers = "3/3",
		.version = "5.26.12",
		.system_leader = "g-1",
		.n_servers = 2,
		.servers = fx_servers,
		.n_databases = 1,
		.databases = fx_dbs,
		.bolt_endpoint = "neo4j://g.db.svc:7687",
		.http_endpoint = "http://g.db.svc:7474",
		.operation = {"Roll", "g-2", "2026-12-02T10:00:00Z"},
		.n_tls = 1,
		.tls = fx_tls,
	};
}

static void test_status_roundtrip(void)
{
	struct n4j_arena *a = n4j_arena_new();
	struct n4j_error err = {0};
	struct n4j_cluster_status s = fixture_cluster_status();
	cJSON *j = NULL, *j2 = NULL;
	CHECK_INT(n4j_cluster_status_json(&s, &j, &err), 0);
	struct n4j_cluster_status back;
	CHECK_INT(n4j_cluster_status_parse(a, j, &back, &err), 0);
	CHECK_INT(n4j_cluster_status_json(&back, &j2, &err), 0);
	CHECK(j2 && cJSON_Compare(j, j2, true));
	CHECK_STR(back.operation.kind, "Roll");
	CHECK_STR(back.operation.target, "g-2");
	CHECK_STR(back.operation.started_at, "2026-12-02T10:00:00Z");
	CHECK_INT(back.n_tls, 1);
	if (back.n_tls == 1) {
		CHECK_STR(back.tls[0].secret_name, "g-tls");
		CHECK_STR(back.tls[0].not_after, "2027-01-01T00:00:00Z");
		CHECK_STR(back.tls[0].not_before, "2026-01-01T00:00:00Z");
		CHECK(back.tls[0].expiring_soon);
		CHECK_INT(back.tls[0].n_usages, 4);
		CHECK_INT(back.tls[0].n_dns_names, 2);
		CHECK_STR(back.tls[0].dns_names[1], "*.g-headless.db.svc.cluster.local");
	}
	/* What the emitter writes is what the CRD accepts (names, types, formats). */
	cJSON *cr = yaml1(HEAD "spec: {version: 5.26.12, acceptLicenseAgreement: \"yes\"}\n"),
	      *got = NULL;
	struct n4j_problems pr;
	n4j_problems_init(&pr, a);
	cJSON_AddItemToObject(cr, "status", cJSON_Duplicate(j, true));
	CHECK_INT(n4j_apply_defaults(schemas, cr, &got, &pr, &err), 0);
	for (size_t i = 0; i < pr.n; i++)
		fprintf(stderr, "  problem: %s: %s\n", pr.items[i].path, pr.items[i].message);
	CHECK_INT(pr.n, 0);
	cJSON_Delete(cr);
	cJSON_Delete(got);
	char *txt = cJSON_PrintUnformatted(j);
	CHECK(txt && strncmp(txt, "{\"observedGeneration\":4,\"phase\":\"Ready\",\"conditions\"",
			     50) == 0);
	free(txt);
	cJSON_Delete(j);
	cJSON_Delete(j2);

	struct n4j_backup_run runs[25];
	for (int i = 0; i < 25; i++)
		runs[i] = (struct n4j_backup_run){.name = "r", .result = "Succeeded"};
	struct n4j_backup_status bs = {.observed_generation = 1, .n_history = 25, .history = runs};
	CHECK_INT(n4j_backup_status_json(&bs, &j, &err), 0);
	CHECK_INT(cJSON_GetArraySize(cJSON_GetObjectItem(j, "history")), N4J_BACKUP_HISTORY_MAX);
	cJSON_Delete(j);

	/* Round trip of everything a backup status carries, artifacts and restore included. */
	const char *dbn[] = {"neo4j", "system"};
	struct n4j_backup_artifact arts[] = {
		{"neo4j-2026-12-02T02-00-00.backup", "neo4j", 512, true},
		{"system-2026-12-02T02-00-01.backup", "system", 64, false}};
	struct n4j_backup_run full[] = {
		{.name = "n-1",
		 .start_time = "2026-12-02T02:00:00Z",
		 .result = "Succeeded",
		 .size_bytes = 576,
		 .n_databases = 2,
		 .databases = dbn,
		 .n_artifacts = 2,
		 .artifacts = arts,
		 .pruned = 3},
		{.name = "n-0",
		 .result = "Failed",
		 .size_bytes = -1,
		 .pruned = -1,
		 .message = "backup: exit 1"},
	};
	struct n4j_backup_status bs2 = {
		.observed_generation = 3,
		.n_databases = 2,
		.databases = dbn,
		.last_failure = {"2026-12-01T02:00:00Z", "BackupFailed", "x"},
		.n_history = 2,
		.history = full};
	CHECK_INT(n4j_backup_status_json(&bs2, &j, &err), 0);
	struct n4j_backup_status bback;
	CHECK_INT(n4j_backup_status_parse(a, j, &bback, &err), 0);
	CHECK_INT(n4j_backup_status_json(&bback, &j2, &err), 0);
	CHECK(j2 && cJSON_Compare(j, j2, true));
	CHECK_INT((int)bback.history[0].n_artifacts, 2);
	CHECK(bback.history[0].artifacts[0].full && !bback.history[0].artifacts[1].full);
	CHECK_INT((int)bback.history[0].pruned, 3);
	CHECK_INT((int)bback.history[1].size_bytes, -1);
	CHECK(!cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "history"), 1),
				   "sizeBytes"));
	cJSON_Delete(j);
	cJSON_Delete(j2);

	struct n4j_restore_db_status rdb[] = {{"sales", "Failed", "Unable to start database"}};
	struct n4j_cluster_status rs = {.phase = "Ready",
					.restore = {.key = "0123abcd",
						    .source = "s3://b/p",
						    .phase = "Failed",
						    .n_databases = 1,
						    .databases = rdb}};
	CHECK_INT(n4j_cluster_status_json(&rs, &j, &err), 0);
	struct n4j_cluster_status rback;
	CHECK_INT(n4j_cluster_status_parse(a, j, &rback, &err), 0);
	CHECK_INT(n4j_cluster_status_json(&rback, &j2, &err), 0);
	CHECK(j2 && cJSON_Compare(j, j2, true));
	CHECK_STR(rback.restore.databases[0].message, "Unable to start database");
	cJSON_Delete(j);
	cJSON_Delete(j2);
	n4j_arena_free(a);
}

/*
 * Allocation failure in the status builders: malloc fails after `budget` successful calls.
 * For every budget from 0 until the build succeeds, the builder must either fail cleanly
 * (ENOMEM, nothing returned; ASan/valgrind see no leak) or return the complete status,
 * never a status with silently missing parts.
 */
static long alloc_budget = -1; /* < 0: no limit */
static bool alloc_one_shot;    /* fail only the allocation after the budget, then recover */
static void *failing_malloc(size_t n)
{
	if (alloc_budget == 0) {
		if (alloc_one_shot)
			alloc_budget = -1;
		return NULL;
	}
	if (alloc_budget > 0)
		alloc_budget--;
	return malloc(n);
}

static int build_status(int which, const struct n4j_cluster_status *cs,
			const struct n4j_backup_status *bs, cJSON **out)
{
	struct n4j_error err = {0};
	/* *out must be reset whatever it held: start from a non-NULL junk pointer */
	*out = (cJSON *)out;
	int rc = which == 0 ? n4j_cluster_status_json(cs, out, &err)
			    : n4j_backup_status_json(bs, out, &err);
	if (rc && !strstr(err.msg, "out of memory"))
		fprintf(stderr, "unexpected message: %s\n", err.msg);
	return rc;
}

static void test_status_oom(void)
{
	const char *dbn[] = {"neo4j", "sales"};
	struct n4j_cluster_status cs = fixture_cluster_status();
	struct n4j_backup_run runs[] = {
		{"r1", "2026-12-01T02:00:00Z", "2026-12-01T02:10:00Z", "Succeeded", 1024, 2, dbn, 0,
		 NULL, 0, NULL},
		{"r2", "2026-12-02T02:00:00Z", NULL, "Failed", 0, 1, dbn, 0, NULL, 0, NULL},
	};
	struct n4j_backup_status bs = {
		.observed_generation = 2,
		.n_conditions = 2,
		.conditions = fx_conds,
		.last_schedule_time = "2026-12-02T02:00:00Z",
		.next_schedule_time = "x",
		.last_failure = {"2026-12-02T02:05:00Z", "BackupFailed", "exit 1"},
		.n_history = 2,
		.history = runs,
	};
	for (int mode = 0; mode < 4; mode++) {
		int which = mode % 2;
		alloc_one_shot = mode >= 2;
		cJSON *want = NULL;
		CHECK_INT(build_status(which, &cs, &bs, &want), 0);
		char *want_s = want ? cJSON_PrintUnformatted(want) : NULL;
		CHECK(want_s != NULL);
		cJSON_Hooks hooks = {.malloc_fn = failing_malloc, .free_fn = free};
		cJSON_InitHooks(&hooks);
		int failures = 0;
		bool ok = false;
		for (long budget = 0; budget < 10000 && !ok; budget++) {
			cJSON *got = NULL;
			alloc_budget = budget;
			int rc = build_status(which, &cs, &bs, &got);
			alloc_budget = -1;
			if (rc) {
				CHECK_INT(rc, N4J_ENOMEM);
				CHECK(got == NULL);
				failures++;
				continue;
			}
			char *got_s = cJSON_PrintUnformatted(got);
			if (!got_s || !want_s || strcmp(got_s, want_s) != 0)
				fprintf(stderr, "budget %ld: an incomplete status\n", budget);
			CHECK_STR(got_s, want_s);
			cJSON_free(got_s);
			cJSON_Delete(got);
			ok = true;
		}
		cJSON_InitHooks(NULL);
		CHECK(ok);
		CHECK(failures > 10); /* the failure path was really exercised */
		cJSON_free(want_s);
		cJSON_Delete(want);
	}
}

int main(void)
{
	struct n4j_error err = {0};
	if (n4j_schemas_load(&schemas, &err)) {
		fprintf(stderr, "schemas: %s\n", err.msg);
		return 1;
	}
	test_defaults_minimal();
	test_defaults_null_map_values();
	test_derived();
	test_rules_edges();
	test_status_roundtrip();
	test_status_oom();
	n4j_schemas_free(schemas);
	CHECK_DONE();
}
