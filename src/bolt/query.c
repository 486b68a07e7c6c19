/* RUN/PULL/DISCARD, transactions, RESET, LOGON/LOGOFF: requests and their replies. */
#include "bolt/conn.h"

#include <string.h>

static bool in_tx(const struct n4j_bolt_conn *c)
{
	return c->state == N4J_BOLT_TX_READY || c->state == N4J_BOLT_TX_STREAMING;
}

static int bad_state(const struct n4j_bolt_conn *c, const char *what, struct n4j_error *err)
{
	static const char *const names[] = {"disconnected", "connected", "authentication",
					    "ready",        "streaming", "tx_ready",
					    "tx_streaming", "failed",    "defunct"};
	if (c->state == N4J_BOLT_DEFUNCT)
		return n4j_err(err, N4J_EBOLT_CLOSED, "bolt: connection to %s is closed",
			       c->address);
	return n4j_err(err, N4J_EBOLT_STATE, "bolt: %s not allowed in state %s%s", what,
		       names[c->state], c->state == N4J_BOLT_FAILED ? " (RESET first)" : "");
}

/* The extra map of RUN (auto-commit) or BEGIN. */
static struct n4j_bolt_value *tx_extra(struct n4j_arena *a, const struct n4j_bolt_query *q)
{
	struct n4j_bolt_value *m = n4j_bolt_map_new(a, 4);
	if (!m)
		return NULL;
	uint32_t i = 0;
	if (q && q->db && *q->db)
		n4j_bolt_map_set(m, i++, "db", n4j_bolt_str(q->db));
	if (q && q->read)
		n4j_bolt_map_set(m, i++, "mode", n4j_bolt_str("r"));
	if (q && q->tx_timeout_ms > 0)
		n4j_bolt_map_set(m, i++, "tx_timeout", n4j_bolt_int(q->tx_timeout_ms));
	if (q && q->bookmarks && q->bookmarks[0]) {
		uint32_t n = 0;
		while (q->bookmarks[n])
			n++;
		struct n4j_bolt_value *l = n4j_bolt_list_new(a, n);
		if (!l)
			return NULL;
		for (uint32_t k = 0; k < n; k++)
			l->u.list.items[k] = n4j_bolt_str(q->bookmarks[k]);
		n4j_bolt_map_set(m, i++, "bookmarks", *l);
	}
	m->u.map.len = i;
	return m;
}

static int queue_run(struct n4j_bolt_conn *c, struct n4j_arena *a, const struct n4j_bolt_query *q,
		     struct n4j_error *err)
{
	if (c->state != N4J_BOLT_READY && !in_tx(c))
		return bad_state(c, "RUN", err);
	struct n4j_bolt_value f[3];
	static const struct n4j_bolt_value empty = {.type = N4J_BOLT_MAP};
	f[0] = n4j_bolt_str(q->text);
	f[1] = q->params ? *q->params : empty;
	if (in_tx(c)) {
		f[2] = empty; /* db, mode... belong to BEGIN inside a transaction */
	} else {
		struct n4j_bolt_value *x = tx_extra(a, q);
		if (!x)
			return n4j_err(err, N4J_ENOMEM, "bolt: out of memory");
		f[2] = *x;
	}
	if (f[1].type != N4J_BOLT_MAP)
		return n4j_err(err, N4J_EINVAL, "bolt: query parameters must be a map");
	bolt_queue(c, BOLT_RUN, 3, f);
	return 0;
}

static void queue_pull(struct n4j_bolt_conn *c, struct n4j_arena *a, uint8_t sig, int64_t n,
		       int64_t qid)
{
	struct n4j_bolt_value m = {.type = N4J_BOLT_MAP};
	struct n4j_bolt_pair p[2];
	p[0].key = n4j_bolt_str("n");
	p[0].value = n4j_bolt_int(n);
	m.u.map.pairs = p;
	m.u.map.len = 1;
	/* qid only inside explicit transactions (pitfall 12) */
	if (in_tx(c) && qid >= 0) {
		p[1].key = n4j_bolt_str("qid");
		p[1].value = n4j_bolt_int(qid);
		m.u.map.len = 2;
	}
	(void)a;
	bolt_queue(c, sig, 1, &m);
}

