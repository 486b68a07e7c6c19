/*
 * The retention planner (pure): which backups of ONE database to delete.
 *
 * Rules (docs/backup-restore.md "Retention"):
 *  - only inspected artifacts take part; the others are kept and counted by no rule
 *    (inspect did not see them: maybe still being written, maybe not Neo4j's);
 *  - chains: by time, a full starts a chain, a diff extends the latest chain (diffs
 *    before the first full form a chain of their own, whose full was pruned before);
 *  - kept = union of keepLast newest, the newest of each of the `daily` most recent UTC
 *    days that have a backup, likewise ISO weeks (Monday to Sunday) and calendar months;
 *    with every count rule off, every backup is kept (maxAge alone then prunes);
 *  - maxAge drops kept backups older than now - maxAge, except the newest backup;
 *  - closure: a kept diff keeps every earlier link of its chain (it cannot be restored
 *    without them);
 *  - the newest chain is never pruned: the next AUTO backup extends it.
 */
#include <stdlib.h>
#include <string.h>

#include "backup/backup.h"

int n4j_retention_parse_age(const char *s, int64_t *out)
{
	if (!s || !*s)
		return N4J_EINVAL;
	int64_t v = 0;
	const char *p = s;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > 1000000000)
			return N4J_EINVAL; /* keeps v * 604800 far inside int64 */
		v = v * 10 + (*p - '0');
	}
	if (p == s || p[0] == '\0' || p[1] != '\0')
		return N4J_EINVAL;
	int64_t unit;
	switch (*p) {
	case 'h':
		unit = 3600;
		break;
	case 'd':
		unit = 86400;
		break;
	case 'w':
		unit = 7 * 86400;
		break;
	default:
		return N4J_EINVAL;
	}
	if (v == 0)
		return N4J_EINVAL; /* "0d" would prune all but the newest: almost surely a typo */
	*out = v * unit;
	return 0;
}

/* floor division: times before 1970 never parse, but keep the math honest */
static int64_t fdiv(int64_t a, int64_t b)
{
	return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

static int64_t day_of(int64_t t)
{
	return fdiv(t, 86400);
}

/* 1970-01-01 was a Thursday: day -3 (1969-12-29) is the Monday that starts week 0. */
static int64_t iso_week_of(int64_t t)
{
	return fdiv(day_of(t) + 3, 7);
}

/* year * 12 + month - 1, from the civil date (H. Hinnant's civil_from_days). */
static int64_t month_of(int64_t t)
{
	int64_t z = day_of(t) + 719468;
	int64_t era = fdiv(z, 146097);
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t y = yoe + era * 400;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	int64_t m = mp < 10 ? mp + 3 : mp - 9;
	if (m <= 2)
		y++;
	return y * 12 + (m - 1);
}

/* What qsort orders by, carried with the index so the planner needs no global. */
struct ord {
	int64_t time;
	const char *name;
	size_t i;
};

static int by_time(const void *x, const void *y)
{
	const struct ord *a = x, *b = y;
	if (a->time != b->time)
		return a->time < b->time ? -1 : 1;
	return strcmp(a->name ? a->name : "", b->name ? b->name : "");
}

/* Keeps the newest backup of each of the `count` most recent periods (idx is newest
 * first). */
static void keep_periods(const struct n4j_artifact *arts, const size_t *idx, size_t m, int count,
			 int64_t (*period)(int64_t), bool *kept)
{
	int seen = 0;
	int64_t last = 0;
	for (size_t k = 0; k < m && seen < count; k++) {
		int64_t p = period(arts[idx[k]].time);
		if (k > 0 && p == last)
			continue;
		last = p;
		seen++;
		kept[k] = true;
	}
}

int n4j_retention_plan(const struct n4j_retention *r, const struct n4j_artifact *arts, size_t n,
		       int64_t now, bool *keep, struct n4j_error *err)
{
	if (!r || (n && (!arts || !keep)))
		return n4j_err(err, N4J_EINVAL, "retention: missing arguments");
	if (r->keep_last < 0 || r->daily < 0 || r->weekly < 0 || r->monthly < 0 || r->max_age_s < 0)
		return n4j_err(err, N4J_EINVAL, "retention: negative rule");
	for (size_t i = 0; i < n; i++)
		keep[i] = true;
	/* idx: the inspected artifacts, newest first. */
	size_t *idx = malloc((n ? n : 1) * sizeof(*idx));
	bool *kept = calloc(n ? n : 1, sizeof(*kept));
	int64_t *chain = malloc((n ? n : 1) * sizeof(*chain));
	struct ord *ord = malloc((n ? n : 1) * sizeof(*ord));
	if (!idx || !kept || !chain || !ord) {
		free(idx);
		free(kept);
		free(chain);
		free(ord);
		return n4j_err(err, N4J_ENOMEM, "retention: out of memory");
	}
	size_t m = 0;
	for (size_t i = 0; i < n; i++)
		if (arts[i].inspected)
			ord[m++] = (struct ord){arts[i].time, arts[i].name, i};
	qsort(ord, m, sizeof(*ord), by_time);
	for (size_t k = 0; k < m; k++)
		idx[k] = ord[k].i;
	free(ord);
	/* Oldest first now; chain ids in time order. */
	int64_t cur = 0;
	for (size_t k = 0; k < m; k++) {
		if (arts[idx[k]].full && k > 0)
			cur++;
		chain[k] = cur;
	}
	/* Newest first for the rules. */
	for (size_t k = 0; k < m / 2; k++) {
		size_t t = idx[k];
		idx[k] = idx[m - 1 - k];
		idx[m - 1 - k] = t;
		int64_t c = chain[k];
		chain[k] = chain[m - 1 - k];
		chain[m - 1 - k] = c;
	}
	if (m > 0) {
		if (r->keep_last == 0 && r->daily == 0 && r->weekly == 0 && r->monthly == 0) {
			for (size_t k = 0; k < m; k++)
				kept[k] = true;
		} else {
			for (size_t k = 0; k < m && k < (size_t)r->keep_last; k++)
				kept[k] = true;
			keep_periods(arts, idx, m, r->daily, day_of, kept);
			keep_periods(arts, idx, m, r->weekly, iso_week_of, kept);
			keep_periods(arts, idx, m, r->monthly, month_of, kept);
		}
		if (r->max_age_s > 0)
			for (size_t k = 1; k < m; k++)
				if (arts[idx[k]].time < now - r->max_age_s)
					kept[k] = false;
		/* Closure: walking oldest-ward, a kept diff keeps the earlier links of its
		 * chain — every older artifact with the same chain id. */
		bool carry = false;
		for (size_t k = 0; k < m; k++) {
			if (k > 0 && chain[k] != chain[k - 1])
				carry = false;
			if (carry)
				kept[k] = true;
			if (kept[k] && !arts[idx[k]].full)
				carry = true;
		}
		/* The newest chain, whole. */
		for (size_t k = 0; k < m && chain[k] == chain[0]; k++)
			kept[k] = true;
		for (size_t k = 0; k < m; k++)
			keep[idx[k]] = kept[k];
	}
	free(idx);
	free(kept);
	free(chain);
	return 0;
}
