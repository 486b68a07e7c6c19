/*
 * The config object's lifetime: free (secrets wiped) and dup. Reading a config lives
 * above this file (kubeconfig.c: files; incluster.c: the service account and the
 * choice between the two), so this file depends on neither.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kube/internal.h"

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
