/* The logger, read back the way a log pipeline reads it: every JSON line must parse,
 * with the values that went in; text lines stay one line; levels filter; concurrent
 * writers never tear a line; credentials never appear. */
#include <cjson/cJSON.h>
#include <pthread.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "util/util.h"

static char path[] = "/tmp/n4j-log-XXXXXX";
static int fd = -1;

/* Points the logger at an empty file. */
static void sink(enum n4j_log_level level, enum n4j_log_format format)
{
	if (ftruncate(fd, 0) != 0 || lseek(fd, 0, SEEK_SET) != 0)
		CHECK(0);
	struct n4j_log_config c = {.level = level, .format = format, .fd = fd};
	n4j_log_configure(&c);
}

/* What was written since sink() (malloc'd). */
static char *output(void)
{
	char *text = NULL;
	size_t len = 0;
	if (n4j_read_file(path, 64 << 20, &text, &len, NULL) != 0)
		return NULL;
	return text;
}

static size_t count_lines(const char *s)
{
	size_t n = 0;
	for (; s && *s; s++)
		n += *s == '\n';
	return n;
}

/* JSON forbids raw control characters in strings; cJSON's parser lets them through, so
 * check the bytes themselves (strict parsers, as log pipelines use, refuse the line). */
static bool no_raw_controls(const char *line)
{
	for (const unsigned char *p = (const unsigned char *)line; *p; p++)
		if (*p < 0x20 || *p == 0x7F)
			return false;
	return true;
}

static const char *jstr(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void test_json(void)
{
	sink(N4J_LOG_DEBUG, N4J_LOG_JSON);
	const char *nasty = "q\"uote back\\slash\nnewline\rcr\ttab\x01\x1f\x7f end";
	const char *utf8 = "h\xC3\xA9llo \xE2\x82\xAC \xF0\x9D\x84\x9E";
	n4j_log_info("kube", "two\nlines \"quoted\"", N4J_STR("nasty", nasty),
		     N4J_STR("utf8", utf8), N4J_STR("bad", "\xFF\xC0\x80ok\xED\xA0\x80"),
		     N4J_INT("n", -42), N4J_INT("big", INT64_MAX), N4J_BOOL("yes", 1),
		     N4J_STR("none", NULL), N4J_STR("k\"ey", "v"));
	n4j_log_error("bolt", "no fields");
	char *text = output();
	CHECK_INT(count_lines(text), 2);
	char *nl = text ? strchr(text, '\n') : NULL;
	if (!nl)
		goto out;
	*nl = '\0';
	cJSON *o = cJSON_Parse(text);
	CHECK_MSG(o != NULL, "not JSON: %s", text);
	CHECK(no_raw_controls(text));
	if (o) {
		CHECK_STR(jstr(o, "level"), "info");
		CHECK_STR(jstr(o, "component"), "kube");
		CHECK_STR(jstr(o, "msg"), "two\nlines \"quoted\"");
		CHECK_STR(jstr(o, "nasty"), nasty);
		CHECK_STR(jstr(o, "utf8"), utf8);
		/* Invalid UTF-8 (a stray byte, an overlong NUL, a surrogate) becomes U+FFFD. */
		CHECK_STR(jstr(o, "bad"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBDok\xEF\xBF\xBD\xEF"
					  "\xBF\xBD\xEF\xBF\xBD");
		CHECK_STR(jstr(o, "k\"ey"), "v");
		const cJSON *n = cJSON_GetObjectItemCaseSensitive(o, "n");
		CHECK(cJSON_IsNumber(n) && n->valuedouble == -42);
		CHECK(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "yes")));
		CHECK(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o, "none")));
		CHECK(strstr(text, "\"big\":9223372036854775807") != NULL);
		regex_t re;
		regcomp(&re, "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{6}Z$",
			REG_EXTENDED | REG_NOSUB);
		const char *ts = jstr(o, "ts");
		CHECK(ts && regexec(&re, ts, 0, NULL, 0) == 0);
		regfree(&re);
		/* The record starts with ts, level, component, msg, in that order. */
		CHECK(strncmp(text, "{\"ts\":\"", 7) == 0);
		CHECK(strstr(text, "\",\"level\":\"info\",\"component\":\"kube\",\"msg\":\"") !=
		      NULL);
		cJSON_Delete(o);
	}
	o = cJSON_Parse(nl + 1);
	CHECK(o && jstr(o, "msg") && strcmp(jstr(o, "msg"), "no fields") == 0);
	CHECK_STR(o ? jstr(o, "level") : NULL, "error");
	cJSON_Delete(o);
