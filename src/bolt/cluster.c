/* Per-cluster handle: a tiny connection pool, the cached `system` routing table, and
 * admin queries on the leader with re-routing on NotALeader. */
#include "bolt/conn.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct n4j_bolt_cluster {
	struct n4j_bolt_cluster_config cfg;
	pthread_mutex_t mu;
	struct n4j_bolt_conn *idle; /* pooled READY connections */
	char leader[256];           /* advertised address; "" = unknown */
	int64_t leader_expiry_ms;
	char bookmark[512];
	struct n4j_bolt_failure last_failure;
};

int n4j_bolt_cluster_new(const struct n4j_bolt_cluster_config *cfg, struct n4j_bolt_cluster **out,
			 struct n4j_error *err)
{
	*out = NULL;
	if (!cfg->seeds || !cfg->seeds[0])
		return n4j_err(err, N4J_EINVAL, "bolt: a cluster needs at least one seed");
	int rc = bolt_tls_chosen(cfg->base.tls, err);
	if (rc)
		return rc;
	struct n4j_bolt_cluster *cl = calloc(1, sizeof *cl);
	if (!cl)
		return n4j_err(err, N4J_ENOMEM, "bolt: out of memory");
	cl->cfg = *cfg; /* strings stay borrowed: the caller keeps them alive */
	pthread_mutex_init(&cl->mu, NULL);
	*out = cl;
	return 0;
}

void n4j_bolt_cluster_free(struct n4j_bolt_cluster *cl)
{
	if (!cl)
		return;
	while (cl->idle) {
		struct n4j_bolt_conn *c = cl->idle;
		cl->idle = c->next;
		n4j_bolt_close(c);
	}
	pthread_mutex_destroy(&cl->mu);
	free(cl);
}

static bool expired(const struct n4j_bolt_cluster *cl, const struct n4j_bolt_conn *c, int64_t now)
{
	int idle = cl->cfg.idle_max_ms > 0 ? cl->cfg.idle_max_ms : 60000;
	int life = cl->cfg.life_max_ms > 0 ? cl->cfg.life_max_ms : 3600000;
	return now - c->used_ms > idle || now - c->created_ms > life;
}

int n4j_bolt_cluster_get(struct n4j_bolt_cluster *cl, const char *advertised,
			 struct n4j_bolt_conn **out, struct n4j_error *err)
{
	*out = NULL;
	int64_t now = n4j_now_ms();
	for (;;) {
		struct n4j_bolt_conn *found = NULL;
		pthread_mutex_lock(&cl->mu);
		for (struct n4j_bolt_conn **pp = &cl->idle; *pp; pp = &(*pp)->next) {
			if (strcmp((*pp)->routing_address, advertised) == 0) {
				found = *pp;
				*pp = found->next;
				found->next = NULL;
				break;
			}
		}
		pthread_mutex_unlock(&cl->mu);
		if (!found)
			break;
		if (expired(cl, found, now)) {
			n4j_bolt_close(found);
			continue;
		}
		/* a peer that closed shows as readable (EOF) while idle: free, no round trip */
		if (bolt_sock_dead(&found->sock)) {
			n4j_bolt_close(found);
			continue;
		}
		/* an idle connection may have been cut by a NAT or LB: RESET-check long idlers */
		if (now - found->used_ms > 1000 && n4j_bolt_reset(found, NULL) != 0) {
			n4j_bolt_close(found);
			continue;
		}
		*out = found;
		return 0;
	}
	char dial[256];
	if (cl->cfg.resolve) {
		int rc = cl->cfg.resolve(cl->cfg.resolve_ctx, advertised, dial, sizeof dial);
		if (rc)
			return n4j_err(err, N4J_EBOLT_CONNECT, "bolt: cannot resolve %s",
				       advertised);
	} else {
		snprintf(dial, sizeof dial, "%s", advertised);
	}
	char host[256], port[16];
	if (bolt_split_address(advertised, host, sizeof host, port, sizeof port))
		return n4j_err(err, N4J_EINVAL, "bolt: advertised address \"%s\" is not host:port",
			       advertised);
	struct n4j_bolt_config c = cl->cfg.base;
	c.address = dial;
	/* verify TLS against the advertised (DNS) name, not the IP we dial */
	if (!c.tls_host)
		c.tls_host = host;
	c.routing_address = advertised;
	struct n4j_bolt_failure f = {0};
	c.failure = &f;
	int rc = n4j_bolt_open(&c, out, err);
	if (rc == N4J_EBOLT_FAILURE) {
		pthread_mutex_lock(&cl->mu);
		cl->last_failure = f;
		pthread_mutex_unlock(&cl->mu);
	}
	return rc;
}

