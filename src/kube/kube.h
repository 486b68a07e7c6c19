/*
 * kube: a Kubernetes API client for C, shaped like client-go.
 *
 *   config   kubeconfig (merged files, contexts, certs, tokens, token files, exec
 *            plugins) and in-cluster config (rotating service-account token)
 *   client   libcurl: TLS always verified, connection reuse, HTTP/2 when offered,
 *            timeouts, size limits, classified errors, Retry-After, a write bucket
 *   requests get / list (paginated) / create / server-side apply / merge patch /
 *            status patch / delete (preconditions, propagation) on any resource
 *   watch    a stream decoder fed by curl's write callback, resume from the last
 *            resourceVersion, bookmarks, 410 → relist, backoff
 *   informer list+watch into a cache of trimmed, immutable, refcounted objects;
 *            handlers that compute keys; resync; has_synced
 *   queue    client-go's workqueue: dedup, one worker per key, per-key exponential
 *            backoff plus a global token bucket, add_after, shutdown with drain
 *   leader   coordination.k8s.io/v1 Lease election (15 s / 10 s / 2 s)
 *   events   core/v1 Events: aggregation with a count, spam filter, async sender
 *
 * Conventions (docs/development.md): functions return 0 or a negative N4J_E*
 * code and fill the caller's error struct; returned cJSON trees belong to the
 * caller (cJSON_Delete) unless documented as borrowed; every object here is
 * safe to use from several threads unless said otherwise. Secrets (tokens,
 * keys, Secret data) never appear in logs or error messages.
 */
#ifndef N4J_KUBE_H
#define N4J_KUBE_H

#include <cjson/cJSON.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/util.h"

/* ---- errors ------------------------------------------------------------------ */

enum n4j_kube_reason {
	N4J_KUBE_OK = 0,
	N4J_KUBE_BAD_REQUEST,       /* 400: a bug in our request */
	N4J_KUBE_UNAUTHORIZED,      /* 401: token re-read / exec plugin re-run once */
	N4J_KUBE_FORBIDDEN,         /* 403: RBAC gap */
	N4J_KUBE_NOT_FOUND,         /* 404 */
	N4J_KUBE_ALREADY_EXISTS,    /* 409 reason AlreadyExists */
	N4J_KUBE_CONFLICT,          /* 409 Conflict or FieldManagerConflict */
	N4J_KUBE_GONE,              /* 410 Expired/Gone: relist */
	N4J_KUBE_INVALID,           /* 422: see causes */
	N4J_KUBE_TOO_MANY_REQUESTS, /* 429: retry_after_ms */
	N4J_KUBE_SERVER_ERROR,      /* 5xx */
	N4J_KUBE_TIMEOUT,           /* our deadline */
	N4J_KUBE_TRANSPORT,         /* connect, TLS, reset, malformed response */
	N4J_KUBE_OTHER,
};

#define N4J_KUBE_MAX_CAUSES 8

struct n4j_kube_error {
	struct n4j_error base; /* code (negative N4J_E*) and a message without secrets */
	enum n4j_kube_reason reason;
	int http_status;     /* 0 when no response */
	long retry_after_ms; /* from Retry-After or details.retryAfterSeconds, else 0 */
	char audit_id[64];   /* Audit-Id response header, for support */
	size_t n_causes;
	struct {
		char field[128];
		char reason[64];
		char message[256];
	} causes[N4J_KUBE_MAX_CAUSES];
};

const char *n4j_kube_reason_name(enum n4j_kube_reason r);
/* True for 429, 5xx, timeouts and transport errors. */
bool n4j_kube_retryable(const struct n4j_kube_error *e);

/* ---- config ------------------------------------------------------------------ */

struct n4j_kube_exec {
	char *command;
	size_t n_args;
	char **args;
	size_t n_env;
	char **env; /* "NAME=value" */
	char *api_version;
};