out:
	free(text);
}

static void test_long_value(void)
{
	sink(N4J_LOG_INFO, N4J_LOG_JSON);
	size_t n = 20000;
	char *v = malloc(n + 1);
	if (!v)
		return;
	/* Multi-byte characters across the cut: the cut must not split one. */
	for (size_t i = 0; i < n; i += 2)
		memcpy(v + i, "\xC3\xA9", 2);
	v[n] = '\0';
	n4j_log_info("t", "long", N4J_STR("v", v));
	char *text = output();
	cJSON *o = text ? cJSON_Parse(text) : NULL;
	const char *got = o ? jstr(o, "v") : NULL;
	CHECK(got != NULL);
	if (got) {
		size_t gl = strlen(got);
		CHECK_MSG(gl <= 4096 + 3 && gl > 4000, "value of %zu bytes", gl);
		CHECK(strcmp(got + gl - 3, "\xE2\x80\xA6") == 0);
		CHECK(strncmp(got, v, gl - 3) == 0);
	}
	cJSON_Delete(o);
	free(text);
	free(v);
}

static void test_redaction(void)
{
	sink(N4J_LOG_DEBUG, N4J_LOG_TEXT);
	n4j_log_warn("kube", "credentials", N4J_STR("password", "hunter2"));
	char *text = output();
	CHECK(text && !strstr(text, "hunter2"));
	CHECK_HAS(text, "password=[redacted]");
	free(text);
	sink(N4J_LOG_DEBUG, N4J_LOG_JSON);
	n4j_log_warn("kube", "credentials", N4J_STR("password", "hunter2"),
		     N4J_STR("bearerToken", "eyJhbGciOi"), N4J_STR("clientSecret", "s3cr3t"),
		     N4J_STR("Authorization", "Bearer abc"), N4J_STR("user", "neo4j"));
	text = output();
	CHECK(text && !strstr(text, "hunter2") && !strstr(text, "eyJhbGciOi") &&
	      !strstr(text, "s3cr3t") && !strstr(text, "Bearer abc"));
	cJSON *o = text ? cJSON_Parse(text) : NULL;
	CHECK_STR(o ? jstr(o, "password") : NULL, "[redacted]");
	CHECK_STR(o ? jstr(o, "user") : NULL, "neo4j");
	cJSON_Delete(o);
	free(text);
}

static void test_text(void)
{
	sink(N4J_LOG_INFO, N4J_LOG_TEXT);
	n4j_log_warn("kube", "apiserver warning", N4J_STR("text", "v1 is deprecated"),
		     N4J_INT("n", 3), N4J_STR("plain", "a.b/c-1:2"), N4J_STR("nl", "x\ny\"z"),
		     N4J_STR("empty", ""), N4J_BOOL("ok", 0));
	n4j_log_info("bolt", "line\nbreak");
	char *text = output();
	CHECK_INT(count_lines(text), 2);
	regex_t re;
	regcomp(&re,
		"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\\.[0-9]{6}Z WARN  kube: apiserver warning "
		"text=\"v1 is deprecated\" n=3 plain=a\\.b/c-1:2 nl=\"x\\\\ny\\\\\"z\" empty=\"\" "
		"ok=false\n[0-9T:.Z-]+ INFO  bolt: line\\\\nbreak\n$",
		REG_EXTENDED | REG_NOSUB);
	CHECK_MSG(text && regexec(&re, text, 0, NULL, 0) == 0, "text output: %s", text);
	regfree(&re);
	free(text);
}

