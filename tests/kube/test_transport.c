/* Pure parts of the transport: error classification, paths, the watch decoder, backoff. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "check.h"
#include "kube/internal.h"
#include "util/util.h"

static void test_errors(void)
{
	CHECK_STR(n4j_kube_reason_name(N4J_KUBE_GONE), "Gone");
	CHECK_STR(n4j_kube_reason_name(N4J_KUBE_FORBIDDEN), "Forbidden");
	CHECK_STR(n4j_kube_reason_name((enum n4j_kube_reason)99), "Unknown");
	struct n4j_kube_error e = {0};
	const char *st =
		"{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\","
		"\"message\":\"ConfigMap \\\"x\\\" is invalid\",\"reason\":\"Invalid\","
		"\"details\":{\"name\":\"x\",\"causes\":[{\"reason\":\"FieldValueInvalid\","
		"\"message\":\"Invalid value\",\"field\":\"metadata.name\"},{\"field\":"
		"\"data\"}]},\"code\":422}";
	CHECK_INT(n4j_kube_error_from_response(&e, "POST", "/api/v1/namespaces/a/configmaps", 422,
					       st, strlen(st)),
		  N4J_EINVAL);
	CHECK_INT(e.reason, N4J_KUBE_INVALID);
	CHECK_INT(e.http_status, 422);
	CHECK_INT(e.n_causes, 2);
	CHECK_STR(e.causes[0].field, "metadata.name");
	CHECK_STR(e.causes[0].reason, "FieldValueInvalid");
	CHECK_STR(e.causes[1].field, "data");
	CHECK_HAS(e.base.msg, "422 Invalid: ConfigMap \"x\" is invalid");
	CHECK(!n4j_kube_retryable(&e));

	const char *ae = "{\"kind\":\"Status\",\"reason\":\"AlreadyExists\",\"code\":409}";
	n4j_kube_error_from_response(&e, "POST", "/p", 409, ae, strlen(ae));
	CHECK_INT(e.reason, N4J_KUBE_ALREADY_EXISTS);
	const char *cf = "{\"kind\":\"Status\",\"reason\":\"Conflict\",\"code\":409}";
	n4j_kube_error_from_response(&e, "PATCH", "/p", 409, cf, strlen(cf));
	CHECK_INT(e.reason, N4J_KUBE_CONFLICT);
	const char *tm = "{\"kind\":\"Status\",\"reason\":\"TooManyRequests\",\"code\":429,"
			 "\"details\":{\"retryAfterSeconds\":3}}";
	memset(&e, 0, sizeof(e));
	n4j_kube_error_from_response(&e, "GET", "/p", 429, tm, strlen(tm));
	CHECK_INT(e.reason, N4J_KUBE_TOO_MANY_REQUESTS);
	CHECK_INT(e.retry_after_ms, 3000);
	CHECK(n4j_kube_retryable(&e));
	n4j_kube_error_from_response(&e, "GET", "/p", 503, "<html>secret</html>", 19);
	CHECK_INT(e.reason, N4J_KUBE_SERVER_ERROR);
	CHECK(strstr(e.base.msg, "secret") == NULL); /* foreign bodies are not echoed */
	CHECK(n4j_kube_retryable(&e));
	n4j_kube_error_from_response(&e, "GET", "/p", 404, NULL, 0);
	CHECK_INT(e.reason, N4J_KUBE_NOT_FOUND);
	CHECK_INT(e.base.code, N4J_ENOTFOUND);
	n4j_kube_error_from_response(&e, "GET", "/p", 403, NULL, 0);
	CHECK_INT(e.reason, N4J_KUBE_FORBIDDEN);
	n4j_kube_error_from_response(&e, "GET", "/p", 401, NULL, 0);
	CHECK_INT(e.reason, N4J_KUBE_UNAUTHORIZED);
	n4j_kube_error_from_response(&e, "GET", "/p", 400, NULL, 0);
	CHECK_INT(e.reason, N4J_KUBE_BAD_REQUEST);
	n4j_kube_error_from_response(&e, "GET", "/p", 418, NULL, 0);
	CHECK_INT(e.reason, N4J_KUBE_OTHER);
	e.reason = N4J_KUBE_TRANSPORT;
	CHECK(n4j_kube_retryable(&e));
	e.reason = N4J_KUBE_TIMEOUT;
	CHECK(n4j_kube_retryable(&e));
	CHECK(!n4j_kube_retryable(NULL));
	cJSON *gone =
		cJSON_Parse("{\"kind\":\"Status\",\"status\":\"Failure\",\"message\":\"too old "
			    "resource version: 1 (5)\",\"reason\":\"Expired\",\"code\":410}");
	n4j_kube_error_from_status(&e, "/api/v1/pods", gone);
	CHECK_INT(e.reason, N4J_KUBE_GONE);
	CHECK_INT(e.http_status, 410);
	CHECK_HAS(e.base.msg, "too old resource version");
	cJSON_Delete(gone);
}

