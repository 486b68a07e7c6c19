/* TCP + TLS with poll-based deadlines: non-blocking sockets, so no call can hang past
 * its deadline (a hanging server must never block an operator worker). */
#include "bolt/internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int bolt_split_address(const char *addr, char *host, size_t hostlen, char *port, size_t portlen)
{
	const char *colon;
	const char *h = addr;
	size_t hl;
	if (addr[0] == '[') {
		const char *end = strchr(addr, ']');
		if (!end || end[1] != ':')
			return N4J_EINVAL;
		h = addr + 1;
		hl = (size_t)(end - h);
		colon = end + 1;
	} else {
		colon = strrchr(addr, ':');
		if (!colon)
			return N4J_EINVAL;
		hl = (size_t)(colon - addr);
	}
	size_t pl = strlen(colon + 1);
	if (hl == 0 || hl >= hostlen || pl == 0 || pl >= portlen)
		return N4J_EINVAL;
	memcpy(host, h, hl);
	host[hl] = '\0';
	memcpy(port, colon + 1, pl + 1);
	return 0;
}

/* Waits for fd readiness until the deadline; 0, or N4J_EBOLT_TIMEOUT / N4J_EIO. */
static int wait_fd(int fd, short events, int64_t deadline, struct n4j_error *err)
{
	for (;;) {
		int64_t left = deadline - n4j_now_ms();
		if (left <= 0)
			return n4j_err(err, N4J_EBOLT_TIMEOUT, "bolt: deadline passed");
		struct pollfd p = {.fd = fd, .events = events};
		int n = poll(&p, 1, left > 1000000 ? 1000000 : (int)left);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return n4j_err(err, N4J_EIO, "bolt: poll: %s", strerror(errno));
	}
}

static int tls_errors(struct n4j_error *err, const char *what)
{
	char buf[256] = "";
	unsigned long e = ERR_get_error();
	if (e)
		ERR_error_string_n(e, buf, sizeof buf);
	ERR_clear_error();
	return n4j_err(err, N4J_EBOLT_TLS, "bolt: TLS %s failed%s%s", what, buf[0] ? ": " : "",
		       buf);
}

static int tls_setup(struct bolt_sock *s, const struct n4j_bolt_config *cfg, const char *dial_host,
		     int64_t deadline, struct n4j_error *err)
{
	s->ctx = SSL_CTX_new(TLS_client_method());
	if (!s->ctx)
		return tls_errors(err, "context");
	SSL_CTX_set_min_proto_version(s->ctx, TLS1_2_VERSION);
	if (cfg->tls == N4J_BOLT_TLS_VERIFY_FULL) {
		int ok = cfg->ca_file ? SSL_CTX_load_verify_locations(s->ctx, cfg->ca_file, NULL)
				      : SSL_CTX_set_default_verify_paths(s->ctx);
		if (ok != 1)
			return tls_errors(err, "CA loading");
		SSL_CTX_set_verify(s->ctx, SSL_VERIFY_PEER, NULL);
	} else {
		SSL_CTX_set_verify(s->ctx, SSL_VERIFY_NONE, NULL);
	}
	s->ssl = SSL_new(s->ctx);
	if (!s->ssl || SSL_set_fd(s->ssl, s->fd) != 1)
		return tls_errors(err, "session");
	/* verify the name we were told (the pod's DNS name), not the IP we dialled */
	const char *name = cfg->tls_host ? cfg->tls_host : dial_host;
	unsigned char ipbuf[16];
	bool is_ip = inet_pton(AF_INET, name, ipbuf) == 1 || inet_pton(AF_INET6, name, ipbuf) == 1;
	if (cfg->tls == N4J_BOLT_TLS_VERIFY_FULL) {
		if (is_ip) {
			if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(s->ssl), name) != 1)
				return tls_errors(err, "IP verification setup");
		} else {
			SSL_set_hostflags(s->ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
			if (SSL_set1_host(s->ssl, name) != 1)
				return tls_errors(err, "host name setup");
		}
	}
	if (!is_ip)
		SSL_set_tlsext_host_name(s->ssl, name);
	for (;;) {
		ERR_clear_error();
		int r = SSL_connect(s->ssl);
		if (r == 1)
			break;
		int e = SSL_get_error(s->ssl, r);
		int rc;
		if (e == SSL_ERROR_WANT_READ)
			rc = wait_fd(s->fd, POLLIN, deadline, err);
		else if (e == SSL_ERROR_WANT_WRITE)
			rc = wait_fd(s->fd, POLLOUT, deadline, err);
		else {
			long vr = SSL_get_verify_result(s->ssl);
			if (vr != X509_V_OK)
				return n4j_err(err, N4J_EBOLT_TLS,
					       "bolt: TLS certificate of %s not trusted: %s", name,
					       X509_verify_cert_error_string(vr));
			return tls_errors(err, "handshake");
		}
		if (rc)
			return rc == N4J_EBOLT_TIMEOUT
				       ? n4j_err(err, rc, "bolt: TLS handshake with %s timed out",
						 name)
				       : rc;
	}
	if (cfg->tls == N4J_BOLT_TLS_VERIFY_FULL && SSL_get_verify_result(s->ssl) != X509_V_OK)
		return n4j_err(err, N4J_EBOLT_TLS, "bolt: TLS certificate of %s not trusted", name);
	return 0;
}

