/*
 * A Neo4jBackup: a PVC for a new pvc target (first, so the Job can mount it),
 * then a CronJob, or a Job when there is no schedule. The pod's init container
 * `backup` runs the cluster's own image, so neo4j-admin always matches the servers'
 * version; its container `retention` then prunes the target with the operator's
 * image (contract: docs/rendering.md, "The backup Job").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "render/render_internal.h"

#define BACKUP_DIR  "/backups"
#define SCRATCH_DIR "/scratch"
#define REPORT_DIR  SCRATCH_DIR "/report" /* what the backup step tells the retention step */
#define GCS_DIR     "/var/run/gcs"
#define GCS_KEY     "credentials.json" /* the Secret's key holding the JSON key file */
#define TERM_LOG    "/dev/termination-log"

/*
 * The `backup` init container's script. Fixed text: every spec value arrives as
 * an environment variable or as a positional argument (the database names), and
 * is always quoted.
 *
 * It writes REPORT_DIR/started (epoch seconds, before the backup: retention never
 * prunes what this run wrote) and, after a good backup and verification,
 * REPORT_DIR/inspect.json (`neo4j-admin backup inspect`, which retention reads:
 * full/diff and tx ranges only Neo4j knows). A failed inspect does not fail the
 * backup: retention then finds no inspect.json, prunes nothing and says so.
 *
 * With TLS the servers' backup policy requires a client certificate, so the
 * client gets the same policy through --additional-config.
 *
 * Verification checks the newest chain of each named database in the target. The
 * controller passes concrete names; a pattern (an offline render of a glob) cannot
 * be checked and is reported as unchecked.
 *
 * The last log line of a failure names it ("BackupFailed: ..." or "VerifyFailed:
 * ..."): with FallbackToLogsOnError the log tail, neo4j-admin's own error above
 * that line included, is the container's termination message.
 */
static const char backup_script[] =
	"set -euo pipefail\n"
	"say() { printf 'neo4j-backup: %s\\n' \"$*\" >&2; }\n"
	"args=()\n"
	"if [ \"${N4J_TLS:-false}\" = true ]; then\n"
	"  printf '%s\\n' \\\n"
	"    dbms.ssl.policy.backup.enabled=true \\\n"
	"    dbms.ssl.policy.backup.base_directory=/ssl/backup \\\n"
	"    dbms.ssl.policy.backup.private_key=private.key \\\n"
	"    dbms.ssl.policy.backup.public_certificate=public.crt \\\n"
	"    dbms.ssl.policy.backup.client_auth=REQUIRE >" SCRATCH_DIR "/tls.conf\n"
	"  args+=(--additional-config=" SCRATCH_DIR "/tls.conf)\n"
	"fi\n"
	"mkdir -p " REPORT_DIR " " SCRATCH_DIR "/check\n"
	"printf '%(%s)T\\n' -1 >" REPORT_DIR "/started\n"
	"rc=0\n"
	"neo4j-admin database backup --from=\"${N4J_FROM}\" --to-path=\"${N4J_TO}\" \\\n"
	"  --type=\"${N4J_TYPE}\" --compress=true --keep-failed=false --include-metadata=all \\\n"
	"  --temp-path=" SCRATCH_DIR
	" --expand-commands ${args[@]+\"${args[@]}\"} \"$@\" || rc=$?\n"
	"if [ \"${rc}\" -ne 0 ]; then\n"
	"  say \"BackupFailed: neo4j-admin database backup exited ${rc}\"\n"
	"  exit \"${rc}\"\n"
	"fi\n"
	"if [ \"${N4J_VERIFY:-false}\" = true ]; then\n"
	"  failed=()\n"
	"  for db in \"$@\"; do\n"
	"    case \"${db}\" in\n"
	"    *[*?[]*) say \"verify: ${db} is a pattern, not a database; not checked\"; continue "
	";;\n"
	"    esac\n"
	"    neo4j-admin database check --from-path=\"${N4J_TO}\" --temp-path=" SCRATCH_DIR " \\\n"
	"      --report-path=" SCRATCH_DIR "/check \"${db}\" || failed+=(\"${db}\")\n"
	"  done\n"
	"  if [ \"${#failed[@]}\" -gt 0 ]; then\n"
	"    say \"VerifyFailed: the consistency check failed for ${failed[*]}\"\n"
	"    exit 1\n"
	"  fi\n"
	"fi\n"
	/* 5.26 lists names only without --show-metadata and hides empty artifacts
	 * without --empty; 2025.x accepts both. */
	"if neo4j-admin backup inspect \"${N4J_TO}\" --format=json --show-metadata --empty \\\n"
	"  >" REPORT_DIR "/inspect.tmp; then\n"
	"  mv " REPORT_DIR "/inspect.tmp " REPORT_DIR "/inspect.json\n"
	"else\n"
	"  say \"inspect failed: retention will prune nothing\"\n"
	"  rm -f " REPORT_DIR "/inspect.tmp\n"
	"fi\n";

