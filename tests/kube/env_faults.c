/* Faults injected by tests/kube/faultproxy.c in front of the real apiserver: 429 and 5xx with
 * Retry-After, 410 on a watch and on continue, a watch and a list cut mid-body, a slow answer; plus the
 * stop flag and the write bucket. Timing checks use generous bounds only. */
#include <pthread.h>

#include "envutil.h"

static char ns[64];
static struct env_proxy px;

static long proxied(void)
{
	char out[128] = "";
	long n = -1, w, f;
	if (env_proxy_ctl(&px, "count", out, sizeof(out)) == 0 &&
	    sscanf(out, "%ld %ld %ld", &n, &w, &f) == 3)
		return n;
	return -1;
}

static void ctl(const char *cmd)
{
	CHECK_INT(env_proxy_ctl(&px, cmd, NULL, 0), 0);
}

static void test_retry_after(void)
{
	struct n4j_kube_client_opts o = {.max_retries = 3, .max_retry_delay_ms = 1500};
	struct n4j_kube_client *c = env_proxy_client(&px, "TESTENV_ADMIN_KUBECONFIG", &o);
	struct n4j_kube_error e;
	cJSON *out = NULL;
	struct n4j_kube_client_stats s;

	/* Two 429s with Retry-After: 1, then success: 3 requests, about 2 s. */
	ctl("reset");
	ctl("fail 429 2 1");
	long t0 = env_now_ms();
	CHECK_INT(n4j_kube_get(c, &N4J_RES_NAMESPACES, NULL, ns, &out, &e), 0);
	long took = env_now_ms() - t0;
	cJSON_Delete(out);
	out = NULL;
	CHECK_INT(proxied(), 3);
	n4j_kube_client_stats(c, &s);
	CHECK_INT(s.retries, 2);
	CHECK(took >= 1900 && took < 20000);

	/* Endless 429: gives up after max_retries, classified, bounded number of requests. */
	ctl("reset");
	ctl("fail 429 100 1");
	CHECK(n4j_kube_get(c, &N4J_RES_NAMESPACES, NULL, ns, &out, &e) != 0);
	CHECK_INT(e.reason, N4J_KUBE_TOO_MANY_REQUESTS);
	CHECK_INT(e.http_status, 429);
	CHECK_INT(e.retry_after_ms, 1000);
	CHECK_STR(e.audit_id, "faultproxy-429");
	CHECK(n4j_kube_retryable(&e));
	CHECK_INT(proxied(), 4);

	/* A huge Retry-After is capped by max_retry_delay_ms (1.5 s + 10 % jitter). */
	ctl("reset");
	ctl("fail 429 2 3600");
	t0 = env_now_ms();
	CHECK_INT(n4j_kube_get(c, &N4J_RES_NAMESPACES, NULL, ns, &out, &e), 0);
	took = env_now_ms() - t0;
	cJSON_Delete(out);
	out = NULL;
	CHECK(took >= 2900 && took < 15000);
	CHECK_INT(proxied(), 3);

	/* 5xx with Retry-After is retried, even for a write; without it, never. */
	ctl("reset");
	ctl("fail 503 1 1 POST");
	cJSON *cm = env_cm("after-503", "k", "v");
	CHECK_INT(n4j_kube_create(c, &N4J_RES_CONFIGMAPS, ns, cm, NULL, &e), 0);
	CHECK_INT(proxied(), 2);
	cJSON_Delete(cm);
	ctl("reset");
	ctl("fail 500 1 -1");
	CHECK(n4j_kube_get(c, &N4J_RES_NAMESPACES, NULL, ns, &out, &e) != 0);
	CHECK_INT(e.reason, N4J_KUBE_SERVER_ERROR);
	CHECK_INT(e.http_status, 500);
	CHECK_INT(proxied(), 1);
	ctl("reset");
	ctl("fail 429 1 -1"); /* 429 without Retry-After: still waited out (1 s default) */
	CHECK_INT(n4j_kube_get(c, &N4J_RES_NAMESPACES, NULL, ns, &out, &e), 0);
	cJSON_Delete(out);
	out = NULL;
	CHECK_INT(proxied(), 2);

	/* Our own deadline: a slow answer is TIMEOUT. */
	struct n4j_kube_client_opts to = {.request_timeout_ms = 1000, .max_retries = -1};
	struct n4j_kube_client *slow = env_proxy_client(&px, "TESTENV_ADMIN_KUBECONFIG", &to);
	ctl("reset");
	ctl("delay 3000 1");
	CHECK(n4j_kube_get(slow, &N4J_RES_NAMESPACES, NULL, ns, &out, &e) != 0);
	CHECK_INT(e.reason, N4J_KUBE_TIMEOUT);
	CHECK(n4j_kube_retryable(&e));
	n4j_kube_client_free(slow);
	n4j_kube_client_free(c);
}

