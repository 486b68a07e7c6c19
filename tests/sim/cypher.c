/*
 * The Cypher the simulator accepts (README.md lists it): a small tokenizer and one parse
 * function per command, each applying Neo4j's documented semantics and refusals
 * (reference/neo4j-operations.md 3-4) to the shared state. The caller holds the lock.
 */
#include "sim.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum tk { T_END, T_WORD, T_STR, T_PARAM, T_NUM, T_SYM };

struct lex {
	const char *p;
	enum tk t;
	char s[512];
	const struct n4j_bolt_value *params;
	struct n4j_arena *a;
	struct sim_result *r;
	bool err;
};

static void fail(struct sim_result *r, const char *code, const char *gql, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void fail(struct sim_result *r, const char *code, const char *gql, const char *fmt, ...)
{
	if (r->failed)
		return;
	r->failed = true;
	scopy(r->code, sizeof r->code, code);
	scopy(r->gql, sizeof r->gql, gql);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->message, sizeof r->message, fmt, ap);
	va_end(ap);
}

#define SYNTAX "Neo.ClientError.Statement.SyntaxError", "42001"
#define ARG    "Neo.ClientError.Statement.ArgumentError", "22N00"

static void next(struct lex *L)
{
	while (isspace((unsigned char)*L->p))
		L->p++;
	const char *p = L->p;
	size_t n = 0;
	if (!*p) {
		L->t = T_END;
		L->s[0] = '\0';
		return;
	}
	if (isalpha((unsigned char)*p) || *p == '_') {
		while ((isalnum((unsigned char)p[n]) || p[n] == '_' || p[n] == '.') &&
		       n < sizeof L->s - 1)
			n++;
		L->t = T_WORD;
		memcpy(L->s, p, n);
		L->s[n] = '\0';
		L->p = p + n;
		/* a trailing '.' belongs to no identifier */
		while (n && L->s[n - 1] == '.') {
			L->s[--n] = '\0';
			L->p--;
		}
		return;
	}
	if (*p == '`') {
		const char *e = strchr(p + 1, '`');
		if (!e)
			goto bad;
		n = (size_t)(e - p - 1);
		if (n >= sizeof L->s)
			goto bad;
		memcpy(L->s, p + 1, n);
		L->s[n] = '\0';
		L->t = T_WORD;
		L->p = e + 1;
		return;
	}
	if (*p == '\'' || *p == '"') {
		char q = *p++;
		while (*p && *p != q && n < sizeof L->s - 1) {
			if (*p == '\\' && p[1])
				p++;
			L->s[n++] = *p++;
		}
		if (*p != q)
			goto bad;
		L->s[n] = '\0';
		L->t = T_STR;
		L->p = p + 1;
		return;
	}
	if (*p == '$') {
		p++;
		while ((isalnum((unsigned char)p[n]) || p[n] == '_') && n < sizeof L->s - 1)
			n++;
		memcpy(L->s, p, n);
		L->s[n] = '\0';
		L->t = T_PARAM;
		L->p = p + n;
		return;
	}
	if (isdigit((unsigned char)*p) || (*p == '-' && isdigit((unsigned char)p[1]))) {
		n = 1;
		while (isdigit((unsigned char)p[n]) && n < sizeof L->s - 1)
			n++;
		memcpy(L->s, p, n);
		L->s[n] = '\0';
		L->t = T_NUM;
		L->p = p + n;
		return;
	}
	if ((p[0] == '<' && p[1] == '>') || (p[0] == '!' && p[1] == '=')) {
		snprintf(L->s, sizeof L->s, "<>");
		L->t = T_SYM;
		L->p = p + 2;
		return;
	}
	L->s[0] = *p;
	L->s[1] = '\0';
	L->t = T_SYM;
	L->p = p + 1;
	return;
bad:
	L->t = T_END;
	L->err = true;
	fail(L->r, SYNTAX, "Invalid input: unterminated string or identifier");
}

static bool kw(struct lex *L, const char *w)
{
	if (L->t == T_WORD && strcasecmp(L->s, w) == 0) {
		next(L);
		return true;
	}
	return false;
}

static bool sym(struct lex *L, char c)
{
	if (L->t == T_SYM && L->s[0] == c && L->s[1] == '\0') {
		next(L);
		return true;
	}
	return false;
}

static bool expect_kw(struct lex *L, const char *w)
{
	if (kw(L, w))
		return true;
	fail(L->r, SYNTAX, "Invalid input '%s': expected '%s'", L->s, w);
	return false;
}

static const struct n4j_bolt_value *param(struct lex *L, const char *name)
{
	const struct n4j_bolt_value *v = n4j_bolt_map_get(L->params, name);
	if (!v)
		fail(L->r, "Neo.ClientError.Statement.ParameterMissing", "42N51",
		     "Expected parameter(s): %s", name);
	return v;
}

/* A name: identifier, string literal or string parameter. */
static bool name(struct lex *L, char *out, size_t len)
{
	if (L->t == T_WORD || L->t == T_STR) {
		scopy(out, len, L->s);
		next(L);
		return true;
	}
	if (L->t == T_PARAM) {
		const struct n4j_bolt_value *v = param(L, L->s);
		if (!v)
			return false;
		if (v->type != N4J_BOLT_STRING) {
			fail(L->r, "Neo.ClientError.Statement.TypeError", "22G03",
			     "Expected parameter $%s to be a string", L->s);
			return false;
		}
		scopy(out, len, v->u.s.data);
		next(L);
		return true;
	}
	fail(L->r, SYNTAX, "Invalid input '%s': expected a name, a string or a parameter", L->s);
	return false;
}

static bool number(struct lex *L, int64_t *out)
{
	if (L->t == T_NUM) {
		*out = strtoll(L->s, NULL, 10);
		next(L);
		return true;
	}
	if (L->t == T_PARAM) {
		const struct n4j_bolt_value *v = param(L, L->s);
		if (!v)
			return false;
		if (v->type != N4J_BOLT_INT) {
			fail(L->r, "Neo.ClientError.Statement.TypeError", "22G03",
			     "Expected parameter $%s to be an integer", L->s);
			return false;
		}
		*out = v->u.i;
		next(L);
		return true;
	}
	fail(L->r, SYNTAX, "Invalid input '%s': expected an integer", L->s);
	return false;
}

/* A literal: string, integer, true/false/null, list, map, or parameter. */
static bool literal(struct lex *L, struct n4j_bolt_value *out, int depth)
{
	if (depth > 16) {
		fail(L->r, SYNTAX, "literal nested too deeply");
		return false;
	}
	if (L->t == T_STR) {
		*out = n4j_bolt_str(n4j_arena_strdup(L->a, L->s));
		next(L);
		return true;
	}
	if (L->t == T_NUM) {
		*out = n4j_bolt_int(strtoll(L->s, NULL, 10));
		next(L);
		return true;
	}
	if (L->t == T_PARAM) {
		const struct n4j_bolt_value *v = param(L, L->s);
		if (!v)
			return false;
		*out = *v;
		next(L);
		return true;
	}
	if (kw(L, "true")) {
		*out = n4j_bolt_bool(true);
		return true;
	}
	if (kw(L, "false")) {
		*out = n4j_bolt_bool(false);
		return true;
	}
	if (kw(L, "null")) {
		*out = n4j_bolt_null();
		return true;
	}
	if (sym(L, '[')) {
		struct n4j_bolt_value items[64];
		uint32_t n = 0;
		while (!sym(L, ']')) {
			if (n == 64 || !literal(L, &items[n++], depth + 1))
				return false;
			if (!sym(L, ',') && !(L->t == T_SYM && L->s[0] == ']')) {
				fail(L->r, SYNTAX, "Invalid input '%s' in a list", L->s);
				return false;
			}
		}
		struct n4j_bolt_value *l = n4j_bolt_list_new(L->a, n);
		if (n)
			memcpy(l->u.list.items, items, n * sizeof items[0]);
		*out = *l;
		return true;
	}
	if (sym(L, '{')) {
		struct n4j_bolt_value *m = n4j_bolt_map_new(L->a, 32);
		uint32_t n = 0;
		while (!sym(L, '}')) {
			char key[128];
			if (n == 32 || !name(L, key, sizeof key) || !sym(L, ':'))
				return fail(L->r, SYNTAX, "Invalid map literal"), false;
			m->u.map.pairs[n].key = n4j_bolt_str(n4j_arena_strdup(L->a, key));
			if (!literal(L, &m->u.map.pairs[n].value, depth + 1))
				return false;
			n++;
			if (!sym(L, ',') && !(L->t == T_SYM && L->s[0] == '}'))
				return fail(L->r, SYNTAX, "Invalid input '%s' in a map", L->s),
				       false;
		}
		m->u.map.len = n;
		*out = *m;
		return true;
	}
	fail(L->r, SYNTAX, "Invalid input '%s': expected a literal", L->s);
	return false;
}

static bool at_end(struct lex *L)
{
	sym(L, ';');
	if (L->t == T_END && !L->err)
		return true;
	fail(L->r, SYNTAX, "Invalid input '%s': expected the end of the statement", L->s);
	return false;
}

/* ---- model helpers -------------------------------------------------------------- */

static int find_server(struct sim *s, const char *key)
{
	for (int i = 0; i < s->nsrv; i++)
		if (strcmp(s->srv[i].id, key) == 0 || strcmp(s->srv[i].alias, key) == 0)
			return i;
	return -1;
}

