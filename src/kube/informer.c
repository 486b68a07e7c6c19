/*
 * The informer (reference §2, §3.1): one thread runs list+watch into a store of trimmed,
 * immutable, refcounted objects and delivers add/update/delete to a handler that only
 * computes keys; a second thread re-delivers the cache on resync without any API call.
 *
 * Handlers are serialised by deliver_mu, so a handler never runs on two threads at once;
 * the store lock is never held while a handler runs, so handlers may call
 * n4j_informer_get.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kube/kube.h"
#include "kube/machinery.h"

#define KEY_MAX 512

struct n4j_informer {
	struct n4j_kube_client *c;
	struct n4j_kube_resource res;
	char *ns, *selector;
	n4j_transform_fn transform;
	void *transform_ud;
	long resync_ms;
	struct n4j_informer_handlers h;

	pthread_rwlock_t store_mu;
	struct n4j_smap store; /* key -> struct n4j_cached * (one reference) */
	pthread_mutex_t deliver_mu;

	pthread_mutex_t mu; /* stop / sleep */
	pthread_cond_t cond;
	atomic_bool stop;
	atomic_bool synced;
	struct n4j_rng rng; /* re-list/re-watch jitter */
	bool started, resync_started;
	pthread_t thread, resync_thread;
};

int n4j_informer_new(struct n4j_kube_client *c, const struct n4j_informer_opts *o,
		     const struct n4j_informer_handlers *h, struct n4j_informer **out,
		     struct n4j_error *err)
{
	if (!c || !o || !o->resource || !out)
		return n4j_err(err, N4J_EINVAL, "informer: client and resource are required");
	struct n4j_informer *inf = calloc(1, sizeof(*inf));
	if (!inf)
		return n4j_err(err, N4J_ENOMEM, "informer: out of memory");
	inf->c = c;
	n4j_rng_seed(&inf->rng, (uint64_t)n4j_wall_ns() ^ (uint64_t)(uintptr_t)inf);
	inf->res = *o->resource;
	inf->ns = o->namespace_ ? strdup(o->namespace_) : NULL;
	inf->selector = o->label_selector ? strdup(o->label_selector) : NULL;
	if ((o->namespace_ && !inf->ns) || (o->label_selector && !inf->selector)) {
		free(inf->ns);
		free(inf->selector);
		free(inf);
		return n4j_err(err, N4J_ENOMEM, "informer: out of memory");
	}
	inf->transform = o->transform ? o->transform : n4j_transform_metadata;
	inf->transform_ud = o->transform_ud;
	inf->resync_ms = o->resync_ms > 0 ? o->resync_ms : 0;
	if (h)
		inf->h = *h;
	n4j_smap_init(&inf->store);
	pthread_rwlock_init(&inf->store_mu, NULL);
	pthread_mutex_init(&inf->deliver_mu, NULL);
	pthread_mutex_init(&inf->mu, NULL);
	if (n4j_mach_cond_init(&inf->cond) != 0) {
		pthread_mutex_destroy(&inf->mu);
		pthread_mutex_destroy(&inf->deliver_mu);
		pthread_rwlock_destroy(&inf->store_mu);
		free(inf->ns);
		free(inf->selector);
		free(inf);
		return n4j_err(err, N4J_ENOMEM, "informer: cannot create a condition variable");
	}
	atomic_init(&inf->stop, false);
	atomic_init(&inf->synced, false);
	*out = inf;
	return 0;
}

/* Sleeps up to ms, waking early on stop; false when stopping. */
static bool sleep_ms(struct n4j_informer *inf, long ms)
{
	int64_t until = n4j_now_ms() + ms;
	pthread_mutex_lock(&inf->mu);
	while (!atomic_load(&inf->stop) &&
	       n4j_mach_cond_wait_until(&inf->cond, &inf->mu, until) != ETIMEDOUT)
		;
	pthread_mutex_unlock(&inf->mu);
	return !atomic_load(&inf->stop);
}

