/*
 * The request head, read and routed (see http.c for why here and not by lws): bytes are
 * collected up to the limit until an empty line; only the request line decides the
 * answer. Pure (no I/O, no server state), so the fuzzer runs it as the server does.
 */
#include <stdlib.h>
#include <string.h>

#include "server/internal.h"

int srv_head_feed(struct srv_head *h, const char *in, size_t len)
{
	if (!h->buf) {
		h->buf = malloc(h->max + 1);
		if (!h->buf)
			return -1;
		h->len = 0;
	}
	size_t room = h->max - h->len;
	size_t take = len < room ? len : room;
	memcpy(h->buf + h->len, in, take);
	h->len += take;
	h->buf[h->len] = '\0';
	/* strstr stops at a NUL: a NUL before the empty line leaves the head incomplete. */
	if (strstr(h->buf, "\r\n\r\n") || strstr(h->buf, "\n\n"))
		return 200;
	if (memchr(h->buf, '\0', h->len))
		return 400;
	if (len > take || h->len == h->max)
		return 431;
	return 0;
}

void srv_head_free(struct srv_head *h)
{
	free(h->buf);
	h->buf = NULL;
	h->len = 0;
}

int srv_route(char *head, int serves, enum srv_target *target, bool *head_only)
{
	*target = SRV_NONE;
	*head_only = false;
	char *eol = strpbrk(head, "\r\n");
	if (eol)
		*eol = '\0';
	char *method = head, *sp1 = strchr(head, ' ');
	char *path = sp1 ? sp1 + 1 : NULL;
	char *sp2 = path ? strchr(path, ' ') : NULL;
	const char *version = sp2 ? sp2 + 1 : NULL;
	if (!sp1 || !sp2 || sp1 == head || sp2 == path ||
	    (strcmp(version, "HTTP/1.1") != 0 && strcmp(version, "HTTP/1.0") != 0))
		return 400;
	*sp1 = '\0';
	*sp2 = '\0';
	char *q = strpbrk(path, "?#");
	if (q)
		*q = '\0';
	if ((serves & SRV_SERVE_METRICS) && strcmp(path, "/metrics") == 0)
		*target = SRV_METRICS;
	else if ((serves & SRV_SERVE_HEALTH) && strcmp(path, "/healthz") == 0)
		*target = SRV_HEALTHZ;
	else if ((serves & SRV_SERVE_HEALTH) && strcmp(path, "/readyz") == 0)
		*target = SRV_READYZ;
	else
		return 404;
	*head_only = strcmp(method, "HEAD") == 0;
	if (strcmp(method, "GET") != 0 && !*head_only)
		return 405;
	return 200;
}
