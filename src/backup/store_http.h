/*
 * store_http: what the three object-store clients (store_s3.c, store_azure.c,
 * store_gcs.c) share — one bounded HTTP exchange over libcurl, a small XML
 * element scanner, URI encoding, HMAC/base64 and error texts that never carry
 * a credential, a signature or a signed URL. Private to src/backup.
 */
#ifndef N4J_BACKUP_STORE_HTTP_H
#define N4J_BACKUP_STORE_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backup/backup.h"
#include "util/util.h"

struct curl_slist;

/* A listing page or an error body is far below this; a larger answer is refused. */
#define N4J_STORE_MAX_BODY (8u << 20)
/* Bounds on one exchange: connecting, and the whole request. */
#define N4J_STORE_CONNECT_TIMEOUT_MS 10000
#define N4J_STORE_TIMEOUT_MS         60000
/* At most this many objects directly under a prefix (a listing's memory is bounded). */
#define N4J_STORE_MAX_OBJECTS 1000000
/* Tries per request when the failure looks transient (network, 429, 5xx). */
#define N4J_STORE_ATTEMPTS 4
/* At most this many pages per listing (1000 keys a page): a server that never
 * stops paging cannot keep the Job forever. */
#define N4J_STORE_MAX_PAGES 10000

struct n4j_http_resp {
	long status;
	struct n4j_buf body;
	char error_code[96]; /* x-ms-error-code / x-amz-error-code header, if any */
};

/*
 * One request, trusting ca_file (NULL: the system's CAs). `headers` are sent as given (the caller's signed set; curl adds
 * nothing that is signed). `what` names the operation in messages ("s3: list
 * s3://b/p"); the URL never appears in them. A transport failure or an oversized
 * body is N4J_EIO/N4J_ELIMIT with a message; any HTTP status is returned in resp (the
 * caller judges it). Network failures, 429 and 5xx are retried (N4J_STORE_ATTEMPTS, with
 * backoff): only idempotent requests come here. resp->body is always freed by the caller
 * (n4j_http_resp_free).
 */
int n4j_http_do(const char *what, const char *method, const char *url, const char *ca_file,
		const struct curl_slist *headers, const void *body, size_t body_len,
		struct n4j_http_resp *resp, struct n4j_error *err);

/* The CA bundle for TLS to the store: the store's own variable (AWS_CA_BUNDLE; NULL for
 * none), else SSL_CERT_FILE, else NULL (the system's). An unreadable file is N4J_EINVAL
 * (naming the variable and the path). *out is borrowed from the environment. */
int n4j_store_ca_file(const char *kind, const char *own_var, const char **out,
		      struct n4j_error *err);
void n4j_http_resp_free(struct n4j_http_resp *resp);

/* curl_slist_append of "name: value" built with printf; false on allocation failure
 * (the list is then freed and *l set to NULL). */
bool n4j_http_header(struct curl_slist **l, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Frees a header list after wiping it (it may hold an Authorization). */
void n4j_http_headers_free(struct curl_slist *l);

/* ---- XML (store answers only: no DTDs, no CDATA needed) ---------------------- */

/*
 * Finds the next element <tag>…</tag> (or <tag/>, or <tag attr…>) in [p, end):
 * s and e delimit its content, next points past its end tag. False when absent
 * or unterminated. Nested elements of the same name are not expected in these
 * answers and not supported.
 */
bool n4j_xml_find(const char *p, const char *end, const char *tag, const char **s, const char **e,
		  const char **next);
/* The content decoded (&amp; &lt; &gt; &quot; &apos; &#N; &#xN;), in the arena;
 * NULL on allocation failure or a malformed entity. */
char *n4j_xml_text(struct n4j_arena *a, const char *s, const char *e);

/* ---- encoding and signing ---------------------------------------------------- */

/* RFC 3986 percent-encoding of every byte but A-Z a-z 0-9 - . _ ~ (and '/' when
 * keep_slash): what SigV4 and Shared Key canonicalise, and what GCS names need. */
void n4j_uri_encode(struct n4j_buf *b, const char *s, size_t n, bool keep_slash);
void n4j_hex(const unsigned char *in, size_t n, char *out);
int n4j_hmac_sha256(const void *key, size_t klen, const void *data, size_t dlen,
		    unsigned char out[32]);
/* Standard base64 with padding; malloc'd, NULL on allocation failure. */
char *n4j_base64_encode(const unsigned char *in, size_t n);
/* base64url without padding (JWT). */
char *n4j_base64url_encode(const unsigned char *in, size_t n);
/* Decodes standard base64 (whitespace not allowed); malloc'd into *out. */
int n4j_base64_decode(const char *in, unsigned char **out, size_t *n);

/* ---- listings ------------------------------------------------------------------- */

/* A growing listing: one artifact (name borrowed, size or -1) appended. */
struct n4j_listing {
	struct n4j_artifact *arts; /* malloc'd */
	size_t n, cap;
};
int n4j_listing_add(struct n4j_listing *l, const char *name, int64_t size, const char *what,
		    struct n4j_error *err);
/* A decimal size ("1234"), -1 when absent or not one. */
int64_t n4j_parse_size(const char *s, const char *e);

/* ---- errors ------------------------------------------------------------------- */

/* Copies at most max bytes of a server's message, first line only, control
 * characters replaced, into out (size > max). */
void n4j_store_clean_text(const char *s, size_t n, size_t max, char *out, size_t size);

/* ---- endpoints ------------------------------------------------------------------ */

/* "http://host:port/base/" → scheme "http", hostport "host:port", base "/base"
 * (no trailing slash; "" when none). Query, fragment or userinfo: N4J_EINVAL. */
struct n4j_endpoint {
	char scheme[8];
	char hostport[256];
	char base[256];
};
int n4j_endpoint_parse(const char *url, struct n4j_endpoint *ep);

/* Splits "bucket/some/prefix" into its first segment and the prefix; the
 * prefix gets a trailing '/' when not empty ("" = the bucket's top). Both in the
 * arena. */
int n4j_target_split(struct n4j_arena *a, const char *rest, char **first, char **prefix);

/* Keys asked for per listing page: N4J_STORE_PAGE_SIZE when set (1..max; the tests
 * use a small one to exercise paging), else max (each store's own maximum). */
int n4j_store_page_size(int max);

/* Non-empty environment value, else NULL. */
const char *n4j_env(const char *name);

#endif
