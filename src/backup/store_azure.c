/*
 * Azure Blob store: List Blobs (one level under the prefix, paged by marker) and
 * Delete Blob, for azb://account/container/prefix.
 *
 * Authentication as the Azure SDKs read it from the environment:
 *  - Shared Key: AZURE_STORAGE_ACCOUNT_KEY (base64), every request signed with
 *    HMAC-SHA256 (AZURE_STORAGE_ACCOUNT_NAME, when set, must name the URI's account);
 *  - otherwise Microsoft Entra ID (what DefaultAzureCredential's environment and
 *    workload-identity parts do): AZURE_TENANT_ID + AZURE_CLIENT_ID with either
 *    AZURE_FEDERATED_TOKEN_FILE (workload identity) or AZURE_CLIENT_SECRET, exchanged
 *    once for a bearer token (scope https://storage.azure.com/.default) at
 *    AZURE_AUTHORITY_HOST (default https://login.microsoftonline.com/).
 * Endpoint AZURE_STORAGE_BLOB_ENDPOINT (Azurite: http://127.0.0.1:10000/devstoreaccount1),
 * else https://<account>.blob.core.windows.net.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "backup/internal.h"
#include "backup/store_http.h"

/* A version both Azure and Azurite serve, with List Blobs' Content-Length property. */
#define AZ_VERSION "2021-08-06"

struct az_store {
	struct n4j_store base; /* first */
	struct n4j_arena *arena;
	struct n4j_endpoint ep;
	const char *account;
	const char *container;
	const char *prefix; /* "" or ends with '/' */
	const char *cpath;  /* encoded "<base>/<container>" */
	const char *target; /* azb://account/container/prefix, for messages */
	unsigned char *key; /* decoded account key (Shared Key), wiped at close */
	size_t key_len;
	char *bearer;        /* Entra ID access token, wiped at close */
	const char *ca_file; /* SSL_CERT_FILE, or NULL */
};

static void az_close(struct n4j_store *st)
{
	struct az_store *s = (struct az_store *)st;
	if (!s)
		return;
	if (s->key) {
		n4j_wipe(s->key, s->key_len);
		free(s->key);
	}
	n4j_wipe_free(s->bearer);
	n4j_arena_free(s->arena);
	free(s);
}

/* "HTTP 403 AuthenticationFailed: Server failed to authenticate the request. …": the
 * Code and the first line of Message only (AuthenticationErrorDetail quotes the
 * signature and stays out). */
static int az_fail(const char *what, const struct n4j_http_resp *r, struct n4j_error *err)
{
	const char *b = r->body.data ? r->body.data : "";
	const char *end = b + r->body.len;
	const char *s, *e, *next;
	char code[96] = "", msg[300] = "";
	if (n4j_xml_find(b, end, "Code", &s, &e, &next))
		n4j_store_clean_text(s, (size_t)(e - s), sizeof(code) - 1, code, sizeof(code));
	else if (r->error_code[0])
		snprintf(code, sizeof(code), "%s", r->error_code);
	if (n4j_xml_find(b, end, "Message", &s, &e, &next))
		n4j_store_clean_text(s, (size_t)(e - s), sizeof(msg) - 1, msg, sizeof(msg));
	int rc = r->status == 404 ? N4J_ENOTFOUND : N4J_EIO;
	return n4j_err(err, rc, "%s: HTTP %ld%s%s%s%s", what, r->status, code[0] ? " " : "", code,
		       msg[0] ? ": " : "", msg);
}

struct qparam {
	const char *name; /* lowercase, in sorted order */
	const char *value;
};

/*
 * Signs (Shared Key) or authorises (bearer) and sends one request with an empty
 * body. `path` is the encoded absolute path; `q` the query parameters sorted by
 * name (empty values left out by the caller).
 */