static void deliver(struct n4j_informer *inf, struct n4j_cached *old_obj,
		    struct n4j_cached *new_obj)
{
	if (inf->h.on_event)
		inf->h.on_event(inf->h.ud, old_obj, new_obj);
}

/* Transforms a raw object into a cached one (NULL: not stored, or out of memory). */
static struct n4j_cached *make_cached(struct n4j_informer *inf, const cJSON *raw)
{
	char key[KEY_MAX];
	if (n4j_mach_object_key(raw, key, sizeof(key)) != 0)
		return NULL;
	cJSON *t = inf->transform(raw, inf->transform_ud);
	if (!t)
		return NULL;
	return n4j_cached_new(t, key);
}

/* ---- list and relist ---- */

struct relist_event {
	struct n4j_cached *old_obj, *new_obj; /* references owned by the event */
};

struct relist_ctx {
	struct n4j_smap *fresh;
	struct relist_event *ev;
	size_t n, cap;
	bool oom;
};

static void push_event(struct relist_ctx *x, struct n4j_cached *o, struct n4j_cached *n)
{
	if (x->n == x->cap) {
		size_t nc = x->cap ? x->cap * 2 : 64;
		struct relist_event *e = realloc(x->ev, nc * sizeof(*e));
		if (!e) {
			x->oom = true;
			return;
		}
		x->ev = e;
		x->cap = nc;
	}
	n4j_cached_ref(o);
	n4j_cached_ref(n);
	x->ev[x->n++] = (struct relist_event){o, n};
}

/* Old keys absent from the new list: synthesised deletes. */
static void find_vanished(void *ud, const char *key, void *val)
{
	struct relist_ctx *x = ud;
	if (!n4j_smap_get(x->fresh, key))
		push_event(x, val, NULL);
}

static void unref_val(void *ud, const char *key, void *val)
{
	n4j_cached_unref(val);
}

/*
 * The list's sink. Each item is trimmed as its page streams in, but only its compact text
 * is kept, appended to one buffer (key, RV, text, each NUL-terminated); the cached objects
 * and map nodes are allocated once the list is over. Allocated item by item they would sit
 * between the freed parse trees of the items, each pinning a page of that churn (+2.6 MiB
 * of RSS for the 13,000 objects of bench/kube); allocated afterwards they are packed next
 * to each other, and the buffer (large enough to be its own mapping) goes back whole.
 */
struct list_ctx {
	struct n4j_informer *inf;
	struct n4j_buf staged;
	size_t n;
};

static int list_item(void *ud, cJSON *item)
{
	struct list_ctx *l = ud;
	char key[KEY_MAX];
	if (n4j_mach_object_key(item, key, sizeof(key)) != 0) {
		cJSON_Delete(item);
		return 0;
	}
	cJSON *t = l->inf->transform(item, l->inf->transform_ud);
	cJSON_Delete(item);
	if (!t)
		return 0; /* filtered out by the transform (as make_cached) */
	char *txt = cJSON_PrintUnformatted(t);
	if (txt) {
		n4j_buf_append(&l->staged, key, strlen(key) + 1);
		const char *rv = n4j_mach_object_rv(t);
		n4j_buf_append(&l->staged, rv, strlen(rv) + 1);
		n4j_buf_append(&l->staged, txt, strlen(txt) + 1);
		l->n++;
	}
	free(txt);
	cJSON_Delete(t);
	return !txt || l->staged.oom ? N4J_ENOMEM : 0;
}

static void list_restart(void *ud)
{
	struct list_ctx *l = ud;
	n4j_buf_reset(&l->staged);
	l->n = 0;
}

/* The staged texts → cached objects in *fresh; N4J_ENOMEM leaves *fresh empty. */
static int list_build(struct list_ctx *l, struct n4j_smap *fresh)
{
	const char *p = l->staged.data;
	for (size_t i = 0; i < l->n; i++) {
		const char *key = p, *rv = key + strlen(key) + 1, *json = rv + strlen(rv) + 1;
		size_t jl = strlen(json);
		p = json + jl + 1;
		struct n4j_cached *o = n4j_cached_from_text(key, rv, json, jl);
		void *dup = NULL;
		if (!o || n4j_smap_put(fresh, key, o, &dup) != 0) {
			n4j_cached_unref(o);
			n4j_smap_each(fresh, unref_val, NULL);
			n4j_smap_free(fresh);
			return N4J_ENOMEM;
		}
		n4j_cached_unref(dup);
	}
	return 0;
}

