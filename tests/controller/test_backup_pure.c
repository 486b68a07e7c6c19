/*
 * The pure parts of the Neo4jBackup controller: the schedule (robfig/cron's ParseStandard
 * and SpecSchedule.Next, which the CronJob controller runs) in IANA zones read from TZif
 * files, including DST days in Europe/Berlin and the footer rule past the table's end;
 * the overdue rule; the history merge and its bound; the retention report (contract §C);
 * a Job and its pods as a run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "controller/internal.h"

static int64_t AT(const char *rfc3339)
{
	int64_t ms = ctl_parse_time_ms(rfc3339);
	CHECK_MSG(ms >= 0, "bad test time %s", rfc3339);
	return ms / 1000;
}

static const char *S(int64_t s)
{
	static char buf[8][40];
	static int k;
	char *b = buf[k++ % 8];
	if (s < 0)
		return "(none)";
	n4j_format_time(s * 1000000000LL, false, b, 40);
	return b;
}

static struct ctl_zone *zone(const char *name)
{
	struct ctl_zone *z = NULL;
	struct n4j_error err = {0};
	CHECK_MSG(ctl_zone_load(name, &z, &err) == 0, "zone %s: %s", name, err.msg);
	return z;
}

/* next(spec, zone, from) == want (all UTC RFC 3339). */
static void next_is(const char *spec, struct ctl_zone *z, const char *from, const char *want)
{
	struct ctl_cron c;
	struct n4j_error err = {0};
	CHECK_MSG(ctl_cron_parse(spec, &c, &err) == 0, "%s: %s", spec, err.msg);
	int64_t got = ctl_cron_next(&c, z, AT(from));
	CHECK_MSG(got == AT(want), "\"%s\" after %s: got %s, want %s", spec, from, S(got), want);
}

