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

long ctl_reconcile_with_arena(void *ud, const char *key,
			      long (*fn)(struct n4j_controller *c, const char *key,
					 struct n4j_arena *a))
{
	struct n4j_controller *c = ud;
	if (!c || !key)
		return -1;
	c->reconciles++;
	struct n4j_arena *a = n4j_arena_new();
	if (!a) {
		c->errors++;
		return -1;
	}
	long ret = fn(c, key, a);
	if (ret < 0)
		c->errors++;
	n4j_arena_free(a);
	return ret;
}

const char *n4j_bolt_error_class_name(enum n4j_bolt_error_class c)
{
	static const char *const names[N4J_BOLT_CLASSES] = {
		"ClientError", "TransientError", "DatabaseError", "Network", "Protocol"};
	return (unsigned)c < N4J_BOLT_CLASSES ? names[c] : "Unknown";
}
