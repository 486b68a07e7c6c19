/*
 * Transforms: what the informer keeps of each object. Memory is the point (a cluster-wide
 * cache of full objects is the classic operator OOM), and so is secrecy: Secret values and
 * the last-applied annotation (which holds a copy of a Secret's data when it was created
 * with kubectl apply) never enter the cache.
 */
#include <stdlib.h>
#include <string.h>

#include "kube/kube.h"
#include "kube/machinery.h"

#define LAST_APPLIED "kubectl.kubernetes.io/last-applied-configuration"

/* Adds a copy of obj[name] to out if present; false only on allocation failure. */
static bool copy_field(cJSON *out, const cJSON *obj, const char *name)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, name);
	if (!it)
		return true;
	cJSON *d = cJSON_Duplicate(it, 1);
	return d && cJSON_AddItemToObject(out, name, d);
}

/* apiVersion, kind and metadata without managedFields or the last-applied annotation. */
static cJSON *trim_metadata(const cJSON *obj)
{
	if (!cJSON_IsObject(obj))
		return NULL;
	cJSON *out = cJSON_CreateObject();
	if (!out || !copy_field(out, obj, "apiVersion") || !copy_field(out, obj, "kind"))
		goto fail;
	const cJSON *md = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
	if (cJSON_IsObject(md)) {
		cJSON *m = cJSON_CreateObject();
		if (!m || !cJSON_AddItemToObject(out, "metadata", m)) {
			cJSON_Delete(m);
			goto fail;
		}
		const cJSON *f;
		cJSON_ArrayForEach(f, md)
		{
			if (!f->string || strcmp(f->string, "managedFields") == 0)
				continue;
			cJSON *d = cJSON_Duplicate(f, 1);
			if (!d || !cJSON_AddItemToObject(m, f->string, d)) {
				cJSON_Delete(d);
				goto fail;
			}
		}
		cJSON *ann = cJSON_GetObjectItemCaseSensitive(m, "annotations");
		if (ann) {
			cJSON_DeleteItemFromObjectCaseSensitive(ann, LAST_APPLIED);
			if (!ann->child)
				cJSON_DeleteItemFromObjectCaseSensitive(m, "annotations");
		}
	}
	return out;
fail:
	cJSON_Delete(out);
	return NULL;
}

cJSON *n4j_transform_metadata(const cJSON *obj, void *ud)
{
	return trim_metadata(obj);
}

/* Copies src[path...] into dst, creating the intermediate objects; false on OOM. */
static bool copy_path(cJSON *dst, const cJSON *src, const char *const *path, size_t n)
{
	for (size_t i = 0; i + 1 < n; i++) {
		src = cJSON_GetObjectItemCaseSensitive(src, path[i]);
		if (!cJSON_IsObject(src))
			return true;
		cJSON *next = cJSON_GetObjectItemCaseSensitive(dst, path[i]);
		if (!next) {
			next = cJSON_CreateObject();
			if (!next || !cJSON_AddItemToObject(dst, path[i], next)) {
				cJSON_Delete(next);
				return false;
			}
		}
		dst = next;
	}
	return copy_field(dst, src, path[n - 1]);
}

/*
 * Names and images of a pod spec's containers: the live fields whose drift the operator
 * watches (reference §5.5), without the rest of a pod template.
 */
static bool copy_images(cJSON *dst_spec, const cJSON *podspec, const char *list)
{
	const cJSON *cs = cJSON_GetObjectItemCaseSensitive(podspec, list);
	if (!cJSON_IsArray(cs))
		return true;
	cJSON *arr = cJSON_CreateArray();
	if (!arr || !cJSON_AddItemToObject(dst_spec, list, arr)) {
		cJSON_Delete(arr);
		return false;
	}
	const cJSON *c;
	cJSON_ArrayForEach(c, cs)
	{
		cJSON *o = cJSON_CreateObject();
		if (!o || !cJSON_AddItemToArray(arr, o)) {
			cJSON_Delete(o);
			return false;
		}
		if (!copy_field(o, c, "name") || !copy_field(o, c, "image"))
			return false;
	}
	return true;
}

