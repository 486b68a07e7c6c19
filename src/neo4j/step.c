/*
 * n4j_step_run: exactly one Neo4j administration step on the `system` leader.
 *
 * Every value from the spec or from Neo4j travels as a parameter, the topology counts too
 * (Neo4j 5.26's parser takes them: tests/neo4j/test_neo4j_env.c), after checks against
 * Neo4j's own limits (1-11 primaries, 0-20 secondaries). DEALLOCATE and REALLOCATE are
 * irreversible, so their DRYRUN runs first and any copy without a destination stops the
 * step with nothing changed.
 */
#include "neo4j/io.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct n4j_bolt_value *params(struct n4j_arena *a, const char *k1, const char *v1,
				     const char *k2, const char *v2)
{
	struct n4j_bolt_value *m = n4j_bolt_map_new(a, k2 ? 2 : 1);
	if (!m)
		return NULL;
	n4j_bolt_map_set(m, 0, k1, n4j_bolt_str(v1));
	if (k2)
		n4j_bolt_map_set(m, 1, k2, n4j_bolt_str(v2));
	return m;
}

/* The failure in words a human can act on; the server's message never holds a secret of
 * ours (parameters are not echoed back in administration failures). */
static int failed(int rc, const struct n4j_bolt_failure *f, struct n4j_error *err, const char *what)
{
	char msg[N4J_ERROR_MAX];
	snprintf(msg, sizeof msg, "%s", err->msg);
	if (rc == N4J_EBOLT_FAILURE && f->cls == N4J_BOLT_CLASS_UNSUPPORTED)
		return n4j_err(err, rc,
			       "%s: this Neo4j has no such command (Community edition?): %s", what,
			       msg);
	if (f->cls == N4J_BOLT_CLASS_UNKNOWN)
		return n4j_err(err, rc, "%s: outcome unknown, the next observation tells: %s", what,
			       msg);
	return n4j_err(err, rc, "%s: %s", what, msg);
}

static int run(struct n4j_neo4j *n, struct n4j_arena *a, const char *what, const char *text,
	       const struct n4j_bolt_value *p, struct n4j_bolt_result *res,
	       struct n4j_bolt_failure *f, struct n4j_error *err)
{
	if (!p)
		return n4j_err(err, N4J_ENOMEM, "neo4j: out of memory");
	int rc = n4j_io_query(n, a, N4J_IO_LEADER, text, p, res, f, err);
	return rc ? failed(rc, f, err, what) : 0;
}

static int need_uuid(const struct n4j_step *s, const char *what, struct n4j_error *err)
{
	if (!n4j_io_is_uuid(s->server_id))
		return n4j_err(err, N4J_EINVAL, "%s: server id \"%.64s\" is not a UUID", what,
			       s->server_id ? s->server_id : "(none)");
	return 0;
}

static int need_name(const char *v, const char *field, const char *what, struct n4j_error *err)
{
	/* Neo4j's names are at most 63 characters (database and alias alike) */
	if (!v || !*v || strlen(v) > 63)
		return n4j_err(err, N4J_EINVAL, "%s: %s \"%.64s\" is not a valid name", what, field,
			       v ? v : "(none)");
	return 0;
}

static int need_topology(const struct n4j_step *s, const char *what, struct n4j_error *err)
{
	if (s->primaries < 1 || s->primaries > 11 || s->secondaries < 0 || s->secondaries > 20)
		return n4j_err(err, N4J_EINVAL,
			       "%s: topology %d primaries %d secondaries is outside 1-11 / 0-20",
			       what, s->primaries, s->secondaries);
	return 0;
}

/*
 * Reads a DRYRUN's rows; N4J_EINVAL naming each copy that has no destination. A DRYRUN
 * that Neo4j itself refuses (a 1-primary database on the server, a topology the rest
 * cannot hold) is the same refusal: nothing was changed, the spec must change first.
 */
