/* One watch request: curl's write callback feeds the decoder; *stop is polled by the
 * progress callback (libcurl calls it about once a second even when the stream is idle). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kube/internal.h"

struct watch_ctx {
	struct n4j_kube_client *c;
	CURL *h;
	struct n4j_watch_decoder dec;
	n4j_watch_fn fn;
	void *ud;
	const atomic_bool *stop;
	char **last_rv;
	struct n4j_kube_error *e;
	const char *path;
	long status;
	struct n4j_buf errbody; /* a non-200 answer's Status */
	int stop_rc;            /* why we aborted: 0 none */
	bool stopped, ended_with_error;
	struct n4j_error derr;
};

static int set_rv(struct watch_ctx *w, const cJSON *obj)
{
	const cJSON *rv = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(obj, "metadata"), "resourceVersion");
	if (!w->last_rv || !cJSON_IsString(rv) || !rv->valuestring[0])
		return 0;
	char *d = strdup(rv->valuestring);
	if (!d)
		return N4J_ENOMEM;
	free(*w->last_rv);
	*w->last_rv = d;
	return 0;
}

static int on_event(void *ud, struct n4j_watch_event *ev)
{
	struct watch_ctx *w = ud;
	if (ev->type == N4J_WATCH_ERROR) {
		n4j_kube_error_from_status(w->e, w->path, ev->object);
		w->ended_with_error = true;
		return w->e->base.code ? w->e->base.code : N4J_EIO;
	}
	/* Record the RV before the handler may take the object. */
	if (set_rv(w, ev->object) != 0)
		return N4J_ENOMEM;
	int rc = w->fn ? w->fn(w->ud, ev) : 0;
	if (rc < 0)
		w->stop_rc = rc;
	return rc;
}

static size_t write_cb(char *data, size_t size, size_t n, void *ud)
{
	struct watch_ctx *w = ud;
	size_t len = size * n;
	if (!w->status)
		curl_easy_getinfo(w->h, CURLINFO_RESPONSE_CODE, &w->status);
	if (w->status != 200) {
		if (w->errbody.len + len > (1u << 20))
			return 0;
		n4j_buf_append(&w->errbody, data, len);
		return len;
	}
	if (n4j_watch_decoder_feed(&w->dec, data, len, on_event, w, &w->derr) != 0)
		return 0; /* aborts: the reason is in derr / e */
	return len;
}

static int progress_cb(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	struct watch_ctx *w = ud;
	if (w->stop && atomic_load(w->stop)) {
		w->stopped = true;
		return 1;
	}
	return 0;
}

