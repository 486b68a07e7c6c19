/* The client: libcurl set-up, shared caches, credentials, the write bucket, backoff. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "kube/internal.h"
#include "util/util.h"

#define TOKEN_REREAD_S  60
#define EXEC_TIMEOUT_MS 60000

/* The verbs of rest_client_request_duration_seconds: a LIST is a GET, as in client-go;
 * WATCH is ours (client-go does not time watches): the time until the watch's headers. */
static const char *const stat_verbs[N4J_KUBE_STATS_VERBS] = {"GET",   "POST",   "PUT",
							     "PATCH", "DELETE", "WATCH"};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc;

/* curl_global_init is not thread-safe on older libcurl: run it exactly once. */
static void global_init(void)
{
	global_rc = curl_global_init(CURL_GLOBAL_ALL);
}

static void share_lock(CURL *h, curl_lock_data data, curl_lock_access access, void *ud)
{
	struct n4j_kube_client *c = ud;
	if (data >= 0 && data < CURL_LOCK_DATA_LAST)
		pthread_mutex_lock(&c->share_locks[data]);
}

static void share_unlock(CURL *h, curl_lock_data data, void *ud)
{
	struct n4j_kube_client *c = ud;
	if (data >= 0 && data < CURL_LOCK_DATA_LAST)
		pthread_mutex_unlock(&c->share_locks[data]);
}

/* Splits https://host[:port][/prefix] so tls-server-name can replace the host. */
static int build_base(struct n4j_kube_client *c, struct n4j_error *err)
{
	const char *s = c->cfg->server;
	const char *h = s + 8; /* after https:// (checked by the config) */
	const char *hend;
	if (*h == '[') {
		hend = strchr(h, ']');
		if (!hend)
			return n4j_err(err, N4J_EINVAL, "server URL: unterminated IPv6 address");
		hend++;
	} else {
		hend = h + strcspn(h, ":/");
	}
	const char *port = "443";
	size_t port_len = 3;
	const char *rest = hend;
	if (*hend == ':') {
		port = hend + 1;
		port_len = strcspn(port, "/");
		rest = port + port_len;
	}
	if (hend == h || port_len == 0 || port_len > 5)
		return n4j_err(err, N4J_EINVAL, "server URL: malformed host or port");
	/* The dialled host (not tls-server-name), port always written: bounded, not secret. */
	snprintf(c->host, sizeof(c->host), "%.*s:%.*s", (int)(hend - h < 256 ? hend - h : 256), h,
		 (int)port_len, port);
	const char *sni = c->cfg->tls_server_name;
	if (!sni) {
		c->base_url = strdup(s);
		return c->base_url ? 0 : n4j_err(err, N4J_ENOMEM, "client: out of memory");
	}
	/* The URL names the TLS name (SNI and verification); CONNECT_TO dials the real host. */
	size_t n = strlen(sni) + strlen(rest) + port_len + 16;
	c->base_url = malloc(n);
	size_t m = strlen(sni) + (size_t)(hend - h) + 2 * port_len + 8;
	c->connect_to = malloc(m);
	if (!c->base_url || !c->connect_to)
		return n4j_err(err, N4J_ENOMEM, "client: out of memory");
	snprintf(c->base_url, n, "https://%s:%.*s%s", sni, (int)port_len, port, rest);
	snprintf(c->connect_to, m, "%s:%.*s:%.*s:%.*s", sni, (int)port_len, port, (int)(hend - h),
		 h, (int)port_len, port);
	return 0;
}

