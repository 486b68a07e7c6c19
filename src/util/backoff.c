/* Random source for jitter, exponential backoff and the token bucket: pure arithmetic,
 * so that tests drive them with a fixed seed and an injected clock. */
#include <math.h>

#include "util/util.h"

void n4j_rng_seed(struct n4j_rng *r, uint64_t seed)
{
	atomic_store(&r->state, seed);
}

uint64_t n4j_rng_next(struct n4j_rng *r)
{
	/* splitmix64 over an atomic counter: each caller gets a distinct step without a
	 * lock, and equal seeds give equal sequences (tests). */
	uint64_t z = atomic_fetch_add(&r->state, 0x9E3779B97F4A7C15ULL) + 0x9E3779B97F4A7C15ULL;
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

double n4j_rng_01(struct n4j_rng *r)
{
	return (double)(n4j_rng_next(r) >> 11) / 9007199254740992.0; /* 53 bits: [0, 1) */
}

int64_t n4j_backoff_ms(const struct n4j_backoff *b, int attempt, double r01)
{
	if (b->base_ms <= 0)
		return 0;
	double cap = b->cap_ms > b->base_ms ? (double)b->cap_ms : (double)b->base_ms;
	/* ldexp saturates to inf for huge exponents instead of overflowing an integer. */
	double d = ldexp((double)b->base_ms, attempt < 0 ? 0 : attempt > 1000 ? 1000 : attempt);
	if (d > cap)
		d = cap;
	if (!(r01 >= 0.0))
		r01 = 0.0; /* also NaN */
	if (r01 > 1.0)
		r01 = 1.0;
	double lo = b->jitter_min, hi = b->jitter_max > lo ? b->jitter_max : lo;
	d *= 1.0 + lo + (hi - lo) * r01;
	return d > 0 ? (int64_t)d : 0;
}

void n4j_bucket_init(struct n4j_bucket *b, double rate, double burst, int64_t now_ms)
{
	b->rate = rate;
	b->burst = burst >= 1 ? burst : 1;
	b->tokens = b->burst;
	b->last_ms = now_ms;
}

static void refill(struct n4j_bucket *b, int64_t now_ms)
{
	/* A clock that goes backwards (an injected one) must not drain the bucket. */
	if (now_ms > b->last_ms) {
		b->tokens += (double)(now_ms - b->last_ms) * b->rate / 1000.0;
		if (b->tokens > b->burst)
			b->tokens = b->burst;
		b->last_ms = now_ms;
	}
}

static int64_t debt_ms(const struct n4j_bucket *b, double tokens)
{
	return tokens >= 0 ? 0 : (int64_t)ceil(-tokens * 1000.0 / b->rate);
}

int64_t n4j_bucket_take(struct n4j_bucket *b, int64_t now_ms)
{
	if (b->rate <= 0)
		return 0;
	refill(b, now_ms);
	b->tokens -= 1.0;
	return debt_ms(b, b->tokens);
}

bool n4j_bucket_try_take(struct n4j_bucket *b, int64_t now_ms)
{
	if (b->rate <= 0)
		return true;
	refill(b, now_ms);
	if (b->tokens < 1.0)
		return false;
	b->tokens -= 1.0;
	return true;
}

int64_t n4j_bucket_wait_ms(const struct n4j_bucket *b, int64_t now_ms)
{
	if (b->rate <= 0)
		return 0;
	struct n4j_bucket t = *b;
	refill(&t, now_ms);
	return debt_ms(&t, t.tokens - 1.0);
}
