/*
 * n4j-clustersim: N virtual Neo4j servers, each listening on its own address, sharing one
 * cluster state (sim.h, cypher.c). Usage:
 *   n4j-clustersim [--move-ms MS] [--bootstrap K] [--password-file F] [--control PATH]
 *                  --server NAME=ADVERTISED@BIND ...
 *   n4j-clustersim --control PATH [--move-ms MS]          (a daemon: servers join it)
 *   n4j-clustersim member --control PATH --name N ...      (one server's process: member.c)
 * The first K servers (default min(3, N)) bootstrap `system` (Enabled, system primaries,
 * the first is the leader) and host `neo4j` (1 primary); later ones join Free. Prints
 * "READY" once every server listens. The control socket takes one line per connection:
 *   stop NAME | start NAME | slow NAME MS | partition NAME | heal NAME |
 *   leader NAME | fail NAME CODE | dump
 * and answers "ok", "error: ..." or the JSON state; a connection whose first line is
 * `join ...` is a member's, held open for its life (README.md, "Control protocol").
 */
#include "sim.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static struct sim S;
/* formation needs this many system-primary-capable members (the largest asked for) */
static int form_min;

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
	struct n4j_bolt_value m;
	if (sim_failure_meta(a, c->version, code, gql, msg, &m))
		return -1;
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
	pthread_mutex_lock(&S.mu);
	bool ok = scheme && strcmp(scheme, "basic") == 0 && user && pw &&
		  strcmp(user, S.user) == 0 && sim_pw_check(S.password, pw);
	pthread_mutex_unlock(&S.mu);
	return ok;
}

enum { ST_NEG, ST_AUTH, ST_READY, ST_STREAM, ST_TX, ST_FAILED };

