package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/warpcache/warp/bus"
)

// svgElements parses an SVG and returns its elements' names and
// attributes; it fails the test on malformed XML.
func svgElements(t *testing.T, b []byte) []xml.StartElement {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(b))
	var out []xml.StartElement
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("malformed SVG: %v\n%s", err, b)
		}
		if se, ok := tok.(xml.StartElement); ok {
			out = append(out, se.Copy())
		}
	}
}

func attr(se xml.StartElement, name string) float64 {
	for _, a := range se.Attr {
		if a.Name.Local == name {
			v, _ := strconv.ParseFloat(a.Value, 64)
			return v
		}
	}
	return 0
}

// The chart draws every phase as a band (the baseline's too), each point
// inside its phase's band, and the coherence strip's counts.
func TestWriteSVG(t *testing.T) {
	t.Parallel()
	res := result{Config: config{Store: "memory", Modes: "eventual,strong"}, Timeline: []point{
		{Phase: "baseline", T0: 0, T: 1, Ops: 10, WriteP50us: some(100), WriteP99us: some(300)},
		{Phase: "eventual", T0: 1.5, T: 2.5, Ops: 10, WriteP50us: some(2), WriteP99us: some(9), LagP50us: some(50), LagP99us: some(900), StaleReads: 3},
		{Phase: "eventual", T0: 2.5, T: 2.8, Ops: 10, WriteP50us: some(3), WriteP99us: some(12), Repairs: 2, NoLeaseMs: 40},
		{Phase: "strong<&>", T0: 3, T: 4, Ops: 5, WriteP50us: some(300), WriteP99us: some(4000)},
	}}
	var b bytes.Buffer
	writeSVG(&b, res)
	els := svgElements(t, b.Bytes())
	if len(els) == 0 || els[0].Name.Local != "svg" {
		t.Fatalf("root element missing; want svg")
	}
	x := func(tm float64) float64 { return padL + tm/4*(svgW-padL-padR) }
	var bands, circles, stripBoxes int
	for _, se := range els {
		switch {
		case se.Name.Local == "rect" && attr(se, "y") == chartTop:
			bands++
		case se.Name.Local == "rect" && attr(se, "y") > stripTop:
			stripBoxes++
		case se.Name.Local == "circle":
			circles++
			cx := attr(se, "cx")
			inside := false
			for _, span := range [][2]float64{{0, 1}, {1.5, 2.8}, {3, 4}} {
				inside = inside || cx >= x(span[0])-0.1 && cx <= x(span[1])+0.1
			}
			if !inside {
				t.Errorf("a point at x=%.1f lies outside every phase", cx)
			}
		}
	}
	if bands != 3 {
		t.Errorf("%d phase bands; want 3 (baseline, eventual, strong)", bands)
	}
	if stripBoxes != 3 {
		t.Errorf("%d coherence boxes; want 3 (stale reads, repairs, lease loss)", stripBoxes)
	}
	if circles != 2+4+2+2 { // baseline p50/p99, eventual 2 s × write p50/p99 + one second's lag, strong write p50/p99
		t.Errorf("%d points drawn; want 10", circles)
	}
	var empty bytes.Buffer
	writeSVG(&empty, result{})
	svgElements(t, empty.Bytes())
}

// An operation or a lag sample after the phase's end counts in its last
// second, whose point ends with the phase: nothing reaches into the next.
func TestTimelineKeepsPointsInsidePhase(t *testing.T) {
	t.Parallel()
	runStart := time.Now()
	start := runStart.Add(10 * time.Second)
	tl := newTimeline("eventual", runStart, start, 2500*time.Millisecond)
	r := newSecRec(tl, nil)
	for _, at := range []time.Duration{100 * time.Millisecond, 1200 * time.Millisecond, 2400 * time.Millisecond, 2700 * time.Millisecond} {
		r.op(start.Add(at), 1000)
	}
	r.done()
	pts := tl.finish([]lagSample{{at: int64(3200 * time.Millisecond), lag: 5000}})
	if len(pts) != 3 {
		t.Fatalf("got %d points; want 3 (seconds 0, 1 and the last, partial one)", len(pts))
	}
	last := pts[2]
	if last.T0 != 12 || last.T != 12.5 || last.Ops != 2 || last.LagSamples != 1 {
		t.Errorf("last point %+v; want 12 s to 12.5 s with 2 ops and the late lag sample", last)
	}
}

