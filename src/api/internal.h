/* Private to src/api: the schema walker, the rules and small JSON accessors. */
#ifndef N4J_API_INTERNAL_H
#define N4J_API_INTERNAL_H

#include "api/api.h"

struct walk {
	struct n4j_arena *arena;
	struct n4j_problems *problems;
	bool (*allow_unknown_at)(struct walk *w, const char *path, const char *key);
	size_t stop_after; /* a hostile document cannot make the list grow without bound */
};

/* Records a problem on `p` (in scope) and returns from the caller only if memory ran out. */
#define N4J_PROBLEM(path, ...)                                                                     \
	do {                                                                                       \
		int rc_ = n4j_problem_add(p, path, __VA_ARGS__);                                   \
		if (rc_)                                                                           \
			return rc_;                                                                \
	} while (0)

/* Validates doc against schema and fills defaults in place (doc must be a copy). */
int n4j_schema_walk(struct n4j_arena *a, const cJSON *schema, cJSON *doc,
		    struct n4j_problems *problems);

/* ObjectMeta checks shared by both kinds (name, namespace, labels). */
int n4j_meta_check(const cJSON *doc, int max_name, struct n4j_problems *p);
int n4j_cluster_rules(const cJSON *doc, struct n4j_problems *p);
int n4j_backup_rules(const cJSON *doc, struct n4j_problems *p);

/* Dotted-path accessors ("spec.storage.data.size"); NULL / defaults when absent. */
const cJSON *n4j_jget(const cJSON *o, const char *path);
const char *n4j_jstr(const cJSON *o, const char *path);
bool n4j_jhas(const cJSON *o, const char *path);
int64_t n4j_jint(const cJSON *o, const char *path, int64_t def);
bool n4j_jbool(const cJSON *o, const char *path, bool def);
/* Typed lookups: NULL unless the value is of that type, so loops over user input can
 * never meet a member without a name (an array where a map belongs) or vice versa. */
const cJSON *n4j_jobj(const cJSON *o, const char *path);
const cJSON *n4j_jarr(const cJSON *o, const char *path);

/* Neo4j versions: 5.26.N or YYYY.MM.N with YYYY >= 2025. */
bool n4j_version_parse(const char *s, struct n4j_version *v);

/* Operator-owned neo4j.conf keys (rule C12). */
bool n4j_config_key_owned(const char *key);
bool n4j_config_key_shape_ok(const char *key);
bool n4j_dns_label_ok(const char *s, size_t max);
bool n4j_database_name_ok(const char *s);

/* Schema walk + defaults shared by both kinds (load.c). */
int n4j_load_common(struct n4j_arena *a, const struct n4j_schemas *s, enum n4j_kind kind,
		    const cJSON *doc, cJSON **defaulted, struct n4j_problems *problems,
		    struct n4j_error *err);
/* Typed-view builders (view.c): arena copies of what the accessors above find. */
int n4j_view_meta(struct n4j_arena *a, const cJSON *doc, struct n4j_meta *m);
int n4j_view_str_map(struct n4j_arena *a, const cJSON *obj, struct n4j_str_map *out);
int n4j_view_str_list(struct n4j_arena *a, const cJSON *arr, size_t *n, const char ***out);
int n4j_view_resources(struct n4j_arena *a, const cJSON *res, struct n4j_str_map *requests,
		       struct n4j_str_map *limits);
const char *n4j_view_str(struct n4j_arena *a, const cJSON *o, const char *path);

#endif
