/* Workqueue and worker pool: dedup, per-key exclusivity, no lost change, backoff,
 * add_after, shutdown with drain. Timing bounds are generous on purpose. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "kube/kube.h"
#include "kube/machinery.h"

/* Gets one key and reports how long it took (ms). */
static long timed_get(struct n4j_workqueue *q, const char *want)
{
	int64_t t0 = n4j_now_ms();
	char *k = NULL;
	int rc = n4j_workqueue_get(q, &k);
	long dt = (long)(n4j_now_ms() - t0);
	T(rc == 0 && k && strcmp(k, want) == 0);
	if (k)
		n4j_workqueue_done(q, k);
	free(k);
	return dt;
}

static void test_dedup(void)
{
	struct n4j_workqueue *q;
	T(n4j_workqueue_new(NULL, &q) == 0);
	n4j_workqueue_add(q, "a");
	n4j_workqueue_add(q, "a");
	n4j_workqueue_add(q, "b");
	T(n4j_workqueue_len(q) == 2);
	char *k;
	T(n4j_workqueue_get(q, &k) == 0 && strcmp(k, "a") == 0);
	/* Dirty while processing: not queued twice, re-queued by done(). */
	n4j_workqueue_add(q, "a");
	n4j_workqueue_add(q, "a");
	T(n4j_workqueue_len(q) == 1);
	n4j_workqueue_done(q, k);
	free(k);
	T(n4j_workqueue_len(q) == 2);
	n4j_workqueue_shutdown(q, false);
	/* Queued keys are still handed out after shutdown, then ENOTFOUND. */
	int got = 0;
	while (n4j_workqueue_get(q, &k) == 0) {
		got++;
		n4j_workqueue_done(q, k);
		free(k);
	}
	T(got == 2);
	n4j_workqueue_add(q, "c"); /* refused */
	T(n4j_workqueue_len(q) == 0);
	n4j_workqueue_free(q);
}

static void test_rate_limiter(void)
{
	/* Per-key exponential: 100, 200, 400 ms; the bucket is wide open here. */
	struct n4j_workqueue_opts o = {
		.base_delay_ms = 100, .max_delay_ms = 300, .qps = 1000, .burst = 1000};
	struct n4j_workqueue *q;
	T(n4j_workqueue_new(&o, &q) == 0);
	long want[] = {100, 200, 300, 300}; /* capped at max */
	for (int i = 0; i < 4; i++) {
		n4j_workqueue_add_rate_limited(q, "k");
		T(n4j_workqueue_retries(q, "k") == i + 1);
		long dt = timed_get(q, "k");
		if (dt < want[i] - 10 || dt > want[i] + 2000)
			fprintf(stderr, "rate limiter step %d: %ld ms, want ~%ld\n", i, dt,
				want[i]);
		T(dt >= want[i] - 10 && dt <= want[i] + 2000);
	}
	n4j_workqueue_forget(q, "k");
	T(n4j_workqueue_retries(q, "k") == 0);
	n4j_workqueue_shutdown(q, true);
	n4j_workqueue_free(q);

	/* Global bucket: burst 2 at 10 qps, base 1 ms: the 3rd..5th wait 100..300 ms. */
	struct n4j_workqueue_opts b = {
		.base_delay_ms = 1, .max_delay_ms = 1000, .qps = 10, .burst = 2};
	T(n4j_workqueue_new(&b, &q) == 0);
	int64_t t0 = n4j_now_ms();
	const char *keys[] = {"a", "b", "c", "d", "e"};
	for (int i = 0; i < 5; i++)
		n4j_workqueue_add_rate_limited(q, keys[i]);
	int n = 0;
	while (n < 5) {
		char *k;
		if (n4j_workqueue_get(q, &k) != 0)
			break;
		n4j_workqueue_done(q, k);
		free(k);
		n++;
	}
	long dt = (long)(n4j_now_ms() - t0);
	T(n == 5);
	T(dt >= 280 && dt < 5000);
	n4j_workqueue_shutdown(q, true);
	n4j_workqueue_free(q);
}

