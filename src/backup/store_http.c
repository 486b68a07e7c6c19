/* What the object-store clients share: see store_http.h. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "backup/store_http.h"

/* curl_global_init is not thread-safe on older libcurl: once per process. The
 * retention command is single-threaded, but the kube client may have run it too. */
static int global_init(struct n4j_error *err)
{
	static int done, rc;
	if (!done) {
		rc = curl_global_init(CURL_GLOBAL_ALL);
		done = 1;
	}
	if (rc)
		return n4j_err(err, N4J_EIO, "store: curl_global_init: %s",
			       curl_easy_strerror((CURLcode)rc));
	return 0;
}

struct sink {
	struct n4j_http_resp *resp;
	bool too_big;
};

static size_t body_cb(char *data, size_t size, size_t n, void *ud)
{
	struct sink *s = ud;
	size_t len = size * n;
	if (s->resp->body.len + len > N4J_STORE_MAX_BODY) {
		s->too_big = true;
		return 0; /* aborts the transfer */
	}
	n4j_buf_append(&s->resp->body, data, len);
	return s->resp->body.oom ? 0 : len;
}

static size_t header_cb(char *buf, size_t size, size_t n, void *ud)
{
	struct n4j_http_resp *r = ud;
	size_t len = size * n;
	if (len >= 5 && strncmp(buf, "HTTP/", 5) == 0) {
		r->error_code[0] = '\0'; /* a new response (100-continue, redirect) */
		return len;
	}
	static const char *const names[] = {"x-ms-error-code:", "x-amz-error-code:"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		size_t nl = strlen(names[i]);
		if (len > nl && strncasecmp(buf, names[i], nl) == 0) {
			const char *v = buf + nl;
			size_t vl = len - nl;
			while (vl && (*v == ' ' || *v == '\t'))
				v++, vl--;
			while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
				vl--;
			n4j_store_clean_text(v, vl, sizeof(r->error_code) - 1, r->error_code,
					     sizeof(r->error_code));
		}
	}
	return len;
}

/* Network failures worth another try (not TLS verification, bad URLs, refused protocols). */
static bool transient_curl(CURLcode cc)
{
	switch (cc) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_SSL_CONNECT_ERROR:
		return true;
	default:
		return false;
	}
}

static int http_once(const char *what, const char *method, const char *url, const char *ca_file,
		     const struct curl_slist *headers, const void *body, size_t body_len,
		     struct n4j_http_resp *resp, bool *retry, struct n4j_error *err)
{
	*retry = false;
	memset(resp, 0, sizeof(*resp));
	n4j_buf_init(&resp->body);
	int rc = global_init(err);
	if (rc)
		return rc;
	CURL *h = curl_easy_init();
	if (!h)
		return n4j_err(err, N4J_ENOMEM, "%s: curl_easy_init failed", what);
	char errbuf[CURL_ERROR_SIZE] = "";
	struct sink sink = {resp, false};
	bool ok = true;
#define SET(opt, val) ok = ok && curl_easy_setopt(h, opt, val) == CURLE_OK
	SET(CURLOPT_URL, url);
	SET(CURLOPT_ERRORBUFFER, errbuf);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_CONNECTTIMEOUT_MS, (long)N4J_STORE_CONNECT_TIMEOUT_MS);
	SET(CURLOPT_TIMEOUT_MS, (long)N4J_STORE_TIMEOUT_MS);
	/* Only http(s), and no redirects: a redirect would replay signed headers elsewhere. */
	SET(CURLOPT_PROTOCOLS_STR, "http,https");
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	SET(CURLOPT_WRITEFUNCTION, body_cb);
	SET(CURLOPT_WRITEDATA, &sink);
	SET(CURLOPT_HEADERFUNCTION, header_cb);
	SET(CURLOPT_HEADERDATA, resp);
	SET(CURLOPT_HTTPHEADER, (struct curl_slist *)headers);
	if (ca_file)
		SET(CURLOPT_CAINFO, ca_file);
	if (strcmp(method, "GET") != 0)
		SET(CURLOPT_CUSTOMREQUEST, method);
	if (body) {
		SET(CURLOPT_POSTFIELDS, body);
		SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
	}