static int find_db(struct sim *s, const char *name, bool aliases)
{
	for (int d = 0; d < SIM_MAX_DBS; d++)
		if (s->db[d].used && strcasecmp(s->db[d].name, name) == 0)
			return d;
	if (aliases)
		for (int k = 0; k < SIM_MAX_ALIASES; k++)
			if (s->alias[k].used && strcasecmp(s->alias[k].name, name) == 0)
				return find_db(s, s->alias[k].target, false);
	return -1;
}

static bool hosts(struct sim *s, int server, int db)
{
	for (int k = 0; k < SIM_MAX_ALLOC; k++)
		if (s->al[k].used && s->al[k].server == server && s->al[k].db == db &&
		    s->al[k].status != AL_LEAVING)
			return true;
	return false;
}

static int load(struct sim *s, int server)
{
	int n = 0;
	for (int k = 0; k < SIM_MAX_ALLOC; k++)
		n += s->al[k].used && s->al[k].server == server && s->al[k].status != AL_LEAVING;
	return n;
}

static bool mode_ok(const struct sim_server *v, bool primary)
{
	if (strcmp(v->mode, "PRIMARY") == 0)
		return primary;
	if (strcmp(v->mode, "SECONDARY") == 0)
		return !primary;
	return true;
}

/* An Enabled, running server that may take a new copy of db (least loaded first). */
static int pick_target(struct sim *s, int db, bool primary, const bool *exclude)
{
	int best = -1;
	for (int i = 0; i < s->nsrv; i++) {
		struct sim_server *v = &s->srv[i];
		if (v->state != SRV_ENABLED || v->stopped || (exclude && exclude[i]) ||
		    hosts(s, i, db) || !mode_ok(v, primary))
			continue;
		if (best < 0 || load(s, i) < load(s, best))
			best = i;
	}
	return best;
}

static int new_alloc(struct sim *s, int db, int server, bool primary, long ready_at)
{
	for (int k = 0; k < SIM_MAX_ALLOC; k++) {
		if (s->al[k].used)
			continue;
		s->al[k] = (struct sim_alloc){.used = true,
					      .db = db,
					      .server = server,
					      .primary = primary,
					      .status = AL_STARTING,
					      .ready_at = ready_at};
		return k;
	}
	return -1;
}

/* Allocates p primaries and q secondaries more for db; all or nothing. */
bool allocate(struct sim *s, int db, int p, int q, long ready_at)
{
	bool taken[SIM_MAX_SERVERS] = {0};
	int pick[64], nprim = 0, n = 0;
	for (int i = 0; i < p + q && n < 64; i++) {
		bool primary = i < p;
		int t = pick_target(s, db, primary, taken);
		if (t < 0)
			return false;
		taken[t] = true;
		pick[n++] = t;
		nprim += primary;
	}
	for (int i = 0; i < n; i++)
		if (new_alloc(s, db, pick[i], i < nprim, ready_at) < 0)
			return false;
	return true;
}

static int count_copies(struct sim *s, int db, bool primary)
{
	int n = 0;
	for (int k = 0; k < SIM_MAX_ALLOC; k++)
		n += s->al[k].used && s->al[k].db == db && s->al[k].primary == primary &&
		     s->al[k].status != AL_LEAVING;
	return n;
}

/* ---- result tables: build every column, then YIELD / WHERE / RETURN ------------------ */

struct table {
	int ncols;
	const char *cols[32];
	int nrows, cap;
	struct n4j_bolt_value *cells;
};

static struct n4j_bolt_value *add_row(struct n4j_arena *a, struct table *t)
{
	if (t->nrows == t->cap) {
		int ncap = t->cap ? t->cap * 2 : 16;
		struct n4j_bolt_value *c =
			n4j_arena_calloc(a, (size_t)ncap * (size_t)t->ncols, sizeof *c);
		if (t->nrows)
			memcpy(c, t->cells, (size_t)t->nrows * (size_t)t->ncols * sizeof *c);
		t->cells = c;
		t->cap = ncap;
	}
	return &t->cells[(size_t)t->nrows++ * (size_t)t->ncols];
}

static int col(const struct table *t, const char *name)
{
	for (int i = 0; i < t->ncols; i++)
		if (strcmp(t->cols[i], name) == 0)
			return i;
	return -1;
}

struct cond {
	int col;
	int op;   /* 0 truthy, 1 =, 2 <> */
	int col2; /* >= 0: compare with this column instead of v */
	struct n4j_bolt_value v;
};

static bool cond_ok(const struct cond *c, const struct n4j_bolt_value *row)
{
	const struct n4j_bolt_value *x = &row[c->col];
	if (c->op == 0)
		return x->type == N4J_BOLT_BOOL && x->u.b;
	bool eq = n4j_bolt_value_eq(x, c->col2 >= 0 ? &row[c->col2] : &c->v);
	return c->op == 1 ? eq : !eq;
}

/* [YIELD cols|*] [WHERE c [AND c]...] [RETURN cols] */
static void finish_show(struct lex *L, struct table *t, const char *const *defaults)
{
	struct sim_result *r = L->r;
	int out[32], nout = 0;
	if (kw(L, "YIELD")) {
		if (sym(L, '*')) {
			for (int i = 0; i < t->ncols; i++)
				out[nout++] = i;
		} else {
			do {
				if (L->t != T_WORD) {
					fail(r, SYNTAX, "Invalid input '%s' after YIELD", L->s);
					return;
				}
				int c = col(t, L->s);
				if (c < 0) {
					fail(r, SYNTAX, "Variable `%s` not defined", L->s);
					return;
				}
				if (nout < 32)
					out[nout++] = c;
				next(L);
			} while (sym(L, ','));
		}
	} else {
		for (int i = 0; defaults[i]; i++)
			out[nout++] = col(t, defaults[i]);
	}
	struct cond conds[8];
	int nc = 0;
	if (kw(L, "WHERE")) {
		do {
			bool neg = kw(L, "NOT");
			if (L->t != T_WORD || col(t, L->s) < 0) {
				fail(r, SYNTAX, "Variable `%s` not defined", L->s);
				return;
			}
			struct cond c = {.col = col(t, L->s), .col2 = -1};
			next(L);
			if (sym(L, '=')) {
				c.op = 1;
			} else if (L->t == T_SYM && strcmp(L->s, "<>") == 0) {
				next(L);
				c.op = 2;
			}
			if (c.op && L->t == T_WORD && col(t, L->s) >= 0) {
				c.col2 = col(t, L->s);
				next(L);
			} else if (c.op && !literal(L, &c.v, 0)) {
				return;
			}
			if (neg) {
				if (c.op == 0) {
					c.op = 1;
					c.v = n4j_bolt_bool(false);
				} else {
					c.op = 3 - c.op;
				}
			}
			if (nc < 8)
				conds[nc++] = c;
		} while (kw(L, "AND"));
	}
	if (kw(L, "RETURN")) {
		int ret[32], nret = 0;
		do {
			int c = L->t == T_WORD ? col(t, L->s) : -1;
			bool yielded = false;
			for (int i = 0; i < nout; i++)
				yielded |= out[i] == c;
			if (c < 0 || !yielded) {
				fail(r, SYNTAX, "Variable `%s` not defined", L->s);
				return;
			}
			next(L);
			if (nret < 32)
				ret[nret++] = c;
		} while (sym(L, ','));
		memcpy(out, ret, sizeof ret);
		nout = nret;
	}
	if (!at_end(L))
		return;
	r->nfields = nout;
	for (int i = 0; i < nout; i++)
		r->fields[i] = t->cols[out[i]];
	r->rows = n4j_arena_calloc(L->a, (size_t)t->nrows + 1, sizeof *r->rows);
	for (int i = 0; i < t->nrows; i++) {
		const struct n4j_bolt_value *row = &t->cells[(size_t)i * (size_t)t->ncols];
		bool ok = true;
		for (int k = 0; k < nc && ok; k++)
			ok = cond_ok(&conds[k], row);
		if (!ok)
			continue;
		struct n4j_bolt_value *l = n4j_bolt_list_new(L->a, (uint32_t)nout);
		for (int k = 0; k < nout; k++)
			l->u.list.items[k] = row[out[k]];
		r->rows[r->nrows++] = *l;
	}
}

static struct n4j_bolt_value str_list(struct n4j_arena *a, const char *const *items, int n)
{
	struct n4j_bolt_value *l = n4j_bolt_list_new(a, (uint32_t)n);
	for (int i = 0; i < n; i++)
		l->u.list.items[i] = n4j_bolt_str(n4j_arena_strdup(a, items[i]));
	return *l;
}

static bool visible(struct sim *s, int on, int i)
{
	/* a partitioned member sees its peers as unavailable, and they see it so */
	return !s->srv[i].stopped && !s->srv[i].partitioned && !(s->srv[on].partitioned && on != i);
}

