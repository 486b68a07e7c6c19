package main

// Embedded etcd (go.etcd.io/etcd/server/v3/embed) at the version of
// Kubernetes' etcd client. Single member, no fsync: test data only.

import (
	"flag"
	"fmt"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
)

func parseURLs(s string) ([]url.URL, error) {
	var out []url.URL
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		u, err := url.Parse(p)
		if err != nil {
			return nil, err
		}
		out = append(out, *u)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no URL in %q", s)
	}
	return out, nil
}

func runEtcd(args []string) int {
	fs := flag.NewFlagSet("etcd", flag.ContinueOnError)
	name := fs.String("name", "testenv", "member name")
	dataDir := fs.String("data-dir", "", "data directory (required)")
	clientURLs := fs.String("listen-client-urls", "http://127.0.0.1:2379", "client URLs")
	peerURLs := fs.String("listen-peer-urls", "http://127.0.0.1:2380", "peer URLs")
	quota := fs.Int64("quota-backend-bytes", 2<<30, "backend quota in bytes")
	logLevel := fs.String("log-level", "warn", "log level: debug, info, warn, error")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *dataDir == "" {
		fmt.Fprintln(os.Stderr, "etcd: --data-dir is required")
		return 2
	}
	cu, err := parseURLs(*clientURLs)
	if err != nil {
		fmt.Fprintln(os.Stderr, "etcd: --listen-client-urls:", err)
		return 2
	}
	pu, err := parseURLs(*peerURLs)
	if err != nil {
		fmt.Fprintln(os.Stderr, "etcd: --listen-peer-urls:", err)
		return 2
	}

	cfg := embed.NewConfig()
	cfg.Name = *name
	cfg.Dir = *dataDir
	cfg.UnsafeNoFsync = true
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = cu, cu
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = pu, pu
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	cfg.QuotaBackendBytes = *quota
	cfg.LogLevel = *logLevel

	e, err := embed.StartEtcd(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "etcd: start:", err)
		return 1
	}
	defer e.Close()

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	select {
	case <-e.Server.ReadyNotify():
		fmt.Printf("READY %s\n", cu[0].String())
	case <-time.After(60 * time.Second):
		e.Server.Stop()
		fmt.Fprintln(os.Stderr, "etcd: not ready within 60s")
		return 1
	case s := <-sig:
		fmt.Fprintln(os.Stderr, "etcd: signal", s, "before ready")
		return 1
	}
	select {
	case err := <-e.Err():
		fmt.Fprintln(os.Stderr, "etcd: error:", err)
		return 1
	case s := <-sig:
		fmt.Fprintln(os.Stderr, "etcd: signal", s, "stopping")
		return 0
	}
}
