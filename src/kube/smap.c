/* A small chained hash map used by the cache, the workqueue and the event recorder. */
#include <stdlib.h>
#include <string.h>

#include "kube/machinery.h"
#include "util/util.h"

static uint64_t hash_str(const char *s)
{
	/* FNV-1a: keys are short ns/name strings; no adversary chooses them in bulk. */
	uint64_t h = 1469598103934665603ULL;
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

void n4j_smap_init(struct n4j_smap *m)
{
	m->b = NULL;
	m->nb = 0;
	m->len = 0;
}

void n4j_smap_free(struct n4j_smap *m)
{
	for (size_t i = 0; i < m->nb; i++) {
		struct n4j_smap_node *n = m->b[i];
		while (n) {
			struct n4j_smap_node *next = n->next;
			free(n);
			n = next;
		}
	}
	free(m->b);
	n4j_smap_init(m);
}

static struct n4j_smap_node **find(const struct n4j_smap *m, const char *key, uint64_t h)
{
	if (!m->nb)
		return NULL;
	struct n4j_smap_node **p = &m->b[h & (m->nb - 1)];
	while (*p && ((*p)->hash != h || strcmp((*p)->key, key) != 0))
		p = &(*p)->next;
	return p;
}

void *n4j_smap_get(const struct n4j_smap *m, const char *key)
{
	struct n4j_smap_node **p = find(m, key, hash_str(key));
	return p && *p ? (*p)->val : NULL;
}

static int grow(struct n4j_smap *m)
{
	size_t nb = m->nb ? m->nb * 2 : 16;
	struct n4j_smap_node **b = calloc(nb, sizeof(*b));
	if (!b)
		return N4J_ENOMEM;
	for (size_t i = 0; i < m->nb; i++) {
		struct n4j_smap_node *n = m->b[i];
		while (n) {
			struct n4j_smap_node *next = n->next;
			n->next = b[n->hash & (nb - 1)];
			b[n->hash & (nb - 1)] = n;
			n = next;
		}
	}
	free(m->b);
	m->b = b;
	m->nb = nb;
	return 0;
}

int n4j_smap_put(struct n4j_smap *m, const char *key, void *val, void **old)
{
	uint64_t h = hash_str(key);
	struct n4j_smap_node **p = find(m, key, h);
	if (old)
		*old = NULL;
	if (p && *p) {
		if (old)
			*old = (*p)->val;
		(*p)->val = val;
		return 0;
	}
	/* Keep the load factor under 1 so chains stay short. */
	if (m->len + 1 > m->nb && grow(m) != 0)
		return N4J_ENOMEM;
	size_t kl = strlen(key);
	struct n4j_smap_node *n = malloc(sizeof(*n) + kl + 1);
	if (!n)
		return N4J_ENOMEM;
	memcpy(n->key, key, kl + 1);
	n->hash = h;
	n->val = val;
	n->next = m->b[h & (m->nb - 1)];
	m->b[h & (m->nb - 1)] = n;
	m->len++;
	return 0;
}

void *n4j_smap_del(struct n4j_smap *m, const char *key)
{
	struct n4j_smap_node **p = find(m, key, hash_str(key));
	if (!p || !*p)
		return NULL;
	struct n4j_smap_node *n = *p;
	void *v = n->val;
	*p = n->next;
	free(n);
	m->len--;
	return v;
}

void n4j_smap_each(const struct n4j_smap *m, void (*fn)(void *ud, const char *key, void *val),
		   void *ud)
{
	for (size_t i = 0; i < m->nb; i++)
		for (struct n4j_smap_node *n = m->b[i]; n; n = n->next)
			fn(ud, n->key, n->val);
}