struct n4j_kube_config {
	char *server; /* https://host:port, no trailing slash */
	char *tls_server_name;
	bool insecure_skip_verify; /* only if explicitly configured; logged as a warning */
	char *ca_pem;              /* NULL: the system store */
	char *client_cert_pem;     /* secret */
	char *client_key_pem;      /* secret */
	char *token;               /* secret */
	char *token_file;          /* re-read at least every 60 s and after a 401 */
	struct n4j_kube_exec *exec;
	char *namespace_;   /* the context's namespace, or the pod's; "default" otherwise */
	char *context_name; /* NULL in-cluster */
	bool in_cluster;
};

/*
 * Parses kubeconfig text. base_dir resolves relative paths; context NULL means
 * current-context. Pure apart from reading referenced files (certificates, token
 * files): the fuzzer calls it with files absent.
 */
int n4j_kubeconfig_parse(const char *text, size_t len, const char *base_dir, const char *context,
			 struct n4j_kube_config **out, struct n4j_error *err);
/*
 * Loads a kubeconfig: `paths` is a colon list (NULL: $KUBECONFIG, else
 * ~/.kube/config); merged as kubectl does (the first definition of a name wins).
 */
int n4j_kube_config_load(const char *paths, const char *context, struct n4j_kube_config **out,
			 struct n4j_error *err);
/* In-cluster: KUBERNETES_SERVICE_HOST/PORT and the service-account files under root
 * (NULL: /var/run/secrets/kubernetes.io/serviceaccount). */
int n4j_kube_config_in_cluster(const char *root, struct n4j_kube_config **out,
			       struct n4j_error *err);
/* In-cluster when KUBERNETES_SERVICE_HOST is set and no kubeconfig is given, else load. */
int n4j_kube_config_auto(const char *kubeconfig, const char *context, struct n4j_kube_config **out,
			 struct n4j_error *err);
void n4j_kube_config_free(struct n4j_kube_config *c);

/* ---- client ------------------------------------------------------------------ */

struct n4j_kube_client_opts {
	const char *user_agent;    /* default "neo4j-operator/<version>" */
	const char *field_manager; /* default "neo4j-operator" */
	long connect_timeout_ms;   /* default 5000 */
	long request_timeout_ms;   /* default 30000 (not for watches) */
	size_t max_response_bytes; /* default 64 MiB */
	double write_qps;          /* default 20 (when 0); negative disables the write bucket */
	int write_burst;           /* default 50 */
	int max_retries;           /* 429/5xx with Retry-After: default 10 (when 0), as
				      * client-go; negative: no retries */
	long max_retry_delay_ms;   /* default 30000 */
};

struct n4j_kube_client;

int n4j_kube_client_new(const struct n4j_kube_config *cfg, const struct n4j_kube_client_opts *opts,
			struct n4j_kube_client **out, struct n4j_error *err);
void n4j_kube_client_free(struct n4j_kube_client *c);
/* Counters for tests and /metrics: requests by verb, retries, bytes. */
#define N4J_KUBE_STATS_MAX_CODES 48
#define N4J_KUBE_STATS_VERBS     6 /* GET POST PUT PATCH DELETE WATCH */
struct n4j_kube_client_stats {
	uint64_t requests, writes, retries, throttled_ms, http2_requests;
	/* rest_client_requests_total{code,method,host}: one row per (method, code) seen;
	 * code is the HTTP status, or "<error>" for a transport failure (client-go's word);
	 * a row beyond the table's size counts into the last one, method and code "OTHER".
	 * As in client-go, each attempt counts (a retry is a second request) when its
	 * response headers arrive; a watch is a GET counted then, not when its stream ends. */
	struct {
		char method[8]; /* GET, POST, PUT, PATCH, DELETE */
		char code[8];
		uint64_t count;
	} by_code[N4J_KUBE_STATS_MAX_CODES];
	size_t n_by_code;
	/* rest_client_request_duration_seconds{verb,host}: every request but a watch's
	 * stream is timed until its response is read (the whole call, retries and client-side
	 * throttling included, as client-go); a LIST is a GET; WATCH times a watch until its
	 * headers or its failure (client-go does not time watches); verbs[i] names
	 * durations[i]. */
	const char *verbs[N4J_KUBE_STATS_VERBS];
	struct n4j_histogram_snapshot durations[N4J_KUBE_STATS_VERBS];
	const char *host; /* the apiserver's host:port (points into the client) */
};
void n4j_kube_client_stats(const struct n4j_kube_client *c, struct n4j_kube_client_stats *out);

