/* The watch stream decoder: bytes in any chunking → one event per complete line. Pure. */
#include <string.h>

#include "kube/internal.h"

#define DEFAULT_MAX_LINE (16u << 20)

void n4j_watch_decoder_init(struct n4j_watch_decoder *d, size_t max_line)
{
	n4j_buf_init(&d->line);
	d->max_line = max_line ? max_line : DEFAULT_MAX_LINE;
}

void n4j_watch_decoder_free(struct n4j_watch_decoder *d)
{
	n4j_buf_free(&d->line);
}

static int event_type(const char *t, enum n4j_watch_type *out)
{
	static const struct {
		const char *name;
		enum n4j_watch_type type;
	} types[] = {{"ADDED", N4J_WATCH_ADDED},
		     {"MODIFIED", N4J_WATCH_MODIFIED},
		     {"DELETED", N4J_WATCH_DELETED},
		     {"BOOKMARK", N4J_WATCH_BOOKMARK},
		     {"ERROR", N4J_WATCH_ERROR}};
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(t, types[i].name) == 0) {
			*out = types[i].type;
			return 0;
		}
	return N4J_EPARSE;
}

static bool blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			return false;
	return true;
}

static int one_line(const char *s, size_t n, n4j_watch_fn fn, void *ud, struct n4j_error *err)
{
	if (blank(s, n))
		return 0;
	cJSON *doc = cJSON_ParseWithLength(s, n);
	if (!doc)
		return n4j_err(err, N4J_EPARSE, "watch: event is not JSON (%zu bytes)", n);
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(doc, "type");
	cJSON *obj = cJSON_GetObjectItemCaseSensitive(doc, "object");
	struct n4j_watch_event ev = {0};
	if (!cJSON_IsString(t) || event_type(t->valuestring, &ev.type) != 0 ||
	    !cJSON_IsObject(obj)) {
		cJSON_Delete(doc);
		return n4j_err(err, N4J_EPARSE, "watch: malformed event (type or object)");
	}
	ev.object = cJSON_DetachItemViaPointer(doc, obj);
	cJSON_Delete(doc);
	int rc = fn ? fn(ud, &ev) : 0;
	cJSON_Delete(ev.object); /* NULL if the callback took it */
	if (rc < 0)
		return n4j_err(err, rc, "watch: stopped by the event handler");
	return 0;
}

int n4j_watch_decoder_feed(struct n4j_watch_decoder *d, const char *data, size_t len,
			   n4j_watch_fn fn, void *ud, struct n4j_error *err)
{
	while (len > 0) {
		/* Scan only the new bytes: a multi-MB line arriving in small chunks stays linear. */
		const char *nl = memchr(data, '\n', len);
		size_t take = nl ? (size_t)(nl - data) : len;
		if (d->line.len + take > d->max_line) {
			n4j_buf_reset(&d->line);
			return n4j_err(err, N4J_ELIMIT, "watch: event longer than %zu bytes",
				       d->max_line);
		}
		if (!nl) {
			n4j_buf_append(&d->line, data, take);
			break;
		}
		int rc;
		if (d->line.len == 0) {
			rc = one_line(data, take, fn, ud, err);
		} else {
			n4j_buf_append(&d->line, data, take);
			if (d->line.oom) {
				n4j_buf_reset(&d->line);
				d->line.oom = false;
				return n4j_err(err, N4J_ENOMEM, "watch: out of memory");
			}
			rc = one_line(d->line.data, d->line.len, fn, ud, err);
			/* Do not keep megabytes around after one big object. */
			if (d->line.cap > (1u << 20)) {
				n4j_buf_free(&d->line);
				n4j_buf_init(&d->line);
			}
			n4j_buf_reset(&d->line);
		}
		if (rc)
			return rc;
		data += take + 1;
		len -= take + 1;
	}
	if (d->line.oom) {
		n4j_buf_reset(&d->line);
		d->line.oom = false;
		return n4j_err(err, N4J_ENOMEM, "watch: out of memory");
	}
	return 0;
}
