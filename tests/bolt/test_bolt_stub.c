/*
 * The client against the scripted stub (tests/sim/stub.c): every error path ends in a
 * clear error within its deadline, no thread stays stuck, and the connection is reusable
 * after RESET where Bolt allows it.
 */
#define _GNU_SOURCE /* pthread_timedjoin_np: a stuck client thread must not hang the test */
#include "bolt/bolt.h"
#include "check.h"
#include "stubrun.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>

static const char *stub_bin;
static int port_seq = 28400;

struct stub {
	pid_t pid;
	char addr[64];
};

static bool stub_start(struct stub *s, const char *script, const char *ip)
{
	snprintf(s->addr, sizeof s->addr, "%s:%d", ip, port_seq++);
	char path[512];
	snprintf(path, sizeof path, "%s/tests/bolt/scripts/%s", N4J_SOURCE_DIR, script);
	char *argv[] = {(char *)stub_bin, "--timeout", "30", s->addr, path, NULL};
	s->pid = child_start(argv);
	CHECK_MSG(s->pid > 0, "stub %s did not start", script);
	return s->pid > 0;
}

static int stub_end(struct stub *s, int timeout_ms)
{
	return child_wait(s->pid, timeout_ms);
}

static struct n4j_bolt_config cfg_for(const char *addr)
{
	struct n4j_bolt_config c = {.address = addr,
				    .tls = N4J_BOLT_TLS_NONE, /* the stub speaks plaintext */
				    .user = "neo4j",
				    .password = "s3cret-pw",
				    .connect_timeout_ms = 3000,
				    .io_timeout_ms = 10000};
	return c;
}

static void test_auth_failure(const char *script, const char *code)
{
	struct stub s;
	if (!stub_start(&s, script, "127.0.0.41"))
		return;
	struct n4j_bolt_config cfg = cfg_for(s.addr);
	struct n4j_bolt_conn *c = NULL;
	struct n4j_error err = {0};
	struct n4j_bolt_failure f = {0};
	cfg.failure = &f;
	long t0 = mono_ms();
	int rc = n4j_bolt_open(&cfg, &c, &err);
	CHECK_INT(rc, N4J_EBOLT_FAILURE);
	CHECK(c == NULL);
	CHECK(mono_ms() - t0 < 3000);
	CHECK_MSG(strstr(err.msg, code) != NULL, "%s", err.msg);
	CHECK_MSG(strstr(err.msg, "s3cret") == NULL, "password in error: %s", err.msg);
	CHECK_INT(n4j_bolt_classify(rc, &f), N4J_BOLT_CLASS_AUTH);
	CHECK_MSG(strstr(f.code, code) != NULL, "%s", f.code);
	CHECK_INT(stub_end(&s, 3000), 0);
}

static void test_failure_reset(void)
{
	struct stub s;
	if (!stub_start(&s, "failure_reset.script", "127.0.0.41"))
		return;
	struct n4j_bolt_config cfg = cfg_for(s.addr);
	struct n4j_bolt_conn *c = NULL;
	struct n4j_error err = {0};
	CHECK(n4j_bolt_open(&cfg, &c, &err) == 0);
	if (c) {
		struct n4j_arena *a = n4j_arena_new();
		struct n4j_bolt_result r;
		struct n4j_bolt_query q = {.text = "RETURN 1"};
		CHECK_INT(n4j_bolt_query(c, a, &q, &r, &err), N4J_EBOLT_FAILURE);
		CHECK_STR(n4j_bolt_last_failure(c)->code, "Neo.ClientError.Statement.SyntaxError");
		CHECK_STR(n4j_bolt_last_failure(c)->gql, "42001");
		CHECK_INT(n4j_bolt_state(c), N4J_BOLT_FAILED);
		/* FAILED: nothing is sent until RESET */
		CHECK_INT(n4j_bolt_query(c, a, &q, &r, &err), N4J_EBOLT_STATE);
		CHECK(n4j_bolt_reset(c, &err) == 0);
		CHECK(n4j_bolt_query(c, a, &q, &r, &err) == 0 && r.nrows == 1);
		n4j_arena_free(a);
		n4j_bolt_close(c);
	}
	CHECK_INT(stub_end(&s, 3000), 0);
}

