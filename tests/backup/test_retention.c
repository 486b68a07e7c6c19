/*
 * Retention: artifact names, inspect merging and the planner (src/backup/).
 *
 * The planner's expectations are computed here independently: by hand for small chains,
 * and for two years of artifacts by a reference model written the slow, obvious way
 * (libc gmtime/strftime for days, ISO weeks "%G-%V" and months; chains by scanning), so
 * that a shared misunderstanding of the calendar cannot make both agree.
 */
#define _GNU_SOURCE /* timegm */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backup/backup.h"
#include "check.h"

#define DAY  86400
#define HOUR 3600

/* ---- helpers ----------------------------------------------------------------------- */

static int64_t utc(int y, int mo, int d, int h, int mi, int s)
{
	struct tm tm = {.tm_year = y - 1900,
			.tm_mon = mo - 1,
			.tm_mday = d,
			.tm_hour = h,
			.tm_min = mi,
			.tm_sec = s};
	return (int64_t)timegm(&tm);
}

static void name_of(char *out, size_t size, const char *db, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	char ts[32];
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H-%M-%S", &tm);
	snprintf(out, size, "%s-%s.backup", db, ts);
}

/* A listing owned by the test: names in a fixed pool. */
#define MAXA 2048
struct set {
	struct n4j_artifact a[MAXA];
	char names[MAXA][96];
	size_t n;
};

static void add(struct set *s, const char *db, int64_t t, bool full)
{
	if (s->n == MAXA)
		abort();
	name_of(s->names[s->n], sizeof(s->names[0]), db, t);
	const char *d;
	size_t dl;
	int64_t parsed = 0;
	/* the planner's input comes from the parser, as in the command */
	if (n4j_artifact_parse_name(s->names[s->n], &d, &dl, &parsed) != 0 || parsed != t) {
		fprintf(stderr, "fixture name %s does not parse back\n", s->names[s->n]);
		abort();
	}
	s->a[s->n] = (struct n4j_artifact){.name = s->names[s->n],
					   .database = db,
					   .time = t,
					   .size_bytes = 100,
					   .full = full,
					   .inspected = true};
	s->n++;
}

/* keep flags as a string of K/- in time order (fixtures are added in time order) */
static const char *flags(const bool *keep, size_t n)
{
	static char buf[MAXA + 1];
	for (size_t i = 0; i < n; i++)
		buf[i] = keep[i] ? 'K' : '-';
	buf[n] = '\0';
	return buf;
}

static const char *plan_str(const struct n4j_retention *r, const struct set *s, int64_t now)
{
	static bool keep[MAXA];
	struct n4j_error err = {0};
	memset(keep, 0, sizeof(keep));
	int rc = n4j_retention_plan(r, s->a, s->n, now, keep, &err);
	CHECK_MSG(rc == 0, "plan: %s", err.msg);
	return flags(keep, s->n);
}

/* ---- names ------------------------------------------------------------------------- */

