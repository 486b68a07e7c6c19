/* Private: the connection struct and message helpers shared by conn*.c, route.c, pool.c. */
#ifndef N4J_BOLT_CONN_H
#define N4J_BOLT_CONN_H

#include "bolt/internal.h"

struct n4j_bolt_conn {
	struct bolt_sock sock;
	enum n4j_bolt_state state;
	uint16_t version;
	int io_timeout_ms;
	int hint_ms;    /* recv_timeout hint + 2 s, 0 if none */
	int tx_streams; /* open result streams inside a transaction */
	char address[256];
	char routing_address[256];
	char server[128];
	struct n4j_bolt_failure failure;
	struct n4j_dechunker dc;
	struct n4j_buf out;
	uint8_t rbuf[16384];
	size_t rpos, rlen;
	int64_t created_ms, used_ms;
	struct n4j_bolt_conn *next; /* pool list */
};

int64_t bolt_deadline(const struct n4j_bolt_conn *c);
void bolt_defunct(struct n4j_bolt_conn *c);
void bolt_queue(struct n4j_bolt_conn *c, uint8_t sig, uint8_t n, const struct n4j_bolt_value *f);
int bolt_flush(struct n4j_bolt_conn *c, struct n4j_error *err);
int bolt_recv(struct n4j_bolt_conn *c, struct n4j_arena *a, struct n4j_bolt_value *msg,
	      struct n4j_error *err);
/* Reads one summary: SUCCESS -> 0 (meta set), FAILURE/IGNORED -> FAILED state. */
int bolt_summary(struct n4j_bolt_conn *c, struct n4j_arena *a, struct n4j_bolt_value *meta,
		 struct n4j_error *err);

#endif
