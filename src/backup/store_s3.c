/*
 * S3 store: ListObjectsV2 (one level under the prefix, paged by continuation
 * token) and DeleteObject, signed with AWS Signature Version 4.
 *
 * Credentials as the AWS SDKs read them from the environment: AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN; or, for IRSA (EKS pod identity through
 * a projected token), AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN exchanged once for
 * temporary credentials with STS AssumeRoleWithWebIdentity (an unsigned call).
 * Region AWS_REGION, else AWS_DEFAULT_REGION, else us-east-1. Endpoint
 * AWS_ENDPOINT_URL_S3, else AWS_ENDPOINT_URL: path-style addressing there (what
 * emulators and most S3-compatible stores serve); AWS itself is addressed
 * virtual-host style (path-style for bucket names with dots, which TLS cannot
 * match against *.s3.<region>.amazonaws.com).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "backup/internal.h"
#include "backup/store_http.h"

/* sha256("") in hex: every request here has an empty body. */
#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

struct s3_store {
	struct n4j_store base; /* first: n4j_store_* cast back to this */
	struct n4j_arena *arena;
	struct n4j_endpoint ep; /* scheme and host the requests go to */
	const char *bucket;
	const char *prefix;    /* "" or ends with '/' */
	const char *path_base; /* "" (virtual-host) or "<base>/<bucket>" (path-style) */
	const char *region;
	const char *target;            /* "s3://bucket/prefix" for messages */
	const char *ca_file;           /* AWS_CA_BUNDLE / SSL_CERT_FILE, or NULL */
	char *key_id, *secret, *token; /* malloc'd, wiped at close */
};

static void s3_close(struct n4j_store *st)
{
	struct s3_store *s = (struct s3_store *)st;
	if (!s)
		return;
	n4j_wipe_free(s->key_id);
	n4j_wipe_free(s->secret);
	n4j_wipe_free(s->token);
	n4j_arena_free(s->arena);
	free(s);
}

/* The store's error from an answer: "HTTP 403 InvalidAccessKeyId: <Message>". Only
 * Code and Message are read: the rest of an S3 error (StringToSign, CanonicalRequest,
 * SignatureProvided) describes the request's signature and stays out. */
static int s3_fail(const char *what, const struct n4j_http_resp *r, struct n4j_error *err)
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

/* YYYYMMDD'T'HHMMSS'Z' and YYYYMMDD, from the wall clock (the signature's time). */
static void amz_dates(char amz[17], char day[9])
{
	time_t t = (time_t)(n4j_wall_ns() / 1000000000);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(amz, 17, "%Y%m%dT%H%M%SZ", &tm);
	strftime(day, 9, "%Y%m%d", &tm);
}

/*
 * Signs and sends one request. `path` is the already-encoded absolute path (also
 * the canonical URI: S3 does not double-encode), `query` the canonical query
 * string (sorted, encoded) or "".
 */
