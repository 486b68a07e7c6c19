/* In-cluster config (the pod's service account) and the automatic choice between it and a
 * kubeconfig: the top of the config files, above config.c and kubeconfig.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kube/internal.h"

#define SA_ROOT "/var/run/secrets/kubernetes.io/serviceaccount"

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
