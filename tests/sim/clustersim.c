/*
 * n4j-clustersim: N virtual Neo4j servers, each listening on its own address, sharing one
 * cluster state (sim.h, cypher.c). Usage:
 *   n4j-clustersim [--move-ms MS] [--bootstrap K] [--password-file F] [--control PATH]
 *                  --server NAME=ADVERTISED@BIND ...
 * The first K servers (default min(3, N)) bootstrap `system` (Enabled, system primaries,
 * the first is the leader) and host `neo4j` (1 primary); later ones join Free. Prints
 * "READY" once every server listens. The control socket takes one line per connection:
 *   stop NAME | start NAME | slow NAME MS | partition NAME | heal NAME |
 *   leader NAME | fail NAME CODE | dump
 * and answers "ok", "error: ..." or the JSON state.
 */
#include "sim.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static struct sim S;

struct conn_arg {
	int fd;
	int server;
};

static struct n4j_bolt_value meta_map(struct n4j_arena *a, int n, ...);

static int send_success(struct sconn *c, struct n4j_bolt_value meta)
{
	return sconn_send(c, 0x70, 1, &meta);
}

static int send_failure(struct sconn *c, struct n4j_arena *a, const char *code, const char *gql,
			const char *msg)
{
	struct n4j_bolt_value m = *n4j_bolt_map_new(a, 4);
	n4j_bolt_map_set(&m, 0, "neo4j_code", n4j_bolt_str(code));
	n4j_bolt_map_set(&m, 1, "gql_status", n4j_bolt_str(gql));
	n4j_bolt_map_set(&m, 2, "message", n4j_bolt_str(msg));
	struct n4j_bolt_value *diag = n4j_bolt_map_new(a, 1);
	n4j_bolt_map_set(diag, 0, "_classification",
			 n4j_bolt_str(strncmp(code, "Neo.TransientError", 18) == 0
					      ? "TRANSIENT_ERROR"
					      : "CLIENT_ERROR"));
	n4j_bolt_map_set(&m, 3, "diagnostic_record", *diag);
	if (c->version < N4J_BOLT_V(5, 7)) {
		/* the <= 5.6 shape */
		m.u.map.len = 2;
		n4j_bolt_map_set(&m, 0, "code", n4j_bolt_str(code));
		n4j_bolt_map_set(&m, 1, "message", n4j_bolt_str(msg));
	}
	return sconn_send(c, 0x7F, 1, &m);
}

static struct n4j_bolt_value meta_map(struct n4j_arena *a, int n, ...)
{
	struct n4j_bolt_value *m = n4j_bolt_map_new(a, (uint32_t)n);
	va_list ap;
	va_start(ap, n);
	for (int i = 0; i < n; i++) {
		const char *k = va_arg(ap, const char *);
		struct n4j_bolt_value v = va_arg(ap, struct n4j_bolt_value);
		n4j_bolt_map_set(m, (uint32_t)i, k, v);
	}
	va_end(ap);
	return *m;
}

static bool server_gone(int i)
{
	pthread_mutex_lock(&S.mu);
	bool gone = S.srv[i].stopped;
	pthread_mutex_unlock(&S.mu);
	return gone;
}

static bool gone_cb(void *ctx)
{
	return server_gone(*(int *)ctx);
}

static void maybe_slow(int i)
{
	pthread_mutex_lock(&S.mu);
	int ms = S.srv[i].slow_ms;
	pthread_mutex_unlock(&S.mu);
	if (ms > 0)
		sim_sleep_ms(ms);
}

static bool auth_ok(const struct n4j_bolt_value *m)
{
	const char *scheme = n4j_bolt_as_str(n4j_bolt_map_get(m, "scheme"));
	const char *user = n4j_bolt_as_str(n4j_bolt_map_get(m, "principal"));
	const char *pw = n4j_bolt_as_str(n4j_bolt_map_get(m, "credentials"));
	return scheme && strcmp(scheme, "basic") == 0 && user && pw && strcmp(user, S.user) == 0 &&
	       strcmp(pw, S.password) == 0;
}

enum { ST_NEG, ST_AUTH, ST_READY, ST_STREAM, ST_TX, ST_FAILED };

