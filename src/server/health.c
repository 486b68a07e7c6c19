/*
 * /healthz and /readyz bodies (controller-runtime's shape: "ok", or the reason). Liveness
 * asks the caller (its loop and workers' heartbeats, never the API server); readiness is
 * the flag the caller sets once its caches synced and clears on shutdown.
 */
#include <string.h>

#include "server/internal.h"

void srv_health(n4j_health_fn fn, void *ud, struct srv_response *r)
{
	char why[256] = "";
	bool ok = fn ? fn(ud, why, sizeof(why)) : true;
	why[sizeof(why) - 1] = '\0';
	r->content_type = "text/plain; charset=utf-8";
	if (ok) {
		r->status = 200;
		n4j_buf_puts(&r->body, "ok\n");
		return;
	}
	r->status = 500;
	n4j_buf_puts(&r->body, "unhealthy: ");
	n4j_buf_puts(&r->body, why[0] ? why : "no reason given");
	n4j_buf_putc(&r->body, '\n');
}

void srv_ready(bool ready, struct srv_response *r)
{
	r->content_type = "text/plain; charset=utf-8";
	r->status = ready ? 200 : 503;
	n4j_buf_puts(&r->body, ready ? "ok\n" : "not ready\n");
}
