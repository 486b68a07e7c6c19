/* Resource descriptors, paths, and the typed verbs on top of n4j_kube_request. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kube/internal.h"

#define RES(name, g, v, p, k, ns) const struct n4j_kube_resource name = {g, v, p, k, ns}
RES(N4J_RES_CONFIGMAPS, "", "v1", "configmaps", "ConfigMap", true);
RES(N4J_RES_SECRETS, "", "v1", "secrets", "Secret", true);
RES(N4J_RES_SERVICES, "", "v1", "services", "Service", true);
RES(N4J_RES_SERVICEACCOUNTS, "", "v1", "serviceaccounts", "ServiceAccount", true);
RES(N4J_RES_PODS, "", "v1", "pods", "Pod", true);
RES(N4J_RES_PVCS, "", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", true);
RES(N4J_RES_EVENTS, "", "v1", "events", "Event", true);
RES(N4J_RES_NAMESPACES, "", "v1", "namespaces", "Namespace", false);
RES(N4J_RES_STATEFULSETS, "apps", "v1", "statefulsets", "StatefulSet", true);
RES(N4J_RES_PDBS, "policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", true);
RES(N4J_RES_NETWORKPOLICIES, "networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy", true);
RES(N4J_RES_JOBS, "batch", "v1", "jobs", "Job", true);
RES(N4J_RES_CRONJOBS, "batch", "v1", "cronjobs", "CronJob", true);
RES(N4J_RES_LEASES, "coordination.k8s.io", "v1", "leases", "Lease", true);
RES(N4J_RES_NEO4JCLUSTERS, "neo4j.graphops.io", "v1alpha1", "neo4jclusters", "Neo4jCluster", true);
RES(N4J_RES_NEO4JBACKUPS, "neo4j.graphops.io", "v1alpha1", "neo4jbackups", "Neo4jBackup", true);

/* A path segment must not change the path's shape. */
static bool segment_ok(const char *s)
{
	if (!s || !s[0] || strlen(s) > 253 || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (const char *p = s; *p; p++)
		if (*p == '/' || *p == '?' || *p == '#' || *p == '%' || (unsigned char)*p <= ' ' ||
		    (unsigned char)*p >= 0x7f)
			return false;
	return true;
}

int n4j_kube_path(const struct n4j_kube_resource *r, const char *ns, const char *name,
		  const char *subresource, struct n4j_buf *out)
{
	if (!r || !r->version || !r->plural || !segment_ok(r->version) || !segment_ok(r->plural))
		return N4J_EINVAL;
	if ((ns && ns[0] && !segment_ok(ns)) || (name && !segment_ok(name)) ||
	    (subresource && (!name || !segment_ok(subresource))))
		return N4J_EINVAL;
	if (r->group && r->group[0]) {
		if (!segment_ok(r->group))
			return N4J_EINVAL;
		n4j_buf_printf(out, "/apis/%s/%s", r->group, r->version);
	} else {
		n4j_buf_printf(out, "/api/%s", r->version);
	}
	/* Cluster-scoped kinds ignore ns; a collection without ns spans all namespaces. */
	if (r->namespaced && ns && ns[0])
		n4j_buf_printf(out, "/namespaces/%s", ns);
	else if (r->namespaced && name)
		return N4J_EINVAL;
	n4j_buf_printf(out, "/%s", r->plural);
	if (name)
		n4j_buf_printf(out, "/%s", name);
	if (subresource)
		n4j_buf_printf(out, "/%s", subresource);
	return out->oom ? N4J_ENOMEM : 0;
}

static void put_escaped(struct n4j_buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.' || *p == '~') {
			n4j_buf_putc(b, (char)*p);
		} else {
			n4j_buf_putc(b, '%');
			n4j_buf_putc(b, hex[*p >> 4]);
			n4j_buf_putc(b, hex[*p & 15]);
		}
	}
}

/* Appends ?k=v or &k=v (v escaped) when v is set. */
void n4j_kube_query(struct n4j_buf *b, const char *k, const char *v)
{
	if (!v)
		return;
	n4j_buf_putc(b, memchr(b->data ? b->data : "", '?', b->len) ? '&' : '?');
	n4j_buf_puts(b, k);
	n4j_buf_putc(b, '=');
	put_escaped(b, v);
}

