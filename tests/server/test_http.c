/*
 * The server on 127.0.0.1:0, spoken to over real sockets: /metrics (Content-Type, the
 * process families and the collect function's, HEAD without a body), /healthz from the
 * health function, /readyz before and after set_ready and after it is cleared, 405 with
 * Allow for POST, 404 for an unknown path and for a path of the other listener, 400 for
 * garbage, 431 for a header beyond max_header_bytes and the server serving afterwards, a
 * silent client closed by the per-connection timeout, concurrent scrapers, one listener
 * when both addresses are equal, "0" disabling, and bind errors.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "check.h"
#include "server/server.h"

static atomic_bool healthy_flag = true;
static atomic_int collects;

static void collect(void *ud, struct n4j_metrics_writer *w)
{
	(void)ud;
	atomic_fetch_add(&collects, 1);
	n4j_metrics_family(w, "test_things_total", N4J_COUNTER, "Things.");
	n4j_metrics_sample(w, (const char *[]){"kind", "a", NULL}, 42);
	/* Big enough to need several writes (and lws' buffering of a partial one). */
	n4j_metrics_family(w, "test_padding", N4J_GAUGE, "Padding.");
	for (int i = 0; i < 3000; i++) {
		char v[16];
		snprintf(v, sizeof(v), "%d", i);
		n4j_metrics_sample(w, (const char *[]){"i", v, NULL}, i);
	}
}

static bool healthy(void *ud, char *why, size_t len)
{
	(void)ud;
	if (atomic_load(&healthy_flag))
		return true;
	snprintf(why, len, "main loop stalled for 12 s");
	return false;
}

struct reply {
	int status;
	bool reset; /* the read ended in ECONNRESET, not a clean end of stream */
	char *raw;  /* whole response, NUL-terminated */
	const char *body;
	size_t len;
};

static void reply_free(struct reply *r)
{
	free(r->raw);
	memset(r, 0, sizeof(*r));
}

static int dial(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	struct timeval tv = {.tv_sec = 20};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Sends req (len bytes) and reads the response until the server closes. */
static int exchange(int port, const char *req, size_t len, struct reply *r)
{
	memset(r, 0, sizeof(*r));
	int fd = dial(port);
	if (fd < 0)
		return -1;
	size_t off = 0;
	while (off < len) {
		ssize_t n = send(fd, req + off, len - off, MSG_NOSIGNAL);
		if (n <= 0)
			break; /* the server may answer (431) before taking everything */
		off += (size_t)n;
	}
	struct n4j_buf b;
	n4j_buf_init(&b);
	char buf[8192];
	ssize_t n;
	while ((n = recv(fd, buf, sizeof(buf), 0)) > 0)
		n4j_buf_append(&b, buf, (size_t)n);
	r->reset = n < 0 && errno == ECONNRESET;
	close(fd);
	r->raw = n4j_buf_detach(&b, &r->len);
	if (!r->raw)
		return -1;
	if (sscanf(r->raw, "HTTP/1.1 %d", &r->status) != 1)
		return -1;
	const char *sep = strstr(r->raw, "\r\n\r\n");
	r->body = sep ? sep + 4 : "";
	return 0;
}

static int get(int port, const char *method, const char *path, struct reply *r)
{
	char req[512];
	int n = snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: x\r\nUser-Agent: t\r\n\r\n",
			 method, path);
	return exchange(port, req, (size_t)n, r);
}

/* The value of header name (case as sent) in r, or NULL; points into a static copy. */
static const char *header(const struct reply *r, const char *name)
{
	static char v[256];
	char needle[64];
	snprintf(needle, sizeof(needle), "\r\n%s: ", name);
	const char *p = strstr(r->raw, needle);
	const char *end = r->body ? r->body : r->raw + r->len;
	if (!p || p > end)
		return NULL;
	p += strlen(needle);
	size_t n = strcspn(p, "\r");
	snprintf(v, sizeof(v), "%.*s", (int)n, p);
	return v;
}

struct scrape_arg {
	int port;
	int ok;
};

static void *scraper(void *arg)
{
	struct scrape_arg *a = arg;
	for (int i = 0; i < 10; i++) {
		struct reply r;
		if (get(a->port, "GET", "/metrics", &r) == 0 && r.status == 200 &&
		    strstr(r.body, "test_things_total{kind=\"a\"} 42\n"))
			a->ok++;
		reply_free(&r);
	}
	return NULL;
}

