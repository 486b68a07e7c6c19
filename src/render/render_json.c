/* The sticky-failure cJSON builder every renderer uses (see render_internal.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "render/render_internal.h"

void rx_add(struct rx *x, cJSON *parent, const char *key, cJSON *item)
{
	if (!item) {
		x->oom = true;
		return;
	}
	if (!parent) {
		/* The parent failed earlier and x->oom is already set. */
		cJSON_Delete(item);
		x->oom = true;
		return;
	}
	cJSON_bool ok =
		key ? cJSON_AddItemToObject(parent, key, item) : cJSON_AddItemToArray(parent, item);
	if (!ok) {
		cJSON_Delete(item);
		x->oom = true;
	}
}

/* Adds and returns the container, or NULL when anything failed. */
static cJSON *add_container(struct rx *x, cJSON *parent, const char *key, cJSON *item)
{
	if (!item || !parent) {
		rx_add(x, parent, key, item);
		return NULL;
	}
	cJSON_bool ok =
		key ? cJSON_AddItemToObject(parent, key, item) : cJSON_AddItemToArray(parent, item);
	if (!ok) {
		cJSON_Delete(item);
		x->oom = true;
		return NULL;
	}
	return item;
}

cJSON *rx_obj(struct rx *x, cJSON *parent, const char *key)
{
	return add_container(x, parent, key, cJSON_CreateObject());
}

cJSON *rx_arr(struct rx *x, cJSON *parent, const char *key)
{
	return add_container(x, parent, key, cJSON_CreateArray());
}

void rx_str(struct rx *x, cJSON *parent, const char *key, const char *val)
{
	/* A NULL value is a renderer bug; emitting "" keeps the output well-formed. */
	rx_add(x, parent, key, cJSON_CreateString(val ? val : ""));
}

void rx_strf(struct rx *x, cJSON *parent, const char *key, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		x->oom = true;
		return;
	}
	char *s = malloc((size_t)n + 1);
	if (!s) {
		x->oom = true;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	rx_add(x, parent, key, cJSON_CreateString(s));
	free(s);
}

char *rx_printf(struct rx *x, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	char *s = n < 0 ? NULL : malloc((size_t)n + 1);
	if (!s) {
		x->oom = true;
		return NULL;
	}
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return s;
}

void rx_int(struct rx *x, cJSON *parent, const char *key, int64_t v)
{
	rx_add(x, parent, key, cJSON_CreateNumber((double)v));
}

void rx_bool(struct rx *x, cJSON *parent, const char *key, bool v)
{
	rx_add(x, parent, key, cJSON_CreateBool(v));
}

cJSON *rx_map(struct rx *x, cJSON *parent, const char *key, const struct n4j_str_map *m)
{
	cJSON *o = rx_obj(x, parent, key);
	for (size_t i = 0; m && i < m->n; i++)
		rx_str(x, o, m->keys[i], m->values[i]);
	return o;
}
