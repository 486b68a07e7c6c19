/*
 * `n4j-clustersim member`: the process of one simulated Neo4j server (README.md, "Member
 * mode"). It reads the server's neo4j.conf (strictly validated when a settings list is
 * given), keeps Neo4j's on-disk identity in DIR, joins the daemon over its control socket
 * and proxies its Bolt and HTTP addresses to the daemon's listeners for it. Being a real
 * process is the point: SIGKILL is a crash (the control connection closes), SIGSTOP a hang
 * (heartbeats stop, its sockets accept in the kernel and nothing answers).
 */
#include "sim.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define PING_MS   100
#define REJOIN_MS 30000 /* how long a member waits for a restarted daemon */

struct opts {
	const char *control, *name, *bind, *http, *data, *conf, *password_file, *settings;
	const char *backup, *version;
};

struct conf {
	char adv_host[128], bolt_adv[192], http_adv[192];
	char sysmode[16], mode[16];
	int min, pri, sec;
	bool strict;
};

/* One line on stderr; -1. */
static int die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("n4j-clustersim member: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	return -1;
}

/* die() for member_main: the process's exit status 1. */
#define exit_die(...) (die(__VA_ARGS__), 1)

static char *trim(char *p)
{
	while (isspace((unsigned char)*p))
		p++;
	char *e = p + strlen(p);
	while (e > p && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return p;
}

/* A settings-list line: dot-separated segments, `<x>` matching any one dot-free segment. */
static bool pattern_match(const char *pat, const char *key)
{
	for (;;) {
		const char *pe = strchr(pat, '.'), *ke = strchr(key, '.');
		size_t pl = pe ? (size_t)(pe - pat) : strlen(pat);
		size_t kl = ke ? (size_t)(ke - key) : strlen(key);
		bool wild = pl >= 2 && pat[0] == '<' && pat[pl - 1] == '>';
		if (kl == 0 || (!wild && (pl != kl || strncmp(pat, key, kl) != 0)))
			return false;
		if (!pe || !ke)
			return !pe && !ke;
		pat = pe + 1;
		key = ke + 1;
	}
}

struct settings {
	char **names;
	size_t n;
};

static int load_settings(const char *path, struct settings *st)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return die("cannot read the settings list %s: %s", path, strerror(errno));
	char line[512];
	size_t cap = 0;
	while (fgets(line, sizeof line, f)) {
		char *h = strchr(line, '#');
		if (h)
			*h = '\0';
		char *t = trim(line);
		/* tests/data's lists write "NAME [enterprise]": the name is the first word */
		t[strcspn(t, " \t")] = '\0';
		if (!*t)
			continue;
		if (st->n == cap) {
			cap = cap ? cap * 2 : 256;
			char **nn = realloc(st->names, cap * sizeof *nn);
			if (!nn) {
				fclose(f);
				return die("out of memory");
			}
			st->names = nn;
		}
		if (!(st->names[st->n] = strdup(t))) {
			fclose(f);
			return die("out of memory");
		}
		st->n++;
	}
	fclose(f);
	return 0;
}

static void free_settings(struct settings *st)
{
	for (size_t i = 0; i < st->n; i++)
		free(st->names[i]);
	free(st->names);
}

static int int_setting(const char *file, const char *k, const char *v, int lo, int hi, int *out)
{
	char *e;
	long x = strtol(v, &e, 10);
	if (!*v || *e || x < lo || x > hi)
		return die("Failed to read config %s: Bad value '%s' for setting '%s': an integer "
			   "from %d to %d is expected",
			   file, v, k, lo, hi);
	*out = (int)x;
	return 0;
}

static int enum_setting(const char *file, const char *k, const char *v, const char *const *ok,
			char *out, size_t cap)
{
	for (int i = 0; ok[i]; i++)
		if (strcmp(v, ok[i]) == 0) {
			scopy(out, cap, v);
			return 0;
		}
	return die("Failed to read config %s: Bad value '%s' for setting '%s'", file, v, k);
}

/* "host", "host:port" or ":port" (Neo4j's socket address settings) over the default. */
static int address(const char *file, const char *k, const char *v, const char *host, int port,
		   char *out, size_t cap)
{
	const char *colon = strrchr(v, ':');
	int n;
	if (!colon)
		n = snprintf(out, cap, "%s:%d", *v ? v : host, port);
	else if (colon == v)
		n = snprintf(out, cap, "%s%s", host, v);
	else
		n = snprintf(out, cap, "%s", v);
	for (const char *p = out; n > 0 && *p; p++)
		if (isspace((unsigned char)*p))
			n = -1;
	if (n <= 0 || (size_t)n >= cap)
		return die("Failed to read config %s: Bad value '%s' for setting '%s'", file, v, k);
	return 0;
}