int n4j_kube_client_new(const struct n4j_kube_config *cfg, const struct n4j_kube_client_opts *opts,
			struct n4j_kube_client **out, struct n4j_error *err)
{
	*out = NULL;
	if (!cfg || !cfg->server)
		return n4j_err(err, N4J_EINVAL, "client: no server configured");
	pthread_once(&global_once, global_init);
	if (global_rc != CURLE_OK)
		return n4j_err(err, N4J_EIO, "client: curl_global_init: %s",
			       curl_easy_strerror(global_rc));
	struct n4j_kube_client *c = calloc(1, sizeof(*c));
	if (!c)
		return n4j_err(err, N4J_ENOMEM, "client: out of memory");
	for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_init(&c->share_locks[i], NULL);
	pthread_mutex_init(&c->cred_mu, NULL);
	pthread_mutex_init(&c->bucket_mu, NULL);
	pthread_mutex_init(&c->pool_mu, NULL);
	pthread_mutex_init(&c->stats_mu, NULL);
	for (size_t i = 0; i < N4J_KUBE_STATS_VERBS; i++)
		n4j_histogram_init(&c->durations[i], N4J_HIST_REST, N4J_HIST_REST_N);
	if (opts)
		c->opts = *opts;
	struct n4j_kube_client_opts *o = &c->opts;
	if (o->connect_timeout_ms <= 0)
		o->connect_timeout_ms = 5000;
	if (o->request_timeout_ms <= 0)
		o->request_timeout_ms = 30000;
	if (o->max_response_bytes == 0)
		o->max_response_bytes = 64u << 20;
	/* Zero means "default" for every field; a negative qps or retry count means "none". */
	if (o->write_qps == 0)
		o->write_qps = 20;
	else if (o->write_qps < 0)
		o->write_qps = 0;
	if (o->write_burst <= 0)
		o->write_burst = 50;
	if (o->max_retries == 0)
		o->max_retries = 10;
	else if (o->max_retries < 0)
		o->max_retries = 0;
	if (o->max_retry_delay_ms <= 0)
		o->max_retry_delay_ms = 30000;
	n4j_bucket_init(&c->bucket, o->write_qps, o->write_burst, n4j_now_ms());
	c->token_reread_s = TOKEN_REREAD_S;
	n4j_rng_seed(&c->rng, (uint64_t)n4j_wall_ns() ^ (uint64_t)(uintptr_t)c);

	int rc = n4j_kube_config_dup(cfg, &c->cfg)
			 ? n4j_err(err, N4J_ENOMEM, "client: out of memory")
			 : 0;
	c->user_agent =
		strdup(o->user_agent ? o->user_agent : "neo4j-operator/" N4J_OPERATOR_VERSION);
	c->field_manager = strdup(o->field_manager ? o->field_manager : "neo4j-operator");
	if (!rc && (!c->user_agent || !c->field_manager))
		rc = n4j_err(err, N4J_ENOMEM, "client: out of memory");
	if (!rc && strlen(c->field_manager) > 128)
		rc = n4j_err(err, N4J_EINVAL, "client: field manager longer than 128 characters");
	if (!rc)
		rc = build_base(c, err);
	if (!rc) {
		c->share = curl_share_init();
		if (!c->share)
			rc = n4j_err(err, N4J_ENOMEM, "client: curl_share_init failed");
	}
	if (!rc) {
		curl_share_setopt(c->share, CURLSHOPT_LOCKFUNC, share_lock);
		curl_share_setopt(c->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
		curl_share_setopt(c->share, CURLSHOPT_USERDATA, c);
		curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
		curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
		/* Not CURL_LOCK_DATA_CONNECT: libcurl documents sharing connections between
		 * concurrent threads as unsafe (curl issues #4544, #13840). Connections are
		 * reused through the pool of idle easy handles instead. */
	}
	/* Static credentials are known now; token files and exec plugins are read lazily. */
	if (!rc && cfg->token && !cfg->token_file && !cfg->exec) {
		c->token = strdup(cfg->token);
		if (!c->token)
			rc = n4j_err(err, N4J_ENOMEM, "client: out of memory");
	}
	if (rc) {
		n4j_kube_client_free(c);
		return rc;
	}
	*out = c;
	return 0;
}

void n4j_kube_client_free(struct n4j_kube_client *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n_idle; i++)
		curl_easy_cleanup(c->idle[i]);
	pthread_mutex_destroy(&c->pool_mu);
	/* The share goes last: handles that used it must be gone. */
	if (c->share)
		curl_share_cleanup(c->share);
	for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_destroy(&c->share_locks[i]);
	pthread_mutex_destroy(&c->cred_mu);
	pthread_mutex_destroy(&c->bucket_mu);
	pthread_mutex_destroy(&c->stats_mu);
	n4j_kube_config_free(c->cfg);
	free(c->user_agent);
	free(c->field_manager);
	free(c->base_url);
	free(c->connect_to);
	n4j_wipe_free(c->token);
	free(c->cert_pem);
	n4j_wipe_free(c->key_pem);
	free(c);
}