int n4j_kube_watch(struct n4j_kube_client *c, const struct n4j_kube_resource *r, const char *ns,
		   const struct n4j_kube_watch_opts *o, n4j_watch_fn fn, void *ud,
		   const atomic_bool *stop, char **last_rv, struct n4j_kube_error *e)
{
	struct n4j_kube_error tmp;
	if (!e)
		e = &tmp;
	n4j_kube_error_clear(e);
	struct n4j_kube_watch_opts none = {.allow_bookmarks = true};
	if (!o)
		o = &none;
	struct n4j_buf b;
	n4j_buf_init(&b);
	if (n4j_kube_path(r, ns, NULL, NULL, &b) != 0) {
		n4j_buf_free(&b);
		return n4j_kube_fail(e, N4J_KUBE_BAD_REQUEST, N4J_EINVAL,
				     "watch: invalid resource or namespace");
	}
	char spath[300];
	snprintf(spath, sizeof(spath), "%s", b.data);
	int timeout = o->timeout_seconds > 0 ? o->timeout_seconds
					     : 300 + (int)(n4j_rng_next(&c->rng) % 301);
	char ts[16];
	snprintf(ts, sizeof(ts), "%d", timeout);
	n4j_kube_query(&b, "watch", "true");
	/* allow_bookmarks is documented as defaulting to true, but a zeroed struct says false:
	 * bookmarks cost nothing and keep the resume point fresh, so they are always asked. */
	n4j_kube_query(&b, "allowWatchBookmarks", "true");
	n4j_kube_query(&b, "timeoutSeconds", ts);
	n4j_kube_query(&b, "labelSelector", o->label_selector);
	n4j_kube_query(&b, "fieldSelector", o->field_selector);
	const char *rv = last_rv && *last_rv && (*last_rv)[0] ? *last_rv : o->resource_version;
	if (rv && rv[0])
		n4j_kube_query(&b, "resourceVersion", rv);
	const char *p = n4j_buf_cstr(&b);
	char *url = p ? n4j_kube_url(c, p) : NULL;
	n4j_buf_free(&b);
	if (!url)
		return n4j_kube_fail(e, N4J_KUBE_OTHER, N4J_ENOMEM, "watch: out of memory");

	int rc = 0;
	bool reauth_done = false;
	for (;;) {
		struct n4j_kube_creds cr;
		rc = n4j_kube_creds_get(c, &cr, e);
		if (rc)
			break;
		struct curl_slist *hdrs = NULL;
		struct watch_ctx w = {.c = c,
				      .fn = fn,
				      .ud = ud,
				      .stop = stop,
				      .last_rv = last_rv,
				      .e = e,
				      .path = spath};
		n4j_watch_decoder_init(&w.dec, 0);
		n4j_buf_init(&w.errbody);
		w.h = n4j_kube_easy(c, url, &cr, &hdrs, NULL);
		uint64_t gen = cr.generation;
		n4j_kube_creds_free(&cr);
		if (!w.h) {
			n4j_watch_decoder_free(&w.dec);
			rc = n4j_kube_fail(e, N4J_KUBE_OTHER, N4J_ENOMEM,
					   "watch: curl set-up failed");
			break;
		}
		/* Counted as client-go counts a watch: a GET, when its headers arrive; its WATCH
		 * latency is the time until then, not the stream's life. */
		struct n4j_kube_hdrs rh = {
			.c = c, .h = w.h, .method = "GET", .watch_start_ns = n4j_now_ns()};
		char errbuf[CURL_ERROR_SIZE] = "";
		CURL *h = w.h;
		curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
		/* A guard well past the server's own timeout; idleness is caught below. */
		curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)(timeout + 120) * 1000L);
		/* Bookmarks come about every minute: 3 minutes of silence means a dead stream. */
		curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
		curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 180L);
		curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_cb);
		curl_easy_setopt(h, CURLOPT_WRITEDATA, &w);
		curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, n4j_kube_header_cb);
		curl_easy_setopt(h, CURLOPT_HEADERDATA, &rh);
		curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
		curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, progress_cb);
		curl_easy_setopt(h, CURLOPT_XFERINFODATA, &w);
		CURLcode cc = curl_easy_perform(h);
		atomic_fetch_add(&c->n_requests, 1);
		long httpv = 0;
		curl_easy_getinfo(h, CURLINFO_HTTP_VERSION, &httpv);
		if (httpv == CURL_HTTP_VERSION_2_0)
			atomic_fetch_add(&c->n_http2, 1);
		if (!w.status)
			curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &w.status);
		n4j_kube_hdrs_finish(&rh, cc == CURLE_OK ? w.status : 0);
		n4j_kube_easy_release(c, h, hdrs);

		bool retry401 = false;
		if (w.stopped) {
			rc = 0; /* asked to stop: not an error */
		} else if (w.ended_with_error) {
			rc = e->base.code ? e->base.code : N4J_EIO;
		} else if (w.stop_rc) {
			rc = n4j_kube_fail(e, N4J_KUBE_OTHER, w.stop_rc,
					   "watch %s: stopped by the event handler", spath);
		} else if (w.derr.code) {
			rc = n4j_kube_fail(e, N4J_KUBE_TRANSPORT, w.derr.code, "watch %s: %s",
					   spath, w.derr.msg);
		} else if (w.status != 200 && w.status != 0) {
			rc = n4j_kube_error_from_response(e, "GET", spath, w.status, w.errbody.data,
							  w.errbody.len);
			if (rh.has_retry_after)
				e->retry_after_ms = rh.retry_after_ms;
			retry401 = w.status == 401 && !reauth_done;
			if (retry401)
				n4j_kube_creds_invalidate(c, gen);
		} else if (cc != CURLE_OK) {
			rc = n4j_kube_fail(e,
					   cc == CURLE_OPERATION_TIMEDOUT ? N4J_KUBE_TIMEOUT
									  : N4J_KUBE_TRANSPORT,
					   N4J_EIO, "watch %s: %s", spath,
					   errbuf[0] ? errbuf : curl_easy_strerror(cc));
		} else if (w.dec.line.len > 0) {
			/* The server closed cleanly in the middle of an event: a cut, not an end. */
			rc = n4j_kube_fail(e, N4J_KUBE_TRANSPORT, N4J_EIO,
					   "watch %s: stream ended inside an event", spath);
		} else {
			rc = 0; /* the server's timeout: re-watch from *last_rv */
		}
		if (rc)
			e->http_status = e->http_status ? e->http_status : (int)w.status;
		snprintf(e->audit_id, sizeof(e->audit_id), "%s", rh.audit_id);
		n4j_watch_decoder_free(&w.dec);
		n4j_buf_free(&w.errbody);
		if (!retry401)
			break;
		reauth_done = true;
	}
	free(url);
	return rc;
}
