/* Exec credential plugins (client.authentication.k8s.io v1/v1beta1), as kubectl runs them. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kube/internal.h"

extern char **environ;

#define EXEC_OUT_MAX (1u << 20)

void n4j_exec_cred_free(struct n4j_exec_cred *c)
{
	if (!c)
		return;
	n4j_wipe_free(c->token);
	free(c->cert_pem);
	n4j_wipe_free(c->key_pem);
	memset(c, 0, sizeof(*c));
}

/* RFC 3339 → time_t (UTC); 0 on malformed input. */
static time_t parse_rfc3339(const char *s)
{
	int Y, M, D, h, m, sec, n = 0;
	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &Y, &M, &D, &h, &m, &sec, &n) != 6 || n == 0)
		return 0;
	const char *p = s + n;
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++)
			;
	long off = 0;
	if (*p == '+' || *p == '-') {
		int oh, om;
		if (sscanf(p + 1, "%2d:%2d", &oh, &om) != 2)
			return 0;
		off = (oh * 60L + om) * 60L * (*p == '+' ? 1 : -1);
	} else if (*p != 'Z' && *p != 'z') {
		return 0;
	}
	struct tm tm = {.tm_year = Y - 1900,
			.tm_mon = M - 1,
			.tm_mday = D,
			.tm_hour = h,
			.tm_min = m,
			.tm_sec = sec};
	time_t t = timegm(&tm);
	return t == (time_t)-1 ? 0 : t - off;
}

int n4j_kube_exec_parse(const char *text, size_t len, struct n4j_exec_cred *out,
			struct n4j_error *err)
{
	memset(out, 0, sizeof(*out));
	cJSON *doc = cJSON_ParseWithLength(text, len);
	if (!doc)
		return n4j_err(err, N4J_EPARSE, "exec plugin: output is not JSON");
	int rc = 0;
	const cJSON *kind = cJSON_GetObjectItemCaseSensitive(doc, "kind");
	const cJSON *st = cJSON_GetObjectItemCaseSensitive(doc, "status");
	if (!cJSON_IsString(kind) || strcmp(kind->valuestring, "ExecCredential") != 0) {
		rc = n4j_err(err, N4J_EINVAL, "exec plugin: output is not an ExecCredential");
		goto out;
	}
	if (!cJSON_IsObject(st)) {
		rc = n4j_err(err, N4J_EINVAL, "exec plugin: ExecCredential has no status");
		goto out;
	}
	const cJSON *tok = cJSON_GetObjectItemCaseSensitive(st, "token");
	const cJSON *crt = cJSON_GetObjectItemCaseSensitive(st, "clientCertificateData");
	const cJSON *key = cJSON_GetObjectItemCaseSensitive(st, "clientKeyData");
	const cJSON *exp = cJSON_GetObjectItemCaseSensitive(st, "expirationTimestamp");
	if (cJSON_IsString(tok) && tok->valuestring[0] && !(out->token = strdup(tok->valuestring)))
		rc = n4j_err(err, N4J_ENOMEM, "exec plugin: out of memory");
	if (!rc && cJSON_IsString(crt) && cJSON_IsString(key) && crt->valuestring[0] &&
	    key->valuestring[0]) {
		/* Unlike kubeconfig *-data, ExecCredential carries PEM text, not base64. */
		out->cert_pem = strdup(crt->valuestring);
		out->key_pem = strdup(key->valuestring);
		if (!out->cert_pem || !out->key_pem)
			rc = n4j_err(err, N4J_ENOMEM, "exec plugin: out of memory");
	} else if (!rc && (cJSON_IsString(crt) != cJSON_IsString(key))) {
		rc = n4j_err(err, N4J_EINVAL,
			     "exec plugin: clientCertificateData and clientKeyData go together");
	}
	if (!rc && !out->token && !out->cert_pem)
		rc = n4j_err(
			err, N4J_EINVAL,
			"exec plugin: ExecCredential has neither a token nor a client certificate");
	if (!rc && cJSON_IsString(exp)) {
		out->expires = parse_rfc3339(exp->valuestring);
		if (!out->expires)
			rc = n4j_err(err, N4J_EINVAL,
				     "exec plugin: expirationTimestamp is not RFC 3339");
	}
out:
	n4j_json_wipe_delete(doc);
	if (rc)
		n4j_exec_cred_free(out);
	return rc;
}

