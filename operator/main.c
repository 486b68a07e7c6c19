/*
 * neo4j-operator: the command line. `run` runs the operator; `render` shows every object the operator
 * would create for some CRs, offline; `backup-retention` prunes backups inside a backup Job;
 * `version` prints the build.
 */
#include <stdio.h>
#include <string.h>

#include "operator/cli.h"

#ifndef N4J_OPERATOR_VERSION
#define N4J_OPERATOR_VERSION "0.0.0-dev"
#endif

static void usage(FILE *out)
{
	fputs("Usage: neo4j-operator <command> [options]\n"
	      "\n"
	      "Commands:\n"
	      "  run [flags]\n"
	      "         Run the operator: watch Neo4jClusters and reconcile them (see\n"
	      "         neo4j-operator run --help for the flags and their env variables).\n"
	      "  render -f FILE [-f FILE ...] [-o yaml|json]\n"
	      "         Validate Neo4jCluster/Neo4jBackup resources and print every Kubernetes\n"
	      "         object the operator would create for them. FILE may hold several YAML\n"
	      "         documents; '-' reads standard input. Exit 2 on invalid input, with\n"
	      "         one 'FILE: Kind/name: field.path: message' line per problem.\n"
	      "         Options: --cluster-domain D (cluster.local), --operator-namespace NS\n"
	      "         (neo4j-system), --no-cert-manager, --no-service-monitor (render as if\n"
	      "         those CRDs were absent), --operator-image IMAGE (the backup Job's\n"
	      "         retention container), --backup-database NAME (repeatable: the\n"
	      "         concrete databases the operator would expand a backup's list to).\n"
	      "  defaults -f FILE [-o yaml|json]\n"
	      "         Validate the resources and print them as the apiserver would store\n"
	      "         them: with every default of the CRDs filled in.\n"
	      "  backup-retention --target=DIR|URI --inspect=FILE --keep-last=N ...\n"
	      "         Inside a backup Job: prune the backups no retention rule keeps and\n"
	      "         write a one-line JSON report (neo4j-operator backup-retention --help).\n"
	      "  version   Print the operator version.\n"
	      "  help      Print this help.\n",
	      out);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	const char *cmd = argv[1];
	if (strcmp(cmd, "run") == 0)
		return n4j_cmd_run(argc - 1, argv + 1, stdout, stderr);
	if (strcmp(cmd, "render") == 0 || strcmp(cmd, "defaults") == 0)
		return n4j_cmd_render(argc - 1, argv + 1, stdout, stderr);
	if (strcmp(cmd, "backup-retention") == 0)
		return n4j_cmd_backup_retention(argc - 1, argv + 1, stdout, stderr);
	if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
		printf("neo4j-operator %s (render %s)\n", N4J_OPERATOR_VERSION,
		       n4j_render_version());
		return 0;
	}
	if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
		usage(stdout);
		return 0;
	}
	fprintf(stderr, "neo4j-operator: unknown command '%s'\n\n", cmd);
	usage(stderr);
	return 2;
}
