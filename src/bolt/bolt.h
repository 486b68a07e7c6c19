/*
 * bolt: a small, exact Bolt client (4.4 and 5.0-5.8) for cluster administration.
 *
 * Layers, each usable on its own:
 *  - PackStream (n4j_ps_*): pure encode/decode of every value, graph, temporal and
 *    spatial structures included. No I/O, no globals. Decoding builds a tree of
 *    struct n4j_bolt_value in a caller's arena, under strict size and depth limits;
 *    every malformed input is an error value, never a crash.
 *  - framing (n4j_chunk_*, struct n4j_dechunker): pure chunked message framing.
 *  - handshake (n4j_hs_*): pure, incremental version negotiation incl. manifest v1.
 *  - connection (n4j_bolt_*): TCP (+TLS) with poll-based deadlines on every step, HELLO
 *    (+bolt_agent), LOGON/LOGOFF, RUN/PULL/DISCARD, transactions, RESET, GOODBYE, ROUTE,
 *    and the client-side state machine of bolt.md section 6.
 *  - operator API: query a named database with parameters and read rows; find the
 *    `system` leader with ROUTE and re-route on NotALeader; retry with backoff; a tiny
 *    per-cluster pool.
 *
 * Errors: functions return 0 or a negative code (util.h's N4J_E* or the N4J_EBOLT_*
 * below) and fill struct n4j_error. A FAILURE from the server is N4J_EBOLT_FAILURE and
 * its details are in struct n4j_bolt_failure (portable code + class). Passwords are
 * never copied into error messages or logs.
 *
 * Threads: a connection is used by one thread at a time; the pool and the cluster
 * handle are thread-safe.
 */
#ifndef N4J_BOLT_H
#define N4J_BOLT_H

#include "util/util.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	N4J_EBOLT_TIMEOUT = -20,  /* a deadline passed (connect, read, write) */
	N4J_EBOLT_CLOSED = -21,   /* connection lost / closed by the peer */
	N4J_EBOLT_PROTOCOL = -22, /* malformed or unexpected bytes/messages */
	N4J_EBOLT_FAILURE = -23,  /* the server answered FAILURE: see n4j_bolt_failure */
	N4J_EBOLT_TLS = -24,      /* TLS handshake or verification failed */
	N4J_EBOLT_VERSION = -25,  /* no common protocol version */
	N4J_EBOLT_STATE = -26,    /* request not valid in the connection's state */
	N4J_EBOLT_CONNECT = -27,  /* TCP connect refused / unreachable / name unresolved */
};

/* ---- values ------------------------------------------------------------------ */

enum n4j_bolt_type {
	N4J_BOLT_NULL,
	N4J_BOLT_BOOL,
	N4J_BOLT_INT,
	N4J_BOLT_FLOAT,
	N4J_BOLT_BYTES,
	N4J_BOLT_STRING,
	N4J_BOLT_LIST,
	N4J_BOLT_MAP,
	N4J_BOLT_STRUCT,
};

/* Struct tags of PackStream values (bolt.md 4.1). */
enum {
	N4J_TAG_NODE = 0x4E,
	N4J_TAG_REL = 0x52,
	N4J_TAG_UNBOUND_REL = 0x72,
	N4J_TAG_PATH = 0x50,
	N4J_TAG_DATE = 0x44,
	N4J_TAG_TIME = 0x54,
	N4J_TAG_LOCAL_TIME = 0x74,
	N4J_TAG_DATETIME = 0x49,
	N4J_TAG_DATETIME_ZONEID = 0x69,
	N4J_TAG_LEGACY_DATETIME = 0x46,
	N4J_TAG_LEGACY_DATETIME_ZONEID = 0x66,
	N4J_TAG_LOCAL_DATETIME = 0x64,
	N4J_TAG_DURATION = 0x45,
	N4J_TAG_POINT2D = 0x58,
	N4J_TAG_POINT3D = 0x59,
};

struct n4j_bolt_pair;

/* A decoded (or to-be-encoded) value. Strings and bytes are not NUL-terminated in
 * general; decoded strings are (the decoder adds a NUL past len). */
