package main

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
)

// The CSV report has the text report's figures, one kind of row after
// another, told apart by the first column: "target" rows (-nodes 1) or
// "mode" and "node" rows (a cluster), then "baseline", "ratio", "target"
// (held against a bound) and "note" rows. A column that does not apply
// to a row, or a figure without samples, is empty.
var (
	singleColumns = []string{"row", "target", "ops", "ops_per_sec", "read_p50_us", "read_p99_us", "read_p999_us",
		"write_p50_us", "write_p99_us", "l1_hit_ratio", "allocs_per_op", "heap_in_use_mib", "heap_over_payload",
		"gc_pause_p99_us", "errors", "name", "value", "bound", "met", "text"}
	clusterColumns = []string{"row", "mode", "node", "nodes", "quorum", "target_rate", "ops", "ops_per_sec", "writes_per_sec",
		"read_p50_us", "read_p99_us", "write_p50_us", "write_p99_us", "write_p999_us",
		"lag_source", "lag_p50_us", "lag_p99_us", "lag_max_us", "lag_samples", "applied_before_return", "unseen",
		"probe_reads", "stale_reads", "l1_hit_ratio", "errors",
		"no_lease_ms", "no_lease_fraction", "lease_losses", "repairs", "gaps", "reads",
		"name", "value", "bound", "met", "text"}
)

// csvRows builds rows by column name.
type csvRows struct {
	cols []string
	idx  map[string]int
	rows [][]string
}

func newCSVRows(cols []string) *csvRows {
	r := &csvRows{cols: cols, idx: map[string]int{}}
	for i, c := range cols {
		r.idx[c] = i
	}
	return r
}

// add appends a row from name, value pairs. A name that is not a column,
// or a name without a value, is a bug of the caller: it panics rather
// than write the value into the wrong column.
func (r *csvRows) add(kv ...string) {
	if len(kv)%2 != 0 {
		panic(fmt.Sprintf("csv: column %q without a value", kv[len(kv)-1]))
	}
	row := make([]string, len(r.cols))
	for i := 0; i < len(kv); i += 2 {
		c, ok := r.idx[kv[i]]
		if !ok {
			panic(fmt.Sprintf("csv: no column %q", kv[i]))
		}
		row[c] = kv[i+1]
	}
	r.rows = append(r.rows, row)
}

func i64(v int64) string  { return strconv.FormatInt(v, 10) }
func u64(v uint64) string { return strconv.FormatUint(v, 10) }
func f64(v float64) string {
	return strconv.FormatFloat(v, 'f', 3, 64)
}

func csvBool(b *bool) string {
	if b == nil {
		return ""
	}
	return strconv.FormatBool(*b)
}

// writeCSV writes the header and the rows of res.
func writeCSV(out io.Writer, res result) error {
	var r *csvRows
	if len(res.Results) > 0 {
		r = newCSVRows(singleColumns)
		for _, t := range res.Results {
			r.add("row", "target", "target", t.Target, "ops", i64(t.Ops), "ops_per_sec", f64(t.OpsPerSec),
				"read_p50_us", csvF(t.ReadP50us), "read_p99_us", csvF(t.ReadP99us), "read_p999_us", csvF(t.ReadP999us),
				"write_p50_us", csvF(t.WriteP50us), "write_p99_us", csvF(t.WriteP99us), "l1_hit_ratio", csvF(t.L1HitRatio),
				"allocs_per_op", f64(t.AllocsOp), "heap_in_use_mib", f64(t.HeapMiB), "heap_over_payload", f64(t.HeapX),
				"gc_pause_p99_us", csvF(t.GCPauseP99), "errors", i64(t.Errors))
		}
	} else {
		r = newCSVRows(clusterColumns)
		for _, m := range res.Modes {
			r.add("row", "mode", "mode", m.Mode, "nodes", strconv.Itoa(m.Nodes), "quorum", strconv.Itoa(m.Quorum),
				"target_rate", f64(m.TargetRate), "ops", i64(m.Ops), "ops_per_sec", f64(m.OpsPerSec), "writes_per_sec", f64(m.WritesPerSec),
				"read_p50_us", csvF(m.ReadP50us), "read_p99_us", csvF(m.ReadP99us), "write_p50_us", csvF(m.WriteP50us),
				"write_p99_us", csvF(m.WriteP99us), "write_p999_us", csvF(m.WriteP999us), "lag_source", m.LagSource,
				"lag_p50_us", csvF(m.LagP50us), "lag_p99_us", csvF(m.LagP99us), "lag_max_us", csvF(m.LagMaxus),
				"lag_samples", i64(m.LagSamples), "applied_before_return", csvC(m.BeforeReturn), "unseen", csvC(m.Unseen),
				"probe_reads", i64(m.ProbeReads), "stale_reads", csvC(m.StaleReads), "l1_hit_ratio", csvF(m.L1HitRatio),
				"errors", i64(m.Errors), "text", m.FirstError)
			for _, n := range m.PerNode {
				r.add("row", "node", "mode", m.Mode, "node", n.Node, "no_lease_ms", csvF(n.NoLeaseMs),
					"no_lease_fraction", csvF(n.NoLeaseFraction), "lease_losses", csvC(n.LeaseLosses),
					"repairs", u64(n.Repairs), "gaps", u64(n.Gaps), "reads", csvC(n.Reads), "l1_hit_ratio", csvF(n.L1HitRatio))
			}
		}
		baselineRows(r, res)
	}
	for _, kind := range []struct {
		row string
		rs  []ratioResult
	}{{"ratio", res.Ratios}, {"target", res.Targets}} {
		for _, x := range kind.rs {
			r.add("row", kind.row, "name", x.Name, "value", csvF(x.Value), "bound", csvF(x.Target), "met", csvBool(x.Met), "text", x.Why)
		}
	}
	for _, n := range res.Notes {
		r.add("row", "note", "text", n)
	}
	w := csv.NewWriter(out)
	_ = w.Write(r.cols)
	_ = w.WriteAll(r.rows)
	return w.Error()
}

// baselineRows adds the baselines' figures as name, value rows.
func baselineRows(r *csvRows, res result) {
	if b := res.Baseline; b != nil {
		r.add("row", "baseline", "name", "raw_rtt_p50_us", "value", csvF(b.P50us), "text", b.Name)
		r.add("row", "baseline", "name", "raw_rtt_p99_us", "value", csvF(b.P99us), "text", b.Name)
	}
	if x := res.Rueidis; x != nil {
		r.add("row", "baseline", "name", "rueidis_lag_p50_us", "value", csvF(x.LagP50us), "text", x.Name+" "+x.Skipped)
		r.add("row", "baseline", "name", "rueidis_lag_p99_us", "value", csvF(x.LagP99us), "text", x.Name+" "+x.Skipped)
		r.add("row", "baseline", "name", "rueidis_lag_samples", "value", i64(x.LagSamples), "text", x.Name+" "+x.Skipped)
	}
}
