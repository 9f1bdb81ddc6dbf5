package check_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/warpcache/warp/internal/chaos/check"
	"github.com/warpcache/warp/internal/chaos/history"
	"github.com/warpcache/warp/internal/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

const initial = "init"

// Helpers that build operations; times are in milliseconds.
func ms(n int64) int64 { return n * int64(time.Millisecond) }

func set(client int, key, value string, call, ret int64, st history.Status) history.Op {
	return history.Op{Client: client, Node: "n1", Kind: history.Write, Keys: []string{key}, Values: []string{value}, Call: ms(call), Return: ms(ret), Status: st}
}

func txn(client int, keys []string, value string, call, ret int64, st history.Status) history.Op {
	vals := make([]string, len(keys))
	for i := range vals {
		vals[i] = value
	}
	return history.Op{Client: client, Node: "n1", Kind: history.Txn, Keys: keys, Values: vals, Call: ms(call), Return: ms(ret), Status: st}
}

func get(client int, key, value string, call, ret int64) history.Op {
	return history.Op{Client: client, Node: "n2", Kind: history.Read, Keys: []string{key}, Values: []string{value}, Call: ms(call), Return: ms(ret), Status: history.OK}
}

func missing(client int, key string, call, ret int64) history.Op {
	op := get(client, key, "", call, ret)
	op.Status = history.NotFound
	return op
}

func TestLinearizable(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		ops  []history.Op
		want map[string]porcupine.CheckResult
	}{
		{"clean", []history.Op{
			set(0, "s:1", "a", 0, 10, history.OK),
			get(1, "s:1", initial, 5, 15), // concurrent with the write
			get(1, "s:1", "a", 20, 30),
			get(2, "e:1", initial, 40, 50), // not a strong key: ignored
		}, map[string]porcupine.CheckResult{"s:1": porcupine.Ok}},
		{"stale read after a write returned", []history.Op{
			set(0, "s:1", "a", 0, 10, history.OK),
			get(1, "s:1", initial, 20, 30),
		}, map[string]porcupine.CheckResult{"s:1": porcupine.Illegal}},
		{"unknown write takes effect late", []history.Op{
			set(0, "s:1", "a", 0, 10, history.Unknown),
			get(1, "s:1", initial, 50, 60),
			get(1, "s:1", "a", 100, 110),
		}, map[string]porcupine.CheckResult{"s:1": porcupine.Ok}},
		{"unknown write takes effect once", []history.Op{
			set(0, "s:1", "a", 0, 10, history.Unknown),
			get(1, "s:1", "a", 100, 110),
			get(1, "s:1", initial, 120, 130),
		}, map[string]porcupine.CheckResult{"s:1": porcupine.Illegal}},
		{"quorum failure changed nothing", []history.Op{
			set(0, "s:1", "a", 0, 10, history.Failed),
			get(1, "s:1", initial, 20, 30),
		}, map[string]porcupine.CheckResult{"s:1": porcupine.Ok}},
		{"quorum failure read", []history.Op{
			set(0, "s:1", "a", 0, 10, history.Failed),
			get(1, "s:1", "a", 20, 30),
		}, map[string]porcupine.CheckResult{"s:1": porcupine.Illegal}},
		{"not found", []history.Op{
			missing(1, "s:1", 20, 30),
		}, map[string]porcupine.CheckResult{"s:1": porcupine.Illegal}},
		{"transaction judged per key", []history.Op{
			txn(0, []string{"s:1", "s:2"}, "a", 0, 10, history.OK),
			get(1, "s:1", "a", 20, 30),
			get(1, "s:2", initial, 20, 30),
		}, map[string]porcupine.CheckResult{"s:1": porcupine.Ok, "s:2": porcupine.Illegal}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			vs, err := check.Linearizable(context.Background(), tc.ops, "s:", initial, 10*time.Second)
			if err != nil || len(vs) != len(tc.want) {
				t.Fatalf("got %d verdicts, %v; want %d, nil", len(vs), err, len(tc.want))
			}
			for _, v := range vs {
				if v.Result != tc.want[v.Key] {
					t.Errorf("%s: got %v; want %v", v.Key, v.Result, tc.want[v.Key])
				}
			}
		})
	}
}

// Once its context is done, Linearizable checks no further key: a
// canceled context, or a deadline already past, yields no verdict and the
// context's error.
func TestLinearizableStopsWithItsContext(t *testing.T) {
	t.Parallel()
	ops := []history.Op{set(0, "s:1", "a", 0, 10, history.OK), set(0, "s:2", "a", 0, 10, history.OK)}
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	past, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	for _, tc := range []struct {
		ctx  context.Context
		want error
	}{{canceled, context.Canceled}, {past, context.DeadlineExceeded}} {
		if vs, err := check.Linearizable(tc.ctx, ops, "s:", initial, 10*time.Second); len(vs) != 0 || !errors.Is(err, tc.want) {
			t.Errorf("got %d verdicts, %v; want none, %v", len(vs), err, tc.want)
		}
	}
}

