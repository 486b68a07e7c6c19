/* The logger (util.h): records built in memory, written whole with one write() under a lock. */

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "util/util.h"

/* Longest value written (bytes); longer ones are cut at a character boundary. */
#define VALUE_MAX 4096

static _Atomic int cfg_level = N4J_LOG_INFO;
static _Atomic int cfg_format = N4J_LOG_JSON;
static _Atomic int cfg_fd = 2;
static pthread_mutex_t write_mu = PTHREAD_MUTEX_INITIALIZER;

void n4j_log_configure(const struct n4j_log_config *c)
{
	atomic_store(&cfg_level, (int)c->level);
	atomic_store(&cfg_format, (int)c->format);
	atomic_store(&cfg_fd, c->fd);
}

static const char *const level_names[] = {"debug", "info", "warn", "error"};
static const char *const level_text[] = {"DEBUG", "INFO", "WARN", "ERROR"};

int n4j_log_parse_level(const char *s, enum n4j_log_level *out)
{
	for (int i = 0; s && i < 4; i++) {
		if (strcmp(s, level_names[i]) == 0) {
			*out = (enum n4j_log_level)i;
			return 0;
		}
	}
	return N4J_EINVAL;
}

int n4j_log_parse_format(const char *s, enum n4j_log_format *out)
{
	if (s && strcmp(s, "json") == 0)
		*out = N4J_LOG_JSON;
	else if (s && strcmp(s, "text") == 0)
		*out = N4J_LOG_TEXT;
	else
		return N4J_EINVAL;
	return 0;
}

bool n4j_log_enabled(enum n4j_log_level level)
{
	return (int)level >= atomic_load(&cfg_level) && (int)level <= N4J_LOG_ERROR;
}

/* Length of the valid UTF-8 sequence at p (n bytes left), 0 if it is not one: overlong
 * forms, surrogates and values past U+10FFFF are invalid, as JSON parsers hold. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
	unsigned c = p[0], cp, min;
	size_t len;
	if (c < 0x80)
		return 1;
	if ((c & 0xE0) == 0xC0) {
		len = 2, cp = c & 0x1F, min = 0x80;
	} else if ((c & 0xF0) == 0xE0) {
		len = 3, cp = c & 0x0F, min = 0x800;
	} else if ((c & 0xF8) == 0xF0) {
		len = 4, cp = c & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3F);
	}
	if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return len;
}

/* Appends s escaped as the body of a JSON string (also used for quoted text values):
 * quotes, backslashes and control characters escaped, invalid UTF-8 as U+FFFD. */
static void put_escaped(struct n4j_buf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);
	bool cut = n > VALUE_MAX;
	if (cut) {
		n = VALUE_MAX;
		while (n > 0 && (p[n] & 0xC0) == 0x80)
			n--;
	}
	for (size_t i = 0; i < n;) {
		unsigned char c = p[i];
		switch (c) {
		case '"':
			n4j_buf_puts(b, "\\\"");
			break;
		case '\\':
			n4j_buf_puts(b, "\\\\");
			break;
		case '\n':
			n4j_buf_puts(b, "\\n");
			break;
		case '\r':
			n4j_buf_puts(b, "\\r");
			break;
		case '\t':
			n4j_buf_puts(b, "\\t");
			break;
		default:
			if (c < 0x20 || c == 0x7F) {
				n4j_buf_printf(b, "\\u%04x", c);
			} else if (c < 0x80) {
				n4j_buf_putc(b, (char)c);
			} else {
				size_t l = utf8_len(p + i, n - i);
				if (l == 0) {
					n4j_buf_puts(b, "\\ufffd");
				} else {
					n4j_buf_append(b, p + i, l);
					i += l;
					continue;
				}
			}
		}
		i++;
	}
	if (cut)
		n4j_buf_puts(b, "\xE2\x80\xA6"); /* … */
}

