/* Retry with exponential backoff, jitter, a cap and an overall deadline (bolt.md 7). */
#include "bolt/internal.h"

static int def(int v, int d)
{
	return v > 0 ? v : d;
}

int n4j_bolt_retry_delay_ms(const struct n4j_bolt_retry *p, int attempt, double r01)
{
	double jitter = p->jitter > 0 && p->jitter < 1 ? p->jitter : 0.2;
	struct n4j_backoff b = {.base_ms = def(p->initial_ms, 500),
				.cap_ms = def(p->max_ms, 10000),
				.jitter_min = -jitter,
				.jitter_max = jitter};
	return (int)n4j_backoff_ms(&b, attempt, r01);
}

int n4j_bolt_with_retry(const struct n4j_bolt_retry *p,
			int (*fn)(void *ctx, enum n4j_bolt_class *cls, struct n4j_error *err),
			void *ctx, struct n4j_error *err)
{
	int64_t deadline = n4j_now_ms() + def(p->deadline_ms, 60000);
	/* per-call seed: jitter only needs to decorrelate workers, not be secret */
	struct n4j_rng rng;
	n4j_rng_seed(&rng, (uint64_t)n4j_wall_ns() ^ (uint64_t)(uintptr_t)ctx);
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
		int64_t delay = n4j_bolt_retry_delay_ms(p, attempt, n4j_rng_01(&rng));
		if (n4j_now_ms() + delay >= deadline)
			return rc;
		n4j_sleep_ms(delay);
	}
}
