package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

func TestRunClusterJSON(t *testing.T) {
	t.Parallel()
	var out, errOut bytes.Buffer
	err := run([]string{"-nodes", "3", "-duration", "300ms", "-keys", "1000", "-concurrency", "2", "-json"}, &out, &errOut)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, errOut.String())
	}
	var res result
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("bad JSON: %v\n%s", err, out.String())
	}
	if b := res.Baseline; b == nil || b.Ops == 0 || b.Errors != 0 || b.Acks != 2 || b.P50us <= 0 {
		t.Errorf("baseline %+v; want 2-ack round trips, no errors", b)
	}
	if len(res.Modes) != 3 {
		t.Fatalf("got %d modes; want strong-local, eventual and strong", len(res.Modes))
	}
	for _, m := range res.Modes {
		if m.Ops == 0 || m.Writes == 0 || m.Errors != 0 || m.WriteP50us <= 0 || m.ProbeWrites == 0 || m.ProbeReads == 0 {
			t.Errorf("%s: %+v; want ops, writes, probe reads and writes, no errors", m.Mode, m)
		}
	}
	if s := res.Modes[2]; s.Mode != "strong" || s.StaleReads != 0 || s.Quorum != 2 {
		t.Errorf("strong: mode %q, quorum %d, stale reads %d; want quorum 2 and 0 stale reads", s.Mode, s.Quorum, s.StaleReads)
	} else if s.LagSamples == 0 || s.BeforeReturn != s.LagSamples {
		t.Errorf("strong: %d of %d lag samples applied before Set returned; want all, and some", s.BeforeReturn, s.LagSamples)
	}
	if e := res.Modes[1]; e.LagSamples == 0 || e.LagSource != "apply" || e.Unseen != 0 {
		t.Errorf("eventual: %d lag samples from %q, %d unseen; want every probe write applied on both other nodes, timed by their listeners", e.LagSamples, e.LagSource, e.Unseen)
	} else if want := 2 * e.ProbeWrites; e.LagSamples != want {
		t.Errorf("eventual: %d lag samples for %d probe writes; want %d (one per write and reader node)", e.LagSamples, e.ProbeWrites, want)
	}
	for _, k := range []string{"strong_set_p50_over_raw_rtt_p50", "eventual_set_p50_over_strong_local_set_p50"} {
		if res.Ratios[k] <= 0 {
			t.Errorf("ratio %s = %v; want > 0", k, res.Ratios[k])
		}
	}
	if len(res.Timeline) == 0 {
		t.Error("no timeline points")
	}
}

func TestRunSingleNodeJSON(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	err := run([]string{"-nodes", "1", "-keys", "1000", "-duration", "100ms", "-concurrency", "2", "-json"}, &out, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var res result
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("bad JSON: %v\n%s", err, out.String())
	}
	if len(res.Results) != 3 {
		t.Fatalf("got %d results; want warp, bigcache and map", len(res.Results))
	}
	for _, r := range res.Results {
		if r.Ops == 0 || r.Errors != 0 || r.HitRatio < 0.99 {
			t.Errorf("%s: ops %d, errors %d, hit ratio %v; want ops > 0, no errors, all hits", r.Target, r.Ops, r.Errors, r.HitRatio)
		}
	}
}