static void show_servers(struct sim *s, int on, struct lex *L)
{
	static const char *const cols[] = {"serverId",
					   "name",
					   "address",
					   "httpAddress",
					   "httpsAddress",
					   "state",
					   "health",
					   "hosting",
					   "requestedHosting",
					   "tags",
					   "allowedDatabases",
					   "deniedDatabases",
					   "modeConstraint",
					   "version",
					   NULL};
	static const char *const defaults[] = {"name",   "address", "state",
					       "health", "hosting", NULL};
	struct table t = {0};
	for (t.ncols = 0; cols[t.ncols]; t.ncols++)
		t.cols[t.ncols] = cols[t.ncols];
	for (int i = 0; i < s->nsrv; i++) {
		struct sim_server *v = &s->srv[i];
		struct n4j_bolt_value *row = add_row(L->a, &t);
		const char *hosting[SIM_MAX_DBS + 1], *requested[SIM_MAX_DBS + 1];
		int nh = 0, nr = 0;
		if (v->state != SRV_DROPPED) {
			hosting[nh++] = "system";
			requested[nr++] = "system";
		}
		for (int d = 0; d < SIM_MAX_DBS; d++) {
			bool h = false, rq = false;
			for (int k = 0; k < SIM_MAX_ALLOC; k++) {
				struct sim_alloc *al = &s->al[k];
				if (!al->used || al->server != i || al->db != d)
					continue;
				h = true;
				rq |= al->status != AL_LEAVING;
			}
			if (h)
				hosting[nh++] = s->db[d].name;
			if (rq)
				requested[nr++] = s->db[d].name;
		}
		const char *tags[1] = {v->tags};
		row[0] = n4j_bolt_str(v->id);
		row[1] = n4j_bolt_str(v->alias);
		row[2] = n4j_bolt_str(v->address);
		row[3] = n4j_bolt_null();
		row[4] = n4j_bolt_null();
		row[5] = n4j_bolt_str(sim_state_name(v->state));
		row[6] = n4j_bolt_str(visible(s, on, i) ? "Available" : "Unavailable");
		row[7] = str_list(L->a, hosting, nh);
		row[8] = str_list(L->a, requested, nr);
		row[9] = str_list(L->a, tags, v->tags[0] ? 1 : 0);
		row[10] = str_list(L->a, NULL, 0);
		row[11] = str_list(L->a, NULL, 0);
		row[12] = n4j_bolt_str(v->mode);
		row[13] = n4j_bolt_str(s->version);
	}
	finish_show(L, &t, defaults);
}

int db_leader(struct sim *s, int d)
{
	for (int k = 0; k < SIM_MAX_ALLOC; k++) {
		struct sim_alloc *al = &s->al[k];
		if (al->used && al->db == d && al->primary && al->status == AL_ONLINE &&
		    !s->srv[al->server].stopped && !s->srv[al->server].partitioned)
			return al->server;
	}
	return -1;
}

static void db_row(struct sim *s, int on, struct lex *L, struct table *t, int d, int server,
		   bool primary, const char *status, const char *msg)
{
	struct n4j_bolt_value *row = add_row(L->a, t);
	bool system = d < 0;
	const char *name = system ? "system" : s->db[d].name;
	bool up = visible(s, on, server);
	const char *aliases[SIM_MAX_ALIASES];
	int na = 0;
	for (int k = 0; k < SIM_MAX_ALIASES && !system; k++)
		if (s->alias[k].used && strcasecmp(s->alias[k].target, name) == 0)
			aliases[na++] = s->alias[k].name;
	bool writer = system ? s->leader == server : db_leader(s, d) == server;
	bool online = system || s->db[d].requested_online;
	row[0] = n4j_bolt_str(name);
	row[1] = n4j_bolt_str(system ? "system" : "standard");
	row[2] = str_list(L->a, aliases, na);
	row[3] = n4j_bolt_str("read-write");
	row[4] = up ? n4j_bolt_str(s->srv[server].address) : n4j_bolt_null();
	row[5] = n4j_bolt_str(up ? (primary ? "primary" : "secondary") : "unknown");
	row[6] = n4j_bolt_bool(up && writer);
	row[7] = n4j_bolt_str(online ? "online" : "offline");
	row[8] = n4j_bolt_str(up ? status : "unknown");
	row[9] = n4j_bolt_str(up ? msg : "Server is unavailable");
	row[10] = n4j_bolt_bool(!system && s->db[d].is_default);
	row[11] = n4j_bolt_bool(!system && s->db[d].is_default);
	row[12] = str_list(L->a, NULL, 0);
	row[13] = n4j_bolt_str(s->srv[server].id);
	row[14] = n4j_bolt_int(system ? 0 : count_copies(s, d, true));
	row[15] = n4j_bolt_int(system ? 0 : s->db[d].primaries);
	row[16] = n4j_bolt_int(system ? 0 : count_copies(s, d, false));
	row[17] = n4j_bolt_int(system ? 0 : s->db[d].secondaries);
	row[18] = n4j_bolt_str(system ? "00000000-0000-0000-0000-000000000001" : s->db[d].id);
	row[19] = n4j_bolt_int(system ? s->sys_last_tx : s->db[d].last_tx);
	if (system) {
		int np = 0, ns = 0;
		for (int i = 0; i < s->nsrv; i++)
			if (s->srv[i].state != SRV_DROPPED)
				s->srv[i].system_primary ? np++ : ns++;
		row[14] = row[15] = n4j_bolt_int(np);
		row[16] = row[17] = n4j_bolt_int(ns);
	}
}

static void show_databases(struct sim *s, int on, struct lex *L, const char *only)
{
	static const char *const cols[] = {"name",
					   "type",
					   "aliases",
					   "access",
					   "address",
					   "role",
					   "writer",
					   "requestedStatus",
					   "currentStatus",
					   "statusMessage",
					   "default",
					   "home",
					   "constituents",
					   "serverID",
					   "currentPrimariesCount",
					   "requestedPrimariesCount",
					   "currentSecondariesCount",
					   "requestedSecondariesCount",
					   "databaseID",
					   "lastCommittedTxn",
					   NULL};
	static const char *const defaults[] = {"name",          "type",
					       "aliases",       "access",
					       "address",       "role",
					       "writer",        "requestedStatus",
					       "currentStatus", "statusMessage",
					       "default",       "home",
					       "constituents",  NULL};
	struct table t = {0};
	for (t.ncols = 0; cols[t.ncols]; t.ncols++)
		t.cols[t.ncols] = cols[t.ncols];
	int want = -2;
	if (only && strcasecmp(only, "system") == 0) {
		want = -1;
	} else if (only) {
		int d = find_db(s, only, true);
		want = d >= 0 ? d : -3; /* no such database: no rows, as Neo4j */
	}
	if (want == -2 || want == -1)
		for (int i = 0; i < s->nsrv; i++)
			if (s->srv[i].state != SRV_DROPPED)
				db_row(s, on, L, &t, -1, i, s->srv[i].system_primary, "online", "");
	for (int d = 0; d < SIM_MAX_DBS; d++) {
		if (!s->db[d].used || (want != -2 && want != d))
			continue;
		for (int k = 0; k < SIM_MAX_ALLOC; k++) {
			struct sim_alloc *al = &s->al[k];
			if (!al->used || al->db != d)
				continue;
			static const char *const st[] = {"starting", "online", "offline",
							 "deallocating"};
			const char *status = st[al->status];
			/* a copy loading its seed is "starting"; others copy a store */
			if (al->status == AL_STARTING && al->seed == SEED_NONE &&
			    sim_now_ms() - s->db[d].created > 50)
				status = "store copying";
			db_row(s, on, L, &t, d, al->server, al->primary, status, al->msg);
		}
	}
	finish_show(L, &t, defaults);
}

/* ---- commands ------------------------------------------------------------------------ */

static void set_fields(struct sim_result *r, const char *const *f)
{
	r->nfields = 0;
	while (f[r->nfields])
		r->fields[r->nfields] = f[r->nfields], r->nfields++;
}

static const char *const move_cols[] = {
	"database", "fromServerName", "fromServerId", "toServerName", "toServerId", "mode", NULL};

static void move_row(struct sim *s, struct n4j_arena *a, struct sim_result *r, int d, int from,
		     int to, bool primary)
{
	struct n4j_bolt_value *l = n4j_bolt_list_new(a, 6);
	l->u.list.items[0] = n4j_bolt_str(s->db[d].name);
	l->u.list.items[1] = n4j_bolt_str(s->srv[from].alias);
	l->u.list.items[2] = n4j_bolt_str(s->srv[from].id);
	l->u.list.items[3] = n4j_bolt_str(s->srv[to].alias);
	l->u.list.items[4] = n4j_bolt_str(s->srv[to].id);
	l->u.list.items[5] = n4j_bolt_str(primary ? "primary" : "secondary");
	r->rows[r->nrows++] = *l;
}

