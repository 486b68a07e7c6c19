/* Private helpers of the kube transport (config, client, requests, watch). */
#ifndef N4J_KUBE_INTERNAL_H
#define N4J_KUBE_INTERNAL_H

#include <curl/curl.h>
#include <pthread.h>
#include <time.h>

#include "kube/kube.h"

/* Files a kubeconfig or service account may reference are small: refuse giants. */
#define N4J_KUBE_FILE_MAX (4u << 20)
/* Idle easy handles kept per client (each holds one connection to the apiserver). */
#define N4J_KUBE_POOL_MAX 8
/* Default version string when the build does not define one. */
#ifndef N4J_OPERATOR_VERSION
#define N4J_OPERATOR_VERSION "0.1.0"
#endif

/* ---- errors.c ---- */
void n4j_kube_error_clear(struct n4j_kube_error *e);
int n4j_kube_fail(struct n4j_kube_error *e, enum n4j_kube_reason reason, int code, const char *fmt,
		  ...) __attribute__((format(printf, 4, 5)));
/* Classifies an HTTP status and reads a Status body (may be NULL) into e. */
int n4j_kube_error_from_response(struct n4j_kube_error *e, const char *method, const char *path,
				 long status, const char *body, size_t len);
/* Reads a Status object (a watch ERROR event) into e. */
int n4j_kube_error_from_status(struct n4j_kube_error *e, const char *what, const cJSON *status);
enum n4j_kube_reason n4j_kube_reason_for(long status, const char *reason);

/* ---- yaml.c ---- */
/* YAML (or JSON) text → cJSON. Plain true/false → bool, null/~ → null, the rest strings. */
/* The single YAML document of a kubeconfig file (n4j_yaml_parse; none = an empty map). */
int n4j_kube_yaml_parse(const char *text, size_t len, cJSON **out, struct n4j_error *err);

/* ---- config helpers ---- */
int n4j_kube_b64decode(const char *in, char **out, size_t *out_len);
char *n4j_kube_strdup(const char *s);
int n4j_kube_config_dup(const struct n4j_kube_config *c, struct n4j_kube_config **out);
/* Reads a token file: trimmed, non-empty. */
int n4j_kube_read_token(const char *path, char **out, struct n4j_error *err);
/* Builds a config from an already merged kubeconfig document (paths absolute or relative
 * to base_dir). */
int n4j_kubeconfig_from_doc(const cJSON *doc, const char *base_dir, const char *context,
			    struct n4j_kube_config **out, struct n4j_error *err);

/* ---- request.c ---- */
/* A GET whose success body goes to feed as it arrives (any chunking) instead of being
 * buffered and parsed: a large LIST is then never held whole. feed returns 0, or an error
 * code that aborts the request with it. Retried like any GET until the first byte was fed;
 * after that a failure is returned (fed says so) and the caller starts over. */
struct n4j_kube_stream {
	int (*feed)(void *ud, const char *data, size_t len);
	void *ud;
	bool fed;
};
int n4j_kube_get_stream(struct n4j_kube_client *c, const char *path, struct n4j_kube_stream *st,
			struct n4j_kube_error *e);

/* ---- list_split.c ---- */
/* Splits a LIST response into the text of each item and of its metadata (see the file). */
enum n4j_split_what { N4J_SPLIT_NONE, N4J_SPLIT_ITEM, N4J_SPLIT_META };
struct n4j_list_split {
	int (*on_value)(void *ud, bool is_meta, const char *text, size_t len); /* !0: abort */
	void *ud;
	size_t max;               /* largest value accepted (N4J_ELIMIT beyond) */
	struct n4j_buf cap;       /* the value being captured */
	bool drop_managed_fields; /* items' metadata.managedFields left out (set after init) */
	int depth, cap_depth;
	bool in_str, esc, in_items, key_on, ended;
	bool in_item_md, skipping, drop_comma;
	enum n4j_split_what what;
	char key[16]; /* the last key seen (top level, item, item metadata) */
	size_t keylen;
	size_t key_at; /* where that key starts in cap */
};
void n4j_list_split_init(struct n4j_list_split *p, size_t max,
			 int (*on_value)(void *ud, bool is_meta, const char *text, size_t len),
			 void *ud);
/* 0, the callback's code, N4J_EPARSE (not one JSON object), N4J_ENOMEM or N4J_ELIMIT. */
int n4j_list_split_feed(struct n4j_list_split *p, const char *data, size_t len);
/* True once the whole top-level object was seen. */
bool n4j_list_split_done(const struct n4j_list_split *p);
void n4j_list_split_free(struct n4j_list_split *p);

/* ---- resources.c ---- */
/* Appends ?k=v or &k=v (v percent-encoded) when v is not NULL. */
void n4j_kube_query(struct n4j_buf *b, const char *k, const char *v);

/* ---- exec.c ---- */
struct n4j_exec_cred {
	char *token;
	char *cert_pem;
	char *key_pem;
	time_t expires; /* 0: no expiry */
};
int n4j_kube_exec_run(const struct n4j_kube_exec *x, long timeout_ms, struct n4j_exec_cred *out,
		      struct n4j_error *err);
