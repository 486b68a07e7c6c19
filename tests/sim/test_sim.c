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
	char specs[N][160];
	for (int i = 0; i < N; i++) {
		snprintf(binds[i], sizeof binds[i], "127.0.0.%d:%d", 61 + i, base + i);
		snprintf(specs[i], sizeof specs[i], "s%d=%s@%s", i, names[i], binds[i]);
		addrs.adv[i] = names[i];
		addrs.bind[i] = binds[i];
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
	test_refusals();
	test_scale_down();
	test_not_a_leader();
	n4j_bolt_cluster_free(cl);
	n4j_arena_free(A);
	kill(pid, SIGTERM);
	child_wait(pid, 2000);
	unlink(ctl_path);
	unlink(pwfile);
	T_DONE();
}
