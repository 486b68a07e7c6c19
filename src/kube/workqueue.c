/*
 * client-go's workqueue, ported as reference §3.2 describes: a FIFO plus `dirty` and
 * `processing` sets give deduplication and one worker per key; a delay heap gives
 * add_after (the earlier time wins); the rate limiter is the max of a per-key exponential
 * backoff and a global token bucket (client-go's DefaultControllerRateLimiter).
 *
 * All per-key state lives in one entry of a hash map; an entry is dropped once it is
 * neither dirty, processing, delayed nor failing, so memory follows the live keys.
 * Delayed keys are promoted by getters (and by len/add calls) when due: there is no
 * timer thread, and a getter sleeps exactly until the earliest delay expires.
 *
 * Metrics follow client-go's defaultQueueMetrics (util/workqueue/metrics.go): an add that
 * makes a key dirty counts in adds and depth and stamps the key's add time (the first one
 * wins until a get); get observes add → get, done observes get → done; every add_after
 * (so every add_rate_limited too, which client-go implements as AddAfter) counts a retry.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kube/kube.h"
#include "kube/machinery.h"

struct entry {
	bool dirty, processing, queued;
	int failures;
	size_t heap_idx; /* SIZE_MAX: not delayed */
	int64_t ready_at;
	int64_t added_ns;   /* when it became dirty (valid while dirty) */
	int64_t started_ns; /* when a getter took it (valid while processing) */
	char key[];         /* a copy, so that heap and FIFO entries know their key */
};

struct n4j_workqueue {
	pthread_mutex_t mu;
	pthread_cond_t cond; /* getters, drain waiters */
	struct n4j_workqueue_opts o;
	struct n4j_smap entries;
	/* FIFO ring of entries */
	struct entry **fifo;
	size_t head, count, cap;
	/* delay min-heap on ready_at */
	struct entry **heap;
	size_t heap_len, heap_cap;
	size_t n_processing;
	size_t n_dirty; /* client-go's depth gauge: dirty keys, queued or waiting for done */
	uint64_t adds, retries;
	struct n4j_histogram queue_duration, work_duration;
	bool shutting_down;
	struct n4j_bucket bucket; /* the global rate */
};

int n4j_workqueue_new(const struct n4j_workqueue_opts *o, struct n4j_workqueue **out)
{
	struct n4j_workqueue *q = calloc(1, sizeof(*q));
	if (!q)
		return N4J_ENOMEM;
	q->o.base_delay_ms = o && o->base_delay_ms > 0 ? o->base_delay_ms : 5;
	q->o.max_delay_ms = o && o->max_delay_ms > 0 ? o->max_delay_ms : 1000L * 1000;
	q->o.qps = o && o->qps > 0 ? o->qps : 10;
	q->o.burst = o && o->burst > 0 ? o->burst : 100;
	n4j_bucket_init(&q->bucket, q->o.qps, q->o.burst, n4j_now_ms());
	n4j_smap_init(&q->entries);
	n4j_histogram_init(&q->queue_duration, N4J_HIST_QUEUE, N4J_HIST_QUEUE_N);
	n4j_histogram_init(&q->work_duration, N4J_HIST_QUEUE, N4J_HIST_QUEUE_N);
	if (pthread_mutex_init(&q->mu, NULL) != 0) {
		free(q);
		return N4J_ENOMEM;
	}
	if (n4j_mach_cond_init(&q->cond) != 0) {
		pthread_mutex_destroy(&q->mu);
		free(q);
		return N4J_ENOMEM;
	}
	*out = q;
	return 0;
}

static void free_entry(void *ud, const char *key, void *val)
{
	free(val);
}

void n4j_workqueue_free(struct n4j_workqueue *q)
{
	if (!q)
		return;
	n4j_smap_each(&q->entries, free_entry, NULL);
	n4j_smap_free(&q->entries);
	free(q->fifo);
	free(q->heap);
	pthread_cond_destroy(&q->cond);
	pthread_mutex_destroy(&q->mu);
	free(q);
}

