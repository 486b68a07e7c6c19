/*
 * The cluster state as member processes keep it on disk (README.md "Files in DIR"): Neo4j
 * keeps the `system` database on every server, so a daemon restarted with empty memory
 * must get servers, databases, allocations, aliases and the password back from whichever
 * member's copy is the newest. One line of space-separated, %-escaped tokens.
 */
#include "sim.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

/* "~" is the empty string; anything outside [A-Za-z0-9._:@/-] is %XX. */
void sim_enc(struct n4j_buf *b, const char *v)
{
	n4j_buf_putc(b, ' ');
	if (!*v)
		n4j_buf_putc(b, '~');
	for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
		if (isalnum(*p) || strchr("._:@/-", *p))
			n4j_buf_putc(b, (char)*p);
		else
			n4j_buf_printf(b, "%%%02X", *p);
	}
}

int sim_dec(const char *t, char *out, size_t cap)
{
	size_t n = 0;
	if (strcmp(t, "~") == 0) {
		out[0] = '\0';
		return 0;
	}
	for (; *t; t++) {
		unsigned c = (unsigned char)*t;
		if (c == '%') {
			if (!isxdigit((unsigned char)t[1]) || !isxdigit((unsigned char)t[2]) ||
			    sscanf(t + 1, "%2x", &c) != 1)
				return -1;
			t += 2;
		}
		if (n + 1 >= cap)
			return -1;
		out[n++] = (char)c;
	}
	out[n] = '\0';
	return 0;
}

char *sim_serialize(const struct sim *s)
{
	struct n4j_buf b;
	n4j_buf_init(&b);
	/* v2 adds databaseIds, transaction counters, seeds and statusMessages (v1 is read) */
	n4j_buf_printf(&b, "v2 formed %d txid %ld systx %ld leader", s->formed, s->txid,
		       s->sys_last_tx);
	sim_enc(&b, s->leader >= 0 ? s->srv[s->leader].id : "");
	n4j_buf_puts(&b, " pw");
	sim_enc(&b, s->password);
	n4j_buf_printf(&b, " srv %d", s->nsrv);
	for (int i = 0; i < s->nsrv; i++) {
		const struct sim_server *v = &s->srv[i];
		const char *f[] = {v->id,           v->name, v->alias, v->address,
				   v->http_address, v->mode, v->tags};
		for (size_t k = 0; k < sizeof f / sizeof f[0]; k++)
			sim_enc(&b, f[k]);
		n4j_buf_printf(&b, " %d %d %d %d", (int)v->state, v->system_primary,
			       v->sys_eligible, v->member);
	}
	int n = 0;
	for (int d = 0; d < SIM_MAX_DBS; d++)
		n += s->db[d].used;
	n4j_buf_printf(&b, " db %d", n);
	for (int d = 0; d < SIM_MAX_DBS; d++) {
		if (!s->db[d].used)
			continue;
		sim_enc(&b, s->db[d].name);
		n4j_buf_printf(&b, " %d %d %d %d", s->db[d].primaries, s->db[d].secondaries,
			       s->db[d].requested_online, s->db[d].is_default);
		sim_enc(&b, s->db[d].id);
		n4j_buf_printf(&b, " %ld %ld", s->db[d].last_tx, s->db[d].nodes);
		sim_enc(&b, s->db[d].seed_uri);
		sim_enc(&b, s->db[d].seed_until);
		sim_enc(&b, s->db[d].seed_src);
	}
	n = 0;
	for (int k = 0; k < SIM_MAX_ALLOC; k++)
		n += s->al[k].used;
	n4j_buf_printf(&b, " al %d", n);
	for (int k = 0; k < SIM_MAX_ALLOC; k++) {
		const struct sim_alloc *a = &s->al[k];
		if (!a->used)
			continue;
		sim_enc(&b, s->db[a->db].name);
		sim_enc(&b, s->srv[a->server].id);
		/* a seed in flight is run again by whoever reads this back */
		n4j_buf_printf(&b, " %d %d %d", a->primary, (int)a->status, a->seed != SEED_NONE);
		sim_enc(&b, a->msg);
	}
	n = 0;
	for (int k = 0; k < SIM_MAX_ALIASES; k++)
		n += s->alias[k].used;
	n4j_buf_printf(&b, " alias %d", n);
	for (int k = 0; k < SIM_MAX_ALIASES; k++)
		if (s->alias[k].used) {
			sim_enc(&b, s->alias[k].name);
			sim_enc(&b, s->alias[k].target);
		}
	if (b.oom) {
		n4j_buf_free(&b);
		return NULL;
	}
	return n4j_buf_detach(&b, NULL);
}

struct toks {
	char *save;
	bool bad;
};

static const char *tok(struct toks *t, char *first)
{
	const char *r = strtok_r(first, " ", &t->save);
	if (!r)
		t->bad = true;
	return r ? r : "";
}

static void tstr(struct toks *t, char *out, size_t cap)
{
	if (sim_dec(tok(t, NULL), out, cap))
		t->bad = true;
}

