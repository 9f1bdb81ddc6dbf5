package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"
)

// errHelp is returned by parseFlags for -h: run prints the overview and
// succeeds.
var errHelp = flag.ErrHelp

func parseFlags(args []string, stderr io.Writer) (config, error) {
	fs := flag.NewFlagSet("warp-bench", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // run prints the overview for -h, and the error otherwise
	var cfg config
	fs.IntVar(&cfg.Keys, "keys", 100_000, "number of distinct keys (per mode), preloaded into the store before each mode")
	fs.Float64Var(&cfg.ReadRatio, "reads", 0.9, "fraction of operations that are reads (0..1)")
	fs.StringVar(&cfg.Dist, "dist", "zipf", "key distribution: uniform or zipf")
	fs.IntVar(&cfg.ValueSize, "value-size", 64, "value size in bytes (at least 8)")
	fs.IntVar(&cfg.Concurrency, "concurrency", 4, "concurrent load workers (spread over the nodes)")
	fs.DurationVar(&cfg.Duration, "duration", 3*time.Second, "run time per target or mode")
	fs.IntVar(&cfg.MaxOps, "max-ops", 50_000_000, "upper bound on operations per target or mode")
	fs.BoolVar(&cfg.JSON, "json", false, "print the report as JSON (n/a figures are null)")
	fs.BoolVar(&cfg.CSV, "csv", false, "print the report as CSV (a header, one row per target, or per mode and per node; n/a is empty)")
	fs.StringVar(&cfg.Plot, "plot", "", "cluster: write an SVG chart of the run's per-second figures to this .svg file")
	fs.StringVar(&cfg.Targets, "targets", strings.Join(targetNames, ","), "-nodes 1: comma-separated targets ("+strings.Join(targetNames, ", ")+"); otter-ttl is otter with the one-hour TTL warp's keys have")
	fs.IntVar(&cfg.Nodes, "nodes", 3, "nodes in this process (1: single-node targets; ≥2: a cluster)")
	fs.StringVar(&cfg.Modes, "modes", "strong-local,eventual,strong", "cluster: comma-separated modes to run")
	fs.Float64Var(&cfg.Rate, "rate", 0, "cluster: drive writes only, at this many writes/s in total (0: closed loop)")
	fs.DurationVar(&cfg.ProbeInterval, "probe-interval", time.Millisecond, "cluster: pause between the staleness probe's writes")
	fs.StringVar(&cfg.Store, "store", "memory", "primary store: memory, postgres, redis, or none (-nodes 1: keeps nothing, so the heap is the cache's)")
	fs.IntVar(&cfg.MaxMiB, "max-mib", 0, "memory bound of each Warp node's cache (and of the bigcache and otter targets) in MiB; 0: Warp's default, 256")
	fs.StringVar(&cfg.PostgresDSN, "postgres-dsn", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable", "-store postgres: the DSN (its password is never printed)")
	fs.StringVar(&cfg.RedisAddr, "redis-addr", "127.0.0.1:6379", "Redis address for -store redis and for a cluster's rueidis baseline")
	fs.StringVar(&cfg.NATS, "nats", "", "cluster: external NATS URL (e.g. nats://127.0.0.1:4222); default an embedded server")
	fs.StringVar(&cfg.Auth.Creds, "nats-creds", "", "-nats: a NATS credentials (.creds) file")
	fs.StringVar(&cfg.Auth.CA, "nats-tls-ca", "", "-nats: PEM file of the CA that signed the server's certificate")
	fs.StringVar(&cfg.Auth.Cert, "nats-tls-cert", "", "-nats: PEM client certificate (with -nats-tls-key)")
	fs.StringVar(&cfg.Auth.Key, "nats-tls-key", "", "-nats: PEM private key of -nats-tls-cert")
	fs.StringVar(&cfg.Auth.User, "nats-user", "", "-nats: user name; the password is read from $"+envNATSPassword+" (a token from $"+envNATSToken+")")
	fs.BoolVar(&cfg.Insecure, "insecure", false, "-nats: run the bus without a cluster key (any client of the server can then forge Warp's traffic; docs/security.md)")
	fs.BoolVar(&cfg.NATSInProcess, "nats-inprocess", false, "cluster, embedded server: the nodes and the raw NATS baseline reach it through an in-memory pipe "+
		"(natsbus.Options.InProcess) instead of 127.0.0.1")
	fs.BoolVar(&cfg.ProbeSpin, "probe-spin", false, "cluster: the staleness probe's readers (Warp's and the rueidis baseline's) read without pausing, "+
		"each keeping a processor busy (-nodes 2: one reader)")
	fs.BoolVar(&cfg.GenKey, "gen-key", false, "print a new cluster key for $"+envClusterKey+" and exit")
	fs.StringVar(&cfg.Cluster, "cluster", "warpbench", "cluster: name on the bus (and the shared store's table/prefix with -node-id)")
	fs.StringVar(&cfg.NodeID, "node-id", "", "multi-process: this process's node id (needs -nats, -nodes-expected and a shared -store)")
	fs.IntVar(&cfg.NodesExpected, "nodes-expected", 0, "multi-process: how many warp-bench processes form the cluster")
	fs.DurationVar(&cfg.JoinTimeout, "join-timeout", time.Minute, "multi-process: how long to wait for the other processes")
	fs.BoolVar(&cfg.L1Hits, "l1-hits", true, "count each Warp node's L1 hits through api.WithRecorder; a Recorder makes Warp time every miss and write "+
		"(about 0.25 µs a Set here): -l1-hits=false for latencies without it (the L1 hit ratio is then n/a)")
	fs.StringVar(&cfg.MetricsAddr, "metrics-addr", "", "serve Prometheus /metrics on this 127.0.0.1 address (port 0: any)")
	fs.StringVar(&cfg.CPUProfile, "cpuprofile", "", "write a CPU profile of the whole run to this file (go tool pprof)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printUsage(stderr, fs)
			return cfg, errHelp
		}
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected argument %q (flags only; -h lists them)", fs.Arg(0))
	}
	cfg.Auth.fromEnv()
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	if err := cfg.applicable(given); err != nil {
		return cfg, err
	}
	if cfg.multiProcess() {
		cfg.Nodes = 1
	}
	return cfg, cfg.validate()
}

// applicable rejects a flag given for a kind of run it does not change:
// silently ignored, it would make the user believe they measured what
// they asked for.
func (c config) applicable(given map[string]bool) error {
	single := c.Nodes == 1 && c.NodeID == ""
	clusterOnly := []string{"rate", "modes", "probe-interval", "nats", "cluster", "plot", "nats-inprocess", "probe-spin",
		"nats-creds", "nats-tls-ca", "nats-tls-cert", "nats-tls-key", "nats-user", "insecure"}
	for _, f := range clusterOnly {
		if given[f] && single {
			return fmt.Errorf("-%s: applies to a cluster (-nodes ≥ 2 or -node-id), not to -nodes 1", f)
		}
	}
	switch {
	case given["targets"] && !single:
		return fmt.Errorf("-targets: applies to -nodes 1 only; a cluster runs -modes")
	case given["nodes"] && c.NodeID != "":
		return fmt.Errorf("-nodes: with -node-id each process is one node; use -nodes-expected")
	case given["postgres-dsn"] && c.Store != "postgres":
		return fmt.Errorf("-postgres-dsn: applies to -store postgres only")
	case given["redis-addr"] && c.Store != "redis" && single:
		return fmt.Errorf("-redis-addr: applies to -store redis (and a cluster's rueidis baseline), not to -nodes 1 with -store %s", c.Store)
	case given["join-timeout"] && c.NodeID == "":
		return fmt.Errorf("-join-timeout: applies to -node-id (several processes) only")
	case c.NATSInProcess && c.NATS != "":
		return fmt.Errorf("-nats-inprocess: applies to the embedded server only; the server of -nats is in another process")
	case given["reads"] && given["rate"]:
		return fmt.Errorf("-reads: -rate drives writes only, so -reads does not apply")
	}
	if c.NATS == "" {
		for _, f := range []string{"nats-creds", "nats-tls-ca", "nats-tls-cert", "nats-tls-key", "nats-user", "insecure"} {
			if given[f] {
				return fmt.Errorf("-%s: applies with -nats only (the embedded server needs no credentials)", f)
			}
		}
		if c.Auth.password != "" || c.Auth.token != "" {
			return fmt.Errorf("$%s or $%s is set: applies with -nats only", envNATSPassword, envNATSToken)
		}
	}
	return nil
}