static int az_request(struct az_store *s, const char *what, const char *method, const char *path,
		      const struct qparam *q, size_t nq, struct n4j_http_resp *resp,
		      struct n4j_error *err)
{
	/* Callers free resp whatever happens, also when no request was sent. */
	memset(resp, 0, sizeof(*resp));
	char date[40];
	time_t t = (time_t)(n4j_wall_ns() / 1000000000);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	struct n4j_buf url, sts;
	n4j_buf_init(&url);
	n4j_buf_init(&sts);
	n4j_buf_printf(&url, "%s://%s%s", s->ep.scheme, s->ep.hostport, path);
	for (size_t i = 0; i < nq; i++) {
		n4j_buf_putc(&url, i ? '&' : '?');
		n4j_buf_puts(&url, q[i].name);
		n4j_buf_putc(&url, '=');
		n4j_uri_encode(&url, q[i].value, strlen(q[i].value), false);
	}
	struct curl_slist *h = NULL;
	bool ok = n4j_http_header(&h, "x-ms-date: %s", date) &&
		  n4j_http_header(&h, "x-ms-version: %s", AZ_VERSION) &&
		  n4j_http_header(&h, "Accept:") && n4j_http_header(&h, "Expect:");
	int rc = 0;
	if (ok && s->key) {
		/* VERB, eleven standard headers (all empty here), the x-ms-* headers
		 * sorted, then /account/path and each query parameter on its own line. */
		n4j_buf_printf(&sts,
			       "%s\n\n\n\n\n\n\n\n\n\n\n\nx-ms-date:%s\nx-ms-version:%s\n/%s%s",
			       method, date, AZ_VERSION, s->account, path);
		for (size_t i = 0; i < nq; i++)
			n4j_buf_printf(&sts, "\n%s:%s", q[i].name, q[i].value);
		unsigned char mac[32];
		char *sig = NULL;
		if (!sts.oom && n4j_hmac_sha256(s->key, s->key_len, sts.data, sts.len, mac) == 0)
			sig = n4j_base64_encode(mac, 32);
		ok = sig && n4j_http_header(&h, "Authorization: SharedKey %s:%s", s->account, sig);
		n4j_wipe_free(sig);
	} else if (ok) {
		ok = n4j_http_header(&h, "Authorization: Bearer %s", s->bearer);
	}
	if (!ok || url.oom) {
		rc = n4j_err(err, N4J_ENOMEM, "%s: out of memory", what);
	} else {
		rc = n4j_http_do(what, method, url.data, s->ca_file, h, NULL, 0, resp, err);
	}
	n4j_http_headers_free(h);
	n4j_buf_free(&url);
	n4j_buf_free(&sts);
	return rc;
}

