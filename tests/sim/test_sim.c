/*
 * The bolt client's cluster API against the simulator: formation, scale-down with
 * deallocation, refused deallocations and drops, NotALeader re-routing (leader moved and
 * leader stopped), plus the control interface.
 */
#include "bolt/bolt.h"
#include "check.h"
#include "simctl.h"
#include "stubrun.h"

#include <sys/socket.h>
#include <sys/un.h>

#define N 4
static char binds[N][64];
static const char *names[N] = {"sim-0.sim.test:7687", "sim-1.sim.test:7687", "sim-2.sim.test:7687",
			       "sim-3.sim.test:7687"};
static char ctl_path[108];

static struct sim_addr_map addrs;

static int ctl(const char *cmd, char *out, size_t outlen)
{
	return sim_ctl(ctl_path, cmd, out, outlen);
}

static struct n4j_bolt_cluster *cl;
static struct n4j_arena *A;

static int q(const char *text, struct n4j_bolt_value *params, struct n4j_bolt_result *r,
	     struct n4j_error *err)
{
	struct n4j_bolt_query qq = {.db = "system", .text = text, .params = params};
	int rc = n4j_bolt_cluster_query(cl, A, &qq, r, err);
	return rc;
}

static struct n4j_bolt_value *p1(const char *k, struct n4j_bolt_value v)
{
	struct n4j_bolt_value *m = n4j_bolt_map_new(A, 1);
	n4j_bolt_map_set(m, 0, k, v);
	return m;
}

static const char *cell(const struct n4j_bolt_result *r, size_t row, const char *col)
{
	int c = n4j_bolt_field(r, col);
	return c < 0 || row >= r->nrows ? NULL : n4j_bolt_as_str(&r->rows[row].u.list.items[c]);
}

static const char *server_id(int i)
{
	struct n4j_bolt_result r;
	struct n4j_error err;
	if (q("SHOW SERVERS YIELD serverId, address", NULL, &r, &err))
		return NULL;
	for (size_t k = 0; k < r.nrows; k++)
		if (strcmp(cell(&r, k, "address"), names[i]) == 0)
			return cell(&r, k, "serverId");
	return NULL;
}

/* Polls until the query yields no rows (health gate) or the deadline passes. */
static bool wait_empty(const char *text, struct n4j_bolt_value *params, int ms)
{
	long end = mono_ms() + ms;
	struct n4j_bolt_result r;
	struct n4j_error err;
	do {
		if (q(text, params, &r, &err) == 0 && r.nrows == 0)
			return true;
		struct timespec ts = {0, 50 * 1000000};
		nanosleep(&ts, NULL);
	} while (mono_ms() < end);
	return false;
}