void n4j_kube_client_stats(const struct n4j_kube_client *c, struct n4j_kube_client_stats *out)
{
	struct n4j_kube_client *m = (struct n4j_kube_client *)c;
	out->requests = atomic_load(&m->n_requests);
	out->writes = atomic_load(&m->n_writes);
	out->retries = atomic_load(&m->n_retries);
	out->throttled_ms = atomic_load(&m->n_throttled_ms);
	out->http2_requests = atomic_load(&m->n_http2);
	pthread_mutex_lock(&m->stats_mu);
	for (size_t i = 0; i < m->n_by_code; i++) {
		memcpy(out->by_code[i].method, m->by_code[i].method,
		       sizeof(out->by_code[i].method));
		memcpy(out->by_code[i].code, m->by_code[i].code, sizeof(out->by_code[i].code));
		out->by_code[i].count = m->by_code[i].count;
	}
	out->n_by_code = m->n_by_code;
	pthread_mutex_unlock(&m->stats_mu);
	for (size_t i = 0; i < N4J_KUBE_STATS_VERBS; i++) {
		out->verbs[i] = stat_verbs[i];
		n4j_histogram_read(&m->durations[i], &out->durations[i]);
	}
	out->host = m->host;
}

void n4j_kube_stats_count(struct n4j_kube_client *c, const char *method, long status)
{
	char code[8];
	if (status > 0 && status < 1000)
		snprintf(code, sizeof(code), "%ld", status);
	else
		snprintf(code, sizeof(code), "<error>");
	pthread_mutex_lock(&c->stats_mu);
	struct n4j_kube_code_row *row = NULL;
	for (size_t i = 0; i < c->n_by_code && !row; i++)
		if (strcmp(c->by_code[i].method, method) == 0 &&
		    strcmp(c->by_code[i].code, code) == 0)
			row = &c->by_code[i];
	if (!row && c->n_by_code < N4J_KUBE_STATS_MAX_CODES - 1) {
		row = &c->by_code[c->n_by_code++];
		snprintf(row->method, sizeof(row->method), "%s", method);
		memcpy(row->code, code, sizeof(code));
	}
	if (!row) {
		/* Full: the last row absorbs the rest, so counts stay complete and bounded. */
		row = &c->by_code[N4J_KUBE_STATS_MAX_CODES - 1];
		if (c->n_by_code < N4J_KUBE_STATS_MAX_CODES) {
			c->n_by_code = N4J_KUBE_STATS_MAX_CODES;
			snprintf(row->method, sizeof(row->method), "OTHER");
			snprintf(row->code, sizeof(row->code), "OTHER");
		}
	}
	row->count++;
	pthread_mutex_unlock(&c->stats_mu);
}

void n4j_kube_stats_observe(struct n4j_kube_client *c, const char *verb, int64_t start_ns)
{
	for (size_t i = 0; i < N4J_KUBE_STATS_VERBS; i++)
		if (strcmp(stat_verbs[i], verb) == 0) {
			n4j_histogram_observe(&c->durations[i],
					      (double)(n4j_now_ns() - start_ns) / 1e9);
			return;
		}
}

static void hdrs_count(struct n4j_kube_hdrs *h, long status)
{
	if (!h->c || h->counted)
		return;
	h->counted = true;
	n4j_kube_stats_count(h->c, h->method ? h->method : "GET", status);
	if (h->watch_start_ns > 0)
		n4j_kube_stats_observe(h->c, "WATCH", h->watch_start_ns);
}

void n4j_kube_hdrs_finish(struct n4j_kube_hdrs *h, long status)
{
	hdrs_count(h, status);
}

/* ---- credentials ---- */

static char *dup_or_null(const char *s, bool *ok)
{
	if (!s)
		return NULL;
	char *d = strdup(s);
	if (!d)
		*ok = false;
	return d;
}

void n4j_kube_creds_free(struct n4j_kube_creds *cr)
{
	n4j_wipe_free(cr->token);
	free(cr->cert_pem);
	n4j_wipe_free(cr->key_pem);
	memset(cr, 0, sizeof(*cr));
}

