/* The per-cluster handle: the Bolt cluster handle over the pods' advertised addresses, with
 * the credentials copied in (the caller's Secret buffer may be freed after open). */
#include "neo4j/io.h"

#include <stdlib.h>
#include <string.h>

static char *dup_or_null(const char *s, bool *oom)
{
	if (!s)
		return NULL;
	char *d = strdup(s);
	if (!d)
		*oom = true;
	return d;
}

void n4j_neo4j_close(struct n4j_neo4j *n)
{
	if (!n)
		return;
	/* the pool's connections borrow nothing after close, so the password can go after */
	n4j_bolt_cluster_free(n->cl);
	n4j_wipe_free(n->password);
	for (size_t i = 0; i < n->n_seeds; i++)
		free(n->seeds[i]);
	free(n->seeds);
	free(n->user);
	free(n->ca_file);
	free(n);
}

int n4j_neo4j_open(const struct n4j_neo4j_opts *o, struct n4j_neo4j **out, struct n4j_error *err)
{
	*out = NULL;
	if (!o->seeds || !o->seeds[0])
		return n4j_err(err, N4J_EINVAL, "neo4j: no server address to connect to");
	if (!o->user || !o->password)
		return n4j_err(err, N4J_EINVAL, "neo4j: the admin user and password are required");
	struct n4j_neo4j *n = calloc(1, sizeof *n);
	if (!n)
		return n4j_err(err, N4J_ENOMEM, "neo4j: out of memory");
	bool oom = false;
	while (o->seeds[n->n_seeds])
		n->n_seeds++;
	n->seeds = calloc(n->n_seeds + 1, sizeof *n->seeds);
	if (!n->seeds) {
		oom = true;
		n->n_seeds = 0;
	}
	for (size_t i = 0; n->seeds && i < n->n_seeds; i++)
		n->seeds[i] = dup_or_null(o->seeds[i], &oom);
	n->user = dup_or_null(o->user, &oom);
	n->password = dup_or_null(o->password, &oom);
	n->ca_file = dup_or_null(o->ca_file, &oom);
	if (oom) {
		n4j_neo4j_close(n);
		return n4j_err(err, N4J_ENOMEM, "neo4j: out of memory");
	}
	n->enterprise = o->enterprise;
	n->tls = o->tls;
	n->resolve = o->resolve;
	n->resolve_ctx = o->resolve_ctx;
	n->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 5000;

	struct n4j_bolt_cluster_config cc = {
		.base =
			{
				/* TLS verifies the advertised DNS name (the cluster handle sets
				 * tls_host to it) against the cluster's CA (no ca_file: the
				 * system store); plaintext only when the cluster has no TLS */
				.tls = o->tls ? N4J_BOLT_TLS_VERIFY_FULL : N4J_BOLT_TLS_NONE,
				.ca_file = n->ca_file,
				.user = n->user,
				.password = n->password,
				.connect_timeout_ms = n->timeout_ms,
				.auth_timeout_ms = n->timeout_ms,
				.io_timeout_ms = n->timeout_ms,
			},
		.seeds = (const char *const *)n->seeds,
		/* same signature; the Bolt layer's typedef stays out of neo4j.h */
		.resolve = (n4j_bolt_resolver)o->resolve,
		.resolve_ctx = o->resolve_ctx,
		/* a reconcile must not hang on one cluster: retries end within two timeouts,
		 * the next reconcile observes again */
		.retry = {.initial_ms = 100, .max_ms = 1000, .deadline_ms = 2 * n->timeout_ms},
	};
	int rc = n4j_bolt_cluster_new(&cc, &n->cl, err);
	if (rc) {
		n4j_neo4j_close(n);
		return rc;
	}
	*out = n;
	return 0;
}

static bool str_eq(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcmp(a, b) == 0;
}

/* Compares every byte whatever the first difference, so timing says nothing about a
 * password. */
static bool secret_eq(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned char d = la != lb;
	for (size_t i = 0; i < la && i < lb; i++)
		d |= (unsigned char)(a[i] ^ b[i]);
	return d == 0;
}

bool n4j_neo4j_matches(const struct n4j_neo4j *n, const struct n4j_neo4j_opts *o)
{
	if (!n || !o || !o->seeds || !o->user || !o->password)
		return false;
	size_t k = 0;
	while (o->seeds[k])
		k++;
	if (k != n->n_seeds)
		return false;
	for (size_t i = 0; i < k; i++)
		if (strcmp(o->seeds[i], n->seeds[i]) != 0)
			return false;
	int timeout = o->timeout_ms > 0 ? o->timeout_ms : 5000;
	return n->enterprise == o->enterprise && n->tls == o->tls &&
	       str_eq(n->ca_file, o->ca_file) && str_eq(n->user, o->user) &&
	       n->resolve == o->resolve && n->resolve_ctx == o->resolve_ctx &&
	       n->timeout_ms == timeout && secret_eq(n->password, o->password);
}
