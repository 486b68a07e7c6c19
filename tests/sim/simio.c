#include "simio.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

long sim_now_ms(void)
{
	return (long)n4j_now_ms();
}

void sim_sleep_ms(long ms)
{
	n4j_sleep_ms(ms);
}

int sim_listen(const char *addr)
{
	char host[64];
	const char *colon = strrchr(addr, ':');
	if (!colon || (size_t)(colon - addr) >= sizeof host)
		return -1;
	memcpy(host, addr, (size_t)(colon - addr));
	host[colon - addr] = '\0';
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_port = htons((uint16_t)atoi(colon + 1))};
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		return -1;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, 64) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

void sconn_init(struct sconn *s, int fd, const char *name)
{
	memset(s, 0, sizeof *s);
	s->fd = fd;
	s->name = name;
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	n4j_dechunker_init(&s->dc, 0);
}

void sconn_close(struct sconn *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	n4j_dechunker_free(&s->dc);
}

static int fill(struct sconn *s, int timeout_ms)
{
	struct pollfd p = {.fd = s->fd, .events = POLLIN};
	int n = poll(&p, 1, timeout_ms);
	if (n == 0)
		return -2;
	if (n < 0)
		return -1;
	ssize_t r = recv(s->fd, s->buf, sizeof s->buf, 0);
	if (r <= 0)
		return -1;
	s->pos = 0;
	s->len = (size_t)r;
	return 0;
}

int sconn_read_exact(struct sconn *s, void *p, size_t n, int timeout_ms)
{
	uint8_t *o = p;
	while (n > 0) {
		if (s->pos == s->len) {
			int rc = fill(s, timeout_ms);
			if (rc)
				return rc;
		}
		size_t k = s->len - s->pos < n ? s->len - s->pos : n;
		memcpy(o, s->buf + s->pos, k);
		s->pos += k;
		o += k;
		n -= k;
	}
	return 0;
}

int sconn_read_handshake(struct sconn *s, uint8_t req[20], int timeout_ms)
{
	int rc = sconn_read_exact(s, req, 20, timeout_ms);
	if (rc)
		return rc;
	static const uint8_t magic[4] = {0x60, 0x60, 0xB0, 0x17};
	return memcmp(req, magic, 4) == 0 ? 0 : -1;
}

uint16_t sim_pick_version(const uint8_t req[20], uint16_t max, bool *offered_manifest)
{
	*offered_manifest = false;
	for (int i = 0; i < 4; i++) {
		const uint8_t *s = req + 4 + 4 * i;
		if (s[2] == 1 && s[3] == 0xFF) {
			*offered_manifest = true;
			continue;
		}
		for (int m = s[2]; m >= 0 && m >= s[2] - s[1]; m--) {
			uint16_t v = N4J_BOLT_V(s[3], m);
			if (v && v <= max && v != N4J_BOLT_V(5, 5))
				return v;
		}
	}
	return 0;
}

