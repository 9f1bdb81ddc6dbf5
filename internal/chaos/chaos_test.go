package chaos

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/warpcache/warp/internal/chaos/history"
	"github.com/warpcache/warp/internal/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

func TestScenarios(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	canaries := 0
	for _, sc := range Scenarios() {
		if sc.Canary {
			canaries++
			if p := Profiles["short"]; p.Runs(sc) < 1 {
				t.Errorf("%s: not in the short profile; want every profile to run the canary", sc.Name)
			}
		}
		if seen[sc.Name] || sc.Name == "" || sc.Doc == "" || sc.Fault == nil || (sc.NATS != 1 && sc.NATS != 3) || sc.FullRuns < 1 {
			t.Errorf("scenario %+v: want a unique name, a doc, a fault, 1 or 3 NATS servers and at least one run", sc)
		}
		seen[sc.Name] = true
		if (strings.HasPrefix(sc.Name, "pause") || sc.Name == "partition-30s") && sc.FullRuns != 5 {
			t.Errorf("%s: %d full runs; want 5", sc.Name, sc.FullRuns)
		}
	}
	if len(seen) != 14 || canaries != 1 {
		t.Errorf("got %d scenarios, %d canaries; want 14, 1", len(seen), canaries)
	}
}

// A scenario's run passes if every check passed; the canary's if some
// check failed in a run that completed.
func TestScenarioPassed(t *testing.T) {
	t.Parallel()
	clean := RunResult{Converged: true}
	stale := RunResult{Converged: true, Stale: 3}
	broken := RunResult{Err: os.ErrClosed}
	for _, tc := range []struct {
		canary bool
		res    RunResult
		want   bool
	}{
		{false, clean, true},
		{false, stale, false},
		{false, broken, false},
		{true, clean, false},
		{true, stale, true},
		{true, RunResult{Converged: true, Strong: 1}, true},
		{true, broken, false},
	} {
		if got := (Scenario{Canary: tc.canary}).passed(tc.res); got != tc.want {
			t.Errorf("canary %v, %+v: got passed %v; want %v", tc.canary, tc.res, got, tc.want)
		}
	}
}

func TestOptions(t *testing.T) {
	t.Parallel()
	good := Options{Profile: "short", Exe: "x", DSN: "y", OutDir: "z", Nodes: 3, ClientsPerNode: 2, StaleBound: time.Second}
	if _, err := good.validate(); err != nil || good.Logf == nil {
		t.Fatalf("valid options: %v; want nil and a default Logf", err)
	}
	for _, bad := range []func(*Options){
		func(o *Options) { o.Profile = "long" },
		func(o *Options) { o.Exe = "" },
		func(o *Options) { o.Nodes = 2 },
		func(o *Options) { o.ClientsPerNode = 0 },
		func(o *Options) { o.StaleBound = 0 },
	} {
		o := good
		bad(&o)
		if _, err := o.validate(); err == nil {
			t.Errorf("options %+v accepted; want an error", o)
		}
	}
}

func TestTable(t *testing.T) {
	t.Parallel()
	var r Row
	r.Scenario = "pause-long"
	r.add(RunResult{Ops: 10, Strong: 1, Inconclusive: 1, Stale: 2, Phantoms: 3, Converged: true, Wall: 1500 * time.Millisecond})
	r.add(RunResult{Ops: 5, Wall: time.Second, Err: os.ErrClosed})
	var b strings.Builder
	WriteTable(&b, []Row{r, {Scenario: "latency", Runs: 1, Converged: 1}})
	want := header +
		"| pause-long | 2 | 15 | 2 | 2 | 3 | 1/2 (1 incomplete) | 3s |\n" +
		"| latency | 1 | 0 | 0 | 0 | 0 | 1/1 | 0s |\n"
	if b.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", b.String(), want)
	}
}

func op(client int, node string, kind history.Kind, key, value string, call, ret int64) history.Op {
	ms := int64(time.Millisecond)
	return history.Op{Client: client, Node: node, Kind: kind, Keys: []string{key}, Values: []string{value}, Call: call * ms, Return: ret * ms}
}

func TestJudge(t *testing.T) {
	t.Parallel()
	o := &Options{StaleBound: 100 * time.Millisecond}
	p := Profiles["short"]
	clean := []history.Op{
		op(0, "n1", history.Write, "s:0", "a", 0, 10),
		op(1, "n2", history.Read, "s:0", "a", 20, 30),
		op(0, "n1", history.Write, "e:0", "b", 0, 10),
		op(1, "n2", history.Read, "e:0", initial, 50, 60), // 40 ms stale: within the bound
		op(0, "n1", history.Write, "v:0", "c", 0, 10),
		// 590 ms stale: over the bound, within it plus the serve-stale age
		op(1, "n2", history.Read, "v:0", initial, 600, 610),
	}
	dir := t.TempDir()
	res := RunResult{Converged: true}
	judge(context.Background(), &res, clean, map[string]string{"s:0": "a", "e:0": "b", "v:0": "c"}, o, p, dir)
	if res.Failed() || res.StaleMax != 40*time.Millisecond || res.ServeStaleMax != 590*time.Millisecond {
		t.Fatalf("clean history: %+v; want a pass with max staleness 40ms, serve-stale 590ms", res)
	}
	bad := append(clean,
		op(2, "n3", history.Read, "s:0", initial, 40, 45), // a strong stale read
		op(2, "n3", history.Read, "e:0", initial, 500, 510),
		op(2, "n3", history.Read, "v:0", initial, 1200, 1210)) // 1.19 s: over the serve-stale bound too
	res = RunResult{Converged: true}
	judge(context.Background(), &res, bad, map[string]string{"s:0": "a", "e:0": initial, "v:0": "c"}, o, p, dir)
	if res.Strong != 1 || res.Stale != 2 || res.Phantoms != 1 || !res.Failed() {
		t.Fatalf("bad history: %+v; want 1 strong violation, 2 stale reads, 1 lost write", res)
	}
	for _, f := range []string{"linearizability-s0.html", "history.jsonl"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("evidence %s: %v", f, err)
		}
	}
	// Once the budget is spent or the run interrupted, porcupine is not
	// run, and the run fails as incomplete.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res = RunResult{Converged: true}
	judge(ctx, &res, clean, map[string]string{"s:0": "a", "e:0": "b"}, o, p, t.TempDir())
	if !errors.Is(res.Err, context.Canceled) || res.Strong != 0 || !res.Failed() {
		t.Fatalf("judged after ctx ended: %+v; want a failure for context.Canceled, no strong verdict", res)
	}
}