// With -store none the warp target's heap is its cache alone, given as a
// multiple of the payload; -cpuprofile writes a profile of the run. The
// heap is the process's, so this test does not run in parallel: another
// test's garbage freed during the run made the figure negative.
func TestRunSingleNodeMemory(t *testing.T) {
	var out bytes.Buffer
	prof := filepath.Join(t.TempDir(), "cpu.prof")
	err := run([]string{"-nodes", "1", "-targets", "warp", "-store", "none", "-max-mib", "8",
		"-keys", "20000", "-value-size", "100", "-duration", "100ms", "-concurrency", "2", "-json",
		"-cpuprofile", prof}, &out, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(prof); err != nil || fi.Size() == 0 {
		t.Errorf("-cpuprofile: %v, %v; want a profile written", fi, err)
	}
	var res result
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("bad JSON: %v\n%s", err, out.String())
	}
	r := res.Results[0]
	// 20,000 × (11 + 100) bytes is 2.1 MiB; an 8 MiB bound holds it.
	if r.HitRatio < 0.99 || r.PayloadMiB < 2 || r.PayloadMiB > 2.2 || r.HeapMiB <= r.PayloadMiB || r.HeapX != r.HeapMiB/r.PayloadMiB {
		t.Errorf("%+v; want every read a hit, a 2.1 MiB payload and a heap above it", r)
	}
	if res.Config.MaxMiB != 8 || res.Config.Store != "none" {
		t.Errorf("config %+v; want -max-mib and -store recorded", res.Config)
	}
}

func TestRunRejectsBadFlags(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"-keys", "0"}, {"-dist", "pareto"}, {"-reads", "2"}, {"-value-size", "4"},
		{"-concurrency", "0"}, {"-duration", "0s"}, {"-duration", "2h"}, {"-max-ops", "0"},
		{"-nodes", "1", "-targets", "nope"}, {"-nodes", "0"}, {"-nodes", "99"},
		{"-modes", "eventual,bogus"}, {"-modes", "strong,strong"}, {"-rate", "-1"},
		{"-probe-interval", "1ns"}, {"-store", "mongo"},
		{"-postgres-dsn", "postgres://db.example.com/x", "-store", "postgres"},
		{"-redis-addr", "10.0.0.1:6379", "-store", "redis"},
		{"-nats", "nats://192.0.2.1:4222"}, {"-metrics-addr", "0.0.0.0:9090"},
		{"-csv", "-json"}, {"-plot", "out.png"}, {"-cluster", "a.b"},
		{"-node-id", "a"}, {"-node-id", "a", "-nodes-expected", "3", "-store", "redis"},
		{"-node-id", "a", "-nodes-expected", "3", "-nats", "nats://127.0.0.1:4222"},
		{"-nodes-expected", "3"}, {"-join-timeout", "0s"},
		{"-store", "none"}, {"-max-mib", "-1"},
	} {
		err := run(args, io.Discard, io.Discard)
		// The error names the flag at fault: the first one, or for a
		// combination the flag that needs the others.
		if err == nil || !strings.Contains(err.Error(), args[0]) && !strings.Contains(err.Error(), args[len(args)-2]) {
			t.Errorf("run(%v) err = %v; want an error naming the flag", args, err)
		}
	}
}

func TestWriteSVGIsWellFormed(t *testing.T) {
	t.Parallel()
	res := result{Config: config{Store: "memory", Modes: "eventual,strong"}, Timeline: []point{
		{Phase: "eventual", T: 1, Ops: 10, WriteP50us: 2, WriteP99us: 9, LagP50us: 50, LagP99us: 900},
		{Phase: "eventual", T: 2, Ops: 10, WriteP50us: 3, WriteP99us: 12},
		{Phase: "strong<&>", T: 3, Ops: 5, WriteP50us: 300, WriteP99us: 4000, LagP50us: 10, LagP99us: 20},
	}}
	for _, r := range []result{res, {}} {
		var b bytes.Buffer
		writeSVG(&b, r)
		dec := xml.NewDecoder(&b)
		var root string
		polylines := 0
		for {
			tok, err := dec.Token()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("malformed SVG: %v\n%s", err, b.String())
			}
			if se, ok := tok.(xml.StartElement); ok {
				if root == "" {
					root = se.Name.Local
				}
				if se.Name.Local == "polyline" {
					polylines++
				}
			}
		}
		if root != "svg" {
			t.Errorf("root element %q; want svg", root)
		}
		if len(r.Timeline) > 0 && polylines == 0 {
			t.Error("no polyline for a timeline with points")
		}
	}
}