static int s3_request(struct s3_store *s, const char *what, const char *method, const char *path,
		      const char *query, struct n4j_http_resp *resp, struct n4j_error *err)
{
	/* Callers free resp whatever happens, also when no request was sent. */
	memset(resp, 0, sizeof(*resp));
	char amz[17], day[9];
	amz_dates(amz, day);
	const char *host = s->ep.hostport;
	struct n4j_buf canon, sts;
	n4j_buf_init(&canon);
	n4j_buf_init(&sts);
	/* Canonical request: headers sorted by name; the token is signed too. */
	n4j_buf_printf(&canon, "%s\n%s\n%s\nhost:%s\nx-amz-content-sha256:%s\nx-amz-date:%s\n",
		       method, path, query, host, EMPTY_SHA256, amz);
	if (s->token)
		n4j_buf_printf(&canon, "x-amz-security-token:%s\n", s->token);
	const char *signed_headers = s->token ? "host;x-amz-content-sha256;x-amz-date;"
						"x-amz-security-token"
					      : "host;x-amz-content-sha256;x-amz-date";
	n4j_buf_printf(&canon, "\n%s\n%s", signed_headers, EMPTY_SHA256);
	int rc = 0;
	char creq_hash[N4J_SHA256_HEX_LEN + 1];
	if (canon.oom) {
		rc = n4j_err(err, N4J_ENOMEM, "%s: out of memory", what);
		goto out;
	}
	n4j_sha256_hex(canon.data, canon.len, creq_hash);
	n4j_buf_printf(&sts, "AWS4-HMAC-SHA256\n%s\n%s/%s/s3/aws4_request\n%s", amz, day, s->region,
		       creq_hash);
	/* Signing key: HMAC chain from "AWS4" + secret over date, region, service. */
	unsigned char k[32], k2[32], sig[32];
	char sig_hex[65];
	size_t sl = strlen(s->secret);
	char *k0 = malloc(sl + 5);
	if (!k0 || sts.oom) {
		free(k0);
		rc = n4j_err(err, N4J_ENOMEM, "%s: out of memory", what);
		goto out;
	}
	memcpy(k0, "AWS4", 4);
	memcpy(k0 + 4, s->secret, sl + 1);
	rc = n4j_hmac_sha256(k0, sl + 4, day, strlen(day), k);
	n4j_wipe_free(k0);
	/* Separate input and output buffers at each step (HMAC() may not allow aliasing). */
	rc = rc ? rc : n4j_hmac_sha256(k, 32, s->region, strlen(s->region), k2);
	rc = rc ? rc : n4j_hmac_sha256(k2, 32, "s3", 2, k);
	rc = rc ? rc : n4j_hmac_sha256(k, 32, "aws4_request", 12, k2);
	rc = rc ? rc : n4j_hmac_sha256(k2, 32, sts.data, sts.len, sig);
	n4j_wipe(k, sizeof(k));
	n4j_wipe(k2, sizeof(k2));
	if (rc) {
		rc = n4j_err(err, N4J_EIO, "%s: signing failed", what);
		goto out;
	}
	n4j_hex(sig, 32, sig_hex);
	struct curl_slist *h = NULL;
	/* The exact Host that was signed (curl would add ":80"-less forms of its own). */
	bool ok = n4j_http_header(&h, "Host: %s", host) &&
		  n4j_http_header(&h, "x-amz-content-sha256: %s", EMPTY_SHA256) &&
		  n4j_http_header(&h, "x-amz-date: %s", amz) &&
		  (!s->token || n4j_http_header(&h, "x-amz-security-token: %s", s->token)) &&
		  n4j_http_header(&h,
				  "Authorization: AWS4-HMAC-SHA256 Credential=%s/%s/%s/s3/"
				  "aws4_request, SignedHeaders=%s, Signature=%s",
				  s->key_id, day, s->region, signed_headers, sig_hex) &&
		  n4j_http_header(&h, "Accept:") && n4j_http_header(&h, "Expect:");
	if (!ok) {
		rc = n4j_err(err, N4J_ENOMEM, "%s: out of memory", what);
		goto out;
	}
	char *url = n4j_arena_printf(s->arena, "%s://%s%s%s%s", s->ep.scheme, host, path,
				     query[0] ? "?" : "", query);
	if (!url) {
		n4j_http_headers_free(h);
		rc = n4j_err(err, N4J_ENOMEM, "%s: out of memory", what);
		goto out;
	}
	rc = n4j_http_do(what, method, url, s->ca_file, h, NULL, 0, resp, err);
	n4j_http_headers_free(h);
out:
	n4j_buf_wipe_free(&canon);
	n4j_buf_free(&sts);
	return rc;
}

static void query_param(struct n4j_buf *q, const char *name, const char *value)
{
	if (q->len)
		n4j_buf_putc(q, '&');
	n4j_buf_puts(q, name);
	n4j_buf_putc(q, '=');
	n4j_uri_encode(q, value, strlen(value), false);
}