static void test_two_listeners(void)
{
	struct n4j_server_opts o = {
		.metrics_addr = "127.0.0.1:0",
		.health_addr = "127.0.0.1:0",
		.collect = collect,
		.healthy = healthy,
		.timeout_s = 2,
	};
	/* Different strings, two listeners: the health one given as "[::1]"-free IPv4 too. */
	o.health_addr = "127.0.0.1:0 ";
	struct n4j_server *s = NULL;
	struct n4j_error err = {0};
	CHECK(n4j_server_start(&o, &s, &err) != 0); /* a stray space is no port */
	o.health_addr = "[127.0.0.1]:0";
	CHECK_MSG(n4j_server_start(&o, &s, &err) == 0, "start: %s", err.msg);
	if (!s)
		return;
	int mp = n4j_server_port(s, 0), hp = n4j_server_port(s, 1);
	CHECK_MSG(mp > 0 && hp > 0 && mp != hp, "ports %d %d", mp, hp);

	struct reply r;
	CHECK(get(mp, "GET", "/metrics", &r) == 0);
	CHECK_INT(r.status, 200);
	CHECK_STR(header(&r, "Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
	CHECK_HAS(r.body, "# TYPE process_resident_memory_bytes gauge\n");
	CHECK_HAS(r.body, "# TYPE test_things_total counter\ntest_things_total{kind=\"a\"} 42\n");
	CHECK_HAS(r.body, "test_padding{i=\"2999\"} 2999\n");
	/* process_* come first, then the caller's families. */
	CHECK(strstr(r.body, "process_open_fds") < strstr(r.body, "test_things_total"));
	const char *cl = header(&r, "Content-Length");
	CHECK_MSG(cl && (size_t)atol(cl) == strlen(r.body), "Content-Length %s, body %zu",
		  cl ? cl : "-", strlen(r.body));
	size_t full = strlen(r.body);
	reply_free(&r);

	CHECK(get(mp, "HEAD", "/metrics", &r) == 0);
	CHECK_INT(r.status, 200);
	CHECK_STR(r.body, "");
	cl = header(&r, "Content-Length");
	CHECK_MSG(cl && (size_t)atol(cl) + 1000 > full, "HEAD Content-Length %s", cl ? cl : "-");
	reply_free(&r);

	/* A query string does not change the path. */
	CHECK(get(mp, "GET", "/metrics?x=1", &r) == 0);
	CHECK_INT(r.status, 200);
	reply_free(&r);

	/* Each listener serves its own paths only. */
	CHECK(get(mp, "GET", "/healthz", &r) == 0);
	CHECK_INT(r.status, 404);
	reply_free(&r);
	CHECK(get(hp, "GET", "/metrics", &r) == 0);
	CHECK_INT(r.status, 404);
	reply_free(&r);

	/* /healthz follows the health function. */
	CHECK(get(hp, "GET", "/healthz", &r) == 0);
	CHECK_INT(r.status, 200);
	CHECK_STR(r.body, "ok\n");
	reply_free(&r);
	atomic_store(&healthy_flag, false);
	CHECK(get(hp, "GET", "/healthz", &r) == 0);
	CHECK_INT(r.status, 500);
	CHECK_HAS(r.body, "main loop stalled");
	reply_free(&r);
	atomic_store(&healthy_flag, true);

	/* /readyz: 503 until set_ready(true), 503 again after set_ready(false). */
	CHECK(get(hp, "GET", "/readyz", &r) == 0);
	CHECK_INT(r.status, 503);
	reply_free(&r);
	n4j_server_set_ready(s, true);
	CHECK(get(hp, "GET", "/readyz", &r) == 0);
	CHECK_INT(r.status, 200);
	reply_free(&r);
	n4j_server_set_ready(s, false);
	CHECK(get(hp, "GET", "/readyz", &r) == 0);
	CHECK_INT(r.status, 503);
	reply_free(&r);

	/* Methods other than GET and HEAD: 405 naming the allowed ones, also with a body. */
	const char *post = "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello";
	CHECK(exchange(mp, post, strlen(post), &r) == 0);
	CHECK_INT(r.status, 405);
	CHECK_STR(header(&r, "Allow"), "GET, HEAD");
	reply_free(&r);
	CHECK(get(hp, "DELETE", "/readyz", &r) == 0);
	CHECK_INT(r.status, 405);
	reply_free(&r);

	CHECK(get(mp, "GET", "/nope", &r) == 0);
	CHECK_INT(r.status, 404);
	reply_free(&r);
	CHECK(get(mp, "GET", "/metricsx", &r) == 0);
	CHECK_INT(r.status, 404);
	reply_free(&r);

	/* Garbage and a wrong version: 400. */
	CHECK(exchange(mp, "hello\r\n\r\n", 9, &r) == 0);
	CHECK_INT(r.status, 400);
	reply_free(&r);
	CHECK(get(mp, "GET", "/metrics HTTP/2.0\r\nX: y", &r) == 0);
	CHECK_INT(r.status, 400);
	reply_free(&r);

	/* A header far beyond 8192 bytes: 431, and the server goes on serving. Big enough
	 * that bytes are still unread when the answer is sent: the server must drain them
	 * before it closes, or the close resets the connection (and a client may lose the
	 * 431 with it). */
	size_t big = 4 << 20;
	char *req = malloc(big + 100);
	CHECK(req != NULL);
	if (req) {
		int n = snprintf(req, 100, "GET /metrics HTTP/1.1\r\nX-Big: ");
		memset(req + n, 'a', big);
		memcpy(req + n + big, "\r\n\r\n", 4);
		CHECK(exchange(mp, req, (size_t)n + big + 4, &r) == 0);
		CHECK_INT(r.status, 431);
		CHECK_MSG(!r.reset, "the 431 ends in a clean close, not a reset");
		reply_free(&r);
		/* Just under the limit still passes. */
		size_t under = 8192 - (size_t)n - 4 - 1;
		memset(req + n, 'a', under);
		memcpy(req + n + under, "\r\n\r\n", 4);
		CHECK(exchange(hp, req, (size_t)n + under + 4, &r) == 0);
		CHECK_INT(r.status, 404); /* /metrics on the health listener */
		reply_free(&r);
		free(req);
	}
	CHECK(get(mp, "GET", "/metrics", &r) == 0);
	CHECK_INT(r.status, 200);
	reply_free(&r);

	/* A client that connects and sends nothing is closed by the timeout (2 s here);
	 * the receive timeout of 20 s only keeps a broken server from hanging the test. */
	int fd = dial(hp);
	CHECK(fd >= 0);
	if (fd >= 0) {
		char c;
		ssize_t n = recv(fd, &c, 1, 0);
		CHECK_MSG(n == 0, "a silent client is closed, recv = %zd", n);
		close(fd);
	}

	/* Concurrent scrapers all get whole answers. */
	pthread_t t[6];
	struct scrape_arg a[6];
	for (int i = 0; i < 6; i++) {
		a[i] = (struct scrape_arg){.port = mp};
		pthread_create(&t[i], NULL, scraper, &a[i]);
	}
	for (int i = 0; i < 6; i++) {
		pthread_join(t[i], NULL);
		CHECK_INT(a[i].ok, 10);
	}

	/* The port is taken while this server runs. */
	char taken[32];
	snprintf(taken, sizeof(taken), "127.0.0.1:%d", mp);
	struct n4j_server_opts o2 = {.metrics_addr = taken, .health_addr = "0"};
	struct n4j_server *s2 = NULL;
	CHECK(n4j_server_start(&o2, &s2, &err) != 0 && s2 == NULL);
	CHECK_HAS(err.msg, taken);

	n4j_server_stop(s);
	/* Stopped: nothing listens any more. */
	CHECK(dial(mp) < 0);
}

static void test_one_listener(void)
{
	struct n4j_server_opts o = {
		.metrics_addr = "127.0.0.1:0",
		.health_addr = "127.0.0.1:0",
		.max_header_bytes = 1024,
	};
	struct n4j_server *s = NULL;
	struct n4j_error err = {0};
	CHECK_MSG(n4j_server_start(&o, &s, &err) == 0, "start: %s", err.msg);
	if (!s)
		return;
	int p = n4j_server_port(s, 0);
	CHECK(p > 0 && p == n4j_server_port(s, 1));
	struct reply r;
	const char *paths[] = {"/metrics", "/healthz", "/readyz"};
	int want[] = {200, 200, 503};
	for (int i = 0; i < 3; i++) {
		CHECK(get(p, "GET", paths[i], &r) == 0);
		CHECK_MSG(r.status == want[i], "%s: %d", paths[i], r.status);
		reply_free(&r);
	}
	/* No collect function: process metrics only. */
	CHECK(get(p, "GET", "/metrics", &r) == 0);
	CHECK_HAS(r.body, "process_cpu_seconds_total");
	CHECK(strstr(r.body, "test_things_total") == NULL);
	reply_free(&r);
	/* The configured limit applies. */
	char req[2048];
	int n = snprintf(req, sizeof(req), "GET /metrics HTTP/1.1\r\nX: %01500d\r\n\r\n", 0);
	CHECK(exchange(p, req, (size_t)n, &r) == 0);
	CHECK_INT(r.status, 431);
	reply_free(&r);
	n4j_server_stop(s);
}

static void test_disabled_and_bad(void)
{
	struct n4j_server *s = NULL;
	struct n4j_error err = {0};
	struct n4j_server_opts off = {.metrics_addr = "0", .health_addr = "0"};
	CHECK(n4j_server_start(&off, &s, &err) == 0 && s);
	CHECK_INT(n4j_server_port(s, 0), 0);
	CHECK_INT(n4j_server_port(s, 1), 0);
	n4j_server_set_ready(s, true);
	n4j_server_stop(s);
	n4j_server_stop(NULL);

	const char *bad[] = {"8080", "localhost:8080", "127.0.0.1:99999", "127.0.0.1:x", ":"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct n4j_server_opts o = {.metrics_addr = bad[i], .health_addr = "0"};
		s = NULL;
		CHECK_MSG(n4j_server_start(&o, &s, &err) != 0 && !s, "%s accepted", bad[i]);
	}
}

int main(void)
{
	test_two_listeners();
	test_one_listener();
	test_disabled_and_bad();
	CHECK_MSG(atomic_load(&collects) > 0, "collect called");
	CHECK_DONE();
}
