/*
 * GCS store: the JSON API's objects.list (one level under the prefix, paged by
 * pageToken) and objects.delete, for gs://bucket/prefix.
 *
 * As Google's client libraries do:
 *  - STORAGE_EMULATOR_HOST ("host:port" or a URL): requests go there, without
 *    authentication (emulators accept anything);
 *  - else GOOGLE_APPLICATION_CREDENTIALS names a service-account key file (JSON):
 *    a JWT signed RS256 with its private_key is exchanged once at its token_uri
 *    for an access token (scope devstorage.read_write);
 *  - else the metadata server (GKE workload identity, GCE) gives the token
 *    (GCE_METADATA_HOST overrides metadata.google.internal).
 * GCS_ENDPOINT_URL, when set, replaces https://storage.googleapis.com and keeps the
 * authentication (private endpoints; the tests' token check).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "backup/internal.h"
#include "backup/store_http.h"

#define GCS_SCOPE     "https://www.googleapis.com/auth/devstorage.read_write"
#define GCS_TOKEN_URI "https://oauth2.googleapis.com/token"

struct gcs_store {
	struct n4j_store base; /* first */
	struct n4j_arena *arena;
	const char *api;     /* "<base>/storage/v1/b/<bucket>/o" */
	const char *prefix;  /* "" or ends with '/' */
	const char *target;  /* gs://bucket/prefix, for messages */
	char *bearer;        /* NULL against an emulator; wiped at close */
	const char *ca_file; /* SSL_CERT_FILE, or NULL */
};

static void gcs_close(struct n4j_store *st)
{
	struct gcs_store *s = (struct gcs_store *)st;
	if (!s)
		return;
	n4j_wipe_free(s->bearer);
	n4j_arena_free(s->arena);
	free(s);
}

/* "HTTP 403: <error.message>" from a JSON API error, else the body's first line. */
static int gcs_fail(const char *what, const struct n4j_http_resp *r, struct n4j_error *err)
{
	char msg[300] = "";
	cJSON *j = cJSON_ParseWithLength(r->body.data ? r->body.data : "", r->body.len);
	cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
	cJSON *m = cJSON_GetObjectItemCaseSensitive(e, "message");
	if (cJSON_IsString(m))
		n4j_store_clean_text(m->valuestring, strlen(m->valuestring), sizeof(msg) - 1, msg,
				     sizeof(msg));
	else if (cJSON_IsString(e)) /* OAuth: {"error":"invalid_grant","error_description"} */
		n4j_store_clean_text(e->valuestring, strlen(e->valuestring), sizeof(msg) - 1, msg,
				     sizeof(msg));
	else if (!j && r->body.data)
		n4j_store_clean_text(r->body.data, r->body.len, 200, msg, sizeof(msg));
	cJSON *d = cJSON_GetObjectItemCaseSensitive(j, "error_description");
	size_t ml = strlen(msg);
	if (cJSON_IsString(d) && ml + 3 < sizeof(msg)) {
		memcpy(msg + ml, ": ", 3);
		n4j_store_clean_text(d->valuestring, strlen(d->valuestring), sizeof(msg) - ml - 3,
				     msg + ml + 2, sizeof(msg) - ml - 2);
	}
	cJSON_Delete(j);
	int rc = r->status == 404 ? N4J_ENOTFOUND : N4J_EIO;
	return n4j_err(err, rc, "%s: HTTP %ld%s%s", what, r->status, msg[0] ? ": " : "", msg);
}

static int gcs_request(struct gcs_store *s, const char *what, const char *method, const char *url,
		       struct n4j_http_resp *resp, struct n4j_error *err)
{
	/* Callers free resp whatever happens, also when no request was sent. */
	memset(resp, 0, sizeof(*resp));
	struct curl_slist *h = NULL;
	bool ok = n4j_http_header(&h, "Accept: application/json") &&
		  (!s->bearer || n4j_http_header(&h, "Authorization: Bearer %s", s->bearer));
	if (!ok)
		return n4j_err(err, N4J_ENOMEM, "%s: out of memory", what);
	int rc = n4j_http_do(what, method, url, s->ca_file, h, NULL, 0, resp, err);
	n4j_http_headers_free(h);
	return rc;
}