static int path_or_fail(const struct n4j_kube_resource *r, const char *ns, const char *name,
			const char *sub, struct n4j_buf *b, struct n4j_kube_error *e)
{
	n4j_buf_init(b);
	int rc = n4j_kube_path(r, ns, name, sub, b);
	if (rc == N4J_ENOMEM)
		return n4j_kube_fail(e, N4J_KUBE_OTHER, rc, "out of memory");
	if (rc) {
		n4j_buf_free(b);
		return n4j_kube_fail(e, N4J_KUBE_BAD_REQUEST, rc,
				     "%s: invalid namespace, name or subresource",
				     r && r->plural ? r->plural : "resource");
	}
	return 0;
}

static int send_json(struct n4j_kube_client *c, const char *method, struct n4j_buf *path,
		     const char *ctype, const cJSON *obj, cJSON **out, struct n4j_kube_error *e)
{
	char *body = obj ? cJSON_PrintUnformatted(obj) : NULL;
	const char *p = n4j_buf_cstr(path);
	int rc;
	if ((obj && !body) || !p)
		rc = n4j_kube_fail(e, N4J_KUBE_OTHER, N4J_ENOMEM, "%s: out of memory", method);
	else
		rc = n4j_kube_request(c, method, p, ctype, body, body ? strlen(body) : 0, out, e);
	free(body);
	n4j_buf_free(path);
	return rc;
}

int n4j_kube_get(struct n4j_kube_client *c, const struct n4j_kube_resource *r, const char *ns,
		 const char *name, cJSON **out, struct n4j_kube_error *e)
{
	struct n4j_buf b;
	int rc = path_or_fail(r, ns, name, NULL, &b, e);
	if (rc)
		return rc;
	return send_json(c, "GET", &b, NULL, NULL, out, e);
}

static int add_type(cJSON *o, const struct n4j_kube_resource *r)
{
	char av[160];
	if (r->group && r->group[0])
		snprintf(av, sizeof(av), "%s/%s", r->group, r->version);
	else
		snprintf(av, sizeof(av), "%s", r->version);
	cJSON_DeleteItemFromObjectCaseSensitive(o, "apiVersion");
	cJSON_DeleteItemFromObjectCaseSensitive(o, "kind");
	if (!cJSON_AddStringToObject(o, "apiVersion", av) ||
	    !cJSON_AddStringToObject(o, "kind", r->kind))
		return N4J_ENOMEM;
	return 0;
}

/* The list page being received: its splitter and what it yields. */
struct page {
	struct n4j_list_split split;
	const struct n4j_kube_resource *r;
	const struct n4j_kube_list_sink *sink;
	cJSON *meta;
};

/*
 * Each item is parsed alone, so the largest tree ever built is one object, and a page
 * answered whole (the watch cache ignores limit) costs no more memory than one item:
 * parsing a 14 MB list as one tree spent most of the informer's time in malloc, free and
 * page faults (perf, docs/performance.md).
 */
static int page_value(void *ud, bool is_meta, const char *text, size_t len)
{
	struct page *p = ud;
	cJSON *v = cJSON_ParseWithLength(text, len);
	if (!v)
		return N4J_EPARSE; /* a broken object, or out of memory while parsing it */
	if (is_meta) {
		cJSON_Delete(p->meta);
		p->meta = v;
		return 0;
	}
	if (add_type(v, p->r) != 0) {
		cJSON_Delete(v);
		return N4J_ENOMEM;
	}
	return p->sink->on_item(p->sink->ud, v);
}

static int page_feed(void *ud, const char *d, size_t len)
{
	struct page *p = ud;
	return n4j_list_split_feed(&p->split, d, len);
}

/* One page: items to the sink; *page_rv and *cont from its metadata (NULL if absent). */
static int list_page(struct n4j_kube_client *c, const struct n4j_kube_resource *r,
		     struct n4j_buf *path, const struct n4j_kube_list_sink *sink, char **page_rv,
		     char **cont, bool *fed, struct n4j_kube_error *e)
{
	struct page p = {.r = r, .sink = sink};
	n4j_list_split_init(&p.split, c->opts.max_response_bytes, page_value, &p);
	p.split.drop_managed_fields = sink->drop_managed_fields;
	struct n4j_kube_stream st = {page_feed, &p, false};
	const char *u = n4j_buf_cstr(path);
	int rc = u ? n4j_kube_get_stream(c, u, &st, e)
		   : n4j_kube_fail(e, N4J_KUBE_OTHER, N4J_ENOMEM, "list: out of memory");
	*fed = st.fed;
	if (!rc && !n4j_list_split_done(&p.split))
		rc = n4j_kube_fail(e, N4J_KUBE_TRANSPORT, N4J_EPARSE, "list %s: truncated response",
				   r->plural);
	*page_rv = *cont = NULL;
	if (!rc) {
		cJSON *prv = cJSON_GetObjectItemCaseSensitive(p.meta, "resourceVersion");
		cJSON *pc = cJSON_GetObjectItemCaseSensitive(p.meta, "continue");
		if (cJSON_IsString(prv) && !(*page_rv = strdup(prv->valuestring)))
			rc = N4J_ENOMEM;
		if (cJSON_IsString(pc) && pc->valuestring[0] && !(*cont = strdup(pc->valuestring)))
			rc = N4J_ENOMEM;
		if (rc) {
			free(*page_rv);
			free(*cont);
			*page_rv = *cont = NULL;
			n4j_kube_fail(e, N4J_KUBE_OTHER, rc, "list: out of memory");
		}
	}
	cJSON_Delete(p.meta);
	n4j_list_split_free(&p.split);
	n4j_buf_free(path);
	return rc;
}

