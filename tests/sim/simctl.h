/* The simulator tests' helpers: the control socket (one command, the whole reply) and the
 * map from advertised names to bind addresses that the Bolt resolver hook uses. */
#ifndef N4J_SIMCTL_H
#define N4J_SIMCTL_H

#include "bolt/bolt.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
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

/* The backup port's line protocol (README.md "Backup port"): a connection to "ip:port", -1
 * when refused. */
static inline int bk_connect(const char *addr)
{
	char ip[64];
	const char *colon = strrchr(addr, ':');
	if (!colon || (size_t)(colon - addr) >= sizeof ip)
		return -1;
	memcpy(ip, addr, (size_t)(colon - addr));
	ip[colon - addr] = '\0';
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_port = htons((uint16_t)atoi(colon + 1))};
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || inet_pton(AF_INET, ip, &sa.sin_addr) != 1 ||
	    connect(fd, (struct sockaddr *)&sa, sizeof sa)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* Sends req (with its "\n") and reads one answer line (without it) into out: 0, or -1 when
 * the server closed the connection (or said nothing within 3 s) before a whole line. */
static inline int bk_ask(int fd, const char *req, char *out, size_t cap)
{
	size_t n = strlen(req), got = 0;
	if (n && write(fd, req, n) != (ssize_t)n)
		return -1;
	while (got + 1 < cap) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, 3000) <= 0 || read(fd, out + got, 1) != 1)
			break;
		if (out[got] == '\n') {
			out[got] = '\0';
			return 0;
		}
		got++;
	}
	out[got] = '\0';
	return -1;
}

/* One request on a new connection. */
static inline int bk_once(const char *addr, const char *req, char *out, size_t cap)
{
	int fd = bk_connect(addr);
	if (fd < 0) {
		snprintf(out, cap, "(refused)");
		return -1;
	}
	int rc = bk_ask(fd, req, out, cap);
	close(fd);
	return rc;
}

/* A fake seed tool (README.md "Seeding") at path that logs "PARENT-PID ARGS" to log: a URI with
 * "good" succeeds (lastTx=42), "slow" after 1 s (lastTx=7), anything else fails. */
static inline int write_seed_tool(const char *path, const char *log)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	fprintf(f,
		"#!/bin/sh\necho \"$PPID $*\" >> '%s'\ncase \"$1\" in\n"
		"*good*) echo 'copying'; echo 'lastTx=42'; exit 0 ;;\n"
		"*slow*) sleep 1; echo 'lastTx=7'; exit 0 ;;\n"
		"*) echo \"no seed at $1\" >&2; exit 1 ;;\nesac\n",
		log);
	return fclose(f) || chmod(path, 0755) ? -1 : 0;
}

#endif