int bolt_tls_chosen(enum n4j_bolt_tls tls, struct n4j_error *err)
{
	if (tls == N4J_BOLT_TLS_NONE || tls == N4J_BOLT_TLS_VERIFY_FULL ||
	    tls == N4J_BOLT_TLS_SELF_SIGNED)
		return 0;
	return n4j_err(err, N4J_EINVAL,
		       "bolt: TLS mode %s: choose N4J_BOLT_TLS_VERIFY_FULL, "
		       "N4J_BOLT_TLS_SELF_SIGNED or N4J_BOLT_TLS_NONE (plaintext)",
		       tls == N4J_BOLT_TLS_UNSET ? "not set" : "unknown");
}

int bolt_sock_connect(struct bolt_sock *s, const struct n4j_bolt_config *cfg, int64_t deadline,
		      struct n4j_error *err)
{
	char host[256], port[16];
	s->fd = -1;
	s->ssl = NULL;
	s->ctx = NULL;
	if (!cfg->address || bolt_split_address(cfg->address, host, sizeof host, port, sizeof port))
		return n4j_err(err, N4J_EINVAL, "bolt: address \"%s\" is not host:port",
			       cfg->address ? cfg->address : "");
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_family = AF_UNSPEC};
	struct addrinfo *res = NULL;
	int g = getaddrinfo(host, port, &hints, &res);
	if (g != 0)
		return n4j_err(err, N4J_EBOLT_CONNECT, "bolt: cannot resolve %s: %s", host,
			       gai_strerror(g));
	int rc = N4J_EBOLT_CONNECT;
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
			if (errno != EINPROGRESS) {
				rc = n4j_err(err, N4J_EBOLT_CONNECT, "bolt: connect to %s: %s",
					     cfg->address, strerror(errno));
				close(fd);
				continue;
			}
			rc = wait_fd(fd, POLLOUT, deadline, err);
			int soerr = 0;
			socklen_t sl = sizeof soerr;
			if (rc == 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 &&
			    soerr)
				rc = n4j_err(err, N4J_EBOLT_CONNECT, "bolt: connect to %s: %s",
					     cfg->address, strerror(soerr));
			else if (rc == N4J_EBOLT_TIMEOUT)
				n4j_err(err, rc, "bolt: connect to %s timed out", cfg->address);
			if (rc) {
				close(fd);
				if (rc == N4J_EBOLT_TIMEOUT)
					break;
				continue;
			}
		}
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
		s->fd = fd;
		rc = 0;
		break;
	}
	freeaddrinfo(res);
	if (rc)
		return rc;
	if (cfg->tls != N4J_BOLT_TLS_NONE) {
		rc = tls_setup(s, cfg, host, deadline, err);
		if (rc) {
			bolt_sock_close(s);
			return rc;
		}
	}
	return 0;
}