static void test_paths(void)
{
	struct n4j_buf b;
	n4j_buf_init(&b);
	CHECK_INT(n4j_kube_path(&N4J_RES_CONFIGMAPS, "ns1", NULL, NULL, &b), 0);
	CHECK_STR(n4j_buf_cstr(&b), "/api/v1/namespaces/ns1/configmaps");
	n4j_buf_reset(&b);
	CHECK_INT(n4j_kube_path(&N4J_RES_NEO4JCLUSTERS, "db", "graph", "status", &b), 0);
	CHECK_STR(n4j_buf_cstr(&b), "/apis/neo4j.graphops.io/v1alpha1/namespaces/db/neo4jclusters/"
				    "graph/status");
	n4j_buf_reset(&b);
	CHECK_INT(n4j_kube_path(&N4J_RES_STATEFULSETS, NULL, NULL, NULL, &b), 0);
	CHECK_STR(n4j_buf_cstr(&b), "/apis/apps/v1/statefulsets");
	n4j_buf_reset(&b);
	CHECK_INT(n4j_kube_path(&N4J_RES_NAMESPACES, "ignored", "db", NULL, &b), 0);
	CHECK_STR(n4j_buf_cstr(&b), "/api/v1/namespaces/db");
	n4j_buf_reset(&b);
	CHECK_INT(n4j_kube_path(&N4J_RES_CONFIGMAPS, "ns", "a/b", NULL, &b), N4J_EINVAL);
	n4j_buf_reset(&b);
	CHECK_INT(n4j_kube_path(&N4J_RES_CONFIGMAPS, "..", "a", NULL, &b), N4J_EINVAL);
	n4j_buf_reset(&b);
	CHECK_INT(n4j_kube_path(&N4J_RES_CONFIGMAPS, NULL, "a", NULL, &b), N4J_EINVAL);
	n4j_buf_reset(&b);
	CHECK_INT(n4j_kube_path(&N4J_RES_CONFIGMAPS, "ns", NULL, "status", &b), N4J_EINVAL);
	n4j_buf_reset(&b);
	n4j_buf_puts(&b, "/api/v1/pods");
	n4j_kube_query(&b, "labelSelector", "app in (a,b),!x");
	n4j_kube_query(&b, "limit", "5");
	n4j_kube_query(&b, "skip", NULL);
	CHECK_STR(n4j_buf_cstr(&b),
		  "/api/v1/pods?labelSelector=app%20in%20%28a%2Cb%29%2C%21x&limit=5");
	n4j_buf_free(&b);
}

struct sink {
	int n, added, modified, deleted, bookmarks, errors;
	char last_rv[64];
	size_t biggest;
	int stop_after;
	cJSON *kept;
};

static int on_ev(void *ud, struct n4j_watch_event *ev)
{
	struct sink *s = ud;
	s->n++;
	switch (ev->type) {
	case N4J_WATCH_ADDED:
		s->added++;
		break;
	case N4J_WATCH_MODIFIED:
		s->modified++;
		break;
	case N4J_WATCH_DELETED:
		s->deleted++;
		break;
	case N4J_WATCH_BOOKMARK:
		s->bookmarks++;
		break;
	case N4J_WATCH_ERROR:
		s->errors++;
		break;
	}
	const cJSON *rv = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(ev->object, "metadata"), "resourceVersion");
	if (cJSON_IsString(rv))
		snprintf(s->last_rv, sizeof(s->last_rv), "%s", rv->valuestring);
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(ev->object, "data"), "big");
	if (cJSON_IsString(d) && strlen(d->valuestring) > s->biggest)
		s->biggest = strlen(d->valuestring);
	if (!s->kept && ev->type == N4J_WATCH_ADDED) {
		s->kept = ev->object; /* take ownership */
		ev->object = NULL;
	}
	if (s->stop_after && s->n >= s->stop_after)
		return -42;
	return 0;
}

