/* See fake_client.h. Single mutex, linear scans: it only has to be obviously right. */
#include "fake_client.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const struct n4j_kube_resource N4J_RES_CONFIGMAPS = {"", "v1", "configmaps", "ConfigMap", true};
const struct n4j_kube_resource N4J_RES_EVENTS = {"", "v1", "events", "Event", true};
const struct n4j_kube_resource N4J_RES_LEASES = {"coordination.k8s.io", "v1", "leases", "Lease",
						 true};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static cJSON *store; /* {plural: [objects]} */
static long rv_counter = 100;
static unsigned n_requests, n_lists;
static bool gone;
static long write_delay_ms;
static int write_status;
/* watch feed: events appended by writes, consumed by the watch loop */
static cJSON *feed; /* [{type, object, rv}] */
static bool feed_off;

struct n4j_kube_client *fake_client(void)
{
	static int dummy;
	return (struct n4j_kube_client *)&dummy;
}

void fake_reset(void)
{
	pthread_mutex_lock(&mu);
	cJSON_Delete(store);
	cJSON_Delete(feed);
	store = cJSON_CreateObject();
	feed = cJSON_CreateArray();
	n_requests = n_lists = 0;
	gone = false;
	write_delay_ms = 0;
	write_status = 0;
	feed_off = false;
	pthread_mutex_unlock(&mu);
}

static const char *sget(const cJSON *o, const char *a, const char *b)
{
	const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, a);
	if (b)
		x = cJSON_GetObjectItemCaseSensitive(x, b);
	return cJSON_IsString(x) ? x->valuestring : "";
}

static cJSON *arr(const char *plural)
{
	cJSON *a = cJSON_GetObjectItemCaseSensitive(store, plural);
	if (!a)
		a = cJSON_AddArrayToObject(store, plural);
	return a;
}

static int find_idx(cJSON *a, const char *ns, const char *name)
{
	int i = 0;
	const cJSON *o;
	cJSON_ArrayForEach(o, a)
	{
		if (strcmp(sget(o, "metadata", "namespace"), ns ? ns : "") == 0 &&
		    strcmp(sget(o, "metadata", "name"), name) == 0)
			return i;
		i++;
	}
	return -1;
}

static void set_rv(cJSON *o)
{
	char b[32];
	snprintf(b, sizeof(b), "%ld", ++rv_counter);
	cJSON *md = cJSON_GetObjectItemCaseSensitive(o, "metadata");
	if (!md)
		md = cJSON_AddObjectToObject(o, "metadata");
	cJSON_DeleteItemFromObjectCaseSensitive(md, "resourceVersion");
	cJSON_AddStringToObject(md, "resourceVersion", b);
}

void fake_set_feed(bool on)
{
	pthread_mutex_lock(&mu);
	feed_off = !on;
	pthread_mutex_unlock(&mu);
}

static void emit(const char *type, const cJSON *o)
{
	if (feed_off)
		return; /* a watch that silently misses events: only a relist repairs it */
	cJSON *ev = cJSON_CreateObject();
	cJSON_AddStringToObject(ev, "type", type);
	cJSON_AddItemToObject(ev, "object", cJSON_Duplicate(o, 1));
	cJSON_AddItemToArray(feed, ev);
	pthread_cond_broadcast(&changed);
}

void fake_put(const char *plural, const cJSON *obj)
{
	pthread_mutex_lock(&mu);
	cJSON *a = arr(plural);
	cJSON *o = cJSON_Duplicate(obj, 1);
	set_rv(o);
	int i = find_idx(a, sget(o, "metadata", "namespace"), sget(o, "metadata", "name"));
	emit(i < 0 ? "ADDED" : "MODIFIED", o);
	if (i < 0)
		cJSON_AddItemToArray(a, o);
	else
		cJSON_ReplaceItemInArray(a, i, o);
	pthread_mutex_unlock(&mu);
}

void fake_delete(const char *plural, const char *ns, const char *name)
{
	pthread_mutex_lock(&mu);
	cJSON *a = arr(plural);
	int i = find_idx(a, ns, name);
	if (i >= 0) {
		cJSON *o = cJSON_DetachItemFromArray(a, i);
		set_rv(o);
		emit("DELETED", o);
		cJSON_Delete(o);
	}
	pthread_mutex_unlock(&mu);
}

cJSON *fake_find(const char *plural, const char *ns, const char *name)
{
	pthread_mutex_lock(&mu);
	cJSON *a = arr(plural);
	int i = find_idx(a, ns, name);
	cJSON *o = i < 0 ? NULL : cJSON_GetArrayItem(a, i);
	pthread_mutex_unlock(&mu);
	return o;
}

cJSON *fake_list_copy(const char *plural)
{
	pthread_mutex_lock(&mu);
	cJSON *c = cJSON_Duplicate(arr(plural), 1);
	pthread_mutex_unlock(&mu);
	return c;
}