static int refresh_locked(struct n4j_kube_client *c, time_t now, struct n4j_kube_error *e)
{
	const struct n4j_kube_config *cfg = c->cfg;
	struct n4j_error err = {0};
	if (cfg->exec) {
		/* Cached until shortly before expirationTimestamp (or until a 401). */
		if (c->cred_valid && (!c->cred_expires || now < c->cred_expires - 10))
			return 0;
		struct n4j_exec_cred cred;
		int rc = n4j_kube_exec_run(cfg->exec, EXEC_TIMEOUT_MS, &cred, &err);
		if (rc)
			return n4j_kube_fail(e, N4J_KUBE_UNAUTHORIZED, rc, "%s", err.msg);
		n4j_wipe_free(c->token);
		free(c->cert_pem);
		n4j_wipe_free(c->key_pem);
		c->token = cred.token;
		c->cert_pem = cred.cert_pem;
		c->key_pem = cred.key_pem;
		c->cred_expires = cred.expires;
		c->cred_valid = true;
		c->cred_generation++;
		return 0;
	}
	if (cfg->token_file) {
		/* The kubelet rotates projected tokens: re-read at least every minute. */
		if (c->cred_valid && now - c->token_read < c->token_reread_s &&
		    now >= c->token_read)
			return 0;
		char *t = NULL;
		int rc = n4j_kube_read_token(cfg->token_file, &t, &err);
		if (rc) {
			/* Keep using the last token if the file is briefly missing mid-rotation. */
			if (c->token)
				return 0;
			return n4j_kube_fail(e, N4J_KUBE_UNAUTHORIZED, rc, "%s", err.msg);
		}
		if (!c->token || strcmp(t, c->token) != 0)
			c->cred_generation++;
		n4j_wipe_free(c->token);
		c->token = t;
		c->token_read = now;
		c->cred_valid = true;
		return 0;
	}
	c->cred_valid = true;
	return 0;
}

int n4j_kube_creds_get(struct n4j_kube_client *c, struct n4j_kube_creds *out,
		       struct n4j_kube_error *e)
{
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&c->cred_mu);
	int rc = refresh_locked(c, time(NULL), e);
	bool ok = true;
	if (!rc) {
		out->token = dup_or_null(c->token, &ok);
		out->cert_pem =
			dup_or_null(c->cert_pem ? c->cert_pem : c->cfg->client_cert_pem, &ok);
		out->key_pem = dup_or_null(c->key_pem ? c->key_pem : c->cfg->client_key_pem, &ok);
		out->generation = c->cred_generation;
	}
	pthread_mutex_unlock(&c->cred_mu);
	if (!rc && !ok) {
		n4j_kube_creds_free(out);
		rc = n4j_kube_fail(e, N4J_KUBE_OTHER, N4J_ENOMEM, "client: out of memory");
	}
	return rc;
}

void n4j_kube_creds_invalidate(struct n4j_kube_client *c, uint64_t generation)
{
	pthread_mutex_lock(&c->cred_mu);
	/* Another thread may already have refreshed: only drop what the 401 was given. */
	if (c->cred_generation == generation && (c->cfg->exec || c->cfg->token_file))
		c->cred_valid = false;
	pthread_mutex_unlock(&c->cred_mu);
}

/* ---- easy handles ---- */

char *n4j_kube_url(struct n4j_kube_client *c, const char *path)
{
	size_t n = strlen(c->base_url) + strlen(path) + 1;
	char *u = malloc(n);
	if (u)
		snprintf(u, n, "%s%s", c->base_url, path);
	return u;
}