static int gcs_list(struct n4j_store *st, struct n4j_artifact **out, size_t *n,
		    struct n4j_error *err)
{
	struct gcs_store *s = (struct gcs_store *)st;
	char what[400];
	snprintf(what, sizeof(what), "gcs: list %s", s->target);
	*out = NULL;
	*n = 0;
	struct n4j_listing l = {0};
	char *token = NULL;
	size_t pl = strlen(s->prefix);
	int rc = 0;
	for (int page = 0;; page++) {
		if (page >= N4J_STORE_MAX_PAGES) {
			rc = n4j_err(err, N4J_ELIMIT, "%s: more than %d pages", what,
				     N4J_STORE_MAX_PAGES);
			break;
		}
		struct n4j_buf url;
		n4j_buf_init(&url);
		n4j_buf_printf(&url, "%s?delimiter=%%2F&maxResults=%d", s->api,
			       n4j_store_page_size(1000));
		if (pl) {
			n4j_buf_puts(&url, "&prefix=");
			n4j_uri_encode(&url, s->prefix, pl, false);
		}
		if (token) {
			n4j_buf_puts(&url, "&pageToken=");
			n4j_uri_encode(&url, token, strlen(token), false);
		}
		if (url.oom) {
			n4j_buf_free(&url);
			rc = n4j_err(err, N4J_ENOMEM, "%s: out of memory", what);
			break;
		}
		struct n4j_http_resp r;
		rc = gcs_request(s, what, "GET", url.data, &r, err);
		n4j_buf_free(&url);
		if (!rc && r.status != 200)
			rc = gcs_fail(what, &r, err);
		cJSON *j = NULL;
		if (!rc) {
			j = cJSON_ParseWithLength(r.body.data ? r.body.data : "", r.body.len);
			if (!cJSON_IsObject(j))
				rc = n4j_err(err, N4J_EPARSE, "%s: the answer is not a JSON object",
					     what);
		}
		n4j_http_resp_free(&r);
		cJSON *items = cJSON_GetObjectItemCaseSensitive(j, "items");
		cJSON *it;
		cJSON_ArrayForEach(it, items)
		{
			if (rc)
				break;
			cJSON *nm = cJSON_GetObjectItemCaseSensitive(it, "name");
			cJSON *sz = cJSON_GetObjectItemCaseSensitive(it, "size");
			if (!cJSON_IsString(nm)) {
				rc = n4j_err(err, N4J_EPARSE, "%s: an object without a name", what);
				break;
			}
			const char *name = nm->valuestring;
			if (strncmp(name, s->prefix, pl) != 0 || !name[pl] ||
			    strchr(name + pl, '/'))
				continue;
			int64_t size = -1;
			/* uint64 as a string in the JSON API; a number from some emulators. */
			if (cJSON_IsString(sz)) {
				size = n4j_parse_size(sz->valuestring,
						      sz->valuestring + strlen(sz->valuestring));
			} else if (cJSON_IsNumber(sz) && sz->valuedouble >= 0 &&
				   sz->valuedouble < 9e18) {
				size = (int64_t)sz->valuedouble;
			}
			char *copy = n4j_arena_strdup(s->arena, name + pl);
			rc = copy ? n4j_listing_add(&l, copy, size, what, err)
				  : n4j_err(err, N4J_ENOMEM, "%s: out of memory", what);
		}
		token = NULL;
		cJSON *next = cJSON_GetObjectItemCaseSensitive(j, "nextPageToken");
		if (!rc && cJSON_IsString(next) && next->valuestring[0]) {
			token = n4j_arena_strdup(s->arena, next->valuestring);
			if (!token)
				rc = n4j_err(err, N4J_ENOMEM, "%s: out of memory", what);
		}
		cJSON_Delete(j);
		if (rc || !token)
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

static int gcs_del(struct n4j_store *st, const char *name, struct n4j_error *err)
{
	struct gcs_store *s = (struct gcs_store *)st;
	char what[400];
	snprintf(what, sizeof(what), "gcs: delete %s%.100s", s->target, name);
	struct n4j_buf url;
	n4j_buf_init(&url);
	n4j_buf_printf(&url, "%s/", s->api);
	/* The object name is one path segment: its '/' are encoded too. */
	n4j_uri_encode(&url, s->prefix, strlen(s->prefix), false);
	n4j_uri_encode(&url, name, strlen(name), false);
	if (url.oom) {
		n4j_buf_free(&url);
		return n4j_err(err, N4J_ENOMEM, "%s: out of memory", what);
	}
	struct n4j_http_resp r;
	int rc = gcs_request(s, what, "DELETE", url.data, &r, err);
	n4j_buf_free(&url);
	/* 404: already gone (deleting is idempotent; a missing bucket fails the listing). */
	if (!rc && r.status != 204 && r.status != 200 && r.status != 404)
		rc = gcs_fail(what, &r, err);
	n4j_http_resp_free(&r);
	return rc;
}

static const struct n4j_store_ops gcs_ops = {gcs_list, gcs_del, gcs_close};

/* base64url(header).base64url(claims).base64url(RS256 signature). */
static char *make_jwt(EVP_PKEY *key, const char *email, const char *aud)
{
	int64_t now = n4j_wall_ns() / 1000000000;
	char *claims = NULL, *h64 = NULL, *c64 = NULL, *s64 = NULL, *jwt = NULL;
	unsigned char *sig = NULL;
	cJSON *c = cJSON_CreateObject();
	if (!c || !cJSON_AddStringToObject(c, "iss", email) ||
	    !cJSON_AddStringToObject(c, "scope", GCS_SCOPE) ||
	    !cJSON_AddStringToObject(c, "aud", aud) ||
	    !cJSON_AddNumberToObject(c, "iat", (double)now) ||
	    !cJSON_AddNumberToObject(c, "exp", (double)(now + 3600)))
		goto out;
	claims = cJSON_PrintUnformatted(c);
	static const char header[] = "{\"alg\":\"RS256\",\"typ\":\"JWT\"}";
	h64 = n4j_base64url_encode((const unsigned char *)header, sizeof(header) - 1);
	c64 = claims ? n4j_base64url_encode((unsigned char *)claims, strlen(claims)) : NULL;
	if (!h64 || !c64)
		goto out;
	size_t il = strlen(h64) + 1 + strlen(c64);
	char *input = malloc(il + 1);
	if (!input)
		goto out;
	snprintf(input, il + 1, "%s.%s", h64, c64);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	size_t sl = 0;
	bool ok = md && EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) == 1 &&
		  EVP_DigestSign(md, NULL, &sl, (unsigned char *)input, il) == 1 &&
		  (sig = malloc(sl)) &&
		  EVP_DigestSign(md, sig, &sl, (unsigned char *)input, il) == 1;
	EVP_MD_CTX_free(md);
	if (ok && (s64 = n4j_base64url_encode(sig, sl))) {
		size_t jl = il + 1 + strlen(s64);
		jwt = malloc(jl + 1);
		if (jwt)
			snprintf(jwt, jl + 1, "%s.%s", input, s64);
	}
	free(input);
out:
	cJSON_Delete(c);
	free(claims);
	free(h64);
	free(c64);
	free(s64);
	free(sig);
	return jwt;
}

/* Exchanges a form body for {"access_token"} at url (token_uri or the metadata server). */
static int fetch_token(struct gcs_store *s, const char *what, const char *method, const char *url,
		       const char *body, const char *extra_header, struct n4j_error *err)
{
	struct curl_slist *h = NULL;
	bool ok =
		n4j_http_header(&h, "Accept: application/json") &&
		(!body || n4j_http_header(&h, "Content-Type: application/x-www-form-urlencoded")) &&
		(!extra_header || n4j_http_header(&h, "%s", extra_header));
	if (!ok)
		return n4j_err(err, N4J_ENOMEM, "%s: out of memory", what);
	struct n4j_http_resp r;
	int rc = n4j_http_do(what, method, url, s->ca_file, h, body, body ? strlen(body) : 0, &r,
			     err);
	n4j_http_headers_free(h);
	if (!rc && r.status != 200)
		rc = gcs_fail(what, &r, err);
	cJSON *j = NULL;
	if (!rc) {
		j = cJSON_ParseWithLength(r.body.data ? r.body.data : "", r.body.len);
		cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "access_token");
		if (!cJSON_IsString(t) || !t->valuestring[0])
			rc = n4j_err(err, N4J_EPARSE, "%s: no access_token in the answer", what);
		else if (!(s->bearer = strdup(t->valuestring)))
			rc = n4j_err(err, N4J_ENOMEM, "%s: out of memory", what);
	}
	n4j_json_wipe_delete(j);
	if (r.body.data)
		n4j_wipe(r.body.data, r.body.len);
	n4j_http_resp_free(&r);
	return rc;
}

