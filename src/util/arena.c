/*
 * A bump allocator made of chained blocks. One arena per unit of work: the
 * owner frees everything at once, so no code path can leak a partial result.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"

#define ARENA_BLOCK 8192
#define ARENA_ALIGN 16

struct block {
	struct block *next;
	size_t cap, used;
	_Alignas(ARENA_ALIGN) unsigned char data[];
};

struct cleanup {
	struct cleanup *next;
	void (*fn)(void *);
	void *ptr;
};

struct n4j_arena {
	struct block *head;
	struct cleanup *cleanups;
	size_t total;
};

struct n4j_arena *n4j_arena_new(void)
{
	return calloc(1, sizeof(struct n4j_arena));
}

void n4j_arena_free(struct n4j_arena *a)
{
	if (!a)
		return;
	for (struct cleanup *c = a->cleanups; c; c = c->next)
		c->fn(c->ptr);
	struct block *b = a->head;
	while (b) {
		struct block *next = b->next;
		free(b);
		b = next;
	}
	free(a);
}

void *n4j_arena_alloc(struct n4j_arena *a, size_t size)
{
	if (!a || size > SIZE_MAX / 2)
		return NULL;
	size_t need = (size + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
	if (need == 0)
		need = ARENA_ALIGN;
	struct block *b = a->head;
	if (!b || b->cap - b->used < need) {
		size_t cap = need > ARENA_BLOCK / 2 ? need : ARENA_BLOCK;
		struct block *nb = malloc(sizeof(*nb) + cap);
		if (!nb)
			return NULL;
		nb->cap = cap;
		nb->used = 0;
		/* Big one-off allocations go behind the current block so it stays usable. */
		if (b && need > ARENA_BLOCK / 2) {
			nb->next = b->next;
			b->next = nb;
		} else {
			nb->next = b;
			a->head = nb;
		}
		b = nb;
	}
	void *p = b->data + b->used;
	b->used += need;
	a->total += need;
	memset(p, 0, need);
	return p;
}

void *n4j_arena_calloc(struct n4j_arena *a, size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size)
		return NULL;
	return n4j_arena_alloc(a, n * size);
}

char *n4j_arena_strndup(struct n4j_arena *a, const char *s, size_t n)
{
	if (!s)
		return NULL;
	char *p = n4j_arena_alloc(a, n + 1);
	if (!p)
		return NULL;
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *n4j_arena_strdup(struct n4j_arena *a, const char *s)
{
	return s ? n4j_arena_strndup(a, s, strlen(s)) : NULL;
}

char *n4j_arena_vprintf(struct n4j_arena *a, const char *fmt, va_list ap)
{
	va_list ap2;
	va_copy(ap2, ap);
	int n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return NULL;
	char *p = n4j_arena_alloc(a, (size_t)n + 1);
	if (!p)
		return NULL;
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	return p;
}

char *n4j_arena_printf(struct n4j_arena *a, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *p = n4j_arena_vprintf(a, fmt, ap);
	va_end(ap);
	return p;
}

size_t n4j_arena_used(const struct n4j_arena *a)
{
	return a ? a->total : 0;
}

int n4j_arena_on_free(struct n4j_arena *a, void (*fn)(void *), void *ptr)
{
	struct cleanup *c = n4j_arena_alloc(a, sizeof(*c));
	if (!c)
		return N4J_ENOMEM;
	c->fn = fn;
	c->ptr = ptr;
	c->next = a->cleanups;
	a->cleanups = c;
	return 0;
}
