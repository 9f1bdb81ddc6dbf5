// Command warp-bench drives a load against Warp and, in the same run,
// against baselines (raw bigcache and a locked Go map holding the same
// bytes), and reports throughput, latency percentiles (HDR histogram), hit
// ratio, allocations, heap and GC pauses.
//
//	go run ./cmd/warp-bench                      # defaults: 100k keys, 90% reads, zipf, 5s per target
//	go run ./cmd/warp-bench -json -duration 2s   # machine-readable report
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"time"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "warp-bench:", err)
		os.Exit(1)
	}
}

func run(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("warp-bench", flag.ContinueOnError)
	var cfg config
	fs.IntVar(&cfg.Keys, "keys", 100_000, "number of distinct keys")
	fs.Float64Var(&cfg.ReadRatio, "reads", 0.9, "fraction of operations that are reads (0..1)")
	fs.StringVar(&cfg.Dist, "dist", "zipf", "key distribution: uniform or zipf")
	fs.IntVar(&cfg.ValueSize, "value-size", 64, "value size in bytes")
	fs.IntVar(&cfg.Concurrency, "concurrency", 4, "concurrent workers")
	fs.DurationVar(&cfg.Duration, "duration", 3*time.Second, "run time per target")
	fs.IntVar(&cfg.MaxOps, "max-ops", 50_000_000, "upper bound on operations per target")
	fs.BoolVar(&cfg.JSON, "json", false, "print the report as JSON")
	fs.StringVar(&cfg.Targets, "targets", "warp,bigcache,map", "comma-separated targets to run")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := cfg.validate(); err != nil {
		return err
	}
	reports, err := runAll(cfg)
	if err != nil {
		return err
	}
	if cfg.JSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{"config": cfg, "results": reports})
	}
	printTable(out, cfg, reports)
	return nil
}