/* Parses an ExecCredential document (exposed for tests and the fuzzer). */
int n4j_kube_exec_parse(const char *text, size_t len, struct n4j_exec_cred *out,
			struct n4j_error *err);
void n4j_exec_cred_free(struct n4j_exec_cred *c);

/* ---- client.c ---- */
struct n4j_kube_client {
	struct n4j_kube_config *cfg;
	struct n4j_kube_client_opts opts;
	char *user_agent;
	char *field_manager;
	char *base_url;   /* scheme://host[:port][/prefix], host replaced by tls-server-name */
	char *connect_to; /* CURLOPT_CONNECT_TO entry or NULL */
	CURLSH *share;    /* DNS and TLS sessions */
	pthread_mutex_t pool_mu;
	CURL *idle[N4J_KUBE_POOL_MAX]; /* idle easy handles, each with its live connection */
	size_t n_idle;
	pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];

	pthread_mutex_t cred_mu; /* guards the credential cache below */
	char *token;             /* current bearer token (secret) */
	char *cert_pem, *key_pem;
	time_t token_read;   /* when token_file was last read */
	long token_reread_s; /* 60; tests lower it */
	time_t cred_expires; /* exec credential expiry, 0 none */
	bool cred_valid;
	uint64_t cred_generation;

	pthread_mutex_t bucket_mu;
	struct n4j_bucket bucket; /* writes */

	atomic_uint_fast64_t n_requests, n_writes, n_retries, n_throttled_ms, n_http2;
	atomic_bool warned_insecure;

	/* /metrics: rest_client_requests_total rows (insertion is rare: a mutex is cheaper
	 * to get right than a lock-free table) and request latency by verb. */
	pthread_mutex_t stats_mu;
	struct n4j_kube_code_row {
		char method[8];
		char code[8];
		uint64_t count;
	} by_code[N4J_KUBE_STATS_MAX_CODES];
	size_t n_by_code;
	struct n4j_histogram durations[N4J_KUBE_STATS_VERBS];
	char host[272];     /* the apiserver's host:port, for the host label */
	struct n4j_rng rng; /* jitter */
};

struct n4j_kube_creds {
	char *token;
	char *cert_pem;
	char *key_pem;
	uint64_t generation;
};
/* A copy of the current credentials (refreshing them when due). */
int n4j_kube_creds_get(struct n4j_kube_client *c, struct n4j_kube_creds *out,
		       struct n4j_kube_error *e);
/* After a 401: forget cached credentials of that generation so the next get re-reads. */
void n4j_kube_creds_invalidate(struct n4j_kube_client *c, uint64_t generation);
void n4j_kube_creds_free(struct n4j_kube_creds *cr);
/* A configured easy handle for url (TLS, timeouts, share, UA, auth headers in *hdrs). */
CURL *n4j_kube_easy(struct n4j_kube_client *c, const char *url, const struct n4j_kube_creds *cr,
		    struct curl_slist **hdrs, const char *content_type);
/* Returns a handle to the idle pool (keeping its connection) or frees it. */
void n4j_kube_easy_release(struct n4j_kube_client *c, CURL *h, struct curl_slist *hdrs);
/* Waits for the write bucket. */
void n4j_kube_bucket_take(struct n4j_kube_client *c);
/* The retry delay: 200 ms doubling (or the server's Retry-After), capped at
 * max_retry_delay_ms, plus up to 10 % jitter. */
long n4j_kube_backoff_ms(struct n4j_kube_client *c, int attempt, long retry_after_ms);
char *n4j_kube_url(struct n4j_kube_client *c, const char *path);

/* Captures response headers we care about. */
struct n4j_kube_hdrs {
	char audit_id[64];
	long retry_after_ms;
	bool has_retry_after;
	/* Set by the caller and kept across interim responses: with c set, the end of the
	 * final response's headers counts the request in rest_client_requests_total, as
	 * client-go counts once client.Do returns (for a watch: before its stream). */
	struct n4j_kube_client *c;
	CURL *h;
	const char *method;
	int64_t watch_start_ns; /* a watch: its WATCH latency ends with the headers */
	bool counted;
};
size_t n4j_kube_header_cb(char *buf, size_t size, size_t n, void *ud);
/* After curl_easy_perform: counts an attempt whose headers never came in whole (pass
 * status 0 for a failed transfer: "<error>", client-go's code for a transport failure);
 * a watch's WATCH latency then ends at its failure. */
void n4j_kube_hdrs_finish(struct n4j_kube_hdrs *h, long status);
/* rest_client_requests_total{code,method}; status 0 counts as "<error>". */
void n4j_kube_stats_count(struct n4j_kube_client *c, const char *method, long status);
/* rest_client_request_duration_seconds{verb}: from start_ns until now. */
void n4j_kube_stats_observe(struct n4j_kube_client *c, const char *verb, int64_t start_ns);

#endif
