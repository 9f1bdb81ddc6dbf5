package main

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
)

// writeResult prints res as JSON, CSV or tables.
func writeResult(out io.Writer, cfg config, res result) error {
	switch {
	case cfg.JSON:
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	case cfg.CSV:
		return writeCSV(out, res)
	case len(res.Results) > 0:
		printTable(out, cfg, res)
	default:
		printCluster(out, cfg, res)
	}
	return nil
}

func printTable(out io.Writer, cfg config, res result) {
	fmt.Fprintf(out, "warp-bench: %d keys (preloaded into each target), %.0f%% reads, %s, %d-byte values, %d workers, %v per target, store %s\n\n",
		cfg.Keys, cfg.ReadRatio*100, cfg.Dist, cfg.ValueSize, cfg.Concurrency, cfg.Duration, cfg.Store)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "target\tops/s\tread p50 µs\tp99\tp999\twrite p50 µs\tp99\tL1 hit ratio\tallocs/op\theap MiB\t× payload\tGC p99 µs\terrors\t")
	for _, r := range res.Results {
		fmt.Fprintf(tw, "%s\t%.0f\t%s\t%s\t%s\t%s\t%s\t%s\t%.2f\t%.1f\t%.2f\t%s\t%d\t\n",
			r.Target, r.OpsPerSec, fmtF(r.ReadP50us, 2), fmtF(r.ReadP99us, 2), fmtF(r.ReadP999us, 2),
			fmtF(r.WriteP50us, 2), fmtF(r.WriteP99us, 2), fmtF(r.L1HitRatio, 3), r.AllocsOp, r.HeapMiB, r.HeapX,
			fmtF(r.GCPauseP99, 0), r.Errors)
	}
	_ = tw.Flush()
	printRatios(out, "\nwarp's ratios to the other targets of this run", res.Ratios)
}

func printCluster(out io.Writer, cfg config, res result) {
	load := fmt.Sprintf("%.0f%% reads, %s, closed loop", cfg.ReadRatio*100, cfg.Dist)
	if cfg.Rate > 0 {
		load = fmt.Sprintf("writes only at %.0f/s, %s", cfg.Rate, cfg.Dist)
	}
	n := cfg.Nodes
	if cfg.multiProcess() {
		n = cfg.NodesExpected
	}
	fmt.Fprintf(out, "warp-bench: %d nodes, store %s, %d keys preloaded per mode, %s, %d-byte values, %d workers, %v per mode\n",
		n, cfg.Store, cfg.Keys, load, cfg.ValueSize, cfg.Concurrency, cfg.Duration)
	if cfg.NATSInProcess {
		fmt.Fprintln(out, "NATS: the nodes and the raw baseline reach the embedded server in-process (a pipe, not 127.0.0.1)")
	}
	if cfg.ProbeSpin {
		fmt.Fprintln(out, "probe readers spin: each keeps a processor busy (Warp's and rueidis's)")
	}
	if res.Role != "" {
		fmt.Fprintf(out, "this process: node %s (%s); figures are this process's: what it did not measure is n/a\n", cfg.NodeID, res.Role)
	}
	printBaselines(out, res)
	fmt.Fprintln(out)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "mode\tops/s\twrites/s\tread p50 µs\tp99\twrite p50 µs\tp99\tlag p50 µs\tp99\tmax\tbefore return\tunseen\tstale reads\tL1 hit ratio\terrors\t")
	for _, m := range res.Modes {
		fmt.Fprintf(tw, "%s\t%.0f\t%.0f\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t\n",
			m.Mode, m.OpsPerSec, m.WritesPerSec, fmtF(m.ReadP50us, 2), fmtF(m.ReadP99us, 2),
			fmtF(m.WriteP50us, 1), fmtF(m.WriteP99us, 1), fmtF(m.LagP50us, 1), fmtF(m.LagP99us, 1), fmtF(m.LagMaxus, 1),
			ofSamples(m.BeforeReturn, m.LagSamples), fmtC(m.Unseen), ofSamples(m.StaleReads, m.ProbeReads),
			fmtF(m.L1HitRatio, 3), m.Errors)
	}
	_ = tw.Flush()
	printCoherence(out, res.Modes)
	fmt.Fprintln(out, "\nstale reads expected:")
	for _, m := range res.Modes {
		observed := "observed " + fmtC(m.StaleReads)
		if m.StaleReads == nil {
			observed = "not observed: no probe reader in this process"
		}
		fmt.Fprintf(out, "  %-12s %s; %s\n", m.Mode, m.StaleExpected, observed)
		if m.FirstError != "" {
			fmt.Fprintf(out, "  %-12s first error: %s\n", "", m.FirstError)
		}
	}
	printRatios(out, "\nratios to the baselines of this run", res.Ratios)
	printRatios(out, "\ntargets", res.Targets)
	if len(res.Notes) > 0 {
		fmt.Fprintln(out, "\nnotes (each printed only when its rule holds; warp-bench -h lists the rules):")
		for _, n := range res.Notes {
			fmt.Fprintf(out, "  - %s\n", n)
		}
	}
}