static long tnum(struct toks *t, long lo, long hi)
{
	char *e;
	const char *x = tok(t, NULL);
	long v = strtol(x, &e, 10);
	if (!*x || *e || v < lo || v > hi)
		t->bad = true;
	return v;
}

static void tkey(struct toks *t, const char *want)
{
	if (strcmp(tok(t, NULL), want) != 0)
		t->bad = true;
}

static int id_index(const struct sim *s, const char *id)
{
	for (int i = 0; i < s->nsrv; i++)
		if (strcmp(s->srv[i].id, id) == 0)
			return i;
	return -1;
}

/* Parses into n (zeroed); server indices are n's own. */
static int parse(struct sim *n, char *line, char *leader_id, size_t cap)
{
	struct toks t = {0};
	const char *ver = tok(&t, line);
	bool v2 = strcmp(ver, "v2") == 0;
	if (!v2 && strcmp(ver, "v1") != 0)
		return -1;
	tkey(&t, "formed");
	n->formed = tnum(&t, 0, 1);
	tkey(&t, "txid");
	n->txid = tnum(&t, 0, 1L << 40);
	if (v2) {
		tkey(&t, "systx");
		n->sys_last_tx = tnum(&t, 0, 1L << 40);
	}
	tkey(&t, "leader");
	tstr(&t, leader_id, cap);
	tkey(&t, "pw");
	tstr(&t, n->password, sizeof n->password);
	tkey(&t, "srv");
	n->nsrv = (int)tnum(&t, 0, SIM_MAX_SERVERS);
	for (int i = 0; i < n->nsrv && !t.bad; i++) {
		struct sim_server *v = &n->srv[i];
		tstr(&t, v->id, sizeof v->id);
		tstr(&t, v->name, sizeof v->name);
		tstr(&t, v->alias, sizeof v->alias);
		tstr(&t, v->address, sizeof v->address);
		tstr(&t, v->http_address, sizeof v->http_address);
		tstr(&t, v->mode, sizeof v->mode);
		tstr(&t, v->tags, sizeof v->tags);
		v->state = (enum srv_state)tnum(&t, SRV_FREE, SRV_DROPPED);
		v->system_primary = tnum(&t, 0, 1);
		v->sys_eligible = tnum(&t, 0, 1);
		v->member = tnum(&t, 0, 1);
	}
	tkey(&t, "db");
	int ndb = (int)tnum(&t, 0, SIM_MAX_DBS);
	for (int d = 0; d < ndb && !t.bad; d++) {
		struct sim_db *x = &n->db[d];
		x->used = true;
		tstr(&t, x->name, sizeof x->name);
		x->primaries = (int)tnum(&t, 1, 11);
		x->secondaries = (int)tnum(&t, 0, 20);
		x->requested_online = tnum(&t, 0, 1);
		x->is_default = tnum(&t, 0, 1);
		if (v2) {
			tstr(&t, x->id, sizeof x->id);
			x->last_tx = tnum(&t, 0, 1L << 40);
			x->nodes = tnum(&t, 0, 1L << 40);
			tstr(&t, x->seed_uri, sizeof x->seed_uri);
			tstr(&t, x->seed_until, sizeof x->seed_until);
			tstr(&t, x->seed_src, sizeof x->seed_src);
		} else if (sim_uuid(x->id)) {
			t.bad = true;
		}
	}
	tkey(&t, "al");
	int nal = (int)tnum(&t, 0, SIM_MAX_ALLOC);
	for (int k = 0; k < nal && !t.bad; k++) {
		char db[64], id[40];
		tstr(&t, db, sizeof db);
		tstr(&t, id, sizeof id);
		struct sim_alloc *a = &n->al[k];
		a->used = true;
		a->primary = tnum(&t, 0, 1);
		a->status = (enum alloc_status)tnum(&t, AL_STARTING, AL_LEAVING);
		if (v2) {
			a->seed = tnum(&t, 0, 1) ? SEED_WANTED : SEED_NONE;
			tstr(&t, a->msg, sizeof a->msg);
		}
		a->server = id_index(n, id);
		a->db = -1;
		for (int d = 0; d < ndb; d++)
			if (strcmp(n->db[d].name, db) == 0)
				a->db = d;
		if (a->server < 0 || a->db < 0)
			t.bad = true;
	}
	tkey(&t, "alias");
	int nalias = (int)tnum(&t, 0, SIM_MAX_ALIASES);
	for (int k = 0; k < nalias && !t.bad; k++) {
		n->alias[k].used = true;
		tstr(&t, n->alias[k].name, sizeof n->alias[k].name);
		tstr(&t, n->alias[k].target, sizeof n->alias[k].target);
	}
	return t.bad ? -1 : 0;
}