/* ---- resources and requests ------------------------------------------------- */

struct n4j_kube_resource {
	const char *group; /* "" for the core group */
	const char *version;
	const char *plural;
	const char *kind;
	bool namespaced;
};

/* Descriptors for the kinds the operator uses (constants, not state). */
extern const struct n4j_kube_resource N4J_RES_CONFIGMAPS, N4J_RES_SECRETS, N4J_RES_SERVICES,
	N4J_RES_SERVICEACCOUNTS, N4J_RES_PODS, N4J_RES_PVCS, N4J_RES_EVENTS, N4J_RES_NAMESPACES,
	N4J_RES_STATEFULSETS, N4J_RES_PDBS, N4J_RES_NETWORKPOLICIES, N4J_RES_JOBS, N4J_RES_CRONJOBS,
	N4J_RES_LEASES, N4J_RES_NEO4JCLUSTERS, N4J_RES_NEO4JBACKUPS;

/* The path of a collection (name NULL) or item, with an optional subresource. */
int n4j_kube_path(const struct n4j_kube_resource *r, const char *ns, const char *name,
		  const char *subresource, struct n4j_buf *out);

int n4j_kube_get(struct n4j_kube_client *c, const struct n4j_kube_resource *r, const char *ns,
		 const char *name, cJSON **out, struct n4j_kube_error *e);

struct n4j_kube_list_opts {
	const char *label_selector;
	const char *field_selector;
	int page_size;                /* default 500; < 0: one response, no limit */
	const char *resource_version; /* "" (consistent read) by default */
};

/* Every page (limit/continue; a 410 on continue restarts the list once). *items is
 * an array whose objects carry apiVersion and kind; *rv the list's resourceVersion. */
int n4j_kube_list(struct n4j_kube_client *c, const struct n4j_kube_resource *r, const char *ns,
		  const struct n4j_kube_list_opts *o, cJSON **items, char **rv,
		  struct n4j_kube_error *e);
/* The same list, delivered one page at a time: on_item receives each item (apiVersion and
 * kind set) and owns it (cJSON_Delete it or keep it); a non-zero return stops the list with
 * that code. on_restart (optional) says the list starts over after a 410 on continue: forget
 * the items received so far. A caller that keeps less than whole objects (the informer)
 * thus never holds more than one page of raw objects. */
struct n4j_kube_list_sink {
	int (*on_item)(void *ud, cJSON *item);
	void (*on_restart)(void *ud);
	void *ud;
	bool drop_managed_fields; /* items arrive without metadata.managedFields */
};
int n4j_kube_list_each(struct n4j_kube_client *c, const struct n4j_kube_resource *r, const char *ns,
		       const struct n4j_kube_list_opts *o, const struct n4j_kube_list_sink *sink,
		       char **rv, struct n4j_kube_error *e);
int n4j_kube_create(struct n4j_kube_client *c, const struct n4j_kube_resource *r, const char *ns,
		    const cJSON *obj, cJSON **out, struct n4j_kube_error *e);
/* Server-side apply with the client's field manager; force takes fields from others. */
int n4j_kube_apply(struct n4j_kube_client *c, const struct n4j_kube_resource *r, const char *ns,
		   const char *name, const cJSON *obj, bool force, cJSON **out,
		   struct n4j_kube_error *e);
