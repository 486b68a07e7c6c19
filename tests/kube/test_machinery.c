/* Unit tests of the pure parts and of the machinery over the in-memory fake client:
 * transforms, owner keys, informer (sync, events, relist diff, resync without requests),
 * event correlation (aggregation, combined events, spam filter, non-blocking, secrets)
 * and lease decisions (create, renew, takeover only after expiry, stolen lease, release). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "fake_client.h"
#include "kube/kube.h"
#include "kube/machinery.h"
#include "tally.h"

static bool wait_for(bool (*pred)(void *), void *ud, long ms)
{
	int64_t until = n4j_now_ms() + ms;
	while (n4j_now_ms() < until) {
		if (pred(ud))
			return true;
		sleep_ms(5);
	}
	return pred(ud);
}

static const char *jstr(const cJSON *o, const char *path)
{
	/* dotted path, no escaping: enough for tests */
	char buf[256];
	snprintf(buf, sizeof(buf), "%s", path);
	const cJSON *cur = o;
	for (char *save, *tok = strtok_r(buf, ".", &save); tok; tok = strtok_r(NULL, ".", &save))
		cur = cJSON_GetObjectItemCaseSensitive(cur, tok);
	return cJSON_IsString(cur) ? cur->valuestring : NULL;
}

static void test_transforms(void)
{
	cJSON *cm = cJSON_Parse(
		"{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"type\":\"Opaque\",\"metadata\":{"
		"\"name\":\"s\",\"namespace\":\"ns\",\"resourceVersion\":\"7\","
		"\"managedFields\":[{\"manager\":\"kubectl\"}],\"labels\":{\"a\":\"b\"},"
		"\"annotations\":{\"kubectl.kubernetes.io/last-applied-configuration\":"
		"\"{\\\"data\\\":{\\\"password\\\":\\\"c2VjcmV0\\\"}}\"}},"
		"\"data\":{\"password\":\"c2VjcmV0\",\"user\":\"dQ==\"}}");
	cJSON *t = n4j_transform_secret(cm, NULL);
	T(t != NULL);
	char *txt = cJSON_PrintUnformatted(t);
	T(txt && !strstr(txt, "c2VjcmV0") && !strstr(txt, "managedFields") &&
	  !strstr(txt, "last-applied"));
	T(jstr(t, "data.password") && strcmp(jstr(t, "data.password"), "") == 0);
	T(jstr(t, "metadata.labels.a") && strcmp(jstr(t, "metadata.labels.a"), "b") == 0);
	T(jstr(t, "type") && strcmp(jstr(t, "type"), "Opaque") == 0);
	free(txt);
	cJSON_Delete(t);
	t = n4j_transform_metadata(cm, NULL);
	txt = cJSON_PrintUnformatted(t);
	T(txt && !strstr(txt, "\"data\"") && !strstr(txt, "managedFields") &&
	  strstr(txt, "\"resourceVersion\":\"7\""));
	free(txt);
	cJSON_Delete(t);
	cJSON_Delete(cm);

	cJSON *sts = cJSON_Parse(
		"{\"apiVersion\":\"apps/v1\",\"kind\":\"StatefulSet\",\"metadata\":{\"name\":\"g\","
		"\"namespace\":\"db\",\"managedFields\":[{}]},\"spec\":{\"replicas\":3,"
		"\"template\":{\"spec\":{\"containers\":[{\"name\":\"neo4j\",\"image\":\"neo4j:5\","
		"\"env\":[{\"name\":\"X\",\"value\":\"y\"}]}]}},\"volumeClaimTemplates\":[{"
		"\"metadata\":{\"name\":\"data\"},\"spec\":{\"resources\":{\"requests\":{"
		"\"storage\":\"5Gi\"}}}}]},\"status\":{\"readyReplicas\":2}}");
	t = n4j_transform_status(sts, NULL);
	T(t != NULL);
	const cJSON *rep = cJSON_GetObjectItem(cJSON_GetObjectItem(t, "spec"), "replicas");
	T(cJSON_IsNumber(rep) && rep->valueint == 3);
	T(jstr(t, "spec.n4jSpecSha256") && strlen(jstr(t, "spec.n4jSpecSha256")) == 64);
	txt = cJSON_PrintUnformatted(t);
	T(txt && strstr(txt, "neo4j:5") && strstr(txt, "5Gi") && strstr(txt, "readyReplicas") &&
	  !strstr(txt, "\"env\"") && !strstr(txt, "managedFields"));
	free(txt);
	cJSON_Delete(t);
	cJSON_Delete(sts);
	T(n4j_transform_metadata(NULL, NULL) == NULL);
}

