/*
 * A validator and defaulter for the subset of structural OpenAPI v3 that our
 * CRDs use (see crds/ header). It follows the apiserver's order: nulls of
 * non-nullable fields are dropped, defaults are filled top-down (only inside
 * objects that exist), then every value is checked. CEL rules are not
 * interpreted here: rules_*.c implement each of them in C.
 *
 * Unknown fields are reported instead of pruned: the apiserver would drop a
 * typo silently, and `render` exists to catch exactly that before apply.
 */
#include <regex.h>
#include <stdio.h>
#include <string.h>

#include "api/internal.h"

/* The quantity pattern controller-gen emits; a mismatch gets a friendlier message. */
static const char QUANTITY_PATTERN[] =
	"^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+("
	"\\.[0-9]*)?)|(\\.[0-9]+))))?$";

static const char *type_of(const cJSON *schema)
{
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(schema, "type");
	return cJSON_IsString(t) ? t->valuestring : NULL;
}

static bool flag(const cJSON *schema, const char *name)
{
	return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(schema, name));
}

static bool num(const cJSON *schema, const char *name, double *out)
{
	const cJSON *n = cJSON_GetObjectItemCaseSensitive(schema, name);
	if (!cJSON_IsNumber(n))
		return false;
	*out = n->valuedouble;
	return true;
}

static const char *child_path(struct n4j_arena *a, const char *path, const char *key)
{
	return *path ? n4j_arena_printf(a, "%s.%s", path, key) : n4j_arena_strdup(a, key);
}

/* Counts UTF-8 code points, as the apiserver measures maxLength. */
static size_t utf8_len(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			n++;
	return n;
}

static bool is_integral(const cJSON *v)
{
	double d = v->valuedouble;
	/* Range first: converting an out-of-range double to int64 is undefined behaviour. */
	return d >= -9.2e18 && d <= 9.2e18 && d == (double)(int64_t)d;
}

static const char *json_type_name(const cJSON *v)
{
	if (cJSON_IsString(v))
		return "string";
	if (cJSON_IsNumber(v))
		return is_integral(v) ? "integer" : "number";
	if (cJSON_IsBool(v))
		return "boolean";
	if (cJSON_IsArray(v))
		return "array";
	if (cJSON_IsObject(v))
		return "object";
	return "null";
}

static int type_problem(struct walk *w, const char *path, const char *want, const cJSON *v)
{
	if (strcmp(want, "string") == 0 && cJSON_IsBool(v))
		return n4j_problem_add(w->problems, path,
				       "must be of type string (unquoted yes/no/on/off/true/false "
				       "are booleans in YAML: quote the value)");
	(void)json_type_name;
	return n4j_problem_add(w->problems, path, "must be of type %s", want);
}

static bool type_ok(const cJSON *schema, const cJSON *v, const char **want)
{
	if (flag(schema, "x-kubernetes-int-or-string")) {
		*want = "integer or string";
		return cJSON_IsString(v) || (cJSON_IsNumber(v) && is_integral(v));
	}
	const char *t = type_of(schema);
	*want = t ? t : "any";
	if (!t)
		return true;
	if (strcmp(t, "string") == 0)
		return cJSON_IsString(v);
	if (strcmp(t, "integer") == 0)
		return cJSON_IsNumber(v) && is_integral(v);
	if (strcmp(t, "number") == 0)
		return cJSON_IsNumber(v);
	if (strcmp(t, "boolean") == 0)
		return cJSON_IsBool(v);
	if (strcmp(t, "object") == 0)
		return cJSON_IsObject(v);
	if (strcmp(t, "array") == 0)
		return cJSON_IsArray(v);
	return true;
}

