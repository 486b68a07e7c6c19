/*
 * The logger of every layer: one line per record, JSON lines by default
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
#ifndef N4J_UTIL_LOG_H
#define N4J_UTIL_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

#endif
