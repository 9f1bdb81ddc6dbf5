package main

import (
	"fmt"
	"io"
	"text/tabwriter"
)

func printTable(out io.Writer, cfg config, reps []report) {
	fmt.Fprintf(out, "warp-bench: %d keys, %.0f%% reads, %s, %d-byte values, %d workers, %v per target\n\n",
		cfg.Keys, cfg.ReadRatio*100, cfg.Dist, cfg.ValueSize, cfg.Concurrency, cfg.Duration)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "target\tops/s\tread p50 µs\tp99\tp999\twrite p50 µs\tp99\thit ratio\tallocs/op\theap MiB\tGC p99 µs\terrors\t")
	for _, r := range reps {
		fmt.Fprintf(tw, "%s\t%.0f\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%.3f\t%.2f\t%.1f\t%.0f\t%d\t\n",
			r.Target, r.OpsPerSec, r.ReadP50us, r.ReadP99us, r.ReadP999us, r.WriteP50us, r.WriteP99us,
			r.HitRatio, r.AllocsOp, r.HeapMiB, r.GCPauseP99, r.Errors)
	}
	_ = tw.Flush()
	if len(reps) > 1 {
		fmt.Fprintln(out, "\nthroughput relative to the first target:")
		for _, r := range reps[1:] {
			fmt.Fprintf(out, "  %s / %s = %.2f\n", reps[0].Target, r.Target, reps[0].OpsPerSec/r.OpsPerSec)
		}
	}
}
