/*
 * bench/bolt: the C client's side. Usage: bench_bolt ADDR USER PASSWORD_FILE CONNECTS PULLS
 * Prints "c connect_ms=… pull10k_ms=…": the mean of connect + authenticate + RETURN 1 +
 * close, and of a 10,000-row auto-commit PULL on one connection (rows decoded into an
 * arena, as the operator reads them; PULL {n: -1}, the fetch size the Java side is given).
 * Each connect is timed on its own after the same 2 ms pause the Java side needs for its
 * pool to drop the previous connection, so both sides run at the same pace.
 */
#include "bolt/bolt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int once(const struct n4j_bolt_config *cfg)
{
	struct n4j_bolt_conn *c;
	struct n4j_error err;
	if (n4j_bolt_open(cfg, &c, &err)) {
		fprintf(stderr, "open: %s\n", err.msg);
		return -1;
	}
	struct n4j_arena *a = n4j_arena_new();
	struct n4j_bolt_result r;
	struct n4j_bolt_query q = {.db = "neo4j", .text = "RETURN 1"};
	int rc = n4j_bolt_query(c, a, &q, &r, &err);
	n4j_arena_free(a);
	n4j_bolt_close(c);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc != 6) {
		fprintf(stderr, "usage: bench_bolt ADDR USER PASSWORD_FILE CONNECTS PULLS\n");
		return 2;
	}
	char pw[256] = "";
	FILE *f = fopen(argv[3], "r");
	if (!f || !fgets(pw, sizeof pw, f))
		return 2;
	fclose(f);
	pw[strcspn(pw, "\r\n")] = '\0';
	int connects = atoi(argv[4]), pulls = atoi(argv[5]);
	/* The test server's Bolt port is plaintext; so is the Java driver's bolt:// URI. */
	struct n4j_bolt_config cfg = {
		.address = argv[1], .tls = N4J_BOLT_TLS_NONE, .user = argv[2], .password = pw};
	int warm = connects / 5 > 20 ? connects / 5 : 20; /* as the Java side */
	double timed = 0;
	for (int i = 0; i < warm + connects; i++) {
		struct timespec pause = {0, 2 * 1000 * 1000};
		nanosleep(&pause, NULL);
		double t = now_ms();
		if (once(&cfg))
			return 1;
		if (i >= warm)
			timed += now_ms() - t;
	}
	double connect_ms = timed / connects;
	struct n4j_bolt_conn *c;
	struct n4j_error err;
	if (n4j_bolt_open(&cfg, &c, &err)) {
		fprintf(stderr, "open: %s\n", err.msg);
		return 1;
	}
	struct n4j_bolt_query q = {.db = "neo4j", .text = "UNWIND range(1, 10000) AS i RETURN i"};
	long long sum = 0;
	double t1 = 0;
	int warm_pulls = pulls / 4 > 5 ? pulls / 4 : 5; /* as the Java side */
	for (int i = -warm_pulls; i < pulls; i++) {
		if (i == 0)
			t1 = now_ms();
		struct n4j_arena *a = n4j_arena_new();
		struct n4j_bolt_result r;
		if (n4j_bolt_query(c, a, &q, &r, &err) || r.nrows != 10000) {
			fprintf(stderr, "pull: %s\n", err.msg);
			return 1;
		}
		if (i >= 0)
			sum += r.rows[9999].u.list.items[0].u.i;
		n4j_arena_free(a);
	}
	double pull_ms = (now_ms() - t1) / pulls;
	n4j_bolt_close(c);
	printf("c connect_ms=%.3f pull10k_ms=%.3f check=%lld\n", connect_ms, pull_ms, sum);
	return 0;
}
