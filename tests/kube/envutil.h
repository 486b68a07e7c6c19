/* Helpers of the transport env tests: clients from the test-env kubeconfigs, scratch
 * namespaces, and the fault proxy. */
#ifndef N4J_KUBE_ENVUTIL_H
#define N4J_KUBE_ENVUTIL_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "kube/internal.h"

static inline long env_now_ms(void)
{
	return (long)n4j_now_ms();
}

/* A client for the kubeconfig named by env var `var` (exits 1 if the env is unusable). */
static inline struct n4j_kube_client *env_client(const char *var,
						 const struct n4j_kube_client_opts *o)
{
	const char *path = getenv(var);
	if (!path) {
		fprintf(stderr, "%s is not set: run through tests/env/with-env\n", var);
		exit(1);
	}
	struct n4j_kube_config *cfg = NULL;
	struct n4j_kube_client *c = NULL;
	struct n4j_error err = {0};
	if (n4j_kube_config_load(path, NULL, &cfg, &err) || n4j_kube_client_new(cfg, o, &c, &err)) {
		fprintf(stderr, "client for %s: %s\n", var, err.msg);
		exit(1);
	}
	n4j_kube_config_free(cfg);
	return c;
}

static inline int env_ns_create(struct n4j_kube_client *c, const char *name)
{
	cJSON *ns = cJSON_Parse("{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{}}");
	cJSON_AddStringToObject(cJSON_GetObjectItem(ns, "metadata"), "name", name);
	struct n4j_kube_error e;
	int rc = n4j_kube_create(c, &N4J_RES_NAMESPACES, NULL, ns, NULL, &e);
	cJSON_Delete(ns);
	if (rc && e.reason != N4J_KUBE_ALREADY_EXISTS) {
		fprintf(stderr, "create namespace %s: %s\n", name, e.base.msg);
		return rc;
	}
	return 0;
}

static inline void env_ns_delete(struct n4j_kube_client *c, const char *name)
{
	struct n4j_kube_error e;
	if (n4j_kube_delete(c, &N4J_RES_NAMESPACES, NULL, name, NULL, &e))
		fprintf(stderr, "delete namespace %s: %s\n", name, e.base.msg);
}

static inline cJSON *env_cm(const char *name, const char *key, const char *val)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "apiVersion", "v1");
	cJSON_AddStringToObject(o, "kind", "ConfigMap");
	cJSON *m = cJSON_AddObjectToObject(o, "metadata");
	cJSON_AddStringToObject(m, "name", name);
	if (key) {
		cJSON *d = cJSON_AddObjectToObject(o, "data");
		cJSON_AddStringToObject(d, key, val);
	}
	return o;
}

static inline const char *env_str(const cJSON *o, const char *a, const char *b)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, a);
	if (b)
		v = cJSON_GetObjectItemCaseSensitive(v, b);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* ---- the fault proxy ---- */

struct env_proxy {
	pid_t pid;
	int port, ctl_port;
};

static inline int env_proxy_start(struct env_proxy *p, const char *bin)
{
	const char *run = getenv("TESTENV_RUN"), *api = getenv("TESTENV_APISERVER");
	if (!run || !api || !strrchr(api, ':'))
		return -1;
	char port[16], crt[512], key[512], ca[512];
	snprintf(port, sizeof(port), "%s", strrchr(api, ':') + 1);
	snprintf(crt, sizeof(crt), "%s/pki/apiserver.crt", run);
	snprintf(key, sizeof(key), "%s/pki/apiserver.key", run);
	snprintf(ca, sizeof(ca), "%s/pki/ca.crt", run);
	int pfd[2];
	if (pipe(pfd))
		return -1;
	p->pid = fork();
	if (p->pid == 0) {
		dup2(pfd[1], 1);
		close(pfd[0]);
		execl(bin, bin, port, crt, key, ca, (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	char line[128] = "";
	FILE *f = fdopen(pfd[0], "r");
	if (!f || !fgets(line, sizeof(line), f) ||
	    sscanf(line, "READY %d %d", &p->port, &p->ctl_port) != 2) {
		if (f)
			fclose(f);
		return -1;
	}
	fclose(f);
	return 0;
}

static inline void env_proxy_stop(struct env_proxy *p)
{
	if (p->pid > 0) {
		kill(p->pid, SIGTERM);
		waitpid(p->pid, NULL, 0);
		p->pid = 0;
	}
}

/* Sends one control line; the answer goes to out. */
static inline int env_proxy_ctl(const struct env_proxy *p, const char *cmd, char *out, size_t size)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons((uint16_t)p->ctl_port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		close(fd);
		return -1;
	}
	if (write(fd, cmd, strlen(cmd)) < 0) {
		close(fd);
		return -1;
	}
	char buf[256];
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	if (out && size > 0) {
		size_t m = strlen(buf) < size - 1 ? strlen(buf) : size - 1;
		memcpy(out, buf, m);
		out[m] = '\0';
	}
	return strncmp(buf, "error", 5) == 0 ? -1 : 0;
}

/* A client of https://127.0.0.1:port with the identity of kubeconfig env var `var`. */
static inline struct n4j_kube_client *env_client_at(const char *var, int port,
						    const struct n4j_kube_client_opts *o)
{
	const char *path = getenv(var);
	struct n4j_kube_config *cfg = NULL;
	struct n4j_kube_client *c = NULL;
	struct n4j_error err = {0};
	if (!path || n4j_kube_config_load(path, NULL, &cfg, &err)) {
		fprintf(stderr, "client of port %d: %s\n", port, err.msg);
		exit(1);
	}
	char server[64];
	snprintf(server, sizeof(server), "https://127.0.0.1:%d", port);
	free(cfg->server);
	cfg->server = strdup(server);
	if (!cfg->server || n4j_kube_client_new(cfg, o, &c, &err)) {
		fprintf(stderr, "client of port %d: %s\n", port, err.msg);
		exit(1);
	}
	n4j_kube_config_free(cfg);
	return c;
}

/* A client of the proxy with the identity of kubeconfig env var `var`. */
static inline struct n4j_kube_client *env_proxy_client(const struct env_proxy *p, const char *var,
						       const struct n4j_kube_client_opts *o)
{
	return env_client_at(var, p->port, o);
}

#endif
