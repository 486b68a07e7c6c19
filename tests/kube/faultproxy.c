/*
 * faultproxy: a small TLS-terminating HTTP/1.1 reverse proxy for the transport tests. It
 * forwards each request (one per connection) to the test apiserver and injects faults on
 * command. Start: faultproxy UPSTREAM_PORT CERT KEY CA → prints "READY <port> <ctlport>".
 * Control: connect to ctlport, send one line, read one line ("ok" or an answer):
 *   fail STATUS COUNT RETRY_AFTER_S [MATCH]   next COUNT requests (containing MATCH in the
 *                                             request line) answer STATUS; -1: no Retry-After
 *   gone COUNT             next COUNT watches get a 200 with an ERROR event (410 Expired)
 *   gonecontinue COUNT     next COUNT requests with continue= answer 410 Expired
 *   cut COUNT BYTES        next COUNT watches are cut in the middle of an event after BYTES
 *   cutlist COUNT BYTES    next COUNT other GETs: the body is cut after exactly BYTES
 *   delay MS COUNT         next COUNT requests wait MS first
 *   count                  "<requests> <watches> <faults>"
 *   reset                  forget faults and counters
 * The upstream is asked with HTTP/1.0 so that streamed bodies end with the connection; the
 * proxy re-chunks them, which lets it cut a stream at a chosen byte.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
	int fail_status, fail_count, fail_retry_after;
	char fail_match[128];
	int gone_count, gonecont_count, cut_count, cutlist_count;
	long cut_bytes, cutlist_bytes;
	int delay_ms, delay_count;
	long requests, watches, faults;
} st;

static SSL_CTX *server_ctx, *client_ctx;
static int upstream_port;

static int listen_on(int *port)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	int one = 1;
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	if (bind(s, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(s, 64) != 0)
		return -1;
	socklen_t len = sizeof(a);
	getsockname(s, (struct sockaddr *)&a, &len);
	*port = ntohs(a.sin_port);
	return s;
}

static int ssl_write_all(SSL *s, const void *buf, size_t len)
{
	const char *p = buf;
	while (len > 0) {
		int n = SSL_write(s, p, (int)len);
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int ssl_printf(SSL *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int ssl_printf(SSL *s, const char *fmt, ...)
{
	char buf[4096];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return -1;
	return ssl_write_all(s, buf, (size_t)n);
}

/* Reads up to the end of the header block; *extra gets what came after it. */
static int read_head(SSL *s, char *buf, size_t cap, size_t *len, size_t *head_len)
{
	*len = 0;
	for (;;) {
		if (*len >= cap - 1)
			return -1;
		int n = SSL_read(s, buf + *len, (int)(cap - 1 - *len));
		if (n <= 0)
			return -1;
		*len += (size_t)n;
		buf[*len] = '\0';
		char *e = strstr(buf, "\r\n\r\n");
		if (e) {
			*head_len = (size_t)(e - buf) + 4;
			return 0;
		}
	}
}

static int chunk(SSL *s, const char *data, size_t n)
{
	if (n == 0)
		return 0;
	if (ssl_printf(s, "%zx\r\n", n) || ssl_write_all(s, data, n) || ssl_write_all(s, "\r\n", 2))
		return -1;
	return 0;
}

static void status_reply(SSL *c, int code, const char *reason, int retry_after)
{
	char body[512];
	int n = snprintf(body, sizeof(body),
			 "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":"
			 "\"Failure\",\"message\":\"injected by faultproxy\",\"reason\":\"%s\","
			 "\"code\":%d}",
			 reason, code);
	char ra[64] = "";
	if (retry_after >= 0)
		snprintf(ra, sizeof(ra), "Retry-After: %d\r\n", retry_after);
	ssl_printf(c,
		   "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
		   "Audit-Id: faultproxy-%d\r\n%sConnection: close\r\n\r\n",
		   code, reason, n, code, ra);
	ssl_write_all(c, body, (size_t)n);
}

static SSL *connect_upstream(int *fd_out)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons((uint16_t)upstream_port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		close(fd);
		return NULL;
	}
	SSL *u = SSL_new(client_ctx);
	SSL_set_fd(u, fd);
	X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(u), "127.0.0.1");
	if (SSL_connect(u) != 1) {
		SSL_free(u);
		close(fd);
		return NULL;
	}
	*fd_out = fd;
	return u;
}

static bool skip_header(const char *line, size_t n)
{
	static const char *drop[] = {"connection:", "keep-alive:",      "transfer-encoding:",
				     "expect:",     "accept-encoding:", "proxy-connection:"};
	for (size_t i = 0; i < sizeof(drop) / sizeof(drop[0]); i++)
		if (n >= strlen(drop[i]) && strncasecmp(line, drop[i], strlen(drop[i])) == 0)
			return true;
	return false;
}

