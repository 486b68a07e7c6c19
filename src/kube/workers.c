/* A fixed pool of worker threads over a workqueue (reference §3.2's result table). */
#include <stdlib.h>

#include "kube/kube.h"
#include "kube/machinery.h"

struct n4j_workers {
	struct n4j_workqueue *q;
	n4j_work_fn fn;
	void *ud;
	int n;
	pthread_t *threads;
};

static void *worker_main(void *arg)
{
	struct n4j_workers *w = arg;
	for (;;) {
		char *key;
		int rc = n4j_workqueue_get(w->q, &key);
		if (rc == N4J_ENOTFOUND)
			break;
		if (rc != 0) {
			/* Out of memory: the key stays queued; do not spin at full speed. */
			n4j_sleep_ms(10);
			continue;
		}
		long r = w->fn(w->ud, key);
		if (r == 0) {
			n4j_workqueue_forget(w->q, key);
		} else if (r > 0) {
			n4j_workqueue_forget(w->q, key);
			n4j_workqueue_add_after(w->q, key, r);
		} else {
			n4j_workqueue_add_rate_limited(w->q, key);
		}
		/* After the re-add: a key dirtied meanwhile is queued by done(). */
		n4j_workqueue_done(w->q, key);
		free(key);
	}
	return NULL;
}

int n4j_workers_start(struct n4j_workqueue *q, int n, n4j_work_fn fn, void *ud,
		      struct n4j_workers **out)
{
	if (!q || !fn || n <= 0 || n > 1024)
		return N4J_EINVAL;
	struct n4j_workers *w = calloc(1, sizeof(*w));
	if (!w)
		return N4J_ENOMEM;
	w->threads = calloc((size_t)n, sizeof(*w->threads));
	if (!w->threads) {
		free(w);
		return N4J_ENOMEM;
	}
	w->q = q;
	w->fn = fn;
	w->ud = ud;
	for (; w->n < n; w->n++) {
		if (pthread_create(&w->threads[w->n], NULL, worker_main, w) != 0)
			break;
	}
	if (w->n == 0) {
		free(w->threads);
		free(w);
		return N4J_ENOMEM;
	}
	/* Fewer threads than asked still work correctly; the pool is only slower. */
	*out = w;
	return 0;
}

void n4j_workers_stop(struct n4j_workers *w)
{
	if (!w)
		return;
	for (int i = 0; i < w->n; i++)
		pthread_join(w->threads[i], NULL);
	free(w->threads);
	free(w);
}
