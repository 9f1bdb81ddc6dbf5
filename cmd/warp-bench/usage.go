package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
)

const overview = `warp-bench drives a load against Warp and, in the same run, against the
baselines a user would pick instead, and reports each figure as a ratio to
them (docs/performance.md has the figures and the commands).

What it runs
  cluster (-nodes N ≥ 2, the default 3; or one node per process with -node-id):
    an embedded NATS server (or -nats URL), N Warp nodes with a connection
    each (over 127.0.0.1, or an in-memory pipe with -nats-inprocess), one
    shared store (-store). Phases, in order:
      baseline   raw NATS (N-1)-of-N ack round trip: the network floor of a
                 strong write
      each mode  (-modes) strong-local, eventual, strong (quorum N-1): the
                 -keys keys are preloaded into the store (batched), then
                 -concurrency workers run a closed loop of -reads reads (or
                 -rate writes/s, writes only) for -duration, while a probe
                 writes one key every -probe-interval on the first node and
                 the other nodes measure the lag and count stale reads (their
                 readers sleep briefly between reads, or spin with -probe-spin)
      rueidis    with eventual mode: Redis client-side caching (rueidis,
                 tracking) against -redis-addr at the eventual phase's
                 measured write rate: its invalidation lag; n/a, with the
                 reason, without Redis
  single node (-nodes 1): -targets warp, otter (with and without a TTL),
    bigcache and a locked map,
    each preloaded with -keys keys, then -concurrency workers for -duration.

Cluster columns (per mode)
  ops/s, writes/s        operations completed per second, writes among them
  read, write p50/p99    latency of the load's Gets and Sets, µs
  lag p50/p99/max        probe write's Set return → the reader node applied its
                         invalidation ("apply"; or first read it, "first-read",
                         across processes), µs; 0 if applied before Set returned
  before return          lag samples applied before their Set returned (all of
                         them in strong mode: the check of its promise)
  unseen                 probe writes × reader nodes never applied in the phase
  stale reads            probe reads older than the newest write whose Set had
                         returned / probe reads
  L1 hit ratio           reads the nodes served from L1 (their own counters: a
                         miss, or a strong key without a lease, reads the store;
                         -l1-hits, whose Recorder makes Warp time every miss
                         and write: -l1-hits=false leaves it out, n/a)
Coherence columns (per node and mode)
  no lease ms, %         time the node had no coherence lease (sampled every 1ms)
  lease losses           samples where a valid lease had lapsed
  repairs, gaps          the bus's repair flushes and sequence gaps in the phase
  reads, L1 hit ratio    the node's Gets and the share L1 served
Single-node columns
  read, write p50/p99/p999, ops/s; L1 hit ratio (Warp: its counters; the others:
  found keys); allocs/op; heap MiB after the run and × payload; GC pause p99.

A figure without samples prints n/a (null in -json, empty in -csv), never 0.
Ratios and targets (each ≤ its target; "reported" has no target yet):
`

// printUsage prints the overview, the ratios with their targets, the
// rules of the notes, and the flags.
func printUsage(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprint(w, overview)
	for _, defs := range [][]ratioDef{clusterRatios, clusterTargets} {
		for _, d := range defs {
			fmt.Fprintf(w, "  %-46s %-10s %s\n", d.name, targetText(d.target), d.what)
		}
	}
	fmt.Fprintf(w, "  %-46s %-10s %s\n", "warp_read_p50_over_bigcache_read_p50", targetText(some(targetReadP50OverBigcacheP50)),
		"-nodes 1: warp read p50 / bigcache's (the Get-hit target)")
	fmt.Fprintf(w, "  %-46s %-10s %s\n", "warp_{read,write}_p50_over_<target>_…", "reported", "-nodes 1: warp / "+strings.Join(targetNames[1:], ", ")+"; warp_ops_per_sec_over_<target>")
	fmt.Fprintln(w, "\nNotes under a cluster report are printed only when their rule holds:")
	for _, r := range noteRules {
		fmt.Fprintf(w, "  - %s\n", r.rule)
	}
	fmt.Fprintf(w, "\nSecrets: NATS passwords come from $%s (with -nats-user) or a token from $%s;\n"+
		"passwords in -nats and -postgres-dsn are never printed.\n", envNATSPassword, envNATSToken)
	fmt.Fprintln(w, "SIGINT or SIGTERM stops the run and removes what it wrote (tables, keys); a second one quits at once.")
	fmt.Fprintln(w, "\nUsage: warp-bench [flags]")
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}

func targetText(t figure) string {
	if t == nil {
		return "reported"
	}
	return fmt.Sprintf("≤ %g", *t)
}