int sim_write_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n > 0) {
		ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

int sconn_write(struct sconn *s, const void *p, size_t n)
{
	return sim_write_all(s->fd, p, n);
}

void lreader_init(struct lreader *r, int fd)
{
	memset(r, 0, sizeof *r);
	r->fd = fd;
}

void lreader_free(struct lreader *r)
{
	free(r->buf);
	r->buf = NULL;
}

int lreader_next(struct lreader *r, int timeout_ms, char **line)
{
	long end = sim_now_ms() + timeout_ms;
	for (;;) {
		char *nl = r->len > r->start ? memchr(r->buf + r->start, '\n', r->len - r->start)
					     : NULL;
		if (nl) {
			*nl = '\0';
			if (nl > r->buf + r->start && nl[-1] == '\r')
				nl[-1] = '\0';
			*line = r->buf + r->start;
			r->start = (size_t)(nl - r->buf) + 1;
			return 0;
		}
		if (r->start) {
			memmove(r->buf, r->buf + r->start, r->len - r->start);
			r->len -= r->start;
			r->start = 0;
		}
		if (r->len + 4096 > r->cap) {
			if (r->cap >= SIM_LINE_MAX)
				return -1;
			size_t ncap = r->cap ? r->cap * 2 : 8192;
			char *nb = realloc(r->buf, ncap);
			if (!nb)
				return -1;
			r->buf = nb;
			r->cap = ncap;
		}
		long left = end - sim_now_ms();
		if (left <= 0)
			return -2;
		struct pollfd p = {.fd = r->fd, .events = POLLIN};
		int n = poll(&p, 1, (int)left);
		if (n == 0)
			return -2;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		ssize_t got = read(r->fd, r->buf + r->len, r->cap - r->len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return -1;
		r->len += (size_t)got;
	}
}

int sconn_recv(struct sconn *s, struct n4j_arena *a, struct n4j_bolt_value *msg, int timeout_ms)
{
	return sconn_recv_until(s, a, msg, timeout_ms, NULL, NULL);
}

int sconn_recv_until(struct sconn *s, struct n4j_arena *a, struct n4j_bolt_value *msg,
		     int timeout_ms, bool (*stop)(void *), void *ctx)
{
	long end = sim_now_ms() + timeout_ms;
	for (;;) {
		if (s->pos < s->len) {
			size_t used = 0;
			int r = n4j_dechunker_feed(&s->dc, s->buf + s->pos, s->len - s->pos, &used,
						   NULL);
			s->pos += used;
			if (r < 0)
				return -1;
			if (r == 1) {
				int rc = n4j_ps_decode_message(a, s->dc.msg.data, s->dc.msg.len,
							       msg, NULL);
				n4j_dechunker_next(&s->dc);
				return rc ? -1 : 0;
			}
		}
		/* short slices: a stopped server must drop its connections promptly */
		long left = end - sim_now_ms();
		if (left <= 0)
			return -2;
		int rc = fill(s, stop && left > 100 ? 100 : (int)left);
		if (rc == -2 && stop && stop(ctx))
			return -1;
		if (rc == -2 && sim_now_ms() < end)
			continue;
		if (rc)
			return rc;
	}
}

int sconn_send(struct sconn *s, uint8_t sig, uint8_t n, const struct n4j_bolt_value *fields)
{
	struct n4j_buf m, out;
	n4j_buf_init(&m);
	n4j_buf_init(&out);
	n4j_ps_put_struct_header(&m, sig, n);
	int rc = 0;
	for (uint8_t i = 0; i < n && !rc; i++)
		rc = n4j_ps_put_value(&m, &fields[i], NULL);
	if (!rc) {
		n4j_chunk_write(&out, m.data, m.len);
		rc = out.oom ? -1 : sconn_write(s, out.data, out.len);
	}
	n4j_buf_free(&m);
	n4j_buf_free(&out);
	return rc;
}

static const struct {
	const char *name;
	uint8_t sig;
} names[] = {
	{"HELLO", 0x01},   {"GOODBYE", 0x02},   {"RESET", 0x0F},    {"RUN", 0x10},
	{"BEGIN", 0x11},   {"COMMIT", 0x12},    {"ROLLBACK", 0x13}, {"DISCARD", 0x2F},
	{"PULL", 0x3F},    {"TELEMETRY", 0x54}, {"ROUTE", 0x66},    {"LOGON", 0x6A},
	{"LOGOFF", 0x6B},  {"SUCCESS", 0x70},   {"RECORD", 0x71},   {"IGNORED", 0x7E},
	{"FAILURE", 0x7F},
};

const char *sim_msg_name(uint8_t sig)
{
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (names[i].sig == sig)
			return names[i].name;
	return "?";
}

int sim_msg_sig(const char *name)
{
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strcmp(names[i].name, name) == 0)
			return names[i].sig;
	return -1;
}