func clusterResult() result {
	return result{
		Baseline: &rttReport{Name: "raw", P50us: some(100), P99us: some(300)},
		Rueidis:  &rueidisReport{Name: "rueidis", Skipped: "Redis at 127.0.0.1:1: refused"},
		Modes: []modeReport{
			{Mode: "strong-local", WriteP50us: some(2), PerNode: []nodeReport{{Node: "n0", NoLeaseMs: some(0), NoLeaseFraction: some(0), LeaseLosses: someCount(0)}}},
			{Mode: "eventual", WriteP50us: some(3), LagP50us: some(20000), LagP99us: some(90000), LagSamples: 10,
				StaleReads: someCount(4), ProbeReads: 100,
				PerNode: []nodeReport{{Node: "n0", NoLeaseMs: some(120), NoLeaseFraction: some(0.04), LeaseLosses: someCount(3), Repairs: 2, Reads: someCount(10), L1Hits: someCount(7), L1HitRatio: some(0.7)}}},
			{Mode: "strong", WriteP50us: some(300), PerNode: []nodeReport{{Node: "n0"}}},
		},
	}
}

// withRueidisP99 is res with a rueidis baseline whose lag p99 is us.
func withRueidisP99(res result, us float64) result {
	res.Rueidis = &rueidisReport{Name: "rueidis", LagP99us: some(us)}
	return res
}

// Notes come from the figures: the processor-wait note needs a closed
// loop holding every processor and an eventual lag well above the round
// trip; the lease note a node that had no lease.
func TestNotesFollowFigures(t *testing.T) {
	t.Parallel()
	procs := runtime.GOMAXPROCS(0)
	slowLag, fastLag := clusterResult(), clusterResult()
	fastLag.Modes[1].LagP50us = some(150) // 1.5 round trips: propagation, not waiting
	for _, tc := range []struct {
		name string
		cfg  config
		res  result
		want map[string]bool
	}{
		{"closed loop, slow lag", config{Concurrency: procs}, slowLag, map[string]bool{"wait for one": true, "without a coherence lease": true, "repairs": true}},
		{"closed loop, fast lag", config{Concurrency: procs}, fastLag, map[string]bool{"wait for one": false}},
		{"fixed rate", config{Concurrency: procs, Rate: 1000}, slowLag, map[string]bool{"wait for one": false}},
		{"a processor to spare", config{Concurrency: procs - 1}, slowLag, map[string]bool{"wait for one": false}},
		{"no lag measured", config{Concurrency: procs}, result{Baseline: slowLag.Baseline, Modes: []modeReport{{Mode: "eventual"}}}, map[string]bool{"wait for one": false, "lease": false}},
		{"readers spin on every processor", config{Rate: 1000, ProbeSpin: true, Nodes: procs + 1}, fastLag, map[string]bool{"spinning probe readers hold all": true}},
		{"spinning readers leave a processor", config{Rate: 1000, ProbeSpin: true, Nodes: procs}, fastLag, map[string]bool{"spinning probe readers": false}},
		{"sleeping readers", config{Rate: 1000, Nodes: procs + 1}, fastLag, map[string]bool{"spinning probe readers": false}},
		{"lag over TCP above rueidis", config{Rate: 1000}, withRueidisP99(fastLag, 100), map[string]bool{"NATS's own path": true}},
		{"lag over TCP under rueidis", config{Rate: 1000}, withRueidisP99(fastLag, 200000), map[string]bool{"NATS's own path": false}},
		{"lag over a pipe", config{Rate: 1000, NATSInProcess: true}, withRueidisP99(fastLag, 100), map[string]bool{"NATS's own path": false}},
		{"lag over an external server", config{Rate: 1000, NATS: "nats://127.0.0.1:4222"}, withRueidisP99(fastLag, 100), map[string]bool{"NATS's own path": false}},
		{"rueidis lag of 0", config{Rate: 1000}, withRueidisP99(fastLag, 0), map[string]bool{"NATS's own path": false}},
		{"closed loop", config{Concurrency: procs}, withRueidisP99(fastLag, 100), map[string]bool{"NATS's own path": false}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			notes := strings.Join(clusterNotes(tc.cfg, tc.res), "\n")
			for k, want := range tc.want {
				if got := strings.Contains(notes, k); got != want {
					t.Errorf("note %q printed = %v; want %v\n%s", k, got, want, notes)
				}
			}
		})
	}
}

