/* Shared set-up of the machinery env tests: a real client from $KUBECONFIG (exported by
 * tests/env/with-env), a namespace of our own, and a small pass/fail counter. */
#ifndef N4J_ENVMACH_H
#define N4J_ENVMACH_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "kube/kube.h"
#include "kube/machinery.h"

static inline struct n4j_kube_client *env_client(void)
{
	struct n4j_kube_config *cfg = NULL;
	struct n4j_error err = {0};
	if (n4j_kube_config_load(NULL, NULL, &cfg, &err) != 0) {
		fprintf(stderr, "kubeconfig: %s\n", err.msg);
		exit(1);
	}
	struct n4j_kube_client *c = NULL;
	if (n4j_kube_client_new(cfg, NULL, &c, &err) != 0) {
		fprintf(stderr, "client: %s\n", err.msg);
		exit(1);
	}
	n4j_kube_config_free(cfg);
	return c;
}

static inline cJSON *env_create(struct n4j_kube_client *c, const struct n4j_kube_resource *r,
				const char *ns, const char *json)
{
	cJSON *o = cJSON_Parse(json), *out = NULL;
	struct n4j_kube_error e;
	memset(&e, 0, sizeof(e));
	if (!o || n4j_kube_create(c, r, ns, o, &out, &e) != 0) {
		fprintf(stderr, "create %s: %s\n", r->plural, e.base.msg);
		cJSON_Delete(o);
		return NULL;
	}
	cJSON_Delete(o);
	return out;
}

static char env_ns_name[64];

static inline const char *env_namespace(struct n4j_kube_client *c, const char *what)
{
	snprintf(env_ns_name, sizeof(env_ns_name), "kube-machinery-%s-%ld", what, (long)getpid());
	char body[256];
	snprintf(body, sizeof(body),
		 "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"%s\"}}",
		 env_ns_name);
	cJSON *ns = env_create(c, &N4J_RES_NAMESPACES, NULL, body);
	if (!ns)
		exit(1);
	cJSON_Delete(ns);
	return env_ns_name;
}

static inline void env_cleanup(struct n4j_kube_client *c)
{
	struct n4j_kube_error e;
	memset(&e, 0, sizeof(e));
	if (env_ns_name[0])
		n4j_kube_delete(c, &N4J_RES_NAMESPACES, NULL, env_ns_name, NULL, &e);
}

static inline int env_done(struct n4j_kube_client *c)
{
	env_cleanup(c);
	n4j_kube_client_free(c);
	return check_summary();
}

#endif