static int az_list(struct n4j_store *st, struct n4j_artifact **out, size_t *n,
		   struct n4j_error *err)
{
	struct az_store *s = (struct az_store *)st;
	char what[400];
	snprintf(what, sizeof(what), "azure: list %s", s->target);
	*out = NULL;
	*n = 0;
	struct n4j_listing l = {0};
	char *marker = NULL;
	size_t pl = strlen(s->prefix);
	char page_size[16];
	snprintf(page_size, sizeof(page_size), "%d", n4j_store_page_size(5000));
	int rc = 0;
	for (int page = 0;; page++) {
		if (page >= N4J_STORE_MAX_PAGES) {
			rc = n4j_err(err, N4J_ELIMIT, "%s: more than %d pages", what,
				     N4J_STORE_MAX_PAGES);
			break;
		}
		struct qparam q[6];
		size_t nq = 0;
		q[nq++] = (struct qparam){"comp", "list"};
		q[nq++] = (struct qparam){"delimiter", "/"};
		if (marker)
			q[nq++] = (struct qparam){"marker", marker};
		q[nq++] = (struct qparam){"maxresults", page_size};
		if (pl)
			q[nq++] = (struct qparam){"prefix", s->prefix};
		q[nq++] = (struct qparam){"restype", "container"};
		struct n4j_http_resp r;
		rc = az_request(s, what, "GET", s->cpath, q, nq, &r, err);
		if (!rc && r.status != 200)
			rc = az_fail(what, &r, err);
		if (rc) {
			n4j_http_resp_free(&r);
			break;
		}
		const char *p = r.body.data ? r.body.data : "", *end = p + r.body.len;
		const char *es, *ee, *bs, *be, *next;
		if (!n4j_xml_find(p, end, "EnumerationResults", &es, &ee, &next)) {
			n4j_http_resp_free(&r);
			rc = n4j_err(err, N4J_EPARSE, "%s: the answer is not an EnumerationResults",
				     what);
			break;
		}
		/* <Blob> entries are the blobs; <BlobPrefix> (deeper "folders") are skipped.
		 * Without <Blobs> (an empty page) there is nothing to read. */
		if (n4j_xml_find(es, ee, "Blobs", &bs, &be, &next)) {
			const char *cs, *ce, *cur = bs;
			while (!rc && n4j_xml_find(cur, be, "Blob", &cs, &ce, &next)) {
				cur = next;
				const char *ns, *ne, *zs, *ze, *nx;
				char *name = NULL;
				if (n4j_xml_find(cs, ce, "Name", &ns, &ne, &nx))
					name = n4j_xml_text(s->arena, ns, ne);
				if (!name) {
					rc = n4j_err(err, N4J_EPARSE, "%s: a blob without a Name",
						     what);
					break;
				}
				if (strncmp(name, s->prefix, pl) != 0 || !name[pl] ||
				    strchr(name + pl, '/'))
					continue;
				int64_t size = n4j_xml_find(cs, ce, "Content-Length", &zs, &ze, &nx)
						       ? n4j_parse_size(zs, ze)
						       : -1;
				rc = n4j_listing_add(&l, name + pl, size, what, err);
			}
		}
		marker = NULL;
		const char *ms, *me;
		if (!rc && n4j_xml_find(es, ee, "NextMarker", &ms, &me, &next) && me > ms) {
			marker = n4j_xml_text(s->arena, ms, me);
			if (!marker)
				rc = n4j_err(err, N4J_EPARSE, "%s: a malformed NextMarker", what);
		}
		n4j_http_resp_free(&r);
		if (rc || !marker)
			break;
	}
	if (rc) {
		free(l.arts);
		return rc;
	}
	*out = l.arts;
	*n = l.n;
	return 0;
}

static int az_del(struct n4j_store *st, const char *name, struct n4j_error *err)
{
	struct az_store *s = (struct az_store *)st;
	char what[400];
	snprintf(what, sizeof(what), "azure: delete %s%.100s", s->target, name);
	struct n4j_buf path;
	n4j_buf_init(&path);
	n4j_buf_puts(&path, s->cpath);
	n4j_buf_putc(&path, '/');
	n4j_uri_encode(&path, s->prefix, strlen(s->prefix), true);
	n4j_uri_encode(&path, name, strlen(name), true);
	if (path.oom) {
		n4j_buf_free(&path);
		return n4j_err(err, N4J_ENOMEM, "%s: out of memory", what);
	}
	struct n4j_http_resp r;
	int rc = az_request(s, what, "DELETE", n4j_buf_cstr(&path), NULL, 0, &r, err);
	n4j_buf_free(&path);
	/* A blob that is already gone counts as deleted (deleting is idempotent). */
	if (!rc && r.status != 202 && r.status != 200 && r.status != 204 &&
	    !(r.status == 404 && strcmp(r.error_code, "BlobNotFound") == 0))
		rc = az_fail(what, &r, err);
	n4j_http_resp_free(&r);
	return rc;
}

static const struct n4j_store_ops az_ops = {az_list, az_del, az_close};