static void test_add_after(void)
{
	struct n4j_workqueue *q;
	T(n4j_workqueue_new(NULL, &q) == 0);
	/* A later add_after does not postpone an earlier one... */
	n4j_workqueue_add_after(q, "k", 150);
	n4j_workqueue_add_after(q, "k", 5000);
	long dt = timed_get(q, "k");
	T(dt >= 140 && dt < 3000);
	/* ...and an earlier one advances a later one. */
	n4j_workqueue_add_after(q, "k", 5000);
	n4j_workqueue_add_after(q, "k", 100);
	dt = timed_get(q, "k");
	T(dt >= 90 && dt < 3000);
	/* Delayed keys are not visible before their time. */
	n4j_workqueue_add_after(q, "x", 300);
	T(n4j_workqueue_len(q) == 0);
	sleep_ms(400);
	T(n4j_workqueue_len(q) == 1);
	n4j_workqueue_shutdown(q, false);
	n4j_workqueue_free(q);
}

struct drain_ctx {
	struct n4j_workqueue *q;
	atomic_bool started;
	atomic_bool finished;
};

static void *slow_worker(void *arg)
{
	struct drain_ctx *d = arg;
	char *k;
	if (n4j_workqueue_get(d->q, &k) == 0) {
		atomic_store(&d->started, true);
		sleep_ms(300);
		atomic_store(&d->finished, true);
		n4j_workqueue_done(d->q, k);
		free(k);
	}
	return NULL;
}

static void test_drain(void)
{
	struct drain_ctx d;
	T(n4j_workqueue_new(NULL, &d.q) == 0);
	atomic_init(&d.started, false);
	atomic_init(&d.finished, false);
	n4j_workqueue_add(d.q, "busy");
	n4j_workqueue_add_after(d.q, "later", 60000);
	pthread_t t;
	pthread_create(&t, NULL, slow_worker, &d);
	/* Shut down only once the worker holds the key: a fixed sleep raced a worker
	 * slowed by valgrind or a busy machine, and the key was simply dropped. */
	for (int i = 0; i < 10000 && !atomic_load(&d.started); i++)
		sleep_ms(1);
	T(atomic_load(&d.started));
	n4j_workqueue_shutdown(d.q, true);
	T(atomic_load(&d.finished)); /* shutdown waited for the key in progress */
	pthread_join(t, NULL);
	char *k;
	T(n4j_workqueue_get(d.q, &k) == N4J_ENOTFOUND); /* delayed keys are dropped */
	n4j_workqueue_free(d.q);
}

/* ---- the stress test: 8 workers, 8 producers, 100k adds over 1000 keys ---- */

#define NKEYS 1000
#define NADDS 100000
#define NPROD 8
#define NWORK 8

static struct n4j_workqueue *sq;
static atomic_int busy[NKEYS];    /* 1 while a worker holds the key */
static atomic_long wanted[NKEYS]; /* bumped by producers before each add */
static atomic_long seen[NKEYS];   /* the `wanted` a worker saw when it started */
static atomic_long processed, overlaps, retried;
static atomic_int fail_once[NKEYS];

static long stress_fn(void *ud, const char *key)
{
	int i = atoi(key + 1);
	if (atomic_exchange(&busy[i], 1) != 0)
		atomic_fetch_add(&overlaps, 1);
	long w = atomic_load(&wanted[i]);
	atomic_fetch_add(&processed, 1);
	long r = 0;
	/* Every 97th key fails once (rate limited), every 89th asks for a short requeue. */
	if (i % 97 == 0 && atomic_exchange(&fail_once[i], 1) == 0) {
		atomic_fetch_add(&retried, 1);
		r = -1;
	} else if (i % 89 == 0 && atomic_exchange(&fail_once[i], 2) == 0) {
		r = 20;
	} else {
		atomic_store(&seen[i], w);
	}
	atomic_store(&busy[i], 0);
	return r;
}

static void *producer(void *arg)
{
	long id = (long)(intptr_t)arg;
	uint64_t s = 0x9E3779B97F4A7C15ULL * (uint64_t)(id + 1);
	for (int n = 0; n < NADDS / NPROD; n++) {
		s ^= s << 13;
		s ^= s >> 7;
		s ^= s << 17;
		int i = (int)(s % NKEYS);
		char k[16];
		snprintf(k, sizeof(k), "k%d", i);
		atomic_fetch_add(&wanted[i], 1);
		n4j_workqueue_add(sq, k);
	}
	return NULL;
}

