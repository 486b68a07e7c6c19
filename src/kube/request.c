/* One API request with retries: 401 → fresh credentials once; 429 and 5xx with Retry-After
 * → wait and retry up to max_retries; transport errors → retry idempotent GETs only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kube/internal.h"

struct body_sink {
	struct n4j_buf buf;
	size_t max;
	bool too_big;
	struct n4j_kube_stream *st; /* NULL: buffer the body */
	CURL *h;
	long status;
	int stream_rc;
};

static size_t body_cb(char *data, size_t size, size_t n, void *ud)
{
	struct body_sink *s = ud;
	size_t len = size * n;
	if (s->st) {
		/* A success body goes to the stream as it arrives; an error's Status is read
		 * from the buffer as for any request. */
		if (!s->status)
			curl_easy_getinfo(s->h, CURLINFO_RESPONSE_CODE, &s->status);
		if (s->status >= 200 && s->status < 300) {
			s->st->fed = true;
			s->stream_rc = s->st->feed(s->st->ud, data, len);
			return s->stream_rc ? 0 : len; /* 0 aborts the transfer */
		}
	}
	if (s->buf.len + len > s->max) {
		s->too_big = true;
		return 0; /* aborts the transfer */
	}
	n4j_buf_append(&s->buf, data, len);
	return s->buf.oom ? 0 : len;
}

static bool is_write(const char *method)
{
	return strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0;
}

/* The path without its query, for messages (a continue token is long and useless there). */
static void short_path(const char *path, char *out, size_t size)
{
	size_t n = strcspn(path, "?");
	snprintf(out, size, "%.*s", (int)(n < 300 ? n : 300), path);
}

