/*
 * The exposition writer: exact text for counters, gauges and histograms (cumulative
 * buckets, +Inf, _sum, _count), escaping of label values and HELP, HELP/TYPE once per
 * family in call order, Prometheus' float syntax, and every caller mistake dropped and
 * counted instead of written (a bad metric or label name, a repeated family, a sample
 * of the wrong type or outside a family). Also the process_* families from /proc.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "server/server.h"

/* A fresh writer into b (reset). */
static struct n4j_metrics_writer *fresh(struct n4j_buf *b)
{
	n4j_buf_reset(b);
	return n4j_metrics_writer_new(b);
}

static const char *text(struct n4j_buf *b)
{
	return n4j_buf_cstr(b);
}

static void test_counter_gauge(void)
{
	struct n4j_buf b;
	n4j_buf_init(&b);
	struct n4j_metrics_writer *w = fresh(&b);
	n4j_metrics_family(w, "a_total", N4J_COUNTER, "Things counted.");
	n4j_metrics_sample(
		w, (const char *[]){"controller", "neo4jcluster", "result", "success", NULL}, 3);
	n4j_metrics_sample(
		w, (const char *[]){"controller", "neo4jcluster", "result", "error", NULL}, 0);
	n4j_metrics_family(w, "b", N4J_GAUGE, "A level.");
	n4j_metrics_sample(w, NULL, 0.25);
	CHECK_STR(text(&b), "# HELP a_total Things counted.\n"
			    "# TYPE a_total counter\n"
			    "a_total{controller=\"neo4jcluster\",result=\"success\"} 3\n"
			    "a_total{controller=\"neo4jcluster\",result=\"error\"} 0\n"
			    "# HELP b A level.\n"
			    "# TYPE b gauge\n"
			    "b 0.25\n");
	CHECK_INT(n4j_metrics_writer_dropped(w), 0);
	n4j_metrics_writer_free(w);
	n4j_buf_free(&b);
}

static void test_escaping(void)
{
	struct n4j_buf b;
	n4j_buf_init(&b);
	struct n4j_metrics_writer *w = fresh(&b);
	n4j_metrics_family(w, "esc", N4J_GAUGE, "Back\\slash and\nnewline \"kept\".");
	n4j_metrics_sample(w, (const char *[]){"v", "a\"b\\c\nd", "empty", "", NULL}, 1);
	CHECK_STR(text(&b), "# HELP esc Back\\\\slash and\\nnewline \"kept\".\n"
			    "# TYPE esc gauge\n"
			    "esc{v=\"a\\\"b\\\\c\\nd\",empty=\"\"} 1\n");
	CHECK_INT(n4j_metrics_writer_dropped(w), 0);
	n4j_metrics_writer_free(w);
	n4j_buf_free(&b);
}

static void test_histogram(void)
{
	struct n4j_buf b;
	n4j_buf_init(&b);
	struct n4j_metrics_writer *w = fresh(&b);
	struct n4j_histogram_snapshot h = {
		.n = 3,
		.bounds = {0.005, 0.1, 1},
		.cumulative = {0, 2, 3},
		.count = 5,
		.sum = 7.5,
	};
	n4j_metrics_family(w, "t_seconds", N4J_HISTOGRAM, "Durations.");
	n4j_metrics_histogram(w, (const char *[]){"controller", "x", NULL}, &h);
	CHECK_STR(text(&b), "# HELP t_seconds Durations.\n"
			    "# TYPE t_seconds histogram\n"
			    "t_seconds_bucket{controller=\"x\",le=\"0.005\"} 0\n"
			    "t_seconds_bucket{controller=\"x\",le=\"0.1\"} 2\n"
			    "t_seconds_bucket{controller=\"x\",le=\"1\"} 3\n"
			    "t_seconds_bucket{controller=\"x\",le=\"+Inf\"} 5\n"
			    "t_seconds_sum{controller=\"x\"} 7.5\n"
			    "t_seconds_count{controller=\"x\"} 5\n");

	/* Without labels, and a torn snapshot (a bucket behind its predecessor, the count
	 * behind the last bucket) comes out monotonic. */
	w = (n4j_metrics_writer_free(w), fresh(&b));
	struct n4j_histogram_snapshot torn = {
		.n = 2, .bounds = {1, 2}, .cumulative = {4, 3}, .count = 3, .sum = 0.5};
	n4j_metrics_family(w, "u", N4J_HISTOGRAM, "U.");
	n4j_metrics_histogram(w, NULL, &torn);
	CHECK_STR(text(&b), "# HELP u U.\n# TYPE u histogram\n"
			    "u_bucket{le=\"1\"} 4\n"
			    "u_bucket{le=\"2\"} 4\n"
			    "u_bucket{le=\"+Inf\"} 4\n"
			    "u_sum 0.5\n"
			    "u_count 4\n");

	/* The histogram util's real snapshot: observations land in their buckets. */
	struct n4j_histogram live;
	n4j_histogram_init(&live, N4J_HIST_RECONCILE, N4J_HIST_RECONCILE_N);
	n4j_histogram_observe(&live, 0.001);
	n4j_histogram_observe(&live, 100);
	struct n4j_histogram_snapshot snap;
	n4j_histogram_read(&live, &snap);
	w = (n4j_metrics_writer_free(w), fresh(&b));
	n4j_metrics_family(w, "r", N4J_HISTOGRAM, "R.");
	n4j_metrics_histogram(w, NULL, &snap);
	CHECK_HAS(text(&b), "r_bucket{le=\"0.005\"} 1\n");
	CHECK_HAS(text(&b), "r_bucket{le=\"60\"} 1\n");
	CHECK_HAS(text(&b), "r_bucket{le=\"+Inf\"} 2\n");
	CHECK_HAS(text(&b), "r_count 2\n");
	CHECK_INT(n4j_metrics_writer_dropped(w), 0);
	n4j_metrics_writer_free(w);
	n4j_buf_free(&b);
}