/*
 * A consistent list (resourceVersion "") without limit: apiservers >= 1.31 answer it from
 * the watch cache in one response once the cache has caught up with etcd
 * (ConsistentListFromCache), as fast as client-go's resourceVersion=0 and never behind
 * etcd, while a paged list reads every page from etcd, 3x slower for 10,000 ConfigMaps
 * (docs/performance.md). The body streams through the item splitter, so no limit costs
 * no memory here. Relists after a 410 do the same.
 */
static int do_list(struct n4j_informer *inf, char **rv_out)
{
	char *rv = NULL;
	struct n4j_kube_error e;
	memset(&e, 0, sizeof(e));
	struct n4j_kube_list_opts lo = {.label_selector = inf->selector, .page_size = -1};
	struct list_ctx l = {.inf = inf};
	n4j_buf_init(&l.staged);
	/* No transform keeps managedFields (kube.h): not parsing them saves a third of the
	 * list's parse time. */
	struct n4j_kube_list_sink sink = {list_item, list_restart, &l, true};
	int rc = n4j_kube_list_each(inf->c, &inf->res, inf->ns, &lo, &sink, &rv, &e);
	struct n4j_smap fresh;
	n4j_smap_init(&fresh);
	if (rc == 0)
		rc = list_build(&l, &fresh);
	n4j_buf_free(&l.staged);
	if (rc != 0) {
		/* Keep the old store: a partial list would synthesise false deletes. */
		free(rv);
		return rc;
	}
	struct relist_ctx x = {.fresh = &fresh};

	/* Diff against the old store: new keys are adds, changed RVs updates. Unchanged
	 * objects keep their old (identical) instance so readers' pointers stay valid. */
	pthread_mutex_lock(&inf->deliver_mu);
	pthread_rwlock_wrlock(&inf->store_mu);
	n4j_smap_each(&inf->store, find_vanished, &x);
	for (size_t i = 0; i < fresh.nb; i++) {
		for (struct n4j_smap_node *nd = fresh.b[i]; nd; nd = nd->next) {
			struct n4j_cached *nw = nd->val;
			struct n4j_cached *old = n4j_smap_get(&inf->store, nd->key);
			if (!old) {
				push_event(&x, NULL, nw);
			} else if (strcmp(old->resource_version, nw->resource_version) != 0) {
				push_event(&x, old, nw);
			} else {
				n4j_cached_ref(old);
				nd->val = old;
				n4j_cached_unref(nw);
			}
		}
	}
	struct n4j_smap prev = inf->store;
	inf->store = fresh;
	pthread_rwlock_unlock(&inf->store_mu);
	n4j_smap_each(&prev, unref_val, NULL);
	n4j_smap_free(&prev);
	for (size_t i = 0; i < x.n; i++) {
		deliver(inf, x.ev[i].old_obj, x.ev[i].new_obj);
		n4j_cached_unref(x.ev[i].old_obj);
		n4j_cached_unref(x.ev[i].new_obj);
	}
	free(x.ev);
	/* has_synced: the first list is stored and its adds delivered (client-go semantics). */
	atomic_store(&inf->synced, true);
	pthread_mutex_unlock(&inf->deliver_mu);
	*rv_out = rv;
	return 0;
}

/* ---- watch ---- */