static int dryrun(struct n4j_neo4j *n, struct n4j_arena *a, const char *what, const char *text,
		  const struct n4j_bolt_value *p, size_t *moves, struct n4j_error *err)
{
	struct n4j_bolt_result r;
	struct n4j_bolt_failure f;
	*moves = 0;
	if (!p)
		return n4j_err(err, N4J_ENOMEM, "neo4j: out of memory");
	int rc = n4j_io_query(n, a, N4J_IO_LEADER, text, p, &r, &f, err);
	if (rc == N4J_EBOLT_FAILURE && f.cls == N4J_BOLT_CLASS_CLIENT)
		return n4j_err(err, N4J_EINVAL, "%s refused by its DRYRUN, nothing changed: %s: %s",
			       what, f.code, f.message);
	if (rc)
		return failed(rc, &f, err, what);
	struct n4j_buf b;
	n4j_buf_init(&b);
	size_t stuck = 0;
	for (size_t i = 0; i < r.nrows; i++) {
		const char *to = n4j_io_str(&r, i, "toServerId");
		if (to && *to)
			continue;
		const char *db = n4j_io_str(&r, i, "database");
		const char *from = n4j_io_str(&r, i, "fromServerId");
		const char *mode = n4j_io_str(&r, i, "mode");
		if (stuck++ < 4)
			n4j_buf_printf(&b, "%s%.63s (%.16s) on %.36s", stuck > 1 ? ", " : "",
				       db ? db : "?", mode ? mode : "?", from ? from : "?");
	}
	*moves = r.nrows;
	if (stuck == 0) {
		n4j_buf_free(&b);
		return 0;
	}
	rc = n4j_err(err, N4J_EINVAL,
		     "%s refused, nothing changed: its DRYRUN finds no destination for %zu "
		     "cop%s: %s%s",
		     what, stuck, stuck == 1 ? "y" : "ies", b.oom ? "?" : n4j_buf_cstr(&b),
		     stuck > 4 ? ", …" : "");
	n4j_buf_free(&b);
	return rc;
}

static int enable(struct n4j_neo4j *n, struct n4j_arena *a, const struct n4j_step *s,
		  struct n4j_error *err)
{
	const char *what = "ENABLE SERVER";
	struct n4j_bolt_result r;
	struct n4j_bolt_failure f;
	int rc = need_uuid(s, what, err);
	if (rc)
		return rc;
	if (!s->mode)
		return run(n, a, what, "ENABLE SERVER $id",
			   params(a, "id", s->server_id, NULL, NULL), &r, &f, err);
	if (strcmp(s->mode, "NONE") != 0 && strcmp(s->mode, "PRIMARY") != 0 &&
	    strcmp(s->mode, "SECONDARY") != 0)
		return n4j_err(err, N4J_EINVAL,
			       "%s: mode \"%.32s\" is not NONE, PRIMARY or SECONDARY", what,
			       s->mode);
	return run(n, a, what, "ENABLE SERVER $id OPTIONS {modeConstraint: $mode}",
		   params(a, "id", s->server_id, "mode", s->mode), &r, &f, err);
}

/* Cordoning twice is no error of ours: a refused cordon of an already Cordoned server is
 * success (the reconcile may have been cut between the step and its status write). */
static int cordon(struct n4j_neo4j *n, struct n4j_arena *a, const struct n4j_step *s,
		  struct n4j_error *err)
{
	const char *what = "CORDON SERVER";
	struct n4j_bolt_result r;
	struct n4j_bolt_failure f;
	int rc = need_uuid(s, what, err);
	if (rc)
		return rc;
	const struct n4j_bolt_value *p = params(a, "id", s->server_id, NULL, NULL);
	rc = run(n, a, what, "CALL dbms.cluster.cordonServer($id)", p, &r, &f, err);
	if (rc != N4J_EBOLT_FAILURE || f.cls != N4J_BOLT_CLASS_CLIENT)
		return rc;
	struct n4j_error e2;
	struct n4j_bolt_result st;
	if (n4j_io_query(n, a, N4J_IO_LEADER,
			 "SHOW SERVERS YIELD serverId, state WHERE serverId = $id", p, &st, NULL,
			 &e2) == 0 &&
	    st.nrows == 1) {
		const char *state = n4j_io_str(&st, 0, "state");
		if (state && strcmp(state, "Cordoned") == 0)
			return 0;
	}
	return rc;
}

static int deallocate(struct n4j_neo4j *n, struct n4j_arena *a, const struct n4j_step *s,
		      struct n4j_error *err)
{
	const char *what = "DEALLOCATE DATABASES";
	struct n4j_bolt_result r;
	struct n4j_bolt_failure f;
	int rc = need_uuid(s, what, err);
	if (rc)
		return rc;
	const struct n4j_bolt_value *p = params(a, "id", s->server_id, NULL, NULL);
	size_t moves;
	rc = dryrun(n, a, what, "DRYRUN DEALLOCATE DATABASES FROM SERVER $id", p, &moves, err);
	if (rc)
		return rc;
	return run(n, a, what, "DEALLOCATE DATABASES FROM SERVER $id", p, &r, &f, err);
}

static int reallocate(struct n4j_neo4j *n, struct n4j_arena *a, struct n4j_error *err)
{
	const char *what = "REALLOCATE DATABASES";
	struct n4j_bolt_result r;
	struct n4j_bolt_failure f;
	struct n4j_bolt_value *none = n4j_bolt_map_new(a, 0);
	size_t moves;
	int rc = dryrun(n, a, what, "DRYRUN REALLOCATE DATABASES", none, &moves, err);
	if (rc)
		return rc;
	if (moves == 0)
		return 0; /* balanced already: nothing would move */
	return run(n, a, what, "REALLOCATE DATABASES", none, &r, &f, err);
}

