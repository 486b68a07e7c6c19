/*
 * status.tls's certificate parsing (src/controller/certs.c) on certificates the openssl
 * command makes at test time (certgen.sh, argv[1]): exact validity dates from `openssl ca`,
 * DNS SANs (an IP SAN left out), the leaf of a chain, a key pasted before the certificate;
 * refusals for a key alone, garbage and a cut certificate; the 14-day window; the entry
 * built from a Secret, which never carries the key.
 */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "controller/internal.h"

static char dir[256];

static char *slurp(const char *name, size_t *len)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "rb");
	CHECK_MSG(f != NULL, "open %s", path);
	if (!f)
		return NULL;
	char *buf = calloc(1, 65536);
	*len = fread(buf, 1, 65535, f);
	fclose(f);
	return buf;
}

/* Parses dir/name; returns the parse's code, the result in *c. */
static int parse_file(struct n4j_arena *a, const char *name, struct ctl_cert *c)
{
	size_t len = 0;
	char *pem = slurp(name, &len);
	struct n4j_error err = {0};
	int rc = pem ? ctl_cert_parse(a, pem, len, c, &err) : -1;
	if (rc)
		printf("  %s: %s\n", name, err.msg);
	free(pem);
	return rc;
}

/* 2025-01-01T00:00:00Z and 2030-12-31T23:59:59Z (`date -u -d ... +%s`). */
#define LEAF_NOT_BEFORE 1735689600LL
#define LEAF_NOT_AFTER  1924991999LL

static void check_leaf(const char *name, const struct ctl_cert *c)
{
	CHECK_MSG(c->not_before_s == LEAF_NOT_BEFORE, "%s notBefore %lld", name,
		  (long long)c->not_before_s);
	CHECK_MSG(c->not_after_s == LEAF_NOT_AFTER, "%s notAfter %lld", name,
		  (long long)c->not_after_s);
	CHECK_INT(c->n_dns_names, 2); /* the IP and email SANs are not DNS names */
	if (c->n_dns_names == 2) {
		CHECK_STR(c->dns_names[0], "graph.db.svc");
		CHECK_STR(c->dns_names[1], "*.graph-headless.db.svc.cluster.local");
	}
}

static void test_parse(void)
{
	struct n4j_arena *a = n4j_arena_new();
	struct ctl_cert c;
	CHECK_INT(parse_file(a, "leaf.pem", &c), 0);
	check_leaf("leaf.pem", &c);
	/* A chain: the first certificate is the leaf, not the CA after it. */
	CHECK_INT(parse_file(a, "chain.pem", &c), 0);
	check_leaf("chain.pem", &c);
	/* A key pasted before the certificate does not hide it. */
	CHECK_INT(parse_file(a, "keyfirst.pem", &c), 0);
	check_leaf("keyfirst.pem", &c);
	/* The CA alone: its own dates (10 years from now), no SAN. */
	CHECK_INT(parse_file(a, "ca.pem", &c), 0);
	CHECK(c.not_after_s > LEAF_NOT_AFTER - 86400 * 365 * 5 && c.not_after_s != LEAF_NOT_AFTER);
	CHECK_INT(c.n_dns_names, 0);
	/* From 2050 on, X.509 dates are GeneralizedTime. */
	CHECK_INT(parse_file(a, "renewed.pem", &c), 0);
	CHECK_MSG(c.not_after_s == 2537697600LL, "renewed notAfter %lld",
		  (long long)c.not_after_s); /* 2050-06-01T12:00:00Z */
	CHECK_INT(c.n_dns_names, 1);

	/* Refusals: a key instead of a certificate, garbage, a cut certificate, nothing. */
	CHECK_INT(parse_file(a, "key.pem", &c), N4J_EINVAL);
	struct n4j_error err = {0};
	const char *junk[] = {"hello",
			      "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
			      "\0\0\0\xff\xfe"};
	for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++)
		CHECK_INT(ctl_cert_parse(a, junk[i], strlen(junk[i]) + (i == 2 ? 5 : 0), &c, &err),
			  N4J_EINVAL);
	size_t len = 0;
	char *pem = slurp("leaf.pem", &len);
	if (pem) {
		CHECK_INT(ctl_cert_parse(a, pem, len / 2, &c, &err), N4J_EINVAL);
		CHECK_INT(ctl_cert_parse(a, pem, 0, &c, &err), N4J_EINVAL);
		CHECK_INT(ctl_cert_parse(a, NULL, 10, &c, &err), N4J_EINVAL);
	}
	free(pem);
	n4j_arena_free(a);
}

static void test_window(void)
{
	const int64_t na = LEAF_NOT_AFTER, day = 86400;
	CHECK(!ctl_cert_expiring(na, na - 15 * day));
	CHECK(!ctl_cert_expiring(na, na - 14 * day)); /* exactly 14 days left: not yet */
	CHECK(ctl_cert_expiring(na, na - 14 * day + 1));
	CHECK(ctl_cert_expiring(na, na - 1));
	CHECK(ctl_cert_expiring(na, na + 30 * day)); /* expired */
}

