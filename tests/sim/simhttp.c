/*
 * The HTTP answers of a member server, from the shared state (README.md, "HTTP"): Neo4j's
 * discovery document and the cluster status endpoints of the operations manual
 * ("Monitor cluster endpoints for status information"). The caller holds the lock.
 */
#include "sim.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* A JSON string of names and addresses the simulator itself checked (no escaping needed
 * for UUIDs and host:port; anything else is dropped to keep the document valid). */
static void jstr(struct n4j_buf *b, const char *v)
{
	n4j_buf_putc(b, '"');
	for (const char *p = v; *p; p++)
		if (*p != '"' && *p != '\\' && (unsigned char)*p >= 0x20)
			n4j_buf_putc(b, *p);
	n4j_buf_putc(b, '"');
}

static bool reachable(const struct sim *s, int me, int i)
{
	return !s->srv[i].stopped && !s->srv[i].partitioned && !s->srv[me].partitioned;
}

/* This server's copy of db (-1 = system): 1 primary, 0 secondary, -1 none online. */
static int copy_role(const struct sim *s, int me, int d)
{
	if (d < 0)
		return s->srv[me].state == SRV_DROPPED ? -1 : s->srv[me].system_primary;
	for (int k = 0; k < SIM_MAX_ALLOC; k++) {
		const struct sim_alloc *a = &s->al[k];
		if (a->used && a->server == me && a->db == d && a->status == AL_ONLINE)
			return a->primary;
	}
	return -1;
}

static void status_json(struct sim *s, int me, int d, int role, struct n4j_buf *b)
{
	int leader = d < 0 ? s->leader : db_leader(s, d);
	bool up = !s->srv[me].stopped && !s->srv[me].partitioned;
	if (leader >= 0 && !reachable(s, me, leader) && leader != me)
		leader = -1;
	if (leader == me && !up)
		leader = -1;
	n4j_buf_printf(b, "{\"lastAppliedRaftIndex\":%ld,\"votingMembers\":[", s->txid);
	bool first = true;
	for (int i = 0; i < s->nsrv; i++) {
		bool voter = d < 0 ? s->srv[i].system_primary && s->srv[i].state != SRV_DROPPED
				   : copy_role(s, i, d) == 1;
		if (!voter || !(i == me ? up : reachable(s, me, i)))
			continue;
		if (!first)
			n4j_buf_putc(b, ',');
		jstr(b, s->srv[i].id);
		first = false;
	}
	n4j_buf_puts(b, "],\"memberId\":");
	jstr(b, s->srv[me].id);
	n4j_buf_puts(b, ",\"leader\":");
	if (leader >= 0)
		jstr(b, s->srv[leader].id);
	else
		n4j_buf_puts(b, "null");
	/* the manual: not relevant to secondaries, hence not included */
	if (role == 1 && leader >= 0)
		n4j_buf_puts(b, ",\"millisSinceLastLeaderMessage\":0");
	n4j_buf_printf(b,
		       ",\"raftCommandsPerSecond\":0.0,\"core\":%s,"
		       "\"participatingInRaftGroup\":%s,\"isHealthy\":%s}",
		       role == 1 ? "true" : "false",
		       role == 1 && up && leader >= 0 ? "true" : "false",
		       s->srv[me].stopped ? "false" : "true");
}

static int find_db_name(const struct sim *s, const char *name)
{
	for (int d = 0; d < SIM_MAX_DBS; d++)
		if (s->db[d].used && strcasecmp(s->db[d].name, name) == 0)
			return d;
	return -2;
}

int sim_http(struct sim *s, int me, const char *method, const char *path, struct n4j_buf *body,
	     const char **ctype)
{
	const struct sim_server *v = &s->srv[me];
	*ctype = "text/plain";
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return 405;
	if (strcmp(path, "/") == 0) {
		*ctype = "application/json";
		n4j_buf_puts(body, "{\"bolt_routing\":\"neo4j://");
		n4j_buf_puts(body, v->address);
		n4j_buf_puts(body, "\",\"transaction\":\"http://");
		n4j_buf_puts(body, v->http_address);
		n4j_buf_puts(body, "/db/{databaseName}/tx\",\"bolt_direct\":\"bolt://");
		n4j_buf_puts(body, v->address);
		n4j_buf_printf(body,
			       "\",\"neo4j_version\":\"%s\",\"neo4j_edition\":\"enterprise\"}",
			       s->version);
		return 200;
	}
	bool up = s->formed && !v->stopped && !v->partitioned;
	if (strcmp(path, "/dbms/cluster/status") == 0) {
		*ctype = "application/json";
		n4j_buf_putc(body, '[');
		bool first = true;
		for (int d = -1; d < SIM_MAX_DBS && s->formed; d++) {
			if (d >= 0 && !s->db[d].used)
				continue;
			int role = copy_role(s, me, d);
			if (role < 0)
				continue;
			n4j_buf_printf(body, "%s{\"databaseName\":", first ? "" : ",");
			jstr(body, d < 0 ? "system" : s->db[d].name);
			n4j_buf_puts(body, ",\"databaseStatus\":");
			status_json(s, me, d, role, body);
			n4j_buf_putc(body, '}');
			first = false;
		}
		n4j_buf_putc(body, ']');
		return 200;
	}
	char db[128], what[32];
	int n = 0;
	if (sscanf(path, "/db/%127[^/]/cluster/%31[a-z-]%n", db, what, &n) != 2 || path[n])
		return 404;
	int d = strcmp(db, "system") == 0 ? -1 : find_db_name(s, db);
	int role = d == -2 || !s->formed ? -1 : copy_role(s, me, d);
	int leader = d == -1 ? s->leader : d >= 0 ? db_leader(s, d) : -1;
	bool writer = up && role >= 0 && leader == me;
	if (strcmp(what, "available") == 0) {
		bool ok = up && role >= 0;
		n4j_buf_puts(body, ok ? "true" : "false");
		return ok ? 200 : 503;
	}
	if (strcmp(what, "writable") == 0) {
		n4j_buf_puts(body, writer ? "true" : "false");
		return writer ? 200 : 404;
	}
	if (strcmp(what, "read-only") == 0) {
		bool ro = up && role >= 0 && !writer;
		n4j_buf_puts(body, ro ? "true" : "false");
		return ro ? 200 : 404;
	}
	if (strcmp(what, "status") == 0) {
		if (role < 0)
			return 404;
		*ctype = "application/json";
		status_json(s, me, d, role, body);
		return 200;
	}
	return 404;
}