/* Until `system` bootstraps, a forming Neo4j server has no database to answer from. */
static int forming(struct sim_result *r, const char *db)
{
	memset(r, 0, sizeof *r);
	r->failed = true;
	snprintf(r->code, sizeof r->code, "Neo.TransientError.General.DatabaseUnavailable");
	snprintf(r->gql, sizeof r->gql, "08N09");
	snprintf(r->message, sizeof r->message,
		 "Database '%.64s' is unavailable: the cluster has not formed yet.", db);
	return -1;
}

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
	char tx_db[64] = "", run_db[64] = "";
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
				pthread_mutex_lock(&S.mu);
				const char *agent = n4j_arena_printf(a, "Neo4j/%s", S.version);
				pthread_mutex_unlock(&S.mu);
				send_success(&c, meta_map(a, 3, "server", n4j_bolt_str(agent),
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
			int r = S.formed ? sim_route(&S, me, db, a, &rt, &rr)
					 : forming(&rr, db ? db : "system");
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
			/* the summary names the database: the home one ("neo4j") when none was given */
			scopy(run_db, sizeof run_db, db && *db ? db : "neo4j");
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
			} else if (!S.formed) {
				forming(&res, db && *db ? db : "neo4j");
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
			const char *type = res.type ? res.type : res.write ? "s" : "r";
			struct n4j_bolt_value stats =
				res.nodes_created ? meta_map(a, 1, "nodes-created",
							     n4j_bolt_int(res.nodes_created))
				: res.write ? meta_map(a, 1, "system-updates", n4j_bolt_int(1))
					    : meta_map(a, 0);
			if (st == ST_TX)
				send_success(&c, meta_map(a, 4, "type", n4j_bolt_str(type),
							  "t_last", n4j_bolt_int(0), "db",
							  n4j_bolt_str(run_db), "stats", stats));
			else
				send_success(&c, meta_map(a, 5, "bookmark",
							  n4j_bolt_str(n4j_arena_printf(
								  a, "FB:sim-%ld", txid)),
							  "type", n4j_bolt_str(type), "t_last",
							  n4j_bolt_int(0), "db",
							  n4j_bolt_str(run_db), "stats", stats));
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

/* Listens on the server's bind address; port 0 is replaced by the one the kernel chose, so
 * a stop/start (or a freeze) brings the listener back where the member proxies to. */
static int listen_at(char *bind, size_t cap)
{
	int fd = sim_listen(bind);
	if (fd < 0) {
		fprintf(stderr, "clustersim: cannot listen on %s: %s\n", bind, strerror(errno));
		return -1;
	}
	struct sockaddr_in sa;
	socklen_t len = sizeof sa;
	char *colon = strrchr(bind, ':');
	if (strcmp(colon, ":0") == 0 && getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
		snprintf(colon, cap - (size_t)(colon - bind), ":%u", (unsigned)ntohs(sa.sin_port));
	return fd;
}

static void start_listener(int i)
{
	struct sim_server *v = &S.srv[i];
	if (v->lfd < 0)
		v->lfd = listen_at(v->bind, sizeof v->bind);
	if (v->member && v->hfd < 0)
		v->hfd = listen_at(v->hbind, sizeof v->hbind);
	if (v->bkbind[0] && v->bfd < 0)
		v->bfd = listen_at(v->bkbind, sizeof v->bkbind);
}

/* The `stop` semantics: listeners closed, connections dropped by their threads. A member
 * server's listeners stay (its process decides what clients see; the main loop closes
 * what they accept meanwhile), so their ports never change under the member's proxy. */
static void set_stopped(int i, bool stop)
{
	struct sim_server *v = &S.srv[i];
	v->stopped = stop;
	if (!stop) {
		start_listener(i);
		return;
	}
	if (v->member)
		return;
	if (v->lfd >= 0)
		close(v->lfd);
	if (v->hfd >= 0)
		close(v->hfd);
	if (v->bfd >= 0)
		close(v->bfd);
	v->lfd = v->hfd = v->bfd = -1;
}

static int find_name(const char *n)
{
	for (int i = 0; i < S.nsrv; i++)
		if (strcmp(S.srv[i].name, n) == 0)
			return i;
	return -1;
}

static int find_id(const char *id)
{
	for (int i = 0; i < S.nsrv; i++)
		if (strcmp(S.srv[i].id, id) == 0)
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
		set_stopped(i, true);
		n4j_buf_puts(out, "ok\n");
	} else if (strcmp(cmd, "start") == 0) {
		if (S.srv[i].member && (!S.srv[i].connected || S.srv[i].frozen)) {
			n4j_buf_puts(out, "error: its member process is not running\n");
		} else {
			set_stopped(i, false);
			n4j_buf_puts(out, "ok\n");
		}
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

/* What a member says about itself when it joins (README.md, "Control protocol"). */
struct join {
	char name[64], id[40], adv[128], http[128], sysmode[16], mode[16], pw[160], version[32];
	int min, pri, sec;
};

/* Bootstrap: enough system-primary-capable servers are here; every running member is
 * Enabled, and `neo4j` gets the default topology, as far as the servers can hold it. */
static void try_form(const struct join *j)
{
	int eligible = 0;
	for (int i = 0; i < S.nsrv; i++)
		eligible += S.srv[i].connected && S.srv[i].sys_eligible;
	if (eligible < form_min)
		return;
	for (int i = 0; i < S.nsrv; i++)
		if (S.srv[i].connected && S.srv[i].state == SRV_FREE) {
			S.srv[i].state = SRV_ENABLED;
			S.srv[i].system_primary = S.srv[i].sys_eligible;
		}
	S.formed = true;
	struct sim_db *db = &S.db[0];
	*db = (struct sim_db){.used = true,
			      .requested_online = true,
			      .is_default = true,
			      .created = sim_now_ms() - 1000};
	snprintf(db->name, sizeof db->name, "neo4j");
	for (int p = j->pri; p >= 1; p--)
		for (int q = j->sec; q >= 0; q--)
			if (!db->primaries && allocate(&S, 0, p, q, sim_now_ms())) {
				db->primaries = p;
				db->secondaries = q;
			}
	if (!db->primaries)
		db->used = false;
}

/* Registers a member (locked); the server's index, or -1 with err set. */
static int join(const struct join *j, long gen, const char *state, char *err, size_t errlen)
{
	if (state && gen > S.gen) {
		if (sim_adopt(&S, state)) {
			snprintf(err, errlen,
				 "error: the cluster state in its data directory is "
				 "unreadable");
			return -1;
		}
		S.gen = gen;
	}
	int i = find_id(j->id);
	if (i >= 0 && S.srv[i].state == SRV_DROPPED) {
		snprintf(err, errlen, "error: server %s was dropped from the cluster", j->id);
		return -1;
	}
	if (i >= 0 && S.srv[i].connected) {
		snprintf(err, errlen, "error: server %s is already running", j->id);
		return -1;
	}
	for (int k = 0; k < S.nsrv; k++) {
		if (k == i || strcmp(S.srv[k].name, j->name) != 0)
			continue;
		if (S.srv[k].connected) {
			snprintf(err, errlen, "error: a server named %s is already running",
				 j->name);
			return -1;
		}
		/* a wiped volume came back as a new server: the old one keeps its id as name */
		scopy(S.srv[k].name, sizeof S.srv[k].name, S.srv[k].id);
	}
	if (i < 0) {
		if (S.nsrv == SIM_MAX_SERVERS) {
			snprintf(err, errlen, "error: the simulator holds at most %d servers",
				 SIM_MAX_SERVERS);
			return -1;
		}
		i = S.nsrv++;
		struct sim_server *v = &S.srv[i];
		memset(v, 0, sizeof *v);
		scopy(v->id, sizeof v->id, j->id);
		scopy(v->alias, sizeof v->alias, j->id);
		scopy(v->mode, sizeof v->mode, j->mode);
		v->state = SRV_FREE;
		v->member = true;
		v->lfd = v->hfd = v->bfd = -1;
		snprintf(v->bind, sizeof v->bind, "127.0.0.1:0");
		snprintf(v->hbind, sizeof v->hbind, "127.0.0.1:0");
		snprintf(v->bkbind, sizeof v->bkbind, "127.0.0.1:0");
		v->stopped = true;
		v->sys_eligible = strcmp(j->sysmode, "SECONDARY") != 0;
		/* after formation a system-primary-capable server joins system's Raft group */
		v->system_primary = S.formed && v->sys_eligible;
	}
	struct sim_server *v = &S.srv[i];
	scopy(v->name, sizeof v->name, j->name);
	scopy(v->address, sizeof v->address, j->adv);
	scopy(v->http_address, sizeof v->http_address, j->http);
	v->connected = true;
	v->frozen = false;
	if (!S.password[0] && strcmp(j->pw, "~") != 0)
		scopy(S.password, sizeof S.password, j->pw);
	if (j->version[0])
		scopy(S.version, sizeof S.version, j->version);
	if (!v->bkbind[0])
		snprintf(v->bkbind, sizeof v->bkbind, "127.0.0.1:0");
	set_stopped(i, false);
	if (v->lfd < 0 || v->hfd < 0 || v->bfd < 0) {
		set_stopped(i, true);
		v->connected = false;
		snprintf(err, errlen, "error: the daemon cannot listen for server %s", j->name);
		return -1;
	}
	if (j->min > form_min)
		form_min = j->min;
	if (!S.formed)
		try_form(j);
	sim_elect(&S);
	return i;
}

static int parse_join(char *line, struct join *j)
{
	/* the 11th word, the member's Neo4j version, is optional */
	int n = sscanf(line, "join %63s %39s %127s %127s %15s %15s %d %d %d %159s %31s", j->name,
		       j->id, j->adv, j->http, j->sysmode, j->mode, &j->min, &j->pri, &j->sec,
		       j->pw, j->version);
	return (n == 10 || n == 11) && j->min >= 1 && j->pri >= 1 && j->pri <= 11 && j->sec >= 0 &&
			       j->sec <= 20
		       ? 0
		       : -1;
}

/* Seed requests for member server i's copies (locked): its process runs the tool. */
static void seed_requests(int i, struct n4j_buf *out)
{
	for (int k = 0; k < SIM_MAX_ALLOC; k++) {
		struct sim_alloc *a = &S.al[k];
		if (!a->used || a->server != i || a->seed != SEED_WANTED)
			continue;
		struct sim_db *db = &S.db[a->db];
		a->seed = SEED_RUNNING;
		a->seed_token = ++S.seed_seq;
		n4j_buf_printf(out, "seed %ld", a->seed_token);
		sim_enc(out, db->name);
		sim_enc(out, db->seed_uri);
		sim_enc(out, db->seed_until);
		sim_enc(out, db->seed_src);
		n4j_buf_putc(out, '\n');
	}
}

struct seed_job {
	long token;
	char db[64], uri[512], until[64], src[64];
};

static void *seed_local(void *argp)
{
	struct seed_job *j = argp;
	long last_tx;
	int rc = sim_seed_exec(j->uri, j->db, j->until, j->src, &last_tx);
	pthread_mutex_lock(&S.mu);
	sim_seed_done(&S, j->token, rc, last_tx);
	pthread_mutex_unlock(&S.mu);
	free(j);
	return NULL;
}

static int spawn(void *(*fn)(void *), void *arg);

/* Fixed servers have no process of their own: the simulator runs their seeds (locked). */
static void seed_fixed(void)
{
	for (int k = 0; k < SIM_MAX_ALLOC; k++) {
		struct sim_alloc *a = &S.al[k];
		if (!a->used || a->seed != SEED_WANTED || S.srv[a->server].member)
			continue;
		struct seed_job *j = calloc(1, sizeof *j);
		if (!j)
			return;
		const struct sim_db *db = &S.db[a->db];
		j->token = a->seed_token = ++S.seed_seq;
		scopy(j->db, sizeof j->db, db->name);
		scopy(j->uri, sizeof j->uri, db->seed_uri);
		scopy(j->until, sizeof j->until, db->seed_until);
		scopy(j->src, sizeof j->src, db->seed_src);
		if (spawn(seed_local, j)) {
			free(j);
			return;
		}
		a->seed = SEED_RUNNING;
	}
}

#define BACKUP_LINE_MAX 512

/* One backup-protocol connection (backup.c answers each line). */
static void *serve_backup(void *argp)
{
	struct conn_arg arg = *(struct conn_arg *)argp;
	free(argp);
	char buf[BACKUP_LINE_MAX + 1];
	size_t len = 0;
	bool open = true;
	while (open && !server_gone(arg.server)) {
		char *nl = memchr(buf, '\n', len);
		if (!nl) {
			if (len == BACKUP_LINE_MAX) {
				static const char e[] = "ERR request line too long\n";
				sim_write_all(arg.fd, e, sizeof e - 1);
				break;
			}
			struct pollfd p = {.fd = arg.fd, .events = POLLIN};
			int pr = poll(&p, 1, 200);
			if (pr == 0)
				continue;
			ssize_t r = pr > 0 ? read(arg.fd, buf + len, BACKUP_LINE_MAX - len) : -1;
			if (r <= 0)
				break;
			len += (size_t)r;
			continue;
		}
		*nl = '\0';
		if (nl > buf && nl[-1] == '\r')
			nl[-1] = '\0';
		struct n4j_buf out;
		n4j_buf_init(&out);
		pthread_mutex_lock(&S.mu);
		sim_tick(&S);
		open = sim_backup_line(&S, arg.server, buf, &out);
		pthread_mutex_unlock(&S.mu);
		if (out.oom || sim_write_all(arg.fd, out.data, out.len))
			open = false;
		n4j_buf_free(&out);
		size_t used = (size_t)(nl - buf) + 1;
		memmove(buf, buf + used, len - used);
		len -= used;
	}
	shutdown(arg.fd, SHUT_WR);
	close(arg.fd);
	return NULL;
}

/* A member's connection: heartbeats in, the persisted state out. Its end (the process
 * died) stops the server at once; > 1 s of silence (a frozen process) stops it until the
 * heartbeats resume. */
static void member_session(int fd, struct lreader *r, char *first)
{
	struct join j = {0};
	char err[256] = "";
	char *line;
	long gen = 0;
	if (parse_join(first, &j)) {
		dprintf(fd, "error: malformed join\n");
		return;
	}
	if (lreader_next(r, 5000, &line) || strncmp(line, "state ", 6) != 0) {
		dprintf(fd, "error: expected the state line\n");
		return;
	}
	char *payload = NULL;
	gen = strtol(line + 6, &payload, 10);
	payload = payload && *payload == ' ' ? payload + 1 : NULL;
	pthread_mutex_lock(&S.mu);
	int i = join(&j, gen, payload, err, sizeof err);
	char ok[96];
	if (i >= 0)
		snprintf(ok, sizeof ok, "ok %s %s %s\n", strrchr(S.srv[i].bind, ':') + 1,
			 strrchr(S.srv[i].hbind, ':') + 1, strrchr(S.srv[i].bkbind, ':') + 1);
	pthread_mutex_unlock(&S.mu);
	if (i < 0) {
		dprintf(fd, "%s\n", err);
		return;
	}
	if (sim_write_all(fd, ok, strlen(ok)))
		goto gone;
	for (;;) {
		int rc = lreader_next(r, 1000, &line);
		struct n4j_buf out;
		n4j_buf_init(&out);
		pthread_mutex_lock(&S.mu);
		i = find_id(j.id);
		if (i < 0 || rc == -1) {
			pthread_mutex_unlock(&S.mu);
			n4j_buf_free(&out);
			break;
		}
		if (rc == -2) {
			if (!S.srv[i].frozen) {
				S.srv[i].frozen = true;
				set_stopped(i, true);
				sim_elect(&S);
			}
		} else if (strncmp(line, "ping ", 5) == 0) {
			if (S.srv[i].frozen) {
				S.srv[i].frozen = false;
				set_stopped(i, false);
			}
			sim_tick(&S);
			seed_requests(i, &out);
			if (sim_persist_check(&S) == 0 && S.last && S.gen > atol(line + 5))
				n4j_buf_printf(&out, "state %ld %s\n", S.gen, S.last);
			else
				n4j_buf_puts(&out, "pong\n");
		} else if (strncmp(line, "seeded ", 7) == 0) {
			long token, last_tx;
			int exit_rc;
			if (sscanf(line, "seeded %ld %d %ld", &token, &exit_rc, &last_tx) == 3)
				sim_seed_done(&S, token, exit_rc, last_tx);
		} else {
			n4j_buf_puts(&out, "error: unknown member command\n");
		}
		pthread_mutex_unlock(&S.mu);
		int w = out.len && !out.oom ? sim_write_all(fd, out.data, out.len) : 0;
		n4j_buf_free(&out);
		if (w)
			break;
	}
gone:
	pthread_mutex_lock(&S.mu);
	i = find_id(j.id);
	if (i >= 0) {
		/* a seed it was running died with it: its next process runs it again */
		for (int k = 0; k < SIM_MAX_ALLOC; k++)
			if (S.al[k].used && S.al[k].server == i && S.al[k].seed == SEED_RUNNING)
				S.al[k].seed = SEED_WANTED;
		S.srv[i].connected = false;
		S.srv[i].frozen = false;
		set_stopped(i, true);
		sim_elect(&S);
	}
	pthread_mutex_unlock(&S.mu);
}

static void *control_conn(void *argp)
{
	int fd = *(int *)argp;
	free(argp);
	struct lreader r;
	lreader_init(&r, fd);
	char *line;
	if (lreader_next(&r, 2000, &line) == 0) {
		if (strncmp(line, "join ", 5) == 0) {
			member_session(fd, &r, line);
		} else {
			struct n4j_buf out;
			n4j_buf_init(&out);
			control(line, &out);
			if (!out.oom)
				sim_write_all(fd, out.data, out.len);
			n4j_buf_free(&out);
		}
	}
	lreader_free(&r);
	close(fd);
	return NULL;
}

/* One HTTP/1.1 request on a member server's listener (sim_http answers it). */
static void *serve_http(void *argp)
{
	struct conn_arg arg = *(struct conn_arg *)argp;
	free(argp);
	char req[8192];
	size_t n = 0;
	long end = sim_now_ms() + 5000;
	req[0] = '\0';
	while (n < sizeof req - 1 && !strstr(req, "\r\n\r\n")) {
		struct pollfd p = {.fd = arg.fd, .events = POLLIN};
		long left = end - sim_now_ms();
		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			break;
		ssize_t r = read(arg.fd, req + n, sizeof req - 1 - n);
		if (r <= 0)
			break;
		n += (size_t)r;
		req[n] = '\0';
	}
	char method[16] = "", path[1024] = "";
	struct n4j_buf body, out;
	n4j_buf_init(&body);
	n4j_buf_init(&out);
	const char *ctype = "text/plain";
	int status = 400;
	if (strstr(req, "\r\n\r\n") && sscanf(req, "%15s %1023s HTTP/1.", method, path) == 2) {
		pthread_mutex_lock(&S.mu);
		sim_tick(&S);
		status = sim_http(&S, arg.server, method, path, &body, &ctype);
		pthread_mutex_unlock(&S.mu);
	}
	static const struct {
		int code;
		const char *text;
	} reasons[] = {{200, "OK"},
		       {400, "Bad Request"},
		       {404, "Not Found"},
		       {405, "Method Not Allowed"},
		       {503, "Service Unavailable"}};
	const char *reason = "Error";
	for (size_t k = 0; k < sizeof reasons / sizeof reasons[0]; k++)
		if (reasons[k].code == status)
			reason = reasons[k].text;
	n4j_buf_printf(&out,
		       "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
		       "Access-Control-Allow-Origin: *\r\nConnection: close\r\n\r\n",
		       status, reason, ctype, body.len);
	if (strcmp(method, "HEAD") != 0)
		n4j_buf_append(&out, body.data, body.len);
	if (!out.oom)
		sim_write_all(arg.fd, out.data, out.len);
	n4j_buf_free(&body);
	n4j_buf_free(&out);
	shutdown(arg.fd, SHUT_WR);
	close(arg.fd);
	return NULL;
}

static void make_id(int i, const char *name, char *out, size_t len)
{
	/* deterministic UUID-shaped ids, so tests and logs are stable */
	unsigned h = 2166136261u;
	for (const char *p = name; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	snprintf(out, len, "%08x-0000-4000-8000-%012x", h, (unsigned)i + 1);
}

static int spawn(void *(*fn)(void *), void *arg)
{
	pthread_t t;
	if (pthread_create(&t, NULL, fn, arg) != 0)
		return -1;
	pthread_detach(t);
	return 0;
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	if (argc > 1 && strcmp(argv[1], "member") == 0)
		return member_main(argc - 1, argv + 1);
	sim_init(&S);
	char pw[128] = "password";
	bool pw_given = false;
	const char *control_path = NULL;
	int bootstrap = -1;
	long backup_port = 6362; /* fixed servers: server.backup.listen_address's default port */
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--move-ms") == 0 && i + 1 < argc) {
			S.move_ms = atol(argv[++i]);
		} else if (strcmp(argv[i], "--backup-port") == 0 && i + 1 < argc) {
			char *e;
			backup_port = strtol(argv[++i], &e, 10);
			if (*e || backup_port < 0 || backup_port > 65535) {
				fprintf(stderr, "clustersim: --backup-port 0-65535\n");
				return 2;
			}
		} else if (strcmp(argv[i], "--version") == 0 && i + 1 < argc) {
			scopy(S.version, sizeof S.version, argv[++i]);
		} else if (strcmp(argv[i], "--bootstrap") == 0 && i + 1 < argc) {
			bootstrap = atoi(argv[++i]);
		} else if (strcmp(argv[i], "--control") == 0 && i + 1 < argc) {
			control_path = argv[++i];
		} else if (strcmp(argv[i], "--password-file") == 0 && i + 1 < argc) {
			FILE *f = fopen(argv[++i], "r");
			if (!f || !fgets(pw, sizeof pw, f)) {
				fprintf(stderr, "clustersim: cannot read the password file\n");
				return 2;
			}
			fclose(f);
			pw[strcspn(pw, "\r\n")] = '\0';
			pw_given = true;
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
			v->lfd = v->hfd = v->bfd = -1;
			S.nsrv++;
		} else {
			fprintf(stderr, "clustersim: unknown argument %s\n", argv[i]);
			return 2;
		}
	}
	if (S.nsrv == 0 && !control_path) {
		fprintf(stderr, "clustersim: no --server given (nor --control for a daemon)\n");
		return 2;
	}
	if (S.nsrv == 0 && (bootstrap >= 0 || pw_given)) {
		/* a daemon's members bring the password and the bootstrap settings */
		fprintf(stderr, "clustersim: --bootstrap and --password-file need --server\n");
		return 2;
	}
	if (S.nsrv > 0) {
		/* fixed servers: bootstrapped from the start */
		if (sim_pw_hash(NULL, pw, S.password, sizeof S.password)) {
			fprintf(stderr, "clustersim: cannot hash the password\n");
			return 1;
		}
		S.formed = true;
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
	}
	memset(pw, 0, sizeof pw);
	sim_elect(&S);
	for (int i = 0; i < S.nsrv; i++) {
		/* the backup port on the server's bind IP (0: one the kernel picks, see dump) */
		struct sim_server *v = &S.srv[i];
		const char *colon = strrchr(v->bind, ':');
		snprintf(v->bkbind, sizeof v->bkbind, "%.*s:%ld", (int)(colon - v->bind), v->bind,
			 backup_port);
		start_listener(i);
		if (v->lfd < 0 || v->bfd < 0)
			return 1;
	}
	int cfd = -1;
	if (control_path) {
		unlink(control_path);
		cfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		struct sockaddr_un su = {.sun_family = AF_UNIX};
		scopy(su.sun_path, sizeof su.sun_path, control_path);
		/* members run as another user (uid 7474 in the test bed) */
		if (cfd < 0 || bind(cfd, (struct sockaddr *)&su, sizeof su) ||
		    chmod(control_path, 0666) || listen(cfd, 64)) {
			fprintf(stderr, "clustersim: cannot listen on %s\n", control_path);
			return 1;
		}
	}
	printf("READY\n");
	fflush(stdout);
	for (;;) {
		struct pollfd p[3 * SIM_MAX_SERVERS + 1];
		int who[3 * SIM_MAX_SERVERS + 1], kind[3 * SIM_MAX_SERVERS + 1], n = 0;
		pthread_mutex_lock(&S.mu);
		seed_fixed();
		for (int i = 0; i < S.nsrv; i++) {
			int fds[3] = {S.srv[i].lfd, S.srv[i].hfd, S.srv[i].bfd};
			for (int k = 0; k < 3; k++)
				if (fds[k] >= 0) {
					p[n] = (struct pollfd){.fd = fds[k], .events = POLLIN};
					kind[n] = k;
					who[n++] = i;
				}
		}
		pthread_mutex_unlock(&S.mu);
		if (cfd >= 0) {
			p[n] = (struct pollfd){.fd = cfd, .events = POLLIN};
			kind[n] = 0;
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
				int *a = malloc(sizeof *a);
				if (a)
					*a = fd;
				if (!a || spawn(control_conn, a)) {
					free(a);
					close(fd);
				}
				continue;
			}
			pthread_mutex_lock(&S.mu);
			bool stopped = S.srv[who[k]].stopped;
			pthread_mutex_unlock(&S.mu);
			struct conn_arg *arg = stopped ? NULL : malloc(sizeof *arg);
			if (!arg) {
				close(fd);
				continue;
			}
			arg->fd = fd;
			arg->server = who[k];
			void *(*fn[3])(void *) = {serve, serve_http, serve_backup};
			if (spawn(fn[kind[k]], arg)) {
				free(arg);
				close(fd);
			}
		}
	}
}