static void test_parse(void)
{
	struct ctl_cron c;
	struct n4j_error err = {0};
	static const char *const bad[] = {
		"60 * * * *",  "* 24 * * *", "* * 0 * *",    "* * 32 * *", "* * * 13 *",
		"* * * * 7",   "* * * *",    "* * * * * *",  "",           "5-1 * * * *",
		"*/0 * * * *", "a * * * *",  "1,,2 * * * *", "1, * * * *", "TZ=UTC 0 * * * *",
		"@every 5m",   "@reboot",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_MSG(ctl_cron_parse(bad[i], &c, &err) == N4J_EINVAL, "\"%s\" accepted",
			  bad[i]);
	CHECK_INT(ctl_cron_parse("0 2 * * *", &c, &err), 0);
	CHECK(c.minute == 1 && c.hour == 4);
	CHECK_INT(ctl_cron_parse("0 0 * JAN-mar Mon-FRI", &c, &err), 0);
	CHECK(c.month == (1u << 1 | 1u << 2 | 1u << 3));
	CHECK(c.dow == (0x3Eu));
	CHECK_INT(ctl_cron_parse("  */15   *  * * *  ", &c, &err), 0);
	CHECK(c.minute == (1ULL | 1ULL << 15 | 1ULL << 30 | 1ULL << 45));
	CHECK_INT(ctl_cron_parse("@weekly", &c, &err), 0);
	CHECK(c.minute == 1 && c.hour == 1 && c.dow == 1);
}

static void test_next_utc(void)
{
	struct ctl_zone *utc = zone(NULL);
	next_is("*/15 * * * *", utc, "2026-12-02T10:07:00Z", "2026-12-02T10:15:00Z");
	next_is("*/15 * * * *", utc, "2026-12-02T10:15:00Z", "2026-12-02T10:30:00Z");
	next_is("*/15 * * * *", utc, "2026-12-02T23:59:59Z", "2026-12-03T00:00:00Z");
	next_is("* * * * *", utc, "2026-12-02T10:07:30Z", "2026-12-02T10:08:00Z");
	next_is("0 2 * * *", utc, "2026-12-02T02:00:00Z", "2026-12-03T02:00:00Z");
	next_is("10-12 3 * * *", utc, "2026-12-02T03:11:00Z", "2026-12-02T03:12:00Z");
	next_is("10-12 3 * * *", utc, "2026-12-02T03:12:00Z", "2026-12-03T03:10:00Z");
	next_is("5 1,13,22 * * *", utc, "2026-12-02T13:05:00Z", "2026-12-02T22:05:00Z");
	next_is("0 9-17/4 * * *", utc, "2026-12-02T13:00:00Z", "2026-12-02T17:00:00Z");
	next_is("30 4 1 */3 *", utc, "2026-12-02T00:00:00Z", "2027-01-01T04:30:00Z");
	next_is("0 0 29 2 *", utc, "2026-12-02T00:00:00Z", "2028-02-29T00:00:00Z");
	next_is("0 0 31 * *", utc, "2026-12-31T00:00:00Z", "2027-01-31T00:00:00Z");
	next_is("@hourly", utc, "2026-12-02T10:07:00Z", "2026-12-02T11:00:00Z");
	next_is("@monthly", utc, "2026-12-02T10:07:00Z", "2027-01-01T00:00:00Z");
	/* Day-of-month and day-of-week: OR when both are restricted... */
	next_is("0 0 13 * 5", utc, "2026-12-01T00:00:00Z", "2026-12-04T00:00:00Z"); /* Fri */
	next_is("0 0 13 * 5", utc, "2026-12-11T01:00:00Z", "2026-12-13T00:00:00Z"); /* 13th */
	/* ...AND when either is "*"... */
	next_is("0 0 * * 5", utc, "2026-12-01T00:00:00Z", "2026-12-04T00:00:00Z");
	next_is("0 0 13 * *", utc, "2026-12-01T00:00:00Z", "2026-12-13T00:00:00Z");
	/* ...and a stepped "*" counts as restricted (robfig): "*\/2" OR Friday. */
	next_is("0 0 */2 * 5", utc, "2026-12-01T00:00:00Z", "2026-12-03T00:00:00Z");
	next_is("0 0 */2 * 5", utc, "2026-12-03T00:00:00Z", "2026-12-04T00:00:00Z");
	/* Never: no February 30 within five years. */
	struct ctl_cron c;
	struct n4j_error err = {0};
	CHECK_INT(ctl_cron_parse("0 0 30 2 *", &c, &err), 0);
	CHECK_INT(ctl_cron_next(&c, utc, AT("2026-12-02T00:00:00Z")), -1);
	ctl_zone_free(utc);
}

static void test_next_berlin(void)
{
	struct ctl_zone *z = zone("Europe/Berlin");
	if (!z)
		return;
	CHECK_INT(ctl_zone_offset(z, AT("2026-12-02T12:00:00Z"), NULL, NULL), 3600);
	CHECK_INT(ctl_zone_offset(z, AT("2026-07-02T12:00:00Z"), NULL, NULL), 7200);
	/* 02:00 local = 01:00 UTC in winter, 00:00 UTC in summer. */
	next_is("0 2 * * *", z, "2026-12-02T10:00:00Z", "2026-12-03T01:00:00Z");
	next_is("0 2 * * *", z, "2026-07-02T10:00:00Z", "2026-07-03T00:00:00Z");
	/* Spring forward (29 March 2026, 02:00 CET -> 03:00 CEST): 02:30 does not exist
	 * that day and is skipped, as the CronJob controller does. */
	next_is("30 2 * * *", z, "2026-03-28T01:30:00Z", "2026-03-30T00:30:00Z");
	next_is("0 3 * * *", z, "2026-03-28T02:00:00Z", "2026-03-29T01:00:00Z");
	next_is("0 1 * * *", z, "2026-03-28T23:00:00Z", "2026-03-29T00:00:00Z");
	next_is("*/15 * * * *", z, "2026-03-29T00:50:00Z", "2026-03-29T01:00:00Z");
	/* Fall back (25 October 2026, 03:00 CEST -> 02:00 CET): 02:30 happens twice and
	 * fires twice. */
	next_is("30 2 * * *", z, "2026-10-24T00:30:00Z", "2026-10-25T00:30:00Z");
	next_is("30 2 * * *", z, "2026-10-25T00:30:00Z", "2026-10-25T01:30:00Z");
	next_is("30 2 * * *", z, "2026-10-25T01:30:00Z", "2026-10-26T01:30:00Z");
	next_is("0 * * * *", z, "2026-10-25T00:30:00Z", "2026-10-25T01:00:00Z");
	next_is("0 * * * *", z, "2026-10-25T01:00:00Z", "2026-10-25T02:00:00Z");
	/* Past the table (2037): the footer rule CET-1CEST,M3.5.0,M10.5.0/3. */
	CHECK_INT(ctl_zone_offset(z, AT("2040-07-02T12:00:00Z"), NULL, NULL), 7200);
	CHECK_INT(ctl_zone_offset(z, AT("2040-12-02T12:00:00Z"), NULL, NULL), 3600);
	next_is("30 2 * * *", z, "2040-03-24T01:30:00Z", "2040-03-26T00:30:00Z");
	next_is("30 2 * * *", z, "2040-10-28T00:30:00Z", "2040-10-28T01:30:00Z");
	ctl_zone_free(z);
	/* A zone whose DST starts at midnight (Beirut, 29 March 2026 00:00 -> 01:00): Go's
	 * time.Date puts the missing midnight at 01:00, robfig steps back to Saturday 23:00
	 * and so never fires that Sunday (checked against robfig/cron v3.0.1 itself). */
	struct ctl_zone *b = zone("Asia/Beirut");
	if (b)
		next_is("0 * * * 0", b, "2026-03-27T10:00:00Z", "2026-04-04T21:00:00Z");
	ctl_zone_free(b);
	/* Other zones: a half-hour one and one south of the equator. */
	struct ctl_zone *k = zone("Asia/Kolkata");
	if (k)
		next_is("0 2 * * *", k, "2026-12-02T00:00:00Z", "2026-12-02T20:30:00Z");
	ctl_zone_free(k);
	struct ctl_zone *s = zone("Australia/Sydney");
	if (s) {
		CHECK_INT(ctl_zone_offset(s, AT("2026-12-02T00:00:00Z"), NULL, NULL), 39600);
		CHECK_INT(ctl_zone_offset(s, AT("2041-12-02T00:00:00Z"), NULL, NULL), 39600);
		CHECK_INT(ctl_zone_offset(s, AT("2041-07-02T00:00:00Z"), NULL, NULL), 36000);
	}
	ctl_zone_free(s);
}

static void test_zone_errors(void)
{
	struct ctl_zone *z = NULL;
	struct n4j_error err = {0};
	CHECK_INT(ctl_zone_load("Mars/Olympus_Mons", &z, &err), N4J_ENOTFOUND);
	CHECK_HAS(err.msg, "unknown time zone Mars/Olympus_Mons");
	CHECK_INT(ctl_zone_load("../../etc/passwd", &z, &err), N4J_EINVAL);
	CHECK_INT(ctl_zone_load("/etc/localtime", &z, &err), N4J_EINVAL);
	CHECK(z == NULL);
	static const unsigned char junk[] = "TZif2\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"
					    "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0";
	CHECK_INT(ctl_zone_parse(junk, sizeof(junk) - 1, &z, &err), N4J_EPARSE);
	CHECK_INT(ctl_zone_parse((const unsigned char *)"nope", 4, &z, &err), N4J_EPARSE);
}

static void test_overdue(void)
{
	struct ctl_zone *utc = zone(NULL);
	struct ctl_cron c;
	struct n4j_error err = {0};
	CHECK_INT(ctl_cron_parse("0 2 * * *", &c, &err), 0);
	int64_t due, deadline;
	/* Last success 2 Dec 02:05: due 3 Dec 02:00, overdue after 4 Dec 02:00. */
	int64_t ok = AT("2026-12-02T02:05:00Z");
	CHECK(!ctl_backup_overdue(&c, utc, ok, AT("2026-12-03T12:00:00Z"), &due, &deadline));
	CHECK_INT(due, AT("2026-12-03T02:00:00Z"));
	CHECK_INT(deadline, AT("2026-12-04T02:00:00Z"));
	CHECK(!ctl_backup_overdue(&c, utc, ok, AT("2026-12-04T02:00:00Z"), &due, &deadline));
	CHECK(ctl_backup_overdue(&c, utc, ok, AT("2026-12-04T02:00:01Z"), &due, &deadline));
	/* Every minute: overdue two minutes after the last success. */
	CHECK_INT(ctl_cron_parse("* * * * *", &c, &err), 0);
	ok = AT("2026-12-02T10:00:30Z");
	CHECK(!ctl_backup_overdue(&c, utc, ok, AT("2026-12-02T10:02:00Z"), &due, &deadline));
	CHECK(ctl_backup_overdue(&c, utc, ok, AT("2026-12-02T10:02:01Z"), &due, &deadline));
	CHECK_INT(ctl_cron_parse("0 0 30 2 *", &c, &err), 0);
	CHECK(!ctl_backup_overdue(&c, utc, ok, AT("2030-01-01T00:00:00Z"), &due, &deadline));
	ctl_zone_free(utc);
}

static void test_history(void)
{
	struct n4j_arena *a = n4j_arena_new();
	struct n4j_backup_run prev[N4J_BACKUP_HISTORY_MAX];
	char names[N4J_BACKUP_HISTORY_MAX][32], times[N4J_BACKUP_HISTORY_MAX][40];
	/* The live history: 20 runs, b-00 (newest) .. b-19; their Jobs are long gone. */
	for (int i = 0; i < N4J_BACKUP_HISTORY_MAX; i++) {
		snprintf(names[i], sizeof(names[i]), "b-%02d", i);
		snprintf(times[i], sizeof(times[i]), "2026-11-%02dT02:01:00Z", 30 - i);
		prev[i] = (struct n4j_backup_run){
			.name = names[i], .completion_time = times[i], .result = "Succeeded"};
	}
	/* Seen: b-00 again (now with more detail) and two new runs, one of them newest. */
	struct n4j_backup_run seen[] = {
		{.name = "b-new2", .completion_time = "2026-12-02T02:01:00Z", .result = "Failed"},
		{.name = "b-00",
		 .completion_time = times[0],
		 .result = "Succeeded",
		 .size_bytes = 99},
		{.name = "b-new1",
		 .completion_time = "2026-12-01T02:01:00Z",
		 .result = "Succeeded"},
	};
	struct n4j_backup_run *out;
	size_t n;
	CHECK_INT(ctl_backup_history_merge(a, prev, N4J_BACKUP_HISTORY_MAX, seen, 3, &out, &n), 0);
	CHECK_INT(n, N4J_BACKUP_HISTORY_MAX);
	CHECK_STR(out[0].name, "b-new2");
	CHECK_STR(out[1].name, "b-new1");
	CHECK_STR(out[2].name, "b-00");
	CHECK_INT(out[2].size_bytes, 99); /* the Job's fresher view wins */
	CHECK_STR(out[19].name, "b-17");  /* the two oldest fell off */
	for (size_t i = 1; i < n; i++)
		CHECK(strcmp(out[i - 1].completion_time, out[i].completion_time) >= 0);
	/* No Job left: the history stays as it was. */
	CHECK_INT(ctl_backup_history_merge(a, out, n, NULL, 0, &out, &n), 0);
	CHECK_INT(n, N4J_BACKUP_HISTORY_MAX);
	CHECK_STR(out[0].name, "b-new2");
	n4j_arena_free(a);
}

static void test_report(void)
{
	struct n4j_arena *a = n4j_arena_new();
	struct ctl_backup_report r;
	struct n4j_error err = {0};
	const char *ok =
		"{\"v\":1,\"databases\":[\"neo4j\",\"system\"],\"artifacts\":[{\"name\":"
		"\"neo4j-2026-12-02T14-00-00.backup\",\"database\":\"neo4j\",\"sizeBytes\":"
		"1234,\"full\":true}],\"bytes\":1234,\"kept\":7,\"prunedCount\":3,"
		"\"pruned\":[\"neo4j-2026-11-01T02-00-00.backup\"]}\n";
	CHECK_INT(ctl_backup_report_parse(a, ok, strlen(ok), &r, &err), 0);
	CHECK_INT(r.n_databases, 2);
	CHECK_STR(r.databases[1], "system");
	CHECK_INT(r.n_artifacts, 1);
	CHECK_STR(r.artifacts[0].name, "neo4j-2026-12-02T14-00-00.backup");
	CHECK_STR(r.artifacts[0].database, "neo4j");
	CHECK_INT(r.artifacts[0].size_bytes, 1234);
	CHECK(r.artifacts[0].full);
	CHECK_INT(r.bytes, 1234);
	CHECK_INT(r.kept, 7);
	CHECK_INT(r.pruned_count, 3);
	CHECK_INT(r.n_pruned, 1);
	static const char *const bad[] = {
		"",
		"not json",
		"[1]",
		"{\"v\":2}",
		"{\"v\":1,\"artifacts\":{}}",
		"{\"v\":1,\"artifacts\":[{\"database\":\"x\"}]}",
		"{\"v\":1,\"databases\":[1]}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_MSG(ctl_backup_report_parse(a, bad[i], strlen(bad[i]), &r, &err) < 0,
			  "report %s accepted", bad[i]);
	char big[5000];
	memset(big, ' ', sizeof(big));
	big[sizeof(big) - 1] = '\0';
	CHECK_INT(ctl_backup_report_parse(a, big, strlen(big), &r, &err), N4J_ELIMIT);
	n4j_arena_free(a);
}

static cJSON *J(const char *s)
{
	cJSON *j = cJSON_Parse(s);
	CHECK_MSG(j != NULL, "bad test JSON %s", s);
	return j;
}

static void test_run_of(void)
{
	struct n4j_arena *a = n4j_arena_new();
	struct ctl_run_obs o;
	cJSON *active = J("{\"metadata\":{\"name\":\"j1\"},\"status\":{\"startTime\":"
			  "\"2026-12-02T02:00:01Z\",\"active\":1}}");
	CHECK_INT(ctl_backup_run_of(a, active, NULL, 0, &o), 0);
	CHECK(!o.finished);
	CHECK_STR(o.run.name, "j1");

	cJSON *done = J("{\"metadata\":{\"name\":\"j2\"},\"status\":{\"startTime\":"
			"\"2026-12-02T02:00:01Z\",\"completionTime\":\"2026-12-02T02:03:00Z\","
			"\"conditions\":[{\"type\":\"Complete\",\"status\":\"True\"}]}}");
	cJSON *pod =
		J("{\"metadata\":{\"name\":\"j2-x\",\"creationTimestamp\":"
		  "\"2026-12-02T02:00:01Z\"},\"status\":{\"phase\":\"Succeeded\","
		  "\"containerStatuses\":[{\"name\":\"retention\",\"state\":{\"terminated\":"
		  "{\"exitCode\":0,\"message\":\"{\\\"v\\\":1,\\\"databases\\\":[\\\"neo4j\\\"],"
		  "\\\"artifacts\\\":[{\\\"name\\\":\\\"neo4j-2026-12-02T02-00-02.backup\\\","
		  "\\\"database\\\":\\\"neo4j\\\",\\\"sizeBytes\\\":10,\\\"full\\\":false}],"
		  "\\\"bytes\\\":10,\\\"kept\\\":4,\\\"prunedCount\\\":1}\"}}}]}}");
	const cJSON *pods[] = {pod};
	CHECK_INT(ctl_backup_run_of(a, done, pods, 1, &o), 0);
	CHECK(o.finished && o.succeeded);
	CHECK_STR(o.run.result, "Succeeded");
	CHECK_STR(o.run.completion_time, "2026-12-02T02:03:00Z");
	CHECK_INT(o.finished_s, AT("2026-12-02T02:03:00Z"));
	CHECK_INT(o.run.size_bytes, 10);
	CHECK_INT(o.run.n_artifacts, 1);
	CHECK_INT(o.run.pruned, 1);
	CHECK_INT(o.run.n_databases, 1);
	CHECK_HAS(o.run.message, "1 artifact written; 4 kept, 1 pruned");

	/* Failed: the backup container's words (the tail, at most 512 bytes). */
	cJSON *failed = J("{\"metadata\":{\"name\":\"j3\"},\"status\":{\"conditions\":[{\"type\":"
			  "\"Failed\",\"status\":\"True\",\"reason\":\"BackoffLimitExceeded\","
			  "\"lastTransitionTime\":\"2026-12-02T02:05:00Z\"}]}}");
	char longmsg[2000];
	memset(longmsg, 'x', sizeof(longmsg));
	const char *tail = "NoSuchBucket: the bucket does not exist";
	memcpy(longmsg + sizeof(longmsg) - 1 - strlen(tail), tail, strlen(tail));
	longmsg[sizeof(longmsg) - 1] = '\0';
	cJSON *fpod = J("{\"metadata\":{\"name\":\"j3-a\",\"creationTimestamp\":"
			"\"2026-12-02T02:00:01Z\"},\"status\":{\"phase\":\"Failed\","
			"\"initContainerStatuses\":[{\"name\":\"backup\",\"state\":{\"terminated\":"
			"{\"exitCode\":1}}}]}}");
	cJSON_AddStringToObject(
		cJSON_GetObjectItem(
			cJSON_GetObjectItem(
				cJSON_GetArrayItem(
					cJSON_GetObjectItem(cJSON_GetObjectItem(fpod, "status"),
							    "initContainerStatuses"),
					0),
				"state"),
			"terminated"),
		"message", longmsg);
	const cJSON *fpods[] = {fpod};
	CHECK_INT(ctl_backup_run_of(a, failed, fpods, 1, &o), 0);
	CHECK(o.finished && !o.succeeded);
	CHECK_STR(o.reason, "BackupFailed");
	CHECK_STR(o.run.result, "Failed");
	CHECK_STR(o.run.completion_time, "2026-12-02T02:05:00Z");
	CHECK_INT(strlen(o.run.message), CTL_FAILURE_MSG_MAX);
	CHECK_HAS(o.run.message, tail);
	/* A line break near the cut: the message starts on a whole line. */
	longmsg[sizeof(longmsg) - 1 - CTL_FAILURE_MSG_MAX + 10] = '\n';
	cJSON *term = cJSON_GetObjectItem(
		cJSON_GetObjectItem(
			cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(fpod, "status"),
							       "initContainerStatuses"),
					   0),
			"state"),
		"terminated");
	cJSON_ReplaceItemInObject(term, "message", cJSON_CreateString(longmsg));
	CHECK_INT(ctl_backup_run_of(a, failed, fpods, 1, &o), 0);
	CHECK_INT(strlen(o.run.message), CTL_FAILURE_MSG_MAX - 11);
	CHECK(o.run.message[0] == 'x');

	/* The retention container failed after a good backup. */
	cJSON *rpod =
		J("{\"metadata\":{\"name\":\"j3-b\",\"creationTimestamp\":"
		  "\"2026-12-02T02:01:01Z\"},\"status\":{\"phase\":\"Failed\","
		  "\"initContainerStatuses\":[{\"name\":\"backup\",\"state\":{\"terminated\":"
		  "{\"exitCode\":0}}}],\"containerStatuses\":[{\"name\":\"retention\",\"state\":"
		  "{\"terminated\":{\"exitCode\":2,\"message\":\"inspect.json: missing\\n\"}}}]}}");
	const cJSON *rpods[] = {fpod, rpod}; /* the newer attempt speaks */
	CHECK_INT(ctl_backup_run_of(a, failed, rpods, 2, &o), 0);
	CHECK_STR(o.reason, "RetentionFailed");
	CHECK_STR(o.run.message, "inspect.json: missing");

	/* Verification failed: the script's "VerifyFailed:" line in the log tail. */
	cJSON *vpod = J("{\"metadata\":{\"name\":\"j3-c\",\"creationTimestamp\":"
			"\"2026-12-02T02:02:01Z\"},\"status\":{\"phase\":\"Failed\","
			"\"initContainerStatuses\":[{\"name\":\"backup\",\"state\":{\"terminated\":"
			"{\"exitCode\":1,\"message\":\"neo4j-backup: VerifyFailed: the consistency "
			"check failed for neo4j\\n\"}}}]}}");
	const cJSON *vpods[] = {vpod};
	CHECK_INT(ctl_backup_run_of(a, failed, vpods, 1, &o), 0);
	CHECK_STR(o.reason, "VerifyFailed");

	/* activeDeadlineSeconds: the Job's reason, whatever the pods say. */
	cJSON *dl = J("{\"metadata\":{\"name\":\"j4\"},\"status\":{\"conditions\":[{\"type\":"
		      "\"Failed\",\"status\":\"True\",\"reason\":\"DeadlineExceeded\",\"message\":"
		      "\"Job was active longer than specified deadline\",\"lastTransitionTime\":"
		      "\"2026-12-02T08:00:00Z\"}]}}");
	CHECK_INT(ctl_backup_run_of(a, dl, fpods, 1, &o), 0);
	CHECK_STR(o.reason, "DeadlineExceeded");
	CHECK_HAS(o.run.message, "deadline");
	cJSON *all[] = {active, done, pod, failed, fpod, rpod, vpod, dl};
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		cJSON_Delete(all[i]);
	n4j_arena_free(a);
}

/* hack/cron-oracle: "zone|spec|epoch" lines on stdin, the next fire (or -1, or ERR) out. */
static int oracle(void)
{
	char line[512];
	while (fgets(line, sizeof(line), stdin)) {
		line[strcspn(line, "\n")] = '\0';
		char *spec = strchr(line, '|');
		char *t = spec ? strchr(spec + 1, '|') : NULL;
		if (!t) {
			puts("ERR");
			continue;
		}
		*spec++ = '\0';
		*t++ = '\0';
		struct ctl_cron c;
		struct ctl_zone *z = NULL;
		struct n4j_error err = {0};
		if (ctl_cron_parse(spec, &c, &err) ||
		    ctl_zone_load(*line ? line : NULL, &z, &err)) {
			puts("ERR");
			continue;
		}
		printf("%lld\n", (long long)ctl_cron_next(&c, z, strtoll(t, NULL, 10)));
		ctl_zone_free(z);
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--next") == 0)
		return oracle();
	test_parse();
	test_next_utc();
	test_next_berlin();
	test_zone_errors();
	test_overdue();
	test_history();
	test_report();
	test_run_of();
	return check_summary();
}