static void test_old_failure(void)
{
	struct stub s;
	if (!stub_start(&s, "old_failure.script", "127.0.0.41"))
		return;
	struct n4j_bolt_config cfg = cfg_for(s.addr);
	struct n4j_bolt_conn *c = NULL;
	struct n4j_error err = {0};
	CHECK(n4j_bolt_open(&cfg, &c, &err) == 0);
	if (c) {
		CHECK_INT(n4j_bolt_version(c), N4J_BOLT_V(5, 4));
		struct n4j_arena *a = n4j_arena_new();
		struct n4j_bolt_result r;
		struct n4j_bolt_query q = {.db = "system", .text = "CREATE DATABASE foo"};
		CHECK_INT(n4j_bolt_query(c, a, &q, &r, &err), N4J_EBOLT_FAILURE);
		CHECK_STR(n4j_bolt_last_failure(c)->code, "Neo.ClientError.Cluster.NotALeader");
		CHECK_INT(n4j_bolt_last_failure(c)->cls, N4J_BOLT_CLASS_REROUTE);
		/* FAILURE to RESET: DEFUNCT at once, no loop */
		long t0 = mono_ms();
		CHECK(n4j_bolt_reset(c, &err) < 0);
		CHECK_INT(n4j_bolt_state(c), N4J_BOLT_DEFUNCT);
		CHECK(n4j_bolt_reset(c, &err) == N4J_EBOLT_CLOSED);
		CHECK(mono_ms() - t0 < 1000);
		n4j_arena_free(a);
		n4j_bolt_close(c);
	}
	CHECK_INT(stub_end(&s, 3000), 0);
}

struct hang_ctx {
	const char *addr;
	int rc;
	long elapsed;
	size_t rows;
	enum n4j_bolt_state state;
};

static void *hang_thread(void *arg)
{
	struct hang_ctx *h = arg;
	struct n4j_bolt_config cfg = cfg_for(h->addr);
	cfg.io_timeout_ms = 30000; /* the hint (2 s + 2 s) must win */
	struct n4j_bolt_conn *c = NULL;
	struct n4j_error err = {0};
	h->rc = n4j_bolt_open(&cfg, &c, &err);
	if (h->rc)
		return NULL;
	struct n4j_arena *a = n4j_arena_new();
	struct n4j_bolt_result r;
	struct n4j_bolt_query q = {.text = "RETURN 1"};
	long t0 = mono_ms();
	h->rc = n4j_bolt_query(c, a, &q, &r, &err);
	h->elapsed = mono_ms() - t0;
	h->rows = h->rc == 0 ? r.nrows : 0;
	h->state = n4j_bolt_state(c);
	if (h->rc)
		fprintf(stderr, "  %s: %s\n", h->addr, err.msg);
	n4j_arena_free(a);
	n4j_bolt_close(c);
	return NULL;
}

/* Runs the client in a thread and requires it to finish within limit_ms. */
static bool run_bounded(struct hang_ctx *h, int limit_ms)
{
	pthread_t t;
	pthread_create(&t, NULL, hang_thread, h);
	struct timespec dl;
	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += limit_ms / 1000;
	int jr = pthread_timedjoin_np(t, NULL, &dl);
	CHECK_MSG(jr == 0, "client thread stuck after %d ms", limit_ms);
	if (jr) {
		pthread_cancel(t);
		pthread_join(t, NULL);
	}
	return jr == 0;
}

static void test_hang(void)
{
	struct stub s;
	if (!stub_start(&s, "hang.script", "127.0.0.42"))
		return;
	struct hang_ctx h = {.addr = s.addr};
	if (run_bounded(&h, 8000)) {
		CHECK_INT(h.rc, N4J_EBOLT_TIMEOUT);
		CHECK_MSG(h.elapsed >= 2000 && h.elapsed <= 4500, "timed out after %ld ms",
			  h.elapsed);
		CHECK_INT(h.state, N4J_BOLT_DEFUNCT);
		CHECK_INT(n4j_bolt_classify(h.rc, NULL), N4J_BOLT_CLASS_RETRYABLE);
	}
	kill(s.pid, SIGTERM);
	stub_end(&s, 2000);
	/* NOOPs every second keep a slow reply alive */
	if (!stub_start(&s, "noop.script", "127.0.0.42"))
		return;
	struct hang_ctx n = {.addr = s.addr};
	if (run_bounded(&n, 10000)) {
		CHECK_INT(n.rc, 0);
		CHECK_INT(n.rows, 1);
		CHECK(n.elapsed >= 3500);
	}
	CHECK_INT(stub_end(&s, 3000), 0);
}