static int read_conf(const struct opts *o, struct conf *c)
{
	static const char *const sysmodes[] = {"PRIMARY", "SECONDARY", NULL};
	static const char *const modes[] = {"NONE", "PRIMARY", "SECONDARY", NULL};
	*c = (struct conf){.min = 3, .pri = 1, .sec = 0, .strict = true};
	snprintf(c->adv_host, sizeof c->adv_host, "localhost");
	snprintf(c->sysmode, sizeof c->sysmode, "PRIMARY");
	snprintf(c->mode, sizeof c->mode, "NONE");
	char bolt[192] = "", http[192] = "";
	FILE *f = fopen(o->conf, "r");
	if (!f)
		return die("cannot read the configuration %s: %s", o->conf, strerror(errno));
	struct settings st = {0};
	char unknown[256] = "";
	char line[4096];
	int rc = 0, lineno = 0;
	while (!rc && fgets(line, sizeof line, f)) {
		lineno++;
		char *t = trim(line);
		if (!*t || *t == '#')
			continue;
		char *eq = strchr(t, '=');
		if (!eq) {
			rc = die("Failed to read config %s: line %d is not key=value", o->conf,
				 lineno);
			break;
		}
		*eq = '\0';
		char *k = trim(t), *v = trim(eq + 1);
		if (strcmp(k, "server.default_advertised_address") == 0) {
			if (!*v || strpbrk(v, ": \t") || strlen(v) >= sizeof c->adv_host)
				rc = die("Failed to read config %s: Bad value '%s' for setting "
					 "'%s': a host name is expected",
					 o->conf, v, k);
			else
				scopy(c->adv_host, sizeof c->adv_host, v);
		} else if (strcmp(k, "server.bolt.advertised_address") == 0)
			scopy(bolt, sizeof bolt, v);
		else if (strcmp(k, "server.http.advertised_address") == 0)
			scopy(http, sizeof http, v);
		else if (strcmp(k, "dbms.cluster.minimum_initial_system_primaries_count") == 0)
			rc = int_setting(o->conf, k, v, 1, SIM_MAX_SERVERS, &c->min);
		else if (strcmp(k, "initial.dbms.default_primaries_count") == 0)
			rc = int_setting(o->conf, k, v, 1, 11, &c->pri);
		else if (strcmp(k, "initial.dbms.default_secondaries_count") == 0)
			rc = int_setting(o->conf, k, v, 0, 20, &c->sec);
		else if (strcmp(k, "server.cluster.system_database_mode") == 0)
			rc = enum_setting(o->conf, k, v, sysmodes, c->sysmode, sizeof c->sysmode);
		else if (strcmp(k, "initial.server.mode_constraint") == 0)
			rc = enum_setting(o->conf, k, v, modes, c->mode, sizeof c->mode);
		else if (strcmp(k, "server.config.strict_validation.enabled") == 0)
			c->strict = strcasecmp(v, "false") != 0;
		if (!unknown[0] && o->settings) {
			if (!st.names && load_settings(o->settings, &st)) {
				rc = -1;
				break;
			}
			bool known = false;
			for (size_t i = 0; i < st.n && !known; i++)
				known = pattern_match(st.names[i], k);
			if (!known)
				scopy(unknown, sizeof unknown, k);
		}
	}
	fclose(f);
	free_settings(&st);
	if (rc)
		return rc;
	/* the whole file is read first: strict validation may be switched off at its end */
	if (unknown[0] && c->strict)
		return die("Failed to read config %s: Unrecognized setting. No declared setting "
			   "with name: %s. Cleanup the config or disable "
			   "'server.config.strict_validation.enabled' to continue.",
			   o->conf, unknown);
	if (address(o->conf, "server.bolt.advertised_address", bolt, c->adv_host, 7687, c->bolt_adv,
		    sizeof c->bolt_adv) ||
	    address(o->conf, "server.http.advertised_address", http, c->adv_host, 7474, c->http_adv,
		    sizeof c->http_adv))
		return -1;
	return 0;
}

