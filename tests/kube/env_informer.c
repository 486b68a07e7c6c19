/* The informer against the real apiserver: initial sync, add/update/delete, trimmed
 * objects, owner mapping, resync without API calls, and "no missed event" under a burst
 * of writes. The 410 relist is env_relist.c (through the fault proxy). */
#include <pthread.h>

#include "envmach.h"
#include "tally.h"

struct rec {
	pthread_mutex_t mu;
	struct event_tally t;
	char owner_seen[256];
};

static void on_event(void *ud, const struct n4j_cached *o, const struct n4j_cached *n)
{
	struct rec *r = ud;
	pthread_mutex_lock(&r->mu);
	event_tally_add(&r->t, o, n);
	char key[256];
	/* The owner mapping a controller's handler does: parse the cached text on demand
	 * (NULL only when out of memory; owner_seen then stays empty and the test fails). */
	cJSON *x = n4j_cached_parse(n ? n : o);
	if (x && n4j_owner_key(x, "ConfigMap", key, sizeof(key)) == 0 && strstr(key, "graph"))
		snprintf(r->owner_seen, sizeof(r->owner_seen), "%s", key);
	cJSON_Delete(x);
	pthread_mutex_unlock(&r->mu);
}

static int get_int(struct rec *r, int *f)
{
	pthread_mutex_lock(&r->mu);
	int v = *f;
	pthread_mutex_unlock(&r->mu);
	return v;
}

static bool wait_int(struct rec *r, int *f, int want, long ms)
{
	int64_t until = n4j_now_ms() + ms;
	while (n4j_now_ms() < until) {
		if (get_int(r, f) >= want)
			return true;
		sleep_ms(20);
	}
	return get_int(r, f) >= want;
}

static char *cm_json(const char *name, const char *val, const char *extra_md)
{
	static char buf[1024];
	snprintf(buf, sizeof(buf),
		 "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"%s\","
		 "\"labels\":{\"test\":\"kube-machinery\"}%s},\"data\":{\"v\":\"%s\"}}",
		 name, extra_md ? extra_md : "", val);
	return buf;
}

static void put_cm(struct n4j_kube_client *c, const char *ns, const char *name, const char *v)
{
	struct n4j_kube_error e;
	memset(&e, 0, sizeof(e));
	cJSON *o = cJSON_Parse(cm_json(name, v, NULL)), *out = NULL;
	/* server-side apply: create or update in one call */
	n4j_kube_apply(c, &N4J_RES_CONFIGMAPS, ns, name, o, true, &out, &e);
	cJSON_Delete(o);
	cJSON_Delete(out);
}

struct cmp {
	struct n4j_informer *inf;
	int missing, stale;
};

