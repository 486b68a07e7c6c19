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

/* 0, or 77 (skip) when the environment variables are missing. */
static int env_load(struct env *e)
{
	const char *uri = getenv("NEO4J_TEST_BOLT_URI");
	const char *pf = getenv("NEO4J_TEST_PASSWORD_FILE");
	e->user = getenv("NEO4J_TEST_USER");
	if (!uri || !pf || !e->user || strncmp(uri, "bolt://", 7) != 0) {
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
