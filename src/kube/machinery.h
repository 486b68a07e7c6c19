/*
 * Private helpers of the controller machinery (informer, workqueue, workers, leader
 * election, events). Not part of the kube.h contract.
 */
#ifndef N4J_KUBE_MACHINERY_H
#define N4J_KUBE_MACHINERY_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "util/util.h"

/* A condition variable on CLOCK_MONOTONIC, so that timed waits survive clock jumps. */
int n4j_mach_cond_init(pthread_cond_t *c);
/* Waits until deadline (n4j_now_ms) or a signal; returns ETIMEDOUT past the deadline. */
int n4j_mach_cond_wait_until(pthread_cond_t *c, pthread_mutex_t *m, int64_t deadline_ms);

/*
 * A string-keyed hash map of borrowed values; keys are copied. Not thread-safe: callers
 * lock around it.
 */
struct n4j_smap_node {
	struct n4j_smap_node *next;
	uint64_t hash;
	void *val;
	char key[]; /* inline: one allocation per entry */
};
struct n4j_smap {
	struct n4j_smap_node **b;
	size_t nb, len;
};
void n4j_smap_init(struct n4j_smap *m);
/* Frees the nodes (not the values: iterate first if they need freeing). */
void n4j_smap_free(struct n4j_smap *m);
void *n4j_smap_get(const struct n4j_smap *m, const char *key);
/* Inserts or replaces; *old (may be NULL) receives the previous value. N4J_ENOMEM on failure. */
int n4j_smap_put(struct n4j_smap *m, const char *key, void *val, void **old);
/* Removes key and returns its value (NULL if absent). */
void *n4j_smap_del(struct n4j_smap *m, const char *key);
/* Calls fn for every entry; fn must not modify the map. */
void n4j_smap_each(const struct n4j_smap *m, void (*fn)(void *ud, const char *key, void *val),
		   void *ud);

/* The cache key of an object: "ns/name" or "name"; 0, or N4J_EINVAL without a name. */
struct n4j_cached;
struct cJSON;
int n4j_mach_object_key(const struct cJSON *obj, char *key, size_t size);
/* A new cached object owning obj (refcount 1); NULL (and obj freed) on allocation failure. */
struct n4j_cached *n4j_cached_new(struct cJSON *obj, const char *key);
/* A new cached object from its parts (json: the compact text of len bytes, NUL after it);
 * NULL on allocation failure. The informer builds a list's objects this way once the list
 * is over (informer.c says why). */
struct n4j_cached *n4j_cached_from_text(const char *key, const char *rv, const char *json,
					size_t len);
/* metadata.resourceVersion or "". */
const char *n4j_mach_object_rv(const struct cJSON *obj);

/* Recorder counters (tests, metrics): sent, dropped (spam, full queue, OOM), refused
 * (looked like a secret), failed (gave up after retries). */
struct n4j_recorder;
void n4j_recorder_counts(struct n4j_recorder *r, uint64_t *sent, uint64_t *dropped,
			 uint64_t *refused, uint64_t *failed);

#endif
