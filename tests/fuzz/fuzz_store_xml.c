/*
 * The object stores' XML scanning (src/backup/store_http.c) on arbitrary answers: the
 * first byte picks the element name, the rest is the document, held in a buffer of its
 * exact size (no NUL) so that any read past the end is caught. Each element found is
 * decoded as the listings do (n4j_xml_text), and the walk must always move forward.
 */
#include <stdlib.h>
#include <string.h>

#include "backup/store_http.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	static const char *const tags[] = {
		"Contents", "Key",        "Size", "Blob",    "Blobs",
		"Name",     "NextMarker", "Code", "Message", "ListBucketResult"};
	if (size < 1 || size > (1u << 20))
		return 0;
	const char *tag = tags[data[0] % (sizeof(tags) / sizeof(tags[0]))];
	size_t n = size - 1;
	char *doc = malloc(n ? n : 1);
	if (!doc)
		return 0;
	memcpy(doc, data + 1, n);
	struct n4j_arena *a = n4j_arena_new();
	const char *p = doc, *end = doc + n, *s, *e, *next;
	while (a && n4j_xml_find(p, end, tag, &s, &e, &next)) {
		if (!(s >= doc && s <= e && e <= end && next > p && next <= end))
			abort();
		(void)n4j_xml_text(a, s, e);
		p = next;
	}
	n4j_arena_free(a);
	free(doc);
	return 0;
}