static int check_enum(struct walk *w, const char *path, const cJSON *schema, const cJSON *v)
{
	const cJSON *en = cJSON_GetObjectItemCaseSensitive(schema, "enum");
	if (!cJSON_IsArray(en))
		return 0;
	const cJSON *e;
	cJSON_ArrayForEach(e, en)
	{
		if (cJSON_Compare(e, v, true))
			return 0;
	}
	struct n4j_buf b;
	n4j_buf_init(&b);
	cJSON_ArrayForEach(e, en)
	{
		if (b.len)
			n4j_buf_puts(&b, ", ");
		if (cJSON_IsString(e))
			n4j_buf_printf(&b, "\"%s\"", e->valuestring);
		else if (cJSON_IsNumber(e))
			n4j_buf_printf(&b, "%g", e->valuedouble);
	}
	int rc;
	if (cJSON_IsString(v))
		rc = n4j_problem_add(w->problems, path,
				     "unsupported value \"%.128s\": supported values: %s",
				     v->valuestring, n4j_buf_cstr(&b) ? b.data : "");
	else
		rc = n4j_problem_add(w->problems, path, "unsupported value: supported values: %s",
				     n4j_buf_cstr(&b) ? b.data : "");
	n4j_buf_free(&b);
	return rc;
}

static int check_string(struct walk *w, const char *path, const cJSON *schema, const cJSON *v)
{
	double lim;
	size_t len = utf8_len(v->valuestring);
	if (num(schema, "maxLength", &lim) && len > (size_t)lim)
		return n4j_problem_add(w->problems, path, "must be at most %.0f characters", lim);
	if (num(schema, "minLength", &lim) && len < (size_t)lim)
		return n4j_problem_add(w->problems, path, "must be at least %.0f characters", lim);
	const cJSON *pat = cJSON_GetObjectItemCaseSensitive(schema, "pattern");
	if (cJSON_IsString(pat)) {
		regex_t re;
		if (regcomp(&re, pat->valuestring, REG_EXTENDED | REG_NOSUB) != 0)
			return n4j_problem_add(w->problems, path,
					       "schema pattern does not compile");
		int m = regexec(&re, v->valuestring, 0, NULL, 0);
		regfree(&re);
		if (m != 0) {
			if (strcmp(pat->valuestring, QUANTITY_PATTERN) == 0)
				return n4j_problem_add(w->problems, path, "not a valid quantity");
			return n4j_problem_add(w->problems, path, "must match the pattern %s",
					       pat->valuestring);
		}
	}
	return 0;
}

static int walk_node(struct walk *w, const char *path, const cJSON *schema, cJSON *v);

/* Drops nulls of non-nullable properties, then fills defaults, like the apiserver. */
static int default_object(struct walk *w, const cJSON *props, cJSON *v)
{
	const cJSON *p;
	cJSON_ArrayForEach(p, props)
	{
		cJSON *cur = cJSON_GetObjectItemCaseSensitive(v, p->string);
		if (cur && cJSON_IsNull(cur) && !flag(p, "nullable")) {
			cJSON_DeleteItemFromObjectCaseSensitive(v, p->string);
			cur = NULL;
		}
		const cJSON *def = cJSON_GetObjectItemCaseSensitive(p, "default");
		if (!cur && def) {
			cJSON *copy = cJSON_Duplicate(def, true);
			if (!copy)
				return N4J_ENOMEM;
			cJSON_AddItemToObject(v, p->string, copy);
		}
	}
	return 0;
}

