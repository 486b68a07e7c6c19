/*
 * The HTTP listeners: one libwebsockets context with a vhost per address, served by a
 * thread of its own.
 *
 * lws supplies the sockets, the event loop, per-connection timeouts and buffered writes;
 * the request head is read here, on lws raw sockets, not by lws' HTTP parser. Why: the
 * Debian 12 build (lws 4.1.6) closes a connection whose headers overflow its header table
 * without a status, and gives no way to count custom headers, so it cannot answer 431 at
 * a byte limit of ours; it would also bring HTTP/2, keep-alive and methods these three
 * read-only paths don't need. What is parsed here is the least a probe or a scraper
 * sends: a request line and headers ending in an empty line, read up to max_header_bytes
 * (431 beyond), GET or HEAD (405 otherwise, 404 for a path not served here), one request
 * per connection, answered with Connection: close (request.c).
 *
 * After a response the write side is shut and what the client still sends is read and
 * discarded until it closes or the lingering timeout ends: closing with unread bytes
 * would reset the connection and could destroy the response (a 431's, typically)
 * before the client reads it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <libwebsockets.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "server/internal.h"

#define MAX_CONNS    64    /* more at once are closed on accept */
#define CHUNK        16384 /* bytes handed to lws per writable callback */
#define LINGER_S     2
#define METRICS_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct listener {
	struct n4j_server *s;
	struct lws_vhost *vh;
	int serves;
	int port;
};

struct n4j_server {
	struct lws_context *ctx;
	pthread_t thread;
	bool thread_started;
	atomic_bool stop;
	atomic_bool ready;
	n4j_metrics_collect_fn collect;
	void *collect_ud;
	n4j_health_fn healthy;
	void *health_ud;
	size_t max_header;
	int timeout_s;
	struct listener l[2];
	size_t n_l;
	int ports[2]; /* metrics, health */
	int conns;    /* service thread only */
};

enum conn_state { C_READING = 0, C_WRITING, C_FLUSHED, C_LINGERING };

struct conn {
	enum conn_state state;
	bool counted;
	struct srv_head head;
	char *out;
	size_t out_len, out_off;
};

/* ---- requests ------------------------------------------------------------------ */

static const char *reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	case 503:
		return "Service Unavailable";
	default:
		return "Error";
	}
}

static void text(struct srv_response *r, int status, const char *body)
{
	r->status = status;
	r->content_type = "text/plain; charset=utf-8";
	n4j_buf_puts(&r->body, body);
}

static void metrics(struct n4j_server *s, struct srv_response *r)
{
	struct n4j_metrics_writer *w = n4j_metrics_writer_new(&r->body);
	if (!w) {
		text(r, 500, "out of memory\n");
		return;
	}
	n4j_metrics_process(w);
	if (s->collect)
		s->collect(s->collect_ud, w);
	size_t dropped = n4j_metrics_writer_dropped(w);
	n4j_metrics_writer_free(w);
	if (dropped)
		n4j_log_warn("server", "metrics samples dropped (a bug: bad name or order)",
			     N4J_INT("dropped", (long long)dropped));
	if (r->body.oom) {
		n4j_buf_reset(&r->body);
		r->body.oom = false;
		text(r, 500, "out of memory\n");
		return;
	}
	r->status = 200;
	r->content_type = METRICS_TYPE;
}

/* The answer to a routed request. */
static void answer(struct n4j_server *s, int status, enum srv_target target, struct srv_response *r)
{
	switch (status) {
	case 200:
		break;
	case 404:
		text(r, 404, "not found\n");
		return;
	case 405:
		text(r, 405, "method not allowed\n");
		r->allow = "GET, HEAD";
		return;
	case 431:
		text(r, 431, "request header fields too large\n");
		return;
	default:
		text(r, 400, "bad request\n");
		return;
	}
	if (target == SRV_METRICS)
		metrics(s, r);
	else if (target == SRV_HEALTHZ)
		srv_health(s->healthy, s->health_ud, r);
	else
		srv_ready(atomic_load(&s->ready), r);
}

/* The bytes to send: status line, headers, and the body unless HEAD. */
static int respond(struct conn *c, struct srv_response *r, bool head_only)
{
	struct n4j_buf b;
	n4j_buf_init(&b);
	n4j_buf_printf(&b,
		       "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
		       "Cache-Control: no-store\r\nConnection: close\r\n",
		       r->status, reason(r->status), r->content_type, r->body.len);
	if (r->allow)
		n4j_buf_printf(&b, "Allow: %s\r\n", r->allow);
	n4j_buf_puts(&b, "\r\n");
	if (!head_only)
		n4j_buf_append(&b, r->body.data, r->body.len);
	if (b.oom) {
		n4j_buf_free(&b);
		return -1;
	}
	c->out = n4j_buf_detach(&b, &c->out_len);
	c->out_off = 0;
	c->state = C_WRITING;
	return c->out ? 0 : -1;
}