static const char STREAM[] =
	"{\"type\":\"ADDED\",\"object\":{\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"a\","
	"\"resourceVersion\":\"10\"}}}\n"
	"{\"type\":\"MODIFIED\",\"object\":{\"metadata\":{\"name\":\"a\",\"resourceVersion\":"
	"\"11\"}}}\n"
	"\r\n"
	"{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"ConfigMap\",\"apiVersion\":\"v1\","
	"\"metadata\":{\"resourceVersion\":\"15\",\"annotations\":{\"k8s.io/initial-events-end\":"
	"\"true\"}}}}\n"
	"{\"type\":\"DELETED\",\"object\":{\"metadata\":{\"name\":\"a\",\"resourceVersion\":"
	"\"16\"}}}\n"
	"{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"code\":410,\"reason\":\"Expired\"}}"
	"\n";

static void test_decoder(void)
{
	/* Every chunking of the same stream yields the same events. */
	size_t len = strlen(STREAM);
	for (size_t chunk = 1; chunk <= len; chunk += (chunk < 20 ? 1 : 37)) {
		struct n4j_watch_decoder d;
		struct sink s = {0};
		struct n4j_error err = {0};
		n4j_watch_decoder_init(&d, 0);
		int rc = 0;
		for (size_t off = 0; off < len && !rc; off += chunk)
			rc = n4j_watch_decoder_feed(&d, STREAM + off,
						    len - off < chunk ? len - off : chunk, on_ev,
						    &s, &err);
		CHECK_INT(rc, 0);
		CHECK_INT(s.n, 5);
		CHECK(s.added == 1 && s.modified == 1 && s.bookmarks == 1 && s.deleted == 1 &&
		      s.errors == 1);
		CHECK_INT(d.line.len, 0);
		cJSON_Delete(s.kept);
		n4j_watch_decoder_free(&d);
	}
	/* A partial line waits for its end. */
	struct n4j_watch_decoder d;
	struct sink s = {0};
	struct n4j_error err = {0};
	n4j_watch_decoder_init(&d, 0);
	CHECK_INT(n4j_watch_decoder_feed(&d, STREAM, 40, on_ev, &s, &err), 0);
	CHECK_INT(s.n, 0);
	CHECK_INT(d.line.len, 40);
	n4j_watch_decoder_free(&d);

	/* A 5 MiB object in 1000-byte chunks. */
	size_t big = 5u << 20;
	char *line = malloc(big + 200);
	CHECK(line != NULL);
	if (line) {
		int n = snprintf(line, 200,
				 "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":"
				 "\"big\",\"resourceVersion\":\"99\"},\"data\":{\"big\":\"");
		memset(line + n, 'x', big);
		memcpy(line + n + big, "\"}}}\n", 6);
		size_t total = (size_t)n + big + 5;
		struct sink s2 = {0};
		n4j_watch_decoder_init(&d, 0);
		int rc = 0;
		for (size_t off = 0; off < total && !rc; off += 1000)
			rc = n4j_watch_decoder_feed(&d, line + off,
						    total - off < 1000 ? total - off : 1000, on_ev,
						    &s2, &err);
		CHECK_INT(rc, 0);
		CHECK_INT(s2.n, 1);
		CHECK_INT(s2.biggest, big);
		CHECK_STR(s2.last_rv, "99");
		cJSON_Delete(s2.kept);
		n4j_watch_decoder_free(&d);
		/* The same line with a 1 MiB cap is refused, not buffered. */
		struct sink s3 = {0};
		n4j_watch_decoder_init(&d, 1u << 20);
		rc = 0;
		for (size_t off = 0; off < total && !rc; off += 4096)
			rc = n4j_watch_decoder_feed(&d, line + off,
						    total - off < 4096 ? total - off : 4096, on_ev,
						    &s3, &err);
		CHECK_INT(rc, N4J_ELIMIT);
		CHECK(d.line.len <= (1u << 20));
		CHECK_INT(s3.n, 0);
		n4j_watch_decoder_free(&d);
		free(line);
	}
	/* Malformed events are errors. */
	static const char *bad[] = {
		"not json\n",
		"{\"type\":\"ADDED\"}\n",
		"{\"type\":\"WHAT\",\"object\":{}}\n",
		"{\"type\":3,\"object\":{}}\n",
		"{\"type\":\"ADDED\",\"object\":[]}\n",
		"[1,2]\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct sink s4 = {0};
		n4j_watch_decoder_init(&d, 0);
		CHECK_INT(n4j_watch_decoder_feed(&d, bad[i], strlen(bad[i]), on_ev, &s4, &err),
			  N4J_EPARSE);
		CHECK_INT(s4.n, 0);
		n4j_watch_decoder_free(&d);
	}
	/* The callback can stop the stream. */
	struct sink s5 = {.stop_after = 2};
	n4j_watch_decoder_init(&d, 0);
	CHECK_INT(n4j_watch_decoder_feed(&d, STREAM, len, on_ev, &s5, &err), -42);
	CHECK_INT(s5.n, 2);
	cJSON_Delete(s5.kept);
	n4j_watch_decoder_free(&d);
}

