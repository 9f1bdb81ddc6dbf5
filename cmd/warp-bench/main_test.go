package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
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
	if b := res.Baseline; b == nil || b.Ops == 0 || b.Errors != 0 || b.Acks != 2 || b.P50us == nil || *b.P50us <= 0 {
		t.Errorf("baseline %+v; want 2-ack round trips, no errors", b)
	}
	if len(res.NodeConns) != 3 || slices.ContainsFunc(res.NodeConns, func(a string) bool { return !strings.HasPrefix(a, "127.0.0.1:") }) {
		t.Errorf("node connections %q; want three over 127.0.0.1", res.NodeConns)
	}
	if len(res.Modes) != 3 {
		t.Fatalf("got %d modes; want strong-local, eventual and strong", len(res.Modes))
	}
	for _, m := range res.Modes {
		if m.Ops == 0 || m.Writes == 0 || m.Errors != 0 || m.WriteP50us == nil || *m.WriteP50us <= 0 || m.ProbeWrites == 0 || m.ProbeReads == 0 {
			t.Errorf("%s: %+v; want ops, writes, probe reads and writes, no errors", m.Mode, m)
		}
		checkCoherence(t, m, []string{"n0", "n1", "n2"})
	}
	if s := res.Modes[2]; s.Mode != "strong" || s.StaleReads == nil || *s.StaleReads != 0 || s.Quorum != 2 {
		t.Errorf("strong: mode %q, quorum %d, stale reads %s; want quorum 2 and 0 stale reads", s.Mode, s.Quorum, fmtC(s.StaleReads))
	} else if s.LagSamples == 0 || s.BeforeReturn == nil || *s.BeforeReturn != s.LagSamples {
		t.Errorf("strong: %s of %d lag samples applied before Set returned; want all, and some", fmtC(s.BeforeReturn), s.LagSamples)
	}
	if e := res.Modes[1]; e.LagSamples == 0 || e.LagSource != "apply" || e.Unseen == nil || *e.Unseen != 0 {
		t.Errorf("eventual: %d lag samples from %q, %s unseen; want every probe write applied on both other nodes, timed by their listeners", e.LagSamples, e.LagSource, fmtC(e.Unseen))
	} else if want := 2 * e.ProbeWrites; e.LagSamples != want {
		t.Errorf("eventual: %d lag samples for %d probe writes; want %d (one per write and reader node)", e.LagSamples, e.ProbeWrites, want)
	}
	if sl := res.Modes[0]; sl.LagSamples != 0 || sl.LagP50us != nil {
		t.Errorf("strong-local: %d lag samples, lag p50 %s; want none and n/a (it does not propagate)", sl.LagSamples, fmtF(sl.LagP50us, 1))
	}
	ratios := map[string]ratioResult{}
	for _, r := range res.Ratios {
		ratios[r.Name] = r
	}
	for _, k := range []string{"strong_set_p50_over_raw_rtt_p50", "eventual_set_p50_over_strong_local_set_p50"} {
		if r := ratios[k]; r.Value == nil || *r.Value <= 0 || r.Target == nil || r.Met == nil {
			t.Errorf("ratio %s = %+v; want a value > 0 held against its target", k, r)
		}
	}
	checkRueidis(t, res)
	if len(res.Timeline) == 0 {
		t.Error("no timeline points")
	}
}

// With -nats-inprocess the nodes and the raw baseline reach the embedded
// server through pipes, and with -probe-spin the probe's readers do not
// pause: the run still measures every write on the reader node.
func TestRunClusterInProcessSpin(t *testing.T) {
	t.Parallel()
	var out, errOut bytes.Buffer
	err := run([]string{"-nodes", "2", "-modes", "eventual", "-duration", "300ms", "-keys", "1000", "-concurrency", "2",
		"-nats-inprocess", "-probe-spin", "-json"}, &out, &errOut)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, errOut.String())
	}
	var res result
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("bad JSON: %v\n%s", err, out.String())
	}
	if b := res.Baseline; b == nil || b.Ops == 0 || b.Errors != 0 || b.Acks != 1 {
		t.Errorf("baseline %+v; want 1-ack round trips, no errors", b)
	}
	if !res.Config.NATSInProcess || !res.Config.ProbeSpin || !slices.Equal(res.NodeConns, []string{"pipe", "pipe"}) {
		t.Errorf("config in-process %v, probe spin %v, node connections %q; want both flags and two pipes",
			res.Config.NATSInProcess, res.Config.ProbeSpin, res.NodeConns)
	}
	if len(res.Modes) != 1 {
		t.Fatalf("got %d modes; want eventual", len(res.Modes))
	}
	e := res.Modes[0]
	if e.Errors != 0 || e.LagSamples == 0 || e.LagSamples != e.ProbeWrites || e.Unseen == nil || *e.Unseen != 0 {
		t.Errorf("eventual: %d errors, %d lag samples for %d probe writes, %s unseen; want one sample a write, none unseen", e.Errors, e.LagSamples, e.ProbeWrites, fmtC(e.Unseen))
	}
	// A sleeping reader asks for probePoll between reads, so it does fewer
	// than the phase over probePoll; the spinning one, many more.
	if sleeping := int64(300 * time.Millisecond / probePoll); e.ProbeReads <= sleeping {
		t.Errorf("the spinning reader read %d times in 300 ms; want more than a sleeping one could (%d)", e.ProbeReads, sleeping)
	}
	checkCoherence(t, e, []string{"n0", "n1"})
	checkRueidis(t, res)
}

