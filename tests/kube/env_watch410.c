/*
 * A real 410 (DESIGN §8.9): the informer against a kube-apiserver with --watch-cache=false
 * (hack/test-env apiserver-nowc, on the shared etcd), whose watches etcd serves itself.
 *
 * The informer lists and watches; the apiserver is stopped, so its watch breaks and cannot
 * come back; meanwhile objects are updated, deleted and created (through the shared
 * apiserver) and etcd is compacted past all of it. When the apiserver is back, the
 * informer's watch from its old resourceVersion is answered by etcd with 410 "too old
 * resource version", and the informer must relist.
 *
 * What each check proves:
 *   - a probe watch from the informer's last resourceVersion gets N4J_KUBE_GONE: the 410 is
 *     real, from etcd's compaction, not injected;
 *   - the apiserver's audit log holds exactly 2 LISTs of the informer's client: the initial
 *     list and one relist, so the changes came from a relist and not from a resume;
 *   - events: exactly one update (the changed object, however often it changed), one
 *     delete, one add (the new object), nothing for the object created and deleted while
 *     the watch was down, and no ADDED for a key the cache already held: the relist is
 *     delivered as a diff, and the unchanged objects are not re-delivered at all;
 *   - "no missed event": the final cache equals the server's list, names and
 *     resourceVersions;
 *   - the informer watches again after the relist: a later create arrives as an add.
 */
#include <pthread.h>

#include "envnowc.h"
#include "tally.h"

#define N_KEEP 20
#define LABEL  "test=kube-watch410"

static char ns[64];

static cJSON *labelled_cm(const char *name, const char *val)
{
	cJSON *o = env_cm(name, "v", val);
	cJSON *l = cJSON_AddObjectToObject(cJSON_GetObjectItem(o, "metadata"), "labels");
	cJSON_AddStringToObject(l, "test", "kube-watch410");
	return o;
}

static int put_cm(struct n4j_kube_client *c, const char *name, const char *val)
{
	cJSON *o = labelled_cm(name, val), *out = NULL;
	struct n4j_kube_error e;
	int rc = n4j_kube_apply(c, &N4J_RES_CONFIGMAPS, ns, name, o, true, &out, &e);
	if (rc)
		fprintf(stderr, "apply %s: %s\n", name, e.base.msg);
	cJSON_Delete(o);
	cJSON_Delete(out);
	return rc;
}

/* The server's resourceVersion of configmap name ("" if absent), in buf. */
static const char *server_rv(struct n4j_kube_client *c, const char *name, char *buf, size_t n)
{
	cJSON *o = NULL;
	struct n4j_kube_error e;
	buf[0] = '\0';
	if (n4j_kube_get(c, &N4J_RES_CONFIGMAPS, ns, name, &o, &e) == 0) {
		const char *rv = env_str(o, "metadata", "resourceVersion");
		snprintf(buf, n, "%s", rv ? rv : "");
	}
	cJSON_Delete(o);
	return buf;
}

/* The informer's resourceVersion of configmap name ("" if absent), in buf. */
static const char *cache_rv(struct n4j_informer *inf, const char *name, char *buf, size_t n)
{
	char key[160];
	snprintf(key, sizeof(key), "%s/%s", ns, name);
	struct n4j_cached *o = n4j_informer_get(inf, key);
	snprintf(buf, n, "%s", o ? o->resource_version : "");
	n4j_cached_unref(o);
	return buf;
}

static void cache_entry(void *ud, struct n4j_cached *o)
{
	const char *slash = strchr(o->key, '/');
	char *rv = strdup(o->resource_version);
	if (!rv || n4j_smap_put(ud, slash ? slash + 1 : o->key, rv, NULL) != 0)
		free(rv);
}

