/* Private helpers shared by the bolt .c files. */
#ifndef N4J_BOLT_INTERNAL_H
#define N4J_BOLT_INTERNAL_H

#include "bolt/bolt.h"

#include <openssl/ssl.h>

/* Message signatures (bolt.md 5). */
enum {
	BOLT_HELLO = 0x01,
	BOLT_GOODBYE = 0x02,
	BOLT_RESET = 0x0F,
	BOLT_RUN = 0x10,
	BOLT_BEGIN = 0x11,
	BOLT_COMMIT = 0x12,
	BOLT_ROLLBACK = 0x13,
	BOLT_DISCARD = 0x2F,
	BOLT_PULL = 0x3F,
	BOLT_ROUTE = 0x66,
	BOLT_LOGON = 0x6A,
	BOLT_LOGOFF = 0x6B,
	BOLT_SUCCESS = 0x70,
	BOLT_RECORD = 0x71,
	BOLT_IGNORED = 0x7E,
	BOLT_FAILURE = 0x7F,
};

/* A socket with optional TLS and poll-based deadlines. */
struct bolt_sock {
	int fd;
	SSL_CTX *ctx;
	SSL *ssl;
};

/* 0 when tls is a mode the caller chose; N4J_EINVAL for UNSET or out of range. */
int bolt_tls_chosen(enum n4j_bolt_tls tls, struct n4j_error *err);
int bolt_sock_connect(struct bolt_sock *s, const struct n4j_bolt_config *cfg, int64_t deadline,
		      struct n4j_error *err);
/* Writes all bytes before the deadline. */
int bolt_sock_write(struct bolt_sock *s, const void *p, size_t len, int64_t deadline,
		    struct n4j_error *err);
/* Reads at least 1 byte (up to cap); 0 bytes = N4J_EBOLT_CLOSED. */
int bolt_sock_read(struct bolt_sock *s, void *p, size_t cap, size_t *got, int64_t deadline,
		   struct n4j_error *err);
void bolt_sock_close(struct bolt_sock *s);
/* True when an idle socket is readable (EOF, reset or stray bytes): not reusable. */
bool bolt_sock_dead(struct bolt_sock *s);
/* Splits "host:port" (IPv6 as [::1]:port) into host and port. */
int bolt_split_address(const char *addr, char *host, size_t hostlen, char *port, size_t portlen);

#endif
