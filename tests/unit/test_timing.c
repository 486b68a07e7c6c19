/* The clock, the random source, the backoff and the token bucket of util: the arithmetic
 * is driven with fixed seeds and an injected clock, so nothing here depends on timing
 * except the few checks of the real clock itself. */
#include <limits.h>
#include <math.h>
#include <stdint.h>

#include "check.h"
#include "util/util.h"

static void test_clock(void)
{
	int64_t prev = n4j_now_ns();
	bool monotonic = true;
	for (int i = 0; i < 100000; i++) {
		int64_t t = n4j_now_ns();
		monotonic = monotonic && t >= prev;
		prev = t;
	}
	CHECK(monotonic);
	int64_t t0 = n4j_now_ms();
	CHECK(llabs(t0 - n4j_now_ns() / 1000000) <= 1);
	n4j_sleep_ms(50);
	int64_t slept = n4j_now_ms() - t0;
	CHECK_MSG(slept >= 50 && slept < 2000, "slept %lld ms", (long long)slept);
	n4j_sleep_ms(0);
	n4j_sleep_ms(-5); /* returns at once */
	CHECK(n4j_now_ms() - t0 < 2000);

	int64_t d = n4j_deadline_ms(10000);
	CHECK(n4j_ms_left(d) > 9000 && n4j_ms_left(d) <= 10000);
	CHECK_INT(n4j_ms_left(n4j_now_ms() - 5), 0);
	CHECK(n4j_deadline_ms(-100) <= n4j_now_ms());

	char ts[40];
	n4j_format_time(0, true, ts, sizeof(ts));
	CHECK_STR(ts, "1970-01-01T00:00:00.000000Z");
	n4j_format_time(1234567890123456789LL, true, ts, sizeof(ts));
	CHECK_STR(ts, "2009-02-13T23:31:30.123456Z");
	n4j_format_time(1234567890123456789LL, false, ts, sizeof(ts));
	CHECK_STR(ts, "2009-02-13T23:31:30Z");
	CHECK(n4j_wall_ns() > 1700000000LL * 1000000000LL);
}

static void test_rng(void)
{
	struct n4j_rng a, b, c;
	n4j_rng_seed(&a, 42);
	n4j_rng_seed(&b, 42);
	n4j_rng_seed(&c, 43);
	bool same = true, differ = false;
	for (int i = 0; i < 100; i++) {
		uint64_t x = n4j_rng_next(&a), y = n4j_rng_next(&b), z = n4j_rng_next(&c);
		same = same && x == y;
		differ = differ || x != z;
	}
	CHECK(same);   /* a seed fixes the sequence: tests are deterministic */
	CHECK(differ); /* and the seed matters */
	double sum = 0, lo = 1, hi = 0;
	bool in_range = true;
	for (int i = 0; i < 100000; i++) {
		double r = n4j_rng_01(&a);
		in_range = in_range && r >= 0 && r < 1;
		sum += r;
		lo = r < lo ? r : lo;
		hi = r > hi ? r : hi;
	}
	CHECK(in_range);
	CHECK_MSG(fabs(sum / 100000 - 0.5) < 0.01, "mean %f", sum / 100000);
	CHECK(lo < 0.001 && hi > 0.999);
}