static void test_floats(void)
{
	struct {
		double v;
		const char *want;
	} cases[] = {
		{0, "0"},           {3, "3"},
		{-2, "-2"},         {0.1, "0.1"},
		{1e-6, "1e-06"},    {2.5e-7, "2.5e-07"},
		{1e21, "1e+21"},    {1.0 / 3, "0.3333333333333333"},
		{INFINITY, "+Inf"}, {-INFINITY, "-Inf"},
		{NAN, "NaN"},       {1700000000.5, "1700000000.5"},
	};
	struct n4j_buf b;
	n4j_buf_init(&b);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct n4j_metrics_writer *w = fresh(&b);
		n4j_metrics_family(w, "f", N4J_GAUGE, "F.");
		n4j_metrics_sample(w, NULL, cases[i].v);
		const char *t = text(&b);
		const char *line = strstr(t, "\nf ");
		CHECK_MSG(line && strncmp(line + 3, cases[i].want, strlen(cases[i].want)) == 0 &&
				  line[3 + strlen(cases[i].want)] == '\n',
			  "value %g: want %s in %s", cases[i].v, cases[i].want, t);
		n4j_metrics_writer_free(w);
	}
	n4j_buf_free(&b);
}

static void test_mistakes_dropped(void)
{
	struct n4j_buf b;
	n4j_buf_init(&b);
	struct n4j_metrics_writer *w = fresh(&b);
	/* A sample before any family. */
	n4j_metrics_sample(w, NULL, 1);
	CHECK_INT(n4j_metrics_writer_dropped(w), 1);
	/* A bad family name: neither announced nor its samples written. */
	n4j_metrics_family(w, "bad-name", N4J_GAUGE, "Bad.");
	n4j_metrics_sample(w, NULL, 1);
	n4j_metrics_family(w, "0starts_with_digit", N4J_GAUGE, "Bad.");
	n4j_metrics_family(w, "", N4J_GAUGE, "Bad.");
	CHECK_INT(n4j_metrics_writer_dropped(w), 5);
	/* Good family; bad label names (digit first, colon, reserved "__", duplicate) and a
	 * NULL value drop only that sample. */
	n4j_metrics_family(w, "good:ns_total", N4J_COUNTER, "Good.");
	n4j_metrics_sample(w, (const char *[]){"1x", "v", NULL}, 1);
	n4j_metrics_sample(w, (const char *[]){"a:b", "v", NULL}, 1);
	n4j_metrics_sample(w, (const char *[]){"__name__", "v", NULL}, 1);
	n4j_metrics_sample(w, (const char *[]){"a", "v", "a", "w", NULL}, 1);
	n4j_metrics_sample(w, (const char *[]){"a", NULL, NULL}, 1);
	n4j_metrics_sample(w, (const char *[]){"ok", "v", NULL}, 2);
	CHECK_INT(n4j_metrics_writer_dropped(w), 10);
	/* A histogram sample in a counter family, a plain sample in a histogram family, and
	 * a caller's own "le". */
	struct n4j_histogram_snapshot h = {.n = 1, .bounds = {1}, .cumulative = {1}, .count = 1};
	n4j_metrics_histogram(w, NULL, &h);
	n4j_metrics_family(w, "hist", N4J_HISTOGRAM, "H.");
	n4j_metrics_sample(w, NULL, 1);
	n4j_metrics_histogram(w, (const char *[]){"le", "1", NULL}, &h);
	CHECK_INT(n4j_metrics_writer_dropped(w), 13);
	/* The same family twice: the second announcement and its samples are dropped. */
	n4j_metrics_family(w, "good:ns_total", N4J_COUNTER, "Again.");
	n4j_metrics_sample(w, NULL, 9);
	CHECK_INT(n4j_metrics_writer_dropped(w), 15);
	CHECK_STR(text(&b), "# HELP good:ns_total Good.\n"
			    "# TYPE good:ns_total counter\n"
			    "good:ns_total{ok=\"v\"} 2\n"
			    "# HELP hist H.\n"
			    "# TYPE hist histogram\n");
	n4j_metrics_writer_free(w);
	n4j_buf_free(&b);
}