/* n4j_cached_new stores the compact text of the tree, its key and RV; a parse gives back
 * the same tree, private to the caller, that outlives the cached object. */
static void test_cached_compact(void)
{
	const char *src = "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":"
			  "\"x\",\"resourceVersion\":\"42\",\"labels\":{\"odd key\":\"v\"},"
			  "\"finalizers\":[\"a\",\"b\"]},"
			  "\"n\":1.5,\"i\":7,\"t\":true,\"z\":null,\"e\":{},\"l\":[]}";
	cJSON *orig = cJSON_Parse(src);
	struct n4j_cached *c = n4j_cached_new(cJSON_Duplicate(orig, 1), "ns/x");
	T(c && strcmp(c->key, "ns/x") == 0);
	T(c && strcmp(c->resource_version, "42") == 0);
	char *b = cJSON_PrintUnformatted(orig);
	T(c && b && strcmp(c->json, b) == 0 && c->json_len == strlen(b));
	free(b);
	cJSON *copy = n4j_cached_parse(c);
	T(copy && cJSON_Compare(copy, orig, 1));
	const cJSON *fin = cJSON_GetObjectItem(cJSON_GetObjectItem(copy, "metadata"), "finalizers");
	T(cJSON_GetArraySize(fin) == 2 &&
	  strcmp(cJSON_GetArrayItem(fin, 1)->valuestring, "b") == 0);
	n4j_cached_ref(c);
	n4j_cached_unref(c);
	n4j_cached_unref(c); /* freed: the parsed copy must not point into it */
	T(copy && cJSON_Compare(copy, orig, 1));
	cJSON_AddStringToObject(copy, "more", "ok"); /* and it is an ordinary, mutable tree */
	cJSON_Delete(copy);
	T(n4j_cached_parse(NULL) == NULL);
	/* No resourceVersion: "" (the relist compares it with strcmp). */
	struct n4j_cached *d = n4j_cached_new(cJSON_CreateObject(), "y");
	T(d && strcmp(d->resource_version, "") == 0 && strcmp(d->json, "{}") == 0);
	n4j_cached_unref(d);
	cJSON_Delete(orig);
}

static void test_owner_key(void)
{
	cJSON *o = cJSON_Parse(
		"{\"metadata\":{\"name\":\"c\",\"namespace\":\"db\",\"ownerReferences\":["
		"{\"kind\":\"Other\",\"name\":\"x\",\"controller\":true},"
		"{\"kind\":\"Neo4jCluster\",\"name\":\"graph\",\"controller\":true}],"
		"\"labels\":{\"app.kubernetes.io/instance\":\"inst\"}}}");
	char key[64];
	T(n4j_owner_key(o, "Neo4jCluster", key, sizeof(key)) == 0 && strcmp(key, "db/graph") == 0);
	T(n4j_owner_key(o, "Neo4jBackup", key, sizeof(key)) == 0 && strcmp(key, "db/inst") == 0);
	T(n4j_owner_key(o, NULL, key, sizeof(key)) == 0 && strcmp(key, "db/x") == 0);
	char small[4];
	T(n4j_owner_key(o, "Neo4jCluster", small, sizeof(small)) == N4J_ELIMIT);
	cJSON_Delete(o);
	/* A non-controller reference does not count; no label either: not found. */
	o = cJSON_Parse("{\"metadata\":{\"name\":\"c\",\"namespace\":\"db\",\"ownerReferences\":["
			"{\"kind\":\"Neo4jCluster\",\"name\":\"graph\"}]}}");
	T(n4j_owner_key(o, "Neo4jCluster", key, sizeof(key)) == N4J_ENOTFOUND);
	cJSON_Delete(o);
	T(n4j_owner_key(NULL, "X", key, sizeof(key)) == N4J_ENOTFOUND);
}

/* ---- informer over the fake ---- */

struct rec {
	pthread_mutex_t mu;
	struct event_tally t;
	char last_deleted[64];
};

static void on_event(void *ud, const struct n4j_cached *o, const struct n4j_cached *n)
{
	struct rec *r = ud;
	pthread_mutex_lock(&r->mu);
	event_tally_add(&r->t, o, n);
	if (o && !n)
		snprintf(r->last_deleted, sizeof(r->last_deleted), "%s", o->key);
	pthread_mutex_unlock(&r->mu);
}

