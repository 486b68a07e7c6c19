/*
 * The informer's 410 path against the real apiserver, through tests/kube/faultproxy.c:
 * the first watch is held back 3 s and then answered with an ERROR event 410 Expired;
 * changes made meanwhile (update, delete, create) are never seen by a watch, so they must
 * come from the relist as synthesised update/delete/add, with no duplicate ADDED, and the
 * final cache must equal the server's list.
 */
#include <pthread.h>

#include "envutil.h"
#include "kube/machinery.h"
#include "tally.h"

static cJSON *labelled_cm(const char *name, const char *val)
{
	cJSON *o = env_cm(name, "v", val);
	cJSON *l = cJSON_AddObjectToObject(cJSON_GetObjectItem(o, "metadata"), "labels");
	cJSON_AddStringToObject(l, "test", "kube-machinery");
	return o;
}

int main(void)
{
	struct env_proxy px = {0};
	if (env_proxy_start(&px, FAULTPROXY_BIN) != 0) {
		fprintf(stderr, "cannot start the fault proxy\n");
		return 1;
	}
	struct n4j_kube_client *d = env_client("TESTENV_ADMIN_KUBECONFIG", NULL);
	struct n4j_kube_client *p = env_proxy_client(&px, "TESTENV_ADMIN_KUBECONFIG", NULL);
	char ns[64];
	snprintf(ns, sizeof(ns), "kube-machinery-relist-%d", (int)getpid());
	CHECK(env_ns_create(d, ns) == 0);
	struct n4j_kube_error e;
	const char *names[] = {"keep", "change", "vanish"};
	for (int i = 0; i < 3; i++) {
		cJSON *o = labelled_cm(names[i], "1");
		CHECK(n4j_kube_create(d, &N4J_RES_CONFIGMAPS, ns, o, NULL, &e) == 0);
		cJSON_Delete(o);
	}

	/* list and first watch wait 3 s each; the watch then gets 410 Expired */
	CHECK(env_proxy_ctl(&px, "reset\n", NULL, 0) == 0);
	CHECK(env_proxy_ctl(&px, "gone 1\n", NULL, 0) == 0);
	CHECK(env_proxy_ctl(&px, "delay 3000 2\n", NULL, 0) == 0);

	struct locked_tally r = {.mu = PTHREAD_MUTEX_INITIALIZER};
	n4j_smap_init(&r.t.live);
	struct n4j_informer *inf;
	struct n4j_error err = {0};
	struct n4j_informer_opts o = {.resource = &N4J_RES_CONFIGMAPS,
				      .namespace_ = ns,
				      .label_selector = "test=kube-machinery"};
	struct n4j_informer_handlers h = {locked_tally_on_event, &r};
	CHECK(n4j_informer_new(p, &o, &h, &inf, &err) == 0);
	CHECK(n4j_informer_start(inf, &err) == 0);
	long t0 = env_now_ms();
	while (!n4j_informer_has_synced(inf) && env_now_ms() - t0 < 20000)
		sleep_ms(10);
	CHECK(n4j_informer_has_synced(inf));
	CHECK_INT(locked_tally_get(&r, &r.t.adds), 3);

	/* While the first watch is held back: changes no watch will deliver. */
	cJSON *c2 = labelled_cm("change", "2"), *out = NULL;
	CHECK(n4j_kube_apply(d, &N4J_RES_CONFIGMAPS, ns, "change", c2, true, &out, &e) == 0);
	cJSON_Delete(c2);
	cJSON_Delete(out);
	CHECK(n4j_kube_delete(d, &N4J_RES_CONFIGMAPS, ns, "vanish", NULL, &e) == 0);
	cJSON *nw = labelled_cm("new", "1");
	CHECK(n4j_kube_create(d, &N4J_RES_CONFIGMAPS, ns, nw, NULL, &e) == 0);
	cJSON_Delete(nw);

	t0 = env_now_ms();
	while (locked_tally_get(&r, &r.t.deletes) < 1 && env_now_ms() - t0 < 20000)
		sleep_ms(20);
	sleep_ms(200);
	char cnt[128] = "";
	env_proxy_ctl(&px, "count\n", cnt, sizeof(cnt));
	printf("after the 410: %d adds, %d updates, %d deletes, %d duplicate ADDED; proxy "
	       "(requests watches faults): %s\n",
	       locked_tally_get(&r, &r.t.adds), locked_tally_get(&r, &r.t.updates),
	       locked_tally_get(&r, &r.t.deletes), locked_tally_get(&r, &r.t.dup_adds), cnt);
	CHECK_INT(locked_tally_get(&r, &r.t.deletes), 1);
	CHECK_INT(locked_tally_get(&r, &r.t.adds), 4);
	CHECK(locked_tally_get(&r, &r.t.updates) >= 1);
	CHECK_INT(locked_tally_get(&r, &r.t.dup_adds), 0);

	/* The cache equals the server's list (keys and resourceVersions). */
	cJSON *items = NULL;
	char *rv = NULL;
	struct n4j_kube_list_opts lo = {.label_selector = "test=kube-machinery"};
	CHECK(n4j_kube_list(d, &N4J_RES_CONFIGMAPS, ns, &lo, &items, &rv, &e) == 0);
	int stale = 0;
	const cJSON *it;
	cJSON_ArrayForEach(it, items)
	{
		char key[256];
		snprintf(key, sizeof(key), "%s/%s", ns, env_str(it, "metadata", "name"));
		struct n4j_cached *co = n4j_informer_get(inf, key);
		if (!co || strcmp(co->resource_version, n4j_mach_object_rv(it)) != 0)
			stale++;
		n4j_cached_unref(co);
	}
	CHECK_INT(stale, 0);
	CHECK_INT((int)n4j_informer_len(inf), cJSON_GetArraySize(items));
	cJSON_Delete(items);
	free(rv);

	/* And the informer keeps watching after the relist. */
	cJSON *late = labelled_cm("late", "1");
	CHECK(n4j_kube_create(d, &N4J_RES_CONFIGMAPS, ns, late, NULL, &e) == 0);
	cJSON_Delete(late);
	t0 = env_now_ms();
	while (locked_tally_get(&r, &r.t.adds) < 5 && env_now_ms() - t0 < 10000)
		sleep_ms(20);
	CHECK_INT(locked_tally_get(&r, &r.t.adds), 5);

	n4j_informer_free(inf);
	n4j_smap_free(&r.t.live);
	env_ns_delete(d, ns);
	n4j_kube_client_free(p);
	n4j_kube_client_free(d);
	env_proxy_stop(&px);
	CHECK_DONE();
}
