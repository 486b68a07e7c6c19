/* A Bolt connection: open (TCP, TLS, handshake, HELLO, LOGON), message I/O with
 * deadlines, and the client-side state machine (bolt.md 6). */
#include "bolt/conn.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int64_t bolt_deadline(const struct n4j_bolt_conn *c)
{
	return n4j_now_ms() + c->io_timeout_ms;
}

void bolt_defunct(struct n4j_bolt_conn *c)
{
	c->state = N4J_BOLT_DEFUNCT;
	bolt_sock_close(&c->sock);
}

/* Queues one message: struct header, fields, chunked. */
void bolt_queue(struct n4j_bolt_conn *c, uint8_t sig, uint8_t n, const struct n4j_bolt_value *f)
{
	struct n4j_buf m;
	n4j_buf_init(&m);
	n4j_ps_put_struct_header(&m, sig, n);
	for (uint8_t i = 0; i < n; i++)
		if (n4j_ps_put_value(&m, &f[i], NULL))
			m.oom = true;
	if (m.oom)
		c->out.oom = true;
	else
		n4j_chunk_write(&c->out, m.data, m.len);
	/* the buffer may hold credentials (HELLO/LOGON): wipe before freeing */
	if (m.data)
		OPENSSL_cleanse(m.data, m.cap);
	n4j_buf_free(&m);
}

int bolt_flush(struct n4j_bolt_conn *c, struct n4j_error *err)
{
	int rc = 0;
	if (c->state == N4J_BOLT_DEFUNCT || c->sock.fd < 0)
		rc = n4j_err(err, N4J_EBOLT_CLOSED, "bolt: connection to %s is closed", c->address);
	else if (c->out.oom)
		rc = n4j_err(err, N4J_ENOMEM, "bolt: out of memory encoding a request");
	else if (c->out.len)
		rc = bolt_sock_write(&c->sock, c->out.data, c->out.len, bolt_deadline(c), err);
	if (c->out.data)
		OPENSSL_cleanse(c->out.data, c->out.cap);
	n4j_buf_reset(&c->out);
	c->out.oom = false;
	if (rc && c->state != N4J_BOLT_DEFUNCT)
		bolt_defunct(c);
	return rc;
}

int bolt_recv(struct n4j_bolt_conn *c, struct n4j_arena *a, struct n4j_bolt_value *msg,
	      struct n4j_error *err)
{
	if (c->state == N4J_BOLT_DEFUNCT || c->sock.fd < 0)
		return n4j_err(err, N4J_EBOLT_CLOSED, "bolt: connection to %s is closed",
			       c->address);
	for (;;) {
		if (c->rpos < c->rlen) {
			size_t used = 0;
			int r = n4j_dechunker_feed(&c->dc, c->rbuf + c->rpos, c->rlen - c->rpos,
						   &used, err);
			c->rpos += used;
			if (r < 0) {
				bolt_defunct(c);
				return r;
			}
			if (r == 1) {
				int rc = n4j_ps_decode_message(a, c->dc.msg.data, c->dc.msg.len,
							       msg, err);
				n4j_dechunker_next(&c->dc);
				if (rc) {
					bolt_defunct(c);
					return rc;
				}
				return 0;
			}
		}
		size_t got = 0;
		/* a deadline per read: any bytes (NOOPs included) reset the silence timer */
		int rc = bolt_sock_read(&c->sock, c->rbuf, sizeof c->rbuf, &got, bolt_deadline(c),
					err);
		if (rc) {
			if (rc == N4J_EBOLT_TIMEOUT)
				n4j_err(err, rc, "bolt: %s sent nothing for %d ms", c->address,
					c->io_timeout_ms);
			bolt_defunct(c);
			return rc;
		}
		c->rpos = 0;
		c->rlen = got;
	}
}