static void test_backoff(void)
{
	/* No jitter: exact doubling up to the cap, and saturation far past it. */
	struct n4j_backoff plain = {.base_ms = 100, .cap_ms = 5000};
	int64_t want[] = {100, 200, 400, 800, 1600, 3200, 5000, 5000};
	for (int a = 0; a < 8; a++)
		CHECK_INT(n4j_backoff_ms(&plain, a, 0.7), want[a]);
	CHECK_INT(n4j_backoff_ms(&plain, 63, 0), 5000);
	CHECK_INT(n4j_backoff_ms(&plain, 64, 0), 5000);
	CHECK_INT(n4j_backoff_ms(&plain, INT_MAX, 0), 5000);
	CHECK_INT(n4j_backoff_ms(&plain, -3, 0), 100);
	struct n4j_backoff none = {.base_ms = 0, .cap_ms = 5000, .jitter_max = 1};
	CHECK_INT(n4j_backoff_ms(&none, 5, 0.5), 0);
	/* A cap below the base is the base: a constant period (leader retries). */
	struct n4j_backoff constant = {.base_ms = 2000, .jitter_max = 0.1};
	CHECK_INT(n4j_backoff_ms(&constant, 0, 0), 2000);
	CHECK_INT(n4j_backoff_ms(&constant, 9, 1), 2200);

	/* Symmetric jitter: the ends and the middle of the range. */
	struct n4j_backoff sym = {
		.base_ms = 500, .cap_ms = 10000, .jitter_min = -0.2, .jitter_max = 0.2};
	CHECK_INT(n4j_backoff_ms(&sym, 0, 0.0), 400);
	CHECK_INT(n4j_backoff_ms(&sym, 0, 0.5), 500);
	CHECK_INT(n4j_backoff_ms(&sym, 0, 1.0), 600);
	CHECK_INT(n4j_backoff_ms(&sym, 30, 1.0), 12000);
	CHECK_INT(n4j_backoff_ms(&sym, 0, -1), 400); /* out-of-range r01 is clamped */
	CHECK_INT(n4j_backoff_ms(&sym, 0, 7), 600);
	CHECK_INT(n4j_backoff_ms(&sym, 0, NAN), 400);

	/* Many attempts with real jitter: every delay inside its band, and the band is
	 * actually used (not a constant multiplier). */
	struct n4j_rng r;
	n4j_rng_seed(&r, 7);
	struct n4j_backoff jit = {.base_ms = 800, .cap_ms = 30000, .jitter_max = 1};
	for (int a = 0; a < 80; a++) {
		double d = 800.0 * pow(2, a < 20 ? a : 20);
		if (d > 30000)
			d = 30000;
		int64_t lo = INT64_MAX, hi = 0;
		bool inside = true;
		for (int i = 0; i < 500; i++) {
			int64_t v = n4j_backoff_ms(&jit, a, n4j_rng_01(&r));
			inside = inside && v >= (int64_t)d && v <= (int64_t)(2 * d);
			lo = v < lo ? v : lo;
			hi = v > hi ? v : hi;
		}
		CHECK_MSG(inside, "attempt %d: a delay outside [%g, %g]", a, d, 2 * d);
		CHECK_MSG(lo < d * 1.05 && hi > d * 1.95, "attempt %d: spread %lld..%lld", a,
			  (long long)lo, (long long)hi);
	}
}

static void test_bucket(void)
{
	/* 10 tokens/s, burst 5, on a fake clock in ms. */
	struct n4j_bucket b;
	n4j_bucket_init(&b, 10, 5, 1000);
	for (int i = 0; i < 5; i++)
		CHECK(n4j_bucket_try_take(&b, 1000));
	CHECK(!n4j_bucket_try_take(&b, 1000));
	CHECK_INT(n4j_bucket_wait_ms(&b, 1000), 100);
	CHECK_INT(n4j_bucket_wait_ms(&b, 1040), 60); /* wait_ms only looks */
	CHECK(!n4j_bucket_try_take(&b, 1099));
	CHECK(n4j_bucket_try_take(&b, 1100));
	CHECK(!n4j_bucket_try_take(&b, 1100));
	/* A long pause refills only up to the burst. */
	int n = 0;
	while (n4j_bucket_try_take(&b, 100000) && n < 100)
		n++;
	CHECK_INT(n, 5);
	/* A clock that goes back neither refills nor drains. */
	CHECK(!n4j_bucket_try_take(&b, 50));
	CHECK_INT(n4j_bucket_wait_ms(&b, 50), 100);
	CHECK(n4j_bucket_try_take(&b, 100100));

	/* take: reservations in debt, waits growing by 1/rate each. */
	struct n4j_bucket d;
	n4j_bucket_init(&d, 10, 2, 0);
	CHECK_INT(n4j_bucket_take(&d, 0), 0);
	CHECK_INT(n4j_bucket_take(&d, 0), 0);
	CHECK_INT(n4j_bucket_take(&d, 0), 100);
	CHECK_INT(n4j_bucket_take(&d, 0), 200);
	CHECK_INT(n4j_bucket_wait_ms(&d, 0), 300);
	CHECK_INT(n4j_bucket_take(&d, 300), 0); /* the debt is paid off by then */
	CHECK_INT(n4j_bucket_take(&d, 300), 100);

	/* A slow rate (Events: one per 5 minutes after a burst of 25). */
	struct n4j_bucket e;
	n4j_bucket_init(&e, 1000.0 / 300000, 25, 0);
	n = 0;
	while (n4j_bucket_try_take(&e, 0) && n < 100)
		n++;
	CHECK_INT(n, 25);
	CHECK_INT(n4j_bucket_wait_ms(&e, 0), 300000);
	CHECK(!n4j_bucket_try_take(&e, 299999));
	CHECK(n4j_bucket_try_take(&e, 300000));

	/* rate <= 0: no limit. */
	struct n4j_bucket u;
	n4j_bucket_init(&u, 0, 1, 0);
	for (int i = 0; i < 1000; i++)
		CHECK(n4j_bucket_try_take(&u, 0) && n4j_bucket_take(&u, 0) == 0);
	CHECK_INT(n4j_bucket_wait_ms(&u, 0), 0);
}

int main(void)
{
	test_clock();
	test_rng();
	test_backoff();
	test_bucket();
	CHECK_DONE();
}
