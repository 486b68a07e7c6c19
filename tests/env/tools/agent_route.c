/*
 * The operator's Bolt cluster handle against servers the node agent runs: dials advertised
 * pod DNS names through the resolver hook (DESIGN 8.14), here backed by the agent's hosts
 * file, asks a seed for the `system` routing table and runs a query on every router.
 *
 *   agent_route HOSTS_FILE PASSWORD_FILE SEED...
 *
 * Prints "leader ADDR", "route writers|readers|routers ADDR..." and, per router,
 * "reached ADDR via IP:PORT rows N"; exits 0 when every router answered.
 */
#include "bolt/bolt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct hosts {
	const char *path;
};

/* "name:port" -> "ip:port" from a hosts-format file (IP NAME...). */
static int resolve(void *ctx, const char *advertised, char *out, size_t outlen)
{
	const struct hosts *h = ctx;
	const char *colon = strrchr(advertised, ':');
	if (!colon)
		return N4J_ENOTFOUND;
	size_t hl = (size_t)(colon - advertised);
	FILE *f = fopen(h->path, "r");
	if (!f)
		return N4J_ENOTFOUND;
	char line[512];
	int rc = N4J_ENOTFOUND;
	while (rc != 0 && fgets(line, sizeof line, f)) {
		char *save = NULL, *ip = strtok_r(line, " \t\n", &save), *name;
		while (ip && (name = strtok_r(NULL, " \t\n", &save)))
			if (strlen(name) == hl && strncmp(name, advertised, hl) == 0) {
				int n = snprintf(out, outlen, "%s%s", ip, colon);
				rc = n > 0 && (size_t)n < outlen ? 0 : N4J_ENOTFOUND;
				break;
			}
	}
	fclose(f);
	return rc;
}

static int read_password(const char *path, char *out, size_t outlen)
{
	FILE *f = fopen(path, "r");
	if (!f || !fgets(out, (int)outlen, f)) {
		if (f)
			fclose(f);
		return -1;
	}
	fclose(f);
	out[strcspn(out, "\r\n")] = '\0';
	return 0;
}

static void print_list(const char *what, size_t n, char (*a)[256])
{
	printf("route %s", what);
	for (size_t i = 0; i < n; i++)
		printf(" %s", a[i]);
	printf("\n");
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: agent_route HOSTS_FILE PASSWORD_FILE SEED...\n");
		return 2;
	}
	struct hosts h = {.path = argv[1]};
	char pw[256];
	if (read_password(argv[2], pw, sizeof pw)) {
		fprintf(stderr, "agent_route: cannot read the password file\n");
		return 2;
	}
	struct n4j_error err = {0};
	struct n4j_bolt_cluster_config cc = {
		.base = {.tls = N4J_BOLT_TLS_NONE,
			 .user = "neo4j",
			 .password = pw,
			 .connect_timeout_ms = 3000},
		.seeds = (const char *const *)&argv[3],
		.resolve = resolve,
		.resolve_ctx = &h,
		.retry = {.initial_ms = 200, .max_ms = 1000, .deadline_ms = 10000}};
	struct n4j_bolt_cluster *cl;
	if (n4j_bolt_cluster_new(&cc, &cl, &err)) {
		fprintf(stderr, "agent_route: %s\n", err.msg);
		return 1;
	}
	int failed = 0;
	char leader[256];
	if (n4j_bolt_cluster_leader(cl, leader, sizeof leader, &err)) {
		fprintf(stderr, "agent_route: leader: %s\n", err.msg);
		n4j_bolt_cluster_free(cl);
		return 1;
	}
	printf("leader %s\n", leader);
	struct n4j_bolt_conn *c;
	struct n4j_bolt_route_table rt;
	if (n4j_bolt_cluster_get(cl, leader, &c, &err) ||
	    n4j_bolt_route(c, "system", NULL, &rt, &err)) {
		fprintf(stderr, "agent_route: route: %s\n", err.msg);
		n4j_bolt_cluster_free(cl);
		return 1;
	}
	n4j_bolt_cluster_put(cl, c);
	print_list("writers", rt.nwriters, rt.writers);
	print_list("readers", rt.nreaders, rt.readers);
	print_list("routers", rt.nrouters, rt.routers);
	for (size_t i = 0; i < rt.nrouters; i++) {
		char via[256];
		struct n4j_arena *a = n4j_arena_new();
		struct n4j_bolt_result r;
		struct n4j_bolt_query q = {
			.db = "system", .text = "SHOW SERVERS YIELD name", .read = true};
		if (!a || resolve(&h, rt.routers[i], via, sizeof via) ||
		    n4j_bolt_cluster_get(cl, rt.routers[i], &c, &err)) {
			printf("unreached %s: %s\n", rt.routers[i], err.msg);
			failed++;
			n4j_arena_free(a);
			continue;
		}
		if (n4j_bolt_query(c, a, &q, &r, &err)) {
			printf("unreached %s: %s\n", rt.routers[i], err.msg);
			failed++;
		} else {
			printf("reached %s via %s rows %zu\n", rt.routers[i], via, r.nrows);
		}
		n4j_bolt_cluster_put(cl, c);
		n4j_arena_free(a);
	}
	n4j_bolt_cluster_free(cl);
	return failed ? 1 : 0;
}