static void *serve(void *argp)
{
	struct conn_arg arg = *(struct conn_arg *)argp;
	free(argp);
	int me = arg.server;
	struct sconn c;
	sconn_init(&c, arg.fd, S.srv[me].name);
	uint8_t req[20];
	bool manifest;
	if (sconn_read_handshake(&c, req, 10000))
		goto out;
	uint16_t v = sim_pick_version(req, N4J_BOLT_V(5, 8), &manifest);
	if (!v) {
		sconn_write(&c, "\0\0\0\0", 4);
		goto out;
	}
	if (manifest) {
		/* answer with the manifest, as 5.26 does, listing 5.8-5.6, 5.4-5.0, 4.4 */
		uint8_t m[] = {0, 0, 1, 0xFF, 3, 0, 2, 8, 5, 0, 4, 4, 5, 0, 0, 4, 4, 0};
		uint8_t reply[5];
		if (sconn_write(&c, m, sizeof m) || sconn_read_exact(&c, reply, 5, 10000))
			goto out;
		v = N4J_BOLT_V(reply[3], reply[2]);
		if (!v)
			goto out;
	} else {
		uint8_t r[4] = {0, 0, (uint8_t)v, (uint8_t)(v >> 8)};
		sconn_write(&c, r, 4);
	}
	c.version = v;
	int st = ST_NEG;
	struct sim_result res = {0};
	struct n4j_arena *ra = NULL; /* the pending result's arena */
	int sent = 0;
	long txid = 0;
	char tx_db[64] = "";
	for (;;) {
		struct n4j_arena *a = n4j_arena_new();
		struct n4j_bolt_value msg;
		int rc = sconn_recv_until(&c, a, &msg, 600000, gone_cb, &me);
		if (rc || server_gone(me)) {
			n4j_arena_free(a);
			break;
		}
		maybe_slow(me);
		const struct n4j_bolt_value *f0 = msg.u.st.len ? &msg.u.st.fields[0] : NULL;
		uint8_t sig = msg.u.st.tag;
		if (sig == 0x02) { /* GOODBYE */
			n4j_arena_free(a);
			break;
		}
		if (sig == 0x0F) { /* RESET */
			st = st == ST_NEG || st == ST_AUTH ? st : ST_READY;
			n4j_arena_free(ra);
			ra = NULL;
			send_success(&c, meta_map(a, 0));
			n4j_arena_free(a);
			continue;
		}
		if (st == ST_FAILED) {
			sconn_send(&c, 0x7E, 0, NULL);
			n4j_arena_free(a);
			continue;
		}
		bool close_after = false;
		switch (sig) {
		case 0x01: /* HELLO */
			if (st != ST_NEG) {
				close_after = true;
				break;
			}
			if (v < N4J_BOLT_V(5, 1) && !auth_ok(f0)) {
				send_failure(&c, a, "Neo.ClientError.Security.Unauthorized",
					     "42NFF",
					     "The client is unauthorized due to authentication "
					     "failure.");
				close_after = true;
				break;
			}
			{
				struct n4j_bolt_value hints = meta_map(
					a, 1, "connection.recv_timeout_seconds", n4j_bolt_int(120));
				send_success(&c,
					     meta_map(a, 3, "server", n4j_bolt_str("Neo4j/5.26.0"),
						      "connection_id", n4j_bolt_str("bolt-sim"),
						      "hints", hints));
			}
			st = v >= N4J_BOLT_V(5, 1) ? ST_AUTH : ST_READY;
			break;
		case 0x6A: /* LOGON */
			if (st != ST_AUTH) {
				close_after = true;
				break;
			}
			if (!auth_ok(f0)) {
				send_failure(&c, a, "Neo.ClientError.Security.Unauthorized",
					     "42NFF",
					     "The client is unauthorized due to authentication "
					     "failure.");
				close_after = true;
				break;
			}
			send_success(&c, meta_map(a, 0));
			st = ST_READY;
			break;
		case 0x6B: /* LOGOFF */
			send_success(&c, meta_map(a, 0));
			st = ST_AUTH;
			break;
		case 0x66: { /* ROUTE */
			if (st != ST_READY) {
				close_after = true;
				break;
			}
			const char *db = n4j_bolt_as_str(n4j_bolt_map_get(
				msg.u.st.len > 2 ? &msg.u.st.fields[2] : NULL, "db"));
			struct n4j_bolt_value rt;
			struct sim_result rr;
			pthread_mutex_lock(&S.mu);
			sim_tick(&S);
			int r = sim_route(&S, me, db, a, &rt, &rr);
			pthread_mutex_unlock(&S.mu);
			if (r) {
				send_failure(&c, a, rr.code, rr.gql, rr.message);
				st = ST_FAILED;
			} else {
				send_success(&c, meta_map(a, 1, "rt", rt));
			}
			break;
		}
		case 0x11: /* BEGIN */
			if (st != ST_READY) {
				close_after = true;
				break;
			}
			snprintf(tx_db, sizeof tx_db, "%s",
				 n4j_bolt_as_str(n4j_bolt_map_get(f0, "db"))
					 ? n4j_bolt_as_str(n4j_bolt_map_get(f0, "db"))
					 : "");
			send_success(&c, meta_map(a, 0));
			st = ST_TX;
			break;
		case 0x12: /* COMMIT */
		case 0x13: /* ROLLBACK */
			if (st != ST_TX) {
				close_after = true;
				break;
			}
			pthread_mutex_lock(&S.mu);
			txid = ++S.txid;
			pthread_mutex_unlock(&S.mu);
			send_success(&c, sig == 0x12 ? meta_map(a, 1, "bookmark",
								n4j_bolt_str(n4j_arena_printf(
									a, "FB:sim-%ld", txid)))
						     : meta_map(a, 0));
			st = ST_READY;
			break;
		case 0x10: { /* RUN */
			if ((st != ST_READY && st != ST_TX) || msg.u.st.len != 3) {
				close_after = true;
				break;
			}
			const char *q = n4j_bolt_as_str(&msg.u.st.fields[0]);
			const char *db = st == ST_TX ? tx_db
						     : n4j_bolt_as_str(n4j_bolt_map_get(
							       &msg.u.st.fields[2], "db"));
			n4j_arena_free(ra);
			ra = n4j_arena_new();
			/* the result outlives this message: copy params into the result arena */
			pthread_mutex_lock(&S.mu);
			sim_tick(&S);
			if (S.srv[me].fail_next[0]) {
				memset(&res, 0, sizeof res);
				res.failed = true;
				scopy(res.code, sizeof res.code, S.srv[me].fail_next);
				snprintf(res.gql, sizeof res.gql, "50N42");
				snprintf(res.message, sizeof res.message, "injected failure");
				S.srv[me].fail_next[0] = '\0';
			} else {
				sim_run(&S, me, db && *db ? db : "neo4j", q ? q : "",
					&msg.u.st.fields[1], ra, &res);
			}
			pthread_mutex_unlock(&S.mu);
			if (res.failed) {
				send_failure(&c, a, res.code, res.gql, res.message);
				st = ST_FAILED;
				break;
			}
			struct n4j_bolt_value *fields = n4j_bolt_list_new(a, (uint32_t)res.nfields);
			for (int i = 0; i < res.nfields; i++)
				fields->u.list.items[i] = n4j_bolt_str(res.fields[i]);
			sent = 0;
			send_success(&c, st == ST_TX
						 ? meta_map(a, 3, "fields", *fields, "t_first",
							    n4j_bolt_int(0), "qid", n4j_bolt_int(0))
						 : meta_map(a, 2, "fields", *fields, "t_first",
							    n4j_bolt_int(0)));
			st = st == ST_TX ? ST_TX : ST_STREAM;
			break;
		}
		case 0x3F:   /* PULL */
		case 0x2F: { /* DISCARD */
			if (st != ST_STREAM && st != ST_TX) {
				close_after = true;
				break;
			}
			const struct n4j_bolt_value *nv = n4j_bolt_map_get(f0, "n");
			if (!nv || nv->type != N4J_BOLT_INT) {
				send_failure(&c, a, "Neo.ClientError.Request.Invalid", "08N06",
					     "PULL needs n");
				close_after = true;
				break;
			}
			int64_t n = nv->u.i;
			while ((n < 0 || n-- > 0) && sent < res.nrows) {
				if (sig == 0x3F)
					sconn_send(&c, 0x71, 1, &res.rows[sent]);
				sent++;
			}
			if (sent < res.nrows) {
				send_success(&c, meta_map(a, 1, "has_more", n4j_bolt_bool(true)));
				break;
			}
			pthread_mutex_lock(&S.mu);
			txid = ++S.txid;
			pthread_mutex_unlock(&S.mu);
			const char *type = res.write ? "s" : "r";
			if (st == ST_TX)
				send_success(&c, meta_map(a, 2, "type", n4j_bolt_str(type),
							  "t_last", n4j_bolt_int(0)));
			else
				send_success(&c, meta_map(a, 4, "bookmark",
							  n4j_bolt_str(n4j_arena_printf(
								  a, "FB:sim-%ld", txid)),
							  "type", n4j_bolt_str(type), "t_last",
							  n4j_bolt_int(0), "db",
							  n4j_bolt_str("system")));
			if (st == ST_STREAM)
				st = ST_READY;
			break;
		}
		default:
			send_failure(&c, a, "Neo.ClientError.Request.Invalid", "08N06",
				     "Message not supported by the simulator");
			close_after = true;
		}
		n4j_arena_free(a);
		if (close_after)
			break;
	}
	n4j_arena_free(ra);
out:
	sconn_close(&c);
	return NULL;
}