/* 0 when the informer's cache equals the server's list of labelled configmaps. */
static int diff_cache(struct n4j_kube_client *c, struct n4j_informer *inf)
{
	struct n4j_smap m;
	n4j_smap_init(&m);
	n4j_informer_each(inf, cache_entry, &m);
	/* the server side of the comparison with the informer's selector */
	cJSON *items = NULL;
	struct n4j_kube_error e;
	struct n4j_kube_list_opts lo = {.label_selector = LABEL};
	int diff = -1;
	if (n4j_kube_list(c, &N4J_RES_CONFIGMAPS, ns, &lo, &items, NULL, &e) == 0) {
		diff = 0;
		const cJSON *it;
		cJSON_ArrayForEach(it, items)
		{
			const char *name = env_str(it, "metadata", "name");
			const char *rv = env_str(it, "metadata", "resourceVersion");
			char *mine = name ? n4j_smap_del(&m, name) : NULL;
			if (!mine || !rv || strcmp(mine, rv) != 0) {
				fprintf(stderr, "cache differs: %s server RV %s, cache RV %s\n",
					name ? name : "?", rv ? rv : "-", mine ? mine : "(absent)");
				diff++;
			}
			free(mine);
		}
		diff += (int)m.len; /* left: only in the cache */
		if (m.len)
			fprintf(stderr, "cache differs: %zu objects only in the cache\n", m.len);
	}
	cJSON_Delete(items);
	n4j_smap_each(&m, nowc_free_val, NULL);
	n4j_smap_free(&m);
	return diff;
}

static bool wait_until(struct locked_tally *r, const int *f, int want, long ms)
{
	long t0 = env_now_ms();
	while (locked_tally_get(r, f) < want && env_now_ms() - t0 < ms)
		n4j_sleep_ms(20);
	return locked_tally_get(r, f) >= want;
}