static cJSON *cm(const char *name, const char *val)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "apiVersion", "v1");
	cJSON_AddStringToObject(o, "kind", "ConfigMap");
	cJSON *md = cJSON_AddObjectToObject(o, "metadata");
	cJSON_AddStringToObject(md, "name", name);
	cJSON_AddStringToObject(md, "namespace", "t");
	cJSON_AddArrayToObject(md, "managedFields");
	cJSON_AddStringToObject(cJSON_AddObjectToObject(o, "data"), "v", val);
	return o;
}

static void put_cm(const char *name, const char *val)
{
	cJSON *o = cm(name, val);
	fake_put("configmaps", o);
	cJSON_Delete(o);
}

struct cnt {
	struct rec *r;
	int *field;
	int want;
	struct n4j_informer *inf;
};
static bool reached(void *ud)
{
	struct cnt *c = ud;
	pthread_mutex_lock(&c->r->mu);
	bool ok = *c->field >= c->want;
	pthread_mutex_unlock(&c->r->mu);
	return ok;
}
static bool synced(void *ud)
{
	return n4j_informer_has_synced(ud);
}

static void test_informer(void)
{
	fake_reset();
	put_cm("a", "1");
	put_cm("b", "1");
	struct rec r = {.mu = PTHREAD_MUTEX_INITIALIZER};
	n4j_smap_init(&r.t.live);
	struct n4j_informer *inf;
	struct n4j_error err;
	struct n4j_informer_opts o = {.resource = &N4J_RES_CONFIGMAPS, .resync_ms = 200};
	struct n4j_informer_handlers h = {on_event, &r};
	T(n4j_informer_new(fake_client(), &o, &h, &inf, &err) == 0);
	T(!n4j_informer_has_synced(inf));
	T(n4j_informer_start(inf, &err) == 0);
	T(wait_for(synced, inf, 5000));
	T(n4j_informer_len(inf) == 2);
	T(r.t.adds == 2);

	struct n4j_cached *a = n4j_informer_get(inf, "t/a");
	T(a != NULL);
	if (a) {
		T(!strstr(a->json, "managedFields") && !strstr(a->json, "\"data\""));
	}
	/* Watch events: update, add, delete. */
	put_cm("a", "2");
	put_cm("c", "1");
	fake_delete("configmaps", "t", "b");
	struct cnt c1 = {&r, &r.t.deletes, 1, inf};
	T(wait_for(reached, &c1, 5000));
	T(r.t.updates == 1 && r.t.adds == 3);
	T(strcmp(r.last_deleted, "t/b") == 0);
	T(n4j_informer_len(inf) == 2);
	/* The old reference stays valid after the store replaced it. */
	cJSON *pa = n4j_cached_parse(a);
	T(pa && jstr(pa, "metadata.name") && strcmp(jstr(pa, "metadata.name"), "a") == 0);
	cJSON_Delete(pa);
	n4j_cached_unref(a);

	/* Resync: every object re-delivered, and no request made for it. */
	unsigned before = fake_requests();
	int rs0 = r.t.resyncs;
	struct cnt c2 = {&r, &r.t.resyncs, rs0 + 4, inf};
	T(wait_for(reached, &c2, 5000));
	T(fake_requests() == before);

	/* 410: relist; vanished keys become deletes, changed RVs updates, no duplicate ADD.
	 * Changes made "while the watch was down" are simulated by editing the store
	 * through a list-visible path and then expiring the watch. */
	int lists = (int)fake_lists();
	fake_watch_gone();
	struct cnt c3 = {&r, &r.t.adds, 3, inf};
	(void)c3;
	int64_t until = n4j_now_ms() + 5000;
	while ((int)fake_lists() == lists && n4j_now_ms() < until)
		sleep_ms(5);
	T((int)fake_lists() == lists + 1);
	put_cm("d", "1");
	struct cnt c4 = {&r, &r.t.adds, 4, inf};
	T(wait_for(reached, &c4, 5000));
	T(r.t.dup_adds == 0);
	T(n4j_informer_len(inf) == 3);
	n4j_informer_stop(inf);
	n4j_informer_free(inf);
	n4j_smap_free(&r.t.live);
}

