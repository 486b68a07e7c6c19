/*
 * kubeconfig parsing (YAML → contexts, clusters, users, exec) and ExecCredential parsing on
 * arbitrary bytes. Relative paths point into a directory that does not exist, so file
 * references fail cleanly. "invalid" is a fine answer; crashes and leaks are bugs.
 */
#include <stdint.h>
#include <stdlib.h>

#include "kube/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct n4j_error err = {0};
	struct n4j_kube_config *c = NULL;
	if (n4j_kubeconfig_parse((const char *)data, size, "/nonexistent-fuzz-dir", NULL, &c,
				 &err) == 0) {
		struct n4j_kube_config *d = NULL;
		if (n4j_kube_config_dup(c, &d) == 0)
			n4j_kube_config_free(d);
		n4j_kube_config_free(c);
	}
	c = NULL;
	if (n4j_kubeconfig_parse((const char *)data, size, NULL, "x", &c, &err) == 0)
		n4j_kube_config_free(c);
	struct n4j_exec_cred cred;
	if (n4j_kube_exec_parse((const char *)data, size, &cred, &err) == 0)
		n4j_exec_cred_free(&cred);
	return 0;
}
