/* Condition variables on the monotonic clock (util/util.h n4j_now_ms) for the machinery. */
#include <errno.h>

#include "kube/machinery.h"

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
	if (deadline_ms <= n4j_now_ms())
		return ETIMEDOUT;
	struct timespec ts = {.tv_sec = deadline_ms / 1000,
			      .tv_nsec = (long)(deadline_ms % 1000) * 1000000L};
	return pthread_cond_timedwait(c, m, &ts);
}
