/* Chunked message framing (bolt.md 3): pure. */
#include "bolt/internal.h"

void n4j_chunk_write(struct n4j_buf *out, const void *msg, size_t len)
{
	const uint8_t *p = msg;
	while (len > 0) {
		size_t n = len > N4J_CHUNK_MAX ? N4J_CHUNK_MAX : len;
		uint8_t h[2] = {(uint8_t)(n >> 8), (uint8_t)n};
		n4j_buf_append(out, h, 2);
		n4j_buf_append(out, p, n);
		p += n;
		len -= n;
	}
	n4j_buf_append(out, "\0\0", 2);
}

void n4j_dechunker_init(struct n4j_dechunker *d, size_t max)
{
	*d = (struct n4j_dechunker){.max = max ? max : N4J_MESSAGE_MAX};
	n4j_buf_init(&d->msg);
}

void n4j_dechunker_free(struct n4j_dechunker *d)
{
	n4j_buf_free(&d->msg);
}

void n4j_dechunker_next(struct n4j_dechunker *d)
{
	n4j_buf_reset(&d->msg);
	d->have_data = false;
	d->hdr_have = 0;
	d->chunk_left = 0;
}

int n4j_dechunker_feed(struct n4j_dechunker *d, const void *data, size_t len, size_t *used,
		       struct n4j_error *err)
{
	const uint8_t *p = data;
	size_t i = 0;
	while (i < len) {
		if (d->chunk_left > 0) {
			size_t n = len - i < d->chunk_left ? len - i : d->chunk_left;
			n4j_buf_append(&d->msg, p + i, n);
			if (d->msg.oom) {
				*used = i;
				return n4j_err(err, N4J_ENOMEM,
					       "bolt: out of memory for a message");
			}
			d->chunk_left -= (uint32_t)n;
			i += n;
			continue;
		}
		d->hdr[d->hdr_have++] = p[i++];
		if (d->hdr_have < 2)
			continue;
		d->hdr_have = 0;
		/* unsigned: chunks above 32767 bytes are normal (pitfall 2) */
		uint32_t size = ((uint32_t)d->hdr[0] << 8) | d->hdr[1];
		if (size == 0) {
			if (!d->have_data)
				continue; /* NOOP keep-alive between messages */
			*used = i;
			return 1;
		}
		if (d->msg.len + size > d->max) {
			*used = i;
			return n4j_err(err, N4J_ELIMIT, "bolt: message larger than %zu bytes",
				       d->max);
		}
		d->have_data = true;
		d->chunk_left = size;
	}
	*used = i;
	return 0;
}