func TestCSVRowPerModeAndTarget(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		res  result
		rows int
	}{
		{"cluster", result{Baseline: &rttReport{P50us: 100}, Modes: []modeReport{{Mode: "strong-local"}, {Mode: "eventual"}, {Mode: "strong", WriteP50us: 300}}}, 3},
		{"single", result{Results: []report{{Target: "warp"}, {Target: "bigcache"}}}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := writeCSV(&b, tc.res); err != nil {
				t.Fatal(err)
			}
			recs, err := csv.NewReader(&b).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			if len(recs) != tc.rows+1 {
				t.Fatalf("got %d records; want a header and %d rows", len(recs), tc.rows)
			}
			if h := recs[0][0]; h != "mode" && h != "target" {
				t.Errorf("header starts with %q; want mode or target", h)
			}
			for _, r := range recs[1:] {
				if len(r) != len(recs[0]) {
					t.Errorf("row %v has %d fields; want %d", r, len(r), len(recs[0]))
				}
			}
		})
	}
}

func TestMetricsServesOnLoopback(t *testing.T) {
	t.Parallel()
	var errOut bytes.Buffer
	stop, err := serveMetrics("127.0.0.1:0", &errOut)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	addr := regexp.MustCompile(`http://127\.0\.0\.1:\d+/metrics`).FindString(errOut.String())
	if addr == "" {
		t.Fatalf("no address printed: %q", errOut.String())
	}
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "go_goroutines") {
		t.Errorf("GET %s: %d, %d bytes; want 200 with the Go collector", addr, resp.StatusCode, len(body))
	}
}

// The pacer hands out its rate: 2000/s for 100ms is 200 tokens (the
// bucket starts empty). On synctest's clock, so the machine's load does
// not matter.
func TestPacerHoldsRate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newPacer(2000)
		start := time.Now()
		n := 0
		for p.wait(start.Add(100 * time.Millisecond)) {
			n++
		}
		if n < 199 || n > 201 {
			t.Errorf("got %d tokens in 100ms at 2000/s; want 200", n)
		}
	})
}

func TestQuantile(t *testing.T) {
	t.Parallel()
	v := []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	for _, tc := range []struct {
		q    float64
		want int64
	}{{0.5, 5}, {0.99, 10}, {0, 1}} {
		if got := quantile(v, tc.q); got != tc.want {
			t.Errorf("quantile(%v) = %d; want %d", tc.q, got, tc.want)
		}
	}
	if got := quantile(nil, 0.5); got != 0 {
		t.Errorf("quantile of nothing = %d; want 0", got)
	}
}

// TestClosedLoopLagNote: the cluster report says when its eventual lag
// includes waiting for a processor (a closed loop holding every
// processor), and only then.
func TestClosedLoopLagNote(t *testing.T) {
	t.Parallel()
	procs := runtime.GOMAXPROCS(0)
	res := result{Baseline: &rttReport{P50us: 100}, Modes: []modeReport{{Mode: "eventual", LagSamples: 10}}}
	for _, tc := range []struct {
		name string
		cfg  config
		res  result
		want bool
	}{
		{"closed loop, every processor", config{Concurrency: procs}, res, true},
		{"fixed rate", config{Concurrency: procs, Rate: 1000}, res, false},
		{"no lag measured", config{Concurrency: procs}, result{Modes: []modeReport{{Mode: "strong-local"}}}, false},
		{"strong only", config{Concurrency: procs}, result{Modes: []modeReport{{Mode: "strong", LagSamples: 10}}}, false},
		{"a processor to spare", config{Concurrency: procs - 1}, res, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			printCluster(&b, tc.cfg, tc.res)
			if got := strings.Contains(b.String(), "lag under a closed loop"); got != tc.want {
				t.Errorf("note printed = %v; want %v\n%s", got, tc.want, b.String())
			}
		})
	}
}
