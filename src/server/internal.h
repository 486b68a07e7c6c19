/* server: what http.c, health.c, metrics.c and process.c share (not public). */
#ifndef N4J_SERVER_INTERNAL_H
#define N4J_SERVER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "server/server.h"

/* Prometheus' float syntax: "+Inf", "-Inf", "NaN", else the shortest decimal that reads
 * back to the same double (as Go's strconv.FormatFloat(v, 'g', -1, 64)). */
void srv_format_double(double v, char *out, size_t size);

/* The writer's sample of a family of its own name, for process_* (no labels). */
void srv_metrics_gauge(struct n4j_metrics_writer *w, const char *name, enum n4j_metric_type t,
		       const char *help, double value);

/* One response: status, Content-Type and body (owned by the caller). */
struct srv_response {
	int status;
	const char *content_type;
	struct n4j_buf body;
	const char *allow; /* 405 only */
};

/* /healthz and /readyz. */
void srv_health(n4j_health_fn fn, void *ud, struct srv_response *r);
void srv_ready(bool ready, struct srv_response *r);

#endif