/* Entra ID client credentials: a federated token (workload identity) or a secret. */
static int az_token(struct az_store *s, struct n4j_error *err)
{
	const char *tenant = n4j_env("AZURE_TENANT_ID");
	const char *client = n4j_env("AZURE_CLIENT_ID");
	const char *fed = n4j_env("AZURE_FEDERATED_TOKEN_FILE");
	const char *secret = n4j_env("AZURE_CLIENT_SECRET");
	if (!tenant || !client || (!fed && !secret))
		return n4j_err(err, N4J_EINVAL,
			       "azure: no credentials: set AZURE_STORAGE_ACCOUNT_KEY (with "
			       "AZURE_STORAGE_ACCOUNT_NAME) in the target's Secret, or "
			       "AZURE_TENANT_ID and AZURE_CLIENT_ID with AZURE_CLIENT_SECRET or "
			       "workload identity (AZURE_FEDERATED_TOKEN_FILE)");
	for (const char *c = tenant; *c; c++) {
		if (*c == '/' || *c == '?' || *c == '#' || *c == '@')
			return n4j_err(err, N4J_EINVAL,
				       "azure: AZURE_TENANT_ID is not a tenant id");
	}
	char *assertion = NULL;
	size_t al = 0;
	struct n4j_error ferr;
	if (fed && n4j_read_file(fed, 64 * 1024, &assertion, &al, &ferr))
		return n4j_err(err, N4J_EIO, "azure: cannot read the federated token file %s", fed);
	while (al && (assertion[al - 1] == '\n' || assertion[al - 1] == '\r'))
		assertion[--al] = '\0';
	struct n4j_buf body;
	n4j_buf_init(&body);
	n4j_buf_puts(&body, "grant_type=client_credentials&client_id=");
	n4j_uri_encode(&body, client, strlen(client), false);
	n4j_buf_puts(&body, "&scope=https%3A%2F%2Fstorage.azure.com%2F.default");
	if (fed) {
		n4j_buf_puts(&body, "&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3A"
				    "client-assertion-type%3Ajwt-bearer&client_assertion=");
		n4j_uri_encode(&body, assertion, al, false);
	} else {
		n4j_buf_puts(&body, "&client_secret=");
		n4j_uri_encode(&body, secret, strlen(secret), false);
	}
	n4j_wipe_free(assertion);
	const char *auth = n4j_env("AZURE_AUTHORITY_HOST");
	if (!auth)
		auth = "https://login.microsoftonline.com/";
	size_t alen = strlen(auth);
	char *url = n4j_arena_printf(s->arena, "%s%s%s/oauth2/v2.0/token", auth,
				     alen && auth[alen - 1] == '/' ? "" : "/", tenant);
	struct curl_slist *h = NULL;
	if (body.oom || !url ||
	    !n4j_http_header(&h, "Content-Type: application/x-www-form-urlencoded")) {
		n4j_buf_wipe_free(&body);
		n4j_http_headers_free(h);
		return n4j_err(err, N4J_ENOMEM, "azure: out of memory");
	}
	const char *what = "azure: token from Microsoft Entra ID";
	struct n4j_http_resp r;
	int rc = n4j_http_do(what, "POST", url, s->ca_file, h, body.data, body.len, &r, err);
	n4j_buf_wipe_free(&body);
	n4j_http_headers_free(h);
	cJSON *j = rc ? NULL : cJSON_ParseWithLength(r.body.data ? r.body.data : "", r.body.len);
	if (!rc && r.status != 200) {
		/* OAuth errors: "error" and the first line of "error_description". */
		cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
		cJSON *d = cJSON_GetObjectItemCaseSensitive(j, "error_description");
		char msg[300] = "";
		if (cJSON_IsString(d))
			n4j_store_clean_text(d->valuestring, strlen(d->valuestring),
					     sizeof(msg) - 1, msg, sizeof(msg));
		rc = n4j_err(err, N4J_EIO, "%s: HTTP %ld %s%s%s", what, r.status,
			     cJSON_IsString(e) ? e->valuestring : "", msg[0] ? ": " : "", msg);
	} else if (!rc) {
		cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "access_token");
		if (!cJSON_IsString(t) || !t->valuestring[0])
			rc = n4j_err(err, N4J_EPARSE, "%s: no access_token in the answer", what);
		else if (!(s->bearer = strdup(t->valuestring)))
			rc = n4j_err(err, N4J_ENOMEM, "azure: out of memory");
	}
	n4j_json_wipe_delete(j);
	if (r.body.data)
		n4j_wipe(r.body.data, r.body.len);
	n4j_http_resp_free(&r);
	return rc;
}