int bolt_summary(struct n4j_bolt_conn *c, struct n4j_arena *a, struct n4j_bolt_value *meta,
		 struct n4j_error *err)
{
	struct n4j_bolt_value m;
	int rc = bolt_recv(c, a, &m, err);
	if (rc)
		return rc;
	const struct n4j_bolt_value *f0 = m.u.st.len ? &m.u.st.fields[0] : NULL;
	switch (m.u.st.tag) {
	case BOLT_SUCCESS:
		if (!f0 || f0->type != N4J_BOLT_MAP)
			break;
		if (meta)
			*meta = *f0;
		return 0;
	case BOLT_FAILURE:
		if (!f0 || f0->type != N4J_BOLT_MAP)
			break;
		n4j_bolt_failure_parse(f0, &c->failure);
		c->state = N4J_BOLT_FAILED;
		return n4j_err(err, N4J_EBOLT_FAILURE, "%s: %s (gql %s)", c->failure.code,
			       c->failure.message, c->failure.gql);
	case BOLT_IGNORED:
		c->state = N4J_BOLT_FAILED;
		return n4j_err(err, N4J_EBOLT_FAILURE,
			       "bolt: request ignored after an earlier failure (%s)",
			       c->failure.code[0] ? c->failure.code : "none recorded");
	default:
		break;
	}
	bolt_defunct(c);
	return n4j_err(err, N4J_EBOLT_PROTOCOL, "bolt: unexpected message 0x%02X from %s",
		       m.u.st.tag, c->address);
}

/* ---- open --------------------------------------------------------------------- */

static int handshake(struct n4j_bolt_conn *c, const struct n4j_bolt_config *cfg, int64_t deadline,
		     uint8_t reply[5], size_t *reply_len, struct n4j_error *err)
{
	uint8_t req[20];
	n4j_hs_request(req, cfg->max_version);
	int rc = bolt_sock_write(&c->sock, req, sizeof req, deadline, err);
	if (rc)
		return rc;
	struct n4j_hs hs;
	n4j_hs_init(&hs, cfg->max_version);
	for (;;) {
		uint8_t b[64];
		size_t got = 0;
		/* read no further than the negotiation: HELLO's reply must stay unread */
		rc = bolt_sock_read(&c->sock, b, hs.manifest ? 1 : 4 - hs.have, &got, deadline,
				    err);
		if (rc) {
			if (rc == N4J_EBOLT_CLOSED)
				return n4j_err(
					err, rc,
					"bolt: %s closed the connection during the handshake "
					"(TLS required?)",
					c->address);
			return rc == N4J_EBOLT_TIMEOUT
				       ? n4j_err(err, rc, "bolt: handshake with %s timed out",
						 c->address)
				       : rc;
		}
		size_t used = 0;
		rc = n4j_hs_feed(&hs, b, got, &used, &c->version, reply, reply_len, err);
		if (rc == 1)
			return 0;
		if (rc < 0) {
			if (*reply_len)
				bolt_sock_write(&c->sock, reply, *reply_len, deadline, NULL);
			return rc;
		}
	}
}

static void put_auth(struct n4j_bolt_value *m, uint32_t *i, const struct n4j_bolt_config *cfg)
{
	if (cfg->user) {
		n4j_bolt_map_set(m, (*i)++, "scheme", n4j_bolt_str("basic"));
		n4j_bolt_map_set(m, (*i)++, "principal", n4j_bolt_str(cfg->user));
		n4j_bolt_map_set(m, (*i)++, "credentials",
				 n4j_bolt_str(cfg->password ? cfg->password : ""));
	} else {
		n4j_bolt_map_set(m, (*i)++, "scheme", n4j_bolt_str("none"));
	}
}

static int auth_failed(struct n4j_bolt_conn *c, int rc, const char *step, struct n4j_error *err)
{
	/* FAILURE to HELLO/LOGON closes the connection (bolt.md 6): never retry on it */
	bolt_defunct(c);
	if (rc == N4J_EBOLT_FAILURE)
		return n4j_err(err, rc, "bolt: %s to %s refused: %s: %s", step, c->address,
			       c->failure.code, c->failure.message);
	return rc;
}