static void test_formation(void)
{
	struct n4j_bolt_result r;
	struct n4j_error err = {0};
	CHECK_MSG(q("SHOW SERVERS YIELD serverId, address, state, health, hosting", NULL, &r,
		    &err) == 0,
		  "%s", err.msg);
	CHECK_INT(r.nrows, N);
	CHECK_INT(r.nfields, 5);
	int free_row = -1;
	for (size_t k = 0; k < r.nrows; k++)
		if (strcmp(cell(&r, k, "state"), "Free") == 0)
			free_row = (int)k;
	CHECK(free_row >= 0 && strcmp(cell(&r, (size_t)free_row, "address"), names[3]) == 0);
	char leader[256];
	CHECK(n4j_bolt_cluster_leader(cl, leader, sizeof leader, &err) == 0);
	CHECK_STR(leader, names[0]);
	/* the default columns and a WHERE on them */
	CHECK(q("SHOW SERVERS WHERE state = 'Enabled'", NULL, &r, &err) == 0 && r.nrows == 3 &&
	      r.nfields == 5);
	/* ENABLE SERVER with a parameter and OPTIONS */
	const char *id3 = server_id(3);
	CHECK(id3 != NULL);
	if (!id3)
		return;
	struct n4j_bolt_value *opts = n4j_bolt_map_new(A, 2);
	n4j_bolt_map_set(opts, 0, "id", n4j_bolt_str(id3));
	n4j_bolt_map_set(opts, 1, "mode", n4j_bolt_str("NONE"));
	CHECK_MSG(q("ENABLE SERVER $id OPTIONS {modeConstraint: $mode}", opts, &r, &err) == 0, "%s",
		  err.msg);
	CHECK(q("SHOW SERVERS YIELD serverId, state, modeConstraint WHERE serverId = $id",
		p1("id", n4j_bolt_str(id3)), &r, &err) == 0 &&
	      r.nrows == 1);
	CHECK_STR(cell(&r, 0, "state"), "Enabled");
	/* topology: neo4j to 3 primaries, a new database with WAIT */
	CHECK_MSG(q("ALTER DATABASE neo4j SET TOPOLOGY 3 PRIMARIES", NULL, &r, &err) == 0, "%s",
		  err.msg);
	CHECK_MSG(q("CREATE DATABASE foo IF NOT EXISTS TOPOLOGY 2 PRIMARIES 1 SECONDARY WAIT", NULL,
		    &r, &err) == 0 &&
			  r.nrows == 3,
		  "%s", err.msg);
	CHECK(q("CREATE DATABASE foo IF NOT EXISTS", NULL, &r, &err) == 0);
	CHECK_INT(q("CREATE DATABASE foo", NULL, &r, &err), N4J_EBOLT_FAILURE);
	CHECK(q("CREATE DATABASE $n TOPOLOGY $p PRIMARIES", p1("n", n4j_bolt_str("bar")), &r,
		&err) == N4J_EBOLT_FAILURE); /* $p missing */
	CHECK_INT(q("CREATE DATABASE big TOPOLOGY 5 PRIMARIES", NULL, &r, &err), N4J_EBOLT_FAILURE);
	CHECK(strstr(err.msg, "cannot hold") != NULL);
	CHECK(wait_empty("SHOW DATABASES YIELD name, currentStatus, requestedStatus WHERE "
			 "currentStatus <> requestedStatus",
			 NULL, 5000));
	CHECK(q("SHOW DATABASE neo4j YIELD name, address, role, writer", NULL, &r, &err) == 0 &&
	      r.nrows == 3);
	CHECK(q("SHOW DATABASE system YIELD address, writer WHERE writer", NULL, &r, &err) == 0 &&
	      r.nrows == 1);
	CHECK_STR(cell(&r, 0, "address"), names[0]);
	/* aliases */
	CHECK(q("CREATE ALIAS fooalias FOR DATABASE foo", NULL, &r, &err) == 0);
	CHECK(q("SHOW DATABASE fooalias YIELD name", NULL, &r, &err) == 0 && r.nrows == 3);
	CHECK(q("ALTER ALIAS fooalias SET DATABASE TARGET neo4j", NULL, &r, &err) == 0);
	CHECK(q("SHOW ALIASES FOR DATABASE", NULL, &r, &err) == 0 && r.nrows == 1);
	CHECK_STR(cell(&r, 0, "database"), "neo4j");
	CHECK(q("DROP ALIAS fooalias FOR DATABASE", NULL, &r, &err) == 0);
	CHECK_INT(q("DROP ALIAS fooalias FOR DATABASE", NULL, &r, &err), N4J_EBOLT_FAILURE);
	/* an unknown statement is a syntax error, classified client */
	CHECK_INT(q("MATCH (n) RETURN n", NULL, &r, &err), N4J_EBOLT_FAILURE);
	struct n4j_bolt_failure f;
	n4j_bolt_cluster_last_failure(cl, &f);
	CHECK_STR(f.code, "Neo.ClientError.Statement.SyntaxError");
}

static void test_refusals(void)
{
	struct n4j_bolt_result r;
	struct n4j_error err = {0};
	const char *id0 = server_id(0), *id1 = server_id(1);
	if (!id0 || !id1) {
		CHECK(0);
		return;
	}
	/* a DROP of an Enabled server is refused */
	CHECK_INT(q("DROP SERVER $id", p1("id", n4j_bolt_str(id1)), &r, &err), N4J_EBOLT_FAILURE);
	CHECK_MSG(strstr(err.msg, "only Deallocated") != NULL, "%s", err.msg);
	/* a 1-primary database pins its server */
	CHECK(q("CREATE DATABASE solo TOPOLOGY 1 PRIMARY WAIT", NULL, &r, &err) == 0);
	int host = -1;
	CHECK(q("SHOW DATABASE solo YIELD address", NULL, &r, &err) == 0 && r.nrows == 1);
	for (int i = 0; i < N && r.nrows == 1; i++)
		if (strcmp(cell(&r, 0, "address"), names[i]) == 0)
			host = i;
	CHECK(host >= 0);
	const char *hid = host >= 0 ? server_id(host) : "x";
	CHECK_INT(q("DRYRUN DEALLOCATE DATABASES FROM SERVER $id", p1("id", n4j_bolt_str(hid)), &r,
		    &err),
		  N4J_EBOLT_FAILURE);
	CHECK_MSG(strstr(err.msg, "only one primary") != NULL, "%s", err.msg);
	CHECK_INT(q("DEALLOCATE DATABASES FROM SERVER $id", p1("id", n4j_bolt_str(hid)), &r, &err),
		  N4J_EBOLT_FAILURE);
	/* refused means nothing changed */
	CHECK(q("SHOW SERVERS YIELD serverId, state WHERE serverId = $id",
		p1("id", n4j_bolt_str(hid)), &r, &err) == 0);
	CHECK_STR(cell(&r, 0, "state"), "Enabled");
	/* shrinking to 1 primary is refused */
	CHECK_INT(q("ALTER DATABASE neo4j SET TOPOLOGY 1 PRIMARY", NULL, &r, &err),
		  N4J_EBOLT_FAILURE);
	CHECK(q("DROP DATABASE solo", NULL, &r, &err) == 0);
	/* the rest cannot hold every topology: neo4j has 3 primaries on 4 servers, so removing
	 * two at once leaves 2 */
	struct n4j_bolt_value *two = n4j_bolt_map_new(A, 2);
	n4j_bolt_map_set(two, 0, "a", n4j_bolt_str(id0));
	n4j_bolt_map_set(two, 1, "b", n4j_bolt_str(id1));
	CHECK_INT(q("DRYRUN DEALLOCATE DATABASES FROM SERVERS $a, $b", two, &r, &err),
		  N4J_EBOLT_FAILURE);
	CHECK_MSG(strstr(err.msg, "cannot hold") != NULL, "%s", err.msg);
}