static void start_listener(int i)
{
	S.srv[i].lfd = sim_listen(S.srv[i].bind);
	if (S.srv[i].lfd < 0)
		fprintf(stderr, "clustersim: cannot listen on %s: %s\n", S.srv[i].bind,
			strerror(errno));
}

static int find_name(const char *n)
{
	for (int i = 0; i < S.nsrv; i++)
		if (strcmp(S.srv[i].name, n) == 0)
			return i;
	return -1;
}

/* One control command; the reply goes into out. */
static void control(char *line, struct n4j_buf *out)
{
	char cmd[32] = "", who[64] = "", arg[128] = "";
	sscanf(line, "%31s %63s %127s", cmd, who, arg);
	pthread_mutex_lock(&S.mu);
	sim_tick(&S);
	int i = who[0] ? find_name(who) : -1;
	if (strcmp(cmd, "dump") == 0) {
		sim_dump(&S, out);
	} else if (i < 0) {
		n4j_buf_printf(out, "error: unknown server or command\n");
	} else if (strcmp(cmd, "stop") == 0) {
		S.srv[i].stopped = true;
		if (S.srv[i].lfd >= 0) {
			close(S.srv[i].lfd);
			S.srv[i].lfd = -1;
		}
		n4j_buf_puts(out, "ok\n");
	} else if (strcmp(cmd, "start") == 0) {
		S.srv[i].stopped = false;
		if (S.srv[i].lfd < 0)
			start_listener(i);
		n4j_buf_puts(out, "ok\n");
	} else if (strcmp(cmd, "slow") == 0) {
		S.srv[i].slow_ms = atoi(arg);
		n4j_buf_puts(out, "ok\n");
	} else if (strcmp(cmd, "partition") == 0 || strcmp(cmd, "heal") == 0) {
		S.srv[i].partitioned = cmd[0] == 'p';
		n4j_buf_puts(out, "ok\n");
	} else if (strcmp(cmd, "leader") == 0) {
		if (!S.srv[i].system_primary || S.srv[i].stopped) {
			n4j_buf_puts(out, "error: not a running system primary\n");
		} else {
			S.leader = i;
			n4j_buf_puts(out, "ok\n");
		}
	} else if (strcmp(cmd, "fail") == 0) {
		scopy(S.srv[i].fail_next, sizeof S.srv[i].fail_next, arg);
		n4j_buf_puts(out, "ok\n");
	} else {
		n4j_buf_puts(out, "error: unknown command\n");
	}
	sim_elect(&S);
	pthread_mutex_unlock(&S.mu);
}

