/* Server-side Bolt I/O shared by the stub and the cluster simulator: it reuses
 * src/bolt's PackStream, framing and handshake pieces so both ends share one codec. */
#ifndef N4J_SIMIO_H
#define N4J_SIMIO_H

#include "bolt/bolt.h"

#include <stdbool.h>
#include <string.h>

struct sconn {
	int fd;
	struct n4j_dechunker dc;
	uint8_t buf[16384];
	size_t pos, len;
	uint16_t version;
	const char *name; /* for logs */
};

/* Listens on "ip:port" (SO_REUSEADDR); returns the fd or -1. */
int sim_listen(const char *addr);
void sconn_init(struct sconn *s, int fd, const char *name);
void sconn_close(struct sconn *s);
/* Reads the 20-byte client handshake into req; 0, -1 on EOF/garbage, -2 on timeout. */
int sconn_read_handshake(struct sconn *s, uint8_t req[20], int timeout_ms);
/* Picks the best version of the client's slots <= max (manifest slots are skipped). */
uint16_t sim_pick_version(const uint8_t req[20], uint16_t max, bool *offered_manifest);
int sconn_write(struct sconn *s, const void *p, size_t n);
int sconn_read_exact(struct sconn *s, void *p, size_t n, int timeout_ms);
/* Reads one message: 0 ok, -1 EOF/error, -2 timeout. */
int sconn_recv(struct sconn *s, struct n4j_arena *a, struct n4j_bolt_value *msg, int timeout_ms);
/* Same, but gives up (-1) as soon as stop(ctx) is true, checked every 100 ms. */
int sconn_recv_until(struct sconn *s, struct n4j_arena *a, struct n4j_bolt_value *msg,
		     int timeout_ms, bool (*stop)(void *), void *ctx);
/* Sends a struct message with fields. */
int sconn_send(struct sconn *s, uint8_t sig, uint8_t n, const struct n4j_bolt_value *fields);
const char *sim_msg_name(uint8_t sig);
int sim_msg_sig(const char *name);
void sim_sleep_ms(long ms);
/* Writes everything (no SIGPIPE): 0 or -1. */
int sim_write_all(int fd, const void *p, size_t n);

/* Lines of the control protocol (README.md), each at most SIM_LINE_MAX bytes. */
#define SIM_LINE_MAX (1 << 20)
struct lreader {
	int fd;
	char *buf;
	size_t start, len, cap;
};
void lreader_init(struct lreader *r, int fd);
void lreader_free(struct lreader *r);
/* The next line without its end (valid until the next call): 0, -1 on EOF, error or an
 * over-long line, -2 when nothing complete arrived within timeout_ms. */
int lreader_next(struct lreader *r, int timeout_ms, char **line);
long sim_now_ms(void);

/* Bounded copy that always terminates (truncation is fine for names and messages). */
static inline void scopy(char *dst, size_t cap, const char *src)
{
	size_t n = strnlen(src, cap - 1);
	memmove(dst, src, n);
	dst[n] = '\0';
}

#endif