static void test_real_410(struct n4j_kube_client *d)
{
	char ua[64], probe_ua[64];
	snprintf(ua, sizeof(ua), "n4j-env-watch410/%d", (int)getpid());
	snprintf(probe_ua, sizeof(probe_ua), "n4j-env-watch410-probe/%d", (int)getpid());
	struct n4j_kube_client *c = nowc_client("TESTENV_ADMIN_KUBECONFIG", ua);
	struct n4j_kube_client *probe = nowc_client("TESTENV_ADMIN_KUBECONFIG", probe_ua);
	char name[32];
	for (int i = 0; i < N_KEEP; i++) {
		snprintf(name, sizeof(name), "keep-%02d", i);
		CHECK_INT(put_cm(d, name, "1"), 0);
	}
	CHECK_INT(put_cm(d, "change", "1"), 0);
	CHECK_INT(put_cm(d, "vanish", "1"), 0);

	struct locked_tally r = {.mu = PTHREAD_MUTEX_INITIALIZER};
	n4j_smap_init(&r.t.live);
	struct n4j_informer *inf = NULL;
	struct n4j_error err = {0};
	struct n4j_informer_opts o = {
		.resource = &N4J_RES_CONFIGMAPS, .namespace_ = ns, .label_selector = LABEL};
	struct n4j_informer_handlers h = {locked_tally_on_event, &r};
	CHECK_INT(n4j_informer_new(c, &o, &h, &inf, &err), 0);
	if (!inf)
		goto out;
	CHECK_INT(n4j_informer_start(inf, &err), 0);
	long t0 = env_now_ms();
	while (!n4j_informer_has_synced(inf) && env_now_ms() - t0 < 30000)
		n4j_sleep_ms(20);
	CHECK(n4j_informer_has_synced(inf));
	CHECK_INT(locked_tally_get(&r, &r.t.adds), N_KEEP + 2);

	/* An add through the watch: the watch is live, and the informer's resourceVersion is
	 * at least ping's. */
	CHECK_INT(put_cm(d, "ping", "1"), 0);
	CHECK(wait_until(&r, &r.t.adds, N_KEEP + 3, 20000));
	char ping_rv[32], rv[32], rv2[32];
	server_rv(d, "ping", ping_rv, sizeof(ping_rv));

	/* The watch breaks and stays broken; changes no watch will see. */
	CHECK_INT(nowc_stop(), 0);
	CHECK_INT(put_cm(d, "change", "2"), 0);
	CHECK_INT(put_cm(d, "change", "3"), 0);
	struct n4j_kube_error e;
	CHECK_INT(n4j_kube_delete(d, &N4J_RES_CONFIGMAPS, ns, "vanish", NULL, &e), 0);
	CHECK_INT(put_cm(d, "new", "1"), 0);
	CHECK_INT(put_cm(d, "ephemeral", "1"), 0);
	CHECK_INT(n4j_kube_delete(d, &N4J_RES_CONFIGMAPS, ns, "ephemeral", NULL, &e), 0);
	uint64_t compacted = nowc_compact();
	fprintf(stderr, "ping at RV %s; etcd compacted at revision %llu\n", ping_rv,
		(unsigned long long)compacted);
	/* A watch from RV r starts at r+1: it is refused when r+1 < the compacted revision. */
	CHECK(compacted > strtoull(ping_rv, NULL, 10) + 1);
	CHECK_INT(nowc_start(), 0);

	/* The 410 is etcd's: a watch from the informer's last resourceVersion is refused. */
	struct n4j_kube_watch_opts po = {
		.label_selector = LABEL, .resource_version = ping_rv, .timeout_seconds = 5};
	char *prv = NULL;
	memset(&e, 0, sizeof(e));
	int prc = n4j_kube_watch(probe, &N4J_RES_CONFIGMAPS, ns, &po, NULL, NULL, NULL, &prv, &e);
	fprintf(stderr, "probe watch from RV %s: rc %d, %s (%s)\n", ping_rv, prc,
		n4j_kube_reason_name(e.reason), e.base.msg);
	CHECK_INT(e.reason, N4J_KUBE_GONE);
	free(prv);

	/* The informer backs off up to ~25 s while the apiserver is down, then relists. */
	t0 = env_now_ms();
	while (env_now_ms() - t0 < 90000 &&
	       (strcmp(cache_rv(inf, "change", rv, sizeof(rv)),
		       server_rv(d, "change", rv2, sizeof(rv2))) != 0 ||
		locked_tally_get(&r, &r.t.deletes) < 1 ||
		locked_tally_get(&r, &r.t.adds) < N_KEEP + 4))
		n4j_sleep_ms(50);
	fprintf(stderr, "reconnected after %ld ms\n", env_now_ms() - t0);
	n4j_sleep_ms(500); /* a late duplicate would show up; audit entries land */
	struct nowc_audit au;
	CHECK_INT(nowc_audit_read(ua, ns, &au), 0);
	fprintf(stderr,
		"after the 410: %d adds, %d updates, %d deletes, %d duplicate ADDED; audit: %d "
		"LISTs, %d WATCHes, the relist after a WATCH from RV %s\n",
		locked_tally_get(&r, &r.t.adds), locked_tally_get(&r, &r.t.updates),
		locked_tally_get(&r, &r.t.deletes), locked_tally_get(&r, &r.t.dup_adds), au.lists,
		au.watches, au.watch_rv_before_relist);
	CHECK_INT(au.lists, 2); /* the initial list and one relist */
	CHECK(au.watches >= 3); /* the first, the one refused with 410, the one after */
	/* The relist came right after a resume from the informer's last RV (ping's): the
	 * watch the probe showed is refused with 410. */
	CHECK_STR(au.watch_rv_before_relist, ping_rv);
	CHECK_INT(locked_tally_get(&r, &r.t.adds), N_KEEP + 4); /* + ping, + new; never ephemeral */
	CHECK_INT(locked_tally_get(&r, &r.t.updates), 1);       /* change only */
	CHECK_INT(locked_tally_get(&r, &r.t.deletes), 1);       /* vanish */
	CHECK_INT(locked_tally_get(&r, &r.t.dup_adds), 0);
	CHECK_INT(locked_tally_get(&r, &r.t.resyncs), 0);
	CHECK_INT(diff_cache(d, inf), 0);
	CHECK_STR(cache_rv(inf, "ephemeral", rv, sizeof(rv)), "");

	/* And it watches again. */
	CHECK_INT(put_cm(d, "late", "1"), 0);
	CHECK(wait_until(&r, &r.t.adds, N_KEEP + 5, 20000));
	CHECK_INT(nowc_audit_read(ua, ns, &au), 0);
	CHECK_INT(au.lists, 2);
	CHECK_INT(diff_cache(d, inf), 0);
out:
	n4j_informer_free(inf);
	n4j_smap_free(&r.t.live);
	n4j_kube_client_free(probe);
	n4j_kube_client_free(c);
}

int main(void)
{
	struct n4j_kube_client *d = env_client("TESTENV_ADMIN_KUBECONFIG", NULL);
	snprintf(ns, sizeof(ns), "kube-watch410-%d", (int)getpid());
	if (env_ns_create(d, ns))
		return 1;
	nowc_run(test_real_410, d);
	env_ns_delete(d, ns);
	n4j_kube_client_free(d);
	TDONE();
}