static void deallocate(struct sim *s, struct lex *L, bool dry)
{
	struct sim_result *r = L->r;
	if (!kw(L, "DATABASES") && !expect_kw(L, "DATABASE"))
		return;
	if (!expect_kw(L, "FROM"))
		return;
	if (!kw(L, "SERVERS") && !expect_kw(L, "SERVER"))
		return;
	bool from[SIM_MAX_SERVERS] = {0};
	do {
		char key[128];
		if (!name(L, key, sizeof key))
			return;
		int i = find_server(s, key);
		if (i < 0)
			return fail(r, ARG, "Server '%s' does not exist.", key);
		from[i] = true;
	} while (sym(L, ','));
	if (!at_end(L))
		return;
	struct {
		int alloc, to;
	} moves[SIM_MAX_ALLOC];
	int nm = 0;
	for (int i = 0; i < s->nsrv; i++) {
		if (!from[i])
			continue;
		struct sim_server *v = &s->srv[i];
		if (v->state != SRV_ENABLED && v->state != SRV_CORDONED)
			return fail(r, ARG,
				    "Can't deallocate databases from server '%s': it is %s; only "
				    "Enabled or Cordoned servers can be deallocated.",
				    v->alias, sim_state_name(v->state));
		for (int k = 0; k < SIM_MAX_ALLOC; k++) {
			struct sim_alloc *al = &s->al[k];
			if (!al->used || al->server != i || al->status == AL_LEAVING)
				continue;
			struct sim_db *db = &s->db[al->db];
			if (al->status != AL_ONLINE)
				return fail(r, ARG,
					    "Can't deallocate server '%s': database '%s' is not "
					    "online on it.",
					    v->alias, db->name);
			if (al->primary && db->primaries == 1)
				return fail(r, ARG,
					    "Can't deallocate server '%s': it hosts database '%s' "
					    "which has only one primary. Add a primary first.",
					    v->alias, db->name);
			int cordoned = 0;
			for (int q = 0; q < SIM_MAX_ALLOC; q++)
				cordoned += s->al[q].used && s->al[q].db == al->db &&
					    s->al[q].primary && s->al[q].status != AL_LEAVING &&
					    s->srv[s->al[q].server].state == SRV_CORDONED;
			if (al->primary && cordoned * 2 > db->primaries)
				return fail(
					r, ARG,
					"Can't deallocate server '%s': a quorum of the primaries "
					"of database '%s' is on cordoned servers.",
					v->alias, db->name);
			/* a destination that hosts no copy yet and is not chosen for this db */
			bool excl[SIM_MAX_SERVERS];
			memcpy(excl, from, sizeof excl);
			for (int m = 0; m < nm; m++)
				if (s->al[moves[m].alloc].db == al->db)
					excl[moves[m].to] = true;
			int to = pick_target(s, al->db, al->primary, excl);
			if (to < 0)
				return fail(r, ARG,
					    "Can't deallocate server '%s': the remaining servers "
					    "cannot hold the topology of database '%s'.",
					    v->alias, db->name);
			moves[nm].alloc = k;
			moves[nm].to = to;
			nm++;
		}
	}
	set_fields(r, move_cols);
	r->rows = n4j_arena_calloc(L->a, (size_t)nm + 1, sizeof *r->rows);
	for (int m = 0; m < nm; m++) {
		struct sim_alloc *al = &s->al[moves[m].alloc];
		move_row(s, L->a, r, al->db, al->server, moves[m].to, al->primary);
	}
	if (dry)
		return;
	r->write = true;
	if (!dry)
		r->nfields = 0, r->nrows = 0; /* the real command returns no rows */
	long now = sim_now_ms();
	for (int m = 0; m < nm; m++) {
		struct sim_alloc *al = &s->al[moves[m].alloc];
		/* the new copy starts before the old one stops */
		new_alloc(s, al->db, moves[m].to, al->primary, now + s->move_ms);
		al = &s->al[moves[m].alloc];
		al->status = AL_LEAVING;
		al->ready_at = now + s->move_ms + s->move_ms / 4;
	}
	for (int i = 0; i < s->nsrv; i++)
		if (from[i])
			s->srv[i].state = SRV_DEALLOCATING;
}

static void reallocate(struct sim *s, struct lex *L, bool dry)
{
	struct sim_result *r = L->r;
	if (!kw(L, "DATABASES") && !expect_kw(L, "DATABASE"))
		return;
	if (!at_end(L))
		return;
	set_fields(r, move_cols);
	r->rows = n4j_arena_calloc(L->a, SIM_MAX_ALLOC, sizeof *r->rows);
	int extra[SIM_MAX_SERVERS] = {0};
	bool moved[SIM_MAX_ALLOC] = {0};
	struct {
		int alloc, to;
	} moves[SIM_MAX_ALLOC];
	int nm = 0;
	for (int guard = 0; guard < SIM_MAX_ALLOC; guard++) {
		int hi = -1, lo = -1;
		for (int i = 0; i < s->nsrv; i++) {
			if (s->srv[i].state != SRV_ENABLED || s->srv[i].stopped)
				continue;
			int l = load(s, i) + extra[i];
			if (hi < 0 || l > load(s, hi) + extra[hi])
				hi = i;
			if (lo < 0 || l < load(s, lo) + extra[lo])
				lo = i;
		}
		if (hi < 0 || load(s, hi) + extra[hi] - (load(s, lo) + extra[lo]) <= 1)
			break;
		int pickk = -1;
		for (int k = 0; k < SIM_MAX_ALLOC && pickk < 0; k++) {
			struct sim_alloc *al = &s->al[k];
			if (!al->used || moved[k] || al->server != hi || al->status != AL_ONLINE ||
			    hosts(s, lo, al->db) || !mode_ok(&s->srv[lo], al->primary))
				continue;
			bool dup = false;
			for (int m = 0; m < nm; m++)
				dup |= moves[m].to == lo && s->al[moves[m].alloc].db == al->db;
			if (!dup)
				pickk = k;
		}
		if (pickk < 0)
			break;
		moved[pickk] = true;
		moves[nm].alloc = pickk;
		moves[nm].to = lo;
		nm++;
		extra[hi]--;
		extra[lo]++;
	}
	for (int m = 0; m < nm; m++) {
		struct sim_alloc *al = &s->al[moves[m].alloc];
		move_row(s, L->a, r, al->db, al->server, moves[m].to, al->primary);
	}
	if (dry)
		return;
	r->write = true;
	r->nfields = 0;
	r->nrows = 0;
	long now = sim_now_ms();
	for (int m = 0; m < nm; m++) {
		struct sim_alloc old = s->al[moves[m].alloc];
		new_alloc(s, old.db, moves[m].to, old.primary, now + s->move_ms);
		s->al[moves[m].alloc].status = AL_LEAVING;
		s->al[moves[m].alloc].ready_at = now + s->move_ms + s->move_ms / 4;
	}
}

static void apply_options(struct sim_server *v, const struct n4j_bolt_value *opts,
			  struct sim_result *r)
{
	for (uint32_t i = 0; opts && i < opts->u.map.len; i++) {
		const char *k = opts->u.map.pairs[i].key.u.s.data;
		const struct n4j_bolt_value *x = &opts->u.map.pairs[i].value;
		if (strcmp(k, "modeConstraint") == 0) {
			const char *m = n4j_bolt_as_str(x);
			if (!m ||
			    (strcmp(m, "PRIMARY") && strcmp(m, "SECONDARY") && strcmp(m, "NONE")))
				return fail(
					r, ARG,
					"modeConstraint must be 'PRIMARY', 'SECONDARY' or 'NONE'");
			scopy(v->mode, sizeof v->mode, m);
		} else if (strcmp(k, "tags") == 0 && x->type == N4J_BOLT_LIST && x->u.list.len) {
			snprintf(v->tags, sizeof v->tags, "%s",
				 n4j_bolt_as_str(&x->u.list.items[0]) ? x->u.list.items[0].u.s.data
								      : "");
		} else if (strcmp(k, "allowedDatabases") && strcmp(k, "deniedDatabases") &&
			   strcmp(k, "tags")) {
			return fail(r, ARG, "Unrecognised server option '%s'", k);
		}
	}
}

static void enable_server(struct sim *s, struct lex *L)
{
	struct sim_result *r = L->r;
	char key[128];
	if (!name(L, key, sizeof key))
		return;
	struct n4j_bolt_value opts = {.type = N4J_BOLT_NULL};
	if (kw(L, "OPTIONS") && !literal(L, &opts, 0))
		return;
	if (!at_end(L))
		return;
	if (opts.type != N4J_BOLT_NULL && opts.type != N4J_BOLT_MAP)
		return fail(r, ARG, "OPTIONS must be a map");
	int i = find_server(s, key);
	if (i < 0)
		return fail(r, ARG, "Server '%s' does not exist.", key);
	struct sim_server *v = &s->srv[i];
	if (v->state != SRV_FREE && v->state != SRV_ENABLED && v->state != SRV_CORDONED)
		return fail(r, ARG, "Server '%s' can't be enabled: it is %s.", key,
			    sim_state_name(v->state));
	apply_options(v, opts.type == N4J_BOLT_MAP ? &opts : NULL, r);
	if (r->failed)
		return;
	v->state = SRV_ENABLED;
	r->write = true;
}

static void drop_server(struct sim *s, struct lex *L)
{
	char key[128];
	if (!name(L, key, sizeof key) || !at_end(L))
		return;
	int i = find_server(s, key);
	if (i < 0)
		return fail(L->r, ARG, "Server '%s' does not exist.", key);
	if (s->srv[i].state != SRV_DEALLOCATED)
		return fail(L->r, ARG,
			    "Server '%s' can't be dropped: it is %s; only Deallocated servers "
			    "can be dropped.",
			    key, sim_state_name(s->srv[i].state));
	s->srv[i].state = SRV_DROPPED;
	L->r->write = true;
}

static void rename_server(struct sim *s, struct lex *L)
{
	char from[128], to[64];
	if (!name(L, from, sizeof from) || !expect_kw(L, "TO") || !name(L, to, sizeof to) ||
	    !at_end(L))
		return;
	int i = find_server(s, from);
	if (i < 0)
		return fail(L->r, ARG, "Server '%s' does not exist.", from);
	if (s->srv[i].state != SRV_ENABLED)
		return fail(L->r, ARG, "Only enabled servers can be renamed.");
	scopy(s->srv[i].alias, sizeof s->srv[i].alias, to);
	L->r->write = true;
}

static void cordon(struct sim *s, struct lex *L)
{
	char key[128];
	if (!sym(L, '(') || !name(L, key, sizeof key) || !sym(L, ')') || !at_end(L)) {
		fail(L->r, SYNTAX, "Invalid call of dbms.cluster.cordonServer");
		return;
	}
	int i = find_server(s, key);
	if (i < 0)
		return fail(L->r, ARG, "Server '%s' does not exist.", key);
	if (s->srv[i].state != SRV_ENABLED && s->srv[i].state != SRV_CORDONED)
		return fail(L->r, ARG, "Server '%s' can't be cordoned: it is %s.", key,
			    sim_state_name(s->srv[i].state));
	s->srv[i].state = SRV_CORDONED;
	L->r->write = true;
}

