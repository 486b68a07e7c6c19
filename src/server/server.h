/*
 * server: the operator's HTTP endpoints on libwebsockets (DESIGN §9, reference
 * kubernetes-controller.md §3.8).
 *
 *   /metrics  Prometheus text format 0.0.4 (`text/plain; version=0.0.4; charset=utf-8`),
 *             written at scrape time by the caller's collect function through the writer
 *             below, after the server's own process_* families.
 *   /healthz  200 "ok" while the caller's health function says the loop and the workers
 *             heartbeat; 500 with the reason otherwise. Never tied to the API server.
 *   /readyz   200 once set_ready(true) (caches synced; followers too), 503 before that and
 *             again from shutdown on.
 *
 * Only GET (and HEAD) of those paths; anything else 404/405. Requests are bounded (header
 * bytes, one request per connection at a time, a per-connection timeout); responses carry
 * no secret because the collect function is given none. Its own service thread; the
 * callbacks run on it, so they must not block for long (they read snapshots).
 *
 * Depends on util only.
 */
#ifndef N4J_SERVER_H
#define N4J_SERVER_H

#include <stdbool.h>
#include <stddef.h>

#include "util/util.h"

/* ---- the exposition writer ---------------------------------------------------- */

/*
 * Writes one scrape. A family is announced once (HELP, TYPE), then its samples follow;
 * samples of a family must be contiguous. labels is a NULL-terminated list of name,
 * value pairs (may be NULL); values are escaped (\\, \", \n) by the writer. Names are
 * checked against [a-zA-Z_:][a-zA-Z0-9_:]*: a bad name drops the sample and is counted
 * in n4j_metrics_writer_dropped (a bug, which tests assert to be 0).
 */
struct n4j_metrics_writer;
enum n4j_metric_type { N4J_COUNTER, N4J_GAUGE, N4J_HISTOGRAM };
void n4j_metrics_family(struct n4j_metrics_writer *w, const char *name, enum n4j_metric_type t,
			const char *help);
/* A counter or gauge sample of the current family (name = the family's). */
void n4j_metrics_sample(struct n4j_metrics_writer *w, const char *const *labels, double value);
/* A histogram sample set (name_bucket{…,le=…}, name_sum, name_count) of the current family. */
void n4j_metrics_histogram(struct n4j_metrics_writer *w, const char *const *labels,
			   const struct n4j_histogram_snapshot *h);
size_t n4j_metrics_writer_dropped(const struct n4j_metrics_writer *w);

/* For tests and for the `run` command's own use: a writer into a caller-owned buffer. */
struct n4j_metrics_writer *n4j_metrics_writer_new(struct n4j_buf *out);
void n4j_metrics_writer_free(struct n4j_metrics_writer *w);
/* process_resident_memory_bytes, process_virtual_memory_bytes, process_cpu_seconds_total,
 * process_open_fds, process_max_fds, process_start_time_seconds (from /proc/self). */
void n4j_metrics_process(struct n4j_metrics_writer *w);

/* ---- the server ----------------------------------------------------------------- */

typedef void (*n4j_metrics_collect_fn)(void *ud, struct n4j_metrics_writer *w);
/* true when healthy; else fills why (a short reason, no secret). */
typedef bool (*n4j_health_fn)(void *ud, char *why, size_t why_len);

struct n4j_server_opts {
	/* "[host]:port" as controller-runtime: ":8080" = every address, "127.0.0.1:0" = a
	 * free port (read it with n4j_server_port), "0" = do not serve. The same address for
	 * both serves all three paths on one listener. */
	const char *metrics_addr;
	const char *health_addr;
	n4j_metrics_collect_fn collect; /* may be NULL: process metrics only */
	void *collect_ud;
	n4j_health_fn healthy; /* may be NULL: always healthy */
	void *health_ud;
	size_t max_header_bytes; /* default 8192: a larger request head gets 431 */
	int timeout_s;           /* per connection, default 10 */
};

struct n4j_server;
int n4j_server_start(const struct n4j_server_opts *o, struct n4j_server **out,
		     struct n4j_error *err);
void n4j_server_set_ready(struct n4j_server *s, bool ready);
/* The bound port of the metrics (which = 0) or health (which = 1) listener, 0 if none. */
int n4j_server_port(const struct n4j_server *s, int which);
/* Stops serving, joins the service thread, frees. NULL is a no-op. */
void n4j_server_stop(struct n4j_server *s);

#endif
