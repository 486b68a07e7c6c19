/*
 * Conditions as kstatus and `kubectl wait` read them (reference §3.4): one per type,
 * observedGeneration = the generation read at the start of the reconcile, and a
 * lastTransitionTime that moves only when the status flips, so that a converged cluster
 * builds byte-identical conditions on every reconcile (and writes nothing).
 */
#include <string.h>

#include "controller/internal.h"

void ctl_conds_init(struct ctl_conds *cs, struct n4j_arena *a,
		    const struct n4j_cluster_status *prev, int64_t generation, const char *now)
{
	memset(cs, 0, sizeof(*cs));
	cs->a = a;
	cs->prev = prev;
	cs->generation = generation;
	cs->now = now;
}

const struct n4j_condition *ctl_cond_find(const struct n4j_condition *c, size_t n, const char *type)
{
	for (size_t i = 0; c && i < n; i++)
		if (c[i].type && strcmp(c[i].type, type) == 0)
			return &c[i];
	return NULL;
}

void ctl_cond_set(struct ctl_conds *cs, const char *type, enum n4j_cond_status st,
		  const char *reason, const char *message)
{
	struct n4j_condition *c = (struct n4j_condition *)ctl_cond_find(cs->items, cs->n, type);
	if (!c) {
		if (cs->n >= sizeof(cs->items) / sizeof(cs->items[0]))
			return;
		c = &cs->items[cs->n++];
	}
	const struct n4j_condition *old =
		cs->prev ? ctl_cond_find(cs->prev->conditions, cs->prev->n_conditions, type) : NULL;
	c->type = type;
	c->status = st;
	c->reason = reason;
	/* An empty message is omitted from the JSON; a NULL one the same. */
	c->message = message && *message ? message : NULL;
	c->observed_generation = cs->generation;
	c->last_transition_time = old && old->status == st && old->last_transition_time
					  ? old->last_transition_time
					  : cs->now;
}