static void test_scale_down(void)
{
	struct n4j_bolt_result r;
	struct n4j_error err = {0};
	const char *id3 = server_id(3);
	if (!id3) {
		CHECK(0);
		return;
	}
	struct n4j_bolt_value *pid = p1("id", n4j_bolt_str(id3));
	CHECK_MSG(q("CALL dbms.cluster.cordonServer($id)", pid, &r, &err) == 0, "%s", err.msg);
	CHECK(q("SHOW SERVERS YIELD serverId, state WHERE serverId = $id", pid, &r, &err) == 0);
	CHECK_STR(cell(&r, 0, "state"), "Cordoned");
	CHECK_MSG(q("DRYRUN DEALLOCATE DATABASES FROM SERVER $id", pid, &r, &err) == 0, "%s",
		  err.msg);
	CHECK_INT(r.nfields, 6);
	CHECK(r.nrows >= 1);
	for (size_t k = 0; k < r.nrows; k++) {
		CHECK(cell(&r, k, "toServerId") && strcmp(cell(&r, k, "toServerId"), id3) != 0);
		CHECK_STR(cell(&r, k, "fromServerId"), id3);
	}
	size_t moves = r.nrows;
	/* the dry run changed nothing */
	CHECK(q("SHOW SERVERS YIELD serverId, state WHERE serverId = $id", pid, &r, &err) == 0);
	CHECK_STR(cell(&r, 0, "state"), "Cordoned");
	CHECK_MSG(q("DEALLOCATE DATABASES FROM SERVER $id", pid, &r, &err) == 0, "%s", err.msg);
	CHECK(q("SHOW SERVERS YIELD serverId, state, hosting WHERE serverId = $id", pid, &r,
		&err) == 0);
	CHECK_STR(cell(&r, 0, "state"), "Deallocating");
	CHECK(r.rows[0].u.list.items[2].u.list.len == 1 + moves);
	/* DROP before Deallocated is refused */
	CHECK_INT(q("DROP SERVER $id", pid, &r, &err), N4J_EBOLT_FAILURE);
	/* poll until Deallocated with hosting = [system] */
	long end = mono_ms() + 5000;
	bool done = false;
	while (!done && mono_ms() < end) {
		if (q("SHOW SERVERS YIELD serverId, state, hosting WHERE serverId = $id", pid, &r,
		      &err) == 0 &&
		    strcmp(cell(&r, 0, "state"), "Deallocated") == 0) {
			done = true;
			CHECK(r.rows[0].u.list.items[2].u.list.len == 1);
			CHECK_STR(n4j_bolt_as_str(&r.rows[0].u.list.items[2].u.list.items[0]),
				  "system");
		}
		struct timespec ts = {0, 50 * 1000000};
		nanosleep(&ts, NULL);
	}
	CHECK_MSG(done, "server never became Deallocated");
	CHECK(wait_empty("SHOW DATABASES YIELD name, currentStatus, requestedStatus WHERE "
			 "currentStatus <> requestedStatus",
			 NULL, 5000));
	CHECK_MSG(q("DROP SERVER $id", pid, &r, &err) == 0, "%s", err.msg);
	CHECK(q("SHOW SERVERS YIELD serverId, state WHERE serverId = $id", pid, &r, &err) == 0);
	CHECK_STR(cell(&r, 0, "state"), "Dropped");
	/* a dropped server cannot come back */
	CHECK_INT(q("ENABLE SERVER $id", pid, &r, &err), N4J_EBOLT_FAILURE);
	char dump[8192];
	CHECK(ctl("dump", dump, sizeof dump) == 0 && strstr(dump, "\"Dropped\"") != NULL);
	/* REALLOCATE on a balanced cluster moves nothing */
	CHECK(q("DRYRUN REALLOCATE DATABASES", NULL, &r, &err) == 0 && r.nfields == 6);
}

