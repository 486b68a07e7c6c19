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

/* ---- the request head (request.c) ---- */

enum { SRV_SERVE_METRICS = 1, SRV_SERVE_HEALTH = 2 };
enum srv_target { SRV_NONE = 0, SRV_METRICS, SRV_HEALTHZ, SRV_READYZ };

struct srv_head {
	size_t max; /* bytes of head accepted */
	char *buf;  /* max + 1 bytes once something arrived, NUL-terminated */
	size_t len;
};
/* Appends received bytes: 0 to read more; 200 when the head ended (an empty line);
 * 400 when a NUL came before it; 431 when it is longer than max; -1 out of memory. */
int srv_head_feed(struct srv_head *h, const char *in, size_t len);
void srv_head_free(struct srv_head *h);
/* Routes a complete head (modified in place): 200 with *target, else 400 (malformed
 * request line or a version other than HTTP/1.0 and 1.1), 404 (a path not served by
 * this listener: serves is SRV_SERVE_* bits), 405 (a method other than GET and HEAD). */
int srv_route(char *head, int serves, enum srv_target *target, bool *head_only);

/* ---- responses ---- */

/* /healthz and /readyz. */
void srv_health(n4j_health_fn fn, void *ud, struct srv_response *r);
void srv_ready(bool ready, struct srv_response *r);

#endif