/* The databases of this backup: concrete (controller), else as the spec has them. */
static void databases(const struct n4j_backup_spec *s, const struct n4j_render_facts *f,
		      const char *const **names, size_t *n)
{
	static const char *const all[] = {"*"};
	if (f->backup_databases && f->n_backup_databases) {
		*names = f->backup_databases;
		*n = f->n_backup_databases;
	} else if (s->n_databases) {
		*names = (const char *const *)s->databases;
		*n = s->n_databases;
	} else {
		*names = all;
		*n = 1;
	}
}

static void secret_env(struct rx *x, cJSON *env, const char *name, const char *secret,
		       const char *key, bool optional)
{
	cJSON *e = rx_obj(x, env, NULL);
	rx_str(x, e, "name", name);
	cJSON *ref = rx_obj(x, rx_obj(x, e, "valueFrom"), "secretKeyRef");
	rx_str(x, ref, "name", secret);
	rx_str(x, ref, "key", key);
	if (optional)
		rx_bool(x, ref, "optional", true);
}

static bool set(const char *v)
{
	return v && *v;
}

static bool gcs_creds(const struct n4j_backup_spec *s)
{
	return s->target.kind == N4J_TARGET_GCS && s->target.credentials_secret;
}

/*
 * The store's credentials and endpoint, the same for the backup and the retention
 * container, in the variables Neo4j (the AWS, Google and Azure SDKs) and the retention
 * tool read (docs/backup-restore.md). `env` may be NULL: created on first use, so a
 * container with nothing to pass has no empty list.
 */
static void cloud_env(struct rx *x, cJSON *c, cJSON *env, const struct n4j_backup_spec *s)
{
	const char *cred = s->target.credentials_secret;
	const char *endpoint = set(s->target.endpoint) ? s->target.endpoint : NULL;
	switch (s->target.kind) {
	case N4J_TARGET_S3:
		if (!cred && !endpoint && !set(s->target.region))
			return;
		env = env ? env : rx_arr(x, c, "env");
		/* The Secret's keys are the AWS variable names, as AWS tooling and the docs
		 * (api.md, "Backup credentials") have them; a session token is optional. */
		if (cred) {
			secret_env(x, env, "AWS_ACCESS_KEY_ID", cred, "AWS_ACCESS_KEY_ID", false);
			secret_env(x, env, "AWS_SECRET_ACCESS_KEY", cred, "AWS_SECRET_ACCESS_KEY",
				   false);
			secret_env(x, env, "AWS_SESSION_TOKEN", cred, "AWS_SESSION_TOKEN", true);
		}
		if (endpoint)
			rx_env(x, env, "AWS_ENDPOINT_URL_S3", endpoint);
		if (set(s->target.region))
			rx_env(x, env, "AWS_REGION", s->target.region);
		break;
	case N4J_TARGET_GCS:
		if (!cred && !endpoint)
			return;
		env = env ? env : rx_arr(x, c, "env");
		if (cred)
			rx_env(x, env, "GOOGLE_APPLICATION_CREDENTIALS", GCS_DIR "/" GCS_KEY);
		/* As written, e.g. "http://host:4443" (the Go client also takes host:port). */
		if (endpoint)
			rx_env(x, env, "STORAGE_EMULATOR_HOST", endpoint);
		break;
	case N4J_TARGET_AZURE:
		if (endpoint) {
			env = env ? env : rx_arr(x, c, "env");
			rx_env(x, env, "AZURE_STORAGE_BLOB_ENDPOINT", endpoint);
		}
		/* DefaultAzureCredential reads AZURE_* variables: take the Secret whole. */
		if (cred)
			rx_str(x, rx_obj(x, rx_obj(x, rx_arr(x, c, "envFrom"), NULL), "secretRef"),
			       "name", cred);
		break;
	case N4J_TARGET_PVC:
		break;
	}
}