static void test_not_a_leader(void)
{
	struct n4j_bolt_result r;
	struct n4j_error err = {0};
	char out[256];
	/* a direct connection to a follower: NotALeader, classified re-route */
	struct n4j_bolt_config cfg = {.address = binds[1],
				      .tls = N4J_BOLT_TLS_NONE,
				      .user = "neo4j",
				      .password = "simpw"};
	struct n4j_bolt_conn *c;
	CHECK(n4j_bolt_open(&cfg, &c, &err) == 0);
	if (c) {
		struct n4j_bolt_query qq = {.db = "system", .text = "CREATE DATABASE nal"};
		CHECK_INT(n4j_bolt_query(c, A, &qq, &r, &err), N4J_EBOLT_FAILURE);
		CHECK_STR(n4j_bolt_last_failure(c)->code, "Neo.ClientError.Cluster.NotALeader");
		CHECK_STR(n4j_bolt_last_failure(c)->gql, "08N07");
		CHECK_INT(n4j_bolt_last_failure(c)->cls, N4J_BOLT_CLASS_REROUTE);
		CHECK(n4j_bolt_reset(c, &err) == 0);
		n4j_bolt_close(c);
	}
	/* the leader moves; the cached leader answers NotALeader; the handle re-routes */
	CHECK(ctl("leader s1", out, sizeof out) == 0);
	CHECK_MSG(q("CREATE DATABASE moved1 IF NOT EXISTS", NULL, &r, &err) == 0, "%s", err.msg);
	char leader[256];
	CHECK(n4j_bolt_cluster_leader(cl, leader, sizeof leader, &err) == 0);
	CHECK_STR(leader, names[1]);
	/* the leader dies: connection errors invalidate the table; a new leader is elected */
	CHECK(ctl("stop s1", out, sizeof out) == 0);
	long t0 = mono_ms();
	int rc = q("CREATE DATABASE moved2 IF NOT EXISTS", NULL, &r, &err);
	if (rc) {
		/* lost after sending: the outcome is unknown, never blindly retried */
		struct n4j_bolt_failure f0;
		n4j_bolt_cluster_last_failure(cl, &f0);
		CHECK_INT(rc, N4J_EBOLT_CLOSED);
		CHECK_INT(f0.cls, N4J_BOLT_CLASS_UNKNOWN);
		/* the statement is idempotent: the caller may re-run it */
		rc = q("CREATE DATABASE moved2 IF NOT EXISTS", NULL, &r, &err);
	}
	CHECK_MSG(rc == 0, "%s", err.msg);
	CHECK(mono_ms() - t0 < 10000);
	CHECK(q("SHOW DATABASE moved2 YIELD name", NULL, &r, &err) == 0 && r.nrows >= 1);
	CHECK(n4j_bolt_cluster_leader(cl, leader, sizeof leader, &err) == 0);
	CHECK(strcmp(leader, names[1]) != 0);
	CHECK(q("SHOW SERVERS YIELD address, health WHERE health = 'Unavailable'", NULL, &r,
		&err) == 0 &&
	      r.nrows == 1);
	/* a slow server still answers within the deadlines */
	CHECK(ctl("slow s0 200", out, sizeof out) == 0);
	CHECK(q("SHOW DATABASES YIELD name", NULL, &r, &err) == 0);
	CHECK(ctl("slow s0 0", out, sizeof out) == 0);
	/* an injected transient failure is retried */
	CHECK(n4j_bolt_cluster_leader(cl, leader, sizeof leader, &err) == 0);
	int li = -1;
	for (int i = 0; i < N; i++)
		if (strcmp(leader, names[i]) == 0)
			li = i;
	char cmd[128];
	snprintf(cmd, sizeof cmd, "fail s%d Neo.TransientError.Cluster.ReplicationFailure", li);
	CHECK(ctl(cmd, out, sizeof out) == 0);
	CHECK_MSG(q("CREATE DATABASE moved3 IF NOT EXISTS", NULL, &r, &err) == 0, "%s", err.msg);
	/* auth failure against the simulator */
	struct n4j_bolt_config bad = {
		.address = binds[0], .tls = N4J_BOLT_TLS_NONE, .user = "neo4j", .password = "nope"};
	struct n4j_bolt_failure f = {0};
	bad.failure = &f;
	CHECK_INT(n4j_bolt_open(&bad, &c, &err), N4J_EBOLT_FAILURE);
	CHECK_INT(f.cls, N4J_BOLT_CLASS_AUTH);
	/* no quorum: two of three system primaries down */
	snprintf(cmd, sizeof cmd, "stop s%d", li);
	CHECK(ctl(cmd, out, sizeof out) == 0);
	const char *all_seeds[] = {names[0], names[1], names[2], names[3], NULL};
	struct n4j_bolt_cluster_config cc = {
		.base = {.tls = N4J_BOLT_TLS_NONE,
			 .user = "neo4j",
			 .password = "simpw",
			 .connect_timeout_ms = 1000},
		.seeds = all_seeds,
		.resolve = sim_resolve,
		.resolve_ctx = &addrs,
		.retry = {.initial_ms = 50, .max_ms = 100, .deadline_ms = 800}};
	struct n4j_bolt_cluster *c2;
	CHECK(n4j_bolt_cluster_new(&cc, &c2, &err) == 0);
	struct n4j_bolt_query qq = {.text = "CREATE DATABASE noquorum"};
	t0 = mono_ms();
	CHECK(n4j_bolt_cluster_query(c2, A, &qq, &r, &err) != 0);
	CHECK(mono_ms() - t0 < 5000);
	fprintf(stderr, "  no quorum: %s\n", err.msg);
	n4j_bolt_cluster_free(c2);
	/* back to full strength; then cut the leader off from its peers */
	snprintf(cmd, sizeof cmd, "start s%d", li);
	CHECK(ctl(cmd, out, sizeof out) == 0);
	CHECK(ctl("start s1", out, sizeof out) == 0);
	n4j_bolt_cluster_invalidate(cl);
	CHECK(n4j_bolt_cluster_leader(cl, leader, sizeof leader, &err) == 0);
	int pl = -1;
	for (int i = 0; i < N; i++)
		if (strcmp(leader, names[i]) == 0)
			pl = i;
	CHECK(pl >= 0);
	snprintf(cmd, sizeof cmd, "partition s%d", pl);
	CHECK(ctl(cmd, out, sizeof out) == 0);
	/* the cached leader is now a partitioned follower: NotALeader, re-route, success */
	CHECK_MSG(q("CREATE DATABASE afterpart IF NOT EXISTS", NULL, &r, &err) == 0, "%s", err.msg);
	CHECK(n4j_bolt_cluster_leader(cl, leader, sizeof leader, &err) == 0);
	CHECK(strcmp(leader, names[pl]) != 0);
	CHECK(q("SHOW SERVERS YIELD address, health WHERE health = 'Unavailable'", NULL, &r,
		&err) == 0 &&
	      r.nrows == 1);
	CHECK_STR(cell(&r, 0, "address"), names[pl]);
	snprintf(cmd, sizeof cmd, "heal s%d", pl);
	CHECK(ctl(cmd, out, sizeof out) == 0);
	CHECK(ctl("frobnicate s0", out, sizeof out) != 0);
}

