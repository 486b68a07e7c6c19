/* Watches against the real apiserver: bookmarks advance the RV; a watch resumed across an
 * apiserver restart misses and repeats nothing, and is proven a resume, not a relist. */
#include <pthread.h>

#include "envnowc.h"

static char ns[64];

/* ---- bookmarks ---- */

struct bm {
	int bookmarks, others;
	char bookmark_rv[32];
};

static int on_bm(void *ud, struct n4j_watch_event *ev)
{
	struct bm *b = ud;
	if (ev->type == N4J_WATCH_BOOKMARK) {
		b->bookmarks++;
		const char *rv = env_str(ev->object, "metadata", "resourceVersion");
		snprintf(b->bookmark_rv, sizeof(b->bookmark_rv), "%s", rv ? rv : "");
	} else {
		b->others++;
	}
	return 0;
}

struct bm_thread {
	struct n4j_kube_client *c;
	char *rv;
	struct bm b;
	int rc;
	struct n4j_kube_error e;
	long took_ms;
};

static void *bm_run(void *arg)
{
	struct bm_thread *t = arg;
	/* A selector nothing matches: the namespace's kube-root-ca.crt, published by the
	 * controller-manager at some point after creation, must not count as an event. */
	struct n4j_kube_watch_opts o = {.timeout_seconds = 6,
					.allow_bookmarks = true,
					.label_selector = "n4j-test=bookmarks"};
	long t0 = env_now_ms();
	t->rc = n4j_kube_watch(t->c, &N4J_RES_CONFIGMAPS, ns, &o, on_bm, &t->b, NULL, &t->rv,
			       &t->e);
	t->took_ms = env_now_ms() - t0;
	return NULL;
}

static void test_bookmarks(struct n4j_kube_client *c)
{
	struct n4j_kube_error e;
	cJSON *items = NULL;
	char *rv = NULL;
	CHECK_INT(n4j_kube_list(c, &N4J_RES_CONFIGMAPS, ns, NULL, &items, &rv, &e), 0);
	cJSON_Delete(items);
	struct bm_thread t = {.c = c, .rv = rv ? strdup(rv) : NULL};
	pthread_t th;
	pthread_create(&th, NULL, bm_run, &t);
	/* A change elsewhere moves the global RV; this watch learns it only from a bookmark. */
	n4j_sleep_ms(1000);
	char other[96];
	snprintf(other, sizeof(other), "%s-other", ns);
	env_ns_create(c, other);
	cJSON *cm = env_cm("elsewhere", "k", "v");
	CHECK_INT(n4j_kube_create(c, &N4J_RES_CONFIGMAPS, other, cm, NULL, &e), 0);
	cJSON_Delete(cm);
	pthread_join(th, NULL);
	CHECK_INT(t.rc, 0); /* the server's timeout ends it normally */
	CHECK(t.took_ms >= 4000 && t.took_ms < 60000);
	CHECK(t.b.bookmarks >= 1);
	CHECK_INT(t.b.others, 0);
	CHECK_STR(t.rv, t.b.bookmark_rv);
	CHECK(rv && t.rv && strcmp(rv, t.rv) != 0);
	CHECK(rv && t.rv && strtoull(t.rv, NULL, 10) > strtoull(rv, NULL, 10));
	fprintf(stderr, "bookmarks: %d, RV %s -> %s\n", t.b.bookmarks, rv ? rv : "-",
		t.rv ? t.rv : "-");
	free(rv);
	free(t.rv);
	env_ns_delete(c, other);
}

/* ---- resume across an apiserver restart ----
 *
 * What this proves: a watch cut by an apiserver restart resumes from its last
 * resourceVersion and gets every change made while it was down, as events, once each.
 *
 * It restarts the watch-cache-less apiserver (hack/test-env apiserver-nowc), not the shared
 * one: a restarted watch cache starts at etcd's current revision and answers any older
 * resourceVersion with 410, so against it a "resume" is always a relist (which
 * tests/kube/env_watch410.c and env_relist.c cover). Without the cache etcd serves the
 * resume, so here a relist is a client bug, and the checks tell the two apart:
 *   - while it is down, objects DOWN_AT+1..UP_AT are created, seq-005 updated and seq-010
 *     deleted, through the shared apiserver (same etcd);
 *   - every object created while the apiserver was down arrived as an ADDED event (a relist
 *     would have taught it from the list: learnt_from_list counts those);
 *   - the reflector relisted 0 times, and the apiserver's audit log holds exactly 1 LIST of
 *     this client (the initial one): a count the client cannot fake;
 *   - no ADDED for a name the cache already held (a watch restarted without its
 *     resourceVersion re-sends every object as ADDED);
 *   - the final cache equals the server's list, names and resourceVersions (the update
 *     and the delete included).
 */