static int walk_object(struct walk *w, const char *path, const cJSON *schema, cJSON *v)
{
	const cJSON *props = cJSON_GetObjectItemCaseSensitive(schema, "properties");
	const cJSON *addl = cJSON_GetObjectItemCaseSensitive(schema, "additionalProperties");
	bool preserve = flag(schema, "x-kubernetes-preserve-unknown-fields");
	int rc;
	if (props && (rc = default_object(w, props, v)))
		return rc;

	double lim;
	if (num(schema, "maxProperties", &lim) && (double)cJSON_GetArraySize(v) > lim)
		return n4j_problem_add(w->problems, path, "must have at most %.0f properties", lim);

	const cJSON *req = cJSON_GetObjectItemCaseSensitive(schema, "required");
	const cJSON *r;
	cJSON_ArrayForEach(r, req)
	{
		if (cJSON_IsString(r) && !cJSON_GetObjectItemCaseSensitive(v, r->valuestring))
			if ((rc = n4j_problem_add(w->problems,
						  child_path(w->arena, path, r->valuestring),
						  "is required")))
				return rc;
	}

	cJSON *item = v->child;
	while (item) {
		cJSON *next = item->next; /* a null child may be removed below */
		const char *cp = child_path(w->arena, path, item->string);
		if (!cp)
			return N4J_ENOMEM;
		const cJSON *sub =
			props ? cJSON_GetObjectItemCaseSensitive(props, item->string) : NULL;
		if (!sub && cJSON_IsObject(addl)) {
			sub = addl;
			/* Like a property's (default_object), a non-nullable null map value is
			 * dropped, as the apiserver does: `requests: {cpu: }` is accepted. */
			if (cJSON_IsNull(item) && !flag(sub, "nullable") &&
			    !cJSON_GetObjectItemCaseSensitive(sub, "default")) {
				cJSON_Delete(cJSON_DetachItemViaPointer(v, item));
				item = next;
				continue;
			}
		}
		if (sub) {
			if ((rc = walk_node(w, cp, sub, item)))
				return rc;
		} else if (!preserve && !cJSON_IsTrue(addl) &&
			   !w->allow_unknown_at(w, path, item->string)) {
			if ((rc = n4j_problem_add(w->problems, cp, "unknown field")))
				return rc;
		}
		item = next;
	}
	return 0;
}

static const char *list_map_key_desc(const cJSON *schema, const cJSON *elem, struct n4j_buf *b)
{
	const cJSON *keys = cJSON_GetObjectItemCaseSensitive(schema, "x-kubernetes-list-map-keys");
	const cJSON *k;
	n4j_buf_reset(b);
	cJSON_ArrayForEach(k, keys)
	{
		const cJSON *val = cJSON_GetObjectItemCaseSensitive(elem, k->valuestring);
		if (b->len)
			n4j_buf_puts(b, ", ");
		if (cJSON_IsString(val))
			n4j_buf_printf(b, "%s \"%.128s\"", k->valuestring, val->valuestring);
		else
			n4j_buf_printf(b, "%s %s", k->valuestring, val ? "(value)" : "(absent)");
	}
	return n4j_buf_cstr(b);
}

static bool same_map_keys(const cJSON *schema, const cJSON *x, const cJSON *y)
{
	const cJSON *keys = cJSON_GetObjectItemCaseSensitive(schema, "x-kubernetes-list-map-keys");
	const cJSON *k;
	cJSON_ArrayForEach(k, keys)
	{
		const cJSON *a = cJSON_GetObjectItemCaseSensitive(x, k->valuestring);
		const cJSON *b = cJSON_GetObjectItemCaseSensitive(y, k->valuestring);
		if (!a || !b || !cJSON_Compare(a, b, true))
			return false;
	}
	return true;
}

static int walk_array(struct walk *w, const char *path, const cJSON *schema, cJSON *v)
{
	double lim;
	int n = cJSON_GetArraySize(v);
	if (num(schema, "maxItems", &lim) && (double)n > lim)
		return n4j_problem_add(w->problems, path, "must have at most %.0f items", lim);
	if (num(schema, "minItems", &lim) && (double)n < lim)
		return n4j_problem_add(w->problems, path, "must have at least %.0f items", lim);
	const cJSON *items = cJSON_GetObjectItemCaseSensitive(schema, "items");
	int i = 0, rc;
	cJSON *e;
	cJSON_ArrayForEach(e, v)
	{
		const char *ep = n4j_arena_printf(w->arena, "%s[%d]", path, i++);
		if (!ep)
			return N4J_ENOMEM;
		if (items && (rc = walk_node(w, ep, items, e)))
			return rc;
	}
	/* Uniqueness, as declared by the list type. */
	const cJSON *lt = cJSON_GetObjectItemCaseSensitive(schema, "x-kubernetes-list-type");
	if (!cJSON_IsString(lt) || strcmp(lt->valuestring, "atomic") == 0)
		return 0;
	bool is_map = strcmp(lt->valuestring, "map") == 0;
	struct n4j_buf b;
	n4j_buf_init(&b);
	i = 0;
	cJSON_ArrayForEach(e, v)
	{
		const cJSON *prev;
		for (prev = v->child; prev != e; prev = prev->next) {
			bool dup = is_map ? same_map_keys(schema, prev, e)
					  : cJSON_Compare(prev, e, true);
			if (!dup)
				continue;
			const char *ep = n4j_arena_printf(w->arena, "%s[%d]", path, i);
			if (is_map)
				rc = n4j_problem_add(w->problems, ep, "duplicate entry with %s",
						     list_map_key_desc(schema, e, &b));
			else
				rc = n4j_problem_add(w->problems, ep, "duplicate value");
			if (rc) {
				n4j_buf_free(&b);
				return rc;
			}
			break;
		}
		i++;
	}
	n4j_buf_free(&b);
	return 0;
}

