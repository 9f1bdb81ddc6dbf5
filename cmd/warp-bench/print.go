package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strconv"
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
		printTable(out, cfg, res.Results)
	default:
		printCluster(out, cfg, res)
	}
	return nil
}

func printTable(out io.Writer, cfg config, reps []report) {
	fmt.Fprintf(out, "warp-bench: %d keys, %.0f%% reads, %s, %d-byte values, %d workers, %v per target\n\n",
		cfg.Keys, cfg.ReadRatio*100, cfg.Dist, cfg.ValueSize, cfg.Concurrency, cfg.Duration)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "target\tops/s\tread p50 µs\tp99\tp999\twrite p50 µs\tp99\thit ratio\tallocs/op\theap MiB\t× payload\tGC p99 µs\terrors\t")
	for _, r := range reps {
		fmt.Fprintf(tw, "%s\t%.0f\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%.3f\t%.2f\t%.1f\t%.2f\t%.0f\t%d\t\n",
			r.Target, r.OpsPerSec, r.ReadP50us, r.ReadP99us, r.ReadP999us, r.WriteP50us, r.WriteP99us,
			r.HitRatio, r.AllocsOp, r.HeapMiB, r.HeapX, r.GCPauseP99, r.Errors)
	}
	_ = tw.Flush()
	if len(reps) > 1 {
		fmt.Fprintln(out, "\nthroughput relative to the first target:")
		for _, r := range reps[1:] {
			fmt.Fprintf(out, "  %s / %s = %.2f\n", reps[0].Target, r.Target, reps[0].OpsPerSec/r.OpsPerSec)
		}
	}
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
	fmt.Fprintf(out, "warp-bench: %d nodes, store %s, %d keys, %s, %d-byte values, %d workers, %v per mode\n",
		n, cfg.Store, cfg.Keys, load, cfg.ValueSize, cfg.Concurrency, cfg.Duration)
	if res.Role != "" {
		fmt.Fprintf(out, "this process: node %s (%s); figures are this process's\n", cfg.NodeID, res.Role)
	}
	if b := res.Baseline; b != nil {
		fmt.Fprintf(out, "baseline: %s: p50 %.1fµs p99 %.1fµs (%d round trips, %d errors)\n", b.Name, b.P50us, b.P99us, b.Ops, b.Errors)
	}
	fmt.Fprintln(out)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "mode\tops/s\twrites/s\tread p50 µs\tp99\twrite p50 µs\tp99\tlag p50 µs\tp99\tmax\tbefore return\tunseen\tstale reads\terrors\t")
	for _, m := range res.Modes {
		fmt.Fprintf(tw, "%s\t%.0f\t%.0f\t%.2f\t%.2f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%d/%d\t%d\t%d/%d\t%d\t\n",
			m.Mode, m.OpsPerSec, m.WritesPerSec, m.ReadP50us, m.ReadP99us, m.WriteP50us, m.WriteP99us,
			m.LagP50us, m.LagP99us, m.LagMaxus, m.BeforeReturn, m.LagSamples, m.Unseen, m.StaleReads, m.ProbeReads, m.Errors)
	}
	_ = tw.Flush()
	if starved(cfg, res) {
		fmt.Fprintf(out, "\nlag under a closed loop: %d workers that never block hold all %d processors, so the goroutines that\n"+
			"carry an invalidation (the publish pump, nats.go's flusher, the server's and the peers' read loops) wait\n"+
			"for one; the lag is mostly that wait. -rate N measures propagation (docs/performance.md).\n",
			cfg.Concurrency, runtime.GOMAXPROCS(0))
	}
	fmt.Fprintln(out, "\nstale reads expected:")
	for _, m := range res.Modes {
		fmt.Fprintf(out, "  %-12s %s; observed %d\n", m.Mode, m.StaleExpected, m.StaleReads)
		if m.FirstError != "" {
			fmt.Fprintf(out, "  %-12s first error: %s\n", "", m.FirstError)
		}
	}
	if len(res.Ratios) > 0 {
		fmt.Fprintln(out, "\nratios to the baselines of this run:")
		keys := make([]string, 0, len(res.Ratios))
		for k := range res.Ratios {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			fmt.Fprintf(out, "  %-44s %.2f\n", k, res.Ratios[k])
		}
	}
}

// writeCSV writes a header and one row per target (single node) or mode
// (cluster); a cluster's rows carry the run's baseline and ratios.
func writeCSV(out io.Writer, res result) error {
	w := csv.NewWriter(out)
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', 3, 64) }
	i := func(v int64) string { return strconv.FormatInt(v, 10) }
	if len(res.Results) > 0 {
		_ = w.Write([]string{"target", "ops", "ops_per_sec", "read_p50_us", "read_p99_us", "read_p999_us",
			"write_p50_us", "write_p99_us", "hit_ratio", "allocs_per_op", "heap_in_use_mib", "heap_over_payload", "gc_pause_p99_us", "errors"})
		for _, r := range res.Results {
			_ = w.Write([]string{r.Target, i(r.Ops), f(r.OpsPerSec), f(r.ReadP50us), f(r.ReadP99us), f(r.ReadP999us),
				f(r.WriteP50us), f(r.WriteP99us), f(r.HitRatio), f(r.AllocsOp), f(r.HeapMiB), f(r.HeapX), f(r.GCPauseP99), i(r.Errors)})
		}
	} else {
		_ = w.Write([]string{"mode", "nodes", "quorum", "target_rate", "ops", "ops_per_sec", "writes_per_sec",
			"read_p50_us", "read_p99_us", "write_p50_us", "write_p99_us", "lag_p50_us", "lag_p99_us", "lag_max_us",
			"lag_samples", "applied_before_return", "unseen", "probe_reads", "stale_reads", "errors", "raw_rtt_p50_us", "raw_rtt_p99_us",
			"write_p50_over_raw_rtt_p50"})
		var b rttReport
		if res.Baseline != nil {
			b = *res.Baseline
		}
		for _, m := range res.Modes {
			ratio := 0.0
			if b.P50us > 0 {
				ratio = m.WriteP50us / b.P50us
			}
			_ = w.Write([]string{m.Mode, strconv.Itoa(m.Nodes), strconv.Itoa(m.Quorum), f(m.TargetRate), i(m.Ops),
				f(m.OpsPerSec), f(m.WritesPerSec), f(m.ReadP50us), f(m.ReadP99us), f(m.WriteP50us), f(m.WriteP99us),
				f(m.LagP50us), f(m.LagP99us), f(m.LagMaxus), i(m.LagSamples), i(m.BeforeReturn), i(m.Unseen), i(m.ProbeReads),
				i(m.StaleReads), i(m.Errors), f(b.P50us), f(b.P99us), f(ratio)})
		}
	}
	w.Flush()
	return w.Error()
}

// starved reports whether a cluster run's eventual lag includes waiting
// for a processor: a closed loop with at least as many workers as
// processors. (A strong write's invalidation is applied before Set
// returns, whatever the load.)
func starved(cfg config, res result) bool {
	if cfg.Rate > 0 || cfg.Concurrency < runtime.GOMAXPROCS(0) {
		return false
	}
	for _, m := range res.Modes {
		if m.Mode == "eventual" && m.LagSamples > 0 {
			return true
		}
	}
	return false
}