static int write_file(const char *dir, const char *name, const char *text)
{
	char tmp[4096], path[4096];
	if (snprintf(tmp, sizeof tmp, "%s/%s.tmp", dir, name) >= (int)sizeof tmp ||
	    snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path)
		return -1;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	size_t n = strlen(text);
	int rc = write(fd, text, n) == (ssize_t)n && fsync(fd) == 0 ? 0 : -1;
	if (close(fd))
		rc = -1;
	if (!rc && rename(tmp, path))
		rc = -1;
	if (rc)
		unlink(tmp);
	return rc;
}

/* The whole file (malloc'd), NULL when absent (errno ENOENT) or unreadable. */
static char *read_file(const char *dir, const char *name)
{
	char path[4096];
	if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path)
		return NULL;
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	struct n4j_buf b;
	n4j_buf_init(&b);
	char chunk[8192];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		n4j_buf_append(&b, chunk, n);
	int err = ferror(f);
	fclose(f);
	if (err || b.oom || b.len > SIM_LINE_MAX) {
		n4j_buf_free(&b);
		errno = EIO;
		return NULL;
	}
	n4j_buf_putc(&b, '\0');
	return n4j_buf_detach(&b, NULL);
}

/* Neo4j's server_id: created once, the server's identity for as long as DIR lives. */
static int server_id(const char *dir, char id[37])
{
	char *text = read_file(dir, "server_id");
	if (text) {
		char *t = trim(text);
		bool ok = strlen(t) == 36 && strspn(t, "0123456789abcdef-") == 36;
		if (ok)
			memcpy(id, t, 37);
		free(text);
		return ok ? 0 : die("%s/server_id is not a server id", dir);
	}
	if (errno != ENOENT)
		return die("cannot read %s/server_id: %s", dir, strerror(errno));
	char line[40];
	if (sim_uuid(id))
		return die("no randomness for a server id");
	snprintf(line, sizeof line, "%s\n", id);
	if (write_file(dir, "server_id", line))
		return die("cannot write %s/server_id: %s", dir, strerror(errno));
	return 0;
}

struct state_copy {
	long gen;
	char *payload; /* NULL: none (a new server, or a brand-new cluster) */
};

static int load_state(const char *dir, struct state_copy *sc)
{
	sc->gen = 0;
	sc->payload = NULL;
	char *text = read_file(dir, "cluster-state");
	if (!text)
		return errno == ENOENT
			       ? 0
			       : die("cannot read %s/cluster-state: %s", dir, strerror(errno));
	char *nl = strchr(text, '\n');
	long gen = 0;
	if (!nl || sscanf(text, "n4j-clustersim-state %ld", &gen) != 1 || gen < 1) {
		free(text);
		return die("%s/cluster-state is damaged", dir);
	}
	char *payload = nl + 1;
	payload[strcspn(payload, "\n")] = '\0';
	sc->gen = gen;
	sc->payload = strdup(payload);
	free(text);
	return sc->payload ? 0 : die("out of memory");
}

static int save_state(const char *dir, long gen, const char *payload)
{
	struct n4j_buf b;
	n4j_buf_init(&b);
	n4j_buf_printf(&b, "n4j-clustersim-state %ld\n%s\n", gen, payload);
	int rc = b.oom ? -1 : write_file(dir, "cluster-state", b.data);
	n4j_buf_free(&b);
	return rc;
}

static int read_password(const char *path, char *hash, size_t cap)
{
	char pw[256];
	FILE *f = fopen(path, "r");
	if (!f)
		return die("cannot read the password file: %s", strerror(errno));
	bool got = fgets(pw, sizeof pw, f) != NULL;
	fclose(f);
	pw[got ? strcspn(pw, "\r\n") : 0] = '\0';
	int rc = !pw[0]                             ? die("the password file is empty")
		 : sim_pw_hash(NULL, pw, hash, cap) ? die("cannot hash the password")
						    : 0;
	memset(pw, 0, sizeof pw);
	return rc;
}

static int connect_control(const char *path, long wait_ms)
{
	/* the daemon may still be starting (or restarting): wait a while for it */
	for (long end = sim_now_ms() + wait_ms;; sim_sleep_ms(100)) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		struct sockaddr_un su = {.sun_family = AF_UNIX};
		if (fd < 0 || strlen(path) >= sizeof su.sun_path) {
			if (fd >= 0)
				close(fd);
			return -1;
		}
		scopy(su.sun_path, sizeof su.sun_path, path);
		if (connect(fd, (struct sockaddr *)&su, sizeof su) == 0)
			return fd;
		int e = errno;
		close(fd);
		if ((e != ENOENT && e != ECONNREFUSED && e != EAGAIN) || sim_now_ms() >= end) {
			errno = e;
			return -1;
		}
	}
}

