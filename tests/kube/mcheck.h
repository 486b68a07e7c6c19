/* The pass/fail counter and sleep shared by the machinery tests (T() may run on any thread). */
#ifndef N4J_MCHECK_H
#define N4J_MCHECK_H

#include <stdatomic.h>
#include <stdio.h>
#include <time.h>

static atomic_int passed, failed;
#define T(cond)                                                                                    \
	do {                                                                                       \
		if (cond)                                                                          \
			passed++;                                                                  \
		else {                                                                             \
			failed++;                                                                  \
			fprintf(stderr, "%s:%d: FAILED: %s\n", __FILE__, __LINE__, #cond);         \
		}                                                                                  \
	} while (0)

static inline void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

#endif
