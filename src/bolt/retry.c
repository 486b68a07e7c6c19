/* Retry with exponential backoff, jitter, a cap and an overall deadline (bolt.md 7). */
#include "bolt/internal.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>

static int def(int v, int d)
{
	return v > 0 ? v : d;
}

int n4j_bolt_retry_delay_ms(const struct n4j_bolt_retry *p, int attempt, double r01)
{
	double initial = def(p->initial_ms, 500), cap = def(p->max_ms, 10000);
	double jitter = p->jitter > 0 && p->jitter < 1 ? p->jitter : 0.2;
	double d = initial;
	for (int i = 0; i < attempt && d < cap; i++)
		d *= 2;
	if (d > cap)
		d = cap;
	d *= 1.0 - jitter + 2.0 * jitter * r01;
	return (int)d;
}

static void sleep_ms(int64_t ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

int n4j_bolt_with_retry(const struct n4j_bolt_retry *p,
			int (*fn)(void *ctx, enum n4j_bolt_class *cls, struct n4j_error *err),
			void *ctx, struct n4j_error *err)
{
	int64_t deadline = bolt_now_ms() + def(p->deadline_ms, 60000);
	/* per-call seed: jitter only needs to decorrelate workers, not be secret */
	unsigned seed = (unsigned)bolt_now_ms() ^ (unsigned)(uintptr_t)ctx;
	bool rerouted = false;
	for (int attempt = 0;; attempt++) {
		enum n4j_bolt_class cls = N4J_BOLT_CLASS_NONE;
		int rc = fn(ctx, &cls, err);
		if (rc == 0)
			return 0;
		if (cls != N4J_BOLT_CLASS_RETRYABLE && cls != N4J_BOLT_CLASS_REROUTE)
			return rc;
		if (cls == N4J_BOLT_CLASS_REROUTE && !rerouted) {
			rerouted = true; /* the first NotALeader: re-route and retry at once */
			continue;
		}
		int64_t delay =
			n4j_bolt_retry_delay_ms(p, attempt, (double)rand_r(&seed) / RAND_MAX);
		if (bolt_now_ms() + delay >= deadline)
			return rc;
		sleep_ms(delay);
	}
}
