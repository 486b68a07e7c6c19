/*
 * The event recorder: client-go's EventCorrelator (aggregate → observe → spam filter)
 * in front of a bounded queue and one sender thread (reference §3.5).
 *
 * The caller's path is: format, correlate under a mutex (no I/O), enqueue or drop. The
 * sender thread does all the HTTP, with retries, so a reconcile never waits on the API.
 *
 * Secrets: callers must never pass secret values in a message (docs/development.md). As a
 * last line of defence, a message that looks like key material or a bearer token is
 * refused (dropped and counted), and every message is capped under 1 KiB.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kube/kube.h"
#include "kube/machinery.h"

#define MSG_MAX          1000 /* bytes, under the 1 KiB the reference asks for */
#define AGG_MAX_EVENTS   10
#define AGG_INTERVAL_MS  (10L * 60 * 1000)
#define CACHE_MAX        4096 /* client-go's LRU size for each correlator cache */
#define SEND_TRIES       12
#define SEND_INTERVAL_MS 10000L
#define COMBINED_PREFIX  "(combined from similar events): "

struct agg_rec {
	int64_t last_ms;
	size_t n;
	uint64_t local[AGG_MAX_EVENTS + 1]; /* hashes of the distinct messages seen */
};

struct seen_rec {
	char name[254];
	char first_ts[40];
	long count;
};

struct spam_rec {
	struct n4j_bucket bucket;
};

struct item {
	bool patch;
	char ns[254], name[254];
	cJSON *event; /* the full Event: created as is, or its count/lastTimestamp patched */
};

struct n4j_recorder {
	struct n4j_kube_client *c;
	char *component;
	int queue_size, burst;
	long refill_ms;

	pthread_mutex_t mu;
	pthread_cond_t cond;
	struct n4j_smap agg, seen, spam;
	struct item **q;
	size_t head, count;
	bool stop, sending;
	uint64_t dropped, refused, sent, failed;
	pthread_t thread;
};

static uint64_t fnv(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

static const char *str_at(const cJSON *o, const char *k)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsString(it) ? it->valuestring : "";
}

static void free_val(void *ud, const char *key, void *val)
{
	free(val);
}

/* The correlator caches are bounded like client-go's LRUs; clearing is our eviction. */
static void bound_cache(struct n4j_smap *m)
{
	if (m->len >= CACHE_MAX) {
		n4j_smap_each(m, free_val, NULL);
		n4j_smap_free(m);
	}
}

static void item_free(struct item *it)
{
	if (it) {
		cJSON_Delete(it->event);
		free(it);
	}
}

/* Cuts s to at most max bytes on a UTF-8 boundary. */
static void utf8_cut(char *s, size_t max)
{
	size_t n = strlen(s);
	if (n <= max)
		return;
	while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
		max--;
	s[max] = '\0';
}

static bool looks_secret(const char *m)
{
	static const char *const needles[] = {"-----BEGIN", "PRIVATE KEY", "Bearer ",
					      "Authorization:"};
	for (size_t i = 0; i < sizeof(needles) / sizeof(needles[0]); i++)
		if (strstr(m, needles[i]))
			return true;
	return false;
}

static void *sender_main(void *arg);

int n4j_recorder_new(struct n4j_kube_client *c, const struct n4j_recorder_opts *o,
		     struct n4j_recorder **out, struct n4j_error *err)
{
	if (!c || !out)
		return n4j_err(err, N4J_EINVAL, "recorder: a client is required");
	struct n4j_recorder *r = calloc(1, sizeof(*r));
	if (!r)
		return n4j_err(err, N4J_ENOMEM, "recorder: out of memory");
	r->c = c;
	r->component = strdup(o && o->component ? o->component : "neo4j-operator");
	r->queue_size = o && o->queue_size > 0 ? o->queue_size : 1000;
	r->burst = o && o->burst > 0 ? o->burst : 25;
	r->refill_ms = o && o->refill_ms > 0 ? o->refill_ms : 5L * 60 * 1000;
	r->q = calloc((size_t)r->queue_size, sizeof(*r->q));
	n4j_smap_init(&r->agg);
	n4j_smap_init(&r->seen);
	n4j_smap_init(&r->spam);
	if (!r->component || !r->q || pthread_mutex_init(&r->mu, NULL) != 0)
		goto oom;
	if (n4j_mach_cond_init(&r->cond) != 0) {
		pthread_mutex_destroy(&r->mu);
		goto oom;
	}
	if (pthread_create(&r->thread, NULL, sender_main, r) != 0) {
		pthread_cond_destroy(&r->cond);
		pthread_mutex_destroy(&r->mu);
		goto oom;
	}
	*out = r;
	return 0;
oom:
	free(r->component);
	free(r->q);
	free(r);
	return n4j_err(err, N4J_ENOMEM, "recorder: cannot start");
}