/* Takes what arrived; when the head is complete (or too large), prepares the answer. */
static int on_rx(struct n4j_server *s, int serves, struct conn *c, const char *in, size_t len)
{
	if (c->state != C_READING)
		return 0; /* anything after the head is discarded */
	c->head.max = s->max_header;
	int status = srv_head_feed(&c->head, in, len);
	if (status <= 0)
		return status;
	enum srv_target target = SRV_NONE;
	bool head_only = false;
	if (status == 200)
		status = srv_route(c->head.buf, serves, &target, &head_only);
	struct srv_response r = {0};
	n4j_buf_init(&r.body);
	answer(s, status, target, &r);
	int rc = respond(c, &r, head_only);
	n4j_buf_free(&r.body);
	return rc;
}

/* ---- lws callbacks --------------------------------------------------------------- */

static int callback(struct lws *wsi, enum lws_callback_reasons why, void *user, void *in,
		    size_t len)
{
	struct conn *c = user;
	struct lws_vhost *vh = lws_get_vhost(wsi);
	struct listener *l = vh ? lws_vhost_user(vh) : NULL;

	switch (why) {
	case LWS_CALLBACK_RAW_ADOPT:
		if (!l || !c)
			return -1;
		memset(c, 0, sizeof(*c));
		if (l->s->conns >= MAX_CONNS)
			return -1;
		l->s->conns++;
		c->counted = true;
		/* The whole exchange, slow clients included, within the timeout. */
		lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, l->s->timeout_s);
		return 0;
	case LWS_CALLBACK_RAW_RX:
		if (!l || !c)
			return -1;
		if (c->state == C_READING) {
			if (on_rx(l->s, l->serves, c, in, len))
				return -1;
			if (c->state == C_WRITING)
				lws_callback_on_writable(wsi);
		}
		return 0;
	case LWS_CALLBACK_RAW_WRITEABLE:
		if (!c)
			return -1;
		if (c->state == C_WRITING) {
			unsigned char buf[LWS_PRE + CHUNK];
			size_t n = c->out_len - c->out_off;
			if (n > CHUNK)
				n = CHUNK;
			memcpy(buf + LWS_PRE, c->out + c->out_off, n);
			/* lws keeps what the socket does not take and calls back only once it
			 * is gone, so every chunk is sent whole. */
			if (lws_write(wsi, buf + LWS_PRE, n, LWS_WRITE_RAW) < (int)n)
				return -1;
			c->out_off += n;
			if (c->out_off == c->out_len)
				c->state = C_FLUSHED;
			lws_callback_on_writable(wsi);
		} else if (c->state == C_FLUSHED) {
			/* Everything is in the kernel: half-close and linger (see the top). */
			shutdown(lws_get_socket_fd(wsi), SHUT_WR);
			c->state = C_LINGERING;
			lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, LINGER_S);
		}
		return 0;
	case LWS_CALLBACK_RAW_CLOSE:
		if (c) {
			srv_head_free(&c->head);
			free(c->out);
			c->out = NULL;
			if (c->counted && l)
				l->s->conns--;
			c->counted = false;
		}
		return 0;
	default:
		return 0;
	}
}

static const struct lws_protocols protocols[] = {
	{"n4j-http", callback, sizeof(struct conn), 0, 0, NULL, 0},
	{NULL, NULL, 0, 0, 0, NULL, 0},
};

/* lws' own log lines go through the one logger, at debug: a client's malformed bytes are
 * not the operator's errors. */
static void lws_emit(int level, const char *line)
{
	(void)level;
	char buf[512];
	snprintf(buf, sizeof(buf), "%s", line);
	size_t n = strlen(buf);
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	n4j_log_debug("server", "libwebsockets", N4J_STR("line", buf));
}

static pthread_once_t log_once = PTHREAD_ONCE_INIT;
static void log_init(void)
{
	lws_set_log_level(LLL_ERR | LLL_WARN, lws_emit);
}

/* ---- addresses ------------------------------------------------------------------ */

/* "[host]:port" → host (IP literal or empty: every address) and port; "0" is handled by
 * the caller. */
static int parse_addr(const char *a, char *host, size_t hsize, int *port, bool *v4,
		      struct n4j_error *err)
{
	const char *colon = strrchr(a, ':');
	if (!colon)
		return n4j_err(err, N4J_EINVAL, "bind address '%s': want [host]:port", a);
	const char *h = a;
	size_t hl = (size_t)(colon - a);
	if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
		h++;
		hl -= 2;
	}
	if (hl >= hsize)
		return n4j_err(err, N4J_EINVAL, "bind address '%s': host too long", a);
	memcpy(host, h, hl);
	host[hl] = '\0';
	char *end;
	errno = 0;
	long p = strtol(colon + 1, &end, 10);
	if (end == colon + 1 || *end || errno || p < 0 || p > 65535)
		return n4j_err(err, N4J_EINVAL, "bind address '%s': bad port", a);
	*port = (int)p;
	unsigned char sa[16];
	*v4 = false;
	if (!*host)
		return 0;
	if (inet_pton(AF_INET, host, sa) == 1) {
		*v4 = true;
		return 0;
	}
	if (inet_pton(AF_INET6, host, sa) == 1)
		return 0;
	return n4j_err(err, N4J_EINVAL, "bind address '%s': host must be an IP address", a);
}

