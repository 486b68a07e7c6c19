/*
 * Wiping secrets (tokens, passwords, private keys) before their memory goes back to the
 * allocator. A plain memset before free is a dead store the optimiser may delete, so
 * every wipe goes through OPENSSL_cleanse, which it cannot see through.
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <openssl/crypto.h>

#include "util/util.h"

void n4j_wipe(void *p, size_t n)
{
	if (p && n)
		OPENSSL_cleanse(p, n);
}

void n4j_wipe_free(char *s)
{
	if (s) {
		n4j_wipe(s, strlen(s));
		free(s);
	}
}

void n4j_buf_wipe_free(struct n4j_buf *b)
{
	n4j_wipe(b->data, b->cap);
	n4j_buf_free(b);
}

static void wipe_json(cJSON *j)
{
	for (; j; j = j->next) {
		if (j->valuestring)
			n4j_wipe(j->valuestring, strlen(j->valuestring));
		wipe_json(j->child);
	}
}

void n4j_json_wipe_delete(cJSON *j)
{
	if (!j)
		return;
	/* Only this item and its children: a detached item has no live siblings. */
	if (j->valuestring)
		n4j_wipe(j->valuestring, strlen(j->valuestring));
	wipe_json(j->child);
	cJSON_Delete(j);
}
