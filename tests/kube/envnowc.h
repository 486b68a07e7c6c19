/*
 * Helpers of the watch tests that need what the shared apiserver cannot give: a second
 * kube-apiserver on the same etcd with --watch-cache=false (hack/test-env apiserver-nowc),
 * whose watches are served by etcd itself, an etcd compaction, and a count of the requests
 * a client made, read from that apiserver's own audit log.
 *
 * The test starts that apiserver and stops it on every way out: explicitly, and through a
 * detached watchdog that stops it when the test process is gone (a failed CHECK, a crash,
 * ctest's timeout kill). `hack/test-env down` stops it too.
 */
#ifndef N4J_KUBE_ENVNOWC_H
#define N4J_KUBE_ENVNOWC_H

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>

#include "envutil.h"
#include "kube/machinery.h"

static inline int nowc_port(void)
{
	const char *p = getenv("TESTENV_PORT_BASE");
	return (p && *p ? atoi(p) : 26000) + 444;
}

/* Runs `hack/test-env ARGS` of this source tree; its exit status. */
static inline int nowc_testenv(const char *args)
{
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "%s/hack/test-env %s", N4J_SOURCE_DIR, args);
	int rc = system(cmd);
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

/*
 * A grandchild in its own session (so neither a kill of the test's process group nor of
 * its process tree reaches it) reads the PID of each apiserver the test starts from a pipe
 * only the test holds open. EOF comes when the test exits, however it exits; then it stops
 * that apiserver, if it is still the recorded one (not the next test's).
 */
static int nowc_watchdog_fd = -1;

static inline void nowc_watchdog(void)
{
	int fd[2];
	if (pipe(fd) != 0)
		return;
	pid_t pid = fork();
	if (pid == 0) {
		close(fd[1]);
		if (setsid() < 0 || fork() != 0)
			_exit(0);
		int null = open("/dev/null", O_RDWR);
		if (null >= 0) { /* not ctest's output pipes: it waits for them to close */
			dup2(null, 0);
			dup2(null, 1);
			dup2(null, 2);
		}
		FILE *in = fdopen(fd[0], "r");
		char line[32], last[32] = "";
		while (in && fgets(line, sizeof(line), in))
			snprintf(last, sizeof(last), "%s", line);
		last[strcspn(last, "\n")] = '\0';
		if (!last[0])
			_exit(0);
		char args[64];
		snprintf(args, sizeof(args), "apiserver-nowc stop %s", last);
		_exit(nowc_testenv(args));
	}
	close(fd[0]);
	if (pid > 0) {
		signal(SIGPIPE, SIG_IGN); /* a dead watchdog is an error message, not our death */
		waitpid(pid, NULL, 0);
		fcntl(fd[1], F_SETFD, FD_CLOEXEC); /* children of ours must not keep it open */
		nowc_watchdog_fd = fd[1];
	} else {
		close(fd[1]);
	}
}

/* Starts (or restarts) the watch-cache-less apiserver and tells the watchdog its PID. */
static inline int nowc_start(void)
{
	if (nowc_watchdog_fd < 0)
		nowc_watchdog();
	long t0 = env_now_ms();
	int rc = nowc_testenv("apiserver-nowc start");
	fprintf(stderr, "apiserver-nowc start: exit %d after %ld ms\n", rc, env_now_ms() - t0);
	const char *run = getenv("TESTENV_RUN");
	char path[512], pid[32] = "";
	snprintf(path, sizeof(path), "%s/pid/apiserver-nowc", run ? run : ".");
	FILE *f = fopen(path, "r");
	if (f && fgets(pid, sizeof(pid), f) && nowc_watchdog_fd >= 0 &&
	    write(nowc_watchdog_fd, pid, strlen(pid)) < 0)
		fprintf(stderr, "apiserver-nowc: the watchdog is gone\n");
	if (f)
		fclose(f);
	return rc == 0 ? 0 : -1;
}

static inline int nowc_stop(void)
{
	return nowc_testenv("apiserver-nowc stop") == 0 ? 0 : -1;
}

/* Runs test(c) with the watch-cache-less apiserver up, and stops it afterwards. */
static inline void nowc_run(void (*test)(struct n4j_kube_client *), struct n4j_kube_client *c)
{
	if (nowc_start() == 0)
		test(c);
	else
		CHECK(0); /* the watch-cache-less apiserver did not start */
	nowc_stop();
}

/* A client of the watch-cache-less apiserver with the identity of kubeconfig env var var
 * and its own user agent, by which the audit log tells its requests apart. */
static inline struct n4j_kube_client *nowc_client(const char *var, const char *user_agent)
{
	struct n4j_kube_client_opts o = {.user_agent = user_agent};
	return env_client_at(var, nowc_port(), &o);
}

