/*
 * n4j_observe: one snapshot of what Neo4j says about itself.
 *
 * Enterprise: the reads go to the `system` leader (freshest state); with no leader (no
 * quorum) to any server that answers, so the snapshot still shows which servers are down.
 * Community: the one server. Anything that stops the snapshot short of an allocation
 * failure is reported in out->error with reachable false: the planner waits on it.
 */
#include "neo4j/io.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static enum n4j_server_state parse_state(const char *s)
{
	static const struct {
		const char *name;
		enum n4j_server_state st;
	} map[] = {
		{"Free", N4J_SERVER_FREE},
		{"Enabled", N4J_SERVER_ENABLED},
		{"Cordoned", N4J_SERVER_CORDONED},
		{"Deallocating", N4J_SERVER_DEALLOCATING},
		{"Deallocated", N4J_SERVER_DEALLOCATED},
		{"Dropped", N4J_SERVER_DROPPED},
	};
	for (size_t i = 0; s && i < sizeof map / sizeof map[0]; i++)
		if (strcasecmp(s, map[i].name) == 0)
			return map[i].st;
	return N4J_SERVER_UNKNOWN;
}

static enum n4j_server_health parse_health(const char *s)
{
	if (s && strcasecmp(s, "Available") == 0)
		return N4J_HEALTH_AVAILABLE;
	if (s && strcasecmp(s, "Unavailable") == 0)
		return N4J_HEALTH_UNAVAILABLE;
	return N4J_HEALTH_UNKNOWN;
}

/* An IP literal is no pod name: "10.0.0.5" has no first DNS label worth the name. */
static bool is_ip_literal(const char *host, size_t len)
{
	if (memchr(host, ':', len))
		return true; /* IPv6 */
	for (size_t i = 0; i < len; i++)
		if (host[i] != '.' && (host[i] < '0' || host[i] > '9'))
			return false;
	return true;
}

/* "graph-2.graph-headless.ns.svc.cluster.local:7687" → "graph-2"; NULL otherwise. */
static int pod_of(struct n4j_arena *a, const char *address, const char **pod)
{
	*pod = NULL;
	if (!address || !*address)
		return 0;
	const char *host = address;
	if (*host == '[')
		return 0; /* [IPv6]:port */
	const char *colon = strrchr(host, ':');
	size_t len = colon ? (size_t)(colon - host) : strlen(host);
	if (len == 0 || is_ip_literal(host, len))
		return 0;
	const char *dot = memchr(host, '.', len);
	size_t l = dot ? (size_t)(dot - host) : len;
	if (l == 0 || l > 63) /* a DNS label has at most 63 characters */
		return 0;
	*pod = n4j_arena_strndup(a, host, l);
	return *pod ? 0 : N4J_ENOMEM;
}

/* k when pod is "<cluster>-<k>" as a StatefulSet names it (no sign, no leading zero). */
static int ordinal_of(const char *pod, const char *cluster)
{
	if (!pod || !cluster)
		return -1;
	size_t cl = strlen(cluster);
	if (strncmp(pod, cluster, cl) != 0 || pod[cl] != '-')
		return -1;
	const char *d = pod + cl + 1;
	size_t nd = strlen(d);
	if (nd == 0 || nd > 9 || (nd > 1 && d[0] == '0'))
		return -1;
	int k = 0;
	for (size_t i = 0; i < nd; i++) {
		if (d[i] < '0' || d[i] > '9')
			return -1;
		k = k * 10 + (d[i] - '0');
	}
	return k;
}

/* Sets reachable false and the reason; the reason has only server words, no secret. */
static int unreachable(struct n4j_arena *a, struct n4j_observed *out, const char *what,
		       const struct n4j_error *e, struct n4j_error *err)
{
	out->reachable = false;
	out->error = n4j_arena_printf(a, "%s: %s", what, e->msg[0] ? e->msg : "failed");
	return out->error ? 0 : n4j_err(err, N4J_ENOMEM, "neo4j: out of memory");
}