static void test_backoff(void)
{
	struct n4j_kube_config cfg = {.server = (char *)"https://127.0.0.1:1"};
	struct n4j_kube_client_opts o = {.max_retry_delay_ms = 2000};
	struct n4j_kube_client *c = NULL;
	struct n4j_error err;
	CHECK_INT(n4j_kube_client_new(&cfg, &o, &c, &err), 0);
	if (!c)
		return;
	for (int a = 0; a < 20; a++) {
		long d = n4j_kube_backoff_ms(c, a, 0);
		CHECK(d >= 200 && d <= 2200);
		long r = n4j_kube_backoff_ms(c, a, 1500);
		CHECK(r >= 1500 && r <= 1650); /* Retry-After honoured, jitter ≤ 10 % */
		long capped = n4j_kube_backoff_ms(c, a, 60000);
		CHECK(capped >= 2000 && capped <= 2200);
	}
	CHECK(n4j_kube_backoff_ms(c, 0, 0) < 300);
	/* The write bucket: burst 50 free, then about 1/qps each. */
	struct n4j_kube_client_stats st;
	for (int i = 0; i < 50; i++)
		n4j_kube_bucket_take(c);
	n4j_kube_client_stats(c, &st);
	CHECK(st.throttled_ms < 50);
	n4j_kube_bucket_take(c);
	n4j_kube_bucket_take(c);
	n4j_kube_client_stats(c, &st);
	CHECK(st.throttled_ms >= 40 && st.throttled_ms < 5000);
	n4j_kube_client_free(c);
	/* Connection refused: a transport error, retried for GET a bounded number of times. */
	struct n4j_kube_client_opts o2 = {.max_retries = 2, .max_retry_delay_ms = 100};
	CHECK_INT(n4j_kube_client_new(&cfg, &o2, &c, &err), 0);
	if (!c)
		return;
	struct n4j_kube_error e;
	cJSON *out = NULL;
	CHECK(n4j_kube_get(c, &N4J_RES_CONFIGMAPS, "ns", "x", &out, &e) != 0);
	CHECK_INT(e.reason, N4J_KUBE_TRANSPORT);
	CHECK_INT(e.http_status, 0);
	n4j_kube_client_stats(c, &st);
	CHECK_INT(st.requests, 3);
	CHECK_INT(st.retries, 2);
	CHECK(n4j_kube_create(c, &N4J_RES_CONFIGMAPS, "ns", NULL, &out, &e) != 0);
	n4j_kube_client_stats(c, &st);
	CHECK_INT(st.requests, 4); /* a POST is never retried on a transport error */
	CHECK_INT(st.writes, 1);
	CHECK(n4j_kube_get(c, &N4J_RES_CONFIGMAPS, "ns", "a/b", &out, &e) != 0);
	CHECK_INT(e.reason, N4J_KUBE_BAD_REQUEST);
	n4j_kube_client_free(c);
}

/* insecure-skip-tls-verify works only when configured, and says so once, through the
 * logger (a JSON record at warn from component kube, naming the server, never the token). */