void n4j_bolt_cluster_put(struct n4j_bolt_cluster *cl, struct n4j_bolt_conn *c)
{
	if (!c)
		return;
	if (c->state != N4J_BOLT_READY && c->state != N4J_BOLT_DEFUNCT) {
		if (n4j_bolt_reset(c, NULL) != 0) {
			n4j_bolt_close(c);
			return;
		}
	}
	if (c->state != N4J_BOLT_READY || expired(cl, c, n4j_now_ms())) {
		n4j_bolt_close(c);
		return;
	}
	int max = cl->cfg.pool_max_idle > 0 ? cl->cfg.pool_max_idle : 2;
	pthread_mutex_lock(&cl->mu);
	int n = 0;
	for (struct n4j_bolt_conn *p = cl->idle; p; p = p->next)
		if (strcmp(p->routing_address, c->routing_address) == 0)
			n++;
	if (n < max) {
		c->next = cl->idle;
		cl->idle = c;
		c = NULL;
	}
	pthread_mutex_unlock(&cl->mu);
	n4j_bolt_close(c);
}

void n4j_bolt_cluster_invalidate(struct n4j_bolt_cluster *cl)
{
	pthread_mutex_lock(&cl->mu);
	cl->leader[0] = '\0';
	pthread_mutex_unlock(&cl->mu);
}

static void current_bookmarks(struct n4j_bolt_cluster *cl, char *bm, size_t len,
			      const char *list[2])
{
	pthread_mutex_lock(&cl->mu);
	snprintf(bm, len, "%s", cl->bookmark);
	pthread_mutex_unlock(&cl->mu);
	list[0] = bm[0] ? bm : NULL;
	list[1] = NULL;
}

int n4j_bolt_cluster_leader(struct n4j_bolt_cluster *cl, char *out, size_t outlen,
			    struct n4j_error *err)
{
	int64_t now = n4j_now_ms();
	pthread_mutex_lock(&cl->mu);
	if (cl->leader[0] && now < cl->leader_expiry_ms) {
		snprintf(out, outlen, "%s", cl->leader);
		pthread_mutex_unlock(&cl->mu);
		return 0;
	}
	pthread_mutex_unlock(&cl->mu);
	char bm[512];
	const char *bms[2];
	current_bookmarks(cl, bm, sizeof bm, bms);
	int rc = n4j_err(err, N4J_EBOLT_CONNECT, "bolt: no seed answered");
	/* ask each seed in turn: one dead member must not hide the leader */
	for (size_t i = 0; cl->cfg.seeds[i]; i++) {
		struct n4j_bolt_conn *c;
		rc = n4j_bolt_cluster_get(cl, cl->cfg.seeds[i], &c, err);
		/*
		 * Wrong credentials are wrong on every member: one failed login, not one per
		 * seed (Neo4j locks the user after dbms.security.auth_max_failed_attempts).
		 */
		if (rc == N4J_EBOLT_FAILURE && cl->last_failure.cls == N4J_BOLT_CLASS_AUTH)
			return rc;
		if (rc)
			continue;
		struct n4j_bolt_route_table rt;
		rc = n4j_bolt_route(c, "system", bms, &rt, err);
		if (rc == N4J_EBOLT_FAILURE)
			cl->last_failure = c->failure;
		n4j_bolt_cluster_put(cl, c);
		if (rc)
			continue;
		if (rt.nwriters == 0) {
			rc = n4j_err(err, N4J_EBOLT_FAILURE,
				     "bolt: system has no leader right now (election?)");
			snprintf(cl->last_failure.code, sizeof cl->last_failure.code, "%s",
				 "Neo.TransientError.General.DatabaseUnavailable");
			cl->last_failure.cls = N4J_BOLT_CLASS_RETRYABLE;
			continue;
		}
		pthread_mutex_lock(&cl->mu);
		snprintf(cl->leader, sizeof cl->leader, "%s", rt.writers[0]);
		int64_t ttl = rt.ttl > 0 && rt.ttl < 3600 ? rt.ttl : 300;
		cl->leader_expiry_ms = n4j_now_ms() + ttl * 1000;
		snprintf(out, outlen, "%s", cl->leader);
		pthread_mutex_unlock(&cl->mu);
		return 0;
	}
	return rc;
}

