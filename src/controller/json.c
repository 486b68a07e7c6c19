/* Small cJSON helpers the pipeline's files share. */
#include "controller/internal.h"

static void delete_json(void *p)
{
	cJSON_Delete(p);
}

int ctl_arena_json(struct n4j_arena *a, cJSON *j)
{
	if (!j)
		return 0;
	if (n4j_arena_on_free(a, delete_json, j)) {
		cJSON_Delete(j);
		return N4J_ENOMEM;
	}
	return 0;
}

const cJSON *ctl_jget(const cJSON *o, const char *const *path, size_t n)
{
	for (size_t i = 0; o && i < n; i++)
		o = cJSON_GetObjectItemCaseSensitive(o, path[i]);
	return o;
}