static void test_gone(void)
{
	struct n4j_kube_client *c = env_proxy_client(&px, "TESTENV_ADMIN_KUBECONFIG", NULL);
	struct n4j_kube_error e;
	for (int i = 0; i < 5; i++) {
		char name[16];
		snprintf(name, sizeof(name), "page-%d", i);
		cJSON *cm = env_cm(name, "k", "v");
		n4j_kube_create(c, &N4J_RES_CONFIGMAPS, ns, cm, NULL, &e);
		cJSON_Delete(cm);
	}
	/* 410 on continue: the list restarts once and succeeds. */
	ctl("reset");
	ctl("gonecontinue 1");
	struct n4j_kube_list_opts lo = {.page_size = 2};
	cJSON *items = NULL;
	char *rv = NULL;
	CHECK_INT(n4j_kube_list(c, &N4J_RES_CONFIGMAPS, ns, &lo, &items, &rv, &e), 0);
	int n = cJSON_GetArraySize(items);
	CHECK(n >= 6); /* 5 + after-503 (+ kube-root-ca.crt) */
	cJSON_Delete(items);
	items = NULL;
	/* Twice: it gives up with Gone. */
	ctl("reset");
	ctl("gonecontinue 2");
	CHECK(n4j_kube_list(c, &N4J_RES_CONFIGMAPS, ns, &lo, &items, NULL, &e) != 0);
	CHECK_INT(e.reason, N4J_KUBE_GONE);
	CHECK(items == NULL);

	/* A list cut off after part of its body went to the caller: it cannot be retried
	 * where it stopped (items already delivered), so the list starts over once, and the
	 * result holds every object exactly once. The reference list goes through no fault. */
	ctl("reset");
	cJSON *ref = NULL;
	CHECK_INT(n4j_kube_list(c, &N4J_RES_CONFIGMAPS, ns, NULL, &ref, NULL, &e), 0);
	int want = cJSON_GetArraySize(ref);
	cJSON_Delete(ref);
	ctl("cutlist 1 2500"); /* past the first items (each ~600 bytes with managedFields) */
	CHECK_INT(n4j_kube_list(c, &N4J_RES_CONFIGMAPS, ns, NULL, &items, NULL, &e), 0);
	CHECK_INT(cJSON_GetArraySize(items), want);
	const cJSON *a, *b;
	int dups = 0;
	cJSON_ArrayForEach(a, items)
	{
		const char *na = cJSON_GetObjectItem(cJSON_GetObjectItem(a, "metadata"), "name")
					 ->valuestring;
		for (b = a->next; b; b = b->next)
			dups += !strcmp(
				na, cJSON_GetObjectItem(cJSON_GetObjectItem(b, "metadata"), "name")
					    ->valuestring);
	}
	CHECK_INT(dups, 0);
	cJSON_Delete(items);
	items = NULL;
	/* Cut twice: the error is returned, with nothing. */
	ctl("reset");
	ctl("cutlist 2 2500");
	CHECK(n4j_kube_list(c, &N4J_RES_CONFIGMAPS, ns, NULL, &items, NULL, &e) != 0);
	CHECK_INT(e.reason, N4J_KUBE_TRANSPORT);
	CHECK(items == NULL);
	CHECK_INT(proxied(), 2);

	/* 410 as an ERROR event on a watch. */
	ctl("reset");
	ctl("gone 1");
	char *last = strdup(rv);
	int events = 0;
	struct n4j_kube_watch_opts wo = {.timeout_seconds = 10};
	int rc = n4j_kube_watch(c, &N4J_RES_CONFIGMAPS, ns, &wo, NULL, &events, NULL, &last, &e);
	CHECK(rc != 0);
	CHECK_INT(e.reason, N4J_KUBE_GONE);
	CHECK_INT(e.http_status, 410);
	CHECK_STR(last, rv);
	/* 410 as the HTTP status of the watch request. */
	ctl("reset");
	ctl("fail 410 1 -1 watch=true");
	rc = n4j_kube_watch(c, &N4J_RES_CONFIGMAPS, ns, &wo, NULL, NULL, NULL, &last, &e);
	CHECK(rc != 0);
	CHECK_INT(e.reason, N4J_KUBE_GONE);
	free(last);
	free(rv);
	n4j_kube_client_free(c);
}

struct collect {
	int added;
	char names[8][64];
};

static int on_collect(void *ud, struct n4j_watch_event *ev)
{
	struct collect *s = ud;
	if (ev->type == N4J_WATCH_ADDED && s->added < 8) {
		const char *n = env_str(ev->object, "metadata", "name");
		snprintf(s->names[s->added++], 64, "%s", n ? n : "");
	}
	return 0;
}

struct cut_thread {
	struct n4j_kube_client *c;
	char *rv;
	struct collect s;
	int rc;
	struct n4j_kube_error e;
};

