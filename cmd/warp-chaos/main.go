// Command warp-chaos is Warp's multi-process fault suite. Run as the
// controller (the default), it starts NATS servers in-process, one fault
// proxy per node, and the nodes themselves as child processes (itself,
// re-executed as `warp-chaos node ...`), drives a load through them while
// it injects faults (pauses, partitions, one-way cuts, NATS restarts,
// kills, latency, clock jumps), and checks the history: linearizability
// of StrongDistributed keys, staleness of EventualDistributed reads, no
// phantom or lost write, convergence after the last heal. It prints one
// table row per scenario and exits 1 if any check failed, or if the
// canary, a scenario run on nodes broken on purpose, passed them all.
//
//	go run ./cmd/warp-chaos                       # the full profile (make chaos)
//	go run ./cmd/warp-chaos -profile short        # every scenario once, within 10 minutes (CI)
//	go run ./cmd/warp-chaos -only 'partition' -runs 2
//	go run ./cmd/warp-chaos -list                 # the scenarios
//
// It needs PostgreSQL on 127.0.0.1:5432 (database test, trust auth; -dsn
// to change). docs/reliability.md describes the suite.
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"regexp"
	"syscall"
	"time"

	"github.com/warpcache/warp/internal/chaos"
	"github.com/warpcache/warp/internal/chaos/node"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "warp-chaos:", err)
		os.Exit(1)
	}
}

// errFailed is returned when a check failed; the report says which.
var errFailed = errors.New("some checks failed (see the report above)")

func run(args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "node" {
		return node.Run(args[1:], stdout, stderr)
	}
	o := chaos.Options{Logf: func(f string, a ...any) {
		fmt.Fprintf(stderr, "%s "+f+"\n", append([]any{time.Now().Format("15:04:05")}, a...)...)
	}}
	fs := flag.NewFlagSet("warp-chaos", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.Profile, "profile", cmp.Or(os.Getenv("CHAOS_PROFILE"), "full"), "short (every scenario once, within 10 minutes) or full (pauses and 30 s partitions five times); default $CHAOS_PROFILE or full")
	only := fs.String("only", "", "run only the scenarios matching this regexp (at least once each)")
	fs.IntVar(&o.Runs, "runs", 0, "runs per scenario (0: the profile's)")
	fs.StringVar(&o.DSN, "dsn", cmp.Or(os.Getenv("WARP_POSTGRES_DSN"), "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"), "PostgreSQL DSN (loopback hosts only)")
	fs.StringVar(&o.OutDir, "out", "", "directory for logs and evidence (default: a new directory under $TMPDIR)")
	fs.DurationVar(&o.StaleBound, "stale-bound", node.StalenessBound(), "eventual staleness bound; the default is the nodes' LeaseDuration/(1−ρ) + LeaseMargin")
	fs.IntVar(&o.Nodes, "nodes", 3, "nodes per cluster")
	fs.IntVar(&o.ClientsPerNode, "clients", 2, "clients per node")
	fs.Uint64Var(&o.Seed, "seed", uint64(time.Now().UnixNano()), "seed of the load's choices")
	list := fs.Bool("list", false, "list the scenarios and exit")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *list {
		for _, sc := range chaos.Scenarios() {
			fmt.Fprintf(stdout, "%-22s full ×%d  %s\n", sc.Name, sc.FullRuns, sc.Doc)
		}
		return nil
	}
	if *only != "" {
		re, err := regexp.Compile(*only)
		if err != nil {
			return fmt.Errorf("-only: %w", err)
		}
		o.Only = re
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	o.Exe = exe
	if o.OutDir == "" {
		if o.OutDir, err = os.MkdirTemp("", "warp-chaos-"+time.Now().Format("20060102-150405-")); err != nil {
			return err
		}
	}
	// The first signal cancels ctx, which stops the run and cleans up; it
	// also restores the default handling, so a second one exits at once.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	context.AfterFunc(ctx, stop)
	fmt.Fprintf(stderr, "warp-chaos: profile %s, seed %d, evidence in %s\n", o.Profile, o.Seed, o.OutDir)
	ok, err := chaos.Run(ctx, o, stdout)
	if err != nil {
		return err
	}
	if !ok {
		return errFailed
	}
	return nil
}