static int topology(struct n4j_neo4j *n, struct n4j_arena *a, const struct n4j_step *s, bool create,
		    struct n4j_error *err)
{
	const char *what = create ? "CREATE DATABASE" : "ALTER DATABASE SET TOPOLOGY";
	struct n4j_bolt_result r;
	struct n4j_bolt_failure f;
	int rc = need_name(s->database, "database", what, err);
	if (!rc)
		rc = need_topology(s, what, err);
	if (rc)
		return rc;
	struct n4j_bolt_value *p = n4j_bolt_map_new(a, 3);
	if (p) {
		n4j_bolt_map_set(p, 0, "db", n4j_bolt_str(s->database));
		n4j_bolt_map_set(p, 1, "p", n4j_bolt_int(s->primaries));
		n4j_bolt_map_set(p, 2, "s", n4j_bolt_int(s->secondaries));
	}
	return run(n, a, what,
		   create ? "CREATE DATABASE $db IF NOT EXISTS TOPOLOGY $p PRIMARIES $s SECONDARIES"
			  : "ALTER DATABASE $db SET TOPOLOGY $p PRIMARIES $s SECONDARIES",
		   p, &r, &f, err);
}

/* Seed URIs are the user's: checked for shape only (a scheme, no control characters);
 * Neo4j and its seed providers judge the rest. */
static int need_uri(const char *v, const char *what, struct n4j_error *err)
{
	bool ok = v && strstr(v, "://") && strlen(v) <= 2048;
	for (const char *p = v; ok && *p; p++)
		ok = (unsigned char)*p >= 0x20 && *p != 0x7f;
	if (!ok)
		return n4j_err(err, N4J_EINVAL, "%s: seed URI \"%.64s\" is not a URI", what,
			       v ? v : "(none)");
	return 0;
}

/*
 * CREATE DATABASE … OPTIONS {existingData: 'use', seedURI: $uri[, seedRestoreUntil: $until]}:
 * existingData is required by Cypher 5 and ignored by Cypher 25, so it is always sent. A
 * restoreUntil of digits is a transaction id (an integer for Neo4j), anything else the
 * "YYYY-MM-DD HH:MM:SS" UTC string, as the API validated it. IF NOT EXISTS: re-running
 * never touches a database that is already there.
 */
static int seed_create(struct n4j_neo4j *n, struct n4j_arena *a, const struct n4j_step *s,
		       struct n4j_error *err)
{
	const char *what = "CREATE DATABASE (seeded)";
	struct n4j_bolt_result r;
	struct n4j_bolt_failure f;
	int rc = need_name(s->database, "database", what, err);
	if (!rc)
		rc = need_topology(s, what, err);
	if (!rc)
		rc = need_uri(s->seed_uri, what, err);
	if (rc)
		return rc;
	struct n4j_bolt_value *p = n4j_bolt_map_new(a, s->seed_until ? 5 : 4);
	if (p) {
		n4j_bolt_map_set(p, 0, "db", n4j_bolt_str(s->database));
		n4j_bolt_map_set(p, 1, "p", n4j_bolt_int(s->primaries));
		n4j_bolt_map_set(p, 2, "s", n4j_bolt_int(s->secondaries));
		n4j_bolt_map_set(p, 3, "uri", n4j_bolt_str(s->seed_uri));
		if (s->seed_until) {
			const char *u = s->seed_until;
			bool digits = *u != '\0' && strspn(u, "0123456789") == strlen(u) &&
				      strlen(u) <= 18;
			n4j_bolt_map_set(p, 4, "until",
					 digits ? n4j_bolt_int(strtoll(u, NULL, 10))
						: n4j_bolt_str(u));
		}
	}
	return run(n, a, what,
		   s->seed_until ? "CREATE DATABASE $db IF NOT EXISTS TOPOLOGY $p PRIMARIES $s "
				   "SECONDARIES OPTIONS {existingData: 'use', seedURI: $uri, "
				   "seedRestoreUntil: $until}"
				 : "CREATE DATABASE $db IF NOT EXISTS TOPOLOGY $p PRIMARIES $s "
				   "SECONDARIES OPTIONS {existingData: 'use', seedURI: $uri}",
		   p, &r, &f, err);
}

/* The recreate procedure: the database keeps its name and privileges, its store is
 * replaced by the seed. Not idempotent: the planner asks once per restore key. */