static void *serve(void *arg)
{
	int fd = (int)(intptr_t)arg;
	SSL *c = SSL_new(server_ctx);
	SSL_set_fd(c, fd);
	static __thread char buf[1 << 16];
	size_t len = 0, hl = 0;
	SSL *u = NULL;
	int ufd = -1;
	if (SSL_accept(c) != 1 || read_head(c, buf, sizeof(buf), &len, &hl) != 0)
		goto out;
	char reqline[1024];
	size_t rl = strcspn(buf, "\r\n");
	snprintf(reqline, sizeof(reqline), "%.*s", (int)(rl < 1000 ? rl : 1000), buf);
	bool watch = strstr(reqline, "watch=true") != NULL;
	bool cont = strstr(reqline, "continue=") != NULL;
	int fail = 0, fail_ra = -1, delay = 0;
	bool gone = false, gonecont = false, cut = false, cut_exact = false;
	long cut_bytes = 0;
	pthread_mutex_lock(&mu);
	st.requests++;
	st.watches += watch;
	if (st.fail_count > 0 && (!st.fail_match[0] || strstr(reqline, st.fail_match))) {
		st.fail_count--;
		fail = st.fail_status;
		fail_ra = st.fail_retry_after;
	} else if (watch && st.gone_count > 0) {
		st.gone_count--;
		gone = true;
	} else if (cont && st.gonecont_count > 0) {
		st.gonecont_count--;
		gonecont = true;
	} else if (watch && st.cut_count > 0) {
		st.cut_count--;
		cut = true;
		cut_bytes = st.cut_bytes;
	} else if (!watch && st.cutlist_count > 0 && strncmp(reqline, "GET ", 4) == 0) {
		st.cutlist_count--;
		cut = cut_exact = true;
		cut_bytes = st.cutlist_bytes;
	}
	if (st.delay_count > 0) {
		st.delay_count--;
		delay = st.delay_ms;
	}
	st.faults += fail || gone || gonecont || cut;
	pthread_mutex_unlock(&mu);
	if (delay > 0) {
		struct timespec ts = {delay / 1000, (delay % 1000) * 1000000L};
		nanosleep(&ts, NULL);
	}
	if (fail) {
		status_reply(c, fail, fail == 429 ? "TooManyRequests" : "InternalError", fail_ra);
		goto out;
	}
	if (gonecont) {
		status_reply(c, 410, "Expired", -1);
		goto out;
	}
	if (gone) {
		const char *ev =
			"{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"apiVersion\":"
			"\"v1\",\"metadata\":{},\"status\":\"Failure\",\"message\":\"too "
			"old resource version: 1 (2)\",\"reason\":\"Expired\",\"code\":410}}\n";
		ssl_printf(c,
			   "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding:"
			   " chunked\r\nConnection: close\r\n\r\n");
		chunk(c, ev, strlen(ev));
		ssl_write_all(c, "0\r\n\r\n", 5);
		goto out;
	}
	/* Request body (Content-Length only: the client never chunks requests). */
	long clen = 0;
	for (char *p = strstr(buf, "\r\n"); p && p < buf + hl; p = strstr(p + 2, "\r\n"))
		if (strncasecmp(p + 2, "content-length:", 15) == 0)
			clen = strtol(p + 17, NULL, 10);
	char *body = malloc((size_t)clen + 1);
	size_t have = len - hl;
	if (!body || clen < 0 || (long)have > clen)
		goto out;
	memcpy(body, buf + hl, have);
	while ((long)have < clen) {
		int n = SSL_read(c, body + have, (int)((size_t)clen - have));
		if (n <= 0) {
			free(body);
			goto out;
		}
		have += (size_t)n;
	}
	u = connect_upstream(&ufd);
	if (!u) {
		free(body);
		status_reply(c, 502, "BadGateway", -1);
		goto out;
	}
	/* Request line with HTTP/1.0, headers minus hop-by-hop ones. */
	char *sp = strrchr(reqline, ' ');
	if (sp)
		*sp = '\0';
	ssl_printf(u, "%s HTTP/1.0\r\n", reqline);
	for (char *p = strstr(buf, "\r\n") + 2; p < buf + hl - 2;) {
		char *e = strstr(p, "\r\n");
		if (!skip_header(p, (size_t)(e - p))) {
			ssl_write_all(u, p, (size_t)(e - p));
			ssl_write_all(u, "\r\n", 2);
		}
		p = e + 2;
	}
	ssl_write_all(u, "Connection: close\r\n\r\n", 21);
	ssl_write_all(u, body, (size_t)clen);
	free(body);
	/* Response head. */
	if (read_head(u, buf, sizeof(buf), &len, &hl) != 0)
		goto out;
	bool has_len = false;
	char *first = strstr(buf, "\r\n");
	char *status_rest = strchr(buf, ' ');
	if (!first || !status_rest || status_rest > first)
		goto out;
	ssl_printf(c, "HTTP/1.1 %.*s\r\n", (int)(first - status_rest - 1), status_rest + 1);
	for (char *p = first + 2; p < buf + hl - 2;) {
		char *e = strstr(p, "\r\n");
		if (strncasecmp(p, "content-length:", 15) == 0)
			has_len = true;
		if (!skip_header(p, (size_t)(e - p))) {
			ssl_write_all(c, p, (size_t)(e - p));
			ssl_write_all(c, "\r\n", 2);
		}
		p = e + 2;
	}
	ssl_printf(c, "%sConnection: close\r\n\r\n",
		   has_len ? "" : "Transfer-Encoding: chunked\r\n");
	long sent = 0;
	size_t extra = len - hl;
	char *data = buf + hl;
	for (;;) {
		if (extra > 0) {
			if (cut_exact && sent + (long)extra > cut_bytes) {
				/* The body up to cut_bytes, then the connection goes away. */
				if (cut_bytes > sent)
					chunk(c, data, (size_t)(cut_bytes - sent));
				goto out;
			}
			if (cut && !cut_exact && sent >= cut_bytes && extra >= 2) {
				/* Half of this event, then the connection goes away. */
				chunk(c, data, extra / 2);
				goto out;
			}
			if (has_len ? ssl_write_all(c, data, extra) : chunk(c, data, extra))
				goto out;
			sent += (long)extra;
		}
		int n = SSL_read(u, buf, sizeof(buf));
		if (n <= 0)
			break;
		data = buf;
		extra = (size_t)n;
	}
	if (!has_len)
		ssl_write_all(c, "0\r\n\r\n", 5);
out:
	if (u) {
		SSL_free(u);
		close(ufd);
	}
	SSL_shutdown(c);
	SSL_free(c);
	close(fd);
	return NULL;
}