/* RFC 7386 merge patch; subresource NULL or "status". */
int n4j_kube_merge_patch(struct n4j_kube_client *c, const struct n4j_kube_resource *r,
			 const char *ns, const char *name, const char *subresource,
			 const cJSON *patch, cJSON **out, struct n4j_kube_error *e);
/* PUT of a whole object (carrying metadata.resourceVersion); subresource NULL or "status". */
int n4j_kube_update(struct n4j_kube_client *c, const struct n4j_kube_resource *r, const char *ns,
		    const char *name, const char *subresource, const cJSON *obj, cJSON **out,
		    struct n4j_kube_error *e);

struct n4j_kube_delete_opts {
	const char *propagation;      /* Background (default) | Foreground | Orphan */
	const char *uid;              /* precondition */
	const char *resource_version; /* precondition */
};
/* 404 counts as success (already gone). */
int n4j_kube_delete(struct n4j_kube_client *c, const struct n4j_kube_resource *r, const char *ns,
		    const char *name, const struct n4j_kube_delete_opts *o,
		    struct n4j_kube_error *e);

/* Any request: method, path with query, content type and body may be NULL. */
int n4j_kube_request(struct n4j_kube_client *c, const char *method, const char *path,
		     const char *content_type, const char *body, size_t body_len, cJSON **out,
		     struct n4j_kube_error *e);

/* ---- watch ------------------------------------------------------------------- */

enum n4j_watch_type {
	N4J_WATCH_ADDED = 1,
	N4J_WATCH_MODIFIED,
	N4J_WATCH_DELETED,
	N4J_WATCH_BOOKMARK,
	N4J_WATCH_ERROR,
};

struct n4j_watch_event {
	enum n4j_watch_type type;
	cJSON *object; /* the callback may take it (set to NULL), else it is freed */
};

/* Return 0 to continue, a negative code to stop the stream. */
typedef int (*n4j_watch_fn)(void *ud, struct n4j_watch_event *ev);

/*
 * The stream decoder, pure: bytes in any chunking → one callback per complete
 * line. Lines longer than max_line (default 16 MiB) and malformed events are
 * errors (N4J_ELIMIT / N4J_EPARSE), never crashes.
 */
struct n4j_watch_decoder {
	struct n4j_buf line;
	size_t max_line;
};
void n4j_watch_decoder_init(struct n4j_watch_decoder *d, size_t max_line);
int n4j_watch_decoder_feed(struct n4j_watch_decoder *d, const char *data, size_t len,
			   n4j_watch_fn fn, void *ud, struct n4j_error *err);
void n4j_watch_decoder_free(struct n4j_watch_decoder *d);

struct n4j_kube_watch_opts {
	const char *label_selector;
	const char *field_selector;
	const char *resource_version; /* resume point */
	int timeout_seconds;          /* default: random 300..600, like client-go */
	bool allow_bookmarks;         /* default true */
};

/*
 * One watch request, until the server ends it, fn stops it, or *stop becomes
 * true (checked at least every second). *last_rv is updated from every event
 * (bookmarks included). A 410, as status or ERROR event, returns N4J_KUBE_GONE.
 */
int n4j_kube_watch(struct n4j_kube_client *c, const struct n4j_kube_resource *r, const char *ns,
		   const struct n4j_kube_watch_opts *o, n4j_watch_fn fn, void *ud,
		   const atomic_bool *stop, char **last_rv, struct n4j_kube_error *e);

/* ---- informer ------------------------------------------------------------------ */

/*
 * A cached object: immutable and refcounted. Hold a reference while you read it.
 * It is stored as the compact JSON text of the trimmed object (a cJSON tree per object
 * cost three times the memory); parse it when you need fields.
 */