/* EventAggregate: the 11th+ distinct message with the same source, object, type and
 * reason within 10 minutes becomes one combined event keyed without the message. */
static bool aggregate(struct n4j_recorder *r, const char *agg_key, const char *msg, int64_t now)
{
	struct agg_rec *a = n4j_smap_get(&r->agg, agg_key);
	if (a && now - a->last_ms > AGG_INTERVAL_MS) {
		free(n4j_smap_del(&r->agg, agg_key));
		a = NULL;
	}
	if (!a) {
		bound_cache(&r->agg);
		a = calloc(1, sizeof(*a));
		if (!a || n4j_smap_put(&r->agg, agg_key, a, NULL) != 0) {
			free(a);
			return false;
		}
	}
	a->last_ms = now;
	uint64_t h = fnv(msg);
	for (size_t i = 0; i < a->n; i++)
		if (a->local[i] == h)
			return a->n > AGG_MAX_EVENTS;
	if (a->n <= AGG_MAX_EVENTS)
		a->local[a->n++] = h;
	return a->n > AGG_MAX_EVENTS;
}

/* EventSourceObjectSpamFilter: a token bucket per object. */
static bool spam_allows(struct n4j_recorder *r, const char *obj_key, int64_t now)
{
	struct spam_rec *s = n4j_smap_get(&r->spam, obj_key);
	if (!s) {
		bound_cache(&r->spam);
		s = calloc(1, sizeof(*s));
		if (!s || n4j_smap_put(&r->spam, obj_key, s, NULL) != 0) {
			free(s);
			return false;
		}
		n4j_bucket_init(&s->bucket, 1000.0 / (double)r->refill_ms, r->burst, now);
	}
	return n4j_bucket_try_take(&s->bucket, now);
}

static cJSON *build_event(struct n4j_recorder *r, const cJSON *involved, const char *ns,
			  const char *name, const char *type, const char *reason, const char *msg,
			  long count, const char *first_ts, const char *last_ts)
{
	const cJSON *md = cJSON_GetObjectItemCaseSensitive(involved, "metadata");
	cJSON *e = cJSON_CreateObject();
	cJSON *emd = e ? cJSON_AddObjectToObject(e, "metadata") : NULL;
	cJSON *io = emd ? cJSON_AddObjectToObject(e, "involvedObject") : NULL;
	cJSON *src = io ? cJSON_AddObjectToObject(e, "source") : NULL;
	if (!src || !cJSON_AddStringToObject(e, "apiVersion", "v1") ||
	    !cJSON_AddStringToObject(e, "kind", "Event") ||
	    !cJSON_AddStringToObject(emd, "name", name) ||
	    !cJSON_AddStringToObject(emd, "namespace", ns) ||
	    !cJSON_AddStringToObject(io, "apiVersion", str_at(involved, "apiVersion")) ||
	    !cJSON_AddStringToObject(io, "kind", str_at(involved, "kind")) ||
	    !cJSON_AddStringToObject(io, "name", str_at(md, "name")) ||
	    (*str_at(md, "namespace") &&
	     !cJSON_AddStringToObject(io, "namespace", str_at(md, "namespace"))) ||
	    (*str_at(md, "uid") && !cJSON_AddStringToObject(io, "uid", str_at(md, "uid"))) ||
	    !cJSON_AddStringToObject(e, "reason", reason) ||
	    !cJSON_AddStringToObject(e, "message", msg) ||
	    !cJSON_AddStringToObject(e, "type", type) ||
	    !cJSON_AddStringToObject(src, "component", r->component) ||
	    !cJSON_AddStringToObject(e, "reportingComponent", r->component) ||
	    !cJSON_AddStringToObject(e, "firstTimestamp", first_ts) ||
	    !cJSON_AddStringToObject(e, "lastTimestamp", last_ts) ||
	    !cJSON_AddNumberToObject(e, "count", (double)count)) {
		cJSON_Delete(e);
		return NULL;
	}
	return e;
}

