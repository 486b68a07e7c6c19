/* ROUTE: the routing table of a database (bolt.md 5, 8). */
#include "bolt/conn.h"

#include <stdio.h>
#include <string.h>

static int parse_table(const struct n4j_bolt_value *rt, struct n4j_bolt_route_table *out,
		       struct n4j_error *err)
{
	memset(out, 0, sizeof *out);
	if (!rt || rt->type != N4J_BOLT_MAP)
		return n4j_err(err, N4J_EBOLT_PROTOCOL, "bolt: ROUTE reply without rt");
	const struct n4j_bolt_value *ttl = n4j_bolt_map_get(rt, "ttl");
	out->ttl = ttl && ttl->type == N4J_BOLT_INT ? ttl->u.i : 0;
	const char *db = n4j_bolt_as_str(n4j_bolt_map_get(rt, "db"));
	snprintf(out->db, sizeof out->db, "%s", db ? db : "");
	const struct n4j_bolt_value *servers = n4j_bolt_map_get(rt, "servers");
	if (!servers || servers->type != N4J_BOLT_LIST)
		return n4j_err(err, N4J_EBOLT_PROTOCOL, "bolt: ROUTE reply without servers");
	for (uint32_t i = 0; i < servers->u.list.len; i++) {
		const struct n4j_bolt_value *s = &servers->u.list.items[i];
		const char *role = n4j_bolt_as_str(n4j_bolt_map_get(s, "role"));
		const struct n4j_bolt_value *addrs = n4j_bolt_map_get(s, "addresses");
		if (!role || !addrs || addrs->type != N4J_BOLT_LIST)
			continue;
		char(*dst)[256];
		size_t *n;
		if (strcmp(role, "WRITE") == 0)
			dst = out->writers, n = &out->nwriters;
		else if (strcmp(role, "READ") == 0)
			dst = out->readers, n = &out->nreaders;
		else if (strcmp(role, "ROUTE") == 0)
			dst = out->routers, n = &out->nrouters;
		else
			continue;
		for (uint32_t k = 0; k < addrs->u.list.len && *n < N4J_BOLT_RT_MAX; k++) {
			const char *a = n4j_bolt_as_str(&addrs->u.list.items[k]);
			if (a && strlen(a) < 256)
				snprintf(dst[(*n)++], 256, "%s", a);
		}
	}
	return 0;
}

int n4j_bolt_route(struct n4j_bolt_conn *c, const char *db, const char *const *bookmarks,
		   struct n4j_bolt_route_table *rt, struct n4j_error *err)
{
	if (c->state != N4J_BOLT_READY)
		return n4j_err(err,
			       c->state == N4J_BOLT_DEFUNCT ? N4J_EBOLT_CLOSED : N4J_EBOLT_STATE,
			       "bolt: ROUTE needs a READY connection");
	struct n4j_arena *a = n4j_arena_new();
	if (!a)
		return n4j_err(err, N4J_ENOMEM, "bolt: out of memory");
	int rc = N4J_ENOMEM;
	struct n4j_bolt_value f[3];
	struct n4j_bolt_value *ctx = n4j_bolt_map_new(a, 1);
	struct n4j_bolt_value *extra = n4j_bolt_map_new(a, 1);
	uint32_t nb = 0;
	while (bookmarks && bookmarks[nb])
		nb++;
	struct n4j_bolt_value *bl = n4j_bolt_list_new(a, nb);
	if (!ctx || !extra || !bl) {
		n4j_err(err, rc, "bolt: out of memory");
		goto out;
	}
	n4j_bolt_map_set(ctx, 0, "address",
			 n4j_bolt_str(c->routing_address[0] ? c->routing_address : c->address));
	for (uint32_t i = 0; i < nb; i++)
		bl->u.list.items[i] = n4j_bolt_str(bookmarks[i]);
	n4j_bolt_map_set(extra, 0, "db", db ? n4j_bolt_str(db) : n4j_bolt_null());
	f[0] = *ctx;
	f[1] = *bl;
	f[2] = *extra;
	bolt_queue(c, BOLT_ROUTE, 3, f);
	rc = bolt_flush(c, err);
	struct n4j_bolt_value meta;
	if (!rc)
		rc = bolt_summary(c, a, &meta, err);
	if (!rc)
		rc = parse_table(n4j_bolt_map_get(&meta, "rt"), rt, err);
out:
	n4j_arena_free(a);
	return rc;
}