#undef SET
	if (!ok) {
		curl_easy_cleanup(h);
		return n4j_err(err, N4J_EIO, "%s: cannot set up the request", what);
	}
	CURLcode cc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
	curl_easy_cleanup(h);
	if (sink.too_big)
		return n4j_err(err, N4J_ELIMIT, "%s: the answer is larger than %u bytes", what,
			       N4J_STORE_MAX_BODY);
	if (resp->body.oom)
		return n4j_err(err, N4J_ENOMEM, "%s: out of memory", what);
	if (cc != CURLE_OK) {
		*retry = transient_curl(cc);
		/* curl's messages name the host, never the path or the query. */
		char clean[200];
		const char *m = errbuf[0] ? errbuf : curl_easy_strerror(cc);
		n4j_store_clean_text(m, strlen(m), sizeof(clean) - 1, clean, sizeof(clean));
		return n4j_err(err, N4J_EIO, "%s: %s", what, clean);
	}
	n4j_buf_cstr(&resp->body);
	return 0;
}

/* Worth another try: the store said so (429, 5xx but 501), or the network failed. */
static bool transient(int rc, bool retry, const struct n4j_http_resp *r)
{
	if (rc)
		return retry;
	return r->status == 429 || r->status == 500 || r->status == 502 || r->status == 503 ||
	       r->status == 504;
}

int n4j_http_do(const char *what, const char *method, const char *url, const char *ca_file,
		const struct curl_slist *headers, const void *body, size_t body_len,
		struct n4j_http_resp *resp, struct n4j_error *err)
{
	/* Every request here is idempotent (list, delete, token exchange) and its
	 * signature stays valid for minutes, so the same request is simply sent again. */
	static const struct n4j_backoff bo = {250, 4000, 0, 0.5};
	struct n4j_rng rng;
	n4j_rng_seed(&rng, (uint64_t)n4j_now_ns());
	for (int attempt = 0;; attempt++) {
		bool retry;
		int rc = http_once(what, method, url, ca_file, headers, body, body_len, resp,
				   &retry, err);
		if (attempt + 1 >= N4J_STORE_ATTEMPTS || !transient(rc, retry, resp))
			return rc;
		n4j_http_resp_free(resp);
		n4j_sleep_ms(n4j_backoff_ms(&bo, attempt, n4j_rng_01(&rng)));
	}
}

void n4j_http_resp_free(struct n4j_http_resp *resp)
{
	n4j_buf_free(&resp->body);
}

bool n4j_http_header(struct curl_slist **l, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	char *s = n >= 0 ? malloc((size_t)n + 1) : NULL;
	struct curl_slist *t = NULL;
	if (s) {
		va_start(ap, fmt);
		vsnprintf(s, (size_t)n + 1, fmt, ap);
		va_end(ap);
		t = curl_slist_append(*l, s);
		n4j_wipe_free(s);
	}
	if (!t) {
		n4j_http_headers_free(*l);
		*l = NULL;
		return false;
	}
	*l = t;
	return true;
}

void n4j_http_headers_free(struct curl_slist *l)
{
	for (struct curl_slist *i = l; i; i = i->next)
		n4j_wipe(i->data, strlen(i->data));
	curl_slist_free_all(l);
}

/* ---- XML ------------------------------------------------------------------------ */

static const char *find_in(const char *p, const char *end, const char *needle, size_t nl)
{
	if (nl == 0 || end < p || (size_t)(end - p) < nl)
		return NULL;
	for (const char *q = p; q + nl <= end; q++) {
		q = memchr(q, needle[0], (size_t)(end - q) - nl + 1);
		if (!q)
			return NULL;
		if (memcmp(q, needle, nl) == 0)
			return q;
	}
	return NULL;
}