#define N_EVENTS 60
#define DOWN_AT  20 /* the apiserver is stopped after this object... */
#define UP_AT    40 /* ...and started again after this one */

struct reflector {
	struct n4j_kube_client *c;
	atomic_bool stop;
	pthread_mutex_t mu;
	struct n4j_smap cache;      /* name -> resourceVersion (malloc'd) */
	int by_event[N_EVENTS + 1]; /* ADDED events per sequence number */
	int learnt_from_list, dup_added, relists, watch_errors, watches;
	char *rv;
};

static int seq_of(const cJSON *o)
{
	const char *s = env_str(o, "data", "seq");
	return s ? atoi(s) : 0;
}

/* The caller holds r->mu. */
static void cache_put(struct reflector *r, const char *name, const char *rv)
{
	char *v = strdup(rv ? rv : "");
	void *old = NULL;
	if (!v || n4j_smap_put(&r->cache, name, v, &old) != 0) {
		free(v);
		CHECK(0); /* out of memory: the comparison would be meaningless */
		return;
	}
	free(old);
}

static int on_ref(void *ud, struct n4j_watch_event *ev)
{
	struct reflector *r = ud;
	const char *name = env_str(ev->object, "metadata", "name");
	const char *rv = env_str(ev->object, "metadata", "resourceVersion");
	if (!name || ev->type == N4J_WATCH_BOOKMARK || ev->type == N4J_WATCH_ERROR)
		return 0;
	int s = seq_of(ev->object);
	pthread_mutex_lock(&r->mu);
	switch (ev->type) {
	case N4J_WATCH_ADDED:
		if (n4j_smap_get(&r->cache, name))
			r->dup_added++;
		if (s > 0 && s <= N_EVENTS)
			r->by_event[s]++;
		cache_put(r, name, rv);
		break;
	case N4J_WATCH_MODIFIED:
		cache_put(r, name, rv);
		break;
	case N4J_WATCH_DELETED:
		free(n4j_smap_del(&r->cache, name));
		break;
	default:
		break;
	}
	pthread_mutex_unlock(&r->mu);
	return 0;
}

/* Replaces the cache with the server's list. */
static int relist(struct reflector *r)
{
	cJSON *items = NULL;
	char *rv = NULL;
	struct n4j_kube_error e;
	int rc = n4j_kube_list(r->c, &N4J_RES_CONFIGMAPS, ns, NULL, &items, &rv, &e);
	if (rc)
		return rc;
	const cJSON *it;
	pthread_mutex_lock(&r->mu);
	n4j_smap_each(&r->cache, nowc_free_val, NULL);
	n4j_smap_free(&r->cache);
	cJSON_ArrayForEach(it, items)
	{
		const char *name = env_str(it, "metadata", "name");
		int s = seq_of(it);
		if (s > 0 && s <= N_EVENTS && !r->by_event[s])
			r->learnt_from_list++;
		if (name)
			cache_put(r, name, env_str(it, "metadata", "resourceVersion"));
	}
	r->relists++;
	pthread_mutex_unlock(&r->mu);
	free(r->rv);
	r->rv = rv;
	cJSON_Delete(items);
	return 0;
}

static void *ref_run(void *arg)
{
	struct reflector *r = arg;
	long delay = 200;
	while (!atomic_load(&r->stop)) {
		struct n4j_kube_error e;
		struct n4j_kube_watch_opts o = {.timeout_seconds = 30, .allow_bookmarks = true};
		r->watches++;
		int rc = n4j_kube_watch(r->c, &N4J_RES_CONFIGMAPS, ns, &o, on_ref, r, &r->stop,
					&r->rv, &e);
		if (rc == 0) {
			delay = 200;
			continue;
		}
		if (atomic_load(&r->stop))
			break;
		r->watch_errors++;
		fprintf(stderr, "watch ended: %s (%s)\n", e.base.msg,
			n4j_kube_reason_name(e.reason));
		if (e.reason == N4J_KUBE_GONE) {
			while (!atomic_load(&r->stop) && relist(r) != 0)
				n4j_sleep_ms(500);
			continue;
		}
		n4j_sleep_ms(delay);
		delay = delay < 1600 ? delay * 2 : delay;
	}
	return NULL;
}

static void create_seq(struct n4j_kube_client *c, int s)
{
	char name[32], val[16];
	snprintf(name, sizeof(name), "seq-%03d", s);
	snprintf(val, sizeof(val), "%d", s);
	cJSON *cm = env_cm(name, "seq", val);
	long t0 = env_now_ms();
	for (;;) {
		struct n4j_kube_error e;
		int rc = n4j_kube_create(c, &N4J_RES_CONFIGMAPS, ns, cm, NULL, &e);
		if (rc == 0 || e.reason == N4J_KUBE_ALREADY_EXISTS || env_now_ms() - t0 > 120000)
			break;
		n4j_sleep_ms(250); /* POSTs are not retried by the client: the caller decides */
	}
	cJSON_Delete(cm);
}

