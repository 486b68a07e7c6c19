/* Error classification: HTTP status + Status body → struct n4j_kube_error. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "kube/internal.h"

const char *n4j_kube_reason_name(enum n4j_kube_reason r)
{
	switch (r) {
	case N4J_KUBE_OK:
		return "OK";
	case N4J_KUBE_BAD_REQUEST:
		return "BadRequest";
	case N4J_KUBE_UNAUTHORIZED:
		return "Unauthorized";
	case N4J_KUBE_FORBIDDEN:
		return "Forbidden";
	case N4J_KUBE_NOT_FOUND:
		return "NotFound";
	case N4J_KUBE_ALREADY_EXISTS:
		return "AlreadyExists";
	case N4J_KUBE_CONFLICT:
		return "Conflict";
	case N4J_KUBE_GONE:
		return "Gone";
	case N4J_KUBE_INVALID:
		return "Invalid";
	case N4J_KUBE_TOO_MANY_REQUESTS:
		return "TooManyRequests";
	case N4J_KUBE_SERVER_ERROR:
		return "ServerError";
	case N4J_KUBE_TIMEOUT:
		return "Timeout";
	case N4J_KUBE_TRANSPORT:
		return "Transport";
	case N4J_KUBE_OTHER:
		return "Other";
	}
	return "Unknown";
}

bool n4j_kube_retryable(const struct n4j_kube_error *e)
{
	if (!e)
		return false;
	switch (e->reason) {
	case N4J_KUBE_TOO_MANY_REQUESTS:
	case N4J_KUBE_SERVER_ERROR:
	case N4J_KUBE_TIMEOUT:
	case N4J_KUBE_TRANSPORT:
		return true;
	default:
		return false;
	}
}

void n4j_kube_error_clear(struct n4j_kube_error *e)
{
	if (e)
		memset(e, 0, sizeof(*e));
}

int n4j_kube_fail(struct n4j_kube_error *e, enum n4j_kube_reason reason, int code, const char *fmt,
		  ...)
{
	if (e) {
		va_list ap;
		e->reason = reason;
		e->base.code = code;
		va_start(ap, fmt);
		vsnprintf(e->base.msg, sizeof(e->base.msg), fmt, ap);
		va_end(ap);
	}
	return code;
}

enum n4j_kube_reason n4j_kube_reason_for(long status, const char *reason)
{
	if (status >= 200 && status < 300)
		return N4J_KUBE_OK;
	switch (status) {
	case 400:
		return N4J_KUBE_BAD_REQUEST;
	case 401:
		return N4J_KUBE_UNAUTHORIZED;
	case 403:
		return N4J_KUBE_FORBIDDEN;
	case 404:
		return N4J_KUBE_NOT_FOUND;
	case 409:
		return reason && strcmp(reason, "AlreadyExists") == 0 ? N4J_KUBE_ALREADY_EXISTS
								      : N4J_KUBE_CONFLICT;
	case 410:
		return N4J_KUBE_GONE;
	case 422:
		return N4J_KUBE_INVALID;
	case 429:
		return N4J_KUBE_TOO_MANY_REQUESTS;
	}
	if (status >= 500 && status < 600)
		return N4J_KUBE_SERVER_ERROR;
	return N4J_KUBE_OTHER;
}

static int code_for(enum n4j_kube_reason r)
{
	switch (r) {
	case N4J_KUBE_OK:
		return 0;
	case N4J_KUBE_NOT_FOUND:
		return N4J_ENOTFOUND;
	case N4J_KUBE_BAD_REQUEST:
	case N4J_KUBE_INVALID:
		return N4J_EINVAL;
	default:
		return N4J_EIO;
	}
}

static void copy_str(char *dst, size_t size, const cJSON *v)
{
	if (cJSON_IsString(v) && v->valuestring)
		snprintf(dst, size, "%s", v->valuestring);
}

/* Reads reason, message, causes and retryAfterSeconds of a Status into e (status known). */
static void read_status(struct n4j_kube_error *e, const cJSON *st, const char **reason,
			const char **message)
{
	const cJSON *r = cJSON_GetObjectItemCaseSensitive(st, "reason");
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(st, "message");
	*reason = cJSON_IsString(r) ? r->valuestring : NULL;
	*message = cJSON_IsString(m) ? m->valuestring : NULL;
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(st, "details");
	if (!cJSON_IsObject(d))
		return;
	const cJSON *ra = cJSON_GetObjectItemCaseSensitive(d, "retryAfterSeconds");
	if (cJSON_IsNumber(ra) && ra->valuedouble > 0 && ra->valuedouble < 86400 &&
	    e->retry_after_ms == 0)
		e->retry_after_ms = (long)(ra->valuedouble * 1000);
	const cJSON *causes = cJSON_GetObjectItemCaseSensitive(d, "causes");
	const cJSON *c;
	cJSON_ArrayForEach(c, causes)
	{
		if (e->n_causes >= N4J_KUBE_MAX_CAUSES)
			break;
		if (!cJSON_IsObject(c))
			continue;
		copy_str(e->causes[e->n_causes].field, sizeof(e->causes[0].field),
			 cJSON_GetObjectItemCaseSensitive(c, "field"));
		copy_str(e->causes[e->n_causes].reason, sizeof(e->causes[0].reason),
			 cJSON_GetObjectItemCaseSensitive(c, "reason"));
		copy_str(e->causes[e->n_causes].message, sizeof(e->causes[0].message),
			 cJSON_GetObjectItemCaseSensitive(c, "message"));
		e->n_causes++;
	}
}

