/*
 * A Neo4jBackup: a PVC for a new pvc target (first, so the Job can mount it),
 * then a CronJob, or a Job when there is no schedule. The backup runs the
 * cluster's own image, so neo4j-admin always matches the servers' version.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "render/render_internal.h"

#define BACKUP_DIR  "/backups"
#define SCRATCH_DIR "/scratch"
#define GCS_DIR     "/var/run/gcs"
#define GCS_KEY     "credentials.json" /* the Secret's key holding the JSON key file */

/*
 * Fixed text: every spec value arrives as an environment variable or as a
 * positional argument (the database names), and is always quoted.
 *
 * With TLS the servers' backup policy requires a client certificate, so the
 * client gets the same policy through --additional-config.
 *
 * Verification checks the newest chain of each database just backed up. On a
 * volume the new artifacts are found by modification time; a bucket cannot be
 * listed from the image, so there only literal database names are checked and
 * globs are reported as unchecked.
 */
static const char backup_script[] =
	"set -euo pipefail\n"
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
	"mkdir -p " SCRATCH_DIR "/report\n"
	"touch " SCRATCH_DIR "/.started\n"
	"neo4j-admin database backup --from=\"${N4J_FROM}\" --to-path=\"${N4J_TO}\" \\\n"
	"  --type=\"${N4J_TYPE}\" --compress=true --keep-failed=false --include-metadata=all \\\n"
	"  --temp-path=" SCRATCH_DIR " --expand-commands ${args[@]+\"${args[@]}\"} \"$@\"\n"
	"if [ \"${N4J_VERIFY:-false}\" != true ]; then\n"
	"  exit 0\n"
	"fi\n"
	"dbs=()\n"
	"case \"${N4J_TO}\" in\n"
	"/*)\n"
	"  re='^(.+)-[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}-[0-9]{2}-[0-9]{2}.*[.]backup$'\n"
	"  while IFS= read -r -d '' f; do\n"
	"    if [[ \"${f##*/}\" =~ $re ]]; then\n"
	"      dbs+=(\"${BASH_REMATCH[1]}\")\n"
	"    fi\n"
	"  done < <(find \"${N4J_TO}\" -maxdepth 1 -type f -name '*.backup' \\\n"
	"    -newer " SCRATCH_DIR "/.started -print0)\n"
	"  ;;\n"
	"*)\n"
	"  for db in \"$@\"; do\n"
	"    case \"${db}\" in\n"
	"    *[*?[]*) printf 'verify: %s is a pattern; not checked\\n' \"${db}\" >&2 ;;\n"
	"    *) dbs+=(\"${db}\") ;;\n"
	"    esac\n"
	"  done\n"
	"  ;;\n"
	"esac\n"
	"status=0\n"
	"checked=()\n"
	"for db in ${dbs[@]+\"${dbs[@]}\"}; do\n"
	"  for c in ${checked[@]+\"${checked[@]}\"}; do\n"
	"    [ \"${c}\" = \"${db}\" ] && continue 2\n"
	"  done\n"
	"  checked+=(\"${db}\")\n"
	"  neo4j-admin database check --from-path=\"${N4J_TO}\" --temp-path=" SCRATCH_DIR " \\\n"
	"    --report-path=" SCRATCH_DIR "/report \"${db}\" || status=1\n"
	"done\n"
	"exit \"${status}\"\n";

static void secret_env(struct rx *x, cJSON *env, const char *name, const char *secret,
		       const char *key)
{
	cJSON *e = rx_obj(x, env, NULL);
	rx_str(x, e, "name", name);
	cJSON *ref = rx_obj(x, rx_obj(x, e, "valueFrom"), "secretKeyRef");
	rx_str(x, ref, "name", secret);
	rx_str(x, ref, "key", key);
}

