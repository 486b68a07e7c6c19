/*
 * Leader election with real processes against the real apiserver (default timings
 * 15 s / 10 s / 2 s): kill -9 of the leader → the other leads within leaseDuration +
 * 2×retry + slack (≤ 20 s, DESIGN §8.9); a stolen Lease → the leader stops within the
 * renew deadline (+ one retry); release on stop → the successor within ~2 s + retry.
 *
 * The binary re-executes itself as a candidate: `env_leader candidate <ns> <lease> <id>`
 * prints "LEADING" and "STOPPED" lines; SIGTERM makes it stop (and release) cleanly.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/wait.h>

#include "envmach.h"

static volatile sig_atomic_t term;
static void on_term(int sig)
{
	term = 1;
}
static void started(void *ud)
{
	printf("LEADING\n");
	fflush(stdout);
}
static void stopped(void *ud)
{
	printf("STOPPED\n");
	fflush(stdout);
}

static int candidate(const char *ns, const char *lease, const char *id)
{
	signal(SIGTERM, on_term);
	struct n4j_kube_client *c = env_client();
	struct n4j_leader_opts o = {.namespace_ = ns,
				    .name = lease,
				    .identity = id,
				    .on_started_leading = started,
				    .on_stopped_leading = stopped};
	struct n4j_leader *l;
	struct n4j_error err = {0};
	if (n4j_leader_start(c, &o, &l, &err) != 0) {
		fprintf(stderr, "leader: %s\n", err.msg);
		return 1;
	}
	while (!term)
		sleep_ms(20);
	n4j_leader_free(l); /* stop + release */
	printf("RELEASED\n");
	fflush(stdout);
	n4j_kube_client_free(c);
	return 0;
}

struct proc {
	pid_t pid;
	int fd;
	char buf[4096];
	size_t len;
};

static char self[4096];

static void spawn(struct proc *p, const char *ns, const char *lease, const char *id)
{
	int fds[2];
	if (pipe(fds) != 0)
		exit(1);
	p->len = 0;
	p->buf[0] = '\0';
	p->pid = fork();
	if (p->pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		execl(self, self, "candidate", ns, lease, id, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	p->fd = fds[0];
	fcntl(p->fd, F_SETFL, O_NONBLOCK);
}

/* Waits until the child's output contains word (ms); true if seen. */
static bool expect(struct proc *p, const char *word, long ms)
{
	int64_t until = n4j_now_ms() + ms;
	for (;;) {
		if (strstr(p->buf, word))
			return true;
		int64_t left = until - n4j_now_ms();
		if (left <= 0)
			return false;
		struct pollfd pf = {p->fd, POLLIN, 0};
		if (poll(&pf, 1, (int)(left > 200 ? 200 : left)) > 0) {
			ssize_t n = read(p->fd, p->buf + p->len, sizeof(p->buf) - 1 - p->len);
			if (n > 0) {
				p->len += (size_t)n;
				p->buf[p->len] = '\0';
			} else if (n == 0) {
				sleep_ms(50); /* the child exited */
			}
		}
	}
}

static void reap(struct proc *p, int sig)
{
	if (p->pid > 0) {
		kill(p->pid, sig);
		waitpid(p->pid, NULL, 0);
		close(p->fd);
		p->pid = 0;
	}
}

int main(int argc, char **argv)
{
	if (argc == 5 && strcmp(argv[1], "candidate") == 0)
		return candidate(argv[2], argv[3], argv[4]);
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return 1;
	self[n] = '\0';
	struct n4j_kube_client *c = env_client();
	const char *ns = env_namespace(c, "leader");
	struct proc a = {0}, b = {0};

	/* 1. One leader; the other waits. */
	spawn(&a, ns, "lock", "cand-a");
	T(expect(&a, "LEADING", 15000));
	spawn(&b, ns, "lock", "cand-b");
	T(!expect(&b, "LEADING", 4000));

	/* 2. kill -9 the leader: b leads within 15 s + 2×2 s + 1 s slack. */
	int64_t t0 = n4j_now_ms();
	reap(&a, SIGKILL);
	T(expect(&b, "LEADING", 20000));
	long took = (long)(n4j_now_ms() - t0);
	printf("takeover after kill -9: %ld ms\n", took);
	T(took <= 20000);

	/* 3. Steal the Lease: b cannot renew and must stop within 10 s (+ a retry, slack). */
	struct n4j_kube_error e;
	memset(&e, 0, sizeof(e));
	cJSON *l = NULL;
	T(n4j_kube_get(c, &N4J_RES_LEASES, ns, "lock", &l, &e) == 0);
	if (l) {
		cJSON *spec = cJSON_GetObjectItem(l, "spec");
		cJSON_ReplaceItemInObject(spec, "holderIdentity", cJSON_CreateString("thief"));
		cJSON_ReplaceItemInObject(spec, "leaseDurationSeconds", cJSON_CreateNumber(3600));
		cJSON *out = NULL;
		t0 = n4j_now_ms();
		T(n4j_kube_update(c, &N4J_RES_LEASES, ns, "lock", NULL, l, &out, &e) == 0);
		cJSON_Delete(out);
		cJSON_Delete(l);
	}
	T(expect(&b, "STOPPED", 14000));
	took = (long)(n4j_now_ms() - t0);
	printf("stopped leading after the Lease was stolen: %ld ms\n", took);
	reap(&b, SIGKILL);

	/* 4. Release on stop: the successor leads within ~1 s (duration 1) + retry + slack. */
	spawn(&a, ns, "lock2", "cand-c");
	T(expect(&a, "LEADING", 15000));
	spawn(&b, ns, "lock2", "cand-d");
	T(!expect(&b, "LEADING", 2500));
	t0 = n4j_now_ms();
	kill(a.pid, SIGTERM);
	T(expect(&a, "RELEASED", 10000));
	T(expect(&b, "LEADING", 6000));
	took = (long)(n4j_now_ms() - t0);
	printf("takeover after release: %ld ms\n", took);
	T(took <= 5000);
	memset(&e, 0, sizeof(e));
	l = NULL;
	T(n4j_kube_get(c, &N4J_RES_LEASES, ns, "lock2", &l, &e) == 0);
	const cJSON *spec = cJSON_GetObjectItem(l, "spec");
	const cJSON *h = cJSON_GetObjectItem(spec, "holderIdentity");
	const cJSON *tr = cJSON_GetObjectItem(spec, "leaseTransitions");
	T(cJSON_IsString(h) && strcmp(h->valuestring, "cand-d") == 0);
	T(cJSON_IsNumber(tr) && tr->valueint == 1);
	cJSON_Delete(l);
	reap(&a, SIGKILL);
	reap(&b, SIGTERM);
	return env_done(c);
}