static int hello(struct n4j_bolt_conn *c, const struct n4j_bolt_config *cfg, struct n4j_arena *a,
		 struct n4j_error *err)
{
	bool logon = c->version >= N4J_BOLT_V(5, 1);
	const char *ua = cfg->user_agent ? cfg->user_agent : "neo4j-operator/0.1";
	struct n4j_bolt_value *agent = n4j_bolt_map_new(a, 2);
	struct n4j_bolt_value *h = n4j_bolt_map_new(a, 8);
	struct n4j_bolt_value *routing = n4j_bolt_map_new(a, 1);
	struct n4j_bolt_value *patch = n4j_bolt_list_new(a, 1);
	if (!agent || !h || !routing || !patch)
		return n4j_err(err, N4J_ENOMEM, "bolt: out of memory");
	uint32_t i = 0;
	n4j_bolt_map_set(h, i++, "user_agent", n4j_bolt_str(ua));
	if (c->version >= N4J_BOLT_V(5, 3)) {
		n4j_bolt_map_set(agent, 0, "product", n4j_bolt_str(ua));
		n4j_bolt_map_set(agent, 1, "language", n4j_bolt_str("C/17"));
		n4j_bolt_map_set(h, i++, "bolt_agent", *agent);
	}
	if (cfg->routing_address) {
		n4j_bolt_map_set(routing, 0, "address", n4j_bolt_str(cfg->routing_address));
		n4j_bolt_map_set(h, i++, "routing", *routing);
	}
	if (c->version == N4J_BOLT_V(4, 4)) {
		/* ask for UTC DateTime structs so both versions decode alike */
		patch->u.list.items[0] = n4j_bolt_str("utc");
		n4j_bolt_map_set(h, i++, "patch_bolt", *patch);
	}
	if (!logon)
		put_auth(h, &i, cfg);
	h->u.map.len = i;
	bolt_queue(c, BOLT_HELLO, 1, h);
	if (logon) {
		struct n4j_bolt_value *l = n4j_bolt_map_new(a, 3);
		if (!l)
			return n4j_err(err, N4J_ENOMEM, "bolt: out of memory");
		i = 0;
		put_auth(l, &i, cfg);
		l->u.map.len = i;
		bolt_queue(c, BOLT_LOGON, 1, l); /* pipelined with HELLO */
	}
	int rc = bolt_flush(c, err);
	if (rc)
		return rc;
	struct n4j_bolt_value meta;
	rc = bolt_summary(c, a, &meta, err);
	if (rc)
		return auth_failed(c, rc, "HELLO", err);
	const char *server = n4j_bolt_as_str(n4j_bolt_map_get(&meta, "server"));
	if (!server || strncmp(server, "Neo4j/", 6) != 0) {
		bolt_defunct(c);
		return n4j_err(err, N4J_EBOLT_PROTOCOL, "bolt: %s is not a Neo4j server",
			       c->address);
	}
	snprintf(c->server, sizeof c->server, "%s", server);
	const struct n4j_bolt_value *hint = n4j_bolt_map_get(n4j_bolt_map_get(&meta, "hints"),
							     "connection.recv_timeout_seconds");
	if (hint && hint->type == N4J_BOLT_INT && hint->u.i > 0 && hint->u.i < 86400)
		c->hint_ms = (int)(hint->u.i * 1000 + 2000);
	c->state = logon ? N4J_BOLT_AUTHENTICATION : N4J_BOLT_READY;
	if (logon) {
		rc = bolt_summary(c, a, NULL, err);
		if (rc)
			return auth_failed(c, rc, "LOGON", err);
		c->state = N4J_BOLT_READY;
	}
	return 0;
}

