// Command warp-bench drives a load against Warp and, in the same run,
// against the baselines a user would pick instead, and reports latency
// percentiles (HDR histograms), throughput, each node's coherence (time
// without a lease, repairs, gaps, L1 hit ratio) and, for a cluster, how
// long other nodes keep serving an old value after a write.
//
// With -nodes N (default 3) it starts an in-process NATS server, N Warp
// nodes (each its own api.Warp with its own NATS connection) and one store
// they share, then runs each mode (strong-local, eventual, strong with
// quorum N-1) in turn: closed-loop load (or -rate writes/s) plus a
// staleness probe, with a raw NATS (N-1)-of-N ack round trip as the
// baseline for strong writes and Redis client-side caching (rueidis) as the
// baseline for eventual's lag. With -nodes 1 it compares one Warp node with
// otter (with and without a TTL), bigcache and a locked map. What it writes into a store is removed
// when it ends, also on SIGINT or SIGTERM. warp-bench -h explains every
// column, ratio and note; docs/performance.md has the figures.
//
//	go run ./cmd/warp-bench                        # 3 nodes, 3 modes, 3s each
//	go run ./cmd/warp-bench -rate 20000 -json      # fixed write rate, JSON report
//	go run ./cmd/warp-bench -nodes 1               # single node vs otter, otter-ttl, bigcache and map
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"

	"github.com/warpcache/warp/messages/wire"
)

func main() {
	os.Exit(mainCode(os.Args[1:], os.Stdout, os.Stderr))
}

// mainCode runs warp-bench and returns its exit code: 0, 1 on an error,
// 130 when interrupted (after the clean-up).
func mainCode(args []string, stdout, stderr io.Writer) int {
	err := run(args, stdout, stderr)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errInterrupted):
		fmt.Fprintln(stderr, "warp-bench:", err, "(what the run wrote was removed)")
		return 130
	}
	fmt.Fprintln(stderr, "warp-bench:", err)
	return 1
}

// run parses args and runs the benchmark. Everything it prints on stderr,
// and the error it returns, has the secrets of -nats, -postgres-dsn and
// the environment removed. SIGINT or SIGTERM stops the run; what it wrote
// into a store is removed before run returns (a second signal kills the
// process at once).
func run(args []string, stdout, stderr io.Writer) error {
	sc := &scrubber{}
	stderr = sc.writer(stderr)
	cfg, err := parseFlags(args, stdout)
	sc.add(cfg.secrets()...)
	if errors.Is(err, errHelp) {
		return nil
	}
	if err == nil && cfg.GenKey {
		_, err = fmt.Fprintln(stdout, wire.GenerateKey(1).Encode())
		return err
	}
	if err != nil {
		return sc.error(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// After the first signal the default action comes back: a second one
	// ends the process without waiting for the clean-up.
	release := context.AfterFunc(ctx, stop)
	defer release()
	return sc.error(runWith(ctx, cfg, stdout, stderr))
}

func runWith(ctx context.Context, cfg config, stdout, stderr io.Writer) error {
	stopMetrics, err := serveMetrics(cfg.MetricsAddr, stderr)
	if err != nil {
		return err
	}
	defer stopMetrics()
	if cfg.CPUProfile != "" {
		f, err := os.Create(cfg.CPUProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	pr := newProgress(stderr, cfg)
	var res result
	if cfg.Nodes == 1 && !cfg.multiProcess() {
		res, err = runAll(ctx, cfg, pr)
	} else {
		res, err = runCluster(ctx, cfg, pr)
	}
	if err != nil {
		return err
	}
	res.derive(cfg)
	if cfg.Plot != "" {
		if err := writePlotFile(cfg.Plot, res); err != nil {
			return err
		}
	}
	return writeResult(stdout, cfg, res)
}
