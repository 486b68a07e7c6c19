/*
 * The watch stream decoder on arbitrary bytes, in arbitrary chunkings: the first byte picks
 * the chunk size. Events go through the same Status reader the client uses for ERROR
 * events. Errors are fine answers; crashes, leaks and sanitizer reports are bugs.
 */
#include <stdint.h>
#include <stdlib.h>

#include "kube/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int on_event(void *ud, struct n4j_watch_event *ev)
{
	size_t *n = ud;
	(*n)++;
	if (ev->type == N4J_WATCH_ERROR) {
		struct n4j_kube_error e = {0};
		n4j_kube_error_from_status(&e, "/fuzz", ev->object);
	}
	/* Sometimes take the object, as an informer does. */
	if (*n % 3 == 0) {
		cJSON_Delete(ev->object);
		ev->object = NULL;
	}
	return *n > 1000 ? -1 : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t chunk = (size_t)data[0] + 1;
	data++;
	size--;
	struct n4j_watch_decoder d;
	n4j_watch_decoder_init(&d, 4096); /* small, so the line cap is reached often */
	size_t events = 0;
	struct n4j_error err = {0};
	for (size_t off = 0; off < size; off += chunk) {
		size_t n = size - off < chunk ? size - off : chunk;
		if (n4j_watch_decoder_feed(&d, (const char *)data + off, n, on_event, &events,
					   &err))
			break;
	}
	n4j_watch_decoder_free(&d);
	/* The same bytes as an HTTP error body. */
	struct n4j_kube_error e = {0};
	n4j_kube_error_from_response(&e, "GET", "/fuzz", 500 + (long)(size % 100),
				     (const char *)data, size);
	return 0;
}
