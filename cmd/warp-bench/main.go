// Command warp-bench drives a load against Warp and, in the same run,
// against baselines, and reports latency percentiles (HDR histograms),
// throughput and, for a cluster, how long other nodes keep serving an old
// value after a write.
//
// With -nodes N (default 3) it starts an in-process NATS server, N Warp
// nodes (each its own api.Warp with its own NATS connection) and one store
// they share, then runs each mode (strong-local, eventual, strong with
// quorum N-1) in turn: closed-loop load (or -rate writes/s) plus a
// staleness probe, and a raw NATS (N-1)-of-N ack round trip as the baseline
// for strong writes. With -nodes 1 it compares one Warp node with bigcache
// and a locked map. See docs/performance.md for the figures and commands.
//
//	go run ./cmd/warp-bench                        # 3 nodes, 3 modes, 3s each
//	go run ./cmd/warp-bench -rate 20000 -json      # fixed write rate, JSON report
//	go run ./cmd/warp-bench -nodes 1               # single node vs bigcache and map
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"time"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "warp-bench:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
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
	var res result
	if cfg.Nodes == 1 && !cfg.multiProcess() {
		res.Results, err = runAll(cfg, stderr)
	} else {
		res, err = runCluster(cfg, stderr)
	}
	if err != nil {
		return err
	}
	res.Config = cfg
	if cfg.Plot != "" {
		if err := writePlotFile(cfg.Plot, res); err != nil {
			return err
		}
	}
	return writeResult(stdout, cfg, res)
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	fs := flag.NewFlagSet("warp-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg config
	fs.IntVar(&cfg.Keys, "keys", 100_000, "number of distinct keys (per mode)")
	fs.Float64Var(&cfg.ReadRatio, "reads", 0.9, "fraction of operations that are reads (0..1)")
	fs.StringVar(&cfg.Dist, "dist", "zipf", "key distribution: uniform or zipf")
	fs.IntVar(&cfg.ValueSize, "value-size", 64, "value size in bytes (at least 8)")
	fs.IntVar(&cfg.Concurrency, "concurrency", 4, "concurrent load workers (spread over the nodes)")
	fs.DurationVar(&cfg.Duration, "duration", 3*time.Second, "run time per target or mode")
	fs.IntVar(&cfg.MaxOps, "max-ops", 50_000_000, "upper bound on operations per target or mode")
	fs.BoolVar(&cfg.JSON, "json", false, "print the report as JSON")
	fs.BoolVar(&cfg.CSV, "csv", false, "print the report as CSV (a header, one row per target or mode)")
	fs.StringVar(&cfg.Plot, "plot", "", "write an SVG chart of per-second latency and lag to this .svg file")
	fs.StringVar(&cfg.Targets, "targets", "warp,bigcache,map", "with -nodes 1: comma-separated targets")
	fs.IntVar(&cfg.Nodes, "nodes", 3, "nodes in this process (1: single-node targets; ≥2: a cluster)")
	fs.StringVar(&cfg.Modes, "modes", "strong-local,eventual,strong", "cluster: comma-separated modes to run")
	fs.Float64Var(&cfg.Rate, "rate", 0, "cluster: drive writes only, at this many writes/s in total (0: closed loop)")
	fs.DurationVar(&cfg.ProbeInterval, "probe-interval", time.Millisecond, "cluster: pause between the staleness probe's writes")
	fs.StringVar(&cfg.Store, "store", "memory", "primary store: memory, postgres, redis, or none (-nodes 1: keeps nothing, so the heap is the cache's)")
	fs.IntVar(&cfg.MaxMiB, "max-mib", 0, "memory bound of each Warp node's cache (and of the bigcache target) in MiB; 0: Warp's default, 256")
	fs.StringVar(&cfg.PostgresDSN, "postgres-dsn", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable", "PostgreSQL DSN for -store postgres")
	fs.StringVar(&cfg.RedisAddr, "redis-addr", "127.0.0.1:6379", "Redis address for -store redis")
	fs.StringVar(&cfg.NATS, "nats", "", "external NATS URL (e.g. nats://127.0.0.1:4222); default an embedded server")
	fs.StringVar(&cfg.Cluster, "cluster", "warpbench", "cluster name on the bus (and the shared store's table/prefix with -node-id)")
	fs.StringVar(&cfg.NodeID, "node-id", "", "multi-process: this process's node id (needs -nats, -nodes-expected and a shared -store)")
	fs.IntVar(&cfg.NodesExpected, "nodes-expected", 0, "multi-process: how many warp-bench processes form the cluster")
	fs.DurationVar(&cfg.JoinTimeout, "join-timeout", time.Minute, "multi-process: how long to wait for the other processes")
	fs.StringVar(&cfg.MetricsAddr, "metrics-addr", "", "serve Prometheus /metrics on this 127.0.0.1 address (port 0: any)")
	fs.StringVar(&cfg.CPUProfile, "cpuprofile", "", "write a CPU profile of the whole run to this file (go tool pprof)")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected argument %q (flags only)", fs.Arg(0))
	}
	if cfg.multiProcess() {
		cfg.Nodes = 1
	}
	return cfg, cfg.validate()
}