void fake_watch_gone(void)
{
	pthread_mutex_lock(&mu);
	gone = true;
	pthread_cond_broadcast(&changed);
	pthread_mutex_unlock(&mu);
}

unsigned fake_requests(void)
{
	pthread_mutex_lock(&mu);
	unsigned n = n_requests;
	pthread_mutex_unlock(&mu);
	return n;
}

unsigned fake_lists(void)
{
	pthread_mutex_lock(&mu);
	unsigned n = n_lists;
	pthread_mutex_unlock(&mu);
	return n;
}

void fake_set_write_delay_ms(long ms)
{
	pthread_mutex_lock(&mu);
	write_delay_ms = ms;
	pthread_mutex_unlock(&mu);
}

void fake_set_write_status(int s)
{
	pthread_mutex_lock(&mu);
	write_status = s;
	pthread_mutex_unlock(&mu);
}

static int fail(struct n4j_kube_error *e, enum n4j_kube_reason r, int status)
{
	memset(e, 0, sizeof(*e));
	e->reason = r;
	e->http_status = status;
	e->base.code = N4J_EIO;
	snprintf(e->base.msg, sizeof(e->base.msg), "fake: %s", n4j_kube_reason_name(r));
	return N4J_EIO;
}

const char *n4j_kube_reason_name(enum n4j_kube_reason r)
{
	static const char *n[] = {"OK",           "BadRequest",
				  "Unauthorized", "Forbidden",
				  "NotFound",     "AlreadyExists",
				  "Conflict",     "Gone",
				  "Invalid",      "TooManyRequests",
				  "ServerError",  "Timeout",
				  "Transport",    "Other"};
	return (size_t)r < sizeof(n) / sizeof(n[0]) ? n[r] : "Other";
}

bool n4j_kube_retryable(const struct n4j_kube_error *e)
{
	return e->reason == N4J_KUBE_TOO_MANY_REQUESTS || e->reason == N4J_KUBE_SERVER_ERROR ||
	       e->reason == N4J_KUBE_TIMEOUT || e->reason == N4J_KUBE_TRANSPORT;
}

/* Writes: delay outside the lock (so a slow server is simulated), then a forced failure. */
static int write_prologue(struct n4j_kube_error *e)
{
	pthread_mutex_lock(&mu);
	n_requests++;
	long d = write_delay_ms;
	int st = write_status;
	pthread_mutex_unlock(&mu);
	if (d > 0) {
		struct timespec ts = {d / 1000, (d % 1000) * 1000000L};
		nanosleep(&ts, NULL);
	}
	if (st)
		return fail(e, st >= 500 ? N4J_KUBE_SERVER_ERROR : N4J_KUBE_OTHER, st);
	return 0;
}

int n4j_kube_get(struct n4j_kube_client *c, const struct n4j_kube_resource *r, const char *ns,
		 const char *name, cJSON **out, struct n4j_kube_error *e)
{
	pthread_mutex_lock(&mu);
	n_requests++;
	cJSON *a = arr(r->plural);
	int i = find_idx(a, ns, name);
	*out = i < 0 ? NULL : cJSON_Duplicate(cJSON_GetArrayItem(a, i), 1);
	pthread_mutex_unlock(&mu);
	return *out ? 0 : fail(e, N4J_KUBE_NOT_FOUND, 404);
}

int n4j_kube_create(struct n4j_kube_client *c, const struct n4j_kube_resource *r, const char *ns,
		    const cJSON *obj, cJSON **out, struct n4j_kube_error *e)
{
	if (write_prologue(e))
		return N4J_EIO;
	pthread_mutex_lock(&mu);
	cJSON *a = arr(r->plural);
	if (find_idx(a, ns, sget(obj, "metadata", "name")) >= 0) {
		pthread_mutex_unlock(&mu);
		return fail(e, N4J_KUBE_ALREADY_EXISTS, 409);
	}
	cJSON *o = cJSON_Duplicate(obj, 1);
	set_rv(o);
	emit("ADDED", o);
	cJSON_AddItemToArray(a, o);
	*out = cJSON_Duplicate(o, 1);
	pthread_mutex_unlock(&mu);
	return 0;
}

int n4j_kube_update(struct n4j_kube_client *c, const struct n4j_kube_resource *r, const char *ns,
		    const char *name, const char *subresource, const cJSON *obj, cJSON **out,
		    struct n4j_kube_error *e)
{
	if (write_prologue(e))
		return N4J_EIO;
	pthread_mutex_lock(&mu);
	cJSON *a = arr(r->plural);
	int i = find_idx(a, ns, name);
	if (i < 0) {
		pthread_mutex_unlock(&mu);
		return fail(e, N4J_KUBE_NOT_FOUND, 404);
	}
	const char *want = sget(obj, "metadata", "resourceVersion");
	if (*want && strcmp(want, sget(cJSON_GetArrayItem(a, i), "metadata", "resourceVersion"))) {
		pthread_mutex_unlock(&mu);
		return fail(e, N4J_KUBE_CONFLICT, 409);
	}
	cJSON *o = cJSON_Duplicate(obj, 1);
	set_rv(o);
	emit("MODIFIED", o);
	cJSON_ReplaceItemInArray(a, i, o);
	*out = cJSON_Duplicate(o, 1);
	pthread_mutex_unlock(&mu);
	return 0;
}

