/*
 * `run`'s status readers (operator/run_metrics.c) on objects as the informer caches hold
 * them: readiness, conditions (odd types left out), servers by state and health, desired
 * servers, UpdatePending, certificate expiry from status.tls (malformed entries and a
 * missing field give nothing), backup timestamps and health; RFC 3339 parsing; and the
 * liveness rule (a stale main-loop heartbeat fails, shutdown does not).
 */
#include <math.h>
#include <string.h>

#include "check.h"
#include "operator/run_metrics.h"

static const char *CLUSTER_B =
	"{\"metadata\":{\"namespace\":\"ns1\",\"name\":\"b\"},\"spec\":{\"servers\":3},"
	"\"status\":{\"conditions\":["
	"{\"type\":\"Ready\",\"status\":\"True\"},"
	"{\"type\":\"UpdatePending\",\"status\":\"True\"},"
	"{\"type\":\"Degraded\",\"status\":\"Unknown\"},"
	"{\"type\":\"Bad Type\\\"\",\"status\":\"True\"}],"
	"\"servers\":["
	"{\"state\":\"Enabled\",\"health\":\"Available\"},"
	"{\"state\":\"Enabled\",\"health\":\"Unavailable\"},"
	"{\"state\":\"Enabled\"},"
	"{\"state\":\"Weird\",\"health\":\"Available\"}],"
	"\"tls\":["
	"{\"secretName\":\"bolt-tls\",\"notAfter\":\"2027-01-02T03:04:05Z\"},"
	"{\"secretName\":\"https-tls\",\"notAfter\":\"not a time\"},"
	"{\"notAfter\":\"2027-01-02T03:04:05Z\"}]}}";
/* Sorted before b; no status at all. */
static const char *CLUSTER_A = "{\"metadata\":{\"namespace\":\"ns1\",\"name\":\"a\"},"
			       "\"spec\":{\"servers\":1}}";
/* Ready False, and a status without servers or tls. */
static const char *CLUSTER_C =
	"{\"metadata\":{\"namespace\":\"ns2\",\"name\":\"c\"},"
	"\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"False\"}]}}";
static const char *BACKUP = "{\"metadata\":{\"namespace\":\"ns1\",\"name\":\"nightly\"},"
			    "\"status\":{\"lastSuccessfulTime\":\"2026-12-01T02:00:00Z\","
			    "\"nextScheduleTime\":\"2026-12-02T02:00:00+01:00\","
			    "\"conditions\":[{\"type\":\"BackupHealthy\",\"status\":\"False\"}]}}";
static const char *BACKUP_NEW = "{\"metadata\":{\"namespace\":\"ns0\",\"name\":\"fresh\"}}";