static bool env_overridden(const struct n4j_kube_exec *x, const char *entry)
{
	const char *eq = strchr(entry, '=');
	size_t n = eq ? (size_t)(eq - entry) : strlen(entry);
	if (strncmp(entry, "KUBERNETES_EXEC_INFO=", 21) == 0)
		return true;
	for (size_t i = 0; i < x->n_env; i++)
		if (strncmp(x->env[i], entry, n) == 0 && x->env[i][n] == '=')
			return true;
	return false;
}

int n4j_kube_exec_run(const struct n4j_kube_exec *x, long timeout_ms, struct n4j_exec_cred *out,
		      struct n4j_error *err)
{
	memset(out, 0, sizeof(*out));
	size_t nenv = 0;
	while (environ && environ[nenv])
		nenv++;
	char **envp = calloc(nenv + x->n_env + 2, sizeof(char *));
	char **argv = calloc(x->n_args + 2, sizeof(char *));
	char info[256];
	if (!envp || !argv) {
		free(envp);
		free(argv);
		return n4j_err(err, N4J_ENOMEM, "exec plugin: out of memory");
	}
	/* interactive is false: the operator has no terminal (v1 requires the field). */
	snprintf(info, sizeof(info),
		 "KUBERNETES_EXEC_INFO={\"apiVersion\":\"%s\",\"kind\":\"ExecCredential\","
		 "\"spec\":{\"interactive\":false}}",
		 x->api_version ? x->api_version : "client.authentication.k8s.io/v1");
	size_t k = 0;
	for (size_t i = 0; i < nenv; i++)
		if (!env_overridden(x, environ[i]))
			envp[k++] = environ[i];
	for (size_t i = 0; i < x->n_env; i++)
		envp[k++] = x->env[i];
	envp[k++] = info;
	argv[0] = x->command;
	for (size_t i = 0; i < x->n_args; i++)
		argv[i + 1] = x->args[i];

	int pfd[2];
	/* CLOEXEC: plugins run by other threads must not inherit (and hold open) this pipe. */
	if (pipe(pfd) != 0) {
		free(envp);
		free(argv);
		return n4j_err(err, N4J_EIO, "exec plugin: pipe: %s", strerror(errno));
	}
	if (fcntl(pfd[0], F_SETFD, FD_CLOEXEC) != 0 || fcntl(pfd[1], F_SETFD, FD_CLOEXEC) != 0) {
		close(pfd[0]);
		close(pfd[1]);
		free(envp);
		free(argv);
		return n4j_err(err, N4J_EIO, "exec plugin: pipe: %s", strerror(errno));
	}
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
	pid_t pid;
	int src = posix_spawnp(&pid, x->command, &fa, NULL, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	free(envp);
	free(argv);
	close(pfd[1]);
	if (src != 0) {
		close(pfd[0]);
		return n4j_err(err, N4J_EIO, "exec plugin %.200s: %s", x->command, strerror(src));
	}
	struct n4j_buf b;
	n4j_buf_init(&b);
	int rc = 0;
	int64_t deadline = n4j_deadline_ms(timeout_ms);
	for (;;) {
		long left = (long)(deadline - n4j_now_ms());
		if (left <= 0) {
			rc = n4j_err(err, N4J_EIO, "exec plugin %.200s: timed out after %ld ms",
				     x->command, timeout_ms);
			break;
		}
		struct pollfd p = {.fd = pfd[0], .events = POLLIN};
		int pr = poll(&p, 1, (int)(left > 1000 ? 1000 : left));
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr < 0) {
			rc = n4j_err(err, N4J_EIO, "exec plugin: poll: %s", strerror(errno));
			break;
		}
		if (pr == 0)
			continue;
		char chunk[4096];
		ssize_t n = read(pfd[0], chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (b.len + (size_t)n > EXEC_OUT_MAX) {
			rc = n4j_err(err, N4J_ELIMIT, "exec plugin: output larger than %u bytes",
				     EXEC_OUT_MAX);
			break;
		}
		n4j_buf_append(&b, chunk, (size_t)n);
	}
	close(pfd[0]);
	if (rc)
		kill(pid, SIGKILL);
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!rc && b.oom)
		rc = n4j_err(err, N4J_ENOMEM, "exec plugin: out of memory");
	if (!rc && (!WIFEXITED(status) || WEXITSTATUS(status) != 0))
		rc = n4j_err(err, N4J_EIO, "exec plugin %.200s failed (exit status %d)", x->command,
			     WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	if (!rc)
		rc = n4j_kube_exec_parse(b.data ? b.data : "", b.len, out, err);
	n4j_buf_wipe_free(&b); /* it held a credential */
	return rc;
}
