/*
 * status.tls: the public fields of the certificate in each TLS Secret the spec names
 * (validity and DNS names), so that users and the certificate-expiry alert see a renewal
 * that did not happen before Neo4j refuses connections. The Secret is read by name (GET,
 * never listed or watched); only tls.crt is decoded, the key is never looked at, and the
 * Secret's JSON is wiped when freed.
 */
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <string.h>
#include <time.h>

#include "controller/internal.h"

/* ASN1_TIME (UTCTime or GeneralizedTime) to seconds since the epoch. */
static int asn1_epoch(const ASN1_TIME *t, int64_t *out)
{
	struct tm tm;
	if (!t || ASN1_TIME_to_tm(t, &tm) != 1)
		return N4J_EINVAL;
	/* tm_year + 1900 in 0..9999 (ASN.1's range): RFC 3339 needs four digits. */
	if (tm.tm_year < -1900 || tm.tm_year > 9999 - 1900)
		return N4J_EINVAL;
	*out = (int64_t)timegm(&tm); /* 64-bit time_t: every year up to 9999 fits */
	return 0;
}

/*
 * A SAN goes into status as a JSON string the apiserver must accept: printable ASCII only
 * (an IA5String may hold any byte, NUL included), at most 253 characters (the CRD's bound).
 */
static bool dns_name_ok(const unsigned char *p, int len)
{
	if (len <= 0 || len > 253)
		return false;
	for (int i = 0; i < len; i++)
		if (p[i] <= 0x20 || p[i] >= 0x7f)
			return false;
	return true;
}

static int sans(struct n4j_arena *a, X509 *x, struct ctl_cert *out)
{
	int crit = 0;
	GENERAL_NAMES *names = X509_get_ext_d2i(x, NID_subject_alt_name, &crit, NULL);
	if (!names)
		return 0; /* none (or unreadable): not listed */
	int n = sk_GENERAL_NAME_num(names), rc = 0;
	out->dns_names = n > 0 ? n4j_arena_calloc(a, (size_t)n, sizeof(char *)) : NULL;
	if (n > 0 && !out->dns_names)
		rc = N4J_ENOMEM;
	for (int i = 0; !rc && i < n && out->n_dns_names < N4J_TLS_DNS_MAX; i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(names, i);
		if (!g || g->type != GEN_DNS)
			continue;
		const unsigned char *p = ASN1_STRING_get0_data(g->d.dNSName);
		int len = ASN1_STRING_length(g->d.dNSName);
		if (!p || !dns_name_ok(p, len))
			continue;
		const char *s = n4j_arena_strndup(a, (const char *)p, (size_t)len);
		if (!s)
			rc = N4J_ENOMEM;
		else
			out->dns_names[out->n_dns_names++] = s;
	}
	GENERAL_NAMES_free(names);
	return rc;
}

int ctl_cert_parse(struct n4j_arena *a, const char *pem, size_t len, struct ctl_cert *out,
		   struct n4j_error *err)
{
	memset(out, 0, sizeof(*out));
	if (!pem || !len || len > CTL_CERT_PEM_MAX)
		return n4j_err(err, N4J_EINVAL, "tls.crt: empty or larger than %d bytes",
			       CTL_CERT_PEM_MAX);
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	if (!bio)
		return n4j_err(err, N4J_ENOMEM, "tls.crt: out of memory");
	/* The first CERTIFICATE block is the leaf (kubernetes.io/tls: leaf, then the chain);
	 * blocks of other types before it (a key pasted in) are skipped by OpenSSL. */
	X509 *x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	BIO_free(bio);
	ERR_clear_error(); /* no stale error left on this thread's queue for the next caller */
	if (!x)
		return n4j_err(err, N4J_EINVAL, "tls.crt: no PEM certificate");
	int rc = 0;
	if (asn1_epoch(X509_get0_notBefore(x), &out->not_before_s) ||
	    asn1_epoch(X509_get0_notAfter(x), &out->not_after_s))
		rc = n4j_err(err, N4J_EINVAL, "tls.crt: unreadable validity dates");
	else if ((rc = sans(a, x, out)))
		rc = n4j_err(err, rc, "tls.crt: out of memory");
	X509_free(x);
	return rc;
}

bool ctl_cert_expiring(int64_t not_after_s, int64_t now_s)
{
	return not_after_s - now_s < CTL_CERT_EXPIRING_S;
}

/* "2006-01-02T15:04:05Z" in the arena. */
static const char *rfc3339(struct n4j_arena *a, int64_t s)
{
	time_t t = (time_t)s;
	struct tm tm;
	if (!gmtime_r(&t, &tm))
		return NULL;
	return n4j_arena_printf(a, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
				tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

int ctl_tls_entry(struct n4j_arena *a, const struct n4j_cluster *cl, const struct ctl_cert *cert,
		  int64_t now_s, struct n4j_tls_status *out)
{
	/* The SSL policies render projects the Secret into (render_statefulset.c). */
	static const char *const scopes[] = {"bolt", "https", "cluster", "backup"};
	memset(out, 0, sizeof(*out));
	out->secret_name = cl->spec.tls.secret_name;
	out->n_usages = cl->spec.edition == N4J_ENTERPRISE ? 4 : 2;
	for (size_t i = 0; i < out->n_usages; i++)
		out->usages[i] = scopes[i];
	out->not_before = rfc3339(a, cert->not_before_s);
	out->not_after = rfc3339(a, cert->not_after_s);
	out->expiring_soon = ctl_cert_expiring(cert->not_after_s, now_s);
	out->n_dns_names = cert->n_dns_names;
	out->dns_names = cert->dns_names;
	return out->not_before && out->not_after ? 0 : N4J_ENOMEM;
}

int ctl_tls_status(struct n4j_arena *a, const struct n4j_cluster *cl, const cJSON *secret,
		   int64_t now_s, struct n4j_cluster_status *st)
{
	st->n_tls = 0;
	st->tls = NULL;
	if (!cl->spec.tls.enabled || !secret)
		return 0;
	char *crt = ctl_secret_value(secret, "tls.crt");
	if (!crt)
		return 0; /* no tls.crt (or not base64): not listed */
	struct ctl_cert cert;
	struct n4j_error err = {0};
	int rc = ctl_cert_parse(a, crt, strlen(crt), &cert, &err);
	free(crt); /* public data, but decoded from a Secret: not kept */
	if (rc == N4J_ENOMEM)
		return rc;
	if (rc) {
		/* Every reconcile would say it again: debug here, the Event-less transition is
		 * logged once by the caller when an entry disappears. */
		n4j_log_debug(CTL, "TLS Secret holds no valid certificate",
			      N4J_STR("namespace", cl->meta.namespace_),
			      N4J_STR("tls", cl->spec.tls.secret_name), N4J_STR("error", err.msg));
		return 0;
	}
	st->tls = n4j_arena_calloc(a, 1, sizeof(*st->tls));
	if (!st->tls)
		return N4J_ENOMEM;
	if ((rc = ctl_tls_entry(a, cl, &cert, now_s, st->tls)))
		return rc;
	st->n_tls = 1;
	return 0;
}