/* Compacts etcd at its current revision; the revision, or 0 on failure. */
static inline uint64_t nowc_compact(void)
{
	char cmd[1024], line[64] = "";
	snprintf(cmd, sizeof(cmd), "%s/hack/test-env etcd-compact", N4J_SOURCE_DIR);
	FILE *f = popen(cmd, "r");
	if (!f)
		return 0;
	if (!fgets(line, sizeof(line), f))
		line[0] = '\0';
	int rc = pclose(f);
	return rc == 0 ? strtoull(line, NULL, 10) : 0;
}

/*
 * Reads the requests of user agent ua on configmaps of namespace ns in the
 * watch-cache-less apiserver's audit log (JSON lines, in time order): a LIST counts at
 * ResponseComplete, a WATCH at ResponseStarted (a watch cut by a killed apiserver never
 * completes). The log is written in blocking mode, but an entry may land just after the
 * client has its answer: callers wait a little first.
 */
struct nowc_audit {
	int lists, watches;
	/* the resourceVersion parameter of the last WATCH started before the second LIST */
	char watch_rv_before_relist[32];
};

static inline int nowc_audit_read(const char *ua, const char *ns, struct nowc_audit *out)
{
	memset(out, 0, sizeof(*out));
	const char *run = getenv("TESTENV_RUN");
	char path[512], last_watch_rv[32] = "";
	snprintf(path, sizeof(path), "%s/audit-nowc.log", run ? run : ".");
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	char *line = NULL;
	size_t cap = 0;
	while (getline(&line, &cap, f) > 0) {
		if (!strstr(line, ua)) /* cheap filter before parsing */
			continue;
		cJSON *ev = cJSON_Parse(line);
		const char *stage = env_str(ev, "stage", NULL);
		const char *agent = env_str(ev, "userAgent", NULL);
		const char *verb = env_str(ev, "verb", NULL);
		const char *uri = env_str(ev, "requestURI", NULL);
		const cJSON *ref = cJSON_GetObjectItemCaseSensitive(ev, "objectRef");
		const char *res = env_str(ref, "resource", NULL);
		const char *nsp = env_str(ref, "namespace", NULL);
		bool mine = stage && agent && strcmp(agent, ua) == 0 && verb && res &&
			    strcmp(res, "configmaps") == 0 && nsp && strcmp(nsp, ns) == 0;
		if (mine && strcmp(verb, "list") == 0 && strcmp(stage, "ResponseComplete") == 0) {
			if (++out->lists == 2)
				snprintf(out->watch_rv_before_relist,
					 sizeof(out->watch_rv_before_relist), "%s", last_watch_rv);
		} else if (mine && strcmp(verb, "watch") == 0 &&
			   strcmp(stage, "ResponseStarted") == 0) {
			out->watches++;
			const char *p = uri ? strstr(uri, "resourceVersion=") : NULL;
			snprintf(last_watch_rv, sizeof(last_watch_rv), "%.*s",
				 p ? (int)strspn(p + 16, "0123456789") : 0, p ? p + 16 : "");
		}
		cJSON_Delete(ev);
	}
	free(line);
	fclose(f);
	return 0;
}

/* ---- a cache of name -> resourceVersion, compared with the server's list ---- */

static inline void nowc_free_val(void *ud, const char *key, void *val)
{
	free(val);
}

/*
 * Compares a map of name -> resourceVersion (strings) with the server's list of configmaps
 * in ns: the number of names missing on either side or with another resourceVersion (0:
 * equal). Prints each difference when verbose.
 */
static inline int nowc_diff_with_server(struct n4j_kube_client *c, const char *ns,
					struct n4j_smap *cache, bool verbose)
{
	cJSON *items = NULL;
	struct n4j_kube_error e;
	if (n4j_kube_list(c, &N4J_RES_CONFIGMAPS, ns, NULL, &items, NULL, &e) != 0) {
		fprintf(stderr, "list %s: %s\n", ns, e.base.msg);
		return -1;
	}
	int diff = 0;
	struct n4j_smap server;
	n4j_smap_init(&server);
	const cJSON *it;
	cJSON_ArrayForEach(it, items)
	{
		const char *name = env_str(it, "metadata", "name");
		const char *rv = env_str(it, "metadata", "resourceVersion");
		const char *mine = name ? n4j_smap_get(cache, name) : NULL;
		if (!name || !rv || !mine || strcmp(mine, rv) != 0) {
			if (verbose)
				fprintf(stderr,
					"cache differs from server: %s: server RV %s, cache RV "
					"%s\n",
					name ? name : "?", rv ? rv : "-", mine ? mine : "(absent)");
			diff++;
		}
		if (name)
			n4j_smap_put(&server, name, (void *)1, NULL);
	}
	for (size_t i = 0; i < cache->nb; i++)
		for (struct n4j_smap_node *nd = cache->b[i]; nd; nd = nd->next)
			if (!n4j_smap_get(&server, nd->key)) {
				if (verbose)
					fprintf(stderr,
						"cache differs from server: %s only in the cache\n",
						nd->key);
				diff++;
			}
	n4j_smap_free(&server);
	cJSON_Delete(items);
	return diff;
}

#endif
