/* The event recorder against the real apiserver: Events created with the client-go name
 * shape, a repeat aggregated into count 2, >10 similar messages combined, the per-object
 * spam filter, and a caller that never blocks. */
#include "envmach.h"

/* Sum of `count` and number of Events for an involved object name and reason. */
static void tally(struct n4j_kube_client *c, const char *ns, const char *obj, const char *reason,
		  int *events, int *sum, int *combined)
{
	char fs[256];
	snprintf(fs, sizeof(fs), "involvedObject.name=%s,reason=%s", obj, reason);
	struct n4j_kube_list_opts lo = {.field_selector = fs};
	cJSON *items = NULL;
	char *rv = NULL;
	struct n4j_kube_error e;
	memset(&e, 0, sizeof(e));
	*events = *sum = *combined = 0;
	if (n4j_kube_list(c, &N4J_RES_EVENTS, ns, &lo, &items, &rv, &e) == 0) {
		const cJSON *it;
		cJSON_ArrayForEach(it, items)
		{
			(*events)++;
			const cJSON *cnt = cJSON_GetObjectItem(it, "count");
			*sum += cJSON_IsNumber(cnt) ? cnt->valueint : 0;
			const cJSON *m = cJSON_GetObjectItem(it, "message");
			if (cJSON_IsString(m) &&
			    strncmp(m->valuestring, "(combined from similar events): ", 32) == 0)
				(*combined)++;
		}
	} else {
		fprintf(stderr, "list events: %s\n", e.base.msg);
	}
	cJSON_Delete(items);
	free(rv);
}

static cJSON *make_cm(struct n4j_kube_client *c, const char *ns, const char *name)
{
	char body[256];
	snprintf(body, sizeof(body),
		 "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"%s\"}}",
		 name);
	return env_create(c, &N4J_RES_CONFIGMAPS, ns, body);
}

int main(void)
{
	struct n4j_kube_client *c = env_client();
	const char *ns = env_namespace(c, "events");
	struct n4j_recorder *r;
	struct n4j_error err = {0};
	T(n4j_recorder_new(c, NULL, &r, &err) == 0);
	cJSON *o1 = make_cm(c, ns, "one"), *o2 = make_cm(c, ns, "two"),
	      *o3 = make_cm(c, ns, "three");
	T(o1 && o2 && o3);

	/* Created, then a repeat aggregated into count 2 on the same Event. */
	n4j_recorder_event(r, o1, "Normal", "Created", "created the %s", "StatefulSet");
	n4j_recorder_flush(r, 10000);
	n4j_recorder_event(r, o1, "Normal", "Created", "created the %s", "StatefulSet");
	n4j_recorder_flush(r, 10000);
	int ev, sum, comb;
	tally(c, ns, "one", "Created", &ev, &sum, &comb);
	printf("repeat: %d Event(s), count %d\n", ev, sum);
	T(ev == 1 && sum == 2);

	/* 13 distinct messages with one reason: 10 Events, then one combined with count 3. */
	for (int i = 0; i < 13; i++)
		n4j_recorder_event(r, o2, "Warning", "Flapping", "member %d changed state", i);
	n4j_recorder_flush(r, 10000);
	tally(c, ns, "two", "Flapping", &ev, &sum, &comb);
	printf("similar: %d Events, counts %d, %d combined\n", ev, sum, comb);
	T(ev == 11 && sum == 13 && comb == 1);

	/* Spam filter: 40 identical events on one object → 25 reach the server. */
	for (int i = 0; i < 40; i++)
		n4j_recorder_event(r, o3, "Normal", "Spammy", "the same thing again");
	n4j_recorder_flush(r, 10000);
	tally(c, ns, "three", "Spammy", &ev, &sum, &comb);
	printf("spam: %d Event(s), count %d of 40\n", ev, sum);
	T(ev == 1 && sum == 25);

	/* Never blocks: 5000 events in one burst return at once; the overflow is dropped. */
	int64_t t0 = n4j_now_ms();
	for (int i = 0; i < 5000; i++) {
		char body[256];
		snprintf(body, sizeof(body),
			 "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":"
			 "\"ghost-%d\",\"namespace\":\"%s\"}}",
			 i, ns);
		cJSON *g = cJSON_Parse(body);
		n4j_recorder_event(r, g, "Normal", "Burst", "burst %d", i);
		cJSON_Delete(g);
	}
	long dt = (long)(n4j_now_ms() - t0);
	uint64_t sent, dropped, refused, failedn;
	n4j_recorder_counts(r, &sent, &dropped, &refused, &failedn);
	printf("5000 events enqueued in %ld ms; dropped so far %llu\n", dt,
	       (unsigned long long)dropped);
	T(dt < 2000);
	T(dropped >= 5000 - 1000 - 200); /* the queue holds 1000 (a few may have been sent) */
	/* Freeing does not wait for the ~1000 queued (the client's write bucket sends them at
	 * 20/s): the rest is dropped, and free returns promptly. */
	t0 = n4j_now_ms();
	n4j_recorder_free(r);
	dt = (long)(n4j_now_ms() - t0);
	printf("free with a full queue: %ld ms\n", dt);
	T(dt < 5000);
	T(failedn == 0);
	cJSON_Delete(o1);
	cJSON_Delete(o2);
	cJSON_Delete(o3);
	return env_done(c);
}
