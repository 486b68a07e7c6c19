/* JSON accessors, the typed-view builders on top of them (n4j_view_*), and the small
 * syntax checks shared by the rules and the typed view. */
#include <ctype.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"

const cJSON *n4j_jget(const cJSON *o, const char *path)
{
	char key[128];
	while (o && *path) {
		const char *dot = strchr(path, '.');
		size_t n = dot ? (size_t)(dot - path) : strlen(path);
		if (n >= sizeof(key))
			return NULL;
		memcpy(key, path, n);
		key[n] = '\0';
		o = cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, key) : NULL;
		path = dot ? dot + 1 : path + n;
	}
	return o;
}

const char *n4j_jstr(const cJSON *o, const char *path)
{
	const cJSON *v = n4j_jget(o, path);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

const cJSON *n4j_jobj(const cJSON *o, const char *path)
{
	const cJSON *v = n4j_jget(o, path);
	return cJSON_IsObject(v) ? v : NULL;
}

const cJSON *n4j_jarr(const cJSON *o, const char *path)
{
	const cJSON *v = n4j_jget(o, path);
	return cJSON_IsArray(v) ? v : NULL;
}

bool n4j_jhas(const cJSON *o, const char *path)
{
	const cJSON *v = n4j_jget(o, path);
	return v && !cJSON_IsNull(v);
}

int64_t n4j_jint(const cJSON *o, const char *path, int64_t def)
{
	const cJSON *v = n4j_jget(o, path);
	if (!cJSON_IsNumber(v) || v->valuedouble > 9.2e18 || v->valuedouble < -9.2e18)
		return def;
	return (int64_t)v->valuedouble;
}

bool n4j_jbool(const cJSON *o, const char *path, bool def)
{
	const cJSON *v = n4j_jget(o, path);
	return cJSON_IsBool(v) ? cJSON_IsTrue(v) : def;
}

static bool all_digits(const char *s, size_t n)
{
	if (n == 0 || n > 9)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return true;
}

/* Mirrors the CRD's rule: ^(5\.26\.[0-9]+|20(2[5-9]|[3-9][0-9])\.(0[1-9]|1[0-2])\.[0-9]+)$ */
bool n4j_version_parse(const char *s, struct n4j_version *v)
{
	if (!s)
		return false;
	const char *d1 = strchr(s, '.');
	const char *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
	if (!d1 || !d2 || !all_digits(s, (size_t)(d1 - s)) ||
	    !all_digits(d1 + 1, (size_t)(d2 - d1 - 1)) || !all_digits(d2 + 1, strlen(d2 + 1)))
		return false;
	struct n4j_version r = {0};
	r.major = atoi(s);
	r.minor = atoi(d1 + 1);
	r.patch = atoi(d2 + 1);
	size_t major_len = (size_t)(d1 - s), minor_len = (size_t)(d2 - d1 - 1);
	if (major_len == 1 && minor_len == 2 && r.major == 5 && r.minor == 26) {
		r.calver = false;
	} else if (major_len == 4 && minor_len == 2 && r.major >= 2025 && r.major <= 2099 &&
		   r.minor >= 1 && r.minor <= 12) {
		r.calver = true;
	} else {
		return false;
	}
	if (v)
		*v = r;
	return true;
}

static const char *const OWNED_PREFIXES[] = {
	"server.default_listen_address",
	"server.default_advertised_address",
	"server.cluster.",
	"server.discovery.",
	"server.routing.",
	"server.bolt.",
	"server.http.",
	"server.https.",
	"server.backup.",
	"server.memory.",
	"server.directories.",
	"server.metrics.prometheus.",
	"dbms.cluster.",
	"dbms.ssl.policy.",
	"dbms.kubernetes.",
	"initial.dbms.",
	"initial.server.",
	"dbms.security.auth_enabled",
	"dbms.security.cluster_status_auth_enabled",
	NULL,
};

bool n4j_config_key_owned(const char *key)
{
	for (const char *const *p = OWNED_PREFIXES; *p; p++)
		if (strncmp(key, *p, strlen(*p)) == 0)
			return true;
	return false;
}

/* ^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$ */
bool n4j_config_key_shape_ok(const char *key)
{
	if (!(*key >= 'a' && *key <= 'z'))
		return false;
	int dots = 0;
	bool seg_empty = false;
	for (const char *p = key + 1; *p; p++) {
		if (*p == '.') {
			if (seg_empty)
				return false;
			dots++;
			seg_empty = true;
		} else if ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_') {
			seg_empty = false;
		} else {
			return false;
		}
	}
	return dots > 0 && !seg_empty;
}

/* ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$, at most max characters */
bool n4j_dns_label_ok(const char *s, size_t max)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
		if (!alnum && !(c == '-' && i > 0 && i < n - 1))
			return false;
	}
	return true;
}

/* ^[a-z][a-z0-9.-]{2,62}$ and not system */
bool n4j_database_name_ok(const char *s)
{
	size_t n = strlen(s);
	if (n < 3 || n > 63 || !(s[0] >= 'a' && s[0] <= 'z') || strcmp(s, "system") == 0)
		return false;
	for (size_t i = 1; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-'))
			return false;
	}
	return true;
}