static bool valid_db_name(const char *n)
{
	size_t len = strlen(n);
	if (len < 3 || len > 63 || !isalpha((unsigned char)n[0]))
		return false;
	for (size_t i = 0; i < len; i++)
		if (!islower((unsigned char)n[i]) && !isdigit((unsigned char)n[i]) && n[i] != '.' &&
		    n[i] != '-')
			return false;
	return true;
}

static bool topology(struct lex *L, int64_t *p, int64_t *q)
{
	if (!number(L, p))
		return false;
	if (!kw(L, "PRIMARIES") && !expect_kw(L, "PRIMARY"))
		return false;
	if (L->t == T_NUM || L->t == T_PARAM) {
		if (!number(L, q))
			return false;
		if (!kw(L, "SECONDARIES") && !expect_kw(L, "SECONDARY"))
			return false;
	}
	if (*p < 1 || *p > 11 || *q < 0 || *q > 20) {
		fail(L->r, ARG,
		     "Invalid topology: primaries must be 1 to 11 and secondaries 0 to 20.");
		return false;
	}
	return true;
}

/* The seed options of CREATE DATABASE / recreate, checked. */
struct seed_opts {
	char uri[512], until[64], src[64];
};

static bool opt_string(const struct n4j_bolt_value *v, const char *k, char *out, size_t cap,
		       struct sim_result *r)
{
	if (v->type == N4J_BOLT_INT && strcmp(k, "seedRestoreUntil") == 0) {
		/* a transaction id may be given as a number */
		snprintf(out, cap, "%" PRId64, v->u.i);
		return true;
	}
	if (v->type != N4J_BOLT_STRING || v->u.s.len == 0 || v->u.s.len >= cap) {
		fail(r, ARG,
		     "Could not create database with specified %s. Expected a non-empty "
		     "string.",
		     k);
		return false;
	}
	scopy(out, cap, v->u.s.data);
	return true;
}

/* OPTIONS {…} of CREATE DATABASE: the keys this version knows (operations manual, "Create
 * databases", options table; seedRestoreUntil 2025.01, seedSourceDatabase 2025.06),
 * existingData 'use' required with seedURI in Cypher 5 ("The existingData option is
 * required in Cypher 5", "Create a database from a URI"). */
static bool create_options(struct sim *s, const char *n, const struct n4j_bolt_value *opts,
			   struct seed_opts *so, struct sim_result *r)
{
	memset(so, 0, sizeof *so);
	if (opts->type == N4J_BOLT_NULL)
		return true;
	if (opts->type != N4J_BOLT_MAP) {
		fail(r, ARG, "Failed to create the specified database '%s': OPTIONS must be a map.",
		     n);
		return false;
	}
	static const struct {
		const char *key;
		int major, minor;
	} known[] = {{"existingData", 5, 0},
		     {"existingDataSeedInstance", 5, 0},
		     {"existingDataSeedServer", 5, 0},
		     {"seedURI", 5, 0},
		     {"seedConfig", 5, 0},
		     {"seedCredentials", 5, 0},
		     {"txLogEnrichment", 5, 0},
		     {"storeFormat", 5, 0},
		     {"seedRestoreUntil", 2025, 1},
		     {"seedSourceDatabase", 2025, 6}};
	bool existing = false;
	for (uint32_t i = 0; i < opts->u.map.len; i++) {
		const char *k = opts->u.map.pairs[i].key.u.s.data;
		const struct n4j_bolt_value *v = &opts->u.map.pairs[i].value;
		size_t j = 0;
		while (j < sizeof known / sizeof known[0] &&
		       (strcmp(known[j].key, k) != 0 ||
			!sim_version_at_least(s, known[j].major, known[j].minor)))
			j++;
		if (j == sizeof known / sizeof known[0]) {
			/* what this version's option parser says of a key it does not know */
			fail(r, ARG,
			     "Could not create database with unrecognised option: '%s'. Expected "
			     "'existingData', 'existingDataSeedInstance', "
			     "'existingDataSeedServer', "
			     "'seedURI', 'seedConfig', 'seedCredentials', 'txLogEnrichment', "
			     "'storeFormat'%s.",
			     k,
			     sim_version_at_least(s, 2025, 6)   ? ", 'seedRestoreUntil', "
								  "'seedSourceDatabase'"
			     : sim_version_at_least(s, 2025, 1) ? ", 'seedRestoreUntil'"
								: "");
			return false;
		}
		if (strcmp(k, "existingData") == 0) {
			if (v->type != N4J_BOLT_STRING || strcasecmp(v->u.s.data, "use") != 0) {
				fail(r, ARG,
				     "Could not create database with specified existingData. "
				     "Expected 'use'.");
				return false;
			}
			existing = true;
		} else if (strcmp(k, "seedURI") == 0) {
			if (!opt_string(v, k, so->uri, sizeof so->uri, r))
				return false;
		} else if (strcmp(k, "seedRestoreUntil") == 0) {
			if (!opt_string(v, k, so->until, sizeof so->until, r))
				return false;
		} else if (strcmp(k, "seedSourceDatabase") == 0) {
			if (!opt_string(v, k, so->src, sizeof so->src, r))
				return false;
		}
	}
	if ((so->until[0] || so->src[0]) && !so->uri[0]) {
		fail(r, ARG, "Could not create database: '%s' requires 'seedURI'.",
		     so->until[0] ? "seedRestoreUntil" : "seedSourceDatabase");
		return false;
	}
	if (so->uri[0] && !existing) {
		fail(r, ARG,
		     "Failed to create the specified database '%s': the 'existingData' option "
		     "is required when 'seedURI' is given (Cypher 5).",
		     n);
		return false;
	}
	return true;
}

/* Every copy of d loads the seed on its server: they start when the tool answers. */
static void seed_copies(struct sim *s, int d, const struct seed_opts *so)
{
	struct sim_db *db = &s->db[d];
	scopy(db->seed_uri, sizeof db->seed_uri, so->uri);
	scopy(db->seed_until, sizeof db->seed_until, so->until);
	scopy(db->seed_src, sizeof db->seed_src, so->src);
	for (int k = 0; k < SIM_MAX_ALLOC; k++) {
		struct sim_alloc *a = &s->al[k];
		if (!a->used || a->db != d || a->status == AL_LEAVING)
			continue;
		a->status = AL_STARTING;
		a->seed = SEED_WANTED;
		a->seed_token = 0;
		a->msg[0] = '\0';
	}
}