static void test_insecure_warning(void)
{
	char path[] = "/tmp/n4j-log-XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0) {
		CHECK(0);
		return;
	}
	struct n4j_log_config lc = {.level = N4J_LOG_INFO, .format = N4J_LOG_JSON, .fd = fd};
	n4j_log_configure(&lc);
	struct n4j_kube_config cfg = {.server = (char *)"https://127.0.0.1:1",
				      .insecure_skip_verify = true,
				      .token = (char *)"SECRET-TOKEN"};
	struct n4j_kube_client_opts o = {.max_retries = -1};
	struct n4j_kube_client *c = NULL;
	struct n4j_error err;
	CHECK_INT(n4j_kube_client_new(&cfg, &o, &c, &err), 0);
	for (int i = 0; c && i < 3; i++) {
		struct n4j_kube_error e;
		CHECK(n4j_kube_get(c, &N4J_RES_CONFIGMAPS, "ns", "x", NULL, &e) != 0);
		CHECK(strstr(e.base.msg, "SECRET-TOKEN") == NULL);
	}
	n4j_kube_client_free(c);
	struct n4j_log_config back = {.level = N4J_LOG_INFO, .format = N4J_LOG_JSON, .fd = 2};
	n4j_log_configure(&back);
	close(fd);
	char *text = NULL;
	size_t len = 0;
	CHECK_INT(n4j_read_file(path, 1 << 20, &text, &len, NULL), 0);
	int n = 0;
	for (const char *p = text; p && (p = strstr(p, "TLS verification")); p++)
		n++;
	CHECK_INT(n, 1);
	CHECK(text && strstr(text, "SECRET-TOKEN") == NULL);
	char *nl = text ? strchr(text, '\n') : NULL;
	if (nl)
		*nl = '\0';
	cJSON *rec = text ? cJSON_Parse(text) : NULL;
	CHECK_MSG(rec != NULL, "not a JSON record: %s", text ? text : "(nothing)");
	const cJSON *lv = cJSON_GetObjectItemCaseSensitive(rec, "level");
	const cJSON *comp = cJSON_GetObjectItemCaseSensitive(rec, "component");
	const cJSON *srv = cJSON_GetObjectItemCaseSensitive(rec, "server");
	CHECK_STR(cJSON_IsString(lv) ? lv->valuestring : NULL, "warn");
	CHECK_STR(cJSON_IsString(comp) ? comp->valuestring : NULL, "kube");
	CHECK_STR(cJSON_IsString(srv) ? srv->valuestring : NULL, "https://127.0.0.1:1");
	cJSON_Delete(rec);
	free(text);
	unlink(path);
}

/* The LIST splitter: items and metadata of a list text, whatever the chunking. */
static const char LIST[] =
	"{\"kind\":\"ConfigMapList\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":"
	"\"77\",\"continue\":\"c]{\\\"x\"},\"items\":[{\"metadata\":{\"name\":\"a\",\"labels\":"
	"{\"items\":\"[{\"}},\"data\":{\"k\":\"}\\\\\"}},\n {\"metadata\":{\"name\":\"b\"},"
	"\"items\":[{\"nested\":[1,{\"x\":\"]\"}]}]}]}\n";

struct splits {
	int items, metas;
	char names[4][8];
	char cont[16];
};

static int on_split(void *ud, bool is_meta, const char *text, size_t len)
{
	struct splits *s = ud;
	cJSON *v = cJSON_ParseWithLength(text, len);
	CHECK(v != NULL); /* each value is a whole object */
	if (is_meta) {
		s->metas++;
		const cJSON *c = cJSON_GetObjectItem(v, "continue");
		snprintf(s->cont, sizeof(s->cont), "%s", cJSON_IsString(c) ? c->valuestring : "");
	} else if (s->items < 4) {
		const cJSON *n = cJSON_GetObjectItem(cJSON_GetObjectItem(v, "metadata"), "name");
		snprintf(s->names[s->items++], 8, "%s", cJSON_IsString(n) ? n->valuestring : "?");
	}
	cJSON_Delete(v);
	return 0;
}

struct kept {
	int n;
	char text[4][128];
	char meta[64];
};

static int on_kept(void *ud, bool is_meta, const char *text, size_t len)
{
	struct kept *k = ud;
	if (is_meta)
		snprintf(k->meta, sizeof(k->meta), "%.*s", (int)len, text);
	else if (k->n < 4)
		snprintf(k->text[k->n++], sizeof(k->text[0]), "%.*s", (int)len, text);
	return 0;
}

