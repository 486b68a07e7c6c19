/*
 * store_tool: the object-store clients from the command line, for
 * tests/backup/test_stores.py.
 *   store_tool list TARGET         one line per object: "<name>\t<size>"
 *   store_tool delete TARGET NAME  deletes one object
 * Credentials and endpoints from the environment, as in a backup Job. Errors go
 * to stderr as one line; exit 1.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backup/backup.h"

int main(int argc, char **argv)
{
	if (argc < 3 || (strcmp(argv[1], "list") != 0 && strcmp(argv[1], "delete") != 0) ||
	    (strcmp(argv[1], "delete") == 0 && argc != 4) ||
	    (strcmp(argv[1], "list") == 0 && argc != 3)) {
		fprintf(stderr, "usage: store_tool list TARGET | store_tool delete TARGET NAME\n");
		return 2;
	}
	struct n4j_error err = {0};
	struct n4j_store *s = NULL;
	int rc = n4j_store_open(argv[2], &s, &err);
	if (rc == 0 && strcmp(argv[1], "list") == 0) {
		struct n4j_artifact *arts = NULL;
		size_t n = 0;
		rc = n4j_store_list(s, &arts, &n, &err);
		for (size_t i = 0; rc == 0 && i < n; i++)
			printf("%s\t%" PRId64 "\n", arts[i].name, arts[i].size_bytes);
		free(arts);
	} else if (rc == 0) {
		rc = n4j_store_delete(s, argv[3], &err);
	}
	n4j_store_close(s);
	if (rc) {
		fprintf(stderr, "store_tool: %s\n", err.msg);
		return 1;
	}
	return 0;
}
