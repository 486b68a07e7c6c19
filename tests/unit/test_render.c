/*
 * Properties every render must have, checked over every example and golden
 * input: selectors inside template labels, owner references, labels, a spec
 * hash that matches, the restricted pod-security profile, the PDB rule, unique
 * neo4j.conf keys, a fixed start script, determinism, and YAML that reads back
 * to the same objects.
 */
#include <dirent.h>
#include <stdlib.h>

#include "api/api.h"
#include "check.h"
#include "render/render.h"

static struct n4j_schemas *schemas;
static char *start_script[2]; /* per edition: must be the same for every input */

static const cJSON *get(const cJSON *o, const char *path)
{
	char key[128];
	while (o && *path) {
		const char *dot = strchr(path, '.');
		size_t n = dot ? (size_t)(dot - path) : strlen(path);
		memcpy(key, path, n);
		key[n] = 0;
		o = cJSON_GetObjectItemCaseSensitive(o, key);
		path = dot ? dot + 1 : path + n;
	}
	return o;
}

static const char *str(const cJSON *o, const char *path)
{
	const cJSON *v = get(o, path);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* A key with dots in it (annotations, data keys) under a dotted parent path. */
static const char *key_str(const cJSON *o, const char *parent, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(get(o, parent), key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void check_labels_owner(const cJSON *obj, const struct n4j_cluster *c, const char *file)
{
	const char *kind = str(obj, "kind");
	const cJSON *labels = get(obj, "metadata.labels");
	static const char *const want[] = {N4J_LABEL_NAME, N4J_LABEL_INSTANCE, N4J_LABEL_COMPONENT,
					   N4J_LABEL_MANAGED_BY, N4J_LABEL_VERSION};
	for (int i = 0; i < 5; i++) {
		bool ok = cJSON_IsString(cJSON_GetObjectItemCaseSensitive(labels, want[i]));
		if (!ok)
			fprintf(stderr, "%s: %s lacks label %s\n", file, kind, want[i]);
		CHECK(ok);
	}
	const cJSON *owners = get(obj, "metadata.ownerReferences");
	bool is_pvc = kind && strcmp(kind, "PersistentVolumeClaim") == 0;
	if (is_pvc) {
		CHECK(owners == NULL); /* backups' volumes outlive their CR */
	} else {
		CHECK_INT(cJSON_GetArraySize(owners), 1);
		const cJSON *o = cJSON_GetArrayItem(owners, 0);
		CHECK(cJSON_IsTrue(get(o, "controller")));
		CHECK(str(o, "uid") != NULL);
	}
	/* The spec hash covers the object without the annotation itself. */
	const char *h = key_str(obj, "metadata.annotations", N4J_ANN_SPEC_HASH);
	CHECK(h && strlen(h) == 64);
	char again[N4J_SHA256_HEX_LEN + 1];
	CHECK_INT(n4j_render_spec_hash(obj, again), 0);
	if (h)
		CHECK_STR(again, h);
	(void)c;
}

static void check_pod(const cJSON *pod, const char *file, const char *what)
{
	CHECK(cJSON_IsTrue(get(pod, "securityContext.runAsNonRoot")));
	CHECK_STR(str(pod, "securityContext.seccompProfile.type"), "RuntimeDefault");
	/* The token only for a ServiceAccount the user named for workload identity. */
	const char *sa = str(pod, "serviceAccountName");
	bool named_sa = sa && strcmp(what, "StatefulSet") != 0;
	CHECK(named_sa ? cJSON_IsTrue(get(pod, "automountServiceAccountToken"))
		       : cJSON_IsFalse(get(pod, "automountServiceAccountToken")));
	const cJSON *ct;
	const cJSON *lists[] = {get(pod, "initContainers"), get(pod, "containers")};
	for (int l = 0; l < 2; l++) {
		cJSON_ArrayForEach(ct, lists[l])
		{
			CHECK(cJSON_IsFalse(get(ct, "securityContext.allowPrivilegeEscalation")));
			const cJSON *drop = get(ct, "securityContext.capabilities.drop");
			CHECK(drop && cJSON_GetArraySize(drop) == 1 &&
			      strcmp(cJSON_GetArrayItem(drop, 0)->valuestring, "ALL") == 0);
			CHECK(!cJSON_IsTrue(get(ct, "securityContext.privileged")));
		}
	}
	const cJSON *v;
	cJSON_ArrayForEach(v, get(pod, "volumes"))
	{
		bool ok = get(v, "hostPath") == NULL;
		if (!ok)
			fprintf(stderr, "%s: %s uses hostPath\n", file, what);
		CHECK(ok);
	}
	CHECK(get(pod, "hostNetwork") == NULL && get(pod, "hostPID") == NULL);
}

/* Index of the first argv element equal to `s`, or -1. */
static int arg_index(const cJSON *cmd, const char *s)
{
	int i = 0;
	const cJSON *a;
	cJSON_ArrayForEach(a, cmd)
	{
		if (cJSON_IsString(a) && strcmp(a->valuestring, s) == 0)
			return i;
		i++;
	}
	return -1;
}

static char *backup_script; /* must be the same for every input */

/*
 * The backup Job pod (docs/rendering.md, "The backup Job"): init container `backup`
 * with a constant script and the databases as arguments, container `retention` with
 * the operator image and exactly the spec's retention rules, per database, the same
 * list as the backup's.
 */
static void check_backup_pod(const cJSON *pod, const struct n4j_backup *b,
			     const struct n4j_render_facts *f, const char *file)
{
	const struct n4j_backup_spec *s = &b->spec;
	CHECK_INT(cJSON_GetArraySize(get(pod, "initContainers")), 1);
	CHECK_INT(cJSON_GetArraySize(get(pod, "containers")), 1);
	const cJSON *bk = cJSON_GetArrayItem(get(pod, "initContainers"), 0);
	const cJSON *rt = cJSON_GetArrayItem(get(pod, "containers"), 0);
	CHECK_STR(str(bk, "name"), "backup");
	CHECK_STR(str(rt, "name"), "retention");
	CHECK_STR(str(bk, "terminationMessagePolicy"), "FallbackToLogsOnError");
	CHECK_STR(str(rt, "terminationMessagePolicy"), "FallbackToLogsOnError");
	CHECK_STR(str(rt, "image"), f->operator_image);
	CHECK(s->service_account
		      ? str(pod, "serviceAccountName") &&
				strcmp(str(pod, "serviceAccountName"), s->service_account) == 0
		      : get(pod, "serviceAccountName") == NULL);

	const cJSON *bcmd = get(bk, "command");
	const cJSON *script = cJSON_GetArrayItem(bcmd, 2);
	CHECK(cJSON_IsString(script));
	if (cJSON_IsString(script)) {
		if (!backup_script)
			backup_script = strdup(script->valuestring);
		else
			CHECK_STR(script->valuestring, backup_script);
	}
	/* No env var carries a retention rule any more: the retention flags do. */
	const cJSON *e;
	cJSON_ArrayForEach(e, get(bk, "env"))
	{
		CHECK(strncmp(str(e, "name"), "N4J_KEEP", 8) != 0);
	}

	/* The databases: argv after $0 of the backup == the --database flags, in order. */
	const cJSON *rcmd = get(rt, "command");
	CHECK_STR(str(cJSON_GetArrayItem(rcmd, 0), ""), "neo4j-operator");
	int n_db = cJSON_GetArraySize(bcmd) - 4;
	CHECK(n_db >= 1);
	if (f->n_backup_databases)
		CHECK_INT(n_db, (long long)f->n_backup_databases);
	else
		CHECK_INT(n_db, s->n_databases ? (long long)s->n_databases : 1);
	int n_flag = 0;
	const cJSON *a;
	cJSON_ArrayForEach(a, rcmd)
	{
		if (strncmp(a->valuestring, "--database=", 11) != 0)
			continue;
		const cJSON *want = cJSON_GetArrayItem(bcmd, 4 + n_flag++);
		CHECK(want && strcmp(a->valuestring + 11, want->valuestring) == 0);
	}
	CHECK_INT(n_flag, n_db);

	char flag[128];
	snprintf(flag, sizeof(flag), "--keep-last=%d", s->retention.keep_last);
	CHECK(arg_index(rcmd, flag) >= 0);
	const struct {
		const char *name;
		int v;
	} rules[] = {{"daily", s->retention.daily},
		     {"weekly", s->retention.weekly},
		     {"monthly", s->retention.monthly}};
	for (size_t i = 0; i < 3; i++) {
		snprintf(flag, sizeof(flag), "--%s=%d", rules[i].name, rules[i].v);
		CHECK((arg_index(rcmd, flag) >= 0) == (rules[i].v > 0));
	}
	if (s->retention.max_age) {
		snprintf(flag, sizeof(flag), "--max-age=%s", s->retention.max_age);
		CHECK(arg_index(rcmd, flag) >= 0);
	}
	(void)file;
}

static void check_statefulset(const cJSON *sts, const struct n4j_cluster *c, const char *file)
{
	const cJSON *sel = get(sts, "spec.selector.matchLabels");
	const cJSON *tl = get(sts, "spec.template.metadata.labels");
	const cJSON *l;
	cJSON_ArrayForEach(l, sel)
	{
		const cJSON *t = cJSON_GetObjectItemCaseSensitive(tl, l->string);
		CHECK(t && cJSON_Compare(t, l, true));
	}
	CHECK(cJSON_GetObjectItemCaseSensitive(sel, N4J_LABEL_VERSION) == NULL);
	CHECK_INT(get(sts, "spec.replicas")->valueint, c->spec.servers);
	CHECK_STR(str(sts, "spec.updateStrategy.type"), "OnDelete");
	CHECK_STR(str(sts, "spec.podManagementPolicy"), "Parallel");
	CHECK(key_str(sts, "spec.template.metadata.annotations", N4J_ANN_CONFIG_HASH) != NULL);
	const cJSON *pod = get(sts, "spec.template.spec");
	check_pod(pod, file, "StatefulSet");
	const cJSON *gates = get(pod, "readinessGates");
	CHECK_STR(str(cJSON_GetArrayItem(gates, 0), "conditionType"), N4J_READINESS_GATE);

	/*
	 * Probes. Liveness is an HTTP answer on the connector the readiness probe uses
	 * (a stopped JVM still completes TCP handshakes), never on cluster state.
	 */
	const cJSON *ct = cJSON_GetArrayItem(get(pod, "containers"), 0);
	const char *scheme = c->spec.tls.enabled ? "HTTPS" : NULL;
	int http = c->spec.tls.enabled ? N4J_PORT_HTTPS : N4J_PORT_HTTP;
	CHECK_INT(get(ct, "startupProbe.tcpSocket.port")->valueint, N4J_PORT_BOLT);
	CHECK(get(ct, "livenessProbe.tcpSocket") == NULL);
	CHECK_STR(str(ct, "livenessProbe.httpGet.path"), "/");
	CHECK(cJSON_IsNumber(get(ct, "livenessProbe.httpGet.port")) &&
	      get(ct, "livenessProbe.httpGet.port")->valueint == http);
	CHECK(scheme ? str(ct, "livenessProbe.httpGet.scheme") &&
			       strcmp(str(ct, "livenessProbe.httpGet.scheme"), scheme) == 0
		     : get(ct, "livenessProbe.httpGet.scheme") == NULL);
	CHECK(cJSON_IsNumber(get(ct, "livenessProbe.periodSeconds")) &&
	      get(ct, "livenessProbe.periodSeconds")->valueint == 5 &&
	      get(ct, "livenessProbe.failureThreshold")->valueint == 40 &&
	      get(ct, "livenessProbe.timeoutSeconds")->valueint == 5);
	CHECK(cJSON_IsNumber(get(ct, "readinessProbe.httpGet.port")) &&
	      get(ct, "readinessProbe.httpGet.port")->valueint == http);

	/* The start script is a constant: no spec value can be injected into it. */
	const cJSON *cmd = get(ct, "command");
	const cJSON *script = cJSON_GetArrayItem(cmd, 4);
	CHECK(cJSON_IsString(script));
	if (cJSON_IsString(script)) {
		char **slot = &start_script[c->spec.edition];
		if (!*slot)
			*slot = strdup(script->valuestring);
		else
			CHECK_STR(script->valuestring, *slot);
	}
}

static void check_conf(const char *conf, const struct n4j_cluster *c, const char *file)
{
	/* strict validation refuses a key given twice */
	CHECK(conf != NULL);
	if (!conf)
		return;
	char *copy = strdup(conf);
	char *keys[512];
	int n = 0;
	for (char *line = strtok(copy, "\n"); line && n < 512; line = strtok(NULL, "\n")) {
		char *eq = strchr(line, '=');
		CHECK(eq != NULL);
		if (!eq)
			continue;
		*eq = 0;
		for (int i = 0; i < n; i++)
			if (strcmp(keys[i], line) == 0) {
				fprintf(stderr, "%s: neo4j.conf repeats %s\n", file, line);
				CHECK(0);
			}
		keys[n++] = line;
		/* The probes GET "/" without credentials: a user's allowlist keeps it. */
		if (strcmp(line, "dbms.security.http_auth_allowlist") == 0) {
			bool slash = strcmp(eq + 1, "/") == 0 || strncmp(eq + 1, "/,", 2) == 0 ||
				     strstr(eq + 1, ",/,") != NULL;
			size_t len = strlen(eq + 1);
			slash = slash || (len >= 2 && strcmp(eq + 1 + len - 2, ",/") == 0);
			if (!slash)
				fprintf(stderr, "%s: http_auth_allowlist %s lacks /\n", file,
					eq + 1);
			CHECK(slash);
		}
		if (c->spec.edition == N4J_COMMUNITY)
			CHECK(strncmp(line, "dbms.cluster.", 13) != 0 &&
			      strncmp(line, "server.cluster.", 15) != 0 &&
			      strncmp(line, "server.metrics.", 15) != 0);
		if (c->spec.version.calver)
			CHECK(strncmp(line, "dbms.cluster.discovery.", 23) != 0 ||
			      strcmp(line, "dbms.cluster.discovery.resolver_type") == 0);
	}
	CHECK(c->spec.heap_bytes + c->spec.page_cache_bytes + (1LL << 30) <=
	      c->spec.memory_limit_bytes);
	free(copy);
}

static void check_file(const char *path)
{
	char *buf;
	size_t len;
	struct n4j_error err = {0};
	if (n4j_read_file(path, 1 << 24, &buf, &len, &err)) {
		CHECK(0);
		return;
	}
	cJSON *docs;
	int rc = n4j_yaml_parse(buf, len, &docs, &err);
	free(buf);
	CHECK_INT(rc, 0);
	if (rc)
		return;
	struct n4j_arena *a = n4j_arena_new();
	struct n4j_render_facts facts;
	n4j_render_facts_default(&facts);
	struct n4j_cluster clusters[8];
	int nc = 0;
	cJSON *all = cJSON_CreateArray();
	const cJSON *d;
	cJSON_ArrayForEach(d, docs)
	{
		struct n4j_problems p;
		n4j_problems_init(&p, a);
		cJSON *out = cJSON_CreateArray(), *out2 = cJSON_CreateArray();
		if (n4j_kind_of(d) == N4J_CLUSTER && nc < 8) {
			struct n4j_cluster *c = &clusters[nc++];
			CHECK_INT(n4j_cluster_load(a, schemas, d, c, &p, &err), 0);
			CHECK_INT(n4j_render_cluster(c, &facts, out, &err), 0);
			CHECK_INT(n4j_render_cluster(c, &facts, out2, &err), 0);
			CHECK(cJSON_Compare(out, out2, true));
			bool pdb = false;
			const cJSON *o;
			cJSON_ArrayForEach(o, out)
			{
				check_labels_owner(o, c, path);
				const char *kind = str(o, "kind");
				if (strcmp(kind, "StatefulSet") == 0)
					check_statefulset(o, c, path);
				if (strcmp(kind, "ConfigMap") == 0)
					check_conf(key_str(o, "data", "neo4j.conf"), c, path);
				if (strcmp(kind, "PodDisruptionBudget") == 0) {
					pdb = true;
					CHECK_INT(get(o, "spec.maxUnavailable")->valueint, 1);
				}
			}
			CHECK(pdb ==
			      (c->spec.servers > 1)); /* a PDB on one server blocks every drain */
		} else if (n4j_kind_of(d) == N4J_BACKUP && nc > 0) {
			struct n4j_backup b;
			CHECK_INT(n4j_backup_load(a, schemas, d, &b, &p, &err), 0);
			const struct n4j_cluster *c = &clusters[0];
			for (int i = 0; i < nc; i++)
				if (strcmp(clusters[i].meta.name, b.spec.cluster) == 0)
					c = &clusters[i];
			CHECK_INT(n4j_render_backup(&b, c, &facts, out, &err), 0);
			const cJSON *o;
			cJSON_ArrayForEach(o, out)
			{
				check_labels_owner(o, c, path);
				const char *kind = str(o, "kind");
				if (strcmp(kind, "CronJob") == 0) {
					CHECK_STR(str(o, "spec.concurrencyPolicy"), "Forbid");
					CHECK_INT(get(o, "spec.startingDeadlineSeconds")->valueint,
						  b.spec.starting_deadline_s);
					const cJSON *pod =
						get(o, "spec.jobTemplate.spec.template.spec");
					check_pod(pod, path, "CronJob");
					check_backup_pod(pod, &b, &facts, path);
				} else if (strcmp(kind, "Job") == 0) {
					check_pod(get(o, "spec.template.spec"), path, "Job");
					check_backup_pod(get(o, "spec.template.spec"), &b, &facts,
							 path);
				}
			}
		}
		for (size_t i = 0; i < p.n; i++)
			fprintf(stderr, "%s: %s: %s\n", path, p.items[i].path, p.items[i].message);
		cJSON *o;
		while ((o = cJSON_DetachItemFromArray(out, 0)) != NULL)
			cJSON_AddItemToArray(all, o);
		cJSON_Delete(out);
		cJSON_Delete(out2);
	}

	/* YAML and JSON output read back to exactly the rendered objects. */
	struct n4j_buf y;
	n4j_buf_init(&y);
	CHECK_INT(n4j_emit_yaml(all, &y), 0);
	cJSON *back = NULL;
	rc = n4j_yaml_parse(y.data ? y.data : "", y.len, &back, &err);
	CHECK_INT(rc, 0);
	bool same = back && cJSON_Compare(back, all, true);
	if (!same)
		fprintf(stderr, "%s: YAML output does not read back identically (%s)\n", path,
			rc ? err.msg : "values differ");
	CHECK(same);
	n4j_buf_reset(&y);
	CHECK_INT(n4j_emit_json_list(all, &y), 0);
	cJSON *list = cJSON_Parse(y.data);
	CHECK(list && cJSON_Compare(cJSON_GetObjectItem(list, "items"), all, true));
	cJSON_Delete(list);
	cJSON_Delete(back);
	n4j_buf_free(&y);
	cJSON_Delete(all);
	cJSON_Delete(docs);
	n4j_arena_free(a);
}

static int cmp(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

static int check_dir(const char *dir)
{
	DIR *dh = opendir(dir);
	if (!dh)
		return 0;
	char *names[256];
	int n = 0;
	struct dirent *de;
	while ((de = readdir(dh)) != NULL && n < 256) {
		size_t l = strlen(de->d_name);
		if (l > 5 && strcmp(de->d_name + l - 5, ".yaml") == 0 &&
		    !(l > 9 && strcmp(de->d_name + l - 9, ".out.yaml") == 0))
			names[n++] = strdup(de->d_name);
	}
	closedir(dh);
	qsort(names, (size_t)n, sizeof(*names), cmp);
	for (int i = 0; i < n; i++) {
		char path[1024];
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		/* backup examples reference examples/cluster-3.yaml: checked with it below */
		if (strncmp(names[i], "backup-", 7) != 0)
			check_file(path);
		free(names[i]);
	}
	return n;
}

/* Renders `yaml` (a cluster, then optionally a backup of it) with `f`; `out` gets the objects. */
static void render_text(const char *yaml, const struct n4j_render_facts *f, cJSON *out,
			struct n4j_backup *b_out)
{
	struct n4j_error err = {0};
	cJSON *docs = NULL;
	CHECK_INT(n4j_yaml_parse(yaml, strlen(yaml), &docs, &err), 0);
	struct n4j_arena *a = n4j_arena_new();
	struct n4j_problems p;
	n4j_problems_init(&p, a);
	struct n4j_cluster c;
	CHECK_INT(n4j_cluster_load(a, schemas, cJSON_GetArrayItem(docs, 0), &c, &p, &err), 0);
	const cJSON *bd = cJSON_GetArrayItem(docs, 1);
	if (bd) {
		struct n4j_backup b;
		CHECK_INT(n4j_backup_load(a, schemas, bd, &b, &p, &err), 0);
		CHECK_INT(n4j_render_backup(&b, &c, f, out, &err), 0);
		const cJSON *job = cJSON_GetArrayItem(out, cJSON_GetArraySize(out) - 1);
		check_backup_pod(get(job, "spec.template.spec"), &b, f, "inline");
		if (b_out)
			*b_out = b; /* strings die with the arena: only counts are read */
	} else {
		CHECK_INT(n4j_render_cluster(&c, f, out, &err), 0);
	}
	for (size_t i = 0; i < p.n; i++)
		fprintf(stderr, "inline: %s: %s\n", p.items[i].path, p.items[i].message);
	n4j_arena_free(a);
	cJSON_Delete(docs);
}

static const cJSON *find_kind(const cJSON *list, const char *kind)
{
	const cJSON *o;
	cJSON_ArrayForEach(o, list)
	{
		if (strcmp(str(o, "kind"), kind) == 0)
			return o;
	}
	return NULL;
}

static const char *env_value(const cJSON *container, const char *name)
{
	const cJSON *e;
	cJSON_ArrayForEach(e, get(container, "env"))
	{
		if (strcmp(str(e, "name"), name) == 0)
			return str(e, "value") ? str(e, "value") : "";
	}
	return NULL;
}

#define CLUSTER_YAML                                                                               \
	"apiVersion: neo4j.graphops.io/v1alpha1\nkind: Neo4jCluster\n"                             \
	"metadata: {name: g, namespace: ns}\n"                                                     \
	"spec: {edition: enterprise, version: \"5.26.12\", acceptLicenseAgreement: \"yes\", "      \
	"servers: 3"

/* The facts only the controller knows: concrete databases, its image, a backupRef's store. */
static void check_facts(void)
{
	struct n4j_render_facts f;
	n4j_render_facts_default(&f);
	CHECK(strncmp(f.operator_image, "ghcr.io/graphops/neo4j-operator:", 32) == 0 &&
	      strlen(f.operator_image) > 32);

	static const char *const dbs[] = {"neo4j", "sales-eu", "system"};
	f.backup_databases = dbs;
	f.n_backup_databases = 3;
	f.operator_image = "registry.example/neo4j-operator:test";
	cJSON *out = cJSON_CreateArray();
	render_text(CLUSTER_YAML "}\n---\napiVersion: neo4j.graphops.io/v1alpha1\n"
				 "kind: Neo4jBackup\nmetadata: {name: b, namespace: ns}\n"
				 "spec: {clusterRef: {name: g}, databases: [\"*\"], "
				 "target: {pvc: {claimName: c}}}\n",
		    &f, out, NULL);
	const cJSON *job = find_kind(out, "Job");
	const cJSON *cmd = get(cJSON_GetArrayItem(get(job, "spec.template.spec.initContainers"), 0),
			       "command");
	CHECK_INT(cJSON_GetArraySize(cmd), 4 + 3);
	CHECK(arg_index(cmd, "*") == -1);
	CHECK_STR(str(cJSON_GetArrayItem(cmd, 5), ""), "sales-eu");
	cJSON_Delete(out);

	/* A backupRef restore borrows the backup's endpoint and region; nothing else does. */
	n4j_render_facts_default(&f);
	f.seed_endpoint = "http://127.0.0.1:9000";
	f.seed_region = "eu-west-1";
	const char *restore = CLUSTER_YAML ", databases: [{name: sales}], "
					   "restore: {backupRef: {name: b}, databases: [sales]}, "
					   "seedStorage: {credentialsSecretRef: {name: seed}}}\n";
	out = cJSON_CreateArray();
	render_text(restore, &f, out, NULL);
	const cJSON *c = cJSON_GetArrayItem(
		get(find_kind(out, "StatefulSet"), "spec.template.spec.containers"), 0);
	CHECK_STR(env_value(c, "AWS_ENDPOINT_URL_S3"), "http://127.0.0.1:9000");
	CHECK_STR(env_value(c, "STORAGE_EMULATOR_HOST"), "http://127.0.0.1:9000");
	CHECK_STR(env_value(c, "AWS_REGION"), "eu-west-1");
	CHECK_STR(env_value(c, "AWS_SHARED_CREDENTIALS_FILE"), "/var/run/neo4j/seed/credentials");
	cJSON_Delete(out);

	out = cJSON_CreateArray();
	render_text(CLUSTER_YAML ", seedStorage: {endpoint: \"http://own:1\"}}\n", &f, out, NULL);
	c = cJSON_GetArrayItem(get(find_kind(out, "StatefulSet"), "spec.template.spec.containers"),
			       0);
	CHECK_STR(env_value(c, "AWS_ENDPOINT_URL_S3"), "http://own:1");
	CHECK(env_value(c, "AWS_REGION") == NULL);
	CHECK(env_value(c, "AWS_SHARED_CREDENTIALS_FILE") == NULL);
	cJSON_Delete(out);
}

int main(void)
{
	struct n4j_error err = {0};
	if (n4j_schemas_load(&schemas, &err)) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	int n = check_dir(N4J_SOURCE_DIR "/examples") + check_dir(N4J_SOURCE_DIR "/tests/golden");
	CHECK(n >= 20);
	check_facts();
	free(backup_script);
	n4j_schemas_free(schemas);
	free(start_script[0]);
	free(start_script[1]);
	CHECK_DONE();
}