static void make_id(int i, const char *name, char *out, size_t len)
{
	/* deterministic UUID-shaped ids, so tests and logs are stable */
	unsigned h = 2166136261u;
	for (const char *p = name; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	snprintf(out, len, "%08x-0000-4000-8000-%012x", h, (unsigned)i + 1);
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	sim_init(&S);
	snprintf(S.password, sizeof S.password, "password");
	const char *control_path = NULL;
	int bootstrap = -1;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--move-ms") == 0 && i + 1 < argc) {
			S.move_ms = atol(argv[++i]);
		} else if (strcmp(argv[i], "--bootstrap") == 0 && i + 1 < argc) {
			bootstrap = atoi(argv[++i]);
		} else if (strcmp(argv[i], "--control") == 0 && i + 1 < argc) {
			control_path = argv[++i];
		} else if (strcmp(argv[i], "--password-file") == 0 && i + 1 < argc) {
			FILE *f = fopen(argv[++i], "r");
			if (!f || !fgets(S.password, sizeof S.password, f)) {
				fprintf(stderr, "clustersim: cannot read the password file\n");
				return 2;
			}
			fclose(f);
			S.password[strcspn(S.password, "\r\n")] = '\0';
		} else if (strcmp(argv[i], "--server") == 0 && i + 1 < argc &&
			   S.nsrv < SIM_MAX_SERVERS) {
			char *spec = argv[++i];
			char *eq = strchr(spec, '='), *at = strrchr(spec, '@');
			if (!eq || !at || at < eq) {
				fprintf(stderr, "clustersim: --server NAME=ADVERTISED@BIND\n");
				return 2;
			}
			struct sim_server *v = &S.srv[S.nsrv];
			snprintf(v->name, sizeof v->name, "%.*s", (int)(eq - spec), spec);
			snprintf(v->address, sizeof v->address, "%.*s", (int)(at - eq - 1), eq + 1);
			scopy(v->bind, sizeof v->bind, at + 1);
			make_id(S.nsrv, v->name, v->id, sizeof v->id);
			scopy(v->alias, sizeof v->alias, v->id);
			snprintf(v->mode, sizeof v->mode, "NONE");
			v->lfd = -1;
			S.nsrv++;
		} else {
			fprintf(stderr, "clustersim: unknown argument %s\n", argv[i]);
			return 2;
		}
	}
	if (S.nsrv == 0) {
		fprintf(stderr, "clustersim: no --server given\n");
		return 2;
	}
	if (bootstrap < 0)
		bootstrap = S.nsrv < 3 ? S.nsrv : 3;
	for (int i = 0; i < S.nsrv; i++) {
		S.srv[i].state = i < bootstrap ? SRV_ENABLED : SRV_FREE;
		S.srv[i].system_primary = i < bootstrap;
	}
	/* neo4j is created once at bootstrap with 1 primary */
	S.db[0] = (struct sim_db){
		.used = true, .primaries = 1, .requested_online = true, .is_default = true};
	snprintf(S.db[0].name, sizeof S.db[0].name, "neo4j");
	S.al[0] = (struct sim_alloc){
		.used = true, .db = 0, .server = 0, .primary = true, .status = AL_ONLINE};
	sim_elect(&S);
	for (int i = 0; i < S.nsrv; i++) {
		start_listener(i);
		if (S.srv[i].lfd < 0)
			return 1;
	}
	int cfd = -1;
	if (control_path) {
		unlink(control_path);
		cfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		struct sockaddr_un su = {.sun_family = AF_UNIX};
		scopy(su.sun_path, sizeof su.sun_path, control_path);
		if (cfd < 0 || bind(cfd, (struct sockaddr *)&su, sizeof su) || listen(cfd, 8)) {
			fprintf(stderr, "clustersim: cannot listen on %s\n", control_path);
			return 1;
		}
	}
	printf("READY\n");
	fflush(stdout);
	for (;;) {
		struct pollfd p[SIM_MAX_SERVERS + 1];
		int who[SIM_MAX_SERVERS + 1], n = 0;
		pthread_mutex_lock(&S.mu);
		for (int i = 0; i < S.nsrv; i++)
			if (S.srv[i].lfd >= 0) {
				p[n] = (struct pollfd){.fd = S.srv[i].lfd, .events = POLLIN};
				who[n++] = i;
			}
		pthread_mutex_unlock(&S.mu);
		if (cfd >= 0) {
			p[n] = (struct pollfd){.fd = cfd, .events = POLLIN};
			who[n++] = -1;
		}
		/* short timeout: a stopped listener's fd is rebuilt on the next round */
		if (poll(p, (nfds_t)n, 100) <= 0)
			continue;
		for (int k = 0; k < n; k++) {
			if (!(p[k].revents & POLLIN))
				continue;
			int fd = accept(p[k].fd, NULL, NULL);
			if (fd < 0)
				continue;
			if (who[k] < 0) {
				char line[256] = "";
				struct pollfd cp = {.fd = fd, .events = POLLIN};
				ssize_t r = poll(&cp, 1, 2000) > 0 ? read(fd, line, sizeof line - 1)
								   : 0;
				line[r > 0 ? r : 0] = '\0';
				line[strcspn(line, "\r\n")] = '\0';
				struct n4j_buf out;
				n4j_buf_init(&out);
				control(line, &out);
				ssize_t w = write(fd, out.data, out.len);
				(void)w;
				n4j_buf_free(&out);
				close(fd);
				continue;
			}
			struct conn_arg *arg = malloc(sizeof *arg);
			if (!arg) {
				close(fd);
				continue;
			}
			arg->fd = fd;
			arg->server = who[k];
			pthread_t t;
			if (pthread_create(&t, NULL, serve, arg) != 0) {
				free(arg);
				close(fd);
				continue;
			}
			pthread_detach(t);
		}
	}
}
