// Command kube is a multi-call binary holding the Kubernetes control plane
// used by the neo4j-operator test environment (hack/test-env):
// kube-apiserver, kube-controller-manager, kube-scheduler, kubectl and an
// embedded etcd. Call it through a symlink named after the component, or as
// `kube <component> [flags]`.
//
// Entry points mirror upstream's cmd/<name>/<name>.go at the pinned tag
// (k8s.io/kubernetes v1.33.13).
package main

import (
	"fmt"
	"os"
	"path/filepath"
	_ "time/tzdata" // CronJob timeZone support, as upstream's mains

	_ "k8s.io/client-go/plugin/pkg/client/auth" // kubectl: client auth plugins
	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"          // JSON log format
	_ "k8s.io/component-base/metrics/prometheus/clientgo" // client-go metrics
	_ "k8s.io/component-base/metrics/prometheus/version"  // version metric
	kubectl "k8s.io/kubectl/pkg/cmd"
	kubectlutil "k8s.io/kubectl/pkg/cmd/util"
	apiserver "k8s.io/kubernetes/cmd/kube-apiserver/app"
	kcm "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	scheduler "k8s.io/kubernetes/cmd/kube-scheduler/app"
)

var components = []string{"kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl", "etcd"}

func main() {
	name, args := filepath.Base(os.Args[0]), os.Args[1:]
	if name == "kube" && len(args) > 0 {
		name, args = args[0], args[1:]
	}
	os.Args = append([]string{name}, args...) // cobra, klog and kubectl read os.Args
	// Build exactly one command per process: each installs its own signal handler.
	switch name {
	case "kube-apiserver":
		os.Exit(cli.Run(apiserver.NewAPIServerCommand()))
	case "kube-controller-manager":
		os.Exit(cli.Run(kcm.NewControllerManagerCommand()))
	case "kube-scheduler":
		os.Exit(cli.Run(scheduler.NewSchedulerCommand()))
	case "kubectl":
		if err := cli.RunNoErrOutput(kubectl.NewDefaultKubectlCommand()); err != nil {
			kubectlutil.CheckErr(err) // pretty-prints and exits non-zero
		}
		os.Exit(0)
	case "etcd":
		os.Exit(runEtcd(args))
	}
	fmt.Fprintf(os.Stderr, "kube: unknown component %q (want one of %v)\n", name, components)
	os.Exit(2)
}
