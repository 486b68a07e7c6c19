/*
 * Operator upgrades never restart Neo4j (DESIGN §3): the rule that holds back a
 * StatefulSet whose template changed only because this operator renders differently.
 */
#include <stdio.h>
#include <string.h>

#include "controller/internal.h"

static bool same(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") == 0;
}

bool ctl_update_pending(const struct ctl_sts_marks *live, const char *our_render_version,
			int64_t cr_generation, const char *cr_rollout, const char *our_hash)
{
	if (!live)
		return false;
	if (same(live->render_version, our_render_version))
		return false; /* same renderer: any difference is the user's */
	char gen[24];
	snprintf(gen, sizeof(gen), "%lld", (long long)cr_generation);
	if (!live->generation || strcmp(live->generation, gen) != 0)
		return false; /* the spec changed since: the roll is asked for */
	if (!same(live->rollout, cr_rollout))
		return false; /* the user annotated neo4j.graphops.io/rollout=<new value> */
	return !same(live->spec_hash, our_hash);
}