static struct entry *lookup(struct n4j_workqueue *q, const char *key, bool create)
{
	struct entry *e = n4j_smap_get(&q->entries, key);
	if (e || !create)
		return e;
	size_t kl = strlen(key);
	e = calloc(1, sizeof(*e) + kl + 1);
	if (!e)
		return NULL;
	memcpy(e->key, key, kl + 1);
	e->heap_idx = SIZE_MAX;
	if (n4j_smap_put(&q->entries, key, e, NULL) != 0) {
		free(e);
		return NULL;
	}
	return e;
}

/* Drops an entry that carries no state any more. */
static void maybe_drop(struct n4j_workqueue *q, struct entry *e)
{
	if (!e->dirty && !e->processing && !e->queued && e->failures == 0 &&
	    e->heap_idx == SIZE_MAX) {
		n4j_smap_del(&q->entries, e->key);
		free(e);
	}
}

static bool fifo_push(struct n4j_workqueue *q, struct entry *e)
{
	if (q->count == q->cap) {
		size_t nc = q->cap ? q->cap * 2 : 64;
		struct entry **f = malloc(nc * sizeof(*f));
		if (!f)
			return false;
		for (size_t i = 0; i < q->count; i++)
			f[i] = q->fifo[(q->head + i) % q->cap];
		free(q->fifo);
		q->fifo = f;
		q->cap = nc;
		q->head = 0;
	}
	q->fifo[(q->head + q->count) % q->cap] = e;
	q->count++;
	e->queued = true;
	return true;
}

static struct entry *fifo_pop(struct n4j_workqueue *q)
{
	struct entry *e = q->fifo[q->head];
	q->head = (q->head + 1) % q->cap;
	q->count--;
	e->queued = false;
	return e;
}

/* ---- delay heap ---- */

static void heap_swap(struct n4j_workqueue *q, size_t a, size_t b)
{
	struct entry *t = q->heap[a];
	q->heap[a] = q->heap[b];
	q->heap[b] = t;
	q->heap[a]->heap_idx = a;
	q->heap[b]->heap_idx = b;
}

static void heap_up(struct n4j_workqueue *q, size_t i)
{
	while (i > 0) {
		size_t p = (i - 1) / 2;
		if (q->heap[p]->ready_at <= q->heap[i]->ready_at)
			break;
		heap_swap(q, p, i);
		i = p;
	}
}

static void heap_down(struct n4j_workqueue *q, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < q->heap_len && q->heap[l]->ready_at < q->heap[m]->ready_at)
			m = l;
		if (r < q->heap_len && q->heap[r]->ready_at < q->heap[m]->ready_at)
			m = r;
		if (m == i)
			return;
		heap_swap(q, i, m);
		i = m;
	}
}

static bool heap_push(struct n4j_workqueue *q, struct entry *e)
{
	if (q->heap_len == q->heap_cap) {
		size_t nc = q->heap_cap ? q->heap_cap * 2 : 64;
		struct entry **h = realloc(q->heap, nc * sizeof(*h));
		if (!h)
			return false;
		q->heap = h;
		q->heap_cap = nc;
	}
	e->heap_idx = q->heap_len;
	q->heap[q->heap_len++] = e;
	heap_up(q, e->heap_idx);
	return true;
}

static struct entry *heap_pop(struct n4j_workqueue *q)
{
	struct entry *e = q->heap[0];
	q->heap_len--;
	if (q->heap_len) {
		q->heap[0] = q->heap[q->heap_len];
		q->heap[0]->heap_idx = 0;
		heap_down(q, 0);
	}
	e->heap_idx = SIZE_MAX;
	return e;
}

/* ---- core ---- */

/* add() with q->mu held. */
static void add_locked(struct n4j_workqueue *q, const char *key)
{
	if (q->shutting_down)
		return;
	struct entry *e = lookup(q, key, true);
	if (!e || e->dirty)
		return;
	e->dirty = true;
	e->added_ns = n4j_now_ns();
	q->n_dirty++;
	q->adds++;
	if (e->processing)
		return; /* done() pushes it again */
	if (!fifo_push(q, e)) {
		e->dirty = false;
		q->n_dirty--;
		maybe_drop(q, e);
		return;
	}
	pthread_cond_signal(&q->cond);
}