int n4j_bolt_open(const struct n4j_bolt_config *cfg, struct n4j_bolt_conn **out,
		  struct n4j_error *err)
{
	*out = NULL;
	int rc = bolt_tls_chosen(cfg->tls, err);
	if (rc)
		return rc;
	struct n4j_bolt_conn *c = calloc(1, sizeof *c);
	if (!c)
		return n4j_err(err, N4J_ENOMEM, "bolt: out of memory");
	c->sock.fd = -1;
	snprintf(c->address, sizeof c->address, "%s", cfg->address ? cfg->address : "");
	if (cfg->routing_address)
		snprintf(c->routing_address, sizeof c->routing_address, "%s", cfg->routing_address);
	n4j_dechunker_init(&c->dc, 0);
	n4j_buf_init(&c->out);
	c->created_ms = c->used_ms = n4j_now_ms();
	int connect_ms = cfg->connect_timeout_ms > 0 ? cfg->connect_timeout_ms : 5000;
	int auth_ms = cfg->auth_timeout_ms > 0 ? cfg->auth_timeout_ms : 10000;
	c->io_timeout_ms = cfg->io_timeout_ms > 0 ? cfg->io_timeout_ms : 30000;
	int io_ms = c->io_timeout_ms;
	int64_t deadline = n4j_now_ms() + connect_ms;
	rc = bolt_sock_connect(&c->sock, cfg, deadline, err);
	uint8_t reply[5];
	size_t reply_len = 0;
	if (!rc)
		rc = handshake(c, cfg, deadline, reply, &reply_len, err);
	if (rc) {
		n4j_bolt_close(c);
		return rc;
	}
	c->state = N4J_BOLT_CONNECTED;
	if (reply_len)
		n4j_buf_append(&c->out, reply, reply_len); /* sent with HELLO in one write */
	struct n4j_arena *a = n4j_arena_new();
	if (!a) {
		n4j_bolt_close(c);
		return n4j_err(err, N4J_ENOMEM, "bolt: out of memory");
	}
	c->io_timeout_ms = auth_ms;
	rc = hello(c, cfg, a, err);
	n4j_arena_free(a);
	if (rc == N4J_EBOLT_FAILURE && cfg->failure)
		*cfg->failure = c->failure;
	if (rc) {
		n4j_bolt_close(c);
		return rc;
	}
	/* the server promises a NOOP at least every recv_timeout: silence past it + 2 s
	 * means a dead peer (bolt.md 1) */
	c->io_timeout_ms = c->hint_ms && c->hint_ms < io_ms ? c->hint_ms : io_ms;
	*out = c;
	return 0;
}

void n4j_bolt_close(struct n4j_bolt_conn *c)
{
	if (!c)
		return;
	if (c->sock.fd >= 0 && c->state != N4J_BOLT_DEFUNCT && c->state != N4J_BOLT_DISCONNECTED) {
		bolt_queue(c, BOLT_GOODBYE, 0, NULL);
		int saved = c->io_timeout_ms;
		c->io_timeout_ms = saved < 1000 ? saved : 1000; /* best effort, never hang here */
		bolt_flush(c, NULL);
	}
	bolt_sock_close(&c->sock);
	n4j_dechunker_free(&c->dc);
	if (c->out.data)
		OPENSSL_cleanse(c->out.data, c->out.cap);
	n4j_buf_free(&c->out);
	free(c);
}

enum n4j_bolt_state n4j_bolt_state(const struct n4j_bolt_conn *c)
{
	return c->state;
}

uint16_t n4j_bolt_version(const struct n4j_bolt_conn *c)
{
	return c->version;
}

const char *n4j_bolt_server_agent(const struct n4j_bolt_conn *c)
{
	return c->server;
}

const char *n4j_bolt_address(const struct n4j_bolt_conn *c)
{
	return c->address;
}

const struct n4j_bolt_failure *n4j_bolt_last_failure(const struct n4j_bolt_conn *c)
{
	return &c->failure;
}

void n4j_bolt_set_timeout(struct n4j_bolt_conn *c, int io_timeout_ms)
{
	if (io_timeout_ms > 0)
		c->io_timeout_ms = io_timeout_ms;
}
