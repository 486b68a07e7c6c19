/* The simulated cluster state: time, allocation, leadership, and a JSON dump. */
#include "sim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *sim_state_name(enum srv_state st)
{
	static const char *const n[] = {"Free",         "Enabled",     "Cordoned",
					"Deallocating", "Deallocated", "Dropped"};
	return n[st];
}

void sim_init(struct sim *s)
{
	memset(s, 0, sizeof *s);
	pthread_mutex_init(&s->mu, NULL);
	s->leader = -1;
	s->move_ms = 1000;
	snprintf(s->user, sizeof s->user, "neo4j");
	snprintf(s->version, sizeof s->version, "5.26.0");
	/* seed tokens stay unique across daemon restarts: an old tool's late answer never
	 * matches a copy seeded again by a new daemon */
	s->seed_seq = sim_now_ms() * 1000;
}

bool sim_version_at_least(const struct sim *s, int major, int minor)
{
	char *e;
	long ma = strtol(s->version, &e, 10), mi = *e == '.' ? strtol(e + 1, NULL, 10) : 0;
	return ma > major || (ma == major && mi >= minor);
}

static bool server_up(const struct sim *s, int i)
{
	return !s->srv[i].stopped && !s->srv[i].partitioned;
}

/* The leader needs a majority of the system primaries up and connected. */
void sim_elect(struct sim *s)
{
	int total = 0, up = 0;
	for (int i = 0; i < s->nsrv; i++) {
		if (!s->srv[i].system_primary || s->srv[i].state == SRV_DROPPED)
			continue;
		total++;
		if (server_up(s, i))
			up++;
	}
	if (up * 2 <= total) {
		s->leader = -1;
		return;
	}
	if (s->leader >= 0 && server_up(s, s->leader) && s->srv[s->leader].system_primary)
		return;
	s->leader = -1;
	for (int i = 0; i < s->nsrv; i++)
		if (s->srv[i].system_primary && server_up(s, i) && s->srv[i].state != SRV_DROPPED) {
			s->leader = i;
			break;
		}
}

void sim_tick(struct sim *s)
{
	long now = sim_now_ms();
	for (int k = 0; k < SIM_MAX_ALLOC; k++) {
		struct sim_alloc *a = &s->al[k];
		/* a copy being seeded starts when its server's seed tool answers */
		if (!a->used || now < a->ready_at || a->seed != SEED_NONE)
			continue;
		if (a->status == AL_STARTING)
			a->status = s->db[a->db].requested_online ? AL_ONLINE : AL_OFFLINE;
		else if (a->status == AL_LEAVING)
			a->used = false;
	}
	/* databases made at bootstrap get their databaseId here */
	for (int d = 0; d < SIM_MAX_DBS; d++)
		if (s->db[d].used && !s->db[d].id[0] && sim_uuid(s->db[d].id))
			s->db[d].id[0] = '\0';
	for (int i = 0; i < s->nsrv; i++) {
		if (s->srv[i].state != SRV_DEALLOCATING)
			continue;
		bool left = false;
		for (int k = 0; k < SIM_MAX_ALLOC; k++)
			left |= s->al[k].used && s->al[k].server == i;
		/* a stopped server cannot finish handing over its copies */
		if (!left && !s->srv[i].stopped)
			s->srv[i].state = SRV_DEALLOCATED;
	}
	sim_elect(s);
}

void sim_dump(struct sim *s, struct n4j_buf *o)
{
	n4j_buf_printf(o, "{\"leader\": \"%s\", \"formed\": %s, \"gen\": %ld, \"servers\": [",
		       s->leader >= 0 ? s->srv[s->leader].name : "", s->formed ? "true" : "false",
		       s->gen);
	for (int i = 0; i < s->nsrv; i++) {
		struct sim_server *v = &s->srv[i];
		n4j_buf_printf(
			o,
			"%s{\"name\": \"%s\", \"id\": \"%s\", \"address\": \"%s\", \"bind\": "
			"\"%s\", \"state\": \"%s\", \"stopped\": %s, \"partitioned\": %s, "
			"\"slow_ms\": %d, \"member\": %s, \"connected\": %s, \"frozen\": %s, "
			"\"system_primary\": %s, \"backup\": \"%s\", \"hosting\": [",
			i ? ", " : "", v->name, v->id, v->address, v->bind,
			sim_state_name(v->state), v->stopped ? "true" : "false",
			v->partitioned ? "true" : "false", v->slow_ms, v->member ? "true" : "false",
			v->connected ? "true" : "false", v->frozen ? "true" : "false",
			v->system_primary ? "true" : "false", v->member ? "" : v->bkbind);
		bool first = true;
		for (int k = 0; k < SIM_MAX_ALLOC; k++) {
			struct sim_alloc *a = &s->al[k];
			if (!a->used || a->server != i)
				continue;
			static const char *const st[] = {"starting", "online", "offline",
							 "leaving"};
			n4j_buf_printf(o,
				       "%s{\"db\": \"%s\", \"role\": \"%s\", \"status\": \"%s\"}",
				       first ? "" : ", ", s->db[a->db].name,
				       a->primary ? "primary" : "secondary", st[a->status]);
			first = false;
		}
		n4j_buf_puts(o, "]}");
	}
	n4j_buf_puts(o, "], \"databases\": [");
	bool first = true;
	for (int d = 0; d < SIM_MAX_DBS; d++) {
		if (!s->db[d].used)
			continue;
		n4j_buf_printf(o,
			       "%s{\"name\": \"%s\", \"primaries\": %d, \"secondaries\": %d, "
			       "\"id\": \"%s\", \"lastTx\": %ld}",
			       first ? "" : ", ", s->db[d].name, s->db[d].primaries,
			       s->db[d].secondaries, s->db[d].id, s->db[d].last_tx);
		first = false;
	}
	n4j_buf_puts(o, "]}\n");
}