func TestVisualize(t *testing.T) {
	t.Parallel()
	vs, err := check.Linearizable(context.Background(), []history.Op{set(0, "s:1", "a", 0, 10, history.OK), get(1, "s:1", initial, 20, 30)}, "s:", initial, 10*time.Second)
	if err != nil || len(vs) != 1 {
		t.Fatalf("got %d verdicts, %v; want 1, nil", len(vs), err)
	}
	path := filepath.Join(t.TempDir(), "s1.html")
	if err := vs[0].Visualize(path); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil || !strings.Contains(string(b), "<html") {
		t.Fatalf("visualization: %d bytes, %v; want an HTML page", len(b), err)
	}
}

func TestStale(t *testing.T) {
	t.Parallel()
	const bound = 100 * time.Millisecond
	for _, tc := range []struct {
		name string
		ops  []history.Op
		over []time.Duration // staleness of each read over the bound
		max  time.Duration
	}{
		{"within the bound", []history.Op{
			set(0, "e:1", "a", 0, 10, history.OK),
			set(1, "e:1", "b", 20, 30, history.OK),
			get(2, "e:1", "a", 129, 140),
		}, nil, 99 * time.Millisecond},
		{"over the bound", []history.Op{
			set(0, "e:1", "a", 0, 10, history.OK),
			set(1, "e:1", "b", 20, 30, history.OK),
			get(2, "e:1", "a", 131, 140),
			get(2, "e:1", initial, 500, 510),
		}, []time.Duration{490 * time.Millisecond, 101 * time.Millisecond}, 490 * time.Millisecond},
		{"concurrent writes replace nothing", []history.Op{
			set(0, "e:1", "a", 0, 10, history.OK),
			set(1, "e:1", "b", 5, 30, history.OK), // invoked before a returned
			get(2, "e:1", "a", 1000, 1010),
		}, nil, 0},
		{"an unknown write replaces nothing", []history.Op{
			set(0, "e:1", "a", 0, 10, history.OK),
			set(1, "e:1", "b", 20, 30, history.Unknown),
			get(2, "e:1", "a", 1000, 1010),
		}, nil, 0},
		{"strong keys are left out", []history.Op{
			set(0, "s:1", "a", 0, 10, history.OK),
			get(2, "s:1", initial, 1000, 1010),
		}, nil, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := check.Stale(tc.ops, "e:", initial, bound)
			if len(s.Over) != len(tc.over) || s.Max != tc.max {
				t.Fatalf("got %d over the bound, max %v; want %d, max %v (%v)", len(s.Over), s.Max, len(tc.over), tc.max, s.Over)
			}
			for i, r := range s.Over {
				if r.Staleness != tc.over[i] {
					t.Errorf("read %d: staleness %v; want %v", i, r.Staleness, tc.over[i])
				}
				if r.String() == "" {
					t.Error("empty description")
				}
			}
		})
	}
}

func TestPhantoms(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		ops   []history.Op
		final map[string]string
		want  []string // the Why of each phantom, as substrings
	}{
		{"clean", []history.Op{
			set(0, "e:1", "a", 0, 10, history.OK),
			set(1, "e:1", "b", 0, 10, history.Unknown),
			set(1, "s:1", "c", 0, 10, history.Failed),
			get(2, "e:1", "b", 20, 30),
			get(2, "e:1", "a", 20, 30),
			get(2, "s:1", initial, 20, 30),
		}, map[string]string{"e:1": "b", "s:1": initial}, nil},
		{"quorum failure read", []history.Op{
			set(1, "s:1", "c", 0, 10, history.Failed),
			get(2, "s:1", "c", 20, 30),
		}, nil, []string{"ErrQuorum"}},
		{"quorum failure in the store", []history.Op{
			txn(1, []string{"e:1", "e:2"}, "c", 0, 10, history.Failed),
		}, map[string]string{"e:1": initial, "e:2": "c"}, []string{"ErrQuorum"}},
		{"value from nowhere and absence", []history.Op{
			get(2, "e:1", "zzz", 20, 30),
			missing(2, "e:2", 20, 30),
		}, nil, []string{"no operation wrote", "not found"}},
		{"lost write", []history.Op{
			set(0, "e:1", "a", 0, 10, history.OK),
			set(1, "e:1", "b", 20, 30, history.OK),
		}, map[string]string{"e:1": "a"}, []string{"lost write"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ps := check.Phantoms(tc.ops, []string{"s:", "e:"}, initial, tc.final)
			if len(ps) != len(tc.want) {
				t.Fatalf("got %d phantoms %v; want %d", len(ps), ps, len(tc.want))
			}
			for i, p := range ps {
				if !strings.Contains(p.Why, tc.want[i]) {
					t.Errorf("phantom %d: %q; want it to say %q", i, p, tc.want[i])
				}
			}
		})
	}
}