static int after_run(struct n4j_bolt_conn *c, int rc)
{
	if (rc == 0) {
		if (in_tx(c)) {
			c->state = N4J_BOLT_TX_STREAMING;
			c->tx_streams++;
		} else {
			c->state = N4J_BOLT_STREAMING;
		}
	}
	return rc;
}

static void stream_done(struct n4j_bolt_conn *c)
{
	if (c->state == N4J_BOLT_TX_STREAMING) {
		if (--c->tx_streams <= 0) {
			c->tx_streams = 0;
			c->state = N4J_BOLT_TX_READY;
		}
	} else if (c->state == N4J_BOLT_STREAMING) {
		c->state = N4J_BOLT_READY;
	}
}

/*
 * Neo4j 5.26 Community answers SHOW SERVERS sent to `system` with NotSystemDatabaseError
 * (observed against the test server) instead of UnsupportedAdministrationCommand. Sent
 * anywhere but `system` that code means "resend on system"; sent to `system` it can only
 * mean the edition lacks the command, so it is classified UNSUPPORTED (by code and
 * request, never by message text).
 */
static void system_refusal(struct n4j_bolt_conn *c, const struct n4j_bolt_query *q)
{
	static const char code[] = "Neo.ClientError.Statement.NotSystemDatabaseError";
	if (q->db && strcmp(q->db, "system") == 0 && strcmp(c->failure.code, code) == 0)
		c->failure.cls = N4J_BOLT_CLASS_UNSUPPORTED;
}

int n4j_bolt_field(const struct n4j_bolt_result *r, const char *name)
{
	for (uint32_t i = 0; i < r->nfields; i++)
		if (strcmp(r->fields[i], name) == 0)
			return (int)i;
	return -1;
}

static int set_fields(struct n4j_bolt_conn *c, struct n4j_arena *a, const struct n4j_bolt_value *m,
		      struct n4j_bolt_result *res, struct n4j_error *err)
{
	const struct n4j_bolt_value *f = n4j_bolt_map_get(m, "fields");
	if (!res)
		return 0;
	if (!f || f->type != N4J_BOLT_LIST) {
		bolt_defunct(c);
		return n4j_err(err, N4J_EBOLT_PROTOCOL, "bolt: RUN SUCCESS without fields");
	}
	res->nfields = f->u.list.len;
	res->fields = n4j_arena_calloc(a, f->u.list.len + 1, sizeof(char *));
	if (!res->fields)
		return n4j_err(err, N4J_ENOMEM, "bolt: out of memory");
	for (uint32_t i = 0; i < f->u.list.len; i++) {
		res->fields[i] = n4j_bolt_as_str(&f->u.list.items[i]);
		if (!res->fields[i]) {
			bolt_defunct(c);
			return n4j_err(err, N4J_EBOLT_PROTOCOL,
				       "bolt: a field name is not a string");
		}
	}
	return 0;
}

