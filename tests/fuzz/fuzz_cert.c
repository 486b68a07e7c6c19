/*
 * status.tls's certificate parser on arbitrary bytes: tls.crt comes from a Secret anyone
 * with write access to the namespace may fill. Parse (PEM → the leaf's dates and DNS
 * names), build the status entry and emit it: any crash, leak or sanitizer report is a bug,
 * and every DNS name that reaches status must be printable ASCII within the CRD's bounds.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "controller/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct n4j_arena *a = n4j_arena_new();
	if (!a)
		abort();
	struct n4j_error err = {0};
	struct ctl_cert c;
	if (ctl_cert_parse(a, (const char *)data, size, &c, &err) == 0) {
		if (c.n_dns_names > N4J_TLS_DNS_MAX)
			abort();
		for (size_t i = 0; i < c.n_dns_names; i++) {
			size_t n = strlen(c.dns_names[i]);
			if (!n || n > 253)
				abort();
			for (size_t k = 0; k < n; k++)
				if (c.dns_names[i][k] <= 0x20 || c.dns_names[i][k] >= 0x7f)
					abort();
		}
		struct n4j_cluster cl = {0};
		cl.meta.namespace_ = "db";
		cl.meta.name = "graph";
		cl.spec.edition = N4J_ENTERPRISE;
		cl.spec.tls.enabled = true;
		cl.spec.tls.secret_name = "graph-tls";
		struct n4j_cluster_status st = {.n_tls = 1};
		st.tls = n4j_arena_calloc(a, 1, sizeof(*st.tls));
		cJSON *out = NULL;
		if (!st.tls || ctl_tls_entry(a, &cl, &c, 1780000000, st.tls))
			abort();
		/* RFC 3339 with a four-digit year, as the CRD's date-time format needs. */
		if (strlen(st.tls->not_after) != 20 || strlen(st.tls->not_before) != 20)
			abort();
		if (n4j_cluster_status_json(&st, &out, &err) == 0)
			cJSON_Delete(out);
	}
	n4j_arena_free(a);
	return 0;
}
