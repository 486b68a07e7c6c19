#include <stdio.h>
#include <string.h>

#include "api/api.h"

void n4j_problems_init(struct n4j_problems *p, struct n4j_arena *a)
{
	memset(p, 0, sizeof(*p));
	p->arena = a;
}

int n4j_problem_add(struct n4j_problems *p, const char *path, const char *fmt, ...)
{
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 8;
		struct n4j_problem *items = n4j_arena_calloc(p->arena, cap, sizeof(*items));
		if (!items)
			return N4J_ENOMEM;
		if (p->n)
			memcpy(items, p->items, p->n * sizeof(*items));
		p->items = items;
		p->cap = cap;
	}
	va_list ap;
	va_start(ap, fmt);
	char *msg = n4j_arena_vprintf(p->arena, fmt, ap);
	va_end(ap);
	char *pth = n4j_arena_strdup(p->arena, path ? path : "");
	if (!msg || !pth)
		return N4J_ENOMEM;
	p->items[p->n].path = pth;
	p->items[p->n].message = msg;
	p->n++;
	return 0;
}
