/* Clock, condition-variable and jitter helpers shared by the controller machinery. */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "kube/machinery.h"

int64_t n4j_mach_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t n4j_mach_wall_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

void n4j_mach_format_time(int64_t wall_ns, bool micro, char *out, size_t size)
{
	time_t secs = (time_t)(wall_ns / 1000000000LL);
	struct tm tm;
	gmtime_r(&secs, &tm);
	char base[32];
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	if (micro)
		snprintf(out, size, "%s.%06dZ", base, (int)((wall_ns % 1000000000LL) / 1000));
	else
		snprintf(out, size, "%sZ", base);
}

int n4j_mach_cond_init(pthread_cond_t *c)
{
	pthread_condattr_t a;
	int rc = pthread_condattr_init(&a);
	if (rc)
		return rc;
	rc = pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	if (!rc)
		rc = pthread_cond_init(c, &a);
	pthread_condattr_destroy(&a);
	return rc;
}

int n4j_mach_cond_wait_until(pthread_cond_t *c, pthread_mutex_t *m, int64_t deadline_ms)
{
	if (deadline_ms <= n4j_mach_mono_ms())
		return ETIMEDOUT;
	struct timespec ts = {.tv_sec = deadline_ms / 1000,
			      .tv_nsec = (long)(deadline_ms % 1000) * 1000000L};
	return pthread_cond_timedwait(c, m, &ts);
}

double n4j_mach_rand01(void)
{
	/* splitmix64 over an atomic counter: thread-safe without locks or global rand(). */
	static _Atomic uint64_t state;
	uint64_t z = atomic_fetch_add(&state, 0x9E3779B97F4A7C15ULL);
	if (z == 0) {
		z = (uint64_t)n4j_mach_wall_ns();
		atomic_store(&state, z);
	}
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	z ^= z >> 31;
	return (double)(z >> 11) / 9007199254740992.0;
}