static void test_silent_handshake(void)
{
	/* accepted by the kernel, never answered: the connect deadline ends it */
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port_seq)};
	inet_pton(AF_INET, "127.0.0.43", &sa.sin_addr);
	char addr[64];
	snprintf(addr, sizeof addr, "127.0.0.43:%d", port_seq++);
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	CHECK(bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 && listen(fd, 4) == 0);
	struct n4j_bolt_config cfg = cfg_for(addr);
	cfg.connect_timeout_ms = 1000;
	struct n4j_bolt_conn *c = NULL;
	struct n4j_error err = {0};
	long t0 = mono_ms();
	CHECK_INT(n4j_bolt_open(&cfg, &c, &err), N4J_EBOLT_TIMEOUT);
	long el = mono_ms() - t0;
	CHECK_MSG(el >= 900 && el < 2000, "%ld ms", el);
	fprintf(stderr, "  silent server: %s\n", err.msg);
	/* TLS to a silent server: the TLS handshake is bounded too */
	cfg.tls = N4J_BOLT_TLS_SELF_SIGNED;
	t0 = mono_ms();
	CHECK_INT(n4j_bolt_open(&cfg, &c, &err), N4J_EBOLT_TIMEOUT);
	CHECK(mono_ms() - t0 < 2000);
	close(fd);
}

static void test_drop(void)
{
	struct stub s;
	if (!stub_start(&s, "drop.script", "127.0.0.44"))
		return;
	struct n4j_bolt_config cfg = cfg_for(s.addr);
	struct n4j_bolt_conn *c = NULL;
	struct n4j_error err = {0};
	CHECK(n4j_bolt_open(&cfg, &c, &err) == 0);
	if (c) {
		struct n4j_arena *a = n4j_arena_new();
		struct n4j_bolt_result r;
		struct n4j_bolt_query q = {.db = "system",
					   .text = "SHOW DATABASES YIELD name, currentStatus"};
		long t0 = mono_ms();
		int rc = n4j_bolt_query(c, a, &q, &r, &err);
		CHECK_INT(rc, N4J_EBOLT_CLOSED);
		CHECK(mono_ms() - t0 < 2000);
		CHECK_MSG(strstr(err.msg, "connection lost") != NULL, "%s", err.msg);
		CHECK_INT(n4j_bolt_state(c), N4J_BOLT_DEFUNCT);
		CHECK_INT(n4j_bolt_classify(rc, NULL), N4J_BOLT_CLASS_RETRYABLE);
		CHECK_INT(n4j_bolt_reset(c, &err), N4J_EBOLT_CLOSED);
		n4j_arena_free(a);
		n4j_bolt_close(c);
	}
	CHECK_INT(stub_end(&s, 3000), 0);
}

static void test_garbage(void)
{
	struct stub s;
	if (!stub_start(&s, "garbage.script", "127.0.0.44"))
		return;
	struct n4j_bolt_config cfg = cfg_for(s.addr);
	struct n4j_bolt_conn *c = NULL;
	struct n4j_error err = {0};
	CHECK(n4j_bolt_open(&cfg, &c, &err) == 0);
	if (c) {
		struct n4j_arena *a = n4j_arena_new();
		struct n4j_bolt_result r;
		struct n4j_bolt_query q = {.text = "RETURN 1"};
		CHECK_INT(n4j_bolt_query(c, a, &q, &r, &err), N4J_EBOLT_PROTOCOL);
		fprintf(stderr, "  garbage: %s\n", err.msg);
		CHECK_INT(n4j_bolt_state(c), N4J_BOLT_DEFUNCT);
		n4j_arena_free(a);
		n4j_bolt_close(c);
	}
	CHECK_INT(stub_end(&s, 3000), 0);
	if (!stub_start(&s, "http.script", "127.0.0.44"))
		return;
	cfg = cfg_for(s.addr);
	CHECK_INT(n4j_bolt_open(&cfg, &c, &err), N4J_EBOLT_PROTOCOL);
	CHECK_MSG(strstr(err.msg, "HTTP") != NULL, "%s", err.msg);
	kill(s.pid, SIGTERM);
	stub_end(&s, 2000);
}