struct n4j_cached {
	const char *json;             /* the trimmed object, unformatted, NUL-terminated */
	size_t json_len;              /* strlen(json) */
	const char *resource_version; /* metadata.resourceVersion, or "" */
	const char *key;              /* "ns/name" or "name" */
	atomic_int refs;
};
void n4j_cached_ref(struct n4j_cached *o);
void n4j_cached_unref(struct n4j_cached *o);
/* A new tree of o's object, owned by the caller (cJSON_Delete); NULL if out of memory
 * (or o is NULL). Parsing costs time: in handlers, compare keys or resource_version first. */
cJSON *n4j_cached_parse(const struct n4j_cached *o);

/* Trims an object to what the operator reads: returns a new tree (or NULL to store
 * nothing). Never keep managedFields, whole pod specs or Secret data (objects from the
 * informer's lists arrive without managedFields, which are not even parsed). */
typedef cJSON *(*n4j_transform_fn)(const cJSON *obj, void *ud);
cJSON *n4j_transform_metadata(const cJSON *obj, void *ud); /* metadata (no managedFields) */
cJSON *n4j_transform_status(const cJSON *obj, void *ud);   /* + status and spec hashes */
cJSON *n4j_transform_secret(const cJSON *obj, void *ud);   /* metadata and data keys only */

struct n4j_informer_handlers {
	/* Compute and enqueue keys only: no I/O. old is NULL on add, new NULL on delete. */
	void (*on_event)(void *ud, const struct n4j_cached *old_obj,
			 const struct n4j_cached *new_obj);
	void *ud;
};

struct n4j_informer_opts {
	const struct n4j_kube_resource *resource;
	const char *namespace_; /* NULL: all namespaces */
	const char *label_selector;
	n4j_transform_fn transform; /* NULL: n4j_transform_metadata */
	void *transform_ud;
	long resync_ms; /* 0: none; re-delivers every object as an update */
};

struct n4j_informer;
int n4j_informer_new(struct n4j_kube_client *c, const struct n4j_informer_opts *o,
		     const struct n4j_informer_handlers *h, struct n4j_informer **out,
		     struct n4j_error *err);
int n4j_informer_start(struct n4j_informer *inf, struct n4j_error *err); /* own thread */
bool n4j_informer_has_synced(const struct n4j_informer *inf);
/* Returns a new reference or NULL. */
struct n4j_cached *n4j_informer_get(struct n4j_informer *inf, const char *key);
/* Calls fn with every cached object (references held for the call). */
void n4j_informer_each(struct n4j_informer *inf, void (*fn)(void *ud, struct n4j_cached *o),
		       void *ud);
size_t n4j_informer_len(struct n4j_informer *inf);
void n4j_informer_stop(struct n4j_informer *inf); /* joins the thread */
void n4j_informer_free(struct n4j_informer *inf);

/* The owner key ("ns/name") of obj: its controller ownerReference of ownerKind, else
 * the app.kubernetes.io/instance label; 0 if found. */
int n4j_owner_key(const cJSON *obj, const char *owner_kind, char *key, size_t key_size);

/* ---- workqueue ----------------------------------------------------------------- */

struct n4j_workqueue_opts {
	long base_delay_ms; /* default 5 */
	long max_delay_ms;  /* default 1000 s */
	double qps;         /* overall bucket, default 10 */
	int burst;          /* default 100 */
};

struct n4j_workqueue;
int n4j_workqueue_new(const struct n4j_workqueue_opts *o, struct n4j_workqueue **out);
void n4j_workqueue_free(struct n4j_workqueue *q);
void n4j_workqueue_add(struct n4j_workqueue *q, const char *key);
void n4j_workqueue_add_after(struct n4j_workqueue *q, const char *key, long delay_ms);
void n4j_workqueue_add_rate_limited(struct n4j_workqueue *q, const char *key);
void n4j_workqueue_forget(struct n4j_workqueue *q, const char *key);
int n4j_workqueue_retries(struct n4j_workqueue *q, const char *key);
/* Blocks for the next key (malloc'd, caller frees); N4J_ENOTFOUND after shutdown. */
int n4j_workqueue_get(struct n4j_workqueue *q, char **key);
void n4j_workqueue_done(struct n4j_workqueue *q, const char *key);
size_t n4j_workqueue_len(struct n4j_workqueue *q);
/* client-go's workqueue metrics (reference §3.8): depth counts keys waiting to be handed
 * out (dirty: queued, or re-added while processing; not delayed ones), adds every add that
 * made a key dirty, retries every add_after and add_rate_limited (client-go counts retries
 * in AddAfter, which AddRateLimited and controller-runtime's RequeueAfter both call);
 * queue_duration is add → get, work_duration get → done; unfinished_work_seconds sums the
 * age of the keys in processing, longest_running the oldest of them. */
