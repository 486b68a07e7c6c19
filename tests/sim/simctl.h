/* The simulator tests' helpers: the control socket (one command, the whole reply) and the
 * map from advertised names to bind addresses that the Bolt resolver hook uses. */
#ifndef N4J_SIMCTL_H
#define N4J_SIMCTL_H

#include "bolt/bolt.h"

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* 0, or -1 when unreachable or the reply starts with "error". */
static int sim_ctl(const char *path, const char *cmd, char *out, size_t outlen)
{
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un su = {.sun_family = AF_UNIX};
	snprintf(su.sun_path, sizeof su.sun_path, "%s", path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&su, sizeof su)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	char line[256];
	int n = snprintf(line, sizeof line, "%s\n", cmd);
	if (write(fd, line, (size_t)n) != n) {
		close(fd);
		return -1;
	}
	size_t got = 0;
	ssize_t r;
	while (got < outlen - 1 && (r = read(fd, out + got, outlen - 1 - got)) > 0)
		got += (size_t)r;
	out[got] = '\0';
	close(fd);
	return strncmp(out, "error", 5) == 0 ? -1 : 0;
}

struct sim_addr_map {
	int n;
	const char *adv[16], *bind[16];
};

/* An n4j_bolt_resolver over a struct sim_addr_map (resolve_ctx). */
static int sim_resolve(void *ctx, const char *advertised, char *out, size_t outlen)
{
	const struct sim_addr_map *m = ctx;
	for (int i = 0; i < m->n; i++)
		if (strcmp(m->adv[i], advertised) == 0) {
			snprintf(out, outlen, "%s", m->bind[i]);
			return 0;
		}
	return N4J_ENOTFOUND;
}

/* A cluster handle on the simulator with the tests' usual timeouts. */
static int sim_cluster_new(const char **seeds, struct sim_addr_map *m,
			   struct n4j_bolt_cluster **out, struct n4j_error *err)
{
	struct n4j_bolt_cluster_config cc = {
		.base = {.tls = N4J_BOLT_TLS_NONE,
			 .user = "neo4j",
			 .password = "simpw",
			 .connect_timeout_ms = 2000,
			 .io_timeout_ms = 5000},
		.seeds = seeds,
		.resolve = sim_resolve,
		.resolve_ctx = m,
		.retry = {.initial_ms = 50, .max_ms = 400, .deadline_ms = 8000},
	};
	return n4j_bolt_cluster_new(&cc, out, err);
}

#endif