int n4j_store_open_azure(const char *account, const char *rest, struct n4j_store **out,
			 struct n4j_error *err)
{
	struct az_store *s = calloc(1, sizeof(*s));
	if (!s || !(s->arena = n4j_arena_new())) {
		free(s);
		return n4j_err(err, N4J_ENOMEM, "azure: out of memory");
	}
	s->base.ops = &az_ops;
	s->base.kind = "azb";
	char *container = NULL, *prefix = NULL;
	int rc = 0;
	/* The account becomes part of a host name: Azure's characters only. */
	size_t al = strlen(account);
	if (al == 0 || al > 63 || strspn(account, "abcdefghijklmnopqrstuvwxyz0123456789") != al) {
		rc = n4j_err(err, N4J_EINVAL,
			     "azure: '%.64s' is not a storage account name (lowercase letters and "
			     "digits)",
			     account);
		goto fail;
	}
	rc = n4j_target_split(s->arena, rest, &container, &prefix);
	if (rc) {
		rc = rc == N4J_ENOMEM ? n4j_err(err, rc, "azure: out of memory")
				      : n4j_err(err, N4J_EINVAL,
						"azure: azb://%.100s/%.200s has no container",
						account, rest);
		goto fail;
	}
	s->account = n4j_arena_strdup(s->arena, account);
	s->container = container;
	s->prefix = prefix;
	s->target = n4j_arena_printf(s->arena, "azb://%s/%s/%s", account, container, prefix);
	if (!s->account || !s->target) {
		rc = n4j_err(err, N4J_ENOMEM, "azure: out of memory");
		goto fail;
	}
	const char *name = n4j_env("AZURE_STORAGE_ACCOUNT_NAME");
	if (name && strcmp(name, account) != 0) {
		rc = n4j_err(err, N4J_EINVAL,
			     "azure: AZURE_STORAGE_ACCOUNT_NAME is '%.64s' but the target's "
			     "account is '%.64s'",
			     name, account);
		goto fail;
	}
	const char *ep = n4j_env("AZURE_STORAGE_BLOB_ENDPOINT");
	if (ep) {
		if (n4j_endpoint_parse(ep, &s->ep)) {
			rc = n4j_err(
				err, N4J_EINVAL,
				"azure: AZURE_STORAGE_BLOB_ENDPOINT is not an http(s) URL without "
				"user info, query or fragment (its value is not repeated here: it "
				"could carry a credential)");
			goto fail;
		}
	} else {
		snprintf(s->ep.scheme, sizeof(s->ep.scheme), "https");
		int w = snprintf(s->ep.hostport, sizeof(s->ep.hostport), "%s.blob.core.windows.net",
				 account);
		if (w < 0 || (size_t)w >= sizeof(s->ep.hostport)) {
			rc = n4j_err(err, N4J_EINVAL, "azure: the account name is too long");
			goto fail;
		}
	}
	struct n4j_buf cp;
	n4j_buf_init(&cp);
	n4j_buf_puts(&cp, s->ep.base);
	n4j_buf_putc(&cp, '/');
	n4j_uri_encode(&cp, container, strlen(container), false);
	s->cpath = cp.oom ? NULL : n4j_arena_strdup(s->arena, n4j_buf_cstr(&cp));
	n4j_buf_free(&cp);
	if (!s->cpath) {
		rc = n4j_err(err, N4J_ENOMEM, "azure: out of memory");
		goto fail;
	}
	rc = n4j_store_ca_file("azure", NULL, &s->ca_file, err);
	if (rc)
		goto fail;
	const char *key = n4j_env("AZURE_STORAGE_ACCOUNT_KEY");
	if (key) {
		rc = n4j_base64_decode(key, &s->key, &s->key_len);
		if (rc) {
			/* Never echo the value: say only what is wrong with it. */
			rc = rc == N4J_ENOMEM ? n4j_err(err, rc, "azure: out of memory")
					      : n4j_err(err, N4J_EINVAL,
							"azure: AZURE_STORAGE_ACCOUNT_KEY is not "
							"base64 (copy the storage account's key "
							"as shown by the portal or az CLI)");
			goto fail;
		}
	} else {
		rc = az_token(s, err);
		if (rc)
			goto fail;
	}
	*out = &s->base;
	return 0;
fail:
	az_close(&s->base);
	return rc;
}