int sim_adopt(struct sim *s, const char *text)
{
	struct sim *n = calloc(1, sizeof *n);
	char *line = strdup(text);
	char leader_id[40];
	int rc = -1;
	if (!n || !line || parse(n, line, leader_id, sizeof leader_id))
		goto out;
	/* live servers keep their index: serving threads and listeners refer to it */
	struct sim_server merged[SIM_MAX_SERVERS];
	int map[SIM_MAX_SERVERS], nm = 0;
	for (int j = 0; j < n->nsrv; j++)
		map[j] = -1;
	for (int i = 0; i < s->nsrv; i++) {
		merged[nm] = s->srv[i];
		int j = id_index(n, s->srv[i].id);
		if (j >= 0) {
			const struct sim_server *p = &n->srv[j];
			struct sim_server *m = &merged[nm];
			scopy(m->alias, sizeof m->alias, p->alias);
			scopy(m->mode, sizeof m->mode, p->mode);
			scopy(m->tags, sizeof m->tags, p->tags);
			m->state = p->state;
			m->system_primary = p->system_primary;
			map[j] = nm;
		}
		nm++;
	}
	for (int j = 0; j < n->nsrv; j++) {
		if (map[j] >= 0)
			continue;
		if (nm == SIM_MAX_SERVERS)
			goto out;
		/* known to the cluster, but its process has not come back yet */
		merged[nm] = n->srv[j];
		merged[nm].lfd = merged[nm].hfd = merged[nm].bfd = -1;
		merged[nm].stopped = true;
		snprintf(merged[nm].bind, sizeof merged[nm].bind, "127.0.0.1:0");
		snprintf(merged[nm].bkbind, sizeof merged[nm].bkbind, "127.0.0.1:0");
		snprintf(merged[nm].hbind, sizeof merged[nm].hbind, "127.0.0.1:0");
		map[j] = nm++;
	}
	memcpy(s->srv, merged, sizeof merged[0] * (size_t)nm);
	s->nsrv = nm;
	memcpy(s->db, n->db, sizeof s->db);
	memcpy(s->alias, n->alias, sizeof s->alias);
	long now = sim_now_ms();
	for (int k = 0; k < SIM_MAX_ALLOC; k++) {
		s->al[k] = n->al[k];
		if (!s->al[k].used)
			continue;
		s->al[k].server = map[s->al[k].server];
		/* moves in flight resume from the start */
		s->al[k].ready_at = now + (s->al[k].status == AL_STARTING ? s->move_ms : 0);
	}
	for (int d = 0; d < SIM_MAX_DBS; d++)
		s->db[d].created = now - 1000;
	s->formed = n->formed;
	s->txid = n->txid > s->txid ? n->txid : s->txid;
	s->sys_last_tx = n->sys_last_tx > s->sys_last_tx ? n->sys_last_tx : s->sys_last_tx;
	scopy(s->password, sizeof s->password, n->password);
	int l = id_index(s, leader_id);
	s->leader = l;
	sim_elect(s);
	free(s->last);
	s->last = sim_serialize(s);
	rc = s->last ? 0 : -1;
out:
	free(line);
	free(n);
	return rc;
}

int sim_persist_check(struct sim *s)
{
	/* without a leader the `system` database cannot change, nor can its copies */
	if (s->formed && s->leader < 0)
		return 0;
	char *now = sim_serialize(s);
	if (!now)
		return -1;
	if (s->last && strcmp(now, s->last) == 0) {
		free(now);
		return 0;
	}
	free(s->last);
	s->last = now;
	s->gen++;
	return 0;
}

int sim_pw_hash(const char *salt, const char *pw, char *out, size_t cap)
{
	char fresh[17];
	if (!salt) {
		unsigned char r[8];
		if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r)
			return -1;
		for (int i = 0; i < 8; i++)
			snprintf(fresh + 2 * i, 3, "%02x", r[i]);
		salt = fresh;
	}
	struct n4j_buf b;
	n4j_buf_init(&b);
	n4j_buf_printf(&b, "%s:%s", salt, pw);
	if (b.oom) {
		n4j_buf_free(&b);
		return -1;
	}
	char hex[N4J_SHA256_HEX_LEN + 1];
	n4j_sha256_hex(b.data, b.len, hex);
	/* the plain text must not linger in freed memory */
	memset(b.data, 0, b.len);
	n4j_buf_free(&b);
	int n = snprintf(out, cap, "%s:%s", salt, hex);
	return n > 0 && (size_t)n < cap ? 0 : -1;
}

bool sim_pw_check(const char *stored, const char *pw)
{
	const char *colon = strchr(stored, ':');
	char salt[64], want[160];
	if (!colon || (size_t)(colon - stored) >= sizeof salt)
		return false;
	memcpy(salt, stored, (size_t)(colon - stored));
	salt[colon - stored] = '\0';
	return sim_pw_hash(salt, pw, want, sizeof want) == 0 && strcmp(want, stored) == 0;
}

int sim_uuid(char out[37])
{
	unsigned char r[16];
	if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r)
		return -1;
	r[6] = (unsigned char)((r[6] & 0x0f) | 0x40);
	r[8] = (unsigned char)((r[8] & 0x3f) | 0x80);
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12],
		 r[13], r[14], r[15]);
	return 0;
}
