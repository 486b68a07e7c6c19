/* The cluster simulator's model: servers, databases, allocations, aliases, the `system`
 * leader, and the Cypher it accepts (see README.md). One mutex guards it all. */
#ifndef N4J_SIM_H
#define N4J_SIM_H

#include "simio.h"

#include <pthread.h>

#define SIM_MAX_SERVERS 32
#define SIM_MAX_DBS     64
#define SIM_MAX_ALLOC   512
#define SIM_MAX_ALIASES 64

enum srv_state {
	SRV_FREE,
	SRV_ENABLED,
	SRV_CORDONED,
	SRV_DEALLOCATING,
	SRV_DEALLOCATED,
	SRV_DROPPED
};

struct sim_server {
	char name[64];     /* CLI name (control interface) */
	char id[40];       /* serverId, a UUID */
	char alias[64];    /* SHOW SERVERS name (= id until renamed) */
	char address[128]; /* advertised Bolt address */
	char bind[64];     /* where it listens */
	enum srv_state state;
	char mode[16]; /* modeConstraint: NONE/PRIMARY/SECONDARY */
	char tags[128];
	bool system_primary;
	bool stopped, partitioned;
	int slow_ms;
	char fail_next[128]; /* injected FAILURE code for the next query */
	int lfd;
	/* member servers (README.md "Member mode"): a process owns the server */
	bool member;            /* joined through the control socket */
	bool connected;         /* its member process holds the control connection */
	bool frozen;            /* heartbeats stopped: shown stopped until they resume */
	bool sys_eligible;      /* server.cluster.system_database_mode=PRIMARY */
	char http_address[128]; /* advertised HTTP address */
	char hbind[64];         /* the daemon's HTTP listener for it */
	int hfd;
	/* the backup port (README.md "Backup port"): fixed servers listen on their bind IP,
	 * members' processes on theirs and relay to this daemon listener */
	char bkbind[64];
	int bfd;
};

enum alloc_status { AL_STARTING, AL_ONLINE, AL_OFFLINE, AL_LEAVING };

struct sim_alloc {
	bool used;
	int db, server;
	bool primary;
	enum alloc_status status;
	long ready_at; /* STARTING -> ONLINE, or LEAVING -> gone */
	/* seeding from a URI (README.md "Seeding"): the hosting server runs the seed tool;
	 * the copy stays STARTING until it answers */
	enum { SEED_NONE, SEED_WANTED, SEED_RUNNING } seed;
	long seed_token; /* matches the tool's answer to this copy (0: not sent yet) */
	char msg[160];   /* statusMessage, e.g. "Unable to start database `DatabaseId{…}`" */
};

struct sim_db {
	bool used;
	char name[64];
	int primaries, secondaries;
	bool requested_online;
	bool is_default;
	long created;
	long nodes;   /* CREATE (…) on it adds one: enough to see where writes land */
	char id[37];  /* databaseId: a UUID, new on CREATE and on recreate */
	long last_tx; /* grows with every write (the backup port reports it) */
	/* the seed the hosting servers load: a URI and its options ("" = none) */
	char seed_uri[512], seed_until[64], seed_src[64];
};

struct sim_alias {
	bool used;
	char name[64], target[64];
};

struct sim {
	pthread_mutex_t mu;
	struct sim_server srv[SIM_MAX_SERVERS];
	int nsrv;
	struct sim_db db[SIM_MAX_DBS];
	struct sim_alloc al[SIM_MAX_ALLOC];
	struct sim_alias alias[SIM_MAX_ALIASES];
	int leader;   /* index of the system leader, -1 = no quorum */
	long move_ms; /* how long a copy takes to start / move */
	long txid;
	char user[64];
	char password[128]; /* "SALT:SHA256(SALT:password)", "" = none yet */
	bool formed;        /* `system` bootstrapped (always, without members) */
	long gen;           /* generation of the persisted state (persist.c) */
	char *last;         /* the state as last persisted, to detect changes */
	char version[32];   /* Neo4j version served ("5.26.0"; members bring theirs) */
	long sys_last_tx;   /* the `system` database's transaction counter */
	long seed_seq;      /* last seed token handed out */
};