// ofSamples prints "n/total", or n/a.
func ofSamples(n count, total int64) string {
	if n == nil {
		return "n/a"
	}
	return fmt.Sprintf("%d/%d", *n, total)
}

func printBaselines(out io.Writer, res result) {
	if b := res.Baseline; b != nil {
		fmt.Fprintf(out, "baseline: %s: p50 %sµs p99 %sµs (%d round trips, %d errors)\n", b.Name, fmtF(b.P50us, 1), fmtF(b.P99us, 1), b.Ops, b.Errors)
	}
	r := res.Rueidis
	switch {
	case r == nil:
	case r.Skipped != "":
		fmt.Fprintf(out, "baseline: %s: n/a (%s)\n", r.Name, r.Skipped)
	default:
		fmt.Fprintf(out, "baseline: %s: invalidation lag p50 %sµs p99 %sµs max %sµs (%d samples from %d probe writes × %d readers, %d untracked; %s before return), %.0f writes/s for %.0f wanted, %d errors\n",
			r.Name, fmtF(r.LagP50us, 1), fmtF(r.LagP99us, 1), fmtF(r.LagMaxus, 1), r.LagSamples, r.ProbeWrites, r.Readers,
			r.Untracked, fmtC(r.BeforeReturn), r.WritesPerSec, r.TargetRate, r.Errors)
		if r.FirstError != "" {
			fmt.Fprintf(out, "          first error: %s\n", r.FirstError)
		}
	}
}

// printCoherence prints every node's coherence in every mode.
func printCoherence(out io.Writer, modes []modeReport) {
	fmt.Fprintf(out, "\ncoherence per node (lease sampled every %v; L1 hits from the node's own read counters, -l1-hits):\n", leaseTick)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "mode\tnode\tno lease ms\t% of phase\tlease losses\trepairs\tgaps\treads\tL1 hit ratio\t")
	for _, m := range modes {
		for _, n := range m.PerNode {
			pct := "n/a"
			if n.NoLeaseFraction != nil {
				pct = fmt.Sprintf("%.1f%%", *n.NoLeaseFraction*100)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%d\t%s\t%s\t\n", m.Mode, n.Node, fmtF(n.NoLeaseMs, 1), pct,
				fmtC(n.LeaseLosses), n.Repairs, n.Gaps, fmtC(n.Reads), fmtF(n.L1HitRatio, 3))
		}
	}
	_ = tw.Flush()
}

// printRatios prints figures against their targets.
func printRatios(out io.Writer, title string, rs []ratioResult) {
	if len(rs) == 0 {
		return
	}
	fmt.Fprintf(out, "%s:\n", title)
	for _, r := range rs {
		fmt.Fprintf(out, "  %-46s %10s  %s\n", r.Name, fmtF(r.Value, 2), verdict(r))
	}
}

// verdict says how a figure stands against its target.
func verdict(r ratioResult) string {
	switch {
	case r.Value == nil:
		return "(" + r.Why + ")"
	case r.Target == nil && r.Why != "":
		return "(reported: " + r.Why + ")"
	case r.Target == nil:
		return "(reported; no target)"
	case *r.Met:
		return fmt.Sprintf("target ≤ %g: met", *r.Target)
	}
	return fmt.Sprintf("target ≤ %g: NOT met", *r.Target)
}
