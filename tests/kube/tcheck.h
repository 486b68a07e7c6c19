/* Shared bits of the transport tests: check.h plus the final "N passed, N failed" line. */
#ifndef N4J_KUBE_TCHECK_H
#define N4J_KUBE_TCHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

#define TDONE()                                                                                    \
	do {                                                                                       \
		printf("%d passed, %d failed\n", check_count - check_failures, check_failures);    \
		return check_failures ? 1 : 0;                                                     \
	} while (0)

#define CHECK_HAS(hay, needle)                                                                     \
	do {                                                                                       \
		const char *h_ = (hay);                                                            \
		check_count++;                                                                     \
		if (!h_ || !strstr(h_, (needle))) {                                                \
			check_failures++;                                                          \
			fprintf(stderr, "%s:%d: \"%s\" does not contain \"%s\"\n", __FILE__,       \
				__LINE__, h_ ? h_ : "(null)", (needle));                           \
		}                                                                                  \
	} while (0)

static inline int write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f);
}

#endif