static int read_components(struct n4j_neo4j *n, struct n4j_arena *a, enum n4j_io_target to,
			   struct n4j_observed *out, struct n4j_bolt_failure *f,
			   struct n4j_error *e)
{
	struct n4j_bolt_result r;
	int rc = n4j_io_query(n, a, to, "CALL dbms.components() YIELD name, versions, edition",
			      NULL, &r, f, e);
	if (rc)
		return rc;
	for (size_t i = 0; i < r.nrows; i++) {
		const char *name = n4j_io_str(&r, i, "name");
		/* one row in practice; a plugin's own row must not win */
		if (r.nrows > 1 && (!name || strcmp(name, "Neo4j Kernel") != 0))
			continue;
		const char *ed = n4j_io_str(&r, i, "edition");
		out->enterprise = ed && strcasecmp(ed, "enterprise") == 0;
		const struct n4j_bolt_value *v = n4j_io_cell(&r, i, "versions");
		if (v && v->type == N4J_BOLT_LIST && v->u.list.len > 0)
			out->version = n4j_bolt_as_str(&v->u.list.items[0]);
		break;
	}
	return 0;
}

static int read_servers(struct n4j_neo4j *n, struct n4j_arena *a, enum n4j_io_target to,
			const struct n4j_cluster *cluster, struct n4j_observed *out,
			struct n4j_bolt_failure *f, struct n4j_error *e)
{
	struct n4j_bolt_result r;
	int rc = n4j_io_query(n, a, to, "SHOW SERVERS YIELD *", NULL, &r, f, e);
	if (rc)
		return rc;
	if (r.nrows == 0)
		return 0;
	out->servers = n4j_arena_calloc(a, r.nrows, sizeof *out->servers);
	if (!out->servers)
		return n4j_err(e, N4J_ENOMEM, "neo4j: out of memory");
	const char *cname = cluster ? cluster->meta.name : NULL;
	for (size_t i = 0; i < r.nrows; i++) {
		const char *id = n4j_io_str(&r, i, "serverId");
		if (!id)
			continue; /* a row without an id cannot be acted on */
		struct n4j_obs_server *s = &out->servers[out->n_servers++];
		s->id = id;
		s->name = n4j_io_str(&r, i, "name");
		if (!s->name)
			s->name = id;
		s->address = n4j_io_str(&r, i, "address");
		s->state = parse_state(n4j_io_str(&r, i, "state"));
		s->health = parse_health(n4j_io_str(&r, i, "health"));
		s->mode_constraint = n4j_io_str(&r, i, "modeConstraint");
		if (pod_of(a, s->address, &s->pod) ||
		    n4j_io_strlist(a, &r, i, "hosting", &s->hosting, &s->n_hosting) ||
		    n4j_io_strlist(a, &r, i, "requestedHosting", &s->requested_hosting,
				   &s->n_requested))
			return n4j_err(e, N4J_ENOMEM, "neo4j: out of memory");
		s->ordinal = ordinal_of(s->pod, cname);
	}
	return 0;
}

static struct n4j_obs_database *db_slot(struct n4j_observed *out, const char *name)
{
	for (size_t i = 0; i < out->n_databases; i++)
		if (strcmp(out->databases[i].name, name) == 0)
			return &out->databases[i];
	return NULL;
}