struct n4j_bolt_value {
	enum n4j_bolt_type type;
	union {
		bool b;
		int64_t i;
		double f;
		struct {
			const char *data;
			uint32_t len;
		} s; /* STRING and BYTES */
		struct {
			struct n4j_bolt_value *items;
			uint32_t len;
		} list;
		struct {
			struct n4j_bolt_pair *pairs;
			uint32_t len;
		} map;
		struct {
			uint8_t tag;
			uint8_t len;
			struct n4j_bolt_value *fields;
		} st;
	} u;
};

struct n4j_bolt_pair {
	struct n4j_bolt_value key; /* always a STRING */
	struct n4j_bolt_value value;
};

/* Constructors (for parameters): values live in the arena; NULL on allocation failure. */
struct n4j_bolt_value n4j_bolt_null(void);
struct n4j_bolt_value n4j_bolt_bool(bool b);
struct n4j_bolt_value n4j_bolt_int(int64_t i);
struct n4j_bolt_value n4j_bolt_float(double f);
struct n4j_bolt_value n4j_bolt_str(const char *s); /* borrowed, NUL-terminated */
struct n4j_bolt_value n4j_bolt_strn(const char *s, uint32_t len);
struct n4j_bolt_value n4j_bolt_bytes(const void *p, uint32_t len);
/* Containers with n slots, zero-filled (null values / empty keys) for the caller to fill. */
struct n4j_bolt_value *n4j_bolt_list_new(struct n4j_arena *a, uint32_t n);
struct n4j_bolt_value *n4j_bolt_map_new(struct n4j_arena *a, uint32_t n);
struct n4j_bolt_value *n4j_bolt_struct_new(struct n4j_arena *a, uint8_t tag, uint8_t n);
/* Sets pair i of a map. */
void n4j_bolt_map_set(struct n4j_bolt_value *map, uint32_t i, const char *key,
		      struct n4j_bolt_value v);

/* Map lookup (last duplicate wins, as PackStream says); NULL when absent or not a map. */
const struct n4j_bolt_value *n4j_bolt_map_get(const struct n4j_bolt_value *map, const char *key);
/* Borrowed NUL-terminated string of a decoded STRING, else NULL. */
const char *n4j_bolt_as_str(const struct n4j_bolt_value *v);
bool n4j_bolt_value_eq(const struct n4j_bolt_value *a, const struct n4j_bolt_value *b);
/* Debug text (JSON-like; strings quoted); bytes appended to b. Never used for secrets. */
void n4j_bolt_value_print(struct n4j_buf *b, const struct n4j_bolt_value *v);

/* ---- PackStream (pure) --------------------------------------------------------- */

struct n4j_ps_limits {
	uint32_t max_depth; /* nesting of lists/maps/structs; default 64 */
	uint32_t max_items; /* total values in one decode; default 4M */
	size_t max_bytes;   /* total input; default 64 MiB */
};
extern const struct n4j_ps_limits n4j_ps_default_limits;

void n4j_ps_put_null(struct n4j_buf *b);
void n4j_ps_put_bool(struct n4j_buf *b, bool v);
void n4j_ps_put_int(struct n4j_buf *b, int64_t v); /* smallest form */
void n4j_ps_put_float(struct n4j_buf *b, double v);
void n4j_ps_put_string(struct n4j_buf *b, const char *s, size_t len);
void n4j_ps_put_bytes(struct n4j_buf *b, const void *p, size_t len);
void n4j_ps_put_list_header(struct n4j_buf *b, uint32_t n);
void n4j_ps_put_map_header(struct n4j_buf *b, uint32_t n);
void n4j_ps_put_struct_header(struct n4j_buf *b, uint8_t tag, uint8_t nfields);
/* Encodes a whole tree; N4J_ELIMIT when deeper than max_depth or a struct has > 15 fields. */
int n4j_ps_put_value(struct n4j_buf *b, const struct n4j_bolt_value *v, struct n4j_error *err);