void n4j_recorder_event(struct n4j_recorder *r, const cJSON *involved, const char *type,
			const char *reason, const char *fmt, ...)
{
	if (!r || !involved || !type || !reason || !fmt)
		return;
	char msg[MSG_MAX + 1];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	utf8_cut(msg, MSG_MAX);
	if (looks_secret(msg)) {
		pthread_mutex_lock(&r->mu);
		r->refused++;
		pthread_mutex_unlock(&r->mu);
		return;
	}
	const cJSON *md = cJSON_GetObjectItemCaseSensitive(involved, "metadata");
	const char *oname = str_at(md, "name");
	if (!*oname)
		return;
	/* Cluster-scoped objects get their Events in "default", as client-go does. */
	const char *ns = *str_at(md, "namespace") ? str_at(md, "namespace") : "default";
	char obj_key[1024], agg_key[1200], key[2400];
	snprintf(obj_key, sizeof(obj_key), "%s\x1f%s\x1f%s\x1f%s\x1f%s\x1f%s", r->component,
		 str_at(involved, "apiVersion"), str_at(involved, "kind"), ns, oname,
		 str_at(md, "uid"));
	snprintf(agg_key, sizeof(agg_key), "%s\x1f%s\x1f%s", obj_key, type, reason);

	int64_t now = n4j_now_ms();
	int64_t wall = n4j_wall_ns();
	char ts[40];
	n4j_format_time(wall, false, ts, sizeof(ts));

	pthread_mutex_lock(&r->mu);
	bool combined = aggregate(r, agg_key, msg, now);
	char final_msg[sizeof(COMBINED_PREFIX) + MSG_MAX + 1];
	if (combined) {
		snprintf(final_msg, sizeof(final_msg), "%s%s", COMBINED_PREFIX, msg);
		utf8_cut(final_msg, MSG_MAX);
		snprintf(key, sizeof(key), "%s", agg_key);
	} else {
		snprintf(final_msg, sizeof(final_msg), "%s", msg);
		snprintf(key, sizeof(key), "%s\x1f%s", agg_key, msg);
	}
	/* eventObserve: a repeat of the same key patches the existing Event. */
	struct seen_rec *s = n4j_smap_get(&r->seen, key);
	bool patch = s != NULL;
	if (!s) {
		bound_cache(&r->seen);
		s = calloc(1, sizeof(*s));
		if (!s || n4j_smap_put(&r->seen, key, s, NULL) != 0) {
			free(s);
			r->dropped++;
			pthread_mutex_unlock(&r->mu);
			return;
		}
		char base[254 - 17];
		snprintf(base, sizeof(base), "%s", oname);
		snprintf(s->name, sizeof(s->name), "%s.%llx", base, (unsigned long long)wall);
		snprintf(s->first_ts, sizeof(s->first_ts), "%s", ts);
	}
	s->count++;
	if (!spam_allows(r, obj_key, now)) {
		r->dropped++;
		pthread_mutex_unlock(&r->mu);
		return;
	}
	if (r->count >= (size_t)r->queue_size) {
		r->dropped++; /* a full queue drops: never block the reconcile */
		pthread_mutex_unlock(&r->mu);
		return;
	}
	struct item *it = calloc(1, sizeof(*it));
	if (it) {
		it->patch = patch;
		snprintf(it->ns, sizeof(it->ns), "%s", ns);
		snprintf(it->name, sizeof(it->name), "%s", s->name);
		it->event = build_event(r, involved, ns, s->name, type, reason, final_msg, s->count,
					s->first_ts, ts);
	}
	if (!it || !it->event) {
		item_free(it);
		r->dropped++;
	} else {
		r->q[(r->head + r->count) % (size_t)r->queue_size] = it;
		r->count++;
		pthread_cond_broadcast(&r->cond);
	}
	pthread_mutex_unlock(&r->mu);
}