static void test_cr_families(void)
{
	cJSON *cl[3] = {cJSON_Parse(CLUSTER_B), cJSON_Parse(CLUSTER_C), cJSON_Parse(CLUSTER_A)};
	cJSON *bk[2] = {cJSON_Parse(BACKUP), cJSON_Parse(BACKUP_NEW)};
	CHECK(cl[0] && cl[1] && cl[2] && bk[0] && bk[1]);
	struct n4j_buf b;
	n4j_buf_init(&b);
	struct n4j_metrics_writer *w = n4j_metrics_writer_new(&b);
	run_metrics_cr_families(w, cl, 3, bk, 2);
	const char *t = n4j_buf_cstr(&b);
	CHECK_INT(n4j_metrics_writer_dropped(w), 0);

	CHECK_HAS(t, "# TYPE neo4j_operator_cluster_ready gauge\n"
		     "neo4j_operator_cluster_ready{namespace=\"ns1\",name=\"a\"} 0\n"
		     "neo4j_operator_cluster_ready{namespace=\"ns1\",name=\"b\"} 1\n"
		     "neo4j_operator_cluster_ready{namespace=\"ns2\",name=\"c\"} 0\n");
	CHECK_HAS(t, "# TYPE neo4j_operator_cluster_condition gauge\n"
		     "neo4j_operator_cluster_condition{namespace=\"ns1\",name=\"b\","
		     "condition=\"Ready\",status=\"true\"} 1\n"
		     "neo4j_operator_cluster_condition{namespace=\"ns1\",name=\"b\","
		     "condition=\"UpdatePending\",status=\"true\"} 1\n"
		     "neo4j_operator_cluster_condition{namespace=\"ns1\",name=\"b\","
		     "condition=\"Degraded\",status=\"unknown\"} 1\n"
		     "neo4j_operator_cluster_condition{namespace=\"ns2\",name=\"c\","
		     "condition=\"Ready\",status=\"false\"} 1\n"
		     "# HELP");
	CHECK(strstr(t, "Bad Type") == NULL);
	CHECK_HAS(t, "neo4j_operator_cluster_servers{namespace=\"ns1\",name=\"b\","
		     "state=\"Enabled\",health=\"Available\"} 1\n");
	CHECK_HAS(t, "neo4j_operator_cluster_servers{namespace=\"ns1\",name=\"b\","
		     "state=\"Enabled\",health=\"Unavailable\"} 1\n");
	CHECK_HAS(t, "neo4j_operator_cluster_servers{namespace=\"ns1\",name=\"b\","
		     "state=\"Enabled\",health=\"Unknown\"} 1\n");
	CHECK_HAS(t, "neo4j_operator_cluster_servers{namespace=\"ns1\",name=\"a\","
		     "state=\"Free\",health=\"Available\"} 0\n");
	CHECK(strstr(t, "Weird") == NULL);
	CHECK_HAS(t, "neo4j_operator_cluster_desired_servers{namespace=\"ns1\",name=\"a\"} 1\n"
		     "neo4j_operator_cluster_desired_servers{namespace=\"ns1\",name=\"b\"} 3\n");
	CHECK_HAS(t, "neo4j_operator_cluster_update_pending{namespace=\"ns1\",name=\"a\"} 0\n"
		     "neo4j_operator_cluster_update_pending{namespace=\"ns1\",name=\"b\"} 1\n");
	/* 2027-01-02T03:04:05Z; the malformed and the nameless entries give nothing. */
	CHECK_HAS(t, "# TYPE neo4j_operator_certificate_expiry_timestamp_seconds gauge\n"
		     "neo4j_operator_certificate_expiry_timestamp_seconds{namespace=\"ns1\","
		     "name=\"b\",secret=\"bolt-tls\"} 1798859045\n# HELP");
	CHECK(strstr(t, "https-tls") == NULL);
	/* Backups: ns0/fresh first, with no timestamps; +01:00 is an hour before UTC. */
	CHECK_HAS(t, "# TYPE neo4j_operator_backup_last_success_timestamp_seconds gauge\n"
		     "neo4j_operator_backup_last_success_timestamp_seconds{namespace=\"ns1\","
		     "name=\"nightly\"} 1796090400\n# HELP");
	CHECK_HAS(t, "# TYPE neo4j_operator_backup_next_schedule_timestamp_seconds gauge\n"
		     "neo4j_operator_backup_next_schedule_timestamp_seconds{namespace=\"ns1\","
		     "name=\"nightly\"} 1796173200\n# HELP");
	CHECK_HAS(t, "# TYPE neo4j_operator_backup_healthy gauge\n"
		     "neo4j_operator_backup_healthy{namespace=\"ns0\",name=\"fresh\"} 0\n"
		     "neo4j_operator_backup_healthy{namespace=\"ns1\",name=\"nightly\"} 0\n");
	n4j_metrics_writer_free(w);
	n4j_buf_free(&b);
	for (int i = 0; i < 3; i++)
		cJSON_Delete(cl[i]);
	for (int i = 0; i < 2; i++)
		cJSON_Delete(bk[i]);
}

static void test_parse_time(void)
{
	double t = 0;
	CHECK(n4j_parse_time("1970-01-01T00:00:00Z", &t) && t == 0);
	CHECK(n4j_parse_time("2026-12-01T02:00:00.250Z", &t) && t == 1796090400.25);
	CHECK(n4j_parse_time("2026-12-01T02:00:00-00:30", &t) && t == 1796092200);
	const char *bad[] = {"",
			     "2026-12-01",
			     "2026-12-01T02:00:00",
			     "2026-13-01T00:00:00Z",
			     "2026-12-01T02:00:00Zx",
			     "2026-12-01T02:00:00.Z",
			     "x",
			     NULL};
	for (size_t i = 0; bad[i]; i++)
		CHECK_MSG(!n4j_parse_time(bad[i], &t), "'%s' parsed", bad[i]);
	CHECK(!n4j_parse_time(NULL, &t));
}

static void test_healthy(void)
{
	struct n4j_workqueue *q = NULL;
	CHECK(n4j_workqueue_new(NULL, &q) == 0);
	atomic_bool stopping;
	atomic_init(&stopping, false);
	struct run_metrics m = {.queue = q, .stopping = &stopping};
	char why[128] = "";
	atomic_store(&m.heartbeat_ms, n4j_now_ms());
	CHECK(run_metrics_healthy(&m, why, sizeof(why)));
	atomic_store(&m.heartbeat_ms, n4j_now_ms() - RUN_HEARTBEAT_MAX_MS - 1000);
	CHECK(!run_metrics_healthy(&m, why, sizeof(why)));
	CHECK_HAS(why, "main loop last ticked");
	/* Shutting down: the drain has its own budget. */
	atomic_store(&stopping, true);
	CHECK(run_metrics_healthy(&m, why, sizeof(why)));
	n4j_workqueue_shutdown(q, false);
	n4j_workqueue_free(q);
}

int main(void)
{
	test_cr_families();
	test_parse_time();
	test_healthy();
	CHECK_DONE();
}