// A figure without samples is n/a in the text, null in JSON and empty in
// CSV, never 0; CSV rows have the header's width.
func TestMissingFiguresAreNA(t *testing.T) {
	t.Parallel()
	res := clusterResult()
	res.Ratios, res.Targets = evalAll(clusterRatios, res), evalAll(clusterTargets, res)
	var text bytes.Buffer
	printCluster(&text, config{Concurrency: 1}, res)
	for _, want := range []string{"n/a", "rueidis baseline n/a: Redis at 127.0.0.1:1: refused", "not observed"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text report lacks %q:\n%s", want, text.String())
		}
	}
	js, err := json.Marshal(res.Modes[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"lag_p50_us":null`, `"stale_reads":null`, `"read_p50_us":null`} {
		if !strings.Contains(string(js), want) {
			t.Errorf("JSON lacks %s: %s", want, js)
		}
	}
	recs := csvRecords(t, res)
	col := map[string]int{}
	for i, c := range recs[0] {
		col[c] = i
	}
	kinds := map[string]int{}
	for _, r := range recs[1:] {
		kinds[r[0]]++
		if r[0] == "mode" && r[col["mode"]] == "strong-local" && r[col["lag_p50_us"]] != "" {
			t.Errorf("strong-local lag_p50_us = %q; want empty (n/a)", r[col["lag_p50_us"]])
		}
	}
	if kinds["mode"] != 3 || kinds["node"] != 3 || kinds["baseline"] == 0 || kinds["ratio"] != len(clusterRatios) || kinds["target"] != len(clusterTargets) {
		t.Errorf("CSV rows by kind %v; want 3 modes, 3 nodes, baselines, %d ratios, %d targets", kinds, len(clusterRatios), len(clusterTargets))
	}
}

// A process without a probe reader (the leader of a multi-process run,
// whose only node writes the probe) reports lag, unseen and stale reads
// as n/a, not 0.
func TestLeaderReportsOnlyWhatItMeasured(t *testing.T) {
	t.Parallel()
	c := &cluster{cfg: config{Duration: time.Second}, total: 3}
	start := time.Now()
	ph := &phase{c: c, mode: "eventual", start: start, end: start.Add(time.Second), rh: newHist(), wh: newHist()}
	p := newProbe("ev:probe", func() int64 { return 0 }, 0, 8, 16, 1)
	p.returned(1, 10)
	pres := p.results(nil, nil)
	rep := ph.report(pres, 1, bus.Stats{}, bus.Stats{}, p, nil)
	if rep.StaleReads != nil || rep.Unseen != nil || rep.LagP50us != nil || rep.BeforeReturn != nil || rep.ProbeReaders != 0 {
		t.Errorf("report %+v; want stale reads, unseen, lag and before-return n/a without a reader", rep)
	}
	res := result{Role: "leader", Modes: []modeReport{rep}}
	res.Targets = evalAll(clusterTargets, res)
	for _, x := range res.Targets {
		if x.Name == "eventual_lag_p99_us" && (x.Value != nil || x.Met != nil || x.Why != "no probe reader in this process") {
			t.Errorf("target %+v; want n/a: no probe reader in this process", x)
		}
	}
	var b bytes.Buffer
	printCluster(&b, config{NodeID: "a", NodesExpected: 3, Concurrency: 1}, res)
	if strings.Contains(b.String(), "observed 0") || !strings.Contains(b.String(), "not observed") {
		t.Errorf("report claims an observation it did not make:\n%s", b.String())
	}
}

// A row names existing columns only: an unknown name, or one without a
// value, panics instead of landing in column 0; the single-node report's
// rows (the cluster's are written in TestMissingFiguresAreNA) use none.
func TestCSVRowsColumns(t *testing.T) {
	t.Parallel()
	for _, kv := range [][]string{{"row", "mode", "no_such_column", "1"}, {"row", "mode", "ops"}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("add(%q) did not panic; want a panic", kv)
				}
			}()
			newCSVRows(clusterColumns).add(kv...)
		}()
	}
	res := result{Results: []report{{Target: "warp", ReadP50us: some(1)}, {Target: "map"}}}
	res.Ratios = evalAll(singleRatios(res.Results), res)
	res.Notes = []string{"a note"}
	recs := csvRecords(t, res)
	if len(recs) != 1+2+len(res.Ratios)+1 || recs[1][1] != "warp" || recs[1][len(singleColumns)-1] != "" {
		t.Errorf("CSV %q; want a header, 2 targets, %d ratios and a note", recs, len(res.Ratios))
	}
}

// ops/s and writes/s are over the load's own time, from the phase's start
// to the workers' return, not until the report (after the probe settled
// and the processes met at the end barrier).
func TestOpsPerSecOverLoadTime(t *testing.T) {
	t.Parallel()
	c := &cluster{cfg: config{Duration: 5 * time.Second}, total: 2}
	start := time.Now().Add(-10 * time.Second)
	ph := &phase{c: c, mode: "eventual", start: start, end: start.Add(2 * time.Second), rh: newHist(), wh: newHist()}
	ph.ops.Store(100)
	ph.writes.Store(40)
	p := newProbe("ev:probe", func() int64 { return 0 }, 0, 8, 16, 1)
	rep := ph.report(p.results(nil, nil), 0, bus.Stats{}, bus.Stats{}, p, nil)
	if rep.OpsPerSec != 50 || rep.WritesPerSec != 20 {
		t.Errorf("got %v ops/s, %v writes/s; want 50 and 20 (100 ops, 40 writes in the load's 2 s)", rep.OpsPerSec, rep.WritesPerSec)
	}
}

// csvRecords returns res as -csv writes it, parsed back into records.
func csvRecords(t *testing.T, res result) [][]string {
	t.Helper()
	var b bytes.Buffer
	if err := writeCSV(&b, res); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return recs
}
