/*
 * The LIST response splitter: bytes in any chunking → the text of each element of the
 * top-level "items" array, and of the top-level "metadata" object, as soon as it is
 * complete; everything else is skipped. Pure (tested in every chunking, like the watch
 * decoder): the caller parses each value alone, so a list is never held whole.
 */
#include <string.h>

#include "kube/internal.h"

void n4j_list_split_init(struct n4j_list_split *p, size_t max,
			 int (*on_value)(void *ud, bool is_meta, const char *text, size_t len),
			 void *ud)
{
	memset(p, 0, sizeof(*p));
	n4j_buf_init(&p->cap);
	p->max = max;
	p->on_value = on_value;
	p->ud = ud;
}

void n4j_list_split_free(struct n4j_list_split *p)
{
	n4j_buf_free(&p->cap);
}

bool n4j_list_split_done(const struct n4j_list_split *p)
{
	return p->ended && p->depth == 0 && !p->in_str;
}

/* Only white space may follow the object. */
static int trailing(const char *d, size_t i, size_t len)
{
	for (; i < len; i++)
		if (d[i] != ' ' && d[i] != '\n' && d[i] != '\r' && d[i] != '\t')
			return N4J_EPARSE;
	return 0;
}

/* A value opens at this depth: start capturing it if it is metadata or an item. */
static void open_value(struct n4j_list_split *p, char ch)
{
	p->key[p->keylen] = '\0';
	if (p->depth == 1 && ch == '{' && !strcmp(p->key, "metadata"))
		p->what = N4J_SPLIT_META;
	else if (p->depth == 1 && ch == '[' && !strcmp(p->key, "items"))
		p->in_items = true;
	else if (p->depth == 2 && p->in_items && ch == '{')
		p->what = N4J_SPLIT_ITEM;
	p->cap_depth = p->depth;
}

int n4j_list_split_feed(struct n4j_list_split *p, const char *d, size_t len)
{
	size_t from = 0; /* start of the captured span within d */
	if (p->ended)
		return trailing(d, 0, len);
	for (size_t i = 0; i < len; i++) {
		char ch = d[i];
		if (p->in_str) {
			if (p->esc)
				p->esc = false;
			else if (ch == '\\')
				p->esc = true;
			else if (ch == '"')
				p->in_str = p->key_on = false;
			else if (p->key_on && p->keylen + 1 < sizeof(p->key))
				p->key[p->keylen++] = ch;
			continue;
		}
		if (ch == '"') {
			p->in_str = true;
			/* At depth 1 the last string before an opener is that value's key. */
			if (p->depth == 1 && p->what == N4J_SPLIT_NONE) {
				p->key_on = true;
				p->keylen = 0;
			}
		} else if (ch == '{' || ch == '[') {
			if (p->what == N4J_SPLIT_NONE) {
				open_value(p, ch);
				from = i;
			}
			p->depth++;
		} else if (ch == '}' || ch == ']') {
			if (p->depth == 0)
				return N4J_EPARSE;
			p->depth--;
			if (p->depth == 1)
				p->in_items = false;
			if (p->what != N4J_SPLIT_NONE && p->depth == p->cap_depth) {
				n4j_buf_append(&p->cap, d + from, i + 1 - from);
				if (p->cap.oom)
					return N4J_ENOMEM;
				if (p->cap.len > p->max)
					return N4J_ELIMIT;
				bool meta = p->what == N4J_SPLIT_META;
				p->what = N4J_SPLIT_NONE;
				int rc = p->on_value(p->ud, meta, p->cap.data, p->cap.len);
				n4j_buf_reset(&p->cap);
				if (rc)
					return rc;
			}
			if (p->depth == 0) {
				p->ended = true;
				return trailing(d, i + 1, len);
			}
		}
	}
	if (p->what != N4J_SPLIT_NONE) {
		n4j_buf_append(&p->cap, d + from, len - from);
		if (p->cap.oom)
			return N4J_ENOMEM;
		if (p->cap.len > p->max)
			return N4J_ELIMIT;
	}
	return 0;
}