/* Reads RECORDs and the summary of one PULL (or DISCARD when res is NULL). */
static int read_stream(struct n4j_bolt_conn *c, struct n4j_arena *a, struct n4j_bolt_result *res,
		       bool *has_more, struct n4j_error *err)
{
	size_t cap = res ? res->nrows : 0;
	*has_more = false;
	for (;;) {
		struct n4j_bolt_value m;
		int rc = bolt_recv(c, a, &m, err);
		if (rc)
			return rc;
		if (m.u.st.tag == BOLT_RECORD) {
			if (!res || m.u.st.len != 1 || m.u.st.fields[0].type != N4J_BOLT_LIST) {
				bolt_defunct(c);
				return n4j_err(err, N4J_EBOLT_PROTOCOL, "bolt: unexpected RECORD");
			}
			if (res->nrows == cap) {
				size_t ncap = cap ? cap * 2 : 16;
				struct n4j_bolt_value *rows =
					n4j_arena_calloc(a, ncap, sizeof(struct n4j_bolt_value));
				if (!rows)
					return n4j_err(err, N4J_ENOMEM, "bolt: out of memory");
				if (res->nrows)
					memcpy(rows, res->rows, res->nrows * sizeof *rows);
				res->rows = rows;
				cap = ncap;
			}
			res->rows[res->nrows++] = m.u.st.fields[0];
			continue;
		}
		/* not a RECORD: it is the summary; hand the message back to bolt_summary's logic */
		struct n4j_bolt_value meta = {.type = N4J_BOLT_MAP};
		if (m.u.st.tag == BOLT_SUCCESS && m.u.st.len == 1 &&
		    m.u.st.fields[0].type == N4J_BOLT_MAP) {
			meta = m.u.st.fields[0];
			const struct n4j_bolt_value *hm = n4j_bolt_map_get(&meta, "has_more");
			*has_more = hm && hm->type == N4J_BOLT_BOOL && hm->u.b;
			if (!*has_more)
				stream_done(c);
			if (res) {
				res->summary = meta;
				res->bookmark =
					n4j_bolt_as_str(n4j_bolt_map_get(&meta, "bookmark"));
			}
			return 0;
		}
		if (m.u.st.tag == BOLT_FAILURE && m.u.st.len == 1 &&
		    m.u.st.fields[0].type == N4J_BOLT_MAP) {
			n4j_bolt_failure_parse(&m.u.st.fields[0], &c->failure);
			c->state = N4J_BOLT_FAILED;
			if (res)
				res->nrows = 0; /* RECORDs are tentative until the summary */
			return n4j_err(err, N4J_EBOLT_FAILURE, "%s: %s (gql %s)", c->failure.code,
				       c->failure.message, c->failure.gql);
		}
		if (m.u.st.tag == BOLT_IGNORED) {
			c->state = N4J_BOLT_FAILED;
			return n4j_err(err, N4J_EBOLT_FAILURE, "bolt: request ignored (%s)",
				       c->failure.code);
		}
		bolt_defunct(c);
		return n4j_err(err, N4J_EBOLT_PROTOCOL, "bolt: unexpected message 0x%02X",
			       m.u.st.tag);
	}
}

int n4j_bolt_run(struct n4j_bolt_conn *c, struct n4j_arena *a, const struct n4j_bolt_query *q,
		 struct n4j_bolt_value *meta, struct n4j_error *err)
{
	int rc = queue_run(c, a, q, err);
	if (!rc)
		rc = bolt_flush(c, err);
	if (!rc)
		rc = bolt_summary(c, a, meta, err);
	c->used_ms = n4j_now_ms();
	return after_run(c, rc);
}

static int pull_or_discard(struct n4j_bolt_conn *c, struct n4j_arena *a, uint8_t sig, int64_t n,
			   int64_t qid, struct n4j_bolt_result *res, bool *has_more,
			   struct n4j_error *err)
{
	if (c->state != N4J_BOLT_STREAMING && c->state != N4J_BOLT_TX_STREAMING)
		return bad_state(c, sig == BOLT_PULL ? "PULL" : "DISCARD", err);
	queue_pull(c, a, sig, n, qid);
	int rc = bolt_flush(c, err);
	if (!rc)
		rc = read_stream(c, a, res, has_more, err);
	c->used_ms = n4j_now_ms();
	return rc;
}

int n4j_bolt_pull(struct n4j_bolt_conn *c, struct n4j_arena *a, int64_t n, int64_t qid,
		  struct n4j_bolt_result *res, bool *has_more, struct n4j_error *err)
{
	return pull_or_discard(c, a, BOLT_PULL, n, qid, res, has_more, err);
}

