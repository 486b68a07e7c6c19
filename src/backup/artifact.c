/*
 * Artifact names: `<db>-YYYY-MM-DDTHH-MM-SS.backup`, as `neo4j-admin database backup`
 * writes them (UTC). Only names that parse exactly are ever candidates for pruning, so
 * the parser is strict: a real calendar date, a real time of day, a database name as
 * Neo4j normalises it (lowercase), nothing before or after.
 */
#include <string.h>

#include "backup/backup.h"

/* "-YYYY-MM-DDTHH-MM-SS.backup" */
#define SUFFIX_LEN 27

/* Neo4j database names, normalised: ^[a-z][a-z0-9.-]{2,62}$ (system included). */
static bool db_name_ok(const char *s, size_t n)
{
	if (n < 3 || n > 63 || !(s[0] >= 'a' && s[0] <= 'z'))
		return false;
	for (size_t i = 1; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-'))
			return false;
	}
	return true;
}

static bool digits(const char *s, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

static bool leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

int n4j_artifact_parse_name(const char *name, const char **db_out, size_t *db_len,
			    int64_t *time_out)
{
	if (!name)
		return N4J_EINVAL;
	size_t n = strlen(name);
	if (n < SUFFIX_LEN + 3)
		return N4J_EINVAL;
	size_t dbn = n - SUFFIX_LEN;
	const char *t = name + dbn;
	/* -YYYY-MM-DDTHH-MM-SS.backup
	 * 0123456789012345678901234567 */
	if (t[0] != '-' || t[5] != '-' || t[8] != '-' || t[11] != 'T' || t[14] != '-' ||
	    t[17] != '-' || strcmp(t + 20, ".backup") != 0)
		return N4J_EINVAL;
	int y, mo, d, h, mi, s;
	if (!digits(t + 1, 4, &y) || !digits(t + 6, 2, &mo) || !digits(t + 9, 2, &d) ||
	    !digits(t + 12, 2, &h) || !digits(t + 15, 2, &mi) || !digits(t + 18, 2, &s))
		return N4J_EINVAL;
	static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 ||
	    d > mdays[mo - 1] + (mo == 2 && leap(y) ? 1 : 0) || h > 23 || mi > 59 || s > 59)
		return N4J_EINVAL;
	if (!db_name_ok(name, dbn))
		return N4J_EINVAL;
	if (db_out)
		*db_out = name;
	if (db_len)
		*db_len = dbn;
	if (time_out)
		*time_out = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
	return 0;
}
