/* Helpers for tests against the real Neo4j test server (env from tests/env/with-env). */
#ifndef N4J_BOLT_ENVUTIL_H
#define N4J_BOLT_ENVUTIL_H

#include "bolt/bolt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct env {
	char address[128];
	const char *user;
	char password[256];
};

/* A skipped env test is a failure unless TESTENV_REQUIRED=0 says skipping is allowed
 * (CI runs with the default, 1): a skip must never pass for a success. */
static int env_required(void)
{
	const char *r = getenv("TESTENV_REQUIRED");
	return !r || strcmp(r, "0") != 0;
}

/* 0; 77 (skip) when the environment variables are missing and TESTENV_REQUIRED=0, else 1. */
static int env_load(struct env *e)
{
	const char *uri = getenv("NEO4J_TEST_BOLT_URI");
	const char *pf = getenv("NEO4J_TEST_PASSWORD_FILE");
	e->user = getenv("NEO4J_TEST_USER");
	if (!uri || !pf || !e->user || strncmp(uri, "bolt://", 7) != 0) {
		if (env_required()) {
			printf("FAIL: NEO4J_TEST_BOLT_URI / NEO4J_TEST_USER / "
			       "NEO4J_TEST_PASSWORD_FILE unset, and TESTENV_REQUIRED=1 forbids "
			       "skipping\n");
			return 1;
		}
		printf("SKIP: NEO4J_TEST_BOLT_URI / NEO4J_TEST_USER / NEO4J_TEST_PASSWORD_FILE "
		       "unset\n");
		return 77;
	}
	snprintf(e->address, sizeof e->address, "%s", uri + 7);
	FILE *f = fopen(pf, "r");
	if (!f || !fgets(e->password, sizeof e->password, f)) {
		if (f)
			fclose(f);
		printf("cannot read the password file\n");
		return 1;
	}
	fclose(f);
	e->password[strcspn(e->password, "\r\n")] = '\0';
	return 0;
}

#endif