int n4j_kube_list_each(struct n4j_kube_client *c, const struct n4j_kube_resource *r, const char *ns,
		       const struct n4j_kube_list_opts *o, const struct n4j_kube_list_sink *sink,
		       char **rv, struct n4j_kube_error *e)
{
	struct n4j_kube_list_opts none = {0};
	struct n4j_kube_error tmp;
	if (!o)
		o = &none;
	if (!e)
		e = &tmp; /* the restart after a 410 needs the reason */
	if (rv)
		*rv = NULL;
	int limit = o->page_size > 0 ? o->page_size : 500;
	int rc = 0;
	for (int restart = 0; restart < 2; restart++) {
		char *cont = NULL, *first_rv = NULL;
		bool start_over = false;
		if (restart && sink->on_restart)
			sink->on_restart(sink->ud);
		for (;;) {
			struct n4j_buf b;
			rc = path_or_fail(r, ns, NULL, NULL, &b, e);
			if (rc)
				break;
			char lim[16];
			if (o->page_size >= 0) {
				snprintf(lim, sizeof(lim), "%d", limit);
				n4j_kube_query(&b, "limit", lim);
			}
			n4j_kube_query(&b, "labelSelector", o->label_selector);
			n4j_kube_query(&b, "fieldSelector", o->field_selector);
			/* The apiserver refuses a resourceVersion together with continue. */
			if (cont)
				n4j_kube_query(&b, "continue", cont);
			else if (o->resource_version && o->resource_version[0])
				n4j_kube_query(&b, "resourceVersion", o->resource_version);
			char *page_rv = NULL, *next = NULL;
			bool fed = false;
			rc = list_page(c, r, &b, sink, &page_rv, &next, &fed, e);
			if (rc) {
				/* An expired continue token (the snapshot is gone), or a page cut
				 * off after some of its items went to the sink: start over once. */
				start_over = (cont && e->reason == N4J_KUBE_GONE) ||
					     (fed && e->reason == N4J_KUBE_TRANSPORT);
				break;
			}
			if (!first_rv)
				first_rv = page_rv;
			else
				free(page_rv);
			free(cont);
			cont = next;
			if (!cont)
				break;
		}
		free(cont);
		if (!rc) {
			if (rv)
				*rv = first_rv;
			else
				free(first_rv);
			return 0;
		}
		free(first_rv);
		if (!start_over)
			break;
	}
	return rc;
}

/* n4j_kube_list's sink: every item into one array. */
static int collect_item(void *ud, cJSON *item)
{
	cJSON_AddItemToArray(ud, item); /* appends in place: cannot fail for a detached item */
	return 0;
}

static void collect_restart(void *ud)
{
	cJSON *all = ud;
	while (all->child)
		cJSON_Delete(cJSON_DetachItemViaPointer(all, all->child));
}

int n4j_kube_list(struct n4j_kube_client *c, const struct n4j_kube_resource *r, const char *ns,
		  const struct n4j_kube_list_opts *o, cJSON **items, char **rv,
		  struct n4j_kube_error *e)
{
	*items = NULL;
	if (rv)
		*rv = NULL;
	cJSON *all = cJSON_CreateArray();
	if (!all)
		return n4j_kube_fail(e, N4J_KUBE_OTHER, N4J_ENOMEM, "list: out of memory");
	struct n4j_kube_list_sink sink = {collect_item, collect_restart, all, false};
	int rc = n4j_kube_list_each(c, r, ns, o, &sink, rv, e);
	if (rc) {
		cJSON_Delete(all);
		return rc;
	}
	*items = all;
	return 0;
}

