/*
 * util: the small pieces every layer shares. No I/O here except what a caller
 * asks for explicitly (n4j_read_file, n4j_sleep_ms); no globals but the logger's
 * process-wide settings (its section at the end).
 *
 * Conventions used across the project:
 *  - functions return 0 on success or a negative N4J_E* code, and fill the
 *    caller-owned struct n4j_error with a human-readable message;
 *  - an arena owns every allocation made during one unit of work (a reconcile,
 *    a render); freeing the arena frees them all;
 *  - strings handed out as `const char *` are borrowed views.
 */
#ifndef N4J_UTIL_H
#define N4J_UTIL_H

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	N4J_OK = 0,
	N4J_EINVAL = -1, /* invalid input (a message says where) */
	N4J_ENOMEM = -2, /* allocation failed */
	N4J_EIO = -3,    /* a read or write failed */
	N4J_EPARSE = -4, /* malformed YAML or JSON */
	N4J_ENOTFOUND = -5,
	N4J_ERANGE = -6, /* a number out of range */
	N4J_ELIMIT = -7, /* input larger or deeper than allowed */
};

#define N4J_ERROR_MAX 512

struct n4j_error {
	int code;
	char msg[N4J_ERROR_MAX];
};

/* Sets err (if not NULL) and returns code, so callers can `return n4j_err(...)`. */
int n4j_err(struct n4j_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
const char *n4j_strerror(int code);

/* ---- arena ---------------------------------------------------------------- */

struct n4j_arena;

struct n4j_arena *n4j_arena_new(void);
void n4j_arena_free(struct n4j_arena *a);
/* Zeroed, 16-byte aligned; NULL on overflow or allocation failure. */
void *n4j_arena_alloc(struct n4j_arena *a, size_t size);
void *n4j_arena_calloc(struct n4j_arena *a, size_t n, size_t size);
char *n4j_arena_strdup(struct n4j_arena *a, const char *s);
char *n4j_arena_strndup(struct n4j_arena *a, const char *s, size_t n);
char *n4j_arena_printf(struct n4j_arena *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
char *n4j_arena_vprintf(struct n4j_arena *a, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
/*
 * Registers fn(ptr) to run when the arena is freed (newest first): how objects
 * from other allocators (a cJSON tree) share the arena's lifetime.
 */
int n4j_arena_on_free(struct n4j_arena *a, void (*fn)(void *), void *ptr);
/* Bytes handed out so far (for benchmarks and limits). */
size_t n4j_arena_used(const struct n4j_arena *a);

/* ---- growable byte buffer --------------------------------------------------- */

/*
 * Appends never fail loudly: on allocation failure the buffer records `oom`
 * and ignores further appends, so a caller checks once at the end.
 */
struct n4j_buf {
	char *data; /* always NUL-terminated when len > 0 or after n4j_buf_cstr */
	size_t len;
	size_t cap;
	bool oom;
};

void n4j_buf_init(struct n4j_buf *b);
void n4j_buf_free(struct n4j_buf *b);
void n4j_buf_reset(struct n4j_buf *b);
void n4j_buf_append(struct n4j_buf *b, const void *data, size_t len);
void n4j_buf_puts(struct n4j_buf *b, const char *s);
void n4j_buf_putc(struct n4j_buf *b, char c);
void n4j_buf_printf(struct n4j_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A NUL-terminated view ("" for an empty buffer); NULL only after OOM. */
const char *n4j_buf_cstr(struct n4j_buf *b);
/* Transfers ownership of the data to the caller (malloc'd); the buffer is reset. */
char *n4j_buf_detach(struct n4j_buf *b, size_t *len);

/* ---- hashing ---------------------------------------------------------------- */

#define N4J_SHA256_HEX_LEN 64
/* out receives 64 lowercase hex digits and a NUL. */
void n4j_sha256_hex(const void *data, size_t len, char out[N4J_SHA256_HEX_LEN + 1]);

/* ---- Kubernetes resource quantities ---------------------------------------- */

/*
 * A quantity ("500m", "2Gi", "1.5", "1e3") in thousandths of its unit, so that
 * CPU millicores and memory bytes (×1000) share one exact integer form.
 * Values that do not fit in int64 are N4J_ERANGE; malformed ones N4J_EINVAL.
 */
int n4j_quantity_parse(const char *s, int64_t *milli);
/* Bytes (rounded up) of a memory quantity. */
int n4j_quantity_bytes(const char *s, int64_t *bytes);

/* ---- YAML / JSON input ----------------------------------------------------- */

/* Input limits: larger or deeper documents are refused, never parsed. */
#define N4J_MAX_DOC_BYTES (4u << 20)
#define N4J_MAX_DEPTH     64

struct cJSON;

/*
 * Parses one or more YAML documents (JSON is YAML) into a cJSON array with one
 * item per non-empty document, typed as kubectl types them (sigs.k8s.io/yaml):
 * unquoted yes/no/on/off/y/n are booleans, quoted scalars always strings.
 * Anchors and aliases are refused (they make tiny inputs expand into huge
 * ones); so are documents over N4J_MAX_DOC_BYTES or nested deeper than
 * N4J_MAX_DEPTH, and duplicate keys. The result is malloc'd (cJSON_Delete).
 */
int n4j_yaml_parse(const char *buf, size_t len, struct cJSON **docs, struct n4j_error *err);

/* ---- files ------------------------------------------------------------------ */

/* Reads a whole file (or "-" for stdin) up to max bytes; malloc'd, NUL-terminated. */
int n4j_read_file(const char *path, size_t max, char **out, size_t *len, struct n4j_error *err);

/* ---- clock ------------------------------------------------------------------- */

/*
 * CLOCK_MONOTONIC: every timeout, deadline, lease and rate decision uses it, never
 * the wall clock (which jumps).
 */
int64_t n4j_now_ns(void);
int64_t n4j_now_ms(void);
/* now + timeout_ms (a negative timeout counts as 0). */
int64_t n4j_deadline_ms(int64_t timeout_ms);
/* Milliseconds until deadline_ms, 0 once it has passed. */
int64_t n4j_ms_left(int64_t deadline_ms);
/* Sleeps ms (nothing for ms <= 0), resuming after signals. */
void n4j_sleep_ms(int64_t ms);
/* Wall-clock nanoseconds since the epoch: only for timestamps written out. */
int64_t n4j_wall_ns(void);
/* "2006-01-02T15:04:05.000000Z" (micro) or "2006-01-02T15:04:05Z", UTC. */
void n4j_format_time(int64_t wall_ns, bool micro, char *out, size_t size);
/* RFC 3339 (as the apiserver writes it: "Z" or ±hh:mm, optional fraction) → seconds
 * since the epoch. Strict: false on anything else (trailing bytes, out-of-range fields). */
bool n4j_parse_time(const char *s, double *out);

/* ---- jitter, backoff, token bucket --------------------------------------------- */

/*
 * A seeded random source for jitter (splitmix64; not for anything that must be
 * unpredictable). Thread-safe: concurrent callers get distinct values. Each user
 * owns one; a fixed seed gives a fixed sequence.
 */
struct n4j_rng {
	_Atomic uint64_t state;
};
void n4j_rng_seed(struct n4j_rng *r, uint64_t seed);
uint64_t n4j_rng_next(struct n4j_rng *r);
/* Uniform in [0, 1). */
double n4j_rng_01(struct n4j_rng *r);

/*
 * Exponential backoff: min(cap_ms, base_ms × 2^attempt) × (1 + j), where j is
 * jitter_min + (jitter_max − jitter_min) × r01 and r01 in [0, 1] comes from the
 * caller (n4j_rng_01, or a constant in tests; values outside are clamped). So the
 * result lies in [d × (1 + jitter_min), d × (1 + jitter_max)]: the cap bounds the delay before
 * jitter, and symmetric jitter (−0.2, 0.2) spreads around it. Examples: kube
 * requests (0, 0.1), Bolt retries (−0.2, 0.2), informer re-watch (0, 1) as
 * client-go's wait.Jitter(…, 1.0), workqueue per-key (0, 0). Pure; no state.
 */
struct n4j_backoff {
	int64_t base_ms; /* the delay of attempt 0 (<= 0: no delay at all) */
	int64_t cap_ms;  /* at most this before jitter (below base_ms: base_ms) */
	double jitter_min, jitter_max;
};
int64_t n4j_backoff_ms(const struct n4j_backoff *b, int attempt, double r01);

/*
 * A token bucket: `rate` tokens a second up to `burst`, starting full. Time is
 * passed in (n4j_now_ms(), or a fake clock in tests). Not locked: the owner
 * locks around it. rate <= 0 means unlimited.
 */
struct n4j_bucket {
	double rate, burst, tokens;
	int64_t last_ms;
};
void n4j_bucket_init(struct n4j_bucket *b, double rate, double burst, int64_t now_ms);
/*
 * Takes a token even when none is left (the bucket goes into debt, as
 * golang.org/x/time/rate reservations do, so waiters queue fairly); returns how
 * long the caller must wait before acting, 0 when a token was there.
 */
int64_t n4j_bucket_take(struct n4j_bucket *b, int64_t now_ms);
/* Takes a token only if one is available now. */
bool n4j_bucket_try_take(struct n4j_bucket *b, int64_t now_ms);
/* How long until a token is available, without taking one. */
int64_t n4j_bucket_wait_ms(const struct n4j_bucket *b, int64_t now_ms);

/* ---- secrets ------------------------------------------------------------------ */

/*
 * Wipes that the compiler cannot remove (OPENSSL_cleanse), for tokens, passwords and
 * keys before their memory is freed or reused. NULL is fine everywhere.
 */
void n4j_wipe(void *p, size_t n);
/* Wipes a NUL-terminated string and frees it. */
void n4j_wipe_free(char *s);
/* Wipes the buffer's whole capacity, then frees it. */
void n4j_buf_wipe_free(struct n4j_buf *b);
/* Wipes every string of a cJSON tree (e.g. a parsed credential), then deletes it. */
void n4j_json_wipe_delete(struct cJSON *j);

/*
 * Logging: the logger of every layer: one line per record, JSON lines by default
 * ({"ts":…,"level":…,"component":…,"msg":…,<fields>}), or text when asked.
 *
 * Messages are constant text and data goes in typed key/value fields, never
 * formatted into the message: a value can then be escaped, bounded and, when its
 * key names a credential (password, token, secret, authorization, key material),
 * replaced by "[redacted]". Callers still pass no secrets; the redaction is the
 * last line of defence.
 *
 * Settings are process-wide and set once by main (n4j_log_configure); until then
 * records at info and above go to stderr as JSON. Thread-safe: each record is
 * built in memory and written with one write() under a lock, so lines from
 * concurrent threads never interleave.
 *
 *   n4j_log_warn("kube", "apiserver warning", N4J_STR("text", v));
 *   n4j_log_info("leader", "became leader", N4J_STR("lease", name), N4J_INT("term", n));
 */

enum n4j_log_level {
	N4J_LOG_DEBUG,
	N4J_LOG_INFO,
	N4J_LOG_WARN,
	N4J_LOG_ERROR,
};

enum n4j_log_format {
	N4J_LOG_JSON,
	N4J_LOG_TEXT,
};

struct n4j_log_config {
	enum n4j_log_level level; /* records below it are dropped */
	enum n4j_log_format format;
	int fd; /* the sink; 2 (stderr) for the operator */
};

/* Sets the process-wide settings; main calls it once, before starting threads. */
void n4j_log_configure(const struct n4j_log_config *c);
/* "debug" | "info" | "warn" | "error"; N4J_EINVAL otherwise. */
int n4j_log_parse_level(const char *s, enum n4j_log_level *out);
/* "json" | "text"; N4J_EINVAL otherwise. */
int n4j_log_parse_format(const char *s, enum n4j_log_format *out);
/* Whether a record at level would be written (to skip building costly fields). */
bool n4j_log_enabled(enum n4j_log_level level);

enum n4j_log_kind { N4J_LOG_F_STR, N4J_LOG_F_INT, N4J_LOG_F_BOOL };

struct n4j_log_field {
	const char *key;
	enum n4j_log_kind kind;
	const char *str; /* N4J_LOG_F_STR; NULL is written as null */
	int64_t num;     /* N4J_LOG_F_INT, N4J_LOG_F_BOOL */
};

#define N4J_STR(k, v)                                                                              \
	{                                                                                          \
		.key = (k), .kind = N4J_LOG_F_STR, .str = (v)                                      \
	}
#define N4J_INT(k, v)                                                                              \
	{                                                                                          \
		.key = (k), .kind = N4J_LOG_F_INT, .num = (int64_t)(v)                             \
	}
#define N4J_BOOL(k, v)                                                                             \
	{                                                                                          \
		.key = (k), .kind = N4J_LOG_F_BOOL, .num = (v) ? 1 : 0                             \
	}

/* Writes one record (if level is enabled). Values over 4 KiB are cut, marked "…". */
void n4j_log_write(enum n4j_log_level level, const char *component, const char *msg,
		   const struct n4j_log_field *fields, size_t n);

/* The leading empty element lets a call pass no fields at all (C17 has no __VA_OPT__);
 * sizeof does not evaluate the second compound literal. */
#define n4j_log(level, component, msg, ...)                                                        \
	n4j_log_write((level), (component), (msg),                                                 \
		      (const struct n4j_log_field[]){{.key = NULL}, __VA_ARGS__} + 1,              \
		      sizeof((const struct n4j_log_field[]){{.key = NULL}, __VA_ARGS__}) /         \
				      sizeof(struct n4j_log_field) -                               \
			      1)
#define n4j_log_debug(component, msg, ...) n4j_log(N4J_LOG_DEBUG, component, msg, __VA_ARGS__)
#define n4j_log_info(component, msg, ...)  n4j_log(N4J_LOG_INFO, component, msg, __VA_ARGS__)
#define n4j_log_warn(component, msg, ...)  n4j_log(N4J_LOG_WARN, component, msg, __VA_ARGS__)
#define n4j_log_error(component, msg, ...) n4j_log(N4J_LOG_ERROR, component, msg, __VA_ARGS__)

/* ---- histogram --------------------------------------------------------------- */

/*
 * A fixed-bucket latency histogram, observed from any thread without a lock (atomics),
 * read as a consistent-enough snapshot for /metrics (Prometheus tolerates a sample taken
 * mid-update: counts are monotonic). Bounds are upper bounds in seconds, ascending; the
 * +Inf bucket is implicit. Lives wherever the observation happens (kube workqueue, kube
 * client, controller); the server layer only formats snapshots.
 */
#define N4J_HIST_MAX_BUCKETS 20
struct n4j_histogram {
	size_t n;
	double bounds[N4J_HIST_MAX_BUCKETS];
	_Atomic uint64_t counts[N4J_HIST_MAX_BUCKETS + 1]; /* per bucket, not cumulative */
	_Atomic uint64_t sum_ns;
};
struct n4j_histogram_snapshot {
	size_t n;
	double bounds[N4J_HIST_MAX_BUCKETS];
	uint64_t cumulative[N4J_HIST_MAX_BUCKETS]; /* count of observations <= bounds[i] */
	uint64_t count;                            /* the +Inf bucket */
	double sum;                                /* seconds */
};
/* Bucket sets used across the operator (controller-runtime's and client-go's shapes). */
extern const double N4J_HIST_RECONCILE[]; /* 0.005 .. 60 s */
extern const size_t N4J_HIST_RECONCILE_N;
extern const double N4J_HIST_QUEUE[]; /* 1e-6 .. 100 s, x10 (workqueue) */
extern const size_t N4J_HIST_QUEUE_N;
extern const double N4J_HIST_REST[]; /* 0.005 .. 60 s (rest client) */
extern const size_t N4J_HIST_REST_N;
/* n is clamped to N4J_HIST_MAX_BUCKETS. */
void n4j_histogram_init(struct n4j_histogram *h, const double *bounds, size_t n);
void n4j_histogram_observe(struct n4j_histogram *h, double seconds);
void n4j_histogram_read(const struct n4j_histogram *h, struct n4j_histogram_snapshot *out);

#endif