static void test_levels(void)
{
	enum n4j_log_level lv;
	enum n4j_log_format f;
	CHECK(n4j_log_parse_level("debug", &lv) == 0 && lv == N4J_LOG_DEBUG);
	CHECK(n4j_log_parse_level("warn", &lv) == 0 && lv == N4J_LOG_WARN);
	CHECK(n4j_log_parse_level("error", &lv) == 0 && lv == N4J_LOG_ERROR);
	CHECK_INT(n4j_log_parse_level("WARNING", &lv), N4J_EINVAL);
	CHECK_INT(n4j_log_parse_level(NULL, &lv), N4J_EINVAL);
	CHECK(n4j_log_parse_format("text", &f) == 0 && f == N4J_LOG_TEXT);
	CHECK(n4j_log_parse_format("json", &f) == 0 && f == N4J_LOG_JSON);
	CHECK_INT(n4j_log_parse_format("yaml", &f), N4J_EINVAL);

	sink(N4J_LOG_WARN, N4J_LOG_JSON);
	CHECK(!n4j_log_enabled(N4J_LOG_DEBUG) && !n4j_log_enabled(N4J_LOG_INFO));
	CHECK(n4j_log_enabled(N4J_LOG_WARN) && n4j_log_enabled(N4J_LOG_ERROR));
	n4j_log_debug("c", "d");
	n4j_log_info("c", "i");
	n4j_log_warn("c", "w");
	n4j_log_error("c", "e");
	char *text = output();
	CHECK_INT(count_lines(text), 2);
	CHECK(text && !strstr(text, "\"msg\":\"d\"") && !strstr(text, "\"msg\":\"i\""));
	CHECK_HAS(text, "\"level\":\"warn\"");
	CHECK_HAS(text, "\"level\":\"error\"");
	free(text);
	sink(N4J_LOG_DEBUG, N4J_LOG_JSON);
	n4j_log_debug("c", "d");
	text = output();
	CHECK_INT(count_lines(text), 1);
	free(text);
}

#define THREADS 8
#define RECORDS 400

static void *writer(void *arg)
{
	int id = (int)(intptr_t)arg;
	char pad[1500];
	memset(pad, 'a' + id, sizeof(pad) - 1);
	pad[sizeof(pad) - 1] = '\0';
	for (int i = 0; i < RECORDS; i++)
		n4j_log_info("w", "record", N4J_INT("thread", id), N4J_INT("seq", i),
			     N4J_STR("pad", pad), N4J_STR("pad2", pad), N4J_STR("pad3", pad));
	return NULL;
}

static void test_concurrent(void)
{
	sink(N4J_LOG_INFO, N4J_LOG_JSON);
	pthread_t t[THREADS];
	for (int i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, writer, (void *)(intptr_t)i);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	char *text = output();
	CHECK_INT(count_lines(text), THREADS * RECORDS);
	int next[THREADS] = {0};
	int bad = 0;
	for (char *line = text, *nl; line && (nl = strchr(line, '\n')); line = nl + 1) {
		*nl = '\0';
		cJSON *o = cJSON_Parse(line);
		const cJSON *th = cJSON_GetObjectItemCaseSensitive(o, "thread");
		const cJSON *sq = cJSON_GetObjectItemCaseSensitive(o, "seq");
		const char *pad = jstr(o, "pad3");
		int id = cJSON_IsNumber(th) ? th->valueint : -1;
		/* Whole and in order per thread: a torn line fails to parse or loses a field. */
		if (id < 0 || id >= THREADS || !cJSON_IsNumber(sq) || sq->valueint != next[id] ||
		    !pad || strlen(pad) != 1499 || pad[0] != 'a' + id)
			bad++;
		else
			next[id]++;
		cJSON_Delete(o);
	}
	CHECK_INT(bad, 0);
	for (int i = 0; i < THREADS; i++)
		CHECK_INT(next[i], RECORDS);
	free(text);
}

int main(void)
{
	fd = mkstemp(path);
	if (fd < 0) {
		perror("mkstemp");
		return 1;
	}
	test_json();
	test_long_value();
	test_redaction();
	test_text();
	test_levels();
	test_concurrent();
	close(fd);
	unlink(path);
	CHECK_DONE();
}