static void test_manifest_and_44(void)
{
	struct stub s;
	if (!stub_start(&s, "manifest.script", "127.0.0.45"))
		return;
	struct n4j_bolt_config cfg = cfg_for(s.addr);
	struct n4j_bolt_conn *c = NULL;
	struct n4j_error err = {0};
	CHECK_MSG(n4j_bolt_open(&cfg, &c, &err) == 0, "%s", err.msg);
	if (c) {
		CHECK_INT(n4j_bolt_version(c), N4J_BOLT_V(5, 8));
		struct n4j_arena *a = n4j_arena_new();
		struct n4j_bolt_value *p = n4j_bolt_map_new(a, 1);
		n4j_bolt_map_set(p, 0, "x", n4j_bolt_int(7));
		struct n4j_bolt_result r;
		struct n4j_bolt_query q = {
			.db = "neo4j", .read = true, .text = "RETURN $x", .params = p};
		CHECK(n4j_bolt_query(c, a, &q, &r, &err) == 0 && r.nrows == 2);
		CHECK_STR(r.bookmark, "FB:1");
		CHECK(r.nrows == 2 && r.rows[1].u.list.items[0].type == N4J_BOLT_BYTES);
		n4j_arena_free(a);
		n4j_bolt_close(c);
	}
	CHECK_INT(stub_end(&s, 3000), 0);

	if (!stub_start(&s, "bolt44.script", "127.0.0.45"))
		return;
	cfg = cfg_for(s.addr);
	CHECK_MSG(n4j_bolt_open(&cfg, &c, &err) == 0, "%s", err.msg);
	if (c) {
		CHECK_INT(n4j_bolt_version(c), N4J_BOLT_V(4, 4));
		struct n4j_arena *a = n4j_arena_new();
		struct n4j_bolt_query b = {.db = "neo4j"};
		CHECK(n4j_bolt_begin(c, &b, &err) == 0);
		struct n4j_bolt_query q = {.text = "RETURN 1"};
		struct n4j_bolt_value meta;
		CHECK(n4j_bolt_run(c, a, &q, &meta, &err) == 0);
		struct n4j_bolt_result rows = {0};
		bool more;
		CHECK(n4j_bolt_pull(c, a, 1, 0, &rows, &more, &err) == 0 && more &&
		      rows.nrows == 1);
		CHECK(n4j_bolt_discard(c, a, -1, 0, &more, &err) == 0 && !more);
		const char *bm = NULL;
		CHECK(n4j_bolt_commit(c, a, &bm, &err) == 0);
		CHECK_STR(bm, "FB:44");
		/* LOGOFF does not exist before 5.1 */
		CHECK_INT(n4j_bolt_logoff(c, &err), N4J_EBOLT_STATE);
		n4j_arena_free(a);
		n4j_bolt_close(c);
	}
	CHECK_INT(stub_end(&s, 3000), 0);
}

static int resolve(void *ctx, const char *advertised, char *out, size_t outlen)
{
	const char *const *map = ctx; /* name, ip:port pairs */
	for (size_t i = 0; map[i]; i += 2)
		if (strcmp(map[i], advertised) == 0) {
			snprintf(out, outlen, "%s", map[i + 1]);
			return 0;
		}
	return N4J_ENOTFOUND;
}

static void test_not_a_leader(void)
{
	struct stub f, l;
	if (!stub_start(&f, "follower.script", "127.0.0.46"))
		return;
	if (!stub_start(&l, "leader.script", "127.0.0.47")) {
		kill(f.pid, SIGTERM);
		stub_end(&f, 1000);
		return;
	}
	const char *map[] = {"follower.sim.test:7687", f.addr, "leader.sim.test:7687", l.addr,
			     NULL};
	const char *seeds[] = {"follower.sim.test:7687", NULL};
	struct n4j_bolt_cluster_config cc = {
		.base = cfg_for(NULL),
		.seeds = seeds,
		.resolve = resolve,
		.resolve_ctx = map,
		.retry = {.initial_ms = 50, .max_ms = 200, .deadline_ms = 5000},
	};
	struct n4j_bolt_cluster *cl;
	struct n4j_error err = {0};
	CHECK(n4j_bolt_cluster_new(&cc, &cl, &err) == 0);
	struct n4j_arena *a = n4j_arena_new();
	struct n4j_bolt_result r;
	struct n4j_bolt_query q = {.text = "CREATE DATABASE foo IF NOT EXISTS"};
	int rc = n4j_bolt_cluster_query(cl, a, &q, &r, &err);
	CHECK_MSG(rc == 0, "%s", err.msg);
	CHECK_STR(r.bookmark, "FB:l1");
	char leader[256];
	CHECK(n4j_bolt_cluster_leader(cl, leader, sizeof leader, &err) == 0);
	CHECK_STR(leader, "leader.sim.test:7687");
	n4j_arena_free(a);
	n4j_bolt_cluster_free(cl);
	CHECK_INT(stub_end(&f, 3000), 0);
	CHECK_INT(stub_end(&l, 3000), 0);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: test_bolt_stub PATH-TO-n4j-bolt-stub\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	stub_bin = argv[1];
	port_seq = 28400 + (getpid() % 50) * 20;
	test_auth_failure("auth_failure.script", "Security.Unauthorized");
	test_auth_failure("rate_limit.script", "Security.AuthenticationRateLimit");
	test_failure_reset();
	test_old_failure();
	test_hang();
	test_silent_handshake();
	test_drop();
	test_garbage();
	test_manifest_and_44();
	test_not_a_leader();
	T_DONE();
}
