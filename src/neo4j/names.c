/* Names of the neo4j layer's enums, and the lookups on an observed snapshot. Pure. */
#include <string.h>

#include "neo4j/neo4j.h"

const char *n4j_server_state_name(enum n4j_server_state s)
{
	/* As SHOW SERVERS prints them, so status and Events read like Neo4j's own words. */
	switch (s) {
	case N4J_SERVER_FREE:
		return "Free";
	case N4J_SERVER_ENABLED:
		return "Enabled";
	case N4J_SERVER_CORDONED:
		return "Cordoned";
	case N4J_SERVER_DEALLOCATING:
		return "Deallocating";
	case N4J_SERVER_DEALLOCATED:
		return "Deallocated";
	case N4J_SERVER_DROPPED:
		return "Dropped";
	case N4J_SERVER_UNKNOWN:
		break;
	}
	return "Unknown";
}

const char *n4j_server_health_name(enum n4j_server_health h)
{
	switch (h) {
	case N4J_HEALTH_AVAILABLE:
		return "Available";
	case N4J_HEALTH_UNAVAILABLE:
		return "Unavailable";
	case N4J_HEALTH_UNKNOWN:
		break;
	}
	return "Unknown";
}

const char *n4j_step_kind_name(enum n4j_step_kind k)
{
	switch (k) {
	case N4J_STEP_NONE:
		return "None";
	case N4J_STEP_WAIT:
		return "Wait";
	case N4J_STEP_REFUSE:
		return "Refuse";
	case N4J_STEP_HALT:
		return "Halt";
	case N4J_STEP_SET_REPLICAS:
		return "SetReplicas";
	case N4J_STEP_DELETE_POD:
		return "DeletePod";
	case N4J_STEP_DELETE_CLAIM:
		return "DeleteClaim";
	case N4J_STEP_ENABLE_SERVER:
		return "EnableServer";
	case N4J_STEP_CORDON_SERVER:
		return "CordonServer";
	case N4J_STEP_DEALLOCATE:
		return "Deallocate";
	case N4J_STEP_DROP_SERVER:
		return "DropServer";
	case N4J_STEP_CREATE_DATABASE:
		return "CreateDatabase";
	case N4J_STEP_ALTER_TOPOLOGY:
		return "AlterTopology";
	case N4J_STEP_CREATE_ALIAS:
		return "CreateAlias";
	case N4J_STEP_ALTER_ALIAS:
		return "AlterAlias";
	case N4J_STEP_REALLOCATE:
		return "Reallocate";
	case N4J_STEP_SEED_CREATE:
		return "SeedDatabase";
	case N4J_STEP_RECREATE:
		return "RecreateDatabase";
	}
	return "Unknown";
}

bool n4j_step_is_kube(enum n4j_step_kind k)
{
	return k == N4J_STEP_SET_REPLICAS || k == N4J_STEP_DELETE_POD || k == N4J_STEP_DELETE_CLAIM;
}

bool n4j_step_is_disruptive(enum n4j_step_kind k)
{
	/* CORDON takes no copy away, but it starts a removal: the controller runs it only as
	 * leader with a fresh lease, like the steps that do. SET_REPLICAS is planned lower only
	 * for dropped servers, so it never takes a copy away. */
	switch (k) {
	case N4J_STEP_DELETE_POD:
	case N4J_STEP_DELETE_CLAIM:
	case N4J_STEP_CORDON_SERVER:
	case N4J_STEP_DEALLOCATE:
	case N4J_STEP_DROP_SERVER:
	case N4J_STEP_REALLOCATE:
	case N4J_STEP_RECREATE: /* replaces a database's store */
		return true;
	default:
		return false;
	}
}

const char *n4j_phase_name(enum n4j_phase p)
{
	switch (p) {
	case N4J_PHASE_PENDING:
		return "Pending";
	case N4J_PHASE_FORMING:
		return "Forming";
	case N4J_PHASE_READY:
		return "Ready";
	case N4J_PHASE_UPGRADING:
		return "Upgrading";
	case N4J_PHASE_SCALING:
		return "Scaling";
	case N4J_PHASE_DEGRADED:
		return "Degraded";
	case N4J_PHASE_PAUSED:
		return "Paused";
	}
	return "Unknown";
}

const struct n4j_obs_server *n4j_observed_server_by_id(const struct n4j_observed *o, const char *id)
{
	if (!o || !id)
		return NULL;
	for (size_t i = 0; i < o->n_servers; i++)
		if (o->servers[i].id && strcmp(o->servers[i].id, id) == 0)
			return &o->servers[i];
	return NULL;
}

const struct n4j_obs_database *n4j_observed_database(const struct n4j_observed *o, const char *name)
{
	if (!o || !name)
		return NULL;
	for (size_t i = 0; i < o->n_databases; i++)
		if (o->databases[i].name && strcmp(o->databases[i].name, name) == 0)
			return &o->databases[i];
	return NULL;
}
