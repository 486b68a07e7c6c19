/*
 * The controller object: its configuration, counters, and the one piece of per-cluster
 * state kept between reconciles, the Bolt handle (with what it borrows: the address
 * resolver's pod table and a private copy of the TLS CA). Everything else is re-read from
 * the caches, the apiserver and Neo4j on every reconcile.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "controller/internal.h"

static void resolver_clear(struct ctl_resolver *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->pods[i]);
		free(r->ips[i]);
	}
	free(r->pods);
	free(r->ips);
	memset(r, 0, sizeof(*r));
}

static void entry_free(struct ctl_entry *e)
{
	if (!e)
		return;
	n4j_neo4j_close(e->neo);
	resolver_clear(&e->resolver);
	if (e->ca_file) {
		unlink(e->ca_file);
		free(e->ca_file);
	}
	free(e->ca_sha);
	free(e->uid);
	free(e->key);
	free(e);
}

int n4j_controller_new(const struct n4j_controller_config *cfg, struct n4j_controller **out,
		       struct n4j_error *err)
{
	*out = NULL;
	if (!cfg || !cfg->kube || !cfg->schemas || !cfg->caches.get || !cfg->caches.each)
		return n4j_err(err, N4J_EINVAL,
			       "controller: kube client, schemas and caches needed");
	struct n4j_controller *c = calloc(1, sizeof(*c));
	if (!c)
		return n4j_err(err, N4J_ENOMEM, "controller: out of memory");
	c->cfg = *cfg;
	if (c->cfg.resync_ms <= 0)
		c->cfg.resync_ms = 60000;
	if (c->cfg.progress_ms <= 0)
		c->cfg.progress_ms = 2000;
	if (c->cfg.bolt_timeout_ms <= 0)
		c->cfg.bolt_timeout_ms = 5000;
	for (int k = 0; k < N4J_CTL_KINDS; k++)
		n4j_histogram_init(&c->kind[k].reconcile_time, N4J_HIST_RECONCILE,
				   N4J_HIST_RECONCILE_N);
	if (pthread_mutex_init(&c->mu, NULL)) {
		free(c);
		return n4j_err(err, N4J_ENOMEM, "controller: no mutex");
	}
	*out = c;
	return 0;
}

void n4j_controller_free(struct n4j_controller *c)
{
	if (!c)
		return;
	struct ctl_entry *e = c->entries;
	while (e) {
		struct ctl_entry *next = e->next;
		entry_free(e);
		e = next;
	}
	pthread_mutex_destroy(&c->mu);
	free(c);
}

void n4j_controller_stats(const struct n4j_controller *c, struct n4j_controller_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (!c)
		return;
	out->reconciles = c->reconciles;
	out->errors = c->errors;
	out->steps = c->steps;
	out->refusals = c->refusals;
	out->status_writes = c->status_writes;
	out->applies = c->applies;
	static const char *const names[N4J_CTL_KINDS] = {"neo4jcluster", "neo4jbackup"};
	for (int k = 0; k < N4J_CTL_KINDS; k++) {
		const struct ctl_kind_stats *ks = &c->kind[k];
		out->kinds[k].name = names[k];
		out->kinds[k].success = atomic_load(&ks->success);
		out->kinds[k].error = atomic_load(&ks->error);
		out->kinds[k].requeue = 0; /* our work functions have no immediate requeue */
		out->kinds[k].requeue_after = atomic_load(&ks->requeue_after);
		out->kinds[k].terminal_errors = atomic_load(&ks->terminal_errors);
		out->kinds[k].active_workers = atomic_load(&ks->active_workers);
		n4j_histogram_read(&ks->reconcile_time, &out->kinds[k].reconcile_time);
	}
	for (int s = 0; s < N4J_CTL_MAX_STEP_KINDS; s++) {
		uint64_t n = atomic_load(&c->step_counts[s]);
		if (!n)
			continue; /* never run: omitted, as the header says */
		out->step_counts[out->n_step_counts].name =
			n4j_step_kind_name((enum n4j_step_kind)s);
		out->step_counts[out->n_step_counts++].count = n;
	}
	out->rolling_pod_deletions = atomic_load(&c->rolling_pod_deletions);
	for (int b = 0; b < N4J_BOLT_CLASSES; b++)
		out->bolt_errors[b] = atomic_load(&c->bolt_errors[b]);
}

void ctl_count_refusal(struct n4j_controller *c, enum n4j_ctl_kind kind)
{
	atomic_fetch_add(&c->refusals, 1);
	atomic_fetch_add(&c->kind[kind].terminal_errors, 1);
}

void ctl_count_step(struct n4j_controller *c, enum n4j_step_kind kind)
{
	atomic_fetch_add(&c->steps, 1);
	if ((unsigned)kind < N4J_CTL_MAX_STEP_KINDS)
		atomic_fetch_add(&c->step_counts[kind], 1);
	/* Every DeletePod the planner makes is one pod of a rolling change (neo4j.h). */
	if (kind == N4J_STEP_DELETE_POD)
		atomic_fetch_add(&c->rolling_pod_deletions, 1);
}