/*
 * Decodes one value from data[0..len). *used receives the bytes consumed. Known
 * structs (graph, temporal, spatial) are checked for their field count and types
 * (4.4 and 5.x shapes); unknown tags are kept as generic structs.
 * Errors: N4J_EBOLT_PROTOCOL (malformed, reserved marker, truncated), N4J_ELIMIT, N4J_ENOMEM.
 */
int n4j_ps_decode(struct n4j_arena *a, const void *data, size_t len,
		  const struct n4j_ps_limits *lim, struct n4j_bolt_value *out, size_t *used,
		  struct n4j_error *err);
/* Decodes exactly one message: a struct covering all of data. */
int n4j_ps_decode_message(struct n4j_arena *a, const void *data, size_t len,
			  struct n4j_bolt_value *out, struct n4j_error *err);

/* ---- chunked framing (pure) ---------------------------------------------------- */

#define N4J_CHUNK_MAX   65535u
#define N4J_MESSAGE_MAX (64u << 20)

/* Appends msg as chunks of <= 65535 bytes followed by 00 00. */
void n4j_chunk_write(struct n4j_buf *out, const void *msg, size_t len);

struct n4j_dechunker {
	uint8_t hdr[2];
	uint8_t hdr_have;
	uint32_t chunk_left;
	size_t max;         /* message cap; 0 = N4J_MESSAGE_MAX */
	struct n4j_buf msg; /* the message being assembled */
	bool have_data;     /* at least one non-empty chunk in this message */
};
void n4j_dechunker_init(struct n4j_dechunker *d, size_t max);
void n4j_dechunker_free(struct n4j_dechunker *d);
/*
 * Feeds bytes; consumes at most up to the end of one message. Returns 1 when a whole
 * message is in d->msg (call n4j_dechunker_next before feeding more), 0 when more bytes
 * are needed (all consumed), or N4J_ELIMIT / N4J_ENOMEM. NOOPs are skipped.
 */
int n4j_dechunker_feed(struct n4j_dechunker *d, const void *data, size_t len, size_t *used,
		       struct n4j_error *err);
void n4j_dechunker_next(struct n4j_dechunker *d);

/* ---- handshake (pure) ---------------------------------------------------------- */

/* A protocol version, e.g. 0x0508 for 5.8. */
#define N4J_BOLT_V(major, minor) ((uint16_t)(((major) << 8) | (minor)))

/* Builds the 20-byte request: magic, manifest v1, 5.8..5.0, 4.4 (bolt.md 2.3), limited to
 * versions <= max (0 = no limit; e.g. N4J_BOLT_V(4,4) to force 4.4). */
void n4j_hs_request(uint8_t out[20], uint16_t max);

struct n4j_hs {
	int stage;    /* internal */
	uint16_t max; /* as given to n4j_hs_request */
	uint8_t b[4];
	uint8_t have;
	uint64_t varint;
	uint8_t vshift;
	uint32_t entries_left;
	uint16_t best; /* best version found in the manifest so far */
	bool manifest;
};
void n4j_hs_init(struct n4j_hs *h, uint16_t max);
/*
 * Feeds server bytes. Returns 1 when negotiation is done: *version is set, and reply
 * (reply_len bytes, possibly 0) must be sent before HELLO; 0 = need more;
 * N4J_EBOLT_VERSION (no common version; for a manifest, reply holds the 5-byte refusal),
 * N4J_EBOLT_PROTOCOL (HTTP port, unknown version, bad VarInt).
 */
int n4j_hs_feed(struct n4j_hs *h, const void *data, size_t len, size_t *used, uint16_t *version,
		uint8_t reply[5], size_t *reply_len, struct n4j_error *err);

/* ---- failures and error classes ------------------------------------------------ */

enum n4j_bolt_class {
	N4J_BOLT_CLASS_NONE = 0,
	N4J_BOLT_CLASS_RETRYABLE,   /* transient / connection lost before the outcome */
	N4J_BOLT_CLASS_REROUTE,     /* NotALeader, ForbiddenOnReadOnlyDatabase: re-ROUTE, retry */
	N4J_BOLT_CLASS_AUTH,        /* Unauthorized, rate limit, expired credentials: no loop */
	N4J_BOLT_CLASS_CLIENT,      /* the request is wrong; permanent */
	N4J_BOLT_CLASS_UNSUPPORTED, /* Community edition / unsupported admin command */
	N4J_BOLT_CLASS_DATABASE,    /* DatabaseError: log, retry at most once */
	N4J_BOLT_CLASS_UNKNOWN,     /* outcome unknown (lost during commit / write) */
};

