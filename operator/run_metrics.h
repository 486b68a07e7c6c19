/*
 * What `run` serves on /metrics and /healthz (docs/operator.md, docs/monitoring/metrics.md):
 * the collect and health functions handed to the server (src/server/server.h), reading
 * snapshots of the controller, the workqueue, the kube client, the leader election and
 * the informer caches. Internal to operator/ (run_cmd.c fills the struct).
 */
#ifndef N4J_OPERATOR_RUN_METRICS_H
#define N4J_OPERATOR_RUN_METRICS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "controller/controller.h"
#include "kube/kube.h"
#include "server/server.h"

#define RUN_HEARTBEAT_MAX_MS 10000L /* /healthz: the main loop ticked within this */
#define RUN_RECONCILE_MAX_S  600.0  /* /healthz: no reconcile runs longer than this */
#define RUN_QUEUE_NAME       "neo4j-operator"

struct run_metrics {
	/* Set before the server starts, stable until it stops. */
	const char *lease_name;
	struct n4j_leader *leader; /* NULL without leader election: reported as leading */
	struct n4j_kube_client *kube;
	struct n4j_workqueue *queue;
	struct n4j_controller *controller;
	struct n4j_informer *const *clusters; /* one per watched scope */
	struct n4j_informer *const *backups;
	size_t n_scopes;
	int workers;
	const atomic_bool *stopping;
	/* The main loop's last tick (n4j_now_ms). */
	_Atomic int64_t heartbeat_ms;
};

void run_metrics_collect(void *ud, struct n4j_metrics_writer *w);
bool run_metrics_healthy(void *ud, char *why, size_t len);

/* For tests of the status readers: the per-CR families (cluster_*, certificate_*, backup_*)
 * from objects as the caches hold them (metadata.namespace/name, spec, status), in the
 * order collect writes them. */
void run_metrics_cr_families(struct n4j_metrics_writer *w, cJSON *const *clusters, size_t nc,
			     cJSON *const *backups, size_t nb);

#endif