static void test_names(void)
{
	const char *d;
	size_t dl;
	int64_t t;
	CHECK_INT(n4j_artifact_parse_name("neo4j-2026-12-02T14-00-00.backup", &d, &dl, &t), 0);
	CHECK_INT(dl, 5);
	CHECK(strncmp(d, "neo4j", dl) == 0);
	CHECK_INT(t, utc(2026, 12, 2, 14, 0, 0));
	CHECK_INT(n4j_artifact_parse_name("system-2024-02-29T23-59-59.backup", &d, &dl, &t), 0);
	CHECK_INT(t, utc(2024, 2, 29, 23, 59, 59));
	CHECK_INT(dl, 6);
	/* dashes and dots in a database name: the suffix has a fixed length */
	CHECK_INT(n4j_artifact_parse_name("my-db.v2-2000-01-01T00-00-00.backup", &d, &dl, &t), 0);
	CHECK_INT(dl, 8);
	CHECK_INT(t, 946684800);
	CHECK_INT(n4j_artifact_parse_name("abc-1970-01-01T00-00-00.backup", &d, &dl, &t), 0);
	CHECK_INT(t, 0);

	static const char *bad[] = {
		"neo4j-2025-02-29T00-00-00.backup",     /* not a leap year */
		"neo4j-2100-02-29T00-00-00.backup",     /* century, not a leap year */
		"neo4j-2026-13-01T00-00-00.backup",     /* month 13 */
		"neo4j-2026-00-01T00-00-00.backup",     /* month 0 */
		"neo4j-2026-04-31T00-00-00.backup",     /* April has 30 days */
		"neo4j-2026-01-00T00-00-00.backup",     /* day 0 */
		"neo4j-2026-01-01T24-00-00.backup",     /* hour 24 */
		"neo4j-2026-01-01T00-60-00.backup",     /* minute 60 */
		"neo4j-2026-01-01T00-00-60.backup",     /* no leap seconds */
		"neo4j-2026-01-01T00:00:00.backup",     /* colons */
		"neo4j-2026-01-01 00-00-00.backup",     /* no T */
		"neo4j-2026-1-01T00-00-00.backup",      /* short month */
		"neo4j-2026-01-01T00-00-00.backup.tmp", /* suffix */
		"neo4j-2026-01-01T00-00-00.backu",      /* truncated */
		"neo4j-2026-01-01T00-00-00",            /* no extension */
		"neo4j-2026-01-01T00-00-00.BACKUP",     /* case */
		"Neo4j-2026-01-01T00-00-00.backup",     /* Neo4j normalises names to lowercase */
		"ne-2026-01-01T00-00-00.backup",        /* database name under 3 */
		"1neo-2026-01-01T00-00-00.backup",      /* starts with a digit */
		"neo_4j-2026-01-01T00-00-00.backup",    /* underscore */
		"neo4j2026-01-01T00-00-00.backup",      /* no dash before the time */
		"-2026-01-01T00-00-00.backup",          /* no database */
		"1969-2026-01-01T00-00-00.backup",      /* db "1969" invalid */
		"neo4j-1969-12-31T23-59-59.backup",     /* before the epoch */
		"neo4j-+026-01-01T00-00-00.backup",     /* sign */
		"sub/neo4j-2026-01-01T00-00-00.backup", /* a path */
		"",
		"neo4j.backup",
		"neo4j-2026-01-01T00-00-00.backup\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_MSG(n4j_artifact_parse_name(bad[i], &d, &dl, &t) == N4J_EINVAL, "'%s' parsed",
			  bad[i]);
	char longdb[128];
	memset(longdb, 'a', 63);
	strcpy(longdb + 63, "-2026-01-01T00-00-00.backup");
	CHECK_INT(n4j_artifact_parse_name(longdb, &d, &dl, &t), 0); /* 63: the maximum */
	memset(longdb, 'a', 64);
	strcpy(longdb + 64, "-2026-01-01T00-00-00.backup");
	CHECK_INT(n4j_artifact_parse_name(longdb, &d, &dl, &t), N4J_EINVAL);
	CHECK_INT(n4j_artifact_parse_name(NULL, &d, &dl, &t), N4J_EINVAL);

	/* every day of 1970..2100 round-trips against libc */
	int fails = 0;
	for (int64_t day = 0; day < 47847; day += 1) {
		char nm[64];
		int64_t want = day * DAY + 3723;
		name_of(nm, sizeof(nm), "neo4j", want);
		if (n4j_artifact_parse_name(nm, &d, &dl, &t) != 0 || t != want)
			fails++;
	}
	CHECK_INT(fails, 0);
}

