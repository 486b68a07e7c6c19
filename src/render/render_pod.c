/* Pod pieces the server StatefulSet and the backup Jobs share. */
#include "render/render_internal.h"

/* The `restricted` Pod Security profile, with Neo4j's uid/gid 7474. */
void rx_pod_security(struct rx *x, cJSON *pod_spec)
{
	cJSON *sc = rx_obj(x, pod_spec, "securityContext");
	rx_bool(x, sc, "runAsNonRoot", true);
	rx_int(x, sc, "runAsUser", N4J_UID);
	rx_int(x, sc, "runAsGroup", N4J_UID);
	rx_int(x, sc, "fsGroup", N4J_UID);
	/* A full chown of a large /data on every start would delay each restart. */
	rx_str(x, sc, "fsGroupChangePolicy", "OnRootMismatch");
	rx_str(x, rx_obj(x, sc, "seccompProfile"), "type", "RuntimeDefault");
}

void rx_container_security(struct rx *x, cJSON *container, bool read_only_root)
{
	cJSON *sc = rx_obj(x, container, "securityContext");
	rx_bool(x, sc, "allowPrivilegeEscalation", false);
	rx_str(x, rx_arr(x, rx_obj(x, sc, "capabilities"), "drop"), NULL, "ALL");
	/* DESIGN §8.1: the Neo4j image's entrypoint rewrites $NEO4J_HOME/conf at start. */
	rx_bool(x, sc, "readOnlyRootFilesystem", read_only_root);
	rx_bool(x, sc, "runAsNonRoot", true);
}

void rx_resources(struct rx *x, cJSON *container, const struct n4j_str_map *requests,
		  const struct n4j_str_map *limits)
{
	if (!requests->n && !limits->n)
		return;
	cJSON *r = rx_obj(x, container, "resources");
	/* Quantities stay the strings the user wrote: the apiserver normalises them. */
	if (requests->n)
		rx_map(x, r, "requests", requests);
	if (limits->n)
		rx_map(x, r, "limits", limits);
}

void rx_mount(struct rx *x, cJSON *mounts, const char *name, const char *path, bool ro)
{
	cJSON *m = rx_obj(x, mounts, NULL);
	rx_str(x, m, "name", name);
	rx_str(x, m, "mountPath", path);
	if (ro)
		rx_bool(x, m, "readOnly", true);
}

void rx_env(struct rx *x, cJSON *env, const char *name, const char *value)
{
	cJSON *e = rx_obj(x, env, NULL);
	rx_str(x, e, "name", name);
	rx_str(x, e, "value", value);
}

void rx_pull_secrets(struct rx *x, cJSON *pod_spec, const struct n4j_cluster_spec *s)
{
	if (!s->n_pull_secrets)
		return;
	cJSON *arr = rx_arr(x, pod_spec, "imagePullSecrets");
	for (size_t i = 0; i < s->n_pull_secrets; i++)
		rx_str(x, rx_obj(x, arr, NULL), "name", s->pull_secrets[i]);
}

/*
 * One kubernetes.io/tls Secret projected once per SSL policy scope, in the
 * layout Neo4j expects under base_directory (private.key, public.crt,
 * trusted/). 0440: the private key is readable by the fsGroup only.
 */
void rx_ssl_volume(struct rx *x, cJSON *volumes, const char *secret, const char *const *scopes,
		   size_t n_scopes)
{
	static const struct {
		const char *key, *file;
	} files[] = {
		{"tls.key", "private.key"},
		{"tls.crt", "public.crt"},
		{"ca.crt", "trusted/ca.crt"},
	};
	cJSON *v = rx_obj(x, volumes, NULL);
	rx_str(x, v, "name", "ssl");
	cJSON *proj = rx_obj(x, v, "projected");
	rx_int(x, proj, "defaultMode", 0440);
	cJSON *src = rx_obj(x, rx_arr(x, proj, "sources"), NULL);
	cJSON *sec = rx_obj(x, src, "secret");
	rx_str(x, sec, "name", secret);
	cJSON *items = rx_arr(x, sec, "items");
	for (size_t i = 0; i < n_scopes; i++) {
		for (size_t j = 0; j < sizeof(files) / sizeof(files[0]); j++) {
			cJSON *it = rx_obj(x, items, NULL);
			rx_str(x, it, "key", files[j].key);
			rx_strf(x, it, "path", "%s/%s", scopes[i], files[j].file);
		}
	}
}
