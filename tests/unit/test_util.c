#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "check.h"
#include "util/util.h"

static void test_quantity(void)
{
	struct {
		const char *in;
		int rc;
		int64_t milli;
	} cases[] = {
		{"1", 0, 1000},
		{"500m", 0, 500},
		{"1.5", 0, 1500},
		{"2Gi", 0, 2147483648000LL},
		{"1Ki", 0, 1024000},
		{"1k", 0, 1000000},
		{"1e3", 0, 1000000},
		{"1E-3", 0, 1},
		{".5", 0, 500},
		{"5.", 0, 5000},
		{"0.0001", 0, 1}, /* rounds up, like Kubernetes */
		{"-1", 0, -1000},
		{"8Ei", N4J_ERANGE, 0},
		{"99999999999999999999999", N4J_ERANGE, 0},
		{"1e100", N4J_ERANGE, 0},
		{"", N4J_EINVAL, 0},
		{"Gi", N4J_EINVAL, 0},
		{"1GB", N4J_EINVAL, 0},
		{"1.2.3", N4J_EINVAL, 0},
		{"1e", N4J_EINVAL, 0},
		{" 1", N4J_EINVAL, 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t m = 0;
		int rc = n4j_quantity_parse(cases[i].in, &m);
		if (rc != cases[i].rc || (rc == 0 && m != cases[i].milli))
			fprintf(stderr, "quantity %s: rc %d milli %lld\n", cases[i].in, rc,
				(long long)m);
		CHECK_INT(rc, cases[i].rc);
		if (rc == 0)
			CHECK_INT(m, cases[i].milli);
	}
	int64_t b;
	CHECK_INT(n4j_quantity_bytes("3Gi", &b), 0);
	CHECK_INT(b, 3LL << 30);
	CHECK_INT(n4j_quantity_bytes("1500m", &b), 0);
	CHECK_INT(b, 2);
}

static void test_arena(void)
{
	struct n4j_arena *a = n4j_arena_new();
	CHECK(a != NULL);
	char *s = n4j_arena_printf(a, "%s-%d", "graph", 7);
	CHECK_STR(s, "graph-7");
	/* Many small and a few large allocations, all aligned and zeroed. */
	for (int i = 0; i < 10000; i++) {
		unsigned char *p = n4j_arena_alloc(a, (size_t)(i % 97) + 1);
		CHECK(p != NULL && ((uintptr_t)p % 16) == 0 && p[0] == 0);
		if (!p)
			break;
		p[0] = 1;
	}
	void *big = n4j_arena_alloc(a, 1 << 20);
	CHECK(big != NULL);
	CHECK(n4j_arena_alloc(a, SIZE_MAX) == NULL);
	CHECK(n4j_arena_calloc(a, SIZE_MAX / 2, 4) == NULL);
	CHECK(n4j_arena_used(a) > (1 << 20));
	int rc = n4j_arena_on_free(a, free, malloc(32));
	CHECK_INT(rc, 0);
	n4j_arena_free(a);
	n4j_arena_free(NULL);
}

static void test_buf(void)
{
	struct n4j_buf b;
	n4j_buf_init(&b);
	CHECK_STR(n4j_buf_cstr(&b), "");
	for (int i = 0; i < 1000; i++)
		n4j_buf_printf(&b, "%d,", i);
	CHECK(b.len > 2000);
	CHECK(strncmp(b.data, "0,1,2,", 6) == 0);
	size_t len;
	char *d = n4j_buf_detach(&b, &len);
	CHECK(d && strlen(d) == len);
	free(d);
	CHECK(b.data == NULL);
	n4j_buf_free(&b);
}

static void test_sha256(void)
{
	char hex[N4J_SHA256_HEX_LEN + 1];
	n4j_sha256_hex("abc", 3, hex);
	CHECK_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	n4j_sha256_hex("", 0, hex);
	CHECK_STR(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void test_error(void)
{
	struct n4j_error e = {0};
	CHECK_INT(n4j_err(&e, N4J_EINVAL, "x=%d", 5), N4J_EINVAL);
	CHECK_STR(e.msg, "x=5");
	CHECK_INT(n4j_err(NULL, N4J_EIO, "ignored"), N4J_EIO);
	char big[2000];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	n4j_err(&e, N4J_EINVAL, "%s", big);
	CHECK(strlen(e.msg) == N4J_ERROR_MAX - 1);
	CHECK_STR(n4j_strerror(N4J_ENOMEM), "out of memory");
}

/* The wipes zero what they cover; a secret's JSON tree is wiped and freed (ASan/valgrind
 * see a leak or a bad free). */
static void test_wipe(void)
{
	char s[] = "s3cr3t-token";
	n4j_wipe(s, sizeof(s));
	for (size_t i = 0; i < sizeof(s); i++)
		CHECK_INT(s[i], 0);
	n4j_wipe(NULL, 8);
	n4j_wipe_free(NULL);
	char *d = strdup("password");
	CHECK(d != NULL);
	n4j_wipe_free(d);
	struct n4j_buf b;
	n4j_buf_init(&b);
	n4j_buf_puts(&b, "Authorization: Bearer abc");
	n4j_buf_wipe_free(&b);
	CHECK(b.data == NULL && b.len == 0 && b.cap == 0);
	cJSON *j = cJSON_Parse("{\"users\":[{\"user\":{\"token\":\"abc\"}}],\"n\":1}");
	CHECK(j != NULL);
	n4j_json_wipe_delete(j);
	n4j_json_wipe_delete(NULL);
}

/* Histograms: upper bounds are inclusive (le), above the last bound is +Inf only, the sum
 * is in seconds, negatives and NaN count as 0, and more bounds than fit are clamped. */
static void test_histogram(void)
{
	static const double b[] = {0.1, 1, 10};
	struct n4j_histogram h;
	struct n4j_histogram_snapshot s;
	n4j_histogram_init(&h, b, 3);
	n4j_histogram_read(&h, &s);
	CHECK_INT(s.n, 3);
	CHECK(s.count == 0 && s.sum == 0);
	n4j_histogram_observe(&h, 0.05); /* <= 0.1 */
	n4j_histogram_observe(&h, 0.1);  /* on the edge: le="0.1" */
	n4j_histogram_observe(&h, 0.5);  /* <= 1 */
	n4j_histogram_observe(&h, 10);   /* <= 10 */
	n4j_histogram_observe(&h, 11);   /* +Inf only */
	n4j_histogram_observe(&h, -3);   /* a clock step: 0 */
	n4j_histogram_observe(&h, 0.0 / 0.0);
	n4j_histogram_read(&h, &s);
	CHECK(s.bounds[0] == 0.1 && s.bounds[1] == 1 && s.bounds[2] == 10);
	CHECK_INT(s.cumulative[0], 4); /* 0.05, 0.1, -3 → 0, NaN → 0 */
	CHECK_INT(s.cumulative[1], 5);
	CHECK_INT(s.cumulative[2], 6);
	CHECK_INT(s.count, 7);
	CHECK_MSG(s.sum > 21.649 && s.sum < 21.651, "sum %.9f", s.sum);

	double many[N4J_HIST_MAX_BUCKETS + 5];
	for (size_t i = 0; i < sizeof(many) / sizeof(many[0]); i++)
		many[i] = (double)(i + 1);
	n4j_histogram_init(&h, many, sizeof(many) / sizeof(many[0]));
	n4j_histogram_observe(&h, N4J_HIST_MAX_BUCKETS + 1); /* above the clamped last bound */
	n4j_histogram_read(&h, &s);
	CHECK_INT(s.n, N4J_HIST_MAX_BUCKETS);
	CHECK_INT(s.cumulative[N4J_HIST_MAX_BUCKETS - 1], 0);
	CHECK_INT(s.count, 1);

	/* The shared bucket sets ascend and fit. */
	const struct {
		const double *b;
		size_t n;
	} sets[] = {{N4J_HIST_RECONCILE, N4J_HIST_RECONCILE_N},
		    {N4J_HIST_QUEUE, N4J_HIST_QUEUE_N},
		    {N4J_HIST_REST, N4J_HIST_REST_N}};
	for (size_t k = 0; k < 3; k++) {
		CHECK(sets[k].n > 0 && sets[k].n <= N4J_HIST_MAX_BUCKETS);
		for (size_t i = 1; i < sets[k].n; i++)
			CHECK(sets[k].b[i] > sets[k].b[i - 1]);
	}
}

int main(void)
{
	test_histogram();
	test_wipe();
	test_quantity();
	test_arena();
	test_buf();
	test_sha256();
	test_error();
	CHECK_DONE();
}