int n4j_kube_merge_patch(struct n4j_kube_client *c, const struct n4j_kube_resource *r,
			 const char *ns, const char *name, const char *subresource,
			 const cJSON *patch, cJSON **out, struct n4j_kube_error *e)
{
	if (write_prologue(e))
		return N4J_EIO;
	pthread_mutex_lock(&mu);
	cJSON *a = arr(r->plural);
	int i = find_idx(a, ns, name);
	if (i < 0) {
		pthread_mutex_unlock(&mu);
		return fail(e, N4J_KUBE_NOT_FOUND, 404);
	}
	cJSON *o = cJSON_GetArrayItem(a, i);
	const cJSON *f;
	cJSON_ArrayForEach(f, patch)
	{
		cJSON_DeleteItemFromObjectCaseSensitive(o, f->string);
		cJSON_AddItemToObject(o, f->string, cJSON_Duplicate(f, 1));
	}
	set_rv(o);
	emit("MODIFIED", o);
	*out = cJSON_Duplicate(o, 1);
	pthread_mutex_unlock(&mu);
	return 0;
}

int n4j_kube_list(struct n4j_kube_client *c, const struct n4j_kube_resource *r, const char *ns,
		  const struct n4j_kube_list_opts *o, cJSON **items, char **rv,
		  struct n4j_kube_error *e)
{
	pthread_mutex_lock(&mu);
	n_requests++;
	n_lists++;
	*items = cJSON_Duplicate(arr(r->plural), 1);
	char b[32];
	snprintf(b, sizeof(b), "%ld", rv_counter);
	*rv = strdup(b);
	/* The watch starts after the list: earlier feed entries are part of the snapshot. */
	cJSON_Delete(feed);
	feed = cJSON_CreateArray();
	pthread_mutex_unlock(&mu);
	return 0;
}

/* One page holding the whole snapshot: the informer sees what n4j_kube_list returns. */
int n4j_kube_list_each(struct n4j_kube_client *c, const struct n4j_kube_resource *r, const char *ns,
		       const struct n4j_kube_list_opts *o, const struct n4j_kube_list_sink *sink,
		       char **rv, struct n4j_kube_error *e)
{
	cJSON *items = NULL;
	char *v = NULL;
	int rc = n4j_kube_list(c, r, ns, o, &items, &v, e);
	while (!rc && items && items->child)
		rc = sink->on_item(sink->ud, cJSON_DetachItemViaPointer(items, items->child));
	cJSON_Delete(items);
	if (rc || !rv)
		free(v);
	else
		*rv = v;
	return rc;
}

int n4j_kube_watch(struct n4j_kube_client *c, const struct n4j_kube_resource *r, const char *ns,
		   const struct n4j_kube_watch_opts *o, n4j_watch_fn fn, void *ud,
		   const atomic_bool *stop, char **last_rv, struct n4j_kube_error *e)
{
	pthread_mutex_lock(&mu);
	n_requests++;
	for (;;) {
		if (atomic_load(stop)) {
			pthread_mutex_unlock(&mu);
			return 0;
		}
		if (gone) {
			gone = false;
			pthread_mutex_unlock(&mu);
			return fail(e, N4J_KUBE_GONE, 410);
		}
		cJSON *ev = cJSON_DetachItemFromArray(feed, 0);
		if (!ev) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += 20 * 1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&changed, &mu, &ts);
			continue;
		}
		const char *t = sget(ev, "type", NULL);
		/* Only this watch's kind: the feed mixes plurals, skip others. */
		cJSON *obj = cJSON_DetachItemFromObject(ev, "object");
		const char *kind = sget(obj, "kind", NULL);
		bool mine = strcmp(kind, r->kind) == 0;
		struct n4j_watch_event we = {.type = strcmp(t, "ADDED") == 0 ? N4J_WATCH_ADDED
						     : strcmp(t, "MODIFIED") == 0
							     ? N4J_WATCH_MODIFIED
							     : N4J_WATCH_DELETED,
					     .object = obj};
		free(*last_rv);
		*last_rv = strdup(sget(obj, "metadata", "resourceVersion"));
		cJSON_Delete(ev);
		pthread_mutex_unlock(&mu);
		int rc = mine ? fn(ud, &we) : 0;
		cJSON_Delete(we.object);
		if (rc != 0)
			return rc;
		pthread_mutex_lock(&mu);
	}
}
