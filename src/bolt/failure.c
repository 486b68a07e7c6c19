/* FAILURE metadata of both shapes (<= 5.6 and 5.7+ GQL) into one portable code, and the
 * error classes the operator acts on (bolt.md 5.1 and 7). Decisions use the code only,
 * never the message text. */
#include "bolt/internal.h"

#include <stdio.h>
#include <string.h>

static void copy_str(char *dst, size_t cap, const char *src)
{
	snprintf(dst, cap, "%s", src ? src : "");
}

void n4j_bolt_failure_parse(const struct n4j_bolt_value *meta, struct n4j_bolt_failure *f)
{
	memset(f, 0, sizeof *f);
	const char *code = n4j_bolt_as_str(n4j_bolt_map_get(meta, "neo4j_code"));
	if (!code)
		code = n4j_bolt_as_str(n4j_bolt_map_get(meta, "code"));
	copy_str(f->code, sizeof f->code, code ? code : "Neo.DatabaseError.General.UnknownError");
	const char *gql = n4j_bolt_as_str(n4j_bolt_map_get(meta, "gql_status"));
	copy_str(f->gql, sizeof f->gql, gql ? gql : "50N42");
	copy_str(f->message, sizeof f->message, n4j_bolt_as_str(n4j_bolt_map_get(meta, "message")));
	/* the specific status is often nested in the cause chain (42NFF -> 42NFD) */
	const struct n4j_bolt_value *cause = n4j_bolt_map_get(meta, "cause");
	for (int depth = 0; cause && cause->type == N4J_BOLT_MAP && depth < 16; depth++) {
		const char *g = n4j_bolt_as_str(n4j_bolt_map_get(cause, "gql_status"));
		if (g)
			copy_str(f->gql_cause, sizeof f->gql_cause, g);
		cause = n4j_bolt_map_get(cause, "cause");
	}
	f->cls = n4j_bolt_classify_code(f->code);
	if (!code) {
		/* no code at all: fall back to the GQL classification */
		const char *c = n4j_bolt_as_str(n4j_bolt_map_get(
			n4j_bolt_map_get(meta, "diagnostic_record"), "_classification"));
		if (c && strcmp(c, "TRANSIENT_ERROR") == 0)
			f->cls = N4J_BOLT_CLASS_RETRYABLE;
		else if (c && strcmp(c, "CLIENT_ERROR") == 0)
			f->cls = N4J_BOLT_CLASS_CLIENT;
	}
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && strcmp(s + a - b, suffix) == 0;
}

enum n4j_bolt_class n4j_bolt_classify_code(const char *code)
{
	if (!code || !*code)
		return N4J_BOLT_CLASS_DATABASE;
	if (ends_with(code, ".Cluster.NotALeader") ||
	    ends_with(code, ".General.ForbiddenOnReadOnlyDatabase"))
		return N4J_BOLT_CLASS_REROUTE;
	if (strcmp(code, "Neo.TransientError.General.DatabaseUnavailable") == 0)
		return N4J_BOLT_CLASS_RETRYABLE; /* caller also re-routes */
	if (strcmp(code, "Neo.TransientError.Transaction.Terminated") == 0 ||
	    strcmp(code, "Neo.TransientError.Transaction.LockClientStopped") == 0)
		return N4J_BOLT_CLASS_CLIENT;
	if (strncmp(code, "Neo.TransientError.", 19) == 0)
		return N4J_BOLT_CLASS_RETRYABLE;
	if (strncmp(code, "Neo.ClientError.Security.", 25) == 0) {
		if (ends_with(code, ".Forbidden"))
			return N4J_BOLT_CLASS_CLIENT; /* missing privilege: fatal, not a login issue */
		return N4J_BOLT_CLASS_AUTH;
	}
	if (ends_with(code, ".Statement.UnsupportedAdministrationCommand"))
		return N4J_BOLT_CLASS_UNSUPPORTED;
	if (strncmp(code, "Neo.ClientError.", 16) == 0)
		return N4J_BOLT_CLASS_CLIENT;
	return N4J_BOLT_CLASS_DATABASE;
}

enum n4j_bolt_class n4j_bolt_classify(int rc, const struct n4j_bolt_failure *f)
{
	switch (rc) {
	case 0:
		return N4J_BOLT_CLASS_NONE;
	case N4J_EBOLT_FAILURE:
		return f ? f->cls : N4J_BOLT_CLASS_DATABASE;
	case N4J_EBOLT_TIMEOUT:
	case N4J_EBOLT_CLOSED:
	case N4J_EBOLT_CONNECT:
	case N4J_EIO:
		return N4J_BOLT_CLASS_RETRYABLE;
	case N4J_EBOLT_TLS:
	case N4J_EBOLT_VERSION:
		return N4J_BOLT_CLASS_CLIENT;
	default:
		return N4J_BOLT_CLASS_CLIENT;
	}
}

const char *n4j_bolt_class_name(enum n4j_bolt_class c)
{
	static const char *const names[] = {"none",   "retryable",   "reroute",  "auth",
					    "client", "unsupported", "database", "unknown"};
	return (unsigned)c < sizeof names / sizeof names[0] ? names[c] : "?";
}

const char *n4j_bolt_strerror(int rc)
{
	switch (rc) {
	case N4J_EBOLT_TIMEOUT:
		return "timeout";
	case N4J_EBOLT_CLOSED:
		return "connection lost";
	case N4J_EBOLT_PROTOCOL:
		return "protocol error";
	case N4J_EBOLT_FAILURE:
		return "server failure";
	case N4J_EBOLT_TLS:
		return "TLS error";
	case N4J_EBOLT_VERSION:
		return "no common Bolt version";
	case N4J_EBOLT_STATE:
		return "invalid connection state";
	case N4J_EBOLT_CONNECT:
		return "connect failed";
	default:
		return n4j_strerror(rc);
	}
}