/* Families come out in call order, each HELP/TYPE pair right before its samples. */
static void test_order(void)
{
	struct n4j_buf b;
	n4j_buf_init(&b);
	struct n4j_metrics_writer *w = fresh(&b);
	const char *names[] = {"zeta", "alpha", "mid"};
	for (size_t i = 0; i < 3; i++) {
		n4j_metrics_family(w, names[i], N4J_GAUGE, "X.");
		n4j_metrics_sample(w, (const char *[]){"i", "0", NULL}, (double)i);
		n4j_metrics_sample(w, (const char *[]){"i", "1", NULL}, (double)i);
	}
	CHECK_STR(text(&b),
		  "# HELP zeta X.\n# TYPE zeta gauge\nzeta{i=\"0\"} 0\nzeta{i=\"1\"} 0\n"
		  "# HELP alpha X.\n# TYPE alpha gauge\nalpha{i=\"0\"} 1\nalpha{i=\"1\"} 1\n"
		  "# HELP mid X.\n# TYPE mid gauge\nmid{i=\"0\"} 2\nmid{i=\"1\"} 2\n");
	n4j_metrics_writer_free(w);
	n4j_buf_free(&b);
}

/* The value of an unlabelled sample "name v" in t, or NAN. */
static double value_of(const char *t, const char *name)
{
	char needle[128];
	snprintf(needle, sizeof(needle), "\n%s ", name);
	const char *p = strstr(t, needle);
	return p ? strtod(p + strlen(needle), NULL) : NAN;
}

static void test_process(void)
{
	struct n4j_buf b;
	n4j_buf_init(&b);
	struct n4j_metrics_writer *w = fresh(&b);
	n4j_metrics_process(w);
	const char *t = text(&b);
	CHECK_INT(n4j_metrics_writer_dropped(w), 0);
	CHECK_HAS(t, "# TYPE process_cpu_seconds_total counter\n");
	CHECK_HAS(t, "# TYPE process_resident_memory_bytes gauge\n");
	double rss = value_of(t, "process_resident_memory_bytes");
	double vms = value_of(t, "process_virtual_memory_bytes");
	CHECK_MSG(rss > 100000 && vms >= rss, "rss %g, vms %g", rss, vms);
	double fds = value_of(t, "process_open_fds");
	CHECK_MSG(fds >= 3 && fds < 1000, "open fds %g", fds);
	CHECK(value_of(t, "process_max_fds") >= fds);
	double cpu = value_of(t, "process_cpu_seconds_total");
	CHECK_MSG(cpu >= 0 && cpu < 3600, "cpu %g", cpu);
	/* Started a moment ago: within a day of the wall clock. */
	double start = value_of(t, "process_start_time_seconds");
	double now = (double)time(NULL);
	CHECK_MSG(start > now - 86400 && start <= now + 1, "start %f, now %f", start, now);
	n4j_metrics_writer_free(w);
	n4j_buf_free(&b);
}

int main(void)
{
	test_counter_gauge();
	test_escaping();
	test_histogram();
	test_floats();
	test_mistakes_dropped();
	test_order();
	test_process();
	CHECK_DONE();
}