/* Relist diff: events the watch missed are synthesised from the new list. */
static void test_relist_diff(void)
{
	fake_reset();
	put_cm("keep", "1");
	put_cm("change", "1");
	put_cm("vanish", "1");
	struct rec r = {.mu = PTHREAD_MUTEX_INITIALIZER};
	n4j_smap_init(&r.t.live);
	struct n4j_informer *inf;
	struct n4j_informer_opts o = {.resource = &N4J_RES_CONFIGMAPS};
	struct n4j_informer_handlers h = {on_event, &r};
	T(n4j_informer_new(fake_client(), &o, &h, &inf, NULL) == 0);
	T(n4j_informer_start(inf, NULL) == 0);
	T(wait_for(synced, inf, 5000));
	T(r.t.adds == 3);
	struct n4j_cached *keep = n4j_informer_get(inf, "t/keep");
	fake_set_feed(false);
	put_cm("change", "2");
	fake_delete("configmaps", "t", "vanish");
	put_cm("new", "1");
	fake_set_feed(true);
	sleep_ms(100);
	T(r.t.updates == 0 && r.t.deletes == 0 && r.t.adds == 3); /* missed by the watch */
	fake_watch_gone();
	struct cnt c = {&r, &r.t.deletes, 1, inf};
	T(wait_for(reached, &c, 5000));
	sleep_ms(50);
	T(r.t.adds == 4 && r.t.updates == 1 && r.t.deletes == 1);
	T(strcmp(r.last_deleted, "t/vanish") == 0);
	T(r.t.dup_adds == 0);
	T(n4j_informer_len(inf) == 3);
	/* An unchanged object keeps its instance across the relist. */
	struct n4j_cached *keep2 = n4j_informer_get(inf, "t/keep");
	T(keep && keep == keep2);
	n4j_cached_unref(keep);
	n4j_cached_unref(keep2);
	n4j_informer_free(inf);
	n4j_smap_free(&r.t.live);
}

/* ---- events over the fake ---- */

static int count_sum(const char *reason)
{
	cJSON *all = fake_list_copy("events");
	int sum = 0;
	const cJSON *e;
	cJSON_ArrayForEach(e, all)
	{
		const char *rs = jstr(e, "reason");
		if (rs && strcmp(rs, reason) == 0)
			sum += cJSON_GetObjectItem(e, "count")->valueint;
	}
	cJSON_Delete(all);
	return sum;
}

static int count_objects(const char *reason, const char *msg_prefix)
{
	cJSON *all = fake_list_copy("events");
	int n = 0;
	const cJSON *e;
	cJSON_ArrayForEach(e, all)
	{
		const char *rs = jstr(e, "reason"), *m = jstr(e, "message");
		if (rs && strcmp(rs, reason) == 0 && m &&
		    strncmp(m, msg_prefix, strlen(msg_prefix)) == 0)
			n++;
	}
	cJSON_Delete(all);
	return n;
}