int n4j_bolt_discard(struct n4j_bolt_conn *c, struct n4j_arena *a, int64_t n, int64_t qid,
		     bool *has_more, struct n4j_error *err)
{
	return pull_or_discard(c, a, BOLT_DISCARD, n, qid, NULL, has_more, err);
}

int n4j_bolt_query(struct n4j_bolt_conn *c, struct n4j_arena *a, const struct n4j_bolt_query *q,
		   struct n4j_bolt_result *res, struct n4j_error *err)
{
	memset(res, 0, sizeof *res);
	int rc = queue_run(c, a, q, err);
	if (rc)
		return rc;
	queue_pull(c, a, BOLT_PULL, -1, -1); /* pipelined RUN+PULL: one round trip */
	if ((rc = bolt_flush(c, err)))
		return rc;
	struct n4j_bolt_value meta;
	rc = bolt_summary(c, a, &meta, err);
	if (rc) {
		if (rc == N4J_EBOLT_FAILURE)
			system_refusal(c, q);
		if (rc == N4J_EBOLT_FAILURE) {
			/* the PULL behind it is answered IGNORED: consume it, keep the FAILURE */
			struct n4j_error ignored;
			struct n4j_bolt_failure f = c->failure;
			bolt_summary(c, a, NULL, &ignored);
			c->failure = f;
		}
		c->used_ms = n4j_now_ms();
		return rc;
	}
	after_run(c, 0);
	if ((rc = set_fields(c, a, &meta, res, err)))
		return rc;
	bool more = false;
	rc = read_stream(c, a, res, &more, err);
	while (!rc && more) {
		queue_pull(c, a, BOLT_PULL, -1, -1);
		rc = bolt_flush(c, err);
		if (!rc)
			rc = read_stream(c, a, res, &more, err);
	}
	c->used_ms = n4j_now_ms();
	return rc;
}

/* Sends one request with no stream and reads its summary, with a scratch arena. */
static int simple(struct n4j_bolt_conn *c, uint8_t sig, uint8_t n, const struct n4j_bolt_value *f,
		  struct n4j_arena *a, struct n4j_bolt_value *meta, struct n4j_error *err)
{
	bolt_queue(c, sig, n, f);
	int rc = bolt_flush(c, err);
	if (!rc)
		rc = bolt_summary(c, a, meta, err);
	c->used_ms = n4j_now_ms();
	return rc;
}

int n4j_bolt_begin(struct n4j_bolt_conn *c, const struct n4j_bolt_query *opts,
		   struct n4j_error *err)
{
	if (c->state != N4J_BOLT_READY)
		return bad_state(c, "BEGIN", err);
	struct n4j_arena *a = n4j_arena_new();
	struct n4j_bolt_value *x = a ? tx_extra(a, opts) : NULL;
	if (!x) {
		n4j_arena_free(a);
		return n4j_err(err, N4J_ENOMEM, "bolt: out of memory");
	}
	int rc = simple(c, BOLT_BEGIN, 1, x, a, NULL, err);
	if (!rc) {
		c->state = N4J_BOLT_TX_READY;
		c->tx_streams = 0;
	}
	n4j_arena_free(a);
	return rc;
}

int n4j_bolt_commit(struct n4j_bolt_conn *c, struct n4j_arena *a, const char **bookmark,
		    struct n4j_error *err)
{
	if (c->state != N4J_BOLT_TX_READY)
		return bad_state(c, "COMMIT", err);
	struct n4j_bolt_value meta;
	int rc = simple(c, BOLT_COMMIT, 0, NULL, a, &meta, err);
	if (!rc) {
		c->state = N4J_BOLT_READY;
		if (bookmark)
			*bookmark = n4j_bolt_as_str(n4j_bolt_map_get(&meta, "bookmark"));
	}
	return rc;
}