static int on_watch(void *ud, struct n4j_watch_event *ev)
{
	struct n4j_informer *inf = ud;
	if (ev->type == N4J_WATCH_BOOKMARK)
		return 0;
	if (ev->type == N4J_WATCH_ERROR || !ev->object)
		return N4J_EIO; /* a non-410 error event: re-watch after a backoff */
	char key[KEY_MAX];
	if (n4j_mach_object_key(ev->object, key, sizeof(key)) != 0)
		return 0;
	struct n4j_cached *nw = NULL;
	/* NULL after a transform that filters the object out: it leaves the cache. */
	if (ev->type != N4J_WATCH_DELETED)
		nw = make_cached(inf, ev->object);
	pthread_mutex_lock(&inf->deliver_mu);
	pthread_rwlock_wrlock(&inf->store_mu);
	void *old = NULL;
	int rc = 0;
	if (nw) {
		rc = n4j_smap_put(&inf->store, key, nw, &old);
		if (rc == 0)
			n4j_cached_ref(nw); /* one for the store, one for delivery */
	} else {
		old = n4j_smap_del(&inf->store, key);
	}
	pthread_rwlock_unlock(&inf->store_mu);
	if (rc != 0) {
		pthread_mutex_unlock(&inf->deliver_mu);
		n4j_cached_unref(nw);
		return N4J_ENOMEM; /* relist later rather than drop the change silently */
	}
	if (ev->type == N4J_WATCH_DELETED) {
		/* Deliver the final state the server sent when it can be trimmed, else ours. */
		struct n4j_cached *last = make_cached(inf, ev->object);
		if (old || last)
			deliver(inf, last ? last : old, NULL);
		n4j_cached_unref(last);
	} else if (nw) {
		deliver(inf, old, nw);
		n4j_cached_unref(nw);
	} else if (old) {
		deliver(inf, old, NULL);
	}
	pthread_mutex_unlock(&inf->deliver_mu);
	n4j_cached_unref(old);
	return 0;
}

/* 800 ms doubling to 30 s, jitter in [1, 2)× as client-go's wait.Jitter(…, 1.0). */
static const struct n4j_backoff rewatch_backoff = {
	.base_ms = 800, .cap_ms = 30000, .jitter_min = 0, .jitter_max = 1};

static void *informer_main(void *arg)
{
	struct n4j_informer *inf = arg;
	char *rv = NULL;
	bool need_list = true;
	int attempt = 0;
	while (!atomic_load(&inf->stop)) {
		if (need_list) {
			free(rv);
			rv = NULL;
			if (do_list(inf, &rv) != 0) {
				sleep_ms(inf, (long)n4j_backoff_ms(&rewatch_backoff, attempt++,
								   n4j_rng_01(&inf->rng)));
				continue;
			}
			need_list = false;
		}
		char *from = strdup(rv ? rv : "");
		if (!from) {
			sleep_ms(inf, (long)n4j_backoff_ms(&rewatch_backoff, attempt, 0));
			continue;
		}
		struct n4j_kube_watch_opts wo = {.label_selector = inf->selector,
						 .resource_version = from,
						 .allow_bookmarks = true};
		struct n4j_kube_error e;
		memset(&e, 0, sizeof(e));
		int64_t t0 = n4j_now_ms();
		int rc = n4j_kube_watch(inf->c, &inf->res, inf->ns, &wo, on_watch, inf, &inf->stop,
					&rv, &e);
		free(from);
		if (atomic_load(&inf->stop))
			break;
		/* Healthy for two minutes: the next failure starts again at 800 ms. */
		if (n4j_now_ms() - t0 >= 120000)
			attempt = 0;
		if (e.reason == N4J_KUBE_GONE) {
			need_list =
				true; /* relist at once; the old store stays until it succeeds */
			continue;
		}
		if (rc == 0)
			continue; /* the server ended the stream normally: re-watch from rv */
		if (rc == N4J_ENOMEM)
			need_list = true;
		sleep_ms(inf,
			 (long)n4j_backoff_ms(&rewatch_backoff, attempt++, n4j_rng_01(&inf->rng)));
	}
	free(rv);
	return NULL;
}

/* ---- resync ---- */

struct snap {
	struct n4j_cached **v;
	size_t n, cap;
};

static void snap_one(void *ud, const char *key, void *val)
{
	struct snap *s = ud;
	if (s->n < s->cap) {
		n4j_cached_ref(val);
		s->v[s->n++] = val;
	}
}