CURL *n4j_kube_easy(struct n4j_kube_client *c, const char *url, const struct n4j_kube_creds *cr,
		    struct curl_slist **hdrs, const char *content_type)
{
	CURL *h = NULL;
	pthread_mutex_lock(&c->pool_mu);
	if (c->n_idle > 0)
		h = c->idle[--c->n_idle];
	pthread_mutex_unlock(&c->pool_mu);
	if (!h)
		h = curl_easy_init();
	if (!h)
		return NULL;
	const struct n4j_kube_config *cfg = c->cfg;
	bool ok = true;
#define SET(opt, val) ok = ok && curl_easy_setopt(h, opt, val) == CURLE_OK
	SET(CURLOPT_URL, url);
	SET(CURLOPT_SHARE, c->share);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_PROTOCOLS_STR, "https");
	SET(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
	SET(CURLOPT_TCP_KEEPALIVE, 1L);
	SET(CURLOPT_TCP_KEEPIDLE, 30L);
	SET(CURLOPT_TCP_KEEPINTVL, 15L);
	SET(CURLOPT_CONNECTTIMEOUT_MS, c->opts.connect_timeout_ms);
	SET(CURLOPT_USERAGENT, c->user_agent);
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	SET(CURLOPT_ACCEPT_ENCODING, ""); /* gzip lists compress about 10x */
	if (c->connect_to) {
		struct curl_slist *ct = curl_slist_append(NULL, c->connect_to);
		/* The list must outlive the handle: keep it with the headers' owner. */
		if (!ct)
			ok = false;
		else {
			SET(CURLOPT_CONNECT_TO, ct);
			curl_easy_setopt(h, CURLOPT_PRIVATE, ct);
		}
	}
	if (cfg->insecure_skip_verify) {
		if (!atomic_exchange(&c->warned_insecure, true))
			n4j_log_warn("kube",
				     "TLS verification is disabled by insecure-skip-tls-verify "
				     "in the kubeconfig",
				     N4J_STR("server", cfg->server));
		SET(CURLOPT_SSL_VERIFYPEER, 0L);
		SET(CURLOPT_SSL_VERIFYHOST, 0L);
	} else {
		SET(CURLOPT_SSL_VERIFYPEER, 1L);
		SET(CURLOPT_SSL_VERIFYHOST, 2L);
		if (cfg->ca_pem) {
			struct curl_blob b = {(void *)cfg->ca_pem, strlen(cfg->ca_pem),
					      CURL_BLOB_NOCOPY};
			SET(CURLOPT_CAINFO_BLOB, &b);
		}
	}
	if (cr->cert_pem && cr->key_pem) {
		struct curl_blob cb = {cr->cert_pem, strlen(cr->cert_pem), CURL_BLOB_COPY};
		struct curl_blob kb = {cr->key_pem, strlen(cr->key_pem), CURL_BLOB_COPY};
		SET(CURLOPT_SSLCERT_BLOB, &cb);
		SET(CURLOPT_SSLCERTTYPE, "PEM");
		SET(CURLOPT_SSLKEY_BLOB, &kb);
		SET(CURLOPT_SSLKEYTYPE, "PEM");
	}
#undef SET
	struct curl_slist *l = NULL;
	if (cr->token) {
		size_t n = strlen(cr->token) + 32;
		char *a = malloc(n);
		if (a) {
			snprintf(a, n, "Authorization: Bearer %s", cr->token);
			l = curl_slist_append(l, a);
			n4j_wipe_free(a);
		}
		ok = ok && l;
	}
	struct curl_slist *t = curl_slist_append(l, "Accept: application/json");
	ok = ok && t;
	l = t ? t : l;
	if (content_type) {
		char ctb[128];
		snprintf(ctb, sizeof(ctb), "Content-Type: %s", content_type);
		t = curl_slist_append(l, ctb);
		ok = ok && t;
		l = t ? t : l;
	}
	if (ok && curl_easy_setopt(h, CURLOPT_HTTPHEADER, l) != CURLE_OK)
		ok = false;
	*hdrs = l;
	if (!ok) {
		n4j_kube_easy_release(c, h, l);
		*hdrs = NULL;
		return NULL;
	}
	return h;
}

/* The request headers hold "Authorization: Bearer <token>": wipe them before curl frees. */
static void free_headers(struct curl_slist *l)
{
	for (struct curl_slist *i = l; i; i = i->next)
		if (i->data)
			n4j_wipe(i->data, strlen(i->data));
	curl_slist_free_all(l);
}

void n4j_kube_easy_release(struct n4j_kube_client *c, CURL *h, struct curl_slist *hdrs)
{
	if (!h)
		return;
	struct curl_slist *ct = NULL;
	curl_easy_getinfo(h, CURLINFO_PRIVATE, (char **)&ct);
	/* reset drops options (and with them pointers to our lists and secrets) but keeps the
	 * live connection, which the next request on this handle reuses. */
	curl_easy_reset(h);
	curl_slist_free_all(ct);
	free_headers(hdrs);
	pthread_mutex_lock(&c->pool_mu);
	bool kept = c->n_idle < N4J_KUBE_POOL_MAX;
	if (kept)
		c->idle[c->n_idle++] = h;
	pthread_mutex_unlock(&c->pool_mu);
	if (!kept)
		curl_easy_cleanup(h);
}

