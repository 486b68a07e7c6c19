/*
 * Status parsing on arbitrary JSON: a status read back from the apiserver is
 * input the operator did not necessarily write (another manager, an older
 * operator, a hand edit). Parse, then re-emit: any crash, leak or sanitizer
 * report is a bug; a refusal is a fine answer.
 */
#include <stdint.h>
#include <stdlib.h>

#include "api/api.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cJSON *j = cJSON_ParseWithLength((const char *)data, size);
	if (!j)
		return 0;
	struct n4j_arena *a = n4j_arena_new();
	if (!a)
		abort();
	struct n4j_error err = {0};
	struct n4j_cluster_status cs;
	cJSON *out = NULL;
	if (n4j_cluster_status_parse(a, j, &cs, &err) == 0 &&
	    n4j_cluster_status_json(&cs, &out, &err) == 0)
		cJSON_Delete(out);
	struct n4j_backup_status bs;
	out = NULL;
	if (n4j_backup_status_parse(a, j, &bs, &err) == 0 &&
	    n4j_backup_status_json(&bs, &out, &err) == 0)
		cJSON_Delete(out);
	n4j_arena_free(a);
	cJSON_Delete(j);
	return 0;
}
