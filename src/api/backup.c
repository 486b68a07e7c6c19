/* Neo4jBackup: the typed view, and the rules that need the referenced cluster. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"

static int view_spec(struct n4j_arena *a, const cJSON *spec, struct n4j_backup_spec *bs)
{
	int rc;
	bs->cluster = n4j_view_str(a, spec, "clusterRef.name");
	if ((rc = n4j_view_str_list(a, n4j_jget(spec, "databases"), &bs->n_databases,
				    &bs->databases)))
		return rc;
	bs->schedule = n4j_view_str(a, spec, "schedule");
	bs->time_zone = n4j_view_str(a, spec, "timeZone");
	bs->type = n4j_view_str(a, spec, "type");
	if (!bs->type)
		bs->type = "AUTO";
	static const char *const kinds[] = {"pvc", "s3", "gcs", "azure"};
	const cJSON *t = NULL;
	for (int i = 0; i < 4; i++) {
		char path[32];
		snprintf(path, sizeof(path), "target.%s", kinds[i]);
		if ((t = n4j_jget(spec, path)) != NULL) {
			bs->target.kind = (enum n4j_target_kind)i;
			break;
		}
	}
	bs->target.size = n4j_view_str(a, t, "size");
	bs->target.storage_class = n4j_view_str(a, t, "storageClassName");
	bs->target.claim_name = n4j_view_str(a, t, "claimName");
	bs->target.uri = n4j_view_str(a, t, "uri");
	bs->target.credentials_secret = n4j_view_str(a, t, "credentialsSecretRef.name");
	bs->target.endpoint = n4j_view_str(a, t, "endpoint");
	bs->target.region = n4j_view_str(a, t, "region");
	bs->retention.keep_last = (int)n4j_jint(spec, "retention.keepLast", 7);
	bs->retention.daily = (int)n4j_jint(spec, "retention.daily", 0);
	bs->retention.weekly = (int)n4j_jint(spec, "retention.weekly", 0);
	bs->retention.monthly = (int)n4j_jint(spec, "retention.monthly", 0);
	bs->retention.max_age = n4j_view_str(a, spec, "retention.maxAge");
	bs->retention.max_age_s = 0;
	if (bs->retention.max_age) {
		/* The schema pattern guarantees digits then one of h, d, w. */
		long n = strtol(bs->retention.max_age, NULL, 10);
		char unit = bs->retention.max_age[strlen(bs->retention.max_age) - 1];
		bs->retention.max_age_s = n * (unit == 'h'   ? 3600L
					       : unit == 'd' ? 86400L
							     : 604800L);
	}
	bs->starting_deadline_s = (int)n4j_jint(spec, "startingDeadlineSeconds", 3600);
	bs->service_account = n4j_view_str(a, spec, "serviceAccountName");
	bs->verify = n4j_jbool(spec, "verify", false);
	bs->suspend = n4j_jbool(spec, "suspend", false);
	return n4j_view_resources(a, n4j_jget(spec, "resources"), &bs->requests, &bs->limits);
}

int n4j_backup_load(struct n4j_arena *a, const struct n4j_schemas *s, const cJSON *doc,
		    struct n4j_backup *out, struct n4j_problems *problems, struct n4j_error *err)
{
	memset(out, 0, sizeof(*out));
	if (n4j_kind_of(doc) != N4J_BACKUP)
		return n4j_err(err, N4J_EINVAL, "not a %s", N4J_KIND_BACKUP);
	cJSON *d;
	int rc = n4j_load_common(a, s, N4J_BACKUP, doc, &d, problems, err);
	if (rc)
		return rc;
	out->json = d;
	if ((rc = n4j_view_meta(a, d, &out->meta)) ||
	    (rc = view_spec(a, n4j_jget(d, "spec"), &out->spec)))
		return n4j_err(err, rc, "building the backup view failed: %s", n4j_strerror(rc));
	return 0;
}

int n4j_backup_check_cluster(const struct n4j_backup *b, const struct n4j_cluster *c,
			     struct n4j_problems *problems)
{
	if (c->spec.edition == N4J_COMMUNITY)
		return n4j_problem_add(problems, "spec.clusterRef.name",
				       "Neo4jCluster %s is community edition: online backup needs "
				       "enterprise",
				       c->meta.name);
	return 0;
}