cJSON *n4j_transform_status(const cJSON *obj, void *ud)
{
	cJSON *out = trim_metadata(obj);
	if (!out)
		return NULL;
	if (!copy_field(out, obj, "status"))
		goto fail;
	const cJSON *spec = cJSON_GetObjectItemCaseSensitive(obj, "spec");
	if (cJSON_IsObject(spec)) {
		/* A digest of the whole spec detects any change; a few fields stay readable. */
		char *txt = cJSON_PrintUnformatted(spec);
		if (!txt)
			goto fail;
		char hex[N4J_SHA256_HEX_LEN + 1];
		n4j_sha256_hex(txt, strlen(txt), hex);
		free(txt);
		cJSON *s = cJSON_CreateObject();
		if (!s || !cJSON_AddItemToObject(out, "spec", s)) {
			cJSON_Delete(s);
			goto fail;
		}
		if (!cJSON_AddStringToObject(s, "n4jSpecSha256", hex))
			goto fail;
		static const char *const replicas[] = {"replicas"};
		static const char *const node[] = {"nodeName"};
		static const char *const storage[] = {"resources", "requests", "storage"};
		static const char *const volname[] = {"volumeName"};
		if (!copy_path(s, spec, replicas, 1) || !copy_path(s, spec, node, 1) ||
		    !copy_path(s, spec, storage, 3) || !copy_path(s, spec, volname, 1))
			goto fail;
		if (!copy_images(s, spec, "containers") || !copy_images(s, spec, "initContainers"))
			goto fail;
		const cJSON *tpl = cJSON_GetObjectItemCaseSensitive(spec, "template");
		const cJSON *tspec = cJSON_GetObjectItemCaseSensitive(tpl, "spec");
		if (cJSON_IsObject(tspec)) {
			cJSON *t = cJSON_AddObjectToObject(s, "template");
			cJSON *ts = t ? cJSON_AddObjectToObject(t, "spec") : NULL;
			if (!ts || !copy_images(ts, tspec, "containers") ||
			    !copy_images(ts, tspec, "initContainers"))
				goto fail;
		}
		const cJSON *vcts = cJSON_GetObjectItemCaseSensitive(spec, "volumeClaimTemplates");
		if (cJSON_IsArray(vcts)) {
			cJSON *arr = cJSON_AddArrayToObject(s, "volumeClaimTemplates");
			if (!arr)
				goto fail;
			const cJSON *v;
			cJSON_ArrayForEach(v, vcts)
			{
				cJSON *o = cJSON_CreateObject();
				if (!o || !cJSON_AddItemToArray(arr, o))
					goto fail_o;
				static const char *const vname[] = {"metadata", "name"};
				static const char *const vstor[] = {"spec", "resources", "requests",
								    "storage"};
				if (!copy_path(o, v, vname, 2) || !copy_path(o, v, vstor, 4))
					goto fail;
				continue;
			fail_o:
				cJSON_Delete(o);
				goto fail;
			}
		}
	}
	return out;
fail:
	cJSON_Delete(out);
	return NULL;
}

cJSON *n4j_transform_secret(const cJSON *obj, void *ud)
{
	cJSON *out = trim_metadata(obj);
	if (!out)
		return NULL;
	if (!copy_field(out, obj, "type") || !copy_field(out, obj, "immutable"))
		goto fail;
	/* Keys only, with empty values: which keys exist is what a reconcile checks. */
	const cJSON *maps[] = {cJSON_GetObjectItemCaseSensitive(obj, "data"),
			       cJSON_GetObjectItemCaseSensitive(obj, "stringData")};
	cJSON *data = NULL;
	for (size_t i = 0; i < 2; i++) {
		const cJSON *k;
		if (!cJSON_IsObject(maps[i]))
			continue;
		if (!data && !(data = cJSON_AddObjectToObject(out, "data")))
			goto fail;
		cJSON_ArrayForEach(k, maps[i])
		{
			if (k->string && !cJSON_GetObjectItemCaseSensitive(data, k->string) &&
			    !cJSON_AddStringToObject(data, k->string, ""))
				goto fail;
		}
	}
	return out;
fail:
	cJSON_Delete(out);
	return NULL;
}
