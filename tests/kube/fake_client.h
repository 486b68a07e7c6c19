/*
 * A tiny in-memory fake of the n4j_kube_* requests, linked ONLY into the machinery unit
 * tests (the env tests use the real client against the real apiserver).
 */
#ifndef N4J_FAKE_CLIENT_H
#define N4J_FAKE_CLIENT_H

#include "kube/kube.h"

/* The fake's "client" handle: any non-NULL pointer. */
struct n4j_kube_client *fake_client(void);
void fake_reset(void);
/* Objects stored by the fake (owned by it), by plural. */
void fake_put(const char *plural, const cJSON *obj);
void fake_delete(const char *plural, const char *ns, const char *name);
cJSON *fake_find(const char *plural, const char *ns, const char *name); /* borrowed */
/* A copy of all objects of a plural (caller frees). */
cJSON *fake_list_copy(const char *plural);
/* Makes the next watch return N4J_KUBE_GONE. */
void fake_watch_gone(void);
/* false: writes are not seen by watches (missed events), until a relist. */
void fake_set_feed(bool on);
/* Request counters. */
unsigned fake_requests(void);
unsigned fake_lists(void);
/* Latency added to every write, and a forced failure status for writes (0: none). */
void fake_set_write_delay_ms(long ms);
void fake_set_write_status(int http_status);

#endif
