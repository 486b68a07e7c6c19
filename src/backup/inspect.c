/*
 * `neo4j-admin backup inspect --format=json` → the listing. The backup container and
 * retention agree on an array of {"name","database","time","full","lowestTx","highestTx",
 * "sizeBytes"?} (docs/backup-restore.md); other keys are tolerated so that a newer
 * neo4j-admin adding fields does not stop pruning. Anything else is malformed: nothing is
 * merged, and the caller prunes nothing (an artifact we cannot classify is never deleted).
 */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "backup/backup.h"

struct row {
	const char *name;
	bool full;
	int64_t lowest, highest, size;
};

/* An optional non-negative integer field; false when present but not one. */
static bool opt_int(const cJSON *o, const char *key, int64_t *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	*out = -1;
	if (!v || cJSON_IsNull(v))
		return true;
	if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0) || v->valuedouble > 9.0e15 ||
	    v->valuedouble != (double)(int64_t)v->valuedouble)
		return false;
	*out = (int64_t)v->valuedouble;
	return true;
}

int n4j_inspect_merge(const char *json, size_t len, struct n4j_artifact *arts, size_t n,
		      struct n4j_error *err)
{
	if (!json)
		return n4j_err(err, N4J_EPARSE, "inspect: no input");
	if (len > N4J_MAX_DOC_BYTES)
		return n4j_err(err, N4J_ELIMIT, "inspect: %zu bytes, more than the %u allowed", len,
			       N4J_MAX_DOC_BYTES);
	cJSON *doc = cJSON_ParseWithLength(json, len);
	if (!doc)
		return n4j_err(err, N4J_EPARSE, "inspect: not JSON");
	int rc = 0;
	struct row *rows = NULL;
	if (!cJSON_IsArray(doc)) {
		rc = n4j_err(err, N4J_EPARSE, "inspect: not a JSON array");
		goto out;
	}
	int m = cJSON_GetArraySize(doc);
	rows = calloc(m > 0 ? (size_t)m : 1, sizeof(*rows));
	if (!rows) {
		rc = n4j_err(err, N4J_ENOMEM, "inspect: out of memory");
		goto out;
	}
	/* Validate everything first: the listing is untouched on malformed input. */
	int i = 0;
	const cJSON *e;
	cJSON_ArrayForEach(e, doc)
	{
		const cJSON *nm = cJSON_GetObjectItemCaseSensitive(e, "name");
		const cJSON *full = cJSON_GetObjectItemCaseSensitive(e, "full");
		const cJSON *db = cJSON_GetObjectItemCaseSensitive(e, "database");
		if (!cJSON_IsObject(e) || !cJSON_IsString(nm) || !nm->valuestring[0] ||
		    !cJSON_IsBool(full) || (db && !cJSON_IsString(db))) {
			rc = n4j_err(err, N4J_EPARSE,
				     "inspect: entry %d needs a string \"name\" and a boolean "
				     "\"full\"",
				     i);
			goto out;
		}
		/* Some neo4j-admin versions print paths or URIs: the artifact is the last
		 * segment (inspect runs on the very target retention lists). */
		const char *slash = strrchr(nm->valuestring, '/');
		rows[i].name = slash ? slash + 1 : nm->valuestring;
		rows[i].full = cJSON_IsTrue(full);
		if (!opt_int(e, "lowestTx", &rows[i].lowest) ||
		    !opt_int(e, "highestTx", &rows[i].highest) ||
		    !opt_int(e, "sizeBytes", &rows[i].size)) {
			rc = n4j_err(err, N4J_EPARSE,
				     "inspect: entry %d: lowestTx, highestTx and sizeBytes must be "
				     "non-negative integers",
				     i);
			goto out;
		}
		/* A name inspect reports under another database than the name says would
		 * make us misclassify a chain: refuse. */
		const char *adb;
		size_t adb_len;
		if (db && n4j_artifact_parse_name(rows[i].name, &adb, &adb_len, NULL) == 0 &&
		    (strlen(db->valuestring) != adb_len ||
		     strncmp(db->valuestring, adb, adb_len) != 0)) {
			rc = n4j_err(err, N4J_EPARSE,
				     "inspect: entry %d: database does not match its name", i);
			goto out;
		}
		i++;
	}
	for (size_t a = 0; a < n; a++) {
		for (int r = 0; r < m; r++) {
			if (!arts[a].name || strcmp(arts[a].name, rows[r].name) != 0)
				continue;
			arts[a].inspected = true;
			arts[a].full = rows[r].full;
			arts[a].lowest_tx = rows[r].lowest;
			arts[a].highest_tx = rows[r].highest;
			if (arts[a].size_bytes < 0 && rows[r].size >= 0)
				arts[a].size_bytes = rows[r].size;
			break;
		}
	}
out:
	free(rows);
	cJSON_Delete(doc);
	return rc;
}