bool ctl_bolt_error_class(enum n4j_neo4j_error_kind kind, const char *code,
			  enum n4j_bolt_error_class *out)
{
	static const struct {
		const char *prefix;
		enum n4j_bolt_error_class cls;
	} classes[] = {
		{"Neo.ClientError.", N4J_BOLT_CLIENT_ERROR},
		{"Neo.TransientError.", N4J_BOLT_TRANSIENT_ERROR},
		{"Neo.DatabaseError.", N4J_BOLT_DATABASE_ERROR},
	};
	switch (kind) {
	case N4J_NEO4J_ERR_FAILURE:
		for (size_t i = 0; code && i < sizeof(classes) / sizeof(classes[0]); i++)
			if (strncmp(code, classes[i].prefix, strlen(classes[i].prefix)) == 0) {
				*out = classes[i].cls;
				return true;
			}
		/* A FAILURE whose code names no Neo4j class is not a reply we understand. */
		*out = N4J_BOLT_PROTOCOL;
		return true;
	case N4J_NEO4J_ERR_NETWORK:
		*out = N4J_BOLT_NETWORK;
		return true;
	case N4J_NEO4J_ERR_PROTOCOL:
		*out = N4J_BOLT_PROTOCOL;
		return true;
	default:
		return false;
	}
}

void ctl_count_bolt_error(struct n4j_controller *c, const struct n4j_neo4j *n)
{
	const char *code = NULL;
	enum n4j_bolt_error_class cls;
	/* Apart: an argument list does not order the call before code is read. */
	enum n4j_neo4j_error_kind kind = n4j_neo4j_last_error(n, &code);
	if (ctl_bolt_error_class(kind, code, &cls))
		atomic_fetch_add(&c->bolt_errors[cls], 1);
}

/*
 * Entries are only used by the worker that holds their key (the workqueue runs one worker
 * per key), so the lock guards the list, not the entry.
 */
struct ctl_entry *ctl_entry_get(struct n4j_controller *c, const char *key, const char *uid)
{
	if (!uid)
		uid = "";
	struct ctl_entry *found = NULL, *stale = NULL;
	pthread_mutex_lock(&c->mu);
	for (struct ctl_entry **p = &c->entries; *p;) {
		struct ctl_entry *e = *p;
		if (strcmp(e->uid, uid) == 0) {
			found = e;
			p = &e->next;
		} else if (strcmp(e->key, key) == 0 && !stale) {
			/* The CR was recreated under the same name: the old handle goes. */
			*p = e->next;
			stale = e;
		} else {
			p = &e->next;
		}
	}
	if (!found) {
		found = calloc(1, sizeof(*found));
		if (found) {
			found->uid = strdup(uid);
			found->key = strdup(key);
			if (!found->uid || !found->key) {
				entry_free(found);
				found = NULL;
			} else {
				found->next = c->entries;
				c->entries = found;
			}
		}
	}
	pthread_mutex_unlock(&c->mu);
	entry_free(stale);
	return found;
}

void ctl_entry_drop(struct n4j_controller *c, const char *key)
{
	struct ctl_entry *gone = NULL;
	pthread_mutex_lock(&c->mu);
	for (struct ctl_entry **p = &c->entries; *p;) {
		struct ctl_entry *e = *p;
		if (strcmp(e->key, key) == 0) {
			*p = e->next;
			e->next = gone;
			gone = e;
		} else {
			p = &e->next;
		}
	}
	pthread_mutex_unlock(&c->mu);
	while (gone) {
		struct ctl_entry *next = gone->next;
		entry_free(gone);
		gone = next;
	}
}

long ctl_reconcile_with_arena(void *ud, enum n4j_ctl_kind kind, const char *key,
			      long (*fn)(struct n4j_controller *c, const char *key,
					 struct n4j_arena *a))
{
	struct n4j_controller *c = ud;
	if (!c || !key || (unsigned)kind >= N4J_CTL_KINDS)
		return -1;
	struct ctl_kind_stats *ks = &c->kind[kind];
	atomic_fetch_add(&c->reconciles, 1);
	atomic_fetch_add(&ks->active_workers, 1);
	int64_t start = n4j_now_ns();
	long ret = -1;
	struct n4j_arena *a = n4j_arena_new();
	if (a) {
		ret = fn(c, key, a);
		n4j_arena_free(a);
	}
	/* controller-runtime's result labels: error, requeue_after (> 0), success (0). */
	n4j_histogram_observe(&ks->reconcile_time, (double)(n4j_now_ns() - start) / 1e9);
	if (ret < 0) {
		atomic_fetch_add(&c->errors, 1);
		atomic_fetch_add(&ks->error, 1);
	} else if (ret > 0) {
		atomic_fetch_add(&ks->requeue_after, 1);
	} else {
		atomic_fetch_add(&ks->success, 1);
	}
	atomic_fetch_sub(&ks->active_workers, 1);
	return ret;
}

const char *n4j_bolt_error_class_name(enum n4j_bolt_error_class c)
{
	static const char *const names[N4J_BOLT_CLASSES] = {"ClientError", "TransientError",
							    "DatabaseError", "Network", "Protocol"};
	return (unsigned)c < N4J_BOLT_CLASSES ? names[c] : "Unknown";
}
