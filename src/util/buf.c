#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"

void n4j_buf_init(struct n4j_buf *b)
{
	memset(b, 0, sizeof(*b));
}

void n4j_buf_free(struct n4j_buf *b)
{
	free(b->data);
	n4j_buf_init(b);
}

void n4j_buf_reset(struct n4j_buf *b)
{
	b->len = 0;
	b->oom = false;
	if (b->data)
		b->data[0] = '\0';
}

static bool reserve(struct n4j_buf *b, size_t extra)
{
	if (b->oom)
		return false;
	if (extra > SIZE_MAX - b->len - 1) {
		b->oom = true;
		return false;
	}
	size_t need = b->len + extra + 1;
	if (need <= b->cap)
		return true;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	char *p = realloc(b->data, cap);
	if (!p) {
		b->oom = true;
		return false;
	}
	b->data = p;
	b->cap = cap;
	return true;
}

void n4j_buf_append(struct n4j_buf *b, const void *data, size_t len)
{
	if (!reserve(b, len))
		return;
	if (len)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
}

void n4j_buf_puts(struct n4j_buf *b, const char *s)
{
	n4j_buf_append(b, s, strlen(s));
}

void n4j_buf_putc(struct n4j_buf *b, char c)
{
	n4j_buf_append(b, &c, 1);
}

void n4j_buf_printf(struct n4j_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->oom = true;
		return;
	}
	if (!reserve(b, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

const char *n4j_buf_cstr(struct n4j_buf *b)
{
	if (b->oom)
		return NULL;
	if (!b->data && !reserve(b, 0))
		return NULL;
	b->data[b->len] = '\0';
	return b->data;
}

char *n4j_buf_detach(struct n4j_buf *b, size_t *len)
{
	if (b->oom || !n4j_buf_cstr(b)) {
		n4j_buf_free(b);
		return NULL;
	}
	char *p = b->data;
	if (len)
		*len = b->len;
	n4j_buf_init(b);
	return p;
}