struct attempt {
	struct n4j_bolt_cluster *cl;
	struct n4j_arena *a;
	const struct n4j_bolt_query *q;
	struct n4j_bolt_result *res;
};

static int attempt_once(void *ctx, enum n4j_bolt_class *cls, struct n4j_error *err)
{
	struct attempt *t = ctx;
	struct n4j_bolt_cluster *cl = t->cl;
	char leader[256];
	memset(&cl->last_failure, 0, sizeof cl->last_failure);
	int rc = n4j_bolt_cluster_leader(cl, leader, sizeof leader, err);
	if (rc) {
		*cls = n4j_bolt_classify(rc, &cl->last_failure);
		return rc;
	}
	struct n4j_bolt_conn *c;
	rc = n4j_bolt_cluster_get(cl, leader, &c, err);
	if (rc) {
		n4j_bolt_cluster_invalidate(cl); /* a lost writer invalidates the table */
		*cls = n4j_bolt_classify(rc, NULL);
		return rc;
	}
	char bm[512];
	const char *bms[2];
	current_bookmarks(cl, bm, sizeof bm, bms);
	struct n4j_bolt_query q = *t->q;
	if (!q.db)
		q.db = "system";
	if (!q.bookmarks)
		q.bookmarks = bms;
	rc = n4j_bolt_query(c, t->a, &q, t->res, err);
	if (rc == N4J_EBOLT_FAILURE)
		cl->last_failure = c->failure;
	*cls = n4j_bolt_classify(rc, &cl->last_failure);
	if (rc == 0 && t->res->bookmark) {
		pthread_mutex_lock(&cl->mu);
		snprintf(cl->bookmark, sizeof cl->bookmark, "%s", t->res->bookmark);
		pthread_mutex_unlock(&cl->mu);
	}
	if (*cls == N4J_BOLT_CLASS_REROUTE ||
	    (rc == N4J_EBOLT_FAILURE &&
	     strcmp(cl->last_failure.code, "Neo.TransientError.General.DatabaseUnavailable") ==
		     0) ||
	    rc == N4J_EBOLT_CLOSED || rc == N4J_EBOLT_TIMEOUT)
		n4j_bolt_cluster_invalidate(cl);
	/* a write lost mid-flight has an unknown outcome: the caller re-checks, no blind retry */
	if ((rc == N4J_EBOLT_CLOSED || rc == N4J_EBOLT_TIMEOUT) && !q.read &&
	    c->state == N4J_BOLT_DEFUNCT && c->used_ms > c->created_ms) {
		*cls = N4J_BOLT_CLASS_UNKNOWN;
		memset(&cl->last_failure, 0, sizeof cl->last_failure);
		cl->last_failure.cls = N4J_BOLT_CLASS_UNKNOWN;
		snprintf(cl->last_failure.message, sizeof cl->last_failure.message,
			 "connection lost during a write: outcome unknown, re-check before "
			 "retrying");
	}
	n4j_bolt_cluster_put(cl, c);
	return rc;
}

int n4j_bolt_cluster_query(struct n4j_bolt_cluster *cl, struct n4j_arena *a,
			   const struct n4j_bolt_query *q, struct n4j_bolt_result *res,
			   struct n4j_error *err)
{
	struct attempt t = {cl, a, q, res};
	return n4j_bolt_with_retry(&cl->cfg.retry, attempt_once, &t, err);
}

void n4j_bolt_cluster_last_failure(struct n4j_bolt_cluster *cl, struct n4j_bolt_failure *f)
{
	*f = cl->last_failure;
}