int n4j_kube_error_from_response(struct n4j_kube_error *e, const char *method, const char *path,
				 long status, const char *body, size_t len)
{
	const char *reason = NULL, *message = NULL;
	cJSON *st = NULL;
	e->http_status = (int)status;
	e->n_causes = 0;
	if (body && len > 0) {
		st = cJSON_ParseWithLength(body, len);
		const cJSON *kind = cJSON_GetObjectItemCaseSensitive(st, "kind");
		if (cJSON_IsString(kind) && strcmp(kind->valuestring, "Status") == 0)
			read_status(e, st, &reason, &message);
	}
	e->reason = n4j_kube_reason_for(status, reason);
	e->base.code = code_for(e->reason);
	/* Only the apiserver's own message: bodies of other kinds could echo anything. */
	snprintf(e->base.msg, sizeof(e->base.msg), "%s %s: %ld %s%s%s", method, path, status,
		 reason ? reason : n4j_kube_reason_name(e->reason), message ? ": " : "",
		 message ? message : "");
	cJSON_Delete(st);
	return e->base.code;
}

int n4j_kube_error_from_status(struct n4j_kube_error *e, const char *what, const cJSON *st)
{
	const char *reason = NULL, *message = NULL;
	long code = 500;
	e->n_causes = 0;
	if (cJSON_IsObject(st)) {
		read_status(e, st, &reason, &message);
		const cJSON *c = cJSON_GetObjectItemCaseSensitive(st, "code");
		if (cJSON_IsNumber(c) && c->valuedouble >= 100 && c->valuedouble < 600)
			code = (long)c->valuedouble;
	}
	e->http_status = (int)code;
	e->reason = n4j_kube_reason_for(code, reason);
	if (e->reason == N4J_KUBE_OK)
		e->reason = N4J_KUBE_OTHER;
	e->base.code = e->reason == N4J_KUBE_NOT_FOUND ? N4J_ENOTFOUND : N4J_EIO;
	snprintf(e->base.msg, sizeof(e->base.msg), "%s: ERROR event %ld %s%s%s", what, code,
		 reason ? reason : n4j_kube_reason_name(e->reason), message ? ": " : "",
		 message ? message : "");
	return e->base.code;
}