int n4j_kube_create(struct n4j_kube_client *c, const struct n4j_kube_resource *r, const char *ns,
		    const cJSON *obj, cJSON **out, struct n4j_kube_error *e)
{
	struct n4j_buf b;
	int rc = path_or_fail(r, ns, NULL, NULL, &b, e);
	if (rc)
		return rc;
	n4j_kube_query(&b, "fieldManager", c->field_manager);
	return send_json(c, "POST", &b, "application/json", obj, out, e);
}

int n4j_kube_apply(struct n4j_kube_client *c, const struct n4j_kube_resource *r, const char *ns,
		   const char *name, const cJSON *obj, bool force, cJSON **out,
		   struct n4j_kube_error *e)
{
	struct n4j_buf b;
	int rc = path_or_fail(r, ns, name, NULL, &b, e);
	if (rc)
		return rc;
	n4j_kube_query(&b, "fieldManager", c->field_manager);
	if (force)
		n4j_kube_query(&b, "force", "true");
	/* SSA needs apiVersion and kind in the body: add them when the caller left them out. */
	cJSON *copy = NULL;
	if (!cJSON_GetObjectItemCaseSensitive(obj, "apiVersion") ||
	    !cJSON_GetObjectItemCaseSensitive(obj, "kind")) {
		copy = cJSON_Duplicate(obj, true);
		if (!copy || add_type(copy, r) != 0) {
			cJSON_Delete(copy);
			n4j_buf_free(&b);
			return n4j_kube_fail(e, N4J_KUBE_OTHER, N4J_ENOMEM, "apply: out of memory");
		}
	}
	rc = send_json(c, "PATCH", &b, "application/apply-patch+yaml", copy ? copy : obj, out, e);
	cJSON_Delete(copy);
	return rc;
}

int n4j_kube_merge_patch(struct n4j_kube_client *c, const struct n4j_kube_resource *r,
			 const char *ns, const char *name, const char *subresource,
			 const cJSON *patch, cJSON **out, struct n4j_kube_error *e)
{
	struct n4j_buf b;
	int rc = path_or_fail(r, ns, name, subresource, &b, e);
	if (rc)
		return rc;
	n4j_kube_query(&b, "fieldManager", c->field_manager);
	return send_json(c, "PATCH", &b, "application/merge-patch+json", patch, out, e);
}

int n4j_kube_update(struct n4j_kube_client *c, const struct n4j_kube_resource *r, const char *ns,
		    const char *name, const char *subresource, const cJSON *obj, cJSON **out,
		    struct n4j_kube_error *e)
{
	struct n4j_buf b;
	int rc = path_or_fail(r, ns, name, subresource, &b, e);
	if (rc)
		return rc;
	n4j_kube_query(&b, "fieldManager", c->field_manager);
	return send_json(c, "PUT", &b, "application/json", obj, out, e);
}

int n4j_kube_delete(struct n4j_kube_client *c, const struct n4j_kube_resource *r, const char *ns,
		    const char *name, const struct n4j_kube_delete_opts *o,
		    struct n4j_kube_error *e)
{
	struct n4j_buf b;
	int rc = path_or_fail(r, ns, name, NULL, &b, e);
	if (rc)
		return rc;
	cJSON *opts = cJSON_CreateObject();
	bool ok = opts && cJSON_AddStringToObject(opts, "kind", "DeleteOptions") &&
		  cJSON_AddStringToObject(opts, "apiVersion", "v1") &&
		  /* Always explicit: batch/v1 Jobs would otherwise orphan their pods. */
		  cJSON_AddStringToObject(opts, "propagationPolicy",
					  o && o->propagation ? o->propagation : "Background");
	if (ok && o && (o->uid || o->resource_version)) {
		cJSON *pre = cJSON_AddObjectToObject(opts, "preconditions");
		ok = pre && (!o->uid || cJSON_AddStringToObject(pre, "uid", o->uid)) &&
		     (!o->resource_version ||
		      cJSON_AddStringToObject(pre, "resourceVersion", o->resource_version));
	}
	if (!ok) {
		cJSON_Delete(opts);
		n4j_buf_free(&b);
		return n4j_kube_fail(e, N4J_KUBE_OTHER, N4J_ENOMEM, "delete: out of memory");
	}
	struct n4j_kube_error tmp;
	if (!e)
		e = &tmp;
	rc = send_json(c, "DELETE", &b, "application/json", opts, NULL, e);
	cJSON_Delete(opts);
	if (rc && e->reason == N4J_KUBE_NOT_FOUND) {
		/* Already gone is what the caller wanted; keep http_status for the curious. */
		n4j_kube_error_clear(e);
		e->http_status = 404;
		rc = 0;
	}
	return rc;
}
