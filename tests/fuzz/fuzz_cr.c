/*
 * The CR parser, validator and renderers on arbitrary bytes: YAML/JSON →
 * documents → load (schema, defaults, rules) → render → emit. Any crash,
 * leak or sanitizer report is a bug; "invalid" is a fine answer.
 */
#include <stdint.h>
#include <stdlib.h>

#include "api/api.h"
#include "render/render.h"

static struct n4j_schemas *schemas;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct n4j_error err = {0};
	if (n4j_schemas_load(&schemas, &err))
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cJSON *docs = NULL;
	struct n4j_error err = {0};
	if (n4j_yaml_parse((const char *)data, size, &docs, &err))
		return 0;
	struct n4j_arena *a = n4j_arena_new();
	struct n4j_render_facts facts;
	n4j_render_facts_default(&facts);
	cJSON *out = cJSON_CreateArray();
	struct n4j_cluster last = {0};
	bool have_cluster = false;
	const cJSON *d;
	cJSON_ArrayForEach(d, docs)
	{
		struct n4j_problems p;
		n4j_problems_init(&p, a);
		enum n4j_kind k = n4j_kind_of(d);
		if (k == N4J_CLUSTER) {
			struct n4j_cluster c;
			if (n4j_cluster_load(a, schemas, d, &c, &p, &err) == 0) {
				n4j_render_cluster(&c, &facts, out, &err);
				last = c;
				have_cluster = true;
			}
		} else if (k == N4J_BACKUP) {
			struct n4j_backup b;
			if (n4j_backup_load(a, schemas, d, &b, &p, &err) == 0 && have_cluster &&
			    n4j_backup_check_cluster(&b, &last, &p) == 0 && p.n == 0)
				n4j_render_backup(&b, &last, &facts, out, &err);
		}
	}
	struct n4j_buf buf;
	n4j_buf_init(&buf);
	n4j_emit_yaml(out, &buf);
	n4j_buf_reset(&buf);
	n4j_emit_json_list(out, &buf);
	n4j_buf_free(&buf);
	cJSON_Delete(out);
	cJSON_Delete(docs);
	n4j_arena_free(a);
	return 0;
}