static void *control(void *arg)
{
	int ls = (int)(intptr_t)arg;
	for (;;) {
		int fd = accept(ls, NULL, NULL);
		if (fd < 0)
			continue;
		char line[512];
		ssize_t n = read(fd, line, sizeof(line) - 1);
		line[n > 0 ? n : 0] = '\0';
		char out[128] = "ok\n";
		int a = 0, b = 0, c = 0;
		char m[128] = "";
		pthread_mutex_lock(&mu);
		if (sscanf(line, "fail %d %d %d %127s", &a, &b, &c, m) >= 3) {
			st.fail_status = a;
			st.fail_count = b;
			st.fail_retry_after = c;
			snprintf(st.fail_match, sizeof(st.fail_match), "%s", m);
		} else if (sscanf(line, "gonecontinue %d", &a) == 1) {
			st.gonecont_count = a;
		} else if (sscanf(line, "gone %d", &a) == 1) {
			st.gone_count = a;
		} else if (sscanf(line, "cutlist %d %d", &a, &b) == 2) {
			st.cutlist_count = a;
			st.cutlist_bytes = b;
		} else if (sscanf(line, "cut %d %d", &a, &b) == 2) {
			st.cut_count = a;
			st.cut_bytes = b;
		} else if (sscanf(line, "delay %d %d", &a, &b) == 2) {
			st.delay_ms = a;
			st.delay_count = b;
		} else if (strncmp(line, "count", 5) == 0) {
			snprintf(out, sizeof(out), "%ld %ld %ld\n", st.requests, st.watches,
				 st.faults);
		} else if (strncmp(line, "reset", 5) == 0) {
			memset(&st, 0, sizeof(st));
		} else {
			snprintf(out, sizeof(out), "error: unknown command\n");
		}
		pthread_mutex_unlock(&mu);
		if (write(fd, out, strlen(out)) < 0)
			perror("faultproxy: control write");
		close(fd);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: faultproxy UPSTREAM_PORT CERT KEY CA\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	upstream_port = atoi(argv[1]);
	server_ctx = SSL_CTX_new(TLS_server_method());
	client_ctx = SSL_CTX_new(TLS_client_method());
	if (SSL_CTX_use_certificate_chain_file(server_ctx, argv[2]) != 1 ||
	    SSL_CTX_use_PrivateKey_file(server_ctx, argv[3], SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_load_verify_locations(client_ctx, argv[4], NULL) != 1) {
		ERR_print_errors_fp(stderr);
		return 1;
	}
	SSL_CTX_set_verify(client_ctx, SSL_VERIFY_PEER, NULL);
	int port = 0, cport = 0;
	int ls = listen_on(&port), cs = listen_on(&cport);
	if (ls < 0 || cs < 0) {
		perror("faultproxy: listen");
		return 1;
	}
	pthread_t t;
	pthread_create(&t, NULL, control, (void *)(intptr_t)cs);
	printf("READY %d %d\n", port, cport);
	fflush(stdout);
	for (;;) {
		int fd = accept(ls, NULL, NULL);
		if (fd < 0)
			continue;
		pthread_attr_t at;
		pthread_attr_init(&at);
		pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
		if (pthread_create(&t, &at, serve, (void *)(intptr_t)fd) != 0)
			close(fd);
		pthread_attr_destroy(&at);
	}
}