/* One attempt; 0, or the error for the retry decision. */
static int send_one(struct n4j_recorder *r, struct item *it, struct n4j_kube_error *e)
{
	cJSON *out = NULL;
	int rc;
	memset(e, 0, sizeof(*e));
	if (it->patch) {
		cJSON *p = cJSON_CreateObject();
		const cJSON *ev = it->event;
		if (!p ||
		    !cJSON_AddNumberToObject(p, "count",
					     cJSON_GetObjectItem(ev, "count")->valuedouble) ||
		    !cJSON_AddStringToObject(p, "lastTimestamp", str_at(ev, "lastTimestamp")) ||
		    !cJSON_AddStringToObject(p, "message", str_at(ev, "message"))) {
			cJSON_Delete(p);
			return N4J_ENOMEM;
		}
		rc = n4j_kube_merge_patch(r->c, &N4J_RES_EVENTS, it->ns, it->name, NULL, p, &out,
					  e);
		cJSON_Delete(p);
		cJSON_Delete(out);
		out = NULL;
		if (rc == 0 || e->reason != N4J_KUBE_NOT_FOUND)
			return rc;
		/* The Event expired (1 h TTL) or was deleted: create it again. */
		memset(e, 0, sizeof(*e));
	}
	rc = n4j_kube_create(r->c, &N4J_RES_EVENTS, it->ns, it->event, &out, e);
	cJSON_Delete(out);
	if (rc != 0 && e->reason == N4J_KUBE_ALREADY_EXISTS)
		rc = 0; /* client-go treats it as sent */
	return rc;
}

static void *sender_main(void *arg)
{
	struct n4j_recorder *r = arg;
	pthread_mutex_lock(&r->mu);
	for (;;) {
		while (!r->count && !r->stop)
			pthread_cond_wait(&r->cond, &r->mu);
		if (r->stop)
			break;
		struct item *it = r->q[r->head];
		r->head = (r->head + 1) % (size_t)r->queue_size;
		r->count--;
		r->sending = true;
		pthread_mutex_unlock(&r->mu);

		bool ok = false;
		for (int attempt = 0; attempt < SEND_TRIES; attempt++) {
			struct n4j_kube_error e;
			if (send_one(r, it, &e) == 0) {
				ok = true;
				break;
			}
			if (!n4j_kube_retryable(&e))
				break;
			/* Sleep between tries, waking at once when the recorder is freed. */
			int64_t until = n4j_now_ms() + SEND_INTERVAL_MS;
			pthread_mutex_lock(&r->mu);
			while (!r->stop &&
			       n4j_mach_cond_wait_until(&r->cond, &r->mu, until) != ETIMEDOUT)
				;
			bool stop = r->stop;
			pthread_mutex_unlock(&r->mu);
			if (stop)
				break;
		}
		item_free(it);
		pthread_mutex_lock(&r->mu);
		if (ok)
			r->sent++;
		else
			r->failed++;
		r->sending = false;
		pthread_cond_broadcast(&r->cond); /* flush waiters */
	}
	pthread_mutex_unlock(&r->mu);
	return NULL;
}

void n4j_recorder_flush(struct n4j_recorder *r, long timeout_ms)
{
	if (!r)
		return;
	int64_t until = n4j_now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	pthread_mutex_lock(&r->mu);
	while ((r->count || r->sending) && !r->stop &&
	       n4j_mach_cond_wait_until(&r->cond, &r->mu, until) != ETIMEDOUT)
		;
	pthread_mutex_unlock(&r->mu);
}

void n4j_recorder_free(struct n4j_recorder *r)
{
	if (!r)
		return;
	pthread_mutex_lock(&r->mu);
	r->stop = true;
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->mu);
	pthread_join(r->thread, NULL);
	while (r->count) {
		item_free(r->q[r->head]);
		r->head = (r->head + 1) % (size_t)r->queue_size;
		r->count--;
	}
	n4j_smap_each(&r->agg, free_val, NULL);
	n4j_smap_each(&r->seen, free_val, NULL);
	n4j_smap_each(&r->spam, free_val, NULL);
	n4j_smap_free(&r->agg);
	n4j_smap_free(&r->seen);
	n4j_smap_free(&r->spam);
	pthread_cond_destroy(&r->cond);
	pthread_mutex_destroy(&r->mu);
	free(r->component);
	free(r->q);
	free(r);
}

void n4j_recorder_counts(struct n4j_recorder *r, uint64_t *sent, uint64_t *dropped,
			 uint64_t *refused, uint64_t *failed)
{
	pthread_mutex_lock(&r->mu);
	if (sent)
		*sent = r->sent;
	if (dropped)
		*dropped = r->dropped;
	if (refused)
		*refused = r->refused;
	if (failed)
		*failed = r->failed;
	pthread_mutex_unlock(&r->mu);
}