static int recreate(struct n4j_neo4j *n, struct n4j_arena *a, const struct n4j_step *s,
		    struct n4j_error *err)
{
	const char *what = "RECREATE DATABASE";
	struct n4j_bolt_result r;
	struct n4j_bolt_failure f;
	int rc = need_name(s->database, "database", what, err);
	if (!rc)
		rc = need_uri(s->seed_uri, what, err);
	if (rc)
		return rc;
	/* The statement names the procedure: only the two names Neo4j has, never a value. */
	const char *text;
	if (s->procedure && strcmp(s->procedure, "dbms.recreateDatabase") == 0)
		text = "CALL dbms.recreateDatabase($db, {seedURI: $uri})";
	else if (s->procedure && strcmp(s->procedure, "dbms.cluster.recreateDatabase") == 0)
		text = "CALL dbms.cluster.recreateDatabase($db, {seedURI: $uri})";
	else
		return n4j_err(err, N4J_EINVAL,
			       "%s: procedure \"%.64s\" is not a recreate procedure", what,
			       s->procedure ? s->procedure : "(none)");
	return run(n, a, what, text, params(a, "db", s->database, "uri", s->seed_uri), &r, &f, err);
}

static int alias(struct n4j_neo4j *n, struct n4j_arena *a, const struct n4j_step *s, bool create,
		 struct n4j_error *err)
{
	const char *what = create ? "CREATE ALIAS" : "ALTER ALIAS";
	struct n4j_bolt_result r;
	struct n4j_bolt_failure f;
	int rc = need_name(s->alias, "alias", what, err);
	if (!rc)
		rc = need_name(s->database, "database", what, err);
	if (rc)
		return rc;
	return run(n, a, what,
		   create ? "CREATE ALIAS $alias IF NOT EXISTS FOR DATABASE $db"
			  : "ALTER ALIAS $alias SET DATABASE TARGET $db",
		   params(a, "alias", s->alias, "db", s->database), &r, &f, err);
}

static int step_run(struct n4j_neo4j *n, struct n4j_arena *a, const struct n4j_step *s,
		    struct n4j_error *err)
{
	struct n4j_bolt_result r;
	struct n4j_bolt_failure f;
	switch (s->kind) {
	case N4J_STEP_ENABLE_SERVER:
	case N4J_STEP_CORDON_SERVER:
	case N4J_STEP_DEALLOCATE:
	case N4J_STEP_DROP_SERVER:
	case N4J_STEP_CREATE_DATABASE:
	case N4J_STEP_ALTER_TOPOLOGY:
	case N4J_STEP_CREATE_ALIAS:
	case N4J_STEP_ALTER_ALIAS:
	case N4J_STEP_REALLOCATE:
	case N4J_STEP_SEED_CREATE:
	case N4J_STEP_RECREATE:
		break;
	default:
		return n4j_err(err, N4J_EINVAL, "neo4j: step %d is not a Neo4j step", (int)s->kind);
	}
	if (!n->enterprise)
		return n4j_err(err, N4J_EINVAL,
			       "neo4j: Community edition has no cluster administration (step %d)",
			       (int)s->kind);
	switch (s->kind) {
	case N4J_STEP_ENABLE_SERVER:
		return enable(n, a, s, err);
	case N4J_STEP_CORDON_SERVER:
		return cordon(n, a, s, err);
	case N4J_STEP_DEALLOCATE:
		return deallocate(n, a, s, err);
	case N4J_STEP_DROP_SERVER: {
		int rc = need_uuid(s, "DROP SERVER", err);
		return rc ? rc
			  : run(n, a, "DROP SERVER", "DROP SERVER $id",
				params(a, "id", s->server_id, NULL, NULL), &r, &f, err);
	}
	case N4J_STEP_CREATE_DATABASE:
		return topology(n, a, s, true, err);
	case N4J_STEP_ALTER_TOPOLOGY:
		return topology(n, a, s, false, err);
	case N4J_STEP_CREATE_ALIAS:
		return alias(n, a, s, true, err);
	case N4J_STEP_ALTER_ALIAS:
		return alias(n, a, s, false, err);
	case N4J_STEP_REALLOCATE:
		return reallocate(n, a, err);
	case N4J_STEP_SEED_CREATE:
		return seed_create(n, a, s, err);
	case N4J_STEP_RECREATE:
		return recreate(n, a, s, err);
	default:
		return N4J_EINVAL; /* unreachable: filtered above */
	}
}

int n4j_step_run(struct n4j_neo4j *n, struct n4j_arena *a, const struct n4j_step *s,
		 struct n4j_error *err)
{
	n4j_io_note(n, 0, NULL);
	int rc = step_run(n, a, s, err);
	if (!rc) /* a query the step recovered from (a fallback) is not its error */
		n4j_io_note(n, 0, NULL);
	return rc;
}

bool n4j_step_refused(int rc)
{
	return rc == N4J_EBOLT_FAILURE || rc == N4J_EINVAL;
}
