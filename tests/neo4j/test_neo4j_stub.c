/*
 * n4j_step_run's DRYRUN check against a scripted server: a DRYRUN row without a
 * destination (toServerId NULL or empty) stops DEALLOCATE and REALLOCATE with N4J_EINVAL
 * naming the copy, and the real statement is never sent (the script ends after the
 * DRYRUNs, so anything more is a mismatch and the stub exits non-zero).
 */
#include "check.h"
#include "neo4j/neo4j.h"
#include "stubrun.h"

static int resolve(void *ctx, const char *advertised, char *out, size_t outlen)
{
	if (strcmp(advertised, "leader.stub.test:7687") != 0)
		return N4J_ENOTFOUND;
	snprintf(out, outlen, "%s", (const char *)ctx);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: test_neo4j_stub PATH-TO-n4j-bolt-stub\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	long t0 = mono_ms();
	char addr[64], path[512];
	snprintf(addr, sizeof addr, "127.0.0.57:%d", 29700 + (int)(getpid() % 200));
	snprintf(path, sizeof path, "%s/tests/neo4j/scripts/dryrun_null.script", N4J_SOURCE_DIR);
	char *args[] = {argv[1], "--timeout", "30", addr, path, NULL};
	pid_t pid = child_start(args);
	CHECK_MSG(pid > 0, "stub did not start");
	if (pid <= 0)
		CHECK_DONE();
	const char *seeds[] = {"leader.stub.test:7687", NULL};
	struct n4j_neo4j_opts o = {.enterprise = true,
				   .seeds = seeds,
				   .resolve = resolve,
				   .resolve_ctx = addr,
				   .user = "neo4j",
				   .password = "stub-pw",
				   .timeout_ms = 3000};
	struct n4j_neo4j *h = NULL;
	struct n4j_error err = {0};
	CHECK(n4j_neo4j_open(&o, &h, &err) == 0);
	struct n4j_arena *a = n4j_arena_new();
	if (h) {
		struct n4j_step s = {.kind = N4J_STEP_DEALLOCATE,
				     .server_id = "0751b736-0000-4000-8000-00000000000a"};
		CHECK_INT(n4j_step_run(h, a, &s, &err), N4J_EINVAL);
		fprintf(stderr, "  deallocate: %s\n", err.msg);
		CHECK(check_has(err.msg, "no destination for 1 copy"));
		CHECK(check_has(err.msg, "bar (secondary)"));
		CHECK(!check_has(err.msg, "foo"));
		s = (struct n4j_step){.kind = N4J_STEP_REALLOCATE};
		CHECK_INT(n4j_step_run(h, a, &s, &err), N4J_EINVAL);
		fprintf(stderr, "  reallocate: %s\n", err.msg);
		CHECK(check_has(err.msg, "REALLOCATE") && check_has(err.msg, "foo (primary)"));
		n4j_neo4j_close(h);
	}
	n4j_arena_free(a);
	CHECK(mono_ms() - t0 < 10000);
	/* the script ran to its end and nothing else was sent */
	CHECK_INT(child_wait(pid, 5000), 0);
	CHECK_DONE();
}