/* A query result or a FAILURE. Values live in the arena. */
struct sim_result {
	int nfields;
	const char *fields[32];
	int nrows;
	struct n4j_bolt_value *rows; /* LISTs */
	bool write;
	const char *type;  /* PULL summary's `type` when not "s"/"r" from write (e.g. "w") */
	int nodes_created; /* stats */
	char code[128], gql[8], message[512];
	bool failed;
};

void sim_init(struct sim *s);
/* Advances time: copies come online, leaving copies go, Deallocating -> Deallocated. */
void sim_tick(struct sim *s);
/* Runs one Cypher statement on server `on` (already locked). */
void sim_run(struct sim *s, int on, const char *db, const char *query,
	     const struct n4j_bolt_value *params, struct n4j_arena *a, struct sim_result *r);
/* A ROUTE reply (rt map) or failure. */
int sim_route(struct sim *s, int on, const char *db, struct n4j_arena *a, struct n4j_bolt_value *rt,
	      struct sim_result *r);
void sim_elect(struct sim *s);
/* FAILURE metadata for the connection's Bolt version (failure.c); 0 or -1 (no memory). */
int sim_failure_meta(struct n4j_arena *a, uint16_t version, const char *code, const char *gql,
		     const char *msg, struct n4j_bolt_value *out);
const char *sim_gql_description(const char *gql);
void sim_dump(struct sim *s, struct n4j_buf *out);
const char *sim_state_name(enum srv_state st);
/* cypher.c's allocator: p primaries and q secondaries more for db, all or nothing. */
bool allocate(struct sim *s, int db, int p, int q, long ready_at);
/* cypher.c: the server that writes db (its first online, reachable primary), or -1. */
int db_leader(struct sim *s, int d);

/* persist.c: the cluster state as one line of text (what members keep in their DIR). */
char *sim_serialize(const struct sim *s);
/* Replaces the state by a serialized one, keeping every live server at its index. */
int sim_adopt(struct sim *s, const char *line);
/* After a change, bumps gen and keeps the new text in s->last: 0, -1 on OOM. */
int sim_persist_check(struct sim *s);
/* The stored form of a password: "SALT:HEX"; a fresh salt when salt is NULL. */
int sim_pw_hash(const char *salt, const char *pw, char *out, size_t cap);
bool sim_pw_check(const char *stored, const char *pw);
int sim_uuid(char out[37]);
/* persist.c's token codec, also used for seed requests: " " + %-escaped v ("~" = empty). */
void sim_enc(struct n4j_buf *b, const char *v);
int sim_dec(const char *t, char *out, size_t cap);
/* True when s->version is at least major.minor (5.26 < 2025.01 < 2025.06). */
bool sim_version_at_least(const struct sim *s, int major, int minor);
/* backup.c: the answer to one line of the backup protocol on server `me` (locked); false
 * when the connection must close after it (a malformed request). */
bool sim_backup_line(struct sim *s, int me, const char *line, struct n4j_buf *out);
/* seed.c: a seed tool's answer for the copy with this token (locked): rc 0 brings the copy
 * online (last_tx >= 0: the database's lastTx), else it is offline with Neo4j's message. */
void sim_seed_done(struct sim *s, long token, int rc, long last_tx);
/* seed.c: runs N4J_SIM_SEED_CMD (default /startup/bin/n4j-testbed-seed) URI DB [--until X]
 * [--source-db S] and waits; its exit status (-1 when it could not run), last_tx from a
 * `lastTx=N` line of its stdout (-1 when absent). */
int sim_seed_exec(const char *uri, const char *db, const char *until, const char *src,
		  long *last_tx);
/* simhttp.c: a member server's HTTP answer (status code; body and content type out). */
int sim_http(struct sim *s, int me, const char *method, const char *path, struct n4j_buf *body,
	     const char **ctype);
/* member.c: `n4j-clustersim member ...`, argv[0] being "member". */
int member_main(int argc, char **argv);

#endif