int n4j_bolt_rollback(struct n4j_bolt_conn *c, struct n4j_error *err)
{
	if (c->state != N4J_BOLT_TX_READY)
		return bad_state(c, "ROLLBACK", err);
	struct n4j_arena *a = n4j_arena_new();
	if (!a)
		return n4j_err(err, N4J_ENOMEM, "bolt: out of memory");
	int rc = simple(c, BOLT_ROLLBACK, 0, NULL, a, NULL, err);
	if (!rc)
		c->state = N4J_BOLT_READY;
	n4j_arena_free(a);
	return rc;
}

int n4j_bolt_reset(struct n4j_bolt_conn *c, struct n4j_error *err)
{
	if (c->state == N4J_BOLT_DEFUNCT || c->state == N4J_BOLT_DISCONNECTED ||
	    c->state == N4J_BOLT_CONNECTED || c->state == N4J_BOLT_AUTHENTICATION)
		return bad_state(c, "RESET", err);
	struct n4j_arena *a = n4j_arena_new();
	if (!a)
		return n4j_err(err, N4J_ENOMEM, "bolt: out of memory");
	int rc = simple(c, BOLT_RESET, 0, NULL, a, NULL, err);
	n4j_arena_free(a);
	if (rc) {
		/* FAILURE or IGNORED to RESET means DEFUNCT; looping on RESET would hang */
		if (c->state != N4J_BOLT_DEFUNCT)
			bolt_defunct(c);
		return rc == N4J_EBOLT_FAILURE
			       ? n4j_err(err, N4J_EBOLT_PROTOCOL,
					 "bolt: RESET refused by %s; connection closed", c->address)
			       : rc;
	}
	c->state = N4J_BOLT_READY;
	c->tx_streams = 0;
	return 0;
}

int n4j_bolt_logoff(struct n4j_bolt_conn *c, struct n4j_error *err)
{
	if (c->state != N4J_BOLT_READY || c->version < N4J_BOLT_V(5, 1))
		return bad_state(c, "LOGOFF", err);
	struct n4j_arena *a = n4j_arena_new();
	if (!a)
		return n4j_err(err, N4J_ENOMEM, "bolt: out of memory");
	int rc = simple(c, BOLT_LOGOFF, 0, NULL, a, NULL, err);
	n4j_arena_free(a);
	if (rc) {
		bolt_defunct(c);
		return rc;
	}
	c->state = N4J_BOLT_AUTHENTICATION;
	return 0;
}

int n4j_bolt_logon(struct n4j_bolt_conn *c, const char *user, const char *password,
		   struct n4j_error *err)
{
	if (c->state != N4J_BOLT_AUTHENTICATION)
		return bad_state(c, "LOGON", err);
	struct n4j_arena *a = n4j_arena_new();
	struct n4j_bolt_value *m = a ? n4j_bolt_map_new(a, 3) : NULL;
	if (!m) {
		n4j_arena_free(a);
		return n4j_err(err, N4J_ENOMEM, "bolt: out of memory");
	}
	if (user) {
		n4j_bolt_map_set(m, 0, "scheme", n4j_bolt_str("basic"));
		n4j_bolt_map_set(m, 1, "principal", n4j_bolt_str(user));
		n4j_bolt_map_set(m, 2, "credentials", n4j_bolt_str(password ? password : ""));
	} else {
		n4j_bolt_map_set(m, 0, "scheme", n4j_bolt_str("none"));
		m->u.map.len = 1;
	}
	int rc = simple(c, BOLT_LOGON, 1, m, a, NULL, err);
	n4j_arena_free(a);
	if (rc) {
		bolt_defunct(c);
		return rc == N4J_EBOLT_FAILURE ? n4j_err(err, rc, "bolt: LOGON refused: %s: %s",
							 c->failure.code, c->failure.message)
					       : rc;
	}
	c->state = N4J_BOLT_READY;
	return 0;
}