static char bk_addrs[N][64]; /* each server's backup port */
static char seed_log[128];

/* The backup address of the server advertising adv (SHOW DATABASE's address column). */
static const char *bk_of(const char *adv)
{
	for (int i = 0; i < N; i++)
		if (adv && strcmp(adv, names[i]) == 0)
			return bk_addrs[i];
	return "";
}

/* lastTx from an "OK <id> <lastTx>" answer, -1 for anything else; the id into id. */
static long ok_tx(const char *line, char *id, size_t cap)
{
	char tmp[64];
	long tx;
	if (sscanf(line, "OK %63s %ld", tmp, &tx) != 2)
		return -1;
	snprintf(id, cap, "%s", tmp);
	return tx;
}

static void test_backup_port(void)
{
	struct n4j_bolt_result r;
	struct n4j_error err = {0};
	char line[256], id[64], id2[64];
	CHECK_MSG(q("CREATE DATABASE bk1 TOPOLOGY 1 PRIMARY WAIT", NULL, &r, &err) == 0, "%s",
		  err.msg);
	CHECK(q("SHOW DATABASE bk1 YIELD address, databaseID", NULL, &r, &err) == 0 &&
	      r.nrows == 1);
	const char *host = bk_of(cell(&r, 0, "address"));
	char dbid[64];
	snprintf(dbid, sizeof dbid, "%s",
		 cell(&r, 0, "databaseID") ? cell(&r, 0, "databaseID") : "");
	const char *other = strcmp(host, bk_addrs[0]) == 0 ? bk_addrs[1] : bk_addrs[0];
	/* several requests on one connection: the hosting server answers with the id and lastTx */
	int fd = bk_connect(host);
	CHECK_MSG(fd >= 0, "no backup port at %s", host);
	CHECK(bk_ask(fd, "BACKUP bk1 0\n", line, sizeof line) == 0);
	long tx0 = ok_tx(line, id, sizeof id);
	CHECK_MSG(tx0 >= 0, "%s", line);
	CHECK_STR(id, dbid);
	/* writes raise lastTx (CREATE on the writer: bk1's one primary, directly) */
	int hi = -1;
	for (int i = 0; i < N; i++)
		if (strcmp(bk_addrs[i], host) == 0)
			hi = i;
	struct n4j_bolt_config cfg = {.address = binds[hi < 0 ? 0 : hi],
				      .tls = N4J_BOLT_TLS_NONE,
				      .user = "neo4j",
				      .password = "simpw",
				      .connect_timeout_ms = 2000,
				      .io_timeout_ms = 5000};
	struct n4j_bolt_conn *c = NULL;
	CHECK(n4j_bolt_open(&cfg, &c, &err) == 0);
	struct n4j_bolt_query w = {.db = "bk1", .text = "CREATE (n)"};
	for (int k = 0; c && k < 2; k++)
		CHECK_MSG(n4j_bolt_query(c, A, &w, &r, &err) == 0, "%s", err.msg);
	if (c)
		n4j_bolt_close(c);
	CHECK(bk_ask(fd, "BACKUP bk1 0\n", line, sizeof line) == 0);
	CHECK_INT(ok_tx(line, id2, sizeof id2), tx0 + 2);
	/* system: on every server; administration raises its lastTx */
	CHECK(bk_ask(fd, "BACKUP system 0\n", line, sizeof line) == 0);
	long sys0 = ok_tx(line, id, sizeof id);
	CHECK_STR(id, "00000000-0000-0000-0000-000000000001");
	CHECK(q("CREATE DATABASE bk2 IF NOT EXISTS", NULL, &r, &err) == 0);
	CHECK(bk_ask(fd, "BACKUP system 0\n", line, sizeof line) == 0);
	CHECK(ok_tx(line, id, sizeof id) > sys0);
	/* not found, not hosted here */
	CHECK(bk_ask(fd, "BACKUP nosuch 0\n", line, sizeof line) == 0);
	CHECK_STR(line, "ERR Database not found: nosuch");
	close(fd);
	CHECK(bk_once(other, "BACKUP bk1 0\n", line, sizeof line) == 0);
	CHECK_STR(line, "ERR Database 'bk1' is not hosted on this server");
	CHECK(bk_once(other, "BACKUP system 3\n", line, sizeof line) == 0 &&
	      strncmp(line, "OK ", 3) == 0);
	/* a malformed line: ERR, then the server closes */
	fd = bk_connect(host);
	CHECK(bk_ask(fd, "BACKUP bk1\n", line, sizeof line) == 0);
	CHECK(strncmp(line, "ERR malformed", 13) == 0);
	CHECK(bk_ask(fd, "BACKUP bk1 0\n", line, sizeof line) == -1);
	close(fd);
	/* an over-long line: ERR and closed, never a buffer overrun */
	char longreq[2048];
	memset(longreq, 'x', sizeof longreq - 1);
	longreq[sizeof longreq - 1] = '\0';
	fd = bk_connect(host);
	CHECK(bk_ask(fd, longreq, line, sizeof line) == 0);
	CHECK_STR(line, "ERR request line too long");
	close(fd);
	/* a stopped server's backup port refuses */
	char cmd[32], out[64];
	snprintf(cmd, sizeof cmd, "stop s%d", hi);
	CHECK(ctl(cmd, out, sizeof out) == 0);
	CHECK(bk_once(host, "BACKUP bk1 0\n", line, sizeof line) == -1);
	snprintf(cmd, sizeof cmd, "start s%d", hi);
	CHECK(ctl(cmd, out, sizeof out) == 0);
	CHECK(q("DROP DATABASE bk1", NULL, &r, &err) == 0);
	CHECK(q("DROP DATABASE bk2", NULL, &r, &err) == 0);
}