/* Moves due delayed keys into the FIFO; returns the next deadline or INT64_MAX. */
static int64_t promote_due(struct n4j_workqueue *q, int64_t now)
{
	while (q->heap_len && q->heap[0]->ready_at <= now) {
		struct entry *e = heap_pop(q);
		if (q->shutting_down) {
			maybe_drop(q, e);
			continue;
		}
		/* The entry stays alive: it is dirty and queued (or processing) after this. */
		add_locked(q, e->key);
		maybe_drop(q, e);
	}
	return q->heap_len ? q->heap[0]->ready_at : INT64_MAX;
}

void n4j_workqueue_add(struct n4j_workqueue *q, const char *key)
{
	pthread_mutex_lock(&q->mu);
	add_locked(q, key);
	pthread_mutex_unlock(&q->mu);
}

static void add_after_locked(struct n4j_workqueue *q, const char *key, long delay_ms)
{
	if (q->shutting_down)
		return;
	q->retries++;
	if (delay_ms <= 0) {
		add_locked(q, key);
		return;
	}
	struct entry *e = lookup(q, key, true);
	if (!e)
		return;
	int64_t at = n4j_now_ms() + delay_ms;
	if (e->heap_idx != SIZE_MAX) {
		/* Already waiting: keep the earlier time, as client-go's waitingForQueue does. */
		if (at < e->ready_at) {
			e->ready_at = at;
			heap_up(q, e->heap_idx);
		}
	} else {
		e->ready_at = at;
		if (!heap_push(q, e)) {
			maybe_drop(q, e);
			return;
		}
	}
	/* A getter may be sleeping until a later deadline. */
	pthread_cond_broadcast(&q->cond);
}

void n4j_workqueue_add_after(struct n4j_workqueue *q, const char *key, long delay_ms)
{
	pthread_mutex_lock(&q->mu);
	add_after_locked(q, key, delay_ms);
	pthread_mutex_unlock(&q->mu);
}

/* ItemExponentialFailureRateLimiter: base·2^failures, capped, no jitter; counts the failure. */
static long item_delay(struct n4j_workqueue *q, struct entry *e)
{
	struct n4j_backoff b = {.base_ms = q->o.base_delay_ms, .cap_ms = q->o.max_delay_ms};
	int exp = e->failures;
	if (e->failures < INT32_MAX)
		e->failures++;
	return (long)n4j_backoff_ms(&b, exp, 0);
}

/* BucketRateLimiter: reserve one token; the wait is how far the bucket is in debt. */
static long bucket_delay(struct n4j_workqueue *q)
{
	return (long)n4j_bucket_take(&q->bucket, n4j_now_ms());
}

void n4j_workqueue_add_rate_limited(struct n4j_workqueue *q, const char *key)
{
	pthread_mutex_lock(&q->mu);
	if (!q->shutting_down) {
		struct entry *e = lookup(q, key, true);
		if (e) {
			long a = item_delay(q, e);
			long b = bucket_delay(q);
			add_after_locked(q, key, a > b ? a : b);
		}
	}
	pthread_mutex_unlock(&q->mu);
}

void n4j_workqueue_forget(struct n4j_workqueue *q, const char *key)
{
	pthread_mutex_lock(&q->mu);
	struct entry *e = lookup(q, key, false);
	if (e) {
		e->failures = 0;
		maybe_drop(q, e);
	}
	pthread_mutex_unlock(&q->mu);
}

int n4j_workqueue_retries(struct n4j_workqueue *q, const char *key)
{
	pthread_mutex_lock(&q->mu);
	struct entry *e = lookup(q, key, false);
	int n = e ? e->failures : 0;
	pthread_mutex_unlock(&q->mu);
	return n;
}

