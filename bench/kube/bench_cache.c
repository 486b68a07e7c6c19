/*
 * Cache memory benchmark, C side (bench/kube/run drives it):
 *   bench_cache populate <ns> <configmaps> <statefulsets>   create the objects (16 threads)
 *   bench_cache measure <ns>                                sync two informers, print RSS
 * The informers are the operator's: ConfigMaps trimmed to metadata, StatefulSets to
 * metadata + status + a spec digest and the few drift fields (n4j_transform_status).
 */
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "kube/kube.h"

static long rss_bytes(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kb = -1;
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb * 1024;
}

/* CPU time (user + system) of the whole process so far: on a busy machine the wall-clock
 * sync time also measures the other tenants, this does not. */
static long cpu_ms(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000 +
	       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000;
}

static struct n4j_kube_client *client(void)
{
	struct n4j_kube_config *cfg;
	struct n4j_error err = {0};
	if (n4j_kube_config_load(NULL, NULL, &cfg, &err) != 0) {
		fprintf(stderr, "kubeconfig: %s\n", err.msg);
		exit(1);
	}
	/* No client-side write bucket: populating 13,000 objects at 20/s would take minutes. */
	struct n4j_kube_client_opts o = {.write_qps = -1}; /* < 0: no bucket (client.c) */
	struct n4j_kube_client *c;
	if (n4j_kube_client_new(cfg, &o, &c, &err) != 0) {
		fprintf(stderr, "client: %s\n", err.msg);
		exit(1);
	}
	n4j_kube_config_free(cfg);
	return c;
}

static const char *ns;
static int n_cm, n_sts;
static atomic_int next, errors;
static struct n4j_kube_client *cl;

static const char CM_FMT[] =
	"{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"bench-cm-%d\","
	"\"labels\":{\"app.kubernetes.io/name\":\"neo4j\",\"app.kubernetes.io/instance\":"
	"\"graph-%d\",\"app.kubernetes.io/managed-by\":\"neo4j-operator\"}},\"data\":{"
	"\"neo4j.conf\":\"server.default_listen_address=0.0.0.0\\nserver.bolt.enabled=true\\n"
	"server.memory.heap.initial_size=1g\\nserver.memory.heap.max_size=1g\\n"
	"server.memory.pagecache.size=512m\\ndb.logs.query.enabled=INFO\\n\"}}";

static const char STS_FMT[] =
	"{\"apiVersion\":\"apps/v1\",\"kind\":\"StatefulSet\",\"metadata\":{\"name\":"
	"\"bench-sts-%d\",\"labels\":{\"app.kubernetes.io/name\":\"neo4j\","
	"\"app.kubernetes.io/instance\":\"graph-%d\",\"app.kubernetes.io/managed-by\":"
	"\"neo4j-operator\"}},\"spec\":{\"replicas\":0,\"serviceName\":\"graph-%d-headless\","
	"\"podManagementPolicy\":\"Parallel\",\"updateStrategy\":{\"type\":\"OnDelete\"},"
	"\"selector\":{\"matchLabels\":{\"app.kubernetes.io/instance\":\"graph-%d\"}},"
	"\"template\":{\"metadata\":{\"labels\":{\"app.kubernetes.io/instance\":\"graph-%d\"},"
	"\"annotations\":{\"neo4j.graphops.io/config-hash\":\"sha256:0123456789abcdef\"}},"
	"\"spec\":{\"securityContext\":{\"runAsNonRoot\":true,\"runAsUser\":7474,"
	"\"seccompProfile\":{\"type\":\"RuntimeDefault\"}},\"containers\":[{\"name\":\"neo4j\","
	"\"image\":\"neo4j:5.26-enterprise\",\"ports\":[{\"name\":\"bolt\",\"containerPort\":"
	"7687},{\"name\":\"http\",\"containerPort\":7474},{\"name\":\"cluster\","
	"\"containerPort\":6000},{\"name\":\"raft\",\"containerPort\":7000}],\"env\":[{\"name\":"
	"\"NEO4J_ACCEPT_LICENSE_AGREEMENT\",\"value\":\"yes\"},{\"name\":\"POD_NAME\","
	"\"valueFrom\":{\"fieldRef\":{\"fieldPath\":\"metadata.name\"}}}],\"readinessProbe\":{"
	"\"httpGet\":{\"path\":\"/\",\"port\":7474},\"periodSeconds\":10},\"resources\":{"
	"\"requests\":{\"cpu\":\"1\",\"memory\":\"2Gi\"}},\"securityContext\":{"
	"\"allowPrivilegeEscalation\":false,\"capabilities\":{\"drop\":[\"ALL\"]}},"
	"\"volumeMounts\":[{\"name\":\"data\",\"mountPath\":\"/data\"},{\"name\":\"conf\","
	"\"mountPath\":\"/conf\"}]}],\"volumes\":[{\"name\":\"conf\",\"configMap\":{\"name\":"
	"\"graph-%d-conf\"}}]}},\"volumeClaimTemplates\":[{\"metadata\":{\"name\":\"data\"},"
	"\"spec\":{\"accessModes\":[\"ReadWriteOnce\"],\"resources\":{\"requests\":{"
	"\"storage\":\"10Gi\"}}}}]}}";

