// A minimal client-go informer program: the baseline of bench/kube/run. It caches
// ConfigMaps and StatefulSets of one namespace with a shared informer factory (full
// objects, as most operators do; -strip-managed-fields sets a transform that removes
// managedFields, the usual first optimisation) and prints its resident memory once synced.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
)

func rssBytes() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			var kb int64
			fmt.Sscanf(strings.TrimSpace(strings.TrimPrefix(l, "VmRSS:")), "%d", &kb)
			return kb * 1024
		}
	}
	return -1
}

func main() {
	ns := flag.String("namespace", "", "namespace to cache")
	strip := flag.Bool("strip-managed-fields", false, "drop managedFields with a transform")
	flag.Parse()
	cfg, err := clientcmd.BuildConfigFromFlags("", os.Getenv("KUBECONFIG"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	cfg.QPS, cfg.Burst = 50, 100
	cs := kubernetes.NewForConfigOrDie(cfg)
	base := rssBytes()
	opts := []informers.SharedInformerOption{informers.WithNamespace(*ns)}
	if *strip {
		opts = append(opts, informers.WithTransform(func(o interface{}) (interface{}, error) {
			if m, ok := o.(metav1.Object); ok {
				m.SetManagedFields(nil)
			}
			return o, nil
		}))
	}
	f := informers.NewSharedInformerFactoryWithOptions(cs, 0, opts...)
	cms := f.Core().V1().ConfigMaps().Informer()
	sts := f.Apps().V1().StatefulSets().Informer()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	t0 := time.Now()
	f.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), cms.HasSynced, sts.HasSynced) {
		fmt.Fprintln(os.Stderr, "sync failed")
		os.Exit(1)
	}
	synced := time.Since(t0)
	// Settle like the C side: collect garbage, give the runtime time to return memory.
	runtime.GC()
	debug.FreeOSMemory()
	time.Sleep(2 * time.Second)
	runtime.GC()
	debug.FreeOSMemory()
	fmt.Printf("client-go: configmaps=%d statefulsets=%d sync=%dms rss_before=%d rss=%d\n",
		len(cms.GetStore().ListKeys()), len(sts.GetStore().ListKeys()),
		synced.Milliseconds(), base, rssBytes())
}
