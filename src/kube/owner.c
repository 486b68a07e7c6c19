/* Owner mapping: which reconcile key an event on a child object wakes (reference §3.1). */
#include <stdio.h>
#include <string.h>

#include "kube/kube.h"
#include "kube/machinery.h"

static const char *str_at(const cJSON *o, const char *name)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, name);
	return cJSON_IsString(it) ? it->valuestring : NULL;
}

static int put_key(const char *ns, const char *name, char *key, size_t key_size)
{
	if (!name || !*name)
		return N4J_ENOTFOUND;
	int n = ns && *ns ? snprintf(key, key_size, "%s/%s", ns, name)
			  : snprintf(key, key_size, "%s", name);
	return n < 0 || (size_t)n >= key_size ? N4J_ELIMIT : 0;
}

int n4j_owner_key(const cJSON *obj, const char *owner_kind, char *key, size_t key_size)
{
	if (!key || key_size == 0)
		return N4J_EINVAL;
	key[0] = '\0';
	const cJSON *md = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
	if (!cJSON_IsObject(md))
		return N4J_ENOTFOUND;
	/* An owner lives in the same namespace (or is cluster-scoped: then the key is ns/name
	 * too, which is how the operator's namespaced kinds are keyed). */
	const char *ns = str_at(md, "namespace");
	const cJSON *refs = cJSON_GetObjectItemCaseSensitive(md, "ownerReferences");
	const cJSON *r;
	cJSON_ArrayForEach(r, refs)
	{
		if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "controller")))
			continue;
		const char *kind = str_at(r, "kind");
		if (owner_kind && (!kind || strcmp(kind, owner_kind) != 0))
			continue;
		return put_key(ns, str_at(r, "name"), key, key_size);
	}
	const cJSON *labels = cJSON_GetObjectItemCaseSensitive(md, "labels");
	const char *inst = str_at(labels, "app.kubernetes.io/instance");
	return put_key(ns, inst, key, key_size);
}

int n4j_mach_object_key(const cJSON *obj, char *key, size_t size)
{
	const cJSON *md = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
	const char *name = str_at(md, "name");
	if (!name || !*name)
		return N4J_EINVAL;
	return put_key(str_at(md, "namespace"), name, key, size);
}

const char *n4j_mach_object_rv(const cJSON *obj)
{
	const char *rv =
		str_at(cJSON_GetObjectItemCaseSensitive(obj, "metadata"), "resourceVersion");
	return rv ? rv : "";
}