/* ---- write bucket, backoff ---- */

void n4j_kube_bucket_take(struct n4j_kube_client *c)
{
	/* The token is reserved under the lock (the bucket may go into debt) so that waiters
	 * queue fairly; the wait itself happens outside it. */
	pthread_mutex_lock(&c->bucket_mu);
	int64_t wait_ms = n4j_bucket_take(&c->bucket, n4j_now_ms());
	pthread_mutex_unlock(&c->bucket_mu);
	if (wait_ms > 0) {
		atomic_fetch_add(&c->n_throttled_ms, (uint64_t)wait_ms);
		n4j_sleep_ms(wait_ms);
	}
}

long n4j_kube_backoff_ms(struct n4j_kube_client *c, int attempt, long retry_after_ms)
{
	long cap = c->opts.max_retry_delay_ms;
	/* Up to +10% jitter spreads out clients that were told the same Retry-After. */
	struct n4j_backoff b = {.base_ms = 200, .cap_ms = cap, .jitter_max = 0.1};
	if (retry_after_ms > 0) {
		b.base_ms = retry_after_ms < cap ? retry_after_ms : cap;
		attempt = 0;
	}
	return (long)n4j_backoff_ms(&b, attempt, n4j_rng_01(&c->rng));
}

/* ---- headers ---- */

static pthread_mutex_t warn_mu = PTHREAD_MUTEX_INITIALIZER;
static uint64_t warn_seen[64];
static size_t warn_n;

/* The apiserver repeats a deprecation warning on every request: print each text once. */
static void warn_once(const char *v)
{
	uint64_t h = 1469598103934665603ull;
	for (const char *p = v; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ull;
	pthread_mutex_lock(&warn_mu);
	bool seen = false;
	for (size_t i = 0; i < warn_n && i < 64; i++)
		seen = seen || warn_seen[i] == h;
	if (!seen)
		warn_seen[warn_n++ % 64] = h;
	pthread_mutex_unlock(&warn_mu);
	if (!seen)
		n4j_log_warn("kube", "apiserver warning", N4J_STR("text", v));
}

size_t n4j_kube_header_cb(char *buf, size_t size, size_t n, void *ud)
{
	struct n4j_kube_hdrs *h = ud;
	size_t len = size * n;
	char line[256];
	size_t m = len < sizeof(line) - 1 ? len : sizeof(line) - 1;
	memcpy(line, buf, m);
	line[m] = '\0';
	while (m > 0 && (line[m - 1] == '\r' || line[m - 1] == '\n'))
		line[--m] = '\0';
	if (strncmp(line, "HTTP/", 5) == 0) {
		/* A new response (after a redirect or 100-continue): forget the old one. */
		memset(h->audit_id, 0, sizeof(h->audit_id));
		h->retry_after_ms = 0;
		h->has_retry_after = false;
		return len;
	}
	if (m == 0 && len > 0 && h->h) {
		/* The blank line ends a header block; an interim 1xx is not the answer. */
		long status = 0;
		curl_easy_getinfo(h->h, CURLINFO_RESPONSE_CODE, &status);
		if (status >= 200)
			hdrs_count(h, status);
		return len;
	}
	char *colon = strchr(line, ':');
	if (!colon)
		return len;
	*colon = '\0';
	const char *v = colon + 1;
	while (*v == ' ' || *v == '\t')
		v++;
	if (strcasecmp(line, "Audit-Id") == 0) {
		snprintf(h->audit_id, sizeof(h->audit_id), "%s", v);
	} else if (strcasecmp(line, "Retry-After") == 0) {
		char *end;
		long s = strtol(v, &end, 10);
		/* HTTP dates are allowed too but the apiserver sends seconds; ignore others. */
		if (end != v && s >= 0 && s < 86400) {
			h->retry_after_ms = s * 1000;
			h->has_retry_after = true;
		}
	} else if (strcasecmp(line, "Warning") == 0) {
		warn_once(v);
	}
	return len;
}
