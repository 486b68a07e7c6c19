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

static bool is_ws(char c)
{
	return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

/* Only white space may follow the object. */
static int trailing(const char *d, size_t i, size_t len)
{
	for (; i < len; i++)
		if (!is_ws(d[i]))
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

/* Appends d[from, to) to the capture; false when out of memory. */
static bool keep(struct n4j_list_split *p, const char *d, size_t from, size_t to)
{
	if (to > from)
		n4j_buf_append(&p->cap, d + from, to - from);
	return !p->cap.oom;
}

/*
 * Items' metadata.managedFields (drop_managed_fields): the largest part of most objects,
 * and no transform keeps it. Its key is cut from the capture when its value opens, the
 * value is skipped, and one comma next to it goes too.
 */
static bool managed_fields_opens(struct n4j_list_split *p)
{
	p->key[p->keylen] = '\0';
	return p->drop_managed_fields && p->what == N4J_SPLIT_ITEM && p->in_item_md &&
	       p->depth == 4 && !strcmp(p->key, "managedFields");
}

int n4j_list_split_feed(struct n4j_list_split *p, const char *d, size_t len)
{
	size_t from = 0; /* start of the captured span within d */
	if (p->ended)
		return trailing(d, 0, len);
	for (size_t i = 0; i < len; i++) {
		if (p->in_str) {
			if (p->esc) {
				p->esc = false;
				continue;
			}
			/* The bulk of a list is string contents: jump to the next quote or
			 * backslash (memchr is vectorised; a byte loop was the splitter's cost). */
			const char *q = memchr(d + i, '"', len - i);
			const char *b = memchr(d + i, '\\', (size_t)((q ? q : d + len) - (d + i)));
			const char *stop = b ? b : q;
			size_t end = stop ? (size_t)(stop - d) : len;
			for (size_t k = i; p->key_on && k < end && p->keylen + 1 < sizeof(p->key);
			     k++)
				p->key[p->keylen++] = d[k];
			if (!stop)
				break;
			i = end;
			if (d[i] == '\\')
				p->esc = true;
			else
				p->in_str = p->key_on = false;
			continue;
		}
		char ch = d[i];
		if (p->drop_comma && !is_ws(ch)) {
			p->drop_comma = false;
			if (ch == ',') {
				if (!keep(p, d, from, i))
					return N4J_ENOMEM;
				from = i + 1;
				continue;
			}
			/* It was the last member: the comma before it goes instead. */
			if (!keep(p, d, from, i))
				return N4J_ENOMEM;
			from = i;
			while (p->cap.len && is_ws(p->cap.data[p->cap.len - 1]))
				p->cap.len--;
			if (p->cap.len && p->cap.data[p->cap.len - 1] == ',')
				p->cap.len--;
		}
		if (ch == '"') {
			p->in_str = true;
			/* The last string before an opener is that value's key: tracked at the
			 * top level, in an item and in an item's metadata. */
			if ((p->depth == 1 && p->what == N4J_SPLIT_NONE) ||
			    (p->what == N4J_SPLIT_ITEM && !p->skipping &&
			     (p->depth == 3 || (p->depth == 4 && p->in_item_md)))) {
				p->key_on = true;
				p->keylen = 0;
				p->key_at = p->cap.len + (i - from);
			}
		} else if (ch == '{' || ch == '[') {
			if (p->what == N4J_SPLIT_NONE) {
				open_value(p, ch);
				from = i;
			} else if (p->what == N4J_SPLIT_ITEM && !p->skipping) {
				if (p->depth == 3 && ch == '{') {
					p->key[p->keylen] = '\0';
					p->in_item_md = !strcmp(p->key, "metadata");
				} else if (managed_fields_opens(p)) {
					if (!keep(p, d, from, i))
						return N4J_ENOMEM;
					p->cap.len = p->key_at;
					p->skipping = true;
				}
			}
			p->depth++;
		} else if (ch == '}' || ch == ']') {
			if (p->depth == 0)
				return N4J_EPARSE;
			p->depth--;
			if (p->depth == 1)
				p->in_items = false;
			if (p->depth == 3)
				p->in_item_md = false;
			if (p->skipping && p->depth == 4) {
				p->skipping = false;
				p->drop_comma = true;
				from = i + 1;
			}
			if (p->what != N4J_SPLIT_NONE && p->depth == p->cap_depth) {
				if (!keep(p, d, from, i + 1))
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
	if (p->what != N4J_SPLIT_NONE && !p->skipping) {
		if (!keep(p, d, from, len))
			return N4J_ENOMEM;
		if (p->cap.len > p->max)
			return N4J_ELIMIT;
	}
	return 0;
}
