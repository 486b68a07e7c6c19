// The client-go side of bench/kube/run: a shared informer factory caching the ConfigMaps
// and StatefulSets of one namespace, printing its sync time and resident memory.
//
//	-transform=none  full typed objects: client-go as most operators run it (the default)
//	-transform=n4j   SetTransform with exactly the trimming of src/kube/transform.c:
//	                 ConfigMaps as n4j_transform_metadata, StatefulSets as
//	                 n4j_transform_status (see trimMeta and trimStatefulSet)
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
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

// cpuMs is the process's CPU time (user + system) so far, as the C side's cpu_ms: on a
// busy machine the wall-clock sync time also measures the other tenants, this does not.
func cpuMs() int64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return -1
	}
	return (ru.Utime.Nano() + ru.Stime.Nano()) / 1e6
}

const lastApplied = "kubectl.kubernetes.io/last-applied-configuration"

// trimMeta is trim_metadata: the metadata without managedFields and without the
// last-applied annotation (the annotation map disappears when that leaves it empty).
func trimMeta(m *metav1.ObjectMeta) metav1.ObjectMeta {
	out := *m
	out.ManagedFields = nil
	if _, ok := m.Annotations[lastApplied]; ok {
		var a map[string]string
		if len(m.Annotations) > 1 {
			a = make(map[string]string, len(m.Annotations)-1)
			for k, v := range m.Annotations {
				if k != lastApplied {
					a[k] = v
				}
			}
		}
		out.Annotations = a
	}
	return out
}

// trimmedStatefulSet carries the spec digest that n4j_transform_status stores as
// spec.n4jSpecSha256: the typed StatefulSet has no field for it, and an annotation would
// cost client-go a map per object that our side does not pay.
type trimmedStatefulSet struct {
	appsv1.StatefulSet
	SpecSha256 string
}

func images(cs []corev1.Container) []corev1.Container {
	if cs == nil {
		return nil
	}
	out := make([]corev1.Container, len(cs))
	for i := range cs {
		out[i] = corev1.Container{Name: cs[i].Name, Image: cs[i].Image}
	}
	return out
}

// trimStatefulSet is n4j_transform_status for a StatefulSet: trimmed metadata, the whole
// status, and of the spec only a sha256 of all of it, replicas, the name and image of
// each (init)container of the pod template and each claim template's name and storage
// request. (nodeName, volumeName, spec.resources and spec-level containers, which that
// transform also keeps, do not exist in a StatefulSet.)
func trimStatefulSet(s *appsv1.StatefulSet) (interface{}, error) {
	txt, err := json.Marshal(&s.Spec)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(txt)
	out := &trimmedStatefulSet{SpecSha256: hex.EncodeToString(sum[:])}
	out.TypeMeta = s.TypeMeta
	out.ObjectMeta = trimMeta(&s.ObjectMeta)
	out.Status = s.Status
	out.Spec.Replicas = s.Spec.Replicas
	out.Spec.Template.Spec.Containers = images(s.Spec.Template.Spec.Containers)
	out.Spec.Template.Spec.InitContainers = images(s.Spec.Template.Spec.InitContainers)
	if v := s.Spec.VolumeClaimTemplates; v != nil {
		out.Spec.VolumeClaimTemplates = make([]corev1.PersistentVolumeClaim, len(v))
		for i := range v {
			c := &out.Spec.VolumeClaimTemplates[i]
			c.Name = v[i].Name
			if q, ok := v[i].Spec.Resources.Requests[corev1.ResourceStorage]; ok {
				c.Spec.Resources.Requests = corev1.ResourceList{corev1.ResourceStorage: q}
			}
		}
	}
	return out, nil
}

// n4jTransform: ConfigMaps keep only their trimmed metadata (n4j_transform_metadata,
// the C informer's default), StatefulSets go through trimStatefulSet.
func n4jTransform(o interface{}) (interface{}, error) {
	switch v := o.(type) {
	case *corev1.ConfigMap:
		return &corev1.ConfigMap{TypeMeta: v.TypeMeta, ObjectMeta: trimMeta(&v.ObjectMeta)}, nil
	case *appsv1.StatefulSet:
		return trimStatefulSet(v)
	}
	return o, nil // e.g. cache.DeletedFinalStateUnknown
}

func main() {
	ns := flag.String("namespace", "", "namespace to cache")
	transform := flag.String("transform", "none", "none (full objects) or n4j (our trimming)")
	flag.Parse()
	if *transform != "none" && *transform != "n4j" {
		fmt.Fprintln(os.Stderr, "-transform must be none or n4j")
		os.Exit(2)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", os.Getenv("KUBECONFIG"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	cfg.QPS, cfg.Burst = 50, 100
	cs := kubernetes.NewForConfigOrDie(cfg)
	base := rssBytes()
	opts := []informers.SharedInformerOption{informers.WithNamespace(*ns)}
	if *transform == "n4j" {
		opts = append(opts, informers.WithTransform(n4jTransform))
	}
	f := informers.NewSharedInformerFactoryWithOptions(cs, 0, opts...)
	cms := f.Core().V1().ConfigMaps().Informer()
	sts := f.Apps().V1().StatefulSets().Informer()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cpu0 := cpuMs()
	t0 := time.Now()
	f.Start(ctx.Done())
	// Polled every millisecond, as the C side: cache.WaitForCacheSync polls every 100 ms,
	// which would round client-go's figure up by up to 100 ms.
	for !(cms.HasSynced() && sts.HasSynced()) {
		if time.Since(t0) > 5*time.Minute {
			fmt.Fprintln(os.Stderr, "sync failed")
			os.Exit(1)
		}
		time.Sleep(time.Millisecond)
	}
	synced := time.Since(t0)
	cpu := cpuMs() - cpu0
	// The transform really ran: a trimmed StatefulSet is our type, a full one is not.
	if *transform == "n4j" {
		for _, o := range sts.GetStore().List() {
			if _, ok := o.(*trimmedStatefulSet); !ok {
				fmt.Fprintf(os.Stderr, "untrimmed object in the cache: %T\n", o)
				os.Exit(1)
			}
		}
	}
	// Settle like the C side: collect garbage, give the runtime time to return memory.
	runtime.GC()
	debug.FreeOSMemory()
	time.Sleep(2 * time.Second)
	runtime.GC()
	debug.FreeOSMemory()
	fmt.Printf("client-go(%s): configmaps=%d statefulsets=%d sync=%dms sync_cpu=%dms rss_before=%d rss=%d\n",
		*transform, len(cms.GetStore().ListKeys()), len(sts.GetStore().ListKeys()),
		synced.Milliseconds(), cpu, base, rssBytes())
}