static int walk_node(struct walk *w, const char *path, const cJSON *schema, cJSON *v)
{
	if (cJSON_IsNull(v)) {
		if (flag(schema, "nullable"))
			return 0;
		return n4j_problem_add(w->problems, path, "must not be null");
	}
	const char *want;
	if (!type_ok(schema, v, &want))
		return type_problem(w, path, want, v);
	int rc = check_enum(w, path, schema, v);
	if (rc || w->problems->n > w->stop_after)
		return rc;
	double lim;
	if (cJSON_IsNumber(v)) {
		if (num(schema, "minimum", &lim) && v->valuedouble < lim)
			return n4j_problem_add(w->problems, path, "must be at least %.0f", lim);
		if (num(schema, "maximum", &lim) && v->valuedouble > lim)
			return n4j_problem_add(w->problems, path, "must be at most %.0f", lim);
		return 0;
	}
	if (cJSON_IsString(v))
		return check_string(w, path, schema, v);
	if (cJSON_IsObject(v))
		return walk_object(w, path, schema, v);
	if (cJSON_IsArray(v))
		return walk_array(w, path, schema, v);
	return 0;
}

static bool allow_root_unknown(struct walk *w, const char *path, const char *key)
{
	/* apiVersion, kind and metadata are validated by the API machinery itself. */
	return *path == '\0' && (strcmp(key, "apiVersion") == 0 || strcmp(key, "kind") == 0 ||
				 strcmp(key, "metadata") == 0);
}

int n4j_schema_walk(struct n4j_arena *a, const cJSON *schema, cJSON *doc,
		    struct n4j_problems *problems)
{
	struct walk w = {
		.arena = a,
		.problems = problems,
		.allow_unknown_at = allow_root_unknown,
		.stop_after = 1000,
	};
	/* metadata follows ObjectMeta rules (checked by the caller), not the CRD schema. */
	int pos = 0;
	cJSON *meta = NULL;
	for (cJSON *c = cJSON_IsObject(doc) ? doc->child : NULL; c; c = c->next, pos++)
		if (c->string && strcmp(c->string, "metadata") == 0) {
			meta = cJSON_DetachItemViaPointer(doc, c);
			break;
		}
	int rc = walk_node(&w, "", schema, doc);
	if (meta) {
		/*
		 * Back where it was, so output keeps the input's key order. Moving the
		 * tail is portable: some cJSON builds refuse cJSON_InsertItemInArray
		 * on objects.
		 */
		cJSON *tail = NULL, *last = NULL, *c;
		while ((c = cJSON_DetachItemFromArray(doc, pos)) != NULL) {
			c->prev = last;
			c->next = NULL;
			if (last)
				last->next = c;
			else
				tail = c;
			last = c;
		}
		cJSON_AddItemToObject(doc, "metadata", meta);
		while (tail) {
			c = tail;
			tail = tail->next;
			c->prev = c->next = NULL;
			cJSON_AddItemToArray(doc, c);
		}
	}
	return rc;
}
