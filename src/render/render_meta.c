/* Object metadata shared by every rendered object: labels, annotations, owner. */
#include <string.h>

#include "render/render_internal.h"

/*
 * Stands in for the spec hash until rx_finish() knows it. As long as the real
 * hash, so that the final cJSON_SetValuestring() copies in place and cannot
 * fail; n4j_render_spec_hash() ignores the annotation anyway.
 */
static const char hash_placeholder[N4J_SHA256_HEX_LEN + 1] =
	"0000000000000000000000000000000000000000000000000000000000000000";

void rx_labels(struct rx *x, cJSON *labels, const struct rx_meta *m)
{
	rx_str(x, labels, N4J_LABEL_NAME, "neo4j");
	rx_str(x, labels, N4J_LABEL_INSTANCE, m->instance);
	rx_str(x, labels, N4J_LABEL_COMPONENT, m->component);
	rx_str(x, labels, N4J_LABEL_MANAGED_BY, N4J_MANAGER);
	rx_str(x, labels, N4J_LABEL_VERSION, m->version);
	if (m->backup)
		rx_str(x, labels, N4J_LABEL_BACKUP, m->backup);
}

void rx_server_selector(struct rx *x, cJSON *match_labels, const char *instance)
{
	/* Never the version label: a selector must not change on upgrade. */
	rx_str(x, match_labels, N4J_LABEL_NAME, "neo4j");
	rx_str(x, match_labels, N4J_LABEL_INSTANCE, instance);
	rx_str(x, match_labels, N4J_LABEL_COMPONENT, N4J_COMPONENT_SERVER);
}

cJSON *rx_server_label_selector(struct rx *x, cJSON *parent, const char *key, const char *instance)
{
	cJSON *sel = rx_obj(x, parent, key);
	rx_server_selector(x, rx_obj(x, sel, "matchLabels"), instance);
	return sel;
}

void rx_label_selector(struct rx *x, cJSON *parent, const char *key, const struct n4j_selector *s)
{
	cJSON *sel = rx_obj(x, parent, key);
	if (s->match_labels.n)
		rx_map(x, sel, "matchLabels", &s->match_labels);
	if (!s->n_expr)
		return;
	cJSON *exprs = rx_arr(x, sel, "matchExpressions");
	for (size_t i = 0; i < s->n_expr; i++) {
		const struct n4j_selector_req *r = &s->expr[i];
		cJSON *e = rx_obj(x, exprs, NULL);
		rx_str(x, e, "key", r->key);
		rx_str(x, e, "operator", r->op);
		if (r->n_values) {
			cJSON *vals = rx_arr(x, e, "values");
			for (size_t j = 0; j < r->n_values; j++)
				rx_str(x, vals, NULL, r->values[j]);
		}
	}
}

/*
 * Operator annotations and the user's (already sorted) ones, merged in key
 * order; on a clash the operator's value wins, so a user cannot forge a hash.
 */
static void annotations(struct rx *x, cJSON *ann, const struct rx_meta *m)
{
	const char *keys[N4J_RENDER_MAX_ANN + 1], *vals[N4J_RENDER_MAX_ANN + 1];
	size_t n = 0;
	for (size_t i = 0; i < m->n_ann && i < N4J_RENDER_MAX_ANN; i++) {
		keys[n] = m->ann_keys[i];
		vals[n++] = m->ann_vals[i];
	}
	keys[n] = N4J_ANN_SPEC_HASH;
	vals[n++] = hash_placeholder;
	for (size_t i = 1; i < n; i++) { /* insertion sort: at most five entries */
		for (size_t j = i; j > 0 && strcmp(keys[j - 1], keys[j]) > 0; j--) {
			const char *tk = keys[j], *tv = vals[j];
			keys[j] = keys[j - 1];
			vals[j] = vals[j - 1];
			keys[j - 1] = tk;
			vals[j - 1] = tv;
		}
	}
	const struct n4j_str_map *u = m->user_annotations;
	size_t nu = u ? u->n : 0, i = 0, j = 0;
	while (i < n || j < nu) {
		int cmp = i == n ? 1 : j == nu ? -1 : strcmp(keys[i], u->keys[j]);
		if (cmp <= 0) {
			rx_str(x, ann, keys[i], vals[i]);
			i++;
			if (cmp == 0)
				j++;
		} else {
			rx_str(x, ann, u->keys[j], u->values[j]);
			j++;
		}
	}
}

cJSON *rx_object(struct rx *x, const char *api_version, const char *kind, const struct rx_meta *m)
{
	cJSON *o = cJSON_CreateObject();
	if (!o) {
		x->oom = true;
		return NULL;
	}
	rx_str(x, o, "apiVersion", api_version);
	rx_str(x, o, "kind", kind);
	cJSON *meta = rx_obj(x, o, "metadata");
	rx_str(x, meta, "name", m->name);
	rx_str(x, meta, "namespace", m->ns);
	rx_labels(x, rx_obj(x, meta, "labels"), m);
	annotations(x, rx_obj(x, meta, "annotations"), m);
	if (m->owner_kind) {
		cJSON *ref = rx_obj(x, rx_arr(x, meta, "ownerReferences"), NULL);
		rx_str(x, ref, "apiVersion", N4J_API_VERSION);
		rx_str(x, ref, "kind", m->owner_kind);
		rx_str(x, ref, "name", m->owner_name);
		/* Offline rendering has no uid; a fixed one keeps the output stable. */
		rx_str(x, ref, "uid", m->owner_uid ? m->owner_uid : N4J_OFFLINE_UID);
		rx_bool(x, ref, "controller", true);
		rx_bool(x, ref, "blockOwnerDeletion", true);
	}
	return o;
}

int rx_finish(struct rx *x, cJSON *obj, cJSON *out, const char *what, struct n4j_error *err)
{
	if (!obj || x->oom) {
		cJSON_Delete(obj);
		return n4j_err(err, N4J_ENOMEM, "render %s: out of memory", what);
	}
	char hex[N4J_SHA256_HEX_LEN + 1];
	int rc = n4j_render_spec_hash(obj, hex);
	if (rc) {
		cJSON_Delete(obj);
		return n4j_err(err, rc, "render %s: cannot hash the object", what);
	}
	cJSON *meta = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
	cJSON *ann = cJSON_GetObjectItemCaseSensitive(meta, "annotations");
	cJSON *h = cJSON_GetObjectItemCaseSensitive(ann, N4J_ANN_SPEC_HASH);
	if (!cJSON_IsString(h) || !cJSON_SetValuestring(h, hex)) {
		cJSON_Delete(obj);
		return n4j_err(err, N4J_ENOMEM, "render %s: cannot set the spec hash", what);
	}
	if (!cJSON_AddItemToArray(out, obj)) {
		cJSON_Delete(obj);
		return n4j_err(err, N4J_EINVAL, "render %s: no output list", what);
	}
	return 0;
}