struct n4j_workqueue_stats {
	size_t depth;
	uint64_t adds, retries;
	double unfinished_work_seconds, longest_running_seconds;
	struct n4j_histogram_snapshot queue_duration, work_duration;
};
void n4j_workqueue_stats(struct n4j_workqueue *q, struct n4j_workqueue_stats *out);
/* Refuses new adds, wakes getters, waits until keys being processed are done. */
void n4j_workqueue_shutdown(struct n4j_workqueue *q, bool drain);

/* A fixed pool of workers: fn returns 0 (forget), >0 (requeue after that many ms),
 * <0 (error: add_rate_limited). */
typedef long (*n4j_work_fn)(void *ud, const char *key);
struct n4j_workers;
int n4j_workers_start(struct n4j_workqueue *q, int n, n4j_work_fn fn, void *ud,
		      struct n4j_workers **out);
void n4j_workers_stop(struct n4j_workers *w); /* after n4j_workqueue_shutdown */

/* ---- leader election ------------------------------------------------------------ */

struct n4j_leader_opts {
	const char *namespace_;
	const char *name;       /* the Lease */
	const char *identity;   /* pod name + random suffix */
	long lease_ms;          /* default 15000 */
	long renew_deadline_ms; /* default 10000 */
	long retry_ms;          /* default 2000 */
	void (*on_started_leading)(void *ud);
	void (*on_stopped_leading)(void *ud); /* renewal failed: stop work at once */
	void *ud;
};

struct n4j_leader;
int n4j_leader_start(struct n4j_kube_client *c, const struct n4j_leader_opts *o,
		     struct n4j_leader **out, struct n4j_error *err);
bool n4j_leader_is_leader(const struct n4j_leader *l);
/* Last successful renewal is within the renew deadline (check before disruptive steps). */
bool n4j_leader_fresh(const struct n4j_leader *l);
/* Stops campaigning; a leader releases the Lease (empty holder, duration 1 s). */
void n4j_leader_stop(struct n4j_leader *l);
void n4j_leader_free(struct n4j_leader *l);

/* ---- events ------------------------------------------------------------------ */

struct n4j_recorder_opts {
	const char *component; /* source.component, default "neo4j-operator" */
	int queue_size;        /* default 1000; overflow is dropped and counted */
	int burst;             /* spam filter per object: default 25 ... */
	long refill_ms;        /* ... then one per 5 minutes */
};

struct n4j_recorder;
int n4j_recorder_new(struct n4j_kube_client *c, const struct n4j_recorder_opts *o,
		     struct n4j_recorder **out, struct n4j_error *err);
/*
 * Never blocks and never fails the caller. `involved` is the object (apiVersion,
 * kind, metadata.name/namespace/uid are read). type: "Normal" | "Warning";
 * reason: CamelCase. Repeats are aggregated (count, lastTimestamp).
 */
void n4j_recorder_event(struct n4j_recorder *r, const cJSON *involved, const char *type,
			const char *reason, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
/* Waits up to timeout_ms for queued events to be sent. */
void n4j_recorder_flush(struct n4j_recorder *r, long timeout_ms);
void n4j_recorder_free(struct n4j_recorder *r);

#endif