static void test_restart(struct n4j_kube_client *c)
{
	char ua[64];
	snprintf(ua, sizeof(ua), "n4j-env-watch-resume/%d", (int)getpid());
	struct reflector r = {.c = nowc_client("TESTENV_ADMIN_KUBECONFIG", ua)};
	pthread_mutex_init(&r.mu, NULL);
	n4j_smap_init(&r.cache);
	if (relist(&r) != 0) {
		CHECK(0);
		n4j_kube_client_free(r.c);
		return;
	}
	r.relists = 0; /* the initial list is not a relist */
	pthread_t th;
	pthread_create(&th, NULL, ref_run, &r);
	/* Writes go to the shared apiserver (same etcd), so they go on while the watched
	 * apiserver is down: objects DOWN_AT+1..UP_AT exist before the watch can resume. */
	for (int s = 1; s <= N_EVENTS; s++) {
		create_seq(c, s);
		if (s == DOWN_AT) {
			n4j_sleep_ms(500); /* let the watch deliver 1..DOWN_AT first */
			CHECK_INT(nowc_stop(), 0);
			/* an update and a delete the watch must also catch up with */
			struct n4j_kube_error e;
			cJSON *p = cJSON_Parse("{\"data\":{\"touched\":\"yes\"}}");
			CHECK_INT(n4j_kube_merge_patch(c, &N4J_RES_CONFIGMAPS, ns, "seq-005", NULL,
						       p, NULL, &e),
				  0);
			cJSON_Delete(p);
			CHECK_INT(n4j_kube_delete(c, &N4J_RES_CONFIGMAPS, ns, "seq-010", NULL, &e),
				  0);
		}
		if (s == UP_AT)
			CHECK_INT(nowc_start(), 0);
		n4j_sleep_ms(50);
	}
	long t0 = env_now_ms();
	for (;;) {
		pthread_mutex_lock(&r.mu);
		int diff = nowc_diff_with_server(c, ns, &r.cache, false);
		pthread_mutex_unlock(&r.mu);
		if (diff == 0 || env_now_ms() - t0 > 60000)
			break;
		n4j_sleep_ms(100);
	}
	fprintf(stderr, "restart: caught up %ld ms after the last create\n", env_now_ms() - t0);
	n4j_sleep_ms(300); /* let the last events and audit entries land */
	long ts = env_now_ms();
	atomic_store(&r.stop, true);
	pthread_join(th, NULL);
	CHECK(env_now_ms() - ts < 5000); /* the stop flag is seen within about a second */
	int missing = 0;
	for (int s = 1; s <= N_EVENTS; s++)
		missing += r.by_event[s] != 1;
	struct nowc_audit au;
	int lists = nowc_audit_read(ua, ns, &au) == 0 ? au.lists : -1;
	fprintf(stderr,
		"restart: %d watches, %d errors, %d relists, %d LISTs in the audit log, %d "
		"objects not delivered as exactly one ADDED event, %d learnt from a list, "
		"%d duplicate ADDED\n",
		r.watches, r.watch_errors, r.relists, lists, missing, r.learnt_from_list,
		r.dup_added);
	CHECK(r.watch_errors >= 1); /* the restart did cut the watch */
	CHECK_INT(missing, 0);
	CHECK_INT(r.learnt_from_list, 0);
	CHECK_INT(r.relists, 0);
	CHECK_INT(lists, 1);
	CHECK_INT(r.dup_added, 0);
	pthread_mutex_lock(&r.mu);
	CHECK_INT(nowc_diff_with_server(c, ns, &r.cache, true), 0);
	pthread_mutex_unlock(&r.mu);
	n4j_smap_each(&r.cache, nowc_free_val, NULL);
	n4j_smap_free(&r.cache);
	free(r.rv);
	pthread_mutex_destroy(&r.mu);
	n4j_kube_client_free(r.c);
}

int main(void)
{
	struct n4j_kube_client_opts o = {.write_qps = 500, .write_burst = 500};
	struct n4j_kube_client *c = env_client("TESTENV_ADMIN_KUBECONFIG", &o);
	snprintf(ns, sizeof(ns), "kube-watch-%d", (int)getpid());
	if (env_ns_create(c, ns))
		return 1;
	test_bookmarks(c);
	nowc_run(test_restart, c);
	env_ns_delete(c, ns);
	n4j_kube_client_free(c);
	TDONE();
}