static void backup_env(struct rx *x, cJSON *c, const struct n4j_backup *b,
		       const struct rx_cluster *k)
{
	const struct n4j_backup_spec *s = &b->spec;
	cJSON *env = rx_arr(x, c, "env");
	/* The licence check applies to neo4j-admin too. */
	rx_env(x, env, "NEO4J_ACCEPT_LICENSE_AGREEMENT", k->s->license);

	/* Every server: neo4j-admin tries them in order and skips unreachable ones. */
	struct n4j_buf from;
	n4j_buf_init(&from);
	for (int i = 0; i < k->s->servers; i++)
		n4j_buf_printf(&from, "%s%s-%d.%s:%d", i ? "," : "", k->name, i, k->pod_domain,
			       N4J_PORT_BACKUP);
	const char *from_s = n4j_buf_cstr(&from);
	if (!from_s)
		x->oom = true;
	rx_env(x, env, "N4J_FROM", from_s);
	n4j_buf_free(&from);

	rx_env(x, env, "N4J_TO", s->target.kind == N4J_TARGET_PVC ? BACKUP_DIR : s->target.uri);
	rx_env(x, env, "N4J_TYPE", s->type ? s->type : "AUTO");
	rx_env(x, env, "N4J_VERIFY", s->verify ? "true" : "false");
	if (k->tls)
		rx_env(x, env, "N4J_TLS", "true");
	cloud_env(x, c, env, s);
}

static void store_mounts(struct rx *x, cJSON *mounts, const struct n4j_backup_spec *s)
{
	if (s->target.kind == N4J_TARGET_PVC)
		rx_mount(x, mounts, "backups", BACKUP_DIR, false);
	if (gcs_creds(s))
		rx_mount(x, mounts, "gcs", GCS_DIR, true);
}

static void backup_container(struct rx *x, cJSON *pod, const struct n4j_backup *b,
			     const struct rx_cluster *k, const struct n4j_render_facts *f)
{
	const struct n4j_backup_spec *s = &b->spec;
	cJSON *c = rx_obj(x, rx_arr(x, pod, "initContainers"), NULL);
	rx_str(x, c, "name", "backup");
	rx_str(x, c, "image", k->s->image);
	rx_str(x, c, "imagePullPolicy",
	       k->s->image_pull_policy ? k->s->image_pull_policy : "IfNotPresent");
	cJSON *cmd = rx_arr(x, c, "command");
	rx_str(x, cmd, NULL, "/bin/bash");
	rx_str(x, cmd, NULL, "-c");
	rx_str(x, cmd, NULL, backup_script);
	rx_str(x, cmd, NULL, "neo4j-backup"); /* $0 */
	const char *const *dbs;
	size_t n;
	databases(s, f, &dbs, &n);
	for (size_t i = 0; i < n; i++)
		rx_str(x, cmd, NULL, dbs[i]);
	backup_env(x, c, b, k);
	rx_resources(x, c, &s->requests, &s->limits);
	rx_container_security(x, c, false);
	rx_str(x, c, "terminationMessagePolicy", "FallbackToLogsOnError");
	cJSON *m = rx_arr(x, c, "volumeMounts");
	rx_mount(x, m, "scratch", SCRATCH_DIR, false);
	store_mounts(x, m, s);
	if (k->tls)
		rx_mount(x, m, "ssl", "/ssl", true);
}

/*
 * Retention runs only after a successful backup (an init container that fails
 * stops the pod), with the operator's own binary: the Neo4j image has no client for
 * the object stores (reference §5), and neo4j-admin prunes nothing. Every value is
 * one argv element: no shell.
 */