/* Keys whose values are credentials: the value is never written. */
static bool secret_key(const char *k)
{
	static const char *const words[] = {"password",      "passwd",     "secret",  "token",
					    "authorization", "credential", "private", "cookie"};
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		size_t wl = strlen(words[i]);
		for (const char *p = k; *p; p++)
			if (strncasecmp(p, words[i], wl) == 0)
				return true;
	}
	return false;
}

/* A text value goes bare when it is plain, else quoted and escaped like JSON. */
static void put_text_value(struct n4j_buf *b, const char *s)
{
	bool plain = s[0] != '\0' && strlen(s) <= VALUE_MAX;
	for (const char *p = s; plain && *p; p++)
		plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			(*p >= '0' && *p <= '9') || strchr("._-:/@+,", *p);
	if (plain) {
		n4j_buf_puts(b, s);
		return;
	}
	n4j_buf_putc(b, '"');
	put_escaped(b, s);
	n4j_buf_putc(b, '"');
}

static void put_field(struct n4j_buf *b, bool json, const struct n4j_log_field *f)
{
	const char *key = f->key && f->key[0] ? f->key : "_";
	if (json) {
		n4j_buf_puts(b, ",\"");
		put_escaped(b, key);
		n4j_buf_puts(b, "\":");
	} else {
		n4j_buf_putc(b, ' ');
		put_escaped(b, key);
		n4j_buf_putc(b, '=');
	}
	if (f->kind == N4J_LOG_F_STR && f->str && secret_key(key)) {
		n4j_buf_puts(b, json ? "\"[redacted]\"" : "[redacted]");
	} else if (f->kind == N4J_LOG_F_STR && !f->str) {
		n4j_buf_puts(b, "null");
	} else if (f->kind == N4J_LOG_F_STR) {
		if (json) {
			n4j_buf_putc(b, '"');
			put_escaped(b, f->str);
			n4j_buf_putc(b, '"');
		} else {
			put_text_value(b, f->str);
		}
	} else if (f->kind == N4J_LOG_F_BOOL) {
		n4j_buf_puts(b, f->num ? "true" : "false");
	} else {
		n4j_buf_printf(b, "%lld", (long long)f->num);
	}
}

static void write_all(int fd, const char *p, size_t len)
{
	pthread_mutex_lock(&write_mu);
	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break; /* nowhere to report a failing log sink */
		p += w;
		len -= (size_t)w;
	}
	pthread_mutex_unlock(&write_mu);
}

void n4j_log_write(enum n4j_log_level level, const char *component, const char *msg,
		   const struct n4j_log_field *fields, size_t n)
{
	if (!n4j_log_enabled(level))
		return;
	bool json = atomic_load(&cfg_format) != N4J_LOG_TEXT;
	char ts[40];
	n4j_format_time(n4j_wall_ns(), true, ts, sizeof(ts));
	if (!component)
		component = "";
	if (!msg)
		msg = "";
	struct n4j_buf b;
	n4j_buf_init(&b);
	if (json) {
		n4j_buf_printf(&b, "{\"ts\":\"%s\",\"level\":\"%s\",\"component\":\"", ts,
			       level_names[level]);
		put_escaped(&b, component);
		n4j_buf_puts(&b, "\",\"msg\":\"");
		put_escaped(&b, msg);
		n4j_buf_putc(&b, '"');
	} else {
		n4j_buf_printf(&b, "%s %-5s ", ts, level_text[level]);
		put_escaped(&b, component);
		n4j_buf_puts(&b, ": ");
		put_escaped(&b, msg);
	}
	for (size_t i = 0; i < n; i++)
		put_field(&b, json, &fields[i]);
	n4j_buf_puts(&b, json ? "}\n" : "\n");
	int fd = atomic_load(&cfg_fd);
	if (b.oom) {
		static const char oom[] = "{\"level\":\"error\",\"msg\":\"log record dropped: "
					  "out of memory\"}\n";
		write_all(fd, oom, sizeof(oom) - 1);
	} else {
		write_all(fd, b.data, b.len);
	}
	n4j_buf_free(&b);
}