/* ---- typed-view builders: arena copies of what the accessors find ---- */

static int cmp_keys(const void *x, const void *y)
{
	const cJSON *const *a = x, *const *b = y;
	return strcmp((*a)->string, (*b)->string);
}

static const char *scalar_text(struct n4j_arena *a, const cJSON *v)
{
	if (cJSON_IsString(v))
		return n4j_arena_strdup(a, v->valuestring);
	if (cJSON_IsNumber(v)) {
		double d = v->valuedouble;
		if (d >= -9.2e18 && d <= 9.2e18 && d == (double)(int64_t)d)
			return n4j_arena_printf(a, "%lld", (long long)v->valuedouble);
		return n4j_arena_printf(a, "%.17g", v->valuedouble);
	}
	if (cJSON_IsBool(v))
		return n4j_arena_strdup(a, cJSON_IsTrue(v) ? "true" : "false");
	return n4j_arena_strdup(a, "");
}

int n4j_view_str_map(struct n4j_arena *a, const cJSON *obj, struct n4j_str_map *out)
{
	memset(out, 0, sizeof(*out));
	if (!cJSON_IsObject(obj))
		return 0;
	size_t n = (size_t)cJSON_GetArraySize(obj);
	if (n == 0)
		return 0;
	const cJSON **items = n4j_arena_calloc(a, n, sizeof(*items));
	out->keys = n4j_arena_calloc(a, n, sizeof(char *));
	out->values = n4j_arena_calloc(a, n, sizeof(char *));
	if (!items || !out->keys || !out->values)
		return N4J_ENOMEM;
	size_t i = 0;
	const cJSON *e;
	cJSON_ArrayForEach(e, obj) items[i++] = e;
	qsort(items, n, sizeof(*items), cmp_keys);
	for (i = 0; i < n; i++) {
		out->keys[i] = n4j_arena_strdup(a, items[i]->string);
		out->values[i] = scalar_text(a, items[i]);
		if (!out->keys[i] || !out->values[i])
			return N4J_ENOMEM;
	}
	out->n = n;
	return 0;
}

int n4j_view_str_list(struct n4j_arena *a, const cJSON *arr, size_t *n, const char ***out)
{
	*n = 0;
	*out = NULL;
	if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) == 0)
		return 0;
	size_t cnt = (size_t)cJSON_GetArraySize(arr);
	const char **list = n4j_arena_calloc(a, cnt, sizeof(*list));
	if (!list)
		return N4J_ENOMEM;
	size_t i = 0;
	const cJSON *e;
	cJSON_ArrayForEach(e, arr)
	{
		if (!(list[i++] = scalar_text(a, e)))
			return N4J_ENOMEM;
	}
	*n = cnt;
	*out = list;
	return 0;
}

const char *n4j_view_str(struct n4j_arena *a, const cJSON *o, const char *path)
{
	const char *s = n4j_jstr(o, path);
	return s ? n4j_arena_strdup(a, s) : NULL;
}

int n4j_view_meta(struct n4j_arena *a, const cJSON *doc, struct n4j_meta *m)
{
	memset(m, 0, sizeof(*m));
	m->name = n4j_view_str(a, doc, "metadata.name");
	m->namespace_ = n4j_view_str(a, doc, "metadata.namespace");
	if (!m->namespace_)
		m->namespace_ = "default";
	m->uid = n4j_view_str(a, doc, "metadata.uid");
	m->generation = n4j_jint(doc, "metadata.generation", 0);
	int rc = n4j_view_str_map(a, n4j_jget(doc, "metadata.labels"), &m->labels);
	if (!rc)
		rc = n4j_view_str_map(a, n4j_jget(doc, "metadata.annotations"), &m->annotations);
	if (!rc && !m->name)
		rc = N4J_EINVAL;
	return rc;
}

/* Requests default to limits, key by key, so pods get the Guaranteed class Neo4j needs. */
int n4j_view_resources(struct n4j_arena *a, const cJSON *res, struct n4j_str_map *requests,
		       struct n4j_str_map *limits)
{
	int rc = n4j_view_str_map(a, n4j_jget(res, "limits"), limits);
	if (rc)
		return rc;
	cJSON *merged = cJSON_CreateObject();
	if (!merged)
		return N4J_ENOMEM;
	const cJSON *e;
	cJSON_ArrayForEach(e, n4j_jget(res, "requests"))
	{
		cJSON_AddItemToObject(merged, e->string, cJSON_Duplicate(e, false));
	}
	cJSON_ArrayForEach(e, n4j_jget(res, "limits"))
	{
		if (!cJSON_GetObjectItemCaseSensitive(merged, e->string))
			cJSON_AddItemToObject(merged, e->string, cJSON_Duplicate(e, false));
	}
	rc = n4j_view_str_map(a, merged, requests);
	cJSON_Delete(merged);
	return rc;
}
