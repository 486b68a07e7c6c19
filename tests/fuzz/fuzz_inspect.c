/*
 * Retention's inputs on arbitrary bytes: the first byte picks the mode.
 *  - even: `backup inspect` JSON merged into a fixed listing, then planned. Properties
 *    beyond "no crash, no leak": a refused document leaves the listing untouched; the plan
 *    never prunes an uninspected artifact nor the newest one, and never leaves a kept
 *    diff without the earlier links of its chain.
 *  - odd: artifact names, one per line. A name that parses round-trips: the database is
 *    its prefix and the time, formatted back by libc, is its suffix.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backup/backup.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const names[] = {
	"neo4j-2026-11-01T02-00-00.backup", "neo4j-2026-11-02T02-00-00.backup",
	"neo4j-2026-11-03T02-00-00.backup", "neo4j-2026-11-08T02-00-00.backup",
	"neo4j-2026-11-09T02-00-00.backup", "neo4j-2026-11-09T14-00-00.backup",
	"neo4j-2026-12-01T00-00-00.backup", "neo4j-2027-01-01T00-00-00.backup",
};
#define N (sizeof(names) / sizeof(names[0]))

static void inspect_mode(const uint8_t *data, size_t size)
{
	if (size < 4)
		return;
	struct n4j_retention r = {.keep_last = data[0] % 4,
				  .daily = data[1] % 4,
				  .weekly = (data[1] >> 2) % 4,
				  .monthly = (data[1] >> 4) % 4,
				  .max_age_s = (int64_t)(data[2] % 8) * 86400};
	data += 3;
	size -= 3;
	struct n4j_artifact a[N], before[N];
	for (size_t i = 0; i < N; i++) {
		a[i] = (struct n4j_artifact){
			.name = names[i], .database = "neo4j", .size_bytes = -1};
		if (n4j_artifact_parse_name(names[i], NULL, NULL, &a[i].time) != 0)
			abort();
	}
	memcpy(before, a, sizeof(a));
	struct n4j_error err = {0};
	if (n4j_inspect_merge((const char *)data, size, a, N, &err) != 0) {
		if (memcmp(before, a, sizeof(a)) != 0)
			abort(); /* refused but merged */
		return;
	}
	bool keep[N];
	if (n4j_retention_plan(&r, a, N, a[N - 1].time + 86400, keep, &err) != 0)
		abort();
	/* names are in time order: check the invariants directly */
	int newest = -1;
	for (size_t i = 0; i < N; i++) {
		if (!a[i].inspected && !keep[i])
			abort(); /* uninspected pruned */
		if (a[i].inspected)
			newest = (int)i;
	}
	if (newest >= 0 && !keep[newest])
		abort(); /* the newest backup pruned */
	for (size_t i = 0; i < N; i++) {
		if (!a[i].inspected || !keep[i] || a[i].full)
			continue;
		for (size_t j = i; j-- > 0;) { /* back to the chain's full */
			if (!a[j].inspected)
				continue;
			if (!keep[j])
				abort(); /* a kept diff lost an earlier link */
			if (a[j].full)
				break;
		}
	}
}

static void names_mode(const uint8_t *data, size_t size)
{
	char line[256];
	size_t i = 0;
	while (i < size) {
		size_t n = 0;
		while (i < size && data[i] != '\n' && n < sizeof(line) - 1)
			line[n++] = (char)data[i++];
		i++;
		line[n] = '\0';
		n = strlen(line); /* an embedded NUL ends the name, as it would in C */
		const char *db;
		size_t dl;
		int64_t t;
		if (n4j_artifact_parse_name(line, &db, &dl, &t) != 0)
			continue;
		if (db != line || dl + 27 != n)
			abort();
		time_t tt = (time_t)t;
		struct tm tm;
		char back[64];
		if (!gmtime_r(&tt, &tm) ||
		    strftime(back, sizeof(back), "-%Y-%m-%dT%H-%M-%S.backup", &tm) == 0 ||
		    strcmp(back, line + dl) != 0)
			abort(); /* parsed to another time than the name says */
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] % 2 == 0)
		inspect_mode(data + 1, size - 1);
	else
		names_mode(data + 1, size - 1);
	return 0;
}
