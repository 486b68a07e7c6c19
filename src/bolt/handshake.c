/* Version negotiation incl. manifest v1 (bolt.md 2): pure and incremental, since the
 * server's bytes may arrive one at a time (pitfall 4). */
#include "bolt/internal.h"

#include <string.h>

static bool acceptable(uint16_t v, uint16_t max)
{
	uint8_t major = (uint8_t)(v >> 8), minor = (uint8_t)v;
	if (max && v > max)
		return false;
	if (major == 5)
		return minor <= 8 && minor != 5; /* no server ever negotiates 5.5 */
	return major == 4 && minor == 4;
}

void n4j_hs_request(uint8_t out[20], uint16_t max)
{
	static const uint8_t magic[4] = {0x60, 0x60, 0xB0, 0x17};
	memcpy(out, magic, 4);
	memset(out + 4, 0, 16);
	uint8_t *slot = out + 4;
	if (!max || max >= N4J_BOLT_V(5, 0)) {
		uint8_t top = 8;
		if (max && (max >> 8) == 5 && (max & 0xFF) < 8)
			top = (uint8_t)(max & 0xFF);
		/* manifest first: servers walk the slots in order */
		slot[2] = 0x01;
		slot[3] = 0xFF;
		slot += 4;
		slot[1] = top;
		slot[2] = top;
		slot[3] = 5;
		slot += 4;
	}
	slot[2] = 4;
	slot[3] = 4;
}

void n4j_hs_init(struct n4j_hs *h, uint16_t max)
{
	*h = (struct n4j_hs){.max = max};
}

enum { HS_VERSION, HS_COUNT, HS_ENTRIES, HS_CAPS, HS_DONE };

/* Feeds one VarInt byte; 1 when complete. */
static int varint_byte(struct n4j_hs *h, uint8_t b, struct n4j_error *err)
{
	if (h->vshift >= 70)
		return n4j_err(err, N4J_EBOLT_PROTOCOL,
			       "bolt handshake: VarInt longer than 10 bytes");
	if (h->vshift < 64)
		h->varint |= (uint64_t)(b & 0x7F) << h->vshift;
	h->vshift += 7;
	return (b & 0x80) ? 0 : 1;
}

int n4j_hs_feed(struct n4j_hs *h, const void *data, size_t len, size_t *used, uint16_t *version,
		uint8_t reply[5], size_t *reply_len, struct n4j_error *err)
{
	const uint8_t *p = data;
	size_t i = 0;
	int rc;
	*reply_len = 0;
	while (i < len && h->stage != HS_DONE) {
		uint8_t b = p[i++];
		switch (h->stage) {
		case HS_VERSION:
			h->b[h->have++] = b;
			if (h->have < 4)
				break;
			h->have = 0;
			*used = i;
			if (memcmp(h->b, "HTTP", 4) == 0)
				return n4j_err(err, N4J_EBOLT_PROTOCOL,
					       "bolt handshake: this is an HTTP port, not Bolt");
			if (memcmp(h->b, "\0\0\0\0", 4) == 0)
				return n4j_err(err, N4J_EBOLT_VERSION,
					       "bolt handshake: the server supports none of the "
					       "offered versions");
			if (h->b[0] == 0 && h->b[1] == 0 && h->b[2] == 1 && h->b[3] == 0xFF) {
				h->manifest = true;
				h->stage = HS_COUNT;
				break;
			}
			uint16_t v = N4J_BOLT_V(h->b[3], h->b[2]);
			if (h->b[0] || h->b[1] || !acceptable(v, h->max))
				return n4j_err(err, N4J_EBOLT_PROTOCOL,
					       "bolt handshake: server chose %u.%u, which was not "
					       "offered",
					       h->b[3], h->b[2]);
			*version = v;
			h->stage = HS_DONE;
			return 1;
		case HS_COUNT:
			if ((rc = varint_byte(h, b, err)) < 0)
				goto fail;
			if (rc == 0)
				break;
			if (h->varint > 64) {
				rc = n4j_err(err, N4J_EBOLT_PROTOCOL,
					     "bolt handshake: manifest lists %llu entries (max 64)",
					     (unsigned long long)h->varint);
				goto fail;
			}
			h->entries_left = (uint32_t)h->varint;
			h->varint = 0;
			h->vshift = 0;
			h->stage = h->entries_left ? HS_ENTRIES : HS_CAPS;
			break;
		case HS_ENTRIES:
			h->b[h->have++] = b;
			if (h->have < 4)
				break;
			h->have = 0;
			/* expand minor .. minor-range; keep the best acceptable one */
			for (int m = h->b[2]; m >= 0 && m >= (int)h->b[2] - (int)h->b[1]; m--) {
				uint16_t cand = N4J_BOLT_V(h->b[3], m);
				if (acceptable(cand, h->max) && cand > h->best)
					h->best = cand;
			}
			if (--h->entries_left == 0)
				h->stage = HS_CAPS;
			break;
		case HS_CAPS:
			if ((rc = varint_byte(h, b, err)) < 0)
				goto fail;
			if (rc == 0)
				break;
			*used = i;
			h->stage = HS_DONE;
			if (!h->best) {
				memset(reply, 0, 5);
				*reply_len = 5;
				return n4j_err(err, N4J_EBOLT_VERSION,
					       "bolt handshake: the manifest offers no acceptable "
					       "version");
			}
			reply[0] = 0;
			reply[1] = 0;
			reply[2] = (uint8_t)h->best;
			reply[3] = (uint8_t)(h->best >> 8);
			reply[4] = 0; /* no capabilities */
			*reply_len = 5;
			*version = h->best;
			return 1;
		}
	}
	*used = i;
	return 0;
fail:
	*used = i;
	return rc;
}