int n4j_workqueue_get(struct n4j_workqueue *q, char **key)
{
	*key = NULL;
	pthread_mutex_lock(&q->mu);
	for (;;) {
		int64_t next = promote_due(q, n4j_now_ms());
		if (q->count)
			break;
		if (q->shutting_down) {
			pthread_mutex_unlock(&q->mu);
			return N4J_ENOTFOUND;
		}
		if (next == INT64_MAX)
			pthread_cond_wait(&q->cond, &q->mu);
		else
			n4j_mach_cond_wait_until(&q->cond, &q->mu, next);
	}
	struct entry *e = fifo_pop(q);
	char *k = strdup(e->key);
	if (!k) {
		/* Put it back rather than lose it; the caller sees an error and retries. */
		fifo_push(q, e);
		pthread_mutex_unlock(&q->mu);
		return N4J_ENOMEM;
	}
	int64_t now = n4j_now_ns();
	e->processing = true;
	e->dirty = false;
	q->n_dirty--;
	e->started_ns = now;
	q->n_processing++;
	n4j_histogram_observe(&q->queue_duration, (double)(now - e->added_ns) / 1e9);
	pthread_mutex_unlock(&q->mu);
	*key = k;
	return 0;
}

void n4j_workqueue_done(struct n4j_workqueue *q, const char *key)
{
	pthread_mutex_lock(&q->mu);
	struct entry *e = lookup(q, key, false);
	if (e && e->processing) {
		e->processing = false;
		q->n_processing--;
		n4j_histogram_observe(&q->work_duration,
				      (double)(n4j_now_ns() - e->started_ns) / 1e9);
		/* Changed while being processed: process it again (no lost change). */
		if (e->dirty && !fifo_push(q, e)) {
			e->dirty = false;
			q->n_dirty--;
		}
		if (e->dirty)
			pthread_cond_signal(&q->cond);
		maybe_drop(q, e);
		if (q->n_processing == 0)
			pthread_cond_broadcast(&q->cond); /* drain waiters */
	}
	pthread_mutex_unlock(&q->mu);
}

size_t n4j_workqueue_len(struct n4j_workqueue *q)
{
	pthread_mutex_lock(&q->mu);
	promote_due(q, n4j_now_ms());
	size_t n = q->count;
	pthread_mutex_unlock(&q->mu);
	return n;
}

void n4j_workqueue_shutdown(struct n4j_workqueue *q, bool drain)
{
	pthread_mutex_lock(&q->mu);
	q->shutting_down = true;
	/* Delayed keys are dropped, as client-go's delaying queue stops its timer loop. */
	while (q->heap_len) {
		struct entry *e = heap_pop(q);
		maybe_drop(q, e);
	}
	pthread_cond_broadcast(&q->cond);
	/* client-go waits for the processing set only; getters still hand out what was
	 * queued before the shutdown, so workers finish those keys too. */
	if (drain)
		while (q->n_processing > 0)
			pthread_cond_wait(&q->cond, &q->mu);
	pthread_mutex_unlock(&q->mu);
}

struct unfinished {
	int64_t now;
	double total, oldest;
};

static void sum_unfinished(void *ud, const char *key, void *val)
{
	struct unfinished *u = ud;
	const struct entry *e = val;
	(void)key;
	if (!e->processing)
		return;
	double age = (double)(u->now - e->started_ns) / 1e9;
	u->total += age;
	if (age > u->oldest)
		u->oldest = age;
}

void n4j_workqueue_stats(struct n4j_workqueue *q, struct n4j_workqueue_stats *out)
{
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&q->mu);
	/* Due delayed keys are promoted lazily; client-go's timer loop would have added them. */
	promote_due(q, n4j_now_ms());
	out->depth = q->n_dirty;
	out->adds = q->adds;
	out->retries = q->retries;
	/* client-go recomputes these on a 500 ms tick; a scrape-time walk is exact and the
	 * map holds only live keys. */
	struct unfinished u = {.now = n4j_now_ns()};
	if (q->n_processing)
		n4j_smap_each(&q->entries, sum_unfinished, &u);
	out->unfinished_work_seconds = u.total;
	out->longest_running_seconds = u.oldest;
	pthread_mutex_unlock(&q->mu);
	n4j_histogram_read(&q->queue_duration, &out->queue_duration);
	n4j_histogram_read(&q->work_duration, &out->work_duration);
}
