/*
 * The one test harness of the C suites (unit, kube, bolt, sim): every check records
 * a pass or a failure and continues; the last line is "N passed, N failed" and the
 * exit status is non-zero on any failure. The counters are atomic, so checks may run
 * on any thread (workers, informer callbacks).
 */
#ifndef N4J_TEST_CHECK_H
#define N4J_TEST_CHECK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"

static atomic_int check_count, check_failures;

static inline bool check_streq(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

static inline bool check_has(const char *hay, const char *needle)
{
	return hay && strstr(hay, needle) != NULL;
}

/* Failure messages go to stderr in one fprintf each, so threads do not interleave. */
#define CHECK_MSG(cond, ...)                                                                       \
	do {                                                                                       \
		check_count++;                                                                     \
		if (!(cond)) {                                                                     \
			char m_[768];                                                              \
			check_failures++;                                                          \
			snprintf(m_, sizeof(m_), __VA_ARGS__);                                     \
			fprintf(stderr, "%s:%d: CHECK failed: %s: %s\n", __FILE__, __LINE__,       \
				#cond, m_);                                                        \
		}                                                                                  \
	} while (0)

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		check_count++;                                                                     \
		if (!(cond)) {                                                                     \
			check_failures++;                                                          \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);   \
		}                                                                                  \
	} while (0)

/* The machinery suites' name for CHECK. */
#define T(cond) CHECK(cond)

#define CHECK_INT(got, want)                                                                       \
	do {                                                                                       \
		long long g_ = (long long)(got), w_ = (long long)(want);                           \
		CHECK_MSG(g_ == w_, "%s: got %lld, want %lld", #got, g_, w_);                      \
	} while (0)

#define CHECK_STR(got, want)                                                                       \
	do {                                                                                       \
		const char *g_ = (got), *w_ = (want);                                              \
		CHECK_MSG(check_streq(g_, w_), "%s: got \"%s\", want \"%s\"", #got,                \
			  g_ ? g_ : "(null)", w_ ? w_ : "(null)");                                 \
	} while (0)

#define CHECK_HAS(hay, needle)                                                                     \
	do {                                                                                       \
		const char *h_ = (hay);                                                            \
		CHECK_MSG(check_has(h_, (needle)), "\"%s\" does not contain \"%s\"",               \
			  h_ ? h_ : "(null)", (needle));                                           \
	} while (0)

/* Prints the summary; the exit status a test's main returns. */
static inline int check_summary(void)
{
	int n = atomic_load(&check_count), f = atomic_load(&check_failures);
	printf("%d passed, %d failed\n", n - f, f);
	return f ? 1 : 0;
}

#define CHECK_DONE() return check_summary()
/* Older names of CHECK_DONE in the kube and bolt suites. */
#define TDONE()  CHECK_DONE()
#define T_DONE() CHECK_DONE()

static inline void sleep_ms(long ms)
{
	n4j_sleep_ms(ms);
}

static inline int write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f);
}

#endif
