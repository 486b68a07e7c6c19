/* Running one statement on `system` and reading its rows by column name. Rows come from
 * another program: every accessor tolerates a missing column, NULL and a wrong type. */
#include "neo4j/io.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

static void failure_from_rc(int rc, struct n4j_bolt_failure *f)
{
	memset(f, 0, sizeof *f);
	f->cls = n4j_bolt_classify(rc, NULL);
}

/* One attempt on each seed in turn: a dead pod must not hide the others. */
static int query_any_seed(struct n4j_neo4j *n, struct n4j_arena *a, const struct n4j_bolt_query *q,
			  struct n4j_bolt_result *res, struct n4j_bolt_failure *f,
			  struct n4j_error *err)
{
	int rc = n4j_err(err, N4J_EBOLT_CONNECT, "neo4j: no server address");
	for (size_t i = 0; i < n->n_seeds; i++) {
		struct n4j_bolt_conn *c;
		rc = n4j_bolt_cluster_get(n->cl, n->seeds[i], &c, err);
		if (rc) {
			if (rc == N4J_EBOLT_FAILURE)
				n4j_bolt_cluster_last_failure(n->cl, f);
			else
				failure_from_rc(rc, f);
			/* a refused login is the same on every server: do not hammer them */
			if (f->cls == N4J_BOLT_CLASS_AUTH)
				return rc;
			continue;
		}
		rc = n4j_bolt_query(c, a, q, res, err);
		if (rc == N4J_EBOLT_FAILURE)
			*f = *n4j_bolt_last_failure(c);
		else
			failure_from_rc(rc, f);
		n4j_bolt_cluster_put(n->cl, c);
		/* the server answered: its answer stands, even a FAILURE */
		if (rc == 0 || rc == N4J_EBOLT_FAILURE || rc == N4J_ENOMEM)
			return rc;
	}
	return rc;
}

int n4j_io_query(struct n4j_neo4j *n, struct n4j_arena *a, enum n4j_io_target to, const char *text,
		 const struct n4j_bolt_value *params, struct n4j_bolt_result *res,
		 struct n4j_bolt_failure *f, struct n4j_error *err)
{
	struct n4j_bolt_failure local;
	if (!f)
		f = &local;
	memset(f, 0, sizeof *f);
	memset(res, 0, sizeof *res);
	struct n4j_bolt_query q = {.db = "system", .text = text, .params = params};
	int rc;
	if (to == N4J_IO_ANY_SEED) {
		rc = query_any_seed(n, a, &q, res, f, err);
	} else {
		rc = n4j_bolt_cluster_query(n->cl, a, &q, res, err);
		if (rc == N4J_EBOLT_FAILURE)
			n4j_bolt_cluster_last_failure(n->cl, f);
		else
			failure_from_rc(rc, f);
		/* the write lost mid-flight keeps its UNKNOWN class from the cluster handle */
		if (rc == N4J_EBOLT_CLOSED || rc == N4J_EBOLT_TIMEOUT) {
			struct n4j_bolt_failure g;
			n4j_bolt_cluster_last_failure(n->cl, &g);
			if (g.cls == N4J_BOLT_CLASS_UNKNOWN)
				*f = g;
		}
	}
	if (rc)
		n4j_io_note(n, rc, f);
	return rc;
}

void n4j_io_note(struct n4j_neo4j *n, int rc, const struct n4j_bolt_failure *f)
{
	n->last_rc = rc;
	n->last_code[0] = '\0';
	if (rc == N4J_EBOLT_FAILURE && f)
		snprintf(n->last_code, sizeof n->last_code, "%s", f->code);
}

enum n4j_neo4j_error_kind n4j_neo4j_last_error(const struct n4j_neo4j *n, const char **code)
{
	if (code)
		*code = n && n->last_rc == N4J_EBOLT_FAILURE ? n->last_code : "";
	if (!n)
		return N4J_NEO4J_ERR_NONE;
	switch (n->last_rc) {
	case N4J_EBOLT_FAILURE:
		return N4J_NEO4J_ERR_FAILURE;
	case N4J_EBOLT_TIMEOUT:
	case N4J_EBOLT_CLOSED:
	case N4J_EBOLT_TLS:
	case N4J_EBOLT_CONNECT:
	case N4J_EIO:
	case N4J_ENOTFOUND: /* the advertised name has no pod IP: nothing to dial */
		return N4J_NEO4J_ERR_NETWORK;
	case N4J_EBOLT_PROTOCOL:
	case N4J_EBOLT_VERSION:
	case N4J_EBOLT_STATE:
	case N4J_EPARSE:
	case N4J_ELIMIT:
		return N4J_NEO4J_ERR_PROTOCOL;
	default:
		return N4J_NEO4J_ERR_NONE;
	}
}

const struct n4j_bolt_value *n4j_io_cell(const struct n4j_bolt_result *r, size_t row,
					 const char *col)
{
	int c = n4j_bolt_field(r, col);
	if (c < 0 || row >= r->nrows)
		return NULL;
	const struct n4j_bolt_value *l = &r->rows[row];
	if (l->type != N4J_BOLT_LIST || (uint32_t)c >= l->u.list.len)
		return NULL;
	return &l->u.list.items[c];
}

const char *n4j_io_str(const struct n4j_bolt_result *r, size_t row, const char *col)
{
	const struct n4j_bolt_value *v = n4j_io_cell(r, row, col);
	return v ? n4j_bolt_as_str(v) : NULL;
}

bool n4j_io_bool(const struct n4j_bolt_result *r, size_t row, const char *col)
{
	const struct n4j_bolt_value *v = n4j_io_cell(r, row, col);
	return v && v->type == N4J_BOLT_BOOL && v->u.b;
}

int n4j_io_int(const struct n4j_bolt_result *r, size_t row, const char *col, int def)
{
	const struct n4j_bolt_value *v = n4j_io_cell(r, row, col);
	if (!v || v->type != N4J_BOLT_INT || v->u.i < 0 || v->u.i > 1000000)
		return def;
	return (int)v->u.i;
}

int n4j_io_strlist(struct n4j_arena *a, const struct n4j_bolt_result *r, size_t row,
		   const char *col, const char ***out, size_t *n)
{
	*out = NULL;
	*n = 0;
	const struct n4j_bolt_value *v = n4j_io_cell(r, row, col);
	if (!v || v->type != N4J_BOLT_LIST || v->u.list.len == 0)
		return 0;
	const char **l = n4j_arena_calloc(a, v->u.list.len, sizeof *l);
	if (!l)
		return N4J_ENOMEM;
	size_t k = 0;
	for (uint32_t i = 0; i < v->u.list.len; i++) {
		const char *s = n4j_bolt_as_str(&v->u.list.items[i]);
		if (s)
			l[k++] = s;
	}
	*out = l;
	*n = k;
	return 0;
}

bool n4j_io_is_uuid(const char *s)
{
	static const int group[] = {8, 4, 4, 4, 12};
	if (!s)
		return false;
	for (size_t g = 0; g < 5; g++) {
		for (int i = 0; i < group[g]; i++, s++)
			if (!isxdigit((unsigned char)*s))
				return false;
		if (g < 4 && *s++ != '-')
			return false;
	}
	return *s == '\0';
}
