/*
 * Reaching Neo4j: the seeds (advertised names of the pods that exist, DESIGN §8.14), the
 * resolver that maps an advertised name to its pod's IP from the pod cache, the TLS CA,
 * and the handle, reopened when any of those options changed.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "controller/internal.h"

static int resolve(void *ctx, const char *advertised, char *out, size_t outlen)
{
	const struct ctl_resolver *r = ctx;
	if (!advertised)
		return N4J_EINVAL;
	size_t host = strcspn(advertised, ".:");
	const char *port = strrchr(advertised, ':');
	for (size_t i = 0; i < r->n; i++) {
		if (strlen(r->pods[i]) != host || strncmp(r->pods[i], advertised, host) != 0)
			continue;
		int n = snprintf(out, outlen, "%s%s", r->ips[i], port ? port : ":7687");
		return n > 0 && (size_t)n < outlen ? 0 : N4J_ELIMIT;
	}
	return N4J_ENOTFOUND;
}

static int resolver_set(struct ctl_resolver *r, const struct ctl_pods *p)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->pods[i]);
		free(r->ips[i]);
	}
	r->n = 0;
	char **pods = realloc(r->pods, (p->n_pods + 1) * sizeof(char *));
	if (pods)
		r->pods = pods;
	char **ips = realloc(r->ips, (p->n_pods + 1) * sizeof(char *));
	if (ips)
		r->ips = ips;
	if (!pods || !ips)
		return N4J_ENOMEM;
	for (size_t i = 0; i < p->n_pods; i++) {
		if (!p->pods[i].ip || p->pods[i].deleting)
			continue;
		r->pods[r->n] = strdup(p->pods[i].name);
		r->ips[r->n] = strdup(p->pods[i].ip);
		if (!r->pods[r->n] || !r->ips[r->n]) {
			free(r->pods[r->n]);
			free(r->ips[r->n]);
			return N4J_ENOMEM;
		}
		r->n++;
	}
	return 0;
}

/* The CA of the TLS Secret (read once per reconcile by the caller) in a private file the
 * handle can read (mode 0600); kept for the entry's life and rewritten when the CA changes.
 * NULL and a reason when there is none. */
static const char *ca_file(struct ctl_entry *en, const cJSON *sec, const char **why)
{
	if (!sec) {
		*why = "the TLS Secret cannot be read";
		return NULL;
	}
	char *ca = ctl_secret_value(sec, "ca.crt");
	if (!ca) {
		*why = NULL; /* no ca.crt: the system store verifies (a public CA) */
		return NULL;
	}
	char sha[N4J_SHA256_HEX_LEN + 1];
	n4j_sha256_hex(ca, strlen(ca), sha);
	if (en->ca_file && en->ca_sha && strcmp(en->ca_sha, sha) == 0) {
		free(ca);
		return en->ca_file;
	}
	if (!en->ca_file) {
		const char *dir = getenv("TMPDIR");
		char path[512];
		snprintf(path, sizeof(path), "%s/n4j-ca-XXXXXX", dir && *dir ? dir : "/tmp");
		int fd = mkstemp(path); /* mode 0600 */
		if (fd < 0) {
			free(ca);
			*why = "cannot write the TLS CA file";
			return NULL;
		}
		close(fd);
		en->ca_file = strdup(path);
		if (!en->ca_file) {
			unlink(path);
			free(ca);
			*why = "out of memory";
			return NULL;
		}
	}
	int fd = open(en->ca_file, O_WRONLY | O_TRUNC);
	size_t len = strlen(ca);
	bool ok = fd >= 0 && write(fd, ca, len) == (ssize_t)len;
	if (fd >= 0)
		close(fd);
	free(ca);
	free(en->ca_sha);
	en->ca_sha = ok ? strdup(sha) : NULL;
	if (!ok) {
		*why = "cannot write the TLS CA file";
		return NULL;
	}
	/* A rotated CA: reconnect with it. */
	n4j_neo4j_close(en->neo);
	en->neo = NULL;
	return en->ca_file;
}

int ctl_neo_observe(struct n4j_controller *c, struct n4j_arena *a, struct ctl_entry *en,
		    const struct n4j_cluster *cl, const struct ctl_pods *p, const char *password,
		    const cJSON *tls_secret, struct n4j_observed *out)
{
	memset(out, 0, sizeof(*out));
	bool ee = cl->spec.edition == N4J_ENTERPRISE;
	const char *domain = c->cfg.facts.cluster_domain && *c->cfg.facts.cluster_domain
				     ? c->cfg.facts.cluster_domain
				     : "cluster.local";
	const char **seeds = n4j_arena_calloc(a, p->n_pods + 1, sizeof(char *));
	if (!seeds)
		return N4J_ENOMEM;
	size_t n = 0;
	for (size_t i = 0; i < p->n_pods; i++) {
		const struct n4j_obs_pod *pod = &p->pods[i];
		if (pod->deleting || (!ee && pod->ordinal != 0))
			continue; /* Community: the one server, pod 0 */
		seeds[n] =
			n4j_arena_printf(a, "%s.%s-headless.%s.svc.%s:%d", pod->name, cl->meta.name,
					 cl->meta.namespace_, domain, N4J_PORT_BOLT);
		if (!seeds[n++])
			return N4J_ENOMEM;
	}
	if (!n) {
		out->error = "no server pod exists yet";
		return 0;
	}
	if (!password) {
		out->error = "no admin password";
		return 0;
	}
	if (resolver_set(&en->resolver, p))
		return N4J_ENOMEM;
	struct n4j_neo4j_opts o = {
		.enterprise = ee,
		.seeds = seeds,
		.resolve = resolve,
		.resolve_ctx = &en->resolver,
		.user = "neo4j",
		.password = password,
		.timeout_ms = c->cfg.bolt_timeout_ms,
	};
	if (cl->spec.tls.enabled) {
		const char *why = NULL;
		o.tls = true;
		o.ca_file = ca_file(en, tls_secret, &why);
		if (!o.ca_file && why) {
			out->error = why;
			return 0;
		}
	}
	if (en->neo && !n4j_neo4j_matches(en->neo, &o)) {
		n4j_neo4j_close(en->neo);
		en->neo = NULL;
	}
	struct n4j_error err = {0};
	if (!en->neo && n4j_neo4j_open(&o, &en->neo, &err)) {
		en->neo = NULL;
		out->error = n4j_arena_strdup(a, err.msg);
		return 0;
	}
	int rc = n4j_observe(en->neo, a, cl, out, &err);
	if (!out->reachable || rc)
		ctl_count_bolt_error(c, en->neo);
	if (rc) {
		/* Not reachable is not an error of the reconcile: the planner waits. */
		memset(out, 0, sizeof(*out));
		out->error = n4j_arena_strdup(a, err.msg[0] ? err.msg : "observe failed");
		if (rc == N4J_ENOMEM)
			return rc;
	}
	return 0;
}