static void test_list_split(void)
{
	size_t len = strlen(LIST);
	for (size_t chunk = 1; chunk <= len; chunk++) {
		struct n4j_list_split p;
		struct splits s = {0};
		n4j_list_split_init(&p, 1 << 20, on_split, &s);
		int rc = 0;
		for (size_t off = 0; off < len && !rc; off += chunk)
			rc = n4j_list_split_feed(&p, LIST + off,
						 len - off < chunk ? len - off : chunk);
		CHECK_INT(rc, 0);
		CHECK(n4j_list_split_done(&p));
		/* Strings holding brackets, quotes and the word "items" change nothing. */
		CHECK_INT(s.items, 2);
		CHECK_INT(s.metas, 1);
		CHECK_STR(s.names[0], "a");
		CHECK_STR(s.names[1], "b");
		CHECK_STR(s.cont, "c]{\"x");
		n4j_list_split_free(&p);
	}
	/* drop_managed_fields: items' metadata.managedFields go, first, middle, last or alone,
	 * with or without white space; the same key elsewhere stays. */
	static const char MF[] =
		"{\"metadata\":{\"managedFields\":[1]},\"items\":["
		"{\"metadata\":{\"managedFields\":[{\"f:x\":{\"]\":\"}\"}}],\"name\":\"a\"}},"
		"{\"metadata\":{\"name\":\"b\", \"managedFields\" : [ {} ] , \"uid\":\"u\"}},"
		"{\"metadata\":{\"name\":\"c\",\"managedFields\":[]\n},\"spec\":{\"managedFields\":"
		"1}},"
		"{\"metadata\":{\"managedFields\":[]}}]}";
	static const char *const want[] = {
		"{\"metadata\":{\"name\":\"a\"}}",
		"{\"metadata\":{\"name\":\"b\", \"uid\":\"u\"}}",
		"{\"metadata\":{\"name\":\"c\"},\"spec\":{\"managedFields\":1}}",
		"{\"metadata\":{}}",
	};
	size_t mlen = strlen(MF);
	for (size_t chunk = 1; chunk <= mlen; chunk++) {
		struct n4j_list_split q;
		struct kept k = {0};
		n4j_list_split_init(&q, 1 << 20, on_kept, &k);
		q.drop_managed_fields = true;
		int rc = 0;
		for (size_t off = 0; off < mlen && !rc; off += chunk)
			rc = n4j_list_split_feed(&q, MF + off,
						 mlen - off < chunk ? mlen - off : chunk);
		CHECK_INT(rc, 0);
		CHECK_INT(k.n, 4);
		for (int i = 0; i < 4 && i < k.n; i++) {
			/* Valid JSON equal to the expected object. */
			cJSON *got = cJSON_Parse(k.text[i]), *exp = cJSON_Parse(want[i]);
			CHECK(got && exp && cJSON_Compare(got, exp, true));
			cJSON_Delete(got);
			cJSON_Delete(exp);
		}
		CHECK_HAS(k.meta, "managedFields"); /* the list's own metadata is not an item's */
		n4j_list_split_free(&q);
	}

	/* Cut short: not done; an item larger than the limit: refused. */
	struct n4j_list_split p;
	struct splits s = {0};
	n4j_list_split_init(&p, 1 << 20, on_split, &s);
	CHECK_INT(n4j_list_split_feed(&p, LIST, len / 2), 0);
	CHECK(!n4j_list_split_done(&p));
	n4j_list_split_free(&p);
	n4j_list_split_init(&p, 16, on_split, &s);
	CHECK_INT(n4j_list_split_feed(&p, LIST, len), N4J_ELIMIT);
	n4j_list_split_free(&p);
	/* Not one object: an extra closer, or text after the end. */
	n4j_list_split_init(&p, 1 << 20, on_split, &s);
	CHECK_INT(n4j_list_split_feed(&p, "{}}", 3), N4J_EPARSE);
	n4j_list_split_free(&p);
	n4j_list_split_init(&p, 1 << 20, on_split, &s);
	CHECK_INT(n4j_list_split_feed(&p, "{} {}", 5), N4J_EPARSE);
	n4j_list_split_free(&p);
}

/* The count of row (method, code) in s, 0 when absent. */
static uint64_t row_count(const struct n4j_kube_client_stats *s, const char *method,
			  const char *code)
{
	for (size_t i = 0; i < s->n_by_code; i++)
		if (strcmp(s->by_code[i].method, method) == 0 &&
		    strcmp(s->by_code[i].code, code) == 0)
			return s->by_code[i].count;
	return 0;
}

