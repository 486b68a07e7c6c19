/* Watches against the real apiserver: bookmarks advance the RV; a watch resumed across an
 * apiserver restart (hack/test-env restart kube-apiserver) misses and repeats nothing. */
#include <pthread.h>

#include "envutil.h"

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

/* ---- resume across an apiserver restart ---- */

#define N_EVENTS   60
#define RESTART_AT 20

struct reflector {
	struct n4j_kube_client *c;
	atomic_bool stop;
	pthread_mutex_t mu;
	int seen[N_EVENTS + 1]; /* ADDED count per sequence number */
	int dup_added, relists, watch_errors, watches;
	char *rv;
};

static int seq_of(const cJSON *o)
{
	const char *s = env_str(o, "data", "seq");
	return s ? atoi(s) : 0;
}

static int on_ref(void *ud, struct n4j_watch_event *ev)
{
	struct reflector *r = ud;
	int s = seq_of(ev->object);
	pthread_mutex_lock(&r->mu);
	if (ev->type == N4J_WATCH_ADDED && s > 0 && s <= N_EVENTS) {
		if (r->seen[s]++)
			r->dup_added++;
	}
	pthread_mutex_unlock(&r->mu);
	return 0;
}

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
	cJSON_ArrayForEach(it, items)
	{
		int s = seq_of(it);
		if (s > 0 && s <= N_EVENTS && !r->seen[s])
			r->seen[s] = 1; /* learnt from the list, not an event */
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
		r->watch_errors++;
		fprintf(stderr, "watch ended: %s (%s)\n", e.base.msg,
			n4j_kube_reason_name(e.reason));
		if (e.reason == N4J_KUBE_GONE) {
			while (!atomic_load(&r->stop) && relist(r) != 0)
				n4j_sleep_ms(500);
			continue;
		}
		n4j_sleep_ms(delay);
		delay = delay < 3200 ? delay * 2 : delay;
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
	struct reflector r = {.c = c};
	pthread_mutex_init(&r.mu, NULL);
	if (relist(&r) != 0) {
		CHECK(0);
		return;
	}
	r.relists = 0;
	pthread_t th;
	pthread_create(&th, NULL, ref_run, &r);
	for (int s = 1; s <= N_EVENTS; s++) {
		create_seq(c, s);
		if (s == RESTART_AT) {
			char cmd[1200];
			snprintf(cmd, sizeof(cmd), "%s/hack/test-env restart kube-apiserver",
				 N4J_SOURCE_DIR);
			long t0 = env_now_ms();
			int rc = system(cmd);
			CHECK_INT(rc, 0);
			fprintf(stderr, "apiserver restarted in %ld ms\n", env_now_ms() - t0);
		}
		n4j_sleep_ms(50);
	}
	long t0 = env_now_ms();
	for (;;) {
		int have = 0;
		pthread_mutex_lock(&r.mu);
		for (int s = 1; s <= N_EVENTS; s++)
			have += r.seen[s] > 0;
		pthread_mutex_unlock(&r.mu);
		if (have == N_EVENTS || env_now_ms() - t0 > 60000)
			break;
		n4j_sleep_ms(100);
	}
	long ts = env_now_ms();
	atomic_store(&r.stop, true);
	pthread_join(th, NULL);
	CHECK(env_now_ms() - ts < 5000); /* the stop flag is seen within about a second */
	int missing = 0;
	for (int s = 1; s <= N_EVENTS; s++)
		missing += r.seen[s] == 0;
	CHECK_INT(missing, 0);
	CHECK_INT(r.dup_added, 0);
	CHECK(r.watch_errors >= 1); /* the restart did cut the watch */
	fprintf(stderr, "restart: %d watches, %d errors, %d relists, missing %d, duplicates %d\n",
		r.watches, r.watch_errors, r.relists, missing, r.dup_added);
	/* The final cache equals the server's state. */
	cJSON *items = NULL;
	struct n4j_kube_error e;
	CHECK_INT(n4j_kube_list(c, &N4J_RES_CONFIGMAPS, ns, NULL, &items, NULL, &e), 0);
	int n = 0;
	const cJSON *it;
	cJSON_ArrayForEach(it, items) n += seq_of(it) > 0;
	CHECK_INT(n, N_EVENTS);
	cJSON_Delete(items);
	free(r.rv);
	pthread_mutex_destroy(&r.mu);
}

int main(void)
{
	struct n4j_kube_client_opts o = {.write_qps = 500, .write_burst = 500};
	struct n4j_kube_client *c = env_client("TESTENV_ADMIN_KUBECONFIG", &o);
	snprintf(ns, sizeof(ns), "kube-watch-%d", (int)getpid());
	if (env_ns_create(c, ns))
		return 1;
	test_bookmarks(c);
	test_restart(c);
	env_ns_delete(c, ns);
	n4j_kube_client_free(c);
	TDONE();
}
