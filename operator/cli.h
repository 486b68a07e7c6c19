#ifndef N4J_CLI_H
#define N4J_CLI_H

#include <stdio.h>

/* Exit codes shared by every command. */
enum { N4J_EXIT_OK = 0, N4J_EXIT_INTERNAL = 1, N4J_EXIT_INVALID = 2 };

int n4j_cmd_render(int argc, char **argv, FILE *out, FILE *diag);
/* `run`: the operator process (flags: neo4j-operator run --help). */
int n4j_cmd_run(int argc, char **argv, FILE *out, FILE *diag);
/* `backup-retention`: the retention container of a backup Job (docs/backup-restore.md). */
int n4j_cmd_backup_retention(int argc, char **argv, FILE *out, FILE *diag);
const char *n4j_render_version(void);

#endif
