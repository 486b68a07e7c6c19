/*
 * Cached objects: immutable after creation, freed by the last reference.
 *
 * An object is stored as the compact JSON text of its trimmed tree, in ONE allocation
 * with the header, the key and the resourceVersion. A cJSON tree costs a 64-byte node per
 * value plus its strings (~1.6 KB for a trimmed ConfigMap, bench/kube); the text is a
 * third of that, and the informer itself only needs the key and the RV (relist diffs).
 * Readers that need fields parse on demand (n4j_cached_parse): a private tree they free,
 * so nothing a reader does can touch the shared object.
 */
#include <stdlib.h>
#include <string.h>

#include "kube/kube.h"
#include "kube/machinery.h"

/* One block: header, key, rv, json (all NUL-terminated; chars need no alignment). */
static struct n4j_cached *block(const char *key, const char *rv, const char *json, size_t jl)
{
	size_t kl = strlen(key) + 1, rl = strlen(rv) + 1;
	char *blk = malloc(sizeof(struct n4j_cached) + kl + rl + jl + 1);
	if (!blk)
		return NULL;
	struct n4j_cached *c = (struct n4j_cached *)blk;
	char *k = blk + sizeof(*c), *r = k + kl, *j = r + rl;
	memcpy(k, key, kl);
	memcpy(r, rv, rl);
	memcpy(j, json, jl + 1);
	c->json = j;
	c->json_len = jl;
	c->resource_version = r;
	c->key = k;
	atomic_init(&c->refs, 1);
	return c;
}

struct n4j_cached *n4j_cached_new(cJSON *obj, const char *key)
{
	/* The printer writes obj only (never its siblings); NULL means out of memory. */
	char *txt = cJSON_PrintUnformatted(obj);
	/* rv points into obj: copy it before cJSON_Delete. */
	struct n4j_cached *c = txt ? block(key, n4j_mach_object_rv(obj), txt, strlen(txt)) : NULL;
	free(txt);
	cJSON_Delete(obj);
	return c;
}

struct n4j_cached *n4j_cached_from_text(const char *key, const char *rv, const char *json,
					size_t len)
{
	return block(key, rv, json, len);
}

cJSON *n4j_cached_parse(const struct n4j_cached *o)
{
	/* The text came from cJSON_PrintUnformatted, so a NULL here means out of memory. */
	return o ? cJSON_ParseWithLength(o->json, o->json_len) : NULL;
}

void n4j_cached_ref(struct n4j_cached *o)
{
	if (o)
		atomic_fetch_add_explicit(&o->refs, 1, memory_order_relaxed);
}

void n4j_cached_unref(struct n4j_cached *o)
{
	/* acq_rel: the thread that frees must see every reader's last use. */
	if (o && atomic_fetch_sub_explicit(&o->refs, 1, memory_order_acq_rel) == 1)
		free(o); /* one block: header, key, rv and text */
}