/* References to every cached object (freed by snap_release). */
static void snapshot(struct n4j_informer *inf, struct snap *s)
{
	s->n = 0;
	pthread_rwlock_rdlock(&inf->store_mu);
	s->cap = inf->store.len;
	s->v = s->cap ? malloc(s->cap * sizeof(*s->v)) : NULL;
	if (s->v)
		n4j_smap_each(&inf->store, snap_one, s);
	pthread_rwlock_unlock(&inf->store_mu);
}

static void snap_release(struct snap *s)
{
	for (size_t i = 0; i < s->n; i++)
		n4j_cached_unref(s->v[i]);
	free(s->v);
}

static void *resync_main(void *arg)
{
	struct n4j_informer *inf = arg;
	while (sleep_ms(inf, inf->resync_ms)) {
		if (!atomic_load(&inf->synced))
			continue;
		struct snap s;
		snapshot(inf, &s);
		pthread_mutex_lock(&inf->deliver_mu);
		for (size_t i = 0; i < s.n && !atomic_load(&inf->stop); i++)
			deliver(inf, s.v[i], s.v[i]);
		pthread_mutex_unlock(&inf->deliver_mu);
		snap_release(&s);
	}
	return NULL;
}

int n4j_informer_start(struct n4j_informer *inf, struct n4j_error *err)
{
	if (inf->started)
		return n4j_err(err, N4J_EINVAL, "informer: already started");
	if (pthread_create(&inf->thread, NULL, informer_main, inf) != 0)
		return n4j_err(err, N4J_ENOMEM, "informer: cannot start its thread");
	inf->started = true;
	if (inf->resync_ms > 0) {
		if (pthread_create(&inf->resync_thread, NULL, resync_main, inf) != 0) {
			n4j_informer_stop(inf);
			return n4j_err(err, N4J_ENOMEM, "informer: cannot start its resync thread");
		}
		inf->resync_started = true;
	}
	return 0;
}

bool n4j_informer_has_synced(const struct n4j_informer *inf)
{
	return atomic_load(&((struct n4j_informer *)inf)->synced);
}

struct n4j_cached *n4j_informer_get(struct n4j_informer *inf, const char *key)
{
	pthread_rwlock_rdlock(&inf->store_mu);
	struct n4j_cached *o = n4j_smap_get(&inf->store, key);
	n4j_cached_ref(o);
	pthread_rwlock_unlock(&inf->store_mu);
	return o;
}

void n4j_informer_each(struct n4j_informer *inf, void (*fn)(void *ud, struct n4j_cached *o),
		       void *ud)
{
	struct snap s;
	snapshot(inf, &s);
	for (size_t i = 0; i < s.n; i++)
		fn(ud, s.v[i]);
	snap_release(&s);
}

size_t n4j_informer_len(struct n4j_informer *inf)
{
	pthread_rwlock_rdlock(&inf->store_mu);
	size_t n = inf->store.len;
	pthread_rwlock_unlock(&inf->store_mu);
	return n;
}

void n4j_informer_stop(struct n4j_informer *inf)
{
	if (!inf)
		return;
	pthread_mutex_lock(&inf->mu);
	atomic_store(&inf->stop, true);
	pthread_cond_broadcast(&inf->cond);
	pthread_mutex_unlock(&inf->mu);
	if (inf->started)
		pthread_join(inf->thread, NULL);
	if (inf->resync_started)
		pthread_join(inf->resync_thread, NULL);
	inf->started = inf->resync_started = false;
}

void n4j_informer_free(struct n4j_informer *inf)
{
	if (!inf)
		return;
	n4j_informer_stop(inf);
	n4j_smap_each(&inf->store, unref_val, NULL);
	n4j_smap_free(&inf->store);
	pthread_cond_destroy(&inf->cond);
	pthread_mutex_destroy(&inf->mu);
	pthread_mutex_destroy(&inf->deliver_mu);
	pthread_rwlock_destroy(&inf->store_mu);
	free(inf->ns);
	free(inf->selector);
	free(inf);
}