static void *cut_run(void *arg)
{
	struct cut_thread *t = arg;
	struct n4j_kube_watch_opts wo = {.timeout_seconds = 20};
	t->rc = n4j_kube_watch(t->c, &N4J_RES_CONFIGMAPS, ns, &wo, on_collect, &t->s, NULL, &t->rv,
			       &t->e);
	return NULL;
}

static void test_cut(void)
{
	struct n4j_kube_client *c = env_proxy_client(&px, "TESTENV_ADMIN_KUBECONFIG", NULL);
	struct n4j_kube_error e;
	cJSON *items = NULL;
	char *rv0 = NULL;
	CHECK_INT(n4j_kube_list(c, &N4J_RES_CONFIGMAPS, ns, NULL, &items, &rv0, &e), 0);
	cJSON_Delete(items);
	ctl("reset");
	ctl("cut 1 0");
	struct cut_thread t = {.c = c, .rv = strdup(rv0)};
	pthread_t th;
	pthread_create(&th, NULL, cut_run, &t);
	n4j_sleep_ms(700);
	cJSON *cm = env_cm("cut-a", "k", "v");
	CHECK_INT(n4j_kube_create(c, &N4J_RES_CONFIGMAPS, ns, cm, NULL, &e), 0);
	cJSON_Delete(cm);
	pthread_join(th, NULL);
	CHECK(t.rc != 0);
	CHECK_INT(t.e.reason, N4J_KUBE_TRANSPORT);
	CHECK_INT(t.s.added, 0); /* half an event is no event */
	CHECK_STR(t.rv, rv0);    /* so the resume point did not move */
	fprintf(stderr, "cut: %s\n", t.e.base.msg);
	/* Resuming from there delivers the event exactly once. */
	struct collect s2 = {0};
	struct n4j_kube_watch_opts wo = {.timeout_seconds = 3};
	CHECK_INT(n4j_kube_watch(c, &N4J_RES_CONFIGMAPS, ns, &wo, on_collect, &s2, NULL, &t.rv, &e),
		  0);
	CHECK_INT(s2.added, 1);
	CHECK_STR(s2.names[0], "cut-a");
	free(t.rv);
	free(rv0);
	n4j_kube_client_free(c);
}

struct stop_thread {
	struct n4j_kube_client *c;
	atomic_bool stop;
	int rc;
	long took;
};

static void *stop_run(void *arg)
{
	struct stop_thread *t = arg;
	struct n4j_kube_watch_opts wo = {.timeout_seconds = 120};
	struct n4j_kube_error e;
	char *rv = NULL;
	long t0 = env_now_ms();
	t->rc = n4j_kube_watch(t->c, &N4J_RES_SECRETS, ns, &wo, NULL, NULL, &t->stop, &rv, &e);
	t->took = env_now_ms() - t0;
	free(rv);
	return NULL;
}

static void test_stop_and_bucket(void)
{
	struct n4j_kube_client *c = env_client("TESTENV_ADMIN_KUBECONFIG", NULL);
	struct stop_thread t = {.c = c};
	pthread_t th;
	pthread_create(&th, NULL, stop_run, &t);
	n4j_sleep_ms(1500);
	long t0 = env_now_ms();
	atomic_store(&t.stop, true);
	pthread_join(th, NULL);
	CHECK_INT(t.rc, 0);
	CHECK(env_now_ms() - t0 < 4000); /* checked about every second */
	n4j_kube_client_free(c);

	struct n4j_kube_client_opts o = {.write_qps = 5, .write_burst = 2};
	c = env_client("TESTENV_ADMIN_KUBECONFIG", &o);
	t0 = env_now_ms();
	for (int i = 0; i < 7; i++) {
		char name[16];
		snprintf(name, sizeof(name), "bucket-%d", i);
		cJSON *cm = env_cm(name, "k", "v");
		struct n4j_kube_error e;
		CHECK_INT(n4j_kube_create(c, &N4J_RES_CONFIGMAPS, ns, cm, NULL, &e), 0);
		cJSON_Delete(cm);
	}
	long took = env_now_ms() - t0;
	struct n4j_kube_client_stats s;
	n4j_kube_client_stats(c, &s);
	CHECK_INT(s.writes, 7);
	CHECK(s.throttled_ms >= 700); /* 5 writes beyond the burst at 5/s */
	CHECK(took >= 700 && took < 20000);
	n4j_kube_client_free(c);
}

int main(void)
{
	struct n4j_kube_client *c = env_client("TESTENV_ADMIN_KUBECONFIG", NULL);
	snprintf(ns, sizeof(ns), "kube-faults-%d", (int)getpid());
	if (env_ns_create(c, ns))
		return 1;
	if (env_proxy_start(&px, FAULTPROXY_BIN) != 0) {
		fprintf(stderr, "could not start %s\n", FAULTPROXY_BIN);
		return 1;
	}
	test_retry_after();
	test_gone();
	test_cut();
	test_stop_and_bucket();
	env_proxy_stop(&px);
	env_ns_delete(c, ns);
	n4j_kube_client_free(c);
	TDONE();
}