static void *populate_main(void *arg)
{
	char body[8192];
	for (;;) {
		int i = atomic_fetch_add(&next, 1);
		if (i >= n_cm + n_sts)
			break;
		const struct n4j_kube_resource *r;
		if (i < n_cm) {
			snprintf(body, sizeof(body), CM_FMT, i, i % 3000);
			r = &N4J_RES_CONFIGMAPS;
		} else {
			int j = i - n_cm;
			snprintf(body, sizeof(body), STS_FMT, j, j, j, j, j, j);
			r = &N4J_RES_STATEFULSETS;
		}
		cJSON *o = cJSON_Parse(body), *out = NULL;
		struct n4j_kube_error e;
		memset(&e, 0, sizeof(e));
		if (!o || (n4j_kube_create(cl, r, ns, o, &out, &e) != 0 &&
			   e.reason != N4J_KUBE_ALREADY_EXISTS)) {
			if (atomic_fetch_add(&errors, 1) < 5)
				fprintf(stderr, "create: %s\n", e.base.msg);
		}
		cJSON_Delete(o);
		cJSON_Delete(out);
	}
	return NULL;
}

static int populate(void)
{
	pthread_t t[16];
	for (int i = 0; i < 16; i++)
		pthread_create(&t[i], NULL, populate_main, NULL);
	for (int i = 0; i < 16; i++)
		pthread_join(t[i], NULL);
	printf("populated %d configmaps and %d statefulsets in %s (%d errors)\n", n_cm, n_sts, ns,
	       atomic_load(&errors));
	return atomic_load(&errors) ? 1 : 0;
}

static int measure(void)
{
	long base = rss_bytes();
	struct n4j_informer *a, *b;
	struct n4j_error err = {0};
	struct n4j_informer_opts oa = {.resource = &N4J_RES_CONFIGMAPS, .namespace_ = ns};
	struct n4j_informer_opts ob = {.resource = &N4J_RES_STATEFULSETS,
				       .namespace_ = ns,
				       .transform = n4j_transform_status};
	struct timespec t0, t1;
	long cpu0 = cpu_ms();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (n4j_informer_new(cl, &oa, NULL, &a, &err) ||
	    n4j_informer_new(cl, &ob, NULL, &b, &err) || n4j_informer_start(a, &err) ||
	    n4j_informer_start(b, &err)) {
		fprintf(stderr, "informer: %s\n", err.msg);
		return 1;
	}
	/* Polled every millisecond (as the Go side) so that the figure is not rounded up. */
	for (int i = 0; i < 300000 && !(n4j_informer_has_synced(a) && n4j_informer_has_synced(b));
	     i++) {
		struct timespec ts = {0, 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	long cpu = cpu_ms() - cpu0;
	/* Settle like the Go side: return freed list buffers to the OS before measuring. */
	malloc_trim(0);
	struct timespec two = {2, 0};
	nanosleep(&two, NULL);
	malloc_trim(0);
	long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	struct mallinfo2 mi = mallinfo2();
	printf("n4j: configmaps=%zu statefulsets=%zu sync=%ldms sync_cpu=%ldms rss_before=%ld "
	       "rss=%ld heap_in_use=%zu heap_free=%zu\n",
	       n4j_informer_len(a), n4j_informer_len(b), ms, cpu, base, rss_bytes(), mi.uordblks,
	       mi.fordblks);
	n4j_informer_free(a);
	n4j_informer_free(b);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: bench_cache populate <ns> <cms> <sts> | measure <ns>\n");
		return 2;
	}
	ns = argv[2];
	cl = client();
	int rc;
	if (strcmp(argv[1], "populate") == 0 && argc == 5) {
		n_cm = atoi(argv[3]);
		n_sts = atoi(argv[4]);
		rc = populate();
	} else {
		rc = measure();
	}
	n4j_kube_client_free(cl);
	return rc;
}