static void test_stress(void)
{
	T(n4j_workqueue_new(&(struct n4j_workqueue_opts){.qps = 100000, .burst = 100000}, &sq) ==
	  0);
	struct n4j_workers *w;
	T(n4j_workers_start(sq, NWORK, stress_fn, NULL, &w) == 0);
	pthread_t p[NPROD];
	for (long i = 0; i < NPROD; i++)
		pthread_create(&p[i], NULL, producer, (void *)(intptr_t)i);
	for (int i = 0; i < NPROD; i++)
		pthread_join(p[i], NULL);
	/* Wait (generously) until every key's last add has been seen by a worker. */
	int64_t deadline = n4j_now_ms() + 60000;
	int lagging = NKEYS;
	while (n4j_now_ms() < deadline) {
		lagging = 0;
		for (int i = 0; i < NKEYS; i++)
			if (atomic_load(&wanted[i]) > 0 &&
			    atomic_load(&seen[i]) != atomic_load(&wanted[i]))
				lagging++;
		if (!lagging)
			break;
		sleep_ms(20);
	}
	n4j_workqueue_shutdown(sq, true);
	n4j_workers_stop(w);
	long total = 0;
	for (int i = 0; i < NKEYS; i++)
		total += atomic_load(&wanted[i]);
	printf("stress: %ld adds, %ld processed, %ld rate-limited, %d lagging, %ld overlaps\n",
	       total, atomic_load(&processed), atomic_load(&retried), lagging,
	       atomic_load(&overlaps));
	T(total == NADDS);
	T(lagging == 0);                                 /* no lost change */
	T(atomic_load(&overlaps) == 0);                  /* never two workers on one key */
	T(atomic_load(&processed) <= NADDS + 2 * NKEYS); /* dedup never multiplies work */
	T(atomic_load(&retried) > 0);
	n4j_workqueue_free(sq);
}

/* Worker results: 0 forgets, >0 requeues after ms, <0 rate-limits with retries. */
static atomic_int calls;
static long result_fn(void *ud, const char *key)
{
	int n = atomic_fetch_add(&calls, 1);
	struct n4j_workqueue *q = ud;
	if (n == 0) {
		return -1;
	}
	if (n == 1) {
		T(n4j_workqueue_retries(q, key) == 1);
		return 50;
	}
	T(n4j_workqueue_retries(q, key) == 0); /* >0 forgets too */
	return 0;
}

static void test_workers_results(void)
{
	struct n4j_workqueue *q;
	T(n4j_workqueue_new(NULL, &q) == 0);
	struct n4j_workers *w;
	T(n4j_workers_start(q, 2, result_fn, q, &w) == 0);
	n4j_workqueue_add(q, "x");
	int64_t deadline = n4j_now_ms() + 5000;
	while (atomic_load(&calls) < 3 && n4j_now_ms() < deadline)
		sleep_ms(5);
	T(atomic_load(&calls) == 3);
	n4j_workqueue_shutdown(q, true);
	n4j_workers_stop(w);
	T(n4j_workqueue_retries(q, "x") == 0);
	n4j_workqueue_free(q);
}

/* The bucket index of the first bound >= v (bounds from N4J_HIST_QUEUE). */
static size_t qbucket(double v)
{
	size_t i = 0;
	while (i < N4J_HIST_QUEUE_N && N4J_HIST_QUEUE[i] < v)
		i++;
	return i;
}

/*
 * client-go's workqueue metrics: depth (dirty keys, not delayed ones), adds (only adds that
 * make a key dirty), retries (every add_after and add_rate_limited), add → get and
 * get → done durations per key, and the age of the keys in processing. Durations come
 * from real sleeps; only lower bounds are asserted (a sleep is never shorter), the upper
 * ones are the histogram's last bucket: nothing here depends on the machine's speed.
 */