bool n4j_xml_find(const char *p, const char *end, const char *tag, const char **s, const char **e,
		  const char **next)
{
	size_t tl = strlen(tag);
	if (tl == 0 || tl > 64)
		return false;
	char close[70];
	snprintf(close, sizeof(close), "</%s>", tag);
	size_t cl = tl + 3;
	while (p && p < end) {
		const char *lt = memchr(p, '<', (size_t)(end - p));
		if (!lt)
			return false;
		const char *after = lt + 1 + tl;
		if (after >= end)
			return false;
		if ((size_t)(end - lt - 1) >= tl && memcmp(lt + 1, tag, tl) == 0 &&
		    (*after == '>' || *after == ' ' || *after == '/' || *after == '\t' ||
		     *after == '\n' || *after == '\r')) {
			const char *gt = memchr(after, '>', (size_t)(end - after));
			if (!gt)
				return false;
			if (gt[-1] == '/') { /* <tag/> or <tag attr="x"/> */
				*s = *e = gt + 1;
				*next = gt + 1;
				return true;
			}
			const char *c = find_in(gt + 1, end, close, cl);
			if (!c)
				return false;
			*s = gt + 1;
			*e = c;
			*next = c + cl;
			return true;
		}
		p = lt + 1;
	}
	return false;
}

static int put_utf8(struct n4j_buf *b, unsigned long cp)
{
	if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return -1;
	if (cp < 0x80) {
		n4j_buf_putc(b, (char)cp);
	} else if (cp < 0x800) {
		n4j_buf_putc(b, (char)(0xC0 | (cp >> 6)));
		n4j_buf_putc(b, (char)(0x80 | (cp & 0x3F)));
	} else if (cp < 0x10000) {
		n4j_buf_putc(b, (char)(0xE0 | (cp >> 12)));
		n4j_buf_putc(b, (char)(0x80 | ((cp >> 6) & 0x3F)));
		n4j_buf_putc(b, (char)(0x80 | (cp & 0x3F)));
	} else {
		n4j_buf_putc(b, (char)(0xF0 | (cp >> 18)));
		n4j_buf_putc(b, (char)(0x80 | ((cp >> 12) & 0x3F)));
		n4j_buf_putc(b, (char)(0x80 | ((cp >> 6) & 0x3F)));
		n4j_buf_putc(b, (char)(0x80 | (cp & 0x3F)));
	}
	return 0;
}

char *n4j_xml_text(struct n4j_arena *a, const char *s, const char *e)
{
	struct n4j_buf b;
	n4j_buf_init(&b);
	bool bad = false;
	while (s < e && !bad) {
		if (*s != '&') {
			const char *amp = memchr(s, '&', (size_t)(e - s));
			const char *stop = amp ? amp : e;
			n4j_buf_append(&b, s, (size_t)(stop - s));
			s = stop;
			continue;
		}
		const char *semi = memchr(s, ';', (size_t)(e - s) < 12 ? (size_t)(e - s) : 12);
		if (!semi) {
			bad = true;
			break;
		}
		size_t n = (size_t)(semi - s - 1);
		const char *name = s + 1;
		static const struct {
			const char *name;
			char c;
		} ents[] = {{"amp", '&'}, {"lt", '<'}, {"gt", '>'}, {"quot", '"'}, {"apos", '\''}};
		bool done = false;
		for (size_t i = 0; i < sizeof(ents) / sizeof(ents[0]); i++) {
			if (strlen(ents[i].name) == n && memcmp(name, ents[i].name, n) == 0) {
				n4j_buf_putc(&b, ents[i].c);
				done = true;
			}
		}
		if (!done && n >= 2 && name[0] == '#') {
			char tmp[12];
			memcpy(tmp, name + 1, n - 1);
			tmp[n - 1] = '\0';
			char *end;
			unsigned long cp = (tmp[0] == 'x' || tmp[0] == 'X')
						   ? strtoul(tmp + 1, &end, 16)
						   : strtoul(tmp, &end, 10);
			if (*end != '\0' || end == tmp || put_utf8(&b, cp))
				bad = true;
			done = true;
		}
		if (!done)
			bad = true;
		s = semi + 1;
	}
	char *out = NULL;
	if (!bad && !b.oom)
		out = n4j_arena_strndup(a, b.data ? b.data : "", b.len);
	n4j_buf_free(&b);
	return out;
}