struct n4j_bolt_failure {
	char code[128];    /* neo4j_code ?: code ?: Neo.DatabaseError.General.UnknownError */
	char gql[8];       /* gql_status ?: 50N42 */
	char gql_cause[8]; /* the innermost gql_status of the cause chain ("" if none) */
	char message[384];
	enum n4j_bolt_class cls;
};

/* Reads a FAILURE metadata map of either shape (<= 5.6 or 5.7+) into f. */
void n4j_bolt_failure_parse(const struct n4j_bolt_value *meta, struct n4j_bolt_failure *f);
enum n4j_bolt_class n4j_bolt_classify_code(const char *code);
/* The class of any result: rc 0 -> NONE; FAILURE -> f->cls; timeouts/lost -> RETRYABLE... */
enum n4j_bolt_class n4j_bolt_classify(int rc, const struct n4j_bolt_failure *f);
const char *n4j_bolt_class_name(enum n4j_bolt_class c);
const char *n4j_bolt_strerror(int rc);

/* ---- connection ------------------------------------------------------------------ */

/*
 * No default: the zero value is refused (N4J_EINVAL), so a config that forgot to choose
 * can never silently talk plaintext. The operator passes VERIFY_FULL when the cluster
 * has TLS and NONE only when it has none.
 */
enum n4j_bolt_tls {
	N4J_BOLT_TLS_UNSET = 0,   /* refused: the caller must choose */
	N4J_BOLT_TLS_NONE,        /* bolt://: plaintext, chosen explicitly */
	N4J_BOLT_TLS_VERIFY_FULL, /* bolt+s://: chain (ca_file or system store) and name */
	N4J_BOLT_TLS_SELF_SIGNED, /* bolt+ssc://: encrypt, trust anything */
};

enum n4j_bolt_state {
	N4J_BOLT_DISCONNECTED,
	N4J_BOLT_CONNECTED,
	N4J_BOLT_AUTHENTICATION,
	N4J_BOLT_READY,
	N4J_BOLT_STREAMING,
	N4J_BOLT_TX_READY,
	N4J_BOLT_TX_STREAMING,
	N4J_BOLT_FAILED,
	N4J_BOLT_DEFUNCT,
};

struct n4j_bolt_config {
	const char *address;         /* "host:port" to dial: an IP or a name */
	const char *tls_host;        /* name to verify and send as SNI; NULL = host of address */
	enum n4j_bolt_tls tls;       /* required: UNSET is refused */
	const char *ca_file;         /* PEM for N4J_BOLT_TLS_VERIFY_FULL; NULL = system store */
	const char *user;            /* NULL = scheme "none" */
	const char *password;        /* borrowed; never logged or copied into errors */
	const char *user_agent;      /* default "neo4j-operator/0.1" */
	const char *routing_address; /* non-NULL: HELLO carries routing {"address": this} */
	uint16_t max_version;        /* 0 = 5.8 */
	int connect_timeout_ms;      /* TCP + TLS + handshake; default 5000 */
	int auth_timeout_ms;         /* HELLO/LOGON; default 10000 */
	int io_timeout_ms;           /* max silence while waiting for a reply; default 30000,
				     or the server's recv_timeout hint + 2 s if smaller */
	struct n4j_bolt_failure *failure; /* optional: receives the FAILURE (auth...) when
					     n4j_bolt_open fails with N4J_EBOLT_FAILURE */
};

struct n4j_bolt_conn;

int n4j_bolt_open(const struct n4j_bolt_config *cfg, struct n4j_bolt_conn **out,
		  struct n4j_error *err);
/* Sends GOODBYE when the connection is usable, closes and frees. NULL is fine. */
void n4j_bolt_close(struct n4j_bolt_conn *c);