static void test_stats(void)
{
	struct n4j_workqueue *q;
	struct n4j_workqueue_stats st;
	T(n4j_workqueue_new(NULL, &q) == 0);
	n4j_workqueue_stats(q, &st);
	T(st.depth == 0 && st.adds == 0 && st.retries == 0);
	T(st.queue_duration.n == N4J_HIST_QUEUE_N && st.queue_duration.count == 0);
	T(st.work_duration.n == N4J_HIST_QUEUE_N && st.work_duration.count == 0);

	n4j_workqueue_add(q, "a");
	n4j_workqueue_add(q, "a"); /* already dirty: not an add */
	n4j_workqueue_add(q, "b");
	n4j_workqueue_add_after(q, "c", 600000); /* delayed: a retry, not in depth */
	n4j_workqueue_stats(q, &st);
	CHECK_INT(st.depth, 2);
	CHECK_INT(st.adds, 2);
	CHECK_INT(st.retries, 1);
	n4j_workqueue_add_after(q, "d", 0); /* no delay: a retry and an add */
	n4j_workqueue_add_rate_limited(q, "e");
	n4j_workqueue_stats(q, &st);
	CHECK_INT(st.retries, 3);
	CHECK(st.depth >= 3 && st.depth <= 4); /* e joins once its 5 ms backoff is due */
	CHECK(st.adds >= 3 && st.adds <= 4);

	n4j_sleep_ms(20);
	/* e's 5 ms backoff is over: ready, so in depth, although no getter promoted it. */
	n4j_workqueue_stats(q, &st);
	CHECK_INT(st.depth, 4);
	CHECK_INT(st.adds, 4);
	char *k = NULL;
	T(n4j_workqueue_get(q, &k) == 0 && check_streq(k, "a"));
	n4j_workqueue_stats(q, &st);
	CHECK_INT(st.queue_duration.count, 1);
	/* "a" waited >= 20 ms: not in the 1 ms bucket, within the last one (100 s). */
	CHECK_INT(st.queue_duration.cumulative[qbucket(1e-3)], 0);
	CHECK_INT(st.queue_duration.cumulative[N4J_HIST_QUEUE_N - 1], 1);
	CHECK_MSG(st.queue_duration.sum >= 0.02, "sum %g", st.queue_duration.sum);
	CHECK_INT(st.work_duration.count, 0);

	/* longest_running grows while "a" is processed. */
	n4j_sleep_ms(20);
	n4j_workqueue_stats(q, &st);
	double first = st.longest_running_seconds;
	CHECK_MSG(first >= 0.02, "longest %g", first);
	CHECK_MSG(st.unfinished_work_seconds >= first, "unfinished %g", st.unfinished_work_seconds);
	n4j_sleep_ms(20);
	char *k2 = NULL;
	T(n4j_workqueue_get(q, &k2) == 0 && check_streq(k2, "b"));
	n4j_workqueue_stats(q, &st);
	CHECK_MSG(st.longest_running_seconds >= first + 0.02, "longest %g after %g",
		  st.longest_running_seconds, first);
	/* Two in processing: the sum covers both. */
	CHECK_MSG(st.unfinished_work_seconds >= st.longest_running_seconds,
		  "unfinished %g longest %g", st.unfinished_work_seconds,
		  st.longest_running_seconds);

	/* Re-added while processing: an add, and counted in depth (client-go's gauge) until a
	 * getter takes it after done(). */
	uint64_t adds = st.adds;
	size_t depth = st.depth;
	n4j_workqueue_add(q, "a");
	n4j_workqueue_stats(q, &st);
	CHECK_INT(st.adds, adds + 1);
	CHECK_INT(st.depth, depth + 1);
	n4j_workqueue_done(q, k);
	n4j_workqueue_stats(q, &st);
	CHECK_INT(st.depth, depth + 1);
	CHECK_INT(st.work_duration.count, 1);
	/* "a" was processed for >= 40 ms. */
	CHECK_INT(st.work_duration.cumulative[qbucket(1e-3)], 0);
	CHECK_INT(st.work_duration.cumulative[N4J_HIST_QUEUE_N - 1], 1);
	CHECK_MSG(st.work_duration.sum >= 0.04, "sum %g", st.work_duration.sum);
	n4j_workqueue_done(q, k2);
	free(k);
	free(k2);

	/* Drain what is ready; the delayed "c" stays out of depth. */
	for (;;) {
		n4j_workqueue_stats(q, &st);
		if (st.depth == 0)
			break;
		T(n4j_workqueue_get(q, &k) == 0);
		n4j_workqueue_done(q, k);
		free(k);
	}
	n4j_workqueue_stats(q, &st);
	CHECK_INT(st.depth, 0);
	CHECK(st.unfinished_work_seconds == 0 && st.longest_running_seconds == 0);
	CHECK_INT(st.queue_duration.count, st.work_duration.count);
	CHECK_INT(st.queue_duration.count, st.adds);
	CHECK_INT(n4j_workqueue_len(q), 0);

	/* After shutdown nothing counts. */
	n4j_workqueue_shutdown(q, false);
	uint64_t a0 = st.adds, r0 = st.retries;
	n4j_workqueue_add(q, "z");
	n4j_workqueue_add_after(q, "z", 10);
	n4j_workqueue_add_rate_limited(q, "z");
	n4j_workqueue_stats(q, &st);
	CHECK_INT(st.adds, a0);
	CHECK_INT(st.retries, r0);
	CHECK_INT(st.depth, 0);
	n4j_workqueue_free(q);
}

int main(void)
{
	test_stats();
	test_dedup();
	test_rate_limiter();
	test_add_after();
	test_drain();
	test_workers_results();
	test_stress();
	CHECK_DONE();
}