static void test_age(void)
{
	int64_t v = 0;
	CHECK_INT(n4j_retention_parse_age("90d", &v), 0);
	CHECK_INT(v, 90 * DAY);
	CHECK_INT(n4j_retention_parse_age("12h", &v), 0);
	CHECK_INT(v, 12 * HOUR);
	CHECK_INT(n4j_retention_parse_age("2w", &v), 0);
	CHECK_INT(v, 14 * DAY);
	static const char *bad[] = {"",
				    "d",
				    "90",
				    "90m",
				    "-1d",
				    "0d",
				    "1.5d",
				    "90dd",
				    " 9d",
				    "9d ",
				    "99999999999999999999d",
				    "9D"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_MSG(n4j_retention_parse_age(bad[i], &v) == N4J_EINVAL, "'%s' parsed", bad[i]);
	CHECK_INT(n4j_retention_parse_age(NULL, &v), N4J_EINVAL);
}

/* ---- inspect ----------------------------------------------------------------------- */

static void test_inspect(void)
{
	struct set s = {0};
	add(&s, "neo4j", utc(2026, 12, 1, 2, 0, 0), false);
	add(&s, "neo4j", utc(2026, 12, 2, 2, 0, 0), false);
	add(&s, "neo4j", utc(2026, 12, 3, 2, 0, 0), false);
	for (size_t i = 0; i < s.n; i++) {
		s.a[i].inspected = false;
		s.a[i].size_bytes = -1;
	}
	struct n4j_error err = {0};
	const char *ok = "[{\"name\":\"neo4j-2026-12-01T02-00-00.backup\",\"database\":\"neo4j\","
			 "\"time\":\"2026-12-01T02:00:00Z\",\"full\":true,\"lowestTx\":1,"
			 "\"highestTx\":40,\"compressed\":true,\"extra\":{\"a\":[1]}},"
			 "{\"name\":\"neo4j-2026-12-02T02-00-00.backup\",\"full\":false,"
			 "\"lowestTx\":41,\"highestTx\":50,\"sizeBytes\":777},"
			 "{\"name\":\"other-2026-12-02T02-00-00.backup\",\"full\":true}]";
	CHECK_INT(n4j_inspect_merge(ok, strlen(ok), s.a, s.n, &err), 0);
	CHECK(s.a[0].inspected && s.a[0].full);
	CHECK_INT(s.a[0].lowest_tx, 1);
	CHECK_INT(s.a[0].highest_tx, 40);
	CHECK_INT(s.a[0].size_bytes, -1);
	CHECK(s.a[1].inspected && !s.a[1].full);
	CHECK_INT(s.a[1].highest_tx, 50);
	CHECK_INT(s.a[1].size_bytes, 777); /* from inspect when the listing has none */
	CHECK(!s.a[2].inspected);          /* not listed by inspect */
	CHECK_INT(n4j_inspect_merge("[]", 2, s.a, s.n, &err), 0);

	static const char *bad[] = {
		"",
		"nope",
		"{\"name\":\"neo4j-2026-12-03T02-00-00.backup\",\"full\":true}", /* not an array */
		"[{\"name\":\"neo4j-2026-12-03T02-00-00.backup\",\"full\":true},",
		"[1]",
		"[{\"full\":true}]",
		"[{\"name\":7,\"full\":true}]",
		"[{\"name\":\"\",\"full\":true}]",
		"[{\"name\":\"neo4j-2026-12-03T02-00-00.backup\"}]",
		"[{\"name\":\"neo4j-2026-12-03T02-00-00.backup\",\"full\":\"true\"}]",
		"[{\"name\":\"neo4j-2026-12-03T02-00-00.backup\",\"full\":1}]",
		"[{\"name\":\"neo4j-2026-12-03T02-00-00.backup\",\"full\":true,\"lowestTx\":-1}]",
		"[{\"name\":\"neo4j-2026-12-03T02-00-00.backup\",\"full\":true,\"highestTx\":\"9\"}"
		"]",
		"[{\"name\":\"neo4j-2026-12-03T02-00-00.backup\",\"full\":true,\"highestTx\":1.5}]",
		"[{\"name\":\"neo4j-2026-12-03T02-00-00.backup\",\"full\":true,\"sizeBytes\":[]}]",
		"[{\"name\":\"neo4j-2026-12-03T02-00-00.backup\",\"full\":true,\"database\":"
		"\"sys\"}]",
		"[{\"name\":\"neo4j-2026-12-03T02-00-00.backup\",\"full\":true,\"database\":5}]",
		/* a valid first entry does not get merged when a later one is malformed */
		"[{\"name\":\"neo4j-2026-12-03T02-00-00.backup\",\"full\":true},{\"name\":1}]",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_MSG(n4j_inspect_merge(bad[i], strlen(bad[i]), s.a, s.n, &err) == N4J_EPARSE,
			  "malformed input %zu accepted", i);
		CHECK_MSG(!s.a[2].inspected, "malformed input %zu touched the listing", i);
	}
	CHECK_INT(n4j_inspect_merge(NULL, 0, s.a, s.n, &err), N4J_EPARSE);
	/* a path or URI in front of the name: the last segment is the artifact */
	const char *uri = "[{\"name\":\"s3://b/p/neo4j-2026-12-03T02-00-00.backup\",\"full\":true},"
			  "{\"name\":\"/backups/\",\"full\":true}]";
	CHECK_INT(n4j_inspect_merge(uri, strlen(uri), s.a, s.n, &err), 0);
	CHECK(s.a[2].inspected && s.a[2].full);
}

/* ---- the planner on small chains, by hand -------------------------------------------- */

/*
 * Ten days at 02:00, fulls on days 1, 4 and 8: chains [1 2 3] [4 5 6 7] [8 9 10].
 * Strings below: day 1 first.
 */
static void fixture10(struct set *s)
{
	memset(s, 0, sizeof(*s));
	for (int d = 1; d <= 10; d++)
		add(s, "neo4j", utc(2026, 3, d, 2, 0, 0), d == 1 || d == 4 || d == 8);
}

static void test_chains(void)
{
	struct set s;
	fixture10(&s);
	int64_t now = utc(2026, 3, 10, 3, 0, 0);
	struct n4j_retention r = {.keep_last = 1};
	/* the newest chain, whole, although keepLast is 1 */
	CHECK_STR(plan_str(&r, &s, now), "-------KKK");
	/* keepLast 5 = days 6..10; days 6 and 7 are diffs of the chain from day 4: closure */
	r = (struct n4j_retention){.keep_last = 5};
	CHECK_STR(plan_str(&r, &s, now), "---KKKKKKK");
	/* keepLast 8 = days 3..10; day 3 a diff of the chain from day 1 */
	r = (struct n4j_retention){.keep_last = 8};
	CHECK_STR(plan_str(&r, &s, now), "KKKKKKKKKK");
	/* maxAge 3d: from day 7 03:00 on: 8 9 10 (day 7 at 02:00 is older) */
	r = (struct n4j_retention){.keep_last = 10, .max_age_s = 3 * DAY};
	CHECK_STR(plan_str(&r, &s, now), "-------KKK");
	/* maxAge 4d: day 7 survives, and with it its chain back to day 4 */
	r = (struct n4j_retention){.keep_last = 10, .max_age_s = 4 * DAY};
	CHECK_STR(plan_str(&r, &s, now), "---KKKKKKK");
	/* far future + maxAge: the newest backup survives, and its chain with it */
	r = (struct n4j_retention){.keep_last = 10, .max_age_s = HOUR};
	CHECK_STR(plan_str(&r, &s, utc(2030, 1, 1, 0, 0, 0)), "-------KKK");
	/* every count rule off: everything kept, maxAge alone prunes */
	r = (struct n4j_retention){0};
	CHECK_STR(plan_str(&r, &s, now), "KKKKKKKKKK");
	r = (struct n4j_retention){.max_age_s = 5 * DAY};
	CHECK_STR(plan_str(&r, &s, now), "---KKKKKKK");
	/* daily 2: days 9, 10 — both in the newest chain anyway */
	r = (struct n4j_retention){.daily = 2};
	CHECK_STR(plan_str(&r, &s, now), "-------KKK");

	/* fulls only: no closure, the newest chain is the newest backup */
	memset(&s, 0, sizeof(s));
	for (int d = 1; d <= 10; d++)
		add(&s, "neo4j", utc(2026, 3, d, 2, 0, 0), true);
	r = (struct n4j_retention){.keep_last = 1};
	CHECK_STR(plan_str(&r, &s, now), "---------K");
	r = (struct n4j_retention){.keep_last = 3};
	CHECK_STR(plan_str(&r, &s, now), "-------KKK");
	r = (struct n4j_retention){.keep_last = 3, .max_age_s = 36 * HOUR};
	CHECK_STR(plan_str(&r, &s, now), "--------KK");

	/* leading diffs without a full (their full was pruned earlier): a chain of their
	 * own, pruned as a whole */
	memset(&s, 0, sizeof(s));
	for (int d = 1; d <= 6; d++)
		add(&s, "neo4j", utc(2026, 3, d, 2, 0, 0), d == 3);
	r = (struct n4j_retention){.keep_last = 1};
	CHECK_STR(plan_str(&r, &s, now), "--KKKK");
	r = (struct n4j_retention){.keep_last = 5};
	CHECK_STR(plan_str(&r, &s, now), "KKKKKK"); /* day 2 kept → day 1 by closure */

	/* uninspected: never pruned, and counted by no rule (nor in a chain) */
	fixture10(&s);
	s.a[1].inspected = false; /* day 2 */
	s.a[8].inspected = false; /* day 9, inside the newest chain */
	r = (struct n4j_retention){.keep_last = 1};
	CHECK_STR(plan_str(&r, &s, now), "-K-----KKK");
	r = (struct n4j_retention){.keep_last = 4}; /* 10 8 7 6 (9 does not count) */
	CHECK_STR(plan_str(&r, &s, now), "-K-KKKKKKK");
	s.a[7].inspected = false; /* day 8, the full: 9, 10 now extend the chain from day 4 */
	r = (struct n4j_retention){.keep_last = 1};
	CHECK_STR(plan_str(&r, &s, now), "-K-KKKKKKK");

	/* unsorted input: same decisions */
	fixture10(&s);
	struct set u;
	memset(&u, 0, sizeof(u));
	static const int perm[10] = {7, 2, 9, 0, 5, 1, 8, 3, 6, 4};
	for (int i = 0; i < 10; i++) {
		u.a[i] = s.a[perm[i]];
		strcpy(u.names[i], s.names[perm[i]]);
		u.a[i].name = u.names[i];
	}
	u.n = 10;
	bool keep[10];
	struct n4j_error err = {0};
	r = (struct n4j_retention){.keep_last = 5};
	CHECK_INT(n4j_retention_plan(&r, u.a, u.n, now, keep, &err), 0);
	for (int i = 0; i < 10; i++) /* days 1..3 pruned: perm indices 0, 1, 2 */
		CHECK_MSG(keep[i] == (perm[i] >= 3), "unsorted: day %d", perm[i] + 1);

	/* two backups with the same time: ordered by name, deterministic */
	CHECK_INT(n4j_retention_plan(&r, NULL, 0, now, NULL, &err), 0);
	r = (struct n4j_retention){.keep_last = -1};
	CHECK_INT(n4j_retention_plan(&r, s.a, s.n, now, keep, &err), N4J_EINVAL);
}

/* Calendar edges: UTC days, ISO weeks (not Sunday weeks, not calendar-year weeks),
 * calendar months. Every backup full, so no chain rule interferes. */
static void test_calendar(void)
{
	struct set s;
	int64_t now = utc(2026, 2, 1, 0, 0, 0);
	struct n4j_retention r;
	/* Mon 2025-12-29, Thu 2026-01-01, Sun 2026-01-04, Mon 2026-01-05: ISO weeks
	 * 2026-W01 = {29, 1, 4}, 2026-W02 = {5} */
	memset(&s, 0, sizeof(s));
	add(&s, "neo4j", utc(2025, 12, 29, 10, 0, 0), true);
	add(&s, "neo4j", utc(2026, 1, 1, 10, 0, 0), true);
	add(&s, "neo4j", utc(2026, 1, 4, 23, 59, 59), true);
	add(&s, "neo4j", utc(2026, 1, 5, 0, 0, 0), true);
	r = (struct n4j_retention){.weekly = 2};
	CHECK_STR(plan_str(&r, &s, now), "--KK");
	r = (struct n4j_retention){.weekly = 3}; /* only two weeks have backups */
	CHECK_STR(plan_str(&r, &s, now), "--KK");
	r = (struct n4j_retention){.daily = 3};
	CHECK_STR(plan_str(&r, &s, now), "-KKK");
	r = (struct n4j_retention){.monthly = 2}; /* Dec 29 is December's newest */
	CHECK_STR(plan_str(&r, &s, now), "K--K");

	/* one second apart across midnight, month end and year end */
	memset(&s, 0, sizeof(s));
	add(&s, "neo4j", utc(2025, 12, 31, 23, 59, 59), true);
	add(&s, "neo4j", utc(2026, 1, 1, 0, 0, 0), true);
	add(&s, "neo4j", utc(2026, 1, 1, 12, 0, 0), true);
	add(&s, "neo4j", utc(2026, 1, 31, 23, 59, 59), true);
	add(&s, "neo4j", utc(2026, 2, 1, 0, 0, 0), true);
	/* days: Feb 1, Jan 31, Jan 1 (12:00 its newest), Dec 31 */
	r = (struct n4j_retention){.daily = 3};
	CHECK_STR(plan_str(&r, &s, now), "--KKK");
	r = (struct n4j_retention){.daily = 4};
	CHECK_STR(plan_str(&r, &s, now), "K-KKK");
	r = (struct n4j_retention){.daily = 5};
	CHECK_STR(plan_str(&r, &s, now), "K-KKK");
	r = (struct n4j_retention){.monthly = 3};
	CHECK_STR(plan_str(&r, &s, now), "K--KK");
	/* ISO weeks: 2026-W05 = Mon Jan 26 .. Sun Feb 1 holds Jan 31 and Feb 1;
	 * 2026-W01 holds Dec 31 and Jan 1 */
	r = (struct n4j_retention){.weekly = 2};
	CHECK_STR(plan_str(&r, &s, now), "--K-K");
	r = (struct n4j_retention){.weekly = 1};
	CHECK_STR(plan_str(&r, &s, now), "----K");
}

/* ---- two years of artifacts against the reference model ------------------------------- */

/* The model: the rules read literally, in the slowest obvious way. */
static void model(const struct n4j_retention *r, const struct set *s, int64_t now, bool *keep)
{
	/* inspected ones in time order (fixtures are built in time order) */
	size_t L[MAXA], m = 0;
	for (size_t i = 0; i < s->n; i++) {
		keep[i] = true;
		if (s->a[i].inspected)
			L[m++] = i;
	}
	if (m == 0)
		return;
	bool in[MAXA] = {0};
	if (!r->keep_last && !r->daily && !r->weekly && !r->monthly) {
		for (size_t k = 0; k < m; k++)
			in[k] = true;
	}
	for (size_t k = 0; k < m; k++)
		if (m - k <= (size_t)r->keep_last)
			in[k] = true;
	int counts[3] = {r->daily, r->weekly, r->monthly};
	for (int f = 0; f < 3; f++) {
		char seen[MAXA][16];
		int n_seen = 0;
		for (size_t k = m; k-- > 0 && n_seen < counts[f];) {
			time_t tt = (time_t)s->a[L[k]].time;
			struct tm tm;
			gmtime_r(&tt, &tm);
			char key[16];
			if (f == 0) /* a UTC day */
				strftime(key, sizeof(key), "%Y-%m-%d", &tm);
			else if (f == 1) /* an ISO week, with its ISO year */
				strftime(key, sizeof(key), "%G-W%V", &tm);
			else
				strftime(key, sizeof(key), "%Y-%m", &tm);
			bool dup = false;
			for (int j = 0; j < n_seen; j++)
				dup = dup || strcmp(seen[j], key) == 0;
			if (dup)
				continue;
			strcpy(seen[n_seen++], key);
			in[k] = true;
		}
	}
	if (r->max_age_s)
		for (size_t k = 0; k + 1 < m; k++)
			if (s->a[L[k]].time < now - r->max_age_s)
				in[k] = false;
	/* chain start of each: the latest full at or before it, else the first */
	size_t start[MAXA];
	for (size_t k = 0; k < m; k++) {
		start[k] = 0;
		for (size_t j = k + 1; j-- > 0;)
			if (s->a[L[j]].full) {
				start[k] = j;
				break;
			}
	}
	bool out[MAXA] = {0};
	for (size_t k = 0; k < m; k++)
		if (in[k]) {
			out[k] = true;
			if (!s->a[L[k]].full)
				for (size_t j = start[k]; j < k; j++)
					out[j] = true;
		}
	for (size_t j = start[m - 1]; j < m; j++)
		out[j] = true;
	for (size_t k = 0; k < m; k++)
		keep[L[k]] = out[k];
}

/*
 * Two years, 2024-12-01 .. 2026-11-30, per database:
 *  neo4j:  02:00 daily, a full on Sundays, diffs otherwise; a second diff at 14:30 every
 *          tenth day; gaps (every 37th day, and 2025-07-10 .. 2025-07-21); a few artifacts
 *          inspect did not list.
 *  system: 03:00 every third day, a full on the first backup of each month.
 */
static void two_years(struct set *neo, struct set *sys, bool fulls_only)
{
	memset(neo, 0, sizeof(*neo));
	memset(sys, 0, sizeof(*sys));
	int64_t from = utc(2024, 12, 1, 0, 0, 0), to = utc(2026, 12, 1, 0, 0, 0);
	int64_t gap0 = utc(2025, 7, 10, 0, 0, 0), gap1 = utc(2025, 7, 22, 0, 0, 0);
	int last_month = -1;
	for (int64_t day = from, i = 0; day < to; day += DAY, i++) {
		time_t tt = (time_t)day;
		struct tm tm;
		gmtime_r(&tt, &tm);
		if (i % 37 != 5 && !(day >= gap0 && day < gap1)) {
			add(neo, "neo4j", day + 2 * HOUR, fulls_only || tm.tm_wday == 0);
			if (i % 10 == 3)
				add(neo, "neo4j", day + 14 * HOUR + 30 * 60, fulls_only);
		}
		if (i % 3 == 0) {
			add(sys, "system", day + 3 * HOUR, fulls_only || tm.tm_mon != last_month);
			last_month = tm.tm_mon;
		}
	}
	if (!fulls_only) {
		neo->a[40].inspected = false;
		neo->a[neo->n - 3].inspected = false; /* inside the newest chain */
		neo->a[neo->n / 2].inspected = false;
	}
}

static size_t count(const bool *k, size_t n)
{
	size_t c = 0;
	for (size_t i = 0; i < n; i++)
		c += k[i];
	return c;
}

static void check_policy(const char *what, const struct n4j_retention *r, const struct set *s,
			 int64_t now)
{
	static bool got[MAXA], want[MAXA];
	struct n4j_error err = {0};
	CHECK_MSG(n4j_retention_plan(r, s->a, s->n, now, got, &err) == 0, "%s: %s", what, err.msg);
	model(r, s, now, want);
	size_t diffs = 0, first = 0;
	for (size_t i = 0; i < s->n; i++)
		if (got[i] != want[i] && diffs++ == 0)
			first = i;
	CHECK_MSG(diffs == 0, "%s (%s): %zu decisions differ from the model, first %s: got %s",
		  what, s->n ? s->a[0].database : "", diffs, s->names[first],
		  got[first] ? "keep" : "prune");
}

static void test_two_years(void)
{
	static struct set neo, sys;
	int64_t now = utc(2026, 12, 1, 0, 0, 0);
	static const struct {
		const char *what;
		struct n4j_retention r;
	} pol[] = {
		{"keepLast 7", {.keep_last = 7}},
		{"keepLast 1", {.keep_last = 1}},
		{"keepLast 400", {.keep_last = 400}},
		{"daily 14", {.daily = 14}},
		{"weekly 8", {.weekly = 8}},
		{"monthly 12", {.monthly = 12}},
		{"monthly 30", {.monthly = 30}},
		{"maxAge 30d", {.max_age_s = 30 * DAY}},
		{"keepLast 3 daily 7 weekly 4 monthly 6",
		 {.keep_last = 3, .daily = 7, .weekly = 4, .monthly = 6}},
		{"keepLast 3 daily 7 weekly 4 monthly 6 maxAge 60d",
		 {.keep_last = 3, .daily = 7, .weekly = 4, .monthly = 6, .max_age_s = 60 * DAY}},
		{"monthly 24 maxAge 90d", {.monthly = 24, .max_age_s = 90 * DAY}},
		{"daily 30 weekly 52", {.daily = 30, .weekly = 52}},
		{"keepLast 7 maxAge 1h", {.keep_last = 7, .max_age_s = HOUR}},
		{"none", {0}},
	};
	for (int fulls = 0; fulls < 2; fulls++) {
		two_years(&neo, &sys, fulls);
		for (size_t p = 0; p < sizeof(pol) / sizeof(pol[0]); p++) {
			check_policy(pol[p].what, &pol[p].r, &neo, now);
			check_policy(pol[p].what, &pol[p].r, &sys, now);
		}
	}

	/* Fulls only: the counts each rule alone must give, by hand. */
	two_years(&neo, &sys, true);
	static bool k[MAXA];
	struct n4j_error err = {0};
	struct n4j_retention r = {.keep_last = 7};
	n4j_retention_plan(&r, neo.a, neo.n, now, k, &err);
	CHECK_INT(count(k, neo.n), 7);
	r = (struct n4j_retention){.daily = 14};
	n4j_retention_plan(&r, neo.a, neo.n, now, k, &err);
	CHECK_INT(count(k, neo.n), 14);
	r = (struct n4j_retention){.weekly = 8};
	n4j_retention_plan(&r, neo.a, neo.n, now, k, &err);
	CHECK_INT(count(k, neo.n), 8);
	/* two years: 24 months have backups; asking for 30 keeps 24 */
	r = (struct n4j_retention){.monthly = 30};
	n4j_retention_plan(&r, neo.a, neo.n, now, k, &err);
	CHECK_INT(count(k, neo.n), 24);
	/* maxAge 30d alone: the backups of the last 30 days (2026-11-01 02:00 on) */
	r = (struct n4j_retention){.max_age_s = 30 * DAY};
	n4j_retention_plan(&r, neo.a, neo.n, now, k, &err);
	size_t recent = 0;
	for (size_t i = 0; i < neo.n; i++)
		recent += neo.a[i].time >= now - 30 * DAY;
	CHECK_INT(count(k, neo.n), recent);
	CHECK(recent >= 28 && recent <= 33);
	/* monthly 12: one per month from 2025-12 to 2026-11, nothing older */
	r = (struct n4j_retention){.monthly = 12};
	n4j_retention_plan(&r, neo.a, neo.n, now, k, &err);
	CHECK_INT(count(k, neo.n), 12);
	for (size_t i = 0; i < neo.n; i++)
		if (k[i])
			CHECK_MSG(neo.a[i].time >= utc(2025, 12, 1, 0, 0, 0), "%s kept",
				  neo.names[i]);
}

int main(void)
{
	test_names();
	test_age();
	test_inspect();
	test_chains();
	test_calendar();
	test_two_years();
	return check_summary();
}