enum n4j_bolt_state n4j_bolt_state(const struct n4j_bolt_conn *c);
uint16_t n4j_bolt_version(const struct n4j_bolt_conn *c);
const char *n4j_bolt_server_agent(const struct n4j_bolt_conn *c); /* "Neo4j/5.26.0" */
const char *n4j_bolt_address(const struct n4j_bolt_conn *c);
/* The last FAILURE received (valid after N4J_EBOLT_FAILURE). */
const struct n4j_bolt_failure *n4j_bolt_last_failure(const struct n4j_bolt_conn *c);
/* Overrides io_timeout_ms for later requests (e.g. for WAIT commands). */
void n4j_bolt_set_timeout(struct n4j_bolt_conn *c, int io_timeout_ms);

/* A fully read result. Everything lives in `arena` (the caller's). */
struct n4j_bolt_result {
	uint32_t nfields;
	const char **fields;
	size_t nrows;
	struct n4j_bolt_value *rows;   /* each a LIST of nfields values */
	struct n4j_bolt_value summary; /* the final SUCCESS metadata (MAP) */
	const char *bookmark;          /* NULL if none */
};
/* Column index by name, -1 if absent. */
int n4j_bolt_field(const struct n4j_bolt_result *r, const char *name);

struct n4j_bolt_query {
	const char *db; /* NULL = home database */
	const char *text;
	const struct n4j_bolt_value *params; /* MAP or NULL */
	const char *const *bookmarks;        /* NULL-terminated or NULL */
	bool read;                           /* mode "r" */
	int64_t tx_timeout_ms;               /* 0 = server default */
};

/*
 * Auto-commit query (READY) or a statement in an explicit transaction (TX_READY):
 * pipelines RUN+PULL {n:-1} (or PULL {n, qid} inside a transaction) and reads every row.
 * On FAILURE the connection is FAILED: call n4j_bolt_reset before reuse.
 */
int n4j_bolt_query(struct n4j_bolt_conn *c, struct n4j_arena *a, const struct n4j_bolt_query *q,
		   struct n4j_bolt_result *res, struct n4j_error *err);

/* Lower level: RUN, then PULL/DISCARD batches of n rows (-1 = all) for qid (-1 = last). */
int n4j_bolt_run(struct n4j_bolt_conn *c, struct n4j_arena *a, const struct n4j_bolt_query *q,
		 struct n4j_bolt_value *meta, struct n4j_error *err);
/* Appends up to n rows to res->rows (res zeroed before the first call); *has_more set. */
int n4j_bolt_pull(struct n4j_bolt_conn *c, struct n4j_arena *a, int64_t n, int64_t qid,
		  struct n4j_bolt_result *res, bool *has_more, struct n4j_error *err);
int n4j_bolt_discard(struct n4j_bolt_conn *c, struct n4j_arena *a, int64_t n, int64_t qid,
		     bool *has_more, struct n4j_error *err);

int n4j_bolt_begin(struct n4j_bolt_conn *c, const struct n4j_bolt_query *opts,
		   struct n4j_error *err); /* db, bookmarks, read, tx_timeout used */
int n4j_bolt_commit(struct n4j_bolt_conn *c, struct n4j_arena *a, const char **bookmark,
		    struct n4j_error *err);
int n4j_bolt_rollback(struct n4j_bolt_conn *c, struct n4j_error *err);
/* RESET: from any live state back to READY. FAILURE/IGNORED to RESET = DEFUNCT. */
int n4j_bolt_reset(struct n4j_bolt_conn *c, struct n4j_error *err);
int n4j_bolt_logoff(struct n4j_bolt_conn *c, struct n4j_error *err);
/* LOGON again after LOGOFF (5.1+). */
int n4j_bolt_logon(struct n4j_bolt_conn *c, const char *user, const char *password,
		   struct n4j_error *err);

/* ---- routing ------------------------------------------------------------------------ */