/* ---- the Bolt and HTTP proxies ------------------------------------------------------- */

struct pipe_arg {
	int client;
	int port;
};

static void *proxy(void *argp)
{
	struct pipe_arg a = *(struct pipe_arg *)argp;
	free(argp);
	int up = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)a.port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (up < 0 || connect(up, (struct sockaddr *)&sa, sizeof sa)) {
		/* the daemon stopped this server: as a stopped Neo4j, refuse */
		if (up >= 0)
			close(up);
		close(a.client);
		return NULL;
	}
	struct pollfd p[2] = {{.fd = a.client, .events = POLLIN}, {.fd = up, .events = POLLIN}};
	char buf[16384];
	bool client_done = false;
	for (;;) {
		p[0].events = client_done ? 0 : POLLIN;
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents) {
			ssize_t n = read(up, buf, sizeof buf);
			if (n <= 0 || sim_write_all(a.client, buf, (size_t)n))
				break;
		}
		if (!client_done && p[0].revents) {
			ssize_t n = read(a.client, buf, sizeof buf);
			if (n <= 0) {
				/* the request is complete: let the answer come back */
				shutdown(up, SHUT_WR);
				client_done = true;
			} else if (sim_write_all(up, buf, (size_t)n)) {
				break;
			}
		}
	}
	close(up);
	close(a.client);
	return NULL;
}

static void accept_one(int lfd, int port)
{
	int fd = accept(lfd, NULL, NULL);
	if (fd < 0)
		return;
	struct pipe_arg *a = malloc(sizeof *a);
	pthread_t t;
	if (!a) {
		close(fd);
		return;
	}
	a->client = fd;
	a->port = port;
	if (pthread_create(&t, NULL, proxy, a) != 0) {
		free(a);
		close(fd);
		return;
	}
	pthread_detach(t);
}

/* ---- seeding: the daemon asks, the tool runs here (the pod's environment) ----------- */

struct seed_result {
	long token, last_tx;
	int rc;
};

static pthread_mutex_t seed_mu = PTHREAD_MUTEX_INITIALIZER;
static struct seed_result seed_done[64];
static int seed_ndone;

struct seed_req {
	long token;
	char db[64], uri[512], until[64], src[64];
};

static void *seed_thread(void *argp)
{
	struct seed_req *q = argp;
	struct seed_result res = {.token = q->token};
	res.rc = sim_seed_exec(q->uri, q->db, q->until, q->src, &res.last_tx);
	free(q);
	/* the main loop sends it with the next heartbeat; wait while the queue is full */
	for (;;) {
		pthread_mutex_lock(&seed_mu);
		bool room = seed_ndone < (int)(sizeof seed_done / sizeof seed_done[0]);
		if (room)
			seed_done[seed_ndone++] = res;
		pthread_mutex_unlock(&seed_mu);
		if (room)
			return NULL;
		sim_sleep_ms(PING_MS);
	}
}

/* "seed TOKEN DB URI UNTIL SRC" (%-escaped words, "~" empty): runs the tool on a thread. */
static void seed_start(const char *line)
{
	struct seed_req *q = calloc(1, sizeof *q);
	char *copy = strdup(line), *save = NULL;
	if (!q || !copy) {
		free(q);
		free(copy);
		return;
	}
	strtok_r(copy, " ", &save);
	const char *w[5];
	int n = 0;
	for (char *t; n < 5 && (t = strtok_r(NULL, " ", &save));)
		w[n++] = t;
	char *e;
	bool ok = n == 5 && (q->token = strtol(w[0], &e, 10)) > 0 && !*e &&
		  !sim_dec(w[1], q->db, sizeof q->db) && !sim_dec(w[2], q->uri, sizeof q->uri) &&
		  !sim_dec(w[3], q->until, sizeof q->until) &&
		  !sim_dec(w[4], q->src, sizeof q->src);
	free(copy);
	pthread_t t;
	if (!ok || pthread_create(&t, NULL, seed_thread, q) != 0) {
		free(q);
		return;
	}
	pthread_detach(t);
}