/* ---- encoding and signing ---------------------------------------------------------- */

void n4j_uri_encode(struct n4j_buf *b, const char *s, size_t n, bool keep_slash)
{
	static const char hex[] = "0123456789ABCDEF";
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' ||
		    (keep_slash && c == '/')) {
			n4j_buf_putc(b, (char)c);
		} else {
			char t[3] = {'%', hex[c >> 4], hex[c & 15]};
			n4j_buf_append(b, t, 3);
		}
	}
}

void n4j_hex(const unsigned char *in, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hex[in[i] >> 4];
		out[2 * i + 1] = hex[in[i] & 15];
	}
	out[2 * n] = '\0';
}

int n4j_hmac_sha256(const void *key, size_t klen, const void *data, size_t dlen,
		    unsigned char out[32])
{
	unsigned int olen = 0;
	if (klen > (size_t)INT32_MAX ||
	    !HMAC(EVP_sha256(), key, (int)klen, data, dlen, out, &olen) || olen != 32)
		return N4J_EIO;
	return 0;
}

char *n4j_base64_encode(const unsigned char *in, size_t n)
{
	if (n > (1u << 28))
		return NULL;
	char *out = malloc(4 * ((n + 2) / 3) + 1);
	if (out)
		EVP_EncodeBlock((unsigned char *)out, in, (int)n);
	return out;
}

char *n4j_base64url_encode(const unsigned char *in, size_t n)
{
	char *s = n4j_base64_encode(in, n);
	if (!s)
		return NULL;
	size_t len = strlen(s);
	while (len && s[len - 1] == '=')
		s[--len] = '\0';
	for (char *p = s; *p; p++) {
		if (*p == '+')
			*p = '-';
		else if (*p == '/')
			*p = '_';
	}
	return s;
}

int n4j_base64_decode(const char *in, unsigned char **out, size_t *n)
{
	size_t len = strlen(in);
	*out = NULL;
	*n = 0;
	if (len == 0 || len % 4 != 0 || len > (1u << 28))
		return N4J_EINVAL;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];
		if (!(isalnum(c) || c == '+' || c == '/' || (c == '=' && i >= len - 2)))
			return N4J_EINVAL;
	}
	unsigned char *buf = malloc(len / 4 * 3 + 1);
	if (!buf)
		return N4J_ENOMEM;
	int m = EVP_DecodeBlock(buf, (const unsigned char *)in, (int)len);
	if (m < 0) {
		free(buf);
		return N4J_EINVAL;
	}
	/* EVP_DecodeBlock counts the padding as zero bytes. */
	if (in[len - 1] == '=')
		m--;
	if (in[len - 2] == '=')
		m--;
	*out = buf;
	*n = (size_t)m;
	return 0;
}

/* ---- listings ----------------------------------------------------------------------- */

int n4j_listing_add(struct n4j_listing *l, const char *name, int64_t size, const char *what,
		    struct n4j_error *err)
{
	if (l->n >= N4J_STORE_MAX_OBJECTS)
		return n4j_err(err, N4J_ELIMIT,
			       "%s: more than %d objects directly under the prefix (prune them by "
			       "hand or use a new prefix)",
			       what, N4J_STORE_MAX_OBJECTS);
	if (l->n == l->cap) {
		size_t nc = l->cap ? l->cap * 2 : 64;
		struct n4j_artifact *t = realloc(l->arts, nc * sizeof(*t));
		if (!t)
			return n4j_err(err, N4J_ENOMEM, "%s: out of memory", what);
		l->arts = t;
		l->cap = nc;
	}
	memset(&l->arts[l->n], 0, sizeof(l->arts[l->n]));
	l->arts[l->n].name = name;
	l->arts[l->n].size_bytes = size;
	l->n++;
	return 0;
}