static void create_database(struct sim *s, struct lex *L)
{
	struct sim_result *r = L->r;
	char n[128];
	if (!name(L, n, sizeof n))
		return;
	bool if_not = false;
	if (kw(L, "IF")) {
		if (!expect_kw(L, "NOT") || !expect_kw(L, "EXISTS"))
			return;
		if_not = true;
	}
	int64_t p = 1, q = 0;
	if (kw(L, "TOPOLOGY") && !topology(L, &p, &q))
		return;
	struct n4j_bolt_value opts = {.type = N4J_BOLT_NULL};
	if (kw(L, "OPTIONS") && !literal(L, &opts, 0))
		return;
	bool wait = false;
	if (kw(L, "WAIT")) {
		wait = true;
		int64_t secs;
		if (L->t == T_NUM && number(L, &secs))
			(void)(kw(L, "SECONDS") || kw(L, "SECOND") || kw(L, "SEC"));
	} else {
		kw(L, "NOWAIT");
	}
	if (!at_end(L))
		return;
	for (char *c = n; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	if (!valid_db_name(n))
		return fail(r, ARG, "Database name '%s' contains illegal characters.", n);
	struct seed_opts so;
	if (!create_options(s, n, &opts, &so, r))
		return;
	if (find_db(s, n, true) >= 0 || strcmp(n, "system") == 0) {
		if (if_not) {
			r->write = true;
			return;
		}
		return fail(r, "Neo.ClientError.Database.ExistingDatabaseFound", "42N11",
			    "Failed to create the specified database '%s': Database already "
			    "exists.",
			    n);
	}
	int d = -1;
	for (int k = 0; k < SIM_MAX_DBS && d < 0; k++)
		if (!s->db[k].used)
			d = k;
	if (d < 0)
		return fail(r, ARG, "Too many databases in the simulator");
	s->db[d] = (struct sim_db){.used = true,
				   .primaries = (int)p,
				   .secondaries = (int)q,
				   .requested_online = true,
				   .created = sim_now_ms()};
	scopy(s->db[d].name, sizeof s->db[d].name, n);
	if (sim_uuid(s->db[d].id)) {
		s->db[d].used = false;
		return fail(r, ARG, "no randomness for a database id");
	}
	long ready = wait ? sim_now_ms() : sim_now_ms() + s->move_ms / 2;
	if (!allocate(s, d, (int)p, (int)q, ready)) {
		s->db[d].used = false;
		return fail(r, ARG,
			    "Failed to create the specified database '%s': the enabled servers "
			    "cannot hold %d primaries and %d secondaries.",
			    n, (int)p, (int)q);
	}
	if (so.uri[0])
		seed_copies(s, d, &so);
	r->write = true;
	if (wait) {
		/* WAIT reports per server; copies come online at once in the simulator */
		static const char *const wc[] = {"address", "state", "message", "success", NULL};
		set_fields(r, wc);
		r->rows = n4j_arena_calloc(L->a, 64, sizeof *r->rows);
		for (int k = 0; k < SIM_MAX_ALLOC && r->nrows < 64; k++) {
			if (!s->al[k].used || s->al[k].db != d)
				continue;
			struct n4j_bolt_value *l = n4j_bolt_list_new(L->a, 4);
			l->u.list.items[0] = n4j_bolt_str(s->srv[s->al[k].server].address);
			l->u.list.items[1] = n4j_bolt_str("CaughtUp");
			l->u.list.items[2] = n4j_bolt_str("caught up");
			l->u.list.items[3] = n4j_bolt_bool(true);
			r->rows[r->nrows++] = *l;
		}
	}
}

static void resize(struct sim *s, int d, bool primary, int want, struct sim_result *r)
{
	int have = count_copies(s, d, primary);
	if (want > have) {
		if (!allocate(s, d, primary ? want - have : 0, primary ? 0 : want - have,
			      sim_now_ms() + s->move_ms))
			fail(r, ARG,
			     "Failed to alter database '%s': the enabled servers cannot hold the "
			     "topology.",
			     s->db[d].name);
		return;
	}
	/* shrink: cordoned servers lose their copies first */
	for (int pass = 0; pass < 2 && have > want; pass++)
		for (int k = 0; k < SIM_MAX_ALLOC && have > want; k++) {
			struct sim_alloc *al = &s->al[k];
			if (!al->used || al->db != d || al->primary != primary ||
			    al->status == AL_LEAVING)
				continue;
			if (pass == 0 && s->srv[al->server].state != SRV_CORDONED)
				continue;
			al->status = AL_LEAVING;
			al->ready_at = sim_now_ms() + s->move_ms / 4;
			have--;
		}
}

static void alter_database(struct sim *s, struct lex *L)
{
	struct sim_result *r = L->r;
	char n[128];
	if (!name(L, n, sizeof n))
		return;
	bool if_exists = false;
	if (kw(L, "IF")) {
		if (!expect_kw(L, "EXISTS"))
			return;
		if_exists = true;
	}
	if (!expect_kw(L, "SET") || !expect_kw(L, "TOPOLOGY"))
		return;
	int64_t p = 1, q = 0;
	if (!topology(L, &p, &q))
		return;
	(void)(kw(L, "WAIT") || kw(L, "NOWAIT"));
	if (!at_end(L))
		return;
	int d = find_db(s, n, false);
	if (d < 0) {
		if (if_exists)
			return;
		return fail(r, "Neo.ClientError.Database.DatabaseNotFound", "22N51",
			    "Failed to alter the specified database '%s': Database does not exist.",
			    n);
	}
	struct sim_db *db = &s->db[d];
	if (db->primaries > 1 && p == 1)
		return fail(r, ARG,
			    "Failed to alter database '%s': shrinking a topology to one primary is "
			    "not supported.",
			    n);
	/* all-or-nothing: check capacity first */
	int eligible_p = 0, eligible_any = 0;
	for (int i = 0; i < s->nsrv; i++) {
		bool h = hosts(s, i, d);
		if (!h && (s->srv[i].state != SRV_ENABLED || s->srv[i].stopped))
			continue;
		eligible_any++;
		eligible_p += mode_ok(&s->srv[i], true);
	}
	if (p > eligible_p || p + q > eligible_any)
		return fail(r, ARG,
			    "Failed to alter database '%s': the enabled servers cannot hold %d "
			    "primaries and %d secondaries.",
			    n, (int)p, (int)q);
	resize(s, d, true, (int)p, r);
	if (!r->failed)
		resize(s, d, false, (int)q, r);
	db->primaries = (int)p;
	db->secondaries = (int)q;
	r->write = true;
}

static void drop_database(struct sim *s, struct lex *L)
{
	char n[128];
	if (!name(L, n, sizeof n))
		return;
	bool if_exists = false;
	if (kw(L, "IF")) {
		if (!expect_kw(L, "EXISTS"))
			return;
		if_exists = true;
	}
	if (kw(L, "DUMP") || kw(L, "DESTROY"))
		expect_kw(L, "DATA");
	(void)(kw(L, "WAIT") || kw(L, "NOWAIT"));
	if (!at_end(L))
		return;
	int d = find_db(s, n, false);
	if (d < 0) {
		if (!if_exists)
			fail(L->r, "Neo.ClientError.Database.DatabaseNotFound", "22N51",
			     "Failed to delete the specified database '%s': Database does not "
			     "exist.",
			     n);
		return;
	}
	for (int k = 0; k < SIM_MAX_ALLOC; k++)
		if (s->al[k].used && s->al[k].db == d)
			s->al[k].used = false;
	for (int k = 0; k < SIM_MAX_ALIASES; k++)
		if (s->alias[k].used && strcasecmp(s->alias[k].target, s->db[d].name) == 0)
			s->alias[k].used = false;
	s->db[d].used = false;
	L->r->write = true;
}

static void start_stop(struct sim *s, struct lex *L, bool start)
{
	char n[128];
	if (!name(L, n, sizeof n))
		return;
	(void)(kw(L, "WAIT") || kw(L, "NOWAIT"));
	if (!at_end(L))
		return;
	int d = find_db(s, n, false);
	if (d < 0)
		return fail(L->r, "Neo.ClientError.Database.DatabaseNotFound", "22N51",
			    "Database '%s' does not exist.", n);
	s->db[d].requested_online = start;
	for (int k = 0; k < SIM_MAX_ALLOC; k++)
		if (s->al[k].used && s->al[k].db == d && s->al[k].status != AL_LEAVING) {
			s->al[k].status = AL_STARTING;
			s->al[k].ready_at = sim_now_ms() + s->move_ms / 4;
			s->al[k].msg[0] = '\0';
		}
	L->r->write = true;
}

/* CALL dbms[.cluster].recreateDatabase(name [, {…}]): keeps the name, aliases and
 * topology (or the one given), gives the database a new store (new databaseId), seeded
 * from seedURI or from the servers. Only for real user databases (not system, not
 * composite: the simulator has none). Options per the operations manual, "Recreate a
 * database": seedingServers, seedURI, seedConfig, seedCredentials, primaries,
 * secondaries, clearData (2025.02), storeFormat (2025.04). */
static void recreate(struct sim *s, struct lex *L, const char *proc)
{
	struct sim_result *r = L->r;
	char n[128];
	struct n4j_bolt_value opts = {.type = N4J_BOLT_NULL};
	if (!sym(L, '('))
		return fail(r, SYNTAX, "Invalid input '%s': expected '('", L->s);
	if (!name(L, n, sizeof n))
		return;
	if (sym(L, ',') && !literal(L, &opts, 0))
		return;
	if (!sym(L, ')'))
		return fail(r, SYNTAX, "Invalid input '%s': expected ')'", L->s);
	if (!at_end(L))
		return;
#define PROC_FAILED "Neo.ClientError.Procedure.ProcedureCallFailed", "52N37"
	if (opts.type != N4J_BOLT_NULL && opts.type != N4J_BOLT_MAP)
		return fail(
			r, PROC_FAILED,
			"Failed to invoke procedure `%s`: Caused by: the options must be a map.",
			proc);
	if (strcasecmp(n, "system") == 0)
		return fail(r, PROC_FAILED,
			    "Failed to invoke procedure `%s`: Caused by: the system database "
			    "cannot be recreated: the recreate procedure works only for real user "
			    "databases.",
			    proc);
	int d = find_db(s, n, false);
	if (d < 0)
		return fail(r, "Neo.ClientError.Database.DatabaseNotFound", "22N51",
			    "Failed to invoke procedure `%s`: Caused by: Database '%s' does not "
			    "exist.",
			    proc, n);
	struct seed_opts so = {0};
	int64_t p = s->db[d].primaries, q = s->db[d].secondaries;
	bool clear = false, topo = false;
	for (uint32_t i = 0; opts.type == N4J_BOLT_MAP && i < opts.u.map.len; i++) {
		const char *k = opts.u.map.pairs[i].key.u.s.data;
		const struct n4j_bolt_value *v = &opts.u.map.pairs[i].value;
		if (strcmp(k, "seedURI") == 0) {
			if (!opt_string(v, k, so.uri, sizeof so.uri, r))
				return;
		} else if (strcmp(k, "primaries") == 0 || strcmp(k, "secondaries") == 0) {
			if (v->type != N4J_BOLT_INT)
				return fail(
					r, PROC_FAILED,
					"Failed to invoke procedure `%s`: Caused by: %s must be "
					"an integer.",
					proc, k);
			if (k[0] == 'p') {
				p = v->u.i;
				if (!topo)
					q = 0; /* primaries alone: secondaries 0 */
			} else {
				q = v->u.i;
			}
			topo = true;
		} else if (strcmp(k, "clearData") == 0 && sim_version_at_least(s, 2025, 2)) {
			clear = v->type == N4J_BOLT_BOOL && v->u.b;
		} else if (strcmp(k, "seedingServers") != 0 && strcmp(k, "seedConfig") != 0 &&
			   strcmp(k, "seedCredentials") != 0 &&
			   !(strcmp(k, "storeFormat") == 0 && sim_version_at_least(s, 2025, 4))) {
			return fail(r, PROC_FAILED,
				    "Failed to invoke procedure `%s`: Caused by: Unrecognised "
				    "option '%s'.",
				    proc, k);
		}
	}
	if (clear && so.uri[0])
		return fail(r, PROC_FAILED,
			    "Failed to invoke procedure `%s`: Caused by: clearData cannot be "
			    "combined with seeding options.",
			    proc);
	if (p < 1 || p > 11 || q < 0 || q > 20)
		return fail(r, ARG,
			    "Invalid topology: primaries must be 1 to 11 and secondaries 0 to 20.");
	struct sim_db *db = &s->db[d];
	char id[37];
	if (sim_uuid(id))
		return fail(r, ARG, "no randomness for a database id");
	if (topo) {
		resize(s, d, true, (int)p, r);
		if (!r->failed)
			resize(s, d, false, (int)q, r);
		if (r->failed)
			return;
		db->primaries = (int)p;
		db->secondaries = (int)q;
	}
	memcpy(db->id, id, sizeof id);
	db->last_tx = 0;
	db->nodes = 0;
	/* "a successful operation starts the database regardless of its previous state" */
	db->requested_online = true;
	db->created = sim_now_ms();
	if (so.uri[0]) {
		seed_copies(s, d, &so);
	} else {
		db->seed_uri[0] = db->seed_until[0] = db->seed_src[0] = '\0';
		for (int k = 0; k < SIM_MAX_ALLOC; k++) {
			struct sim_alloc *a = &s->al[k];
			if (!a->used || a->db != d || a->status == AL_LEAVING)
				continue;
			a->status = AL_STARTING;
			a->seed = SEED_NONE;
			a->msg[0] = '\0';
			a->ready_at = sim_now_ms() + s->move_ms / 2;
		}
	}
	r->write = true;
}

static int find_alias(struct sim *s, const char *n)
{
	for (int k = 0; k < SIM_MAX_ALIASES; k++)
		if (s->alias[k].used && strcasecmp(s->alias[k].name, n) == 0)
			return k;
	return -1;
}

static void create_alias(struct sim *s, struct lex *L)
{
	char n[128], target[128];
	if (!name(L, n, sizeof n))
		return;
	bool if_not = false;
	if (kw(L, "IF")) {
		if (!expect_kw(L, "NOT") || !expect_kw(L, "EXISTS"))
			return;
		if_not = true;
	}
	if (!expect_kw(L, "FOR") || !expect_kw(L, "DATABASE") || !name(L, target, sizeof target) ||
	    !at_end(L))
		return;
	if (find_alias(s, n) >= 0 || find_db(s, n, false) >= 0) {
		if (!if_not)
			fail(L->r, "Neo.ClientError.Database.ExistingDatabaseFound", "42N11",
			     "Failed to create the specified database alias '%s': Database name or "
			     "alias already exists.",
			     n);
		return;
	}
	if (find_db(s, target, false) < 0)
		return fail(L->r, "Neo.ClientError.Database.DatabaseNotFound", "22N51",
			    "Database '%s' does not exist.", target);
	for (int k = 0; k < SIM_MAX_ALIASES; k++)
		if (!s->alias[k].used) {
			s->alias[k].used = true;
			scopy(s->alias[k].name, sizeof s->alias[k].name, n);
			scopy(s->alias[k].target, sizeof s->alias[k].target, target);
			L->r->write = true;
			return;
		}
	fail(L->r, ARG, "Too many aliases in the simulator");
}

static void alter_alias(struct sim *s, struct lex *L)
{
	char n[128], target[128];
	if (!name(L, n, sizeof n))
		return;
	bool if_exists = kw(L, "IF") && expect_kw(L, "EXISTS");
	if (!expect_kw(L, "SET") || !expect_kw(L, "DATABASE") || !expect_kw(L, "TARGET") ||
	    !name(L, target, sizeof target) || !at_end(L))
		return;
	int k = find_alias(s, n);
	if (k < 0) {
		if (!if_exists)
			fail(L->r, "Neo.ClientError.Database.DatabaseNotFound", "22N51",
			     "Failed to alter the specified database alias '%s': Database alias "
			     "does not exist.",
			     n);
		return;
	}
	if (find_db(s, target, false) < 0)
		return fail(L->r, "Neo.ClientError.Database.DatabaseNotFound", "22N51",
			    "Database '%s' does not exist.", target);
	scopy(s->alias[k].target, sizeof s->alias[k].target, target);
	L->r->write = true;
}

static void drop_alias(struct sim *s, struct lex *L)
{
	char n[128];
	if (!name(L, n, sizeof n))
		return;
	bool if_exists = kw(L, "IF") && expect_kw(L, "EXISTS");
	if (!expect_kw(L, "FOR") || !expect_kw(L, "DATABASE") || !at_end(L))
		return;
	int k = find_alias(s, n);
	if (k < 0) {
		if (!if_exists)
			fail(L->r, "Neo.ClientError.Database.DatabaseNotFound", "22N51",
			     "Failed to delete the specified database alias '%s': Database alias "
			     "does not exist.",
			     n);
		return;
	}
	s->alias[k].used = false;
	L->r->write = true;
}

static void show_aliases(struct sim *s, struct lex *L)
{
	(void)(kw(L, "FOR") && (kw(L, "DATABASES") || kw(L, "DATABASE")));
	static const char *const cols[] = {"name", "composite", "database", "location", NULL};
	struct table t = {0};
	for (t.ncols = 0; cols[t.ncols]; t.ncols++)
		t.cols[t.ncols] = cols[t.ncols];
	for (int k = 0; k < SIM_MAX_ALIASES; k++) {
		if (!s->alias[k].used)
			continue;
		struct n4j_bolt_value *row = add_row(L->a, &t);
		row[0] = n4j_bolt_str(s->alias[k].name);
		row[1] = n4j_bolt_null();
		row[2] = n4j_bolt_str(s->alias[k].target);
		row[3] = n4j_bolt_str("local");
	}
	finish_show(L, &t, cols);
}

/* Writes go through the system leader; a follower on a direct connection refuses. */
static bool leader_only(struct sim *s, int on, struct sim_result *r)
{
	if (s->leader < 0) {
		fail(r, "Neo.TransientError.General.DatabaseUnavailable", "08N09",
		     "Database 'system' is unavailable: no leader (no quorum).");
		return false;
	}
	if (s->leader != on || s->srv[on].partitioned) {
		fail(r, "Neo.ClientError.Cluster.NotALeader", "08N07",
		     "No write operations are allowed directly on this database. Writes must pass "
		     "through the leader. The role of this server is: FOLLOWER");
		return false;
	}
	return true;
}

/* ---- procedures and data statements on any database ---------------------------------- */

/* CALL dbms.components() [YIELD …] as 5.26 Enterprise answers it, on every database. */
static void components(struct sim *s, struct lex *L)
{
	static const char *const cols[] = {"name", "versions", "edition", NULL};
	struct table t = {.ncols = 3, .cols = {cols[0], cols[1], cols[2]}};
	if (!sym(L, '(') || !sym(L, ')'))
		return fail(L->r, SYNTAX, "Invalid input '%s': expected '()'", L->s);
	struct n4j_bolt_value *row = add_row(L->a, &t);
	const char *versions[] = {s->version};
	row[0] = n4j_bolt_str("Neo4j Kernel");
	row[1] = str_list(L->a, versions, 1);
	row[2] = n4j_bolt_str("enterprise");
	finish_show(L, &t, cols);
}

/* The only data the simulator keeps is a node count per database, so that tests can see
 * where a driver sends writes and reads: `CREATE (…)` (one node; only the database's
 * writer accepts it, as in Neo4j) and `MATCH (n) RETURN count(n) [AS x]`. */
static bool data_statement(struct sim *s, int on, int d, struct lex *L, const char *query)
{
	struct sim_result *r = L->r;
	const char *q = query + strspn(query, " \t\r\n");
	if (strncasecmp(q, "CREATE", 6) == 0 && q[6 + strspn(q + 6, " \t\r\n")] == '(') {
		if (db_leader(s, d) != on) {
			fail(r, "Neo.ClientError.Cluster.NotALeader", "08N07",
			     "No write operations are allowed directly on this database. Writes "
			     "must pass through the leader. The role of this server is: FOLLOWER");
			return true;
		}
		s->db[d].nodes++;
		s->db[d].last_tx++;
		r->type = "w";
		r->nodes_created = 1;
		return true;
	}
	if (!kw(L, "MATCH"))
		return false;
	char v[64], v2[64], alias[64] = "count(n)";
	if (!sym(L, '(') || !name(L, v, sizeof v) || !sym(L, ')') || !kw(L, "RETURN") ||
	    !kw(L, "count") || !sym(L, '(') || !name(L, v2, sizeof v2) || !sym(L, ')') ||
	    strcmp(v, v2) != 0 || (kw(L, "AS") && !name(L, alias, sizeof alias)) || !at_end(L)) {
		fail(r, SYNTAX,
		     "Invalid input: the simulator only knows MATCH (n) RETURN count(n)");
		return true;
	}
	r->nfields = 1;
	r->fields[0] = n4j_arena_strdup(L->a, alias);
	r->rows = n4j_arena_calloc(L->a, 1, sizeof *r->rows);
	struct n4j_bolt_value *l = n4j_bolt_list_new(L->a, 1);
	if (!r->fields[0] || !r->rows || !l) {
		fail(r, "Neo.DatabaseError.General.UnknownError", "50N42", "out of memory");
		return true;
	}
	l->u.list.items[0] = n4j_bolt_int(s->db[d].nodes);
	r->rows[r->nrows++] = *l;
	return true;
}

static void run(struct sim *s, int on, const char *db, const char *query,
		const struct n4j_bolt_value *params, struct n4j_arena *a, struct sim_result *r)
{
	memset(r, 0, sizeof *r);
	struct lex L = {.p = query, .params = params, .a = a, .r = r};
	next(&L);
	bool system = db && strcmp(db, "system") == 0;
	if (L.t == T_WORD && strcasecmp(L.s, "RETURN") == 0) {
		next(&L);
		struct n4j_bolt_value v;
		if (!literal(&L, &v, 0))
			return;
		char alias[64] = "1";
		if (kw(&L, "AS"))
			name(&L, alias, sizeof alias);
		if (!at_end(&L))
			return;
		r->nfields = 1;
		r->fields[0] = n4j_arena_strdup(a, alias);
		r->rows = n4j_arena_calloc(a, 1, sizeof *r->rows);
		struct n4j_bolt_value *l = n4j_bolt_list_new(a, 1);
		l->u.list.items[0] = v;
		r->rows[r->nrows++] = *l;
		return;
	}
	if (L.t == T_WORD && strcasecmp(L.s, "CALL") == 0) {
		struct lex save = L;
		next(&L);
		if (L.t == T_WORD && strcasecmp(L.s, "dbms.components") == 0) {
			next(&L);
			return components(s, &L);
		}
		L = save;
	}
	if (!system && db && find_db(s, db, true) >= 0 &&
	    data_statement(s, on, find_db(s, db, true), &L, query))
		return;
	if (!system) {
		/* everything else is administration: it needs the system database */
		if (db && *db && strcmp(db, "system") != 0 && find_db(s, db, true) < 0)
			return fail(r, "Neo.ClientError.Database.DatabaseNotFound", "22N51",
				    "Graph not found: %s", db);
		return fail(r, "Neo.ClientError.Statement.NotSystemDatabaseError", "51N28",
			    "This is an administration command and it should be executed against "
			    "the system database: %s",
			    query);
	}
	bool dry = kw(&L, "DRYRUN");
	if (kw(&L, "SHOW")) {
		if (kw(&L, "SERVERS") || kw(&L, "SERVER"))
			return show_servers(s, on, &L);
		if (kw(&L, "DATABASES"))
			return show_databases(s, on, &L, NULL);
		if (kw(&L, "DATABASE")) {
			char n[128];
			if (L.t == T_WORD &&
			    (strcasecmp(L.s, "YIELD") == 0 || strcasecmp(L.s, "WHERE") == 0))
				return show_databases(s, on, &L, NULL);
			if (L.t == T_END)
				return show_databases(s, on, &L, NULL);
			if (!name(&L, n, sizeof n))
				return;
			return show_databases(s, on, &L, n);
		}
		if (kw(&L, "ALIASES") || kw(&L, "ALIAS"))
			return show_aliases(s, &L);
		return fail(r, SYNTAX, "Invalid input '%s' after SHOW", L.s);
	}
	if (kw(&L, "DEALLOCATE")) {
		if (!dry && !leader_only(s, on, r))
			return;
		return deallocate(s, &L, dry);
	}
	if (kw(&L, "REALLOCATE")) {
		if (!dry && !leader_only(s, on, r))
			return;
		return reallocate(s, &L, dry);
	}
	if (dry)
		return fail(r, SYNTAX, "Invalid input '%s' after DRYRUN", L.s);
	/* every remaining command writes */
	const char *p0 = L.p;
	(void)p0;
	if (kw(&L, "ENABLE")) {
		if (!expect_kw(&L, "SERVER") || !leader_only(s, on, r))
			return;
		return enable_server(s, &L);
	}
	if (kw(&L, "RENAME")) {
		if (!expect_kw(&L, "SERVER") || !leader_only(s, on, r))
			return;
		return rename_server(s, &L);
	}
	if (kw(&L, "CALL")) {
		if (L.t == T_WORD && strcasecmp(L.s, "dbms.cluster.cordonServer") == 0) {
			next(&L);
			if (!leader_only(s, on, r))
				return;
			return cordon(s, &L);
		}
		/* dbms.cluster.recreateDatabase since 5.24; dbms.recreateDatabase replaces it in
		 * 2025.04 (operations manual, "Recreate a database"): each only where it exists */
		if (L.t == T_WORD && ((strcasecmp(L.s, "dbms.cluster.recreateDatabase") == 0 &&
				       sim_version_at_least(s, 5, 24)) ||
				      (strcasecmp(L.s, "dbms.recreateDatabase") == 0 &&
				       sim_version_at_least(s, 2025, 4)))) {
			char proc[64];
			scopy(proc, sizeof proc, L.s);
			next(&L);
			if (!leader_only(s, on, r))
				return;
			return recreate(s, &L, proc);
		}
		return fail(r, "Neo.ClientError.Procedure.ProcedureNotFound", "42N08",
			    "There is no procedure with the name `%s` registered for this database "
			    "instance.",
			    L.s);
	}
	/* Administration commands that only the system leader accepts. */
	static const struct {
		const char *verb, *noun;
		void (*fn)(struct sim *, struct lex *);
	} admin[] = {
		{"CREATE", "DATABASE", create_database}, {"CREATE", "ALIAS", create_alias},
		{"ALTER", "DATABASE", alter_database},   {"ALTER", "ALIAS", alter_alias},
		{"DROP", "SERVER", drop_server},         {"DROP", "DATABASE", drop_database},
		{"DROP", "ALIAS", drop_alias},
	};
	const char *verb = NULL;
	for (size_t i = 0; i < sizeof(admin) / sizeof(admin[0]); i++) {
		if (verb && strcmp(verb, admin[i].verb) != 0)
			continue;
		if (!verb) {
			if (!kw(&L, admin[i].verb))
				continue;
			verb = admin[i].verb;
		}
		if (!kw(&L, admin[i].noun))
			continue;
		if (!leader_only(s, on, r))
			return;
		return admin[i].fn(s, &L);
	}
	/* A known verb with an unknown object falls through to the syntax error. */
	if (!verb && (kw(&L, "START") || kw(&L, "STOP"))) {
		bool start = strncasecmp(query + strspn(query, " \t\r\n"), "START", 5) == 0;
		if (!expect_kw(&L, "DATABASE") || !leader_only(s, on, r))
			return;
		return start_stop(s, &L, start);
	}
	if (!r->failed)
		fail(r, SYNTAX, "Invalid input '%s': the simulator does not know this statement",
		     L.s);
}

void sim_run(struct sim *s, int on, const char *db, const char *query,
	     const struct n4j_bolt_value *params, struct n4j_arena *a, struct sim_result *r)
{
	run(s, on, db, query, params, a, r);
	/* administration commits a transaction on `system`: its lastTx grows */
	if (!r->failed && r->write && db && strcmp(db, "system") == 0)
		s->sys_last_tx++;
}

int sim_route(struct sim *s, int on, const char *db, struct n4j_arena *a, struct n4j_bolt_value *rt,
	      struct sim_result *r)
{
	memset(r, 0, sizeof *r);
	const char *w[SIM_MAX_SERVERS], *rd[SIM_MAX_SERVERS], *ro[SIM_MAX_SERVERS];
	int nw = 0, nr = 0, nro = 0;
	const char *dbname = db ? db : "neo4j";
	if (strcmp(dbname, "system") == 0) {
		for (int i = 0; i < s->nsrv; i++) {
			if (s->srv[i].state == SRV_DROPPED || !visible(s, on, i))
				continue;
			ro[nro++] = s->srv[i].address;
			if (i == s->leader && !s->srv[on].partitioned)
				w[nw++] = s->srv[i].address;
			else
				rd[nr++] = s->srv[i].address;
		}
	} else {
		int d = find_db(s, dbname, true);
		if (d < 0) {
			fail(r, "Neo.ClientError.Database.DatabaseNotFound", "22N51",
			     "Database does not exist. Database name: '%s'.", dbname);
			return -1;
		}
		int lead = db_leader(s, d);
		for (int k = 0; k < SIM_MAX_ALLOC; k++) {
			struct sim_alloc *al = &s->al[k];
			if (!al->used || al->db != d || al->status != AL_ONLINE ||
			    !visible(s, on, al->server))
				continue;
			if (al->server == lead)
				w[nw++] = s->srv[al->server].address;
			else
				rd[nr++] = s->srv[al->server].address;
		}
		for (int i = 0; i < s->nsrv; i++)
			if (s->srv[i].state != SRV_DROPPED && visible(s, on, i))
				ro[nro++] = s->srv[i].address;
	}
	/* dbms.routing.reads_on_writers_enabled defaults to false, but "Writer is returned
	 * as read endpoint if no other member is present" (operations manual, configuration
	 * settings): a single-primary database, or system with only its leader up, still
	 * has a reader. */
	for (int k = 0; k < nw && nr == 0; k++)
		rd[nr++] = w[k];
	struct n4j_bolt_value *servers = n4j_bolt_list_new(a, 3);
	const char **lists[3] = {w, rd, ro};
	int counts[3] = {nw, nr, nro};
	static const char *const roles[3] = {"WRITE", "READ", "ROUTE"};
	for (int k = 0; k < 3; k++) {
		struct n4j_bolt_value *m = n4j_bolt_map_new(a, 2);
		n4j_bolt_map_set(m, 0, "addresses", str_list(a, lists[k], counts[k]));
		n4j_bolt_map_set(m, 1, "role", n4j_bolt_str(roles[k]));
		servers->u.list.items[k] = *m;
	}
	struct n4j_bolt_value *m = n4j_bolt_map_new(a, 3);
	n4j_bolt_map_set(m, 0, "ttl", n4j_bolt_int(300));
	n4j_bolt_map_set(m, 1, "db", n4j_bolt_str(n4j_arena_strdup(a, dbname)));
	n4j_bolt_map_set(m, 2, "servers", *servers);
	*rt = *m;
	return 0;
}
