/*
 * The backup port's line protocol (README.md "Backup port"), the test bed's stand-in for
 * Neo4j's backup protocol on server.backup.listen_address (6362): what neo4j-admin's
 * stand-in needs to know before writing an artifact is whether this server can serve
 * the database now, its databaseId and its last transaction id.
 *   BACKUP <db> <fromTx>\n  ->  OK <databaseId> <lastTx>\n  |  ERR <message>\n
 */
#include "sim.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Neo4j's fixed id of the system database (NAMED_SYSTEM_DATABASE_ID). */
#define SYSTEM_DB_ID "00000000-0000-0000-0000-000000000001"

bool sim_backup_line(struct sim *s, int me, const char *line, struct n4j_buf *out)
{
	char db[64], extra[2];
	long long from;
	int used = 0;
	/* exactly three words; the name is what CREATE DATABASE accepts, fromTx >= 0 */
	if (sscanf(line, "BACKUP %63[a-zA-Z0-9.-] %lld%n %1s", db, &from, &used, extra) != 2 ||
	    (size_t)used != strlen(line) || from < 0) {
		n4j_buf_puts(out, "ERR malformed request: expected BACKUP <database> <fromTx>\n");
		return false;
	}
	if (strcasecmp(db, "system") == 0) {
		n4j_buf_printf(out, "OK %s %ld\n", SYSTEM_DB_ID, s->sys_last_tx);
		return true;
	}
	int d = -1;
	for (int k = 0; k < SIM_MAX_DBS && d < 0; k++)
		if (s->db[k].used && strcasecmp(s->db[k].name, db) == 0)
			d = k;
	if (d < 0) {
		n4j_buf_printf(out, "ERR Database not found: %s\n", db);
		return true;
	}
	const struct sim_alloc *al = NULL;
	for (int k = 0; k < SIM_MAX_ALLOC && !al; k++)
		if (s->al[k].used && s->al[k].db == d && s->al[k].server == me)
			al = &s->al[k];
	if (!al || al->status == AL_LEAVING) {
		n4j_buf_printf(out, "ERR Database '%s' is not hosted on this server\n", db);
		return true;
	}
	if (al->status != AL_ONLINE) {
		static const char *const st[] = {"starting", "online", "offline", "deallocating"};
		n4j_buf_printf(out, "ERR Database '%s' is not online on this server: %s\n", db,
			       st[al->status]);
		return true;
	}
	n4j_buf_printf(out, "OK %s %ld\n", s->db[d].id, s->db[d].last_tx);
	return true;
}
