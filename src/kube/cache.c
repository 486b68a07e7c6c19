/*
 * Cached objects: immutable after creation, freed by the last reference.
 *
 * The trimmed tree is copied into ONE allocation (nodes, then strings) instead of one
 * malloc per node and per string: with cJSON a small object is ~35 allocations, and their
 * headers and rounding were half of the cache's memory (bench/kube). This is safe because
 * a cached tree is never modified or freed node by node: readers get `const cJSON *`, and
 * cJSON_Duplicate of it copies every string (no cJSON_StringIsConst flag is set here).
 * Common member names point to static strings, which Duplicate copies just the same.
 */
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#include "kube/kube.h"
#include "kube/machinery.h"

struct cached_alloc {
	struct n4j_cached pub;
	/* then: the key, the nodes (aligned), the strings */
};

static const char *const common_names[] = {
	"apiVersion",
	"kind",
	"metadata",
	"name",
	"namespace",
	"uid",
	"resourceVersion",
	"generation",
	"creationTimestamp",
	"labels",
	"annotations",
	"ownerReferences",
	"controller",
	"blockOwnerDeletion",
	"finalizers",
	"deletionTimestamp",
	"status",
	"spec",
	"conditions",
	"type",
	"reason",
	"message",
	"lastTransitionTime",
	"observedGeneration",
	"replicas",
	"readyReplicas",
	"currentReplicas",
	"updatedReplicas",
	"availableReplicas",
	"currentRevision",
	"updateRevision",
	"collisionCount",
	"image",
	"containers",
	"template",
	"data",
	"app.kubernetes.io/name",
	"app.kubernetes.io/instance",
	"app.kubernetes.io/managed-by",
	"app.kubernetes.io/component",
	"app.kubernetes.io/version",
};

static const char *common_name(const char *s)
{
	for (size_t i = 0; i < sizeof(common_names) / sizeof(common_names[0]); i++)
		if (strcmp(s, common_names[i]) == 0)
			return common_names[i];
	return NULL;
}

/* Sizes of a tree: node count and bytes of strings not served by common_names. */
static void measure(const cJSON *n, size_t *nodes, size_t *bytes)
{
	for (; n; n = n->next) {
		(*nodes)++;
		if (n->string && !common_name(n->string))
			*bytes += strlen(n->string) + 1;
		if (n->valuestring)
			*bytes += strlen(n->valuestring) + 1;
		measure(n->child, nodes, bytes);
	}
}

struct packer {
	cJSON *nodes;
	size_t next;
	char *str;
};

static char *pack_str(struct packer *p, const char *s)
{
	size_t l = strlen(s) + 1;
	char *d = p->str;
	memcpy(d, s, l);
	p->str += l;
	return d;
}

/* Copies the sibling list starting at n; returns its first copy. */
static cJSON *pack(struct packer *p, const cJSON *n)
{
	cJSON *first = NULL, *prev = NULL;
	for (; n; n = n->next) {
		cJSON *c = &p->nodes[p->next++];
		memset(c, 0, sizeof(*c));
		c->type = n->type & ~(cJSON_IsReference | cJSON_StringIsConst);
		c->valueint = n->valueint;
		c->valuedouble = n->valuedouble;
		if (n->string) {
			const char *k = common_name(n->string);
			c->string = k ? (char *)k : pack_str(p, n->string);
		}
		if (n->valuestring)
			c->valuestring = pack_str(p, n->valuestring);
		c->child = pack(p, n->child);
		/* cJSON's list shape: prev of the first node points at the last one. */
		if (!first) {
			first = c;
		} else {
			prev->next = c;
			c->prev = prev;
		}
		prev = c;
	}
	if (first)
		first->prev = prev;
	return first;
}

struct n4j_cached *n4j_cached_new(cJSON *obj, const char *key)
{
	size_t nodes = 0, bytes = 0;
	/* Measure only obj itself (not siblings it might have). */
	cJSON *saved_next = obj->next;
	obj->next = NULL;
	measure(obj, &nodes, &bytes);
	size_t kl = strlen(key) + 1;
	size_t off_nodes = sizeof(struct cached_alloc) + kl;
	off_nodes = (off_nodes + alignof(cJSON) - 1) / alignof(cJSON) * alignof(cJSON);
	size_t total = off_nodes + nodes * sizeof(cJSON) + bytes;
	char *blk = malloc(total);
	if (!blk) {
		obj->next = saved_next;
		cJSON_Delete(obj);
		return NULL;
	}
	struct cached_alloc *c = (struct cached_alloc *)blk;
	char *k = blk + sizeof(*c);
	memcpy(k, key, kl);
	struct packer p = {.nodes = (cJSON *)(blk + off_nodes),
			   .next = 0,
			   .str = blk + off_nodes + nodes * sizeof(cJSON)};
	cJSON *root = pack(&p, obj);
	root->prev = NULL; /* a detached root, as cJSON_Parse returns */
	obj->next = saved_next;
	cJSON_Delete(obj);
	c->pub.obj = root;
	c->pub.key = k;
	atomic_init(&c->pub.refs, 1);
	return &c->pub;
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
		free(o); /* one block: header, key, nodes and strings */
}