static int request(struct n4j_kube_client *c, const char *method, const char *path,
		   const char *content_type, const char *body, size_t body_len, cJSON **out,
		   struct n4j_kube_stream *st, struct n4j_kube_error *e)
{
	struct n4j_kube_error tmp;
	if (!e)
		e = &tmp;
	n4j_kube_error_clear(e);
	if (out)
		*out = NULL;
	if (!c || !method || !path || path[0] != '/')
		return n4j_kube_fail(e, N4J_KUBE_BAD_REQUEST, N4J_EINVAL,
				     "request: a method and an absolute path are required");
	char spath[320];
	short_path(path, spath, sizeof(spath));
	char *url = n4j_kube_url(c, path);
	if (!url)
		return n4j_kube_fail(e, N4J_KUBE_OTHER, N4J_ENOMEM, "request: out of memory");
	bool write = is_write(method);
	bool reauth_done = false;
	/* client-go times the whole call (throttling and retries included): so do we. */
	int64_t start_ns = n4j_now_ns();
	int rc = 0;
	for (int attempt = 0;; attempt++) {
		struct n4j_kube_creds cr;
		n4j_kube_error_clear(e);
		rc = n4j_kube_creds_get(c, &cr, e);
		if (rc)
			break;
		if (write)
			n4j_kube_bucket_take(c);
		struct curl_slist *hdrs = NULL;
		/* Without a type curl would label a body as a form: JSON is what we send. */
		CURL *h = n4j_kube_easy(c, url, &cr, &hdrs,
					body ? (content_type ? content_type : "application/json")
					     : NULL);
		if (!h) {
			n4j_kube_creds_free(&cr);
			rc = n4j_kube_fail(e, N4J_KUBE_OTHER, N4J_ENOMEM,
					   "%s %s: curl set-up failed", method, spath);
			break;
		}
		struct body_sink sink = {.max = c->opts.max_response_bytes, .st = st, .h = h};
		struct n4j_kube_hdrs rh = {.c = c, .h = h, .method = method};
		char errbuf[CURL_ERROR_SIZE] = "";
		n4j_buf_init(&sink.buf);
		curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
		curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, c->opts.request_timeout_ms);
		curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, body_cb);
		curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
		curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, n4j_kube_header_cb);
		curl_easy_setopt(h, CURLOPT_HEADERDATA, &rh);
		if (strcmp(method, "GET") != 0)
			curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
		if (body) {
			curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
			curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
		}
		CURLcode cc = curl_easy_perform(h);
		atomic_fetch_add(&c->n_requests, 1);
		if (write)
			atomic_fetch_add(&c->n_writes, 1);
		long status = 0, httpv = 0;
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
		curl_easy_getinfo(h, CURLINFO_HTTP_VERSION, &httpv);
		if (httpv == CURL_HTTP_VERSION_2_0)
			atomic_fetch_add(&c->n_http2, 1);
		/* Headers cut short count as client-go's failed client.Do: "<error>". */
		n4j_kube_hdrs_finish(&rh, cc == CURLE_OK ? status : 0);
		n4j_kube_easy_release(c, h, hdrs);
		uint64_t gen = cr.generation;
		n4j_kube_creds_free(&cr);

		bool retry = false;
		long wait_ms = 0;
		if (cc != CURLE_OK) {
			if (sink.stream_rc)
				rc = n4j_kube_fail(e, N4J_KUBE_OTHER, sink.stream_rc, "%s %s: %s",
						   method, spath, n4j_strerror(sink.stream_rc));
			else if (sink.too_big)
				rc = n4j_kube_fail(e, N4J_KUBE_TRANSPORT, N4J_ELIMIT,
						   "%s %s: response larger than %zu bytes", method,
						   spath, c->opts.max_response_bytes);
			else if (sink.buf.oom)
				rc = n4j_kube_fail(e, N4J_KUBE_OTHER, N4J_ENOMEM,
						   "%s %s: out of memory", method, spath);
			else
				rc = n4j_kube_fail(e,
						   cc == CURLE_OPERATION_TIMEDOUT
							   ? N4J_KUBE_TIMEOUT
							   : N4J_KUBE_TRANSPORT,
						   N4J_EIO, "%s %s: %s", method, spath,
						   errbuf[0] ? errbuf : curl_easy_strerror(cc));
			e->http_status = (int)status;
			/* Bytes already streamed cannot be taken back: the caller starts over. */
			retry = !write && !sink.too_big && !sink.buf.oom && !sink.stream_rc &&
				!(st && st->fed);
			wait_ms = n4j_kube_backoff_ms(c, attempt, 0);
		} else if (status >= 200 && status < 300) {
			rc = 0;
			e->http_status = (int)status;
			snprintf(e->audit_id, sizeof(e->audit_id), "%s", rh.audit_id);
			if (out && !st && sink.buf.len > 0) {
				*out = cJSON_ParseWithLength(sink.buf.data, sink.buf.len);
				if (!*out)
					rc = n4j_kube_fail(e, N4J_KUBE_TRANSPORT, N4J_EPARSE,
							   "%s %s: response is not JSON", method,
							   spath);
			}
		} else {
			rc = n4j_kube_error_from_response(e, method, spath, status, sink.buf.data,
							  sink.buf.len);
			snprintf(e->audit_id, sizeof(e->audit_id), "%s", rh.audit_id);
			if (rh.has_retry_after)
				e->retry_after_ms = rh.retry_after_ms;
			bool has_ra = rh.has_retry_after || e->retry_after_ms > 0;
			if (status == 401 && !reauth_done) {
				/* A rotated token or an expired exec credential: refresh once. */
				n4j_kube_creds_invalidate(c, gen);
				reauth_done = true;
				n4j_buf_free(&sink.buf);
				attempt--;
				continue;
			}
			if (status == 429 || (status >= 500 && has_ra)) {
				retry = true;
				wait_ms = n4j_kube_backoff_ms(
					c, attempt,
					e->retry_after_ms > 0 ? e->retry_after_ms : 1000);
			}
		}
		n4j_buf_free(&sink.buf);
		if (!rc || !retry || attempt >= c->opts.max_retries)
			break;
		atomic_fetch_add(&c->n_retries, 1);
		n4j_sleep_ms(wait_ms);
	}
	n4j_kube_stats_observe(c, method, start_ns);
	free(url);
	return rc;
}

int n4j_kube_request(struct n4j_kube_client *c, const char *method, const char *path,
		     const char *content_type, const char *body, size_t body_len, cJSON **out,
		     struct n4j_kube_error *e)
{
	return request(c, method, path, content_type, body, body_len, out, NULL, e);
}

int n4j_kube_get_stream(struct n4j_kube_client *c, const char *path, struct n4j_kube_stream *st,
			struct n4j_kube_error *e)
{
	st->fed = false;
	return request(c, "GET", path, NULL, NULL, 0, NULL, st, e);
}