// checkCoherence checks a mode's per-node coherence figures.
func checkCoherence(t *testing.T, m modeReport, ids []string) {
	t.Helper()
	if len(m.PerNode) != len(ids) {
		t.Fatalf("%s: %d per-node reports; want %d", m.Mode, len(m.PerNode), len(ids))
	}
	for i, n := range m.PerNode {
		if n.Node != ids[i] || n.LeaseSamples == 0 || n.NoLeaseMs == nil || n.NoLeaseFraction == nil ||
			*n.NoLeaseFraction < 0 || *n.NoLeaseFraction > 1 || n.LeaseLosses == nil {
			t.Errorf("%s: node report %+v; want node %s with lease samples", m.Mode, n, ids[i])
		}
		if n.Reads == nil || n.L1Hits == nil || *n.Reads > 0 && (n.L1HitRatio == nil || *n.L1Hits > *n.Reads) {
			t.Errorf("%s %s: %s reads, %s L1 hits, ratio %s; want a ratio of the node's own counters", m.Mode, n.Node, fmtC(n.Reads), fmtC(n.L1Hits), fmtF(n.L1HitRatio, 3))
		}
	}
}

// checkRueidis checks the rueidis baseline: measured against the local
// Redis, or n/a with the reason (an error under CI=true).
func checkRueidis(t *testing.T, res result) {
	t.Helper()
	r := res.Rueidis
	switch {
	case r == nil:
		t.Error("no rueidis baseline in a run with eventual mode")
	case r.Skipped != "" && os.Getenv("CI") == "true":
		t.Errorf("rueidis baseline skipped under CI=true: %s; start Redis on 127.0.0.1:6379 (bash .ci/services)", r.Skipped)
	case r.Skipped != "":
		t.Logf("rueidis baseline n/a: %s (start Redis on 127.0.0.1:6379 to measure it)", r.Skipped)
		for _, x := range res.Ratios {
			if strings.Contains(x.Name, "rueidis") && (x.Value != nil || !strings.Contains(x.Why, "n/a")) {
				t.Errorf("ratio %+v; want n/a with the reason", x)
			}
		}
	case r.LagSamples == 0 || r.LagP99us == nil || r.ProbeWrites == 0 || r.Errors != 0:
		t.Errorf("rueidis baseline %+v; want lag samples, no errors", *r)
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
	if len(res.Results) != 5 {
		t.Fatalf("got %d results; want warp, otter, otter-ttl, bigcache and map", len(res.Results))
	}
	for _, r := range res.Results {
		if r.Ops == 0 || r.Errors != 0 || r.L1HitRatio == nil || *r.L1HitRatio < 0.99 {
			t.Errorf("%s: ops %d, errors %d, L1 hit ratio %s; want ops > 0, no errors, all hits", r.Target, r.Ops, r.Errors, fmtF(r.L1HitRatio, 3))
		}
	}
	names := map[string]bool{}
	for _, r := range res.Ratios {
		names[r.Name] = r.Value != nil
	}
	for _, k := range []string{"warp_read_p50_over_otter_read_p50", "warp_write_p50_over_otter_write_p50",
		"warp_read_p50_over_otter-ttl_read_p50", "warp_read_p50_over_bigcache_read_p50"} {
		if !names[k] {
			t.Errorf("ratio %s missing or n/a in %+v", k, res.Ratios)
		}
	}
}

// The warp target's L1 hit ratio comes from its own counters, not from
// found keys: with an 8 MiB bound on 200,000 × 100-byte entries most keys
// are evicted, every read still finds its key in the store, and the L1
// hit ratio says how many L1 served.
func TestSingleNodeL1HitRatioIsL1s(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	err := run([]string{"-nodes", "1", "-targets", "warp", "-max-mib", "8", "-keys", "200000", "-value-size", "100",
		"-dist", "uniform", "-duration", "200ms", "-concurrency", "2", "-json"}, &out, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var res result
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatal(err)
	}
	r := res.Results[0]
	if r.Errors != 0 || r.L1HitRatio == nil || *r.L1HitRatio > 0.9 {
		t.Errorf("L1 hit ratio %s, errors %d; want well under 1 (most keys evicted, each read still found in the store)", fmtF(r.L1HitRatio, 3), r.Errors)
	}
}

// With -store none the warp target's heap is its cache alone, given as a
// multiple of the payload; -cpuprofile writes a profile of the run. The
// heap is the process's, so this test does not run in parallel: another
// test's garbage freed during the run made the figure negative.
// -l1-hits=false installs no Recorder: the L1 hit ratio is n/a, not 0
// or the found keys.
func TestL1HitsOff(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	err := run([]string{"-nodes", "1", "-targets", "warp,map", "-l1-hits=false", "-keys", "1000", "-duration", "100ms", "-concurrency", "2", "-json"}, &out, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var res result
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatal(err)
	}
	if w, m := res.Results[0], res.Results[1]; w.L1HitRatio != nil || m.L1HitRatio == nil {
		t.Errorf("warp L1 hit ratio %s, map %s; want n/a for warp, found keys for the map", fmtF(w.L1HitRatio, 3), fmtF(m.L1HitRatio, 3))
	}
}

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
	if r.L1HitRatio == nil || *r.L1HitRatio < 0.99 || r.PayloadMiB < 2 || r.PayloadMiB > 2.2 || r.HeapMiB <= r.PayloadMiB || r.HeapX != r.HeapMiB/r.PayloadMiB {
		t.Errorf("%+v; want every read a hit, a 2.1 MiB payload and a heap above it", r)
	}
	if res.Config.MaxMiB != 8 || res.Config.Store != "none" {
		t.Errorf("config %+v; want -max-mib and -store recorded", res.Config)
	}
}

