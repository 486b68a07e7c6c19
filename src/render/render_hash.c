/* The spec hash that lets the controller skip applies of unchanged objects. */
#include <stdlib.h>
#include <string.h>

#include "render/render_internal.h"

int n4j_render_spec_hash(const cJSON *obj, char out[N4J_SHA256_HEX_LEN + 1])
{
	if (!obj)
		return N4J_EINVAL;
	/*
	 * A copy, because the input is const and the hash must not cover itself.
	 * An annotations object left empty stays in the copy: the renderer always
	 * writes one, so the hashed shape is the same on every render.
	 */
	cJSON *dup = cJSON_Duplicate(obj, true);
	if (!dup)
		return N4J_ENOMEM;
	cJSON *meta = cJSON_GetObjectItemCaseSensitive(dup, "metadata");
	cJSON *ann = cJSON_GetObjectItemCaseSensitive(meta, "annotations");
	if (cJSON_IsObject(ann))
		cJSON_DeleteItemFromObjectCaseSensitive(ann, N4J_ANN_SPEC_HASH);
	char *json = cJSON_PrintUnformatted(dup);
	cJSON_Delete(dup);
	if (!json)
		return N4J_ENOMEM;
	n4j_sha256_hex(json, strlen(json), out);
	cJSON_free(json);
	return 0;
}