/* The finished seeds as "seeded TOKEN RC LASTTX" lines: 0, -1 when the daemon is gone. */
static int seed_report(int cfd)
{
	pthread_mutex_lock(&seed_mu);
	struct n4j_buf b;
	n4j_buf_init(&b);
	for (int k = 0; k < seed_ndone; k++)
		n4j_buf_printf(&b, "seeded %ld %d %ld\n", seed_done[k].token, seed_done[k].rc,
			       seed_done[k].last_tx);
	int rc = b.oom ? 0 : b.len ? sim_write_all(cfd, b.data, b.len) : 0;
	if (!b.oom && !rc)
		seed_ndone = 0;
	n4j_buf_free(&b);
	pthread_mutex_unlock(&seed_mu);
	return rc;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	struct {
		const char *flag;
		const char **dst;
	} f[] = {{"--control", &o->control},
		 {"--name", &o->name},
		 {"--bind", &o->bind},
		 {"--http", &o->http},
		 {"--data", &o->data},
		 {"--conf", &o->conf},
		 {"--password-file", &o->password_file},
		 {"--settings", &o->settings},
		 {"--backup", &o->backup},
		 {"--version", &o->version}};
	for (int i = 1; i < argc; i++) {
		size_t k = 0;
		while (k < sizeof f / sizeof f[0] && strcmp(argv[i], f[k].flag) != 0)
			k++;
		if (k == sizeof f / sizeof f[0] || i + 1 >= argc)
			return die("unknown or incomplete argument %s", argv[i]);
		*f[k].dst = argv[++i];
	}
	/* the last three are optional */
	for (size_t k = 0; k + 3 < sizeof f / sizeof f[0]; k++)
		if (!*f[k].dst)
			return die("%s is required (usage: n4j-clustersim member --control SOCK "
				   "--name NAME --bind IP:PORT --http IP:PORT --data DIR --conf "
				   "FILE --password-file FILE [--settings FILE] [--backup IP:PORT] "
				   "[--version V])",
				   f[k].flag);
	if (!o->name[0] || strlen(o->name) > 63 ||
	    strspn(o->name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") !=
		    strlen(o->name))
		return die("--name must be 1-63 letters, digits, '.', '_' or '-'");
	return 0;
}

/* Registers; the daemon's Bolt and HTTP ports for this server through bport/hport. 0, -1
 * when refused (said on stderr), -2 when the daemon did not answer (it may be dying). */
static int join_daemon(int fd, struct lreader *r, const struct opts *o, const struct conf *c,
		       const char *id, const char *pwhash, const struct state_copy *sc, int *bport,
		       int *hport, int *kport)
{
	struct n4j_buf b;
	n4j_buf_init(&b);
	n4j_buf_printf(&b, "join %s %s %s %s %s %s %d %d %d %s %s\nstate %ld%s%s\n", o->name, id,
		       c->bolt_adv, c->http_adv, c->sysmode, c->mode, c->min, c->pri, c->sec,
		       pwhash, o->version, sc->gen, sc->payload ? " " : "",
		       sc->payload ? sc->payload : "");
	int rc = b.oom ? -1 : sim_write_all(fd, b.data, b.len);
	n4j_buf_free(&b);
	char *line;
	if (rc || lreader_next(r, 10000, &line))
		return -2;
	if (strncmp(line, "error: ", 7) == 0)
		return die("the cluster daemon refused the join: %s", line + 7);
	*kport = 0;
	if (sscanf(line, "ok %d %d %d", bport, hport, kport) < 2)
		return die("unexpected answer from the cluster daemon: %.80s", line);
	return 0;
}

/* Connects and joins with the newest state copy in DIR; the connection through cfd/r.
 * Retries until wait_ms passed: right after a daemon dies its socket may still take a
 * connection that then closes unanswered. */
static int connect_and_join(const struct opts *o, const struct conf *c, const char *id,
			    const char *pwhash, long wait_ms, int *cfd, struct lreader *r,
			    long *gen, int *bport, int *hport, int *kport)
{
	long end = sim_now_ms() + wait_ms;
	for (;;) {
		struct state_copy sc;
		if (load_state(o->data, &sc))
			return -1;
		long left = end - sim_now_ms();
		*cfd = connect_control(o->control, left > 0 ? left : 0);
		if (*cfd < 0) {
			free(sc.payload);
			return die("cannot reach the cluster daemon at %s: %s", o->control,
				   strerror(errno));
		}
		lreader_init(r, *cfd);
		int rc = join_daemon(*cfd, r, o, c, id, pwhash, &sc, bport, hport, kport);
		free(sc.payload);
		*gen = sc.gen;
		if (rc == 0)
			return 0;
		lreader_free(r);
		close(*cfd);
		if (rc == -1)
			return -1;
		if (sim_now_ms() >= end)
			return die("the cluster daemon at %s did not answer the join", o->control);
		sim_sleep_ms(100);
	}
}

int member_main(int argc, char **argv)
{
	struct opts o = {0};
	struct conf c;
	if (parse_opts(argc, argv, &o))
		return 2;
	/* the Neo4j version this server runs: the test bed's image tag, as the agent says */
	if (!o.version || !*o.version)
		o.version = getenv("N4J_TESTBED_VERSION");
	if (!o.version || !*o.version)
		o.version = "5.26.0";
	/* one word of the join line: the image tag's version part (IMAGE_RE in the agent) */
	if (!isdigit((unsigned char)o.version[0]) || strlen(o.version) > 31 ||
	    strspn(o.version, "0123456789.abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") !=
		    strlen(o.version))
		return exit_die("the Neo4j version must look like 5.26.0 or 2025.01.0, not '%s'",
				o.version);
	if (read_conf(&o, &c))
		return 1;
	char pwhash[160], id[37];
	if (read_password(o.password_file, pwhash, sizeof pwhash))
		return 1;
	struct stat sb;
	if (stat(o.data, &sb) || !S_ISDIR(sb.st_mode))
		return exit_die("the data directory %s does not exist", o.data);
	if (server_id(o.data, id))
		return 1;
	/* server.backup.listen_address: the bind IP, port 6362, unless --backup says */
	char backup[80];
	if (o.backup)
		scopy(backup, sizeof backup, o.backup);
	else
		snprintf(backup, sizeof backup, "%.*s:6362", (int)(strrchr(o.bind, ':') - o.bind),
			 o.bind);
	int bl = sim_listen(o.bind), hl = bl >= 0 ? sim_listen(o.http) : -1;
	int kl = hl >= 0 ? sim_listen(backup) : -1;
	if (bl < 0 || hl < 0 || kl < 0)
		return exit_die("cannot listen on %s: %s",
				bl < 0   ? o.bind
				: hl < 0 ? o.http
					 : backup,
				strerror(errno));
	int cfd, bport, hport, kport;
	long gen;
	struct lreader r;
	if (connect_and_join(&o, &c, id, pwhash, 10000, &cfd, &r, &gen, &bport, &hport, &kport))
		return 1;
	printf("READY %s %s\n", o.name, id);
	fflush(stdout);
	long next_ping = 0;
	for (;;) {
		long now = sim_now_ms();
		bool lost = false;
		if (now >= next_ping) {
			char ping[48];
			int n = snprintf(ping, sizeof ping, "ping %ld\n", gen);
			lost = seed_report(cfd) != 0 || sim_write_all(cfd, ping, (size_t)n) != 0;
			next_ping = now + PING_MS;
		}
		struct pollfd p[4] = {{.fd = bl, .events = POLLIN},
				      {.fd = hl, .events = POLLIN},
				      {.fd = cfd, .events = POLLIN},
				      {.fd = kl, .events = POLLIN}};
		long wait = next_ping - sim_now_ms();
		if (!lost && poll(p, 4, wait > 0 ? (int)wait : 0) < 0 && errno != EINTR)
			return exit_die("poll: %s", strerror(errno));
		if (!lost && (p[0].revents & POLLIN))
			accept_one(bl, bport);
		if (!lost && (p[1].revents & POLLIN))
			accept_one(hl, hport);
		if (!lost && (p[3].revents & POLLIN))
			accept_one(kl, kport);
		if (!lost && p[2].revents) {
			char *line;
			int rc;
			for (int t = 1000; (rc = lreader_next(&r, t, &line)) == 0; t = 0) {
				long g;
				int off = 0;
				if (sscanf(line, "state %ld %n", &g, &off) == 1 && off > 0) {
					/* Neo4j keeps `system` on every server's disk: so do the
					 * members */
					if (save_state(o.data, g, line + off))
						return exit_die("cannot write %s/cluster-state: %s",
								o.data, strerror(errno));
					gen = g;
				} else if (strncmp(line, "seed ", 5) == 0) {
					seed_start(line);
				}
			}
			lost = rc == -1;
		}
		if (!lost)
			continue;
		/* the daemon went away: a restarted one learns the cluster back from us */
		lreader_free(&r);
		close(cfd);
		if (connect_and_join(&o, &c, id, pwhash, REJOIN_MS, &cfd, &r, &gen, &bport, &hport,
				     &kport))
			return 1;
		next_ping = 0;
	}
}