// -h (and -help) prints the overview, the ratios with their targets, the
// notes' rules and the flags on stdout, and exits 0.
func TestHelpPrintsOverview(t *testing.T) {
	t.Parallel()
	for _, flag := range []string{"-h", "-help"} {
		var out, errOut bytes.Buffer
		if code := mainCode([]string{flag}, &out, &errOut); code != 0 {
			t.Errorf("%s: exit %d; want 0\n%s", flag, code, errOut.String())
		}
		want := []string{"What it runs", "L1 hit ratio", "no lease ms", "strong_set_p50_over_raw_rtt_p50", "≤ 2",
			"eventual_lag_p99_over_rueidis_lag_p99", "warp_read_p50_over_bigcache_read_p50", "-nats-tls-cert", "-nats-creds", envNATSPassword}
		for _, r := range noteRules {
			want = append(want, r.rule)
		}
		for _, w := range want {
			if !strings.Contains(out.String(), w) {
				t.Errorf("%s: the help lacks %q", flag, w)
			}
		}
	}
}

// TestTargetNames checks that targetNames, from which the -targets
// default and the help come, lists every target once, warp first.
func TestTargetNames(t *testing.T) {
	t.Parallel()
	if len(targetNames) != len(targets) || targetNames[0] != "warp" {
		t.Fatalf("targetNames %v; want each of the %d targets once, warp first", targetNames, len(targets))
	}
	for _, n := range targetNames {
		if _, ok := targets[n]; !ok {
			t.Errorf("targetNames has %q, which is no target", n)
		}
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
		// Flags that do not apply to the run asked for.
		{"-rate", "100", "-nodes", "1"}, {"-modes", "eventual", "-nodes", "1"}, {"-probe-interval", "2ms", "-nodes", "1"},
		{"-nats", "nats://127.0.0.1:4222", "-nodes", "1"}, {"-targets", "warp"}, {"-targets", "warp", "-nodes", "2"},
		{"-postgres-dsn", "postgres://127.0.0.1/x"}, {"-redis-addr", "127.0.0.1:6379", "-nodes", "1"},
		{"-nats-creds", "/nonexistent.creds"}, {"-nats-tls-ca", "/nonexistent.pem"}, {"-join-timeout", "5s"},
		{"-reads", "0.5", "-rate", "100"}, {"-nodes", "2", "-node-id", "a", "-nodes-expected", "2"},
		{"-nats-inprocess", "-nodes", "1"}, {"-probe-spin", "-nodes", "1"},
		// Bad connection security settings.
		{"-nats-tls-cert", "x.pem", "-nats", "nats://127.0.0.1:4222"},
		{"-nats-user", "u", "-nats", "nats://127.0.0.1:4222"},
		{"-nats-creds", "/nonexistent.creds", "-nats", "nats://127.0.0.1:4222"},
	} {
		err := run(args, io.Discard, io.Discard)
		// The error names the flag at fault: the first one, or for a
		// combination the flag that needs the others.
		if err == nil || !strings.Contains(err.Error(), args[0]) && !strings.Contains(err.Error(), args[len(args)-2]) {
			t.Errorf("run(%v) err = %v; want an error naming the flag", args, err)
		}
	}
	// -nats is a prefix of every -nats-* flag: this one is matched whole.
	args := []string{"-nats-inprocess", "-nats", "nats://127.0.0.1:4222"}
	if err := run(args, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "-nats-inprocess: applies to the embedded server only") {
		t.Errorf("run(%v) err = %v; want -nats-inprocess refused with -nats", args, err)
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