/* A service-account key file → an access token. Messages name the file and the
 * field at fault, never a value read from it. */
static int sa_token(struct gcs_store *s, const char *path, struct n4j_error *err)
{
	char *raw = NULL;
	size_t len = 0;
	struct n4j_error ferr;
	if (n4j_read_file(path, 256 * 1024, &raw, &len, &ferr))
		return n4j_err(err, N4J_EIO,
			       "gcs: cannot read GOOGLE_APPLICATION_CREDENTIALS (%.200s)", path);
	cJSON *j = cJSON_ParseWithLength(raw, len);
	n4j_wipe(raw, len);
	free(raw);
	int rc = 0;
	cJSON *type = cJSON_GetObjectItemCaseSensitive(j, "type");
	cJSON *email = cJSON_GetObjectItemCaseSensitive(j, "client_email");
	cJSON *pkey = cJSON_GetObjectItemCaseSensitive(j, "private_key");
	cJSON *turi = cJSON_GetObjectItemCaseSensitive(j, "token_uri");
	const char *token_uri = cJSON_IsString(turi) ? turi->valuestring : GCS_TOKEN_URI;
	EVP_PKEY *key = NULL;
	if (!cJSON_IsObject(j)) {
		rc = n4j_err(err, N4J_EPARSE,
			     "gcs: GOOGLE_APPLICATION_CREDENTIALS (%.200s) is not a JSON key file",
			     path);
	} else if (!cJSON_IsString(type) || strcmp(type->valuestring, "service_account") != 0) {
		rc = n4j_err(
			err, N4J_EINVAL,
			"gcs: GOOGLE_APPLICATION_CREDENTIALS (%.200s) is not a service-account "
			"key (type '%.40s'); use a service-account key or workload identity",
			path, cJSON_IsString(type) ? type->valuestring : "");
	} else if (!cJSON_IsString(email) || !email->valuestring[0]) {
		rc = n4j_err(err, N4J_EINVAL, "gcs: the key file %.200s has no client_email", path);
	} else if (strncmp(token_uri, "https://", 8) != 0 &&
		   strncmp(token_uri, "http://", 7) != 0) {
		rc = n4j_err(err, N4J_EINVAL, "gcs: the key file %.200s has no http(s) token_uri",
			     path);
	} else if (!cJSON_IsString(pkey)) {
		rc = n4j_err(err, N4J_EINVAL, "gcs: the key file %.200s has no private_key", path);
	} else {
		BIO *bio = BIO_new_mem_buf(pkey->valuestring, -1);
		key = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, (void *)"") : NULL;
		BIO_free(bio);
		if (!key || EVP_PKEY_base_id(key) != EVP_PKEY_RSA)
			rc = n4j_err(err, N4J_EINVAL,
				     "gcs: the private_key of %.200s is not a PEM RSA private key",
				     path);
	}
	char *jwt = rc ? NULL : make_jwt(key, email->valuestring, token_uri);
	if (!rc && !jwt)
		rc = n4j_err(err, N4J_EIO, "gcs: cannot sign the token request");
	EVP_PKEY_free(key);
	char *url = rc ? NULL : n4j_arena_strdup(s->arena, token_uri);
	n4j_json_wipe_delete(j);
	if (!rc && !url)
		rc = n4j_err(err, N4J_ENOMEM, "gcs: out of memory");
	if (rc) {
		n4j_wipe_free(jwt);
		return rc;
	}
	struct n4j_buf body;
	n4j_buf_init(&body);
	n4j_buf_puts(&body,
		     "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=");
	n4j_buf_puts(&body, jwt);
	n4j_wipe_free(jwt);
	if (body.oom) {
		n4j_buf_wipe_free(&body);
		return n4j_err(err, N4J_ENOMEM, "gcs: out of memory");
	}
	rc = fetch_token(s, "gcs: token for the service account", "POST", url, body.data, NULL,
			 err);
	n4j_buf_wipe_free(&body);
	return rc;
}