static bool all_status(const char *db, const char *status, int ms)
{
	char text[256];
	snprintf(text, sizeof text,
		 "SHOW DATABASE %s YIELD currentStatus WHERE currentStatus <> '%s'", db, status);
	return wait_empty(text, NULL, ms);
}

static void test_seeding(void)
{
	struct n4j_bolt_result r;
	struct n4j_error err = {0};
	char line[256], id[64];
	/* a seed that loads: every hosting copy starts when its tool exits 0 */
	CHECK_MSG(q("CREATE DATABASE seeded1 TOPOLOGY 2 PRIMARIES OPTIONS {existingData: 'use', "
		    "seedURI: 's3://bucket/good/seeded1.backup'}",
		    NULL, &r, &err) == 0,
		  "%s", err.msg);
	CHECK(all_status("seeded1", "online", 5000));
	CHECK(q("SHOW DATABASE seeded1 YIELD address, requestedStatus", NULL, &r, &err) == 0 &&
	      r.nrows == 2);
	CHECK(bk_once(bk_of(cell(&r, 0, "address")), "BACKUP seeded1 0\n", line, sizeof line) == 0);
	CHECK_INT(ok_tx(line, id, sizeof id), 42); /* lastTx=42 from the tool */
	/* while the tool runs: starting (not store copying) */
	struct n4j_bolt_value *pm = n4j_bolt_map_new(A, 1);
	n4j_bolt_map_set(pm, 0, "u", n4j_bolt_str("s3://bucket/slow/x"));
	CHECK_MSG(q("CREATE DATABASE $n OPTIONS {existingData: 'use', seedURI: $u}", pm, &r,
		    &err) != 0,
		  "$n missing must fail");
	struct n4j_bolt_value *pm2 = n4j_bolt_map_new(A, 2);
	n4j_bolt_map_set(pm2, 0, "u", n4j_bolt_str("s3://bucket/slow/x"));
	n4j_bolt_map_set(pm2, 1, "n", n4j_bolt_str("seedslow"));
	CHECK_MSG(q("CREATE DATABASE $n OPTIONS {existingData: 'use', seedURI: $u}", pm2, &r,
		    &err) == 0,
		  "%s", err.msg);
	CHECK(q("SHOW DATABASE seedslow YIELD currentStatus, requestedStatus", NULL, &r, &err) ==
		      0 &&
	      r.nrows == 1);
	CHECK_STR(cell(&r, 0, "currentStatus"), "starting");
	CHECK(all_status("seedslow", "online", 5000));
	/* a seed that fails: offline with Neo4j's message, requested online */
	CHECK_MSG(q("CREATE DATABASE seedbad TOPOLOGY 2 PRIMARIES OPTIONS {existingData: 'use', "
		    "seedURI: 's3://bucket/missing/'}",
		    NULL, &r, &err) == 0,
		  "%s", err.msg);
	CHECK(all_status("seedbad", "offline", 5000));
	CHECK(q("SHOW DATABASE seedbad YIELD address, databaseID, requestedStatus, statusMessage",
		NULL, &r, &err) == 0 &&
	      r.nrows == 2);
	char want[160], oldid[64];
	snprintf(oldid, sizeof oldid, "%s", cell(&r, 0, "databaseID"));
	snprintf(want, sizeof want, "Unable to start database `DatabaseId{%.8s[seedbad]}`", oldid);
	CHECK_STR(cell(&r, 0, "statusMessage"), want);
	CHECK_STR(cell(&r, 1, "statusMessage"), want);
	CHECK_STR(cell(&r, 0, "requestedStatus"), "online");
	CHECK(bk_once(bk_of(cell(&r, 0, "address")), "BACKUP seedbad 0\n", line, sizeof line) == 0);
	CHECK(strncmp(line, "ERR Database 'seedbad' is not online", 36) == 0);
	/* the tool got URI and name, and nothing more on 5.26 */
	FILE *f = fopen(seed_log, "r");
	char log[4096] = "";
	size_t n = f ? fread(log, 1, sizeof log - 1, f) : 0;
	log[n] = '\0';
	if (f)
		fclose(f);
	CHECK_HAS(log, "s3://bucket/missing/ seedbad\n");
	CHECK_HAS(log, "s3://bucket/good/seeded1.backup seeded1\n");
	/* refusals: existingData is required (Cypher 5), seedRestoreUntil is 2025.01+ */
	CHECK_INT(
		q("CREATE DATABASE noexist OPTIONS {seedURI: 's3://bucket/good/'}", NULL, &r, &err),
		N4J_EBOLT_FAILURE);
	CHECK_HAS(err.msg, "existingData");
	CHECK_INT(q("CREATE DATABASE nountil OPTIONS {existingData: 'use', seedURI: "
		    "'s3://bucket/good/', seedRestoreUntil: 12}",
		    NULL, &r, &err),
		  N4J_EBOLT_FAILURE);
	CHECK_HAS(err.msg, "unrecognised option: 'seedRestoreUntil'");
	CHECK_INT(q("CREATE DATABASE nosrc OPTIONS {existingData: 'use', seedURI: "
		    "'s3://bucket/good/', seedSourceDatabase: 'old'}",
		    NULL, &r, &err),
		  N4J_EBOLT_FAILURE);
	CHECK_HAS(err.msg, "unrecognised option: 'seedSourceDatabase'");
	CHECK(q("SHOW DATABASES YIELD name WHERE name = 'nountil'", NULL, &r, &err) == 0 &&
	      r.nrows == 0);
	/* recreate: 5.26 has dbms.cluster.recreateDatabase (5.24+), not dbms.recreateDatabase
	 * (2025.04) */
	CHECK_INT(q("CALL dbms.recreateDatabase('seedbad', {seedURI: 's3://bucket/good/'})", NULL,
		    &r, &err),
		  N4J_EBOLT_FAILURE);
	CHECK_HAS(err.msg, "no procedure with the name");
	CHECK_MSG(q("CALL dbms.cluster.recreateDatabase('seedbad', {seedURI: "
		    "'s3://bucket/good/again'})",
		    NULL, &r, &err) == 0,
		  "%s", err.msg);
	CHECK(all_status("seedbad", "online", 5000));
	CHECK(q("SHOW DATABASE seedbad YIELD databaseID, statusMessage, currentPrimariesCount",
		NULL, &r, &err) == 0 &&
	      r.nrows == 2);
	CHECK(strcmp(cell(&r, 0, "databaseID"), oldid) != 0); /* a new store */
	CHECK_STR(cell(&r, 0, "statusMessage"), "");
	CHECK_INT(r.rows[0].u.list.items[2].u.i, 2); /* the topology kept */
	CHECK_INT(q("CALL dbms.cluster.recreateDatabase('system')", NULL, &r, &err),
		  N4J_EBOLT_FAILURE);
	CHECK_HAS(err.msg, "system database");
	CHECK_INT(q("CALL dbms.cluster.recreateDatabase('nosuch', {seedURI: 's3://b/good'})", NULL,
		    &r, &err),
		  N4J_EBOLT_FAILURE);
	CHECK_HAS(err.msg, "does not exist");
	CHECK_INT(q("CALL dbms.cluster.recreateDatabase('seedbad', {clearData: true})", NULL, &r,
		    &err),
		  N4J_EBOLT_FAILURE); /* clearData is 2025.02 */
	/* recreate from a failing seed: offline again, with the new id in the message */
	CHECK_MSG(q("CALL dbms.cluster.recreateDatabase('seedbad', {seedURI: 's3://b/none'})", NULL,
		    &r, &err) == 0,
		  "%s", err.msg);
	CHECK(all_status("seedbad", "offline", 5000));
	CHECK(q("DROP DATABASE seeded1", NULL, &r, &err) == 0);
	CHECK(q("DROP DATABASE seedslow", NULL, &r, &err) == 0);
	CHECK(q("DROP DATABASE seedbad", NULL, &r, &err) == 0);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: test_sim PATH-TO-n4j-clustersim\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	int base = 28600 + (getpid() % 40) * 10;
	char *args[32];
	int n = 0;
	args[n++] = argv[1];
	args[n++] = "--move-ms";
	args[n++] = "300";
	args[n++] = "--control";
	snprintf(ctl_path, sizeof ctl_path, "/tmp/n4j-sim-%d.sock", (int)getpid());
	args[n++] = ctl_path;
	char pwfile[64];
	snprintf(pwfile, sizeof pwfile, "/tmp/n4j-sim-%d.pw", (int)getpid());
	FILE *pf = fopen(pwfile, "w");
	fputs("simpw\n", pf);
	fclose(pf);
	args[n++] = "--password-file";
	args[n++] = pwfile;
	/* the backup ports: every server's IP, one port of this run's block */
	char bkport[16];
	snprintf(bkport, sizeof bkport, "%d", base + 8);
	args[n++] = "--backup-port";
	args[n++] = bkport;
	char tool[64];
	snprintf(tool, sizeof tool, "/tmp/n4j-sim-%d.seed", (int)getpid());
	snprintf(seed_log, sizeof seed_log, "/tmp/n4j-sim-%d.seedlog", (int)getpid());
	CHECK(write_seed_tool(tool, seed_log) == 0);
	setenv("N4J_SIM_SEED_CMD", tool, 1);
	char specs[N][160];
	for (int i = 0; i < N; i++) {
		snprintf(binds[i], sizeof binds[i], "127.0.0.%d:%d", 61 + i, base + i);
		snprintf(specs[i], sizeof specs[i], "s%d=%s@%s", i, names[i], binds[i]);
		addrs.adv[i] = names[i];
		addrs.bind[i] = binds[i];
		snprintf(bk_addrs[i], sizeof bk_addrs[i], "127.0.0.%d:%d", 61 + i, base + 8);
		args[n++] = "--server";
		args[n++] = specs[i];
	}
	args[n] = NULL;
	addrs.n = N;
	pid_t pid = child_start(args);
	CHECK_MSG(pid > 0, "simulator did not start");
	if (pid <= 0)
		T_DONE();
	A = n4j_arena_new();
	const char *seeds[] = {names[1], names[2], NULL}; /* followers: routing must find s0 */
	struct n4j_error err;
	CHECK(sim_cluster_new(seeds, &addrs, &cl, &err) == 0);
	test_formation();
	test_backup_port();
	test_seeding();
	test_refusals();
	test_scale_down();
	test_not_a_leader();
	n4j_bolt_cluster_free(cl);
	n4j_arena_free(A);
	kill(pid, SIGTERM);
	child_wait(pid, 2000);
	unlink(ctl_path);
	unlink(pwfile);
	unlink(tool);
	unlink(seed_log);
	T_DONE();
}
