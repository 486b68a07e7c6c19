/* Counts informer events the way every informer test needs: adds, updates, deletes,
 * resyncs (old == new), and ADDs of a key that is already live (a duplicate). */
#ifndef N4J_TALLY_H
#define N4J_TALLY_H

#include <pthread.h>

#include "kube/kube.h"
#include "kube/machinery.h"

struct event_tally {
	int adds, updates, deletes, resyncs, dup_adds;
	struct n4j_smap live; /* keys added and not deleted since */
};

/* The caller holds whatever lock guards t. */
static inline void event_tally_add(struct event_tally *t, const struct n4j_cached *o,
				   const struct n4j_cached *n)
{
	if (!o && n) {
		t->adds++;
		if (n4j_smap_get(&t->live, n->key))
			t->dup_adds++;
		n4j_smap_put(&t->live, n->key, (void *)1, NULL);
	} else if (o && n && o == n) {
		t->resyncs++;
	} else if (o && n) {
		t->updates++;
	} else if (o) {
		t->deletes++;
		n4j_smap_del(&t->live, o->key);
	}
}

/* A tally behind its own lock, for tests whose handler only counts. */
struct locked_tally {
	pthread_mutex_t mu;
	struct event_tally t;
};

/* An on_event handler (ud: struct locked_tally *). */
static inline void locked_tally_on_event(void *ud, const struct n4j_cached *o,
					 const struct n4j_cached *n)
{
	struct locked_tally *r = ud;
	pthread_mutex_lock(&r->mu);
	event_tally_add(&r->t, o, n);
	pthread_mutex_unlock(&r->mu);
}

/* Reads one counter of r->t, e.g. locked_tally_get(r, &r->t.adds). */
static inline int locked_tally_get(struct locked_tally *r, const int *f)
{
	pthread_mutex_lock(&r->mu);
	int v = *f;
	pthread_mutex_unlock(&r->mu);
	return v;
}

#endif