static cJSON *secret_with(const char *crt_file, const char *key_file)
{
	cJSON *s = cJSON_CreateObject();
	cJSON *data = cJSON_AddObjectToObject(s, "data");
	const char *files[] = {crt_file, key_file}, *keys[] = {"tls.crt", "tls.key"};
	for (int i = 0; i < 2; i++) {
		if (!files[i])
			continue;
		size_t len = 0;
		char *raw = slurp(files[i], &len);
		unsigned char *b64 = calloc(1, (len + 2) / 3 * 4 + 1);
		if (raw && b64)
			EVP_EncodeBlock(b64, (unsigned char *)raw, (int)len);
		cJSON_AddStringToObject(data, keys[i], (char *)b64);
		free(raw);
		free(b64);
	}
	return s;
}

static void test_status_entry(void)
{
	struct n4j_arena *a = n4j_arena_new();
	struct n4j_cluster cl = {0};
	cl.meta.namespace_ = "db";
	cl.meta.name = "graph";
	cl.spec.edition = N4J_ENTERPRISE;
	cl.spec.tls.enabled = true;
	cl.spec.tls.secret_name = "graph-tls";
	struct n4j_cluster_status st = {0};
	cJSON *sec = secret_with("leaf.pem", "key.pem");
	int64_t now = LEAF_NOT_AFTER - 100 * 86400;
	CHECK_INT(ctl_tls_status(a, &cl, sec, now, &st), 0);
	CHECK_INT(st.n_tls, 1);
	if (st.n_tls == 1) {
		const struct n4j_tls_status *t = &st.tls[0];
		CHECK_STR(t->secret_name, "graph-tls");
		CHECK_STR(t->not_before, "2025-01-01T00:00:00Z");
		CHECK_STR(t->not_after, "2030-12-31T23:59:59Z");
		CHECK(!t->expiring_soon);
		CHECK_INT(t->n_usages, 4);
		CHECK_STR(t->usages[2], "cluster");
		CHECK_INT(t->n_dns_names, 2);
	}
	/* The emitted status has no byte of the Secret but the public fields. */
	cJSON *j = NULL;
	struct n4j_error err = {0};
	CHECK_INT(n4j_cluster_status_json(&st, &j, &err), 0);
	char *txt = cJSON_PrintUnformatted(j);
	const char *keyb64 = cJSON_GetStringValue(
		cJSON_GetObjectItem(cJSON_GetObjectItem(sec, "data"), "tls.key"));
	const char *crtb64 = cJSON_GetStringValue(
		cJSON_GetObjectItem(cJSON_GetObjectItem(sec, "data"), "tls.crt"));
	CHECK(txt && keyb64 && crtb64);
	if (txt && keyb64 && crtb64) {
		CHECK(!strstr(txt, "PRIVATE") && !strstr(txt, "BEGIN"));
		char k16[17], c16[17];
		snprintf(k16, sizeof(k16), "%s", keyb64 + 40);
		snprintf(c16, sizeof(c16), "%s", crtb64 + 40);
		CHECK(!strstr(txt, k16) && !strstr(txt, c16));
		CHECK_HAS(txt,
			  "\"tls\":[{\"secretName\":\"graph-tls\",\"usages\":[\"bolt\",\"https\","
			  "\"cluster\",\"backup\"],\"notBefore\":\"2025-01-01T00:00:00Z\","
			  "\"notAfter\":\"2030-12-31T23:59:59Z\",\"dnsNames\":[");
	}
	free(txt);
	cJSON_Delete(j);

	/* Within 14 days: expiringSoon. Community: bolt and https only. */
	cl.spec.edition = N4J_COMMUNITY;
	CHECK_INT(ctl_tls_status(a, &cl, sec, LEAF_NOT_AFTER - 86400, &st), 0);
	CHECK(st.n_tls == 1 && st.tls[0].expiring_soon && st.tls[0].n_usages == 2);
	cJSON_Delete(sec);

	/* Not listed: a key in tls.crt, no tls.crt, no Secret, TLS off. */
	sec = secret_with("key.pem", "key.pem");
	CHECK_INT(ctl_tls_status(a, &cl, sec, now, &st), 0);
	CHECK_INT(st.n_tls, 0);
	cJSON_Delete(sec);
	sec = secret_with(NULL, "key.pem");
	CHECK_INT(ctl_tls_status(a, &cl, sec, now, &st), 0);
	CHECK_INT(st.n_tls, 0);
	CHECK_INT(ctl_tls_status(a, &cl, NULL, now, &st), 0);
	CHECK_INT(st.n_tls, 0);
	cJSON_Delete(sec);
	sec = secret_with("leaf.pem", NULL);
	cl.spec.tls.enabled = false;
	CHECK_INT(ctl_tls_status(a, &cl, sec, now, &st), 0);
	CHECK_INT(st.n_tls, 0);
	cJSON_Delete(sec);
	n4j_arena_free(a);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s certgen.sh\n", argv[0]);
		return 2;
	}
	const char *tmp = getenv("TMPDIR");
	snprintf(dir, sizeof(dir), "%s/n4j-certs-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	CHECK(mkdtemp(dir) != NULL);
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "sh '%s' '%s'", argv[1], dir);
	CHECK_INT(system(cmd), 0);
	test_parse();
	test_window();
	test_status_entry();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	CHECK_INT(system(cmd), 0);
	return check_summary();
}
