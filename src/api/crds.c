/* The embedded CRDs (cmake/embed.cmake), parsed once into their schemas. */
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"

struct n4j_crd_source {
	const char *name;
	const char *data;
	size_t len;
};
extern const struct n4j_crd_source n4j_crd_sources[];

struct n4j_schemas {
	cJSON *docs[2];
	const cJSON *schema[3]; /* indexed by enum n4j_kind */
};

static const cJSON *find_schema(const cJSON *crd, const char **kind)
{
	*kind = n4j_jstr(crd, "spec.names.kind");
	const cJSON *versions = n4j_jget(crd, "spec.versions");
	const cJSON *v;
	cJSON_ArrayForEach(v, versions)
	{
		const char *name = n4j_jstr(v, "name");
		if (name && strcmp(name, N4J_VERSION_V1ALPHA1) == 0)
			return n4j_jget(v, "schema.openAPIV3Schema");
	}
	return NULL;
}

int n4j_schemas_load(struct n4j_schemas **out, struct n4j_error *err)
{
	struct n4j_schemas *s = calloc(1, sizeof(*s));
	if (!s)
		return n4j_err(err, N4J_ENOMEM, "out of memory");
	int n = 0;
	for (const struct n4j_crd_source *src = n4j_crd_sources; src->name; src++) {
		cJSON *docs;
		int rc = n4j_yaml_parse(src->data, src->len, &docs, err);
		if (rc) {
			n4j_schemas_free(s);
			return rc;
		}
		if (n >= 2 || cJSON_GetArraySize(docs) != 1) {
			cJSON_Delete(docs);
			n4j_schemas_free(s);
			return n4j_err(err, N4J_EINVAL, "embedded CRD %s: expected one document",
				       src->name);
		}
		s->docs[n++] = docs;
		const char *kind;
		const cJSON *schema = find_schema(docs->child, &kind);
		if (!schema || !kind) {
			n4j_schemas_free(s);
			return n4j_err(err, N4J_EINVAL, "embedded CRD %s: no v1alpha1 schema",
				       src->name);
		}
		if (strcmp(kind, N4J_KIND_CLUSTER) == 0)
			s->schema[N4J_CLUSTER] = schema;
		else if (strcmp(kind, N4J_KIND_BACKUP) == 0)
			s->schema[N4J_BACKUP] = schema;
	}
	if (!s->schema[N4J_CLUSTER] || !s->schema[N4J_BACKUP]) {
		n4j_schemas_free(s);
		return n4j_err(err, N4J_EINVAL, "embedded CRDs: a kind is missing");
	}
	*out = s;
	return 0;
}

void n4j_schemas_free(struct n4j_schemas *s)
{
	if (!s)
		return;
	for (int i = 0; i < 2; i++)
		cJSON_Delete(s->docs[i]);
	free(s);
}

const cJSON *n4j_schemas_get(const struct n4j_schemas *s, enum n4j_kind kind)
{
	if (!s || kind <= N4J_KIND_UNKNOWN || kind > N4J_BACKUP)
		return NULL;
	return s->schema[kind];
}