static void env(struct rx *x, cJSON *c, const struct n4j_backup *b, const struct rx_cluster *k)
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
	char keep[16];
	snprintf(keep, sizeof(keep), "%d", s->retention.keep_last);
	rx_env(x, env, "N4J_KEEP_LAST", keep);
	if (k->tls)
		rx_env(x, env, "N4J_TLS", "true");

	const char *cred = s->target.credentials_secret;
	switch (s->target.kind) {
	case N4J_TARGET_S3:
		/* The Secret's keys are the AWS variable names, as AWS tooling and the docs
		 * (api.md, "Backup credentials") have them. */
		if (cred) {
			secret_env(x, env, "AWS_ACCESS_KEY_ID", cred, "AWS_ACCESS_KEY_ID");
			secret_env(x, env, "AWS_SECRET_ACCESS_KEY", cred, "AWS_SECRET_ACCESS_KEY");
		}
		if (s->target.endpoint && *s->target.endpoint)
			rx_env(x, env, "AWS_ENDPOINT_URL_S3", s->target.endpoint);
		if (s->target.region && *s->target.region)
			rx_env(x, env, "AWS_REGION", s->target.region);
		break;
	case N4J_TARGET_GCS:
		if (cred)
			rx_env(x, env, "GOOGLE_APPLICATION_CREDENTIALS", GCS_DIR "/" GCS_KEY);
		break;
	case N4J_TARGET_AZURE:
		/* DefaultAzureCredential reads AZURE_* variables: take the Secret whole. */
		if (cred)
			rx_str(x, rx_obj(x, rx_obj(x, rx_arr(x, c, "envFrom"), NULL), "secretRef"),
			       "name", cred);
		break;
	case N4J_TARGET_PVC:
		break;
	}
}

static bool gcs_creds(const struct n4j_backup_spec *s)
{
	return s->target.kind == N4J_TARGET_GCS && s->target.credentials_secret;
}

static void container(struct rx *x, cJSON *pod, const struct n4j_backup *b,
		      const struct rx_cluster *k)
{
	const struct n4j_backup_spec *s = &b->spec;
	cJSON *c = rx_obj(x, rx_arr(x, pod, "containers"), NULL);
	rx_str(x, c, "name", "backup");
	rx_str(x, c, "image", k->s->image);
	rx_str(x, c, "imagePullPolicy",
	       k->s->image_pull_policy ? k->s->image_pull_policy : "IfNotPresent");
	cJSON *cmd = rx_arr(x, c, "command");
	rx_str(x, cmd, NULL, "/bin/bash");
	rx_str(x, cmd, NULL, "-c");
	rx_str(x, cmd, NULL, backup_script);
	rx_str(x, cmd, NULL, "neo4j-backup"); /* $0 */
	if (s->n_databases) {
		for (size_t i = 0; i < s->n_databases; i++)
			rx_str(x, cmd, NULL, s->databases[i]);
	} else {
		rx_str(x, cmd, NULL, "*");
	}
	env(x, c, b, k);
	rx_resources(x, c, &s->requests, &s->limits);
	rx_container_security(x, c);
	cJSON *m = rx_arr(x, c, "volumeMounts");
	rx_mount(x, m, "scratch", SCRATCH_DIR, false);
	if (s->target.kind == N4J_TARGET_PVC)
		rx_mount(x, m, "backups", BACKUP_DIR, false);
	if (gcs_creds(s))
		rx_mount(x, m, "gcs", GCS_DIR, true);
	if (k->tls)
		rx_mount(x, m, "ssl", "/ssl", true);
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
		     const struct rx_cluster *k, const struct rx_meta *m, const char *claim)
{
	rx_int(x, spec, "backoffLimit", 1);
	rx_int(x, spec, "activeDeadlineSeconds", 21600);
	cJSON *tpl = rx_obj(x, spec, "template");
	rx_labels(x, rx_obj(x, rx_obj(x, tpl, "metadata"), "labels"), m);
	cJSON *pod = rx_obj(x, tpl, "spec");
	rx_str(x, pod, "restartPolicy", "Never");
	rx_bool(x, pod, "automountServiceAccountToken", false);
	rx_bool(x, pod, "enableServiceLinks", false);
	rx_pod_security(x, pod);
	rx_pull_secrets(x, pod, k->s);
	container(x, pod, b, k);
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

static int job(const struct n4j_backup *b, const struct rx_cluster *k, const struct rx_meta *m,
	       const char *claim, cJSON *out, struct n4j_error *err)
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
		rx_int(&x, spec, "startingDeadlineSeconds", 3600);
		rx_int(&x, spec, "successfulJobsHistoryLimit", 3);
		rx_int(&x, spec, "failedJobsHistoryLimit", 3);
		rx_bool(&x, spec, "suspend", s->suspend);
		cJSON *jt = rx_obj(&x, spec, "jobTemplate");
		rx_labels(&x, rx_obj(&x, rx_obj(&x, jt, "metadata"), "labels"), m);
		job_spec(&x, rx_obj(&x, jt, "spec"), b, k, m, claim);
	} else {
		o = rx_object(&x, "batch/v1", "Job", m);
		job_spec(&x, rx_obj(&x, o, "spec"), b, k, m, claim);
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
		rc = job(b, &k, &m, claim, out, err);
	free(name);
	rx_cluster_free(&k);
	return rc;
}