int bolt_sock_write(struct bolt_sock *s, const void *p, size_t len, int64_t deadline,
		    struct n4j_error *err)
{
	const char *c = p;
	while (len > 0) {
		ssize_t n;
		short want = POLLOUT;
		if (s->ssl) {
			ERR_clear_error();
			int r = SSL_write(s->ssl, c, len > INT32_MAX ? INT32_MAX : (int)len);
			if (r > 0) {
				n = r;
			} else {
				int e = SSL_get_error(s->ssl, r);
				if (e == SSL_ERROR_WANT_READ)
					want = POLLIN;
				else if (e != SSL_ERROR_WANT_WRITE)
					return n4j_err(err, N4J_EBOLT_CLOSED,
						       "bolt: connection lost while writing (TLS)");
				n = -1;
			}
		} else {
			/* MSG_NOSIGNAL: a closed peer must not kill the process with SIGPIPE */
			n = send(s->fd, c, len, MSG_NOSIGNAL);
			if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				return n4j_err(err, N4J_EBOLT_CLOSED,
					       "bolt: connection lost while writing: %s",
					       strerror(errno));
		}
		if (n > 0) {
			c += n;
			len -= (size_t)n;
			continue;
		}
		int rc = wait_fd(s->fd, want, deadline, err);
		if (rc)
			return rc == N4J_EBOLT_TIMEOUT
				       ? n4j_err(err, rc,
						 "bolt: write timed out (peer not reading)")
				       : rc;
	}
	return 0;
}

int bolt_sock_read(struct bolt_sock *s, void *p, size_t cap, size_t *got, int64_t deadline,
		   struct n4j_error *err)
{
	for (;;) {
		short want = POLLIN;
		if (s->ssl) {
			ERR_clear_error();
			int r = SSL_read(s->ssl, p, cap > INT32_MAX ? INT32_MAX : (int)cap);
			if (r > 0) {
				*got = (size_t)r;
				return 0;
			}
			int e = SSL_get_error(s->ssl, r);
			if (e == SSL_ERROR_WANT_WRITE)
				want = POLLOUT;
			else if (e != SSL_ERROR_WANT_READ)
				return n4j_err(err, N4J_EBOLT_CLOSED,
					       "bolt: connection lost (closed by the server)");
		} else {
			ssize_t n = recv(s->fd, p, cap, 0);
			if (n > 0) {
				*got = (size_t)n;
				return 0;
			}
			if (n == 0)
				return n4j_err(err, N4J_EBOLT_CLOSED,
					       "bolt: connection lost (closed by the server)");
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				return n4j_err(err, N4J_EBOLT_CLOSED, "bolt: connection lost: %s",
					       strerror(errno));
		}
		int rc = wait_fd(s->fd, want, deadline, err);
		if (rc)
			return rc == N4J_EBOLT_TIMEOUT
				       ? n4j_err(err, rc, "bolt: no reply from the server in time")
				       : rc;
	}
}

bool bolt_sock_dead(struct bolt_sock *s)
{
	if (s->fd < 0)
		return true;
	if (s->ssl && SSL_pending(s->ssl) > 0)
		return true; /* buffered bytes while idle: out of sync */
	struct pollfd p = {.fd = s->fd, .events = POLLIN};
	return poll(&p, 1, 0) != 0;
}

void bolt_sock_close(struct bolt_sock *s)
{
	if (s->ssl) {
		SSL_free(s->ssl);
		s->ssl = NULL;
	}
	if (s->ctx) {
		SSL_CTX_free(s->ctx);
		s->ctx = NULL;
	}
	if (s->fd >= 0) {
		close(s->fd);
		s->fd = -1;
	}
}