static void retention_container(struct rx *x, cJSON *pod, const struct n4j_backup *b,
				const struct n4j_render_facts *f)
{
	const struct n4j_backup_spec *s = &b->spec;
	cJSON *c = rx_obj(x, rx_arr(x, pod, "containers"), NULL);
	rx_str(x, c, "name", "retention");
	rx_str(x, c, "image", f->operator_image);
	rx_str(x, c, "imagePullPolicy", "IfNotPresent");
	cJSON *cmd = rx_arr(x, c, "command");
	rx_str(x, cmd, NULL, "neo4j-operator");
	rx_str(x, cmd, NULL, "backup-retention");
	rx_strf(x, cmd, NULL, "--target=%s",
		s->target.kind == N4J_TARGET_PVC ? BACKUP_DIR : s->target.uri);
	rx_str(x, cmd, NULL, "--inspect=" REPORT_DIR "/inspect.json");
	rx_str(x, cmd, NULL, "--started=" REPORT_DIR "/started");
	rx_strf(x, cmd, NULL, "--keep-last=%d", s->retention.keep_last);
	if (s->retention.daily > 0)
		rx_strf(x, cmd, NULL, "--daily=%d", s->retention.daily);
	if (s->retention.weekly > 0)
		rx_strf(x, cmd, NULL, "--weekly=%d", s->retention.weekly);
	if (s->retention.monthly > 0)
		rx_strf(x, cmd, NULL, "--monthly=%d", s->retention.monthly);
	if (set(s->retention.max_age))
		rx_strf(x, cmd, NULL, "--max-age=%s", s->retention.max_age);
	const char *const *dbs;
	size_t n;
	databases(s, f, &dbs, &n);
	for (size_t i = 0; i < n; i++)
		rx_strf(x, cmd, NULL, "--database=%s", dbs[i]);
	rx_str(x, cmd, NULL, "--report=" TERM_LOG);
	cloud_env(x, c, NULL, s);
	/* The operator binary writes nothing but its report (a mounted file). */
	rx_container_security(x, c, true);
	rx_str(x, c, "terminationMessagePolicy", "FallbackToLogsOnError");
	cJSON *m = rx_arr(x, c, "volumeMounts");
	rx_mount(x, m, "scratch", SCRATCH_DIR, true);
	store_mounts(x, m, s);
}

static void volumes(struct rx *x, cJSON *pod, const struct n4j_backup *b,
		    const struct rx_cluster *k, const char *claim)
{
	const struct n4j_backup_spec *s = &b->spec;
	cJSON *vols = rx_arr(x, pod, "volumes");
	cJSON *v = rx_obj(x, vols, NULL);
	rx_str(x, v, "name", "scratch");
	rx_obj(x, v, "emptyDir");
	if (s->target.kind == N4J_TARGET_PVC) {
		v = rx_obj(x, vols, NULL);
		rx_str(x, v, "name", "backups");
		rx_str(x, rx_obj(x, v, "persistentVolumeClaim"), "claimName", claim);
	}
	if (gcs_creds(s)) {
		v = rx_obj(x, vols, NULL);
		rx_str(x, v, "name", "gcs");
		cJSON *sec = rx_obj(x, v, "secret");
		rx_str(x, sec, "secretName", s->target.credentials_secret);
		rx_int(x, sec, "defaultMode", 0440);
		/* Named, so a Secret without the key fails the mount instead of starting a
		 * backup that finds no credentials file. */
		cJSON *item = rx_obj(x, rx_arr(x, sec, "items"), NULL);
		rx_str(x, item, "key", GCS_KEY);
		rx_str(x, item, "path", GCS_KEY);
	}
	if (k->tls) {
		static const char *const scopes[] = {"backup"};
		rx_ssl_volume(x, vols, k->s->tls.secret_name, scopes, 1);
	}
}

static void job_spec(struct rx *x, cJSON *spec, const struct n4j_backup *b,
		     const struct rx_cluster *k, const struct n4j_render_facts *f,
		     const struct rx_meta *m, const char *claim)
{
	const struct n4j_backup_spec *s = &b->spec;
	rx_int(x, spec, "backoffLimit", 1);
	rx_int(x, spec, "activeDeadlineSeconds", 21600);
	cJSON *tpl = rx_obj(x, spec, "template");
	rx_labels(x, rx_obj(x, rx_obj(x, tpl, "metadata"), "labels"), m);
	cJSON *pod = rx_obj(x, tpl, "spec");
	rx_str(x, pod, "restartPolicy", "Never");
	if (set(s->service_account)) {
		/*
		 * Workload identity (IRSA, EKS Pod Identity, GKE, Azure): several of these
		 * webhooks and SDKs need the pod's ServiceAccount token, so it is mounted
		 * for an SA the user chose for this purpose, and only then.
		 */
		rx_str(x, pod, "serviceAccountName", s->service_account);
		rx_bool(x, pod, "automountServiceAccountToken", true);
	} else {
		rx_bool(x, pod, "automountServiceAccountToken", false);
	}
	rx_bool(x, pod, "enableServiceLinks", false);
	rx_pod_security(x, pod);
	rx_pull_secrets(x, pod, k->s);
	backup_container(x, pod, b, k, f);
	retention_container(x, pod, b, f);
	volumes(x, pod, b, k, claim);
}

