/*
 * FAILURE metadata as Neo4j 5.26 sends it (reference/bolt.md 5.1): `code` + `message`
 * below Bolt 5.7; from 5.7 `neo4j_code`, `message`, `gql_status`, `description` and a
 * `diagnostic_record`. Drivers show `description` as the GQL status description and treat
 * a FAILURE without one as the unknown status 50N42, so every status the simulator sends
 * has its description here, worded as Neo4j's status-code documentation words it
 * (neo4j/docs-status-codes, modules/ROOT/pages/errors/gql-errors/<status>.adoc).
 */
#include "sim.h"

#include <string.h>

/* Where a documented description has a parameter (`{ <<db>> }`), only the sentence
 * before it is kept: the simulator's message names the value. */
static const struct {
	const char *gql, *description;
} descriptions[] = {
	{"08N06", "error: connection exception - protocol error. General network protocol error."},
	{"08N07", "error: connection exception - not the leader. This member is not the leader."},
	{"08N09", "error: connection exception - database unavailable"},
	{"22G03", "error: data exception - invalid value type"},
	{"22N00", "error: data exception - unsupported value. The provided value is unsupported "
		  "and cannot be processed."},
	{"22N51", "error: data exception - graph reference not found"},
	{"42001", "error: syntax error or access rule violation - invalid syntax"},
	{"42N08", "error: syntax error or access rule violation - no such procedure"},
	{"42N11", "error: syntax error or access rule violation - graph reference already exists"},
	{"42N51", "error: syntax error or access rule violation - invalid parameter"},
	{"42NFF", "error: syntax error or access rule violation - permission/access denied. "
		  "Access denied, see the security logs for details."},
	{"50N42", "error: general processing exception - unexpected error. Unexpected error has "
		  "occurred. See debug log for details."},
	{"51N28", "error: system configuration or operation exception - not supported by this "
		  "database"},
};

const char *sim_gql_description(const char *gql)
{
	for (size_t i = 0; i < sizeof descriptions / sizeof descriptions[0]; i++)
		if (strcmp(descriptions[i].gql, gql) == 0)
			return descriptions[i].description;
	return NULL;
}

int sim_failure_meta(struct n4j_arena *a, uint16_t version, const char *code, const char *gql,
		     const char *msg, struct n4j_bolt_value *out)
{
	if (version < N4J_BOLT_V(5, 7)) {
		struct n4j_bolt_value *m = n4j_bolt_map_new(a, 2);
		if (!m)
			return -1;
		n4j_bolt_map_set(m, 0, "code", n4j_bolt_str(code));
		n4j_bolt_map_set(m, 1, "message", n4j_bolt_str(msg));
		*out = *m;
		return 0;
	}
	const char *desc = sim_gql_description(gql);
	if (!desc) { /* an undocumented status would read as 50N42 anyway: say so */
		gql = "50N42";
		desc = sim_gql_description(gql);
	}
	const char *cls = strncmp(code, "Neo.TransientError.", 19) == 0  ? "TRANSIENT_ERROR"
			  : strncmp(code, "Neo.DatabaseError.", 18) == 0 ? "DATABASE_ERROR"
									 : "CLIENT_ERROR";
	struct n4j_bolt_value *diag = n4j_bolt_map_new(a, 4);
	struct n4j_bolt_value *m = n4j_bolt_map_new(a, 5);
	if (!diag || !m)
		return -1;
	n4j_bolt_map_set(diag, 0, "OPERATION", n4j_bolt_str(""));
	n4j_bolt_map_set(diag, 1, "OPERATION_CODE", n4j_bolt_str("0"));
	n4j_bolt_map_set(diag, 2, "CURRENT_SCHEMA", n4j_bolt_str("/"));
	n4j_bolt_map_set(diag, 3, "_classification", n4j_bolt_str(cls));
	n4j_bolt_map_set(m, 0, "neo4j_code", n4j_bolt_str(code));
	n4j_bolt_map_set(m, 1, "message", n4j_bolt_str(msg));
	n4j_bolt_map_set(m, 2, "gql_status", n4j_bolt_str(gql));
	n4j_bolt_map_set(m, 3, "description", n4j_bolt_str(desc));
	n4j_bolt_map_set(m, 4, "diagnostic_record", *diag);
	*out = *m;
	return 0;
}