/*
 * rest_client stats without a server: a refused connection is code "<error>" (client-go's
 * word), the call is timed under its verb, a watch is a GET row and a WATCH duration;
 * a full table keeps every count (the last row absorbs new rows); host is host:port.
 */
static void test_client_stats(void)
{
	/* A port nothing listens on: bind one, then close it. */
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof(sa);
	CHECK(fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	      getsockname(fd, (struct sockaddr *)&sa, &sl) == 0);
	close(fd);
	char server[64], host[32];
	snprintf(server, sizeof(server), "https://127.0.0.1:%d", ntohs(sa.sin_port));
	snprintf(host, sizeof(host), "127.0.0.1:%d", ntohs(sa.sin_port));
	struct n4j_kube_config cfg = {.server = server};
	struct n4j_kube_client_opts o = {.max_retries = -1};
	struct n4j_kube_client *c = NULL;
	struct n4j_error err;
	CHECK_INT(n4j_kube_client_new(&cfg, &o, &c, &err), 0);
	if (!c)
		return;
	struct n4j_kube_client_stats s;
	n4j_kube_client_stats(c, &s);
	CHECK_STR(s.host, host);
	CHECK_INT(s.n_by_code, 0);
	static const char *const verbs[] = {"GET", "POST", "PUT", "PATCH", "DELETE", "WATCH"};
	for (size_t i = 0; i < N4J_KUBE_STATS_VERBS; i++) {
		CHECK_STR(s.verbs[i], verbs[i]);
		CHECK_INT(s.durations[i].n, N4J_HIST_REST_N);
		CHECK_INT(s.durations[i].count, 0);
	}

	struct n4j_kube_error e;
	CHECK(n4j_kube_get(c, &N4J_RES_CONFIGMAPS, "ns", "x", NULL, &e) != 0);
	CHECK(n4j_kube_get(c, &N4J_RES_CONFIGMAPS, "ns", "y", NULL, &e) != 0);
	CHECK(n4j_kube_delete(c, &N4J_RES_CONFIGMAPS, "ns", "x", NULL, &e) != 0);
	atomic_bool stop = false;
	CHECK(n4j_kube_watch(c, &N4J_RES_CONFIGMAPS, "ns", NULL, NULL, NULL, &stop, NULL, &e) != 0);
	n4j_kube_client_stats(c, &s);
	CHECK_INT(row_count(&s, "GET", "<error>"), 3); /* two GETs and the watch */
	CHECK_INT(row_count(&s, "DELETE", "<error>"), 1);
	CHECK_INT(s.n_by_code, 2);
	CHECK_INT(s.durations[0].count, 2); /* GET */
	CHECK_INT(s.durations[4].count, 1); /* DELETE */
	CHECK_INT(s.durations[5].count, 1); /* WATCH: until it failed, no headers came */
	CHECK_INT(s.durations[1].count + s.durations[2].count + s.durations[3].count, 0);

	/* Fill the table: 2 rows + 45 PATCH codes = 47, then OTHER takes every new row. */
	for (long code = 200; code < 245; code++)
		n4j_kube_stats_count(c, "PATCH", code);
	n4j_kube_stats_count(c, "PUT", 999);  /* a new row: OTHER */
	n4j_kube_stats_count(c, "PUT", 1000); /* not a status: "<error>", a new row: OTHER */
	n4j_kube_stats_count(c, "GET", 0);    /* an existing row still counts in place */
	n4j_kube_stats_count(c, "PATCH", 200);
	n4j_kube_client_stats(c, &s);
	CHECK_INT(s.n_by_code, N4J_KUBE_STATS_MAX_CODES);
	CHECK_INT(row_count(&s, "OTHER", "OTHER"), 2);
	CHECK_INT(row_count(&s, "GET", "<error>"), 4);
	CHECK_INT(row_count(&s, "PATCH", "200"), 2);
	CHECK_INT(row_count(&s, "PATCH", "244"), 1);
	CHECK_INT(row_count(&s, "PUT", "999"), 0);
	uint64_t total = 0;
	for (size_t i = 0; i < s.n_by_code; i++)
		total += s.by_code[i].count;
	CHECK_INT(total, 4 + 45 + 4);
	n4j_kube_client_free(c);
}

int main(void)
{
	test_client_stats();
	test_errors();
	test_paths();
	test_decoder();
	test_list_split();
	test_backoff();
	test_insecure_warning();
	TDONE();
}
