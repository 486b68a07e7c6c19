/* YAML → JSON: kubectl's typing, and every malformed input an error value, never a crash. */
#include <stdlib.h>

#include "api/api.h"
#include "check.h"

static cJSON *parse_ok(const char *y)
{
	cJSON *docs = NULL;
	struct n4j_error err = {0};
	int rc = n4j_yaml_parse(y, strlen(y), &docs, &err);
	if (rc)
		fprintf(stderr, "unexpected error for %s: %s\n", y, err.msg);
	CHECK_INT(rc, 0);
	return docs;
}

static void expect_error(const char *what, const char *y, size_t len, int code)
{
	cJSON *docs = NULL;
	struct n4j_error err = {0};
	int rc = n4j_yaml_parse(y, len, &docs, &err);
	if (rc != code)
		fprintf(stderr, "%s: rc %d (%s), want %d\n", what, rc, err.msg, code);
	CHECK_INT(rc, code);
	CHECK(docs == NULL);
	CHECK(err.msg[0] != '\0');
	cJSON_Delete(docs);
}

static void test_typing(void)
{
	cJSON *d = parse_ok("a: yes\nb: \"yes\"\nc: 3\nd: 3.5\ne: ~\nf: 1e3\ng: 0x10\nh: 007\n"
			    "i: off\nj: !!str 12\nk: -4\nl: ''\nm: true\n");
	const cJSON *o = cJSON_GetArrayItem(d, 0);
	CHECK(cJSON_IsTrue(cJSON_GetObjectItem(o, "a")));
	CHECK_STR(cJSON_GetObjectItem(o, "b")->valuestring, "yes");
	CHECK(cJSON_GetObjectItem(o, "c")->valuedouble == 3);
	CHECK(cJSON_GetObjectItem(o, "d")->valuedouble == 3.5);
	CHECK(cJSON_IsNull(cJSON_GetObjectItem(o, "e")));
	CHECK(cJSON_GetObjectItem(o, "f")->valuedouble == 1000);
	CHECK(cJSON_IsString(cJSON_GetObjectItem(o, "g"))); /* hex stays text */
	CHECK(cJSON_IsNumber(cJSON_GetObjectItem(o, "h")));
	CHECK(cJSON_IsFalse(cJSON_GetObjectItem(o, "i")));
	CHECK_STR(cJSON_GetObjectItem(o, "j")->valuestring, "12");
	CHECK(cJSON_GetObjectItem(o, "k")->valuedouble == -4);
	CHECK_STR(cJSON_GetObjectItem(o, "l")->valuestring, "");
	CHECK(cJSON_IsTrue(cJSON_GetObjectItem(o, "m")));
	cJSON_Delete(d);
}

static void test_documents(void)
{
	cJSON *d = parse_ok("---\na: 1\n---\n# only a comment\n---\nb: [1, {c: d}]\n...\n");
	CHECK_INT(cJSON_GetArraySize(d), 2);
	cJSON_Delete(d);
	d = parse_ok("{\"kind\": \"X\", \"list\": [1, 2, {\"k\": null}], \"s\": \"\\u00e9\"}");
	CHECK_INT(cJSON_GetArraySize(d), 1);
	CHECK_STR(cJSON_GetObjectItem(cJSON_GetArrayItem(d, 0), "kind")->valuestring, "X");
	cJSON_Delete(d);
	d = parse_ok("");
	CHECK_INT(cJSON_GetArraySize(d), 0);
	cJSON_Delete(d);
	d = parse_ok("- a\n- b\n"); /* not an object: the loader rejects it, the parser does not */
	CHECK(cJSON_IsArray(cJSON_GetArrayItem(d, 0)));
	cJSON_Delete(d);
}

static void test_malformed(void)
{
	const char *bad[] = {
		"a: [1, 2\n",
		"a: \"unterminated\n",
		"a:\n\t- tab indented\n",
		"a: 1\na: 2\n",
		"a: &x [1]\nb: *x\n",
		"a: &anchor 1\n",
		"? [complex, key]\n: v\n",
		"a: !!python/object 1\n",
		"a: 1e999\n",
		"key: value\n  bad: indentation\n",
		"[",
		"{{{{",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cJSON *docs = NULL;
		struct n4j_error err = {0};
		int rc = n4j_yaml_parse(bad[i], strlen(bad[i]), &docs, &err);
		if (rc == 0)
			fprintf(stderr, "accepted malformed input %zu: %s\n", i, bad[i]);
		CHECK(rc < 0);
		CHECK(docs == NULL);
	}

	/* Deep nesting stops at the limit. */
	size_t depth = 100000;
	char *deep = malloc(depth * 2 + 1);
	for (size_t i = 0; i < depth; i++)
		deep[i] = '[';
	for (size_t i = 0; i < depth; i++)
		deep[depth + i] = ']';
	deep[depth * 2] = 0;
	expect_error("deep flow", deep, depth * 2, N4J_ELIMIT);
	free(deep);

	/* A 10 MB string is refused by size, before any parsing. */
	size_t big = 10u << 20;
	char *s = malloc(big + 8);
	memcpy(s, "a: \"", 4);
	memset(s + 4, 'x', big);
	memcpy(s + 4 + big, "\"\n", 3);
	expect_error("10 MB string", s, big + 6, N4J_ELIMIT);
	free(s);

	/* A single document above the per-document limit, within the input limit. */
	size_t doc = N4J_MAX_DOC_BYTES + 1024;
	s = malloc(doc + 16);
	memcpy(s, "a: \"", 4);
	memset(s + 4, 'y', doc);
	memcpy(s + 4 + doc, "\"\n", 3);
	expect_error("big document", s, doc + 6, N4J_ELIMIT);
	free(s);

	/* Truncations of a valid document at every byte never crash. */
	const char *full = "apiVersion: neo4j.graphops.io/v1alpha1\nkind: Neo4jCluster\n"
			   "metadata: {name: g, labels: {a: \"b\"}}\nspec:\n  servers: [1, 2]\n";
	for (size_t n = 0; n < strlen(full); n++) {
		cJSON *docs = NULL;
		struct n4j_error err = {0};
		int rc = n4j_yaml_parse(full, n, &docs, &err);
		CHECK(rc == 0 ? docs != NULL : docs == NULL);
		cJSON_Delete(docs);
	}
}

int main(void)
{
	test_typing();
	test_documents();
	test_malformed();
	CHECK_DONE();
}