static int add_listener(struct n4j_server *s, const char *addr, int serves, struct n4j_error *err)
{
	char host[64];
	int port = 0;
	bool v4 = false;
	int rc = parse_addr(addr, host, sizeof(host), &port, &v4, err);
	if (rc)
		return rc;
	struct listener *l = &s->l[s->n_l];
	*l = (struct listener){.s = s, .serves = serves};
	struct lws_context_creation_info info;
	memset(&info, 0, sizeof(info));
	info.port = port;
	info.iface = host[0] ? host : NULL;
	info.protocols = protocols;
	info.vhost_name = serves == SRV_SERVE_METRICS  ? "metrics"
			  : serves == SRV_SERVE_HEALTH ? "health"
						       : "metrics-health";
	info.listen_accept_role = "raw-skt";
	info.listen_accept_protocol = "n4j-http";
	info.user = l;
	info.options = LWS_SERVER_OPTION_ADOPT_APPLY_LISTEN_ACCEPT_CONFIG |
		       LWS_SERVER_OPTION_FAIL_UPON_UNABLE_TO_BIND;
	if (v4)
		info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
	l->vh = lws_create_vhost(s->ctx, &info);
	if (!l->vh && !host[0]) {
		/* Every address: dual-stack first, IPv4 alone where IPv6 is off. */
		info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
		l->vh = lws_create_vhost(s->ctx, &info);
	}
	if (!l->vh)
		return n4j_err(err, N4J_EIO, "cannot listen on %s (address in use?)", addr);
	l->port = lws_get_vhost_listen_port(l->vh);
	if (serves & SRV_SERVE_METRICS)
		s->ports[0] = l->port;
	if (serves & SRV_SERVE_HEALTH)
		s->ports[1] = l->port;
	s->n_l++;
	return 0;
}

/* ---- the server ------------------------------------------------------------------- */

static void *service_main(void *arg)
{
	struct n4j_server *s = arg;
	while (!atomic_load(&s->stop))
		if (lws_service(s->ctx, 0) < 0)
			break;
	return NULL;
}

static bool disabled(const char *a)
{
	return !a || !*a || strcmp(a, "0") == 0;
}

int n4j_server_start(const struct n4j_server_opts *o, struct n4j_server **out,
		     struct n4j_error *err)
{
	*out = NULL;
	struct n4j_server *s = calloc(1, sizeof(*s));
	if (!s)
		return n4j_err(err, N4J_ENOMEM, "out of memory");
	atomic_init(&s->stop, false);
	atomic_init(&s->ready, false);
	s->collect = o->collect;
	s->collect_ud = o->collect_ud;
	s->healthy = o->healthy;
	s->health_ud = o->health_ud;
	s->max_header = o->max_header_bytes ? o->max_header_bytes : 8192;
	s->timeout_s = o->timeout_s > 0 ? o->timeout_s : 10;

	bool m = !disabled(o->metrics_addr), h = !disabled(o->health_addr);
	if (!m && !h) {
		*out = s;
		return 0;
	}
	pthread_once(&log_once, log_init);
	struct lws_context_creation_info ci;
	memset(&ci, 0, sizeof(ci));
	ci.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS;
	ci.port = CONTEXT_PORT_NO_LISTEN;
	ci.gid = -1;
	ci.uid = -1;
	s->ctx = lws_create_context(&ci);
	if (!s->ctx) {
		free(s);
		return n4j_err(err, N4J_EIO, "cannot create the HTTP server context");
	}
	int rc = 0;
	if (m && h && strcmp(o->metrics_addr, o->health_addr) == 0) {
		rc = add_listener(s, o->metrics_addr, SRV_SERVE_METRICS | SRV_SERVE_HEALTH, err);
	} else {
		if (m)
			rc = add_listener(s, o->metrics_addr, SRV_SERVE_METRICS, err);
		if (!rc && h)
			rc = add_listener(s, o->health_addr, SRV_SERVE_HEALTH, err);
	}
	if (!rc && pthread_create(&s->thread, NULL, service_main, s) != 0)
		rc = n4j_err(err, N4J_EIO, "cannot start the HTTP server thread");
	if (rc) {
		lws_context_destroy(s->ctx);
		free(s);
		return rc;
	}
	s->thread_started = true;
	*out = s;
	return 0;
}

void n4j_server_set_ready(struct n4j_server *s, bool ready)
{
	if (s)
		atomic_store(&s->ready, ready);
}

int n4j_server_port(const struct n4j_server *s, int which)
{
	return s && (which == 0 || which == 1) ? s->ports[which] : 0;
}

void n4j_server_stop(struct n4j_server *s)
{
	if (!s)
		return;
	if (s->thread_started) {
		atomic_store(&s->stop, true);
		lws_cancel_service(s->ctx);
		pthread_join(s->thread, NULL);
	}
	if (s->ctx)
		lws_context_destroy(s->ctx);
	free(s);
}
