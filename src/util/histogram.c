/* Fixed-bucket histograms: lock-free observation, snapshot reads (util.h). */
#include <string.h>

#include "util/util.h"

const double N4J_HIST_RECONCILE[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
				     2.5,   5,    10,    15,   20,  30,   45,  60};
const size_t N4J_HIST_RECONCILE_N = sizeof(N4J_HIST_RECONCILE) / sizeof(double);
const double N4J_HIST_QUEUE[] = {1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1, 10, 100};
const size_t N4J_HIST_QUEUE_N = sizeof(N4J_HIST_QUEUE) / sizeof(double);
const double N4J_HIST_REST[] = {0.005, 0.025, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60};
const size_t N4J_HIST_REST_N = sizeof(N4J_HIST_REST) / sizeof(double);

void n4j_histogram_init(struct n4j_histogram *h, const double *bounds, size_t n)
{
	if (n > N4J_HIST_MAX_BUCKETS)
		n = N4J_HIST_MAX_BUCKETS;
	h->n = n;
	for (size_t i = 0; i < N4J_HIST_MAX_BUCKETS; i++)
		h->bounds[i] = i < n ? bounds[i] : 0;
	for (size_t i = 0; i <= N4J_HIST_MAX_BUCKETS; i++)
		atomic_init(&h->counts[i], 0);
	atomic_init(&h->sum_ns, 0);
}

void n4j_histogram_observe(struct n4j_histogram *h, double seconds)
{
	if (!(seconds >= 0)) /* NaN and negatives (a clock step) count as 0 */
		seconds = 0;
	size_t i = 0;
	while (i < h->n && seconds > h->bounds[i])
		i++;
	atomic_fetch_add_explicit(&h->counts[i], 1, memory_order_relaxed);
	double ns = seconds * 1e9;
	atomic_fetch_add_explicit(&h->sum_ns, ns > 1.8e19 ? (uint64_t)1.8e19 : (uint64_t)ns,
				  memory_order_relaxed);
}

void n4j_histogram_read(const struct n4j_histogram *h, struct n4j_histogram_snapshot *out)
{
	memset(out, 0, sizeof(*out));
	out->n = h->n;
	uint64_t acc = 0;
	for (size_t i = 0; i < h->n; i++) {
		out->bounds[i] = h->bounds[i];
		acc += atomic_load_explicit(&h->counts[i], memory_order_relaxed);
		out->cumulative[i] = acc;
	}
	acc += atomic_load_explicit(&h->counts[h->n], memory_order_relaxed);
	out->count = acc;
	out->sum = (double)atomic_load_explicit(&h->sum_ns, memory_order_relaxed) / 1e9;
}