int64_t n4j_parse_size(const char *s, const char *e)
{
	char tmp[24];
	size_t n = (size_t)(e - s);
	if (n == 0 || n >= sizeof(tmp) || strspn(s, "0123456789") < n)
		return -1;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	char *end;
	long long v = strtoll(tmp, &end, 10);
	return *end == '\0' && v >= 0 && v < INT64_MAX ? (int64_t)v : -1;
}

/* ---- errors ------------------------------------------------------------------------- */

void n4j_store_clean_text(const char *s, size_t n, size_t max, char *out, size_t size)
{
	size_t o = 0;
	if (size == 0)
		return;
	while (n && (*s == ' ' || *s == '\n' || *s == '\r' || *s == '\t'))
		s++, n--;
	for (size_t i = 0; i < n && o < max && o + 1 < size; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\n' || c == '\r')
			break;
		out[o++] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
	}
	while (o && out[o - 1] == ' ')
		o--;
	out[o] = '\0';
}

/* ---- endpoints ------------------------------------------------------------------------ */

int n4j_endpoint_parse(const char *url, struct n4j_endpoint *ep)
{
	memset(ep, 0, sizeof(*ep));
	const char *sep = strstr(url, "://");
	if (!sep || (size_t)(sep - url) >= sizeof(ep->scheme))
		return N4J_EINVAL;
	memcpy(ep->scheme, url, (size_t)(sep - url));
	for (char *p = ep->scheme; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	if (strcmp(ep->scheme, "http") != 0 && strcmp(ep->scheme, "https") != 0)
		return N4J_EINVAL;
	const char *h = sep + 3;
	size_t hl = strcspn(h, "/?#");
	if (hl == 0 || hl >= sizeof(ep->hostport) || memchr(h, '@', hl))
		return N4J_EINVAL;
	memcpy(ep->hostport, h, hl);
	const char *path = h + hl;
	if (strpbrk(path, "?#"))
		return N4J_EINVAL;
	size_t pl = strlen(path);
	while (pl && path[pl - 1] == '/')
		pl--;
	if (pl >= sizeof(ep->base))
		return N4J_EINVAL;
	memcpy(ep->base, path, pl);
	return 0;
}

int n4j_target_split(struct n4j_arena *a, const char *rest, char **first, char **prefix)
{
	size_t fl = strcspn(rest, "/");
	if (fl == 0)
		return N4J_EINVAL;
	const char *p = rest + fl;
	while (*p == '/')
		p++;
	size_t pl = strlen(p);
	while (pl && p[pl - 1] == '/')
		pl--;
	*first = n4j_arena_strndup(a, rest, fl);
	*prefix = pl ? n4j_arena_printf(a, "%.*s/", (int)pl, p) : n4j_arena_strdup(a, "");
	if (!*first || !*prefix)
		return N4J_ENOMEM;
	return 0;
}

const char *n4j_env(const char *name)
{
	const char *v = getenv(name);
	return v && v[0] ? v : NULL;
}

int n4j_store_page_size(int max)
{
	const char *v = n4j_env("N4J_STORE_PAGE_SIZE");
	if (!v)
		return max;
	char *end;
	long n = strtol(v, &end, 10);
	return *end == '\0' && n >= 1 && n <= max ? (int)n : max;
}

int n4j_store_ca_file(const char *kind, const char *own_var, const char **out,
		      struct n4j_error *err)
{
	const char *var = own_var && n4j_env(own_var) ? own_var : "SSL_CERT_FILE";
	const char *path = n4j_env(var);
	*out = NULL;
	if (!path)
		return 0;
	FILE *f = fopen(path, "r");
	if (!f)
		return n4j_err(err, N4J_EINVAL, "%s: %s names %.200s, which cannot be read", kind,
			       var, path);
	fclose(f);
	*out = path;
	return 0;
}
