/*
 * Leader election on a coordination.k8s.io/v1 Lease, as client-go's leaderelection
 * (reference §3.7): the expiry of someone else's lease is judged on our monotonic clock
 * from the moment we last saw the record change, never from renewTime; a takeover sets
 * acquireTime and leaseTransitions+1; a failed write (409) means we lost the race; no
 * renewal within the renew deadline makes us stop leading at once; stop releases.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kube/kube.h"
#include "kube/machinery.h"

struct record {
	char holder[256];
	long duration_s;
	char acquire[40], renew[40];
	long transitions;
};

struct n4j_leader {
	struct n4j_kube_client *c;
	struct n4j_leader_opts o;
	char *ns, *name, *identity;

	pthread_mutex_t mu;
	pthread_cond_t cond;
	bool stop;
	pthread_t thread;

	/* Only the election thread touches these (and stop() after joining it). */
	struct record observed;
	bool have_observed;
	int64_t observed_ms;
	char rv[64];

	struct n4j_rng rng; /* retry jitter */
	atomic_bool leader;
	atomic_bool lost;           /* on_stopped_leading was called (exactly once) */
	_Atomic int64_t renewed_ms; /* last successful acquire or renew (monotonic) */
	pthread_t watchdog;
	bool watchdog_started;
};

/* Leadership ends here, once: from the renew loop, or from the watchdog when a request
 * hangs past the renew deadline (a request timeout can be longer than the deadline). */
static void lose(struct n4j_leader *l)
{
	if (atomic_exchange(&l->lost, true))
		return;
	atomic_store(&l->leader, false);
	if (l->o.on_stopped_leading)
		l->o.on_stopped_leading(l->o.ud);
}

static const char *str_at(const cJSON *o, const char *k)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsString(it) ? it->valuestring : NULL;
}

static void copy_str(char *dst, size_t size, const char *s)
{
	snprintf(dst, size, "%s", s ? s : "");
}

static void parse_record(const cJSON *lease, struct record *r, char *rv, size_t rv_size)
{
	memset(r, 0, sizeof(*r));
	const cJSON *spec = cJSON_GetObjectItemCaseSensitive(lease, "spec");
	copy_str(r->holder, sizeof(r->holder), str_at(spec, "holderIdentity"));
	copy_str(r->acquire, sizeof(r->acquire), str_at(spec, "acquireTime"));
	copy_str(r->renew, sizeof(r->renew), str_at(spec, "renewTime"));
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(spec, "leaseDurationSeconds");
	r->duration_s = cJSON_IsNumber(d) ? (long)d->valuedouble : 0;
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(spec, "leaseTransitions");
	r->transitions = cJSON_IsNumber(t) ? (long)t->valuedouble : 0;
	copy_str(rv, rv_size,
		 str_at(cJSON_GetObjectItemCaseSensitive(lease, "metadata"), "resourceVersion"));
}

static bool record_equal(const struct record *a, const struct record *b)
{
	return strcmp(a->holder, b->holder) == 0 && a->duration_s == b->duration_s &&
	       strcmp(a->acquire, b->acquire) == 0 && strcmp(a->renew, b->renew) == 0 &&
	       a->transitions == b->transitions;
}

