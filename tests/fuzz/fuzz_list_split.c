/*
 * The LIST response splitter on arbitrary bytes: the first byte picks the chunk size and
 * whether items' managedFields are dropped. Two properties beyond "no crash, no leak":
 * - the chunking changes nothing: fed whole or in chunks, the same values come out in the
 *   same order, with the same result;
 * - a valid JSON object in, valid JSON out: every value handed on parses, also after its
 *   managedFields were cut out (a stray comma would make the informer drop the object).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kube/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct seen {
	struct n4j_buf all; /* every value, each followed by a NUL and its kind */
	size_t n;
	bool check_json;
};

static int on_value(void *ud, bool is_meta, const char *text, size_t len)
{
	struct seen *s = ud;
	if (s->check_json) {
		cJSON *v = cJSON_ParseWithLength(text, len);
		if (!v)
			abort(); /* valid input, invalid value: a splitter bug */
		cJSON_Delete(v);
	}
	n4j_buf_append(&s->all, text, len);
	n4j_buf_putc(&s->all, '\0');
	n4j_buf_putc(&s->all, is_meta ? 'm' : 'i');
	return ++s->n > 1000 ? N4J_ELIMIT : 0;
}

static int split(const char *d, size_t size, size_t chunk, bool drop, bool check_json,
		 struct seen *s)
{
	struct n4j_list_split p;
	memset(s, 0, sizeof(*s));
	n4j_buf_init(&s->all);
	s->check_json = check_json;
	n4j_list_split_init(&p, 4096, on_value, s); /* small: the value cap is reached often */
	p.drop_managed_fields = drop;
	int rc = 0;
	for (size_t off = 0; !rc && off < size; off += chunk)
		rc = n4j_list_split_feed(&p, d + off, size - off < chunk ? size - off : chunk);
	if (!rc && !n4j_list_split_done(&p))
		rc = 1; /* truncated */
	n4j_list_split_free(&p);
	return rc;
}

static bool is_json_ws(char c)
{
	return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 1 << 16)
		return 0;
	size_t chunk = (size_t)(data[0] & 0x7F) + 1;
	bool drop = data[0] & 0x80;
	const char *d = (const char *)data + 1;
	size--;
	/* Valid: one object, white space only after it, and no control byte but JSON's four
	 * white-space ones (cJSON skips any byte <= 0x20 as white space; JSON, the apiserver
	 * and the splitter do not). cJSON's require_null_terminated needs a NUL inside the
	 * length, which the input does not have, so the tail is checked here. */
	bool valid = true;
	for (size_t i = 0; valid && i < size; i++)
		valid = (unsigned char)d[i] >= 0x20 || is_json_ws(d[i]);
	const char *end = NULL;
	cJSON *doc = valid ? cJSON_ParseWithLengthOpts(d, size, &end, false) : NULL;
	valid = cJSON_IsObject(doc);
	for (; valid && end < d + size; end++)
		valid = is_json_ws(*end);
	cJSON_Delete(doc);
	struct seen whole, chunked;
	int rw = split(d, size, size ? size : 1, drop, valid, &whole);
	int rc = split(d, size, chunk, drop, valid, &chunked);
	if (rw != rc || whole.n != chunked.n || whole.all.len != chunked.all.len ||
	    (whole.all.len && memcmp(whole.all.data, chunked.all.data, whole.all.len) != 0))
		abort(); /* the chunking changed the result */
	n4j_buf_free(&whole.all);
	n4j_buf_free(&chunked.all);
	return 0;
}