static int metadata_token(struct gcs_store *s, struct n4j_error *err)
{
	const char *host = n4j_env("GCE_METADATA_HOST");
	char *url = n4j_arena_printf(s->arena,
				     "http://%s/computeMetadata/v1/instance/service-accounts/"
				     "default/token",
				     host ? host : "metadata.google.internal");
	if (!url)
		return n4j_err(err, N4J_ENOMEM, "gcs: out of memory");
	struct n4j_error e2 = {0};
	int rc = fetch_token(s, "gcs: metadata server", "GET", url, NULL, "Metadata-Flavor: Google",
			     &e2);
	if (rc)
		return n4j_err(err, rc,
			       "gcs: no credentials: GOOGLE_APPLICATION_CREDENTIALS is not set (a "
			       "service-account key file from the target's Secret) and workload "
			       "identity gave no token (%s)",
			       e2.msg);
	return 0;
}

int n4j_store_open_gcs(const char *bucket, const char *rest, struct n4j_store **out,
		       struct n4j_error *err)
{
	struct gcs_store *s = calloc(1, sizeof(*s));
	if (!s || !(s->arena = n4j_arena_new())) {
		free(s);
		return n4j_err(err, N4J_ENOMEM, "gcs: out of memory");
	}
	s->base.ops = &gcs_ops;
	s->base.kind = "gs";
	int rc = 0;
	s->prefix = rest[0] ? n4j_arena_printf(s->arena, "%s/", rest) : "";
	s->target = n4j_arena_printf(s->arena, "gs://%s/%s", bucket, s->prefix);
	const char *emu = n4j_env("STORAGE_EMULATOR_HOST");
	const char *custom = n4j_env("GCS_ENDPOINT_URL");
	struct n4j_endpoint ep;
	const char *epv = emu ? emu : custom;
	char *epurl = NULL;
	if (epv)
		epurl = strstr(epv, "://") ? n4j_arena_strdup(s->arena, epv)
					   : n4j_arena_printf(s->arena, "http://%s", epv);
	else
		epurl = n4j_arena_strdup(s->arena, "https://storage.googleapis.com");
	if (!s->prefix || !s->target || !epurl) {
		rc = n4j_err(err, N4J_ENOMEM, "gcs: out of memory");
		goto fail;
	}
	if (n4j_endpoint_parse(epurl, &ep)) {
		rc = n4j_err(err, N4J_EINVAL,
			     "gcs: %s is not a host:port or an http(s) URL without user info, "
			     "query or fragment (its value is not repeated here: it could carry a "
			     "credential)",
			     emu ? "STORAGE_EMULATOR_HOST" : "GCS_ENDPOINT_URL");
		goto fail;
	}
	struct n4j_buf api;
	n4j_buf_init(&api);
	n4j_buf_printf(&api, "%s://%s%s/storage/v1/b/", ep.scheme, ep.hostport, ep.base);
	n4j_uri_encode(&api, bucket, strlen(bucket), false);
	n4j_buf_puts(&api, "/o");
	s->api = api.oom ? NULL : n4j_arena_strdup(s->arena, n4j_buf_cstr(&api));
	n4j_buf_free(&api);
	if (!s->api) {
		rc = n4j_err(err, N4J_ENOMEM, "gcs: out of memory");
		goto fail;
	}
	rc = n4j_store_ca_file("gcs", NULL, &s->ca_file, err);
	if (rc)
		goto fail;
	if (!emu) {
		const char *keyfile = n4j_env("GOOGLE_APPLICATION_CREDENTIALS");
		rc = keyfile ? sa_token(s, keyfile, err) : metadata_token(s, err);
		if (rc)
			goto fail;
	}
	*out = &s->base;
	return 0;
fail:
	gcs_close(&s->base);
	return rc;
}