static cJSON *lease_json(const struct n4j_leader *l, const struct record *r, const char *rv)
{
	cJSON *o = cJSON_CreateObject();
	cJSON *md = o ? cJSON_AddObjectToObject(o, "metadata") : NULL;
	cJSON *spec = md ? cJSON_AddObjectToObject(o, "spec") : NULL;
	if (!spec || !cJSON_AddStringToObject(o, "apiVersion", "coordination.k8s.io/v1") ||
	    !cJSON_AddStringToObject(o, "kind", "Lease") ||
	    !cJSON_AddStringToObject(md, "name", l->name) ||
	    !cJSON_AddStringToObject(md, "namespace", l->ns) ||
	    (rv && *rv && !cJSON_AddStringToObject(md, "resourceVersion", rv)) ||
	    !cJSON_AddStringToObject(spec, "holderIdentity", r->holder) ||
	    !cJSON_AddNumberToObject(spec, "leaseDurationSeconds", (double)r->duration_s) ||
	    !cJSON_AddStringToObject(spec, "acquireTime", r->acquire) ||
	    !cJSON_AddStringToObject(spec, "renewTime", r->renew) ||
	    !cJSON_AddNumberToObject(spec, "leaseTransitions", (double)r->transitions)) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

/* Stores what the server returned as the record we last saw, at this instant. */
static void observe(struct n4j_leader *l, const cJSON *lease, const struct record *fallback)
{
	if (lease)
		parse_record(lease, &l->observed, l->rv, sizeof(l->rv));
	else
		l->observed = *fallback;
	l->have_observed = true;
	l->observed_ms = n4j_now_ms();
}

/* client-go's tryAcquireOrRenew: true when we hold the lease after this call. */
static bool try_acquire_or_renew(struct n4j_leader *l)
{
	char now[40];
	n4j_format_time(n4j_wall_ns(), true, now, sizeof(now));
	struct record want = {0};
	copy_str(want.holder, sizeof(want.holder), l->identity);
	want.duration_s = (l->o.lease_ms + 999) / 1000;
	copy_str(want.acquire, sizeof(want.acquire), now);
	copy_str(want.renew, sizeof(want.renew), now);

	struct n4j_kube_error e;
	memset(&e, 0, sizeof(e));
	cJSON *cur = NULL;
	int rc = n4j_kube_get(l->c, &N4J_RES_LEASES, l->ns, l->name, &cur, &e);
	if (rc != 0 && e.reason == N4J_KUBE_NOT_FOUND) {
		cJSON *body = lease_json(l, &want, NULL);
		cJSON *out = NULL;
		memset(&e, 0, sizeof(e));
		rc = body ? n4j_kube_create(l->c, &N4J_RES_LEASES, l->ns, body, &out, &e)
			  : N4J_ENOMEM;
		cJSON_Delete(body);
		if (rc == 0)
			observe(l, out, &want);
		cJSON_Delete(out);
		return rc == 0;
	}
	if (rc != 0) {
		cJSON_Delete(cur);
		return false;
	}
	struct record old;
	char rv[64];
	parse_record(cur, &old, rv, sizeof(rv));
	cJSON_Delete(cur);
	int64_t mono = n4j_now_ms();
	if (!l->have_observed || !record_equal(&old, &l->observed)) {
		l->observed = old;
		l->have_observed = true;
		l->observed_ms = mono;
	}
	copy_str(l->rv, sizeof(l->rv), rv);
	bool mine = strcmp(old.holder, l->identity) == 0;
	if (old.holder[0] && !mine && l->observed_ms + old.duration_s * 1000 > mono)
		return false; /* held by someone else and not expired on our clock */
	if (mine) {
		copy_str(want.acquire, sizeof(want.acquire), old.acquire);
		want.transitions = old.transitions;
	} else {
		want.transitions = old.transitions + 1; /* takeover */
	}
	cJSON *body = lease_json(l, &want, rv);
	cJSON *out = NULL;
	memset(&e, 0, sizeof(e));
	rc = body ? n4j_kube_update(l->c, &N4J_RES_LEASES, l->ns, l->name, NULL, body, &out, &e)
		  : N4J_ENOMEM;
	cJSON_Delete(body);
	if (rc == 0)
		observe(l, out, &want);
	cJSON_Delete(out);
	return rc == 0; /* 409: someone else wrote first, we lost this round */
}

/* Waits ms (jittered by the caller) or until stop; false when stopping. */
static bool wait_ms(struct n4j_leader *l, long ms)
{
	int64_t until = n4j_now_ms() + ms;
	pthread_mutex_lock(&l->mu);
	while (!l->stop && n4j_mach_cond_wait_until(&l->cond, &l->mu, until) != ETIMEDOUT)
		;
	bool go = !l->stop;
	pthread_mutex_unlock(&l->mu);
	return go;
}

static bool stopping(struct n4j_leader *l)
{
	pthread_mutex_lock(&l->mu);
	bool s = l->stop;
	pthread_mutex_unlock(&l->mu);
	return s;
}

static void *leader_main(void *arg)
{
	struct n4j_leader *l = arg;
	/* Acquire: every retry period. client-go jitters by up to 1.2×; we use 0.1× so that a
	 * takeover after a kill stays within leaseDuration + 2×retry (DESIGN §8.9). */
	for (;;) {
		if (stopping(l))
			return NULL;
		if (try_acquire_or_renew(l))
			break;
		struct n4j_backoff retry = {.base_ms = l->o.retry_ms, .jitter_max = 0.1};
		if (!wait_ms(l, (long)n4j_backoff_ms(&retry, 0, n4j_rng_01(&l->rng))))
			return NULL;
	}
	atomic_store(&l->renewed_ms, n4j_now_ms());
	atomic_store(&l->leader, true);
	if (l->o.on_started_leading)
		l->o.on_started_leading(l->o.ud);
	/* Renew every retry period; give up once the deadline passes without a renewal. */
	for (;;) {
		if (!wait_ms(l, l->o.retry_ms))
			return NULL; /* stop(): release happens there */
		for (;;) {
			if (stopping(l) || atomic_load(&l->lost))
				return NULL;
			bool ok = try_acquire_or_renew(l);
			if (atomic_load(&l->lost))
				return NULL; /* the watchdog gave up while we waited */
			if (ok) {
				atomic_store(&l->renewed_ms, n4j_now_ms());
				break;
			}
			int64_t left =
				atomic_load(&l->renewed_ms) + l->o.renew_deadline_ms - n4j_now_ms();
			if (left <= 0) {
				lose(l);
				return NULL; /* no re-campaign: the process is expected to exit */
			}
			if (!wait_ms(l, left < l->o.retry_ms ? left : l->o.retry_ms))
				return NULL;
		}
	}
}

/* Fires lose() at the renew deadline even while a request of the election thread hangs. */
static void *watchdog_main(void *arg)
{
	struct n4j_leader *l = arg;
	pthread_mutex_lock(&l->mu);
	while (!l->stop && !atomic_load(&l->lost)) {
		int64_t now = n4j_now_ms();
		if (!atomic_load(&l->leader)) {
			n4j_mach_cond_wait_until(&l->cond, &l->mu, now + l->o.retry_ms);
			continue;
		}
		int64_t deadline = atomic_load(&l->renewed_ms) + l->o.renew_deadline_ms;
		if (now >= deadline) {
			pthread_mutex_unlock(&l->mu);
			lose(l);
			pthread_mutex_lock(&l->mu);
			break;
		}
		n4j_mach_cond_wait_until(&l->cond, &l->mu, deadline);
	}
	pthread_mutex_unlock(&l->mu);
	return NULL;
}

int n4j_leader_start(struct n4j_kube_client *c, const struct n4j_leader_opts *o,
		     struct n4j_leader **out, struct n4j_error *err)
{
	if (!c || !o || !o->namespace_ || !o->name || !o->identity || !*o->identity)
		return n4j_err(err, N4J_EINVAL,
			       "leader: namespace, name and identity are required");
	struct n4j_leader *l = calloc(1, sizeof(*l));
	if (!l)
		return n4j_err(err, N4J_ENOMEM, "leader: out of memory");
	l->c = c;
	l->o = *o;
	n4j_rng_seed(&l->rng, (uint64_t)n4j_wall_ns() ^ (uint64_t)(uintptr_t)l);
	if (l->o.lease_ms <= 0)
		l->o.lease_ms = 15000;
	if (l->o.renew_deadline_ms <= 0)
		l->o.renew_deadline_ms = 10000;
	if (l->o.retry_ms <= 0)
		l->o.retry_ms = 2000;
	/* client-go's validation: duration > deadline > 1.2 × retry. */
	if (!(l->o.lease_ms > l->o.renew_deadline_ms &&
	      (double)l->o.renew_deadline_ms > 1.2 * (double)l->o.retry_ms)) {
		free(l);
		return n4j_err(err, N4J_EINVAL,
			       "leader: need leaseDuration > renewDeadline > 1.2 x retryPeriod");
	}
	l->ns = strdup(o->namespace_);
	l->name = strdup(o->name);
	l->identity = strdup(o->identity);
	l->o.namespace_ = l->ns;
	l->o.name = l->name;
	l->o.identity = l->identity;
	atomic_init(&l->leader, false);
	atomic_init(&l->lost, false);
	atomic_init(&l->renewed_ms, 0);
	if (!l->ns || !l->name || !l->identity || pthread_mutex_init(&l->mu, NULL) != 0)
		goto oom;
	if (n4j_mach_cond_init(&l->cond) != 0) {
		pthread_mutex_destroy(&l->mu);
		goto oom;
	}
	if (pthread_create(&l->thread, NULL, leader_main, l) != 0) {
		pthread_cond_destroy(&l->cond);
		pthread_mutex_destroy(&l->mu);
		goto oom;
	}
	/* Without a watchdog only a hanging request could delay the stop: still correct. */
	l->watchdog_started = pthread_create(&l->watchdog, NULL, watchdog_main, l) == 0;
	*out = l;
	return 0;
oom:
	free(l->ns);
	free(l->name);
	free(l->identity);
	free(l);
	return n4j_err(err, N4J_ENOMEM, "leader: cannot start");
}

bool n4j_leader_is_leader(const struct n4j_leader *l)
{
	return l && atomic_load(&((struct n4j_leader *)l)->leader);
}

bool n4j_leader_fresh(const struct n4j_leader *l)
{
	if (!n4j_leader_is_leader(l))
		return false;
	int64_t r = atomic_load(&((struct n4j_leader *)l)->renewed_ms);
	return n4j_now_ms() - r < l->o.renew_deadline_ms;
}

void n4j_leader_stop(struct n4j_leader *l)
{
	if (!l)
		return;
	pthread_mutex_lock(&l->mu);
	bool already = l->stop;
	l->stop = true;
	pthread_cond_broadcast(&l->cond);
	pthread_mutex_unlock(&l->mu);
	if (already)
		return;
	pthread_join(l->thread, NULL);
	if (l->watchdog_started)
		pthread_join(l->watchdog, NULL);
	/* Only a leader that did not lose releases: never clobber a successor's record. */
	if (atomic_load(&l->lost) || !atomic_exchange(&l->leader, false))
		return;
	/* Release: empty holder and a 1 s duration, so a successor waits ~1 s, not 15. */
	char now[40];
	n4j_format_time(n4j_wall_ns(), true, now, sizeof(now));
	struct record r = {0};
	r.duration_s = 1;
	copy_str(r.acquire, sizeof(r.acquire), now);
	copy_str(r.renew, sizeof(r.renew), now);
	r.transitions = l->observed.transitions;
	cJSON *body = lease_json(l, &r, l->rv);
	struct n4j_kube_error e;
	memset(&e, 0, sizeof(e));
	cJSON *out = NULL;
	if (body)
		n4j_kube_update(l->c, &N4J_RES_LEASES, l->ns, l->name, NULL, body, &out, &e);
	cJSON_Delete(body);
	cJSON_Delete(out);
}

void n4j_leader_free(struct n4j_leader *l)
{
	if (!l)
		return;
	n4j_leader_stop(l);
	pthread_cond_destroy(&l->cond);
	pthread_mutex_destroy(&l->mu);
	free(l->ns);
	free(l->name);
	free(l->identity);
	free(l);
}