static int read_databases(struct n4j_neo4j *n, struct n4j_arena *a, enum n4j_io_target to,
			  struct n4j_observed *out, struct n4j_bolt_failure *f, struct n4j_error *e)
{
	struct n4j_bolt_result r;
	int rc = n4j_io_query(n, a, to, "SHOW DATABASES YIELD *", NULL, &r, f, e);
	if (rc)
		return rc;
	if (r.nrows == 0)
		return 0;
	out->copies = n4j_arena_calloc(a, r.nrows, sizeof *out->copies);
	out->databases = n4j_arena_calloc(a, r.nrows, sizeof *out->databases);
	if (!out->copies || !out->databases)
		return n4j_err(e, N4J_ENOMEM, "neo4j: out of memory");
	/* counts of copies by role, for servers that do not YIELD the count columns */
	int *np = n4j_arena_calloc(a, r.nrows, sizeof *np);
	int *ns = n4j_arena_calloc(a, r.nrows, sizeof *ns);
	if (!np || !ns)
		return n4j_err(e, N4J_ENOMEM, "neo4j: out of memory");
	for (size_t i = 0; i < r.nrows; i++) {
		const char *name = n4j_io_str(&r, i, "name");
		if (!name)
			continue;
		struct n4j_obs_copy *c = &out->copies[out->n_copies++];
		c->database = name;
		c->address = n4j_io_str(&r, i, "address");
		c->server_id = n4j_io_str(&r, i, "serverID");
		c->role = n4j_io_str(&r, i, "role");
		c->writer = n4j_io_bool(&r, i, "writer");
		c->requested_status = n4j_io_str(&r, i, "requestedStatus");
		c->current_status = n4j_io_str(&r, i, "currentStatus");
		c->status_message = n4j_io_str(&r, i, "statusMessage");

		struct n4j_obs_database *d = db_slot(out, name);
		if (!d) {
			d = &out->databases[out->n_databases++];
			d->name = name;
			d->type = n4j_io_str(&r, i, "type");
			d->requested_status = c->requested_status;
			/* -1 = not said; filled in below */
			d->requested_primaries = n4j_io_int(&r, i, "requestedPrimariesCount", -1);
			d->requested_secondaries =
				n4j_io_int(&r, i, "requestedSecondariesCount", -1);
			d->current_primaries = n4j_io_int(&r, i, "currentPrimariesCount", -1);
			d->current_secondaries = n4j_io_int(&r, i, "currentSecondariesCount", -1);
			d->settled = true;
		}
		size_t k = (size_t)(d - out->databases);
		/* a copy whose state is unknown (server unavailable) is not settled */
		if (!c->current_status || !c->requested_status ||
		    strcmp(c->current_status, c->requested_status) != 0)
			d->settled = false;
		if (c->writer && c->address && !d->writer_address)
			d->writer_address = c->address;
		d->is_default |= n4j_io_bool(&r, i, "default");
		bool online = c->current_status && strcmp(c->current_status, "online") == 0;
		if (online && c->role && strcmp(c->role, "primary") == 0)
			np[k]++;
		if (online && c->role && strcmp(c->role, "secondary") == 0)
			ns[k]++;
	}
	for (size_t k = 0; k < out->n_databases; k++) {
		/* Without the count columns (older servers) the online rows are the current
		 * counts; without a requested count (Community; NULL there) what runs is what
		 * was asked for */
		struct n4j_obs_database *d = &out->databases[k];
		if (d->current_primaries < 0)
			d->current_primaries = np[k];
		if (d->current_secondaries < 0)
			d->current_secondaries = ns[k];
		if (d->requested_primaries < 0)
			d->requested_primaries = d->current_primaries;
		if (d->requested_secondaries < 0)
			d->requested_secondaries = d->current_secondaries;
	}
	struct n4j_obs_database *sys = db_slot(out, "system");
	out->system_leader = sys ? sys->writer_address : NULL;
	return 0;
}

static int read_aliases(struct n4j_neo4j *n, struct n4j_arena *a, enum n4j_io_target to,
			struct n4j_observed *out, struct n4j_bolt_failure *f, struct n4j_error *e)
{
	struct n4j_bolt_result r;
	int rc = n4j_io_query(n, a, to, "SHOW ALIASES FOR DATABASES", NULL, &r, f, e);
	if (rc)
		return rc;
	if (r.nrows == 0)
		return 0;
	out->aliases = n4j_arena_calloc(a, r.nrows, sizeof *out->aliases);
	if (!out->aliases)
		return n4j_err(e, N4J_ENOMEM, "neo4j: out of memory");
	for (size_t i = 0; i < r.nrows; i++) {
		const char *name = n4j_io_str(&r, i, "name");
		if (!name)
			continue;
		struct n4j_obs_alias *al = &out->aliases[out->n_aliases++];
		al->name = name;
		al->database = n4j_io_str(&r, i, "database");
	}
	return 0;
}