static void test_events(void)
{
	fake_reset();
	struct n4j_recorder *r;
	struct n4j_error err;
	T(n4j_recorder_new(fake_client(), NULL, &r, &err) == 0);
	cJSON *obj = cJSON_Parse("{\"apiVersion\":\"neo4j.graphops.io/v1alpha1\",\"kind\":"
				 "\"Neo4jCluster\",\"metadata\":{\"name\":\"graph\",\"namespace\":"
				 "\"db\",\"uid\":\"u1\"}}");
	n4j_recorder_event(r, obj, "Normal", "Created", "created %s", "sts");
	n4j_recorder_event(r, obj, "Normal", "Created", "created %s", "sts");
	n4j_recorder_flush(r, 5000);
	T(count_objects("Created", "created sts") == 1);
	T(count_sum("Created") == 2); /* a repeat patches count */
	cJSON *all = fake_list_copy("events");
	const cJSON *e0 = cJSON_GetArrayItem(all, 0);
	T(e0 && strncmp(jstr(e0, "metadata.name"), "graph.", 6) == 0);
	T(e0 && jstr(e0, "involvedObject.uid") &&
	  strcmp(jstr(e0, "involvedObject.uid"), "u1") == 0);
	T(e0 && strcmp(jstr(e0, "source.component"), "neo4j-operator") == 0);
	cJSON_Delete(all);

	/* 15 distinct messages, same reason: 10 as is, then one combined event counting 5. */
	for (int i = 0; i < 15; i++)
		n4j_recorder_event(r, obj, "Warning", "Flap", "state %d", i);
	n4j_recorder_flush(r, 5000);
	T(count_objects("Flap", "state ") == 10);
	T(count_objects("Flap", "(combined from similar events): ") == 1);
	T(count_sum("Flap") == 15);

	/* Spam filter: this object has used 17 of its 25; 20 more → 8 pass. */
	for (int i = 0; i < 20; i++)
		n4j_recorder_event(r, obj, "Normal", "Spam", "again");
	n4j_recorder_flush(r, 5000);
	T(count_sum("Spam") == 8);

	/* Message cap and the secret guard. */
	char big[3000];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	cJSON *o2 = cJSON_Parse("{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":"
				"\"p\",\"namespace\":\"db\"}}");
	n4j_recorder_event(r, o2, "Normal", "Big", "%s", big);
	n4j_recorder_event(r, o2, "Normal", "Leak", "token Bearer abc");
	n4j_recorder_flush(r, 5000);
	all = fake_list_copy("events");
	const cJSON *e;
	bool capped = false, leaked = false;
	cJSON_ArrayForEach(e, all)
	{
		if (strcmp(jstr(e, "reason"), "Big") == 0)
			capped = strlen(jstr(e, "message")) < 1024;
		if (strcmp(jstr(e, "reason"), "Leak") == 0)
			leaked = true;
	}
	cJSON_Delete(all);
	T(capped && !leaked);
	uint64_t sent, dropped, refused, failed_n;
	n4j_recorder_counts(r, &sent, &dropped, &refused, &failed_n);
	T(refused == 1 && dropped == 12);

	/* Never blocks: a slow server and a flood; the queue drops its overflow. */
	fake_set_write_delay_ms(200);
	int64_t t0 = n4j_now_ms();
	char name[32];
	for (int i = 0; i < 3000; i++) {
		snprintf(name, sizeof(name), "o%d", i);
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "kind", "Pod");
		cJSON_AddStringToObject(cJSON_AddObjectToObject(o, "metadata"), "name", name);
		n4j_recorder_event(r, o, "Normal", "Flood", "n %d", i);
		cJSON_Delete(o);
	}
	long dt = (long)(n4j_now_ms() - t0);
	printf("3000 events against a 200 ms server: %ld ms in the caller\n", dt);
	T(dt < 2000);
	n4j_recorder_counts(r, &sent, &dropped, &refused, &failed_n);
	T(dropped >= 12 + 1000); /* at most ~1000 queued, the rest dropped */
	fake_set_write_delay_ms(0);
	n4j_recorder_free(r); /* does not wait for the queue */
	cJSON_Delete(obj);
	cJSON_Delete(o2);
}

/* ---- leader election over the fake ---- */

static atomic_int started_a, stopped_a, started_b, stopped_b;
static void sa(void *ud)
{
	atomic_fetch_add((atomic_int *)ud, 1);
}

static bool is_leader_p(void *ud)
{
	return n4j_leader_is_leader(ud);
}
static bool stopped_p(void *ud)
{
	return atomic_load((atomic_int *)ud) > 0;
}

