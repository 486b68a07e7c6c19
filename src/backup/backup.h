/*
 * backup: what a backup Job does after neo4j-admin has written its artifacts —
 * retention (pure planner) and the object stores it prunes (a directory, S3,
 * Azure Blob, GCS), run by `neo4j-operator backup-retention` inside the Job.
 *
 * The planner keeps no globals and does no I/O. The stores talk HTTP through
 * libcurl and sign requests with OpenSSL; credentials come from the environment
 * and files exactly as docs/backup-restore.md tells users to provide them, and
 * never appear in errors or logs.
 */
#ifndef N4J_BACKUP_H
#define N4J_BACKUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/util.h"

/* ---- artifacts ------------------------------------------------------------- */

/* One backup artifact: `<db>-YYYY-MM-DDTHH-MM-SS.backup` directly under the target. */
struct n4j_artifact {
	const char *name;     /* object/file name without the target prefix */
	const char *database; /* from the name */
	int64_t time;         /* UTC epoch seconds, from the name */
	int64_t size_bytes;   /* from the listing; -1 when unknown */
	bool full;            /* from inspect */
	bool inspected;       /* listed by inspect (unlisted ones are never pruned) */
	int64_t lowest_tx, highest_tx;
};

/* Parses an artifact name; N4J_EINVAL when it is not one (such files are never touched). */
int n4j_artifact_parse_name(const char *name, const char **db_out, size_t *db_len,
			    int64_t *time_out);

/* Merges `neo4j-admin backup inspect --format=json` output into a listing (sets full,
 * inspected, tx range by name). Malformed input: N4J_EPARSE, listing untouched. */
int n4j_inspect_merge(const char *json, size_t len, struct n4j_artifact *arts, size_t n,
		      struct n4j_error *err);

/* ---- retention (pure) --------------------------------------------------------- */

struct n4j_retention {
	int keep_last, daily, weekly, monthly; /* 0 = rule off */
	int64_t max_age_s;                     /* 0 = no age limit */
};

/* "90d", "12h", "2w" → seconds; N4J_EINVAL otherwise. */
int n4j_retention_parse_age(const char *s, int64_t *out);

/*
 * Decides, for the artifacts of ONE database, which to delete: keep[i] is set
 * true/false for every artifact. Rules: docs/backup-restore.md "Retention"
 * (union of keepLast/daily/weekly/monthly, maxAge, chain closure, the newest
 * chain never pruned, unparsed or uninspected artifacts never pruned).
 * `arts` need not be sorted. `now` in UTC epoch seconds.
 */
int n4j_retention_plan(const struct n4j_retention *r, const struct n4j_artifact *arts, size_t n,
		       int64_t now, bool *keep, struct n4j_error *err);

/* ---- stores ------------------------------------------------------------------ */

struct n4j_store;

/*
 * Opens the store behind a target: "/backups" (a directory) or s3://bucket/prefix,
 * gs://bucket/prefix, azb://account/container/prefix. Credentials and endpoints
 * from the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN,
 * AWS_REGION, AWS_ENDPOINT_URL_S3; GOOGLE_APPLICATION_CREDENTIALS,
 * STORAGE_EMULATOR_HOST; AZURE_STORAGE_ACCOUNT_NAME, AZURE_STORAGE_ACCOUNT_KEY,
 * AZURE_STORAGE_BLOB_ENDPOINT).
 */
int n4j_store_open(const char *target, struct n4j_store **out, struct n4j_error *err);
void n4j_store_close(struct n4j_store *s);

/* Every object/file directly under the prefix (names without the prefix), with sizes.
 * *out is malloc'd; names are owned by the store until close. */
int n4j_store_list(struct n4j_store *s, struct n4j_artifact **out, size_t *n,
		   struct n4j_error *err);
int n4j_store_delete(struct n4j_store *s, const char *name, struct n4j_error *err);

#endif
