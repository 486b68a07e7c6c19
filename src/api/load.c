/* Steps shared by both kinds: kind check, schema + defaults, metadata checks. */
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"

/* Clusters: pod names (<name>-N) and controller-revision-hash labels need 11 spare characters. */
#define CLUSTER_NAME_MAX 52
/* Backups: the CronJob <name>-backup must stay within the CronJob limit of 52. */
#define BACKUP_NAME_MAX 45

enum n4j_kind n4j_kind_of(const cJSON *doc)
{
	const char *kind = n4j_jstr(doc, "kind");
	const char *group = n4j_jstr(doc, "apiVersion");
	if (!kind || !group || strncmp(group, N4J_GROUP "/", strlen(N4J_GROUP) + 1) != 0)
		return N4J_KIND_UNKNOWN;
	if (strcmp(kind, N4J_KIND_CLUSTER) == 0)
		return N4J_CLUSTER;
	if (strcmp(kind, N4J_KIND_BACKUP) == 0)
		return N4J_BACKUP;
	return N4J_KIND_UNKNOWN;
}

static int arena_cleanup_json(struct n4j_arena *a, cJSON *j);

int n4j_load_common(struct n4j_arena *a, const struct n4j_schemas *s, enum n4j_kind kind,
		    const cJSON *doc, cJSON **defaulted, struct n4j_problems *problems,
		    struct n4j_error *err)
{
	*defaulted = NULL;
	if (!cJSON_IsObject(doc))
		return n4j_err(err, N4J_EINVAL, "document is not an object");
	const char *api = n4j_jstr(doc, "apiVersion");
	if (!api || strcmp(api, N4J_API_VERSION) != 0) {
		int rc = api ? n4j_problem_add(problems, "apiVersion",
					       "unsupported value \"%.128s\": supported values: "
					       "\"" N4J_API_VERSION "\"",
					       api)
			     : n4j_problem_add(problems, "apiVersion", "is required");
		if (rc)
			return n4j_err(err, rc, "out of memory");
	}
	cJSON *copy = cJSON_Duplicate(doc, true);
	if (!copy)
		return n4j_err(err, N4J_ENOMEM, "out of memory");
	int rc = n4j_schema_walk(a, n4j_schemas_get(s, kind), copy, problems);
	if (!rc)
		rc = n4j_meta_check(copy, kind == N4J_CLUSTER ? CLUSTER_NAME_MAX : BACKUP_NAME_MAX,
				    problems);
	if (!rc)
		rc = kind == N4J_CLUSTER ? n4j_cluster_rules(copy, problems)
					 : n4j_backup_rules(copy, problems);
	if (rc) {
		cJSON_Delete(copy);
		return n4j_err(err, rc, "out of memory while validating");
	}
	if ((rc = arena_cleanup_json(a, copy))) {
		cJSON_Delete(copy);
		return n4j_err(err, rc, "out of memory");
	}
	*defaulted = copy;
	return problems->n ? N4J_EINVAL : 0;
}

int n4j_apply_defaults(const struct n4j_schemas *s, const cJSON *doc, cJSON **defaulted,
		       struct n4j_problems *problems, struct n4j_error *err)
{
	*defaulted = NULL;
	enum n4j_kind kind = n4j_kind_of(doc);
	if (kind == N4J_KIND_UNKNOWN)
		return n4j_err(err, N4J_EINVAL, "not a Neo4jCluster or Neo4jBackup");
	cJSON *copy = cJSON_Duplicate(doc, true);
	if (!copy)
		return n4j_err(err, N4J_ENOMEM, "out of memory");
	int rc = n4j_schema_walk(problems->arena, n4j_schemas_get(s, kind), copy, problems);
	if (rc) {
		cJSON_Delete(copy);
		return n4j_err(err, rc, "out of memory");
	}
	*defaulted = copy;
	return 0;
}

/* The defaulted tree lives as long as the typed view that points into it: the arena frees it. */
static void delete_json(void *j)
{
	cJSON_Delete(j);
}

static int arena_cleanup_json(struct n4j_arena *a, cJSON *j)
{
	return n4j_arena_on_free(a, delete_json, j);
}