static int pvc(const struct n4j_backup *b, const struct rx_meta *owned, cJSON *out,
	       struct n4j_error *err)
{
	struct rx x = {0};
	struct rx_meta m = *owned;
	/* Backups must outlive the Neo4jBackup (and the cluster): no owner. */
	m.owner_kind = NULL;
	cJSON *o = rx_object(&x, "v1", "PersistentVolumeClaim", &m);
	cJSON *spec = rx_obj(&x, o, "spec");
	rx_str(&x, rx_arr(&x, spec, "accessModes"), NULL, "ReadWriteOnce");
	if (b->spec.target.storage_class)
		rx_str(&x, spec, "storageClassName", b->spec.target.storage_class);
	rx_str(&x, rx_obj(&x, rx_obj(&x, spec, "resources"), "requests"), "storage",
	       b->spec.target.size ? b->spec.target.size : "10Gi");
	return rx_finish(&x, o, out, "backup PersistentVolumeClaim", err);
}

static int job(const struct n4j_backup *b, const struct rx_cluster *k,
	       const struct n4j_render_facts *f, const struct rx_meta *m, const char *claim,
	       cJSON *out, struct n4j_error *err)
{
	const struct n4j_backup_spec *s = &b->spec;
	struct rx x = {0};
	cJSON *o;
	if (s->schedule) {
		o = rx_object(&x, "batch/v1", "CronJob", m);
		cJSON *spec = rx_obj(&x, o, "spec");
		rx_str(&x, spec, "schedule", s->schedule);
		if (s->time_zone)
			rx_str(&x, spec, "timeZone", s->time_zone);
		/* One writer per backup chain. */
		rx_str(&x, spec, "concurrencyPolicy", "Forbid");
		/* A run missed by more than this (controller-manager down) is skipped; the
		 * controller's overdue rule reports it. */
		rx_int(&x, spec, "startingDeadlineSeconds",
		       s->starting_deadline_s > 0 ? s->starting_deadline_s : 3600);
		rx_int(&x, spec, "successfulJobsHistoryLimit", 3);
		rx_int(&x, spec, "failedJobsHistoryLimit", 3);
		rx_bool(&x, spec, "suspend", s->suspend);
		cJSON *jt = rx_obj(&x, spec, "jobTemplate");
		rx_labels(&x, rx_obj(&x, rx_obj(&x, jt, "metadata"), "labels"), m);
		job_spec(&x, rx_obj(&x, jt, "spec"), b, k, f, m, claim);
	} else {
		o = rx_object(&x, "batch/v1", "Job", m);
		job_spec(&x, rx_obj(&x, o, "spec"), b, k, f, m, claim);
	}
	return rx_finish(&x, o, out, s->schedule ? "CronJob" : "Job", err);
}

int n4j_render_backup(const struct n4j_backup *b, const struct n4j_cluster *cluster,
		      const struct n4j_render_facts *f, cJSON *out, struct n4j_error *err)
{
	if (!cJSON_IsArray(out))
		return n4j_err(err, N4J_EINVAL, "render: the output must be a JSON array");
	if (!b || !b->meta.name || !b->meta.namespace_)
		return n4j_err(err, N4J_EINVAL, "render: backup without name or namespace");
	if (!cluster)
		return n4j_err(err, N4J_EINVAL, "render: backup %s: no cluster", b->meta.name);
	struct n4j_render_facts storage;
	f = rx_facts(f, &storage);
	struct rx_cluster k;
	int rc = rx_cluster_init(&k, cluster, f, err);
	if (rc)
		return rc;
	struct rx x = {0};
	char *name = rx_printf(&x, "%s-backup", b->meta.name);
	if (!name) {
		rx_cluster_free(&k);
		return n4j_err(err, N4J_ENOMEM, "render backup: out of memory");
	}
	struct rx_meta m = {
		.name = name,
		.ns = b->meta.namespace_,
		.instance = cluster->meta.name,
		.component = N4J_COMPONENT_BACKUP,
		.version = cluster->spec.version_string,
		.backup = b->meta.name,
		.owner_kind = N4J_KIND_BACKUP,
		.owner_name = b->meta.name,
		.owner_uid = b->meta.uid,
	};
	const struct n4j_backup_spec *s = &b->spec;
	const char *claim = s->target.claim_name ? s->target.claim_name : name;
	rc = 0;
	if (s->target.kind == N4J_TARGET_PVC && !s->target.claim_name)
		rc = pvc(b, &m, out, err);
	if (!rc)
		rc = job(b, &k, f, &m, claim, out, err);
	free(name);
	rx_cluster_free(&k);
	return rc;
}
