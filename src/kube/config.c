/* Config lifetime, in-cluster config and the automatic choice between the two. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kube/internal.h"

#define SA_ROOT "/var/run/secrets/kubernetes.io/serviceaccount"

static void exec_free(struct n4j_kube_exec *x)
{
	if (!x)
		return;
	free(x->command);
	for (size_t i = 0; i < x->n_args; i++)
		free(x->args[i]);
	free(x->args);
	for (size_t i = 0; i < x->n_env; i++)
		free(x->env[i]);
	free(x->env);
	free(x->api_version);
	free(x);
}

void n4j_kube_config_free(struct n4j_kube_config *c)
{
	if (!c)
		return;
	free(c->server);
	free(c->tls_server_name);
	free(c->ca_pem);
	free(c->client_cert_pem);
	n4j_wipe_free(c->client_key_pem);
	n4j_wipe_free(c->token);
	free(c->token_file);
	exec_free(c->exec);
	free(c->namespace_);
	free(c->context_name);
	free(c);
}

static bool dup_str(char **dst, const char *src)
{
	if (!src)
		return true;
	*dst = strdup(src);
	return *dst != NULL;
}

int n4j_kube_config_dup(const struct n4j_kube_config *c, struct n4j_kube_config **out)
{
	struct n4j_kube_config *d = calloc(1, sizeof(*d));
	if (!d)
		return N4J_ENOMEM;
	bool ok = dup_str(&d->server, c->server) &&
		  dup_str(&d->tls_server_name, c->tls_server_name) &&
		  dup_str(&d->ca_pem, c->ca_pem) &&
		  dup_str(&d->client_cert_pem, c->client_cert_pem) &&
		  dup_str(&d->client_key_pem, c->client_key_pem) && dup_str(&d->token, c->token) &&
		  dup_str(&d->token_file, c->token_file) &&
		  dup_str(&d->namespace_, c->namespace_) &&
		  dup_str(&d->context_name, c->context_name);
	d->insecure_skip_verify = c->insecure_skip_verify;
	d->in_cluster = c->in_cluster;
	if (ok && c->exec) {
		struct n4j_kube_exec *x = calloc(1, sizeof(*x));
		d->exec = x;
		ok = x && dup_str(&x->command, c->exec->command) &&
		     dup_str(&x->api_version, c->exec->api_version);
		if (ok && c->exec->n_args) {
			ok = (x->args = calloc(c->exec->n_args, sizeof(char *))) != NULL;
			for (size_t i = 0; ok && i < c->exec->n_args; i++, x->n_args++)
				ok = dup_str(&x->args[i], c->exec->args[i]);
		}
		if (ok && c->exec->n_env) {
			ok = (x->env = calloc(c->exec->n_env, sizeof(char *))) != NULL;
			for (size_t i = 0; ok && i < c->exec->n_env; i++, x->n_env++)
				ok = dup_str(&x->env[i], c->exec->env[i]);
		}
	}
	if (!ok) {
		n4j_kube_config_free(d);
		return N4J_ENOMEM;
	}
	*out = d;
	return 0;
}

int n4j_kube_config_in_cluster(const char *root, struct n4j_kube_config **out,
			       struct n4j_error *err)
{
	*out = NULL;
	const char *host = getenv("KUBERNETES_SERVICE_HOST");
	const char *port = getenv("KUBERNETES_SERVICE_PORT");
	if (!host || !host[0] || !port || !port[0])
		return n4j_err(err, N4J_ENOTFOUND,
			       "in-cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT "
			       "must be set");
	if (strspn(port, "0123456789") != strlen(port) || strlen(port) > 5)
		return n4j_err(err, N4J_EINVAL,
			       "in-cluster: KUBERNETES_SERVICE_PORT is not a port");
	if (!root)
		root = SA_ROOT;
	struct n4j_kube_config *c = calloc(1, sizeof(*c));
	if (!c)
		return n4j_err(err, N4J_ENOMEM, "in-cluster: out of memory");
	c->in_cluster = true;
	int rc = 0;
	size_t n = strlen(host) + strlen(port) + 16;
	bool v6 = strchr(host, ':') != NULL;
	char *path = NULL;
	size_t pn = strlen(root) + 16;
	if (!(c->server = malloc(n)) || !(path = malloc(pn))) {
		rc = n4j_err(err, N4J_ENOMEM, "in-cluster: out of memory");
		goto out;
	}
	snprintf(c->server, n, v6 ? "https://[%s]:%s" : "https://%s:%s", host, port);

	snprintf(path, pn, "%s/token", root);
	if (!(c->token_file = strdup(path))) {
		rc = n4j_err(err, N4J_ENOMEM, "in-cluster: out of memory");
		goto out;
	}
	struct n4j_error te = {0};
	rc = n4j_kube_read_token(path, &c->token, &te);
	if (rc) {
		n4j_err(err, rc, "in-cluster: %s", te.msg);
		goto out;
	}

	snprintf(path, pn, "%s/ca.crt", root);
	size_t len;
	struct n4j_error e2 = {0};
	rc = n4j_read_file(path, N4J_KUBE_FILE_MAX, &c->ca_pem, &len, &e2);
	if (rc) {
		n4j_err(err, rc, "in-cluster: %s", e2.msg);
		goto out;
	}

	snprintf(path, pn, "%s/namespace", root);
	char *ns = NULL;
	if (n4j_kube_read_token(path, &ns, NULL) == 0)
		c->namespace_ = ns;
	else if (!(c->namespace_ = strdup("default")))
		rc = n4j_err(err, N4J_ENOMEM, "in-cluster: out of memory");
out:
	free(path);
	if (rc)
		n4j_kube_config_free(c);
	else
		*out = c;
	return rc;
}

int n4j_kube_config_auto(const char *kubeconfig, const char *context, struct n4j_kube_config **out,
			 struct n4j_error *err)
{
	const char *host = getenv("KUBERNETES_SERVICE_HOST");
	const char *env = getenv("KUBECONFIG");
	if ((!kubeconfig || !kubeconfig[0]) && (!env || !env[0]) && host && host[0])
		return n4j_kube_config_in_cluster(NULL, out, err);
	return n4j_kube_config_load(kubeconfig, context, out, err);
}