#define N4J_BOLT_RT_MAX 32
struct n4j_bolt_route_table {
	int64_t ttl;
	char db[64];
	size_t nwriters, nreaders, nrouters;
	char writers[N4J_BOLT_RT_MAX][256];
	char readers[N4J_BOLT_RT_MAX][256];
	char routers[N4J_BOLT_RT_MAX][256];
};
/* ROUTE {address} [bookmarks] {db}; needs a connection opened with routing_address. */
int n4j_bolt_route(struct n4j_bolt_conn *c, const char *db, const char *const *bookmarks,
		   struct n4j_bolt_route_table *rt, struct n4j_error *err);

/* ---- retry ------------------------------------------------------------------------- */

struct n4j_bolt_retry {
	int initial_ms;  /* default 500 */
	int max_ms;      /* cap per delay; default 10000 */
	int deadline_ms; /* overall; default 60000 */
	double jitter;   /* +-fraction; default 0.2 */
};
/* Pure: delay before attempt (0-based) given r01 in [0,1). */
int n4j_bolt_retry_delay_ms(const struct n4j_bolt_retry *p, int attempt, double r01);
/*
 * Calls fn until it returns 0, a non-retryable error, or the deadline passes (the last
 * error is returned). fn's *cls says how to treat a failure: RETRYABLE backs off,
 * REROUTE retries at once the first time (then backs off); anything else stops.
 */
int n4j_bolt_with_retry(const struct n4j_bolt_retry *p,
			int (*fn)(void *ctx, enum n4j_bolt_class *cls, struct n4j_error *err),
			void *ctx, struct n4j_error *err);

/* ---- cluster handle: system leader, re-routing, pool --------------------------------- */

/* Maps an advertised "host:port" to the "ip:port" to dial; returns 0 or an error.
 * The TLS name stays the advertised host (DESIGN 8.14). */
typedef int (*n4j_bolt_resolver)(void *ctx, const char *advertised, char *out, size_t outlen);

struct n4j_bolt_cluster_config {
	struct n4j_bolt_config base; /* tls, ca_file, user, password, timeouts */
	const char *const *seeds;    /* advertised "host:port" of members, NULL-terminated */
	n4j_bolt_resolver resolve;   /* NULL = dial advertised addresses as they are */
	void *resolve_ctx;
	struct n4j_bolt_retry retry;
	int pool_max_idle; /* per address; default 2 */
	int idle_max_ms;   /* default 60000 */
	int life_max_ms;   /* default 3600000 */
};

struct n4j_bolt_cluster;
int n4j_bolt_cluster_new(const struct n4j_bolt_cluster_config *cfg, struct n4j_bolt_cluster **out,
			 struct n4j_error *err);
void n4j_bolt_cluster_free(struct n4j_bolt_cluster *cl);

/* Connection from the pool (or new) to an advertised address; give it back with put. */
int n4j_bolt_cluster_get(struct n4j_bolt_cluster *cl, const char *advertised,
			 struct n4j_bolt_conn **out, struct n4j_error *err);
/* Returns a connection: kept if READY (after RESET if needed), else closed. */
void n4j_bolt_cluster_put(struct n4j_bolt_cluster *cl, struct n4j_bolt_conn *c);

/* The current `system` leader's advertised address (ROUTE on a seed; cached for ttl). */
int n4j_bolt_cluster_leader(struct n4j_bolt_cluster *cl, char *out, size_t outlen,
			    struct n4j_error *err);
/* Forget the cached routing table (after NotALeader or a lost writer). */
void n4j_bolt_cluster_invalidate(struct n4j_bolt_cluster *cl);
/*
 * Runs an auto-commit query on the system leader (q->db is forced to "system" unless set),
 * re-routing on NotALeader and retrying retryable errors under cfg.retry. The last
 * bookmark is kept and sent with later requests. Rows live in a.
 */
int n4j_bolt_cluster_query(struct n4j_bolt_cluster *cl, struct n4j_arena *a,
			   const struct n4j_bolt_query *q, struct n4j_bolt_result *res,
			   struct n4j_error *err);
/* The failure of the last n4j_bolt_cluster_query (valid after N4J_EBOLT_FAILURE). */
void n4j_bolt_cluster_last_failure(struct n4j_bolt_cluster *cl, struct n4j_bolt_failure *f);

#endif