static int s3_list(struct n4j_store *st, struct n4j_artifact **out, size_t *n,
		   struct n4j_error *err)
{
	struct s3_store *s = (struct s3_store *)st;
	char what[400];
	snprintf(what, sizeof(what), "s3: list %s", s->target);
	*out = NULL;
	*n = 0;
	struct n4j_listing l = {0};
	char *token = NULL; /* continuation token of the next page (arena) */
	const char *path = s->path_base[0] ? s->path_base : "/";
	char page_size[16];
	snprintf(page_size, sizeof(page_size), "%d", n4j_store_page_size(1000));
	int rc = 0;
	for (int page = 0;; page++) {
		if (page >= N4J_STORE_MAX_PAGES) {
			rc = n4j_err(err, N4J_ELIMIT, "%s: more than %d pages", what,
				     N4J_STORE_MAX_PAGES);
			break;
		}
		/* Parameters in canonical (byte) order. */
		struct n4j_buf q;
		n4j_buf_init(&q);
		if (token)
			query_param(&q, "continuation-token", token);
		query_param(&q, "delimiter", "/");
		query_param(&q, "list-type", "2");
		query_param(&q, "max-keys", page_size);
		query_param(&q, "prefix", s->prefix);
		if (q.oom) {
			n4j_buf_free(&q);
			rc = n4j_err(err, N4J_ENOMEM, "%s: out of memory", what);
			break;
		}
		struct n4j_http_resp r;
		rc = s3_request(s, what, "GET", path, n4j_buf_cstr(&q), &r, err);
		n4j_buf_free(&q);
		if (!rc && r.status != 200)
			rc = s3_fail(what, &r, err);
		if (rc) {
			n4j_http_resp_free(&r);
			break;
		}
		const char *p = r.body.data ? r.body.data : "", *end = p + r.body.len;
		const char *bs, *be, *next;
		if (!n4j_xml_find(p, end, "ListBucketResult", &bs, &be, &next)) {
			n4j_http_resp_free(&r);
			rc = n4j_err(err, N4J_EPARSE, "%s: the answer is not a ListBucketResult",
				     what);
			break;
		}
		/* <Contents> are the objects; <CommonPrefixes> (deeper "folders") are skipped. */
		const char *cs, *ce, *cur = bs;
		while (!rc && n4j_xml_find(cur, be, "Contents", &cs, &ce, &next)) {
			cur = next;
			const char *ks, *ke, *zs, *ze, *nx;
			if (!n4j_xml_find(cs, ce, "Key", &ks, &ke, &nx)) {
				rc = n4j_err(err, N4J_EPARSE, "%s: an object without a Key", what);
				break;
			}
			char *key = n4j_xml_text(s->arena, ks, ke);
			if (!key) {
				rc = n4j_err(err, N4J_EPARSE, "%s: a malformed Key", what);
				break;
			}
			size_t pl = strlen(s->prefix);
			/* Keys outside the prefix, the prefix itself (a "folder" marker) or
			 * below a '/' are not ours to list. */
			if (strncmp(key, s->prefix, pl) != 0 || !key[pl] || strchr(key + pl, '/'))
				continue;
			int64_t size = n4j_xml_find(cs, ce, "Size", &zs, &ze, &nx)
					       ? n4j_parse_size(zs, ze)
					       : -1;
			rc = n4j_listing_add(&l, key + pl, size, what, err);
		}
		bool more = false;
		token = NULL;
		if (!rc && n4j_xml_find(bs, be, "IsTruncated", &cs, &ce, &next))
			more = (size_t)(ce - cs) == 4 && memcmp(cs, "true", 4) == 0;
		if (!rc && more) {
			if (n4j_xml_find(bs, be, "NextContinuationToken", &cs, &ce, &next))
				token = n4j_xml_text(s->arena, cs, ce);
			if (!token || !token[0])
				rc = n4j_err(err, N4J_EPARSE,
					     "%s: a truncated page without a continuation token",
					     what);
		}
		n4j_http_resp_free(&r);
		if (rc || !more)
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

static int s3_del(struct n4j_store *st, const char *name, struct n4j_error *err)
{
	struct s3_store *s = (struct s3_store *)st;
	char what[400];
	snprintf(what, sizeof(what), "s3: delete %s%.100s", s->target, name);
	struct n4j_buf path;
	n4j_buf_init(&path);
	n4j_buf_puts(&path, s->path_base);
	n4j_buf_putc(&path, '/');
	n4j_uri_encode(&path, s->prefix, strlen(s->prefix), true);
	n4j_uri_encode(&path, name, strlen(name), true);
	if (path.oom) {
		n4j_buf_free(&path);
		return n4j_err(err, N4J_ENOMEM, "%s: out of memory", what);
	}
	struct n4j_http_resp r;
	int rc = s3_request(s, what, "DELETE", n4j_buf_cstr(&path), "", &r, err);
	n4j_buf_free(&path);
	/* 204 also for a key that is already gone: deleting is idempotent. */
	if (!rc && r.status != 204 && r.status != 200)
		rc = s3_fail(what, &r, err);
	n4j_http_resp_free(&r);
	return rc;
}

static const struct n4j_store_ops s3_ops = {s3_list, s3_del, s3_close};

/*
 * IRSA: AssumeRoleWithWebIdentity with the projected token. The call is unsigned
 * (the token is the proof); the answer's credentials are kept in memory only.
 * Endpoint AWS_ENDPOINT_URL_STS, else the regional STS endpoint.
 */
static int sts_assume(struct s3_store *s, const char *token_file, struct n4j_error *err)
{
	const char *role = n4j_env("AWS_ROLE_ARN");
	if (!role)
		return n4j_err(err, N4J_EINVAL,
			       "s3: AWS_WEB_IDENTITY_TOKEN_FILE is set but AWS_ROLE_ARN is not");
	char *jwt = NULL;
	size_t jl = 0;
	struct n4j_error ferr;
	if (n4j_read_file(token_file, 64 * 1024, &jwt, &jl, &ferr))
		return n4j_err(err, N4J_EIO, "s3: cannot read the web identity token file %s",
			       token_file);
	while (jl && (jwt[jl - 1] == '\n' || jwt[jl - 1] == '\r' || jwt[jl - 1] == ' '))
		jwt[--jl] = '\0';
	const char *session = n4j_env("AWS_ROLE_SESSION_NAME");
	struct n4j_buf body;
	n4j_buf_init(&body);
	n4j_buf_puts(&body, "Action=AssumeRoleWithWebIdentity&RoleArn=");
	n4j_uri_encode(&body, role, strlen(role), false);
	n4j_buf_puts(&body, "&RoleSessionName=");
	const char *sn = session ? session : "neo4j-operator-backup";
	n4j_uri_encode(&body, sn, strlen(sn), false);
	n4j_buf_puts(&body, "&Version=2011-06-15&WebIdentityToken=");
	n4j_uri_encode(&body, jwt, jl, false);
	n4j_wipe_free(jwt);
	const char *ep = n4j_env("AWS_ENDPOINT_URL_STS");
	char *url = ep ? n4j_arena_printf(s->arena, "%s", ep)
		       : n4j_arena_printf(s->arena, "https://sts.%s.amazonaws.com/", s->region);
	struct curl_slist *h = NULL;
	int rc = 0;
	if (body.oom || !url ||
	    !n4j_http_header(&h, "Content-Type: application/x-www-form-urlencoded") ||
	    !n4j_http_header(&h, "Accept:")) {
		n4j_buf_wipe_free(&body);
		n4j_http_headers_free(h);
		return n4j_err(err, N4J_ENOMEM, "s3: out of memory");
	}
	struct n4j_http_resp r;
	const char *what = "s3: sts AssumeRoleWithWebIdentity";
	rc = n4j_http_do(what, "POST", url, s->ca_file, h, body.data, body.len, &r, err);
	n4j_buf_wipe_free(&body);
	n4j_http_headers_free(h);
	if (!rc && r.status != 200)
		rc = s3_fail(what, &r, err);
	const char *cs, *ce, *next, *vs, *ve;
	const char *p = r.body.data ? r.body.data : "", *end = p + r.body.len;
	if (!rc && !n4j_xml_find(p, end, "Credentials", &cs, &ce, &next))
		rc = n4j_err(err, N4J_EPARSE, "%s: no Credentials in the answer", what);
	static const char *const tags[] = {"AccessKeyId", "SecretAccessKey", "SessionToken"};
	char **dst[] = {&s->key_id, &s->secret, &s->token};
	for (int i = 0; !rc && i < 3; i++) {
		if (!n4j_xml_find(cs, ce, tags[i], &vs, &ve, &next))
			rc = n4j_err(err, N4J_EPARSE, "%s: no %s in the answer", what, tags[i]);
		else if (!(*dst[i] = strndup(vs, (size_t)(ve - vs))))
			rc = n4j_err(err, N4J_ENOMEM, "s3: out of memory");
	}
	if (r.body.data)
		n4j_wipe(r.body.data, r.body.len);
	n4j_http_resp_free(&r);
	return rc;
}

int n4j_store_open_s3(const char *bucket, const char *rest, struct n4j_store **out,
		      struct n4j_error *err)
{
	struct s3_store *s = calloc(1, sizeof(*s));
	if (!s || !(s->arena = n4j_arena_new())) {
		free(s);
		return n4j_err(err, N4J_ENOMEM, "s3: out of memory");
	}
	s->base.ops = &s3_ops;
	s->base.kind = "s3";
	int rc = 0;
	/* The bucket becomes part of a host name (virtual-host style): S3's characters only. */
	size_t bl = strlen(bucket);
	if (bl == 0 || bl > 255 ||
	    strspn(bucket, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			   "0123456789.-_") != bl) {
		rc = n4j_err(err, N4J_EINVAL,
			     "s3: '%.64s' is not a bucket name (letters, digits, '.', '-', '_')",
			     bucket);
		goto fail;
	}
	s->bucket = n4j_arena_strdup(s->arena, bucket);
	s->prefix = rest[0] ? n4j_arena_printf(s->arena, "%s/", rest) : "";
	s->target = n4j_arena_printf(s->arena, "s3://%s/%s", bucket, s->prefix);
	const char *region = n4j_env("AWS_REGION");
	if (!region)
		region = n4j_env("AWS_DEFAULT_REGION");
	s->region = n4j_arena_strdup(s->arena, region ? region : "us-east-1");
	if (!s->bucket || !s->prefix || !s->target || !s->region) {
		rc = n4j_err(err, N4J_ENOMEM, "s3: out of memory");
		goto fail;
	}
	const char *ep = n4j_env("AWS_ENDPOINT_URL_S3");
	if (!ep)
		ep = n4j_env("AWS_ENDPOINT_URL");
	if (ep) {
		if (n4j_endpoint_parse(ep, &s->ep)) {
			rc = n4j_err(err, N4J_EINVAL,
				     "s3: %s is not an http(s) URL without user info, query or "
				     "fragment (its value is not repeated here: it could carry a "
				     "credential)",
				     n4j_env("AWS_ENDPOINT_URL_S3") ? "AWS_ENDPOINT_URL_S3"
								    : "AWS_ENDPOINT_URL");
			goto fail;
		}
		struct n4j_buf pb;
		n4j_buf_init(&pb);
		n4j_buf_puts(&pb, s->ep.base);
		n4j_buf_putc(&pb, '/');
		n4j_uri_encode(&pb, bucket, strlen(bucket), false);
		s->path_base = pb.oom ? NULL : n4j_arena_strdup(s->arena, n4j_buf_cstr(&pb));
		n4j_buf_free(&pb);
	} else {
		bool dotted = strchr(bucket, '.') != NULL;
		snprintf(s->ep.scheme, sizeof(s->ep.scheme), "https");
		int w = dotted ? snprintf(s->ep.hostport, sizeof(s->ep.hostport),
					  "s3.%s.amazonaws.com", s->region)
			       : snprintf(s->ep.hostport, sizeof(s->ep.hostport),
					  "%s.s3.%s.amazonaws.com", bucket, s->region);
		if (w < 0 || (size_t)w >= sizeof(s->ep.hostport)) {
			rc = n4j_err(err, N4J_EINVAL, "s3: the bucket or region name is too long");
			goto fail;
		}
		s->path_base = dotted ? n4j_arena_printf(s->arena, "/%s", bucket) : "";
	}
	if (!s->path_base) {
		rc = n4j_err(err, N4J_ENOMEM, "s3: out of memory");
		goto fail;
	}
	rc = n4j_store_ca_file("s3", "AWS_CA_BUNDLE", &s->ca_file, err);
	if (rc)
		goto fail;
	const char *kid = n4j_env("AWS_ACCESS_KEY_ID");
	const char *sec = n4j_env("AWS_SECRET_ACCESS_KEY");
	const char *tok = n4j_env("AWS_SESSION_TOKEN");
	const char *wif = n4j_env("AWS_WEB_IDENTITY_TOKEN_FILE");
	if (kid && sec) {
		s->key_id = strdup(kid);
		s->secret = strdup(sec);
		s->token = tok ? strdup(tok) : NULL;
		if (!s->key_id || !s->secret || (tok && !s->token)) {
			rc = n4j_err(err, N4J_ENOMEM, "s3: out of memory");
			goto fail;
		}
	} else if (kid || sec) {
		rc = n4j_err(err, N4J_EINVAL,
			     "s3: %s is set but %s is not (both come from the target's Secret)",
			     kid ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
			     kid ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID");
		goto fail;
	} else if (wif) {
		rc = sts_assume(s, wif, err);
		if (rc)
			goto fail;
	} else {
		rc = n4j_err(err, N4J_EINVAL,
			     "s3: no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
			     "(the target's Secret), or use IRSA (AWS_WEB_IDENTITY_TOKEN_FILE and "
			     "AWS_ROLE_ARN, through spec.serviceAccountName)");
		goto fail;
	}
	*out = &s->base;
	return 0;
fail:
	s3_close(&s->base);
	return rc;
}