int main(void)
{
	struct n4j_kube_client *c = env_client();
	const char *ns = env_namespace(c, "informer");
	/* A real owner (a ConfigMap outside the selector): the garbage collector deletes
	 * children whose owner does not exist. */
	cJSON *owner = env_create(c, &N4J_RES_CONFIGMAPS, ns,
				  "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\","
				  "\"metadata\":{\"name\":\"graph\"}}");
	const cJSON *uid = cJSON_GetObjectItem(cJSON_GetObjectItem(owner, "metadata"), "uid");
	char extra[512];
	snprintf(extra, sizeof(extra),
		 ",\"ownerReferences\":[{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\","
		 "\"name\":\"graph\",\"uid\":\"%s\",\"controller\":true}]",
		 cJSON_IsString(uid) ? uid->valuestring : "");
	cJSON_Delete(owner);
	for (int i = 0; i < 4; i++) {
		char n[32];
		snprintf(n, sizeof(n), "cm-%d", i);
		cJSON_Delete(env_create(c, &N4J_RES_CONFIGMAPS, ns, cm_json(n, "1", NULL)));
	}
	cJSON_Delete(env_create(c, &N4J_RES_CONFIGMAPS, ns, cm_json("owned", "1", extra)));
	cJSON_Delete(env_create(
		c, &N4J_RES_SECRETS, ns,
		"{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{\"name\":\"pw\","
		"\"labels\":{\"test\":\"kube-machinery\"}},\"data\":{\"password\":\"c2VjcmV0\"}}"));

	struct rec r = {.mu = PTHREAD_MUTEX_INITIALIZER};
	n4j_smap_init(&r.t.live);
	struct n4j_informer *inf, *sinf;
	struct n4j_error err = {0};
	struct n4j_informer_opts o = {.resource = &N4J_RES_CONFIGMAPS,
				      .namespace_ = ns,
				      .label_selector = "test=kube-machinery",
				      .resync_ms = 1000};
	struct n4j_informer_handlers h = {on_event, &r};
	T(n4j_informer_new(c, &o, &h, &inf, &err) == 0);
	T(n4j_informer_start(inf, &err) == 0);
	int64_t t0 = n4j_now_ms();
	while (!n4j_informer_has_synced(inf) && n4j_now_ms() - t0 < 20000)
		sleep_ms(20);
	T(n4j_informer_has_synced(inf));
	printf("synced: %zu cached, %d adds\n", n4j_informer_len(inf), get_int(&r, &r.t.adds));
	T(n4j_informer_len(inf) == 5);
	T(get_int(&r, &r.t.adds) == 5);

	/* Trimmed: no managedFields, no data. */
	char key[128];
	snprintf(key, sizeof(key), "%s/cm-0", ns);
	struct n4j_cached *x = n4j_informer_get(inf, key);
	T(x != NULL);
	if (x) {
		/* The cached text is the compact print of the trimmed tree. */
		T(!strstr(x->json, "managedFields") && !strstr(x->json, "\"data\"") &&
		  strstr(x->json, "\"resourceVersion\"") && strlen(x->json) == x->json_len);
		n4j_cached_unref(x);
	}
	/* Owner mapping. */
	char want_owner[128];
	snprintf(want_owner, sizeof(want_owner), "%s/graph", ns);
	pthread_mutex_lock(&r.mu);
	T(strcmp(r.owner_seen, want_owner) == 0);
	pthread_mutex_unlock(&r.mu);

	/* Secrets: keys only. */
	struct n4j_informer_opts so = {.resource = &N4J_RES_SECRETS,
				       .namespace_ = ns,
				       .label_selector = "test=kube-machinery",
				       .transform = n4j_transform_secret};
	T(n4j_informer_new(c, &so, NULL, &sinf, &err) == 0);
	T(n4j_informer_start(sinf, &err) == 0);
	t0 = n4j_now_ms();
	while (!n4j_informer_has_synced(sinf) && n4j_now_ms() - t0 < 20000)
		sleep_ms(20);
	snprintf(key, sizeof(key), "%s/pw", ns);
	x = n4j_informer_get(sinf, key);
	T(x != NULL);
	if (x) {
		T(!strstr(x->json, "c2VjcmV0") && strstr(x->json, "\"password\":\"\""));
		n4j_cached_unref(x);
	}
	n4j_informer_free(sinf);

	/* Add, update, delete through the watch. */
	put_cm(c, ns, "cm-0", "2");
	cJSON_Delete(env_create(c, &N4J_RES_CONFIGMAPS, ns, cm_json("cm-new", "1", NULL)));
	struct n4j_kube_error e;
	memset(&e, 0, sizeof(e));
	T(n4j_kube_delete(c, &N4J_RES_CONFIGMAPS, ns, "cm-1", NULL, &e) == 0);
	T(wait_int(&r, &r.t.deletes, 1, 10000));
	T(wait_int(&r, &r.t.adds, 6, 10000));
	T(wait_int(&r, &r.t.updates, 1, 10000));
	T(n4j_informer_len(inf) == 5);

	/* Resync re-delivers every object with no request at all. */
	struct n4j_kube_client_stats s0, s1;
	n4j_kube_client_stats(c, &s0);
	int rs0 = get_int(&r, &r.t.resyncs);
	sleep_ms(3500);
	n4j_kube_client_stats(c, &s1);
	int rs = get_int(&r, &r.t.resyncs) - rs0;
	printf("resync: %d deliveries, %llu requests meanwhile\n", rs,
	       (unsigned long long)(s1.requests - s0.requests));
	T(rs >= 2 * 5);
	T(s1.requests == s0.requests);

	/* No missed event: a burst of creates, updates and deletes, then the cache must equal
	 * the server's list, with no duplicate ADDED. */
	for (int i = 0; i < 60; i++) {
		char n[32];
		snprintf(n, sizeof(n), "burst-%d", i % 20);
		if (i % 3 == 2) {
			memset(&e, 0, sizeof(e));
			n4j_kube_delete(c, &N4J_RES_CONFIGMAPS, ns, n, NULL, &e);
		} else {
			char v[16];
			snprintf(v, sizeof(v), "%d", i);
			put_cm(c, ns, n, v);
		}
	}
	cJSON *items = NULL;
	char *rv = NULL;
	memset(&e, 0, sizeof(e));
	struct n4j_kube_list_opts lo = {.label_selector = "test=kube-machinery"};
	T(n4j_kube_list(c, &N4J_RES_CONFIGMAPS, ns, &lo, &items, &rv, &e) == 0);
	int n_items = cJSON_GetArraySize(items);
	int missing = 0;
	int64_t until = n4j_now_ms() + 15000;
	do {
		missing = 0;
		const cJSON *it;
		cJSON_ArrayForEach(it, items)
		{
			const char *name =
				cJSON_GetObjectItem(cJSON_GetObjectItem(it, "metadata"), "name")
					->valuestring;
			const char *irv = n4j_mach_object_rv(it);
			snprintf(key, sizeof(key), "%s/%s", ns, name);
			struct n4j_cached *co = n4j_informer_get(inf, key);
			if (!co || strcmp(co->resource_version, irv) != 0)
				missing++;
			n4j_cached_unref(co);
		}
		if (!missing && (int)n4j_informer_len(inf) == n_items)
			break;
		sleep_ms(50);
	} while (n4j_now_ms() < until);
	printf("burst: server has %d, cache %zu, %d missing or stale, %d duplicate ADDED\n",
	       n_items, n4j_informer_len(inf), missing, get_int(&r, &r.t.dup_adds));
	T(missing == 0);
	T((int)n4j_informer_len(inf) == n_items);
	T(get_int(&r, &r.t.dup_adds) == 0);
	cJSON_Delete(items);
	free(rv);
	n4j_informer_free(inf);
	n4j_smap_free(&r.t.live);
	return env_done(c);
}
