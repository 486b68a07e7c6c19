/* Steps shared by both kinds: kind check, schema + defaults, metadata, typed helpers. */
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

static int cmp_keys(const void *x, const void *y)
{
	const cJSON *const *a = x, *const *b = y;
	return strcmp((*a)->string, (*b)->string);
}

static const char *scalar_text(struct n4j_arena *a, const cJSON *v)
{
	if (cJSON_IsString(v))
		return n4j_arena_strdup(a, v->valuestring);
	if (cJSON_IsNumber(v)) {
		double d = v->valuedouble;
		if (d >= -9.2e18 && d <= 9.2e18 && d == (double)(int64_t)d)
			return n4j_arena_printf(a, "%lld", (long long)v->valuedouble);
		return n4j_arena_printf(a, "%.17g", v->valuedouble);
	}
	if (cJSON_IsBool(v))
		return n4j_arena_strdup(a, cJSON_IsTrue(v) ? "true" : "false");
	return n4j_arena_strdup(a, "");
}

int n4j_view_str_map(struct n4j_arena *a, const cJSON *obj, struct n4j_str_map *out)
{
	memset(out, 0, sizeof(*out));
	if (!cJSON_IsObject(obj))
		return 0;
	size_t n = (size_t)cJSON_GetArraySize(obj);
	if (n == 0)
		return 0;
	const cJSON **items = n4j_arena_calloc(a, n, sizeof(*items));
	out->keys = n4j_arena_calloc(a, n, sizeof(char *));
	out->values = n4j_arena_calloc(a, n, sizeof(char *));
	if (!items || !out->keys || !out->values)
		return N4J_ENOMEM;
	size_t i = 0;
	const cJSON *e;
	cJSON_ArrayForEach(e, obj) items[i++] = e;
	qsort(items, n, sizeof(*items), cmp_keys);
	for (i = 0; i < n; i++) {
		out->keys[i] = n4j_arena_strdup(a, items[i]->string);
		out->values[i] = scalar_text(a, items[i]);
		if (!out->keys[i] || !out->values[i])
			return N4J_ENOMEM;
	}
	out->n = n;
	return 0;
}

int n4j_view_str_list(struct n4j_arena *a, const cJSON *arr, size_t *n, const char ***out)
{
	*n = 0;
	*out = NULL;
	if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) == 0)
		return 0;
	size_t cnt = (size_t)cJSON_GetArraySize(arr);
	const char **list = n4j_arena_calloc(a, cnt, sizeof(*list));
	if (!list)
		return N4J_ENOMEM;
	size_t i = 0;
	const cJSON *e;
	cJSON_ArrayForEach(e, arr)
	{
		if (!(list[i++] = scalar_text(a, e)))
			return N4J_ENOMEM;
	}
	*n = cnt;
	*out = list;
	return 0;
}

const char *n4j_view_str(struct n4j_arena *a, const cJSON *o, const char *path)
{
	const char *s = n4j_jstr(o, path);
	return s ? n4j_arena_strdup(a, s) : NULL;
}

int n4j_view_meta(struct n4j_arena *a, const cJSON *doc, struct n4j_meta *m)
{
	memset(m, 0, sizeof(*m));
	m->name = n4j_view_str(a, doc, "metadata.name");
	m->namespace_ = n4j_view_str(a, doc, "metadata.namespace");
	if (!m->namespace_)
		m->namespace_ = "default";
	m->uid = n4j_view_str(a, doc, "metadata.uid");
	m->generation = n4j_jint(doc, "metadata.generation", 0);
	int rc = n4j_view_str_map(a, n4j_jget(doc, "metadata.labels"), &m->labels);
	if (!rc)
		rc = n4j_view_str_map(a, n4j_jget(doc, "metadata.annotations"), &m->annotations);
	if (!rc && !m->name)
		rc = N4J_EINVAL;
	return rc;
}

/* Requests default to limits, key by key, so pods get the Guaranteed class Neo4j needs. */
int n4j_view_resources(struct n4j_arena *a, const cJSON *res, struct n4j_str_map *requests,
		       struct n4j_str_map *limits)
{
	int rc = n4j_view_str_map(a, n4j_jget(res, "limits"), limits);
	if (rc)
		return rc;
	cJSON *merged = cJSON_CreateObject();
	if (!merged)
		return N4J_ENOMEM;
	const cJSON *e;
	cJSON_ArrayForEach(e, n4j_jget(res, "requests"))
	{
		cJSON_AddItemToObject(merged, e->string, cJSON_Duplicate(e, false));
	}
	cJSON_ArrayForEach(e, n4j_jget(res, "limits"))
	{
		if (!cJSON_GetObjectItemCaseSensitive(merged, e->string))
			cJSON_AddItemToObject(merged, e->string, cJSON_Duplicate(e, false));
	}
	rc = n4j_view_str_map(a, merged, requests);
	cJSON_Delete(merged);
	return rc;
}
