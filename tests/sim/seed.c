/*
 * Seeding from a URI (README.md "Seeding"): every server hosting a copy of a database
 * created with OPTIONS {seedURI: …} downloads the seed itself, with its own credentials.
 * In the test bed the server runs the seed tool in its own environment (the pod's chroot
 * for a member; the simulator's for fixed servers): exit 0 -> the copy starts, else it
 * stays offline with Neo4j's "Unable to start database" message.
 */
#include "sim.h"

#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

void sim_seed_done(struct sim *s, long token, int rc, long last_tx)
{
	for (int k = 0; k < SIM_MAX_ALLOC; k++) {
		struct sim_alloc *a = &s->al[k];
		if (!a->used || a->seed == SEED_NONE || a->seed_token != token)
			continue;
		struct sim_db *db = &s->db[a->db];
		a->seed = SEED_NONE;
		a->seed_token = 0;
		if (rc == 0) {
			a->status = db->requested_online ? AL_ONLINE : AL_OFFLINE;
			a->msg[0] = '\0';
			if (last_tx > db->last_tx)
				db->last_tx = last_tx;
		} else {
			/* Neo4j's words: the DatabaseId's first 8 hex digits and the name */
			char id[9], name[64];
			scopy(id, sizeof id, db->id);
			scopy(name, sizeof name, db->name);
			a->status = AL_OFFLINE;
			snprintf(a->msg, sizeof a->msg,
				 "Unable to start database `DatabaseId{%s[%s]}`", id, name);
		}
		return;
	}
}

int sim_seed_exec(const char *uri, const char *db, const char *until, const char *src,
		  long *last_tx)
{
	*last_tx = -1;
	const char *cmd = getenv("N4J_SIM_SEED_CMD");
	if (!cmd || !*cmd)
		cmd = "/startup/bin/n4j-testbed-seed";
	char *argv[8];
	int n = 0;
	argv[n++] = (char *)cmd;
	argv[n++] = (char *)uri;
	argv[n++] = (char *)db;
	if (until && *until) {
		argv[n++] = "--until";
		argv[n++] = (char *)until;
	}
	if (src && *src) {
		argv[n++] = "--source-db";
		argv[n++] = (char *)src;
	}
	argv[n] = NULL;
	int p[2];
	if (pipe(p))
		return -1;
	/* posix_spawn, not fork: the caller is a threaded server. The tool gets the default
	 * SIGPIPE disposition back (the simulator ignores it) and our stdout as its pipe;
	 * its stderr stays the server's log. */
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t def;
	sigemptyset(&def);
	sigaddset(&def, SIGPIPE);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[1], STDOUT_FILENO);
	posix_spawn_file_actions_addclose(&fa, p[0]);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", 0, 0);
	posix_spawnattr_init(&at);
	posix_spawnattr_setsigdefault(&at, &def);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGDEF);
	pid_t pid;
	int e = posix_spawn(&pid, cmd, &fa, &at, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	close(p[1]);
	if (e) {
		close(p[0]);
		fprintf(stderr, "n4j-clustersim: cannot run the seed tool %s: %s\n", cmd,
			strerror(e));
		return -1;
	}
	char buf[8192];
	size_t len = 0;
	ssize_t r;
	/* read it all (the tool must not block on a full pipe), keep the first 8 KiB */
	for (;;) {
		char tmp[1024];
		r = read(p[0], tmp, sizeof tmp);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		size_t take = (size_t)r < sizeof buf - 1 - len ? (size_t)r : sizeof buf - 1 - len;
		memcpy(buf + len, tmp, take);
		len += take;
	}
	buf[len] = '\0';
	close(p[0]);
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	for (char *l = buf; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		long v;
		if (sscanf(l, "lastTx=%ld", &v) == 1 && v >= 0)
			*last_tx = v;
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}