static void test_leader(void)
{
	fake_reset();
	struct n4j_leader_opts oa = {.namespace_ = "ns",
				     .name = "lock",
				     .identity = "a",
				     .lease_ms = 1500,
				     .renew_deadline_ms = 1000,
				     .retry_ms = 200,
				     .on_started_leading = sa,
				     .on_stopped_leading = sa};
	struct n4j_leader_opts ob = oa;
	ob.identity = "b";
	/* callbacks count into separate counters */
	static atomic_int *ua, *ub;
	ua = &started_a;
	ub = &started_b;
	oa.ud = ua;
	ob.ud = ub;
	oa.on_stopped_leading = sa;
	struct n4j_leader *a, *b;
	struct n4j_error err;
	/* Invalid timing is refused (client-go's rule). */
	struct n4j_leader_opts bad = oa;
	bad.renew_deadline_ms = 200;
	T(n4j_leader_start(fake_client(), &bad, &a, &err) == N4J_EINVAL);

	T(n4j_leader_start(fake_client(), &oa, &a, &err) == 0);
	T(wait_for(is_leader_p, a, 3000));
	T(n4j_leader_fresh(a));
	cJSON *l = fake_find("leases", "ns", "lock");
	T(l && strcmp(jstr(l, "spec.holderIdentity"), "a") == 0);
	/* MicroTime with six fractional digits and a Z. */
	const char *rt = l ? jstr(l, "spec.renewTime") : NULL;
	T(rt && strlen(rt) == 27 && rt[19] == '.' && rt[26] == 'Z');

	T(n4j_leader_start(fake_client(), &ob, &b, &err) == 0);
	sleep_ms(2000); /* b must not take a lease that a keeps renewing */
	T(!n4j_leader_is_leader(b));
	T(n4j_leader_is_leader(a));

	/* Release on stop: b takes over within ~1 s + retry. */
	int64_t t0 = n4j_now_ms();
	n4j_leader_stop(a);
	T(!n4j_leader_is_leader(a));
	T(wait_for(is_leader_p, b, 3000));
	long took = (long)(n4j_now_ms() - t0);
	printf("takeover after release: %ld ms\n", took);
	T(took < 2500);
	l = fake_find("leases", "ns", "lock");
	T(l && strcmp(jstr(l, "spec.holderIdentity"), "b") == 0);
	T(l &&
	  cJSON_GetObjectItem(cJSON_GetObjectItem(l, "spec"), "leaseTransitions")->valueint == 1);
	n4j_leader_free(a);

	/* A stolen lease: b cannot renew and must stop within the renew deadline + retry. */
	atomic_store(&stopped_b, 0);
	cJSON *steal = cJSON_Duplicate(fake_find("leases", "ns", "lock"), 1);
	cJSON *spec = cJSON_GetObjectItem(steal, "spec");
	cJSON_ReplaceItemInObject(spec, "holderIdentity", cJSON_CreateString("thief"));
	cJSON_ReplaceItemInObject(spec, "leaseDurationSeconds", cJSON_CreateNumber(60));
	fake_put("leases", steal);
	cJSON_Delete(steal);
	t0 = n4j_now_ms();
	/* on_stopped_leading bumps started_b again (same callback, same counter) */
	int before = atomic_load(&started_b);
	(void)before;
	int64_t until = t0 + 5000;
	while (n4j_leader_is_leader(b) && n4j_now_ms() < until)
		sleep_ms(10);
	took = (long)(n4j_now_ms() - t0);
	printf("stopped leading after a steal: %ld ms\n", took);
	T(!n4j_leader_is_leader(b) && !n4j_leader_fresh(b));
	T(took <= 1000 + 200 + 500);
	T(atomic_load(&started_b) == 2); /* started once, stopped once */
	l = fake_find("leases", "ns", "lock");
	T(l && strcmp(jstr(l, "spec.holderIdentity"), "thief") == 0);
	n4j_leader_free(b); /* not a leader: no release that would clobber the thief */
	l = fake_find("leases", "ns", "lock");
	T(l && strcmp(jstr(l, "spec.holderIdentity"), "thief") == 0);
	(void)stopped_a;
	(void)stopped_p;
	(void)ua;
}

/* A renewal that hangs longer than the renew deadline: the watchdog stops leading on time. */
static atomic_int hang_stops;
static void hang_stopped(void *ud)
{
	atomic_fetch_add(&hang_stops, 1);
}

static void test_leader_hang(void)
{
	fake_reset();
	struct n4j_leader_opts o = {.namespace_ = "ns",
				    .name = "hang",
				    .identity = "h",
				    .lease_ms = 1500,
				    .renew_deadline_ms = 1000,
				    .retry_ms = 200,
				    .on_stopped_leading = hang_stopped};
	struct n4j_leader *l;
	T(n4j_leader_start(fake_client(), &o, &l, NULL) == 0);
	T(wait_for(is_leader_p, l, 3000));
	fake_set_write_delay_ms(4000); /* every PUT now takes 4 s */
	int64_t t0 = n4j_now_ms();
	while (n4j_leader_is_leader(l) && n4j_now_ms() - t0 < 6000)
		sleep_ms(10);
	long took = (long)(n4j_now_ms() - t0);
	printf("stopped leading while a renewal hung: %ld ms\n", took);
	T(!n4j_leader_is_leader(l) && took <= 1000 + 500);
	T(atomic_load(&hang_stops) == 1);
	fake_set_write_delay_ms(0);
	n4j_leader_free(l);               /* joins the thread once its hanging request returns */
	T(atomic_load(&hang_stops) == 1); /* exactly once */
}

int main(void)
{
	fake_reset();
	test_transforms();
	test_cached_compact();
	test_owner_key();
	test_informer();
	test_relist_diff();
	test_events();
	test_leader();
	test_leader_hang();
	fake_reset();
	CHECK_DONE();
}
