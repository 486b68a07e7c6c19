/* Private to the I/O half of src/neo4j (conn.c, queries.c, observe.c, step.c): the handle
 * and the query helpers. The only header of this folder that includes bolt.h; plan.c and
 * the controller never include it. */
#ifndef N4J_NEO4J_IO_H
#define N4J_NEO4J_IO_H

#include "bolt/bolt.h"
#include "neo4j/neo4j.h"

struct n4j_neo4j {
	struct n4j_bolt_cluster *cl;
	bool enterprise;
	bool tls;
	size_t n_seeds;
	char **seeds; /* NULL-ended, owned: the Bolt cluster config borrows them */
	char *user;
	char *password; /* owned; wiped before it is freed */
	char *ca_file;
	n4j_neo4j_resolver resolve;
	void *resolve_ctx;
	int timeout_ms;
	/* The last failed query or ROUTE of the running observe / step (n4j_neo4j_last_error):
	 * used by one thread at a time, as the handle is. */
	int last_rc;
	char last_code[128];
};

/* Records a failed query (rc != 0; f may be NULL) as the handle's last error; rc 0 clears. */
void n4j_io_note(struct n4j_neo4j *n, int rc, const struct n4j_bolt_failure *f);

/* Where a query goes: the `system` leader (re-routed on NotALeader, retried), or the first
 * seed that answers (reads when there is no leader; Community's one server). */
enum n4j_io_target {
	N4J_IO_LEADER,
	N4J_IO_ANY_SEED,
};

/*
 * Runs text with params on `system`. On N4J_EBOLT_FAILURE, *f (if not NULL) receives the
 * server's failure; otherwise *f is zeroed with its class from the return code.
 */
int n4j_io_query(struct n4j_neo4j *n, struct n4j_arena *a, enum n4j_io_target to, const char *text,
		 const struct n4j_bolt_value *params, struct n4j_bolt_result *res,
		 struct n4j_bolt_failure *f, struct n4j_error *err);

/* Cells of a row by column name: NULL / false / def when the column is absent, NULL or of
 * another type. */
const struct n4j_bolt_value *n4j_io_cell(const struct n4j_bolt_result *r, size_t row,
					 const char *col);
const char *n4j_io_str(const struct n4j_bolt_result *r, size_t row, const char *col);
bool n4j_io_bool(const struct n4j_bolt_result *r, size_t row, const char *col);
int n4j_io_int(const struct n4j_bolt_result *r, size_t row, const char *col, int def);
/* A list of strings (non-string items skipped) copied into an arena array; -ENOMEM only. */
int n4j_io_strlist(struct n4j_arena *a, const struct n4j_bolt_result *r, size_t row,
		   const char *col, const char ***out, size_t *n);

/* A serverId as Neo4j makes them: a UUID, 8-4-4-4-12 hex digits. */
bool n4j_io_is_uuid(const char *s);

#endif