/* The edition has no such command (Community's SHOW SERVERS, aliases): not a failure. */
static bool unsupported(int rc, const struct n4j_bolt_failure *f)
{
	return rc == N4J_EBOLT_FAILURE && f->cls == N4J_BOLT_CLASS_UNSUPPORTED;
}

/* The whole read, all or nothing: a partial snapshot would mislead the planner. */
static int read_all(struct n4j_neo4j *n, struct n4j_arena *a, enum n4j_io_target to,
		    const struct n4j_cluster *cluster, struct n4j_observed *out,
		    struct n4j_bolt_failure *f, struct n4j_error *e)
{
	memset(out, 0, sizeof *out);
	int rc = read_components(n, a, to, out, f, e);
	if (rc == 0 && n->enterprise && out->enterprise) {
		rc = read_servers(n, a, to, cluster, out, f, e);
		if (unsupported(rc, f))
			rc = 0;
	}
	if (rc == 0)
		rc = read_databases(n, a, to, out, f, e);
	if (rc == 0) {
		rc = read_aliases(n, a, to, out, f, e);
		if (unsupported(rc, f))
			rc = 0;
	}
	return rc;
}

int n4j_observe(struct n4j_neo4j *n, struct n4j_arena *a, const struct n4j_cluster *cluster,
		struct n4j_observed *out, struct n4j_error *err)
{
	memset(out, 0, sizeof *out);
	struct n4j_error e = {0};
	struct n4j_bolt_failure f = {0};
	enum n4j_io_target to = N4J_IO_ANY_SEED;
	n4j_io_note(n, 0, NULL);
	if (n->enterprise) {
		/* a fresh ROUTE per snapshot: the leader may have moved since the last one. One
		 * ROUTE, no retry loop, so an unreachable cluster is reported at once */
		n4j_bolt_cluster_invalidate(n->cl);
		char leader[256];
		int rc = n4j_bolt_cluster_leader(n->cl, leader, sizeof leader, &e);
		if (rc == 0) {
			to = N4J_IO_LEADER;
		} else {
			if (rc == N4J_EBOLT_FAILURE)
				n4j_bolt_cluster_last_failure(n->cl, &f);
			n4j_io_note(n, rc, &f);
			if (rc == N4J_ENOMEM)
				return n4j_err(err, rc, "%s", e.msg);
			/* refused credentials and dead servers end here; a server without a
			 * leader (no quorum) still answers the reads below */
			if (rc != N4J_EBOLT_FAILURE || f.cls == N4J_BOLT_CLASS_AUTH)
				return unreachable(a, out, "neo4j: cannot reach the servers", &e,
						   err);
		}
	}
	int rc = read_all(n, a, to, cluster, out, &f, &e);
	if (rc && rc != N4J_ENOMEM && to == N4J_IO_LEADER && f.cls != N4J_BOLT_CLASS_AUTH) {
		/* the leader went away under the reads: any server still tells the state */
		struct n4j_error e2 = {0};
		int rc2 = read_all(n, a, N4J_IO_ANY_SEED, cluster, out, &f, &e2);
		if (rc2 == 0 || rc2 == N4J_ENOMEM) {
			rc = rc2;
			e = e2;
		}
	}
	if (rc == N4J_ENOMEM)
		return n4j_err(err, rc, "%s", e.msg);
	if (rc) {
		memset(out, 0, sizeof *out);
		return unreachable(a, out, "neo4j: cannot read the cluster state", &e, err);
	}
	out->reachable = true;
	n4j_io_note(n, 0, NULL); /* a failed leader read that a seed made up for */
	if (!out->enterprise && !out->system_leader) {
		/* Community: the one server is its own writer */
		out->system_leader = n4j_arena_strdup(a, n->seeds[0]);
		if (!out->system_leader)
			return n4j_err(err, N4J_ENOMEM, "neo4j: out of memory");
	}
	return 0;
}
