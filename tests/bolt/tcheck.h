/* Test harness for the bolt and sim suites: CHECK records and continues; the final line
 * is "N passed, N failed" as the test plan asks. */
#ifndef N4J_TCHECK_H
#define N4J_TCHECK_H

#include <stdio.h>
#include <string.h>

static int t_pass, t_fail;

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (cond) {                                                                        \
			t_pass++;                                                                  \
		} else {                                                                           \
			t_fail++;                                                                  \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);   \
		}                                                                                  \
	} while (0)

#define CHECK_MSG(cond, ...)                                                                       \
	do {                                                                                       \
		if (cond) {                                                                        \
			t_pass++;                                                                  \
		} else {                                                                           \
			t_fail++;                                                                  \
			fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond);   \
			fprintf(stderr, __VA_ARGS__);                                              \
			fputc('\n', stderr);                                                       \
		}                                                                                  \
	} while (0)

#define CHECK_INT(got, want)                                                                       \
	do {                                                                                       \
		long long g_ = (long long)(got), w_ = (long long)(want);                           \
		CHECK_MSG(g_ == w_, "got %lld, want %lld", g_, w_);                                \
	} while (0)

#define CHECK_STR(got, want)                                                                       \
	do {                                                                                       \
		const char *g_ = (got), *w_ = (want);                                              \
		CHECK_MSG(g_ &&w_ &&strcmp(g_, w_) == 0, "got \"%s\", want \"%s\"",                \
			  g_ ? g_ : "(null)", w_ ? w_ : "(null)");                                 \
	} while (0)

#define T_DONE()                                                                                   \
	do {                                                                                       \
		printf("%d passed, %d failed\n", t_pass, t_fail);                                  \
		return t_fail ? 1 : 0;                                                             \
	} while (0)

#endif
